/* Fuzzes the policy loader: arbitrary text as a document (rawxml or xml,
 * chosen by the first byte), with named values and fragments in reach, then
 * the effective policy and the check entry point. Must never crash, leak
 * or hang; every allocation lives in one arena destroyed per input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cg_pol_named_value nvs[] = {
	{ CG_STR("nv"), CG_STR("value") },
	{ CG_STR("expr"), CG_STR("@(context.Request.Method)") },
	{ CG_STR("raw"), CG_STR("\"<&'{{nv}}") },
};

/* Writes a loaded tree back as format=xml text: every value escaped,
 * braces as character references so named values are not substituted a
 * second time. */
static int put_escaped(struct cg_buf *b, struct cg_str s, int attr)
{
	for (size_t i = 0; i < s.len; i++) {
		const char *rep = NULL;
		switch (s.ptr[i]) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '{': rep = "&#123;"; break;
		case '\r': rep = "&#13;"; break;
		case '\n': rep = attr ? "&#10;" : NULL; break;
		case '\t': rep = attr ? "&#9;" : NULL; break;
		}
		if (rep ? cg_buf_append(b, rep, strlen(rep)) : cg_buf_append(b, &s.ptr[i], 1))
			return -1;
	}
	return 0;
}

static int serialize(const struct cg_pol_node *n, struct cg_buf *b)
{
	if (cg_buf_printf(b, "<%.*s", CG_STR_FMT(n->name)))
		return -1;
	for (size_t i = 0; i < n->num_attrs; i++)
		if (cg_buf_printf(b, " %.*s=\"", CG_STR_FMT(n->attrs[i].name)) ||
		    put_escaped(b, n->attrs[i].value, 1) || cg_buf_append(b, "\"", 1))
			return -1;
	if (cg_buf_append(b, ">", 1) || (n->has_text && put_escaped(b, n->text, 0)))
		return -1;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (serialize(c, b))
			return -1;
	return cg_buf_printf(b, "</%.*s>", CG_STR_FMT(n->name));
}

static int from_fragment(const struct cg_pol_node *n)
{
	for (; n; n = n->next)
		if (n->origin.len || from_fragment(n->children))
			return 1;
	return 0;
}

/* The round trip gives the same names, values, flags and text. */
static void same_tree(const struct cg_pol_node *a, const struct cg_pol_node *b)
{
	for (; a || b; a = a->next, b = b->next) {
		if (!a || !b || !cg_str_eq(a->name, b->name) || a->num_attrs != b->num_attrs ||
		    a->has_text != b->has_text || a->text_is_expr != b->text_is_expr ||
		    (a->has_text && !cg_str_eq(a->text, b->text)) || !cg_str_eq(a->path, b->path))
			abort();
		for (size_t i = 0; i < a->num_attrs; i++)
			if (!cg_str_eq(a->attrs[i].name, b->attrs[i].name) ||
			    !cg_str_eq(a->attrs[i].value, b->attrs[i].value) ||
			    a->attrs[i].is_expr != b->attrs[i].is_expr)
				abort();
		same_tree(a->children, b->children);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum cg_pol_format fmt = (data[0] & 1) ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
	struct cg_str text = cg_str_make((const char *)data + 1, size - 1);
	/* The input doubles as a fragment, so fragment paths see fuzzed text
	 * too (a document including itself is refused: its root is not
	 * <fragment>, or it contains no include when it is one). */
	struct cg_pol_fragment frags[] = {
		{ CG_STR("self"), text, fmt },
		{ CG_STR("ok"), CG_STR("<fragment><set-header name=\"{{nv}}\"><value>@(\"x\")</value></set-header></fragment>"),
		  CG_POL_FORMAT_RAWXML },
	};
	struct cg_pol_env env = { nvs, 3, frags, 2, NULL, NULL };
	struct cg_arena a;
	cg_arena_init(&a, 8192, 0);
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &a);
	struct cg_pol_doc *doc = NULL;
	if (cg_pol_load(&a, text, fmt, CG_POL_SCOPE_API, &env, &d, &doc) == 0) {
		struct cg_pol_effective e;
		cg_pol_effective(&a, NULL, doc, doc, &e);
		struct cg_buf b;
		cg_buf_init(&b, 1u << 24);
		if (cg_pol_dump_effective(&e, &b) != 0)
			b.len = 0;
		b.len = 0;
		if (serialize(doc->root, &b) == 0) {
			struct cg_pol_diags d2;
			struct cg_pol_doc *doc2 = NULL;
			cg_pol_diags_init(&d2, &a);
			if (cg_pol_load(&a, cg_buf_str(&b), CG_POL_FORMAT_XML, CG_POL_SCOPE_API, &env, &d2, &doc2) == 0)
				same_tree(doc->root, doc2->root);
			else if (!from_fragment(doc->root) && b.len <= CG_POL_MAX_DOC_BYTES)
				abort(); /* a loaded tree, written as xml, must load
					  * (fragments may push it past the limits) */
		}
		cg_buf_free(&b);
	}
	cg_pol_check(&a, text, fmt, &env, &d);
	struct cg_buf b;
	cg_buf_init(&b, 1u << 20);
	for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next) {
		/* The pre-pass and libxml2 must agree on every text libxml2
		 * accepts; an internal error means they did not. */
		if (dg->message.len >= 14 && memcmp(dg->message.ptr, "Internal error", 14) == 0)
			abort();
		/* Positions are inside the text (or just past its end). */
		if (!dg->origin.len && dg->pos.off > text.len)
			abort();
		if (cg_pol_diag_format(dg, &b) != 0)
			break;
	}
	cg_buf_free(&b);
	cg_arena_destroy(&a);
	return 0;
}

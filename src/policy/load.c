/* The loader: text passes, libxml2, our tree, fragments, paths, scopes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "base/arena.h"
#include "policy/internal.h"
#include "policy/policy.h"

struct ld {
	struct cg_arena *arena;
	struct cg_pol_diags *d;
	const struct cg_pol_env *env;
	struct pol_text *pt;
	size_t rec;   /* next pre-pass element record */
	int errors;
};

/* ---- libxml2 -------------------------------------------------------- */

struct xml_errs {
	struct pol_text *pt;
	struct cg_pol_diags *d;
	int errors;
};

/* libxml2 hands its structured errors to ctxt->sax->serror with
 * ctxt->userData (the context itself); _private carries our state, so no
 * global error handler is touched (other threads may parse concurrently). */
static void xml_serror(void *ud, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ud;
	struct xml_errs *xe = ctxt ? ctxt->_private : NULL;
	if (!xe || !e || e->level < XML_ERR_ERROR)
		return;
	if (xe->errors++ >= 1)
		return; /* after the first error libxml2 mostly reports knock-on effects */
	char msg[400];
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "malformed XML");
	size_t l = strlen(msg);
	while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
		msg[--l] = '\0';
	/* The parser's cursor is a byte offset into t2 (UTF-8 in, no
	 * conversion), more exact than libxml2's own column count, which
	 * drifts inside attribute values with character references. */
	struct cg_pol_pos pos;
	xmlParserInputPtr in = ctxt->input;
	if (in && in->base && in->cur >= in->base && (size_t)(in->cur - in->base) <= xe->pt->t2.len)
		pos = pol_pos_t2(xe->pt, (size_t)(in->cur - in->base));
	else
		pos = pol_pos_t2_linecol(xe->pt, e->line, e->int2);
	pol_diag(xe->d, CG_POL_ERROR, pos, xe->pt->origin, "The policy XML is not well-formed: %s", msg);
}

static xmlDocPtr xml_parse(struct pol_text *pt, struct cg_pol_diags *d)
{
	xmlInitParser();
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, 0), pt->origin, "Out of memory");
		return NULL;
	}
	struct xml_errs xe = { pt, d, 0 };
	ctxt->_private = &xe;
	ctxt->sax->serror = xml_serror;
	/* NONET: never fetch anything. No NOENT (entities stay unexpanded) and
	 * the pre-pass already refused any DOCTYPE, so no DTD is ever loaded.
	 * NOCDATA: CDATA content joins the text. The encoding is fixed to UTF-8
	 * whatever an XML declaration claims. */
	const char *buf = pt->t2.data ? pt->t2.data : "";
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)pt->t2.len, "policy.xml", "UTF-8",
					  XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING |
						  XML_PARSE_NOERROR);
	if (doc && (xe.errors || !ctxt->wellFormed)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (!doc && !xe.errors)
		pol_diag(d, CG_POL_ERROR, pol_pos_orig(pt, 0), pt->origin,
			 "The policy XML is not well-formed");
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* ---- tree ----------------------------------------------------------- */

static int is_expr_start(struct cg_str v)
{
	return v.len >= 2 && v.ptr[0] == '@' && (v.ptr[1] == '(' || v.ptr[1] == '{');
}

/* Checks that v is exactly one @(...) / @{...}; reports at pos otherwise. */
static int check_expr(struct ld *l, struct cg_str v, struct cg_pol_pos pos, const char *what)
{
	size_t eoff;
	const char *emsg;
	long e = pol_cs_scan(v.ptr, v.len, 2, v.ptr[1] == '(' ? ')' : '}', &eoff, &emsg);
	if (e < 0) {
		pol_diag(l->d, CG_POL_ERROR, pos, l->pt->origin, "%s", emsg);
		return -1;
	}
	if ((size_t)e != v.len) {
		pol_diag(l->d, CG_POL_ERROR, pos, l->pt->origin,
			 "Unexpected text after the expression; an expression must be the whole %s", what);
		return -1;
	}
	return 0;
}

static struct cg_str dup_xml(struct ld *l, const xmlChar *s)
{
	return cg_arena_strdup_str(l->arena, cg_str_from_c((const char *)s));
}

static struct cg_pol_node *build(struct ld *l, xmlNodePtr xn);

static int build_attrs(struct ld *l, struct cg_pol_node *n, xmlNodePtr xn,
		       const struct pol_rec_elem *rec)
{
	size_t cnt = 0;
	for (xmlAttrPtr a = xn->properties; a; a = a->next)
		cnt++;
	if (cnt != rec->num_attrs) {
		pol_diag(l->d, CG_POL_ERROR, n->pos, l->pt->origin,
			 "Internal error: attributes of element '%.*s' could not be located", CG_STR_FMT(n->name));
		return -1;
	}
	n->attrs = cnt ? cg_arena_zalloc(l->arena, cnt * sizeof(*n->attrs)) : NULL;
	if (cnt && !n->attrs)
		return -1;
	size_t k = 0;
	for (xmlAttrPtr a = xn->properties; a; a = a->next, k++) {
		struct cg_pol_attr *at = &n->attrs[k];
		const struct pol_rec_attr *ra = &l->pt->attrs[rec->first_attr + k];
		at->name = dup_xml(l, a->name);
		at->pos = pol_pos_t1(l->pt, ra->name_off);
		at->vpos = pol_pos_t1(l->pt, ra->value_off);
		xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
		at->value = dup_xml(l, v ? v : (const xmlChar *)"");
		xmlFree(v);
		if (!at->name.ptr || !at->value.ptr)
			return -1;
		if (is_expr_start(at->value)) {
			at->is_expr = true;
			if (check_expr(l, at->value, at->vpos, "attribute value") != 0)
				l->errors++;
		}
		if (cg_str_eq_lit(at->name, "id"))
			n->id = at->value;
	}
	n->num_attrs = cnt;
	return 0;
}

static struct cg_pol_node *build(struct ld *l, xmlNodePtr xn)
{
	if (l->rec >= l->pt->num_elems) {
		pol_diag(l->d, CG_POL_ERROR, pol_pos_orig(l->pt, 0), l->pt->origin,
			 "Internal error: element '%s' could not be located", (const char *)xn->name);
		return NULL;
	}
	const struct pol_rec_elem *rec = &l->pt->elems[l->rec++];
	struct cg_pol_node *n = cg_arena_zalloc(l->arena, sizeof(*n));
	if (!n)
		return NULL;
	n->name = dup_xml(l, xn->name);
	if (!n->name.ptr)
		return NULL;
	n->pos = pol_pos_t1(l->pt, rec->off);
	n->origin = l->pt->origin;
	/* Before the name check: libxml2 drops a prefix from the name. */
	if (xn->ns || xn->nsDef) {
		pol_diag(l->d, CG_POL_ERROR, n->pos, l->pt->origin,
			 "XML namespaces are not supported in policy documents (element '%s')",
			 (const char *)xn->name);
		return NULL; /* the records of its subtree are not consumed: stop */
	}
	for (xmlAttrPtr a = xn->properties; a; a = a->next)
		if (a->ns) {
			pol_diag(l->d, CG_POL_ERROR, n->pos, l->pt->origin,
				 "XML namespaces are not supported in policy documents (attribute '%s')",
				 (const char *)a->name);
			return NULL;
		}
	if (n->name.len != rec->name_len ||
	    memcmp(n->name.ptr, l->pt->t1.data + rec->off + 1, rec->name_len) != 0) {
		pol_diag(l->d, CG_POL_ERROR, n->pos, l->pt->origin,
			 "Internal error: element '%s' could not be located", (const char *)xn->name);
		return NULL;
	}
	if (build_attrs(l, n, xn, rec) != 0)
		return NULL;
	struct cg_buf text;
	cg_buf_init(&text, CG_POL_MAX_EXPANDED_BYTES * 2u);
	struct cg_pol_node **tail = &n->children;
	for (xmlNodePtr c = xn->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			struct cg_pol_node *cn = build(l, c);
			if (!cn) {
				cg_buf_free(&text);
				return NULL;
			}
			*tail = cn;
			tail = &cn->next;
			n->num_children++;
		} else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			if (cg_buf_append_str(&text, cg_str_from_c((const char *)c->content)) != 0) {
				cg_buf_free(&text);
				return NULL;
			}
		}
	}
	struct cg_str t = cg_buf_str(&text), tt = t;
	while (tt.len && pol_is_blank(tt.ptr[0]))
		tt.ptr++, tt.len--;
	while (tt.len && pol_is_blank(tt.ptr[tt.len - 1]))
		tt.len--;
	if (tt.len) {
		n->has_text = true;
		n->text_pos = rec->text_off >= 0 ? pol_pos_t1(l->pt, (size_t)rec->text_off) : n->pos;
		if (is_expr_start(tt)) {
			n->text_is_expr = true;
			n->text = cg_arena_strdup_str(l->arena, tt);
			if (check_expr(l, tt, n->text_pos, "element content") != 0)
				l->errors++;
		} else {
			n->text = cg_arena_strdup_str(l->arena, t);
		}
		if (!n->text.ptr) {
			cg_buf_free(&text);
			return NULL;
		}
	}
	cg_buf_free(&text);
	return n;
}

/* Runs every text pass and libxml2 over one text and builds its tree.
 * Returns the root, or NULL (errors reported). */
static struct cg_pol_node *load_text(struct cg_arena *arena, struct cg_str text,
				     enum cg_pol_format format, struct cg_str origin,
				     const struct cg_pol_env *env, struct cg_pol_diags *d)
{
	struct pol_text pt;
	struct cg_pol_node *root = NULL;
	if (pol_text_init(&pt, text, origin) != 0) {
		pol_diag(d, CG_POL_ERROR, (struct cg_pol_pos){ 1, 1, 0 }, origin, "Out of memory");
		return NULL;
	}
	struct ld l = { arena, d, env, &pt, 0, 0 };
	/* libxml2 stops at a NUL byte; refuse it rather than parse half. */
	const char *nul = text.len ? memchr(text.ptr, '\0', text.len) : NULL;
	if (nul) {
		pol_diag(d, CG_POL_ERROR, pol_pos_orig(&pt, (size_t)(nul - text.ptr)), origin,
			 "The policy XML is not well-formed: NUL character in the text");
		goto out;
	}
	if (pol_named_values(&pt, env, d) != 0)
		goto out;
	if (pol_prepass(&pt, format == CG_POL_FORMAT_RAWXML, d) != 0)
		goto out;
	xmlDocPtr doc = xml_parse(&pt, d);
	if (!doc)
		goto out;
	xmlNodePtr xr = xmlDocGetRootElement(doc);
	if (!xr || pt.incomplete) {
		/* libxml2 accepted what the pre-pass could not follow: a bug. */
		pol_diag(d, CG_POL_ERROR, pol_pos_orig(&pt, 0), origin,
			 "Internal error: the policy text could not be scanned");
	} else {
		size_t before = d->num_errors;
		root = build(&l, xr);
		if (!root && d->num_errors == before)
			pol_diag(d, CG_POL_ERROR, pol_pos_orig(&pt, 0), origin, "Out of memory");
		else if (root && l.rec != pt.num_elems)
			pol_diag(d, CG_POL_ERROR, pol_pos_orig(&pt, 0), origin,
				 "Internal error: %zu elements could not be located", pt.num_elems - l.rec);
		if (l.errors || d->num_errors != before)
			root = NULL;
	}
	xmlFreeDoc(doc);
out:
	pol_text_free(&pt);
	return root;
}

/* ---- fragments ------------------------------------------------------ */

static const struct cg_pol_fragment *find_fragment(const struct cg_pol_env *env, struct cg_str id)
{
	for (size_t i = 0; env && i < env->num_fragments; i++)
		if (cg_str_eq(env->fragments[i].id, id))
			return &env->fragments[i];
	return NULL;
}

static struct cg_pol_node *load_fragment_root(struct cg_arena *arena, struct cg_str id,
					      struct cg_str text, enum cg_pol_format format,
					      const struct cg_pol_env *env, struct cg_pol_diags *d,
					      struct cg_pol_pos where)
{
	if (text.len > CG_POL_MAX_FRAGMENT_BYTES) {
		pol_diag(d, CG_POL_ERROR, where, CG_STR(""),
			 "Policy fragment '%.*s' is larger than %u bytes", CG_STR_FMT(id),
			 CG_POL_MAX_FRAGMENT_BYTES);
		return NULL;
	}
	size_t before = d->num_errors;
	struct cg_pol_node *root = load_text(arena, text, format, id, env, d);
	if (root && !cg_str_eq_lit(root->name, "fragment")) {
		pol_diag(d, CG_POL_ERROR, root->pos, id,
			 "The root element of a policy fragment must be 'fragment', not '%.*s'",
			 CG_STR_FMT(root->name));
		return NULL;
	}
	return d->num_errors == before ? root : NULL;
}

/* Replaces each <include-fragment/> in a list by the fragment's elements.
 * Fragments cannot include fragments, so this does not recurse into them. */
static int expand_includes(struct cg_arena *arena, struct cg_pol_node **link,
			   const struct cg_pol_env *env, struct cg_pol_diags *d, size_t *budget)
{
	int errors = 0;
	while (*link) {
		struct cg_pol_node *n = *link;
		if (!cg_str_eq_lit(n->name, "include-fragment")) {
			errors += expand_includes(arena, &n->children, env, d, budget);
			link = &n->next;
			continue;
		}
		const struct cg_pol_attr *fa = cg_pol_attr_get(n, "fragment-id");
		const struct cg_pol_fragment *fr = NULL;
		struct cg_pol_node *froot = NULL;
		if (!fa || fa->is_expr) {
			/* reported by validation, which runs over the whole tree */
		} else if (!(fr = find_fragment(env, fa->value))) {
			pol_diag(d, CG_POL_ERROR, fa->vpos, n->origin, "Policy fragment '%.*s' was not found",
				 CG_STR_FMT(fa->value));
		} else if (fr->text.len > *budget) {
			/* Each inclusion is parsed afresh: bound the total work. */
			pol_diag(d, CG_POL_ERROR, fa->vpos, n->origin,
				 "Policy fragments included by this document exceed %u bytes in total",
				 CG_POL_MAX_INCLUDED_BYTES);
			*budget = 0;
		} else {
			*budget -= fr->text.len;
			froot = load_fragment_root(arena, fr->id, fr->text, fr->format, env, d, fa->vpos);
		}
		if (!froot) {
			errors++;
			link = &n->next;
			continue;
		}
		/* Splice: the fragment's elements take the include's place. */
		struct cg_pol_node *first = froot->children, *last = NULL;
		for (struct cg_pol_node *c = first; c; c = c->next)
			last = c;
		if (!first) {
			*link = n->next;
			continue;
		}
		last->next = n->next;
		*link = first;
		link = &last->next;
	}
	return errors;
}

/* ---- paths and scopes ----------------------------------------------- */

/* LastError.Path: name[k] where k counts same-named siblings from 1,
 * joined with '/' from the section down (APIM's "choose[3]/when[2]"). */
static int set_paths(struct cg_arena *a, struct cg_pol_node *list, struct cg_str prefix,
		     enum cg_pol_scope scope)
{
	for (struct cg_pol_node *n = list; n; n = n->next) {
		size_t k = 1;
		for (struct cg_pol_node *m = list; m != n; m = m->next)
			if (cg_str_eq(m->name, n->name))
				k++;
		char *p = prefix.len ? cg_arena_printf(a, "%.*s/%.*s[%zu]", CG_STR_FMT(prefix),
						       CG_STR_FMT(n->name), k)
				     : cg_arena_printf(a, "%.*s[%zu]", CG_STR_FMT(n->name), k);
		if (!p)
			return -1;
		n->path = cg_str_from_c(p);
		n->scope = scope;
		if (set_paths(a, n->children, n->path, scope) != 0)
			return -1;
	}
	return 0;
}

static const char *const section_names[CG_POL_NSECTIONS] = { "inbound", "backend", "outbound",
								    "on-error" };

const char *cg_pol_section_name(enum cg_pol_section s)
{
	return (unsigned)s < CG_POL_NSECTIONS ? section_names[s] : "?";
}

const char *cg_pol_scope_name(enum cg_pol_scope s)
{
	switch (s) {
	case CG_POL_SCOPE_GLOBAL:
		return "global";
	case CG_POL_SCOPE_API:
		return "api";
	case CG_POL_SCOPE_OPERATION:
		return "operation";
	case CG_POL_SCOPE_WORKSPACE:
		return "workspace";
	case CG_POL_SCOPE_PRODUCT:
		return "product";
	default:
		return "?";
	}
}

const struct cg_pol_attr *cg_pol_attr_get(const struct cg_pol_node *n, const char *name)
{
	struct cg_str s = cg_str_from_c(name);
	for (size_t i = 0; i < n->num_attrs; i++)
		if (cg_str_eq(n->attrs[i].name, s))
			return &n->attrs[i];
	return NULL;
}

/* ---- entry points --------------------------------------------------- */

static int finish(struct cg_arena *arena, struct cg_pol_node *root, int is_fragment,
		  enum cg_pol_scope scope, const struct cg_pol_env *env, struct cg_pol_diags *d,
		  struct cg_pol_doc **out)
{
	size_t before = d->num_errors;
	struct cg_pol_doc *doc = cg_arena_zalloc(arena, sizeof(*doc));
	if (!doc) {
		pol_diag(d, CG_POL_ERROR, root->pos, root->origin, "Out of memory");
		return -1;
	}
	doc->scope = scope;
	doc->is_fragment = is_fragment;
	doc->root = root;
	root->scope = scope;
	if (is_fragment) {
		if (set_paths(arena, root->children, CG_STR_NULL, scope) != 0)
			goto oom;
	} else {
		size_t budget = CG_POL_MAX_INCLUDED_BYTES;
		for (struct cg_pol_node *s = root->children; s; s = s->next) {
			s->scope = scope;
			for (int k = 0; k < CG_POL_NSECTIONS; k++)
				if (cg_str_eq(s->name, cg_str_from_c(section_names[k])) && !doc->sections[k])
					doc->sections[k] = s;
			if (expand_includes(arena, &s->children, env, d, &budget) == 0) {
				/* recount after splicing */
				s->num_children = 0;
				for (struct cg_pol_node *c = s->children; c; c = c->next)
					s->num_children++;
			}
			if (set_paths(arena, s->children, CG_STR_NULL, scope) != 0)
				goto oom;
		}
	}
	/* Validate even after fragment errors: every error of the document
	 * is reported in one go (an unexpanded include validates as itself). */
	pol_validate(doc, d);
	if (d->num_errors == before)
		pol_compile(doc, env, d);
	if (d->num_errors != before)
		return -1;
	*out = doc;
	return 0;
oom:
	pol_diag(d, CG_POL_ERROR, root->pos, root->origin, "Out of memory");
	return -1;
}

int cg_pol_load(struct cg_arena *arena, struct cg_str text, enum cg_pol_format format,
		enum cg_pol_scope scope, const struct cg_pol_env *env, struct cg_pol_diags *d,
		struct cg_pol_doc **out)
{
	*out = NULL;
	if (text.len > CG_POL_MAX_DOC_BYTES) {
		pol_diag(d, CG_POL_ERROR, (struct cg_pol_pos){ 1, 1, 0 }, CG_STR(""),
			 "Policy document is larger than %u bytes", CG_POL_MAX_DOC_BYTES);
		return -1;
	}
	size_t before = d->num_errors;
	struct cg_pol_node *root = load_text(arena, text, format, CG_STR(""), env, d);
	if (!root || d->num_errors != before)
		return -1;
	if (!cg_str_eq_lit(root->name, "policies")) {
		pol_diag(d, CG_POL_ERROR, root->pos, CG_STR(""),
			 "The root element of a policy document must be 'policies', not '%.*s'",
			 CG_STR_FMT(root->name));
		return -1;
	}
	return finish(arena, root, 0, scope, env, d, out);
}

int cg_pol_load_fragment(struct cg_arena *arena, struct cg_str id, struct cg_str text,
			 enum cg_pol_format format, const struct cg_pol_env *env,
			 struct cg_pol_diags *d, struct cg_pol_doc **out)
{
	*out = NULL;
	struct cg_pol_node *root =
		load_fragment_root(arena, id, text, format, env, d, (struct cg_pol_pos){ 1, 1, 0 });
	if (!root)
		return -1;
	return finish(arena, root, 1, CG_POL_SCOPE_GLOBAL, env, d, out);
}

int cg_pol_check(struct cg_arena *arena, struct cg_str text, enum cg_pol_format format,
		 const struct cg_pol_env *env, struct cg_pol_diags *d)
{
	size_t before = d->num_errors;
	struct cg_pol_doc *doc;
	/* Peek at the root name without a second parse: a fragment's text
	 * starts (after declarations and comments) with "<fragment". */
	int is_fragment = 0;
	for (size_t i = 0; i < text.len; i++) {
		if (text.ptr[i] != '<')
			continue;
		if (i + 1 < text.len && (text.ptr[i + 1] == '?' || text.ptr[i + 1] == '!'))
			continue;
		is_fragment = cg_str_has_prefix(cg_str_sub(text, i, text.len), CG_STR("<fragment")) &&
			      (i + 9 >= text.len || text.ptr[i + 9] == '>' || text.ptr[i + 9] == '/' ||
			       pol_is_blank(text.ptr[i + 9]));
		break;
	}
	if (is_fragment)
		cg_pol_load_fragment(arena, CG_STR(""), text, format, env, d, &doc);
	else
		cg_pol_load(arena, text, format, CG_POL_SCOPE_GLOBAL, env, d, &doc);
	return (int)(d->num_errors - before);
}

/* ---- dump ----------------------------------------------------------- */

static int dump_str(struct cg_buf *out, struct cg_str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		int r = c == '\n' ? cg_buf_append(out, "\\n", 2)
			: c == '\t' ? cg_buf_append(out, "\\t", 2)
			: c == '\r' ? cg_buf_append(out, "\\r", 2)
			: c == '\\' ? cg_buf_append(out, "\\\\", 2)
				    : cg_buf_append(out, &s.ptr[i], 1);
		if (r)
			return -1;
	}
	return 0;
}

int cg_pol_dump_node(const struct cg_pol_node *n, int depth, struct cg_buf *out)
{
	if (cg_buf_printf(out, "%*s%.*s %u:%u", depth * 2, "", CG_STR_FMT(n->name), n->pos.line,
			  n->pos.col) != 0)
		return -1;
	if (n->origin.len && cg_buf_printf(out, " fragment=%.*s", CG_STR_FMT(n->origin)) != 0)
		return -1;
	if (n->path.len && cg_buf_printf(out, " %s %.*s", cg_pol_scope_name(n->scope),
					 CG_STR_FMT(n->path)) != 0)
		return -1;
	if (cg_buf_append(out, "\n", 1) != 0)
		return -1;
	for (size_t i = 0; i < n->num_attrs; i++) {
		const struct cg_pol_attr *a = &n->attrs[i];
		if (cg_buf_printf(out, "%*s@%.*s %u:%u %s=", depth * 2 + 2, "", CG_STR_FMT(a->name),
				  a->vpos.line, a->vpos.col, a->is_expr ? "expr" : "text") != 0 ||
		    dump_str(out, a->value) != 0 || cg_buf_append(out, "\n", 1) != 0)
			return -1;
	}
	if (n->has_text &&
	    (cg_buf_printf(out, "%*s#%s %u:%u ", depth * 2 + 2, "", n->text_is_expr ? "expr" : "text",
			   n->text_pos.line, n->text_pos.col) != 0 ||
	     dump_str(out, n->text) != 0 || cg_buf_append(out, "\n", 1) != 0))
		return -1;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (cg_pol_dump_node(c, depth + 1, out) != 0)
			return -1;
	return 0;
}

int cg_pol_dump_doc(const struct cg_pol_doc *doc, struct cg_buf *out)
{
	return cg_pol_dump_node(doc->root, 0, out);
}

int cg_pol_dump_effective(const struct cg_pol_effective *e, struct cg_buf *out)
{
	for (int s = 0; s < CG_POL_NSECTIONS; s++) {
		if (cg_buf_printf(out, "[%s]\n", section_names[s]) != 0)
			return -1;
		for (size_t i = 0; i < e->sections[s].len; i++)
			if (cg_pol_dump_node(e->sections[s].items[i], 1, out) != 0)
				return -1;
	}
	return 0;
}

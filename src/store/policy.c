/* Policies, named values and policy fragments.
 *
 * These three refer to each other ({{name}} in a policy or fragment,
 * <include-fragment fragment-id="f"/> in a policy), so every write loads
 * what it touches with the policy loader and the expression engine inside
 * the write transaction, against the rows as they will be after the write:
 * the gateway can never be handed a store whose policies do not load.
 * A named value or fragment in use cannot be removed, and changing one
 * loads its users again (APIM semantics, apim.md §1.4 and §1.7). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "policy/exprhook.h"
#include "policy/policy.h"
#include "store/store-int.h"
#include "store/validate.h"

#define ENV_ARENA_CHUNK   (64 * 1024)  /* named values, fragments, policies of one write */
#define CHECK_ARENA_CHUNK (64 * 1024)  /* one load: tree, compiled expressions, diagnostics */
#define DIAG_LINE_MAX     (8 * 1024)   /* one formatted diagnostic */
#define DIAG_LINES_MAX    (256 * 1024) /* all diagnostics of one load, formatted */
#define SECRET_MIN_SCRUB  4            /* shorter secrets would blank out digits and words */

/* The store's limits are the loader's: a text the store takes must load. */
_Static_assert(CG_STORE_MAX_POLICY_BYTES == CG_POL_MAX_DOC_BYTES, "policy size limits differ");
_Static_assert(CG_STORE_MAX_FRAGMENT_BYTES == CG_POL_MAX_FRAGMENT_BYTES,
	       "fragment size limits differ");
_Static_assert(CG_STORE_MAX_NV_NAME_LEN == CG_POL_MAX_NAMED_VALUE_NAME,
	       "named value name limits differ");

/* ---- bounded messages ---------------------------------------------- */

/* err as an append-only buffer: a message that does not fit ends in
 * "..." so a reader knows it was cut. */
struct msg {
	char *buf;
	size_t cap;
	size_t len;
	bool cut;
};

static void msg_init(struct msg *m, char *buf, size_t cap)
{
	m->buf = buf;
	m->cap = cap;
	m->len = 0;
	m->cut = false;
	if (cap)
		buf[0] = 0;
}

static void msg_add(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_add(struct msg *m, const char *fmt, ...)
{
	if (m->cut || m->cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(m->buf + m->len, m->cap - m->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= m->cap - m->len) {
		m->cut = true;
		m->len = m->cap - 1;
		if (m->cap >= 4)
			memcpy(m->buf + m->cap - 4, "...", 4);
	} else {
		m->len += (size_t)n;
	}
}

/* ---- small SQL helpers --------------------------------------------- */

static char *arena_col(struct cg_arena *a, struct cg_db_stmt *s, int i)
{
	const char *t = cg_db_col_text(s, i);
	if (!t)
		return NULL;
	return cg_arena_strndup(a, t, cg_db_col_bytes(s, i));
}

/* ---- scopes and formats -------------------------------------------- */

/* Indexed by enum cg_model_policy_scope. */
static const char *const scope_names[] = { "global", "api", "operation", "product" };

enum cg_model_policy_scope cg_store_policy_scope_of(const char *name)
{
	for (size_t i = 1; name && i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
		if (strcmp(name, scope_names[i]) == 0)
			return (enum cg_model_policy_scope)i;
	return CG_MODEL_POLICY_GLOBAL;
}

void cg_store_policy_name(enum cg_model_policy_scope scope, const char *api_id, const char *op_id,
			  char *out, size_t outlen)
{
	if (scope == CG_MODEL_POLICY_API)
		snprintf(out, outlen, "the policy of api '%s'", api_id ? api_id : "");
	else if (scope == CG_MODEL_POLICY_PRODUCT)
		snprintf(out, outlen, "the policy of product '%s'", api_id ? api_id : "");
	else if (scope == CG_MODEL_POLICY_OPERATION)
		snprintf(out, outlen, "the policy of operation '%s' of api '%s'",
			 op_id ? op_id : "", api_id ? api_id : "");
	else
		snprintf(out, outlen, "the global policy");
}

static enum cg_pol_scope pol_scope(enum cg_model_policy_scope s)
{
	return s == CG_MODEL_POLICY_API         ? CG_POL_SCOPE_API
	       : s == CG_MODEL_POLICY_OPERATION ? CG_POL_SCOPE_OPERATION
	       : s == CG_MODEL_POLICY_PRODUCT   ? CG_POL_SCOPE_PRODUCT
						: CG_POL_SCOPE_GLOBAL;
}

static int parse_format(const char *in, enum cg_pol_format *out, char *err, size_t errlen)
{
	if (!in || strcmp(in, "rawxml") == 0) {
		*out = CG_POL_FORMAT_RAWXML;
		return 0;
	}
	if (strcmp(in, "xml") == 0) {
		*out = CG_POL_FORMAT_XML;
		return 0;
	}
	/* APIM's "-link" formats fetch the text from a URL: no network here. */
	return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
			      "format '%.40s' is not supported (use rawxml or xml)", in);
}

static const char *format_name(enum cg_pol_format f)
{
	return f == CG_POL_FORMAT_XML ? "xml" : "rawxml";
}

/* Checks that the ids fit the scope: global takes none, api an API id,
 * operation both, product a product id (in api_id). */
static int check_scope(enum cg_model_policy_scope scope, const char *api_id, const char *op_id,
		       char *err, size_t errlen)
{
	int rc;
	switch (scope) {
	case CG_MODEL_POLICY_GLOBAL:
		if (api_id || op_id)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "the global policy takes no API or operation id");
		return 0;
	case CG_MODEL_POLICY_API:
		if (op_id)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "an API policy takes no operation id");
		return cg_store_check_id("API id", api_id ? api_id : "", err, errlen);
	case CG_MODEL_POLICY_OPERATION:
		if ((rc = cg_store_check_id("API id", api_id ? api_id : "", err, errlen)))
			return rc;
		return cg_store_check_id("operation id", op_id ? op_id : "", err, errlen);
	case CG_MODEL_POLICY_PRODUCT:
		if (op_id)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "a product policy takes no operation id");
		return cg_store_check_id("product id", api_id ? api_id : "", err, errlen);
	}
	return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID, "unknown policy scope %d",
			      (int)scope);
}

/* ---- what a write is checked against ------------------------------- */

struct pol_row {
	enum cg_model_policy_scope scope;
	const char *api_id, *op_id;
	enum cg_pol_format format;
	const char *value;
};

/* The named values, fragments and policies as the transaction sees them
 * (after the write when read after it). Lives in arena. */
struct env_rows {
	struct cg_arena arena;
	struct cg_pol_named_value *nv;
	size_t num_nv;
	struct cg_str *secrets; /* secret values and their words, for scrubbing */
	size_t num_secrets, cap_secrets;
	struct cg_pol_fragment *fr;
	size_t num_fr;
	struct pol_row *pol;
	size_t num_pol;
	struct cg_store *st; /* for the references a policy makes */
};

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int push_secret(struct env_rows *e, struct cg_str v)
{
	if (e->num_secrets == e->cap_secrets) {
		size_t cap = e->cap_secrets ? e->cap_secrets * 2 : 16;
		struct cg_str *n = cg_arena_alloc(&e->arena, cap * sizeof(*n));
		if (!n)
			return -1;
		if (e->num_secrets)
			memcpy(n, e->secrets, e->num_secrets * sizeof(*n));
		e->secrets = n;
		e->cap_secrets = cap;
	}
	e->secrets[e->num_secrets++] = v;
	return 0;
}

/* Records what of a secret value must not appear in messages: the whole
 * value, and each identifier-like word in it, because an expression
 * engine message quotes names ("The name 'X' does not exist"), not
 * whole values. Pieces shorter than SECRET_MIN_SCRUB are left: they
 * would blank out ordinary words and digits. */
static int add_secret(struct env_rows *e, const char *v)
{
	size_t n = strlen(v);
	if (n >= SECRET_MIN_SCRUB && push_secret(e, cg_str_make(v, n)) != 0)
		return -1;
	for (size_t i = 0; i < n;) {
		if (!word_char(v[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && word_char(v[j]))
			j++;
		if (j - i >= SECRET_MIN_SCRUB && j - i < n &&
		    push_secret(e, cg_str_make(v + i, j - i)) != 0)
			return -1;
		i = j;
	}
	return 0;
}

static int env_oom(char *err, size_t errlen)
{
	return cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory reading the store");
}

static int env_read(struct cg_store *st, struct env_rows *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->st = st;
	cg_arena_init(&e->arena, ENV_ARENA_CHUNK, 0);
	size_t nnv, nfr, npol;
	int rc, r;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM named_values", NULL, NULL, &nnv, err,
				 errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM fragments", NULL, NULL, &nfr, err,
				 errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM policies", NULL, NULL, &npol, err,
				 errlen)))
		return rc;
	e->nv = cg_arena_zalloc(&e->arena, (nnv + 1) * sizeof(*e->nv));

	e->fr = cg_arena_zalloc(&e->arena, (nfr + 1) * sizeof(*e->fr));
	e->pol = cg_arena_zalloc(&e->arena, (npol + 1) * sizeof(*e->pol));
	if (!e->nv || !e->fr || !e->pol)
		return env_oom(err, errlen);

	struct cg_db_stmt *s =
		cg_store_prepare(st, "SELECT name, value, secret FROM named_values", err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((r = cg_db_step(s)) == CG_DB_ROW && e->num_nv < nnv) {
		char *n = arena_col(&e->arena, s, 0), *v = arena_col(&e->arena, s, 1);
		if (!n || !v) {
			cg_db_finalize(s);
			return env_oom(err, errlen);
		}
		e->nv[e->num_nv].name = cg_str_from_c(n);
		e->nv[e->num_nv].value = cg_str_from_c(v);
		if (cg_db_col_int(s, 2) && add_secret(e, v) != 0) {
			cg_db_finalize(s);
			return env_oom(err, errlen);
		}
		e->num_nv++;
	}
	cg_db_finalize(s);
	if (r == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read named values", err, errlen);

	s = cg_store_prepare(st, "SELECT id, format, value FROM fragments", err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((r = cg_db_step(s)) == CG_DB_ROW && e->num_fr < nfr) {
		char *id = arena_col(&e->arena, s, 0), *f = arena_col(&e->arena, s, 1),
		     *v = arena_col(&e->arena, s, 2);
		if (!id || !f || !v) {
			cg_db_finalize(s);
			return env_oom(err, errlen);
		}
		e->fr[e->num_fr].id = cg_str_from_c(id);
		e->fr[e->num_fr].text = cg_str_from_c(v);
		e->fr[e->num_fr].format =
			strcmp(f, "xml") == 0 ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
		e->num_fr++;
	}
	cg_db_finalize(s);
	if (r == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read fragments", err, errlen);

	/* Ordered so messages list users the same way every time; a product
	 * policy's product id is read as its api_id (see scope_names). */
	s = cg_store_prepare(st,
			     "SELECT scope, coalesce(api_id, product_id), op_id, format, value "
			     "FROM policies ORDER BY scope = 'operation', scope = 'api', "
			     "scope = 'product', api_id, op_id, product_id",
			     err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((r = cg_db_step(s)) == CG_DB_ROW && e->num_pol < npol) {
		struct pol_row *p = &e->pol[e->num_pol];
		p->scope = cg_store_policy_scope_of(cg_db_col_text(s, 0));
		p->api_id = arena_col(&e->arena, s, 1);
		p->op_id = arena_col(&e->arena, s, 2);
		const char *f = cg_db_col_text(s, 3);
		p->format = f && strcmp(f, "xml") == 0 ? CG_POL_FORMAT_XML : CG_POL_FORMAT_RAWXML;
		p->value = arena_col(&e->arena, s, 4);
		if (!p->value) {
			cg_db_finalize(s);
			return env_oom(err, errlen);
		}
		e->num_pol++;
	}
	cg_db_finalize(s);
	if (r == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read policies", err, errlen);
	return 0;
}

static void env_free(struct env_rows *e)
{
	cg_arena_destroy(&e->arena);
}

/* ---- loading one text ---------------------------------------------- */

/* Appends s to out with every secret value replaced by "***": a
 * diagnostic can quote substituted text (an expression built from a
 * secret), and secrets are never printed. */
static int append_scrubbed(struct cg_buf *out, struct cg_str s, const struct env_rows *e)
{
	size_t i = 0, copied = 0;
	while (i < s.len) {
		size_t hit = 0;
		for (size_t k = 0; k < e->num_secrets && !hit; k++) {
			struct cg_str v = e->secrets[k];
			if (v.len <= s.len - i && memcmp(s.ptr + i, v.ptr, v.len) == 0)
				hit = v.len;
		}
		if (!hit) {
			i++;
			continue;
		}
		if (cg_buf_append(out, s.ptr + copied, i - copied) != 0 ||
		    cg_buf_append(out, "***", 3) != 0)
			return -1;
		i += hit;
		copied = i;
	}
	return cg_buf_append(out, s.ptr + copied, s.len - copied);
}

/* Loads a policy (frag_id NULL) or a fragment with e's named values and
 * fragments and the expression engine, into a throw-away arena. Every
 * diagnostic goes to lines, one per line. Returns the number of errors. */
/* A literal reference to something that must exist in the store (the
 * gateway refuses a configuration whose policies name what is missing, so
 * the store refuses it first). Expressions cannot be known: not checked. */
static size_t check_refs(const struct env_rows *e, const struct cg_pol_node *n, struct cg_buf *lines)
{
	size_t errors = 0;
	for (; n; n = n->next) {
		bool auth = cg_str_eq_lit(n->name, "authentication-certificate");
		bool backend = cg_str_eq_lit(n->name, "set-backend-service");
		for (size_t i = 0; e->st && (auth || backend) && i < n->num_attrs; i++) {
			const struct cg_pol_attr *at = &n->attrs[i];
			if (at->is_expr)
				continue;
			char v[300];
			snprintf(v, sizeof(v), "%.*s", (int)(at->value.len < 299 ? at->value.len : 299), at->value.ptr);
			const char *sql = NULL, *what = NULL;
			if (auth && cg_str_eq_lit(at->name, "certificate-id")) {
				sql = "SELECT count(*) FROM certificates WHERE id = ?1 AND key_pem IS NOT NULL";
				what = "no uploaded certificate with a private key has the id";
			} else if (auth && cg_str_eq_lit(at->name, "thumbprint")) {
				sql = "SELECT count(*) FROM certificates WHERE upper(thumbprint) = upper(?1) "
				      "AND key_pem IS NOT NULL";
				what = "no uploaded certificate with a private key has the thumbprint";
			} else if (backend && cg_str_eq_lit(at->name, "backend-id")) {
				sql = "SELECT count(*) FROM backends WHERE id = ?1";
				what = "no backend has the id";
			}
			size_t cnt = 0;
			char err[200];
			if (!sql || cg_store_count(e->st, sql, v, NULL, &cnt, err, sizeof(err)) != 0 || cnt)
				continue;
			errors++;
			if (cg_buf_printf(lines, "%u:%u: %.*s: %s '%s'\n", at->vpos.line, at->vpos.col,
					  CG_STR_FMT(n->name), what, v) != 0)
				break;
		}
		errors += check_refs(e, n->children, lines);
	}
	return errors;
}

static size_t load_one(const struct env_rows *e, const char *frag_id, enum cg_pol_scope scope,
		       enum cg_pol_format format, const char *text, struct cg_buf *lines)
{
	struct cg_arena a;
	cg_arena_init(&a, CHECK_ARENA_CHUNK, 0);
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &a);
	struct cg_pol_env env = {
		.named_values = e->nv,
		.num_named_values = e->num_nv,
		.fragments = e->fr,
		.num_fragments = e->num_fr,
		.compile = cg_pol_expr_hook,
		.compile_ud = &a, /* compiled programs die with the arena */
	};
	struct cg_pol_doc *doc;
	int rc;
	/* A fragment checked on its own gets no id: its positions are its
	 * own, and "fragment 'x'" in front of each would only repeat it. */
	if (frag_id)
		rc = cg_pol_load_fragment(&a, CG_STR(""), cg_str_from_c(text), format, &env, &d,
					  &doc);
	else
		rc = cg_pol_load(&a, cg_str_from_c(text), format, scope, &env, &d, &doc);
	size_t errors = d.num_errors;
	if (rc == 0 && doc && doc->root)
		errors += check_refs(e, doc->root, lines);
	struct cg_buf one;
	cg_buf_init(&one, DIAG_LINE_MAX);
	for (const struct cg_pol_diag *dg = d.head; dg; dg = dg->next) {
		one.len = 0;
		if (cg_pol_diag_format(dg, &one) != 0)
			continue;
		if (append_scrubbed(lines, cg_buf_str(&one), e) != 0 ||
		    cg_buf_append(lines, "\n", 1) != 0)
			break; /* DIAG_LINES_MAX: enough to act on */
	}
	if (d.num_dropped &&
	    cg_buf_printf(lines, "(%zu more diagnostics not shown)\n", d.num_dropped) != 0) {
		/* the list is already as long as it may get */
	}
	if (rc != 0 && errors == 0) {
		errors = 1;
		if (cg_buf_printf(lines, "1:1: the text could not be loaded (out of memory)\n") !=
		    0) {
			/* as above */
		}
	}
	cg_buf_free(&one);
	cg_arena_destroy(&a);
	return errors;
}

/* Adds lines (without its last newline) to m after a first line. */
static void msg_lines(struct msg *m, const struct cg_buf *lines)
{
	size_t n = lines->len;
	while (n && lines->data[n - 1] == '\n')
		n--;
	if (n)
		msg_add(m, "\n%.*s", (int)n, lines->data);
}

/* ---- who uses what ------------------------------------------------- */

static bool nv_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* Whether text refers to {{name}}, by the loader's own textual rule (a
 * reference inside a comment counts: the loader substitutes there too). */
static bool text_uses_nv(const char *text, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(text, "{{"); p; p = strstr(p + 1, "{{")) {
		const char *q = p + 2;
		size_t n = 0;
		while (nv_char(q[n]) && n <= CG_STORE_MAX_NV_NAME_LEN)
			n++;
		if (n == nl && q[n] == '}' && q[n + 1] == '}' && memcmp(q, name, nl) == 0)
			return true;
	}
	return false;
}

/* Whether an attribute value v (vlen bytes, raw) names fragment id, after
 * {{name}} substitution (a fragment-id may be a named value). */
static bool fragment_id_is(const char *v, size_t vlen, const char *id, const struct env_rows *e)
{
	char buf[CG_STORE_MAX_ID_LEN + 2];
	size_t bl = 0, i = 0;
	while (i < vlen) {
		if (i + 1 < vlen && v[i] == '{' && v[i + 1] == '{') {
			size_t j = i + 2;
			while (j < vlen && nv_char(v[j]))
				j++;
			if (j + 1 < vlen && v[j] == '}' && v[j + 1] == '}') {
				struct cg_str name = cg_str_make(v + i + 2, j - i - 2);
				for (size_t k = 0; k < e->num_nv; k++) {
					if (!cg_str_eq(e->nv[k].name, name))
						continue;
					struct cg_str val = e->nv[k].value;
					if (bl + val.len >= sizeof(buf))
						return false;
					memcpy(buf + bl, val.ptr, val.len);
					bl += val.len;
				}
				i = j + 2;
				continue;
			}
		}
		if (bl + 1 >= sizeof(buf))
			return false;
		buf[bl++] = v[i++];
	}
	return bl == strlen(id) && memcmp(buf, id, bl) == 0;
}

struct include_ref {
	const char *id;
	const struct env_rows *e;
};

static bool includes_attr(struct cg_str name, struct cg_str v, void *ud)
{
	const struct include_ref *r = ud;
	return cg_str_eq_lit(name, "fragment-id") && fragment_id_is(v.ptr, v.len, r->id, r->e);
}

/* Whether text has <include-fragment fragment-id="id"/> outside comments
 * and CDATA. Textual on purpose: the loader replaces an include by the
 * fragment's elements, which leaves no trace of an empty fragment. */
static bool text_includes(const char *text, const char *id, const struct env_rows *e)
{
	struct include_ref r = { id, e };
	return cg_store_xml_find_attr(text, "<include-fragment", true, includes_attr, &r);
}

static bool fragment_uses_nv(const struct env_rows *e, size_t k, const char *name)
{
	return text_uses_nv(e->fr[k].text.ptr, name);
}

/* Whether policy i uses named value name: itself or through a fragment it
 * includes. */
static bool policy_uses_nv(const struct env_rows *e, size_t i, const char *name)
{
	if (text_uses_nv(e->pol[i].value, name))
		return true;
	for (size_t k = 0; k < e->num_fr; k++)
		if (fragment_uses_nv(e, k, name) &&
		    text_includes(e->pol[i].value, e->fr[k].id.ptr, e))
			return true;
	return false;
}

static void policy_label(const struct pol_row *p, char *out, size_t outlen)
{
	cg_store_policy_name(p->scope, p->api_id, p->op_id, out, outlen);
}

/* Lists the users of a named value (nv) or of a fragment (frag) into m,
 * ", " between them; returns how many. */
static size_t list_users(const struct env_rows *e, const char *nv, const char *frag, struct msg *m)
{
	size_t n = 0;
	char label[400];
	for (size_t i = 0; i < e->num_pol; i++) {
		bool uses = nv ? policy_uses_nv(e, i, nv) : text_includes(e->pol[i].value, frag, e);
		if (!uses)
			continue;
		policy_label(&e->pol[i], label, sizeof(label));
		msg_add(m, "%s%s", n++ ? ", " : "", label);
	}
	for (size_t k = 0; nv && k < e->num_fr; k++)
		if (fragment_uses_nv(e, k, nv))
			msg_add(m, "%sfragment '%s'", n++ ? ", " : "", e->fr[k].id.ptr);
	return n;
}

/* Loads every user of a named value (nv) or fragment (frag) again with e,
 * which already holds the new rows. Appends each failure to m, with its
 * diagnostics. Returns the number of users that fail. */
static size_t revalidate_users(const struct env_rows *e, const char *nv, const char *frag,
			       struct msg *m)
{
	size_t failed = 0;
	char label[400];
	struct cg_buf lines;
	cg_buf_init(&lines, DIAG_LINES_MAX);
	for (size_t k = 0; nv && k < e->num_fr; k++) {
		if (!fragment_uses_nv(e, k, nv))
			continue;
		lines.len = 0;
		if (load_one(e, e->fr[k].id.ptr, CG_POL_SCOPE_GLOBAL, e->fr[k].format,
			     e->fr[k].text.ptr, &lines) == 0)
			continue;
		failed++;
		msg_add(m, "\nfragment '%s' would not load:", e->fr[k].id.ptr);
		msg_lines(m, &lines);
	}
	for (size_t i = 0; i < e->num_pol; i++) {
		const struct pol_row *p = &e->pol[i];
		bool uses = nv ? policy_uses_nv(e, i, nv) : text_includes(p->value, frag, e);
		if (!uses)
			continue;
		lines.len = 0;
		if (load_one(e, NULL, pol_scope(p->scope), p->format, p->value, &lines) == 0)
			continue;
		failed++;
		policy_label(p, label, sizeof(label));
		msg_add(m, "\n%s would not load:", label);
		msg_lines(m, &lines);
	}
	cg_buf_free(&lines);
	return failed;
}

/* ---- policies ------------------------------------------------------ */

/* NOT_FOUND unless the API (and the operation) of a scope exist. */
static int scope_exists(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, char *err, size_t errlen)
{
	size_t n;
	int rc;
	if (scope == CG_MODEL_POLICY_GLOBAL)
		return 0;
	if (scope == CG_MODEL_POLICY_PRODUCT) {
		if ((rc = cg_store_count(st, "SELECT count(*) FROM products WHERE id = ?", api_id,
					 NULL, &n, err, errlen)))
			return rc;
		return n ? 0 : cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
					      "product '%s' does not exist", api_id);
	}
	if ((rc = cg_store_count(st, "SELECT count(*) FROM apis WHERE id = ?", api_id, NULL, &n,
				 err, errlen)))
		return rc;
	if (n == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
				      "API '%s' does not exist", api_id);
	if (scope != CG_MODEL_POLICY_OPERATION)
		return 0;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM operations WHERE api_id = ? AND id = ?",
				 api_id, op_id, &n, err, errlen)))
		return rc;
	if (n == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND,
				      "API '%s' has no operation '%s'", api_id, op_id);
	return 0;
}

/* The row of one scope, bound by bind_scope. NULL ids compare as '' (no
 * id is empty): the form of the unique index, and portable SQL where
 * SQLite's "IS ?" is not. ?2 is the product id at the product scope. */
#define SCOPE_WHERE                                                                      \
	" WHERE scope = ?1 AND coalesce(CASE WHEN scope = 'product' THEN product_id"       \
	" ELSE api_id END, '') = coalesce(?2, '')"                                        \
	" AND coalesce(op_id, '') = coalesce(?3, '')"

/* Binds scope (1), api_id (2), op_id (3); NULL ids bind NULL. */
static void bind_scope(struct cg_db_stmt *s, enum cg_model_policy_scope scope, const char *api_id,
		       const char *op_id)
{
	cg_db_bind_text(s, 1, scope_names[scope]);
	if (scope != CG_MODEL_POLICY_GLOBAL)
		cg_db_bind_text(s, 2, api_id);
	if (scope == CG_MODEL_POLICY_OPERATION)
		cg_db_bind_text(s, 3, op_id);
}

int cg_store_policy_set(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, const char *format, const char *text, char *err,
			size_t errlen)
{
	enum cg_pol_format fmt;
	char label[400];
	int rc;
	if ((rc = check_scope(scope, api_id, op_id, err, errlen)) ||
	    (rc = parse_format(format, &fmt, err, errlen)))
		return rc;
	cg_store_policy_name(scope, api_id, op_id, label, sizeof(label));
	if (!text || !*text)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s: the policy text is empty", label);
	size_t len = strlen(text);
	if (len > CG_STORE_MAX_POLICY_BYTES)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "%s: the policy is %zu bytes; at most %d are accepted", label,
				      len, CG_STORE_MAX_POLICY_BYTES);
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct env_rows e;
	memset(&e, 0, sizeof(e));
	struct cg_buf lines;
	cg_buf_init(&lines, DIAG_LINES_MAX);
	if ((rc = scope_exists(st, scope, api_id, op_id, err, errlen)) ||
	    (rc = env_read(st, &e, err, errlen)))
		goto out;
	size_t errors = load_one(&e, NULL, pol_scope(scope), fmt, text, &lines);
	if (errors) {
		struct msg m;
		msg_init(&m, err, errlen);
		msg_add(&m, "%s does not load (%zu error%s):", label, errors,
			errors == 1 ? "" : "s");
		msg_lines(&m, &lines);
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	/* The UPDATE, then the INSERT when it changed no row. */
	static const char *const write_sql[] = {
		"UPDATE policies SET format = ?4, value = ?5, updated_at = " CG_STORE_SQL_NOW
		SCOPE_WHERE,
		"INSERT INTO policies (scope, api_id, op_id, format, value, created_at,"
		" updated_at, product_id) VALUES (?1,"
		" CASE WHEN ?1 = 'product' THEN NULL ELSE CAST(?2 AS TEXT) END, ?3, ?4, ?5, "
		CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ","
		" CASE WHEN ?1 = 'product' THEN CAST(?2 AS TEXT) END)",
	};
	for (size_t i = 0; i < 2; i++) {
		struct cg_db_stmt *s = cg_store_prepare(st, write_sql[i], err, errlen);
		if (s) {
			bind_scope(s, scope, api_id, op_id);
			cg_db_bind_text(s, 4, format_name(fmt));
			cg_db_bind_text(s, 5, text);
		}
		if ((rc = cg_store_step_done(st, s, "write policy", err, errlen)) ||
		    cg_db_changes(st->db) != 0)
			break;
	}
	if (rc || (rc = cg_store_commit_write(st, err, errlen)))
		goto out;
	/* Accepted: what is left to say are the warnings. */
	struct msg m;
	msg_init(&m, err, errlen);
	size_t n = lines.len;
	while (n && lines.data[n - 1] == '\n')
		n--;
	if (n)
		msg_add(&m, "%.*s", (int)n, lines.data);
out:
	if (rc)
		cg_store_rollback(st);
	cg_buf_free(&lines);
	env_free(&e);
	return rc;
}

void cg_store_text_free(struct cg_store_text *t)
{
	if (!t)
		return;
	free(t->format);
	free(t->value);
	free(t->description);
	memset(t, 0, sizeof(*t));
}

/* The policy's name as a sentence starts ("The policy of api 'x'"). */
static void sentence_label(enum cg_model_policy_scope scope, const char *api_id, const char *op_id,
			   char *out, size_t outlen)
{
	cg_store_policy_name(scope, api_id, op_id, out, outlen);
	out[0] = 'T';
}

static int fill_text(struct cg_db_stmt *s, struct cg_store_text *out, bool with_description, char *err,
		     size_t errlen)
{
	out->format = cg_store_dup_col(s, 0);
	out->value = cg_store_dup_col(s, 1);
	out->description = with_description ? cg_store_dup_col(s, 2) : strdup("");
	if (!out->format || !out->value || !out->description) {
		cg_store_text_free(out);
		return cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	}
	return 0;
}

int cg_store_policy_get(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, struct cg_store_text *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = check_scope(scope, api_id, op_id, err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(st,
					   "SELECT format, value FROM policies" SCOPE_WHERE,
					   err, errlen);
	if (s)
		bind_scope(s, scope, api_id, op_id);
	rc = cg_store_first_row(st, s, "read policy", err, errlen);
	if (rc == 0) {
		rc = fill_text(s, out, false, err, errlen);
	} else if (rc == CG_STORE_FAIL_NOT_FOUND) {
		char label[400];
		sentence_label(scope, api_id, op_id, label, sizeof(label));
		rc = cg_store_failf(err, errlen, rc, "%s is not set", label);
	}
	cg_db_finalize(s);
	return rc;
}

int cg_store_policy_rm(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
		       const char *op_id, char *err, size_t errlen)
{
	int rc;
	if ((rc = check_scope(scope, api_id, op_id, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(
		st, "DELETE FROM policies" SCOPE_WHERE, err, errlen);
	if (s)
		bind_scope(s, scope, api_id, op_id);
	char label[400];
	sentence_label(scope, api_id, op_id, label, sizeof(label));
	return cg_store_delete_commit(st, s, "delete policy", err, errlen, "%s is not set", label);
}

/* ---- named values -------------------------------------------------- */

int cg_store_check_nv_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "named value name is empty");
	if (n > CG_STORE_MAX_NV_NAME_LEN)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "named value name '%.80s...' is longer than %d characters",
				      name, CG_STORE_MAX_NV_NAME_LEN);
	for (size_t i = 0; i < n; i++)
		if (!nv_char(name[i]))
			return cg_store_failf(
				err, errlen, CG_STORE_FAIL_INVALID,
				"named value name '%.80s' may contain only letters, digits, "
				"'-', '.' and '_'",
				name);
	return 0;
}

/* The value rules of APIM's schema: non-empty, not only whitespace. The
 * value itself is never quoted in a message: it may be a secret. */
static int check_nv_value(const char *name, const char *v, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n == 0)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "named value '%s': the value is empty", name);
	if (n > CG_STORE_MAX_NV_VALUE_LEN)
		return cg_store_failf(
			err, errlen, CG_STORE_FAIL_INVALID,
			"named value '%s': the value is %zu bytes; at most %d are accepted", name,
			n, CG_STORE_MAX_NV_VALUE_LEN);
	for (size_t i = 0; i < n; i++)
		if (!cg_store_xml_blank(v[i]) && v[i] != '\v' && v[i] != '\f')
			return 0;
	return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
			      "named value '%s': the value is only whitespace", name);
}

/* Tags as a JSON array (malloc'd), after checking each. */
static int tags_json(const struct cg_store_nv_set *in, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (in->num_tags > CG_STORE_MAX_NV_TAGS)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "named value '%s' has %zu tags; at most %d are accepted",
				      in->name, in->num_tags, CG_STORE_MAX_NV_TAGS);
	json_t *arr = json_array();
	if (!arr)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < in->num_tags && rc == 0; i++) {
		const char *t = in->tags[i] ? in->tags[i] : "";
		if (strlen(t) > CG_STORE_MAX_NV_TAG_LEN)
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					    "tag '%.64s...' is longer than %d characters", t,
					    CG_STORE_MAX_NV_TAG_LEN);
		else if ((rc = cg_store_check_id("tag", t, err, errlen)) == 0 &&
			 json_array_append_new(arr, json_string(t)) != 0)
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	}
	if (rc == 0 && !(*out = json_dumps(arr, JSON_COMPACT)))
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	json_decref(arr);
	return rc;
}

int cg_store_nv_set(struct cg_store *st, const struct cg_store_nv_set *in, char *err, size_t errlen)
{
	const char *name = in->name ? in->name : "";
	char *tags = NULL;
	int rc;
	if ((rc = cg_store_check_nv_name(name, err, errlen)) ||
	    (rc = check_nv_value(name, in->value ? in->value : "", err, errlen)) ||
	    (rc = tags_json(in, &tags, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen))) {
		free(tags);
		return rc;
	}
	struct env_rows e;
	memset(&e, 0, sizeof(e));
	struct cg_db_stmt *s = NULL;
	bool exists;
	if ((rc = cg_store_room_for(st, "named_values", "name", name, CG_STORE_MAX_NAMED_VALUES,
				    "named values", &exists, err, errlen)))
		goto out;
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE named_values SET value = ?2, secret = ?3, tags = ?4, updated_at "
			 "= " CG_STORE_SQL_NOW " WHERE name = ?1"
		       : "INSERT INTO named_values (name, value, secret, tags, created_at, "
			 "updated_at) VALUES (?1, ?2, ?3, ?4, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		name, in->value, err, errlen);
	if (s) {
		cg_db_bind_int(s, 3, in->secret ? 1 : 0);
		cg_db_bind_text(s, 4, tags);
	}
	rc = cg_store_step_done(st, s, "write named value", err, errlen);
	s = NULL;
	if (rc)
		goto out;
	/* The users see the new value: read after the write. */
	if ((rc = env_read(st, &e, err, errlen)))
		goto out;
	struct msg m;
	msg_init(&m, err, errlen);
	msg_add(&m, "named value '%s' cannot be changed to this value:", name);
	if (revalidate_users(&e, name, NULL, &m)) {
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	err[0] = 0;
	rc = cg_store_commit_write(st, err, errlen);
	if (rc == 0 && in->created)
		*in->created = !exists;
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	env_free(&e);
	free(tags);
	return rc;
}

void cg_store_nv_free(struct cg_store_nv *nv)
{
	if (!nv)
		return;
	if (nv->value)
		OPENSSL_cleanse(nv->value, strlen(nv->value));
	free(nv->name);
	free(nv->value);
	free(nv->tags);
	memset(nv, 0, sizeof(*nv));
}

int cg_store_nv_get(struct cg_store *st, const char *name, struct cg_store_nv *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = cg_store_check_nv_name(name ? name : "", err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT name, value, secret, tags FROM named_values WHERE name = ?", name, NULL,
		err, errlen);
	rc = cg_store_first_row(st, s, "read named value", err, errlen);
	if (rc == 0) {
		out->name = cg_store_dup_col(s, 0);
		out->value = cg_store_dup_col(s, 1);
		out->secret = cg_db_col_int(s, 2) != 0;
		out->tags = cg_store_dup_col(s, 3);
		if (!out->name || !out->value || !out->tags) {
			cg_store_nv_free(out);
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
		}
	} else if (rc == CG_STORE_FAIL_NOT_FOUND) {
		rc = cg_store_failf(err, errlen, rc, "named value '%s' does not exist", name);
	}
	cg_db_finalize(s);
	return rc;
}

/* Removes the row named id from table (named_values or fragments) unless
 * something uses it. what: "named value" or "fragment". */
static int rm_unused(struct cg_store *st, const char *what, const char *id, bool is_nv, char *err,
		     size_t errlen)
{
	int rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct env_rows e;
	memset(&e, 0, sizeof(e));
	size_t n;
	if ((rc = cg_store_count(st,
				 is_nv ? "SELECT count(*) FROM named_values WHERE name = ?"
				       : "SELECT count(*) FROM fragments WHERE id = ?",
				 id, NULL, &n, err, errlen)))
		goto out;
	if (n == 0) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_NOT_FOUND, "%s '%s' does not exist",
				    what, id);
		goto out;
	}
	if ((rc = env_read(st, &e, err, errlen)))
		goto out;
	struct msg m;
	msg_init(&m, err, errlen);
	msg_add(&m, "%s '%s' is used by ", what, id);
	if (list_users(&e, is_nv ? id : NULL, is_nv ? NULL : id, &m)) {
		msg_add(&m, "; change %s first", is_nv ? "them" : "those policies");
		rc = CG_STORE_FAIL_CONFLICT;
		goto out;
	}
	err[0] = 0;
	if ((rc = cg_store_run(st,
			       is_nv ? "DELETE FROM named_values WHERE name = ?"
				     : "DELETE FROM fragments WHERE id = ?",
			       id, NULL, is_nv ? "delete named value" : "delete fragment", err,
			       errlen)))
		goto out;
	rc = cg_store_commit_write(st, err, errlen);
out:
	if (rc)
		cg_store_rollback(st);
	env_free(&e);
	return rc;
}

int cg_store_nv_rm(struct cg_store *st, const char *name, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_nv_name(name ? name : "", err, errlen)))
		return rc;
	return rm_unused(st, "named value", name, true, err, errlen);
}

/* ---- fragments ----------------------------------------------------- */

int cg_store_fragment_set(struct cg_store *st, const char *id, const char *description,
			  const char *format, const char *text, char *err, size_t errlen)
{
	enum cg_pol_format fmt;
	int rc;
	id = id ? id : "";
	if ((rc = cg_store_check_id("fragment id", id, err, errlen)) ||
	    (rc = parse_format(format, &fmt, err, errlen)))
		return rc;
	if (description && strlen(description) > CG_STORE_MAX_DESCRIPTION_LEN)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "fragment '%s': the description is longer than %d bytes", id,
				      CG_STORE_MAX_DESCRIPTION_LEN);
	if (!text || !*text)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "fragment '%s': the text is empty", id);
	size_t len = strlen(text);
	if (len > CG_STORE_MAX_FRAGMENT_BYTES)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "fragment '%s' is %zu bytes; at most %d are accepted", id,
				      len, CG_STORE_MAX_FRAGMENT_BYTES);
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct env_rows e;
	memset(&e, 0, sizeof(e));
	struct cg_buf lines;
	cg_buf_init(&lines, DIAG_LINES_MAX);
	struct cg_db_stmt *s = NULL;
	bool exists;
	if ((rc = cg_store_room_for(st, "fragments", "id", id, CG_STORE_MAX_FRAGMENTS,
				    "fragments", &exists, err, errlen)))
		goto out;
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE fragments SET description = coalesce(?2, description), format = "
			 "?3,"
			 " value = ?4, updated_at = " CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO fragments (id, description, format, value, created_at,"
			 " updated_at) VALUES (?1, coalesce(?2, ''), ?3, ?4, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, description, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, format_name(fmt));
		cg_db_bind_text(s, 4, text);
	}
	rc = cg_store_step_done(st, s, "write fragment", err, errlen);
	s = NULL;
	if (rc || (rc = env_read(st, &e, err, errlen)))
		goto out;
	struct msg m;
	msg_init(&m, err, errlen);
	size_t errors = load_one(&e, id, CG_POL_SCOPE_GLOBAL, fmt, text, &lines);
	if (errors) {
		msg_add(&m, "fragment '%s' does not load (%zu error%s):", id, errors,
			errors == 1 ? "" : "s");
		msg_lines(&m, &lines);
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	msg_add(&m, "fragment '%s' cannot be changed to this text:", id);
	if (revalidate_users(&e, NULL, id, &m)) {
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	err[0] = 0;
	if ((rc = cg_store_commit_write(st, err, errlen)))
		goto out;
	msg_init(&m, err, errlen);
	size_t n = lines.len;
	while (n && lines.data[n - 1] == '\n')
		n--;
	if (n)
		msg_add(&m, "%.*s", (int)n, lines.data);
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	cg_buf_free(&lines);
	env_free(&e);
	return rc;
}

int cg_store_fragment_get(struct cg_store *st, const char *id, struct cg_store_text *out, char *err,
			  size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = cg_store_check_id("fragment id", id ? id : "", err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT format, value, description FROM fragments WHERE id = ?", id, NULL, err,
		errlen);
	rc = cg_store_first_row(st, s, "read fragment", err, errlen);
	if (rc == 0)
		rc = fill_text(s, out, true, err, errlen);
	else if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = cg_store_failf(err, errlen, rc, "fragment '%s' does not exist", id);
	cg_db_finalize(s);
	return rc;
}

int cg_store_fragment_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("fragment id", id ? id : "", err, errlen)))
		return rc;
	return rm_unused(st, "fragment", id, false, err, errlen);
}

/* ---- showing a text in the other format ------------------------------
 *
 * rawxml and xml differ only inside expressions: rawxml keeps their C#
 * raw ('"', '<', '&&'), xml escapes them. The loader knows where each
 * expression is (its position in the original text, and its decoded
 * code), so converting is: load the text, and replace each expression's
 * span in the original by its escaped (to xml) or decoded (to rawxml)
 * form. Everything else - comments, layout, {{references}} - stays
 * byte for byte. Named values are given to the loader as themselves
 * ("{{x}}" -> "{{x}}"), so substitution changes nothing and no value,
 * secret or not, can reach the output. */

struct span {
	size_t off, len; /* in the original text */
	struct cg_str rep;
};

struct spans {
	struct span *v;
	size_t n, cap;
	bool oom;
};

#define MAX_SPANS (CG_POL_MAX_ELEMENTS * 8u) /* expressions in one text, well above real use */

static void span_add(struct spans *s, size_t off, size_t len, struct cg_str rep)
{
	if (s->oom)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct span *v = cap <= MAX_SPANS ? realloc(s->v, cap * sizeof(*v)) : NULL;
		if (!v) {
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct span){ off, len, rep };
}

/* XML-escapes s into the arena (quotes too: it may sit in an attribute). */
static struct cg_str xml_escape(struct cg_arena *a, struct cg_str s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += s.ptr[i] == '&'                       ? 5
		     : s.ptr[i] == '<' || s.ptr[i] == '>'  ? 4
		     : s.ptr[i] == '"' || s.ptr[i] == '\'' ? 6
							   : 1;
	char *o = cg_arena_alloc(a, n + 1);
	if (!o)
		return CG_STR_NULL;
	size_t k = 0;
	for (size_t i = 0; i < s.len; i++) {
		const char *r = s.ptr[i] == '&'    ? "&amp;"
				: s.ptr[i] == '<'  ? "&lt;"
				: s.ptr[i] == '>'  ? "&gt;"
				: s.ptr[i] == '"'  ? "&quot;"
				: s.ptr[i] == '\'' ? "&apos;"
						   : NULL;
		if (r) {
			memcpy(o + k, r, strlen(r));
			k += strlen(r);
		} else {
			o[k++] = s.ptr[i];
		}
	}
	o[k] = 0;
	return cg_str_make(o, k);
}

/* One expression whose decoded code is code and whose original text
 * starts at off. quote: the attribute's delimiter, or 0 for element text
 * (ends at the next '<'). */
static void convert_one(struct cg_arena *a, struct cg_str orig, size_t off, char quote,
			struct cg_str code, bool to_xml, struct spans *s)
{
	if (off >= orig.len)
		return;
	if (to_xml) {
		/* rawxml: the original holds the code as it is. */
		if (code.len <= orig.len - off && memcmp(orig.ptr + off, code.ptr, code.len) == 0)
			span_add(s, off, code.len, xml_escape(a, code));
		return;
	}
	/* xml: the code is escaped up to the closing delimiter. CDATA is
	 * raw already and stays. */
	if (orig.len - off >= 9 && memcmp(orig.ptr + off, "<![CDATA[", 9) == 0)
		return;
	const char *end = memchr(orig.ptr + off, quote ? quote : '<', orig.len - off);
	size_t len = end ? (size_t)(end - (orig.ptr + off)) : orig.len - off;
	if (!quote)
		while (len && cg_store_xml_blank(orig.ptr[off + len - 1]))
			len--;
	span_add(s, off, len, code);
}

static void convert_node(struct cg_arena *a, const struct cg_pol_node *n, struct cg_str orig,
			 bool to_xml, struct spans *s)
{
	for (; n; n = n->next) {
		if (n->origin.len)
			continue; /* spliced in from a stored fragment: not in this text */
		for (size_t i = 0; i < n->num_attrs; i++) {
			const struct cg_pol_attr *at = &n->attrs[i];
			size_t off = at->vpos.off;
			if (at->is_expr && off > 0 && off <= orig.len)
				convert_one(a, orig, off, orig.ptr[off - 1], at->value, to_xml, s);
		}
		if (n->text_is_expr)
			convert_one(a, orig, n->text_pos.off, 0, n->text, to_xml, s);
		convert_node(a, n->children, orig, to_xml, s);
	}
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *p = x, *q = y;
	return p->off < q->off ? -1 : p->off > q->off;
}

/* Converts text (a policy, or a fragment when is_fragment) from format
 * from to format to; *out is malloc'd. */
static int convert(struct cg_store *st, const char *text, bool is_fragment, enum cg_pol_format from,
		   enum cg_pol_format to, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (from == to)
		return (*out = strdup(text))
			       ? 0
			       : cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	struct env_rows e;
	int rc = env_read(st, &e, err, errlen);
	struct cg_arena a;
	cg_arena_init(&a, CHECK_ARENA_CHUNK, 0);
	struct spans sp = { 0 };
	struct cg_buf o;
	cg_buf_init(&o, 2 * (size_t)CG_POL_MAX_EXPANDED_BYTES);
	if (rc)
		goto done;
	for (size_t i = 0; i < e.num_nv; i++) {
		char *self = cg_arena_printf(&e.arena, "{{%.*s}}", CG_STR_FMT(e.nv[i].name));
		if (!self) {
			rc = env_oom(err, errlen);
			goto done;
		}
		e.nv[i].value = cg_str_from_c(self);
	}
	struct cg_pol_env env = { e.nv, e.num_nv, e.fr, e.num_fr, NULL, NULL };
	struct cg_pol_diags d;
	cg_pol_diags_init(&d, &a);
	struct cg_pol_doc *doc;
	struct cg_str orig = cg_str_from_c(text);
	int lr = is_fragment ? cg_pol_load_fragment(&a, CG_STR(""), orig, from, &env, &d, &doc)
			     : cg_pol_load(&a, orig, from, CG_POL_SCOPE_GLOBAL, &env, &d, &doc);
	if (lr != 0 || !doc) {
		rc = cg_store_failf(
			err, errlen, CG_STORE_FAIL_IO,
			"the stored text does not load any more (%zu error%s), so it cannot be "
			"converted",
			d.num_errors, d.num_errors == 1 ? "" : "s");
		goto done;
	}
	convert_node(&a, doc->root, orig, to == CG_POL_FORMAT_XML, &sp);
	if (sp.oom) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
				    "out of memory converting the text");
		goto done;
	}
	if (sp.n)
		qsort(sp.v, sp.n, sizeof(*sp.v), span_cmp);
	size_t at = 0;
	for (size_t i = 0; i < sp.n; i++) {
		if (sp.v[i].off < at || !sp.v[i].rep.ptr)
			continue; /* overlapping or failed: never expected */
		if (cg_buf_append(&o, text + at, sp.v[i].off - at) != 0 ||
		    cg_buf_append_str(&o, sp.v[i].rep) != 0) {
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
					    "the converted text is too large");
			goto done;
		}
		at = sp.v[i].off + sp.v[i].len;
	}
	if (cg_buf_append(&o, text + at, orig.len - at) != 0 ||
	    !(*out = strndup(o.data ? o.data : "", o.len)))
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
				    "out of memory converting the text");
done:
	cg_buf_free(&o);
	free(sp.v);
	cg_arena_destroy(&a);
	env_free(&e);
	return rc;
}

static int convert_text(struct cg_store *st, struct cg_store_text *t, bool is_fragment,
			const char *format, char *err, size_t errlen)
{
	enum cg_pol_format want, have;
	int rc;
	if ((rc = parse_format(format, &want, err, errlen)) ||
	    (rc = parse_format(t->format, &have, err, errlen)))
		return rc;
	char *v;
	if ((rc = convert(st, t->value, is_fragment, have, want, &v, err, errlen)))
		return rc;
	char *f = strdup(format_name(want));
	if (!f) {
		free(v);
		return cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	}
	free(t->value);
	free(t->format);
	t->value = v;
	t->format = f;
	return 0;
}

int cg_store_policy_get_as(struct cg_store *st, enum cg_model_policy_scope scope,
			   const char *api_id, const char *op_id, const char *format,
			   struct cg_store_text *out, char *err, size_t errlen)
{
	int rc = cg_store_policy_get(st, scope, api_id, op_id, out, err, errlen);
	if (rc == 0 && (rc = convert_text(st, out, false, format, err, errlen)))
		cg_store_text_free(out);
	return rc;
}

int cg_store_fragment_get_as(struct cg_store *st, const char *id, const char *format,
			     struct cg_store_text *out, char *err, size_t errlen)
{
	int rc = cg_store_fragment_get(st, id, out, err, errlen);
	if (rc == 0 && (rc = convert_text(st, out, true, format, err, errlen)))
		cg_store_text_free(out);
	return rc;
}

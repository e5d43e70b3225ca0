/* The cors policy: see cors.h and docs/policies.md for the behaviour and
 * where it follows APIM or is our choice. */
#include "gw/cors.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "policy/policy.h"

struct cg_cors {
	bool any_origin;                    /* <origin>*</origin> */
	struct cg_pol_origin *origins;
	size_t num_origins;
	bool methods_given;                 /* no <allowed-methods>: GET and POST */
	const struct cg_pol_node **methods; /* <method> (literal or expression) */
	size_t num_methods;
	bool any_header;
	struct cg_str *headers;             /* <allowed-headers> names */
	size_t num_headers;
	struct cg_str expose;               /* <expose-headers> joined with ", " */
	const struct cg_pol_attr *max_age;  /* preflight-result-max-age, or NULL */
};

/* ---- build ---------------------------------------------------------------- */

static size_t count_children(const struct cg_pol_node *n)
{
	size_t k = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		k++;
	return k;
}

static int build_origins(struct cg_arena *a, const struct cg_pol_node *list, struct cg_cors *cc)
{
	cc->origins = cg_arena_zalloc(a, sizeof(*cc->origins) * (count_children(list) + 1));
	if (!cc->origins)
		return -1;
	for (const struct cg_pol_node *o = list->children; o; o = o->next) {
		struct cg_str t = cg_str_trim_space(o->text);
		if (cg_str_eq_lit(t, "*"))
			cc->any_origin = true;
		else if (cg_pol_origin_parse(t, &cc->origins[cc->num_origins]))
			cc->num_origins++; /* the validator refused anything else */
	}
	return 0;
}

static int build_names(struct cg_arena *a, const struct cg_pol_node *list, struct cg_cors *cc)
{
	cc->headers = cg_arena_zalloc(a, sizeof(*cc->headers) * (count_children(list) + 1));
	if (!cc->headers)
		return -1;
	for (const struct cg_pol_node *h = list->children; h; h = h->next) {
		struct cg_str t = cg_str_trim_space(h->text);
		if (cg_str_eq_lit(t, "*"))
			cc->any_header = true;
		else
			cc->headers[cc->num_headers++] = t;
	}
	return 0;
}

static int build_expose(struct cg_arena *a, const struct cg_pol_node *list, struct cg_cors *cc)
{
	struct cg_buf b;
	cg_buf_init(&b, 64 * 1024);
	int rc = 0;
	for (const struct cg_pol_node *h = list->children; h && !rc; h = h->next)
		rc = (b.len && cg_buf_append(&b, ", ", 2)) || cg_buf_append_str(&b, cg_str_trim_space(h->text));
	cc->expose = cg_arena_strdup_str(a, cg_buf_str(&b));
	rc |= b.len && !cc->expose.ptr;
	cg_buf_free(&b);
	return rc ? -1 : 0;
}

int cg_cors_build(struct cg_arena *arena, const struct cg_pol_node *n, struct cg_step *st, char *err,
		  size_t errlen)
{
	struct cg_cors *cc = cg_arena_zalloc(arena, sizeof(*cc));
	int rc = cc ? 0 : -1;
	for (const struct cg_pol_node *c = n->children; c && !rc; c = c->next) {
		if (cg_str_eq_lit(c->name, "allowed-origins")) {
			rc = build_origins(arena, c, cc);
		} else if (cg_str_eq_lit(c->name, "allowed-methods")) {
			cc->methods_given = true;
			cc->max_age = cg_pol_attr_get(c, "preflight-result-max-age");
			cc->methods = cg_arena_zalloc(arena, sizeof(*cc->methods) * (count_children(c) + 1));
			rc = cc->methods ? 0 : -1;
			for (const struct cg_pol_node *m = c->children; m && !rc; m = m->next)
				cc->methods[cc->num_methods++] = m;
		} else if (cg_str_eq_lit(c->name, "allowed-headers")) {
			rc = build_names(arena, c, cc);
		} else if (cg_str_eq_lit(c->name, "expose-headers")) {
			rc = build_expose(arena, c, cc);
		}
	}
	if (rc) {
		snprintf(err, errlen, "%u:%u: out of memory", n->pos.line, n->pos.col);
		return -1;
	}
	st->cors = cc;
	return 0;
}

/* ---- matching --------------------------------------------------------------- */

static bool origin_allowed(const struct cg_cors *cc, struct cg_str origin)
{
	if (cc->any_origin)
		return true;
	struct cg_pol_origin o;
	if (!cg_pol_origin_parse(cg_str_trim_ows(origin), &o))
		return false; /* "null", garbage */
	for (size_t i = 0; i < cc->num_origins; i++)
		if (cg_pol_origin_eq(&cc->origins[i], &o))
			return true;
	return false;
}

static enum cg_pipe_rc method_allowed(struct cg_pipe *p, const struct cg_step *st, struct cg_str method,
				      bool *ok)
{
	const struct cg_cors *cc = st->cors;
	method = cg_str_trim_ows(method);
	*ok = false;
	if (!cc->methods_given) {
		*ok = cg_str_eq_lit(method, "GET") || cg_str_eq_lit(method, "POST");
		return CG_PIPE_CONTINUE;
	}
	for (size_t i = 0; i < cc->num_methods && !*ok; i++) {
		struct cg_str m;
		enum cg_pipe_rc rc = cg_pipe_text_str(p, st, cc->methods[i], &m);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		m = cg_str_trim_space(m);
		*ok = cg_str_eq_lit(m, "*") || cg_str_ieq(m, method);
	}
	return CG_PIPE_CONTINUE;
}

/* Every name of Access-Control-Request-Headers must be allowed. */
static bool headers_allowed(const struct cg_cors *cc, struct cg_str requested)
{
	if (cc->any_header)
		return true;
	struct cg_str rest = requested, name;
	while (cg_str_next_csv(&rest, &name)) {
		bool found = false;
		for (size_t i = 0; i < cc->num_headers && !found; i++)
			found = cg_str_ieq(cc->headers[i], name);
		if (!found)
			return false;
	}
	return true;
}

static struct cg_str req_header(const struct cg_pipe *p, const char *name)
{
	const struct cg_expr_header *h = cg_hlist_find(&p->req_hdrs, cg_str_from_c(name));
	return h ? h->value : CG_STR_NULL;
}

/* allow-credentials and terminate-unmatched-request. APIM's reference
 * table says terminate-unmatched-request defaults to false, its own
 * troubleshooting notes and its maintainers say true (an empty 200 for an
 * Origin that does not match): true is what the service does, and the
 * safer one (a refused origin never reaches the backend). */
static enum cg_pipe_rc cors_flags(struct cg_pipe *p, const struct cg_step *st, bool *cred, bool *term)
{
	enum cg_pipe_rc rc = cg_pipe_attr_bool(p, st, st->a[0], false, cred);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_bool(p, st, st->a[1], true, term);
	if (rc == CG_PIPE_CONTINUE && *cred && st->cors->any_origin)
		return cg_pipe_step_error(p, st, "PolicyValueInvalid",
					  "allow-credentials cannot be true when an allowed origin is '*'.", 500,
					  "Internal server error");
	return rc;
}

static enum cg_pipe_rc empty_200(struct cg_pipe *p)
{
	p->status = 200;
	p->reason = CG_STR("OK");
	p->resp_hdrs.n = 0;
	p->resp_body = CG_STR_NULL;
	p->resp_body_set = false;
	return CG_PIPE_RESPOND;
}

/* The Access-Control-Allow-Origin value: '*' for any origin without
 * credentials, else the request's own Origin (and then Vary: Origin). */
static int add_allow_origin(struct cg_pipe *p, struct cg_hlist *l, const struct cg_cors *cc, bool cred,
			    struct cg_str origin)
{
	if (cc->any_origin && !cred)
		return cg_hlist_add(l, p->arena, CG_STR("Access-Control-Allow-Origin"), CG_STR("*"));
	if (cg_hlist_add(l, p->arena, CG_STR("Access-Control-Allow-Origin"), origin) != 0 ||
	    cg_hlist_add(l, p->arena, CG_STR("Vary"), CG_STR("Origin")) != 0)
		return -1;
	if (cred && cg_hlist_add(l, p->arena, CG_STR("Access-Control-Allow-Credentials"), CG_STR("true")) != 0)
		return -1;
	return 0;
}

/* ---- actual requests ---------------------------------------------------------- */

enum cg_pipe_rc cg_cors_run(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str origin = req_header(p, "Origin");
	if (p->cors_matched || !origin.ptr)
		return CG_PIPE_CONTINUE;
	bool cred, term;
	enum cg_pipe_rc rc = cors_flags(p, st, &cred, &term);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!origin_allowed(st->cors, origin))
		return term ? empty_200(p) : CG_PIPE_CONTINUE;
	p->cors_matched = true;
	struct cg_hlist *l = &p->cors_hdrs;
	if (add_allow_origin(p, l, st->cors, cred, origin) != 0 ||
	    (st->cors->expose.len &&
	     cg_hlist_add(l, p->arena, CG_STR("Access-Control-Expose-Headers"), st->cors->expose) != 0))
		return CG_PIPE_NOMEM;
	return CG_PIPE_CONTINUE;
}

/* ---- preflight ---------------------------------------------------------------- */

/* One cors policy's verdict on a preflight: *answered when it matched (the
 * answer is in p) or refused with terminate-unmatched-request. */
static enum cg_pipe_rc preflight_one(struct cg_pipe *p, const struct cg_step *st, bool *answered)
{
	struct cg_str origin = req_header(p, "Origin");
	struct cg_str method = req_header(p, "Access-Control-Request-Method");
	struct cg_str hdrs = cg_str_trim_ows(req_header(p, "Access-Control-Request-Headers"));
	bool cred, term, mok = false;
	enum cg_pipe_rc rc = cors_flags(p, st, &cred, &term);
	if (rc == CG_PIPE_CONTINUE && origin_allowed(st->cors, origin))
		rc = method_allowed(p, st, method, &mok);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	*answered = term;
	if (!mok || !headers_allowed(st->cors, hdrs))
		return term ? empty_200(p) : CG_PIPE_CONTINUE;
	*answered = true;
	empty_200(p);
	int64_t age = 0;
	if (st->cors->max_age &&
	    (rc = cg_pipe_attr_int(p, st, st->cors->max_age, 0, 0, INT32_MAX, &age)) != CG_PIPE_CONTINUE)
		return rc;
	struct cg_hlist *l = &p->resp_hdrs;
	char agebuf[24];
	snprintf(agebuf, sizeof(agebuf), "%lld", (long long)age);
	struct cg_str agestr = cg_arena_strdup_str(p->arena, cg_str_from_c(agebuf));
	if (add_allow_origin(p, l, st->cors, cred, origin) != 0 ||
	    cg_hlist_add(l, p->arena, CG_STR("Access-Control-Allow-Methods"), cg_str_trim_ows(method)) != 0 ||
	    (hdrs.len && cg_hlist_add(l, p->arena, CG_STR("Access-Control-Allow-Headers"), hdrs) != 0) ||
	    (st->cors->max_age &&
	     (!agestr.ptr || cg_hlist_add(l, p->arena, CG_STR("Access-Control-Max-Age"), agestr) != 0)))
		return CG_PIPE_NOMEM;
	return CG_PIPE_RESPOND;
}

enum cg_pipe_rc cg_cors_preflight(struct cg_pipe *p)
{
	const struct cg_step_list *in = &p->pl->sec[CG_POL_INBOUND];
	bool any = false;
	p->section = CG_POL_INBOUND;
	/* APIM: only cors policies that are direct children of inbound, in
	 * order; one that does not match and does not terminate hands over to
	 * the next; none left: an empty 200. */
	for (size_t i = 0; i < in->n; i++) {
		if (in->items[i].kind != CG_STEP_CORS)
			continue;
		any = true;
		bool answered = false;
		enum cg_pipe_rc rc = preflight_one(p, &in->items[i], &answered);
		if (rc != CG_PIPE_CONTINUE || answered)
			return rc;
	}
	return any ? empty_200(p) : CG_PIPE_CONTINUE;
}

/* ---- response headers -------------------------------------------------------- */

static bool vary_has_origin(const struct cg_hlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!cg_str_ieq_lit(l->items[i].name, "Vary"))
			continue;
		struct cg_str rest = l->items[i].value, v;
		while (cg_str_next_csv(&rest, &v))
			if (cg_str_ieq_lit(v, "Origin") || cg_str_eq_lit(v, "*"))
				return true;
	}
	return false;
}

int cg_cors_apply(struct cg_pipe *p, struct cg_hlist *dst)
{
	for (size_t i = 0; i < p->cors_hdrs.n; i++) {
		const struct cg_expr_header *h = &p->cors_hdrs.items[i];
		if (cg_str_ieq_lit(h->name, "Vary")) {
			if (vary_has_origin(dst))
				continue;
		} else {
			cg_hlist_remove(dst, h->name);
		}
		if (cg_hlist_add(dst, p->arena, h->name, h->value) != 0)
			return -1;
	}
	return 0;
}

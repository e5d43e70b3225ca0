/* Validation of the policies we know (apim.md §1, §6, §7.2, §8), and the
 * expression compile pass.
 *
 * Unknown elements are refused. APIM's self-hosted gateway skips policies it
 * does not support, but silently skipping e.g. an authorization policy would
 * let requests through that the author meant to stop, so we refuse the
 * document and name the element instead (docs/policies.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "http/h1.h"
#include "policy/internal.h"
#include "policy/policy.h"
#include "tls/vcc.h"

enum {
	S_IN = 1 << CG_POL_INBOUND,
	S_BE = 1 << CG_POL_BACKEND,
	S_OUT = 1 << CG_POL_OUTBOUND,
	S_ERR = 1 << CG_POL_ON_ERROR,
	S_ALL = S_IN | S_BE | S_OUT | S_ERR,
};

/* Attribute flags. */
#define A_REQ 1u  /* required */
#define A_EXPR 2u /* may be a policy expression */

/* Value kinds checked when the value is literal. */
enum akind { K_ANY, K_BOOL, K_UINT, K_ENUM };

struct attr_spec {
	const char *name;
	unsigned flags;
	enum akind kind;
	const char *values; /* K_ENUM: "a|b|c" */
};

enum content {
	C_EMPTY,    /* no text, no children */
	C_TEXT,     /* text only (may be empty) */
	C_TEXT_REQ, /* text only, required */
	C_POLICIES, /* a list of policies of the same section */
	C_CHILDREN, /* only the child elements listed */
};

struct vctx;

struct elem_spec {
	const char *name;
	unsigned sections;        /* 0: not a policy (a child element of one) */
	enum content content;
	int text_expr;            /* the text may be a policy expression */
	const struct attr_spec *attrs; /* terminated by a NULL name */
	const char *children;     /* C_CHILDREN: "a|b" */
	void (*check)(struct vctx *v, const struct cg_pol_node *n);
};

struct vctx {
	struct cg_pol_diags *d;
	int is_fragment;
	size_t errors;
	size_t forward_requests;
	size_t cors_in_section; /* cors: once per section (APIM) */
	enum cg_pol_scope scope; /* the document's (rate-limit/quota <api> limits) */
	int section;             /* of the policy being checked; -1 in a fragment checked alone */
};

static void err(struct vctx *v, const struct cg_pol_node *n, struct cg_pol_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err(struct vctx *v, const struct cg_pol_node *n, struct cg_pol_pos pos, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pol_diag(v->d, CG_POL_ERROR, pos, n->origin, "%s", msg);
	v->errors++;
}

static int in_list(const char *list, struct cg_str s)
{
	const char *p = list;
	while (p && *p) {
		const char *e = strchr(p, '|');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == s.len && memcmp(p, s.ptr, l) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* ---- extra rules ---------------------------------------------------- */

static int count_named(const struct cg_pol_node *n, const char *name)
{
	int k = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (cg_str_eq(c->name, cg_str_from_c(name)))
			k++;
	return k;
}

static void check_choose(struct vctx *v, const struct cg_pol_node *n)
{
	int seen_otherwise = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		if (cg_str_eq_lit(c->name, "otherwise")) {
			if (seen_otherwise)
				err(v, c, c->pos, "Element 'choose' may contain only one 'otherwise' element");
			seen_otherwise = 1;
		} else if (seen_otherwise) {
			err(v, c, c->pos, "Element 'otherwise' must be the last element of 'choose'");
		}
	}
	if (!count_named(n, "when"))
		err(v, n, n->pos, "Element 'choose' must contain at least one 'when' element");
}

static void check_return_response(struct vctx *v, const struct cg_pol_node *n)
{
	static const char *const order[] = { "set-status", "set-header", "set-body" };
	int last = -1, status = 0, body = 0;
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		int k = 0;
		while (k < 3 && !cg_str_eq(c->name, cg_str_from_c(order[k])))
			k++;
		if (k == 3)
			continue;
		if (k < last)
			err(v, c, c->pos,
			    "Elements of 'return-response' must appear in the order set-status, set-header, set-body");
		if ((k == 0 && status++) || (k == 2 && body++))
			err(v, c, c->pos, "Element 'return-response' may contain only one '%s' element", order[k]);
		last = k;
	}
}

static void check_header_like(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *ea = cg_pol_attr_get(n, "exists-action");
	int del = ea && !ea->is_expr && cg_str_eq_lit(ea->value, "delete");
	if (cg_str_eq_lit(n->name, "set-query-parameter") && !del && !count_named(n, "value") &&
	    !(ea && ea->is_expr))
		err(v, n, n->pos, "Element 'set-query-parameter' must contain at least one 'value' element");
}

static void check_backend_service(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *b = cg_pol_attr_get(n, "base-url"), *id = cg_pol_attr_get(n, "backend-id");
	if (!b && !id)
		err(v, n, n->pos, "Element 'set-backend-service' requires attribute 'base-url' or 'backend-id'");
	else if (b && id)
		err(v, n, id->pos, "Attributes 'base-url' and 'backend-id' of element 'set-backend-service' cannot be used together");
}

static void check_forward(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *ms = cg_pol_attr_get(n, "timeout-ms");
	if (ms && cg_pol_attr_get(n, "timeout"))
		err(v, n, ms->pos, "Attributes 'timeout' and 'timeout-ms' of element 'forward-request' cannot be used together");
	if (v->forward_requests++)
		err(v, n, n->pos, "Only one 'forward-request' policy is allowed in a policy document");
}

static void check_ip_filter(struct vctx *v, const struct cg_pol_node *n)
{
	if (!n->num_children)
		err(v, n, n->pos, "Element 'ip-filter' must contain at least one 'address' or 'address-range' element");
}

static void check_trace(struct vctx *v, const struct cg_pol_node *n)
{
	int m = count_named(n, "message");
	if (m != 1)
		err(v, n, n->pos, "Element 'trace' must contain exactly one 'message' element");
}

static void check_vcc(struct vctx *v, const struct cg_pol_node *n)
{
	if (count_named(n, "identities") > 1)
		err(v, n, n->pos, "Element 'validate-client-certificate' may contain only one 'identities' element");
}

static void check_identities(struct vctx *v, const struct cg_pol_node *n)
{
	if (n->num_children > CG_POL_MAX_IDENTITIES)
		err(v, n, n->pos, "Element 'identities' may contain at most %u 'identity' elements",
		    CG_POL_MAX_IDENTITIES);
}

static void check_identity(struct vctx *v, const struct cg_pol_node *n)
{
	if (!n->num_attrs)
		err(v, n, n->pos, "Element 'identity' must specify at least one claim");
	const struct cg_pol_attr *cid = cg_pol_attr_get(n, "issuer-certificate-id");
	if (cid && (cg_pol_attr_get(n, "issuer-subject") || cg_pol_attr_get(n, "issuer-thumbprint"))) {
		err(v, n, cid->pos,
		    "Attribute 'issuer-certificate-id' of element 'identity' cannot be combined with 'issuer-subject' or 'issuer-thumbprint'");
		return;
	}
	/* The claims' syntax (40-hex thumbprints, serial numbers, DN text) is
	 * checked by the same code the gateway runs, so a claim the gateway
	 * would refuse is refused when the policy is stored. */
	if (!n->num_attrs || n->num_attrs > 16)
		return;
	struct cg_str names[16], values[16];
	for (size_t i = 0; i < n->num_attrs; i++) {
		names[i] = n->attrs[i].name;
		values[i] = n->attrs[i].value;
	}
	struct cg_arena a;
	cg_arena_init(&a, 4096, 1024 * 1024);
	struct cg_vcc_config cfg;
	cg_vcc_config_init(&cfg);
	char e[300];
	if (cg_vcc_config_add_identity(&cfg, &a, names, values, n->num_attrs, e, sizeof(e)) != 0)
		err(v, n, n->pos, "%s", e);
	cg_arena_destroy(&a);
}

static void check_auth_cert(struct vctx *v, const struct cg_pol_node *n)
{
	int k = !!cg_pol_attr_get(n, "thumbprint") + !!cg_pol_attr_get(n, "certificate-id") +
		!!cg_pol_attr_get(n, "body");
	if (k != 1)
		err(v, n, n->pos,
		    "Element 'authentication-certificate' requires exactly one of attributes 'thumbprint', 'certificate-id' or 'body'");
	const struct cg_pol_attr *pw = cg_pol_attr_get(n, "password");
	if (pw && !cg_pol_attr_get(n, "body"))
		err(v, n, pw->pos, "Attribute 'password' of element 'authentication-certificate' requires attribute 'body'");
}

/* ---- cors and find-and-replace (docs/policies.md) --------------------- */

static void check_cors(struct vctx *v, const struct cg_pol_node *n)
{
	static const char *const kids[] = { "allowed-origins", "allowed-methods", "allowed-headers",
					    "expose-headers" };
	if (v->cors_in_section++)
		err(v, n, n->pos, "Policy 'cors' may appear only once in a section");
	if (!count_named(n, "allowed-origins"))
		err(v, n, n->pos, "Element 'cors' must contain an 'allowed-origins' element");
	for (size_t k = 0; k < sizeof(kids) / sizeof(kids[0]); k++)
		if (count_named(n, kids[k]) > 1)
			err(v, n, n->pos, "Element 'cors' may contain only one '%s' element", kids[k]);
	/* The CORS protocol refuses credentials with a wildcard origin: a
	 * browser would drop the response anyway. */
	const struct cg_pol_attr *cred = cg_pol_attr_get(n, "allow-credentials");
	if (!cred || cred->is_expr || !cg_str_ieq_lit(cred->value, "true"))
		return;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (cg_str_eq_lit(c->name, "allowed-origins"))
			for (const struct cg_pol_node *o = c->children; o; o = o->next)
				if (cg_str_eq_lit(cg_str_trim_space(o->text), "*"))
					err(v, n, cred->vpos,
					    "Attribute 'allow-credentials' of element 'cors' cannot be 'true' when an allowed origin is '*'");
}

/* allowed-origins, allowed-methods, allowed-headers, expose-headers. */
static void check_cors_list(struct vctx *v, const struct cg_pol_node *n)
{
	const char *kid = cg_str_eq_lit(n->name, "allowed-origins")   ? "origin"
			  : cg_str_eq_lit(n->name, "allowed-methods") ? "method"
								      : "header";
	if (!count_named(n, kid)) {
		err(v, n, n->pos, "Element '%.*s' must contain at least one '%s' element", CG_STR_FMT(n->name), kid);
		return;
	}
	/* APIM: a single '*' origin, or origin URIs (a '*' among URIs would
	 * make them pointless; refused so the intent is clear). '*' methods or
	 * headers beside others are harmless and accepted. */
	if (n->num_children < 2 || strcmp(kid, "origin") != 0)
		return;
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (cg_str_eq_lit(cg_str_trim_space(c->text), "*"))
			err(v, c, c->pos, "Origin '*' must be the only 'origin' element of 'allowed-origins'");
}

static void check_origin(struct vctx *v, const struct cg_pol_node *n)
{
	struct cg_str t = cg_str_trim_space(n->text);
	struct cg_pol_origin o;
	if (n->has_text && !n->text_is_expr && !cg_str_eq_lit(t, "*") && !cg_pol_origin_parse(t, &o))
		err(v, n, n->text_pos,
		    "Value '%.*s' of element 'origin' is not valid; expected '*' or an origin scheme://host[:port]",
		    CG_STR_FMT(t));
}

/* method (literal) and header: an HTTP token or '*'. */
static void check_token_text(struct vctx *v, const struct cg_pol_node *n)
{
	struct cg_str t = cg_str_trim_space(n->text);
	if (n->has_text && !n->text_is_expr && !cg_str_eq_lit(t, "*") && !cg_h1_token_valid(t))
		err(v, n, n->text_pos, "Value '%.*s' of element '%.*s' is not valid; expected %s or '*'",
		    CG_STR_FMT(t), CG_STR_FMT(n->name),
		    cg_str_eq_lit(n->name, "method") ? "an HTTP method" : "a header name");
}

static void check_find_and_replace(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *from = cg_pol_attr_get(n, "from");
	if (from && !from->is_expr && !from->value.len)
		err(v, n, from->vpos, "Attribute 'from' of element 'find-and-replace' must not be empty");
}

/* namespace-separator is one character (APIM: "the character to use"). */
static void check_json_to_xml(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *sep = cg_pol_attr_get(n, "namespace-separator");
	if (sep && !sep->is_expr && sep->value.len != 1)
		err(v, n, sep->vpos, "Attribute 'namespace-separator' of element 'json-to-xml' must be one character");
}

/* ---- throttling (rate-limit, quota, limit-concurrency) ---------------- */

static int digits(struct cg_str s, size_t at, size_t n, int *out)
{
	int v = 0;
	for (size_t i = at; i < at + n; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return -1;
		v = v * 10 + (s.ptr[i] - '0');
	}
	*out = v;
	return 0;
}

int cg_pol_parse_utc(struct cg_str s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	if (s.len != 20 || s.ptr[4] != '-' || s.ptr[7] != '-' || s.ptr[10] != 'T' || s.ptr[13] != ':' ||
	    s.ptr[16] != ':' || s.ptr[19] != 'Z' || digits(s, 0, 4, &y) || digits(s, 5, 2, &mo) ||
	    digits(s, 8, 2, &d) || digits(s, 11, 2, &h) || digits(s, 14, 2, &mi) || digits(s, 17, 2, &se))
		return -1;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
	    mi > 59 || se > 59)
		return -1;
	/* Days from 1970-01-01 in the proleptic Gregorian calendar. */
	int64_t yy = mo <= 2 ? y - 1 : y, era = yy / 400, yoe = yy - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	*out = days * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

/* APIM: a rate limit's window is at most 300 s. A literal value is checked
 * here; an expression's when it runs. */
#define RATE_MAX_PERIOD 300

static void check_max_period(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *rp = cg_pol_attr_get(n, "renewal-period");
	uint64_t u;
	if (rp && !rp->is_expr && cg_str_to_u64(rp->value, 0xffffffffu, &u) && (u == 0 || u > RATE_MAX_PERIOD))
		err(v, n, rp->vpos,
		    "Value '%.*s' of attribute 'renewal-period' in element '%.*s' is not valid; expected 1 to %u seconds",
		    CG_STR_FMT(rp->value), CG_STR_FMT(n->name), RATE_MAX_PERIOD);
}

/* Forms APIM has that the gateway does not run yet are refused here, so
 * `policy set` refuses them too instead of the gateway's next reload. */
static void check_calls_or_bandwidth(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *bw = cg_pol_attr_get(n, "bandwidth");
	if (!cg_pol_attr_get(n, "calls") && !bw)
		err(v, n, n->pos, "Element '%.*s' requires attribute 'calls' or 'bandwidth'", CG_STR_FMT(n->name));
	else if (bw)
		err(v, n, bw->pos,
		    "Attribute 'bandwidth' of element '%.*s' is not run by this gateway yet (call quotas are)",
		    CG_STR_FMT(n->name));
}

/* <api>/<operation> limits inside rate-limit and quota (docs/policies.md).
 * APIM: they limit "APIs within the product" and "operations within an
 * API", so they run in product policies only; anywhere else they would
 * limit nothing APIM defines, and are refused rather than skipped. A
 * fragment checked on its own has no scope yet: the document that
 * includes it is checked with its elements in place. */

/* The element's selector: id when given (APIM: "id will be used and name
 * will be ignored"), else name. */
static const struct cg_pol_attr *limit_selector(const struct cg_pol_node *c)
{
	const struct cg_pol_attr *id = cg_pol_attr_get(c, "id");
	return id ? id : cg_pol_attr_get(c, "name");
}

/* One <api> or <operation>: rate-limit needs calls and renewal-period
 * (1-300 s) and has no bandwidth; quota needs calls (bandwidth is not run
 * yet) and takes its own renewal-period or the quota's. */
static void check_limit_child(struct vctx *v, const struct cg_pol_node *parent, const struct cg_pol_node *c)
{
	static const char *const sel_names[] = { "name", "id" };
	for (size_t i = 0; i < 2; i++) {
		const struct cg_pol_attr *a = cg_pol_attr_get(c, sel_names[i]);
		if (a && !cg_str_trim_space(a->value).len)
			err(v, c, a->vpos, "Attribute '%s' of element '%.*s' must not be empty", sel_names[i],
			    CG_STR_FMT(c->name));
	}
	if (!cg_str_eq_lit(parent->name, "rate-limit")) {
		check_calls_or_bandwidth(v, c);
		return;
	}
	const struct cg_pol_attr *bw = cg_pol_attr_get(c, "bandwidth");
	if (bw)
		err(v, c, bw->pos, "Attribute 'bandwidth' is not allowed in element '%.*s' of 'rate-limit'",
		    CG_STR_FMT(c->name));
	static const char *const req[] = { "calls", "renewal-period" };
	for (size_t i = 0; i < 2; i++)
		if (!cg_pol_attr_get(c, req[i]))
			err(v, c, c->pos, "Element '%.*s' is missing required attribute '%s'", CG_STR_FMT(c->name),
			    req[i]);
	check_max_period(v, c);
}

/* Two siblings with the same selector would be two limits on one API or
 * operation with no rule between them: refused. Selectors match ignoring
 * ASCII case, as the gateway matches them. */
static void check_limit_dups(struct vctx *v, const struct cg_pol_node *list, const struct cg_pol_node *parent)
{
	for (const struct cg_pol_node *c = list; c; c = c->next) {
		const struct cg_pol_attr *s = limit_selector(c);
		for (const struct cg_pol_node *e = list; s && e != c; e = e->next) {
			const struct cg_pol_attr *t = limit_selector(e);
			if (t && cg_str_eq(e->name, c->name) && cg_str_eq(t->name, s->name) &&
			    cg_str_ieq(t->value, s->value)) {
				err(v, c, c->pos, "Element '%.*s' with %.*s '%.*s' appears more than once in '%.*s'",
				    CG_STR_FMT(c->name), CG_STR_FMT(s->name), CG_STR_FMT(s->value),
				    CG_STR_FMT(parent->name));
				break;
			}
		}
	}
}

static void check_api_limits(struct vctx *v, const struct cg_pol_node *n)
{
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		if (!cg_str_eq_lit(c->name, "api"))
			continue; /* refused by check_elem */
		if (!v->is_fragment && v->scope != CG_POL_SCOPE_PRODUCT)
			err(v, c, c->pos,
			    "Element 'api' in '%.*s' is allowed only in a product policy: it limits the calls to one API of the product",
			    CG_STR_FMT(n->name));
		check_limit_child(v, n, c);
		for (const struct cg_pol_node *o = c->children; o; o = o->next)
			if (cg_str_eq_lit(o->name, "operation"))
				check_limit_child(v, n, o);
		check_limit_dups(v, c->children, c);
	}
	check_limit_dups(v, n->children, n);
}

static void check_rate_limit(struct vctx *v, const struct cg_pol_node *n)
{
	check_max_period(v, n);
	check_api_limits(v, n);
}

static void check_quota(struct vctx *v, const struct cg_pol_node *n)
{
	check_calls_or_bandwidth(v, n);
	check_api_limits(v, n);
}

static void check_quota_by_key(struct vctx *v, const struct cg_pol_node *n)
{
	check_calls_or_bandwidth(v, n);
	/* first-period-start: ISO 8601 "yyyy-MM-ddTHH:mm:ssZ" (APIM). */
	const struct cg_pol_attr *fp = cg_pol_attr_get(n, "first-period-start");
	int64_t t;
	if (fp && cg_pol_parse_utc(fp->value, &t) != 0)
		err(v, n, fp->vpos,
		    "Value '%.*s' of attribute 'first-period-start' in element 'quota-by-key' is not valid; expected yyyy-MM-ddTHH:mm:ssZ",
		    CG_STR_FMT(fp->value));
}

static void check_limit_api(struct vctx *v, const struct cg_pol_node *n)
{
	if (!cg_pol_attr_get(n, "name") && !cg_pol_attr_get(n, "id"))
		err(v, n, n->pos, "Element '%.*s' requires attribute 'name' or 'id'", CG_STR_FMT(n->name));
}

static void check_limit_concurrency(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *mc = cg_pol_attr_get(n, "max-count");
	if (mc && !mc->is_expr && cg_str_eq_lit(cg_str_trim_ows(mc->value), "0"))
		err(v, n, mc->vpos,
		    "Value '0' of attribute 'max-count' in element 'limit-concurrency' is not valid; expected at least 1");
}

/* ---- value cache (docs/policies.md) ------------------------------------ */

/* caching-type="external" names a cache shared by gateway instances
 * (Redis); certgate has none. Falling back to its in-process cache would
 * silently turn a fleet-wide value (a revoked token removed everywhere)
 * into one per instance, so the form is refused. */
static void check_caching_type(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *ct = cg_pol_attr_get(n, "caching-type");
	if (ct && !ct->is_expr && cg_str_eq_lit(ct->value, "external"))
		err(v, n, ct->vpos,
		    "Value 'external' of attribute 'caching-type' in element '%.*s' needs an external cache, which "
		    "this gateway does not have; use 'internal' or 'prefer-external' (its built-in cache)",
		    CG_STR_FMT(n->name));
}

static void check_not_empty(struct vctx *v, const struct cg_pol_node *n, const char *attr)
{
	const struct cg_pol_attr *a = cg_pol_attr_get(n, attr);
	if (a && !a->is_expr && !a->value.len)
		err(v, n, a->vpos, "Attribute '%s' of element '%.*s' must not be empty", attr, CG_STR_FMT(n->name));
}

static void check_cache_lookup(struct vctx *v, const struct cg_pol_node *n)
{
	check_caching_type(v, n);
	check_not_empty(v, n, "key");
	check_not_empty(v, n, "variable-name");
}

static void check_cache_store(struct vctx *v, const struct cg_pol_node *n)
{
	check_caching_type(v, n);
	check_not_empty(v, n, "key");
	const struct cg_pol_attr *d = cg_pol_attr_get(n, "duration");
	uint64_t u;
	if (d && !d->is_expr && cg_str_to_u64(d->value, 0xffffffffu, &u) && (u == 0 || u > 2147483647u))
		err(v, n, d->vpos,
		    "Value '%.*s' of attribute 'duration' in element 'cache-store-value' is not valid; expected 1 to "
		    "2147483647 seconds",
		    CG_STR_FMT(d->value));
}

static void check_cache_remove(struct vctx *v, const struct cg_pol_node *n)
{
	check_caching_type(v, n);
	check_not_empty(v, n, "key");
}

/* ---- emit-metric (docs/policies.md) ------------------------------------ */

/* name and namespace become one Prometheus metric name, so each must have
 * a letter or digit and stay short (CG_POL_MAX_METRIC_NAME). */
static void check_metric_name(struct vctx *v, const struct cg_pol_node *n, const char *attr, const char *what)
{
	const struct cg_pol_attr *a = cg_pol_attr_get(n, attr);
	char buf[CG_POL_MAX_METRIC_NAME + 1];
	if (!a || a->is_expr)
		return;
	if (a->value.len > CG_POL_MAX_METRIC_NAME)
		err(v, n, a->vpos, "Attribute '%s' of element '%.*s' is longer than %u bytes", attr,
		    CG_STR_FMT(n->name), CG_POL_MAX_METRIC_NAME);
	else if (!cg_pol_metric_name(a->value, buf, sizeof(buf)))
		err(v, n, a->vpos,
		    "Value '%.*s' of attribute '%s' in element '%.*s' has no ASCII letter or digit: it cannot "
		    "become a Prometheus %s",
		    CG_STR_FMT(a->value), attr, CG_STR_FMT(n->name), what);
}

/* A counter only goes up: a literal value must be a finite number >= 0. */
static void check_metric_value(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *a = cg_pol_attr_get(n, "value");
	char buf[64], *end;
	if (!a || a->is_expr)
		return;
	snprintf(buf, sizeof(buf), "%.*s", (int)(a->value.len < 63 ? a->value.len : 63), a->value.ptr);
	double d = a->value.len && a->value.len < 63 ? strtod(buf, &end) : -1;
	if (!a->value.len || a->value.len >= 63 || *end || !(d >= 0 && d <= 1.7976931348623157e308))
		err(v, n, a->vpos,
		    "Value '%.*s' of attribute 'value' in element 'emit-metric' is not valid; expected a number, 0 or more",
		    CG_STR_FMT(a->value));
}

/* Two dimensions of one policy must not become the same label, and none
 * may take "overflow", the label of the series past the limit. */
static void check_dimension_labels(struct vctx *v, const struct cg_pol_node *n)
{
	char labels[CG_POL_MAX_METRIC_DIMENSIONS][CG_POL_MAX_METRIC_NAME + 1];
	struct cg_str names[CG_POL_MAX_METRIC_DIMENSIONS];
	size_t k = 0;
	for (const struct cg_pol_node *c = n->children; c && k < CG_POL_MAX_METRIC_DIMENSIONS; c = c->next) {
		const struct cg_pol_attr *a = cg_pol_attr_get(c, "name");
		if (!a || a->is_expr || a->value.len > CG_POL_MAX_METRIC_NAME ||
		    !cg_pol_metric_name(a->value, labels[k], sizeof(labels[k])))
			continue;
		if (strcmp(labels[k], "overflow") == 0) {
			err(v, c, a->vpos,
			    "Dimension '%.*s' of element 'emit-metric' becomes the label 'overflow', which the gateway "
			    "keeps for the series past the limit",
			    CG_STR_FMT(a->value));
			continue;
		}
		size_t j = 0;
		while (j < k && strcmp(labels[j], labels[k]) != 0)
			j++;
		if (j < k) {
			err(v, c, a->vpos, "Dimensions '%.*s' and '%.*s' of element 'emit-metric' both become the label '%s'",
			    CG_STR_FMT(names[j]), CG_STR_FMT(a->value), labels[k]);
			continue;
		}
		names[k++] = a->value;
	}
}

static void check_emit_metric(struct vctx *v, const struct cg_pol_node *n)
{
	check_metric_name(v, n, "name", "metric name");
	check_metric_name(v, n, "namespace", "metric name");
	check_metric_value(v, n);
	if (!n->num_children)
		err(v, n, n->pos, "Element 'emit-metric' must contain at least one 'dimension' element");
	else if (n->num_children > CG_POL_MAX_METRIC_DIMENSIONS)
		err(v, n, n->pos, "Element 'emit-metric' may contain at most %u 'dimension' elements",
		    CG_POL_MAX_METRIC_DIMENSIONS);
	else
		check_dimension_labels(v, n);
}

static void check_dimension(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *a = cg_pol_attr_get(n, "name");
	char buf[CG_POL_MAX_METRIC_NAME + 1];
	if (!a || a->is_expr)
		return;
	if (a->value.len > CG_POL_MAX_METRIC_NAME) {
		err(v, n, a->vpos, "Attribute 'name' of element 'dimension' is longer than %u bytes",
		    CG_POL_MAX_METRIC_NAME);
		return;
	}
	if (!cg_pol_metric_name(a->value, buf, sizeof(buf))) {
		err(v, n, a->vpos,
		    "Value '%.*s' of attribute 'name' in element 'dimension' has no ASCII letter or digit: it cannot "
		    "become a Prometheus label",
		    CG_STR_FMT(a->value));
		return;
	}
	enum cg_pol_metric_dim d = cg_pol_metric_dim(a->value);
	if (cg_pol_attr_get(n, "value"))
		return;
	if (d == CG_POL_DIM_CUSTOM)
		err(v, n, n->pos,
		    "Element 'dimension' named '%.*s' requires attribute 'value': only the default dimensions (API ID, "
		    "Operation ID, Product ID, User ID, Subscription ID, Location, Gateway ID, Backend ID) take theirs "
		    "from the request",
		    CG_STR_FMT(a->value));
	else if (d == CG_POL_DIM_BACKEND_ID && v->section >= 0 && v->section != CG_POL_OUTBOUND)
		err(v, n, n->pos,
		    "Dimension 'Backend ID' without a value is allowed only in the 'outbound' section");
}

/* ---- validate-jwt (docs/policies.md) ----------------------------------- */

static void check_jwt(struct vctx *v, const struct cg_pol_node *n)
{
	static const char *const once[] = { "issuer-signing-keys", "decryption-keys", "audiences", "issuers",
					     "required-claims" };
	const struct cg_pol_attr *hn = cg_pol_attr_get(n, "header-name");
	int k = !!hn + !!cg_pol_attr_get(n, "query-parameter-name") + !!cg_pol_attr_get(n, "token-value");
	if (k != 1)
		err(v, n, n->pos,
		    "Element 'validate-jwt' requires exactly one of attributes 'header-name', 'query-parameter-name' or 'token-value'");
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (count_named(n, once[i]) > 1)
			err(v, n, n->pos, "Element 'validate-jwt' may contain only one '%s' element", once[i]);
	if (count_named(n, "openid-config") > CG_POL_JWT_MAX_OPENID)
		err(v, n, n->pos, "Element 'validate-jwt' may contain at most %d 'openid-config' elements",
		    CG_POL_JWT_MAX_OPENID);
	const struct cg_pol_attr *code = cg_pol_attr_get(n, "failed-validation-httpcode");
	uint64_t u;
	if (code && !code->is_expr && cg_str_to_u64(code->value, 0xffffffffu, &u) && (u < 100 || u > 599))
		err(v, n, code->vpos,
		    "Value '%.*s' of attribute 'failed-validation-httpcode' in element 'validate-jwt' is not valid; expected an HTTP status code (100 to 599)",
		    CG_STR_FMT(code->value));
	/* APIM: the scheme is checked only in the Authorization header. */
	const struct cg_pol_attr *rs = cg_pol_attr_get(n, "require-scheme");
	if (rs && (!hn || (!hn->is_expr && !cg_str_ieq_lit(hn->value, "Authorization"))))
		pol_diag(v->d, CG_POL_WARNING, rs->pos, n->origin,
			 "Attribute 'require-scheme' of element 'validate-jwt' is ignored: the scheme is checked only when header-name is 'Authorization'");
}

/* Refused children of validate-jwt: named, never skipped. */
static void refuse_jwt_child(struct vctx *v, const struct cg_pol_node *n)
{
	err(v, n, n->pos, "Element '%.*s' of 'validate-jwt' is not run by this gateway yet (encrypted tokens are not supported)",
	    CG_STR_FMT(n->name));
}

/* The discovery document is fetched over https only (its keys are trusted
 * through the server's certificate). */
static void check_openid(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *u = cg_pol_attr_get(n, "url");
	if (u && !u->is_expr && (!cg_str_has_prefix(u->value, CG_STR("https://")) || u->value.len < 9))
		err(v, n, u->vpos, "Value '%.*s' of attribute 'url' in element 'openid-config' is not valid; expected an https:// URL",
		    CG_STR_FMT(u->value));
}

/* audiences, issuers, required-claims, issuer-signing-keys: not empty. */
static void check_jwt_list(struct vctx *v, const struct cg_pol_node *n)
{
	const char *kid = cg_str_eq_lit(n->name, "audiences")	  ? "audience"
			  : cg_str_eq_lit(n->name, "issuers")	  ? "issuer"
			  : cg_str_eq_lit(n->name, "required-claims") ? "claim"
								      : "key";
	if (!count_named(n, kid))
		err(v, n, n->pos, "Element '%.*s' must contain at least one '%s' element", CG_STR_FMT(n->name), kid);
}

/* Bits of a big-endian unsigned number. */
static size_t be_bits(const unsigned char *b, size_t n)
{
	while (n && !*b) {
		b++;
		n--;
	}
	size_t bits = n * 8;
	for (unsigned char c = n ? b[0] : 0x80; c && !(c & 0x80); c <<= 1)
		bits--;
	return n ? bits : 0;
}

/* Decodes a key part into a temporary; returns its length or -1. */
static long key_part(struct cg_str s, bool url, unsigned char *buf, size_t cap)
{
	if (s.len / 4 * 3 + 3 > cap)
		return -1;
	return cg_b64_decode(s, url, buf);
}

static void check_jwt_key(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *nn = cg_pol_attr_get(n, "n"), *e = cg_pol_attr_get(n, "e");
	const struct cg_pol_attr *cid = cg_pol_attr_get(n, "certificate-id");
	int forms = n->has_text + !!(nn || e) + !!cid;
	if (forms != 1) {
		err(v, n, n->pos,
		    "Element 'key' requires exactly one of: a base64 value, attributes 'n' and 'e', or attribute 'certificate-id'");
		return;
	}
	unsigned char buf[8192];
	if (n->has_text && !n->text_is_expr) {
		char tmp[sizeof(buf) / 3 * 4];
		long len = n->text.len <= sizeof(tmp) ? cg_b64_decode_blanks(n->text, tmp, buf) : -1;
		if (len < 0)
			err(v, n, n->text_pos, "Value of element 'key' is not valid base64");
		else if (len < CG_POL_JWT_MIN_HMAC_KEY)
			err(v, n, n->text_pos,
			    "Element 'key' holds %ld bytes; a symmetric signing key needs at least %u bytes (128 bits)", len,
			    CG_POL_JWT_MIN_HMAC_KEY);
	}
	if (!(nn || e))
		return;
	if (!nn || !e) {
		err(v, n, n->pos, "Element 'key' requires both attributes 'n' and 'e'");
		return;
	}
	if (nn->is_expr || e->is_expr)
		return; /* refused by the attribute check */
	long nl = key_part(nn->value, true, buf, sizeof(buf));
	if (nl <= 0)
		err(v, n, nn->vpos, "Value of attribute 'n' in element 'key' is not valid base64url");
	else if (be_bits(buf, (size_t)nl) < CG_POL_JWT_MIN_RSA_BITS)
		err(v, n, nn->vpos, "RSA modulus 'n' of element 'key' has %zu bits; at least %u are needed",
		    be_bits(buf, (size_t)nl), CG_POL_JWT_MIN_RSA_BITS);
	long el = key_part(e->value, true, buf, sizeof(buf));
	if (el <= 0 || el > 8 || be_bits(buf, (size_t)el) < 2)
		err(v, n, e->vpos, "Value of attribute 'e' in element 'key' is not a valid base64url RSA exponent");
}

static void check_jwt_claim(struct vctx *v, const struct cg_pol_node *n)
{
	const struct cg_pol_attr *sep = cg_pol_attr_get(n, "separator");
	if (sep && !sep->value.len)
		err(v, n, sep->vpos, "Attribute 'separator' of element 'claim' must not be empty");
}

/* ---- the table ------------------------------------------------------ */

#define END { NULL, 0, K_ANY, NULL }
#define BOOL(n) { n, 0, K_BOOL, NULL }

static const struct attr_spec a_none[] = { END };
static const struct attr_spec a_when[] = { { "condition", A_REQ | A_EXPR, K_BOOL, NULL }, END };
static const struct attr_spec a_return[] = { { "response-variable-name", 0, K_ANY, NULL }, END };
static const struct attr_spec a_status[] = { { "code", A_REQ | A_EXPR, K_UINT, NULL },
					     { "reason", A_EXPR, K_ANY, NULL }, END };
static const struct attr_spec a_header[] = {
	{ "name", A_REQ | A_EXPR, K_ANY, NULL },
	{ "exists-action", A_EXPR, K_ENUM, "override|skip|append|delete" }, END };
static const struct attr_spec a_setvar[] = { { "name", A_REQ, K_ANY, NULL },
					     { "value", A_REQ | A_EXPR, K_ANY, NULL }, END };
static const struct attr_spec a_body[] = { { "template", 0, K_ENUM, "liquid" },
					   { "xsi-nil", 0, K_ENUM, "blank|null" },
					   { "parse-date", 0, K_BOOL, NULL }, END };
static const struct attr_spec a_rewrite[] = { { "template", A_REQ | A_EXPR, K_ANY, NULL },
					      { "copy-unmatched-params", A_EXPR, K_BOOL, NULL }, END };
static const struct attr_spec a_backend[] = {
	{ "base-url", A_EXPR, K_ANY, NULL }, { "backend-id", A_EXPR, K_ANY, NULL },
	{ "sf-resolve-condition", A_EXPR, K_ANY, NULL }, { "sf-service-instance-name", A_EXPR, K_ANY, NULL },
	{ "sf-partition-key", A_EXPR, K_ANY, NULL }, { "sf-replica-type", A_EXPR, K_ANY, NULL },
	{ "sf-listener-name", A_EXPR, K_ANY, NULL }, { "dapr-app-id", A_EXPR, K_ANY, NULL },
	{ "dapr-method", A_EXPR, K_ANY, NULL }, { "dapr-namespace", A_EXPR, K_ANY, NULL }, END };
static const struct attr_spec a_forward[] = {
	{ "timeout", A_EXPR, K_UINT, NULL }, { "timeout-ms", A_EXPR, K_UINT, NULL },
	{ "follow-redirects", A_EXPR, K_BOOL, NULL }, { "buffer-request-body", 0, K_BOOL, NULL },
	{ "buffer-response", 0, K_BOOL, NULL }, { "fail-on-error-status-code", 0, K_BOOL, NULL },
	{ "http-version", 0, K_ENUM, "1|2or1|2" }, { "continue-timeout", A_EXPR, K_UINT, NULL }, END };
static const struct attr_spec a_check_header[] = {
	{ "name", A_REQ | A_EXPR, K_ANY, NULL }, { "failed-check-httpcode", A_REQ | A_EXPR, K_UINT, NULL },
	{ "failed-check-error-message", A_REQ | A_EXPR, K_ANY, NULL },
	{ "ignore-case", A_REQ | A_EXPR, K_BOOL, NULL }, END };
static const struct attr_spec a_ip_filter[] = { { "action", A_REQ | A_EXPR, K_ENUM, "allow|forbid" }, END };
static const struct attr_spec a_range[] = { { "from", A_REQ, K_ANY, NULL }, { "to", A_REQ, K_ANY, NULL }, END };
static const struct attr_spec a_mock[] = { { "status-code", 0, K_UINT, NULL },
					   { "content-type", 0, K_ANY, NULL }, END };
static const struct attr_spec a_trace[] = { { "source", A_REQ, K_ANY, NULL },
					    { "severity", 0, K_ENUM, "verbose|information|error" }, END };
static const struct attr_spec a_metadata[] = { { "name", A_REQ, K_ANY, NULL },
					       { "value", A_REQ | A_EXPR, K_ANY, NULL }, END };
static const struct attr_spec a_include[] = { { "fragment-id", A_REQ, K_ANY, NULL }, END };
static const struct attr_spec a_vcc[] = {
	BOOL("validate-revocation"), BOOL("validate-trust"), BOOL("validate-not-before"),
	BOOL("validate-not-after"), BOOL("ignore-error"), END };
static const struct attr_spec a_identity[] = {
	{ "thumbprint", 0, K_ANY, NULL }, { "serial-number", 0, K_ANY, NULL },
	{ "common-name", 0, K_ANY, NULL }, { "subject", 0, K_ANY, NULL },
	{ "dns-name", 0, K_ANY, NULL }, { "issuer-subject", 0, K_ANY, NULL },
	{ "issuer-thumbprint", 0, K_ANY, NULL }, { "issuer-certificate-id", 0, K_ANY, NULL }, END };
/* certgate's own policy (not APIM's): forward the client certificate. */
static const struct attr_spec a_fwd_cert[] = {
	{ "format", 0, K_ENUM, "rfc9440|xfcc" }, END };
static const struct attr_spec a_cors[] = { { "allow-credentials", A_EXPR, K_BOOL, NULL },
					   { "terminate-unmatched-request", A_EXPR, K_BOOL, NULL }, END };
static const struct attr_spec a_cors_methods[] = { { "preflight-result-max-age", A_EXPR, K_UINT, NULL }, END };
static const struct attr_spec a_find_replace[] = { { "from", A_REQ | A_EXPR, K_ANY, NULL },
						   { "to", A_REQ | A_EXPR, K_ANY, NULL }, END };
/* json-to-xml and xml-to-json: APIM's attributes; parse-date takes no expression. */
static const struct attr_spec a_json_to_xml[] = {
	{ "apply", A_REQ | A_EXPR, K_ENUM, "always|content-type-json" },
	{ "consider-accept-header", A_EXPR, K_BOOL, NULL }, { "parse-date", 0, K_BOOL, NULL },
	{ "namespace-separator", A_EXPR, K_ANY, NULL }, { "namespace-prefix", A_EXPR, K_ANY, NULL },
	{ "attribute-block-name", A_EXPR, K_ANY, NULL }, END };
static const struct attr_spec a_xml_to_json[] = {
	{ "kind", A_REQ | A_EXPR, K_ENUM, "javascript-friendly|direct" },
	{ "apply", A_REQ | A_EXPR, K_ENUM, "always|content-type-xml" },
	{ "consider-accept-header", A_EXPR, K_BOOL, NULL },
	{ "always-array-child-elements", A_EXPR, K_BOOL, NULL }, END };
#define LIMIT_NAMES                                                                          \
	{ "retry-after-header-name", 0, K_ANY, NULL }, { "retry-after-variable-name", 0, K_ANY, NULL }, \
	{ "remaining-calls-header-name", 0, K_ANY, NULL },                                  \
	{ "remaining-calls-variable-name", 0, K_ANY, NULL },                                \
	{ "total-calls-header-name", 0, K_ANY, NULL }
/* rate-limit and quota: no expressions (APIM). */
static const struct attr_spec a_rate[] = {
	{ "calls", A_REQ, K_UINT, NULL }, { "renewal-period", A_REQ, K_UINT, NULL }, LIMIT_NAMES, END };
static const struct attr_spec a_rate_key[] = {
	{ "calls", A_REQ | A_EXPR, K_UINT, NULL }, { "renewal-period", A_REQ | A_EXPR, K_UINT, NULL },
	{ "counter-key", A_REQ | A_EXPR, K_ANY, NULL }, { "increment-condition", A_EXPR, K_BOOL, NULL },
	{ "increment-count", A_EXPR, K_UINT, NULL }, LIMIT_NAMES, END };
static const struct attr_spec a_quota[] = {
	{ "calls", 0, K_UINT, NULL }, { "bandwidth", 0, K_UINT, NULL },
	{ "renewal-period", A_REQ, K_UINT, NULL }, END };
static const struct attr_spec a_quota_key[] = {
	{ "calls", 0, K_UINT, NULL }, { "bandwidth", 0, K_UINT, NULL },
	{ "renewal-period", A_REQ, K_UINT, NULL }, { "counter-key", A_REQ | A_EXPR, K_ANY, NULL },
	{ "increment-condition", A_EXPR, K_BOOL, NULL }, { "increment-count", A_EXPR, K_UINT, NULL },
	{ "first-period-start", 0, K_ANY, NULL }, END };
/* <api>/<operation> inside rate-limit (calls, renewal-period) or quota
 * (calls, bandwidth, renewal-period). */
static const struct attr_spec a_limit_api[] = {
	{ "name", 0, K_ANY, NULL }, { "id", 0, K_ANY, NULL }, { "calls", 0, K_UINT, NULL },
	{ "renewal-period", 0, K_UINT, NULL }, { "bandwidth", 0, K_UINT, NULL }, END };
static const struct attr_spec a_concurrency[] = {
	{ "key", A_REQ | A_EXPR, K_ANY, NULL }, { "max-count", A_REQ, K_UINT, NULL }, END };
static const struct attr_spec a_auth_cert[] = {
	{ "thumbprint", A_EXPR, K_ANY, NULL }, { "certificate-id", A_EXPR, K_ANY, NULL },
	{ "body", A_EXPR, K_ANY, NULL }, { "password", A_EXPR, K_ANY, NULL }, END };

/* validate-jwt: expressions where APIM documents them. */
static const struct attr_spec a_jwt[] = {
	{ "header-name", A_EXPR, K_ANY, NULL }, { "query-parameter-name", A_EXPR, K_ANY, NULL },
	{ "token-value", A_EXPR, K_ANY, NULL }, { "failed-validation-httpcode", A_EXPR, K_UINT, NULL },
	{ "failed-validation-error-message", A_EXPR, K_ANY, NULL },
	{ "require-expiration-time", A_EXPR, K_BOOL, NULL }, { "require-scheme", A_EXPR, K_ANY, NULL },
	{ "require-signed-tokens", A_EXPR, K_BOOL, NULL }, { "clock-skew", A_EXPR, K_UINT, NULL },
	{ "output-token-variable-name", 0, K_ANY, NULL }, END };
static const struct attr_spec a_openid[] = { { "url", A_REQ, K_ANY, NULL },
					     { "validate-connectivity", 0, K_BOOL, NULL }, END };
static const struct attr_spec a_jwt_key[] = { { "id", 0, K_ANY, NULL }, { "certificate-id", 0, K_ANY, NULL },
					      { "n", 0, K_ANY, NULL }, { "e", 0, K_ANY, NULL }, END };
static const struct attr_spec a_claim[] = { { "name", A_REQ, K_ANY, NULL },
					    { "match", 0, K_ENUM, "all|any" },
					    { "separator", 0, K_ANY, NULL }, END };
static const struct attr_spec a_auth_basic[] = { { "username", A_REQ | A_EXPR, K_ANY, NULL },
						 { "password", A_REQ | A_EXPR, K_ANY, NULL }, END };
#define CACHING_TYPE { "caching-type", 0, K_ENUM, "internal|external|prefer-external" }
static const struct attr_spec a_cache_lookup[] = {
	{ "key", A_REQ | A_EXPR, K_ANY, NULL }, { "variable-name", A_REQ, K_ANY, NULL },
	{ "default-value", A_EXPR, K_ANY, NULL }, CACHING_TYPE, END };
static const struct attr_spec a_cache_store[] = {
	{ "key", A_REQ | A_EXPR, K_ANY, NULL }, { "value", A_REQ | A_EXPR, K_ANY, NULL },
	{ "duration", A_REQ | A_EXPR, K_UINT, NULL }, CACHING_TYPE, END };
static const struct attr_spec a_emit_metric[] = { { "name", A_REQ, K_ANY, NULL },
	{ "namespace", 0, K_ANY, NULL }, { "value", A_EXPR, K_ANY, NULL }, END };
/* A dimension's name is a label name: literal only (docs/policies.md). */
static const struct attr_spec a_dimension[] = { { "name", A_REQ, K_ANY, NULL }, { "value", A_EXPR, K_ANY, NULL },
	END };
static const struct attr_spec a_cache_remove[] = {
	{ "key", A_REQ | A_EXPR, K_ANY, NULL }, { "fail-on-cache-removal-error", A_EXPR, K_BOOL, NULL },
	CACHING_TYPE, END };

/* on-error allow-list (apim.md §1.6) intersected with what we implement:
 * choose, set-variable, return-response, set-header, set-method,
 * set-status, mock-response, trace, find-and-replace, limit-concurrency (and include-fragment,
 * base). */
static const struct elem_spec specs[] = {
	{ "base", S_ALL, C_EMPTY, 0, a_none, NULL, NULL },
	{ "include-fragment", S_ALL, C_EMPTY, 0, a_include, NULL, NULL },
	{ "choose", S_ALL, C_CHILDREN, 0, a_none, "when|otherwise", check_choose },
	{ "when", 0, C_POLICIES, 0, a_when, NULL, NULL },
	{ "otherwise", 0, C_POLICIES, 0, a_none, NULL, NULL },
	{ "return-response", S_ALL, C_CHILDREN, 0, a_return, "set-status|set-header|set-body",
	  check_return_response },
	{ "set-status", S_ALL, C_EMPTY, 0, a_status, NULL, NULL },
	{ "set-header", S_ALL, C_CHILDREN, 0, a_header, "value", check_header_like },
	{ "set-query-parameter", S_IN | S_BE, C_CHILDREN, 0, a_header, "value", check_header_like },
	{ "value", 0, C_TEXT, 1, a_none, NULL, NULL },
	{ "set-variable", S_ALL, C_EMPTY, 0, a_setvar, NULL, NULL },
	{ "set-body", S_IN | S_BE | S_OUT, C_TEXT, 1, a_body, NULL, NULL },
	{ "set-method", S_IN | S_ERR, C_TEXT_REQ, 1, a_none, NULL, NULL },
	{ "rewrite-uri", S_IN, C_EMPTY, 0, a_rewrite, NULL, NULL },
	{ "set-backend-service", S_IN | S_BE, C_EMPTY, 0, a_backend, NULL, check_backend_service },
	{ "forward-request", S_BE, C_EMPTY, 0, a_forward, NULL, check_forward },
	{ "check-header", S_IN, C_CHILDREN, 0, a_check_header, "value", NULL },
	{ "ip-filter", S_IN, C_CHILDREN, 0, a_ip_filter, "address|address-range", check_ip_filter },
	{ "address", 0, C_TEXT_REQ, 0, a_none, NULL, NULL },
	{ "address-range", 0, C_EMPTY, 0, a_range, NULL, NULL },
	{ "mock-response", S_IN | S_OUT | S_ERR, C_EMPTY, 0, a_mock, NULL, NULL },
	{ "trace", S_ALL, C_CHILDREN, 0, a_trace, "message|metadata", check_trace },
	{ "message", 0, C_TEXT_REQ, 1, a_none, NULL, NULL },
	{ "metadata", 0, C_EMPTY, 0, a_metadata, NULL, NULL },
	{ "validate-client-certificate", S_IN, C_CHILDREN, 0, a_vcc, "identities", check_vcc },
	{ "identities", 0, C_CHILDREN, 0, a_none, "identity", check_identities },
	{ "identity", 0, C_EMPTY, 0, a_identity, NULL, check_identity },
	{ "authentication-certificate", S_IN, C_EMPTY, 0, a_auth_cert, NULL, check_auth_cert },
	{ "forward-client-certificate", S_IN, C_EMPTY, 0, a_fwd_cert, NULL, NULL },
	{ "cors", S_IN, C_CHILDREN, 0, a_cors, "allowed-origins|allowed-methods|allowed-headers|expose-headers",
	  check_cors },
	{ "allowed-origins", 0, C_CHILDREN, 0, a_none, "origin", check_cors_list },
	{ "origin", 0, C_TEXT_REQ, 0, a_none, NULL, check_origin },
	{ "allowed-methods", 0, C_CHILDREN, 0, a_cors_methods, "method", check_cors_list },
	{ "method", 0, C_TEXT_REQ, 1, a_none, NULL, check_token_text },
	{ "allowed-headers", 0, C_CHILDREN, 0, a_none, "header", check_cors_list },
	{ "expose-headers", 0, C_CHILDREN, 0, a_none, "header", check_cors_list },
	{ "header", 0, C_TEXT_REQ, 0, a_none, NULL, check_token_text },
	{ "find-and-replace", S_ALL, C_EMPTY, 0, a_find_replace, NULL, check_find_and_replace },
	{ "json-to-xml", S_IN | S_OUT | S_ERR, C_EMPTY, 0, a_json_to_xml, NULL, check_json_to_xml },
	{ "xml-to-json", S_IN | S_OUT | S_ERR, C_EMPTY, 0, a_xml_to_json, NULL, NULL },
	{ "rate-limit", S_IN, C_CHILDREN, 0, a_rate, "api", check_rate_limit },
	{ "rate-limit-by-key", S_IN, C_EMPTY, 0, a_rate_key, NULL, check_max_period },
	{ "quota", S_IN, C_CHILDREN, 0, a_quota, "api", check_quota },
	{ "quota-by-key", S_IN, C_EMPTY, 0, a_quota_key, NULL, check_quota_by_key },
	{ "api", 0, C_CHILDREN, 0, a_limit_api, "operation", check_limit_api },
	{ "operation", 0, C_EMPTY, 0, a_limit_api, NULL, check_limit_api },
	{ "limit-concurrency", S_ALL, C_POLICIES, 0, a_concurrency, NULL, check_limit_concurrency },
	{ "validate-jwt", S_IN, C_CHILDREN, 0, a_jwt,
	  "openid-config|issuer-signing-keys|decryption-keys|audiences|issuers|required-claims", check_jwt },
	{ "openid-config", 0, C_EMPTY, 0, a_openid, NULL, check_openid },
	{ "decryption-keys", 0, C_CHILDREN, 0, a_none, "key", refuse_jwt_child },
	{ "issuer-signing-keys", 0, C_CHILDREN, 0, a_none, "key", check_jwt_list },
	{ "key", 0, C_TEXT, 0, a_jwt_key, NULL, check_jwt_key },
	{ "audiences", 0, C_CHILDREN, 0, a_none, "audience", check_jwt_list },
	{ "audience", 0, C_TEXT_REQ, 1, a_none, NULL, NULL },
	{ "issuers", 0, C_CHILDREN, 0, a_none, "issuer", check_jwt_list },
	{ "issuer", 0, C_TEXT_REQ, 1, a_none, NULL, NULL },
	{ "required-claims", 0, C_CHILDREN, 0, a_none, "claim", check_jwt_list },
	{ "claim", 0, C_CHILDREN, 0, a_claim, "value", check_jwt_claim },
	{ "authentication-basic", S_IN, C_EMPTY, 0, a_auth_basic, NULL, NULL },
	/* on-error too: each cache policy's page lists it (the on-error list does not) */
	{ "cache-lookup-value", S_ALL, C_EMPTY, 0, a_cache_lookup, NULL, check_cache_lookup },
	{ "cache-store-value", S_ALL, C_EMPTY, 0, a_cache_store, NULL, check_cache_store },
	{ "cache-remove-value", S_ALL, C_EMPTY, 0, a_cache_remove, NULL, check_cache_remove },
	{ "emit-metric", S_ALL, C_CHILDREN, 0, a_emit_metric, "dimension", check_emit_metric },
	{ "dimension", 0, C_EMPTY, 0, a_dimension, NULL, check_dimension },
};

static const struct elem_spec *find_spec(struct cg_str name)
{
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (cg_str_eq(name, cg_str_from_c(specs[i].name)))
			return &specs[i];
	return NULL;
}

static int is_section_name(struct cg_str s)
{
	return cg_str_eq_lit(s, "inbound") || cg_str_eq_lit(s, "backend") || cg_str_eq_lit(s, "outbound") ||
	       cg_str_eq_lit(s, "on-error");
}

/* ---- checks --------------------------------------------------------- */

static void check_attrs(struct vctx *v, const struct cg_pol_node *n, const struct elem_spec *sp,
			int is_policy)
{
	for (size_t i = 0; i < n->num_attrs; i++) {
		const struct cg_pol_attr *a = &n->attrs[i];
		const struct attr_spec *as = sp->attrs;
		while (as->name && !cg_str_eq(a->name, cg_str_from_c(as->name)))
			as++;
		if (!as->name) {
			if (is_policy && cg_str_eq_lit(a->name, "id")) {
				if (a->is_expr)
					err(v, n, a->vpos,
					    "Policy expressions are not allowed in attribute 'id' of element '%.*s'",
					    CG_STR_FMT(n->name));
				continue;
			}
			err(v, n, a->pos, "Attribute '%.*s' is not allowed in element '%.*s'",
			    CG_STR_FMT(a->name), CG_STR_FMT(n->name));
			continue;
		}
		if (a->is_expr) {
			if (!(as->flags & A_EXPR))
				err(v, n, a->vpos,
				    "Policy expressions are not allowed in attribute '%s' of element '%.*s'",
				    as->name, CG_STR_FMT(n->name));
			continue;
		}
		int ok = 1;
		uint64_t u;
		switch (as->kind) {
		case K_BOOL:
			ok = cg_str_ieq_lit(a->value, "true") || cg_str_ieq_lit(a->value, "false");
			if (!ok)
				err(v, n, a->vpos,
				    "Value '%.*s' of attribute '%s' in element '%.*s' is not valid; expected 'true' or 'false'",
				    CG_STR_FMT(a->value), as->name, CG_STR_FMT(n->name));
			break;
		case K_UINT:
			ok = cg_str_to_u64(a->value, 0xffffffffu, &u);
			if (!ok)
				err(v, n, a->vpos,
				    "Value '%.*s' of attribute '%s' in element '%.*s' is not valid; expected a non-negative integer",
				    CG_STR_FMT(a->value), as->name, CG_STR_FMT(n->name));
			break;
		case K_ENUM:
			ok = in_list(as->values, a->value);
			if (!ok) {
				char alts[128];
				size_t k = 0;
				for (const char *q = as->values; *q && k + 3 < sizeof(alts); q++) {
					if (*q == '|') {
						alts[k++] = ',';
						alts[k++] = ' ';
					} else {
						alts[k++] = *q;
					}
				}
				alts[k] = '\0';
				err(v, n, a->vpos,
				    "Value '%.*s' of attribute '%s' in element '%.*s' is not valid; expected one of: %s",
				    CG_STR_FMT(a->value), as->name, CG_STR_FMT(n->name), alts);
			}
			break;
		case K_ANY:
			break;
		}
	}
	for (const struct attr_spec *as = sp->attrs; as->name; as++)
		if ((as->flags & A_REQ) && !cg_pol_attr_get(n, as->name))
			err(v, n, n->pos, "Element '%.*s' is missing required attribute '%s'",
			    CG_STR_FMT(n->name), as->name);
}

static void check_list(struct vctx *v, const struct cg_pol_node *list, int section, int top);

static void check_elem(struct vctx *v, const struct cg_pol_node *n, const struct elem_spec *sp,
		       int section, int is_policy)
{
	check_attrs(v, n, sp, is_policy);
	if (sp->content != C_TEXT && sp->content != C_TEXT_REQ && n->has_text)
		err(v, n, n->text_pos, "Element '%.*s' must not contain text", CG_STR_FMT(n->name));
	if (sp->content == C_TEXT || sp->content == C_TEXT_REQ) {
		if (n->children)
			err(v, n, n->children->pos, "Element '%.*s' must not contain element '%.*s'",
			    CG_STR_FMT(n->name), CG_STR_FMT(n->children->name));
		if (sp->content == C_TEXT_REQ && !n->has_text)
			err(v, n, n->pos, "Element '%.*s' must have a value", CG_STR_FMT(n->name));
		if (n->text_is_expr && !sp->text_expr)
			err(v, n, n->text_pos, "Policy expressions are not allowed in element '%.*s'",
			    CG_STR_FMT(n->name));
	} else if (sp->content == C_EMPTY) {
		if (n->children)
			err(v, n, n->children->pos, "Element '%.*s' must not contain element '%.*s'",
			    CG_STR_FMT(n->name), CG_STR_FMT(n->children->name));
	} else if (sp->content == C_POLICIES) {
		check_list(v, n->children, section, 0);
	} else {
		for (const struct cg_pol_node *c = n->children; c; c = c->next) {
			const struct elem_spec *cs = find_spec(c->name);
			if (!cs || !in_list(sp->children, c->name)) {
				err(v, c, c->pos, "Element '%.*s' is not allowed in element '%.*s'",
				    CG_STR_FMT(c->name), CG_STR_FMT(n->name));
				continue;
			}
			/* Children that are policies themselves (return-response's
			 * set-status...) keep their own section rules. */
			check_elem(v, c, cs, section, cs->sections != 0);
		}
	}
	if (sp->check)
		sp->check(v, n);
}

/* section: CG_POL_* or -1 in a fragment checked on its own (any section). */
static void check_list(struct vctx *v, const struct cg_pol_node *list, int section, int top)
{
	int bases = 0;
	for (const struct cg_pol_node *n = list; n; n = n->next) {
		const struct elem_spec *sp = find_spec(n->name);
		if (!sp || !sp->sections) {
			if (is_section_name(n->name) || cg_str_eq_lit(n->name, "policies"))
				err(v, n, n->pos, v->is_fragment || n->origin.len
						 ? "Element '%.*s' is not allowed in a policy fragment"
						 : "Element '%.*s' is not allowed here",
				    CG_STR_FMT(n->name));
			else if (sp)
				err(v, n, n->pos, "Element '%.*s' is not allowed here", CG_STR_FMT(n->name));
			else
				err(v, n, n->pos,
				    "Unknown policy '%.*s': policies this gateway does not implement are refused, not skipped",
				    CG_STR_FMT(n->name));
			continue;
		}
		if (cg_str_eq_lit(n->name, "base")) {
			if (v->is_fragment || n->origin.len) {
				err(v, n, n->pos, "Element 'base' is not allowed in a policy fragment");
				continue;
			}
			if (!top) {
				err(v, n, n->pos, "Element 'base' is allowed only directly inside a section");
				continue;
			}
			if (bases++)
				err(v, n, n->pos, "Element 'base' may appear only once in a section");
		}
		if (cg_str_eq_lit(n->name, "include-fragment") && (v->is_fragment || n->origin.len)) {
			err(v, n, n->pos, "A policy fragment cannot include another policy fragment");
			continue;
		}
		if (section >= 0 && !(sp->sections & (1u << section))) {
			err(v, n, n->pos, "Policy '%.*s' is not allowed in the '%s' section",
			    CG_STR_FMT(n->name), cg_pol_section_name((enum cg_pol_section)section));
			continue;
		}
		v->section = section;
		check_elem(v, n, sp, section, 1);
	}
}

size_t pol_validate(struct cg_pol_doc *doc, struct cg_pol_diags *d)
{
	struct vctx v = { .d = d, .is_fragment = doc->is_fragment, .scope = doc->scope };
	const struct cg_pol_node *root = doc->root;
	for (size_t i = 0; i < root->num_attrs; i++)
		err(&v, root, root->attrs[i].pos, "Attribute '%.*s' is not allowed in element '%.*s'",
		    CG_STR_FMT(root->attrs[i].name), CG_STR_FMT(root->name));
	if (root->has_text)
		err(&v, root, root->text_pos, "Element '%.*s' must not contain text", CG_STR_FMT(root->name));
	if (doc->is_fragment) {
		check_list(&v, root->children, -1, 0);
		return v.errors;
	}
	int seen[CG_POL_NSECTIONS] = { 0 };
	for (const struct cg_pol_node *s = root->children; s; s = s->next) {
		int k = 0;
		while (k < CG_POL_NSECTIONS && !cg_str_eq(s->name, cg_str_from_c(cg_pol_section_name(k))))
			k++;
		if (k == CG_POL_NSECTIONS) {
			err(&v, s, s->pos,
			    "Element '%.*s' is not allowed in 'policies'; expected 'inbound', 'backend', 'outbound' or 'on-error'",
			    CG_STR_FMT(s->name));
			continue;
		}
		if (seen[k]++) {
			err(&v, s, s->pos, "Section '%s' appears more than once", cg_pol_section_name(k));
			continue;
		}
		for (size_t i = 0; i < s->num_attrs; i++)
			err(&v, s, s->attrs[i].pos, "Attribute '%.*s' is not allowed in element '%.*s'",
			    CG_STR_FMT(s->attrs[i].name), CG_STR_FMT(s->name));
		if (s->has_text)
			err(&v, s, s->text_pos, "Element '%.*s' must not contain text", CG_STR_FMT(s->name));
		v.cors_in_section = 0;
		check_list(&v, s->children, k, 1);
		if (doc->scope != CG_POL_SCOPE_GLOBAL && !count_named(s, "base"))
			pol_diag(d, CG_POL_WARNING, s->pos, s->origin,
				 "Section '%s' has no 'base' element: policies of broader scopes are not applied to it",
				 cg_pol_section_name(k));
	}
	return v.errors;
}

/* ---- expression compile pass ---------------------------------------- */

struct cctx {
	const struct cg_pol_env *env;
	struct cg_pol_diags *d;
	const char *section;
	size_t errors;
};

static void compile_one(struct cctx *c, const struct cg_pol_node *n, struct cg_str v,
			struct cg_pol_pos pos, void **out)
{
	char msg[400] = "";
	int is_block = v.ptr[1] == '{';
	struct cg_str inner = cg_str_sub(v, 2, v.len - 3);
	/* The code starts two characters after '@': "@(" is plain ASCII in
	 * both formats, so line and column move by two on the same line. */
	if (c->env->compile(c->env->compile_ud, inner, is_block, (int)pos.line, (int)pos.col + 2, c->section,
			    out, msg, sizeof(msg)) != 0) {
		pol_diag(c->d, CG_POL_ERROR, pos, n->origin, "%s", msg[0] ? msg : "Invalid policy expression");
		c->errors++;
	} else if (msg[0]) {
		/* Success with text: the engine's warnings (one per line). */
		for (char *line = msg, *nl; line && *line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			if (*line)
				pol_diag(c->d, CG_POL_WARNING, pos, n->origin, "%s", line);
		}
	}
}

/* rate-limit-by-key and quota-by-key evaluate increment-condition and
 * increment-count at the end of outbound (APIM): context.Response is set. */
static bool deferred_attr(const struct cg_pol_node *n, const struct cg_pol_attr *a)
{
	return (cg_str_eq_lit(n->name, "rate-limit-by-key") || cg_str_eq_lit(n->name, "quota-by-key")) &&
	       (cg_str_eq_lit(a->name, "increment-condition") || cg_str_eq_lit(a->name, "increment-count"));
}

static void compile_list(struct cctx *c, struct cg_pol_node *n)
{
	for (; n; n = n->next) {
		for (size_t i = 0; i < n->num_attrs; i++) {
			if (!n->attrs[i].is_expr)
				continue;
			const char *sec = c->section;
			if (deferred_attr(n, &n->attrs[i]))
				c->section = cg_pol_section_name(CG_POL_OUTBOUND);
			compile_one(c, n, n->attrs[i].value, n->attrs[i].vpos, &n->attrs[i].compiled);
			c->section = sec;
		}
		if (n->text_is_expr)
			compile_one(c, n, n->text, n->text_pos, &n->text_compiled);
		compile_list(c, n->children);
	}
}

size_t pol_compile(struct cg_pol_doc *doc, const struct cg_pol_env *env, struct cg_pol_diags *d)
{
	if (!env || !env->compile)
		return 0;
	struct cctx c = { env, d, "fragment", 0 };
	if (doc->is_fragment) {
		compile_list(&c, doc->root->children);
		return c.errors;
	}
	for (int k = 0; k < CG_POL_NSECTIONS; k++) {
		if (!doc->sections[k])
			continue;
		c.section = cg_pol_section_name(k);
		compile_list(&c, doc->sections[k]->children);
	}
	return c.errors;
}

/* Shared by the expression test programs: builds a context view from the
 * directives of tests/expr/NAME.test cases and renders values for comparison.
 * Header-only so each test executable stays one .c file (CMake globs
 * tests/unit/expr/test_*.c). */
#ifndef CG_TEST_EXPR_HARNESS_H
#define CG_TEST_EXPR_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "expr/ctx.h"
#include "expr/expr.h"
#include "expr/internal.h"

#define H_MAX_HEADERS 32
#define H_MAX_CERTS 16

struct h_case {
	/* context storage */
	struct cg_expr_context ctx;
	struct cg_expr_request_view req;
	struct cg_expr_response_view resp;
	struct cg_expr_api_view api;
	struct cg_expr_operation_view op;
	struct cg_expr_deployment_view dep;
	struct cg_expr_lasterror_view lasterr;
	struct cg_expr_subscription_view sub;
	struct cg_expr_product_view prod;
	struct cg_expr_vars vars;
	struct cg_expr_cert cert;
	bool has_cert;
	bool cert_verify, cert_verify_norev;
	struct cg_expr_header headers[H_MAX_HEADERS];
	struct cg_expr_header resp_headers[H_MAX_HEADERS];
	struct cg_expr_strpair params[H_MAX_HEADERS];
	struct cg_expr_cert *dcerts;     /* deployment certificates (arena) */
	uint32_t ndcerts, dcap;
	struct cg_expr_cert_table table;
	struct cg_expr_body body;
	/* options */
	bool block;
	uint64_t max_steps;
	size_t max_string;
	uint32_t max_items;
	uint64_t steps_at_most;
	bool check_steps;
	struct cg_expr_env env;
	bool has_env;
};

static bool h_bool(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "True") == 0;
}

/* ISO 8601 -> ticks (local == UTC: the tests run with TZ=UTC). */
static int64_t h_ticks(const char *s)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
	sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &se);
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return cg_expr_ticks_from_unix((int64_t)timegm(&tm));
}

/* a client certificate whose DER the gateway cannot decode */
static const struct cg_expr_cert *h_undecodable(const struct cg_expr_cert *c)
{
	(void)c;
	return NULL;
}

static bool h_verify_cb(const struct cg_expr_cert *c, void *user)
{
	(void)c;
	return *(bool *)user;
}

static void h_init(struct h_case *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->ctx.request = &hc->req;
	hc->ctx.api = &hc->api;
	hc->api.https = true; /* a new API's protocols */
	hc->ctx.operation = &hc->op;
	hc->ctx.deployment = &hc->dep;
	hc->ctx.variables = &hc->vars;
	hc->req.method = CG_STR("GET");
	hc->req.url = (struct cg_expr_url){ CG_STR("https"), CG_STR("api.example.com"), 443, CG_STR("/echo"),
					    CG_STR("") };
	hc->req.original_url = hc->req.url;
	hc->req.ip_address = CG_STR("192.0.2.10");
	hc->dep.gateway_id = CG_STR("managed");
	hc->dep.region = CG_STR("West Europe");
	hc->dep.service_name = CG_STR("certgate");
	hc->ctx.now = h_ticks("2026-01-15T12:00:00");
	hc->ctx.timestamp = hc->ctx.now - 5 * 10000000LL;
	hc->cert.thumbprint = CG_STR("0123456789ABCDEF0123456789ABCDEF01234567");
	hc->cert.subject = CG_STR("CN=expected-subject-name");
	hc->cert.issuer = CG_STR("CN=trusted-issuer");
	hc->cert.serial_number = CG_STR("01");
	hc->cert.friendly_name = CG_STR("");
	hc->cert.version = 3;
	hc->cert.not_before = h_ticks("2025-01-01T00:00:00");
	hc->cert.not_after = h_ticks("2027-01-01T00:00:00");
	hc->cert.verify = h_verify_cb;
	hc->cert.verify_no_revocation = h_verify_cb;
	hc->cert.verify_user = &hc->cert_verify;
	hc->cert_verify = hc->cert_verify_norev = true;
}

static struct cg_str h_dup(struct cg_arena *a, const char *s)
{
	return cg_arena_strdup_str(a, cg_str_from_c(s));
}

static struct cg_expr_cert *h_add_dcert(struct h_case *hc, struct cg_arena *a)
{
	if (hc->ndcerts == hc->dcap) {
		uint32_t cap = hc->dcap ? hc->dcap * 2 : 8;
		struct cg_expr_cert *n = cg_arena_alloc(a, sizeof(*n) * cap);
		if (hc->ndcerts)
			memcpy(n, hc->dcerts, sizeof(*n) * hc->ndcerts);
		hc->dcerts = n;
		hc->dcap = cap;
	}
	struct cg_expr_cert *c = &hc->dcerts[hc->ndcerts++];
	*c = hc->cert;
	return c;
}

/* Applies one directive line ("%name rest"). Returns 0, or -1 if unknown. */
__attribute__((unused)) static int h_directive(struct h_case *hc, struct cg_arena *a, const char *line)
{
	char name[64] = "";
	const char *rest = line + 1;
	size_t n = strcspn(rest, " ");
	if (n >= sizeof(name))
		return -1;
	memcpy(name, rest, n);
	name[n] = '\0';
	rest += n;
	while (*rest == ' ')
		rest++;
	struct cg_str v = h_dup(a, rest);
	if (!strcmp(name, "block")) {
		hc->block = true;
	} else if (!strcmp(name, "now")) {
		hc->ctx.now = h_ticks(rest);
	} else if (!strcmp(name, "timestamp")) {
		hc->ctx.timestamp = h_ticks(rest);
	} else if (!strcmp(name, "cert")) {
		hc->has_cert = strcmp(rest, "none") != 0;
	} else if (!strncmp(name, "cert.", 5)) {
		hc->has_cert = true;
		const char *f = name + 5;
		if (!strcmp(f, "thumbprint"))
			hc->cert.thumbprint = v;
		else if (!strcmp(f, "subject"))
			hc->cert.subject = v;
		else if (!strcmp(f, "issuer"))
			hc->cert.issuer = v;
		else if (!strcmp(f, "serial"))
			hc->cert.serial_number = v;
		else if (!strcmp(f, "notbefore"))
			hc->cert.not_before = h_ticks(rest);
		else if (!strcmp(f, "notafter"))
			hc->cert.not_after = h_ticks(rest);
		else if (!strcmp(f, "verify"))
			hc->cert_verify = h_bool(rest);
		else if (!strcmp(f, "undecodable"))
			hc->cert.full = h_undecodable;
		else if (!strcmp(f, "verifynorev")) {
			hc->cert_verify_norev = h_bool(rest);
			hc->cert.verify_no_revocation = h_verify_cb;
		} else
			return -1;
	} else if (!strcmp(name, "deploycert")) {
		/* %deploycert THUMBPRINT [subject] */
		struct cg_expr_cert *c = h_add_dcert(hc, a);
		size_t tl = strcspn(rest, " ");
		c->thumbprint = cg_arena_strdup_str(a, cg_str_make(rest, tl));
		if (rest[tl])
			c->subject = h_dup(a, rest + tl + 1);
	} else if (!strcmp(name, "deploycerts")) {
		/* %deploycerts N: N certificates with thumbprints C000...0001.. */
		long cnt = atol(rest);
		for (long k = 1; k <= cnt; k++) {
			struct cg_expr_cert *c = h_add_dcert(hc, a);
			c->thumbprint = cg_str_from_c(cg_arena_printf(a, "C%039ld", k));
		}
	} else if (!strcmp(name, "header") || !strcmp(name, "respheader")) {
		bool resp = name[0] == 'r';
		struct cg_expr_headers *hs = resp ? &hc->resp.headers : &hc->req.headers;
		struct cg_expr_header *arr = resp ? hc->resp_headers : hc->headers;
		const char *colon = strchr(rest, ':');
		if (!colon || hs->n >= H_MAX_HEADERS)
			return -1;
		arr[hs->n].name = cg_arena_strdup_str(a, cg_str_make(rest, (size_t)(colon - rest)));
		arr[hs->n].value = cg_str_trim_ows(h_dup(a, colon + 1));
		hs->items = arr;
		hs->n++;
		if (resp)
			hc->ctx.response = &hc->resp;
	} else if (!strcmp(name, "param")) {
		size_t kl = strcspn(rest, " ");
		size_t i = hc->req.matched_parameters.n;
		if (i >= H_MAX_HEADERS)
			return -1;
		hc->params[i].key = cg_arena_strdup_str(a, cg_str_make(rest, kl));
		hc->params[i].value = h_dup(a, rest[kl] ? rest + kl + 1 : "");
		hc->req.matched_parameters.items = hc->params;
		hc->req.matched_parameters.n++;
	} else if (!strcmp(name, "body")) {
		/* %body text (\n in the text is a newline) */
		char *b = cg_arena_strndup(a, rest, strlen(rest));
		size_t o = 0;
		for (size_t i = 0; b[i]; i++) {
			if (b[i] == '\\' && b[i + 1] == 'n') {
				b[o++] = '\n';
				i++;
			} else {
				b[o++] = b[i];
			}
		}
		hc->body.data = cg_str_make(b, o);
		hc->req.body = &hc->body;
	} else if (!strcmp(name, "method")) {
		hc->req.method = v;
	} else if (!strcmp(name, "ip")) {
		hc->req.ip_address = v;
	} else if (!strcmp(name, "url")) {
		/* scheme://host[:port]/path[?query] */
		const char *p = strstr(v.ptr, "://");
		if (!p)
			return -1;
		struct cg_expr_url *u = &hc->req.url;
		u->scheme = cg_str_make(v.ptr, (size_t)(p - v.ptr));
		const char *h = p + 3, *e = h + strcspn(h, ":/?");
		u->host = cg_str_make(h, (size_t)(e - h));
		u->port = strncmp(v.ptr, "https", 5) == 0 ? 443 : 80;
		if (*e == ':') {
			u->port = atoi(e + 1);
			e += 1 + strspn(e + 1, "0123456789");
		}
		const char *q = strchr(e, '?');
		u->path = cg_str_make(e, q ? (size_t)(q - e) : strlen(e));
		u->query_string = q ? cg_str_from_c(q + 1) : CG_STR("");
		hc->req.original_url = *u;
	} else if (!strcmp(name, "var")) {
		/* %var name type value */
		char vn[64], ty[16];
		int off = 0;
		if (sscanf(rest, "%63s %15s %n", vn, ty, &off) < 2)
			return -1;
		const char *val = rest + off;
		struct cg_expr_value x = { 0 };
		if (!strcmp(ty, "string")) {
			x.kind = CG_EXPR_V_STRING;
			x.u.s = h_dup(a, val);
		} else if (!strcmp(ty, "int")) {
			x.kind = CG_EXPR_V_INT;
			x.u.i = atoi(val);
		} else if (!strcmp(ty, "long")) {
			x.kind = CG_EXPR_V_LONG;
			x.u.l = atoll(val);
		} else if (!strcmp(ty, "bool")) {
			x.kind = CG_EXPR_V_BOOL;
			x.u.b = h_bool(val);
		} else if (!strcmp(ty, "double")) {
			x.kind = CG_EXPR_V_DOUBLE;
			x.u.d = atof(val);
		} else if (!strcmp(ty, "decimal")) {
			if (cg_expr_dec_parse(cg_str_from_c(val), false, &x) < 0)
				return -1;
		} else if (!strcmp(ty, "datetime")) {
			x.kind = CG_EXPR_V_DATETIME;
			x.u.ticks = h_ticks(val);
		} else if (strcmp(ty, "null") != 0) {
			return -1;
		}
		if (cg_expr_vars_set(&hc->vars, a, h_dup(a, vn), &x) < 0)
			return -1;
	} else if (!strcmp(name, "response")) {
		hc->ctx.response = &hc->resp;
		hc->resp.status_code = atoi(rest);
		const char *sp = strchr(rest, ' ');
		hc->resp.status_reason = sp ? h_dup(a, sp + 1) : CG_STR("");
	} else if (!strcmp(name, "subscription")) {
		/* %subscription ID NAME KEY PRIMARY SECONDARY CREATED [END] */
		char f[7][80] = { { 0 } };
		int got = sscanf(rest, "%79s %79s %79s %79s %79s %79s %79s", f[0], f[1], f[2], f[3],
				 f[4], f[5], f[6]);
		if (got < 6)
			return -1;
		struct cg_expr_subscription_view *s = &hc->sub;
		s->id = h_dup(a, f[0]);
		s->name = h_dup(a, f[1]);
		s->key = h_dup(a, f[2]);
		s->primary_key = h_dup(a, f[3]);
		s->secondary_key = h_dup(a, f[4]);
		s->created = s->start = h_ticks(f[5]);
		s->has_start = true;
		s->has_end = got == 7;
		s->end = got == 7 ? h_ticks(f[6]) : 0;
		hc->ctx.subscription = s;
	} else if (!strcmp(name, "product")) {
		/* %product ID NAME published|notPublished SUBREQ(0/1) APPROVAL(0/1) LIMIT(-1 = null) */
		char f[3][80] = { { 0 } };
		int subreq = 0, appr = 0;
		long long limit = -1;
		if (sscanf(rest, "%79s %79s %79s %d %d %lld", f[0], f[1], f[2], &subreq, &appr,
			   &limit) != 6)
			return -1;
		struct cg_expr_product_view *p = &hc->prod;
		p->id = h_dup(a, f[0]);
		p->name = h_dup(a, f[1]);
		p->published = strcmp(f[2], "published") == 0;
		p->subscription_required = subreq != 0;
		p->approval_required = appr != 0;
		p->subscriptions_limit = limit;
		hc->ctx.product = p;
	} else if (!strcmp(name, "noresponse")) {
		hc->ctx.response = NULL;
	} else if (!strcmp(name, "lasterror")) {
		hc->ctx.last_error = &hc->lasterr;
		hc->lasterr.message = v;
		hc->lasterr.reason = CG_STR("ExpressionValueEvaluationFailure");
		hc->lasterr.source = CG_STR("set-variable");
	} else if (!strcmp(name, "api.name")) {
		hc->api.name = v;
	} else if (!strcmp(name, "api.id")) {
		hc->api.id = v;
	} else if (!strcmp(name, "api.path")) {
		hc->api.path = v;
	} else if (!strcmp(name, "api.protocols")) { /* http, https or http,https */
		bool both = cg_str_eq_lit(v, "http,https");
		hc->api.http = both || cg_str_eq_lit(v, "http");
		hc->api.https = both || cg_str_eq_lit(v, "https");
	} else if (!strcmp(name, "operation.name")) {
		hc->op.name = v;
	} else if (!strcmp(name, "operation.method")) {
		hc->op.method = v;
	} else if (!strcmp(name, "maxsteps")) {
		hc->max_steps = strtoull(rest, NULL, 10);
	} else if (!strcmp(name, "maxitems")) {
		hc->max_items = (uint32_t)strtoul(rest, NULL, 10);
	} else if (!strcmp(name, "maxstring")) {
		hc->max_string = strtoull(rest, NULL, 10);
	} else if (!strcmp(name, "steps<=")) {
		hc->check_steps = true;
		hc->steps_at_most = strtoull(rest, NULL, 10);
	} else if (!strcmp(name, "result")) {
		hc->has_env = true;
		hc->env.has_result_type = true;
		hc->env.result_type.id = !strcmp(rest, "bool") ? CG_EXPR_T_BOOL : !strcmp(rest, "string") ? CG_EXPR_T_STRING :
					 !strcmp(rest, "int") ? CG_EXPR_T_INT : CG_EXPR_T_OBJECT;
	} else if (!strcmp(name, "section")) {
		hc->has_env = true;
		hc->env.sections = !strcmp(rest, "inbound") ? CG_EXPR_SEC_INBOUND : !strcmp(rest, "backend") ? CG_EXPR_SEC_BACKEND :
				   !strcmp(rest, "outbound") ? CG_EXPR_SEC_OUTBOUND : !strcmp(rest, "on-error") ? CG_EXPR_SEC_ON_ERROR : 0;
	} else if (!strcmp(name, "base")) {
		hc->has_env = true;
		sscanf(rest, "%u %u", &hc->env.base_line, &hc->env.base_col);
	} else {
		return -1;
	}
	return 0;
}

/* Finishes the context after all directives. */
static int h_finish(struct h_case *hc, struct cg_arena *a)
{
	hc->req.certificate = hc->has_cert ? &hc->cert : NULL;
	if (hc->ndcerts) {
		const struct cg_expr_cert **ptrs = cg_arena_alloc(a, sizeof(*ptrs) * hc->ndcerts);
		if (!ptrs)
			return -1;
		for (uint32_t k = 0; k < hc->ndcerts; k++)
			ptrs[k] = &hc->dcerts[k];
		if (cg_expr_cert_table_build(a, ptrs, hc->ndcerts, &hc->table) < 0)
			return -1;
		hc->dep.certificates = &hc->table;
	}
	return 0;
}

static const char *h_kind_type(const struct cg_expr_value *v, char *buf, size_t len)
{
	static const char *const names[] = {
		[CG_EXPR_V_BOOL] = "System.Boolean", [CG_EXPR_V_CHAR] = "System.Char",
		[CG_EXPR_V_INT] = "System.Int32", [CG_EXPR_V_LONG] = "System.Int64",
		[CG_EXPR_V_DOUBLE] = "System.Double", [CG_EXPR_V_STRING] = "System.String",
		[CG_EXPR_V_DATETIME] = "System.DateTime", [CG_EXPR_V_TIMESPAN] = "System.TimeSpan",
		[CG_EXPR_V_GUID] = "System.Guid", [CG_EXPR_V_DECIMAL] = "System.Decimal",
	};
	if (v->kind == CG_EXPR_V_ARRAY)
		return cg_expr_type_name((struct cg_expr_type){ CG_EXPR_T_ARRAY, v->cls }, buf, len);
	if (v->kind == CG_EXPR_V_BYTES)
		return "System.Byte[]";
	if (v->kind == CG_EXPR_V_OBJ)
		return cg_expr_type_name((struct cg_expr_type){ v->cls, 0 }, buf, len);
	return names[v->kind];
}

static void h_quote(char **o, const char *end, struct cg_str s)
{
	char *p = *o;
	if (p < end)
		*p++ = '"';
	for (size_t i = 0; i < s.len && p + 8 < end; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c == '\r') {
			*p++ = '\\';
			*p++ = 'r';
		} else if (c < 32) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	if (p < end)
		*p++ = '"';
	*o = p;
}

/* "System.Int32 3", "System.String \"x\"", "null", "System.String[] [\"a\", \"b\"]" */
__attribute__((unused)) static void h_render(struct cg_arena *a, const struct cg_expr_value *v, char *buf, size_t len)
{
	char tb[200];
	char *o = buf, *end = buf + len - 1;
	if (v->kind == CG_EXPR_V_NULL) {
		snprintf(buf, len, "null");
		return;
	}
	o += snprintf(o, (size_t)(end - o), "%s ", h_kind_type(v, tb, sizeof(tb)));
	if (v->kind == CG_EXPR_V_STRING) {
		h_quote(&o, end, v->u.s);
	} else if (v->kind == CG_EXPR_V_ARRAY) {
		*o++ = '[';
		for (uint32_t k = 0; k < v->u.arr->n && o + 16 < end; k++) {
			if (k) {
				*o++ = ',';
				*o++ = ' ';
			}
			const struct cg_expr_value *it = &v->u.arr->items[k];
			if (it->kind == CG_EXPR_V_STRING) {
				h_quote(&o, end, it->u.s);
			} else {
				struct cg_str s = cg_expr_value_to_string(a, it);
				o += snprintf(o, (size_t)(end - o), "%s%.*s", it->kind == CG_EXPR_V_NULL ? "null" : "",
					      CG_STR_FMT(s));
			}
		}
		if (o < end)
			*o++ = ']';
	} else if (v->kind == CG_EXPR_V_BYTES) {
		*o++ = '[';
		for (size_t k = 0; k < v->u.s.len && o + 8 < end; k++)
			o += snprintf(o, (size_t)(end - o), "%s%u", k ? ", " : "", (unsigned char)v->u.s.ptr[k]);
		if (o < end)
			*o++ = ']';
	} else if (v->kind == CG_EXPR_V_DATETIME) {
		/* round-trip form shows the Kind */
		char db[64];
		int n = cg_expr_format_scalar(v, CG_STR("o"), db, sizeof(db));
		o += snprintf(o, (size_t)(end - o), "%.*s", n > 0 ? n : 0, db);
	} else if (v->kind == CG_EXPR_V_OBJ) {
		o--; /* objects render as their type only */
	} else {
		struct cg_str s = cg_expr_value_to_string(a, v);
		o += snprintf(o, (size_t)(end - o), "%.*s", CG_STR_FMT(s));
		if (v->kind == CG_EXPR_V_CHAR) {
			/* show chars quoted so a space is visible */
			o -= s.len;
			o += snprintf(o, (size_t)(end - o), "'%.*s'", CG_STR_FMT(s));
		}
	}
	*o = '\0';
}

#endif

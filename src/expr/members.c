/* The member tables: every .NET member an expression may use, with its
 * owner, name, parameter and result types and the C function behind it.
 * Overloads of one name are found wherever they are (check.c scans the table).
 * Anything not listed here is refused at load time. */
#include "expr/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/buf.h"
#include "expr/ctx.h"

#define FN(name)                                                                                  \
	static int name(struct cg_expr_run *r, const struct cg_expr_value *self,                  \
			const struct cg_expr_value *args, unsigned nargs, struct cg_expr_value *out)

/* An enum value (held as an int). */
#define ENUMV(fn, v) FN(fn) { ret_int(out, v); return 0; }

int cg_expr_unbox(struct cg_expr_run *r, struct cg_expr_value *v, struct cg_expr_type t);
struct cg_expr_array *cg_expr_new_array(struct cg_expr_run *r, uint32_t n, uint8_t elem);

static int ret_str(struct cg_expr_value *out, struct cg_str s)
{
	memset(out, 0, sizeof(*out));
	if (s.ptr) {
		out->kind = CG_EXPR_V_STRING;
		out->u.s = s;
	}
	return 0;
}

static int ret_int(struct cg_expr_value *out, int32_t i)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_INT;
	out->u.i = i;
	return 0;
}

static int ret_long(struct cg_expr_value *out, int64_t l)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_LONG;
	out->u.l = l;
	return 0;
}

static int ret_double(struct cg_expr_value *out, double d)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_DOUBLE;
	out->u.d = d;
	return 0;
}

static int ret_bool(struct cg_expr_value *out, bool b)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BOOL;
	out->u.b = b;
	return 0;
}

static int ret_obj(struct cg_expr_value *out, uint8_t cls, const void *p)
{
	memset(out, 0, sizeof(*out));
	if (p) {
		out->kind = CG_EXPR_V_OBJ;
		out->cls = cls;
		out->u.obj = p;
	}
	return 0;
}

static int ret_dt(struct cg_expr_value *out, int64_t ticks, uint8_t kind)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_DATETIME;
	out->dtkind = kind;
	out->u.ticks = ticks;
	return 0;
}

static int ret_ts(struct cg_expr_value *out, int64_t ticks)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_TIMESPAN;
	out->u.ticks = ticks;
	return 0;
}

static int arg_null(struct cg_expr_run *r, const char *param)
{
	return cg_expr_throw(r, "ArgumentNullException", "Value cannot be null. (Parameter '%s')", param);
}

/* ---- context tree ---- */

#define CTX(self) ((const struct cg_expr_context *)(self)->u.obj)

FN(ctx_api) { return ret_obj(out, CG_EXPR_T_API, CTX(self)->api); }
FN(ctx_deployment) { return ret_obj(out, CG_EXPR_T_DEPLOYMENT, CTX(self)->deployment); }
FN(ctx_lasterror) { return ret_obj(out, CG_EXPR_T_LASTERROR, CTX(self)->last_error); }
FN(ctx_operation) { return ret_obj(out, CG_EXPR_T_OPERATION, CTX(self)->operation); }
FN(ctx_request) { return ret_obj(out, CG_EXPR_T_REQUEST, CTX(self)->request); }
FN(ctx_response) { return ret_obj(out, CG_EXPR_T_RESPONSE, CTX(self)->response); }
FN(ctx_tracing) { return ret_bool(out, CTX(self)->tracing); }
FN(ctx_timestamp) { return ret_dt(out, CTX(self)->timestamp, CG_EXPR_DT_UTC); }
FN(ctx_elapsed) { return ret_ts(out, cg_expr_now_utc(r) - CTX(self)->timestamp); }
FN(ctx_requestid)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_GUID;
	memcpy(out->u.guid, CTX(self)->request_id, 16);
	return 0;
}
FN(ctx_variables)
{
	/* an absent map reads as an empty dictionary, never null */
	static const struct cg_expr_vars empty;
	const struct cg_expr_vars *v = CTX(self)->variables;
	return ret_obj(out, CG_EXPR_T_VARIABLES, v ? v : &empty);
}
FN(ctx_trace)
{
	memset(out, 0, sizeof(*out));
	if (r->ctx->trace && args[0].kind == CG_EXPR_V_STRING)
		r->ctx->trace(r->ctx->trace_user, args[0].u.s);
	return 0;
}

#define VIEW_STR(fn, type, field) \
	FN(fn) { return ret_str(out, ((const type *)self->u.obj)->field); }

VIEW_STR(api_id, struct cg_expr_api_view, id)
VIEW_STR(api_name, struct cg_expr_api_view, name)
VIEW_STR(api_path, struct cg_expr_api_view, path)
VIEW_STR(api_revision, struct cg_expr_api_view, revision)
VIEW_STR(api_version, struct cg_expr_api_view, version)
FN(api_current) { return ret_bool(out, ((const struct cg_expr_api_view *)self->u.obj)->is_current_revision); }
FN(api_protocols)
{
	/* APIM's order: "http" before "https" */
	const struct cg_expr_api_view *v = self->u.obj;
	struct cg_expr_array *a = cg_expr_new_array(r, (uint32_t)v->http + v->https, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	if (v->http)
		ret_str(&a->items[0], CG_STR("http"));
	if (v->https)
		ret_str(&a->items[v->http ? 1 : 0], CG_STR("https"));
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_STRING;
	out->u.arr = a;
	return 0;
}
FN(api_serviceurl) { return ret_obj(out, CG_EXPR_T_URL, &((const struct cg_expr_api_view *)self->u.obj)->service_url); }

VIEW_STR(op_id, struct cg_expr_operation_view, id)
VIEW_STR(op_name, struct cg_expr_operation_view, name)
VIEW_STR(op_method, struct cg_expr_operation_view, method)
VIEW_STR(op_template, struct cg_expr_operation_view, url_template)

VIEW_STR(dep_gateway, struct cg_expr_deployment_view, gateway_id)
VIEW_STR(dep_region, struct cg_expr_deployment_view, region)
VIEW_STR(dep_serviceid, struct cg_expr_deployment_view, service_id)
VIEW_STR(dep_servicename, struct cg_expr_deployment_view, service_name)
FN(dep_gateway_obj) { return ret_obj(out, CG_EXPR_T_GATEWAY, self->u.obj); }
VIEW_STR(gw_id, struct cg_expr_deployment_view, gateway_id)
FN(gw_instance)
{
	const struct cg_expr_deployment_view *d = self->u.obj;
	return ret_str(out, d->gateway_instance_id.len ? d->gateway_instance_id : d->gateway_id);
}
FN(gw_managed) { return ret_bool(out, ((const struct cg_expr_deployment_view *)self->u.obj)->gateway_is_managed); }
FN(dep_certs)
{
	static const struct cg_expr_cert_table empty;
	const struct cg_expr_cert_table *t = ((const struct cg_expr_deployment_view *)self->u.obj)->certificates;
	return ret_obj(out, CG_EXPR_T_CERTDICT, t ? t : &empty);
}

VIEW_STR(le_source, struct cg_expr_lasterror_view, source)
VIEW_STR(le_reason, struct cg_expr_lasterror_view, reason)
VIEW_STR(le_message, struct cg_expr_lasterror_view, message)
VIEW_STR(le_scope, struct cg_expr_lasterror_view, scope)
VIEW_STR(le_section, struct cg_expr_lasterror_view, section)
VIEW_STR(le_path, struct cg_expr_lasterror_view, path)
VIEW_STR(le_policyid, struct cg_expr_lasterror_view, policy_id)

#define REQ(self) ((const struct cg_expr_request_view *)(self)->u.obj)
VIEW_STR(req_method, struct cg_expr_request_view, method)
VIEW_STR(req_ip, struct cg_expr_request_view, ip_address)
FN(req_url) { return ret_obj(out, CG_EXPR_T_URL, &REQ(self)->url); }
FN(req_origurl) { return ret_obj(out, CG_EXPR_T_URL, &REQ(self)->original_url); }
FN(req_headers) { return ret_obj(out, CG_EXPR_T_HEADERS, &REQ(self)->headers); }
FN(req_params) { return ret_obj(out, CG_EXPR_T_STRDICT, &REQ(self)->matched_parameters); }
FN(req_cert) { return ret_obj(out, CG_EXPR_T_CERT, REQ(self)->certificate); }
FN(req_body) { return ret_obj(out, CG_EXPR_T_BODY, REQ(self)->body); }
FN(resp_body) { return ret_obj(out, CG_EXPR_T_BODY, ((const struct cg_expr_response_view *)self->u.obj)->body); }

FN(resp_status) { return ret_int(out, ((const struct cg_expr_response_view *)self->u.obj)->status_code); }
VIEW_STR(resp_reason, struct cg_expr_response_view, status_reason)
FN(resp_headers) { return ret_obj(out, CG_EXPR_T_HEADERS, &((const struct cg_expr_response_view *)self->u.obj)->headers); }

VIEW_STR(url_scheme, struct cg_expr_url, scheme)
VIEW_STR(url_host, struct cg_expr_url, host)
VIEW_STR(url_path, struct cg_expr_url, path)
VIEW_STR(url_qs, struct cg_expr_url, query_string)
FN(url_port) { return ret_int(out, ((const struct cg_expr_url *)self->u.obj)->port); }

/* IUrl.ToString(): scheme://host[:port]/path[?query], the port omitted when
 * it is the scheme's default. */
FN(url_tostring)
{
	const struct cg_expr_url *u = self->u.obj;
	bool dflt = u->port < 0 || (u->port == 443 && cg_str_ieq_lit(u->scheme, "https")) ||
		    (u->port == 80 && cg_str_ieq_lit(u->scheme, "http"));
	size_t n = u->scheme.len + 3 + u->host.len + 12 + u->path.len + 1 + u->query_string.len + 1;
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	struct cg_str q = u->query_string;
	if (q.len && q.ptr[0] == '?')
		q = cg_str_sub(q, 1, q.len - 1);
	int w = snprintf(p, n, "%.*s://%.*s%s%.0d%s%.*s%s%.*s", CG_STR_FMT(u->scheme), CG_STR_FMT(u->host), dflt ? "" : ":",
			 dflt ? 0 : (int)u->port, dflt ? "" : "", (int)u->path.len, u->path.ptr, q.len ? "?" : "",
			 CG_STR_FMT(q));
	return ret_str(out, cg_str_make(p, w > 0 && (size_t)w < n ? (size_t)w : 0));
}

static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
}

/* Percent- and '+'-decodes s into the arena (a copy only when needed). */
static struct cg_str url_decode(struct cg_expr_run *r, struct cg_str s, bool *oom)
{
	if (!memchr(s.ptr ? s.ptr : "", '%', s.len) && !memchr(s.ptr ? s.ptr : "", '+', s.len))
		return s;
	char *p = cg_arena_alloc(r->ctx->arena, s.len ? s.len : 1);
	if (!p) {
		*oom = true;
		return s;
	}
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] == '+') {
			p[o++] = ' ';
		} else if (s.ptr[i] == '%' && i + 2 < s.len && hexv(s.ptr[i + 1]) >= 0 && hexv(s.ptr[i + 2]) >= 0) {
			p[o++] = (char)(hexv(s.ptr[i + 1]) * 16 + hexv(s.ptr[i + 2]));
			i += 2;
		} else {
			p[o++] = s.ptr[i];
		}
	}
	return cg_str_make(p, o);
}

/* IUrl.Query: the query string as a dictionary of name -> values, built in
 * the request arena on use (names decoded, matched case-insensitively). */
FN(url_query)
{
	struct cg_str q = ((const struct cg_expr_url *)self->u.obj)->query_string;
	if (q.len && q.ptr[0] == '?')
		q = cg_str_sub(q, 1, q.len - 1);
	size_t n = 0;
	for (size_t i = 0; i < q.len; i++)
		n += q.ptr[i] == '&';
	n++;
	struct cg_expr_headers *h = cg_arena_alloc(r->ctx->arena, sizeof(*h));
	struct cg_expr_header *items = cg_arena_alloc(r->ctx->arena, sizeof(*items) * n);
	if (!h || !items)
		return cg_expr_nomem(r);
	size_t k = 0;
	bool oom = false;
	for (size_t i = 0, start = 0; i <= q.len; i++) {
		if (i < q.len && q.ptr[i] != '&')
			continue;
		struct cg_str part = cg_str_make(q.ptr + start, i - start);
		start = i + 1;
		if (!part.len)
			continue;
		long eq = cg_str_find_char(part, '=');
		struct cg_str name = eq < 0 ? part : cg_str_make(part.ptr, (size_t)eq);
		struct cg_str val = eq < 0 ? CG_STR("") : cg_str_sub(part, (size_t)eq + 1, part.len);
		items[k].name = url_decode(r, name, &oom);
		items[k].value = url_decode(r, val, &oom);
		k++;
	}
	if (oom)
		return cg_expr_nomem(r);
	h->items = items;
	h->n = k;
	return ret_obj(out, CG_EXPR_T_HEADERS, h);
}

/* ---- X509Certificate2 ---- */

/* CERT: what every certificate has (thumbprint, raw_data, verify);
 * FULL: the other members, decoded on first use for a client's. */
#define CERT(self) ((const struct cg_expr_cert *)(self)->u.obj)
const struct cg_expr_cert *cg_expr_cert_decoded(struct cg_expr_run *r, const struct cg_expr_cert *c)
{
	const struct cg_expr_cert *f = cg_expr_cert_full(c);
	if (!f)
		cg_expr_throw(r, "Security.Cryptography.CryptographicException", "ASN1 corrupted data.");
	return f;
}
/* FULL(c): the decoded certificate into c, or return the exception: a
 * client certificate the handshake took but that cannot be decoded (.NET
 * would not have built an X509Certificate2 from it) never reads as empty
 * fields, which a deny-list policy would let through. */
#define FULL(c)                                               \
	const struct cg_expr_cert *c = cg_expr_cert_decoded(r, CERT(self)); \
	if (!c)                                                   \
	return -1
VIEW_STR(cert_thumb, struct cg_expr_cert, thumbprint)
FN(cert_subject) { FULL(c); return ret_str(out, c->subject); }
FN(cert_issuer) { FULL(c); return ret_str(out, c->issuer); }
FN(cert_serial) { FULL(c); return ret_str(out, c->serial_number); }
FN(cert_friendly) { FULL(c); return ret_str(out, c->friendly_name); }
FN(cert_notbefore) { FULL(c); return ret_dt(out, c->not_before, CG_EXPR_DT_LOCAL); }
FN(cert_notafter) { FULL(c); return ret_dt(out, c->not_after, CG_EXPR_DT_LOCAL); }
FN(cert_version) { FULL(c); return ret_int(out, c->version); }
FN(cert_hasprivkey) { FULL(c); return ret_bool(out, c->has_private_key); }
FN(cert_subjectname)
{
	ret_obj(out, CG_EXPR_T_X500, CERT(self));
	out->aux = 0;
	return 0;
}
FN(cert_issuername)
{
	ret_obj(out, CG_EXPR_T_X500, CERT(self));
	out->aux = 1;
	return 0;
}
FN(cert_verify)
{
	const struct cg_expr_cert *c = CERT(self);
	return ret_bool(out, c->verify && c->verify(c, c->verify_user));
}
FN(cert_verify_norev)
{
	const struct cg_expr_cert *c = CERT(self);
	return ret_bool(out, c->verify_no_revocation && c->verify_no_revocation(c, c->verify_user));
}
/* GetNameInfo(X509NameType, forIssuer): the gateway formats the names. */
FN(cert_getnameinfo)
{
	FULL(c);
	bool issuer = args[1].u.b;
	struct cg_str s = CG_STR("");
	switch (args[0].u.i) {
	case 0: s = issuer ? c->issuer_simple_name : c->simple_name; break; /* SimpleName */
	case 1: s = issuer ? CG_STR("") : c->email_name; break;             /* EmailName */
	case 3: case 4: s = issuer ? CG_STR("") : c->dns_name; break;      /* DnsName, DnsFromAlternativeName */
	default: break;                                                    /* UpnName, UrlName: not formatted yet */
	}
	return ret_str(out, s.ptr ? s : CG_STR(""));
}

FN(cert_rawdata)
{
	/* a copy: byte[] is mutable and the DER is shared by requests */
	struct cg_str d = CERT(self)->raw_data;
	char *p = cg_expr_strbuf(r, d.len);
	if (!p)
		return -1;
	if (d.len)
		memcpy(p, d.ptr, d.len);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BYTES;
	out->cls = CG_EXPR_T_BYTE;
	out->u.s = cg_str_make(p, d.len);
	return 0;
}

/* GetCertHash(): the SHA-1 bytes behind the hex Thumbprint. */
FN(cert_gethash)
{
	struct cg_str t = CERT(self)->thumbprint;
	char *p = cg_expr_strbuf(r, t.len / 2);
	if (!p)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i + 1 < t.len; i += 2) {
		int hi = hexv(t.ptr[i]), lo = hexv(t.ptr[i + 1]);
		if (hi < 0 || lo < 0)
			break;
		p[n++] = (char)(hi * 16 + lo);
	}
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BYTES;
	out->cls = CG_EXPR_T_BYTE;
	out->u.s = cg_str_make(p, n);
	return 0;
}

/* X509Certificate.ToString(): the non-verbose .NET layout; dates in the
 * invariant culture's "G" form (see docs). */
FN(cert_tostring)
{
	FULL(c);
	char nb[64], na[64];
	struct cg_expr_value d = { .kind = CG_EXPR_V_DATETIME };
	d.u.ticks = c->not_before;
	int nbl = cg_expr_format_scalar(&d, CG_STR_NULL, nb, sizeof(nb));
	d.u.ticks = c->not_after;
	int nal = cg_expr_format_scalar(&d, CG_STR_NULL, na, sizeof(na));
	size_t len = c->subject.len + c->issuer.len + c->serial_number.len + c->thumbprint.len + 160;
	char *p = cg_expr_strbuf(r, len);
	if (!p)
		return -1;
	int n = snprintf(p, len,
			 "[Subject]\n  %.*s\n\n[Issuer]\n  %.*s\n\n[Serial Number]\n  %.*s\n\n[Not Before]\n  %.*s\n\n[Not After]\n  %.*s\n\n[Thumbprint]\n  %.*s\n",
			 CG_STR_FMT(c->subject), CG_STR_FMT(c->issuer), CG_STR_FMT(c->serial_number), nbl > 0 ? nbl : 0, nb,
			 nal > 0 ? nal : 0, na, CG_STR_FMT(c->thumbprint));
	return ret_str(out, cg_str_make(p, n > 0 && (size_t)n < len ? (size_t)n : 0));
}

FN(x500_name)
{
	FULL(c);
	return ret_str(out, self->aux ? c->issuer : c->subject);
}

/* ---- dictionaries ---- */

#define CT(self) ((const struct cg_expr_cert_table *)(self)->u.obj)
FN(certs_count) { return ret_int(out, (int32_t)CT(self)->n); }
FN(certs_containskey)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	return ret_bool(out, cg_expr_cert_table_get(CT(self), args[0].u.s) != NULL);
}
static int key_not_found(struct cg_expr_run *r, struct cg_str key)
{
	return cg_expr_throw(r, "Collections.Generic.KeyNotFoundException",
			     "The given key '%.*s' was not present in the dictionary.",
			     (int)(key.len > 100 ? 100 : key.len), key.ptr);
}
FN(certs_index)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_cert *c = cg_expr_cert_table_get(CT(self), args[0].u.s);
	if (!c)
		return key_not_found(r, args[0].u.s);
	return ret_obj(out, CG_EXPR_T_CERT, c);
}
FN(certs_trygetvalue)
{
	const struct cg_expr_cert *c = args[0].kind == CG_EXPR_V_STRING ? cg_expr_cert_table_get(CT(self), args[0].u.s) : NULL;
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	ret_obj(&r->out_args[1], CG_EXPR_T_CERT, c);
	return ret_bool(out, c != NULL);
}
FN(certkv_key) { return ret_str(out, CERT(self)->thumbprint); }
FN(certkv_value) { return ret_obj(out, CG_EXPR_T_CERT, CERT(self)); }

#define HDRS(self) ((const struct cg_expr_headers *)(self)->u.obj)
FN(hdrs_count)
{
	const struct cg_expr_headers *h = HDRS(self);
	int32_t n = 0;
	for (size_t i = 0; i < h->n; i++) {
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = cg_str_ieq(h->items[k].name, h->items[i].name);
		n += !dup;
	}
	return ret_int(out, n);
}
FN(hdrs_containskey)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_headers *h = HDRS(self);
	for (size_t i = 0; i < h->n; i++)
		if (cg_str_ieq(h->items[i].name, args[0].u.s))
			return ret_bool(out, true);
	return ret_bool(out, false);
}
/* All values of one header name as a string[] in the request arena. */
static int hdr_values(struct cg_expr_run *r, const struct cg_expr_headers *h, struct cg_str name,
		      struct cg_expr_value *out)
{
	uint32_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		n += cg_str_ieq(h->items[i].name, name);
	if (!n)
		return key_not_found(r, name);
	struct cg_expr_array *a = cg_expr_new_array(r, n, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	n = 0;
	for (size_t i = 0; i < h->n; i++)
		if (cg_str_ieq(h->items[i].name, name))
			ret_str(&a->items[n++], h->items[i].value);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_STRING;
	out->u.arr = a;
	return 0;
}
FN(hdrs_index)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	return hdr_values(r, HDRS(self), args[0].u.s, out);
}
/* APIM's GetValueOrDefault joins the values with ',' (no space). The
 * common single-value case returns the slice itself: no allocation. */
FN(hdrs_get)
{
	const struct cg_expr_headers *h = HDRS(self);
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	struct cg_str name = args[0].u.s;
	size_t n = 0, total = 0, first = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (cg_str_ieq(h->items[i].name, name)) {
			if (!n)
				first = i;
			n++;
			total += h->items[i].value.len + 1;
		}
	}
	if (!n) {
		if (nargs > 1)
			*out = args[1];
		else
			memset(out, 0, sizeof(*out));
		return 0;
	}
	if (n == 1)
		return ret_str(out, h->items[first].value);
	char *p = cg_expr_strbuf(r, total - 1);
	if (!p)
		return -1;
	size_t off = 0;
	for (size_t i = 0; i < h->n; i++) {
		if (!cg_str_ieq(h->items[i].name, name))
			continue;
		if (off)
			p[off++] = ',';
		memcpy(p + off, h->items[i].value.ptr, h->items[i].value.len);
		off += h->items[i].value.len;
	}
	return ret_str(out, cg_str_make(p, off));
}
FN(hdrs_trygetvalue)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_headers *h = HDRS(self);
	for (size_t i = 0; i < h->n; i++)
		if (cg_str_ieq(h->items[i].name, args[0].u.s)) {
			if (hdr_values(r, h, args[0].u.s, &r->out_args[1]) < 0)
				return -1;
			return ret_bool(out, true);
		}
	memset(&r->out_args[1], 0, sizeof(r->out_args[1]));
	return ret_bool(out, false);
}
FN(hdrkv_key) { return ret_str(out, ((const struct cg_expr_header *)self->u.obj)->name); }
FN(hdrkv_value)
{
	/* KeyValuePair<string,string[]>.Value: all lines of this name */
	const struct cg_expr_header *hd = self->u.ref.obj;
	if (self->u.ref.owner)
		return hdr_values(r, self->u.ref.owner, hd->name, out);
	struct cg_expr_array *a = cg_expr_new_array(r, 1, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	ret_str(&a->items[0], hd->value);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_STRING;
	out->u.arr = a;
	return 0;
}

#define SMAP(self) ((const struct cg_expr_strmap *)(self)->u.obj)
static const struct cg_expr_strpair *smap_find(const struct cg_expr_strmap *m, struct cg_str k)
{
	for (size_t i = 0; i < m->n; i++)
		if (cg_str_ieq(m->items[i].key, k))
			return &m->items[i];
	return NULL;
}
FN(smap_count) { return ret_int(out, (int32_t)SMAP(self)->n); }
FN(smap_containskey)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	return ret_bool(out, smap_find(SMAP(self), args[0].u.s) != NULL);
}
FN(smap_index)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_strpair *p = smap_find(SMAP(self), args[0].u.s);
	if (!p)
		return key_not_found(r, args[0].u.s);
	return ret_str(out, p->value);
}
FN(smap_get)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_strpair *p = smap_find(SMAP(self), args[0].u.s);
	if (p)
		return ret_str(out, p->value);
	if (nargs > 1)
		*out = args[1];
	else
		memset(out, 0, sizeof(*out));
	return 0;
}
FN(smap_trygetvalue)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_strpair *p = smap_find(SMAP(self), args[0].u.s);
	ret_str(&r->out_args[1], p ? p->value : CG_STR_NULL);
	return ret_bool(out, p != NULL);
}
FN(strkv_key) { return ret_str(out, ((const struct cg_expr_strpair *)self->u.obj)->key); }
FN(strkv_value) { return ret_str(out, ((const struct cg_expr_strpair *)self->u.obj)->value); }

#define VARS(self) ((const struct cg_expr_vars *)(self)->u.obj)
FN(vars_count) { return ret_int(out, (int32_t)VARS(self)->n); }
FN(vars_containskey)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	return ret_bool(out, cg_expr_vars_get(VARS(self), args[0].u.s) != NULL);
}
FN(vars_index)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_value *v = cg_expr_vars_get(VARS(self), args[0].u.s);
	if (!v)
		return key_not_found(r, args[0].u.s);
	*out = *v;
	return 0;
}
/* GetValueOrDefault<T>(name[, default]): APIM's doc says a stored value of
 * another type throws; we follow the doc (InvalidCastException). */
FN(vars_get_t)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_value *v = cg_expr_vars_get(VARS(self), args[0].u.s);
	struct cg_expr_type t = r->node->type;
	if (!v) {
		if (nargs > 1) {
			*out = args[1];
			return cg_expr_unbox(r, out, t);
		}
		memset(out, 0, sizeof(*out));
		switch (t.id) {
		case CG_EXPR_T_INT: out->kind = CG_EXPR_V_INT; break;
		case CG_EXPR_T_LONG: out->kind = CG_EXPR_V_LONG; break;
		case CG_EXPR_T_DOUBLE: out->kind = CG_EXPR_V_DOUBLE; break;
		case CG_EXPR_T_DECIMAL: out->kind = CG_EXPR_V_DECIMAL; break;
		case CG_EXPR_T_BOOL: out->kind = CG_EXPR_V_BOOL; break;
		case CG_EXPR_T_CHAR: out->kind = CG_EXPR_V_CHAR; break;
		case CG_EXPR_T_DATETIME: out->kind = CG_EXPR_V_DATETIME; break;
		case CG_EXPR_T_TIMESPAN: out->kind = CG_EXPR_V_TIMESPAN; break;
		case CG_EXPR_T_GUID: out->kind = CG_EXPR_V_GUID; break;
		default: break;
		}
		return 0;
	}
	*out = *v;
	return cg_expr_unbox(r, out, t);
}
FN(vars_get)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_value *v = cg_expr_vars_get(VARS(self), args[0].u.s);
	if (v)
		*out = *v;
	else if (nargs > 1)
		*out = args[1];
	else
		memset(out, 0, sizeof(*out));
	return 0;
}
FN(vars_trygetvalue)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "key");
	const struct cg_expr_value *v = cg_expr_vars_get(VARS(self), args[0].u.s);
	if (v)
		r->out_args[1] = *v;
	else
		memset(&r->out_args[1], 0, sizeof(r->out_args[1]));
	return ret_bool(out, v != NULL);
}
FN(varkv_key) { return ret_str(out, ((const struct cg_expr_var *)self->u.obj)->name); }
FN(varkv_value)
{
	*out = ((const struct cg_expr_var *)self->u.obj)->value;
	return 0;
}

/* arr[i] = v: arrays built at run time live in the request arena and are
 * mutable there; byte[] stores the low 8 bits. */
FN(array_set)
{
	uint32_t n = self->kind == CG_EXPR_V_BYTES ? (uint32_t)self->u.s.len : self->u.arr->n;
	if (args[0].u.i < 0 || (uint32_t)args[0].u.i >= n)
		return cg_expr_throw(r, "IndexOutOfRangeException", "Index was outside the bounds of the array.");
	if (self->kind == CG_EXPR_V_BYTES)
		((char *)(uintptr_t)self->u.s.ptr)[args[0].u.i] = (char)(uint8_t)args[1].u.i;
	else
		((struct cg_expr_array *)(uintptr_t)self->u.arr)->items[args[0].u.i] = args[1];
	memset(out, 0, sizeof(*out));
	return 0;
}

FN(array_length)
{
	return ret_int(out, (int32_t)(self->kind == CG_EXPR_V_BYTES ? self->u.s.len : self->u.arr->n));
}

/* ---- System.String ----
 * Strings are UTF-8; .NET indexes UTF-16 code units. The helpers below map
 * between the two so Length/IndexOf/Substring agree with .NET for any text. */

static size_t u16_len(struct cg_str s)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c & 0xc0) != 0x80)
			n += c >= 0xf0 ? 2 : 1;
	}
	return n;
}

/* Byte offset of UTF-16 index idx, or -1 when idx > length. */
static long u16_off(struct cg_str s, size_t idx)
{
	size_t n = 0, i = 0;
	while (i < s.len && n < idx) {
		unsigned char c = (unsigned char)s.ptr[i];
		n += c >= 0xf0 ? 2 : 1;
		i++;
		while (i < s.len && ((unsigned char)s.ptr[i] & 0xc0) == 0x80)
			i++;
	}
	return n == idx ? (long)i : (n > idx ? (long)i : -1);
}

static int32_t u16_idx(struct cg_str s, size_t off)
{
	return (int32_t)u16_len(cg_str_make(s.ptr, off));
}

#define SELF_S (self->u.s)

static bool cmp_ic(int32_t mode)
{
	/* StringComparison: odd values ignore case (CurrentCultureIgnoreCase=1,
	 * InvariantCultureIgnoreCase=3, OrdinalIgnoreCase=5) */
	return mode & 1;
}

static bool str_eq_mode(struct cg_str a, struct cg_str b, int32_t mode)
{
	return cmp_ic(mode) ? cg_str_ieq(a, b) : cg_str_eq(a, b);
}

static long str_find(struct cg_str h, struct cg_str n, size_t from, bool ic)
{
	if (n.len == 0)
		return (long)from;
	for (size_t i = from; i + n.len <= h.len; i++)
		if (ic ? cg_str_ieq(cg_str_make(h.ptr + i, n.len), n) : memcmp(h.ptr + i, n.ptr, n.len) == 0)
			return (long)i;
	return -1;
}

static int char_utf8(uint16_t c, char *b)
{
	struct cg_expr_value v = { .kind = CG_EXPR_V_CHAR };
	v.u.c = c;
	return cg_expr_format_scalar(&v, CG_STR_NULL, b, 8);
}

/* Argument i as a string: chars are converted so that one function serves
 * the (string) and (char) overloads. */
static struct cg_str arg_s(const struct cg_expr_value *a, char *buf)
{
	if (a->kind == CG_EXPR_V_CHAR) {
		int n = char_utf8(a->u.c, buf);
		return cg_str_make(buf, n > 0 ? (size_t)n : 0);
	}
	return a->u.s;
}

FN(str_length) { return ret_int(out, (int32_t)u16_len(SELF_S)); }
FN(str_contains)
{
	char b[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	bool ic = nargs > 1 && cmp_ic(args[1].u.i);
	return ret_bool(out, str_find(SELF_S, arg_s(&args[0], b), 0, ic) >= 0);
}
FN(str_startswith)
{
	char b[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	struct cg_str p = arg_s(&args[0], b);
	if (p.len > SELF_S.len)
		return ret_bool(out, false);
	return ret_bool(out, str_eq_mode(cg_str_make(SELF_S.ptr, p.len), p, nargs > 1 ? args[1].u.i : 4));
}
FN(str_endswith)
{
	char b[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	struct cg_str p = arg_s(&args[0], b);
	if (p.len > SELF_S.len)
		return ret_bool(out, false);
	return ret_bool(out, str_eq_mode(cg_str_make(SELF_S.ptr + SELF_S.len - p.len, p.len), p,
					 nargs > 1 ? args[1].u.i : 4));
}
FN(str_equals)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_bool(out, false);
	return ret_bool(out, str_eq_mode(SELF_S, args[0].u.s, nargs > 1 ? args[1].u.i : 4));
}
FN(str_s_equals)
{
	if (args[0].kind == CG_EXPR_V_NULL || args[1].kind == CG_EXPR_V_NULL)
		return ret_bool(out, args[0].kind == args[1].kind);
	return ret_bool(out, str_eq_mode(args[0].u.s, args[1].u.s, nargs > 2 ? args[2].u.i : 4));
}
static int ordinal_cmp(struct cg_str a, struct cg_str b, bool ic)
{
	size_t n = a.len < b.len ? a.len : b.len;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
		if (ic) {
			x = cg_ascii_lower(x);
			y = cg_ascii_lower(y);
		}
		if (x != y)
			return x < y ? -1 : 1;
	}
	return a.len == b.len ? 0 : a.len < b.len ? -1 : 1;
}
FN(str_s_compare)
{
	if (args[0].kind == CG_EXPR_V_NULL || args[1].kind == CG_EXPR_V_NULL)
		return ret_int(out, (args[0].kind != CG_EXPR_V_NULL) - (args[1].kind != CG_EXPR_V_NULL));
	bool ic = false, ordinal = false;
	if (nargs > 2) {
		ic = args[2].kind == CG_EXPR_V_BOOL ? args[2].u.b : cmp_ic(args[2].u.i);
		/* StringComparison.Ordinal (4) / OrdinalIgnoreCase (5) */
		ordinal = args[2].kind == CG_EXPR_V_INT && args[2].u.i >= 4;
	}
	if (ordinal)
		return ret_int(out, ordinal_cmp(args[0].u.s, args[1].u.s, ic));
	return ret_int(out, cg_expr_culture_cmp(args[0].u.s, args[1].u.s, ic));
}
FN(str_compareto)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_int(out, 1);
	return ret_int(out, cg_expr_culture_cmp(SELF_S, args[0].u.s, false));
}
FN(str_indexof)
{
	char b[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	size_t from = 0;
	bool ic = false;
	bool has_start = nargs > 1 && r->node->member->params[1].id == CG_EXPR_T_INT;
	if (has_start) {
		long o = args[1].u.i < 0 ? -1 : u16_off(SELF_S, (size_t)args[1].u.i);
		if (o < 0)
			return cg_expr_throw(r, "ArgumentOutOfRangeException",
					     "Index was out of range. Must be non-negative and less than or equal to the size of the collection. (Parameter 'startIndex')");
		from = (size_t)o;
	} else if (nargs > 1) {
		ic = cmp_ic(args[1].u.i);
	}
	long at = str_find(SELF_S, arg_s(&args[0], b), from, ic);
	return ret_int(out, at < 0 ? -1 : u16_idx(SELF_S, (size_t)at));
}
FN(str_lastindexof)
{
	char b[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	struct cg_str n = arg_s(&args[0], b);
	long at = -1;
	for (long i = (long)SELF_S.len - (long)n.len; i >= 0; i--)
		if (memcmp(SELF_S.ptr + i, n.ptr, n.len) == 0) {
			at = i;
			break;
		}
	return ret_int(out, at < 0 ? -1 : u16_idx(SELF_S, (size_t)at));
}
FN(str_substring)
{
	int32_t start = args[0].u.i;
	size_t total = u16_len(SELF_S);
	if (start < 0 || (size_t)start > total)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "startIndex cannot be larger than length of string. (Parameter 'startIndex')");
	int32_t len = nargs > 1 ? args[1].u.i : (int32_t)(total - (size_t)start);
	if (len < 0 || (size_t)start + (size_t)len > total)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Index and length must refer to a location within the string. (Parameter 'length')");
	long a = u16_off(SELF_S, (size_t)start), b = u16_off(SELF_S, (size_t)start + (size_t)len);
	return ret_str(out, cg_str_make(SELF_S.ptr + a, (size_t)(b - a)));
}
/* Invariant case mapping for ASCII; other letters are kept (see docs). */
static int str_map(struct cg_expr_run *r, struct cg_str s, bool upper, struct cg_expr_value *out)
{
	size_t i;
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
			break;
	}
	if (i == s.len)
		return ret_str(out, s); /* unchanged: no copy */
	char *p = cg_expr_strbuf(r, s.len);
	if (!p)
		return -1;
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		p[i] = (char)(upper ? toupper(c) : cg_ascii_lower(c));
		if (c >= 0x80)
			p[i] = (char)c;
	}
	return ret_str(out, cg_str_make(p, s.len));
}
FN(str_toupper) { return str_map(r, SELF_S, true, out); }
FN(str_tolower) { return str_map(r, SELF_S, false, out); }
static bool is_ws(unsigned char c)
{
	return c == ' ' || (c >= 9 && c <= 13);
}
static bool in_set(unsigned char c, const struct cg_expr_value *args, unsigned nargs)
{
	if (!nargs)
		return is_ws(c);
	for (unsigned k = 0; k < nargs; k++) {
		if (args[k].kind == CG_EXPR_V_ARRAY) {
			for (uint32_t j = 0; j < args[k].u.arr->n; j++)
				if (args[k].u.arr->items[j].u.c == c)
					return true;
		} else if (args[k].u.c == c) {
			return true;
		}
	}
	return false;
}
static int trim_impl(struct cg_str s, const struct cg_expr_value *args, unsigned nargs, int ends,
		     struct cg_expr_value *out)
{
	if (ends & 1)
		while (s.len && in_set((unsigned char)s.ptr[0], args, nargs))
			s.ptr++, s.len--;
	if (ends & 2)
		while (s.len && in_set((unsigned char)s.ptr[s.len - 1], args, nargs))
			s.len--;
	return ret_str(out, s);
}
FN(str_trim) { return trim_impl(SELF_S, args, nargs, 3, out); }
FN(str_trimstart) { return trim_impl(SELF_S, args, nargs, 1, out); }
FN(str_trimend) { return trim_impl(SELF_S, args, nargs, 2, out); }
FN(str_isnullorempty) { return ret_bool(out, args[0].kind == CG_EXPR_V_NULL || args[0].u.s.len == 0); }
FN(str_isnullorwhitespace)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_bool(out, true);
	for (size_t i = 0; i < args[0].u.s.len; i++)
		if (!is_ws((unsigned char)args[0].u.s.ptr[i]))
			return ret_bool(out, false);
	return ret_bool(out, true);
}
FN(str_empty) { return ret_str(out, CG_STR("")); }
/* APIM's string.AsBasic(): "Basic base64(user:password)" -> credentials,
 * or null when the text is not that. */
struct basic_cred {
	struct cg_str user, password;
};
FN(str_asbasic)
{
	memset(out, 0, sizeof(*out));
	if (!self || self->kind != CG_EXPR_V_STRING)
		return 0;
	struct cg_str s = cg_str_trim_ows(self->u.s);
	if (s.len < 6 || !cg_str_ieq(cg_str_make(s.ptr, 6), CG_STR("Basic ")))
		return 0;
	struct cg_str b = cg_str_trim_ows(cg_str_sub(s, 6, s.len - 6));
	char *p = cg_expr_strbuf(r, b.len);
	if (!p)
		return -1;
	uint32_t acc = 0;
	size_t nsym = 0, o = 0, pad = 0;
	for (size_t i = 0; i < b.len; i++) {
		static const char a64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *q = b.ptr[i] == '=' ? NULL : memchr(a64, b.ptr[i], 64);
		if (b.ptr[i] == '=')
			pad++;
		else if (!q || pad)
			return 0;
		acc = (acc << 6) | (uint32_t)(q ? q - a64 : 0);
		if (++nsym % 4 == 0) {
			p[o++] = (char)(acc >> 16);
			p[o++] = (char)(acc >> 8);
			p[o++] = (char)acc;
			acc = 0;
		}
	}
	if (nsym % 4 || pad > 2)
		return 0;
	struct cg_str dec = cg_str_make(p, o - pad);
	long colon = cg_str_find_char(dec, ':');
	if (colon < 0)
		return 0;
	struct basic_cred *c = cg_arena_alloc(r->ctx->arena, sizeof(*c));
	if (!c)
		return cg_expr_nomem(r);
	c->user = cg_str_make(dec.ptr, (size_t)colon);
	c->password = cg_str_sub(dec, (size_t)colon + 1, dec.len);
	return ret_obj(out, CG_EXPR_T_BASICAUTH, c);
}
/* TryParseBasic(out c) / TryParseJwt(out j): As*() with a bool result. */
FN(str_tryparsebasic)
{
	if (str_asbasic(r, self, args, nargs, &r->out_args[0]) < 0)
		return -1;
	return ret_bool(out, r->out_args[0].kind != CG_EXPR_V_NULL);
}
FN(str_tryparsejwt)
{
	if (cg_expr_str_asjwt(r, self, args, nargs, &r->out_args[0]) < 0)
		return -1;
	return ret_bool(out, r->out_args[0].kind != CG_EXPR_V_NULL);
}
FN(basic_user) { return ret_str(out, ((const struct basic_cred *)self->u.obj)->user); }
FN(basic_password) { return ret_str(out, ((const struct basic_cred *)self->u.obj)->password); }

/* context.Subscription: the subscription of the request's key, or null. */
#define SUB(self) ((const struct cg_expr_subscription_view *)(self)->u.obj)
FN(ctx_subscription) { return ret_obj(out, CG_EXPR_T_SUBSCRIPTION, CTX(self)->subscription); }
FN(sub_id) { return ret_str(out, SUB(self)->id); }
FN(sub_key) { return ret_str(out, SUB(self)->key); }
FN(sub_name) { return ret_str(out, SUB(self)->name); }
FN(sub_primary) { return ret_str(out, SUB(self)->primary_key); }
FN(sub_secondary) { return ret_str(out, SUB(self)->secondary_key); }
FN(sub_created) { return ret_dt(out, SUB(self)->created, CG_EXPR_DT_UTC); }
FN(sub_start)
{
	if (!SUB(self)->has_start)
		return ret_obj(out, CG_EXPR_T_OBJECT, NULL);
	return ret_dt(out, SUB(self)->start, CG_EXPR_DT_UTC);
}
FN(sub_end)
{
	if (!SUB(self)->has_end)
		return ret_obj(out, CG_EXPR_T_OBJECT, NULL);
	return ret_dt(out, SUB(self)->end, CG_EXPR_DT_UTC);
}

/* context.Product: the product of a product subscription's key, or null.
 * State is ProductState's name as a string (no enum types here). */
#define PROD(self) ((const struct cg_expr_product_view *)(self)->u.obj)
FN(ctx_product) { return ret_obj(out, CG_EXPR_T_PRODUCT, CTX(self)->product); }
FN(prod_id) { return ret_str(out, PROD(self)->id); }
FN(prod_name) { return ret_str(out, PROD(self)->name); }
FN(prod_state)
{
	return ret_str(out, PROD(self)->published ? CG_STR("Published") : CG_STR("NotPublished"));
}
FN(prod_subreq) { return ret_bool(out, PROD(self)->subscription_required); }
FN(prod_approval) { return ret_bool(out, PROD(self)->approval_required); }
FN(prod_limit)
{
	if (PROD(self)->subscriptions_limit < 0)
		return ret_obj(out, CG_EXPR_T_OBJECT, NULL);
	return ret_int(out, (int32_t)PROD(self)->subscriptions_limit);
}

/* User: certgate has none, so it is null and its members are never
 * reached (NullReferenceException, or ?. null). */
FN(ctx_null) { return ret_obj(out, CG_EXPR_T_OBJECT, NULL); }
FN(never) { return ret_str(out, CG_STR("")); }

#define JTT(fn, name) FN(fn) { return ret_str(out, CG_STR(name)); }
JTT(jtt_array, "Array")
JTT(jtt_boolean, "Boolean")
JTT(jtt_float, "Float")
JTT(jtt_integer, "Integer")
JTT(jtt_null, "Null")
JTT(jtt_object, "Object")
JTT(jtt_string, "String")

static const char *const dow_names[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" };
#define DOW(fn, k) FN(fn) { return ret_str(out, cg_str_from_c(dow_names[k])); }
DOW(dow_sun, 0)
DOW(dow_mon, 1)
DOW(dow_tue, 2)
DOW(dow_wed, 3)
DOW(dow_thu, 4)
DOW(dow_fri, 5)
DOW(dow_sat, 6)

FN(str_tostring)
{
	*out = *self;
	return 0;
}
/* Split by separators (chars or one string). Empty entries are kept, as
 * .NET's default StringSplitOptions.None does. */
FN(str_split)
{
	struct cg_str s = SELF_S;
	char b[8];
	struct cg_str sep = CG_STR_NULL;
	bool by_string = nargs == 1 && args[0].kind == CG_EXPR_V_STRING;
	if (by_string)
		sep = args[0].u.s;
	uint32_t n = 1;
	for (size_t i = 0; i < s.len;) {
		if (by_string ? (sep.len && i + sep.len <= s.len && memcmp(s.ptr + i, sep.ptr, sep.len) == 0) :
				in_set((unsigned char)s.ptr[i], args, nargs)) {
			n++;
			i += by_string ? sep.len : 1;
		} else {
			i++;
		}
	}
	struct cg_expr_array *a = cg_expr_new_array(r, n, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	size_t start = 0, k = 0;
	for (size_t i = 0; i <= s.len;) {
		bool at_sep = i < s.len &&
			      (by_string ? (sep.len && i + sep.len <= s.len && memcmp(s.ptr + i, sep.ptr, sep.len) == 0) :
					   in_set((unsigned char)s.ptr[i], args, nargs));
		if (i == s.len || at_sep) {
			ret_str(&a->items[k++], cg_str_make(s.ptr + start, i - start));
			i += at_sep ? (by_string ? sep.len : 1) : 1;
			start = i;
		} else {
			i++;
		}
	}
	(void)b;
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_ARRAY;
	out->cls = CG_EXPR_T_STRING;
	out->u.arr = a;
	return 0;
}
/* Split(separator, StringSplitOptions): the plain split, then
 * TrimEntries (2) and RemoveEmptyEntries (1) applied in .NET's order. */
FN(str_split_opt)
{
	if (str_split(r, self, args, 1, out) < 0)
		return -1;
	int32_t opt = args[1].u.i;
	struct cg_expr_array *a = (struct cg_expr_array *)(uintptr_t)out->u.arr; /* fresh: ours to edit */
	uint32_t k = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		struct cg_str e = a->items[i].u.s;
		if (opt & 2) {
			while (e.len && is_ws((unsigned char)e.ptr[0]))
				e.ptr++, e.len--;
			while (e.len && is_ws((unsigned char)e.ptr[e.len - 1]))
				e.len--;
		}
		if ((opt & 1) && e.len == 0)
			continue;
		a->items[k] = a->items[i];
		a->items[k++].u.s = e;
	}
	a->n = k;
	return 0;
}
ENUMV(so_none, 0)
ENUMV(so_removeempty, 1)
ENUMV(so_trim, 2)

/* Remove(start[, count]), Insert(index, value): UTF-16 indexes. */
FN(str_remove)
{
	size_t total = u16_len(SELF_S);
	int32_t start = args[0].u.i;
	int32_t count = nargs > 1 ? args[1].u.i : (int32_t)(total - (start < 0 ? 0 : (size_t)start));
	if (start < 0 || (size_t)start > total || count < 0 || (size_t)start + (size_t)count > total)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Index and count must refer to a location within the string. (Parameter 'count')");
	long a = u16_off(SELF_S, (size_t)start), b = u16_off(SELF_S, (size_t)start + (size_t)count);
	size_t n = SELF_S.len - (size_t)(b - a);
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	memcpy(p, SELF_S.ptr, (size_t)a);
	memcpy(p + a, SELF_S.ptr + b, SELF_S.len - (size_t)b);
	return ret_str(out, cg_str_make(p, n));
}
FN(str_insert)
{
	if (args[1].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	int32_t at = args[0].u.i;
	if (at < 0 || (size_t)at > u16_len(SELF_S))
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Index was out of range. Must be non-negative and less than or equal to the size of the collection. (Parameter 'startIndex')");
	long o = u16_off(SELF_S, (size_t)at);
	struct cg_str v = args[1].u.s;
	char *p = cg_expr_strbuf(r, SELF_S.len + v.len);
	if (!p)
		return -1;
	memcpy(p, SELF_S.ptr, (size_t)o);
	memcpy(p + o, v.ptr, v.len);
	memcpy(p + o + v.len, SELF_S.ptr + o, SELF_S.len - (size_t)o);
	return ret_str(out, cg_str_make(p, SELF_S.len + v.len));
}
FN(str_indexofany)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "anyOf");
	for (size_t i = 0; i < SELF_S.len; i++)
		if (in_set((unsigned char)SELF_S.ptr[i], args, 1))
			return ret_int(out, u16_idx(SELF_S, i));
	return ret_int(out, -1);
}
FN(str_tochararray) { return cg_expr_char_array(r, SELF_S, out); }
FN(str_compareordinal)
{
	if (args[0].kind == CG_EXPR_V_NULL || args[1].kind == CG_EXPR_V_NULL)
		return ret_int(out, (args[0].kind != CG_EXPR_V_NULL) - (args[1].kind != CG_EXPR_V_NULL));
	return ret_int(out, ordinal_cmp(args[0].u.s, args[1].u.s, false));
}

FN(str_replace)
{
	char b1[8], b2[8];
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "oldValue");
	struct cg_str from = arg_s(&args[0], b1);
	struct cg_str to = args[1].kind == CG_EXPR_V_NULL ? CG_STR("") : arg_s(&args[1], b2);
	if (from.len == 0)
		return cg_expr_throw(r, "ArgumentException", "String cannot be of zero length. (Parameter 'oldValue')");
	struct cg_str s = SELF_S;
	size_t count = 0;
	for (long at = str_find(s, from, 0, false); at >= 0; at = str_find(s, from, (size_t)at + from.len, false))
		count++;
	if (!count)
		return ret_str(out, s);
	size_t len = s.len - count * from.len + count * to.len;
	char *p = cg_expr_strbuf(r, len);
	if (!p)
		return -1;
	size_t o = 0, i = 0;
	for (long at = str_find(s, from, 0, false); at >= 0; at = str_find(s, from, i, false)) {
		memcpy(p + o, s.ptr + i, (size_t)at - i);
		o += (size_t)at - i;
		memcpy(p + o, to.ptr, to.len);
		o += to.len;
		i = (size_t)at + from.len;
	}
	memcpy(p + o, s.ptr + i, s.len - i);
	return ret_str(out, cg_str_make(p, len));
}
static int pad(struct cg_expr_run *r, struct cg_str s, const struct cg_expr_value *args, unsigned nargs,
	       bool left, struct cg_expr_value *out)
{
	int32_t w = args[0].u.i;
	if (w < 0)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Non-negative number required. (Parameter 'totalWidth')");
	size_t cur = u16_len(s);
	if ((size_t)w <= cur)
		return ret_str(out, s);
	char pc[8];
	int pl = nargs > 1 ? char_utf8(args[1].u.c, pc) : (pc[0] = ' ', 1);
	size_t n = (size_t)w - cur;
	char *p = cg_expr_strbuf(r, s.len + n * (size_t)pl);
	if (!p)
		return -1;
	size_t o = 0;
	if (!left) {
		memcpy(p, s.ptr, s.len);
		o = s.len;
	}
	for (size_t k = 0; k < n; k++, o += (size_t)pl)
		memcpy(p + o, pc, (size_t)pl);
	if (left) {
		memcpy(p + o, s.ptr, s.len);
		o += s.len;
	}
	return ret_str(out, cg_str_make(p, o));
}
FN(str_padleft) { return pad(r, SELF_S, args, nargs, true, out); }
FN(str_padright) { return pad(r, SELF_S, args, nargs, false, out); }

/* Joins rendered values with sep. items: an array value or the varargs. */
static int join(struct cg_expr_run *r, struct cg_str sep, const struct cg_expr_value *items, uint32_t n,
		struct cg_expr_value *out)
{
	size_t total = 0;
	struct cg_str tmp[CG_EXPR_MAX_ARGS];
	bool small = n <= CG_EXPR_MAX_ARGS;
	for (uint32_t k = 0; k < n; k++) {
		struct cg_str s;
		if (cg_expr_tostr(r, &items[k], &s) < 0)
			return -1;
		if (small)
			tmp[k] = s;
		total += s.len + (k ? sep.len : 0);
	}
	char *p = cg_expr_strbuf(r, total);
	if (!p)
		return -1;
	size_t o = 0;
	for (uint32_t k = 0; k < n; k++) {
		struct cg_str s;
		if (small)
			s = tmp[k];
		else if (cg_expr_tostr(r, &items[k], &s) < 0)
			return -1;
		if (k) {
			memcpy(p + o, sep.ptr, sep.len);
			o += sep.len;
		}
		memcpy(p + o, s.ptr, s.len);
		o += s.len;
	}
	return ret_str(out, cg_str_make(p, o));
}
FN(str_join_seq)
{
	struct cg_str sep = args[0].kind == CG_EXPR_V_NULL ? CG_STR("") : args[0].u.s;
	if (args[1].kind == CG_EXPR_V_NULL)
		return arg_null(r, "values");
	if (args[1].kind == CG_EXPR_V_ARRAY)
		return join(r, sep, args[1].u.arr->items, args[1].u.arr->n, out);
	/* any other IEnumerable<string>: copied out first (bounded by max_items) */
	uint32_t n = cg_expr_seq_len(&args[1]);
	struct cg_expr_array *a = cg_expr_new_array(r, n, CG_EXPR_T_STRING);
	if (!a)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		cg_expr_seq_item(&args[1], i, &a->items[i]);
	return join(r, sep, a->items, n, out);
}
FN(str_join_args)
{
	struct cg_str sep = args[0].kind == CG_EXPR_V_NULL ? CG_STR("") : args[0].u.s;
	return join(r, sep, args + 1, nargs - 1, out);
}
FN(str_concat) { return join(r, CG_STR(""), args, nargs, out); }
/* String.Format with {index[,alignment][:format]} items, invariant culture. */
FN(str_format)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "format");
	struct cg_str f = args[0].u.s;
	const struct cg_expr_value *vals = args + 1;
	unsigned nv = nargs - 1;
	if (nv == 1 && args[1].kind == CG_EXPR_V_ARRAY) {
		vals = args[1].u.arr->items;
		nv = args[1].u.arr->n;
	}
	/* two passes: measure, then write */
	char *p = NULL;
	size_t len = 0;
	for (int pass = 0; pass < 2; pass++) {
		size_t o = 0;
		for (size_t i = 0; i < f.len;) {
			char c = f.ptr[i];
			if ((c == '{' || c == '}') && i + 1 < f.len && f.ptr[i + 1] == c) {
				if (pass)
					p[o] = c;
				o++;
				i += 2;
				continue;
			}
			if (c == '}')
				goto bad;
			if (c != '{') {
				if (pass)
					p[o] = c;
				o++;
				i++;
				continue;
			}
			size_t j = i + 1;
			uint64_t idx = 0;
			int nd = 0;
			while (j < f.len && f.ptr[j] >= '0' && f.ptr[j] <= '9' && nd < 6)
				idx = idx * 10 + (uint64_t)(f.ptr[j++] - '0'), nd++;
			if (!nd)
				goto bad;
			long align = 0;
			if (j < f.len && f.ptr[j] == ',') {
				j++;
				bool neg = j < f.len && f.ptr[j] == '-';
				if (neg)
					j++;
				while (j < f.len && f.ptr[j] >= '0' && f.ptr[j] <= '9' && align < 1000)
					align = align * 10 + (f.ptr[j++] - '0');
				if (neg)
					align = -align;
			}
			struct cg_str fmt = CG_STR_NULL;
			if (j < f.len && f.ptr[j] == ':') {
				size_t k = ++j;
				while (j < f.len && f.ptr[j] != '}')
					j++;
				fmt = cg_str_make(f.ptr + k, j - k);
			}
			if (j >= f.len || f.ptr[j] != '}')
				goto bad;
			if (idx >= nv)
				return cg_expr_throw(r, "FormatException",
						     "Index (zero based) must be greater than or equal to zero and less than the size of the argument list.");
			struct cg_str s;
			char buf[128];
			const struct cg_expr_value *v = &vals[idx];
			if (fmt.len && v->kind != CG_EXPR_V_STRING && v->kind != CG_EXPR_V_NULL &&
			    v->kind != CG_EXPR_V_OBJ && v->kind != CG_EXPR_V_ARRAY && v->kind != CG_EXPR_V_BYTES) {
				int n = cg_expr_format_scalar(v, fmt, buf, sizeof(buf));
				if (n < 0)
					goto bad;
				s = cg_str_make(buf, (size_t)n);
			} else if (cg_expr_tostr(r, v, &s) < 0) {
				return -1;
			}
			size_t w = (size_t)(align < 0 ? -align : align);
			size_t padn = w > s.len ? w - s.len : 0;
			if (pass) {
				if (align > 0)
					memset(p + o, ' ', padn);
				memcpy(p + o + (align > 0 ? padn : 0), s.ptr, s.len);
				if (align < 0)
					memset(p + o + s.len, ' ', padn);
			}
			o += s.len + padn;
			i = j + 1;
		}
		if (!pass) {
			len = o;
			p = cg_expr_strbuf(r, len);
			if (!p)
				return -1;
		}
	}
	return ret_str(out, cg_str_make(p, len));
bad:
	return cg_expr_throw(r, "FormatException", "Input string was not in a correct format.");
}

/* ---- numbers ---- */

static int num_tostring(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_str fmt,
			struct cg_expr_value *out)
{
	char buf[128];
	int n = cg_expr_format_scalar(v, fmt, buf, sizeof(buf));
	if (n < 0)
		return cg_expr_throw(r, "FormatException", "Format specifier was invalid.");
	char *p = cg_expr_strbuf(r, (size_t)n);
	if (!p)
		return -1;
	memcpy(p, buf, (size_t)n);
	return ret_str(out, cg_str_make(p, (size_t)n));
}
FN(any_tostring)
{
	if (nargs && args[0].kind == CG_EXPR_V_STRING)
		return num_tostring(r, self, args[0].u.s, out);
	struct cg_str s;
	if (cg_expr_tostr(r, self, &s) < 0)
		return -1;
	return ret_str(out, s);
}
static int parse_int(struct cg_expr_run *r, const struct cg_expr_value *a, int64_t min, int64_t max,
		     int64_t *v)
{
	if (a->kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	int rc = cg_expr_parse_long(a->u.s, min, max, v);
	if (rc == -2)
		return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an %s.",
				     max == INT32_MAX ? "Int32" : "Int64");
	if (rc < 0)
		return cg_expr_throw(r, "FormatException", "The input string '%.*s' was not in a correct format.",
				     (int)(a->u.s.len > 60 ? 60 : a->u.s.len), a->u.s.ptr);
	return 0;
}
FN(int_parse)
{
	int64_t v;
	if (parse_int(r, &args[0], INT32_MIN, INT32_MAX, &v) < 0)
		return -1;
	return ret_int(out, (int32_t)v);
}
FN(long_parse)
{
	int64_t v;
	if (parse_int(r, &args[0], INT64_MIN, INT64_MAX, &v) < 0)
		return -1;
	return ret_long(out, v);
}
FN(double_parse)
{
	double d;
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	if (cg_expr_parse_double(args[0].u.s, &d) < 0)
		return cg_expr_throw(r, "FormatException", "The input string '%.*s' was not in a correct format.",
				     (int)(args[0].u.s.len > 60 ? 60 : args[0].u.s.len), args[0].u.s.ptr);
	return ret_double(out, d);
}
FN(bool_parse)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	struct cg_str s = cg_str_trim_ows(args[0].u.s);
	if (cg_str_ieq_lit(s, "true"))
		return ret_bool(out, true);
	if (cg_str_ieq_lit(s, "false"))
		return ret_bool(out, false);
	return cg_expr_throw(r, "FormatException", "String '%.*s' was not recognized as a valid Boolean.",
			     (int)(s.len > 60 ? 60 : s.len), s.ptr);
}
/* TryParse(s, out v): false and default(T) instead of an exception. */
FN(int_tryparse)
{
	int64_t v = 0;
	bool ok = args[0].kind == CG_EXPR_V_STRING && cg_expr_parse_long(args[0].u.s, INT32_MIN, INT32_MAX, &v) == 0;
	ret_int(&r->out_args[1], ok ? (int32_t)v : 0);
	return ret_bool(out, ok);
}
FN(long_tryparse)
{
	int64_t v = 0;
	bool ok = args[0].kind == CG_EXPR_V_STRING && cg_expr_parse_long(args[0].u.s, INT64_MIN, INT64_MAX, &v) == 0;
	ret_long(&r->out_args[1], ok ? v : 0);
	return ret_bool(out, ok);
}
FN(double_tryparse)
{
	double v = 0;
	bool ok = args[0].kind == CG_EXPR_V_STRING && cg_expr_parse_double(args[0].u.s, &v) == 0;
	ret_double(&r->out_args[1], ok ? v : 0);
	return ret_bool(out, ok);
}
FN(bool_tryparse)
{
	struct cg_str s = args[0].kind == CG_EXPR_V_STRING ? cg_str_trim_ows(args[0].u.s) : CG_STR("");
	bool t = cg_str_ieq_lit(s, "true"), f = cg_str_ieq_lit(s, "false");
	ret_bool(&r->out_args[1], t);
	return ret_bool(out, t || f);
}
FN(int_max) { return ret_int(out, INT32_MAX); }
FN(int_min) { return ret_int(out, INT32_MIN); }
FN(long_max) { return ret_long(out, INT64_MAX); }
FN(long_min) { return ret_long(out, INT64_MIN); }
FN(double_isnan) { return ret_bool(out, isnan(args[0].u.d)); }
FN(double_isinf) { return ret_bool(out, isinf(args[0].u.d)); }
FN(double_isposinf) { return ret_bool(out, isinf(args[0].u.d) && args[0].u.d > 0); }
FN(double_isneginf) { return ret_bool(out, isinf(args[0].u.d) && args[0].u.d < 0); }
FN(double_nan) { return ret_double(out, NAN); }
FN(double_posinf) { return ret_double(out, INFINITY); }
FN(double_neginf) { return ret_double(out, -INFINITY); }
FN(double_maxvalue) { return ret_double(out, DBL_MAX); }
FN(double_minvalue) { return ret_double(out, -DBL_MAX); }
FN(double_epsilon) { return ret_double(out, DBL_TRUE_MIN); } /* .NET's Epsilon: the smallest subnormal */
FN(char_isdigit) { return ret_bool(out, args[0].u.c >= '0' && args[0].u.c <= '9'); }
FN(char_isletter) { return ret_bool(out, args[0].u.c < 128 ? isalpha(args[0].u.c) != 0 : args[0].u.c >= 0xc0); }
FN(char_iswhitespace) { return ret_bool(out, args[0].u.c < 128 && is_ws((unsigned char)args[0].u.c)); }
FN(char_isletterordigit) { return ret_bool(out, args[0].u.c < 128 ? isalnum(args[0].u.c) != 0 : args[0].u.c >= 0xc0); }

/* ---- decimal ---- */

FN(dec_max) { *out = cg_expr_dec_make(((unsigned __int128)1 << 96) - 1, 0, false); return 0; }
FN(dec_min) { *out = cg_expr_dec_make(((unsigned __int128)1 << 96) - 1, 0, true); return 0; }
FN(dec_zero) { *out = cg_expr_dec_make(0, 0, false); return 0; }
FN(dec_one) { *out = cg_expr_dec_make(1, 0, false); return 0; }
FN(dec_parse)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	int rc = cg_expr_dec_parse(args[0].u.s, false, out);
	if (rc == -2)
		return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
	if (rc < 0)
		return cg_expr_throw(r, "FormatException", "The input string '%.*s' was not in a correct format.",
				     (int)(args[0].u.s.len > 60 ? 60 : args[0].u.s.len), args[0].u.s.ptr);
	return 0;
}
FN(dec_tryparse)
{
	struct cg_expr_value v = cg_expr_dec_make(0, 0, false);
	bool ok = args[0].kind == CG_EXPR_V_STRING && cg_expr_dec_parse(args[0].u.s, false, &v) == 0;
	r->out_args[1] = ok ? v : cg_expr_dec_make(0, 0, false);
	return ret_bool(out, ok);
}
/* Any number (or numeric text) as a decimal: Convert.ToDecimal. */
FN(conv_todecimal)
{
	const struct cg_expr_value *a = &args[0];
	switch (a->kind) {
	case CG_EXPR_V_NULL: *out = cg_expr_dec_make(0, 0, false); return 0;
	case CG_EXPR_V_STRING: return dec_parse(r, self, args, nargs, out);
	case CG_EXPR_V_DECIMAL: *out = *a; return 0;
	case CG_EXPR_V_INT: cg_expr_dec_from_long(a->u.i, out); return 0;
	case CG_EXPR_V_LONG: cg_expr_dec_from_long(a->u.l, out); return 0;
	case CG_EXPR_V_BOOL: cg_expr_dec_from_long(a->u.b, out); return 0;
	case CG_EXPR_V_DOUBLE:
		if (cg_expr_dec_from_double(a->u.d, out) < 0)
			return cg_expr_throw(r, "OverflowException", CG_EXPR_DEC_OVF);
		return 0;
	default:
		return cg_expr_throw(r, "InvalidCastException", "Unable to cast object to type 'System.IConvertible'.");
	}
}
/* Math.X(decimal): Round (half to even) / Floor / Ceiling / Truncate. */
FN(dec_round)
{
	int digits = nargs > 1 ? args[1].u.i : 0;
	if (digits < 0 || digits > 28)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Decimal can only round to between 0 and 28 digits of precision. (Parameter 'decimals')");
	return cg_expr_dec_round(&args[0], digits, CG_EXPR_DEC_EVEN, out);
}
FN(dec_floor) { return cg_expr_dec_round(&args[0], 0, CG_EXPR_DEC_FLOOR, out); }
FN(dec_ceiling) { return cg_expr_dec_round(&args[0], 0, CG_EXPR_DEC_CEIL, out); }
FN(dec_truncate) { return cg_expr_dec_round(&args[0], 0, CG_EXPR_DEC_TRUNC, out); }
FN(dec_abs)
{
	*out = args[0];
	out->u.dec.neg = 0;
	return 0;
}
FN(dec_max2)
{
	*out = cg_expr_dec_cmp(&args[0], &args[1]) >= 0 ? args[0] : args[1];
	return 0;
}
FN(dec_min2)
{
	*out = cg_expr_dec_cmp(&args[0], &args[1]) <= 0 ? args[0] : args[1];
	return 0;
}
FN(dec_clamp)
{
	if (cg_expr_dec_cmp(&args[1], &args[2]) > 0) {
		char lo[64], hi[64];
		cg_expr_dec_text(&args[1], lo, sizeof(lo));
		cg_expr_dec_text(&args[2], hi, sizeof(hi));
		return cg_expr_throw(r, "ArgumentException", "'%s' cannot be greater than %s.", lo, hi);
	}
	const struct cg_expr_value *v = &args[0];
	*out = cg_expr_dec_cmp(v, &args[1]) < 0 ? args[1] : cg_expr_dec_cmp(v, &args[2]) > 0 ? args[2] : *v;
	return 0;
}
FN(dec_compare)
{
	return ret_int(out, cg_expr_dec_cmp(&args[0], &args[1]));
}
FN(dec_negate)
{
	*out = args[0];
	out->u.dec.neg = cg_expr_dec_coef(out) != 0 && !out->u.dec.neg;
	return 0;
}
FN(dec_sign)
{
	return ret_int(out, cg_expr_dec_coef(&args[0]) == 0 ? 0 : args[0].u.dec.neg ? -1 : 1);
}

/* ---- Math ---- */

FN(math_abs)
{
	*out = args[0];
	if (out->kind == CG_EXPR_V_INT) {
		if (out->u.i == INT32_MIN)
			return cg_expr_throw(r, "OverflowException", "Negating the minimum value of a twos complement number is invalid.");
		out->u.i = out->u.i < 0 ? -out->u.i : out->u.i;
	} else if (out->kind == CG_EXPR_V_LONG) {
		if (out->u.l == INT64_MIN)
			return cg_expr_throw(r, "OverflowException", "Negating the minimum value of a twos complement number is invalid.");
		out->u.l = out->u.l < 0 ? -out->u.l : out->u.l;
	} else {
		out->u.d = out->u.d < 0 ? -out->u.d : (out->u.d == 0 ? 0.0 : out->u.d);
	}
	return 0;
}
FN(math_max)
{
	const struct cg_expr_value *a = &args[0], *b = &args[1];
	if (a->kind == CG_EXPR_V_INT)
		return ret_int(out, a->u.i > b->u.i ? a->u.i : b->u.i);
	if (a->kind == CG_EXPR_V_LONG)
		return ret_long(out, a->u.l > b->u.l ? a->u.l : b->u.l);
	return ret_double(out, isnan(a->u.d) || isnan(b->u.d) ? NAN : (a->u.d > b->u.d ? a->u.d : b->u.d));
}
FN(math_min)
{
	const struct cg_expr_value *a = &args[0], *b = &args[1];
	if (a->kind == CG_EXPR_V_INT)
		return ret_int(out, a->u.i < b->u.i ? a->u.i : b->u.i);
	if (a->kind == CG_EXPR_V_LONG)
		return ret_long(out, a->u.l < b->u.l ? a->u.l : b->u.l);
	return ret_double(out, isnan(a->u.d) || isnan(b->u.d) ? NAN : (a->u.d < b->u.d ? a->u.d : b->u.d));
}
FN(math_sign)
{
	const struct cg_expr_value *a = &args[0];
	if (a->kind == CG_EXPR_V_DOUBLE && isnan(a->u.d))
		return cg_expr_throw(r, "ArithmeticException", "Function does not accept floating point Not-a-Number values.");
	double d = a->kind == CG_EXPR_V_INT ? a->u.i : a->kind == CG_EXPR_V_LONG ? (double)a->u.l : a->u.d;
	return ret_int(out, d > 0 ? 1 : d < 0 ? -1 : 0);
}
FN(math_clamp)
{
	const struct cg_expr_value *v = &args[0], *lo = &args[1], *hi = &args[2];
	bool isd = v->kind == CG_EXPR_V_DOUBLE;
	double dv = isd ? v->u.d : (double)(v->kind == CG_EXPR_V_INT ? v->u.i : v->u.l);
	double dl = isd ? lo->u.d : (double)(lo->kind == CG_EXPR_V_INT ? lo->u.i : lo->u.l);
	double dh = isd ? hi->u.d : (double)(hi->kind == CG_EXPR_V_INT ? hi->u.i : hi->u.l);
	if (dl > dh)
		return cg_expr_throw(r, "ArgumentException", "'%g' cannot be greater than %g.", dl, dh);
	const struct cg_expr_value *pick = dv < dl ? lo : dv > dh ? hi : v;
	*out = *pick;
	return 0;
}
FN(math_floor) { return ret_double(out, cg_expr_floor(args[0].u.d)); }
FN(math_ceiling) { return ret_double(out, cg_expr_ceil(args[0].u.d)); }
FN(math_truncate) { return ret_double(out, cg_expr_trunc(args[0].u.d)); }
/* Math.Round defaults to banker's rounding (MidpointRounding.ToEven). */
FN(math_round)
{
	double d = args[0].u.d;
	int digits = nargs > 1 ? args[1].u.i : 0;
	if (digits < 0 || digits > 15)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Rounding digits must be between 0 and 15, inclusive. (Parameter 'digits')");
	double p = 1;
	for (int k = 0; k < digits; k++)
		p *= 10;
	double x = d * p;
	double rx = cg_expr_rint(x);
	return ret_double(out, digits ? rx / p : rx);
}

/* Math on libm. .NET Core 3.0+ calls the C runtime for these and follows
 * IEEE 754 (NaN in, NaN out; Pow(1, NaN) is 1; Sqrt(-1) is NaN), as glibc
 * does, so the results are the same bits. One function per member keeps the
 * table's plain function pointers. */
#define MATH1(fn, cfn) FN(fn) { return ret_double(out, cfn(args[0].u.d)); }
#define MATH2(fn, cfn) FN(fn) { return ret_double(out, cfn(args[0].u.d, args[1].u.d)); }
MATH1(math_sqrt, sqrt)
MATH1(math_cbrt, cbrt)
MATH1(math_exp, exp)
MATH1(math_log10, log10)
MATH1(math_log2, log2)
MATH1(math_sin, sin)
MATH1(math_cos, cos)
MATH1(math_tan, tan)
MATH1(math_asin, asin)
MATH1(math_acos, acos)
MATH1(math_atan, atan)
MATH1(math_sinh, sinh)
MATH1(math_cosh, cosh)
MATH1(math_tanh, tanh)
MATH2(math_pow, pow)
MATH2(math_atan2, atan2)
MATH2(math_ieeeremainder, remainder)
FN(math_pi) { return ret_double(out, M_PI); }
FN(math_e) { return ret_double(out, M_E); }
/* Math.Log(a[, newBase]): the two-argument form's special cases are .NET's
 * (a base of 1, 0 or +Infinity is NaN unless a is 1), then Log(a)/Log(b). */
FN(math_log)
{
	double a = args[0].u.d;
	if (nargs < 2)
		return ret_double(out, log(a));
	double b = args[1].u.d;
	if (isnan(a) || isnan(b))
		return ret_double(out, isnan(a) ? a : b);
	if (b == 1 || (a != 1 && (b == 0 || (isinf(b) && b > 0))))
		return ret_double(out, NAN);
	return ret_double(out, log(a) / log(b));
}
/* Math.BigMul(int, int): the exact long product. */
FN(math_bigmul) { return ret_long(out, (int64_t)args[0].u.i * args[1].u.i); }

/* ---- Convert ---- */

FN(conv_toint32)
{
	const struct cg_expr_value *a = &args[0];
	if (a->kind == CG_EXPR_V_STRING || a->kind == CG_EXPR_V_NULL) {
		if (a->kind == CG_EXPR_V_NULL)
			return ret_int(out, 0); /* Convert.ToInt32((string)null) is 0 */
		return int_parse(r, self, args, nargs, out);
	}
	if (a->kind == CG_EXPR_V_DOUBLE) {
		double rd = cg_expr_rint(a->u.d);
		if (isnan(rd) || rd > INT32_MAX || rd < INT32_MIN)
			return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int32.");
		return ret_int(out, (int32_t)rd);
	}
	if (a->kind == CG_EXPR_V_DECIMAL) {
		/* rounds half to even, as Convert.ToInt32(decimal) */
		struct cg_expr_value t;
		int64_t l;
		cg_expr_dec_round(a, 0, CG_EXPR_DEC_EVEN, &t);
		if (cg_expr_dec_to_long(&t, INT32_MIN, INT32_MAX, &l) < 0)
			return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int32.");
		return ret_int(out, (int32_t)l);
	}
	if (a->kind == CG_EXPR_V_LONG) {
		if (a->u.l > INT32_MAX || a->u.l < INT32_MIN)
			return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int32.");
		return ret_int(out, (int32_t)a->u.l);
	}
	if (a->kind == CG_EXPR_V_BOOL)
		return ret_int(out, a->u.b);
	if (a->kind == CG_EXPR_V_CHAR)
		return ret_int(out, a->u.c);
	if (a->kind == CG_EXPR_V_INT)
		return ret_int(out, a->u.i);
	return cg_expr_throw(r, "InvalidCastException", "Unable to cast object to type 'System.IConvertible'.");
}
FN(conv_toint64)
{
	const struct cg_expr_value *a = &args[0];
	if (a->kind == CG_EXPR_V_NULL)
		return ret_long(out, 0);
	if (a->kind == CG_EXPR_V_STRING)
		return long_parse(r, self, args, nargs, out);
	if (a->kind == CG_EXPR_V_DOUBLE) {
		double rd = cg_expr_rint(a->u.d);
		if (isnan(rd) || rd >= 9223372036854775808.0 || rd < -9223372036854775808.0)
			return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int64.");
		return ret_long(out, (int64_t)rd);
	}
	if (a->kind == CG_EXPR_V_INT)
		return ret_long(out, a->u.i);
	if (a->kind == CG_EXPR_V_LONG)
		return ret_long(out, a->u.l);
	if (a->kind == CG_EXPR_V_BOOL)
		return ret_long(out, a->u.b);
	if (a->kind == CG_EXPR_V_DECIMAL) {
		struct cg_expr_value t;
		int64_t l;
		cg_expr_dec_round(a, 0, CG_EXPR_DEC_EVEN, &t);
		if (cg_expr_dec_to_long(&t, INT64_MIN, INT64_MAX, &l) < 0)
			return cg_expr_throw(r, "OverflowException", "Value was either too large or too small for an Int64.");
		return ret_long(out, l);
	}
	return cg_expr_throw(r, "InvalidCastException", "Unable to cast object to type 'System.IConvertible'.");
}
FN(conv_todouble)
{
	const struct cg_expr_value *a = &args[0];
	if (a->kind == CG_EXPR_V_NULL)
		return ret_double(out, 0);
	if (a->kind == CG_EXPR_V_STRING)
		return double_parse(r, self, args, nargs, out);
	if (a->kind == CG_EXPR_V_INT)
		return ret_double(out, a->u.i);
	if (a->kind == CG_EXPR_V_LONG)
		return ret_double(out, (double)a->u.l);
	if (a->kind == CG_EXPR_V_DOUBLE)
		return ret_double(out, a->u.d);
	if (a->kind == CG_EXPR_V_DECIMAL)
		return ret_double(out, cg_expr_dec_to_double(a));
	if (a->kind == CG_EXPR_V_BOOL)
		return ret_double(out, a->u.b);
	return cg_expr_throw(r, "InvalidCastException", "Unable to cast object to type 'System.IConvertible'.");
}
FN(conv_tobool)
{
	const struct cg_expr_value *a = &args[0];
	if (a->kind == CG_EXPR_V_NULL)
		return ret_bool(out, false);
	if (a->kind == CG_EXPR_V_STRING)
		return bool_parse(r, self, args, nargs, out);
	if (a->kind == CG_EXPR_V_BOOL)
		return ret_bool(out, a->u.b);
	if (a->kind == CG_EXPR_V_INT)
		return ret_bool(out, a->u.i != 0);
	if (a->kind == CG_EXPR_V_LONG)
		return ret_bool(out, a->u.l != 0);
	if (a->kind == CG_EXPR_V_DOUBLE)
		return ret_bool(out, a->u.d != 0);
	return cg_expr_throw(r, "InvalidCastException", "Unable to cast object to type 'System.IConvertible'.");
}
FN(conv_tostring)
{
	struct cg_str s;
	if (cg_expr_tostr(r, &args[0], &s) < 0)
		return -1;
	return ret_str(out, s);
}

/* ---- DateTime ---- */

static int dt_range(struct cg_expr_run *r)
{
	return cg_expr_throw(r, "ArgumentOutOfRangeException",
			     "The added or subtracted value results in an un-representable DateTime. (Parameter 'value')");
}
static int dt_add_ticks(struct cg_expr_run *r, const struct cg_expr_value *self, double ticks,
			struct cg_expr_value *out)
{
	double t = (double)self->u.ticks + ticks;
	if (isnan(ticks) || t < 0 || t > (double)CG_EXPR_DT_MAX_TICKS)
		return dt_range(r);
	return ret_dt(out, self->u.ticks + (int64_t)ticks, self->dtkind);
}
/* .NET rounds AddDays/AddHours... to the nearest millisecond first. */
static double round_ms(double v, double ms_per_unit)
{
	double ms = v * ms_per_unit;
	ms = ms < 0 ? ms - 0.5 : ms + 0.5;
	return cg_expr_trunc(ms) * 10000.0;
}
FN(dt_now) { return ret_dt(out, cg_expr_to_local(cg_expr_now_utc(r)), CG_EXPR_DT_LOCAL); }
FN(dt_utcnow) { return ret_dt(out, cg_expr_now_utc(r), CG_EXPR_DT_UTC); }
FN(dt_today)
{
	int64_t t = cg_expr_to_local(cg_expr_now_utc(r));
	return ret_dt(out, t - t % CG_EXPR_TICKS_PER_DAY, CG_EXPR_DT_LOCAL);
}
FN(dt_minvalue) { return ret_dt(out, 0, CG_EXPR_DT_UNSPECIFIED); }
FN(dt_maxvalue) { return ret_dt(out, CG_EXPR_DT_MAX_TICKS, CG_EXPR_DT_UNSPECIFIED); }
FN(dt_ctor)
{
	int v[6] = { 0 };
	for (unsigned k = 0; k < nargs && k < 6; k++)
		v[k] = args[k].u.i;
	int64_t t = cg_expr_dt_make(v[0], v[1], v[2], v[3], v[4], v[5]);
	if (t < 0)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Year, Month, and Day parameters describe an un-representable DateTime.");
	return ret_dt(out, t, CG_EXPR_DT_UNSPECIFIED);
}
FN(dt_parse)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	int64_t t;
	uint8_t kind;
	if (cg_expr_dt_parse(args[0].u.s, &t, &kind) < 0)
		return cg_expr_throw(r, "FormatException", "The string '%.*s' was not recognized as a valid DateTime.",
				     (int)(args[0].u.s.len > 60 ? 60 : args[0].u.s.len), args[0].u.s.ptr);
	return ret_dt(out, t, kind);
}
FN(dt_isleapyear)
{
	if (args[0].u.i < 1 || args[0].u.i > 9999)
		return cg_expr_throw(r, "ArgumentOutOfRangeException", "Year must be between 1 and 9999. (Parameter 'year')");
	return ret_bool(out, cg_expr_is_leap(args[0].u.i));
}
FN(dt_daysinmonth)
{
	if (args[0].u.i < 1 || args[0].u.i > 9999 || args[1].u.i < 1 || args[1].u.i > 12)
		return cg_expr_throw(r, "ArgumentOutOfRangeException", "Month must be between one and twelve. (Parameter 'month')");
	return ret_int(out, cg_expr_days_in_month(args[0].u.i, args[1].u.i));
}
FN(dt_add) { return dt_add_ticks(r, self, (double)args[0].u.ticks, out); }
FN(dt_adddays) { return dt_add_ticks(r, self, round_ms(args[0].u.d, 86400000.0), out); }
FN(dt_addhours) { return dt_add_ticks(r, self, round_ms(args[0].u.d, 3600000.0), out); }
FN(dt_addminutes) { return dt_add_ticks(r, self, round_ms(args[0].u.d, 60000.0), out); }
FN(dt_addseconds) { return dt_add_ticks(r, self, round_ms(args[0].u.d, 1000.0), out); }
FN(dt_addms) { return dt_add_ticks(r, self, round_ms(args[0].u.d, 1.0), out); }
FN(dt_addticks) { return dt_add_ticks(r, self, (double)args[0].u.l, out); }
static int dt_add_months(struct cg_expr_run *r, const struct cg_expr_value *self, int64_t months,
			 struct cg_expr_value *out)
{
	struct cg_expr_dt d;
	cg_expr_dt_split(self->u.ticks, &d);
	int64_t m = (int64_t)d.year * 12 + (d.month - 1) + months;
	if (months < -120000 || months > 120000 || m < 12 || m >= 10000 * 12)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "The added or subtracted value results in an un-representable DateTime. (Parameter 'months')");
	int y = (int)(m / 12), mo = (int)(m % 12) + 1;
	int day = d.day > cg_expr_days_in_month(y, mo) ? cg_expr_days_in_month(y, mo) : d.day;
	int64_t t = cg_expr_dt_make(y, mo, day, 0, 0, 0) + self->u.ticks % CG_EXPR_TICKS_PER_DAY;
	return ret_dt(out, t, self->dtkind);
}
FN(dt_addmonths) { return dt_add_months(r, self, args[0].u.i, out); }
FN(dt_addyears) { return dt_add_months(r, self, (int64_t)args[0].u.i * 12, out); }
#define DT_PART(fn, expr)                    \
	FN(fn)                               \
	{                                    \
		struct cg_expr_dt d;         \
		cg_expr_dt_split(self->u.ticks, &d); \
		return ret_int(out, (expr)); \
	}
DT_PART(dt_year, d.year)
DT_PART(dt_month, d.month)
DT_PART(dt_day, d.day)
DT_PART(dt_hour, d.hour)
DT_PART(dt_minute, d.minute)
DT_PART(dt_second, d.second)
DT_PART(dt_millisecond, d.frac / 10000)
DT_PART(dt_dayofyear, d.doy)
/* DateTime? members (Jwt.ExpirationTime ...): a null DateTime value is the
 * empty Nullable<DateTime>. */
FN(dt_hasvalue) { return ret_bool(out, self && self->kind != CG_EXPR_V_NULL); }
FN(dt_value)
{
	if (!self || self->kind == CG_EXPR_V_NULL)
		return cg_expr_throw(r, "InvalidOperationException", "Nullable object must have a value.");
	*out = *self;
	return 0;
}
FN(dt_date) { return ret_dt(out, self->u.ticks - self->u.ticks % CG_EXPR_TICKS_PER_DAY, self->dtkind); }
FN(dt_dayofweek)
{
	struct cg_expr_dt d;
	cg_expr_dt_split(self->u.ticks, &d);
	return ret_str(out, cg_str_from_c(dow_names[d.dow]));
}
/* IsDaylightSavingTime(): the host's rules for a local time (false for UTC;
 * always false with TZ=UTC, certgate's default). */
FN(dt_isdst)
{
	if (self->dtkind == CG_EXPR_DT_UTC)
		return ret_bool(out, false);
	int64_t utc = self->u.ticks - (cg_expr_to_local(self->u.ticks) - self->u.ticks);
	time_t t = (time_t)((utc - 621355968000000000LL) / CG_EXPR_TICKS_PER_SEC);
	struct tm tm;
	return ret_bool(out, localtime_r(&t, &tm) && tm.tm_isdst > 0);
}
FN(dt_ticks) { return ret_long(out, self->u.ticks); }
FN(dt_timeofday) { return ret_ts(out, self->u.ticks % CG_EXPR_TICKS_PER_DAY); }
FN(dt_subtract)
{
	if (args[0].kind == CG_EXPR_V_DATETIME)
		return ret_ts(out, self->u.ticks - args[0].u.ticks);
	int64_t t = self->u.ticks - args[0].u.ticks;
	if (t < 0 || t > CG_EXPR_DT_MAX_TICKS)
		return dt_range(r);
	return ret_dt(out, t, self->dtkind);
}

/* ---- TimeSpan ---- */

static int ts_from(struct cg_expr_run *r, double v, double ms_per_unit, struct cg_expr_value *out)
{
	if (isnan(v))
		return cg_expr_throw(r, "ArgumentException", "TimeSpan does not accept floating point Not-a-Number values.");
	double t = round_ms(v, ms_per_unit);
	if (t > 9.2233720368547e18 || t < -9.2233720368547e18)
		return cg_expr_throw(r, "OverflowException", "TimeSpan overflowed because the duration is too long.");
	return ret_ts(out, (int64_t)t);
}
FN(ts_fromdays) { return ts_from(r, args[0].u.d, 86400000.0, out); }
FN(ts_fromhours) { return ts_from(r, args[0].u.d, 3600000.0, out); }
FN(ts_fromminutes) { return ts_from(r, args[0].u.d, 60000.0, out); }
FN(ts_fromseconds) { return ts_from(r, args[0].u.d, 1000.0, out); }
FN(ts_fromms) { return ts_from(r, args[0].u.d, 1.0, out); }
FN(ts_fromticks) { return ret_ts(out, args[0].u.l); }
FN(ts_zero) { return ret_ts(out, 0); }
FN(ts_ctor)
{
	int64_t d = 0, h, m, s;
	if (nargs == 4) {
		d = args[0].u.i;
		args++;
	}
	h = args[0].u.i;
	m = args[1].u.i;
	s = args[2].u.i;
	return ret_ts(out, (((d * 24 + h) * 60 + m) * 60 + s) * CG_EXPR_TICKS_PER_SEC);
}
FN(ts_days) { return ret_int(out, (int32_t)(self->u.ticks / CG_EXPR_TICKS_PER_DAY)); }
FN(ts_hours) { return ret_int(out, (int32_t)(self->u.ticks / (3600 * CG_EXPR_TICKS_PER_SEC) % 24)); }
FN(ts_minutes) { return ret_int(out, (int32_t)(self->u.ticks / (60 * CG_EXPR_TICKS_PER_SEC) % 60)); }
FN(ts_seconds) { return ret_int(out, (int32_t)(self->u.ticks / CG_EXPR_TICKS_PER_SEC % 60)); }
FN(ts_milliseconds) { return ret_int(out, (int32_t)(self->u.ticks / 10000 % 1000)); }
FN(ts_ticks) { return ret_long(out, self->u.ticks); }
FN(ts_totaldays) { return ret_double(out, (double)self->u.ticks / (double)CG_EXPR_TICKS_PER_DAY); }
FN(ts_totalhours) { return ret_double(out, (double)self->u.ticks / (3600.0 * CG_EXPR_TICKS_PER_SEC)); }
FN(ts_totalminutes) { return ret_double(out, (double)self->u.ticks / (60.0 * CG_EXPR_TICKS_PER_SEC)); }
FN(ts_totalseconds) { return ret_double(out, (double)self->u.ticks / (double)CG_EXPR_TICKS_PER_SEC); }
FN(ts_totalms) { return ret_double(out, (double)self->u.ticks / 10000.0); }
FN(ts_add)
{
	int64_t t;
	if (__builtin_add_overflow(self->u.ticks, args[0].u.ticks, &t))
		return cg_expr_throw(r, "OverflowException", "TimeSpan overflowed because the duration is too long.");
	return ret_ts(out, t);
}
FN(ts_subtract)
{
	int64_t t;
	if (__builtin_sub_overflow(self->u.ticks, args[0].u.ticks, &t))
		return cg_expr_throw(r, "OverflowException", "TimeSpan overflowed because the duration is too long.");
	return ret_ts(out, t);
}
FN(ts_duration) { return ret_ts(out, self->u.ticks < 0 ? -self->u.ticks : self->u.ticks); }

/* ---- Guid ---- */

static int guid_parse_str(struct cg_str s, uint8_t g[16])
{
	s = cg_str_trim_ows(s);
	if (s.len == 38 && ((s.ptr[0] == '{' && s.ptr[37] == '}') || (s.ptr[0] == '(' && s.ptr[37] == ')')))
		s = cg_str_sub(s, 1, 36);
	bool dashes = s.len == 36;
	if (!dashes && s.len != 32)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < s.len;) {
		if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s.ptr[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = isxdigit((unsigned char)s.ptr[i]) ? (s.ptr[i] <= '9' ? s.ptr[i] - '0' : (s.ptr[i] | 32) - 'a' + 10) : -1;
		int lo = i + 1 < s.len && isxdigit((unsigned char)s.ptr[i + 1]) ?
				 (s.ptr[i + 1] <= '9' ? s.ptr[i + 1] - '0' : (s.ptr[i + 1] | 32) - 'a' + 10) : -1;
		if (hi < 0 || lo < 0 || k >= 16)
			return -1;
		g[k++] = (uint8_t)(hi * 16 + lo);
		i += 2;
	}
	return k == 16 ? 0 : -1;
}
FN(guid_parse)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "input");
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_GUID;
	if (guid_parse_str(args[0].u.s, out->u.guid) < 0)
		return cg_expr_throw(r, "FormatException", "Unrecognized Guid format.");
	return 0;
}
FN(guid_tryparse)
{
	memset(&r->out_args[1], 0, sizeof(r->out_args[1]));
	r->out_args[1].kind = CG_EXPR_V_GUID;
	bool ok = args[0].kind == CG_EXPR_V_STRING && guid_parse_str(args[0].u.s, r->out_args[1].u.guid) == 0;
	if (!ok)
		memset(r->out_args[1].u.guid, 0, 16);
	return ret_bool(out, ok);
}
FN(guid_empty)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_GUID;
	return 0;
}
FN(guid_new)
{
	/* Random v4 GUIDs from the kernel; not a secret, but unpredictable. */
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_GUID;
	ssize_t n = getrandom(out->u.guid, 16, 0);
	if (n != 16)
		return cg_expr_throw(r, "InvalidOperationException", "no randomness available");
	out->u.guid[6] = (uint8_t)((out->u.guid[6] & 0x0f) | 0x40);
	out->u.guid[8] = (uint8_t)((out->u.guid[8] & 0x3f) | 0x80);
	return 0;
}


/* ---- byte[], Encoding, Base64 ---- */

static int ret_bytes(struct cg_expr_value *out, const char *p, size_t n)
{
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BYTES;
	out->cls = CG_EXPR_T_BYTE;
	out->u.s = cg_str_make(p, n);
	return 0;
}


/* Encoding objects: u.obj points at one of these tags. */
static const char enc_utf8 = 'u', enc_ascii = 'a';
FN(enc_getutf8) { return ret_obj(out, CG_EXPR_T_ENCODING, &enc_utf8); }
FN(enc_getascii) { return ret_obj(out, CG_EXPR_T_ENCODING, &enc_ascii); }

FN(enc_getbytes)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	struct cg_str s = args[0].u.s;
	if (self->u.obj == &enc_utf8) {
		/* strings are UTF-8 already, but byte[] is mutable (b[i] = x):
		 * copy, so a literal in the shared program is never written */
		char *c = cg_expr_strbuf(r, s.len);
		if (!c)
			return -1;
		if (s.len)
			memcpy(c, s.ptr, s.len);
		return ret_bytes(out, c, s.len);
	}
	/* ASCII: each non-ASCII character becomes '?', as .NET's replacement fallback */
	char *p = cg_expr_strbuf(r, s.len);
	if (!p)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c < 0x80)
			p[n++] = (char)c;
		else if ((c & 0xc0) != 0x80)
			p[n++] = '?';
	}
	return ret_bytes(out, p, n);
}

/* Length of the valid UTF-8 sequence at s[i], or 0 if invalid. */
static size_t utf8_seq(struct cg_str s, size_t i)
{
	unsigned char c = (unsigned char)s.ptr[i];
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (!n || i + n > s.len || (n == 2 && c < 0xc2))
		return 0;
	for (size_t k = 1; k < n; k++)
		if (((unsigned char)s.ptr[i + k] & 0xc0) != 0x80)
			return 0;
	if (n == 3) {
		unsigned cp = ((c & 15u) << 12) | (((unsigned char)s.ptr[i + 1] & 63u) << 6);
		if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	if (n == 4) {
		unsigned cp = ((c & 7u) << 18) | (((unsigned char)s.ptr[i + 1] & 63u) << 12);
		if (cp < 0x10000 || cp > 0x10ffff)
			return 0;
	}
	return n;
}

FN(enc_getstring)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "bytes");
	struct cg_str b = args[0].u.s;
	bool ascii = self->u.obj == &enc_ascii;
	size_t bad = 0;
	for (size_t i = 0; i < b.len;) {
		size_t n = ascii ? ((unsigned char)b.ptr[i] < 0x80) : utf8_seq(b, i);
		if (!n) {
			bad++;
			i++;
		} else {
			i += n;
		}
	}
	if (!bad)
		return ret_str(out, b);
	/* invalid bytes decode to U+FFFD (ASCII: '?'), as .NET's default fallback */
	char *p = cg_expr_strbuf(r, b.len + bad * 2);
	if (!p)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < b.len;) {
		size_t n = ascii ? ((unsigned char)b.ptr[i] < 0x80) : utf8_seq(b, i);
		if (n) {
			memcpy(p + o, b.ptr + i, n);
			o += n;
			i += n;
		} else if (ascii) {
			p[o++] = '?';
			i++;
		} else {
			memcpy(p + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	return ret_str(out, cg_str_make(p, o));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

FN(conv_tobase64)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "inArray");
	struct cg_str b = args[0].u.s;
	size_t n = (b.len + 2) / 3 * 4;
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < b.len; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)b.ptr[i] << 16;
		if (i + 1 < b.len)
			v |= (uint32_t)(unsigned char)b.ptr[i + 1] << 8;
		if (i + 2 < b.len)
			v |= (unsigned char)b.ptr[i + 2];
		p[o++] = b64[v >> 18];
		p[o++] = b64[(v >> 12) & 63];
		p[o++] = i + 1 < b.len ? b64[(v >> 6) & 63] : '=';
		p[o++] = i + 2 < b.len ? b64[v & 63] : '=';
	}
	return ret_str(out, cg_str_make(p, o));
}

FN(conv_frombase64)
{
	static const char msg[] = "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.";
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "s");
	struct cg_str s = args[0].u.s;
	char *p = cg_expr_strbuf(r, s.len / 4 * 3 + 3);
	if (!p)
		return -1;
	uint32_t acc = 0;
	size_t nsym = 0, pad = 0, o = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue; /* .NET skips white space */
		int v;
		if (c == '=') {
			pad++;
			v = 0;
		} else {
			const char *q = memchr(b64, c, 64);
			if (!q || pad)
				return cg_expr_throw(r, "FormatException", "%s", msg);
			v = (int)(q - b64);
		}
		acc = (acc << 6) | (uint32_t)v;
		if (++nsym % 4 == 0) {
			p[o++] = (char)(acc >> 16);
			p[o++] = (char)(acc >> 8);
			p[o++] = (char)acc;
			acc = 0;
		}
	}
	if (nsym % 4 != 0 || pad > 2)
		return cg_expr_throw(r, "FormatException", "%s", msg);
	return ret_bytes(out, p, o - pad);
}

/* ---- Regex ---- */

struct re_match {
	const struct cg_expr_regex *x;
	struct cg_str input;
	bool success;
	unsigned ngroups;
	long so[CG_EXPR_RE_GROUPS], eo[CG_EXPR_RE_GROUPS];
};

/* The subject as a NUL-terminated copy in the request arena: glibc reads
 * only [0, len) with REG_STARTEND, but sanitizer interceptors of regexec
 * call strlen() on it, so a slice must not end without a NUL. */
static int re_subject(struct cg_expr_run *r, const struct cg_expr_value *v, struct cg_str *out)
{
	if (v->kind == CG_EXPR_V_NULL)
		return arg_null(r, "input");
	char *p = cg_expr_strbuf(r, v->u.s.len + 1);
	if (!p)
		return -1;
	if (v->u.s.len)
		memcpy(p, v->u.s.ptr, v->u.s.len);
	p[v->u.s.len] = '\0';
	*out = cg_str_make(p, v->u.s.len);
	return 0;
}

/* The compiled pattern: from the program when the pattern was a literal,
 * else compiled now into the request arena (freed with it). */
static const struct cg_expr_regex *re_get(struct cg_expr_run *r, const struct cg_expr_value *pat, int opts)
{
	if (r->node->lit.kind == CG_EXPR_V_OBJ)
		return r->node->lit.u.obj;
	if (pat->kind == CG_EXPR_V_NULL) {
		arg_null(r, "pattern");
		return NULL;
	}
	const char *why = "";
	const struct cg_expr_regex *x = cg_expr_regex_compile(r->ctx->arena, pat->u.s, opts, &why);
	if (!x)
		cg_expr_throw(r, "ArgumentException", "Invalid pattern '%.*s': %s",
			      (int)(pat->u.s.len > 60 ? 60 : pat->u.s.len), pat->u.s.ptr, why);
	return x;
}

/* Static Regex.X(input, pattern[, ...], options at opt_at): the input's null
 * check first, then the pattern. */
static const struct cg_expr_regex *re_static(struct cg_expr_run *r, const struct cg_expr_value *args, unsigned nargs,
					     unsigned opt_at)
{
	if (args[0].kind == CG_EXPR_V_NULL) {
		arg_null(r, "input");
		return NULL;
	}
	return re_get(r, &args[1], nargs > opt_at ? args[opt_at].u.i : 0);
}

#define RX(self) ((const struct cg_expr_regex *)(self)->u.obj)

/* Where the search goes on after a match [so, eo): its end, or after an
 * empty match one character further (a whole UTF-8 sequence), as .NET
 * bumps one position. May return in.len + 1: no more matches. */
static size_t re_next_from(struct cg_str in, long so, long eo)
{
	size_t p = (size_t)eo;
	if (eo > so)
		return p;
	p++;
	while (p < in.len && ((unsigned char)in.ptr[p] & 0xc0) == 0x80)
		p++;
	return p;
}

/* One Match object: the first match at or after from (Success false when
 * there is none; from may be past the end). */
static int re_match_at(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, size_t from,
		       struct cg_expr_value *out)
{
	struct re_match *m = cg_arena_zalloc(r->ctx->arena, sizeof(*m));
	if (!m)
		return cg_expr_nomem(r);
	m->x = x;
	m->input = in;
	m->success = from <= in.len && cg_expr_regex_exec(x, in, from, m->so, m->eo, &m->ngroups) == 1;
	if (!m->success) {
		m->ngroups = 1;
		m->so[0] = m->eo[0] = 0;
	}
	return ret_obj(out, CG_EXPR_T_MATCH, m);
}

static int rx_ismatch_in(struct cg_expr_run *r, const struct cg_expr_regex *x, const struct cg_expr_value *input,
			 struct cg_expr_value *out)
{
	struct cg_str in;
	if (re_subject(r, input, &in) < 0)
		return -1;
	long so[CG_EXPR_RE_GROUPS], eo[CG_EXPR_RE_GROUPS];
	unsigned ng;
	return ret_bool(out, cg_expr_regex_exec(x, in, 0, so, eo, &ng) == 1);
}

static int rx_match_in(struct cg_expr_run *r, const struct cg_expr_regex *x, const struct cg_expr_value *input,
		       struct cg_expr_value *out)
{
	struct cg_str in;
	if (re_subject(r, input, &in) < 0)
		return -1;
	return re_match_at(r, x, in, 0, out);
}

/* Calls each(r, x, in, so, eo, ng, state) for every match, left to right,
 * one step each; returns the position after the last match (for the text
 * that follows it), or -1 with the error set. */
typedef int re_each_fn(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, size_t from,
		       const long *so, const long *eo, unsigned ng, void *state);

static long re_each(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, re_each_fn *each,
		    void *state)
{
	size_t from = 0, tail = 0;
	long so[CG_EXPR_RE_GROUPS], eo[CG_EXPR_RE_GROUPS];
	unsigned ng;
	while (from <= in.len && cg_expr_regex_exec(x, in, from, so, eo, &ng) == 1) {
		if (++r->steps > r->max_steps)
			return cg_expr_budget(r, "step");
		if (each(r, x, in, tail, so, eo, ng, state) < 0)
			return -1;
		tail = (size_t)eo[0];
		from = re_next_from(in, so[0], eo[0]);
	}
	return (long)tail;
}

/* Pieces gathered by Matches/Split before the array is built: a malloc'ed
 * buffer capped at ctx.max_items entries. */
static int re_push(struct cg_expr_run *r, struct cg_buf *b, const void *item, size_t size)
{
	if (cg_buf_append(b, item, size) < 0)
		return cg_expr_budget(r, "collection size");
	return 0;
}

static int re_matches_each(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, size_t tail,
			   const long *so, const long *eo, unsigned ng, void *state)
{
	(void)tail;
	struct re_match *m = cg_arena_zalloc(r->ctx->arena, sizeof(*m));
	if (!m)
		return cg_expr_nomem(r);
	m->x = x;
	m->input = in;
	m->success = true;
	m->ngroups = ng;
	memcpy(m->so, so, sizeof(m->so[0]) * ng);
	memcpy(m->eo, eo, sizeof(m->eo[0]) * ng);
	return re_push(r, state, &m, sizeof(m));
}

/* MatchCollection: every match, found at once (.NET finds them lazily; the
 * result is the same, the cost is paid by Count or the first enumeration
 * there). Held as an array of Match objects. */
static int rx_matches_in(struct cg_expr_run *r, const struct cg_expr_regex *x, const struct cg_expr_value *input,
			 struct cg_expr_value *out)
{
	struct cg_str in;
	if (re_subject(r, input, &in) < 0)
		return -1;
	struct cg_buf b;
	cg_buf_init(&b, (size_t)r->max_items * sizeof(struct re_match *));
	int rc = re_each(r, x, in, re_matches_each, &b) < 0 ? -1 : 0;
	uint32_t n = (uint32_t)(b.len / sizeof(struct re_match *));
	struct cg_expr_array *a = rc == 0 ? cg_expr_new_array(r, n, CG_EXPR_T_MATCH) : NULL;
	if (a) {
		for (uint32_t k = 0; k < n; k++) {
			struct re_match *m;
			memcpy(&m, b.data + k * sizeof(m), sizeof(m));
			ret_obj(&a->items[k], CG_EXPR_T_MATCH, m);
		}
		ret_obj(out, CG_EXPR_T_MATCHES, a);
	}
	cg_buf_free(&b);
	return a ? 0 : -1;
}

/* Split: the text before each match, then the match's captured groups
 * (those that took part), then the rest, as .NET. */
static int re_split_each(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, size_t tail,
			 const long *so, const long *eo, unsigned ng, void *state)
{
	(void)x;
	struct cg_str piece = cg_str_make(in.ptr + tail, (size_t)so[0] - tail);
	if (re_push(r, state, &piece, sizeof(piece)) < 0)
		return -1;
	for (unsigned g = 1; g < ng; g++) {
		if (so[g] < 0)
			continue;
		piece = cg_str_make(in.ptr + so[g], (size_t)(eo[g] - so[g]));
		if (re_push(r, state, &piece, sizeof(piece)) < 0)
			return -1;
	}
	return 0;
}

static int rx_split_in(struct cg_expr_run *r, const struct cg_expr_regex *x, const struct cg_expr_value *input,
		       struct cg_expr_value *out)
{
	struct cg_str in;
	if (re_subject(r, input, &in) < 0)
		return -1;
	struct cg_buf b;
	cg_buf_init(&b, (size_t)r->max_items * sizeof(struct cg_str));
	long tail = re_each(r, x, in, re_split_each, &b);
	struct cg_str rest = tail >= 0 ? cg_str_make(in.ptr + tail, in.len - (size_t)tail) : CG_STR_NULL;
	int rc = tail < 0 || re_push(r, &b, &rest, sizeof(rest)) < 0 ? -1 : 0;
	uint32_t n = (uint32_t)(b.len / sizeof(struct cg_str));
	struct cg_expr_array *a = rc == 0 ? cg_expr_new_array(r, n, CG_EXPR_T_STRING) : NULL;
	if (a) {
		for (uint32_t k = 0; k < n; k++) {
			struct cg_str piece;
			memcpy(&piece, b.data + k * sizeof(piece), sizeof(piece));
			ret_str(&a->items[k], piece);
		}
		memset(out, 0, sizeof(*out));
		out->kind = CG_EXPR_V_ARRAY;
		out->cls = CG_EXPR_T_STRING;
		out->u.arr = a;
	}
	cg_buf_free(&b);
	return a ? 0 : -1;
}

FN(re_ismatch)
{
	const struct cg_expr_regex *x = re_static(r, args, nargs, 2);
	return x ? rx_ismatch_in(r, x, &args[0], out) : -1;
}
FN(re_match)
{
	const struct cg_expr_regex *x = re_static(r, args, nargs, 2);
	return x ? rx_match_in(r, x, &args[0], out) : -1;
}
FN(re_matches)
{
	const struct cg_expr_regex *x = re_static(r, args, nargs, 2);
	return x ? rx_matches_in(r, x, &args[0], out) : -1;
}
FN(re_split)
{
	const struct cg_expr_regex *x = re_static(r, args, nargs, 2);
	return x ? rx_split_in(r, x, &args[0], out) : -1;
}
FN(rx_ismatch) { return rx_ismatch_in(r, RX(self), &args[0], out); }
FN(rx_match) { return rx_match_in(r, RX(self), &args[0], out); }
FN(rx_matches) { return rx_matches_in(r, RX(self), &args[0], out); }
FN(rx_split) { return rx_split_in(r, RX(self), &args[0], out); }
FN(rx_tostring) { return ret_str(out, cg_expr_regex_pattern(RX(self))); }
/* new Regex(pattern[, options]) */
FN(rx_ctor)
{
	const struct cg_expr_regex *x = re_get(r, &args[0], nargs > 1 ? args[1].u.i : 0);
	return x ? ret_obj(out, CG_EXPR_T_REGEX, x) : -1;
}

/* Regex.Escape: .NET escapes \ * + ? | { [ ( ) ^ $ . # and white space
 * (space as "\ ", the controls as \t \n \f \r \v); ] and } stay. */
FN(re_escape)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "str");
	struct cg_str s = args[0].u.s;
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += strchr("\\*+?|{[()^$.# \t\n\f\r\v", s.ptr[i]) && s.ptr[i] ? 2 : 1;
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		const char *ctl = c ? strchr("\t\n\f\r\v", c) : NULL;
		if (ctl || (c && strchr("\\*+?|{[()^$.# ", c))) {
			p[o++] = '\\';
			p[o++] = ctl ? "tnfrv"[ctl - "\t\n\f\r\v"] : c;
		} else {
			p[o++] = c;
		}
	}
	return ret_str(out, cg_str_make(p, o));
}

/* Appends the expansion of a .NET replacement ($1, ${name}, $0, $&, $$). */
static int re_expand(struct cg_expr_run *r, struct cg_buf *b, struct cg_str rep, const struct cg_expr_regex *x,
		     struct cg_str in, const long *so, const long *eo, unsigned ngroups)
{
	for (size_t i = 0; i < rep.len; i++) {
		char c = rep.ptr[i];
		int g = -1;
		size_t skip = 0;
		if (c == '$' && i + 1 < rep.len) {
			char d = rep.ptr[i + 1];
			if (d == '$') {
				skip = 1;
			} else if (d == '&') {
				g = 0;
				skip = 1;
			} else if (d >= '0' && d <= '9') {
				g = d - '0';
				skip = 1;
			} else if (d == '{') {
				size_t j = i + 2;
				while (j < rep.len && rep.ptr[j] != '}')
					j++;
				if (j < rep.len) {
					g = cg_expr_regex_group(x, cg_str_make(rep.ptr + i + 2, j - i - 2));
					skip = j - i;
				}
			}
		}
		if (g >= (int)ngroups)
			g = -1, skip = 0; /* no such group: .NET keeps the text as is */
		if (skip && (g >= 0 || rep.ptr[i + 1] == '$')) {
			if (g >= 0 && so[g] >= 0) {
				if (cg_buf_append(b, in.ptr + so[g], (size_t)(eo[g] - so[g])) < 0)
					return cg_expr_budget(r, "string length");
			} else if (g < 0 && cg_buf_append(b, "$", 1) < 0) {
				return cg_expr_budget(r, "string length");
			}
			i += skip;
			continue;
		}
		if (cg_buf_append(b, &c, 1) < 0)
			return cg_expr_budget(r, "string length");
	}
	return 0;
}

struct re_replace_state {
	struct cg_buf b;
	struct cg_str rep;
};

static int re_replace_each(struct cg_expr_run *r, const struct cg_expr_regex *x, struct cg_str in, size_t tail,
			   const long *so, const long *eo, unsigned ng, void *state)
{
	struct re_replace_state *st = state;
	if (cg_buf_append(&st->b, in.ptr + tail, (size_t)so[0] - tail) < 0)
		return cg_expr_budget(r, "string length");
	return re_expand(r, &st->b, st->rep, x, in, so, eo, ng);
}

static int rx_replace_in(struct cg_expr_run *r, const struct cg_expr_regex *x, const struct cg_expr_value *input,
			 const struct cg_expr_value *rep, struct cg_expr_value *out)
{
	struct cg_str in;
	if (re_subject(r, input, &in) < 0)
		return -1;
	/* A malloc'ed buffer with the string cap, copied into the arena at
	 * the end (the result size is unknown until all matches are done). */
	struct re_replace_state st = { .rep = rep->u.s };
	cg_buf_init(&st.b, r->max_string);
	long tail = re_each(r, x, in, re_replace_each, &st);
	int rc = tail < 0 ? -1 : 0;
	if (rc == 0 && cg_buf_append(&st.b, in.ptr + tail, in.len - (size_t)tail) < 0)
		rc = cg_expr_budget(r, "string length");
	if (rc == 0) {
		char *p = cg_expr_strbuf(r, st.b.len);
		if (!p) {
			rc = -1;
		} else {
			if (st.b.len)
				memcpy(p, st.b.data, st.b.len);
			ret_str(out, cg_str_make(p, st.b.len));
		}
	}
	cg_buf_free(&st.b);
	return rc;
}

FN(re_replace)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "input");
	if (args[2].kind == CG_EXPR_V_NULL)
		return arg_null(r, "replacement");
	const struct cg_expr_regex *x = re_get(r, &args[1], nargs > 3 ? args[3].u.i : 0);
	return x ? rx_replace_in(r, x, &args[0], &args[2], out) : -1;
}
FN(rx_replace)
{
	if (args[1].kind == CG_EXPR_V_NULL)
		return arg_null(r, "replacement");
	return rx_replace_in(r, RX(self), &args[0], &args[1], out);
}

#define MATCH(self) ((const struct re_match *)(self)->u.obj)
static int span_value(const struct re_match *m, unsigned g, struct cg_expr_value *out)
{
	if (!m->success || m->so[g] < 0)
		return ret_str(out, CG_STR(""));
	return ret_str(out, cg_str_make(m->input.ptr + m->so[g], (size_t)(m->eo[g] - m->so[g])));
}
FN(match_success) { return ret_bool(out, MATCH(self)->success); }
FN(match_value) { return span_value(MATCH(self), 0, out); }
FN(match_index) { return ret_int(out, MATCH(self)->success ? u16_idx(MATCH(self)->input, (size_t)MATCH(self)->so[0]) : 0); }
FN(match_length)
{
	const struct re_match *m = MATCH(self);
	if (!m->success)
		return ret_int(out, 0);
	return ret_int(out, (int32_t)u16_len(cg_str_make(m->input.ptr + m->so[0], (size_t)(m->eo[0] - m->so[0]))));
}
FN(match_groups) { return ret_obj(out, CG_EXPR_T_GROUPS, self->u.obj); }
FN(groups_count) { return ret_int(out, MATCH(self)->success ? (int32_t)MATCH(self)->ngroups : 1); }
/* A Group is the match plus an index (aux). Unknown groups are unmatched. */
FN(groups_index)
{
	const struct re_match *m = MATCH(self);
	int g = -1;
	if (args[0].kind == CG_EXPR_V_INT)
		g = args[0].u.i >= 0 && (unsigned)args[0].u.i < m->ngroups ? args[0].u.i : -1;
	else if (args[0].kind == CG_EXPR_V_STRING)
		g = cg_expr_regex_group(m->x, args[0].u.s);
	ret_obj(out, CG_EXPR_T_GROUP, m);
	out->aux = g < 0 ? 0xff : (uint8_t)g;
	return 0;
}
static bool group_ok(const struct cg_expr_value *self)
{
	const struct re_match *m = MATCH(self);
	return self->aux != 0xff && m->success && m->so[self->aux] >= 0;
}
FN(group_success) { return ret_bool(out, group_ok(self)); }
FN(group_value)
{
	if (!group_ok(self))
		return ret_str(out, CG_STR(""));
	return span_value(MATCH(self), self->aux, out);
}
FN(group_index) { return ret_int(out, group_ok(self) ? u16_idx(MATCH(self)->input, (size_t)MATCH(self)->so[self->aux]) : 0); }
FN(group_length)
{
	if (!group_ok(self))
		return ret_int(out, 0);
	const struct re_match *m = MATCH(self);
	return ret_int(out, (int32_t)u16_len(cg_str_make(m->input.ptr + m->so[self->aux],
							 (size_t)(m->eo[self->aux] - m->so[self->aux]))));
}
FN(match_next)
{
	const struct re_match *m = MATCH(self);
	if (!m->success) {
		*out = *self; /* the failed match's NextMatch is itself, as Match.Empty's */
		return 0;
	}
	return re_match_at(r, m->x, m->input, re_next_from(m->input, m->so[0], m->eo[0]), out);
}
#define MATCHES(self) ((const struct cg_expr_array *)(self)->u.obj)
FN(matches_count) { return ret_int(out, (int32_t)MATCHES(self)->n); }
FN(matches_index)
{
	const struct cg_expr_array *a = MATCHES(self);
	if (args[0].u.i < 0 || (uint32_t)args[0].u.i >= a->n)
		return cg_expr_throw(r, "ArgumentOutOfRangeException",
				     "Specified argument was out of the range of valid values. (Parameter 'i')");
	*out = a->items[args[0].u.i];
	return 0;
}
ENUMV(nt_simple, 0)
ENUMV(nt_email, 1)
ENUMV(nt_upn, 2)
ENUMV(nt_dns, 3)
ENUMV(nt_dnsalt, 4)
ENUMV(nt_url, 5)
ENUMV(ro_none, 0)
ENUMV(ro_ignorecase, 1)
ENUMV(ro_multiline, 2)

/* ---- Nullable<T> (T?): at run time a null or a T value ---- */

/* default(T) for the value types a T? wraps. */
static int default_of(struct cg_expr_type t, struct cg_expr_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (t.id) {
	case CG_EXPR_T_INT: out->kind = CG_EXPR_V_INT; break;
	case CG_EXPR_T_LONG: out->kind = CG_EXPR_V_LONG; break;
	case CG_EXPR_T_DOUBLE: out->kind = CG_EXPR_V_DOUBLE; break;
	case CG_EXPR_T_BOOL: out->kind = CG_EXPR_V_BOOL; break;
	case CG_EXPR_T_CHAR: out->kind = CG_EXPR_V_CHAR; break;
	case CG_EXPR_T_DECIMAL: *out = cg_expr_dec_make(0, 0, false); break;
	case CG_EXPR_T_DATETIME: out->kind = CG_EXPR_V_DATETIME; break;
	case CG_EXPR_T_DTO: out->kind = CG_EXPR_V_DATETIME; out->dtkind = CG_EXPR_DT_UTC; break;
	case CG_EXPR_T_TIMESPAN: out->kind = CG_EXPR_V_TIMESPAN; break;
	case CG_EXPR_T_GUID: out->kind = CG_EXPR_V_GUID; break;
	}
	return 0;
}
FN(nul_hasvalue) { return ret_bool(out, self->kind != CG_EXPR_V_NULL); }
FN(nul_value)
{
	if (self->kind == CG_EXPR_V_NULL)
		return cg_expr_nullable_empty(r);
	*out = *self;
	return 0;
}
FN(nul_getvalueordefault)
{
	if (self->kind != CG_EXPR_V_NULL)
		*out = *self;
	else if (nargs)
		*out = args[0];
	else
		default_of(r->node->type, out);
	return 0;
}
/* ToString() of a null T? is "" (not a NullReferenceException). */
FN(nul_tostring)
{
	struct cg_str s = CG_STR("");
	if (self->kind != CG_EXPR_V_NULL && cg_expr_tostr(r, self, &s) < 0)
		return -1;
	return ret_str(out, s);
}

/* ---- Uri / WebUtility escaping ---- */

/* Percent-encodes s: unreserved (RFC 3986) bytes stay; with plus, a space
 * becomes '+' (WebUtility.UrlEncode, upper-case hex as .NET Core). */
static int pct_encode(struct cg_expr_run *r, struct cg_str s, bool plus, struct cg_expr_value *out)
{
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || c == '.' || c == '~' || (plus && (c == ' ' || c == '!' || c == '*' || c == '(' || c == ')'));
		n += keep ? 1 : 3;
	}
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	size_t o = 0;
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || c == '.' || c == '~' || (plus && (c == ' ' || c == '!' || c == '*' || c == '(' || c == ')'));
		if (keep) {
			p[o++] = plus && c == ' ' ? '+' : (char)c;
		} else {
			p[o++] = '%';
			p[o++] = hx[c >> 4];
			p[o++] = hx[c & 15];
		}
	}
	return ret_str(out, cg_str_make(p, o));
}

FN(uri_escape)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "stringToEscape");
	return pct_encode(r, args[0].u.s, false, out);
}
FN(uri_unescape)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "stringToUnescape");
	bool oom = false;
	/* Uri.UnescapeDataString leaves '+' alone */
	struct cg_str s = args[0].u.s;
	char *p = cg_expr_strbuf(r, s.len);
	if (!p)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] == '%' && i + 2 < s.len && hexv(s.ptr[i + 1]) >= 0 && hexv(s.ptr[i + 2]) >= 0) {
			p[o++] = (char)(hexv(s.ptr[i + 1]) * 16 + hexv(s.ptr[i + 2]));
			i += 2;
		} else {
			p[o++] = s.ptr[i];
		}
	}
	(void)oom;
	return ret_str(out, cg_str_make(p, o));
}
FN(web_urlencode)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_str(out, CG_STR_NULL);
	return pct_encode(r, args[0].u.s, true, out);
}
FN(web_urldecode)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_str(out, CG_STR_NULL);
	bool oom = false;
	struct cg_str d = url_decode(r, args[0].u.s, &oom);
	if (oom)
		return cg_expr_nomem(r);
	return ret_str(out, d);
}
FN(web_htmlencode)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return ret_str(out, CG_STR_NULL);
	struct cg_str s = args[0].u.s;
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		n += c == '<' || c == '>' ? 4 : c == '&' ? 5 : c == '"' ? 6 : c == '\'' ? 5 : 1;
	}
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		const char *rep = NULL;
		switch (s.ptr[i]) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep) {
			memcpy(p + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			p[o++] = s.ptr[i];
		}
	}
	return ret_str(out, cg_str_make(p, o));
}

/* ---- StringBuilder: a growing buffer in the request arena ---- */

struct sb {
	char *buf;
	size_t len, cap;
};

static int sb_append(struct cg_expr_run *r, struct sb *b, struct cg_str s)
{
	if (b->len + s.len > r->max_string)
		return cg_expr_budget(r, "string length");
	if (b->len + s.len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		while (cap < b->len + s.len)
			cap *= 2;
		/* the old buffer stays in the arena: doubling bounds the waste */
		char *nb = cg_arena_alloc(r->ctx->arena, cap);
		if (!nb)
			return cg_expr_nomem(r);
		if (b->len)
			memcpy(nb, b->buf, b->len);
		b->buf = nb;
		b->cap = cap;
	}
	if (s.len)
		memcpy(b->buf + b->len, s.ptr, s.len);
	b->len += s.len;
	return 0;
}

#define SB(self) ((struct sb *)(uintptr_t)(self)->u.obj)

FN(sb_new)
{
	struct sb *b = cg_arena_zalloc(r->ctx->arena, sizeof(*b));
	if (!b)
		return cg_expr_nomem(r);
	if (nargs && args[0].kind == CG_EXPR_V_STRING && sb_append(r, b, args[0].u.s) < 0)
		return -1;
	return ret_obj(out, CG_EXPR_T_SB, b);
}
FN(sb_append_fn)
{
	struct cg_str s;
	if (cg_expr_tostr(r, &args[0], &s) < 0 || sb_append(r, SB(self), s) < 0)
		return -1;
	*out = *self; /* Append returns the builder, for chaining */
	return 0;
}
FN(sb_appendline)
{
	struct cg_str s = CG_STR("");
	if (nargs && cg_expr_tostr(r, &args[0], &s) < 0)
		return -1;
	/* Environment.NewLine on the Linux gateway is "\n" (see docs) */
	if (sb_append(r, SB(self), s) < 0 || sb_append(r, SB(self), CG_STR("\n")) < 0)
		return -1;
	*out = *self;
	return 0;
}
FN(sb_appendformat)
{
	struct cg_expr_value s;
	if (str_format(r, NULL, args, nargs, &s) < 0 || sb_append(r, SB(self), s.u.s) < 0)
		return -1;
	*out = *self;
	return 0;
}
FN(sb_length) { return ret_int(out, (int32_t)u16_len(cg_str_make(SB(self)->buf, SB(self)->len))); }
FN(sb_tostring) { return ret_str(out, cg_str_make(SB(self)->buf ? SB(self)->buf : "", SB(self)->len)); }
FN(sb_clear)
{
	SB(self)->len = 0;
	*out = *self;
	return 0;
}

/* ---- DateTimeOffset (UTC instants; see docs) ---- */

FN(dto_utcnow) { return ret_dt(out, cg_expr_now_utc(r), CG_EXPR_DT_UTC); }
static int dto_from_unix(struct cg_expr_run *r, int64_t v, int64_t ticks_per_unit, struct cg_expr_value *out)
{
	/* -62135596800 .. 253402300799 seconds is DateTimeOffset's range */
	int64_t lim = 253402300799LL * (CG_EXPR_TICKS_PER_SEC / ticks_per_unit);
	int64_t low = -62135596800LL * (CG_EXPR_TICKS_PER_SEC / ticks_per_unit);
	if (v > lim || v < low)
		return cg_expr_throw(r, "ArgumentOutOfRangeException", "Valid values are between %lld and %lld, inclusive. (Parameter '%s')",
				     (long long)low, (long long)lim, ticks_per_unit == CG_EXPR_TICKS_PER_SEC ? "seconds" : "milliseconds");
	return ret_dt(out, 621355968000000000LL + v * ticks_per_unit, CG_EXPR_DT_UTC);
}
FN(dto_fromunixsec) { return dto_from_unix(r, args[0].u.l, CG_EXPR_TICKS_PER_SEC, out); }
FN(dto_fromunixms) { return dto_from_unix(r, args[0].u.l, 10000, out); }
static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}
FN(dto_tounixsec) { return ret_long(out, floordiv(self->u.ticks - 621355968000000000LL, CG_EXPR_TICKS_PER_SEC)); }
FN(dto_tounixms) { return ret_long(out, floordiv(self->u.ticks - 621355968000000000LL, 10000)); }
FN(dto_utcdatetime) { return ret_dt(out, self->u.ticks, CG_EXPR_DT_UTC); }
FN(dto_datetime) { return ret_dt(out, self->u.ticks, CG_EXPR_DT_UNSPECIFIED); }
FN(dto_localdatetime) { return ret_dt(out, cg_expr_to_local(self->u.ticks), CG_EXPR_DT_LOCAL); }
FN(dto_offset) { return ret_ts(out, 0); }
FN(dto_tostring)
{
	/* invariant "G" plus the offset: "01/15/2026 12:00:00 +00:00" */
	struct cg_str f = nargs && args[0].kind == CG_EXPR_V_STRING ? args[0].u.s : CG_STR("MM/dd/yyyy HH:mm:ss '+00:00'");
	return num_tostring(r, self, f, out);
}

/* ---- IPAddress (only APIM's allowed members) ---- */

struct ipaddr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char b[16];
};

static int ip_parse(struct cg_str s, struct ipaddr *a)
{
	char buf[64];
	s = cg_str_trim_ows(s);
	if (s.len == 0 || s.len >= sizeof(buf))
		return -1;
	memcpy(buf, s.ptr, s.len);
	buf[s.len] = '\0'; /* inet_pton wants a C string */
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

FN(ip_parse_fn)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "ipString");
	struct ipaddr *a = cg_arena_zalloc(r->ctx->arena, sizeof(*a));
	if (!a)
		return cg_expr_nomem(r);
	if (ip_parse(args[0].u.s, a) < 0)
		return cg_expr_throw(r, "FormatException", "An invalid IP address was specified.");
	return ret_obj(out, CG_EXPR_T_IPADDR, a);
}
FN(ip_tryparse)
{
	struct ipaddr *a = cg_arena_zalloc(r->ctx->arena, sizeof(*a));
	if (!a)
		return cg_expr_nomem(r);
	bool ok = args[0].kind == CG_EXPR_V_STRING && ip_parse(args[0].u.s, a) == 0;
	ret_obj(&r->out_args[1], CG_EXPR_T_IPADDR, ok ? a : NULL);
	return ret_bool(out, ok);
}
FN(ip_tostring)
{
	const struct ipaddr *a = self->u.obj;
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(a->family, a->b, buf, sizeof(buf)))
		return ret_str(out, CG_STR(""));
	size_t n = strlen(buf);
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	memcpy(p, buf, n);
	return ret_str(out, cg_str_make(p, n));
}
FN(ip_isloopback)
{
	const struct ipaddr *a = self->u.obj;
	static const unsigned char v6lo[16] = { [15] = 1 };
	return ret_bool(out, a->family == AF_INET ? a->b[0] == 127 : memcmp(a->b, v6lo, 16) == 0);
}
FN(ip_family)
{
	/* AddressFamily's name, as its ToString() prints */
	return ret_str(out, ((const struct ipaddr *)self->u.obj)->family == AF_INET ? CG_STR("InterNetwork") :
										  CG_STR("InterNetworkV6"));
}
FN(ip_bytes)
{
	const struct ipaddr *a = self->u.obj;
	size_t n = a->family == AF_INET ? 4 : 16;
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	memcpy(p, a->b, n);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_BYTES;
	out->cls = CG_EXPR_T_BYTE;
	out->u.s = cg_str_make(p, n);
	return 0;
}
FN(ip_equals)
{
	const struct ipaddr *a = self->u.obj, *b = args[0].u.obj;
	return ret_bool(out, b && a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0);
}

/* ---- BitConverter, Random ---- */

/* BitConverter.ToString(bytes): "AB-01-FF" */
FN(bitconv_tostring)
{
	if (args[0].kind == CG_EXPR_V_NULL)
		return arg_null(r, "value");
	struct cg_str b = args[0].u.s;
	size_t n = b.len ? b.len * 3 - 1 : 0;
	char *p = cg_expr_strbuf(r, n);
	if (!p)
		return -1;
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.ptr[i];
		p[i * 3] = hx[c >> 4];
		p[i * 3 + 1] = hx[c & 15];
		if (i + 1 < b.len)
			p[i * 3 + 2] = '-';
	}
	return ret_str(out, cg_str_make(p, n));
}

/* Random: kernel randomness per call (no seeded sequences: new Random(seed)
 * is refused, since a policy cannot rely on .NET's generator anyway). */
static const char random_tag = 'r';
FN(random_new) { return ret_obj(out, CG_EXPR_T_RANDOM, &random_tag); }
static uint64_t rnd64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)time(NULL) * 6364136223846793005ull; /* never expected */
	return v;
}
FN(random_next)
{
	int64_t lo = 0, hi = INT32_MAX;
	if (nargs == 1)
		hi = args[0].u.i;
	else if (nargs == 2)
		lo = args[0].u.i, hi = args[1].u.i;
	if (nargs == 1 && hi < 0)
		return cg_expr_throw(r, "ArgumentOutOfRangeException", "'maxValue' must be greater than or equal to zero. (Parameter 'maxValue')");
	if (lo > hi)
		return cg_expr_throw(r, "ArgumentOutOfRangeException", "'minValue' cannot be greater than maxValue. (Parameter 'minValue')");
	if (hi == lo)
		return ret_int(out, (int32_t)lo);
	return ret_int(out, (int32_t)(lo + (int64_t)(rnd64() % (uint64_t)(hi - lo))));
}
FN(random_nextdouble) { return ret_double(out, (double)(rnd64() >> 11) / 9007199254740992.0); }

/* ---- System.Exception ---- */

FN(exc_ctor)
{
	struct cg_expr_exception *x = cg_arena_alloc(r->ctx->arena, sizeof(*x));
	if (!x)
		return cg_expr_nomem(r);
	snprintf(x->type, sizeof(x->type), "%s", "System.Exception");
	if (nargs && args[0].kind == CG_EXPR_V_STRING)
		snprintf(x->message, sizeof(x->message), "%.*s", (int)(args[0].u.s.len > 199 ? 199 : args[0].u.s.len),
			 args[0].u.s.ptr);
	else
		snprintf(x->message, sizeof(x->message), "%s", "Exception of type 'System.Exception' was thrown.");
	return ret_obj(out, CG_EXPR_T_EXCEPTION, x);
}
FN(exc_message)
{
	const struct cg_expr_exception *x = self->u.obj;
	return ret_str(out, cg_str_from_c(x->message));
}
FN(exc_tostring)
{
	const struct cg_expr_exception *x = self->u.obj;
	size_t tl = strlen(x->type), ml = strlen(x->message);
	char *p = cg_expr_strbuf(r, tl + 2 + ml);
	if (!p)
		return -1;
	memcpy(p, x->type, tl);
	memcpy(p + tl, ": ", 2);
	memcpy(p + tl + 2, x->message, ml);
	return ret_str(out, cg_str_make(p, tl + 2 + ml));
}

/* ---- StringComparison ---- */

ENUMV(sc_currentculture, 0)
ENUMV(sc_currentcultureic, 1)
ENUMV(sc_invariantculture, 2)
ENUMV(sc_invariantcultureic, 3)
ENUMV(sc_ordinal, 4)
ENUMV(sc_ordinalic, 5)

/* ---- the table ---- */

#define TY(x) { CG_EXPR_T_##x, 0 }
#define TARR(x) { CG_EXPR_T_ARRAY, CG_EXPR_T_##x }
#define TSEQ(x) { CG_EXPR_T_SEQ, CG_EXPR_T_##x }
#define PROP(o, n, res, f) { CG_EXPR_T_##o, 0, 0, 0, n, { { 0 } }, res, f }
#define SPROP(o, n, res, f) { CG_EXPR_T_##o, MF_STATIC, 0, 0, n, { { 0 } }, res, f }
#define METH(o, n, lo, hi, res, f, ...) { CG_EXPR_T_##o, MF_METHOD, lo, hi, n, { __VA_ARGS__ }, res, f }
#define METHF(o, fl, n, lo, hi, res, f, ...) { CG_EXPR_T_##o, MF_METHOD | (fl), lo, hi, n, { __VA_ARGS__ }, res, f }
#define SMETH(o, n, lo, hi, res, f, ...) { CG_EXPR_T_##o, MF_STATIC | MF_METHOD, lo, hi, n, { __VA_ARGS__ }, res, f }
#define SMETHF(o, fl, n, lo, hi, res, f, ...) { CG_EXPR_T_##o, MF_STATIC | MF_METHOD | (fl), lo, hi, n, { __VA_ARGS__ }, res, f }
#define INDEXER(o, res, f, p) { CG_EXPR_T_##o, MF_INDEXER, 1, 1, "this[]", { p }, res, f }

const struct cg_expr_member cg_expr_members[] = {
	/* context (IProxyContext) */
	PROP(CONTEXT, "Api", TY(API), ctx_api),
	PROP(CONTEXT, "Deployment", TY(DEPLOYMENT), ctx_deployment),
	PROP(CONTEXT, "Elapsed", TY(TIMESPAN), ctx_elapsed),
	PROP(CONTEXT, "LastError", TY(LASTERROR), ctx_lasterror),
	PROP(CONTEXT, "Operation", TY(OPERATION), ctx_operation),
	PROP(CONTEXT, "Product", TY(PRODUCT), ctx_product),
	PROP(CONTEXT, "Request", TY(REQUEST), ctx_request),
	PROP(CONTEXT, "RequestId", TY(GUID), ctx_requestid),
	PROP(CONTEXT, "Response", TY(RESPONSE), ctx_response),
	PROP(CONTEXT, "Subscription", TY(SUBSCRIPTION), ctx_subscription),
	PROP(CONTEXT, "Timestamp", TY(DATETIME), ctx_timestamp),
	PROP(CONTEXT, "Tracing", TY(BOOL), ctx_tracing),
	PROP(CONTEXT, "User", TY(USER), ctx_null),
	PROP(CONTEXT, "Workspace", TY(WORKSPACE), ctx_null),
	PROP(WORKSPACE, "Id", TY(STRING), never),
	PROP(WORKSPACE, "Name", TY(STRING), never),
	PROP(REQUEST, "PrivateEndpointConnection", TY(PRIVEP), ctx_null),
	PROP(PRIVEP, "GroupId", TY(STRING), never),
	PROP(PRIVEP, "MemberName", TY(STRING), never),
	PROP(PRIVEP, "Name", TY(STRING), never),
	PROP(CONTEXT, "Variables", TY(VARIABLES), ctx_variables),
	METH(CONTEXT, "Trace", 1, 1, TY(VOID), ctx_trace, TY(STRING)),

	PROP(API, "Id", TY(STRING), api_id),
	PROP(API, "IsCurrentRevision", TY(BOOL), api_current),
	PROP(API, "Name", TY(STRING), api_name),
	PROP(API, "Path", TY(STRING), api_path),
	PROP(API, "Protocols", TARR(STRING), api_protocols),
	PROP(API, "Revision", TY(STRING), api_revision),
	PROP(API, "ServiceUrl", TY(URL), api_serviceurl),
	PROP(API, "Version", TY(STRING), api_version),

	PROP(OPERATION, "Id", TY(STRING), op_id),
	PROP(OPERATION, "Method", TY(STRING), op_method),
	PROP(OPERATION, "Name", TY(STRING), op_name),
	PROP(OPERATION, "UrlTemplate", TY(STRING), op_template),

	PROP(DEPLOYMENT, "Certificates", TY(CERTDICT), dep_certs),
	PROP(DEPLOYMENT, "Gateway", TY(GATEWAY), dep_gateway_obj),
	PROP(DEPLOYMENT, "GatewayId", TY(STRING), dep_gateway),
	PROP(GATEWAY, "Id", TY(STRING), gw_id),
	PROP(GATEWAY, "InstanceId", TY(STRING), gw_instance),
	PROP(GATEWAY, "IsManaged", TY(BOOL), gw_managed),
	PROP(DEPLOYMENT, "Region", TY(STRING), dep_region),
	PROP(DEPLOYMENT, "ServiceId", TY(STRING), dep_serviceid),
	PROP(DEPLOYMENT, "ServiceName", TY(STRING), dep_servicename),

	PROP(LASTERROR, "Message", TY(STRING), le_message),
	PROP(LASTERROR, "Path", TY(STRING), le_path),
	PROP(LASTERROR, "PolicyId", TY(STRING), le_policyid),
	PROP(LASTERROR, "Reason", TY(STRING), le_reason),
	PROP(LASTERROR, "Scope", TY(STRING), le_scope),
	PROP(LASTERROR, "Section", TY(STRING), le_section),
	PROP(LASTERROR, "Source", TY(STRING), le_source),

	PROP(REQUEST, "Body", TY(BODY), req_body),
	PROP(REQUEST, "Certificate", TY(CERT), req_cert),
	PROP(REQUEST, "Headers", TY(HEADERS), req_headers),
	PROP(REQUEST, "IpAddress", TY(STRING), req_ip),
	PROP(REQUEST, "MatchedParameters", TY(STRDICT), req_params),
	PROP(REQUEST, "Method", TY(STRING), req_method),
	PROP(REQUEST, "OriginalUrl", TY(URL), req_origurl),
	PROP(REQUEST, "Url", TY(URL), req_url),

	PROP(RESPONSE, "Body", TY(BODY), resp_body),
	PROP(RESPONSE, "Headers", TY(HEADERS), resp_headers),
	PROP(RESPONSE, "StatusCode", TY(INT), resp_status),
	PROP(RESPONSE, "StatusReason", TY(STRING), resp_reason),

	PROP(URL, "Host", TY(STRING), url_host),
	PROP(URL, "Path", TY(STRING), url_path),
	PROP(URL, "Port", TY(INT), url_port),
	PROP(URL, "Query", TY(HEADERS), url_query),
	PROP(URL, "QueryString", TY(STRING), url_qs),
	PROP(URL, "Scheme", TY(STRING), url_scheme),
	METH(URL, "ToString", 0, 0, TY(STRING), url_tostring, { 0 }),

	/* X509Certificate2 */
	PROP(CERT, "FriendlyName", TY(STRING), cert_friendly),
	PROP(CERT, "HasPrivateKey", TY(BOOL), cert_hasprivkey),
	PROP(CERT, "Issuer", TY(STRING), cert_issuer),
	PROP(CERT, "IssuerName", TY(X500), cert_issuername),
	PROP(CERT, "NotAfter", TY(DATETIME), cert_notafter),
	PROP(CERT, "NotBefore", TY(DATETIME), cert_notbefore),
	PROP(CERT, "RawData", TARR(BYTE), cert_rawdata),
	PROP(CERT, "SerialNumber", TY(STRING), cert_serial),
	PROP(CERT, "Subject", TY(STRING), cert_subject),
	PROP(CERT, "SubjectName", TY(X500), cert_subjectname),
	PROP(CERT, "Thumbprint", TY(STRING), cert_thumb),
	METH(CERT, "ToString", 0, 0, TY(STRING), cert_tostring, { 0 }),
	PROP(CERT, "Version", TY(INT), cert_version),
	METH(CERT, "GetCertHash", 0, 0, TARR(BYTE), cert_gethash, { 0 }),
	METH(CERT, "GetCertHashString", 0, 0, TY(STRING), cert_thumb, { 0 }),
	METH(CERT, "GetNameInfo", 2, 2, TY(STRING), cert_getnameinfo, TY(NAMETYPE), TY(BOOL)),
	METH(CERT, "GetRawCertData", 0, 0, TARR(BYTE), cert_rawdata, { 0 }),
	METH(CERT, "GetSerialNumberString", 0, 0, TY(STRING), cert_serial, { 0 }),
	METH(CERT, "Verify", 0, 0, TY(BOOL), cert_verify, { 0 }),
	METH(CERT, "VerifyNoRevocation", 0, 0, TY(BOOL), cert_verify_norev, { 0 }),
	PROP(X500, "Name", TY(STRING), x500_name),
	SPROP(NAMETYPE, "DnsFromAlternativeName", TY(NAMETYPE), nt_dnsalt),
	SPROP(NAMETYPE, "DnsName", TY(NAMETYPE), nt_dns),
	SPROP(NAMETYPE, "EmailName", TY(NAMETYPE), nt_email),
	SPROP(NAMETYPE, "SimpleName", TY(NAMETYPE), nt_simple),
	SPROP(NAMETYPE, "UpnName", TY(NAMETYPE), nt_upn),
	SPROP(NAMETYPE, "UrlName", TY(NAMETYPE), nt_url),
	PROP(BASICAUTH, "Password", TY(STRING), basic_password),
	PROP(BASICAUTH, "UserId", TY(STRING), basic_user),
	PROP(SUBSCRIPTION, "CreatedDate", TY(DATETIME), sub_created),
	{ CG_EXPR_T_SUBSCRIPTION, MF_NULLABLE, 0, 0, "EndDate", { { 0 } }, TY(DATETIME), sub_end },
	PROP(SUBSCRIPTION, "Id", TY(STRING), sub_id),
	PROP(SUBSCRIPTION, "Key", TY(STRING), sub_key),
	PROP(SUBSCRIPTION, "Name", TY(STRING), sub_name),
	PROP(SUBSCRIPTION, "PrimaryKey", TY(STRING), sub_primary),
	PROP(SUBSCRIPTION, "SecondaryKey", TY(STRING), sub_secondary),
	{ CG_EXPR_T_SUBSCRIPTION, MF_NULLABLE, 0, 0, "StartDate", { { 0 } }, TY(DATETIME), sub_start },
	PROP(USER, "Email", TY(STRING), never),
	PROP(USER, "FirstName", TY(STRING), never),
	PROP(USER, "Id", TY(STRING), never),
	PROP(USER, "LastName", TY(STRING), never),
	PROP(USER, "Note", TY(STRING), never),
	PROP(PRODUCT, "ApprovalRequired", TY(BOOL), prod_approval),
	PROP(PRODUCT, "Id", TY(STRING), prod_id),
	PROP(PRODUCT, "Name", TY(STRING), prod_name),
	PROP(PRODUCT, "State", TY(STRING), prod_state),
	{ CG_EXPR_T_PRODUCT, MF_NULLABLE, 0, 0, "SubscriptionLimit", { { 0 } }, TY(INT), prod_limit },
	PROP(PRODUCT, "SubscriptionRequired", TY(BOOL), prod_subreq),
	{ CG_EXPR_T_PRODUCT, MF_NULLABLE, 0, 0, "SubscriptionsLimit", { { 0 } }, TY(INT), prod_limit },
	METH(X500, "ToString", 0, 0, TY(STRING), any_tostring, { 0 }),

	/* dictionaries */
	PROP(CERTDICT, "Count", TY(INT), certs_count),
	METH(CERTDICT, "ContainsKey", 1, 1, TY(BOOL), certs_containskey, TY(STRING)),
	INDEXER(CERTDICT, TY(CERT), certs_index, TY(STRING)),
	METHF(CERTDICT, MF_OUT2, "TryGetValue", 2, 2, TY(BOOL), certs_trygetvalue, TY(STRING), TY(CERT)),
	PROP(CERTKV, "Key", TY(STRING), certkv_key),
	PROP(CERTKV, "Value", TY(CERT), certkv_value),

	PROP(HEADERS, "Count", TY(INT), hdrs_count),
	METH(HEADERS, "ContainsKey", 1, 1, TY(BOOL), hdrs_containskey, TY(STRING)),
	METH(HEADERS, "GetValueOrDefault", 1, 2, TY(STRING), hdrs_get, TY(STRING), TY(STRING)),
	INDEXER(HEADERS, TARR(STRING), hdrs_index, TY(STRING)),
	METHF(HEADERS, MF_OUT2, "TryGetValue", 2, 2, TY(BOOL), hdrs_trygetvalue, TY(STRING), TARR(STRING)),
	PROP(HEADERKV, "Key", TY(STRING), hdrkv_key),
	PROP(HEADERKV, "Value", TARR(STRING), hdrkv_value),

	PROP(STRDICT, "Count", TY(INT), smap_count),
	METH(STRDICT, "ContainsKey", 1, 1, TY(BOOL), smap_containskey, TY(STRING)),
	METH(STRDICT, "GetValueOrDefault", 1, 2, TY(STRING), smap_get, TY(STRING), TY(STRING)),
	INDEXER(STRDICT, TY(STRING), smap_index, TY(STRING)),
	METHF(STRDICT, MF_OUT2, "TryGetValue", 2, 2, TY(BOOL), smap_trygetvalue, TY(STRING), TY(STRING)),
	PROP(STRKV, "Key", TY(STRING), strkv_key),
	PROP(STRKV, "Value", TY(STRING), strkv_value),

	PROP(VARIABLES, "Count", TY(INT), vars_count),
	METH(VARIABLES, "ContainsKey", 1, 1, TY(BOOL), vars_containskey, TY(STRING)),
	METHF(VARIABLES, MF_GENERIC, "GetValueOrDefault", 1, 2, TY(OBJECT), vars_get_t, TY(STRING), TY(OBJECT)),
	METH(VARIABLES, "GetValueOrDefault", 1, 2, TY(OBJECT), vars_get, TY(STRING), TY(OBJECT)),
	INDEXER(VARIABLES, TY(OBJECT), vars_index, TY(STRING)),
	METHF(VARIABLES, MF_OUT2, "TryGetValue", 2, 2, TY(BOOL), vars_trygetvalue, TY(STRING), TY(OBJECT)),
	PROP(VARKV, "Key", TY(STRING), varkv_key),
	PROP(VARKV, "Value", TY(OBJECT), varkv_value),

	PROP(ARRAY, "Length", TY(INT), array_length),
	METH(ARRAY, "set_Item", 2, 2, TY(VOID), array_set, TY(INT), TY(ELEM)),

	/* System.String */
	PROP(STRING, "Length", TY(INT), str_length),
	SPROP(STRING, "Empty", TY(STRING), str_empty),
	METHF(STRING, MF_NULLSELF, "AsBasic", 0, 0, TY(BASICAUTH), str_asbasic, { 0 }),
	METHF(STRING, MF_NULLSELF, "AsJwt", 0, 0, TY(JWT), cg_expr_str_asjwt, { 0 }),
	METH(STRING, "CompareTo", 1, 1, TY(INT), str_compareto, TY(STRING)),
	SMETH(STRING, "Compare", 2, 3, TY(INT), str_s_compare, TY(STRING), TY(STRING), TY(STRCMP)),
	SMETH(STRING, "Compare", 3, 3, TY(INT), str_s_compare, TY(STRING), TY(STRING), TY(BOOL)),
	SMETH(STRING, "CompareOrdinal", 2, 2, TY(INT), str_compareordinal, TY(STRING), TY(STRING)),
	SMETHF(STRING, MF_VARARGS, "Concat", 1, 1, TY(STRING), str_concat, TY(OBJECT)),
	METH(STRING, "Contains", 1, 2, TY(BOOL), str_contains, TY(STRING), TY(STRCMP)),
	METH(STRING, "Contains", 1, 2, TY(BOOL), str_contains, TY(CHAR), TY(STRCMP)),
	METH(STRING, "EndsWith", 1, 2, TY(BOOL), str_endswith, TY(STRING), TY(STRCMP)),
	METH(STRING, "EndsWith", 1, 1, TY(BOOL), str_endswith, TY(CHAR)),
	METH(STRING, "Equals", 1, 2, TY(BOOL), str_equals, TY(STRING), TY(STRCMP)),
	SMETH(STRING, "Equals", 2, 3, TY(BOOL), str_s_equals, TY(STRING), TY(STRING), TY(STRCMP)),
	SMETHF(STRING, MF_VARARGS, "Format", 1, 2, TY(STRING), str_format, TY(STRING), TY(OBJECT)),
	METH(STRING, "IndexOf", 1, 2, TY(INT), str_indexof, TY(STRING), TY(INT)),
	METH(STRING, "IndexOfAny", 1, 1, TY(INT), str_indexofany, TARR(CHAR)),
	METH(STRING, "Insert", 2, 2, TY(STRING), str_insert, TY(INT), TY(STRING)),
	METH(STRING, "IndexOf", 2, 2, TY(INT), str_indexof, TY(STRING), TY(STRCMP)),
	METH(STRING, "IndexOf", 1, 2, TY(INT), str_indexof, TY(CHAR), TY(INT)),
	SMETH(STRING, "IsNullOrEmpty", 1, 1, TY(BOOL), str_isnullorempty, TY(STRING)),
	SMETH(STRING, "IsNullOrWhiteSpace", 1, 1, TY(BOOL), str_isnullorwhitespace, TY(STRING)),
	SMETH(STRING, "Join", 2, 2, TY(STRING), str_join_seq, TY(STRING), TARR(STRING)),
	SMETH(STRING, "Join", 2, 2, TY(STRING), str_join_seq, TY(STRING), TSEQ(STRING)),
	SMETHF(STRING, MF_VARARGS, "Join", 2, 2, TY(STRING), str_join_args, TY(STRING), TY(OBJECT)),
	METH(STRING, "LastIndexOf", 1, 1, TY(INT), str_lastindexof, TY(STRING)),
	METH(STRING, "LastIndexOf", 1, 1, TY(INT), str_lastindexof, TY(CHAR)),
	METH(STRING, "PadLeft", 1, 2, TY(STRING), str_padleft, TY(INT), TY(CHAR)),
	METH(STRING, "PadRight", 1, 2, TY(STRING), str_padright, TY(INT), TY(CHAR)),
	METH(STRING, "Remove", 1, 2, TY(STRING), str_remove, TY(INT), TY(INT)),
	METH(STRING, "Replace", 2, 2, TY(STRING), str_replace, TY(STRING), TY(STRING)),
	METH(STRING, "Replace", 2, 2, TY(STRING), str_replace, TY(CHAR), TY(CHAR)),
	METH(STRING, "Split", 1, 1, TARR(STRING), str_split, TY(STRING)),
	METH(STRING, "Split", 2, 2, TARR(STRING), str_split_opt, TY(STRING), TY(SPLITOPT)),
	METH(STRING, "Split", 2, 2, TARR(STRING), str_split_opt, TY(CHAR), TY(SPLITOPT)),
	METH(STRING, "Split", 2, 2, TARR(STRING), str_split_opt, TARR(CHAR), TY(SPLITOPT)),
	METH(STRING, "Split", 1, 1, TARR(STRING), str_split, TARR(CHAR)),
	METHF(STRING, MF_VARARGS, "Split", 0, 1, TARR(STRING), str_split, TY(CHAR)),
	METH(STRING, "StartsWith", 1, 2, TY(BOOL), str_startswith, TY(STRING), TY(STRCMP)),
	METH(STRING, "StartsWith", 1, 1, TY(BOOL), str_startswith, TY(CHAR)),
	METH(STRING, "Substring", 1, 2, TY(STRING), str_substring, TY(INT), TY(INT)),
	METH(STRING, "ToCharArray", 0, 0, TARR(CHAR), str_tochararray, { 0 }),
	METH(STRING, "ToLower", 0, 0, TY(STRING), str_tolower, { 0 }),
	{ CG_EXPR_T_STRING, MF_METHOD | MF_NULLSELF | MF_OUT1, 1, 1, "TryParseBasic", { TY(BASICAUTH) }, TY(BOOL), str_tryparsebasic },
	{ CG_EXPR_T_STRING, MF_METHOD | MF_NULLSELF | MF_OUT1, 1, 1, "TryParseJwt", { TY(JWT) }, TY(BOOL), str_tryparsejwt },
	METH(STRING, "ToLowerInvariant", 0, 0, TY(STRING), str_tolower, { 0 }),
	METH(STRING, "ToString", 0, 0, TY(STRING), str_tostring, { 0 }),
	METH(STRING, "ToUpper", 0, 0, TY(STRING), str_toupper, { 0 }),
	METH(STRING, "ToUpperInvariant", 0, 0, TY(STRING), str_toupper, { 0 }),
	METHF(STRING, MF_VARARGS, "Trim", 0, 1, TY(STRING), str_trim, TY(CHAR)),
	METHF(STRING, MF_VARARGS, "TrimEnd", 0, 1, TY(STRING), str_trimend, TY(CHAR)),
	METHF(STRING, MF_VARARGS, "TrimStart", 0, 1, TY(STRING), str_trimstart, TY(CHAR)),

	/* numbers, bool, char */
	SPROP(INT, "MaxValue", TY(INT), int_max),
	SPROP(INT, "MinValue", TY(INT), int_min),
	SMETH(INT, "Parse", 1, 1, TY(INT), int_parse, TY(STRING)),
	SMETHF(INT, MF_OUT2, "TryParse", 2, 2, TY(BOOL), int_tryparse, TY(STRING), TY(INT)),
	METH(INT, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	SPROP(LONG, "MaxValue", TY(LONG), long_max),
	SPROP(LONG, "MinValue", TY(LONG), long_min),
	SMETH(LONG, "Parse", 1, 1, TY(LONG), long_parse, TY(STRING)),
	SMETHF(LONG, MF_OUT2, "TryParse", 2, 2, TY(BOOL), long_tryparse, TY(STRING), TY(LONG)),
	METH(LONG, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	SMETH(DOUBLE, "IsNaN", 1, 1, TY(BOOL), double_isnan, TY(DOUBLE)),
	SMETH(DOUBLE, "IsInfinity", 1, 1, TY(BOOL), double_isinf, TY(DOUBLE)),
	SMETH(DOUBLE, "IsPositiveInfinity", 1, 1, TY(BOOL), double_isposinf, TY(DOUBLE)),
	SMETH(DOUBLE, "IsNegativeInfinity", 1, 1, TY(BOOL), double_isneginf, TY(DOUBLE)),
	SPROP(DOUBLE, "NaN", TY(DOUBLE), double_nan),
	SPROP(DOUBLE, "PositiveInfinity", TY(DOUBLE), double_posinf),
	SPROP(DOUBLE, "NegativeInfinity", TY(DOUBLE), double_neginf),
	SPROP(DOUBLE, "MaxValue", TY(DOUBLE), double_maxvalue),
	SPROP(DOUBLE, "MinValue", TY(DOUBLE), double_minvalue),
	SPROP(DOUBLE, "Epsilon", TY(DOUBLE), double_epsilon),
	SMETH(DOUBLE, "Parse", 1, 1, TY(DOUBLE), double_parse, TY(STRING)),
	SMETHF(DOUBLE, MF_OUT2, "TryParse", 2, 2, TY(BOOL), double_tryparse, TY(STRING), TY(DOUBLE)),
	METH(DOUBLE, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	SPROP(DECIMAL, "MaxValue", TY(DECIMAL), dec_max),
	SPROP(DECIMAL, "MinValue", TY(DECIMAL), dec_min),
	SPROP(DECIMAL, "Zero", TY(DECIMAL), dec_zero),
	SPROP(DECIMAL, "One", TY(DECIMAL), dec_one),
	SMETH(DECIMAL, "Parse", 1, 1, TY(DECIMAL), dec_parse, TY(STRING)),
	SMETH(DECIMAL, "Round", 1, 2, TY(DECIMAL), dec_round, TY(DECIMAL), TY(INT)),
	SMETH(DECIMAL, "Floor", 1, 1, TY(DECIMAL), dec_floor, TY(DECIMAL)),
	SMETH(DECIMAL, "Ceiling", 1, 1, TY(DECIMAL), dec_ceiling, TY(DECIMAL)),
	SMETH(DECIMAL, "Truncate", 1, 1, TY(DECIMAL), dec_truncate, TY(DECIMAL)),
	SMETH(DECIMAL, "Negate", 1, 1, TY(DECIMAL), dec_negate, TY(DECIMAL)),
	SMETH(DECIMAL, "Compare", 2, 2, TY(INT), dec_compare, TY(DECIMAL), TY(DECIMAL)),
	SMETHF(DECIMAL, MF_OUT2, "TryParse", 2, 2, TY(BOOL), dec_tryparse, TY(STRING), TY(DECIMAL)),
	METH(DECIMAL, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	SMETH(BOOL, "Parse", 1, 1, TY(BOOL), bool_parse, TY(STRING)),
	SMETHF(BOOL, MF_OUT2, "TryParse", 2, 2, TY(BOOL), bool_tryparse, TY(STRING), TY(BOOL)),
	METH(BOOL, "ToString", 0, 0, TY(STRING), any_tostring, { 0 }),
	SMETH(CHAR, "IsDigit", 1, 1, TY(BOOL), char_isdigit, TY(CHAR)),
	SMETH(CHAR, "IsLetter", 1, 1, TY(BOOL), char_isletter, TY(CHAR)),
	SMETH(CHAR, "IsLetterOrDigit", 1, 1, TY(BOOL), char_isletterordigit, TY(CHAR)),
	SMETH(CHAR, "IsWhiteSpace", 1, 1, TY(BOOL), char_iswhitespace, TY(CHAR)),
	METH(CHAR, "ToString", 0, 0, TY(STRING), any_tostring, { 0 }),
	METH(OBJECT, "ToString", 0, 0, TY(STRING), any_tostring, { 0 }),
	METH(GUID, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	METH(TIMESPAN, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),

	/* Math: the int overloads first so Math.Max(1, 2) stays an int */
	SMETH(MATH, "Abs", 1, 1, TY(INT), math_abs, TY(INT)),
	SMETH(MATH, "Abs", 1, 1, TY(LONG), math_abs, TY(LONG)),
	SMETH(MATH, "Abs", 1, 1, TY(DOUBLE), math_abs, TY(DOUBLE)),
	SMETH(MATH, "Ceiling", 1, 1, TY(DOUBLE), math_ceiling, TY(DOUBLE)),
	SMETH(MATH, "Floor", 1, 1, TY(DOUBLE), math_floor, TY(DOUBLE)),
	SMETH(MATH, "Max", 2, 2, TY(INT), math_max, TY(INT), TY(INT)),
	SMETH(MATH, "Max", 2, 2, TY(LONG), math_max, TY(LONG), TY(LONG)),
	SMETH(MATH, "Max", 2, 2, TY(DOUBLE), math_max, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Min", 2, 2, TY(INT), math_min, TY(INT), TY(INT)),
	SMETH(MATH, "Min", 2, 2, TY(LONG), math_min, TY(LONG), TY(LONG)),
	SMETH(MATH, "Min", 2, 2, TY(DOUBLE), math_min, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Round", 1, 2, TY(DOUBLE), math_round, TY(DOUBLE), TY(INT)),
	SMETH(MATH, "Sign", 1, 1, TY(INT), math_sign, TY(INT)),
	SMETH(MATH, "Sign", 1, 1, TY(INT), math_sign, TY(LONG)),
	SMETH(MATH, "Sign", 1, 1, TY(INT), math_sign, TY(DOUBLE)),
	SMETH(MATH, "Clamp", 3, 3, TY(INT), math_clamp, TY(INT), TY(INT), TY(INT)),
	SMETH(MATH, "Clamp", 3, 3, TY(LONG), math_clamp, TY(LONG), TY(LONG), TY(LONG)),
	SMETH(MATH, "Clamp", 3, 3, TY(DOUBLE), math_clamp, TY(DOUBLE), TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Truncate", 1, 1, TY(DOUBLE), math_truncate, TY(DOUBLE)),
	SMETH(MATH, "Pow", 2, 2, TY(DOUBLE), math_pow, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Sqrt", 1, 1, TY(DOUBLE), math_sqrt, TY(DOUBLE)),
	SMETH(MATH, "Cbrt", 1, 1, TY(DOUBLE), math_cbrt, TY(DOUBLE)),
	SMETH(MATH, "Exp", 1, 1, TY(DOUBLE), math_exp, TY(DOUBLE)),
	SMETH(MATH, "Log", 1, 2, TY(DOUBLE), math_log, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Log10", 1, 1, TY(DOUBLE), math_log10, TY(DOUBLE)),
	SMETH(MATH, "Log2", 1, 1, TY(DOUBLE), math_log2, TY(DOUBLE)),
	SMETH(MATH, "Sin", 1, 1, TY(DOUBLE), math_sin, TY(DOUBLE)),
	SMETH(MATH, "Cos", 1, 1, TY(DOUBLE), math_cos, TY(DOUBLE)),
	SMETH(MATH, "Tan", 1, 1, TY(DOUBLE), math_tan, TY(DOUBLE)),
	SMETH(MATH, "Asin", 1, 1, TY(DOUBLE), math_asin, TY(DOUBLE)),
	SMETH(MATH, "Acos", 1, 1, TY(DOUBLE), math_acos, TY(DOUBLE)),
	SMETH(MATH, "Atan", 1, 1, TY(DOUBLE), math_atan, TY(DOUBLE)),
	SMETH(MATH, "Atan2", 2, 2, TY(DOUBLE), math_atan2, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "Sinh", 1, 1, TY(DOUBLE), math_sinh, TY(DOUBLE)),
	SMETH(MATH, "Cosh", 1, 1, TY(DOUBLE), math_cosh, TY(DOUBLE)),
	SMETH(MATH, "Tanh", 1, 1, TY(DOUBLE), math_tanh, TY(DOUBLE)),
	SMETH(MATH, "IEEERemainder", 2, 2, TY(DOUBLE), math_ieeeremainder, TY(DOUBLE), TY(DOUBLE)),
	SMETH(MATH, "BigMul", 2, 2, TY(LONG), math_bigmul, TY(INT), TY(INT)),
	SPROP(MATH, "PI", TY(DOUBLE), math_pi),
	SPROP(MATH, "E", TY(DOUBLE), math_e),
	/* decimal overloads after the double ones: Math.Round(1) stays a double */
	SMETH(MATH, "Abs", 1, 1, TY(DECIMAL), dec_abs, TY(DECIMAL)),
	SMETH(MATH, "Ceiling", 1, 1, TY(DECIMAL), dec_ceiling, TY(DECIMAL)),
	SMETH(MATH, "Floor", 1, 1, TY(DECIMAL), dec_floor, TY(DECIMAL)),
	SMETH(MATH, "Max", 2, 2, TY(DECIMAL), dec_max2, TY(DECIMAL), TY(DECIMAL)),
	SMETH(MATH, "Min", 2, 2, TY(DECIMAL), dec_min2, TY(DECIMAL), TY(DECIMAL)),
	SMETH(MATH, "Round", 1, 2, TY(DECIMAL), dec_round, TY(DECIMAL), TY(INT)),
	SMETH(MATH, "Sign", 1, 1, TY(INT), dec_sign, TY(DECIMAL)),
	SMETH(MATH, "Clamp", 3, 3, TY(DECIMAL), dec_clamp, TY(DECIMAL), TY(DECIMAL), TY(DECIMAL)),
	SMETH(MATH, "Truncate", 1, 1, TY(DECIMAL), dec_truncate, TY(DECIMAL)),

	/* Convert */
	SMETH(CONVERT, "FromBase64String", 1, 1, TARR(BYTE), conv_frombase64, TY(STRING)),
	SMETH(CONVERT, "ToBase64String", 1, 1, TY(STRING), conv_tobase64, TARR(BYTE)),
	SMETH(CONVERT, "ToBoolean", 1, 1, TY(BOOL), conv_tobool, TY(OBJECT)),
	SMETH(CONVERT, "ToDecimal", 1, 1, TY(DECIMAL), conv_todecimal, TY(OBJECT)),
	SMETH(CONVERT, "ToDouble", 1, 1, TY(DOUBLE), conv_todouble, TY(OBJECT)),
	SMETH(CONVERT, "ToInt32", 1, 1, TY(INT), conv_toint32, TY(OBJECT)),
	SMETH(CONVERT, "ToInt64", 1, 1, TY(LONG), conv_toint64, TY(OBJECT)),
	SMETH(CONVERT, "ToString", 1, 1, TY(STRING), conv_tostring, TY(OBJECT)),

	/* DateTime: only the members APIM allows */
	SMETH(DATETIME, ".ctor", 3, 3, TY(DATETIME), dt_ctor, TY(INT), TY(INT), TY(INT)),
	SMETH(DATETIME, ".ctor", 6, 6, TY(DATETIME), dt_ctor, TY(INT), TY(INT), TY(INT), TY(INT), TY(INT), TY(INT)),
	METH(DATETIME, "Add", 1, 1, TY(DATETIME), dt_add, TY(TIMESPAN)),
	METH(DATETIME, "AddDays", 1, 1, TY(DATETIME), dt_adddays, TY(DOUBLE)),
	METH(DATETIME, "AddHours", 1, 1, TY(DATETIME), dt_addhours, TY(DOUBLE)),
	METH(DATETIME, "AddMilliseconds", 1, 1, TY(DATETIME), dt_addms, TY(DOUBLE)),
	METH(DATETIME, "AddMinutes", 1, 1, TY(DATETIME), dt_addminutes, TY(DOUBLE)),
	METH(DATETIME, "AddMonths", 1, 1, TY(DATETIME), dt_addmonths, TY(INT)),
	METH(DATETIME, "AddSeconds", 1, 1, TY(DATETIME), dt_addseconds, TY(DOUBLE)),
	METH(DATETIME, "AddTicks", 1, 1, TY(DATETIME), dt_addticks, TY(LONG)),
	METH(DATETIME, "AddYears", 1, 1, TY(DATETIME), dt_addyears, TY(INT)),
	PROP(DATETIME, "Date", TY(DATETIME), dt_date),
	PROP(DATETIME, "Day", TY(INT), dt_day),
	PROP(DATETIME, "DayOfWeek", TY(DAYOFWEEK), dt_dayofweek),
	PROP(DATETIME, "DayOfYear", TY(INT), dt_dayofyear),
	SMETH(DATETIME, "DaysInMonth", 2, 2, TY(INT), dt_daysinmonth, TY(INT), TY(INT)),
	{ CG_EXPR_T_DATETIME, MF_NULLSELF, 0, 0, "HasValue", { { 0 } }, TY(BOOL), dt_hasvalue },
	PROP(DATETIME, "Hour", TY(INT), dt_hour),
	METH(DATETIME, "IsDaylightSavingTime", 0, 0, TY(BOOL), dt_isdst, { 0 }),
	SMETH(DATETIME, "IsLeapYear", 1, 1, TY(BOOL), dt_isleapyear, TY(INT)),
	SPROP(DATETIME, "MaxValue", TY(DATETIME), dt_maxvalue),
	PROP(DATETIME, "Millisecond", TY(INT), dt_millisecond),
	PROP(DATETIME, "Minute", TY(INT), dt_minute),
	SPROP(DATETIME, "MinValue", TY(DATETIME), dt_minvalue),
	PROP(DATETIME, "Month", TY(INT), dt_month),
	SPROP(DATETIME, "Now", TY(DATETIME), dt_now),
	SMETH(DATETIME, "Parse", 1, 1, TY(DATETIME), dt_parse, TY(STRING)),
	PROP(DATETIME, "Second", TY(INT), dt_second),
	METH(DATETIME, "Subtract", 1, 1, TY(TIMESPAN), dt_subtract, TY(DATETIME)),
	METH(DATETIME, "Subtract", 1, 1, TY(DATETIME), dt_subtract, TY(TIMESPAN)),
	PROP(DATETIME, "Ticks", TY(LONG), dt_ticks),
	PROP(DATETIME, "TimeOfDay", TY(TIMESPAN), dt_timeofday),
	SPROP(DATETIME, "Today", TY(DATETIME), dt_today),
	METH(DATETIME, "ToString", 0, 1, TY(STRING), any_tostring, TY(STRING)),
	SPROP(DATETIME, "UtcNow", TY(DATETIME), dt_utcnow),
	{ CG_EXPR_T_DATETIME, MF_NULLSELF, 0, 0, "Value", { { 0 } }, TY(DATETIME), dt_value },
	PROP(DATETIME, "Year", TY(INT), dt_year),

	/* TimeSpan */
	SMETH(TIMESPAN, ".ctor", 3, 4, TY(TIMESPAN), ts_ctor, TY(INT), TY(INT), TY(INT), TY(INT)),
	METH(TIMESPAN, "Add", 1, 1, TY(TIMESPAN), ts_add, TY(TIMESPAN)),
	PROP(TIMESPAN, "Days", TY(INT), ts_days),
	METH(TIMESPAN, "Duration", 0, 0, TY(TIMESPAN), ts_duration, { 0 }),
	SMETH(TIMESPAN, "FromDays", 1, 1, TY(TIMESPAN), ts_fromdays, TY(DOUBLE)),
	SMETH(TIMESPAN, "FromHours", 1, 1, TY(TIMESPAN), ts_fromhours, TY(DOUBLE)),
	SMETH(TIMESPAN, "FromMilliseconds", 1, 1, TY(TIMESPAN), ts_fromms, TY(DOUBLE)),
	SMETH(TIMESPAN, "FromMinutes", 1, 1, TY(TIMESPAN), ts_fromminutes, TY(DOUBLE)),
	SMETH(TIMESPAN, "FromSeconds", 1, 1, TY(TIMESPAN), ts_fromseconds, TY(DOUBLE)),
	SMETH(TIMESPAN, "FromTicks", 1, 1, TY(TIMESPAN), ts_fromticks, TY(LONG)),
	PROP(TIMESPAN, "Hours", TY(INT), ts_hours),
	PROP(TIMESPAN, "Milliseconds", TY(INT), ts_milliseconds),
	PROP(TIMESPAN, "Minutes", TY(INT), ts_minutes),
	PROP(TIMESPAN, "Seconds", TY(INT), ts_seconds),
	METH(TIMESPAN, "Subtract", 1, 1, TY(TIMESPAN), ts_subtract, TY(TIMESPAN)),
	PROP(TIMESPAN, "Ticks", TY(LONG), ts_ticks),
	PROP(TIMESPAN, "TotalDays", TY(DOUBLE), ts_totaldays),
	PROP(TIMESPAN, "TotalHours", TY(DOUBLE), ts_totalhours),
	PROP(TIMESPAN, "TotalMilliseconds", TY(DOUBLE), ts_totalms),
	PROP(TIMESPAN, "TotalMinutes", TY(DOUBLE), ts_totalminutes),
	PROP(TIMESPAN, "TotalSeconds", TY(DOUBLE), ts_totalseconds),
	SPROP(TIMESPAN, "Zero", TY(TIMESPAN), ts_zero),

	/* Guid */
	SMETH(GUID, ".ctor", 1, 1, TY(GUID), guid_parse, TY(STRING)),
	SPROP(GUID, "Empty", TY(GUID), guid_empty),
	SMETH(GUID, "NewGuid", 0, 0, TY(GUID), guid_new, { 0 }),
	SMETH(GUID, "Parse", 1, 1, TY(GUID), guid_parse, TY(STRING)),
	SMETHF(GUID, MF_OUT2, "TryParse", 2, 2, TY(BOOL), guid_tryparse, TY(STRING), TY(GUID)),

	/* byte[], Encoding */
	SPROP(ENCODING, "ASCII", TY(ENCODING), enc_getascii),
	METH(ENCODING, "GetBytes", 1, 1, TARR(BYTE), enc_getbytes, TY(STRING)),
	METH(ENCODING, "GetString", 1, 1, TY(STRING), enc_getstring, TARR(BYTE)),
	SPROP(ENCODING, "UTF8", TY(ENCODING), enc_getutf8),

	/* Regex (static methods), Match, Group, GroupCollection, RegexOptions */
	SMETH(REGEX, "IsMatch", 2, 3, TY(BOOL), re_ismatch, TY(STRING), TY(STRING), TY(REGEXOPT)),
	SMETH(REGEX, "Match", 2, 3, TY(MATCH), re_match, TY(STRING), TY(STRING), TY(REGEXOPT)),
	SMETH(REGEX, "Replace", 3, 4, TY(STRING), re_replace, TY(STRING), TY(STRING), TY(STRING), TY(REGEXOPT)),
	SMETH(REGEX, "Matches", 2, 3, TY(MATCHES), re_matches, TY(STRING), TY(STRING), TY(REGEXOPT)),
	SMETH(REGEX, "Split", 2, 3, TARR(STRING), re_split, TY(STRING), TY(STRING), TY(REGEXOPT)),
	SMETH(REGEX, "Escape", 1, 1, TY(STRING), re_escape, TY(STRING)),
	SMETH(REGEX, ".ctor", 1, 2, TY(REGEX), rx_ctor, TY(STRING), TY(REGEXOPT)),
	METH(REGEX, "IsMatch", 1, 1, TY(BOOL), rx_ismatch, TY(STRING)),
	METH(REGEX, "Match", 1, 1, TY(MATCH), rx_match, TY(STRING)),
	METH(REGEX, "Matches", 1, 1, TY(MATCHES), rx_matches, TY(STRING)),
	METH(REGEX, "Replace", 2, 2, TY(STRING), rx_replace, TY(STRING), TY(STRING)),
	METH(REGEX, "Split", 1, 1, TARR(STRING), rx_split, TY(STRING)),
	METH(REGEX, "ToString", 0, 0, TY(STRING), rx_tostring, { 0 }),
	METH(MATCH, "NextMatch", 0, 0, TY(MATCH), match_next, { 0 }),
	METH(MATCH, "ToString", 0, 0, TY(STRING), match_value, { 0 }),
	METH(GROUP, "ToString", 0, 0, TY(STRING), group_value, { 0 }),
	PROP(MATCHES, "Count", TY(INT), matches_count),
	{ CG_EXPR_T_NULLABLE, MF_NULLSELF, 0, 0, "HasValue", { { 0 } }, TY(BOOL), nul_hasvalue },
	{ CG_EXPR_T_NULLABLE, MF_NULLSELF, 0, 0, "Value", { { 0 } }, TY(ELEM), nul_value },
	{ CG_EXPR_T_NULLABLE, MF_NULLSELF | MF_METHOD, 0, 1, "GetValueOrDefault", { TY(ELEM) }, TY(ELEM), nul_getvalueordefault },
	{ CG_EXPR_T_NULLABLE, MF_NULLSELF | MF_METHOD, 0, 0, "ToString", { { 0 } }, TY(STRING), nul_tostring },
	{ CG_EXPR_T_MATCHES, MF_INDEXER, 1, 1, "this[]", { TY(INT) }, TY(MATCH), matches_index },
	PROP(MATCH, "Groups", TY(GROUPS), match_groups),
	PROP(MATCH, "Index", TY(INT), match_index),
	PROP(MATCH, "Length", TY(INT), match_length),
	PROP(MATCH, "Success", TY(BOOL), match_success),
	PROP(MATCH, "Value", TY(STRING), match_value),
	PROP(GROUPS, "Count", TY(INT), groups_count),
	{ CG_EXPR_T_GROUPS, MF_INDEXER, 1, 1, "this[]", { TY(INT) }, TY(GROUP), groups_index },
	{ CG_EXPR_T_GROUPS, MF_INDEXER, 1, 1, "this[]", { TY(STRING) }, TY(GROUP), groups_index },
	PROP(GROUP, "Index", TY(INT), group_index),
	PROP(GROUP, "Length", TY(INT), group_length),
	PROP(GROUP, "Success", TY(BOOL), group_success),
	PROP(GROUP, "Value", TY(STRING), group_value),
	SPROP(REGEXOPT, "IgnoreCase", TY(REGEXOPT), ro_ignorecase),
	SPROP(REGEXOPT, "Multiline", TY(REGEXOPT), ro_multiline),
	SPROP(REGEXOPT, "None", TY(REGEXOPT), ro_none),

	/* IMessageBody, JToken/JObject/JArray */
	METHF(BODY, MF_GENERIC, "As", 0, 1, TY(OBJECT), cg_expr_body_as, TY(BOOL)),
	SMETHF(JTOKEN, MF_VARARGS, ".ctor", 0, 1, TY(JTOKEN), cg_expr_json_ctor, TY(OBJECT)),
	METH(JTOKEN, "Add", 1, 1, TY(VOID), cg_expr_json_add, TY(OBJECT)),
	METH(JTOKEN, "Add", 2, 2, TY(VOID), cg_expr_json_add, TY(STRING), TY(OBJECT)),
	PROP(JTOKEN, "Count", TY(INT), cg_expr_json_count),
	METH(JTOKEN, "ContainsKey", 1, 1, TY(BOOL), cg_expr_json_containskey, TY(STRING)),
	SMETH(JTOKEN, "Parse", 1, 1, TY(JTOKEN), cg_expr_json_parse, TY(STRING)),
	METH(JTOKEN, "Properties", 0, 0, TARR(JPROPERTY), cg_expr_json_properties, { 0 }),
	METH(JTOKEN, "Remove", 1, 1, TY(BOOL), cg_expr_json_remove, TY(STRING)),
	METH(JTOKEN, "SelectToken", 1, 1, TY(JTOKEN), cg_expr_json_selecttoken, TY(STRING)),
	METH(JTOKEN, "set_Item", 2, 2, TY(VOID), cg_expr_json_set, TY(STRING), TY(OBJECT)),
	METH(JTOKEN, "set_Item", 2, 2, TY(VOID), cg_expr_json_set, TY(INT), TY(OBJECT)),
	METH(JTOKEN, "ToString", 0, 1, TY(STRING), cg_expr_json_tostring, TY(INT)),
	PROP(JTOKEN, "Type", TY(JTOKENTYPE), cg_expr_json_type),
	SPROP(DAYOFWEEK, "Friday", TY(DAYOFWEEK), dow_fri),
	SPROP(DAYOFWEEK, "Monday", TY(DAYOFWEEK), dow_mon),
	SPROP(DAYOFWEEK, "Saturday", TY(DAYOFWEEK), dow_sat),
	SPROP(DAYOFWEEK, "Sunday", TY(DAYOFWEEK), dow_sun),
	SPROP(DAYOFWEEK, "Thursday", TY(DAYOFWEEK), dow_thu),
	METH(DAYOFWEEK, "ToString", 0, 0, TY(STRING), str_tostring, { 0 }),
	SPROP(DAYOFWEEK, "Tuesday", TY(DAYOFWEEK), dow_tue),
	SPROP(DAYOFWEEK, "Wednesday", TY(DAYOFWEEK), dow_wed),
	SPROP(JTOKENTYPE, "Array", TY(JTOKENTYPE), jtt_array),
	SPROP(JTOKENTYPE, "Boolean", TY(JTOKENTYPE), jtt_boolean),
	SPROP(JTOKENTYPE, "Float", TY(JTOKENTYPE), jtt_float),
	SPROP(JTOKENTYPE, "Integer", TY(JTOKENTYPE), jtt_integer),
	SPROP(JTOKENTYPE, "Null", TY(JTOKENTYPE), jtt_null),
	SPROP(JTOKENTYPE, "Object", TY(JTOKENTYPE), jtt_object),
	SPROP(JTOKENTYPE, "String", TY(JTOKENTYPE), jtt_string),
	METH(JTOKENTYPE, "ToString", 0, 0, TY(STRING), str_tostring, { 0 }),
	METHF(JTOKEN, MF_GENERIC, "Value", 1, 1, TY(OBJECT), cg_expr_json_value, TY(STRING)),
	{ CG_EXPR_T_JTOKEN, MF_INDEXER, 1, 1, "this[]", { TY(STRING) }, TY(JTOKEN), cg_expr_json_index },
	{ CG_EXPR_T_JTOKEN, MF_INDEXER, 1, 1, "this[]", { TY(INT) }, TY(JTOKEN), cg_expr_json_index },

	SMETH(JPROPERTY, ".ctor", 2, 2, TY(JPROPERTY), cg_expr_jprop_ctor, TY(STRING), TY(OBJECT)),
	PROP(JPROPERTY, "Name", TY(STRING), cg_expr_jprop_name),
	PROP(JPROPERTY, "Value", TY(JTOKEN), cg_expr_jprop_value),
	SMETH(JSONCONVERT, "SerializeObject", 1, 1, TY(STRING), cg_expr_json_serialize, TY(OBJECT)),

	/* List<T>, HashSet<T>, Dictionary<string, T> (T = the owner's element) */
	SMETH(LIST, ".ctor", 0, 0, TY(LIST), cg_expr_coll_new, { 0 }),
	METH(LIST, "Add", 1, 1, TY(VOID), cg_expr_coll_add, TY(ELEM)),
	METH(LIST, "Clear", 0, 0, TY(VOID), cg_expr_coll_clear, { 0 }),
	METH(LIST, "Contains", 1, 1, TY(BOOL), cg_expr_coll_contains, TY(ELEM)),
	PROP(LIST, "Count", TY(INT), cg_expr_coll_count),
	METH(LIST, "Remove", 1, 1, TY(BOOL), cg_expr_coll_remove, TY(ELEM)),
	METH(LIST, "set_Item", 2, 2, TY(VOID), cg_expr_list_set, TY(INT), TY(ELEM)),
	{ CG_EXPR_T_LIST, MF_INDEXER, 1, 1, "this[]", { TY(INT) }, TY(ELEM), cg_expr_list_get },
	SMETH(SET, ".ctor", 0, 0, TY(SET), cg_expr_coll_new, { 0 }),
	METH(SET, "Add", 1, 1, TY(BOOL), cg_expr_coll_add, TY(ELEM)),
	METH(SET, "Clear", 0, 0, TY(VOID), cg_expr_coll_clear, { 0 }),
	METH(SET, "Contains", 1, 1, TY(BOOL), cg_expr_coll_contains, TY(ELEM)),
	PROP(SET, "Count", TY(INT), cg_expr_coll_count),
	METH(SET, "Remove", 1, 1, TY(BOOL), cg_expr_coll_remove, TY(ELEM)),
	SMETH(DICT, ".ctor", 0, 0, TY(DICT), cg_expr_coll_new, { 0 }),
	METH(DICT, "Add", 2, 2, TY(VOID), cg_expr_dict_add, TY(STRING), TY(ELEM)),
	METH(DICT, "Clear", 0, 0, TY(VOID), cg_expr_coll_clear, { 0 }),
	METH(DICT, "ContainsKey", 1, 1, TY(BOOL), cg_expr_dict_containskey, TY(STRING)),
	PROP(DICT, "Count", TY(INT), cg_expr_coll_count),
	PROP(DICT, "Keys", TARR(STRING), cg_expr_dict_keys),
	METH(DICT, "Remove", 1, 1, TY(BOOL), cg_expr_coll_remove, TY(STRING)),
	METH(DICT, "set_Item", 2, 2, TY(VOID), cg_expr_dict_set, TY(STRING), TY(ELEM)),
	METHF(DICT, MF_OUT2, "TryGetValue", 2, 2, TY(BOOL), cg_expr_dict_trygetvalue, TY(STRING), TY(ELEM)),
	{ CG_EXPR_T_DICT, MF_INDEXER, 1, 1, "this[]", { TY(STRING) }, TY(ELEM), cg_expr_dict_get },
	PROP(DICTKV, "Key", TY(STRING), cg_expr_dictkv_key),
	PROP(DICTKV, "Value", TY(ELEM), cg_expr_dictkv_value),

	/* APIM Jwt */
	PROP(JWT, "Algorithm", TY(STRING), cg_expr_jwt_algorithm),
	PROP(JWT, "Audiences", TARR(STRING), cg_expr_jwt_audiences),
	PROP(JWT, "Claims", TY(HEADERS), cg_expr_jwt_claims),
	{ CG_EXPR_T_JWT, MF_NULLABLE, 0, 0, "ExpirationTime", { { 0 } }, TY(DATETIME), cg_expr_jwt_exp },
	PROP(JWT, "Id", TY(STRING), cg_expr_jwt_id),
	{ CG_EXPR_T_JWT, MF_NULLABLE, 0, 0, "IssuedAt", { { 0 } }, TY(DATETIME), cg_expr_jwt_iat },
	PROP(JWT, "Issuer", TY(STRING), cg_expr_jwt_issuer),
	{ CG_EXPR_T_JWT, MF_NULLABLE, 0, 0, "NotBefore", { { 0 } }, TY(DATETIME), cg_expr_jwt_nbf },
	PROP(JWT, "Subject", TY(STRING), cg_expr_jwt_subject),
	PROP(JWT, "Type", TY(STRING), cg_expr_jwt_type),

	/* HashAlgorithm / HMAC: SHA256.Create(), new HMACSHA256(key), ComputeHash */
	SMETH(HASH, ".ctor", 0, 1, TY(HASH), cg_expr_hash_new, TARR(BYTE)),
	METH(HASH, "ComputeHash", 1, 1, TARR(BYTE), cg_expr_hash_compute, TARR(BYTE)),
	SMETH(HASH, "Create", 0, 0, TY(HASH), cg_expr_hash_new, { 0 }),
	METH(HASH, "Dispose", 0, 0, TY(VOID), cg_expr_hash_dispose, { 0 }),

	SPROP(SPLITOPT, "None", TY(SPLITOPT), so_none),
	SPROP(SPLITOPT, "RemoveEmptyEntries", TY(SPLITOPT), so_removeempty),
	SPROP(SPLITOPT, "TrimEntries", TY(SPLITOPT), so_trim),

	/* DateTimeOffset */
	METH(DTO, "AddDays", 1, 1, TY(DTO), dt_adddays, TY(DOUBLE)),
	METH(DTO, "AddHours", 1, 1, TY(DTO), dt_addhours, TY(DOUBLE)),
	METH(DTO, "AddMinutes", 1, 1, TY(DTO), dt_addminutes, TY(DOUBLE)),
	METH(DTO, "AddSeconds", 1, 1, TY(DTO), dt_addseconds, TY(DOUBLE)),
	PROP(DTO, "DateTime", TY(DATETIME), dto_datetime),
	SMETH(DTO, "FromUnixTimeMilliseconds", 1, 1, TY(DTO), dto_fromunixms, TY(LONG)),
	SMETH(DTO, "FromUnixTimeSeconds", 1, 1, TY(DTO), dto_fromunixsec, TY(LONG)),
	PROP(DTO, "LocalDateTime", TY(DATETIME), dto_localdatetime),
	SPROP(DTO, "Now", TY(DTO), dto_utcnow),
	PROP(DTO, "Offset", TY(TIMESPAN), dto_offset),
	METH(DTO, "ToString", 0, 1, TY(STRING), dto_tostring, TY(STRING)),
	METH(DTO, "ToUnixTimeMilliseconds", 0, 0, TY(LONG), dto_tounixms, { 0 }),
	METH(DTO, "ToUnixTimeSeconds", 0, 0, TY(LONG), dto_tounixsec, { 0 }),
	PROP(DTO, "UtcDateTime", TY(DATETIME), dto_utcdatetime),
	SPROP(DTO, "UtcNow", TY(DTO), dto_utcnow),
	PROP(DTO, "Year", TY(INT), dt_year),

	/* IPAddress */
	PROP(IPADDR, "AddressFamily", TY(STRING), ip_family),
	METH(IPADDR, "Equals", 1, 1, TY(BOOL), ip_equals, TY(IPADDR)),
	METH(IPADDR, "GetAddressBytes", 0, 0, TARR(BYTE), ip_bytes, { 0 }),
	PROP(IPADDR, "IsLoopback", TY(BOOL), ip_isloopback),
	SMETH(IPADDR, "Parse", 1, 1, TY(IPADDR), ip_parse_fn, TY(STRING)),
	METH(IPADDR, "ToString", 0, 0, TY(STRING), ip_tostring, { 0 }),
	SMETHF(IPADDR, MF_OUT2, "TryParse", 2, 2, TY(BOOL), ip_tryparse, TY(STRING), TY(IPADDR)),

	/* BitConverter, Random */
	SMETH(BITCONVERTER, "ToString", 1, 1, TY(STRING), bitconv_tostring, TARR(BYTE)),
	SMETH(RANDOM, ".ctor", 0, 0, TY(RANDOM), random_new, { 0 }),
	METH(RANDOM, "Next", 0, 2, TY(INT), random_next, TY(INT), TY(INT)),
	METH(RANDOM, "NextDouble", 0, 0, TY(DOUBLE), random_nextdouble, { 0 }),

	/* StringBuilder */
	SMETH(SB, ".ctor", 0, 1, TY(SB), sb_new, TY(STRING)),
	METH(SB, "Append", 1, 1, TY(SB), sb_append_fn, TY(OBJECT)),
	METHF(SB, MF_VARARGS, "AppendFormat", 1, 2, TY(SB), sb_appendformat, TY(STRING), TY(OBJECT)),
	METH(SB, "AppendLine", 0, 1, TY(SB), sb_appendline, TY(OBJECT)),
	METH(SB, "Clear", 0, 0, TY(SB), sb_clear, { 0 }),
	PROP(SB, "Length", TY(INT), sb_length),
	METH(SB, "ToString", 0, 0, TY(STRING), sb_tostring, { 0 }),

	/* Uri, WebUtility */
	SMETH(URI, "EscapeDataString", 1, 1, TY(STRING), uri_escape, TY(STRING)),
	SMETH(URI, "UnescapeDataString", 1, 1, TY(STRING), uri_unescape, TY(STRING)),
	SMETH(WEBUTILITY, "HtmlEncode", 1, 1, TY(STRING), web_htmlencode, TY(STRING)),
	SMETH(WEBUTILITY, "UrlDecode", 1, 1, TY(STRING), web_urldecode, TY(STRING)),
	SMETH(WEBUTILITY, "UrlEncode", 1, 1, TY(STRING), web_urlencode, TY(STRING)),

	/* System.Exception */
	SMETH(EXCEPTION, ".ctor", 0, 1, TY(EXCEPTION), exc_ctor, TY(STRING)),
	PROP(EXCEPTION, "Message", TY(STRING), exc_message),
	METH(EXCEPTION, "ToString", 0, 0, TY(STRING), exc_tostring, { 0 }),

	/* StringComparison */
	SPROP(STRCMP, "CurrentCulture", TY(STRCMP), sc_currentculture),
	SPROP(STRCMP, "CurrentCultureIgnoreCase", TY(STRCMP), sc_currentcultureic),
	SPROP(STRCMP, "InvariantCulture", TY(STRCMP), sc_invariantculture),
	SPROP(STRCMP, "InvariantCultureIgnoreCase", TY(STRCMP), sc_invariantcultureic),
	SPROP(STRCMP, "Ordinal", TY(STRCMP), sc_ordinal),
	SPROP(STRCMP, "OrdinalIgnoreCase", TY(STRCMP), sc_ordinalic),
};

const size_t cg_expr_n_members = sizeof(cg_expr_members) / sizeof(cg_expr_members[0]);

/* Policy pipeline: build steps from an effective policy; run them. */
#include "gw/pipeline.h"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "expr/ctx.h"
#include "expr/expr.h"
#include "gw/cachepol.h"
#include "gw/certs.h"
#include "gw/cors.h"
#include "gw/emitmetric.h"
#include "gw/findreplace.h"
#include "gw/jwt.h"
#include "gw/snapshot.h"
#include "gw/throttle.h"
#include "gw/xmljsonpol.h"
#include "gw/worker.h"
#include "http/h1.h"
#include "policy/policy.h"
#include "tls/tls.h"
#include "tls/trust.h"
#include "tls/vcc.h"

/* ---- build --------------------------------------------------------------- */

struct kind_spec {
	const char *name;
	enum cg_step_kind kind;
	const char *attrs[4]; /* a[0..3] of the step, by name */
};

static const struct kind_spec kinds[] = {
	{ "choose", CG_STEP_CHOOSE, { NULL } },
	{ "when", CG_STEP_WHEN, { "condition" } },
	{ "otherwise", CG_STEP_OTHERWISE, { NULL } },
	{ "return-response", CG_STEP_RETURN_RESPONSE, { "response-variable-name" } },
	{ "mock-response", CG_STEP_MOCK_RESPONSE, { "status-code", "content-type" } },
	{ "set-status", CG_STEP_SET_STATUS, { "code", "reason" } },
	{ "set-header", CG_STEP_SET_HEADER, { "name", "exists-action" } },
	{ "set-query-parameter", CG_STEP_SET_QUERY, { "name", "exists-action" } },
	{ "set-variable", CG_STEP_SET_VARIABLE, { "name", "value" } },
	{ "set-body", CG_STEP_SET_BODY, { "template" } },
	{ "set-method", CG_STEP_SET_METHOD, { NULL } },
	{ "rewrite-uri", CG_STEP_REWRITE_URI, { "template", "copy-unmatched-params" } },
	{ "set-backend-service", CG_STEP_SET_BACKEND, { "base-url", "backend-id" } },
	{ "forward-request", CG_STEP_FORWARD, { "timeout", "timeout-ms" } },
	{ "check-header", CG_STEP_CHECK_HEADER,
	  { "name", "failed-check-httpcode", "failed-check-error-message", "ignore-case" } },
	{ "ip-filter", CG_STEP_IP_FILTER, { "action" } },
	{ "trace", CG_STEP_TRACE, { "source", "severity" } },
	{ "validate-client-certificate", CG_STEP_VALIDATE_CLIENT_CERT, { NULL } },
	{ "authentication-certificate", CG_STEP_AUTH_CERT, { "certificate-id", "thumbprint", "body", "password" } },
	{ "forward-client-certificate", CG_STEP_FORWARD_CLIENT_CERT, { "format" } },
	{ "cors", CG_STEP_CORS, { "allow-credentials", "terminate-unmatched-request" } },
	{ "find-and-replace", CG_STEP_FIND_REPLACE, { "from", "to" } },
	/* throttle.c looks up their attributes */
	{ "rate-limit", CG_STEP_RATE_LIMIT, { NULL } },
	{ "rate-limit-by-key", CG_STEP_RATE_LIMIT_KEY, { NULL } },
	{ "quota", CG_STEP_QUOTA, { NULL } },
	{ "quota-by-key", CG_STEP_QUOTA_KEY, { NULL } },
	{ "limit-concurrency", CG_STEP_LIMIT_CONCURRENCY, { NULL } },
	{ "validate-jwt", CG_STEP_VALIDATE_JWT, { NULL } }, /* jwt.c looks up its attributes */
	{ "authentication-basic", CG_STEP_AUTH_BASIC, { "username", "password" } },
	{ "cache-lookup-value", CG_STEP_CACHE_LOOKUP, { "key", "variable-name", "default-value" } },
	{ "cache-store-value", CG_STEP_CACHE_STORE, { "key", "value", "duration" } },
	{ "cache-remove-value", CG_STEP_CACHE_REMOVE, { "key", "fail-on-cache-removal-error" } },
	{ "json-to-xml", CG_STEP_JSON_TO_XML,
	  { "apply", "consider-accept-header", "namespace-separator", "namespace-prefix" } },
	{ "xml-to-json", CG_STEP_XML_TO_JSON,
	  { "kind", "apply", "consider-accept-header", "always-array-child-elements" } },
	{ "emit-metric", CG_STEP_EMIT_METRIC, { NULL } }, /* emitmetric.c looks up its attributes */
};

struct build_ctx {
	struct cg_snapshot *snap;
	int section; /* enum cg_pol_section being built */
};

/* Expressions that read a message body need it buffered before the
 * section runs (APIM buffers on access; we decide when building). */
static void note_body(struct cg_pipeline *pl, const struct build_ctx *bc, struct cg_str src)
{
	if (!memmem(src.ptr, src.len, "Body", 4))
		return;
	if (bc->section == CG_POL_INBOUND || bc->section == CG_POL_BACKEND)
		pl->uses_request_body = true;
	else
		pl->uses_response_body = true;
}

static bool mentions_cert(struct cg_str src)
{
	return memmem(src.ptr, src.len, "Certificate", 11) != NULL;
}

/* Every expression below n (validate-jwt keeps them in nested lists). */
static void note_subtree(struct cg_pipeline *pl, const struct build_ctx *bc, const struct cg_pol_node *n)
{
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		for (size_t i = 0; i < c->num_attrs; i++)
			if (c->attrs[i].is_expr) {
				note_body(pl, bc, c->attrs[i].value);
				pl->uses_certificate |= mentions_cert(c->attrs[i].value);
			}
		if (c->text_is_expr) {
			note_body(pl, bc, c->text);
			pl->uses_certificate |= mentions_cert(c->text);
		}
		note_subtree(pl, bc, c);
	}
}

static X509 *resolve_cert(void *user, struct cg_str id)
{
	return cg_snapshot_cert_x509(user, id);
}

/* validate-client-certificate: the configuration is built (and every claim
 * parsed) once, here. */
static int build_vcc(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st,
		     const struct build_ctx *bc, char *err, size_t errlen)
{
	char e[400];
	st->vcc = cg_arena_zalloc(a, sizeof(*st->vcc));
	if (!st->vcc) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cg_vcc_config_init(st->vcc);
	/* validate-revocation without validate-trust does not go through the
	 * trust store: give it the gateway's fail mode here. */
	if (bc->snap && bc->snap->trust)
		st->vcc->revocation_fail_open = cg_trust_revocation_fail_open(bc->snap->trust);
	for (size_t i = 0; i < n->num_attrs; i++) {
		const struct cg_pol_attr *at = &n->attrs[i];
		if (cg_str_eq_lit(at->name, "id"))
			continue;
		if (cg_vcc_config_set(st->vcc, at->name, at->value, e, sizeof(e)) != 0)
			goto bad_at;
	}
	for (const struct cg_pol_node *ids = n->children; ids; ids = ids->next)
		for (const struct cg_pol_node *id = ids->children; id; id = id->next) {
			struct cg_str names[16], values[16];
			size_t k = 0;
			for (size_t i = 0; i < id->num_attrs && k < 16; i++) {
				names[k] = id->attrs[i].name;
				values[k++] = id->attrs[i].value;
			}
			if (cg_vcc_config_add_identity(st->vcc, a, names, values, k, e, sizeof(e)) != 0) {
				snprintf(err, errlen, "%u:%u: %s", id->pos.line, id->pos.col, e);
				return -1;
			}
		}
	if (cg_vcc_config_resolve(st->vcc, a, resolve_cert, bc->snap, e, sizeof(e)) != 0)
		goto bad_at;
	return 0;
bad_at:
	snprintf(err, errlen, "%u:%u: %s", n->pos.line, n->pos.col, e);
	return -1;
}

static bool node_is(const struct cg_pol_node *n, const char *name)
{
	return n->name.len == strlen(name) && memcmp(n->name.ptr, name, n->name.len) == 0;
}

static int build_list(struct cg_arena *a, struct cg_pol_node *const *nodes, size_t n,
		      struct cg_step_list *out, struct cg_pipeline *pl, const struct build_ctx *bc, char *err,
		      size_t errlen);

static int build_children(struct cg_arena *a, const struct cg_pol_node *parent, struct cg_step_list *out,
			  struct cg_pipeline *pl, const struct build_ctx *bc, char *err, size_t errlen)
{
	size_t n = 0;
	for (const struct cg_pol_node *c = parent->children; c; c = c->next)
		n++;
	struct cg_pol_node **arr = cg_arena_alloc(a, sizeof(*arr) * (n + 1));
	if (!arr)
		return -1;
	n = 0;
	for (struct cg_pol_node *c = parent->children; c; c = c->next)
		arr[n++] = c;
	return build_list(a, arr, n, out, pl, bc, err, errlen);
}

static bool attr_mentions_cert(const struct cg_pol_attr *at)
{
	return at && at->is_expr && memmem(at->value.ptr, at->value.len, "Certificate", 11);
}

static int build_step(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st,
		      struct cg_pipeline *pl, const struct build_ctx *bc, char *err, size_t errlen)
{
	const struct kind_spec *ks = NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (node_is(n, kinds[i].name))
			ks = &kinds[i];
	if (!ks) {
		snprintf(err, errlen, "%u:%u: policy '%.*s' is recognised but not yet run by this gateway",
			 n->pos.line, n->pos.col, CG_STR_FMT(n->name));
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->kind = ks->kind;
	st->node = n;
	for (size_t i = 0; i < n->num_attrs; i++)
		if (n->attrs[i].is_expr)
			note_body(pl, bc, n->attrs[i].value);
	if (n->text_is_expr)
		note_body(pl, bc, n->text);
	for (const struct cg_pol_node *ch = n->children; ch; ch = ch->next)
		if (ch->text_is_expr)
			note_body(pl, bc, ch->text);
	for (int i = 0; i < 4 && ks->attrs[i]; i++) {
		st->a[i] = cg_pol_attr_get(n, ks->attrs[i]);
		if (attr_mentions_cert(st->a[i]))
			pl->uses_certificate = true;
	}
	if (n->text_is_expr && memmem(n->text.ptr, n->text.len, "Certificate", 11))
		pl->uses_certificate = true;
	switch (st->kind) {
	case CG_STEP_CHOOSE:
	case CG_STEP_WHEN:
	case CG_STEP_OTHERWISE:
	case CG_STEP_RETURN_RESPONSE:
		if (st->kind == CG_STEP_RETURN_RESPONSE && st->a[0]) {
			snprintf(err, errlen,
				 "%u:%u: return-response with response-variable-name needs send-request, "
				 "which this gateway does not run yet",
				 n->pos.line, n->pos.col);
			return -1;
		}
		return build_children(a, n, &st->children, pl, bc, err, errlen);
	case CG_STEP_SET_HEADER:
	case CG_STEP_SET_QUERY:
	case CG_STEP_CHECK_HEADER:
	case CG_STEP_IP_FILTER:
	case CG_STEP_TRACE: {
		size_t k = 0;
		for (const struct cg_pol_node *c = n->children; c; c = c->next)
			k++;
		st->values = cg_arena_alloc(a, sizeof(*st->values) * (k + 1));
		if (!st->values)
			return -1;
		for (const struct cg_pol_node *c = n->children; c; c = c->next) {
			if (node_is(c, "message"))
				st->message = c;
			else if (node_is(c, "metadata"))
				continue;
			else
				st->values[st->num_values++] = c;
			if (c->text_is_expr && memmem(c->text.ptr, c->text.len, "Certificate", 11))
				pl->uses_certificate = true;
		}
		return 0;
	}
	case CG_STEP_SET_BODY:
		if (st->a[0]) {
			snprintf(err, errlen,
				 "%u:%u: set-body template=\"liquid\" is not run by this gateway yet",
				 n->pos.line, n->pos.col);
			return -1;
		}
		return 0;
	case CG_STEP_FORWARD_CLIENT_CERT:
		pl->uses_certificate = true;
		return 0;
	case CG_STEP_CORS:
		return cg_cors_build(a, n, st, err, errlen);
	case CG_STEP_JSON_TO_XML:
		st->attr_block = cg_pol_attr_get(n, "attribute-block-name");
		/* fall through */
	case CG_STEP_XML_TO_JSON:
	case CG_STEP_FIND_REPLACE:
		cg_pipe_note_body(pl, bc->section);
		return 0;
	case CG_STEP_VALIDATE_JWT:
		note_subtree(pl, bc, n);
		for (size_t i = 0; i < n->num_attrs; i++)
			pl->uses_certificate |= attr_mentions_cert(&n->attrs[i]);
		return cg_jwt_build(a, n, st, bc->snap, err, errlen);
	case CG_STEP_LIMIT_CONCURRENCY:
		if (build_children(a, n, &st->children, pl, bc, err, errlen) != 0)
			return -1;
		/* fall through */
	case CG_STEP_RATE_LIMIT:
	case CG_STEP_RATE_LIMIT_KEY:
	case CG_STEP_QUOTA:
	case CG_STEP_QUOTA_KEY:
		return cg_throttle_build(a, n, st, pl, err, errlen);
	case CG_STEP_EMIT_METRIC:
		note_subtree(pl, bc, n); /* dimension values */
		for (size_t i = 0; i < n->num_attrs; i++)
			pl->uses_certificate |= attr_mentions_cert(&n->attrs[i]);
		return cg_emetric_build(a, n, st, err, errlen);
	case CG_STEP_VALIDATE_CLIENT_CERT:
		pl->uses_certificate = true;
		return build_vcc(a, n, st, bc, err, errlen);
	case CG_STEP_AUTH_CERT: {
		const struct cg_pol_attr *id = st->a[0], *tp = st->a[1];
		if (st->a[2] && !id && !tp)
			return 0; /* body (+ password): a PKCS#12 made at request time */
		if (st->a[3] || (id && id->is_expr) || (tp && tp->is_expr) || !(id || tp)) {
			snprintf(err, errlen,
				 "%u:%u: authentication-certificate: a literal certificate-id or thumbprint of "
				 "an uploaded certificate, or a body (with its password), is needed",
				 n->pos.line, n->pos.col);
			return -1;
		}
		st->client = cg_arena_zalloc(a, sizeof(*st->client));
		char e[300];
		if (!st->client || !bc->snap ||
		    !(st->client->ssl_ctx = cg_snapshot_client_cert_ctx(bc->snap, id ? id->value : tp->value, !id,
									&st->client->cert_id, e, sizeof(e)))) {
			snprintf(err, errlen, "%u:%u: authentication-certificate: %s", n->pos.line, n->pos.col,
				 st->client ? e : "out of memory");
			return -1;
		}
		return 0;
	}
	case CG_STEP_SET_BACKEND:
		if (st->a[1] && !st->a[1]->is_expr) {
			st->backend_ref = bc->snap ? cg_snapshot_find_backend(bc->snap, st->a[1]->value) : NULL;
			if (!st->backend_ref) {
				snprintf(err, errlen, "%u:%u: set-backend-service: backend '%.*s' not found",
					 n->pos.line, n->pos.col, CG_STR_FMT(st->a[1]->value));
				return -1;
			}
			return 0;
		}
		if (st->a[0] && !st->a[0]->is_expr) {
			/* A literal URL is parsed and resolved now, off the request path. */
			st->backend = cg_arena_zalloc(a, sizeof(*st->backend));
			char berr[300], z[2048];
			snprintf(z, sizeof(z), "%.*s", CG_STR_FMT(st->a[0]->value));
			if (!st->backend || cg_backend_parse(a, z, st->backend, berr, sizeof(berr)) != 0) {
				snprintf(err, errlen, "%u:%u: set-backend-service: %s", n->pos.line, n->pos.col,
					 st->backend ? berr : "out of memory");
				return -1;
			}
		}
		return 0;
	default:
		return 0;
	}
}

static int build_list(struct cg_arena *a, struct cg_pol_node *const *nodes, size_t n,
		      struct cg_step_list *out, struct cg_pipeline *pl, const struct build_ctx *bc, char *err,
		      size_t errlen)
{
	out->n = 0;
	out->items = cg_arena_zalloc(a, sizeof(*out->items) * (n + 1));
	if (!out->items) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (node_is(nodes[i], "base"))
			continue; /* expanded already; at global scope a no-op */
		if (build_step(a, nodes[i], &out->items[out->n], pl, bc, err, errlen) != 0)
			return -1;
		out->n++;
	}
	return 0;
}

int cg_pipeline_build(struct cg_arena *arena, const struct cg_pol_effective *eff, struct cg_snapshot *snap,
		      struct cg_pipeline *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct build_ctx bc = { snap, 0 };
	for (int s = 0; s < CG_POL_NSECTIONS; s++)
		if ((bc.section = s, 0) || build_list(arena, eff->sections[s].items, eff->sections[s].len, &out->sec[s], out, &bc,
			       err, errlen) != 0)
			return -1;
	const struct cg_step_list *be = &out->sec[CG_POL_BACKEND];
	out->trivial = out->sec[CG_POL_INBOUND].n == 0 && out->sec[CG_POL_OUTBOUND].n == 0 &&
		       out->sec[CG_POL_ON_ERROR].n == 0 && be->n == 1 &&
		       be->items[0].kind == CG_STEP_FORWARD && !be->items[0].a[0] && !be->items[0].a[1];
	return 0;
}

/* ---- header lists -------------------------------------------------------- */

int cg_hlist_add(struct cg_hlist *l, struct cg_arena *a, struct cg_str name, struct cg_str value)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct cg_expr_header *ni = cg_arena_alloc(a, sizeof(*ni) * ncap);
		if (!ni)
			return -1;
		if (l->n)
			memcpy(ni, l->items, sizeof(*ni) * l->n);
		l->items = ni;
		l->cap = ncap;
	}
	l->items[l->n].name = name;
	l->items[l->n].value = value;
	l->n++;
	return 0;
}

void cg_hlist_remove(struct cg_hlist *l, struct cg_str name)
{
	size_t j = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!cg_str_ieq(l->items[i].name, name))
			l->items[j++] = l->items[i];
	l->n = j;
}

const struct cg_expr_header *cg_hlist_find(const struct cg_hlist *l, struct cg_str name)
{
	for (size_t i = 0; i < l->n; i++)
		if (cg_str_ieq(l->items[i].name, name))
			return &l->items[i];
	return NULL;
}

/* ---- run: errors ----------------------------------------------------------- */

static const char *section_name(enum cg_pol_section s)
{
	return cg_pol_section_name(s);
}

static struct cg_str dup_c(struct cg_pipe *p, const char *s)
{
	return cg_arena_strdup_str(p->arena, cg_str_from_c(s ? s : ""));
}

void cg_pipe_set_error(struct cg_pipe *p, const char *source, const char *reason,
		       const char *message, int status)
{
	p->errv.source = dup_c(p, source);
	p->errv.reason = dup_c(p, reason);
	p->errv.message = dup_c(p, message);
	p->errv.scope = CG_STR_NULL;
	p->errv.section = dup_c(p, section_name(p->section));
	p->errv.path = CG_STR_NULL;
	p->errv.policy_id = CG_STR_NULL;
	p->ctx.last_error = &p->errv;
	p->in_error = true;
	p->status = status;
	p->reason = cg_str_from_c(NULL);
	p->respv.status_code = status;
	p->ctx.response = &p->respv;
	if (!p->err_body_message.len)
		p->err_body_message = p->errv.message;
}

/* An error raised by a policy element: LastError names the element. */
static enum cg_pipe_rc step_error(struct cg_pipe *p, const struct cg_step *st, const char *reason,
				  const char *message, int status, const char *body_message)
{
	p->err_body_message = body_message ? dup_c(p, body_message) : CG_STR_NULL;
	char src[64];
	snprintf(src, sizeof(src), "%.*s", CG_STR_FMT(st->node->name));
	cg_pipe_set_error(p, src, reason, message, status);
	p->errv.scope = cg_str_from_c(cg_pol_scope_name(st->node->scope));
	p->errv.path = st->node->path;
	p->errv.policy_id = st->node->id;
	return CG_PIPE_ERROR;
}

/* ---- run: values ------------------------------------------------------------ */

static enum cg_pipe_rc eval(struct cg_pipe *p, const struct cg_step *st, const void *prog,
			    struct cg_expr_value *out)
{
	struct cg_expr_error e;
	if (!prog)
		return step_error(p, st, "ExpressionValueEvaluationFailure",
				  "Expression evaluation failed. The expression was not compiled.", 500,
				  "Internal server error");
	if (cg_expr_eval(prog, &p->ectx, out, &e) == 0)
		return CG_PIPE_CONTINUE;
	if (e.status == CG_EXPR_NOMEM)
		return CG_PIPE_NOMEM;
	char msg[320];
	snprintf(msg, sizeof(msg), "Expression evaluation failed. %s", e.message);
	return step_error(p, st, "ExpressionValueEvaluationFailure", msg, 500, "Internal server error");
}

/* The string value of an attribute (literal, or its expression's value). */
static enum cg_pipe_rc attr_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				struct cg_str *out)
{
	if (!a) {
		*out = CG_STR_NULL;
		return CG_PIPE_CONTINUE;
	}
	if (!a->is_expr) {
		*out = a->value;
		return CG_PIPE_CONTINUE;
	}
	struct cg_expr_value v;
	enum cg_pipe_rc rc = eval(p, st, a->compiled, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	*out = cg_expr_value_to_string(p->arena, &v);
	return out->ptr || v.kind == CG_EXPR_V_NULL ? CG_PIPE_CONTINUE : CG_PIPE_NOMEM;
}

/* An attribute's value with its type (literal: a string; missing: ""). */
static enum cg_pipe_rc attr_value(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				  struct cg_expr_value *out)
{
	if (a && a->is_expr)
		return eval(p, st, a->compiled, out);
	memset(out, 0, sizeof(*out));
	out->kind = CG_EXPR_V_STRING;
	out->u.s = a ? a->value : CG_STR("");
	return CG_PIPE_CONTINUE;
}

/* The text content of an element (literal, or its expression's value). */
static enum cg_pipe_rc text_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_node *n,
				struct cg_str *out)
{
	if (!n->text_is_expr) {
		*out = n->text;
		return CG_PIPE_CONTINUE;
	}
	struct cg_expr_value v;
	enum cg_pipe_rc rc = eval(p, st, n->text_compiled, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	*out = cg_expr_value_to_string(p->arena, &v);
	return out->ptr || v.kind == CG_EXPR_V_NULL ? CG_PIPE_CONTINUE : CG_PIPE_NOMEM;
}

static bool lit_bool(struct cg_str s, bool dflt)
{
	if (cg_str_ieq_lit(s, "true"))
		return true;
	if (cg_str_ieq_lit(s, "false"))
		return false;
	return dflt;
}

static enum cg_pipe_rc attr_bool(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				 bool dflt, bool *out)
{
	if (!a) {
		*out = dflt;
		return CG_PIPE_CONTINUE;
	}
	if (!a->is_expr) {
		*out = lit_bool(a->value, dflt);
		return CG_PIPE_CONTINUE;
	}
	struct cg_expr_value v;
	enum cg_pipe_rc rc = eval(p, st, a->compiled, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (v.kind != CG_EXPR_V_BOOL)
		return step_error(p, st, "ExpressionValueEvaluationFailure",
				  "Expression evaluation failed. The expression did not produce a Boolean.",
				  500, "Internal server error");
	*out = v.u.b;
	return CG_PIPE_CONTINUE;
}

static enum cg_pipe_rc attr_int(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				int64_t dflt, int64_t min, int64_t max, int64_t *out)
{
	struct cg_str s;
	enum cg_pipe_rc rc = attr_str(p, st, a, &s);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!a) {
		*out = dflt;
		return CG_PIPE_CONTINUE;
	}
	uint64_t v;
	struct cg_str t = cg_str_trim_ows(s);
	if (!cg_str_to_u64(t, (uint64_t)max, &v) || (int64_t)v < min) {
		char msg[200];
		snprintf(msg, sizeof(msg), "Value '%.*s' of attribute '%.*s' is not a number in [%lld, %lld].",
			 (int)(t.len > 40 ? 40 : t.len), t.ptr, CG_STR_FMT(a->name), (long long)min,
			 (long long)max);
		return step_error(p, st, "PolicyValueInvalid", msg, 500, "Internal server error");
	}
	*out = (int64_t)v;
	return CG_PIPE_CONTINUE;
}

/* ---- run: header and query edits ------------------------------------------- */

/* Headers .NET/APIM emits as repeated lines rather than one comma list. */
static bool repeated_header(struct cg_str n)
{
	static const char *const names[] = { "User-Agent", "WWW-Authenticate", "Proxy-Authenticate",
					     "Cookie", "Set-Cookie", "Warning", "Date", "Expires",
					     "If-Modified-Since", "If-Unmodified-Since", "Last-Modified",
					     "Retry-After" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (cg_str_ieq(n, cg_str_from_c(names[i])))
			return true;
	return false;
}

/* Headers policies may not touch (APIM: the gateway owns framing). */
static bool protected_header(struct cg_str n)
{
	return cg_str_ieq_lit(n, "Connection") || cg_str_ieq_lit(n, "Content-Length") ||
	       cg_str_ieq_lit(n, "Keep-Alive") || cg_str_ieq_lit(n, "Transfer-Encoding");
}

static bool valid_value(struct cg_str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if ((c < 32 && c != '\t') || c == 127)
			return false;
	}
	return true;
}

enum exists_action { EA_OVERRIDE, EA_SKIP, EA_APPEND, EA_DELETE, EA_BAD };

static enum exists_action parse_action(struct cg_str s)
{
	if (!s.ptr || cg_str_ieq_lit(s, "override"))
		return EA_OVERRIDE;
	if (cg_str_ieq_lit(s, "skip"))
		return EA_SKIP;
	if (cg_str_ieq_lit(s, "append"))
		return EA_APPEND;
	if (cg_str_ieq_lit(s, "delete"))
		return EA_DELETE;
	return EA_BAD;
}

static enum cg_pipe_rc run_set_header(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str name, action;
	enum cg_pipe_rc rc = attr_str(p, st, st->a[0], &name);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_str(p, st, st->a[1], &action);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	enum exists_action ea = parse_action(action);
	if (ea == EA_BAD || !cg_h1_token_valid(name))
		return step_error(p, st, "PolicyValueInvalid",
				  ea == EA_BAD ? "Invalid exists-action." : "Invalid header name.", 500,
				  "Internal server error");
	if (protected_header(name))
		return CG_PIPE_CONTINUE; /* APIM: cannot be modified; ignored */
	bool resp = p->target_resp;
	struct cg_hlist *l = resp ? &p->resp_hdrs : &p->req_hdrs;
	if (!resp && cg_str_ieq_lit(name, "Host"))
		p->host_overridden = ea != EA_DELETE;
	bool exists = cg_hlist_find(l, name) != NULL;
	if (ea == EA_DELETE || ea == EA_OVERRIDE)
		cg_hlist_remove(l, name);
	if (ea == EA_DELETE || (ea == EA_SKIP && exists))
		goto done;
	struct cg_str nm = cg_arena_strdup_str(p->arena, name);
	if (!nm.ptr)
		return CG_PIPE_NOMEM;
	/* Values: one header line each for the "repeated" headers, else one
	 * comma-joined line. */
	struct cg_buf joined;
	cg_buf_init(&joined, 64 * 1024);
	bool rep = repeated_header(name);
	for (size_t i = 0; i < st->num_values; i++) {
		struct cg_str v;
		rc = text_str(p, st, st->values[i], &v);
		if (rc != CG_PIPE_CONTINUE) {
			cg_buf_free(&joined);
			return rc;
		}
		if (!valid_value(v)) {
			cg_buf_free(&joined);
			return step_error(p, st, "PolicyValueInvalid", "Invalid header value.", 500,
					  "Internal server error");
		}
		if (rep) {
			struct cg_str vv = cg_arena_strdup_str(p->arena, v);
			if ((!vv.ptr && v.len) || cg_hlist_add(l, p->arena, nm, vv) != 0) {
				cg_buf_free(&joined);
				return CG_PIPE_NOMEM;
			}
		} else if ((joined.len && cg_buf_append(&joined, ",", 1) != 0) ||
			   cg_buf_append_str(&joined, v) != 0) {
			cg_buf_free(&joined);
			return step_error(p, st, "PolicyValueInvalid", "Header value too long.", 500,
					  "Internal server error");
		}
	}
	if (!rep) {
		struct cg_str vv = cg_arena_strdup_str(p->arena, cg_buf_str(&joined));
		int bad = (joined.len && !vv.ptr) || cg_hlist_add(l, p->arena, nm, vv.ptr ? vv : CG_STR("")) != 0;
		cg_buf_free(&joined);
		if (bad)
			return CG_PIPE_NOMEM;
	} else {
		cg_buf_free(&joined);
	}
done:
	if (resp) {
		p->respv.headers.items = p->resp_hdrs.items;
		p->respv.headers.n = p->resp_hdrs.n;
		p->resp_edited = true;
	} else {
		p->reqv.headers.items = p->req_hdrs.items;
		p->reqv.headers.n = p->req_hdrs.n;
	}
	return CG_PIPE_CONTINUE;
}

/* Percent-encodes what a query component must not hold raw. */
static int query_escape(struct cg_buf *b, struct cg_str s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  strchr("-._~!$'()*,;:@/?", c);
		if (ok ? cg_buf_append(b, (char *)&c, 1) : cg_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]))
			return -1;
	}
	return 0;
}

static struct cg_str qparam_name(struct cg_str kv)
{
	long eq = cg_str_find_char(kv, '=');
	return eq < 0 ? kv : cg_str_make(kv.ptr, (size_t)eq);
}

bool cg_pipe_query_param(const struct cg_pipe *p, struct cg_str name, struct cg_str *value)
{
	struct cg_str rest = p->query;
	while (rest.len) {
		long amp = cg_str_find_char(rest, '&');
		struct cg_str kv = amp < 0 ? rest : cg_str_make(rest.ptr, (size_t)amp);
		rest = amp < 0 ? CG_STR_NULL : cg_str_sub(rest, (size_t)amp + 1, rest.len);
		if (cg_str_eq(qparam_name(kv), name)) {
			long eq = cg_str_find_char(kv, '=');
			*value = eq < 0 ? CG_STR("") : cg_str_sub(kv, (size_t)eq + 1, kv.len);
			return true;
		}
	}
	return false;
}

static enum cg_pipe_rc run_set_query(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str name, action;
	enum cg_pipe_rc rc = attr_str(p, st, st->a[0], &name);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_str(p, st, st->a[1], &action);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	enum exists_action ea = parse_action(action);
	if (ea == EA_BAD || !name.len)
		return step_error(p, st, "PolicyValueInvalid", "Invalid query parameter or exists-action.",
				  500, "Internal server error");
	struct cg_buf q;
	cg_buf_init(&q, 64 * 1024);
	int err = 0;
	bool exists = false;
	struct cg_str rest = p->query;
	while (rest.len) {
		long amp = cg_str_find_char(rest, '&');
		struct cg_str kv = amp < 0 ? rest : cg_str_make(rest.ptr, (size_t)amp);
		rest = amp < 0 ? CG_STR_NULL : cg_str_sub(rest, (size_t)amp + 1, rest.len);
		if (!kv.len)
			continue;
		if (cg_str_eq(qparam_name(kv), name)) {
			exists = true;
			if (ea == EA_OVERRIDE || ea == EA_DELETE)
				continue;
		}
		err |= (q.len && cg_buf_append(&q, "&", 1)) || cg_buf_append_str(&q, kv);
	}
	if (!(ea == EA_DELETE || (ea == EA_SKIP && exists))) {
		for (size_t i = 0; i < st->num_values && !err; i++) {
			struct cg_str v;
			rc = text_str(p, st, st->values[i], &v);
			if (rc != CG_PIPE_CONTINUE) {
				cg_buf_free(&q);
				return rc;
			}
			err |= (q.len && cg_buf_append(&q, "&", 1)) || query_escape(&q, name) ||
			       cg_buf_append(&q, "=", 1) || query_escape(&q, v);
		}
	}
	if (err) {
		cg_buf_free(&q);
		return step_error(p, st, "PolicyValueInvalid", "Query string too long.", 500,
				  "Internal server error");
	}
	p->query = cg_arena_strdup_str(p->arena, cg_buf_str(&q));
	p->query_present = q.len > 0;
	cg_buf_free(&q);
	p->reqv.url.query_string = p->query;
	return p->query.ptr || !q.len ? CG_PIPE_CONTINUE : CG_PIPE_NOMEM;
}

/* rewrite-uri: "/v2/{id}?x={x}" with the operation's matched parameters. */
static enum cg_pipe_rc run_rewrite_uri(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str tmpl;
	bool copy;
	enum cg_pipe_rc rc = attr_str(p, st, st->a[0], &tmpl);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_bool(p, st, st->a[1], true, &copy);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	struct cg_buf b;
	cg_buf_init(&b, 64 * 1024);
	int err = 0;
	for (size_t i = 0; i < tmpl.len && !err;) {
		if (tmpl.ptr[i] == '{') {
			size_t j = i + 1;
			while (j < tmpl.len && tmpl.ptr[j] != '}')
				j++;
			if (j >= tmpl.len) {
				cg_buf_free(&b);
				return step_error(p, st, "PolicyValueInvalid", "Unterminated template parameter.",
						  500, "Internal server error");
			}
			struct cg_str pn = cg_str_make(tmpl.ptr + i + 1, j - i - 1);
			const struct cg_expr_strmap *mp = &p->reqv.matched_parameters;
			bool found = false;
			for (size_t k = 0; k < mp->n; k++)
				if (cg_str_ieq(mp->items[k].key, pn)) {
					err |= cg_buf_append_str(&b, mp->items[k].value);
					found = true;
					break;
				}
			if (!found) {
				/* A query parameter of the same name may fill it. */
				struct cg_str qv;
				if (cg_pipe_query_param(p, pn, &qv)) {
					err |= cg_buf_append_str(&b, qv);
					found = true;
				}
			}
			i = j + 1;
			continue;
		}
		err |= cg_buf_append(&b, tmpl.ptr + i, 1);
		i++;
	}
	struct cg_str out = cg_buf_str(&b);
	long qm = cg_str_find_char(out, '?');
	struct cg_str path = qm < 0 ? out : cg_str_make(out.ptr, (size_t)qm);
	struct cg_str tq = qm < 0 ? CG_STR_NULL : cg_str_sub(out, (size_t)qm + 1, out.len);
	struct cg_buf q;
	cg_buf_init(&q, 64 * 1024);
	err |= cg_buf_append_str(&q, tq);
	if (copy) {
		struct cg_str rest = p->query;
		while (rest.len && !err) {
			long amp = cg_str_find_char(rest, '&');
			struct cg_str kv = amp < 0 ? rest : cg_str_make(rest.ptr, (size_t)amp);
			rest = amp < 0 ? CG_STR_NULL : cg_str_sub(rest, (size_t)amp + 1, rest.len);
			if (!kv.len)
				continue;
			/* copy what the new template does not already set */
			struct cg_str tr = tq;
			bool present = false;
			while (tr.len) {
				long a2 = cg_str_find_char(tr, '&');
				struct cg_str t2 = a2 < 0 ? tr : cg_str_make(tr.ptr, (size_t)a2);
				tr = a2 < 0 ? CG_STR_NULL : cg_str_sub(tr, (size_t)a2 + 1, tr.len);
				if (cg_str_eq(qparam_name(t2), qparam_name(kv)))
					present = true;
			}
			if (!present)
				err |= (q.len && cg_buf_append(&q, "&", 1)) || cg_buf_append_str(&q, kv);
		}
	}
	if (!err && (path.len == 0 || path.ptr[0] != '/'))
		err = 1;
	if (err) {
		cg_buf_free(&b);
		cg_buf_free(&q);
		return step_error(p, st, "PolicyValueInvalid",
				  "The rewrite-uri template must give a path starting with '/'.", 500,
				  "Internal server error");
	}
	p->path = cg_arena_strdup_str(p->arena, path);
	p->query = cg_arena_strdup_str(p->arena, cg_buf_str(&q));
	p->query_present = q.len > 0;
	cg_buf_free(&b);
	cg_buf_free(&q);
	if (!p->path.ptr)
		return CG_PIPE_NOMEM;
	p->reqv.url.path = p->path;
	p->reqv.url.query_string = p->query;
	return CG_PIPE_CONTINUE;
}

/* ---- run: ip-filter --------------------------------------------------------- */

static bool ip16(struct cg_str s, unsigned char out[16])
{
	char z[64];
	if (s.len == 0 || s.len >= sizeof(z))
		return false;
	memcpy(z, s.ptr, s.len);
	z[s.len] = '\0';
	unsigned char v4[4];
	if (inet_pton(AF_INET, z, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, z, out) == 1;
}

static enum cg_pipe_rc run_ip_filter(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str action;
	enum cg_pipe_rc rc = attr_str(p, st, st->a[0], &action);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	bool allow = cg_str_ieq_lit(action, "allow");
	if (!allow && !cg_str_ieq_lit(action, "forbid"))
		return step_error(p, st, "PolicyValueInvalid", "ip-filter action must be allow or forbid.",
				  500, "Internal server error");
	unsigned char ip[16];
	if (!ip16(p->reqv.ip_address, ip))
		return step_error(p, st, "FailedToParseCallerIP", "Failed to parse the caller IP address.",
				  403, "Forbidden");
	bool match = false;
	for (size_t i = 0; i < st->num_values && !match; i++) {
		const struct cg_pol_node *v = st->values[i];
		if (node_is(v, "address")) {
			unsigned char a[16];
			match = ip16(cg_str_trim_ows(v->text), a) && memcmp(a, ip, 16) == 0;
		} else {
			const struct cg_pol_attr *f = cg_pol_attr_get(v, "from"), *t = cg_pol_attr_get(v, "to");
			unsigned char lo[16], hi[16];
			match = f && t && ip16(cg_str_trim_ows(f->value), lo) && ip16(cg_str_trim_ows(t->value), hi) &&
				memcmp(lo, ip, 16) <= 0 && memcmp(ip, hi, 16) <= 0;
		}
	}
	if (allow == match)
		return CG_PIPE_CONTINUE;
	char msg[160];
	snprintf(msg, sizeof(msg), "Caller IP address %.*s is not allowed. Access denied.",
		 CG_STR_FMT(p->reqv.ip_address));
	return step_error(p, st, allow ? "CallerIpNotAllowed" : "CallerIpBlocked",
			  allow ? msg : "Caller IP address is blocked. Access denied.", 403, "Forbidden");
}

/* ---- run: check-header ------------------------------------------------------ */

static enum cg_pipe_rc run_check_header(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str name, message;
	int64_t code;
	bool icase;
	enum cg_pipe_rc rc = attr_str(p, st, st->a[0], &name);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_int(p, st, st->a[1], 401, 100, 599, &code);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_str(p, st, st->a[2], &message);
	if (rc == CG_PIPE_CONTINUE)
		rc = attr_bool(p, st, st->a[3], false, &icase);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	char msgz[256], msg[400];
	snprintf(msgz, sizeof(msgz), "%.*s", CG_STR_FMT(message));
	const struct cg_hlist *l = &p->req_hdrs;
	bool present = false, ok = st->num_values == 0;
	struct cg_str seen = CG_STR_NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (!cg_str_ieq(l->items[i].name, name))
			continue;
		present = true;
		seen = l->items[i].value;
		for (size_t k = 0; k < st->num_values && !ok; k++) {
			struct cg_str want;
			rc = text_str(p, st, st->values[k], &want);
			if (rc != CG_PIPE_CONTINUE)
				return rc;
			ok = icase ? cg_str_ieq(seen, want) : cg_str_eq(seen, want);
		}
	}
	if (!present) {
		snprintf(msg, sizeof(msg), "Header %.*s was not found in the request. Access denied.",
			 CG_STR_FMT(name));
		return step_error(p, st, "HeaderNotFound", msg, (int)code, msgz);
	}
	if (!ok) {
		snprintf(msg, sizeof(msg), "Header %.*s value of %.*s is not allowed. Access denied.",
			 CG_STR_FMT(name), (int)(seen.len > 100 ? 100 : seen.len), seen.ptr);
		return step_error(p, st, "HeaderValueNotAllowed", msg, (int)code, msgz);
	}
	return CG_PIPE_CONTINUE;
}

/* ---- run: the rest ---------------------------------------------------------- */

static enum cg_pipe_rc run_list(struct cg_pipe *p, const struct cg_step_list *l);

void cg_body_cert_cache_free(struct cg_body_cert_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CG_BODY_CERT_CACHE; i++)
		if (c->e[i].used)
			SSL_CTX_free(c->e[i].client.ssl_ctx);
	memset(c, 0, sizeof(*c));
}

/* authentication-certificate body="@(byte[])" password="...": the PKCS#12
 * is opened once per worker and kept (by a hash of body and password). */
static enum cg_pipe_rc run_auth_cert_body(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_expr_value v;
	enum cg_pipe_rc rc = eval(p, st, st->a[2]->compiled, &v);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (v.kind != CG_EXPR_V_BYTES && v.kind != CG_EXPR_V_STRING)
		return step_error(p, st, "PolicyValueInvalid",
				  "The body of authentication-certificate must be a byte[].", 500,
				  "Internal server error");
	struct cg_str body = v.u.s, password = CG_STR("");
	if (st->a[3] && (rc = attr_str(p, st, st->a[3], &password)) != CG_PIPE_CONTINUE)
		return rc;
	unsigned char key[32];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int kl = 0;
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) || !EVP_DigestUpdate(md, body.ptr, body.len) ||
	    !EVP_DigestUpdate(md, "", 1) || !EVP_DigestUpdate(md, password.ptr, password.len) ||
	    !EVP_DigestFinal_ex(md, key, &kl)) {
		EVP_MD_CTX_free(md);
		return CG_PIPE_NOMEM;
	}
	EVP_MD_CTX_free(md);
	struct cg_body_cert_cache *cache = p->body_certs;
	for (int i = 0; cache && i < CG_BODY_CERT_CACHE; i++)
		if (cache->e[i].used && memcmp(cache->e[i].key, key, 32) == 0) {
			p->client_cert = &cache->e[i].client;
			return CG_PIPE_CONTINUE;
		}
	if (!cache)
		return step_error(p, st, "PolicyValueInvalid", "No certificate cache.", 500,
				  "Internal server error");
	const unsigned char *q = (const unsigned char *)body.ptr;
	PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)body.len);
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	STACK_OF(X509) *ca = NULL;
	char pw[1024];
	snprintf(pw, sizeof(pw), "%.*s", (int)(password.len < sizeof(pw) ? password.len : sizeof(pw) - 1),
		 password.ptr ? password.ptr : "");
	int ok = p12 && PKCS12_parse(p12, pw, &pk, &x, &ca) && x && pk;
	OPENSSL_cleanse(pw, sizeof(pw));
	PKCS12_free(p12);
	char e[300];
	SSL_CTX *ctx = ok ? cg_tls_client_ctx_new_key(true, true, x, pk, ca, e, sizeof(e)) : NULL;
	X509_free(x);
	EVP_PKEY_free(pk);
	sk_X509_pop_free(ca, X509_free);
	ERR_clear_error();
	if (!ctx)
		return step_error(p, st, "CertificateInvalid",
				  ok ? "The authentication-certificate body was refused."
				     : "The authentication-certificate body is not a PKCS#12 that opens with the password.",
				  500, "Internal server error");
	struct cg_body_cert *slot = &cache->e[cache->next++ % CG_BODY_CERT_CACHE];
	if (slot->used)
		SSL_CTX_free(slot->client.ssl_ctx); /* requests pin no SSL_CTX: SSL objects ref it */
	slot->used = true;
	memcpy(slot->key, key, 32);
	snprintf(slot->id, sizeof(slot->id), "body:%02x%02x%02x%02x%02x%02x%02x%02x", key[0], key[1], key[2],
		 key[3], key[4], key[5], key[6], key[7]);
	slot->client.cert_id = cg_str_from_c(slot->id);
	slot->client.ssl_ctx = ctx;
	p->client_cert = &slot->client;
	return CG_PIPE_CONTINUE;
}

static void response_reset(struct cg_pipe *p)
{
	p->status = 200;
	p->reason = CG_STR("OK");
	p->resp_hdrs.n = 0;
	p->resp_body = CG_STR_NULL;
	p->resp_body_set = false;
}

static enum cg_pipe_rc run_step(struct cg_pipe *p, const struct cg_step *st)
{
	enum cg_pipe_rc rc = CG_PIPE_CONTINUE;
	switch (st->kind) {
	case CG_STEP_CHOOSE:
		for (size_t i = 0; i < st->children.n; i++) {
			const struct cg_step *w = &st->children.items[i];
			bool take = true;
			if (w->kind == CG_STEP_WHEN) {
				rc = attr_bool(p, w, w->a[0], false, &take);
				if (rc != CG_PIPE_CONTINUE)
					return rc;
			}
			if (take)
				return run_list(p, &w->children);
		}
		return CG_PIPE_CONTINUE;
	case CG_STEP_WHEN:
	case CG_STEP_OTHERWISE:
		return run_list(p, &st->children);
	case CG_STEP_RETURN_RESPONSE: {
		bool was = p->target_resp;
		response_reset(p);
		p->target_resp = true;
		rc = run_list(p, &st->children);
		p->target_resp = was;
		return rc == CG_PIPE_CONTINUE ? CG_PIPE_RESPOND : rc;
	}
	case CG_STEP_MOCK_RESPONSE: {
		int64_t code;
		struct cg_str ct;
		rc = attr_int(p, st, st->a[0], 200, 100, 599, &code);
		if (rc == CG_PIPE_CONTINUE)
			rc = attr_str(p, st, st->a[1], &ct);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		response_reset(p);
		p->status = (int)code;
		p->reason = CG_STR_NULL;
		if (ct.len && cg_hlist_add(&p->resp_hdrs, p->arena, CG_STR("Content-Type"), ct) != 0)
			return CG_PIPE_NOMEM;
		return CG_PIPE_RESPOND;
	}
	case CG_STEP_SET_STATUS: {
		int64_t code;
		struct cg_str reason;
		rc = attr_int(p, st, st->a[0], 200, 100, 599, &code);
		if (rc == CG_PIPE_CONTINUE)
			rc = attr_str(p, st, st->a[1], &reason);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		if (!valid_value(reason))
			return step_error(p, st, "PolicyValueInvalid", "Invalid status reason.", 500,
					  "Internal server error");
		p->status = (int)code;
		p->reason = cg_arena_strdup_str(p->arena, reason);
		p->respv.status_code = (int)code;
		p->respv.status_reason = p->reason;
		p->resp_edited = true;
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_SET_HEADER:
		return run_set_header(p, st);
	case CG_STEP_SET_QUERY:
		return run_set_query(p, st);
	case CG_STEP_SET_VARIABLE: {
		struct cg_expr_value val;
		rc = attr_value(p, st, st->a[1], &val);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		if (cg_expr_vars_set(&p->vars, p->arena, st->a[0]->value, &val) != 0)
			return CG_PIPE_NOMEM;
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_SET_BODY: {
		struct cg_str body;
		rc = text_str(p, st, st->node, &body);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		body = cg_arena_strdup_str(p->arena, body);
		if (p->target_resp || p->section == CG_POL_OUTBOUND || p->section == CG_POL_ON_ERROR) {
			p->resp_body = body;
			p->resp_body_set = true;
			p->resp_edited = true;
		} else {
			p->req_body = body;
			p->req_body_set = true;
		}
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_SET_METHOD: {
		struct cg_str m;
		rc = text_str(p, st, st->node, &m);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		m = cg_str_trim_ows(m);
		if (!cg_h1_token_valid(m))
			return step_error(p, st, "PolicyValueInvalid", "Invalid HTTP method.", 500,
					  "Internal server error");
		p->method = cg_arena_strdup_str(p->arena, m);
		p->reqv.method = p->method;
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_REWRITE_URI:
		return run_rewrite_uri(p, st);
	case CG_STEP_SET_BACKEND: {
		if (st->backend || st->backend_ref) {
			p->backend = st->backend ? st->backend : st->backend_ref;
			return CG_PIPE_CONTINUE;
		}
		if (st->a[1]) {
			struct cg_str id;
			rc = attr_str(p, st, st->a[1], &id);
			if (rc != CG_PIPE_CONTINUE)
				return rc;
			const struct cg_rt_backend *b = p->snap ? cg_snapshot_find_backend(p->snap, id) : NULL;
			if (!b) {
				char msg[200];
				snprintf(msg, sizeof(msg), "Backend '%.*s' not found.",
					 (int)(id.len > 100 ? 100 : id.len), id.ptr);
				return step_error(p, st, "BackendNotFound", msg, 500, "Internal server error");
			}
			p->backend = b;
			return CG_PIPE_CONTINUE;
		}
		struct cg_str url;
		rc = attr_str(p, st, st->a[0], &url);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		struct cg_rt_backend *b = cg_arena_zalloc(p->arena, sizeof(*b));
		char z[2048], berr[300];
		if (!b)
			return CG_PIPE_NOMEM;
		snprintf(z, sizeof(z), "%.*s", CG_STR_FMT(url));
		/* A URL made at request time: resolution may block on DNS here
		 * (documented; prefer literal URLs or IP addresses). */
		if (cg_backend_parse(p->arena, z, b, berr, sizeof(berr)) != 0 || b->unresolved)
			return step_error(p, st, "BackendUrlInvalid", berr, 500, "Internal server error");
		p->backend = b;
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_FORWARD: {
		int64_t t = 0, tms = 0;
		rc = attr_int(p, st, st->a[0], 0, 0, 86400, &t);
		if (rc == CG_PIPE_CONTINUE)
			rc = attr_int(p, st, st->a[1], 0, 0, 86400000, &tms);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		p->forward = true;
		p->forward_timeout_ms = tms ? (uint64_t)tms : (uint64_t)t * 1000;
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_CHECK_HEADER:
		return run_check_header(p, st);
	case CG_STEP_AUTH_CERT:
		if (st->client) {
			p->client_cert = st->client;
			return CG_PIPE_CONTINUE;
		}
		return run_auth_cert_body(p, st);
	case CG_STEP_FORWARD_CLIENT_CERT:
		p->forward_cert = st->a[0] && cg_str_eq_lit(st->a[0]->value, "xfcc") ? CG_FWD_CERT_XFCC
										    : CG_FWD_CERT_RFC9440;
		return CG_PIPE_CONTINUE;
	case CG_STEP_VALIDATE_CLIENT_CERT: {
		struct cg_vcc_result res;
		if (!p->x509 && p->load_x509)
			p->x509 = p->load_x509(p->load_x509_user, &p->peer_chain);
		cg_vcc_check(st->vcc, p->x509, p->peer_chain, p->trust, p->trust_cache, (int64_t)time(NULL),
			     &res);
		if (!res.ok && p->stats && res.reason < CG_STATS_VCC_REASONS)
			cg_stat_inc(&p->stats->vcc_failures[res.reason]);
		if (res.ok || (st->vcc->ignore_error && res.reason != CG_VCC_ERROR))
			return CG_PIPE_CONTINUE;
		/* The body names no claim: what an identity expects is not the
		 * caller's business. LastError.Message has the details. */
		return step_error(p, st, res.reason_name, res.message, res.status,
				  res.status == 401 ? "Invalid client certificate" : "Service Unavailable");
	}
	case CG_STEP_IP_FILTER:
		return run_ip_filter(p, st);
	case CG_STEP_RATE_LIMIT:
	case CG_STEP_RATE_LIMIT_KEY:
	case CG_STEP_QUOTA:
	case CG_STEP_QUOTA_KEY:
	case CG_STEP_LIMIT_CONCURRENCY:
		return cg_throttle_run(p, st);
	case CG_STEP_TRACE: {
		struct cg_str src, sev, msg = CG_STR_NULL;
		rc = attr_str(p, st, st->a[0], &src);
		if (rc == CG_PIPE_CONTINUE)
			rc = attr_str(p, st, st->a[1], &sev);
		if (rc == CG_PIPE_CONTINUE && st->message)
			rc = text_str(p, st, st->message, &msg);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		cg_log(cg_str_ieq_lit(sev, "error") ? CG_LOG_WARN : CG_LOG_INFO, "trace %.*s: %.*s",
		       CG_STR_FMT(src), (int)(msg.len > 1000 ? 1000 : msg.len), msg.ptr ? msg.ptr : "");
		return CG_PIPE_CONTINUE;
	}
	case CG_STEP_CORS:
		return cg_cors_run(p, st);
	case CG_STEP_FIND_REPLACE:
		return cg_far_run(p, st);
	case CG_STEP_JSON_TO_XML:
	case CG_STEP_XML_TO_JSON:
		return cg_xjp_run(p, st);
	case CG_STEP_VALIDATE_JWT:
		return cg_jwt_run(p, st);
	case CG_STEP_AUTH_BASIC:
		return cg_auth_basic_run(p, st);
	case CG_STEP_CACHE_LOOKUP:
	case CG_STEP_CACHE_STORE:
	case CG_STEP_CACHE_REMOVE:
		return cg_cachepol_run(p, st);
	case CG_STEP_EMIT_METRIC:
		return cg_emetric_run(p, st);
	}
	return CG_PIPE_CONTINUE;
}

static enum cg_pipe_rc run_list(struct cg_pipe *p, const struct cg_step_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		enum cg_pipe_rc rc = run_step(p, &l->items[i]);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
	}
	return CG_PIPE_CONTINUE;
}

enum cg_pipe_rc cg_pipe_run_steps(struct cg_pipe *p, const struct cg_step_list *l)
{
	return run_list(p, l);
}

int cg_pipe_init(struct cg_pipe *p, struct cg_arena *arena, const struct cg_pipeline *pl)
{
	memset(p, 0, sizeof(*p));
	p->arena = arena;
	p->pl = pl;
	p->ctx.request = &p->reqv;
	p->ctx.api = &p->apiv;
	p->ctx.operation = &p->opv;
	p->ctx.deployment = &p->depv;
	p->ctx.variables = &p->vars;
	p->ectx.context = &p->ctx;
	p->ectx.arena = arena;
	p->status = 200;
	p->reason = CG_STR("OK");
	return 0;
}

enum cg_pipe_rc cg_pipe_run(struct cg_pipe *p, enum cg_pol_section s)
{
	p->section = s;
	p->target_resp = s == CG_POL_OUTBOUND || s == CG_POL_ON_ERROR;
	if (s == CG_POL_OUTBOUND || s == CG_POL_ON_ERROR) {
		p->ctx.response = &p->respv;
		p->respv.status_code = p->status;
		p->respv.status_reason = p->reason;
		p->respv.headers.items = p->resp_hdrs.items;
		p->respv.headers.n = p->resp_hdrs.n;
	}
	enum cg_pipe_rc rc = run_list(p, &p->pl->sec[s]);
	/* The response is now final: throttling adds its headers and its
	 * deferred counts (end of outbound, or of on-error / a short circuit). */
	if (rc == CG_PIPE_RESPOND || (s == CG_POL_OUTBOUND && rc == CG_PIPE_CONTINUE) || s == CG_POL_ON_ERROR)
		cg_throttle_finish(p);
	return rc;
}

int cg_pipe_error_response(struct cg_pipe *p)
{
	if (p->resp_body_set)
		return 0;
	/* JSON-escape the message (it may hold a header value or an IP). */
	struct cg_buf b;
	cg_buf_init(&b, 4096);
	int err = cg_buf_printf(&b, "{\"statusCode\":%d,\"message\":\"", p->status);
	struct cg_str m = p->err_body_message;
	for (size_t i = 0; i < m.len && !err; i++) {
		unsigned char c = (unsigned char)m.ptr[i];
		if (c == '"' || c == '\\')
			err = cg_buf_printf(&b, "\\%c", c);
		else if (c < 32)
			err = cg_buf_printf(&b, "\\u%04x", c);
		else
			err = cg_buf_append(&b, (char *)&c, 1);
	}
	err |= cg_buf_append(&b, "\"}", 2);
	if (!err) {
		p->resp_body = cg_arena_strdup_str(p->arena, cg_buf_str(&b));
		p->resp_body_set = p->resp_body.ptr != NULL;
	}
	cg_buf_free(&b);
	if (!p->resp_body_set)
		return -1;
	if (!cg_hlist_find(&p->resp_hdrs, CG_STR("Content-Type")) &&
	    cg_hlist_add(&p->resp_hdrs, p->arena, CG_STR("Content-Type"), CG_STR("application/json")) != 0)
		return -1;
	return 0;
}

/* ---- helpers for the policies in their own files ---------------------------- */

enum cg_pipe_rc cg_pipe_step_error(struct cg_pipe *p, const struct cg_step *st, const char *reason,
				   const char *message, int status, const char *body_message)
{
	return step_error(p, st, reason, message, status, body_message);
}

enum cg_pipe_rc cg_pipe_attr_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				 struct cg_str *out)
{
	return attr_str(p, st, a, out);
}

enum cg_pipe_rc cg_pipe_attr_bool(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				  bool dflt, bool *out)
{
	return attr_bool(p, st, a, dflt, out);
}

enum cg_pipe_rc cg_pipe_attr_int(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				 int64_t dflt, int64_t min, int64_t max, int64_t *out)
{
	return attr_int(p, st, a, dflt, min, max, out);
}

enum cg_pipe_rc cg_pipe_attr_value(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				   struct cg_expr_value *out)
{
	return attr_value(p, st, a, out);
}

enum cg_pipe_rc cg_pipe_text_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_node *n,
				 struct cg_str *out)
{
	return text_str(p, st, n, out);
}

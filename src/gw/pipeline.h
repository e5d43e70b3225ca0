/* The policy pipeline: APIM policy documents compiled into step lists when a
 * snapshot is built, and run per request (inbound -> backend -> outbound,
 * on-error on any error; return-response and mock-response end it).
 *
 * Build: cg_pipeline_build() takes an operation's effective policy (after
 * <base/> expansion, fragments and named values, with every expression
 * compiled) and resolves each element to a step with its attributes
 * looked up once. Nothing is parsed or looked up by name per request.
 *
 * Run: a struct cg_pipe holds one request's mutable state in the request
 * arena: the request as it will be forwarded (method, path, query, headers,
 * backend override, body override), the response being made, variables,
 * LastError, and the expression context view over all of it. */
#ifndef CG_GW_PIPELINE_H
#define CG_GW_PIPELINE_H

#include <openssl/x509.h>

#include "expr/expr-t.h"
#include "gw/gw-t.h"
#include "policy/policy-t.h"
#include "tls/trust-t.h"
#include "tls/vcc-t.h"
#include "tls/x509-t.h"

enum cg_step_kind {
	CG_STEP_CHOOSE,
	CG_STEP_WHEN,
	CG_STEP_OTHERWISE,
	CG_STEP_RETURN_RESPONSE,
	CG_STEP_MOCK_RESPONSE,
	CG_STEP_SET_STATUS,
	CG_STEP_SET_HEADER,
	CG_STEP_SET_QUERY,
	CG_STEP_SET_VARIABLE,
	CG_STEP_SET_BODY,
	CG_STEP_SET_METHOD,
	CG_STEP_REWRITE_URI,
	CG_STEP_SET_BACKEND,
	CG_STEP_FORWARD,
	CG_STEP_CHECK_HEADER,
	CG_STEP_IP_FILTER,
	CG_STEP_TRACE,
	CG_STEP_VALIDATE_CLIENT_CERT,
	CG_STEP_AUTH_CERT,
	CG_STEP_FORWARD_CLIENT_CERT,
	CG_STEP_CORS,
	CG_STEP_FIND_REPLACE,
	CG_STEP_RATE_LIMIT,        /* throttle.c runs these five */
	CG_STEP_RATE_LIMIT_KEY,
	CG_STEP_QUOTA,
	CG_STEP_QUOTA_KEY,
	CG_STEP_LIMIT_CONCURRENCY,
	CG_STEP_VALIDATE_JWT,      /* jwt.c */
	CG_STEP_AUTH_BASIC,
	CG_STEP_CACHE_LOOKUP,      /* cachepol.c runs these three */
	CG_STEP_CACHE_STORE,
	CG_STEP_CACHE_REMOVE,
	CG_STEP_JSON_TO_XML,       /* xmljsonpol.c runs these two */
	CG_STEP_XML_TO_JSON,
	CG_STEP_EMIT_METRIC,       /* emitmetric.c */
};

/* forward-client-certificate formats (certgate's extension policy). */
enum cg_fwd_cert { CG_FWD_CERT_NONE = 0, CG_FWD_CERT_RFC9440, CG_FWD_CERT_XFCC };

struct cg_step;
struct cg_cors;
struct cg_jwt;
struct cg_emetric;

struct cg_step_list {
	struct cg_step *items;
	size_t n;
};

struct cg_step {
	enum cg_step_kind kind;
	const struct cg_pol_node *node;
	struct cg_step_list children;         /* choose: when/otherwise; when/otherwise/return-response: body */
	const struct cg_pol_attr *a[4];       /* the kind's attributes, in a fixed order (see pipeline.c) */
	const struct cg_pol_node **values;    /* <value>/<address>/<address-range> children */
	size_t num_values;
	const struct cg_pol_node *message;    /* trace: <message> */
	struct cg_rt_backend *backend;        /* set-backend-service with a literal base-url */
	struct cg_vcc_config *vcc;            /* validate-client-certificate */
	struct cg_rt_client_cert *client;     /* authentication-certificate */
	const struct cg_rt_backend *backend_ref; /* set-backend-service backend-id (literal) */
	const struct cg_cors *cors;           /* cors: origins, methods, headers (gw/cors.c) */
	struct cg_throttle *throttle;         /* rate-limit, quota, limit-concurrency (throttle.h) */
	struct cg_jwt *jwt;                   /* validate-jwt (jwt.h) */
	const struct cg_pol_attr *attr_block; /* json-to-xml: attribute-block-name (a fifth attribute) */
	struct cg_emetric *emetric;           /* emit-metric (emitmetric.h) */
};

struct cg_pipeline {
	struct cg_step_list sec[CG_POL_NSECTIONS];
	/* Only forward-request (without attributes) in backend, nothing in the
	 * other sections: the request needs no policy work at all. */
	bool trivial;
	bool uses_certificate; /* some expression reads context.Request.Certificate */
	bool uses_request_body;  /* an inbound/backend expression reads a Body: buffer the request */
	bool uses_response_body; /* an outbound/on-error expression does: buffer the response */
	/* Outbound must run even when empty: a rate limit or quota adds
	 * response headers or counts at the end of outbound (throttle.h). */
	bool outbound_work;
};

/* Builds the steps of an effective policy in arena, resolving references
 * (certificates, backends) against snap, the snapshot being built. Returns
 * 0, or -1 with err ("line:col: message") for an element we recognise but
 * do not run, a bad validate-client-certificate configuration, or a
 * reference to something that does not exist. */
int cg_pipeline_build(struct cg_arena *arena, const struct cg_pol_effective *eff, struct cg_snapshot *snap,
		      struct cg_pipeline *out, char *err, size_t errlen);

/* authentication-certificate body="@(...)" password="...": client contexts
 * made from PKCS#12 bodies, per worker, keyed by a hash of body and
 * password (a body is usually the same named value on every request). */
#define CG_BODY_CERT_CACHE 16

struct cg_body_cert {
	unsigned char key[32];   /* SHA-256 of body, a 0 byte, password */
	bool used;
	char id[24];             /* "body:" + 16 hex digits: pool key part */
	struct cg_rt_client_cert client;
};

struct cg_body_cert_cache {
	struct cg_body_cert e[CG_BODY_CERT_CACHE];
	unsigned next;           /* round-robin replacement */
};

void cg_body_cert_cache_free(struct cg_body_cert_cache *c);

/* A header list that set-header edits; items are slices in the request arena. */
struct cg_hlist {
	struct cg_expr_header *items;
	size_t n, cap;
};

enum cg_pipe_rc {
	CG_PIPE_CONTINUE = 0, /* the section ran to its end */
	CG_PIPE_RESPOND,      /* return-response/mock-response: send pipe->resp now */
	CG_PIPE_ERROR,        /* an error: run on-error, then send pipe->resp */
	CG_PIPE_NOMEM,        /* the request arena refused: answer 503 */
};

struct cg_pipe {
	struct cg_arena *arena;
	const struct cg_pipeline *pl;
	enum cg_pol_section section;
	/* expression context and its views */
	struct cg_expr_context ctx;
	struct cg_expr_request_view reqv;
	struct cg_expr_response_view respv;
	struct cg_expr_api_view apiv;
	struct cg_expr_operation_view opv;
	struct cg_expr_deployment_view depv;
	struct cg_expr_lasterror_view errv;
	struct cg_expr_vars vars;
	struct cg_expr_ctx ectx;
	/* the request as it will be forwarded */
	struct cg_str method;
	struct cg_str path;   /* relative to the backend's base path ("" or "/...") */
	struct cg_str query;  /* without '?' */
	bool query_present;
	struct cg_hlist req_hdrs;
	struct cg_str req_body;     /* set-body inbound: replaces the client's body */
	bool req_body_set;
	const struct cg_rt_backend *backend; /* set-backend-service, NULL = the API's */
	const struct cg_rt_client_cert *client_cert; /* authentication-certificate, NULL = none */
	enum cg_fwd_cert forward_cert;      /* forward-client-certificate */
	bool forward;               /* forward-request ran */
	uint64_t forward_timeout_ms; /* 0 = the gateway's --backend-timeout */
	/* the response (return-response, mock-response, outbound edits, errors) */
	int status;
	struct cg_str reason;
	struct cg_hlist resp_hdrs;
	struct cg_str resp_body;
	bool resp_body_set;
	bool resp_edited;     /* outbound changed status, headers or body */
	bool in_error;        /* LastError is set */
	bool target_resp;     /* set-header/set-body edit the response (return-response, outbound) */
	bool host_overridden; /* set-header named Host inbound: forward it instead of the backend's */
	struct cg_str err_body_message; /* "message" of the default error body */
	/* the client certificate, for validate-client-certificate */
	const struct cg_x509 *x509;     /* NULL: none presented, or not decoded yet */
	STACK_OF(X509) *peer_chain;     /* intermediates the client sent */
	/* Decodes them on first use (NULL: no certificate to decode). */
	const struct cg_x509 *(*load_x509)(void *user, STACK_OF(X509) **peer_chain);
	void *load_x509_user;
	const struct cg_trust *trust;   /* the snapshot's CA store (NULL: none) */
	struct cg_trust_cache *trust_cache; /* the worker's */
	const struct cg_snapshot *snap;     /* the request's (backend-id expressions) */
	struct cg_stats *stats;             /* the worker's counters (may be NULL) */
	struct cg_body_cert_cache *body_certs; /* the worker's (authentication-certificate body) */
	/* cors: the headers an allowed cross-origin request's response gets
	 * (added to whatever response is sent: cg_cors_apply). */
	struct cg_hlist cors_hdrs;
	bool cors_matched;                  /* a cors policy allowed the Origin */
	uint64_t max_body;                  /* --max-buffered-body: a rewritten body's cap (0: 4 MiB) */
	/* throttling (throttle.c): headers for the final response (Retry-After,
	 * remaining calls), increments deferred to the end of outbound */
	struct cg_hlist limit_hdrs;
	struct cg_throttle_pending *throttle_pending;
	struct cg_throttle_pending *throttle_counted; /* quota-by-key keys counted already */
	bool throttle_done;
};

/* Prepares a pipe for one request (all memory from arena); the caller then
 * fills the views (request, api, operation, deployment), method/path/query
 * and req_hdrs. Returns 0 or -1 (out of memory). */
int cg_pipe_init(struct cg_pipe *p, struct cg_arena *arena, const struct cg_pipeline *pl);

/* Runs one section. On CG_PIPE_ERROR, LastError is set and p->status holds
 * the error status; the caller runs CG_POL_ON_ERROR next (whose own errors
 * end the pipeline with the default error response). */
enum cg_pipe_rc cg_pipe_run(struct cg_pipe *p, enum cg_pol_section s);

/* Fills the default APIM error response ({"statusCode":N,"message":...})
 * for the current LastError, unless on-error already made a response. */
int cg_pipe_error_response(struct cg_pipe *p);

/* Records an error raised outside the policies (backend failures,
 * timeouts): Source, Reason, Message as APIM names them. */
void cg_pipe_set_error(struct cg_pipe *p, const char *source, const char *reason,
		       const char *message, int status);

/* For the policies that live in their own files (gw/cors.c,
 * gw/findreplace.c, gw/throttle.c): the pipeline's error and value
 * helpers. step_error sets LastError for the element (Source, Reason,
 * Message, status, the default body's message) and returns CG_PIPE_ERROR;
 * the others evaluate an attribute or element text (literal or
 * expression; a missing attribute gives the default) as pipeline.c's own
 * policies do, returning CG_PIPE_CONTINUE or the failure;
 * cg_pipe_run_steps runs a step list (limit-concurrency's body). */
enum cg_pipe_rc cg_pipe_step_error(struct cg_pipe *p, const struct cg_step *st, const char *reason,
				   const char *message, int status, const char *body_message);
enum cg_pipe_rc cg_pipe_attr_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				 struct cg_str *out);
enum cg_pipe_rc cg_pipe_attr_bool(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				  bool dflt, bool *out);
enum cg_pipe_rc cg_pipe_attr_int(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				 int64_t dflt, int64_t min, int64_t max, int64_t *out);
/* An attribute's value keeping its type: an expression's value, or a
 * literal as a string (set-variable, cache-store-value). */
enum cg_pipe_rc cg_pipe_attr_value(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_attr *a,
				   struct cg_expr_value *out);
enum cg_pipe_rc cg_pipe_text_str(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_node *n,
				 struct cg_str *out);
enum cg_pipe_rc cg_pipe_run_steps(struct cg_pipe *p, const struct cg_step_list *l);
/* The raw (still percent-encoded) value of the first query parameter
 * named name (exact match; "" for a name without '='); false when absent. */
bool cg_pipe_query_param(const struct cg_pipe *p, struct cg_str name, struct cg_str *value);

/* Policies that rewrite a buffered body (find-and-replace, json-to-xml,
 * xml-to-json; gw/body.c). note_body: at build time, the section's body
 * must be buffered before it runs (on-error: nothing). cg_pipe_body: the
 * body as it stands (what an earlier policy made, else the message's own;
 * resp: the response's, else the request's). body_encoded: the message
 * has a Content-Encoding other than identity and no policy replaced its
 * body (its bytes are compressed, not text). body_replace: nb (in the
 * request arena) becomes the body and context.*.Body. */
void cg_pipe_note_body(struct cg_pipeline *pl, int section);
/* The cap of a rewritten body: --max-buffered-body, else 4 MiB. */
#define CG_PIPE_DEFAULT_MAX_BODY (4u * 1024u * 1024u)
static inline size_t cg_pipe_max_body(const struct cg_pipe *p)
{
	return p->max_body ? (size_t)p->max_body : CG_PIPE_DEFAULT_MAX_BODY;
}
struct cg_str cg_pipe_body(const struct cg_pipe *p, bool resp);
bool cg_pipe_body_encoded(const struct cg_pipe *p, bool resp);
enum cg_pipe_rc cg_pipe_body_replace(struct cg_pipe *p, bool resp, struct cg_str nb);

/* Header list helpers (ASCII case-insensitive names). */
int cg_hlist_add(struct cg_hlist *l, struct cg_arena *a, struct cg_str name, struct cg_str value);
void cg_hlist_remove(struct cg_hlist *l, struct cg_str name);
const struct cg_expr_header *cg_hlist_find(const struct cg_hlist *l, struct cg_str name);

#endif

/* Gateway runtime types (data plane). See docs/INTERNALS.md for the flow:
 * accept -> TLS handshake (SNI picks the hostname) -> HTTP/1.1 head ->
 * pin the config snapshot -> route -> proxy (upstream pool) -> response. */
#ifndef CG_GW_GW_T_H
#define CG_GW_GW_T_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "http/h1-t.h"
#include "gw/lb.h"

/* ---- settings ---------------------------------------------------------- */

struct cg_gw_settings {
	uint64_t header_timeout_ms;  /* whole request head (slowloris), also the TLS handshake */
	uint64_t idle_timeout_ms;    /* keep-alive wait between requests */
	uint64_t body_timeout_ms;    /* no progress while streaming a body */
	uint64_t connect_timeout_ms; /* backend connect (+ TLS handshake) -> 502 */
	uint64_t backend_timeout_ms; /* backend response head -> 504 */
	uint64_t grace_ms;           /* graceful stop bound */
	uint64_t max_body_bytes;     /* request body -> 413 */
	uint64_t max_buffered_body;  /* a body policies read (buffered whole) -> 413 / 502 */
	struct cg_h1_limits h1;
	unsigned max_conns_per_worker;
	unsigned max_idle_upstream;  /* idle pooled connections per backend per worker */
	uint64_t upstream_idle_ms;   /* pooled connection idle lifetime */
	bool access_log;
};

/* ---- configuration snapshot -------------------------------------------- */

struct cg_pipeline;
struct cg_pol_doc;
struct cg_expr_cert_table;
struct cg_trust;
struct x509_st;

struct cg_cert_obj;

/* An uploaded certificate (APIM certificates entity). */
struct cg_cert_entity {
	struct cg_str id;
	struct x509_st *x509; /* owned by the certificate's shared view */
	const char *key_pem;  /* its private key when it has one (backend mTLS) */
};

/* A hostname at runtime. settings_id identifies its TLS trust settings:
 * two hostnames with equal ids may share a connection (no 421). */
struct cg_rt_host {
	struct cg_str name; /* lowercase; "*.example.com" for a wildcard */
	bool wildcard;
	bool negotiate;
	bool is_default;
	uint32_t settings_id;
	struct cg_tls_host *tls; /* its server credentials (tls/srv.h) */
};

enum cg_tmpl_seg_kind { CG_SEG_LITERAL, CG_SEG_PARAM, CG_SEG_WILDCARD, CG_SEG_MIXED };

/* A part of a mixed segment ("{name}.{format}", "v{version}"). */
struct cg_tmpl_part {
	bool param;
	struct cg_str text; /* literal text, or the parameter name */
};

struct cg_tmpl_seg {
	enum cg_tmpl_seg_kind kind;
	struct cg_str text; /* literal text, or the parameter name */
	struct cg_tmpl_part *parts; /* CG_SEG_MIXED */
	size_t num_parts;
};

struct cg_rt_op {
	struct cg_str id;
	struct cg_str display_name; /* <operation name="..."> limits of rate-limit/quota match it */
	struct cg_str method; /* uppercase, or "*" */
	struct cg_str url_template;
	struct cg_tmpl_seg *segs;
	size_t num_segs;
	struct cg_str *query_params; /* names required in the query ("?a={a}") */
	size_t num_query_params;
	unsigned score; /* specificity, for choosing among several matches */
	const struct cg_pipeline *pipeline; /* effective policy: global + API + this operation */
	const struct cg_pol_doc *doc;       /* its own policy document, or NULL (for products) */
};

/* A backend origin and its resolved address (resolved when the snapshot is
 * built, off the request path). */
struct cg_rt_backend {
	struct cg_str url;       /* as configured */
	bool tls;
	struct cg_str host;      /* for Host, SNI and certificate name checks */
	uint16_t port;
	struct cg_str host_hdr;  /* "host" or "host:port" when not the default port */
	struct cg_str base_path; /* path without trailing '/', may be "" */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool unresolved;         /* its host did not resolve when the snapshot was built */
	struct cg_str pool_key;  /* "scheme://host:port", + "|backend-id" with its own TLS settings */
	bool verify;             /* check the server certificate's name (HTTPS) */
	struct cg_str id;        /* the backend entity's id, "" for an API's own serviceUrl */
	SSL_CTX *ssl_ctx;        /* its own TLS settings / client certificate; NULL: the default */
	struct cg_lb_breaker *breaker;               /* circuit breaker state (shared), or NULL */
	const struct cg_model_breaker *breaker_rule; /* its rule */
	const char *breaker_key; /* URL and rule as stored: a next snapshot with the same keeps the state */
	const struct cg_rt_pool *pool; /* a pool (APIM type Pool): a member is picked per request */
};

/* A pool backend: members index all (the snapshot's backends). */
struct cg_rt_pool {
	struct cg_lb_pool lb;
	const struct cg_rt_backend *all;
};

/* A client certificate for backend mTLS (authentication-certificate). */
struct cg_rt_client_cert {
	struct cg_str cert_id;
	SSL_CTX *ssl_ctx;        /* default verification + this client certificate */
};

/* A subscription (APIM subscriptions/{sid}) as the gateway checks it. */
/* An API of a product and its effective policies with the product's
 * document between global and API (APIM: global, product, API,
 * operation). */
struct cg_rt_product_api {
	const struct cg_rt_api *api;
	const struct cg_pipeline *pipeline;      /* global + product + API */
	const struct cg_pipeline **op_pipelines; /* per operation of api, in its order */
};

/* A product (APIM products/{pid}). */
struct cg_rt_product {
	struct cg_str id;
	struct cg_str display_name;
	bool published;              /* only a published product grants its APIs */
	bool sub_required;           /* APIM subscriptionRequired (context.Product) */
	bool approval_required;      /* APIM approvalRequired (context.Product) */
	int64_t subscriptions_limit; /* APIM subscriptionsLimit; -1 = null */
	struct cg_rt_product_api *apis; /* sorted by API id (bytewise) */
	size_t num_apis;
};

struct cg_rt_sub {
	struct cg_str id;
	struct cg_str display_name;
	struct cg_str scope_api;  /* the one API it grants; "" = all APIs (unless a product) */
	struct cg_str scope_product; /* "/products/{pid}" scope: pid; "" otherwise */
	const struct cg_rt_product *product; /* that product; NULL: none, or not found (grants nothing) */
	bool active;              /* state "active": only then do its keys work */
	int64_t expires;          /* unix seconds; 0 = never */
	int64_t created;          /* unix seconds */
	struct cg_str primary_key, secondary_key; /* for context.Subscription */
};

/* One slot of the snapshot's key table: the SHA-256 of a key (primary or
 * secondary) and its subscription; sub NULL = empty slot. */
struct cg_rt_sub_key {
	unsigned char digest[32];
	const struct cg_rt_sub *sub;
};

struct cg_rt_api {
	struct cg_str id;
	bool sub_required;         /* APIM subscriptionRequired */
	unsigned protocols;        /* APIM protocols: CG_MODEL_PROTO_* bits the API is served over */
	struct cg_str sub_header;  /* subscriptionKeyParameterNames.header */
	struct cg_str sub_query;   /* subscriptionKeyParameterNames.query */
	struct cg_str path; /* URL suffix, no leading/trailing '/' */
	struct cg_rt_backend backend;
	struct cg_str display_name;
	struct cg_rt_op *ops;
	size_t num_ops;
	const struct cg_pipeline *pipeline; /* global + API (requests when the API has no operations) */
	const struct cg_pol_doc *doc;       /* its own policy document, or NULL (for products) */
};

struct cg_snapshot {
	atomic_int refs;
	uint64_t generation;
	struct cg_arena arena;
	struct cg_rt_host *hosts;
	size_t num_hosts;
	struct cg_rt_host *default_host;
	struct cg_rt_api **apis; /* sorted by path length, longest first */
	size_t num_apis;
	const struct cg_expr_cert_table *certificates; /* context.Deployment.Certificates */
	struct cg_cert_entity *cert_entities;          /* uploaded certificates, by id */
	struct cg_cert_obj **cert_objs;                /* their shared, refcounted views */
	size_t num_cert_entities;
	struct cg_trust *trust;                        /* CA certificates and CRLs */
	struct cg_rt_backend *backends;                /* backend entities */
	size_t num_backends;
	struct cg_rt_sub *subs;                        /* subscriptions */
	size_t num_subs;
	struct cg_rt_sub_key *sub_keys;                /* open addressing by digest, 2^k slots */
	size_t sub_key_mask;                           /* slots - 1 */
	struct cg_rt_product *products;                /* sorted by id */
	size_t num_products;
};

/* ---- route result -------------------------------------------------------- */

#define CG_ROUTE_MAX_PARAMS 16 /* template parameters of one operation */

struct cg_route_param {
	struct cg_str name;  /* matches struct cg_expr_strpair's layout: key, value */
	struct cg_str value;
};

struct cg_route {
	const struct cg_rt_api *api;
	const struct cg_rt_op *op;
	struct cg_str rest; /* path after the API suffix ("" or starting with '/') */
	struct cg_route_param params[CG_ROUTE_MAX_PARAMS]; /* the operation's matched parameters */
	size_t num_params;
};

#endif

/* The configuration model: plain data loaded from the store in one read
 * transaction. The snapshot builder (src/gw/snapshot.c) turns a model into
 * the immutable runtime snapshot. Everything here lives in model->arena.
 * Later issues add policies, certificates, CA certificates, named values,
 * fragments and backends to it. */
#ifndef CG_STORE_MODEL_T_H
#define CG_STORE_MODEL_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

/* A gateway hostname (APIM hostnameConfiguration of type Proxy). */
struct cg_model_host {
	const char *name;      /* lowercase DNS name, or "*.example.com" */
	const char *cert_pem;  /* server certificate chain, PEM (leaf first) */
	const char *key_pem;   /* its private key, PEM; never logged or printed */
	bool negotiate_client_certificate; /* APIM negotiateClientCertificate */
	bool is_default;       /* served to clients that send no (or an unknown) SNI */
};

/* An API operation (APIM apis/{id}/operations/{op}). */
struct cg_model_op {
	const char *id;
	const char *display_name;
	const char *method;       /* uppercase verb, or "*" */
	const char *url_template; /* "/orders/{id}", or a final "/" + "*" wildcard */
};

/* APIM API protocols (the URL schemes an API is served over), as bits. */
#define CG_MODEL_PROTO_HTTP  1u
#define CG_MODEL_PROTO_HTTPS 2u
#define CG_MODEL_PROTO_ALL   (CG_MODEL_PROTO_HTTP | CG_MODEL_PROTO_HTTPS)

/* An API (APIM apis/{id}). */
struct cg_model_api {
	const char *id;
	const char *display_name;
	const char *path;        /* URL suffix without leading/trailing '/', may be "" */
	const char *service_url; /* backend base URL, http:// or https:// */
	struct cg_model_op *ops;
	size_t num_ops;
	bool subscription_required;  /* APIM subscriptionRequired: a key is needed */
	const char *sub_key_header;  /* subscriptionKeyParameterNames.header */
	const char *sub_key_query;   /* subscriptionKeyParameterNames.query
				      * (NULL header/query: APIM's defaults) */
	unsigned protocols;          /* APIM protocols: CG_MODEL_PROTO_* bits; the store never
				      * loads 0, a model built by hand (tests) with 0 means both */
};

/* A policy document (APIM policies/policy at a scope). */
enum cg_model_policy_scope {
	CG_MODEL_POLICY_GLOBAL = 0,
	CG_MODEL_POLICY_API,
	CG_MODEL_POLICY_OPERATION,
	CG_MODEL_POLICY_PRODUCT, /* the store's functions take the product id where the api id goes */
};

struct cg_model_policy {
	enum cg_model_policy_scope scope;
	const char *api_id;  /* API and operation scopes; NULL at global */
	const char *op_id;   /* operation scope only */
	const char *format;  /* "rawxml" or "xml" */
	const char *value;   /* the document text, as stored */
	const char *product_id; /* product scope only */
};

/* A named value ({{name}} in policies). */
struct cg_model_named_value {
	const char *name;
	const char *value;   /* secret values too: the snapshot needs them */
	bool secret;
};

/* A policy fragment (<fragment>...</fragment>). */
struct cg_model_fragment {
	const char *id;
	const char *description;
	const char *format;  /* "rawxml" or "xml" */
	const char *value;
};

/* An uploaded certificate (APIM certificates/{id}): what policies see in
 * context.Deployment.Certificates (keyed by thumbprint), and later the
 * client certificate of backend mTLS when a private key came with it. */
struct cg_model_cert {
	const char *id;
	const unsigned char *der; /* the certificate, DER */
	size_t der_len;
	const char *thumbprint;   /* uppercase hex SHA-1 of der */
	bool has_key;
	const char *key_pem;      /* its private key (PKCS#8 PEM) when has_key, else NULL;
				   * never logged or printed */
};

/* A CA certificate (APIM service certificates[]): trust anchors (Root)
 * and intermediates (CertificateAuthority) for Verify(),
 * validate-client-certificate and backend server validation. */
struct cg_model_ca {
	const char *id;
	const unsigned char *der;
	size_t der_len;
	const char *thumbprint; /* uppercase hex SHA-1 of der */
	bool intermediate;      /* CertificateAuthority store; false = Root */
};

/* A failure status range of a circuit breaker rule, both ends included. */
struct cg_model_status_range {
	uint16_t min, max;
};

#define CG_MODEL_MAX_STATUS_RANGES 16

/* A backend's circuitBreaker rule (APIM allows one), as validated by the
 * store (src/store/breaker.c); docs/backend-pools.md. */
struct cg_model_breaker {
	uint32_t count;      /* failures within interval that trip it; 0 = not set */
	uint32_t percentage; /* 1..100 % of the interval's calls that trip it; 0 = not set */
	int64_t interval_ms; /* > 0 */
	int64_t trip_ms;     /* > 0 */
	bool accept_retry_after;
	bool transport_errors; /* errorReasons listed: no response (connect failure, timeout) is a failure */
	struct cg_model_status_range ranges[CG_MODEL_MAX_STATUS_RANGES];
	size_t num_ranges;
};

/* A member of a pool backend (APIM pool.services[]). */
struct cg_model_pool_member {
	const char *backend_id; /* a single backend */
	int priority;           /* 0..100; -1 = not given (0) */
	int weight;             /* 0..100; -1 = not given (1) */
};

/* A backend (APIM backends/{id}): where set-backend-service backend-id
 * sends requests, and how the gateway talks TLS to it. A pool (type Pool)
 * has members instead of a url. */
struct cg_model_backend {
	const char *id;
	const char *url;            /* http:// or https:// base URL; NULL for a pool */
	const char *client_cert_id; /* certificate (with key) presented for mTLS, or NULL */
	bool validate_chain;        /* APIM tls.validateCertificateChain (default true) */
	bool validate_name;         /* APIM tls.validateCertificateName (default true) */
	const char *breaker_json;   /* circuitBreaker as stored (ARM JSON), or NULL */
	struct cg_model_breaker *breaker; /* parsed breaker_json, or NULL */
	struct cg_model_pool_member *members; /* a pool's, in the stored order */
	size_t num_members;                   /* 0 = a single backend */
};

/* A certificate revocation list uploaded for a CA (DER). */
struct cg_model_crl {
	const char *id;
	const unsigned char *der;
	size_t der_len;
	const char *issuer;      /* .NET form, for listings */
	const char *next_update; /* ISO 8601 UTC */
};

/* A subscription (APIM subscriptions/{sid}): a named pair of keys that
 * grants the APIs of its scope while its state is active. */
struct cg_model_sub {
	const char *id;
	const char *display_name;
	const char *scope_api;     /* the API of an "/apis/{api}" scope; NULL = "/apis" (all) */
	const char *state;         /* active, suspended, submitted, rejected, cancelled, expired */
	const char *primary_key;   /* never logged or printed by lists */
	const char *secondary_key;
	const char *expiration;    /* ISO 8601 UTC "2027-01-31T00:00:00Z", or NULL */
	const char *created_at;    /* ISO 8601 UTC */
	const char *scope_product; /* the product of a "/products/{pid}" scope (scope_api NULL), or NULL */
};

/* A product (APIM products/{pid}): a group of APIs a product-scoped
 * subscription grants while the product is published. */
struct cg_model_product {
	const char *id;
	const char *display_name;
	const char *description;
	bool subscription_required; /* APIM subscriptionRequired (see docs/subscriptions.md) */
	bool approval_required;     /* APIM approvalRequired: stored and shown, no workflow */
	int64_t subscriptions_limit; /* APIM subscriptionsLimit; -1 = none (null) */
	bool published;             /* state "published"; "notPublished" grants nothing */
	const char **apis;          /* ids of its APIs, sorted bytewise */
	size_t num_apis;
	const char *created_at;
};

struct cg_model {
	struct cg_arena arena;
	struct cg_model_host *hosts;
	size_t num_hosts;
	struct cg_model_api *apis;
	size_t num_apis;
	/* Filled by stores that have these tables; empty otherwise. */
	struct cg_model_policy *policies;
	size_t num_policies;
	struct cg_model_named_value *named_values;
	size_t num_named_values;
	struct cg_model_fragment *fragments;
	size_t num_fragments;
	struct cg_model_cert *certs;
	size_t num_certs;
	struct cg_model_ca *cas;
	size_t num_cas;
	struct cg_model_backend *backends;
	size_t num_backends;
	struct cg_model_crl *crls;
	size_t num_crls;
	struct cg_model_sub *subs;
	size_t num_subs;
	struct cg_model_product *products; /* sorted by id */
	size_t num_products;
};

#endif

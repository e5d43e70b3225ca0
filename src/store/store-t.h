/* Types for the store's write interface: the limits every write is checked
 * against, the failure kinds (so the CLI and the REST API can map them to
 * exit codes / HTTP statuses), and the inputs of the "set" operations.
 * Functions are in store.h. */
#ifndef CG_STORE_STORE_T_H
#define CG_STORE_STORE_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Every write is refused past them and a model that exceeds them
 * (a file edited by hand) is refused at load, so the snapshot builder can
 * size its tables. */
#define CG_STORE_MAX_HOSTS            1000         /* hostname rows */
#define CG_STORE_MAX_APIS             10000        /* API rows */
#define CG_STORE_MAX_OPS_PER_API      1000         /* operations under one API */
#define CG_STORE_MAX_HOSTNAME_LEN     253          /* DNS limit, including "*." */
#define CG_STORE_MAX_LABEL_LEN        63           /* DNS label limit */
#define CG_STORE_MAX_ID_LEN           80           /* APIM resource name limit */
#define CG_STORE_MAX_DISPLAY_NAME_LEN 300          /* APIM displayName limit */
#define CG_STORE_MAX_PATH_LEN         400          /* APIM API path (URL suffix) limit */
#define CG_STORE_MAX_URL_LEN          2000         /* APIM serviceUrl limit */
#define CG_STORE_MAX_METHOD_LEN       32           /* longer verbs are surely typos */
#define CG_STORE_MAX_TEMPLATE_LEN     1000         /* APIM urlTemplate limit */
#define CG_STORE_MAX_TEMPLATE_PARAMS  32           /* {params} in one URL template */
#define CG_STORE_MAX_PEM_BYTES        (256 * 1024) /* a certificate chain or key, PEM */
#define CG_STORE_MAX_CHAIN            10           /* certificates in a server chain */
#define CG_STORE_BUSY_TIMEOUT_MS      5000         /* a writer waits this long for another */
/* Policies, named values, fragments (APIM limits where APIM has one). */
#define CG_STORE_MAX_POLICY_BYTES     (256 * 1024) /* = CG_POL_MAX_DOC_BYTES, the loader's own */
#define CG_STORE_MAX_FRAGMENT_BYTES   (512 * 1024) /* = CG_POL_MAX_FRAGMENT_BYTES (APIM: 512 KB) */
#define CG_STORE_MAX_FRAGMENTS        1000         /* fragment rows */
#define CG_STORE_MAX_DESCRIPTION_LEN  1000         /* APIM description limit */
#define CG_STORE_MAX_NAMED_VALUES     10000        /* named value rows */
#define CG_STORE_MAX_NV_NAME_LEN      256          /* APIM displayName limit */
#define CG_STORE_MAX_NV_VALUE_LEN     4096         /* APIM named value limit */
#define CG_STORE_MAX_NV_TAGS          32           /* tags of one named value */
#define CG_STORE_MAX_NV_TAG_LEN       64           /* one tag */
/* Certificates (APIM certificates entity) and CA certificates. */
#define CG_STORE_MAX_CERTS            50000        /* certificate rows: allow-lists of tens of thousands (issue 6 benchmarks 10,000) */
#define CG_STORE_MAX_CRLS             100          /* CRL rows (one or two per CA) */
#define CG_STORE_MAX_CRL_BYTES        (8 * 1024 * 1024) /* one CRL upload */
#define CG_STORE_MAX_CAS              100          /* CA rows (APIM: 10 on the service; private
						    * PKIs with many intermediates need more) */
#define CG_STORE_MAX_CERT_FILE_BYTES  (256 * 1024) /* an uploaded PEM, DER or PKCS#12 file */
#define CG_STORE_MAX_PASSWORD_LEN     1024         /* a PKCS#12 password */
#define CG_STORE_MAX_BACKENDS         10000        /* backend rows */
/* Subscriptions (APIM subscriptions entity). */
#define CG_STORE_MAX_SUBS             100000       /* subscription rows */
#define CG_STORE_MIN_SUB_KEY_LEN      8            /* a given key: shorter ones are guessable */
#define CG_STORE_MAX_SUB_KEY_LEN      256          /* APIM primaryKey/secondaryKey limit */
#define CG_STORE_SUB_KEY_BYTES        16           /* a generated key: 16 random bytes, 32 hex digits */
#define CG_STORE_MAX_KEY_NAME_LEN     100          /* subscriptionKeyParameterNames header/query */
/* Products (APIM products entity). */
#define CG_STORE_MAX_PRODUCTS         1000         /* product rows */
#define CG_STORE_MAX_PRODUCT_APIS     100000       /* product-API links, all products together */
/* Messages listing every diagnostic: a caller that wants them all passes a
 * buffer this big (CG_STORE_ERR_LEN holds the first few). */
#define CG_STORE_DIAG_LEN             (64 * 1024)

/* What went wrong, for callers that map failures (exit codes, HTTP 400/404/
 * 409/500). Every failing function returns one of these (all negative) and
 * writes a message to err. */
enum cg_store_fail {
	CG_STORE_FAIL_IO = -1,        /* SQLite/filesystem/OOM: not the caller's fault */
	CG_STORE_FAIL_INVALID = -2,   /* the input was refused by validation */
	CG_STORE_FAIL_NOT_FOUND = -3, /* the named entity does not exist */
	CG_STORE_FAIL_CONFLICT = -4,  /* clashes with another entity (path, default host), or
				       * is still used (a named value a policy refers to) */
};

/* `host set`: creates the hostname or updates it. On update, NULL/-1 fields
 * keep their stored value; on create cert_pem and key_pem are required. */
struct cg_store_host_set {
	const char *name;                 /* DNS name, any case (stored lowercase) */
	const char *cert_pem;             /* chain PEM, leaf first; NULL = keep */
	const char *key_pem;              /* PEM private key, RSA or EC, unencrypted; NULL = keep */
	int negotiate_client_certificate; /* 1, 0, or -1 = keep (false on create) */
	bool make_default;                /* true: this one becomes the default, others lose it */
	/* Non-fatal findings (an expired certificate) go here when warn is set,
	 * else to the log. warn[0] is "" when there is nothing to say. */
	char *warn;
	size_t warnlen;
	bool *created; /* optional out: set true when the hostname was new */
};

/* `api set`: creates or updates. NULL keeps the stored value; on create
 * path and service_url are required and display_name defaults to id. */
struct cg_store_api_set {
	const char *id;
	const char *display_name;
	const char *path;        /* URL suffix; leading/trailing '/' are stripped */
	const char *service_url; /* http:// or https:// backend base URL */
	bool *created;           /* optional out: set true when the API was new */
	int subscription_required; /* 1, 0, or -1 = keep (false on create: see docs/subscriptions.md) */
	const char *sub_key_header; /* subscription key header name; NULL = keep (default on create) */
	const char *sub_key_query;  /* subscription key query parameter name; NULL = keep */
	unsigned protocols;         /* CG_MODEL_PROTO_* bits; 0 = keep (http and https on create) */
};

/* `sub set`: creates or updates a subscription. NULL keeps the stored
 * value on update; on create scope is required, display_name defaults to
 * id, state to "submitted" (APIM), and each key not given is generated
 * from the system CSPRNG (16 bytes, 32 lowercase hex digits). */
struct cg_store_sub_set {
	const char *id;
	const char *display_name;
	const char *scope;         /* "/apis", "/apis/{api}" or "/products/{pid}" (an ARM id
				    * ending so is accepted) */
	const char *state;         /* active, suspended, submitted, rejected, cancelled, expired */
	const char *primary_key;   /* 8-256 of [A-Za-z0-9._~-]; unique among all keys */
	const char *secondary_key;
	const char *expiration;    /* "YYYY-MM-DDTHH:MM:SSZ"; "" clears; NULL keeps */
	bool *created;
};

/* `product set`: creates or updates a product. NULL / -1 keep the stored
 * value on update; on create display_name defaults to id, description to
 * "", subscription_required to true and state to "notPublished" (APIM's
 * defaults), approval_required to false and subscriptions_limit to none. */
struct cg_store_product_set {
	const char *id;
	const char *display_name;
	const char *description;      /* at most CG_STORE_MAX_DESCRIPTION_LEN bytes */
	int subscription_required;    /* 1, 0, or -1 = keep */
	int approval_required;        /* 1, 0, or -1 = keep */
	int64_t subscriptions_limit;  /* >= 0; -1 = keep; CG_STORE_PRODUCT_NO_LIMIT clears */
	const char *state;            /* "published" or "notPublished"; NULL = keep */
	bool *created;
};
#define CG_STORE_PRODUCT_NO_LIMIT (-2)

/* `op set`: creates or updates an operation of an existing API. NULL keeps
 * the stored value; on create method and url_template are required and
 * display_name defaults to id. */
struct cg_store_op_set {
	const char *api_id;
	const char *id;
	const char *display_name;
	const char *method;       /* HTTP token (stored uppercase) or "*" */
	const char *url_template; /* "/orders/{id}", "/items?sort={sort}", "/" + "*" */
	bool *created;            /* optional out: set true when the operation was new */
};

/* `nv set`: creates or replaces a named value (APIM namedValues PUT: the
 * whole entity is replaced, so secret and tags are not "kept"). */
struct cg_store_nv_set {
	const char *name;         /* ^[A-Za-z0-9-._]+$, 1-256 chars, case-sensitive */
	const char *value;        /* 1-4096 bytes, not whitespace only, no NUL */
	bool secret;              /* never printed by list/show (unless revealed) */
	const char *const *tags;  /* optional: num_tags tags, each an id (1-64 chars) */
	size_t num_tags;
	bool *created;            /* optional out: set true when the name was new */
};

/* `cert add`: creates or replaces a certificate (APIM PUT
 * certificates/{id}) from an uploaded file (see cg_store_cert_parse_upload). */
struct cg_store_cert_add {
	const char *id;            /* like an API id */
	const unsigned char *data; /* the file: PEM, DER or PKCS#12 */
	size_t len;
	const char *password;      /* PKCS#12 only; NULL = empty */
	bool *created;             /* optional out: set true when the id was new */
	/* Non-fatal findings (an expired certificate): "" when none. */
	char *warn;
	size_t warnlen;
};

/* `ca add`: creates or replaces a CA certificate (APIM service
 * certificates[], storeName Root or CertificateAuthority). */
struct cg_store_ca_add {
	const char *id;
	const unsigned char *data; /* PEM, DER or PKCS#12 (its key is ignored) */
	size_t len;
	const char *password;
	bool intermediate; /* CertificateAuthority store; false = Root */
	bool *created;
	char *warn;
	size_t warnlen;
};

struct cg_model_pool_member;

/* `backend set`: creates or updates a backend. NULL / -1 keep the stored
 * value on update; on create url is required and both validations
 * default to on (APIM). */
struct cg_store_backend_set {
	const char *id;
	const char *url;            /* http:// or https:// (as an API's backend URL) */
	const char *client_cert_id; /* a stored certificate with a private key; NULL = keep */
	bool no_client_cert;        /* drop the client certificate */
	int validate_chain;         /* 1, 0, or -1 = keep */
	int validate_name;          /* 1, 0, or -1 = keep */
	/* APIM type Pool: 1 makes it a pool of members (no url, no client
	 * certificate, no breaker), 0 a single backend (a url is then needed
	 * if it was a pool), -1 keeps the stored type (and members). */
	int is_pool;
	const struct cg_model_pool_member *members; /* is_pool 1: 1..CG_STORE_MAX_POOL_MEMBERS */
	size_t num_members;
	const char *breaker_json; /* properties.circuitBreaker JSON text; NULL = keep, "" = none */
	bool *created;
};

/* One named value as stored; strings are malloc'd (cg_store_nv_free wipes
 * the value before freeing it). */
struct cg_store_nv {
	char *name;
	char *value;
	bool secret;
	char *tags; /* JSON array text, "[]" when none */
};

/* A policy or fragment as stored; malloc'd (free with cg_store_text_free). */
struct cg_store_text {
	char *format;      /* "rawxml" or "xml" */
	char *value;       /* the text as it was given */
	char *description; /* fragments only; "" otherwise */
};

#endif

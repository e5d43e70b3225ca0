/* Types of the REST management API (types only; functions in admin.h and,
 * for the module's own files and unit tests, admin-int.h).
 *
 * The admin API is HTTP/1.1 (plain, or TLS with --admin-cert) on a listener
 * of the gateway's main thread. A request is read whole (head and body, within the limits
 * below), then handled synchronously against the store: the gateway picks
 * store changes up by itself, so the admin API only reads and writes it. */
#ifndef CG_ADMIN_ADMIN_T_H
#define CG_ADMIN_ADMIN_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

/* Named limits; each has an integration test that goes past it. */
#define CG_ADMIN_MAX_BODY_BYTES     (1024 * 1024) /* request body (decoded) -> 413 */
#define CG_ADMIN_MAX_HEAD_BYTES     (16 * 1024)   /* request head -> 431 */
#define CG_ADMIN_MAX_HEADERS        64            /* header fields -> 431 */
#define CG_ADMIN_MAX_CONNS          64            /* open admin connections -> 503 + close */
#define CG_ADMIN_HEADER_TIMEOUT_MS  10000         /* first byte to end of head -> close */
#define CG_ADMIN_BODY_TIMEOUT_MS    30000         /* end of head to end of body -> close */
#define CG_ADMIN_IDLE_TIMEOUT_MS    60000         /* keep-alive wait between requests */
#define CG_ADMIN_MAX_TOKEN_BYTES    4096          /* the token file */
#define CG_ADMIN_MIN_TOKEN_BYTES    16            /* shorter tokens are guessable: refused */
#define CG_ADMIN_MAX_SEGMENTS       16            /* path segments after the ARM prefix */
#define CG_ADMIN_MAX_ERROR_BYTES    (80 * 1024)   /* an error message (all policy diagnostics) */
#define CG_ADMIN_MAX_RESPONSE_BYTES (64 * 1024 * 1024) /* a list of every API with operations */
#define CG_ADMIN_MAX_PEM_BYTES      (1024 * 1024) /* --admin-cert, --admin-key, --admin-client-ca files */
#define CG_ADMIN_MAX_PASSWORD_BYTES 1024          /* --admin-key-password-file */
#define CG_ADMIN_MAX_PINS           64            /* --admin-client-thumbprint values */
#define CG_ADMIN_HANDSHAKE_TIMEOUT_MS CG_ADMIN_HEADER_TIMEOUT_MS /* accept to end of the TLS handshake */

/* The admin options of `certgate serve` (docs/admin-api.md, "Securing the
 * admin API"). Strings are borrowed (argv). */
struct cg_admin_opts {
	const char *listen;            /* --admin ADDR:PORT */
	const char *token_file;        /* --admin-token-file; NULL: no bearer token */
	const char *cert_file;         /* --admin-cert: TLS with this chain (PEM, leaf first) */
	const char *key_file;          /* --admin-key: its private key (PEM, maybe encrypted) */
	const char *key_password_file; /* --admin-key-password-file: the key's password */
	const char *client_ca_file;    /* --admin-client-ca: require a client certificate from these CAs */
	const char *pins[CG_ADMIN_MAX_PINS]; /* --admin-client-thumbprint (repeatable) */
	size_t num_pins;
};

/* What the admin listener thinks of a connection's client certificate,
 * decided once, right after the TLS handshake. */
enum cg_admin_cert {
	CG_ADMIN_CERT_NOT_REQUIRED = 0, /* no --admin-client-ca: nothing asked */
	CG_ADMIN_CERT_OK,               /* chains to an admin client CA (and is pinned, when pins are set) */
	CG_ADMIN_CERT_MISSING,          /* required, none sent */
	CG_ADMIN_CERT_UNTRUSTED,        /* sent, but no valid chain to an admin client CA */
	CG_ADMIN_CERT_NOT_PINNED,       /* trusted, but its thumbprint is not one of the pins */
};

/* What a route names. One value per collection/item pair; the handler
 * table in handle.c is indexed by it. */
enum cg_admin_res {
	CG_ADMIN_RES_NONE = 0,
	CG_ADMIN_RES_APIS,              /* /apis */
	CG_ADMIN_RES_API,               /* /apis/{api} */
	CG_ADMIN_RES_OPS,               /* /apis/{api}/operations */
	CG_ADMIN_RES_OP,                /* /apis/{api}/operations/{op} */
	CG_ADMIN_RES_HOSTS,             /* /hostnames */
	CG_ADMIN_RES_HOST,              /* /hostnames/{name} */
	CG_ADMIN_RES_POLICIES,          /* /policies, /products/{pid}/policies, /apis/{api}/policies,
					 * .../operations/{op}/policies */
	CG_ADMIN_RES_POLICY,            /* .../policies/policy */
	CG_ADMIN_RES_FRAGMENTS,         /* /policyFragments */
	CG_ADMIN_RES_FRAGMENT,          /* /policyFragments/{id} */
	CG_ADMIN_RES_CERTS,             /* /certificates */
	CG_ADMIN_RES_CERT,              /* /certificates/{id} */
	CG_ADMIN_RES_NAMED_VALUES,      /* /namedValues */
	CG_ADMIN_RES_NAMED_VALUE,       /* /namedValues/{id} */
	CG_ADMIN_RES_NAMED_VALUE_LIST,  /* POST /namedValues/{id}/listValue */
	CG_ADMIN_RES_CAS,               /* /caCertificates (certgate's: APIM's service certificates[]) */
	CG_ADMIN_RES_CA,                /* /caCertificates/{id} */
	CG_ADMIN_RES_BACKENDS,          /* /backends */
	CG_ADMIN_RES_BACKEND,           /* /backends/{id} */
	CG_ADMIN_RES_SUBS,              /* /subscriptions */
	CG_ADMIN_RES_SUB,               /* /subscriptions/{sid} */
	CG_ADMIN_RES_SUB_ACTION,        /* POST /subscriptions/{sid}/{listSecrets,regenerate*Key} */
	CG_ADMIN_RES_PRODUCTS,          /* /products */
	CG_ADMIN_RES_PRODUCT,           /* /products/{pid} */
	CG_ADMIN_RES_PRODUCT_APIS,      /* /products/{pid}/apis */
	CG_ADMIN_RES_PRODUCT_API,       /* /products/{pid}/apis/{api} */
	CG_ADMIN_RES_COUNT_,
};

/* Longest resource name in a route: APIM's 80 (ids) or a DNS name (253). */
#define CG_ADMIN_MAX_NAME_LEN 256

/* POST actions on a subscription (APIM). */
enum cg_admin_sub_action {
	CG_ADMIN_SUB_LIST_SECRETS = 0,
	CG_ADMIN_SUB_REGEN_PRIMARY,
	CG_ADMIN_SUB_REGEN_SECONDARY,
};

/* A request path resolved to a resource. Names are percent-decoded and
 * NUL-terminated (they go to the store's C interface). */
struct cg_admin_route {
	enum cg_admin_res res;
	char api[CG_ADMIN_MAX_NAME_LEN + 1];  /* API id, for API/operation scopes */
	char product[CG_ADMIN_MAX_NAME_LEN + 1]; /* product id (products/{pid}/...) */
	char op[CG_ADMIN_MAX_NAME_LEN + 1];   /* operation id */
	char name[CG_ADMIN_MAX_NAME_LEN + 1]; /* the item's own name (hostname, fragment id ...) */
	enum cg_admin_sub_action action;      /* CG_ADMIN_RES_SUB_ACTION */
};

/* Methods the API knows; anything else is 405. */
enum cg_admin_method {
	CG_ADMIN_M_OTHER = 0,
	CG_ADMIN_M_GET,
	CG_ADMIN_M_PUT,
	CG_ADMIN_M_DELETE,
	CG_ADMIN_M_POST,
	CG_ADMIN_M_PATCH,
};

/* One whole request, as the handler sees it. Slices point into the
 * connection's buffer; the body is decoded (chunked framing removed). */
struct cg_admin_req {
	enum cg_admin_method method;
	struct cg_str method_text;
	struct cg_str path;          /* without the query */
	struct cg_str query;         /* api-version and friends: accepted, ignored */
	struct cg_str authorization; /* empty when absent */
	enum cg_admin_cert cert;     /* the connection's client certificate */
	struct cg_str if_match;      /* empty when absent */
	bool has_if_match;
	struct cg_str body;
};

/* The answer. body is JSON (or empty: 204). etag, when set, is the quoted
 * ETag value. allow lists the methods for a 405. */
struct cg_admin_resp {
	int status;
	struct cg_buf body;
	const char *content_type; /* NULL: application/json */
	char etag[40];
	const char *allow;
	bool www_authenticate; /* 401: add WWW-Authenticate: Bearer */
};

#endif

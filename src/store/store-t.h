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

/* What went wrong, for callers that map failures (exit codes, HTTP 400/404/
 * 409/500). Every failing function returns one of these (all negative) and
 * writes a message to err. */
enum cg_store_fail {
	CG_STORE_FAIL_IO = -1,        /* SQLite/filesystem/OOM: not the caller's fault */
	CG_STORE_FAIL_INVALID = -2,   /* the input was refused by validation */
	CG_STORE_FAIL_NOT_FOUND = -3, /* the named entity does not exist */
	CG_STORE_FAIL_CONFLICT = -4,  /* clashes with another entity (path, default host) */
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
};

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

#endif

/* Internals of the APIOps module: the plan (everything an import will
 * write, read from the folder before any write) and the diagnostics list.
 * Not for other modules. */
#ifndef CG_APIOPS_APIOPS_INT_H
#define CG_APIOPS_APIOPS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiops/apiops-t.h"
#include "base/arena.h"
#include "base/buf.h"

/* Messages gathered while reading and trying: every problem is reported,
 * not only the first, so one run shows the user all there is to fix. */
struct cg_apiops_diag {
	struct cg_buf buf; /* lines, each ending in '\n'; capped */
	size_t errors;
	size_t warnings;
	bool cut; /* the cap was reached: later lines were dropped */
};

void cg_apiops_diag_init(struct cg_apiops_diag *d, size_t max);
void cg_apiops_diag_free(struct cg_apiops_diag *d);
/* Adds one line ("FILE: message"); is_error counts it as an error. */
void cg_apiops_diag_add(struct cg_apiops_diag *d, bool is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds a line that explains the one before it (not counted). */
void cg_apiops_diag_note(struct cg_apiops_diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Adds a store message about file: the first line as "FILE: line", each
 * "line:col: ..." line as "FILE:line:col: ...", other lines as they are. */
void cg_apiops_diag_store(struct cg_apiops_diag *d, bool is_error, const char *file,
			  const char *msg);
/* Copies "head\n" + the lines into err (cut with "..." when short). */
void cg_apiops_diag_out(const struct cg_apiops_diag *d, const char *head, char *err, size_t errlen);

/* ---- the plan: one entry per entity folder; strings in plan->arena ---- */

struct cg_apiops_nv {
	const char *file;  /* the information file, for messages */
	const char *name;  /* properties.displayName, else the folder name */
	const char *value; /* NULL: a secret given without its value (keep the stored one) */
	bool secret;
	const char **tags;
	size_t num_tags;
};

struct cg_apiops_cert {
	const char *file; /* the certificate file */
	const char *id;
	const unsigned char *data;
	size_t len;
	const char *password;   /* NULL = none (empty) */
	const char *thumbprint; /* properties.thumbprint to check against, or NULL */
	bool ca;                /* under "ca certificates/" */
	bool intermediate;      /* CA: storeName CertificateAuthority */
};

struct cg_apiops_backend {
	const char *file; /* backendInformation.json */
	const char *id;
	const char *url;
	const char *client_cert_id; /* from credentials.certificateIds[0], or NULL */
	bool validate_chain;        /* tls.*: APIM's default is true */
	bool validate_name;
	bool is_pool;               /* type Pool: members instead of url */
	struct cg_model_pool_member *members; /* pool.services (ids in the plan's arena) */
	size_t num_members;
	const char *breaker_json;   /* circuitBreaker as JSON text, or NULL */
};

struct cg_apiops_fragment {
	const char *file; /* policy.xml */
	const char *id;
	const char *description; /* NULL = none given */
	const char *format;
	const char *text;
};

struct cg_apiops_op {
	const char *file; /* operationInformation.json; NULL: policy only, of an
			   * operation that must already be in the store */
	const char *id;
	const char *display_name;
	const char *method;
	const char *url_template;
	const char *policy_file; /* NULL when there is no policy.xml */
	const char *policy;
};

struct cg_apiops_api {
	const char *file; /* apiInformation.json */
	const char *id;
	const char *display_name;
	const char *path;
	const char *service_url;
	int subscription_required;  /* 1, 0, or -1 when the file does not say */
	const char *sub_key_header; /* subscriptionKeyParameterNames; NULL when not given */
	const char *sub_key_query;
	unsigned protocols;         /* CG_MODEL_PROTO_* bits; 0 when the file does not say */
	const char *policy_file;
	const char *policy;
	struct cg_apiops_op *ops;
	size_t num_ops;
};

/* One API of a product, and the file that named it (for messages). */
struct cg_apiops_link {
	const char *api;
	const char *file;
};

/* products/NAME/: the product, its policy and the APIs it holds (from
 * apis.json or apis/LINK/productApiInformation.json). */
struct cg_apiops_product {
	const char *file; /* productInformation.json */
	const char *id;
	const char *display_name;
	const char *description;      /* NULL: "" (APIM PUT default) */
	bool subscription_required;   /* APIM default true */
	bool approval_required;       /* APIM default false */
	int64_t subscriptions_limit;  /* CG_STORE_PRODUCT_NO_LIMIT when null or absent */
	const char *state;            /* APIM default "notPublished" */
	const char *policy_file;
	const char *policy;
	struct cg_apiops_link *links; /* sorted by API id, without repeats */
	size_t num_links;
};

/* subscriptions/NAME/subscriptionInformation.json. */
struct cg_apiops_sub {
	const char *file;
	const char *id;
	const char *display_name; /* NULL: the id on create, kept on update */
	const char *scope;        /* required */
	const char *state;        /* NULL: "submitted" on create, kept on update */
	const char *primary_key;  /* NULL: generated on create, kept on update */
	const char *secondary_key;
	const char *expiration;   /* NULL: none on create, kept on update */
};

struct cg_apiops_plan {
	struct cg_arena arena;
	const char *global_file; /* NULL when there is no root policy.xml */
	const char *global_policy;
	struct cg_apiops_nv *nvs;
	size_t num_nvs;
	struct cg_apiops_cert *certs; /* certificates, then CA certificates */
	size_t num_certs;
	struct cg_apiops_backend *backends;
	size_t num_backends;
	struct cg_apiops_fragment *frags;
	size_t num_frags;
	struct cg_apiops_api *apis;
	size_t num_apis;
	struct cg_apiops_product *products;
	size_t num_products;
	struct cg_apiops_sub *subs;
	size_t num_subs;
	size_t entities; /* entity folders seen, for CG_APIOPS_MAX_ENTITIES */
};

/* Reads folder dir into plan (initialised here; free with
 * cg_apiops_plan_free). Every problem goes to d; returns d->errors == 0. */
bool cg_apiops_read(const char *dir, struct cg_apiops_plan *plan, struct cg_apiops_diag *d);
void cg_apiops_plan_free(struct cg_apiops_plan *plan);

struct cg_store;
/* Applies the plan to st in dependency order (named values, certificates,
 * fragments, APIs and operations, products and their API links,
 * subscriptions, then policies). Store refusals go to d
 * as errors, store warnings as warnings when warn. Returns how many writes
 * failed; *done counts those that succeeded. */
size_t cg_apiops_apply(struct cg_store *st, const struct cg_apiops_plan *plan,
		       struct cg_apiops_diag *d, bool warn, size_t *done);

#endif

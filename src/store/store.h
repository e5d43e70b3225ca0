/* The store: one SQLite file holding the gateway's configuration.
 *
 * Every write is validated before it is committed (a certificate must parse,
 * a key must match it) and runs in one transaction: it either lands whole or
 * changes nothing. Errors are written to err (a human-readable message that
 * says what and where) and the functions return -1.
 * The CLI and (later) the REST management API are two doors to this module. */
#ifndef CG_STORE_STORE_H
#define CG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/cert-t.h"
#include "store/model-t.h"
#include "store/store-t.h"

struct cg_store;

#define CG_STORE_ERR_LEN 512

/* The store path used when --store is not given: $CERTGATE_STORE, else
 * ./certgate.db. Static or environment storage; do not free. */
const char *cg_store_default_path(void);

/* Whether path is a PostgreSQL URL ("postgresql://..." or "postgres://..."):
 * a store several gateways share. Anything else is a SQLite file. */
bool cg_store_is_url(const char *path);

/* path as messages show it: a URL without its password. */
void cg_store_display(const char *path, char *out, size_t outlen);

/* Whether the store at path exists: the file for SQLite; a URL store is
 * taken to exist (the database is created by its administrator; opening
 * it says whether it is reachable). */
bool cg_store_exists(const char *path);

/* Opens (creating and migrating if needed) the store at path: a SQLite
 * file, or a PostgreSQL URL (see docs/fleet.md).
 * readonly: open for reading only (the gateway) and fail if it is missing.
 * Returns NULL and fills err on failure. */
struct cg_store *cg_store_open(const char *path, int readonly, char *err, size_t errlen);
void cg_store_close(struct cg_store *st);

/* Opens the store at path (as cg_store_open for writing) for a rehearsal:
 * one transaction holds the write lock until cg_store_close, which rolls
 * it back; each write runs in a savepoint of it, so it sees the writes
 * before it and a refused one undoes only itself. Nothing is ever kept.
 * For the import's dry run on a PostgreSQL store (a SQLite file is
 * rehearsed on a copy instead). Returns NULL and fills err on failure. */
struct cg_store *cg_store_open_rehearsal(const char *path, char *err, size_t errlen);

/* Loads the whole configuration in one read transaction into *out
 * (out->arena is initialised here; release with cg_model_free). */
int cg_store_load_model(struct cg_store *st, struct cg_model *out, char *err, size_t errlen);
void cg_model_free(struct cg_model *m);

/* A number that changes whenever any connection commits a change to the
 * store (SQLite's data_version plus our own change counter), so a running
 * gateway can tell cheaply that it must reload. */
int cg_store_change_token(struct cg_store *st, uint64_t *out, char *err, size_t errlen);

/* The schema version this build writes (PRAGMA user_version after all
 * migrations). A store with a higher version is refused: it was written by
 * a newer certgate. */
int cg_store_schema_version(void);

/* Creates or updates a hostname (see struct cg_store_host_set). Checks the
 * name syntax, that the chain parses (leaf first), that the key is an
 * unencrypted RSA or EC key matching the leaf; an expired or not yet valid
 * leaf only warns. The first hostname becomes the default; make_default
 * moves the default here. The PEM stored is re-encoded from what was
 * parsed, so stray text (or a private key pasted into the chain file) is
 * never kept. Returns 0 or an enum cg_store_fail with err filled. */
int cg_store_host_set(struct cg_store *st, const struct cg_store_host_set *in, char *err,
		      size_t errlen);

/* Removes a hostname. Refuses (CONFLICT) to remove the default hostname
 * while others exist: set another default first. NOT_FOUND if absent. */
int cg_store_host_rm(struct cg_store *st, const char *name, char *err, size_t errlen);

/* Creates or updates an API (see struct cg_store_api_set). Refuses a path
 * another API uses (CONFLICT, naming that API). Returns 0 or a failure. */
int cg_store_api_set(struct cg_store *st, const struct cg_store_api_set *in, char *err,
		     size_t errlen);

/* Removes an API and its operations. NOT_FOUND if absent. */
int cg_store_api_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* ---- subscriptions (APIM subscriptions/{sid}; docs/subscriptions.md) ---- */

/* Creates or updates a subscription (see struct cg_store_sub_set).
 * Refuses (INVALID) a bad id, scope, state, key or expiration; NOT_FOUND
 * when the scope's API does not exist; CONFLICT when a key is already a
 * key of another subscription. Returns 0 or a failure; on failure nothing
 * changed. */
int cg_store_sub_set(struct cg_store *st, const struct cg_store_sub_set *in, char *err,
		     size_t errlen);

/* Removes a subscription. NOT_FOUND if absent. */
int cg_store_sub_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* Replaces the primary (secondary false) or secondary key of an existing
 * subscription with a generated one. NOT_FOUND if absent. */
int cg_store_sub_regenerate(struct cg_store *st, const char *id, bool secondary, char *err,
			    size_t errlen);

/* A new key from the system CSPRNG (getrandom): 32 lowercase hex digits
 * into out (at least 33 bytes). Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_sub_new_key(char *out, size_t outlen, char *err, size_t errlen);

/* The APIM scope of subscription s into out: "/apis", "/apis/{api}" or
 * "/products/{pid}"; CG_STORE_SUB_SCOPE_LEN bytes hold any of them. */
#define CG_STORE_SUB_SCOPE_LEN (CG_STORE_MAX_ID_LEN + 16)
void cg_store_sub_scope(const struct cg_model_sub *s, char *out, size_t len);

/* Whether state is one of APIM's subscription states. */
bool cg_store_sub_state_ok(const char *state);

/* "YYYY-MM-DDTHH:MM:SSZ" with fields in range, or INVALID with err. */
int cg_store_check_expiration(const char *in, char *err, size_t errlen);

/* ---- products (APIM products/{pid}; docs/subscriptions.md) ---- */

/* Creates or updates a product (see struct cg_store_product_set).
 * INVALID for a bad id, display name, description, state or limit.
 * Returns 0 or a failure; on failure nothing changed. */
int cg_store_product_set(struct cg_store *st, const struct cg_store_product_set *in, char *err,
			 size_t errlen);

/* Removes a product, its API links and its policy. CONFLICT while
 * subscriptions are scoped to it, unless delete_subs (APIM
 * deleteSubscriptions): then they are removed in the same transaction.
 * NOT_FOUND if absent. */
int cg_store_product_rm(struct cg_store *st, const char *id, bool delete_subs, char *err,
			size_t errlen);

/* Adds API api to product pid (*created true when the link is new; an
 * existing link is no change). NOT_FOUND when either does not exist. */
int cg_store_product_api_add(struct cg_store *st, const char *pid, const char *api, bool *created,
			     char *err, size_t errlen);

/* Removes API api from product pid: the product's subscriptions stop
 * granting it. NOT_FOUND when either is absent or the API is not in it. */
int cg_store_product_api_rm(struct cg_store *st, const char *pid, const char *api, char *err,
			    size_t errlen);

/* Creates or updates an operation. NOT_FOUND when the API does not exist;
 * CONFLICT when another operation of the API has the same method and an
 * equivalent template (parameter names do not count, as in APIM). */
int cg_store_op_set(struct cg_store *st, const struct cg_store_op_set *in, char *err,
		    size_t errlen);

/* Removes one operation. NOT_FOUND if the API or the operation is absent. */
int cg_store_op_rm(struct cg_store *st, const char *api_id, const char *op_id, char *err,
		   size_t errlen);

/* ---- policies (APIM policies/policy at global, API and operation scope) ----
 *
 * Policy, fragment and named-value writes are validated against each other
 * inside the write transaction, with the policy loader (src/policy) and the
 * expression engine as its compile hook: nothing is stored that the
 * gateway could not load. Refusals list every diagnostic, one per line, as
 * "line:col: message" (a position inside an included fragment starts with
 * "fragment 'ID' "), after a first line that says what was refused; pass
 * an err of CG_STORE_DIAG_LEN bytes to get them all (a shorter one is cut,
 * ending in "..."). On success err holds the warnings the same way, or ""
 * when there are none. Secret named values longer than 3 bytes are
 * replaced by "***" in every message. */

/* Creates or replaces the policy of a scope. api_id is needed for the API
 * and operation scopes (NULL at global), op_id for the operation scope; at
 * the product scope (CG_MODEL_POLICY_PRODUCT) api_id is the product id.
 * format: "rawxml" (NULL means this; APIM's stored form) or "xml". text:
 * the <policies> document, at most CG_STORE_MAX_POLICY_BYTES. Refuses
 * (INVALID) a text that does not load and compile with the store's named
 * values and fragments; NOT_FOUND when the API or operation is absent. */
int cg_store_policy_set(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, const char *format, const char *text, char *err,
			size_t errlen);

/* Reads the policy of a scope into *out (the caller frees it with
 * cg_store_text_free). NOT_FOUND when the scope has none. */
int cg_store_policy_get(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
			const char *op_id, struct cg_store_text *out, char *err, size_t errlen);

/* As cg_store_policy_get, in format ("rawxml" or "xml"; NULL = rawxml),
 * as APIM's GET ?format=: a text stored in the other format is converted
 * (only expressions change: escaped for xml, raw for rawxml; comments,
 * layout and {{references}} stay as stored, and no named value is ever
 * substituted into the result). IO when the stored text no longer loads. */
int cg_store_policy_get_as(struct cg_store *st, enum cg_model_policy_scope scope,
			   const char *api_id, const char *op_id, const char *format,
			   struct cg_store_text *out, char *err, size_t errlen);

/* Removes the policy of a scope. NOT_FOUND when the scope has none.
 * Removing an API or an operation removes its policies too. */
int cg_store_policy_rm(struct cg_store *st, enum cg_model_policy_scope scope, const char *api_id,
		       const char *op_id, char *err, size_t errlen);

void cg_store_text_free(struct cg_store_text *t);

/* Human name of a policy scope for messages: "the global policy", "the
 * policy of api 'a'", "the policy of operation 'o' of api 'a'". */
void cg_store_policy_name(enum cg_model_policy_scope scope, const char *api_id, const char *op_id,
			  char *out, size_t outlen);

/* ---- named values ({{name}}) ---- */

/* Creates or replaces a named value (see struct cg_store_nv_set). When it
 * exists, every policy and fragment that uses it is loaded again with the
 * new value, in the same transaction; if any would fail, nothing changes
 * and err names each one with its diagnostics (INVALID). */
int cg_store_nv_set(struct cg_store *st, const struct cg_store_nv_set *in, char *err,
		    size_t errlen);

/* Reads one named value, secret or not (the caller decides what to show).
 * NOT_FOUND if absent. Free *out with cg_store_nv_free. */
int cg_store_nv_get(struct cg_store *st, const char *name, struct cg_store_nv *out, char *err,
		    size_t errlen);
void cg_store_nv_free(struct cg_store_nv *nv);

/* Removes a named value. CONFLICT while a policy or fragment uses it; err
 * names them: "named value 'x' is used by the global policy, the policy
 * of api 'y', fragment 'f'". NOT_FOUND if absent. */
int cg_store_nv_rm(struct cg_store *st, const char *name, char *err, size_t errlen);

/* Checks a named value's name (^[A-Za-z0-9-._]+$, 1-256 chars). */
int cg_store_check_nv_name(const char *name, char *err, size_t errlen);

/* ---- policy fragments ---- */

/* Creates or replaces a fragment. id: like an API id. description: NULL
 * keeps the stored one ("" on create), at most 1000 bytes. format as for
 * policies. text: a <fragment> document, at most
 * CG_STORE_MAX_FRAGMENT_BYTES, that loads on its own; then every policy
 * that includes the fragment is loaded again with the new text in the
 * same transaction, and any failure refuses the whole write (INVALID). */
int cg_store_fragment_set(struct cg_store *st, const char *id, const char *description,
			  const char *format, const char *text, char *err, size_t errlen);

/* Reads a fragment (format, value, description). NOT_FOUND if absent. */
int cg_store_fragment_get(struct cg_store *st, const char *id, struct cg_store_text *out,
			  char *err, size_t errlen);

/* As cg_store_fragment_get, in format (see cg_store_policy_get_as). */
int cg_store_fragment_get_as(struct cg_store *st, const char *id, const char *format,
			     struct cg_store_text *out, char *err, size_t errlen);

/* Removes a fragment. CONFLICT while a policy includes it (err names the
 * policies); NOT_FOUND if absent. */
int cg_store_fragment_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* ---- certificates (APIM certificates/{id}) ---- */

/* Creates or replaces a certificate from an uploaded file (see struct
 * cg_store_cert_add and cg_store_cert_parse_upload for what is accepted).
 * A private key is stored only when one came with the certificate (for
 * backend mTLS); it is never returned by a read function except through
 * the model. CONFLICT when another id holds the same certificate
 * (thumbprint), or when a backend uses the id as its client certificate
 * and the new upload has no private key. An expired or not yet valid
 * certificate only warns. */
int cg_store_cert_add(struct cg_store *st, const struct cg_store_cert_add *in, char *err,
		      size_t errlen);

/* The APIM view of certificate id (subject, issuer, thumbprint, dates)
 * and whether a private key is stored with it. NOT_FOUND if absent. */
int cg_store_cert_get(struct cg_store *st, const char *id, struct cg_store_cert_info *info,
		      bool *has_key, char *err, size_t errlen);

/* Removes a certificate. CONFLICT while a backend uses it as its client
 * certificate, or an <authentication-certificate> in a policy or fragment
 * names it (certificate-id="ID" or thumbprint="its thumbprint", any case;
 * comments do not count); NOT_FOUND if absent. */
int cg_store_cert_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* ---- CA certificates (APIM service certificates[]) ---- */

/* Creates or replaces a CA certificate. Refuses (INVALID) a certificate
 * that is not a CA (basicConstraints CA:FALSE, or no CA marking at all),
 * and CONFLICT when another id holds the same certificate. A root
 * (intermediate false) that is not self-signed only warns. */
int cg_store_ca_add(struct cg_store *st, const struct cg_store_ca_add *in, char *err,
		    size_t errlen);

/* Removes a CA certificate. NOT_FOUND if absent. */
int cg_store_ca_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* Adds or replaces a certificate revocation list (PEM or DER, at most
 * CG_STORE_MAX_CRL_BYTES). Refused unless its issuer is an uploaded CA
 * certificate whose key verifies the CRL's signature (the gateway would not
 * use it otherwise). A CRL past its nextUpdate is stored with a warning in
 * warn (validation against it fails closed until a fresh one comes). */
int cg_store_crl_add(struct cg_store *st, const char *id, const unsigned char *data, size_t len,
		     char *warn, size_t warnlen, char *err, size_t errlen);
int cg_store_crl_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

/* ---- backends (APIM backends/{id}) ---- */

/* Creates or updates a backend (see struct cg_store_backend_set).
 * NOT_FOUND when the client certificate does not exist; INVALID when it
 * has no private key (mTLS needs one) or the URL is refused. */
int cg_store_backend_set(struct cg_store *st, const struct cg_store_backend_set *in, char *err,
			 size_t errlen);

/* Removes a backend. NOT_FOUND if absent. */
int cg_store_backend_rm(struct cg_store *st, const char *id, char *err, size_t errlen);

#endif

/* The store: one SQLite file holding the gateway's configuration.
 *
 * Every write is validated before it is committed (a certificate must parse,
 * a key must match it) and runs in one transaction: it either lands whole or
 * changes nothing. Errors are written to err (a human-readable message that
 * says what and where) and the functions return -1.
 * The CLI and (later) the REST management API are two doors to this module. */
#ifndef CG_STORE_STORE_H
#define CG_STORE_STORE_H

#include <stdint.h>

#include "store/model-t.h"
#include "store/store-t.h"

struct cg_store;

#define CG_STORE_ERR_LEN 512

/* The store path used when --store is not given: $CERTGATE_STORE, else
 * ./certgate.db. Static or environment storage; do not free. */
const char *cg_store_default_path(void);

/* Opens (creating and migrating if needed) the store at path.
 * readonly: open for reading only (the gateway) and fail if it is missing.
 * Returns NULL and fills err on failure. */
struct cg_store *cg_store_open(const char *path, int readonly, char *err, size_t errlen);
void cg_store_close(struct cg_store *st);

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

/* Creates or updates an operation. NOT_FOUND when the API does not exist;
 * CONFLICT when another operation of the API has the same method and an
 * equivalent template (parameter names do not count, as in APIM). */
int cg_store_op_set(struct cg_store *st, const struct cg_store_op_set *in, char *err,
		    size_t errlen);

/* Removes one operation. NOT_FOUND if the API or the operation is absent. */
int cg_store_op_rm(struct cg_store *st, const char *api_id, const char *op_id, char *err,
		   size_t errlen);

#endif

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

#endif

/* The REST management API: APIM's ARM resource shapes (apis, operations,
 * hostnames, policies, fragments, named values, certificates, CA
 * certificates, backends) over HTTP/1.1, plain or TLS, guarded by a bearer
 * token and/or admin client certificates. A second door to the store,
 * beside the CLI. */
#ifndef CG_ADMIN_ADMIN_H
#define CG_ADMIN_ADMIN_H

#include <stddef.h>

#include <uv.h>

#include "admin/admin-t.h"

struct cg_admin;

/* Starts the admin API on loop (the gateway's main-thread loop; requests
 * are handled there, synchronously, one at a time) with the options o
 * (admin-t.h; docs/admin-api.md):
 * listen: "ADDR:PORT", "[v6]:PORT", or "PORT" alone for 127.0.0.1:PORT;
 *   numeric addresses only. A non-loopback address without TLS is accepted
 *   with a warning in the log (the token crosses the wire in clear).
 * token_file: a file whose content (trailing whitespace stripped) is the
 *   bearer token; CG_ADMIN_MIN_TOKEN_BYTES..CG_ADMIN_MAX_TOKEN_BYTES bytes,
 *   printable ASCII. Read once here; the copy is wiped at stop.
 * cert_file/key_file (+key_password_file): TLS with the engine of
 *   --tls-engine; client_ca_file (+pins): client certificates required.
 *   Refused: see cg_admin_opts_check and cg_admin_tls_load (admin-int.h).
 * store_path: the store file; opened read-write by a connection of its own.
 * Returns the running API (the caller stops it with cg_admin_stop before
 * closing the loop), or NULL with a message in err (what and where). */
struct cg_admin *cg_admin_start(uv_loop_t *loop, const struct cg_admin_opts *o,
				const char *store_path, char *err, size_t errlen);

/* Checks the combination of admin options before anything is read or
 * bound (`serve` runs it for its usage errors; cg_admin_start again): no
 * option without --admin; a bad address; an option that needs another
 * (--admin-cert without --admin-key and the reverse, a password file
 * without a key, --admin-client-ca without TLS, a pin without
 * --admin-client-ca); malformed pins; a listener with neither a token nor
 * client certificates (the message says so for a non-loopback address).
 * *loopback: the address is loopback. 0 (also when o->listen is NULL and
 * no admin option is given), or -1 with the reason in err. */
int cg_admin_opts_check(const struct cg_admin_opts *o, bool *loopback, char *err, size_t errlen);

/* Stops listening, closes every admin connection, closes the store and
 * frees everything once libuv has released the handles (run the loop at
 * least once more after this call; serve's shutdown does). NULL is a no-op. */
void cg_admin_stop(struct cg_admin *a);

/* Serves GET /metrics (Prometheus text format 0.0.4, authenticated like
 * every admin route) from render(user, out), called on the admin's loop
 * thread; render appends to out and returns 0, or -1 (500). */
void cg_admin_set_metrics(struct cg_admin *a, int (*render)(void *user, struct cg_buf *out), void *user);

/* Prints the admin options for `certgate serve --help` to stdout. */
void cg_admin_usage(void);

#endif

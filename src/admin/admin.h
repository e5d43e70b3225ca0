/* The REST management API: APIM's ARM resource shapes (apis, operations,
 * hostnames, policies, fragments, named values, certificates, CA
 * certificates, backends) over plain HTTP/1.1 on a loopback listener, guarded by a bearer
 * token. A second door to the store, beside the CLI. */
#ifndef CG_ADMIN_ADMIN_H
#define CG_ADMIN_ADMIN_H

#include <stddef.h>

#include <uv.h>

#include "admin/admin-t.h"

struct cg_admin;

/* Starts the admin API on loop (the gateway's main-thread loop; requests
 * are handled there, synchronously, one at a time).
 * listen_spec: "ADDR:PORT", "[v6]:PORT", or "PORT" alone for 127.0.0.1:PORT;
 *   numeric addresses only. A non-loopback address is accepted with a
 *   warning in the log (the API is plain HTTP: the token crosses the wire).
 * token_file: a file whose content (trailing whitespace stripped) is the
 *   bearer token; CG_ADMIN_MIN_TOKEN_BYTES..CG_ADMIN_MAX_TOKEN_BYTES bytes,
 *   printable ASCII. Read once here; the copy is wiped at stop.
 * store_path: the store file; opened read-write by a connection of its own.
 * Returns the running API (the caller stops it with cg_admin_stop before
 * closing the loop), or NULL with a message in err (what and where). */
struct cg_admin *cg_admin_start(uv_loop_t *loop, const char *listen_spec, const char *token_file,
				const char *store_path, char *err, size_t errlen);

/* Stops listening, closes every admin connection, closes the store and
 * frees everything once libuv has released the handles (run the loop at
 * least once more after this call; serve's shutdown does). NULL is a no-op. */
void cg_admin_stop(struct cg_admin *a);

/* Serves GET /metrics (Prometheus text format 0.0.4, bearer token like
 * every admin route) from render(user, out), called on the admin's loop
 * thread; render appends to out and returns 0, or -1 (500). */
void cg_admin_set_metrics(struct cg_admin *a, int (*render)(void *user, struct cg_buf *out), void *user);

/* Prints the admin options for `certgate serve --help` to stdout. */
void cg_admin_usage(void);

#endif

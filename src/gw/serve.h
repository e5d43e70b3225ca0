/* `certgate serve`: the data plane. */
#ifndef CG_GW_SERVE_H
#define CG_GW_SERVE_H

#include <stddef.h>
#include <sys/socket.h>

/* Parses serve's options (argv[0] is "serve"), loads the store at
 * store_path, runs the gateway until SIGTERM/SIGINT and a graceful stop.
 * Returns the process exit code: 0 after a clean stop, 2 for usage errors,
 * 1 for startup failures (each reported on stderr with what and where). */
int cg_gw_serve_main(const char *store_path, int argc, char **argv);

/* Parses "ADDR:PORT", "[v6]:PORT" or ":PORT" (all addresses) into a socket
 * address (TCP listeners and the fleet's UDP socket and peers). Numeric
 * addresses only: nothing waits on DNS. Returns 0, or -1 with a message
 * naming spec in err. */
int cg_gw_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);

/* Prints serve's --help text to stdout. */
void cg_gw_serve_usage(void);

#endif

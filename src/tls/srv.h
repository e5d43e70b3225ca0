/* Client-facing TLS: the gateway's server side, with two engines behind one
 * interface (docs/tls.md, ../shared/reference/tls-libs.md):
 *
 *   - GnuTLS (default): ~0.6x OpenSSL 3.0's CPU for a handshake that
 *     receives a client certificate without verifying its chain, and about
 *     half its CPU per small record;
 *   - OpenSSL 3 (`--tls-engine openssl`).
 *
 * Both behave the same: one set of credentials per hostname picked by SNI
 * before anything else is decided; a hostname that negotiates client
 * certificates requests one (never requires it) and accepts any chain
 * (the client's CertificateVerify signature is still checked; trust is
 * decided later by policies); TLS 1.2 and 1.3 with forward-secret AEAD
 * suites only; ALPN http/1.1; no renegotiation, no post-handshake auth, no
 * session tickets, no session cache.
 *
 * Backends (the client side) always use OpenSSL: see tls.h. */
#ifndef CG_TLS_SRV_H
#define CG_TLS_SRV_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "base/str.h"

enum cg_tls_engine { CG_TLS_ENGINE_GNUTLS, CG_TLS_ENGINE_OPENSSL };

/* "gnutls" / "openssl". */
bool cg_tls_engine_parse(const char *name, enum cg_tls_engine *out);
const char *cg_tls_engine_name(enum cg_tls_engine e);

/* The engine used by hosts created from now on (process-wide; set once
 * before workers start). GnuTLS unless changed. */
void cg_tls_set_server_engine(enum cg_tls_engine e);
enum cg_tls_engine cg_tls_server_engine(void);

/* One hostname's server credentials, built from PEM text (leaf first, then
 * intermediates; and its private key). negotiate: request a client
 * certificate. sid_ctx identifies the hostname's trust settings (OpenSSL's
 * session id context; sessions are never resumed either way). NULL with err
 * filled on failure (bad PEM, a key that does not match). Immutable once
 * built: sessions of every worker share it. */
struct cg_tls_host;
struct cg_tls_host *cg_tls_host_new(const char *cert_pem, const char *key_pem, bool negotiate,
				    const unsigned char *sid_ctx, size_t sid_ctx_len, char *err, size_t errlen);
/* The CA names a CertificateRequest lists (a hint for clients choosing a
 * certificate): the subjects of cas. Before the host is shared. -1 on OOM. */
int cg_tls_host_set_ca_names(struct cg_tls_host *h, X509 *const *cas, size_t n);
/* Drops the creator's reference: sessions using the host keep it alive. */
void cg_tls_host_free(struct cg_tls_host *h);

/* Called once per handshake, before the server's first flight, with the
 * SNI name (lowercased, no trailing dot; empty when the client sent none).
 * Returns the host to serve (never NULL: the default hostname's). */
typedef struct cg_tls_host *(*cg_tls_host_select_fn)(void *arg, struct cg_str sni);

/* A server session on an accepted non-blocking socket, starting on host h
 * until select picks one. NULL on OOM. */
struct cg_tls_srv;
struct cg_tls_srv *cg_tls_srv_new(struct cg_tls_host *h, int fd, cg_tls_host_select_fn select, void *arg);

/* I/O results are those of tls.h: > 0 bytes, CG_TLS_EOF, CG_TLS_WANT_READ,
 * CG_TLS_WANT_WRITE, CG_TLS_ERROR. A write that returned CG_TLS_WANT_*
 * must be retried with the same bytes at the front of buf (more may
 * follow). */
int cg_tls_srv_handshake(struct cg_tls_srv *s);
long cg_tls_srv_read(struct cg_tls_srv *s, void *buf, size_t n);
long cg_tls_srv_write(struct cg_tls_srv *s, const void *buf, size_t n);
/* The socket's poll woke us: reads try the socket again. (An engine may
 * answer CG_TLS_WANT_READ without a syscall after a read that emptied the
 * socket, until this is called; polls must be level-triggered.) */
void cg_tls_srv_woken(struct cg_tls_srv *s);
/* Best-effort close_notify once the handshake is done (non-blocking). */
void cg_tls_srv_shutdown(struct cg_tls_srv *s);
/* cg_tls_srv_shutdown, then frees. NULL is a no-op. */
void cg_tls_srv_free(struct cg_tls_srv *s);
/* Why the last operation failed, for logs. */
const char *cg_tls_srv_error(struct cg_tls_srv *s);

/* What the client sent (after the handshake): the number of certificates
 * (0: none), the DER of its own (empty when none), its SHA-1 thumbprint as
 * APIM prints it (uppercase hex), and parsed forms built on first use and
 * kept: its own, and the rest of the chain it sent (may be empty). The
 * parsed forms are NULL when the DER does not parse. */
size_t cg_tls_srv_peer_count(struct cg_tls_srv *s);
struct cg_str cg_tls_srv_peer_der(struct cg_tls_srv *s);
bool cg_tls_srv_peer_thumbprint(struct cg_tls_srv *s, char out[41]);
X509 *cg_tls_srv_peer_x509(struct cg_tls_srv *s);
STACK_OF(X509) *cg_tls_srv_peer_chain(struct cg_tls_srv *s);

/* Negotiated protocol ("TLSv1.3") and suite names, for logs and tests. */
const char *cg_tls_srv_version(struct cg_tls_srv *s);

#endif

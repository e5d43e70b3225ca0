/* TLS for the gateway, behind a small interface (OpenSSL 3 today; the
 * interface keeps a GnuTLS implementation possible, see
 * ../shared/reference/tls-libs.md).
 *
 * Server side: one SSL_CTX per hostname. A hostname that negotiates client
 * certificates requests one in the initial handshake and accepts any chain
 * without building or verifying it (the TLS stack still checks the client's
 * CertificateVerify signature): trust is decided later, by policies.
 * Never: renegotiation, TLS 1.3 post-handshake auth, TLS < 1.2, session
 * tickets (0 by default: OpenSSL's default two tickets add 35-50% to an mTLS
 * handshake), a server-side session cache.
 *
 * Client side (backends): one SSL_CTX that verifies the server certificate
 * against the system trust store and the backend's host name. */
#ifndef CG_TLS_TLS_H
#define CG_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "base/str.h"

#define CG_TLS_ERR_LEN 512

/* Called from the ClientHello callback with the SNI name (lowercased, no
 * trailing dot; empty when the client sent none). Returns the SSL_CTX of
 * the hostname that serves it (never NULL: the default hostname's). */
typedef SSL_CTX *(*cg_tls_select_fn)(void *arg, struct cg_str sni);

/* Must be called once, before threads start. */
void cg_tls_global_init(void);

/* Builds the server context of one hostname from PEM text (leaf first, then
 * intermediates; and its private key). negotiate: request a client
 * certificate (see above). sid_ctx identifies the hostname's trust settings:
 * sessions never resume across different ones.
 * Returns NULL and fills err on failure (bad PEM, key mismatch). */
SSL_CTX *cg_tls_server_ctx_new(const char *cert_pem, const char *key_pem, bool negotiate,
			       const unsigned char *sid_ctx, size_t sid_ctx_len, char *err, size_t errlen);

/* Creates the server SSL for an accepted socket, starting on ctx (the
 * default hostname's). select(arg, sni) is asked to pick the hostname's
 * context during the handshake. NULL on OOM. */
SSL *cg_tls_server_ssl_new(SSL_CTX *ctx, int fd, cg_tls_select_fn select, void *arg);

/* Client context for HTTPS backends (system CA store, TLS 1.2+). */
SSL_CTX *cg_tls_client_ctx_new(char *err, size_t errlen);
/* The same with the backend entity's settings (APIM backends tls
 * validateCertificateChain / validateCertificateName) and an optional
 * client certificate with its private key (backend mTLS). With
 * verify_chain false, the chain is not checked but a name mismatch still
 * fails when verify_name. client_cert is up-ref'd. NULL with err filled
 * (a key that does not match the certificate, ...). */
SSL_CTX *cg_tls_client_ctx_new_ex(bool verify_chain, bool verify_name, X509 *client_cert,
				  const char *key_pem, char *err, size_t errlen);
/* The same with a private key already parsed (a PKCS#12 body). */
SSL_CTX *cg_tls_client_ctx_new_key(bool verify_chain, bool verify_name, X509 *client_cert, EVP_PKEY *key,
				   STACK_OF(X509) *chain, char *err, size_t errlen);

/* Client SSL for a backend socket: SNI, and host-name verification for
 * host (a DNS name or an IP literal) unless verify_name is false. NULL on
 * OOM. */
SSL *cg_tls_client_ssl_new(SSL_CTX *ctx, int fd, const char *host, bool verify_name);

/* Non-blocking I/O results besides a byte count (> 0). */
#define CG_TLS_EOF 0
#define CG_TLS_WANT_READ (-1)
#define CG_TLS_WANT_WRITE (-2)
#define CG_TLS_ERROR (-3)

/* One handshake step: 1 when done, CG_TLS_WANT_*, or CG_TLS_ERROR. */
int cg_tls_handshake(SSL *ssl);
/* Read/write at most n bytes: > 0 bytes moved, CG_TLS_EOF on a clean close
 * (close_notify), CG_TLS_WANT_*, CG_TLS_ERROR. An EOF without close_notify
 * is CG_TLS_EOF on backend contexts (SSL_OP_IGNORE_UNEXPECTED_EOF: a
 * close-delimited body) and CG_TLS_ERROR on server ones. */
long cg_tls_read(SSL *ssl, void *buf, size_t n);
long cg_tls_write(SSL *ssl, const void *buf, size_t n);
/* Best-effort close_notify (non-blocking), then free. */
void cg_tls_close(SSL *ssl);

/* Uppercase SHA-1 hex of the peer certificate's DER (APIM's Thumbprint)
 * into out; false when the peer sent no certificate. */
bool cg_tls_peer_thumbprint(SSL *ssl, char out[41]);
/* A SHA-1 digest as APIM prints a thumbprint (uppercase hex). */
void cg_tls_thumbprint_hex(const unsigned char md[20], char out[41]);

/* The last OpenSSL error as text, for logs (thread-local storage). */
const char *cg_tls_last_error(void);

/* How many ECDSA P-256 signatures p256verify.c's nettle_ecdsa_verify has
 * checked, valid or not (tests check GnuTLS reaches it). */
unsigned long cg_tls_p256_verified(void);

#endif

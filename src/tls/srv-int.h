/* Between srv.c (engine switch, OpenSSL engine) and gtls.c (GnuTLS). */
#ifndef CG_TLS_SRV_INT_H
#define CG_TLS_SRV_INT_H

#include <stdatomic.h>

#include <gnutls/gnutls.h>
#include <openssl/ssl.h>

#include "tls/srv.h"

struct cg_tls_host {
	atomic_int refs; /* the snapshot's, and each GnuTLS session's */
	enum cg_tls_engine engine;
	bool negotiate;
	SSL_CTX *ctx;                          /* OpenSSL */
	gnutls_certificate_credentials_t cred; /* GnuTLS */
};

/* Every session starts with this; the engine's own struct follows. */
struct cg_tls_srv {
	enum cg_tls_engine engine;
};

struct cg_tls_host *cg_tls_host_ref(struct cg_tls_host *h);

int cg_gt_host_init(struct cg_tls_host *h, const char *cert_pem, const char *key_pem, char *err, size_t errlen);
int cg_gt_host_set_ca_names(struct cg_tls_host *h, X509 *const *cas, size_t n);
void cg_gt_host_free(struct cg_tls_host *h);
struct cg_tls_srv *cg_gt_srv_new(struct cg_tls_host *h, int fd, cg_tls_host_select_fn select, void *arg);
int cg_gt_handshake(struct cg_tls_srv *s);
long cg_gt_read(struct cg_tls_srv *s, void *buf, size_t n);
long cg_gt_write(struct cg_tls_srv *s, const void *buf, size_t n);
void cg_gt_shutdown(struct cg_tls_srv *s);
void cg_gt_woken(struct cg_tls_srv *s);
void cg_gt_free(struct cg_tls_srv *s);
const char *cg_gt_error(struct cg_tls_srv *s);
size_t cg_gt_peer_count(struct cg_tls_srv *s);
struct cg_str cg_gt_peer_der(struct cg_tls_srv *s);
bool cg_gt_peer_thumbprint(struct cg_tls_srv *s, char out[41]);
X509 *cg_gt_peer_x509(struct cg_tls_srv *s);
STACK_OF(X509) *cg_gt_peer_chain(struct cg_tls_srv *s);
const char *cg_gt_version(struct cg_tls_srv *s);

#endif

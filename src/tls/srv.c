/* Client-facing TLS sessions: the engine switch and the OpenSSL engine (over
 * tls.c). The GnuTLS engine is gtls.c. */
#include "tls/srv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/srv-int.h"
#include "tls/tls.h"

static enum cg_tls_engine server_engine = CG_TLS_ENGINE_GNUTLS;

bool cg_tls_engine_parse(const char *name, enum cg_tls_engine *out)
{
	if (strcmp(name, "gnutls") == 0)
		*out = CG_TLS_ENGINE_GNUTLS;
	else if (strcmp(name, "openssl") == 0)
		*out = CG_TLS_ENGINE_OPENSSL;
	else
		return false;
	return true;
}

const char *cg_tls_engine_name(enum cg_tls_engine e)
{
	return e == CG_TLS_ENGINE_GNUTLS ? "gnutls" : "openssl";
}

void cg_tls_set_server_engine(enum cg_tls_engine e)
{
	server_engine = e;
}

enum cg_tls_engine cg_tls_server_engine(void)
{
	return server_engine;
}

/* ---- hosts ------------------------------------------------------------- */

struct cg_tls_host *cg_tls_host_new(const char *cert_pem, const char *key_pem, bool negotiate,
				    const unsigned char *sid_ctx, size_t sid_ctx_len, char *err, size_t errlen)
{
	struct cg_tls_host *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&h->refs, 1);
	h->engine = server_engine;
	h->negotiate = negotiate;
	int rc;
	if (h->engine == CG_TLS_ENGINE_GNUTLS) {
		rc = cg_gt_host_init(h, cert_pem, key_pem, err, errlen);
	} else {
		h->ctx = cg_tls_server_ctx_new(cert_pem, key_pem, negotiate, sid_ctx, sid_ctx_len, err, errlen);
		rc = h->ctx ? 0 : -1;
	}
	if (rc != 0) {
		free(h);
		return NULL;
	}
	return h;
}

int cg_tls_host_set_ca_names(struct cg_tls_host *h, X509 *const *cas, size_t n)
{
	if (h->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_host_set_ca_names(h, cas, n);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	for (size_t k = 0; names && k < n; k++) {
		X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(cas[k]));
		if (!nm || !sk_X509_NAME_push(names, nm)) {
			X509_NAME_free(nm);
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			names = NULL;
		}
	}
	if (!names)
		return -1;
	SSL_CTX_set_client_CA_list(h->ctx, names); /* takes ownership */
	return 0;
}

struct cg_tls_host *cg_tls_host_ref(struct cg_tls_host *h)
{
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	return h;
}

void cg_tls_host_free(struct cg_tls_host *h)
{
	if (!h || atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (h->engine == CG_TLS_ENGINE_GNUTLS)
		cg_gt_host_free(h);
	else
		SSL_CTX_free(h->ctx);
	free(h);
}

/* ---- sessions: OpenSSL engine --------------------------------------------- */

struct ossl_srv {
	struct cg_tls_srv base;
	SSL *ssl;
	cg_tls_host_select_fn select;
	void *arg;
	unsigned char *der; /* the leaf's DER, encoded on first use */
	int der_len;
};

static SSL_CTX *ossl_select(void *arg, struct cg_str sni)
{
	struct ossl_srv *o = arg;
	struct cg_tls_host *h = o->select ? o->select(o->arg, sni) : NULL;
	return h && h->engine == CG_TLS_ENGINE_OPENSSL ? h->ctx : NULL;
}

static struct cg_tls_srv *ossl_new(struct cg_tls_host *h, int fd, cg_tls_host_select_fn select, void *arg)
{
	struct ossl_srv *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->base.engine = CG_TLS_ENGINE_OPENSSL;
	o->select = select;
	o->arg = arg;
	o->ssl = cg_tls_server_ssl_new(h->ctx, fd, ossl_select, o);
	if (!o->ssl) {
		free(o);
		return NULL;
	}
	return &o->base;
}

#define OSSL(s) ((struct ossl_srv *)(void *)(s))

struct cg_tls_srv *cg_tls_srv_new(struct cg_tls_host *h, int fd, cg_tls_host_select_fn select, void *arg)
{
	if (h->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_srv_new(h, fd, select, arg);
	return ossl_new(h, fd, select, arg);
}

int cg_tls_srv_handshake(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_handshake(s);
	return cg_tls_handshake(OSSL(s)->ssl);
}

long cg_tls_srv_read(struct cg_tls_srv *s, void *buf, size_t n)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_read(s, buf, n);
	return cg_tls_read(OSSL(s)->ssl, buf, n);
}

long cg_tls_srv_write(struct cg_tls_srv *s, const void *buf, size_t n)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_write(s, buf, n);
	return cg_tls_write(OSSL(s)->ssl, buf, n);
}

void cg_tls_srv_woken(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		cg_gt_woken(s);
}

void cg_tls_srv_shutdown(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS) {
		cg_gt_shutdown(s);
		return;
	}
	SSL *ssl = OSSL(s)->ssl;
	if (SSL_is_init_finished(ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
}

void cg_tls_srv_free(struct cg_tls_srv *s)
{
	if (!s)
		return;
	if (s->engine == CG_TLS_ENGINE_GNUTLS) {
		cg_gt_free(s);
		return;
	}
	struct ossl_srv *o = OSSL(s);
	cg_tls_close(o->ssl);
	OPENSSL_free(o->der);
	free(o);
}

const char *cg_tls_srv_error(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_error(s);
	return cg_tls_last_error();
}

size_t cg_tls_srv_peer_count(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_peer_count(s);
	SSL *ssl = OSSL(s)->ssl;
	if (!SSL_get0_peer_certificate(ssl))
		return 0;
	/* On the server side the chain excludes the client's own certificate. */
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	return 1 + (size_t)(chain ? sk_X509_num(chain) : 0);
}

struct cg_str cg_tls_srv_peer_der(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_peer_der(s);
	struct ossl_srv *o = OSSL(s);
	X509 *x = SSL_get0_peer_certificate(o->ssl);
	if (!o->der && x) {
		o->der_len = i2d_X509(x, &o->der);
		if (o->der_len <= 0) {
			o->der = NULL;
			o->der_len = 0;
		}
	}
	return o->der ? cg_str_make((const char *)o->der, (size_t)o->der_len) : CG_STR_NULL;
}

bool cg_tls_srv_peer_thumbprint(struct cg_tls_srv *s, char out[41])
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_peer_thumbprint(s, out);
	return cg_tls_peer_thumbprint(OSSL(s)->ssl, out);
}

X509 *cg_tls_srv_peer_x509(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_peer_x509(s);
	return SSL_get0_peer_certificate(OSSL(s)->ssl);
}

STACK_OF(X509) *cg_tls_srv_peer_chain(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_peer_chain(s);
	return SSL_get_peer_cert_chain(OSSL(s)->ssl);
}

const char *cg_tls_srv_version(struct cg_tls_srv *s)
{
	if (s->engine == CG_TLS_ENGINE_GNUTLS)
		return cg_gt_version(s);
	return SSL_get_version(OSSL(s)->ssl);
}

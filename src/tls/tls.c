#include "tls/tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ex_data slots on SSL: the hostname selector and its argument. */
static int ex_select_fn = -1;
static int ex_select_arg = -1;

/* TLS 1.2 suites: forward-secret AEAD only. TLS 1.3 keeps OpenSSL's default
 * list (all AEAD). */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
				    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

void cg_tls_global_init(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	if (ex_select_fn < 0) {
		ex_select_fn = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		ex_select_arg = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	}
}

static void set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char detail[256] = "";
	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", detail);
	ERR_clear_error();
}

const char *cg_tls_last_error(void)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_peek_last_error();
	if (!e)
		return "no TLS error recorded";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* Accept any chain: the handshake only records what the client sent; trust
 * is a policy decision (APIM's negotiateClientCertificate semantics). With
 * this callback X509_verify_cert never runs, which is also the cheapest
 * option (~870 vs ~1240 us per handshake here). */
static int accept_any_chain(X509_STORE_CTX *ctx, void *arg)
{
	return 1;
}

/* ALPN: we speak HTTP/1.1 only. A client offering h2 and http/1.1 gets
 * http/1.1; one offering only h2 gets no ALPN answer and may give up. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "http/1.1";
	for (unsigned int i = 0; i < inlen;) {
		unsigned int n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == 8 && memcmp(in + i + 1, h11, 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* Extracts the host_name entry of the server_name extension. */
static struct cg_str client_hello_sni(SSL *ssl, char *buf, size_t bufsz)
{
	const unsigned char *p;
	size_t len;
	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 2)
		return CG_STR_NULL;
	size_t list = ((size_t)p[0] << 8) | p[1];
	if (list + 2 != len)
		return CG_STR_NULL;
	p += 2;
	while (list >= 3) {
		unsigned type = p[0];
		size_t n = ((size_t)p[1] << 8) | p[2];
		if (n + 3 > list)
			return CG_STR_NULL;
		if (type == TLSEXT_NAMETYPE_host_name) {
			if (n == 0 || n >= bufsz)
				return CG_STR_NULL;
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)cg_ascii_lower(p[3 + i]);
			if (buf[n - 1] == '.')
				n--; /* "example.com." names the same host */
			return cg_str_make(buf, n);
		}
		p += 3 + n;
		list -= 3 + n;
	}
	return CG_STR_NULL;
}

/* Runs before anything else of the handshake is decided, so the chosen
 * hostname's certificate, verify mode and session id context all apply. */
static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
	cg_tls_select_fn fn = (cg_tls_select_fn)SSL_get_ex_data(ssl, ex_select_fn);
	if (!fn)
		return SSL_CLIENT_HELLO_SUCCESS;
	char name[256];
	struct cg_str sni = client_hello_sni(ssl, name, sizeof(name));
	SSL_CTX *ctx = fn(SSL_get_ex_data(ssl, ex_select_arg), sni);
	if (ctx && ctx != SSL_get_SSL_CTX(ssl)) {
		if (!SSL_set_SSL_CTX(ssl, ctx)) {
			*al = SSL_AD_INTERNAL_ERROR;
			return SSL_CLIENT_HELLO_ERROR;
		}
		/* SSL_set_SSL_CTX swaps certificates but not the verify mode. */
		SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), NULL);
		SSL_clear_options(ssl, SSL_get_options(ssl));
		SSL_set_options(ssl, SSL_CTX_get_options(ctx));
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int load_chain_and_key(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, char *err,
			      size_t errlen)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!leaf) {
		BIO_free(b);
		set_err(err, errlen, "server certificate: no PEM certificate found");
		return -1;
	}
	int ok = SSL_CTX_use_certificate(ctx, leaf);
	X509_free(leaf);
	if (!ok) {
		BIO_free(b);
		set_err(err, errlen, "server certificate refused");
		return -1;
	}
	X509 *extra;
	while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add0_chain_cert(ctx, extra)) {
			X509_free(extra);
			BIO_free(b);
			set_err(err, errlen, "server certificate chain refused");
			return -1;
		}
	}
	ERR_clear_error(); /* the loop ends on a "no start line" error */
	BIO_free(b);

	b = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
	BIO_free(b);
	if (!key) {
		set_err(err, errlen, "server key: no usable PEM private key found");
		return -1;
	}
	ok = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (!ok || !SSL_CTX_check_private_key(ctx)) {
		set_err(err, errlen, "server key does not match the certificate");
		return -1;
	}
	return 0;
}

SSL_CTX *cg_tls_server_ctx_new(const char *cert_pem, const char *key_pem, bool negotiate,
			       const unsigned char *sid_ctx, size_t sid_ctx_len, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		set_err(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Read what the socket has in one read(2), not a 5-byte header and
	 * then the record: half the syscalls per small request. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) {
		set_err(err, errlen, "cipher list refused");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_session_id_context(ctx, sid_ctx, (unsigned)sid_ctx_len);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	if (negotiate) {
		/* Request, do not require: a client without a certificate gets
		 * through, and policies see Certificate == null. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_cert_verify_callback(ctx, accept_any_chain, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (load_chain_and_key(ctx, cert_pem, key_pem, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL *cg_tls_server_ssl_new(SSL_CTX *ctx, int fd, cg_tls_select_fn select, void *arg)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (!SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_ex_data(ssl, ex_select_fn, (void *)select);
	SSL_set_ex_data(ssl, ex_select_arg, arg);
	SSL_set_accept_state(ssl);
	return ssl;
}

SSL_CTX *cg_tls_client_ctx_new(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		set_err(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	/* Backends that close without close_notify after a close-delimited
	 * body are common; the close itself ends the body. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (!SSL_CTX_set_default_verify_paths(ctx)) {
		set_err(err, errlen, "cannot load the system CA store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* validateCertificateChain=false with validateCertificateName=true: every
 * chain error is forgiven except a name mismatch. */
static int verify_name_only(int ok, X509_STORE_CTX *x)
{
	if (ok)
		return 1;
	int e = X509_STORE_CTX_get_error(x);
	return e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH ? 0 : 1;
}

SSL_CTX *cg_tls_client_ctx_new_ex(bool verify_chain, bool verify_name, X509 *client_cert,
				  const char *key_pem, char *err, size_t errlen)
{
	SSL_CTX *ctx = cg_tls_client_ctx_new(err, errlen);
	if (!ctx)
		return NULL;
	if (!verify_chain)
		SSL_CTX_set_verify(ctx, verify_name ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
				   verify_name ? verify_name_only : NULL);
	if (client_cert) {
		BIO *b = key_pem ? BIO_new_mem_buf(key_pem, -1) : NULL;
		EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
		BIO_free(b);
		if (!key || !SSL_CTX_use_certificate(ctx, client_cert) || !SSL_CTX_use_PrivateKey(ctx, key) ||
		    !SSL_CTX_check_private_key(ctx)) {
			EVP_PKEY_free(key);
			set_err(err, errlen, key ? "client certificate and key refused"
						  : "client certificate: no usable private key");
			SSL_CTX_free(ctx);
			return NULL;
		}
		EVP_PKEY_free(key);
	}
	return ctx;
}

SSL_CTX *cg_tls_client_ctx_new_key(bool verify_chain, bool verify_name, X509 *client_cert, EVP_PKEY *key,
				   STACK_OF(X509) *chain, char *err, size_t errlen)
{
	SSL_CTX *ctx = cg_tls_client_ctx_new_ex(verify_chain, verify_name, NULL, NULL, err, errlen);
	if (!ctx)
		return NULL;
	if (!SSL_CTX_use_certificate(ctx, client_cert) || !SSL_CTX_use_PrivateKey(ctx, key) ||
	    !SSL_CTX_check_private_key(ctx)) {
		set_err(err, errlen, "client certificate and key refused");
		SSL_CTX_free(ctx);
		return NULL;
	}
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i));
	return ctx;
}

SSL *cg_tls_client_ssl_new(SSL_CTX *ctx, int fd, const char *host, bool verify)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (!SSL_set_fd(ssl, fd))
		goto fail;
	unsigned char tmp[16];
	int is_ip = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
	if (!is_ip && !SSL_set_tlsext_host_name(ssl, host))
		goto fail;
	/* Chain checking is the context's setting; the name is checked here. */
	if (verify && (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
			     : !SSL_set1_host(ssl, host)))
		goto fail;
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

static int map_ssl_error(SSL *ssl, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return CG_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return CG_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return CG_TLS_EOF;
	case SSL_ERROR_SYSCALL:
		/* OpenSSL 3 reports an EOF without close_notify as SSL_ERROR_SSL
		 * unless SSL_OP_IGNORE_UNEXPECTED_EOF; a bare SYSCALL with no
		 * errno is also an EOF. Either way the peer is gone. */
		ERR_clear_error();
		return CG_TLS_ERROR;
	default:
		return CG_TLS_ERROR;
	}
}

int cg_tls_handshake(SSL *ssl)
{
	ERR_clear_error();
	int r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	return map_ssl_error(ssl, r);
}

long cg_tls_read(SSL *ssl, void *buf, size_t n)
{
	size_t got = 0;
	ERR_clear_error();
	int r = SSL_read_ex(ssl, buf, n, &got);
	if (r == 1)
		return (long)got;
	return map_ssl_error(ssl, r);
}

long cg_tls_write(SSL *ssl, const void *buf, size_t n)
{
	size_t put = 0;
	ERR_clear_error();
	int r = SSL_write_ex(ssl, buf, n, &put);
	if (r == 1)
		return (long)put;
	return map_ssl_error(ssl, r);
}

void cg_tls_close(SSL *ssl)
{
	if (!ssl)
		return;
	if (SSL_is_init_finished(ssl)) {
		SSL_set_quiet_shutdown(ssl, 0);
		ERR_clear_error();
		(void)SSL_shutdown(ssl); /* non-blocking: send close_notify if we can */
	}
	ERR_clear_error();
	SSL_free(ssl);
}

void cg_tls_thumbprint_hex(const unsigned char md[20], char out[41])
{
	static const char hex[] = "0123456789ABCDEF";
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
}

bool cg_tls_peer_thumbprint(SSL *ssl, char out[41])
{
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!x || !X509_digest(x, EVP_sha1(), md, &n) || n != 20)
		return false;
	cg_tls_thumbprint_hex(md, out);
	return true;
}

/* The GnuTLS engine of client-facing TLS (srv.h).
 *
 * Reads: GnuTLS asks its transport for a record header (5 bytes), then for
 * the record. Served straight from the socket that is three read(2)s per
 * small request (header, body, EAGAIN); instead one read(2) into a
 * per-thread scratch buffer serves them, and what GnuTLS has not asked for
 * by the end of the call is kept in a per-session buffer allocated only
 * while bytes wait in it (idle sessions keep none; a request that fits one
 * read allocates none). A short read means the socket is empty:
 * the next pull answers EAGAIN without a syscall until the connection's
 * poll wakes it (cg_gt_woken). Writes: records go out with sendmsg(2), a
 * handshake flight in one call. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/sys.h"
#include "tls/srv-int.h"
#include "tls/tls.h"

/* TLS 1.2 and 1.3; TLS 1.2 with ECDHE and AEAD only (tls.c's list). The
 * client's order of groups decides (no %SERVER_PRECEDENCE): a server
 * preferring P-256 would answer the usual X25519 key share with a
 * HelloRetryRequest, an extra round trip and key exchange. */
static const char priority_text[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"
				    "+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:"
				    "+ECDHE-RSA";

static gnutls_priority_t priority;
static int priority_rc;
static pthread_once_t priority_once = PTHREAD_ONCE_INIT;

static void priority_init(void)
{
	priority_rc = gnutls_priority_init2(&priority, priority_text, NULL, 0);
}

/* Largest TLS record on the wire: 5-byte header + 2^14 + 256 (TLS 1.3
 * ciphertext expansion; 2048 in TLS 1.2, also covered). */
#define GT_SCRATCH (5 + 16384 + 2048)

struct gt_srv {
	struct cg_tls_srv base;
	gnutls_session_t s;
	int fd;
	struct cg_tls_host *host; /* referenced: the default hostname's until select picks one */
	bool negotiate;           /* the host's: a client certificate was requested */
	cg_tls_host_select_fn select;
	void *arg;
	char *ra; /* bytes read from the socket that GnuTLS has not taken yet */
	size_t ra_off, ra_len;
	bool ra_scratch; /* ra is the thread's scratch buffer (only during a call) */
	bool broken;     /* out of memory keeping read bytes: the stream is lost */
	int last_rc;
	bool started; /* bytes came from the client */
	bool drained; /* a short read emptied the socket; cleared by cg_gt_woken */
	bool done;    /* handshake finished */
	bool bye;     /* close_notify queued */
	bool parsed;
	X509 *leaf;
	STACK_OF(X509) *chain;
};

#define GT(s) ((struct gt_srv *)(void *)(s))

/* ---- hosts ------------------------------------------------------------- */

/* The hostname's private key signs with OpenSSL: nettle's RSA-2048
 * signature costs ~1,080 us against OpenSSL's ~230 (ECDSA P-256: 36 vs
 * 15), and every full handshake makes one. GnuTLS keeps the TLS logic and
 * asks this key for signatures over the data it would sign. */
#define GT_KEY_CTXS 8 /* prepared signing contexts kept per key */

struct gt_key {
	EVP_PKEY *pkey;
	gnutls_pk_algorithm_t pk; /* GNUTLS_PK_RSA or GNUTLS_PK_EC */
	int bits;
	int curve; /* NID of an EC key's curve */
	/* Signing contexts already set up for a scheme: setting one up
	 * (EVP_PKEY_CTX_new, sign_init, the digest) costs OpenSSL 3 about as
	 * much as the P-256 signature itself. Taken and given back under mu
	 * (workers sign concurrently); freed with the key. */
	pthread_mutex_t mu;
	struct gt_ctx {
		EVP_PKEY_CTX *ctx;
		gnutls_sign_algorithm_t algo;
		bool digest_info;
	} ctxs[GT_KEY_CTXS];
	int nctxs;
};

/* The digest of a signature scheme this key can make; NULL: not one. */
static const EVP_MD *key_scheme(const struct gt_key *k, gnutls_sign_algorithm_t a, bool *pss)
{
	*pss = false;
	if (k->pk == GNUTLS_PK_EC) {
		switch (a) {
		case GNUTLS_SIGN_ECDSA_SHA256: return EVP_sha256();
		case GNUTLS_SIGN_ECDSA_SHA384: return EVP_sha384();
		case GNUTLS_SIGN_ECDSA_SHA512: return EVP_sha512();
		/* TLS 1.3 binds the curve to the hash */
		case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256: return k->curve == NID_X9_62_prime256v1 ? EVP_sha256() : NULL;
		case GNUTLS_SIGN_ECDSA_SECP384R1_SHA384: return k->curve == NID_secp384r1 ? EVP_sha384() : NULL;
		case GNUTLS_SIGN_ECDSA_SECP521R1_SHA512: return k->curve == NID_secp521r1 ? EVP_sha512() : NULL;
		default: return NULL;
		}
	}
	switch (a) {
	case GNUTLS_SIGN_RSA_SHA256: return EVP_sha256();
	case GNUTLS_SIGN_RSA_SHA384: return EVP_sha384();
	case GNUTLS_SIGN_RSA_SHA512: return EVP_sha512();
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256: *pss = true; return EVP_sha256();
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384: *pss = true; return EVP_sha384();
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512: *pss = true; return EVP_sha512();
	default: return NULL;
	}
}

/* OpenSSL's two-call signing (the size, then the bytes) into a GnuTLS
 * datum. */
typedef int (*sign_fn)(void *ctx, unsigned char *sig, size_t *len, const unsigned char *in, size_t n);

static int digest_sign(void *ctx, unsigned char *sig, size_t *len, const unsigned char *in, size_t n)
{
	return EVP_DigestSign(ctx, sig, len, in, n);
}

static int pkey_sign(void *ctx, unsigned char *sig, size_t *len, const unsigned char *in, size_t n)
{
	return EVP_PKEY_sign(ctx, sig, len, in, n);
}

static int sign_into(sign_fn fn, void *ctx, const gnutls_datum_t *in, gnutls_datum_t *sig)
{
	size_t len = 0;
	sig->data = NULL;
	if (fn(ctx, NULL, &len, in->data, in->size) != 1)
		return GNUTLS_E_PK_SIGN_FAILED;
	sig->data = gnutls_malloc(len);
	if (!sig->data)
		return GNUTLS_E_MEMORY_ERROR;
	if (fn(ctx, sig->data, &len, in->data, in->size) != 1) {
		gnutls_free(sig->data);
		sig->data = NULL;
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	sig->size = (unsigned)len;
	return 0;
}

static int key_sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata, unsigned flags,
			 const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	struct gt_key *k = userdata;
	bool pss;
	const EVP_MD *md = key_scheme(k, algo, &pss);
	if (!md)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = GNUTLS_E_PK_SIGN_FAILED;
	sig->data = NULL;
	if (m && EVP_DigestSignInit(m, &pctx, md, NULL, k->pkey) == 1 &&
	    (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)))
		rc = sign_into(digest_sign, m, data, sig);
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return rc;
}

/* The same over a digest GnuTLS computed (TLS 1.2 and its own key check).
 * For RSA PKCS#1 v1.5 the input may be the bare digest or a DigestInfo. */
/* A context set up to sign hashes with scheme algo: one kept by the key,
 * or a new one; NULL when OpenSSL refuses. */
static EVP_PKEY_CTX *sign_ctx_take(struct gt_key *k, gnutls_sign_algorithm_t algo, const EVP_MD *md, bool pss,
				   bool digest_info)
{
	EVP_PKEY_CTX *c = NULL;
	pthread_mutex_lock(&k->mu);
	for (int i = 0; i < k->nctxs; i++)
		if (k->ctxs[i].algo == algo && k->ctxs[i].digest_info == digest_info) {
			c = k->ctxs[i].ctx;
			k->ctxs[i] = k->ctxs[--k->nctxs];
			break;
		}
	pthread_mutex_unlock(&k->mu);
	if (c)
		return c;
	bool rsa = k->pk == GNUTLS_PK_RSA;
	c = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (c && EVP_PKEY_sign_init(c) == 1 &&
	    (!rsa || EVP_PKEY_CTX_set_rsa_padding(c, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1) &&
	    (digest_info || EVP_PKEY_CTX_set_signature_md(c, md) == 1) &&
	    (!pss || EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1))
		return c;
	EVP_PKEY_CTX_free(c);
	return NULL;
}

/* Gives a context back after a signature it made (kept if there is room). */
static void sign_ctx_give(struct gt_key *k, EVP_PKEY_CTX *c, gnutls_sign_algorithm_t algo, bool digest_info)
{
	pthread_mutex_lock(&k->mu);
	if (k->nctxs < GT_KEY_CTXS) {
		k->ctxs[k->nctxs++] = (struct gt_ctx){ c, algo, digest_info };
		c = NULL;
	}
	pthread_mutex_unlock(&k->mu);
	EVP_PKEY_CTX_free(c);
}

static int key_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata, unsigned flags,
			 const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	struct gt_key *k = userdata;
	bool pss;
	const EVP_MD *md = key_scheme(k, algo, &pss);
	if (!md)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	bool digest_info = k->pk == GNUTLS_PK_RSA && !pss && hash->size != (unsigned)EVP_MD_get_size(md);
	int rc = GNUTLS_E_PK_SIGN_FAILED;
	sig->data = NULL;
	EVP_PKEY_CTX *c = sign_ctx_take(k, algo, md, pss, digest_info);
	if (c) {
		rc = sign_into(pkey_sign, c, hash, sig);
		if (rc == 0)
			sign_ctx_give(k, c, algo, digest_info);
		else
			EVP_PKEY_CTX_free(c); /* a context that failed is not reused */
	}
	ERR_clear_error();
	return rc;
}

static int key_info(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	struct gt_key *k = userdata;
	bool pss;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return (int)k->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return k->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return key_scheme(k, (gnutls_sign_algorithm_t)GNUTLS_FLAGS_TO_SIGN_ALGO(flags), &pss) != NULL;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return 0; /* no preference */
	return GNUTLS_E_UNKNOWN_PK_ALGORITHM;
}

static void key_deinit(gnutls_privkey_t key, void *userdata)
{
	struct gt_key *k = userdata;
	for (int i = 0; i < k->nctxs; i++)
		EVP_PKEY_CTX_free(k->ctxs[i].ctx);
	pthread_mutex_destroy(&k->mu);
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* An RSA or EC key as a GnuTLS key signing with OpenSSL; NULL for other
 * kinds (GnuTLS loads those itself). */
static gnutls_privkey_t openssl_privkey(const char *key_pem)
{
	BIO *b = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *pkey = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
	BIO_free(b);
	ERR_clear_error();
	int id = pkey ? EVP_PKEY_get_base_id(pkey) : 0;
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	struct gt_key *k = calloc(1, sizeof(*k));
	gnutls_privkey_t key = NULL;
	if (!k || gnutls_privkey_init(&key) < 0)
		goto fail;
	k->pkey = pkey;
	pthread_mutex_init(&k->mu, NULL);
	k->pk = id == EVP_PKEY_RSA ? GNUTLS_PK_RSA : GNUTLS_PK_EC;
	k->bits = EVP_PKEY_get_bits(pkey);
	if (id == EVP_PKEY_EC) {
		char curve[64];
		size_t n = 0;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), &n))
			goto fail;
		k->curve = OBJ_sn2nid(curve);
		if (k->curve == NID_undef)
			k->curve = EC_curve_nist2nid(curve);
	}
	if (gnutls_privkey_import_ext4(key, k, key_sign_data, key_sign_hash, NULL, key_deinit, key_info,
				       GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0)
		goto fail;
	return key; /* key_deinit frees k with it */
fail:
	if (key)
		gnutls_privkey_deinit(key);
	if (k)
		free(k);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return NULL;
}

/* The chain and an OpenSSL-signing key; 0, or < 0 to let GnuTLS load both
 * itself. */
static int set_openssl_key(struct cg_tls_host *h, const char *cert_pem, const char *key_pem)
{
	gnutls_privkey_t key = openssl_privkey(key_pem);
	if (!key)
		return -1;
	gnutls_pcert_st pcerts[16];
	unsigned n = 16;
	gnutls_datum_t c = { (unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem) };
	if (gnutls_pcert_list_import_x509_raw(pcerts, &n, &c, GNUTLS_X509_FMT_PEM, 0) < 0 || n == 0) {
		gnutls_privkey_deinit(key);
		return -1;
	}
	/* On success the credentials own the certificates and the key. */
	if (gnutls_certificate_set_key(h->cred, NULL, 0, pcerts, (int)n, key) < 0) {
		for (unsigned i = 0; i < n; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		gnutls_privkey_deinit(key);
		return -1;
	}
	return 0;
}

int cg_gt_host_init(struct cg_tls_host *h, const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
	pthread_once(&priority_once, priority_init);
	if (priority_rc < 0) {
		snprintf(err, errlen, "GnuTLS priority string refused: %s", gnutls_strerror(priority_rc));
		return -1;
	}
	/* OpenSSL's loader first: the same PEM is accepted or refused with the
	 * same message whichever engine serves it (a key that does not match
	 * the certificate among them). */
	SSL_CTX *check = cg_tls_server_ctx_new(cert_pem, key_pem, false, (const unsigned char *)"", 0, err, errlen);
	if (!check)
		return -1;
	SSL_CTX_free(check);
	int rc = gnutls_certificate_allocate_credentials(&h->cred);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (set_openssl_key(h, cert_pem, key_pem) == 0)
		return 0;
	gnutls_datum_t c = { (unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem) };
	gnutls_datum_t k = { (unsigned char *)(uintptr_t)key_pem, (unsigned)strlen(key_pem) };
	rc = gnutls_certificate_set_x509_key_mem2(h->cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		snprintf(err, errlen, "server certificate and key refused by GnuTLS: %s", gnutls_strerror(rc));
		gnutls_certificate_free_credentials(h->cred);
		h->cred = NULL;
		return -1;
	}
	return 0;
}

/* GnuTLS lists the subjects of its trust list in a CertificateRequest, and
 * verifies nothing unless asked, so the CAs go there. */
int cg_gt_host_set_ca_names(struct cg_tls_host *h, X509 *const *cas, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(cas[i], &der);
		if (len <= 0)
			return -1;
		gnutls_datum_t d = { der, (unsigned)len };
		int rc = gnutls_certificate_set_x509_trust_mem(h->cred, &d, GNUTLS_X509_FMT_DER);
		OPENSSL_free(der);
		if (rc == GNUTLS_E_MEMORY_ERROR)
			return -1;
	}
	return 0;
}

void cg_gt_host_free(struct cg_tls_host *h)
{
	if (h->cred)
		gnutls_certificate_free_credentials(h->cred);
}

/* ---- transport ---------------------------------------------------------- */

static ssize_t gt_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct gt_srv *g = p;
	if (g->ra_len) {
		size_t k = n < g->ra_len ? n : g->ra_len;
		memcpy(buf, g->ra + g->ra_off, k);
		g->ra_off += k;
		g->ra_len -= k;
		if (!g->ra_len) {
			if (!g->ra_scratch)
				free(g->ra);
			g->ra = NULL;
			g->ra_off = 0;
			g->ra_scratch = false;
		}
		return (ssize_t)k;
	}
	if (g->drained) {
		gnutls_transport_set_errno(g->s, EAGAIN);
		return -1;
	}
	static _Thread_local char scratch[GT_SCRATCH];
	bool direct = n >= sizeof(scratch);
	size_t want = direct ? n : sizeof(scratch);
	ssize_t r;
	do
		r = cg_sys_recv(g->fd, direct ? buf : scratch, want, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0 && (size_t)r < want)
		g->drained = true; /* the socket had no more: no EAGAIN read next time */
	if (r < 0) {
		bool again = errno == EAGAIN || errno == EWOULDBLOCK;
		g->drained = again;
		gnutls_transport_set_errno(g->s, again ? EAGAIN : errno);
		return -1;
	}
	if (!g->started && r > 0) {
		/* A client's first record is a handshake record of TLS (major
		 * version 3) starting a ClientHello. Anything else (plain HTTP on
		 * the TLS port, noise) is refused now, as OpenSSL does: GnuTLS
		 * would wait for the rest of a message whose length is text. */
		const unsigned char *d = (const unsigned char *)(direct ? buf : scratch);
		bool hello = d[0] == 22 && (r < 2 || d[1] == 3) && (r < 6 || d[5] == 1 /* ClientHello */);
		if (!hello) {
			gnutls_transport_set_errno(g->s, EPROTO);
			return -1;
		}
		g->started = true;
	}
	if (direct || (size_t)r <= n) {
		if (!direct && r > 0)
			memcpy(buf, scratch, (size_t)r);
		return r;
	}
	/* The rest stays in the scratch buffer for the next pulls of this
	 * call (GnuTLS asks for a record's header, then its body); gt_park()
	 * moves what is left when the call returns. */
	memcpy(buf, scratch, n);
	g->ra = scratch;
	g->ra_off = n;
	g->ra_len = (size_t)r - n;
	g->ra_scratch = true;
	return (ssize_t)n;
}

/* At the end of every call into GnuTLS: bytes still in the thread's
 * scratch buffer move to the session's own (the next session's pull
 * reuses the scratch). Usually nothing is left: no allocation. */
static void gt_park(struct gt_srv *g)
{
	if (!g->ra_scratch)
		return;
	g->ra_scratch = false;
	char *m = malloc(g->ra_len);
	if (!m) {
		g->broken = true;
		g->ra = NULL;
		g->ra_len = g->ra_off = 0;
		return;
	}
	memcpy(m, g->ra + g->ra_off, g->ra_len);
	g->ra = m;
	g->ra_off = 0;
}

/* Non-blocking: GnuTLS only asks whether bytes are ready now. */
static int gt_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct gt_srv *g = p;
	if (g->ra_len)
		return 1;
	struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
	int r = poll(&pfd, 1, 0);
	(void)ms;
	return r < 0 ? -1 : r;
}

static ssize_t gt_vec_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct gt_srv *g = p;
	struct msghdr m = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t r;
	do
		r = cg_sys_sendmsg(g->fd, &m, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		gnutls_transport_set_errno(g->s, errno == EAGAIN || errno == EWOULDBLOCK ? EAGAIN : errno);
	return r;
}

/* ---- sessions ----------------------------------------------------------- */

static int gt_post_client_hello(gnutls_session_t sess)
{
	struct gt_srv *g = gnutls_session_get_ptr(sess);
	char name[256];
	size_t len = sizeof(name);
	unsigned type = 0;
	struct cg_str sni = CG_STR_NULL;
	if (gnutls_server_name_get(sess, name, &len, &type, 0) == 0 && type == GNUTLS_NAME_DNS && len > 0 &&
	    len < sizeof(name)) {
		for (size_t i = 0; i < len; i++)
			name[i] = (char)cg_ascii_lower((unsigned char)name[i]);
		if (name[len - 1] == '.')
			len--; /* "example.com." names the same host */
		sni = cg_str_make(name, len);
	}
	struct cg_tls_host *h = g->select ? g->select(g->arg, sni) : NULL;
	struct cg_tls_host *old = NULL;
	if (h && h != g->host && h->engine == CG_TLS_ENGINE_GNUTLS) {
		/* The session keeps its credentials referenced (GnuTLS only
		 * borrows them) after the snapshot that made them is gone. */
		old = g->host;
		g->host = cg_tls_host_ref(h);
	}
	g->negotiate = g->host->negotiate;
	int rc = gnutls_credentials_set(sess, GNUTLS_CRD_CERTIFICATE, g->host->cred);
	cg_tls_host_free(old); /* no longer in the session */
	if (rc < 0)
		return rc;
	gnutls_certificate_server_set_request(sess, g->host->negotiate ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_IGNORE);
	return 0;
}

static int alpn_init(gnutls_session_t s)
{
	static const gnutls_datum_t h11 = { (unsigned char *)"http/1.1", 8 };
	return gnutls_alpn_set_protocols(s, &h11, 1, 0);
}

struct cg_tls_srv *cg_gt_srv_new(struct cg_tls_host *h, int fd, cg_tls_host_select_fn select, void *arg)
{
	struct gt_srv *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->base.engine = CG_TLS_ENGINE_GNUTLS;
	g->fd = fd;
	g->host = cg_tls_host_ref(h);
	g->negotiate = h->negotiate;
	g->select = select;
	g->arg = arg;
	if (gnutls_init(&g->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL) < 0) {
		cg_tls_host_free(g->host);
		free(g);
		return NULL;
	}
	if (gnutls_priority_set(g->s, priority) < 0 ||
	    gnutls_credentials_set(g->s, GNUTLS_CRD_CERTIFICATE, h->cred) < 0 || alpn_init(g->s) < 0) {
		gnutls_deinit(g->s);
		cg_tls_host_free(g->host);
		free(g);
		return NULL;
	}
	gnutls_session_set_ptr(g->s, g);
	gnutls_transport_set_ptr(g->s, g);
	gnutls_transport_set_pull_function(g->s, gt_pull);
	gnutls_transport_set_pull_timeout_function(g->s, gt_pull_timeout);
	gnutls_transport_set_vec_push_function(g->s, gt_vec_push);
	gnutls_handshake_set_post_client_hello_function(g->s, gt_post_client_hello);
	gnutls_certificate_server_set_request(g->s, h->negotiate ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_IGNORE);
	return &g->base;
}

/* GNUTLS_E_AGAIN: which way the blocked operation was going. */
static int want(struct gt_srv *g)
{
	return gnutls_record_get_direction(g->s) ? CG_TLS_WANT_WRITE : CG_TLS_WANT_READ;
}

int cg_gt_handshake(struct cg_tls_srv *s)
{
	struct gt_srv *g = GT(s);
	if (g->broken)
		return CG_TLS_ERROR;
	for (;;) {
		int rc = gnutls_handshake(g->s);
		gt_park(g);
		if (rc == GNUTLS_E_SUCCESS) {
			g->done = true;
			return 1;
		}
		g->last_rc = rc;
		if (rc == GNUTLS_E_AGAIN)
			return want(g);
		if (rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc))
			continue; /* a warning alert: go on */
		return CG_TLS_ERROR;
	}
}

long cg_gt_read(struct cg_tls_srv *s, void *buf, size_t n)
{
	struct gt_srv *g = GT(s);
	if (g->broken)
		return CG_TLS_ERROR;
	/* Nothing can come before the poll wakes: no bytes parked, no
	 * decrypted bytes held, the socket known empty. Answered here, because
	 * gnutls_record_recv would take the session's epoch mutex only to have
	 * gt_pull report EAGAIN (a keep-alive connection asks once per request
	 * whether the client sent another). */
	if (g->drained && g->ra_len == 0 && gnutls_record_check_pending(g->s) == 0 &&
	    gnutls_record_get_direction(g->s) == 0)
		return CG_TLS_WANT_READ;
	for (;;) {
		ssize_t r = gnutls_record_recv(g->s, buf, n);
		gt_park(g);
		if (r >= 0)
			return r > 0 ? (long)r : CG_TLS_EOF;
		g->last_rc = (int)r;
		if (r == GNUTLS_E_AGAIN)
			return want(g);
		if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_WARNING_ALERT_RECEIVED)
			continue;
		/* GNUTLS_E_REHANDSHAKE (a TLS 1.2 client asking to renegotiate,
		 * which we never do), GNUTLS_E_PREMATURE_TERMINATION (EOF without
		 * close_notify, as OpenSSL reports it), anything fatal. */
		return CG_TLS_ERROR;
	}
}

long cg_gt_write(struct cg_tls_srv *s, const void *buf, size_t n)
{
	struct gt_srv *g = GT(s);
	if (g->broken)
		return CG_TLS_ERROR;
	for (;;) {
		ssize_t r = gnutls_record_send(g->s, buf, n);
		gt_park(g);
		if (r > 0)
			return (long)r;
		g->last_rc = (int)r;
		if (r == GNUTLS_E_AGAIN)
			return want(g);
		if (r == GNUTLS_E_INTERRUPTED)
			continue;
		return CG_TLS_ERROR;
	}
}

void cg_gt_woken(struct cg_tls_srv *s)
{
	GT(s)->drained = false;
}

void cg_gt_shutdown(struct cg_tls_srv *s)
{
	struct gt_srv *g = GT(s);
	if (g->done && !g->bye) {
		g->bye = true;
		(void)gnutls_bye(g->s, GNUTLS_SHUT_WR); /* may not go out: best effort */
		gt_park(g);
	}
}

void cg_gt_free(struct cg_tls_srv *s)
{
	struct gt_srv *g = GT(s);
	cg_gt_shutdown(s);
	gnutls_deinit(g->s);
	cg_tls_host_free(g->host); /* after the session: it borrowed the credentials */
	if (!g->ra_scratch)
		free(g->ra);
	X509_free(g->leaf);
	sk_X509_pop_free(g->chain, X509_free);
	free(g);
}

const char *cg_gt_error(struct cg_tls_srv *s)
{
	int rc = GT(s)->last_rc;
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		static _Thread_local char buf[160];
		snprintf(buf, sizeof(buf), "%s: %s", gnutls_strerror(rc),
			 gnutls_alert_get_name(gnutls_alert_get(GT(s)->s)));
		return buf;
	}
	return rc ? gnutls_strerror(rc) : "no TLS error recorded";
}

/* ---- what the client sent -------------------------------------------------- */

static const gnutls_datum_t *peers(struct gt_srv *g, unsigned *n)
{
	*n = 0;
	if (!g->done || !g->negotiate)
		return NULL;
	const gnutls_datum_t *list = gnutls_certificate_get_peers(g->s, n);
	if (!list)
		*n = 0;
	return list;
}

size_t cg_gt_peer_count(struct cg_tls_srv *s)
{
	unsigned n;
	peers(GT(s), &n);
	return n;
}

struct cg_str cg_gt_peer_der(struct cg_tls_srv *s)
{
	unsigned n;
	const gnutls_datum_t *list = peers(GT(s), &n);
	return n ? cg_str_make((const char *)list[0].data, list[0].size) : CG_STR_NULL;
}

bool cg_gt_peer_thumbprint(struct cg_tls_srv *s, char out[41])
{
	unsigned n;
	const gnutls_datum_t *list = peers(GT(s), &n);
	unsigned char md[20];
	if (!n || gnutls_hash_fast(GNUTLS_DIG_SHA1, list[0].data, list[0].size, md) < 0)
		return false;
	cg_tls_thumbprint_hex(md, out);
	return true;
}

/* The parsed forms: OpenSSL's, which the .NET view, the trust store and
 * validate-client-certificate work on. Built only when a policy needs more
 * than the thumbprint. */
static void parse_peers(struct gt_srv *g)
{
	if (g->parsed)
		return;
	g->parsed = true;
	unsigned n;
	const gnutls_datum_t *list = peers(g, &n);
	if (!n)
		return;
	const unsigned char *p = list[0].data;
	g->leaf = d2i_X509(NULL, &p, (long)list[0].size);
	if (!g->leaf || p != list[0].data + list[0].size) {
		X509_free(g->leaf);
		g->leaf = NULL;
		ERR_clear_error();
		return;
	}
	g->chain = sk_X509_new_null();
	for (unsigned i = 1; g->chain && i < n; i++) {
		p = list[i].data;
		X509 *x = d2i_X509(NULL, &p, (long)list[i].size);
		if (!x || !sk_X509_push(g->chain, x)) {
			X509_free(x); /* an unparsable intermediate is left out, as if not sent */
			ERR_clear_error();
		}
	}
}

X509 *cg_gt_peer_x509(struct cg_tls_srv *s)
{
	parse_peers(GT(s));
	return GT(s)->leaf;
}

STACK_OF(X509) *cg_gt_peer_chain(struct cg_tls_srv *s)
{
	parse_peers(GT(s));
	return GT(s)->leaf ? GT(s)->chain : NULL;
}

const char *cg_gt_version(struct cg_tls_srv *s)
{
	switch (gnutls_protocol_get_version(GT(s)->s)) {
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	default:
		return "unknown";
	}
}

/* The admin listener's TLS and client certificates.
 *
 * Server credentials come from --admin-cert / --admin-key (an encrypted key
 * is opened here with --admin-key-password-file, then handed to the
 * listener engine unencrypted, in memory only). The handshake is the data
 * plane's (tls/srv.h, either engine): with --admin-client-ca it requests a
 * client certificate and accepts any chain; right after it the chain is
 * verified here with the CA trust code (tls/trust.h: path to a root of the
 * bundle, dates, CA flags) and, with --admin-client-thumbprint, pinned. A
 * refused client gets an HTTP 403 (never a bare TLS alert, which tells an
 * operator nothing); the reason goes to the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "admin/admin-int.h"
#include "base/arena.h"
#include "base/log.h"
#include "tls/srv.h"
#include "tls/tls.h"
#include "tls/trust.h"

struct cg_admin_tls {
	struct cg_tls_host *host;
	struct cg_arena arena;  /* owns trust */
	struct cg_trust *trust; /* NULL: no client certificates asked */
	char pins[CG_ADMIN_MAX_PINS][41];
	size_t num_pins;
};

/* ---- options ---------------------------------------------------------------- */

bool cg_admin_thumbprint_parse(const char *text, char out[41])
{
	size_t n = 0;
	for (const char *p = text; *p; p++) {
		char ch = *p;
		if ((ch == ':' || ch == ' ') && n % 2 == 0 && n > 0 && p[1])
			continue; /* between bytes only */
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return false;
		if (n == 40)
			return false;
		out[n++] = ch >= 'a' ? (char)(ch - 'a' + 'A') : ch;
	}
	out[n] = '\0';
	return n == 40;
}

/* The first admin option given besides --admin, for "needs --admin". */
static const char *first_admin_option(const struct cg_admin_opts *o)
{
	if (o->token_file)
		return "--admin-token-file";
	if (o->cert_file)
		return "--admin-cert";
	if (o->key_file)
		return "--admin-key";
	if (o->key_password_file)
		return "--admin-key-password-file";
	if (o->client_ca_file)
		return "--admin-client-ca";
	if (o->num_pins)
		return "--admin-client-thumbprint";
	return NULL;
}

int cg_admin_opts_check(const struct cg_admin_opts *o, bool *loopback, char *err, size_t errlen)
{
	*loopback = false;
	if (!o->listen) {
		const char *opt = first_admin_option(o);
		if (!opt)
			return 0;
		snprintf(err, errlen, "%s needs --admin ADDR:PORT", opt);
		return -1;
	}
	struct sockaddr_storage ss;
	char perr[200];
	if (cg_admin_parse_listen(o->listen, &ss, loopback, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "--admin %s", perr);
		return -1;
	}
	const char *need = NULL;
	if (o->cert_file && !o->key_file)
		need = "--admin-cert needs --admin-key FILE (its private key)";
	else if (o->key_file && !o->cert_file)
		need = "--admin-key needs --admin-cert FILE";
	else if (o->key_password_file && !o->key_file)
		need = "--admin-key-password-file needs --admin-key FILE";
	else if (o->client_ca_file && !o->cert_file)
		need = "--admin-client-ca needs TLS on the admin API (--admin-cert FILE and --admin-key "
		       "FILE): clients send certificates only over TLS";
	else if (o->num_pins && !o->client_ca_file)
		need = "--admin-client-thumbprint needs --admin-client-ca FILE (a pinned certificate "
		       "must also chain to an admin client CA)";
	if (need) {
		snprintf(err, errlen, "%s", need);
		return -1;
	}
	for (size_t i = 0; i < o->num_pins; i++) {
		char tp[41];
		if (!cg_admin_thumbprint_parse(o->pins[i], tp)) {
			snprintf(err, errlen,
				 "--admin-client-thumbprint '%.80s': expected a SHA-1 thumbprint (40 hex "
				 "digits)",
				 o->pins[i]);
			return -1;
		}
	}
	if (!o->token_file && !o->client_ca_file) {
		if (*loopback)
			snprintf(err, errlen,
				 "--admin needs --admin-token-file FILE, or --admin-client-ca FILE with "
				 "TLS");
		else
			snprintf(err, errlen,
				 "--admin %s is not a loopback address and has no authentication: give "
				 "--admin-token-file FILE and/or --admin-client-ca FILE (with --admin-cert "
				 "and --admin-key)",
				 o->listen);
		return -1;
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------------ */

/* A PEM file read whole (malloc'd, NUL-terminated; wipe with
 * cg_admin_free_secret). NULL with err filled. */
static char *read_pem(const char *opt, const char *path, char *err, size_t errlen)
{
	char *buf = malloc(CG_ADMIN_MAX_PEM_BYTES + 1);
	size_t n;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf[0] = '\0'; /* a failed read leaves a string to wipe */
	if (cg_admin_read_file(opt, path, buf, CG_ADMIN_MAX_PEM_BYTES + 1, &n, NULL, err, errlen) !=
	    0) {
		cg_admin_free_secret(buf);
		return NULL;
	}
	return buf;
}

/* Why PEM_read_bio_* stopped: the end of the text, or a block that does
 * not parse (OpenSSL's reason, for the message). */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();
	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

/* The first certificate of a PEM text. */
static X509 *first_cert(const char *opt, const char *path, const char *pem, char *err,
			size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	ERR_clear_error();
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!x)
		snprintf(err, errlen, "%s '%s': %s", opt, path,
			 pem_at_end() ? "no PEM certificate in it"
				      : "the first certificate does not parse");
	ERR_clear_error();
	return x;
}

struct password {
	const char *text;
	size_t len;
	bool asked;
};

static int password_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	struct password *p = u;
	p->asked = true;
	if (!p->text || p->len > (size_t)size)
		return -1;
	memcpy(buf, p->text, p->len);
	return (int)p->len;
}

/* Reads --admin-key-password-file: its first line (a final newline is not
 * part of the password). buf holds CG_ADMIN_MAX_PASSWORD_BYTES + 1. */
static int read_password(const char *path, char *buf, size_t *len, char *err, size_t errlen)
{
	bool loose = false;
	if (cg_admin_read_file("--admin-key-password-file", path, buf,
			       CG_ADMIN_MAX_PASSWORD_BYTES + 1, len, &loose, err, errlen) != 0)
		return -1;
	while (*len && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
	if (*len == 0) {
		snprintf(err, errlen, "--admin-key-password-file '%s': empty", path);
		return -1;
	}
	if (loose)
		cg_log_warn("--admin-key-password-file '%s' is readable by other users (chmod 600 it)",
			    path);
	return 0;
}

/* The private key of --admin-key, decrypted with the password file's
 * password when it is encrypted. */
static EVP_PKEY *load_key(const struct cg_admin_opts *o, const char *pem, char *err, size_t errlen)
{
	char pw[CG_ADMIN_MAX_PASSWORD_BYTES + 1];
	struct password p = { 0 };
	EVP_PKEY *k = NULL;
	if (o->key_password_file) {
		if (read_password(o->key_password_file, pw, &p.len, err, errlen) != 0)
			goto out;
		p.text = pw;
	}
	BIO *b = BIO_new_mem_buf(pem, -1);
	ERR_clear_error();
	k = b ? PEM_read_bio_PrivateKey(b, NULL, password_cb, &p) : NULL;
	BIO_free(b);
	if (!k) {
		const char *why = p.asked && !p.text ? "the key is encrypted: give its password with "
						       "--admin-key-password-file FILE"
				  : p.asked ? "cannot decrypt the key (wrong password?)"
				  : !strstr(pem, "PRIVATE KEY-----") ? "no PEM private key in it"
								      : "the private key does not parse";
		snprintf(err, errlen, "--admin-key '%s': %s", o->key_file, why);
	}
	ERR_clear_error();
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	return k;
}

/* k as unencrypted PKCS#8 PEM text for the listener engine (malloc'd;
 * wipe with cg_admin_free_secret). The BIO is secure memory: wiped on free. */
static char *key_to_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *out = NULL, *data;
	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
		long n = BIO_get_mem_data(b, &data);
		out = n > 0 ? malloc((size_t)n + 1) : NULL;
		if (out) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

/* The server credentials: chain and key read, checked against each other
 * (so the message names both files), then built by the listener engine. */
static int load_server(struct cg_admin_tls *t, const struct cg_admin_opts *o, char *err,
		       size_t errlen)
{
	int rc = -1;
	char *cert_pem = NULL, *key_pem = NULL, *plain = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *k = NULL;
	if (!(cert_pem = read_pem("--admin-cert", o->cert_file, err, errlen)) ||
	    !(leaf = first_cert("--admin-cert", o->cert_file, cert_pem, err, errlen)) ||
	    !(key_pem = read_pem("--admin-key", o->key_file, err, errlen)) ||
	    !(k = load_key(o, key_pem, err, errlen)))
		goto out;
	if (X509_check_private_key(leaf, k) != 1) {
		snprintf(err, errlen, "--admin-key '%s' does not match the certificate in --admin-cert '%s'",
			 o->key_file, o->cert_file);
		goto out;
	}
	if (!(plain = key_to_pem(k))) {
		snprintf(err, errlen, "--admin-key '%s': cannot re-encode the key (out of memory)",
			 o->key_file);
		goto out;
	}
	char herr[CG_TLS_ERR_LEN];
	static const unsigned char sid[8] = "cgadmin";
	t->host = cg_tls_host_new(cert_pem, plain, o->client_ca_file != NULL, sid, sizeof(sid), herr,
				  sizeof(herr));
	if (!t->host) {
		snprintf(err, errlen, "--admin-cert '%s' / --admin-key '%s': %s", o->cert_file,
			 o->key_file, herr);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_free(leaf);
	EVP_PKEY_free(k);
	cg_admin_free_secret(plain);
	cg_admin_free_secret(key_pem);
	cg_admin_free_secret(cert_pem);
	return rc;
}

/* Adds the certificates of the bundle: self-signed ones as roots, others as
 * intermediates (a path must still end at a root of the bundle). */
static int add_cas(struct cg_admin_tls *t, const char *path, BIO *b, X509 **cas, size_t *n,
		   char *err, size_t errlen)
{
	size_t roots = 0;
	for (;;) {
		ERR_clear_error();
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (!x) {
			if (pem_at_end())
				break;
			snprintf(err, errlen, "--admin-client-ca '%s': certificate %zu does not parse",
				 path, *n + 1);
			return -1;
		}
		if (*n == CG_TRUST_MAX_CAS) {
			X509_free(x);
			snprintf(err, errlen, "--admin-client-ca '%s': more than %d certificates", path,
				 CG_TRUST_MAX_CAS);
			return -1;
		}
		cas[(*n)++] = x;
		bool root = (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
		char terr[300];
		if (cg_trust_add_ca(t->trust, x, root, terr, sizeof(terr)) != 0) {
			snprintf(err, errlen, "--admin-client-ca '%s': certificate %zu: %s", path, *n,
				 terr);
			return -1;
		}
		roots += root;
	}
	if (*n == 0) {
		snprintf(err, errlen, "--admin-client-ca '%s': no PEM certificate in it", path);
		return -1;
	}
	if (roots == 0) {
		snprintf(err, errlen,
			 "--admin-client-ca '%s': no self-signed root CA certificate in it (a client "
			 "chain must end at a root of this bundle: add the root)",
			 path);
		return -1;
	}
	return 0;
}

/* --admin-client-ca: the trust store for client chains, and the CA names
 * the CertificateRequest lists. */
static int load_client_cas(struct cg_admin_tls *t, const char *path, char *err, size_t errlen)
{
	char *pem = read_pem("--admin-client-ca", path, err, errlen);
	if (!pem)
		return -1;
	X509 **cas = calloc(CG_TRUST_MAX_CAS, sizeof(*cas));
	BIO *b = BIO_new_mem_buf(pem, -1);
	size_t n = 0;
	int rc = -1;
	t->trust = cas && b ? cg_trust_new(&t->arena, 1) : NULL;
	if (!t->trust)
		snprintf(err, errlen, "out of memory");
	else if (add_cas(t, path, b, cas, &n, err, errlen) == 0 &&
		 cg_trust_finish(t->trust, err, errlen) == 0) {
		if (cg_tls_host_set_ca_names(t->host, cas, n) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "out of memory");
	}
	ERR_clear_error();
	for (size_t i = 0; i < n; i++)
		X509_free(cas[i]);
	free(cas);
	BIO_free(b);
	cg_admin_free_secret(pem);
	return rc;
}

struct cg_admin_tls *cg_admin_tls_load(const struct cg_admin_opts *o, char *err, size_t errlen)
{
	struct cg_admin_tls *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cg_arena_init(&t->arena, 4096, 64 * 1024);
	if (load_server(t, o, err, errlen) != 0 ||
	    (o->client_ca_file && load_client_cas(t, o->client_ca_file, err, errlen) != 0)) {
		cg_admin_tls_free(t);
		return NULL;
	}
	for (size_t i = 0; i < o->num_pins && i < CG_ADMIN_MAX_PINS; i++)
		if (cg_admin_thumbprint_parse(o->pins[i], t->pins[t->num_pins]))
			t->num_pins++;
	return t;
}

void cg_admin_tls_free(struct cg_admin_tls *t)
{
	if (!t)
		return;
	cg_tls_host_free(t->host); /* sessions still open keep their reference */
	cg_arena_destroy(&t->arena);
	free(t);
}

/* ---- connections -------------------------------------------------------------- */

struct cg_tls_srv *cg_admin_tls_session(struct cg_admin_tls *t, int fd)
{
	return cg_tls_srv_new(t->host, fd, NULL, NULL);
}

static bool pinned(const struct cg_admin_tls *t, const char tp[41])
{
	for (size_t i = 0; i < t->num_pins; i++)
		if (strcmp(t->pins[i], tp) == 0)
			return true;
	return false;
}

enum cg_admin_cert cg_admin_tls_peer(const struct cg_admin_tls *t, struct cg_tls_srv *s,
				     const char *peer)
{
	if (!t->trust)
		return CG_ADMIN_CERT_NOT_REQUIRED;
	char tp[41];
	if (cg_tls_srv_peer_count(s) == 0 || !cg_tls_srv_peer_thumbprint(s, tp)) {
		cg_log_info("admin: %s: no client certificate", peer);
		return CG_ADMIN_CERT_MISSING;
	}
	X509 *leaf = cg_tls_srv_peer_x509(s);
	struct cg_trust_result r;
	if (!leaf) {
		cg_log_info("admin: %s: client certificate %s refused: it cannot be decoded", peer, tp);
		return CG_ADMIN_CERT_UNTRUSTED;
	}
	/* Dates and the path to a root of --admin-client-ca; no revocation
	 * (no CRLs are configured for the admin API: pin, or change the CA). */
	if (!cg_trust_verify(t->trust, leaf, cg_tls_srv_peer_chain(s), (int64_t)time(NULL),
			     CG_TRUST_CHECK_TIME, &r)) {
		cg_log_info("admin: %s: client certificate %s refused: %s (%s)", peer, tp,
			    cg_trust_reason_name(r.reason), r.error_text);
		return CG_ADMIN_CERT_UNTRUSTED;
	}
	if (t->num_pins && !pinned(t, tp)) {
		cg_log_info("admin: %s: client certificate %s refused: not one of the "
			    "--admin-client-thumbprint values",
			    peer, tp);
		return CG_ADMIN_CERT_NOT_PINNED;
	}
	cg_log_debug("admin: %s: client certificate %s accepted", peer, tp);
	return CG_ADMIN_CERT_OK;
}

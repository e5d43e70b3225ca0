/* Certificate and key checks for hostnames, and the APIM certificate view.
 * OpenSSL needs NUL-terminated or (pointer, length) input; we pass
 * memory BIOs over the caller's strings, so nothing is copied. */
#include "store/cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <openssl/x509v3.h>

#include "store/store-t.h"
#include "tls/x509.h"

/* The last OpenSSL reason, for messages; clears the error queue so the next
 * operation starts clean. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unknown error";
}

static int too_big(const char *what, size_t len, char *err, size_t errlen)
{
	if (len <= CG_STORE_MAX_PEM_BYTES)
		return 0;
	snprintf(err, errlen, "%s is %zu bytes; at most %d are accepted", what, len,
		 CG_STORE_MAX_PEM_BYTES);
	return CG_STORE_FAIL_INVALID;
}

int cg_store_chain_parse(const char *pem, STACK_OF(X509) * *out, char *err, size_t errlen)
{
	*out = NULL;
	size_t len = strlen(pem);
	if (too_big("the certificate PEM", len, err, errlen))
		return CG_STORE_FAIL_INVALID;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *chain = sk_X509_new_null();
	if (!bio || !chain) {
		BIO_free(bio);
		sk_X509_free(chain);
		snprintf(err, errlen, "out of memory");
		return CG_STORE_FAIL_IO;
	}
	ERR_clear_error();
	int rc = 0;
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x) {
			unsigned long e = ERR_peek_last_error();
			/* "no start line" after the last block is the normal end. */
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			snprintf(err, errlen, "certificate %d in the PEM does not parse: %s",
				 sk_X509_num(chain) + 1, ssl_reason());
			rc = CG_STORE_FAIL_INVALID;
			break;
		}
		if (sk_X509_num(chain) >= CG_STORE_MAX_CHAIN) {
			X509_free(x);
			snprintf(err, errlen, "the certificate chain has more than %d certificates",
				 CG_STORE_MAX_CHAIN);
			rc = CG_STORE_FAIL_INVALID;
			break;
		}
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			rc = CG_STORE_FAIL_IO;
			break;
		}
	}
	BIO_free(bio);
	if (rc == 0 && sk_X509_num(chain) == 0) {
		snprintf(
			err, errlen,
			"no certificate found in the PEM (expected '-----BEGIN CERTIFICATE-----')");
		rc = CG_STORE_FAIL_INVALID;
	}
	/* The server sends the chain as given; a wrong order makes clients fail
	 * in ways that are hard to trace back, so refuse it here. */
	for (int i = 0; rc == 0 && i + 1 < sk_X509_num(chain); i++) {
		if (X509_check_issued(sk_X509_value(chain, i + 1), sk_X509_value(chain, i)) !=
		    X509_V_OK) {
			snprintf(err, errlen,
				 "certificate %d in the chain did not issue certificate %d (the "
				 "chain "
				 "must be the leaf first, then each issuer)",
				 i + 2, i + 1);
			rc = CG_STORE_FAIL_INVALID;
		}
	}
	if (rc != 0) {
		sk_X509_pop_free(chain, X509_free);
		return rc;
	}
	*out = chain;
	return 0;
}

struct pw_state {
	int asked; /* OpenSSL wanted a passphrase: the key is encrypted */
};

static int no_password(char *buf, int size, int rwflag, void *u)
{
	((struct pw_state *)u)->asked = 1;
	return -1; /* never prompt: we run unattended */
}

int cg_store_key_parse(const char *pem, EVP_PKEY **out, char *err, size_t errlen)
{
	*out = NULL;
	size_t len = strlen(pem);
	if (too_big("the private key PEM", len, err, errlen))
		return CG_STORE_FAIL_INVALID;
	/* Spot encrypted keys before OpenSSL does: legacy "Proc-Type: 4,ENCRYPTED"
	 * keys and PKCS#8 "ENCRYPTED PRIVATE KEY" blocks. */
	if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	    strstr(pem, "Proc-Type: 4,ENCRYPTED")) {
		snprintf(err, errlen,
			 "the private key is encrypted; certgate needs an unencrypted key "
			 "(decrypt it with: openssl pkey -in KEY -out KEY.plain)");
		return CG_STORE_FAIL_INVALID;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		snprintf(err, errlen, "out of memory");
		return CG_STORE_FAIL_IO;
	}
	struct pw_state pw = { 0 };
	ERR_clear_error();
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, no_password, &pw);
	BIO_free(bio);
	if (!k) {
		if (pw.asked)
			snprintf(err, errlen,
				 "the private key is encrypted; certgate needs an unencrypted key "
				 "(decrypt it with: openssl pkey -in KEY -out KEY.plain)");
		else if (!strstr(pem, "PRIVATE KEY-----"))
			snprintf(err, errlen,
				 "no private key found in the PEM (expected "
				 "'-----BEGIN PRIVATE KEY-----')");
		else
			snprintf(err, errlen, "the private key does not parse: %s", ssl_reason());
		ERR_clear_error();
		return CG_STORE_FAIL_INVALID;
	}
	int id = EVP_PKEY_get_base_id(k);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
		const char *name = OBJ_nid2sn(id);
		snprintf(err, errlen, "private key type %s is not supported (use RSA or EC)",
			 name ? name : "unknown");
		EVP_PKEY_free(k);
		return CG_STORE_FAIL_INVALID;
	}
	*out = k;
	return 0;
}

/* Drains a memory BIO into a malloc'd C string. */
static char *bio_to_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = 0;
	return s;
}

char *cg_store_chain_to_pem(STACK_OF(X509) * chain)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return NULL;
	char *s = NULL;
	int ok = 1;
	for (int i = 0; ok && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(bio, sk_X509_value(chain, i));
	if (ok)
		s = bio_to_string(bio);
	BIO_free(bio);
	return s;
}

char *cg_store_key_to_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return NULL;
	char *s = NULL;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		s = bio_to_string(bio);
	BIO_free(bio);
	return s;
}

/* Appends to a bounded buffer; output is cut (still NUL-terminated) when
 * it does not fit, which is fine for a display-only view. */
static void append(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (*pos >= cap)
		return;
	size_t room = cap - 1 - *pos;
	if (n > room)
		n = room;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = 0;
}

/* Subjects and issuers are shown exactly as policies see them
 * (X500DistinguishedName.Name), so the formatting is the tls module's. */
static void format_dn(const X509_NAME *name, char *buf, size_t cap)
{
	struct cg_arena a;
	struct cg_str out;
	char err[128];
	cg_arena_init(&a, 4096, 0); /* bounded by CG_X509_MAX_NAME_LEN */
	if (cg_x509_name_to_dotnet(name, &a, &out, err, sizeof(err)) == 0)
		snprintf(buf, cap, "%.*s", (int)(out.len < cap ? out.len : cap - 1), out.ptr);
	else
		snprintf(buf, cap, "(unprintable name: %s)", err);
	cg_arena_destroy(&a);
}

static void format_time(const ASN1_TIME *t, char out[CG_STORE_TIME_LEN])
{
	struct tm tm;
	if (!ASN1_TIME_to_tm(t, &tm) ||
	    !strftime(out, CG_STORE_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, CG_STORE_TIME_LEN, "invalid");
}

static void add_sans(X509 *x, struct cg_store_cert_info *info)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char *out = info->sans[info->num_sans];
		if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
			const char *kind = g->type == GEN_DNS     ? "DNS"
					   : g->type == GEN_EMAIL ? "email"
								  : "URI";
			const ASN1_IA5STRING *s = g->d.ia5;
			snprintf(out, CG_STORE_MAX_SAN_LEN, "%s:%.*s", kind, ASN1_STRING_length(s),
				 (const char *)ASN1_STRING_get0_data(s));
		} else if (g->type == GEN_IPADD) {
			const unsigned char *p = ASN1_STRING_get0_data(g->d.ip);
			int l = ASN1_STRING_length(g->d.ip);
			if (l == 4) {
				snprintf(out, CG_STORE_MAX_SAN_LEN, "IP:%u.%u.%u.%u", p[0], p[1],
					 p[2], p[3]);
			} else if (l == 16) {
				size_t pos = 0;
				append(out, CG_STORE_MAX_SAN_LEN, &pos, "IP:", 3);
				for (int j = 0; j < 16; j += 2) {
					char h[8];
					int hl = snprintf(h, sizeof(h), "%s%x", j ? ":" : "",
							  (unsigned)(p[j] << 8 | p[j + 1]));
					append(out, CG_STORE_MAX_SAN_LEN, &pos, h, (size_t)hl);
				}
			} else {
				continue;
			}
		} else {
			continue; /* other name forms are not shown */
		}
		if (++info->num_sans == CG_STORE_MAX_SANS) {
			info->sans_truncated = i + 1 < sk_GENERAL_NAME_num(gens);
			break;
		}
	}
	GENERAL_NAMES_free(gens);
}

void cg_store_cert_info_of(X509 *x, struct cg_store_cert_info *info)
{
	memset(info, 0, sizeof(*info));
	info->chain_len = 1;
	format_dn(X509_get_subject_name(x), info->subject, sizeof(info->subject));
	format_dn(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (X509_digest(x, EVP_sha1(), md, &mdlen) && mdlen == 20)
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(info->thumbprint + 2 * i, 3, "%02X", md[i]);
	format_time(X509_get0_notBefore(x), info->not_before);
	format_time(X509_get0_notAfter(x), info->not_after);
	info->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	info->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	add_sans(x, info);
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (pk) {
		int id = EVP_PKEY_get_base_id(pk);
		snprintf(info->key_type, sizeof(info->key_type), "%s",
			 id == EVP_PKEY_RSA  ? "RSA"
			 : id == EVP_PKEY_EC ? "EC"
			 : OBJ_nid2sn(id)    ? OBJ_nid2sn(id)
					     : "?");
		info->key_bits = EVP_PKEY_get_bits(pk);
	}
	ERR_clear_error();
}

bool cg_store_cert_names_host(X509 *leaf, const char *name)
{
	bool ok = false;
	if (strncmp(name, "*.", 2) != 0) {
		ok = X509_check_host(leaf, name, strlen(name), 0, NULL) == 1;
		ERR_clear_error();
		return ok;
	}
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int dns = 0;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !ok; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		dns++;
		const ASN1_IA5STRING *v = g->d.dNSName;
		size_t l = (size_t)ASN1_STRING_length(v);
		ok = l == strlen(name) &&
		     strncasecmp((const char *)ASN1_STRING_get0_data(v), name, l) == 0;
	}
	GENERAL_NAMES_free(gens);
	if (!ok && dns == 0) {
		/* No DNS SANs: clients fall back to the CN. */
		char cn[CG_STORE_MAX_HOSTNAME_LEN + 2];
		int l = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn,
						  sizeof(cn));
		ok = l > 0 && strcasecmp(cn, name) == 0;
	}
	ERR_clear_error();
	return ok;
}

int cg_store_cert_describe(const char *chain_pem, struct cg_store_cert_info *out, char *err,
			   size_t errlen)
{
	STACK_OF(X509) * chain;
	int rc = cg_store_chain_parse(chain_pem, &chain, err, errlen);
	if (rc)
		return rc;
	cg_store_cert_info_of(sk_X509_value(chain, 0), out);
	out->chain_len = (size_t)sk_X509_num(chain);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}

/* ---- uploaded certificates (certificates entity, CA certificates) ---- */

static bool has_bytes(const unsigned char *d, size_t n, const char *needle)
{
	size_t nl = strlen(needle);
	for (size_t i = 0; i + nl <= n; i++)
		if (memcmp(d + i, needle, nl) == 0)
			return true;
	return false;
}

static int parse_pem_upload(const unsigned char *data, size_t len, X509 **cert, EVP_PKEY **key,
			    char *err, size_t errlen)
{
	/* PEM is text: the key parser and the PEM reader want a C string. */
	char *pem = malloc(len + 1);
	if (!pem) {
		snprintf(err, errlen, "out of memory");
		return CG_STORE_FAIL_IO;
	}
	memcpy(pem, data, len);
	pem[len] = 0;
	int rc = 0;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		rc = CG_STORE_FAIL_IO;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ERR_clear_error();
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x) {
		const char *why = ssl_reason();
		if (has_bytes(data, len, "-----BEGIN CERTIFICATE-----"))
			snprintf(err, errlen, "the certificate in the PEM does not parse: %s", why);
		else
			snprintf(err, errlen, "no certificate found in the PEM (expected "
					      "'-----BEGIN CERTIFICATE-----')");
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	X509 *second = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ERR_clear_error();
	if (second) {
		X509_free(second);
		X509_free(x);
		snprintf(err, errlen,
			 "the PEM holds more than one certificate; give one certificate per id");
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	*cert = x;
	if (strstr(pem, "PRIVATE KEY-----") && (rc = cg_store_key_parse(pem, key, err, errlen)))
		goto out;
out:
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

/* A library context with the default and legacy providers, made once;
 * NULL when the legacy provider is not installed. */
static OSSL_LIB_CTX *g_legacy_ctx;
static pthread_once_t g_legacy_once = PTHREAD_ONCE_INIT;

static void legacy_init(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	if (ctx && OSSL_PROVIDER_load(ctx, "default") && OSSL_PROVIDER_load(ctx, "legacy")) {
		g_legacy_ctx = ctx;
	} else {
		OSSL_LIB_CTX_free(ctx); /* also unloads what was loaded into it */
	}
	ERR_clear_error();
}

static OSSL_LIB_CTX *legacy_ctx(void)
{
	pthread_once(&g_legacy_once, legacy_init);
	return g_legacy_ctx;
}

static int parse_p12_upload(PKCS12 *p12, const char *password, X509 **cert, EVP_PKEY **key,
			    char *err, size_t errlen)
{
	const char *pw = password ? password : "";
	ERR_clear_error();
	/* Check the MAC first: PKCS12_parse's failure does not say whether
	 * the password or the content was wrong. NULL and "" are both tried
	 * for an empty password, as tools differ in how they encode it. */
	if (PKCS12_mac_present(p12)) {
		bool ok = PKCS12_verify_mac(p12, pw, -1) == 1;
		if (!ok && !*pw)
			ok = PKCS12_verify_mac(p12, NULL, 0) == 1;
		if (!ok) {
			ERR_clear_error();
			snprintf(err, errlen,
				 *pw ? "wrong password for the PKCS#12 (PFX) file"
				     : "the PKCS#12 (PFX) file needs a password (give it with "
				       "--password-file)");
			return CG_STORE_FAIL_INVALID;
		}
	}
	STACK_OF(X509) *ca = NULL;
	bool ok = PKCS12_parse(p12, pw, key, cert, &ca) == 1;
	if (!ok && legacy_ctx()) {
		/* Windows and older tools encrypt with RC2-40 or 3DES, which
		 * OpenSSL 3 keeps in its legacy provider. Use it for this parse
		 * only, on this thread only: nothing else may pick up weak
		 * algorithms. */
		ERR_clear_error();
		OSSL_LIB_CTX *prev = OSSL_LIB_CTX_set0_default(g_legacy_ctx);
		ok = PKCS12_parse(p12, pw, key, cert, &ca) == 1;
		OSSL_LIB_CTX_set0_default(prev);
	}
	if (!ok) {
		snprintf(err, errlen, "the PKCS#12 (PFX) file cannot be opened: %s",
			 ssl_reason());
		return CG_STORE_FAIL_INVALID;
	}
	int n_ca = ca ? sk_X509_num(ca) : 0;
	sk_X509_pop_free(ca, X509_free);
	if (!*cert) {
		/* PKCS12_parse pairs the key with its certificate by key id: a
		 * lone key, or certificates that all went to ca, end here. */
		snprintf(err, errlen, "%s",
			 n_ca && *key ? "the private key in the PKCS#12 (PFX) file matches none of "
					"its certificates"
				      : "the PKCS#12 (PFX) file holds no certificate");
		EVP_PKEY_free(*key);
		*key = NULL;
		return CG_STORE_FAIL_INVALID;
	}
	return 0;
}

int cg_store_cert_parse_upload(const unsigned char *data, size_t len, const char *password,
			       X509 **cert, EVP_PKEY **key, char *err, size_t errlen)
{
	*cert = NULL;
	*key = NULL;
	int rc = 0;
	if (len == 0) {
		snprintf(err, errlen, "the certificate file is empty");
		return CG_STORE_FAIL_INVALID;
	}
	if (len > CG_STORE_MAX_CERT_FILE_BYTES) {
		snprintf(err, errlen, "the certificate file is %zu bytes; at most %d are accepted",
			 len, CG_STORE_MAX_CERT_FILE_BYTES);
		return CG_STORE_FAIL_INVALID;
	}
	if (password && strlen(password) > CG_STORE_MAX_PASSWORD_LEN) {
		snprintf(err, errlen, "the password is longer than %d bytes",
			 CG_STORE_MAX_PASSWORD_LEN);
		return CG_STORE_FAIL_INVALID;
	}
	ERR_clear_error();
	if (has_bytes(data, len, "-----BEGIN ")) {
		rc = parse_pem_upload(data, len, cert, key, err, errlen);
	} else {
		/* DER first: a certificate is one SEQUENCE that must use every
		 * byte; anything else is tried as PKCS#12. */
		const unsigned char *p = data;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		if (x && p == data + len) {
			*cert = x;
		} else {
			X509_free(x);
			p = data;
			PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
			ERR_clear_error();
			if (!p12) {
				snprintf(err, errlen,
					 "the file is not a certificate: expected PEM, DER (.cer) "
					 "or PKCS#12 (.pfx)");
				return CG_STORE_FAIL_INVALID;
			}
			rc = parse_p12_upload(p12, password, cert, key, err, errlen);
			PKCS12_free(p12);
		}
	}
	if (rc == 0 && *key) {
		int id = EVP_PKEY_get_base_id(*key);
		if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
			const char *name = OBJ_nid2sn(id);
			snprintf(err, errlen,
				 "private key type %s is not supported (use RSA or EC)",
				 name ? name : "unknown");
			rc = CG_STORE_FAIL_INVALID;
		} else if (X509_check_private_key(*cert, *key) != 1) {
			struct cg_store_cert_info info;
			cg_store_cert_info_of(*cert, &info);
			snprintf(err, errlen,
				 "the private key does not match the certificate (subject "
				 "'%.200s', thumbprint %s)",
				 info.subject, info.thumbprint);
			rc = CG_STORE_FAIL_INVALID;
		}
	}
	if (rc == 0) {
		/* The gateway builds the .NET view of every uploaded certificate;
		 * what it would refuse is refused here. */
		unsigned char *der = NULL;
		int dl = i2d_X509(*cert, &der);
		struct cg_arena a;
		struct cg_x509 *view;
		char verr[256];
		cg_arena_init(&a, 16 * 1024, 0);
		if (dl <= 0) {
			snprintf(err, errlen, "the certificate cannot be encoded");
			rc = CG_STORE_FAIL_INVALID;
		} else if (cg_x509_view_from_der(der, (size_t)dl, &a, &view, verr, sizeof(verr)) !=
			   0) {
			snprintf(err, errlen, "the certificate is not usable: %s", verr);
			rc = CG_STORE_FAIL_INVALID;
		}
		cg_arena_destroy(&a);
		OPENSSL_free(der);
	}
	ERR_clear_error();
	if (rc) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return rc;
}

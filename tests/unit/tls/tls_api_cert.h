/* Shared by the tls unit tests that make certificates with the OpenSSL
 * API (what the CLI cannot make cheaply: hundreds for limits, long chains,
 * odd dates). The including file includes cmocka and the OpenSSL x509v3
 * headers, and sets g_key (one P-256 key) in its group setup. */
#ifndef CG_TEST_TLS_API_CERT_H
#define CG_TEST_TLS_API_CERT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

static EVP_PKEY *g_key; /* one P-256 key for every API-made certificate */

/* A certificate for cn, valid from nb to na (Unix seconds), with serial;
 * issuer NULL: self-issued; issuer_key NULL: signed with g_key. */
static X509 *api_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, int64_t nb, int64_t na,
		      long serial)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
	X509_set_pubkey(x, g_key);
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
						 ca ? "critical,CA:TRUE" : "CA:FALSE");
	assert_non_null(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, issuer_key ? issuer_key : g_key, EVP_sha256()) > 0);
	return x;
}

#endif

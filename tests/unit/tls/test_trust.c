/* Tests for the CA trust store, chain verification and the result cache
 * (src/tls/trust.c).
 *
 * A PKI is made per run with the openssl CLI in a mkdtemp directory: a
 * root, an intermediate, leaves (valid, expired, not yet valid, revoked,
 * from an unknown CA, self-signed, serverAuth-only), CRLs made with
 * `openssl ca -gencrl`. Certificates the CLI cannot make cheaply (hundreds
 * for limits, long chains, wrong signatures) are made with the OpenSSL
 * API. Times passed to the verifier are fixed relative to the leaves'
 * dates, so nothing depends on the wall clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/arena.h"
#include "tls/trust.h"
#include "tls/x509.h"

static char g_dir[64];
static struct cg_arena g_arena;

/* ---- PKI made with the openssl CLI ---------------------------------- */

#include "tls/tls_cli.h"

#include "tls/tls_pki.h"

static void make_pki(void)
{
	make_cas_and_leaves("");
	/* serverAuth-only EKU, signed by the intermediate. */
	ca_signed("server", "/CN=server only", "int", "77", "v3_server");
	/* An unknown CA and its leaf; a self-signed leaf. */
	self_signed("other", "/CN=Other Root CA", "v3_root");
	ca_signed("stranger", "/CN=stranger", "other", "5", "v3_noca");
	self_signed("selfsigned", "/CN=self signed client", "v3_noca");
	/* A CA with the intermediate's name but another key (forged CRLs). */
	self_signed("fakeint", "/CN=Test Intermediate CA/O=certgate tests", "v3_root");
	/* CRLs: the intermediate's lists "revoked"; the root's is empty. */
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-revoke", path("revoked.pem"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-out", path("int.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-name", "rootca", "-gencrl", "-out", path("root.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-keyfile", path("fakeint.key"), "-cert",
	    path("fakeint.pem"), "-out", path("forged.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-name", "rootca", "-gencrl", "-keyfile", path("other.key"),
	    "-cert", path("other.pem"), "-out", path("other.crl"));
}

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 16);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* ---- certificates made with the API --------------------------------- */

#include "tls/tls_api_cert.h"

static X509_CRL *api_crl(X509 *issuer, int64_t last, int64_t next)
{
	X509_CRL *c = X509_CRL_new();
	assert_non_null(c);
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)last);
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, (time_t)next);
	X509_CRL_set1_nextUpdate(c, t);
	ASN1_TIME_free(t);
	assert_true(X509_CRL_sign(c, g_key, EVP_sha256()) > 0);
	return c;
}

/* ---- fixtures ---------------------------------------------------------- */

static int64_t T_NOW; /* the wall clock at setup: the CLI-made CRLs start then */
#define T_2034 2019686400 /* 2034-01-01T00:00:00Z: the valid leaves' notAfter */

static X509 *c_root, *c_int, *c_valid, *c_revoked, *c_expired, *c_future, *c_server, *c_other, *c_stranger,
	*c_selfsigned, *c_fakeint;
static X509_CRL *crl_int, *crl_root, *crl_forged, *crl_other;
static int64_t g_crl_next; /* nextUpdate of the CLI-made CRLs */

static int group_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-trust-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	make_pki();
	/* After the CRLs' lastUpdate (made just now). */
	T_NOW = (int64_t)time(NULL) + 5;
	c_root = load_cert("root");
	c_int = load_cert("int");
	c_valid = load_cert("valid");
	c_revoked = load_cert("revoked");
	c_expired = load_cert("expired");
	c_future = load_cert("future");
	c_server = load_cert("server");
	c_other = load_cert("other");
	c_stranger = load_cert("stranger");
	c_selfsigned = load_cert("selfsigned");
	c_fakeint = load_cert("fakeint");
	crl_int = load_crl("int");
	crl_root = load_crl("root");
	crl_forged = load_crl("forged");
	crl_other = load_crl("other");
	struct tm tm;
	assert_true(ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl_int), &tm));
	g_crl_next = (int64_t)timegm(&tm);
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1);
	EVP_PKEY_keygen(kc, &g_key);
	EVP_PKEY_CTX_free(kc);
	assert_non_null(g_key);
	return 0;
}

static int group_teardown(void **state)
{
	X509 **all[] = { &c_root, &c_int, &c_valid, &c_revoked, &c_expired, &c_future, &c_server, &c_other,
			 &c_stranger, &c_selfsigned, &c_fakeint };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		X509_free(*all[i]);
		*all[i] = NULL;
	}
	X509_CRL_free(crl_int);
	X509_CRL_free(crl_root);
	X509_CRL_free(crl_forged);
	X509_CRL_free(crl_other);
	EVP_PKEY_free(g_key);
	return remove_dir();
}

/* A store with the root (anchor), optionally the intermediate and CRLs. */
static struct cg_trust *store(uint64_t gen, bool with_int, bool with_int_crl, bool with_root_crl)
{
	char err[256] = "";
	struct cg_trust *t = cg_trust_new(&g_arena, gen);
	assert_non_null(t);
	if (cg_trust_add_ca(t, c_root, true, err, sizeof(err)) != 0)
		fail_msg("add root: %s", err);
	if (with_int && cg_trust_add_ca(t, c_int, false, err, sizeof(err)) != 0)
		fail_msg("add int: %s", err);
	if (with_int_crl && cg_trust_add_crl(t, crl_int, err, sizeof(err)) != 0)
		fail_msg("add int crl: %s", err);
	if (with_root_crl && cg_trust_add_crl(t, crl_root, err, sizeof(err)) != 0)
		fail_msg("add root crl: %s", err);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	return t;
}

static STACK_OF(X509) *chain_of(X509 *a)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	assert_non_null(s);
	if (a)
		sk_X509_push(s, a);
	return s;
}

static void thumb_of(X509 *x, char out[41])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	cg_x509_thumbprint_der(der, (size_t)n, out);
	OPENSSL_free(der);
}

#define ALL (CG_TRUST_CHECK_TIME | CG_TRUST_CHECK_REVOCATION)

static void expect(const struct cg_trust *t, X509 *leaf, STACK_OF(X509) *chain, int64_t now, unsigned flags,
		   enum cg_trust_reason want, int want_depth, const char *want_text)
{
	struct cg_trust_result r;
	bool ok = cg_trust_verify(t, leaf, chain, now, flags, &r);
	if (r.reason != want)
		fail_msg("reason: got %s (%d %s, depth %d), want %s", cg_trust_reason_name(r.reason),
			 r.verify_error, r.error_text, r.depth, cg_trust_reason_name(want));
	assert_int_equal(ok, want == CG_TRUST_OK);
	assert_int_equal(r.depth, want_depth);
	assert_string_equal(r.error_text, want_text);
	assert_false(r.from_cache);
}

/* ---- chains ------------------------------------------------------------ */

static void test_valid_chain_from_client(void **state)
{
	/* Only the root uploaded (so no CRL of the intermediate can be). */
	struct cg_trust *t = store(1, false, false, false);
	STACK_OF(X509) *ch = chain_of(c_int);
	expect(t, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	struct cg_trust_result r;
	assert_true(cg_trust_verify(t, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, &r));
	assert_int_equal(r.chain_len, 3);
	assert_int_equal(r.verify_error, X509_V_OK);
	assert_false(r.revocation_skipped);
	char want[41];
	thumb_of(c_int, want);
	assert_string_equal(r.issuer_thumbprint, want);
	sk_X509_free(ch);
}

static void test_valid_chain_from_uploaded_intermediate(void **state)
{
	struct cg_trust *t = store(1, true, false, false);
	expect(t, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	/* An empty stack is no chain. */
	STACK_OF(X509) *ch = chain_of(NULL);
	expect(t, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	sk_X509_free(ch);
	assert_int_equal(cg_trust_num_cas(t), 2);
	assert_int_equal(cg_trust_generation(t), 1);
}

static void test_untrusted(void **state)
{
	/* No intermediate anywhere: no path to the root. */
	struct cg_trust *t = store(1, false, false, false);
	expect(t, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 0,
	       "unable to get local issuer certificate");
	/* Another CA's leaf, with its root sent by the client: a root the
	 * client sends is never an anchor. */
	STACK_OF(X509) *ch = chain_of(c_other);
	expect(t, c_stranger, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 1,
	       "self-signed certificate in certificate chain");
	expect(t, c_stranger, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 0,
	       "unable to get local issuer certificate");
	/* A self-signed leaf. */
	expect(t, c_selfsigned, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 0,
	       "self-signed certificate");
	/* The intermediate alone is not an anchor (partial chains are off):
	 * refused as a root, useless as an intermediate. */
	struct cg_trust *t2 = cg_trust_new(&g_arena, 2);
	char err[256];
	assert_int_equal(cg_trust_add_ca(t2, c_int, true, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate 'O=certgate tests, CN=Test Intermediate CA' is not self-signed: "
				 "add it as an intermediate, not a root");
	struct cg_trust *t3 = cg_trust_new(&g_arena, 3);
	assert_int_equal(cg_trust_add_ca(t3, c_int, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t3, err, sizeof(err)), 0);
	expect(t3, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 1,
	       "unable to get local issuer certificate");
	/* No store at all. */
	expect(NULL, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 0,
	       "no CA certificates are configured");
	sk_X509_free(ch);
}

static void test_time(void **state)
{
	struct cg_trust *t = store(1, true, false, false);
	expect(t, c_expired, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, 0, "certificate has expired");
	expect(t, c_future, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_NOT_YET_VALID, 0,
	       "certificate is not yet valid");
	/* Without CHECK_TIME dates do not matter. */
	expect(t, c_expired, NULL, T_NOW, 0, CG_TRUST_OK, -1, "ok");
	expect(t, c_future, NULL, T_NOW, 0, CG_TRUST_OK, -1, "ok");
	/* One second before notAfter is valid; notAfter itself is not
	 * (OpenSSL's rule). */
	expect(t, c_valid, NULL, T_2034 - 1, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	expect(t, c_valid, NULL, T_2034, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, 0, "certificate has expired");
	/* An expired intermediate (API-made) fails at depth 1. */
	struct cg_trust *t2 = cg_trust_new(&g_arena, 2);
	char err[256];
	X509 *root = api_cert("api root", NULL, NULL, true, T_NOW - 86400, T_NOW + 86400 * 400, 1);
	X509 *mid = api_cert("api old int", root, g_key, true, T_NOW - 86400, T_NOW + 86400, 2);
	X509 *leaf = api_cert("api leaf", mid, g_key, false, T_NOW - 86400, T_NOW + 86400 * 300, 3);
	assert_int_equal(cg_trust_add_ca(t2, root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t2, mid, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t2, err, sizeof(err)), 0);
	expect(t2, leaf, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	expect(t2, leaf, NULL, T_NOW + 2 * 86400, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, 1,
	       "certificate has expired");
	X509_free(root);
	X509_free(mid);
	X509_free(leaf);
}

static void test_purpose_any(void **state)
{
	/* serverAuth-only EKU: APIM does not require clientAuth. */
	struct cg_trust *t = store(1, true, false, false);
	expect(t, c_server, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
}

static void test_bad_signature_and_non_ca_issuer(void **state)
{
	char err[256];
	X509 *root = api_cert("sig root", NULL, NULL, true, T_NOW - 86400, T_NOW + 86400 * 400, 1);
	EVP_PKEY *other = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1);
	EVP_PKEY_keygen(kc, &other);
	EVP_PKEY_CTX_free(kc);
	/* Names the root as issuer but is signed by another key. */
	X509 *forged = api_cert("forged leaf", root, other, false, T_NOW - 86400, T_NOW + 86400, 2);
	/* Signed by a leaf (CA:FALSE) the client sends as intermediate. */
	X509 *notca = api_cert("not a ca", root, g_key, false, T_NOW - 86400, T_NOW + 86400, 3);
	X509 *under = api_cert("under a leaf", notca, g_key, false, T_NOW - 86400, T_NOW + 86400, 4);
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	assert_int_equal(cg_trust_add_ca(t, root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	expect(t, forged, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_BAD_SIGNATURE, 0,
	       "certificate signature failure");
	STACK_OF(X509) *ch = chain_of(notca);
	expect(t, under, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, 1, "invalid CA certificate");
	sk_X509_free(ch);
	X509_free(root);
	X509_free(forged);
	X509_free(notca);
	X509_free(under);
	EVP_PKEY_free(other);
}

/* ---- revocation -------------------------------------------------------- */

static void test_revoked(void **state)
{
	struct cg_trust *t = store(1, true, true, true);
	assert_int_equal(cg_trust_num_crls(t), 2);
	expect(t, c_revoked, NULL, T_NOW, ALL, CG_TRUST_REVOKED, 0, "certificate revoked");
	expect(t, c_valid, NULL, T_NOW, ALL, CG_TRUST_OK, -1, "ok");
	/* Without revocation checking the revoked leaf passes (VerifyNoRevocation). */
	expect(t, c_revoked, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	assert_false(cg_trust_dotnet_verify(t, NULL, c_revoked, NULL, T_NOW, true));
	assert_true(cg_trust_dotnet_verify(t, NULL, c_revoked, NULL, T_NOW, false));
	assert_true(cg_trust_dotnet_verify(t, NULL, c_valid, NULL, T_NOW, true));
	assert_false(cg_trust_dotnet_verify(t, NULL, c_expired, NULL, T_NOW, false));
	assert_false(cg_trust_dotnet_verify(t, NULL, NULL, NULL, T_NOW, false));
	assert_false(cg_trust_dotnet_verify(NULL, NULL, c_valid, NULL, T_NOW, false));
	assert_int_equal(cg_trust_crl_next_update(t), g_crl_next);
}

static void test_revocation_unknown(void **state)
{
	/* The intermediate's CRL is missing: fail closed... */
	struct cg_trust *t = store(1, true, false, true);
	expect(t, c_valid, NULL, T_NOW, ALL, CG_TRUST_REVOCATION_UNKNOWN, 0, "unable to get certificate CRL");
	expect(t, c_revoked, NULL, T_NOW, ALL, CG_TRUST_REVOCATION_UNKNOWN, 0,
	       "unable to get certificate CRL");
	/* ...unless fail-open, which says it skipped. */
	struct cg_trust_result r;
	assert_true(cg_trust_verify(t, c_valid, NULL, T_NOW, ALL | CG_TRUST_REVOCATION_FAIL_OPEN, &r));
	assert_true(r.revocation_skipped);
	/* The root's CRL is missing: the intermediate is unknown (depth 1). */
	struct cg_trust *t2 = store(2, true, true, false);
	expect(t2, c_valid, NULL, T_NOW, ALL, CG_TRUST_REVOCATION_UNKNOWN, 1, "unable to get certificate CRL");
	/* A root needs no CRL: a store of the root alone, leaf = root... the
	 * root CA as its own client certificate passes with no CRL at all. */
	struct cg_trust *t3 = store(3, false, false, false);
	expect(t3, c_root, NULL, T_NOW, ALL, CG_TRUST_OK, -1, "ok");
	/* A stale CRL is no CRL: from nextUpdate on. */
	struct cg_trust *t4 = store(4, true, true, true);
	expect(t4, c_valid, NULL, g_crl_next - 1, ALL, CG_TRUST_OK, -1, "ok");
	expect(t4, c_valid, NULL, g_crl_next, ALL, CG_TRUST_REVOCATION_UNKNOWN, 0, "CRL has expired");
	/* Revocation status of an untrusted leaf: untrusted comes first. */
	expect(t4, c_stranger, NULL, T_NOW, ALL, CG_TRUST_UNTRUSTED, 0, "unable to get local issuer certificate");
}

/* ---- building the store: refusals -------------------------------------- */

static void add_ca_err(struct cg_trust *t, X509 *x, bool root, const char *want)
{
	char err[256] = "";
	assert_int_equal(cg_trust_add_ca(t, x, root, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void add_crl_err(struct cg_trust *t, X509_CRL *c, const char *want)
{
	char err[256] = "";
	assert_int_equal(cg_trust_add_crl(t, c, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_add_ca_refusals(void **state)
{
	char err[256];
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	add_ca_err(t, c_valid, true, "certificate 'CN=valid client, O=\"Contoso, Inc.\", C=US' is not a CA "
				    "(basicConstraints CA:FALSE)");
	add_ca_err(t, c_selfsigned, false, "certificate 'CN=self signed client' is not a CA (basicConstraints CA:FALSE)");
	/* No basicConstraints at all (an API-made v3 certificate without it). */
	X509 *bare = X509_new();
	X509_set_version(bare, 2);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"bare", -1, -1, 0);
	X509_set_subject_name(bare, n);
	X509_set_issuer_name(bare, n);
	X509_NAME_free(n);
	ASN1_TIME_set(X509_getm_notBefore(bare), T_NOW);
	ASN1_TIME_set(X509_getm_notAfter(bare), T_2034);
	X509_set_pubkey(bare, g_key);
	X509_sign(bare, g_key, EVP_sha256());
	add_ca_err(t, bare, true, "certificate 'CN=bare' is not a CA (no basicConstraints extension)");
	X509_free(bare);
	add_ca_err(t, NULL, true, "no certificate");
	/* Duplicates are accepted once. */
	assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_num_cas(t), 1);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	add_ca_err(t, c_root, true, "trust store is finished; no certificate can be added");
	add_crl_err(t, crl_root, "trust store is finished; no CRL can be added");
	/* Bytes. */
	struct cg_trust *t2 = cg_trust_new(&g_arena, 2);
	assert_int_equal(cg_trust_add_ca_data(t2, CG_STR(""), true, err, sizeof(err)), -1);
	assert_string_equal(err, "empty certificate");
	assert_int_equal(cg_trust_add_ca_data(t2, CG_STR("garbage"), true, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid certificate (neither PEM nor DER)");
	assert_int_equal(cg_trust_add_ca_data(t2, CG_STR("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
					      true, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid certificate (neither PEM nor DER)");
	size_t len;
	char *pem = slurp(path("root.pem"), &len);
	assert_int_equal(cg_trust_add_ca_data(t2, cg_str_make(pem, len), true, err, sizeof(err)), 0);
	free(pem);
	pem = slurp(path("valid.pem"), &len);
	assert_int_equal(cg_trust_add_ca_data(t2, cg_str_make(pem, len), true, err, sizeof(err)), -1);
	assert_string_equal(err, "certificate 'CN=valid client, O=\"Contoso, Inc.\", C=US' is not a CA "
				 "(basicConstraints CA:FALSE)");
	free(pem);
	/* DER, with a trailing byte refused. */
	unsigned char *der = NULL;
	int dn = i2d_X509(c_int, &der);
	assert_int_equal(cg_trust_add_ca_data(t2, cg_str_make((char *)der, (size_t)dn), false, err, sizeof(err)), 0);
	unsigned char *der2 = malloc((size_t)dn + 1);
	memcpy(der2, der, (size_t)dn);
	der2[dn] = 0;
	assert_int_equal(cg_trust_add_ca_data(t2, cg_str_make((char *)der2, (size_t)dn + 1), false, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid certificate (neither PEM nor DER)");
	free(der2);
	OPENSSL_free(der);
	assert_int_equal(cg_trust_num_cas(t2), 2);
}

static void test_add_crl_refusals(void **state)
{
	char err[256];
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	/* Before its issuer is in the store. */
	add_crl_err(t, crl_int, "CRL issuer 'O=certgate tests, CN=Test Intermediate CA' is not a CA certificate of this store");
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	/* Same issuer name, another key. */
	add_crl_err(t, crl_forged, "CRL signature does not verify with the key of 'O=certgate tests, CN=Test Intermediate CA'");
	/* An unknown CA's CRL. */
	add_crl_err(t, crl_other, "CRL issuer 'CN=Other Root CA' is not a CA certificate of this store");
	add_crl_err(t, NULL, "no CRL");
	assert_int_equal(cg_trust_add_crl(t, crl_int, err, sizeof(err)), 0);
	/* Bytes. */
	assert_int_equal(cg_trust_add_crl_data(t, CG_STR(""), err, sizeof(err)), -1);
	assert_string_equal(err, "empty CRL");
	assert_int_equal(cg_trust_add_crl_data(t, CG_STR("\x30\x03\x02\x01\x01"), err, sizeof(err)), -1);
	assert_string_equal(err, "invalid CRL (neither PEM nor DER)");
	assert_int_equal(cg_trust_add_crl_data(t, CG_STR("-----BEGIN X509 CRL-----\nnot base64!\n-----END X509 CRL-----\n"),
					       err, sizeof(err)), -1);
	assert_string_equal(err, "invalid CRL (neither PEM nor DER)");
	size_t len;
	char *pem = slurp(path("root.crl"), &len);
	assert_int_equal(cg_trust_add_crl_data(t, cg_str_make(pem, len), err, sizeof(err)), 0);
	free(pem);
	assert_int_equal(cg_trust_num_crls(t), 2);
}

static void test_limits(void **state)
{
	char err[256];
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	X509 *first = NULL;
	for (int i = 0; i <= CG_TRUST_MAX_CAS; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "limit ca %d", i);
		X509 *x = api_cert(cn, NULL, NULL, true, T_NOW, T_2034, i + 1);
		int rc = cg_trust_add_ca(t, x, i % 2 == 0, err, sizeof(err));
		if (i < CG_TRUST_MAX_CAS) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, "more than 256 CA certificates");
		}
		if (i == 0)
			first = x;
		else
			X509_free(x);
	}
	assert_int_equal(cg_trust_num_cas(t), CG_TRUST_MAX_CAS);
	/* CRLs: the first CA signs them all (same issuer, distinct lastUpdate). */
	for (int i = 0; i <= CG_TRUST_MAX_CRLS; i++) {
		X509_CRL *c = api_crl(first, T_NOW + i, T_2034);
		int rc = cg_trust_add_crl(t, c, err, sizeof(err));
		if (i < CG_TRUST_MAX_CRLS) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(err, "more than 256 CRLs");
		}
		X509_CRL_free(c);
	}
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	X509_free(first);

	/* The client's chain: 16 certificates are used, 17 refused. */
	struct cg_trust *t2 = store(2, true, false, false);
	STACK_OF(X509) *ch = chain_of(NULL);
	for (int i = 0; i < CG_TRUST_MAX_CLIENT_CHAIN; i++)
		sk_X509_push(ch, c_int);
	expect(t2, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	sk_X509_push(ch, c_int);
	expect(t2, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OTHER, -1,
	       "client sent more than 16 chain certificates");
	sk_X509_free(ch);

	/* Depth: 10 intermediates pass, 11 do not. */
	X509 *root = api_cert("depth root", NULL, NULL, true, T_NOW - 86400, T_2034, 1);
	X509 *certs[CG_TRUST_MAX_DEPTH + 2];
	X509 *up = root;
	for (int i = 0; i < CG_TRUST_MAX_DEPTH + 2; i++) {
		char cn[32];
		snprintf(cn, sizeof(cn), "depth %d", i);
		/* the last one is the leaf */
		certs[i] = api_cert(cn, up, g_key, i < CG_TRUST_MAX_DEPTH + 1, T_NOW - 86400, T_2034, 10 + i);
		up = certs[i];
	}
	struct cg_trust *t3 = cg_trust_new(&g_arena, 3);
	assert_int_equal(cg_trust_add_ca(t3, root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t3, err, sizeof(err)), 0);
	STACK_OF(X509) *deep = chain_of(NULL);
	for (int i = 0; i < CG_TRUST_MAX_DEPTH; i++)
		sk_X509_push(deep, certs[i]);
	/* leaf under certs[9]: 10 intermediates */
	X509 *leaf10 = api_cert("leaf at 10", certs[CG_TRUST_MAX_DEPTH - 1], g_key, false, T_NOW - 86400, T_2034, 99);
	expect(t3, leaf10, deep, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, -1, "ok");
	sk_X509_push(deep, certs[CG_TRUST_MAX_DEPTH]);
	expect(t3, certs[CG_TRUST_MAX_DEPTH + 1], deep, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED,
	       CG_TRUST_MAX_DEPTH + 1, "certificate chain too long");
	sk_X509_free(deep);
	X509_free(leaf10);
	for (int i = 0; i < CG_TRUST_MAX_DEPTH + 2; i++)
		X509_free(certs[i]);
	X509_free(root);
}

static void test_unfinished_store(void **state)
{
	char err[256];
	struct cg_trust *t = cg_trust_new(&g_arena, 1);
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	expect(t, c_root, NULL, T_NOW, 0, CG_TRUST_OTHER, -1, "trust store is not finished");
	struct cg_trust_result r;
	cg_trust_verify(t, c_root, NULL, T_NOW, 0, &r);
	assert_true(r.internal_error);
	/* Never cached. */
	struct cg_trust_cache *c = cg_trust_cache_new(4);
	cg_trust_cache_verify(t, c, c_root, NULL, T_NOW, 0, &r);
	cg_trust_cache_verify(t, c, c_root, NULL, T_NOW, 0, &r);
	assert_false(r.from_cache);
	struct cg_trust_cache_stats st;
	cg_trust_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	cg_trust_cache_free(c);
	expect(t, NULL, NULL, T_NOW, 0, CG_TRUST_OTHER, -1, "no certificate");
}

/* ---- the cache ----------------------------------------------------------- */

static void cached(const struct cg_trust *t, struct cg_trust_cache *c, X509 *leaf, STACK_OF(X509) *ch, int64_t now,
		   unsigned flags, enum cg_trust_reason want, bool want_hit)
{
	struct cg_trust_result r;
	uint64_t before = cg_trust_verify_calls(t);
	bool ok = cg_trust_cache_verify(t, c, leaf, ch, now, flags, &r);
	if (r.reason != want)
		fail_msg("reason %s, want %s", cg_trust_reason_name(r.reason), cg_trust_reason_name(want));
	assert_int_equal(ok, want == CG_TRUST_OK);
	assert_int_equal(r.from_cache, want_hit);
	/* A hit never calls OpenSSL; a miss calls it exactly once. */
	assert_int_equal(cg_trust_verify_calls(t) - before, want_hit ? 0 : 1);
}

static void test_cache_hit_and_keys(void **state)
{
	struct cg_trust *t = store(7, true, true, true);
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	assert_non_null(c);
	cached(t, c, c_valid, NULL, T_NOW, ALL, CG_TRUST_OK, false);
	cached(t, c, c_valid, NULL, T_NOW + 5, ALL, CG_TRUST_OK, true);
	/* The same result, issuer thumbprint included. */
	struct cg_trust_result a, b;
	cg_trust_verify(t, c_valid, NULL, T_NOW, ALL, &a);
	cg_trust_cache_verify(t, c, c_valid, NULL, T_NOW, ALL, &b);
	assert_true(b.from_cache);
	assert_string_equal(a.issuer_thumbprint, b.issuer_thumbprint);
	assert_int_equal(a.chain_len, b.chain_len);
	assert_int_equal(a.valid_from, b.valid_from);
	assert_int_equal(a.valid_until, b.valid_until);
	/* Negative results are cached too. */
	cached(t, c, c_revoked, NULL, T_NOW, ALL, CG_TRUST_REVOKED, false);
	cached(t, c, c_revoked, NULL, T_NOW, ALL, CG_TRUST_REVOKED, true);
	/* Other flags, another key. */
	cached(t, c, c_revoked, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	cached(t, c, c_revoked, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, true);
	/* Another client chain, another key. */
	STACK_OF(X509) *ch = chain_of(c_int);
	cached(t, c, c_valid, ch, T_NOW, ALL, CG_TRUST_OK, false);
	cached(t, c, c_valid, ch, T_NOW, ALL, CG_TRUST_OK, true);
	sk_X509_free(ch);
	/* A new generation (snapshot) never sees the old results. */
	struct cg_trust *t2 = store(8, false, false, false);
	cached(t2, c, c_valid, NULL, T_NOW, ALL, CG_TRUST_UNTRUSTED, false);
	cached(t2, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, false);
	cached(t2, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, true);
	/* dotnet verify goes through the cache. */
	uint64_t n = cg_trust_verify_calls(t);
	assert_true(cg_trust_dotnet_verify(t, c, c_valid, NULL, T_NOW, true));
	assert_int_equal(cg_trust_verify_calls(t), n);
	struct cg_trust_cache_stats st;
	cg_trust_cache_stats(c, &st);
	assert_int_equal(st.capacity, CG_TRUST_CACHE_ENTRIES);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.hits, 7);
	assert_int_equal(st.misses, 6);
	assert_int_equal(st.evictions, 0);
	/* No cache: always OpenSSL. */
	cached(t, NULL, c_valid, NULL, T_NOW, ALL, CG_TRUST_OK, false);
	cg_trust_cache_free(c);
	cg_trust_cache_free(NULL);
}

static void test_cache_expiry(void **state)
{
	/* Without CRLs: results change only at certificate dates. */
	struct cg_trust *t = store(1, true, false, false);
	struct cg_trust_cache *c = cg_trust_cache_new(16);
	/* Expires at the leaf's notAfter... */
	cached(t, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	cached(t, c, c_valid, NULL, T_2034 - 1, CG_TRUST_CHECK_TIME, CG_TRUST_OK, true);
	cached(t, c, c_valid, NULL, T_2034, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, false);
	cached(t, c, c_valid, NULL, T_2034 + 100, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, true);
	/* ...and going back in time never reuses the expired verdict. */
	cached(t, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	/* A not-yet-valid result lasts until the next date (at the latest
	 * its notBefore, 2040-01-01), not past it. */
	struct cg_trust_result r;
	cached(t, c, c_future, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_NOT_YET_VALID, false);
	cg_trust_cache_verify(t, c, c_future, NULL, T_NOW, CG_TRUST_CHECK_TIME, &r);
	assert_true(r.valid_until > T_NOW && r.valid_until <= 2208988800);
	cached(t, c, c_future, NULL, r.valid_until - 1, CG_TRUST_CHECK_TIME, CG_TRUST_NOT_YET_VALID, true);
	cg_trust_cache_verify(t, c, c_future, NULL, r.valid_until, CG_TRUST_CHECK_TIME, &r);
	assert_false(r.from_cache);
	/* With CRLs, revocation results expire at the CRL's nextUpdate. */
	struct cg_trust *t2 = store(2, true, true, true);
	cg_trust_cache_verify(t2, c, c_valid, NULL, T_NOW, ALL, &r);
	assert_int_equal(r.reason, CG_TRUST_OK);
	assert_int_equal(r.valid_until, g_crl_next);
	cached(t2, c, c_valid, NULL, g_crl_next - 1, ALL, CG_TRUST_OK, true);
	cached(t2, c, c_valid, NULL, g_crl_next, ALL, CG_TRUST_REVOCATION_UNKNOWN, false);
	cg_trust_cache_free(c);
}

static void test_cache_lru_and_limit(void **state)
{
	assert_null(cg_trust_cache_new(CG_TRUST_CACHE_MAX_ENTRIES + 1));
	struct cg_trust *t = store(1, true, false, false);
	struct cg_trust_cache *c = cg_trust_cache_new(2);
	cached(t, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	cached(t, c, c_server, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	cached(t, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, true); /* valid is now newest */
	cached(t, c, c_expired, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_EXPIRED, false); /* evicts server */
	cached(t, c, c_valid, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, true);
	cached(t, c, c_server, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_OK, false);
	struct cg_trust_cache_stats st;
	cg_trust_cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 2);
	cg_trust_cache_free(c);

	/* The default size holds CG_TRUST_CACHE_ENTRIES, not one more. */
	c = cg_trust_cache_new(0);
	X509 *first = NULL;
	for (int i = 0; i <= CG_TRUST_CACHE_ENTRIES; i++) {
		X509 *x = api_cert("cache filler", NULL, NULL, false, T_NOW - 10, T_2034, 1000 + i);
		struct cg_trust_result r;
		cg_trust_cache_verify(t, c, x, NULL, T_NOW, CG_TRUST_CHECK_TIME, &r);
		assert_int_equal(r.reason, CG_TRUST_UNTRUSTED);
		if (i == 0)
			first = x;
		else
			X509_free(x);
	}
	cg_trust_cache_stats(c, &st);
	assert_int_equal(st.entries, CG_TRUST_CACHE_ENTRIES);
	assert_int_equal(st.evictions, 1);
	/* The oldest one went. */
	cached(t, c, first, NULL, T_NOW, CG_TRUST_CHECK_TIME, CG_TRUST_UNTRUSTED, false);
	X509_free(first);
	cg_trust_cache_free(c);
}

/* ---- threads and cost ---------------------------------------------------- */

struct worker {
	const struct cg_trust *t;
	int bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cg_trust_cache *c = cg_trust_cache_new(8);
	for (int i = 0; i < 200; i++) {
		struct cg_trust_result r;
		/* Every other call bypasses the cache to hit OpenSSL concurrently. */
		struct cg_trust_cache *use = i % 2 ? c : NULL;
		if (!cg_trust_cache_verify(w->t, use, c_valid, NULL, T_NOW, ALL, &r))
			w->bad++;
		if (cg_trust_cache_verify(w->t, use, c_revoked, NULL, T_NOW, ALL, &r) || r.reason != CG_TRUST_REVOKED)
			w->bad++;
	}
	cg_trust_cache_free(c);
	return NULL;
}

static void test_threads(void **state)
{
	struct cg_trust *t = store(1, true, true, true);
	pthread_t th[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ t, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	/* 4 threads x (200 uncached + 2 cache misses) per leaf pair. */
	assert_int_equal(cg_trust_verify_calls(t), 4 * (200 + 2));
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Not an assertion (timing is for benchmarks): prints the cost per call
 * so a run's log shows it. Sanitizer builds are several times slower. */
static void test_cost_report(void **state)
{
	struct cg_trust *t = store(1, true, true, true);
	struct cg_trust_cache *c = cg_trust_cache_new(0);
	STACK_OF(X509) *ch = chain_of(c_int);
	struct cg_trust_result r;
	const int n = 300;
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		cg_trust_verify(t, c_valid, ch, T_NOW, CG_TRUST_CHECK_TIME, &r);
	double t1 = now_us();
	for (int i = 0; i < n; i++)
		cg_trust_verify(t, c_valid, ch, T_NOW, ALL, &r);
	double t2 = now_us();
	for (int i = 0; i < n; i++)
		cg_trust_cache_verify(t, c, c_valid, ch, T_NOW, ALL, &r);
	double t3 = now_us();
	assert_true(r.from_cache);
	print_message("cost per call: verify %.1f us, verify+CRL %.1f us, cache hit %.2f us\n", (t1 - t0) / n,
		      (t2 - t1) / n, (t3 - t2) / n);
	sk_X509_free(ch);
	cg_trust_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_chain_from_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_chain_from_uploaded_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purpose_any, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature_and_non_ca_issuer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_ca_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_crl_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_hit_and_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_lru_and_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_report, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

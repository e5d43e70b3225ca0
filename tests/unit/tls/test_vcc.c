/* Tests for validate-client-certificate (src/tls/vcc.c): config from raw
 * attributes with every refusal's exact message, the order of checks and
 * their Reasons, and identity claims (AND within, OR across).
 *
 * The PKI is made per run with the openssl CLI (root, intermediate,
 * leaves: valid, expired, not yet valid, revoked, unknown CA,
 * self-signed, SAN variants, subjects with a quoted comma and non-ASCII
 * text; CRLs from `openssl ca -gencrl`); a few certificates the CLI cannot
 * make (wrong signatures) come from the OpenSSL API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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
#include "tls/vcc.h"
#include "tls/x509.h"

static char g_dir[64];
static struct cg_arena g_arena;

/* ---- PKI made with the openssl CLI ---------------------------------- */

#include "tls/tls_cli.h"

#include "tls/tls_pki.h"

static void make_pki(void)
{
	make_cas_and_leaves(
		"[v3_san]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:API.Contoso.com, DNS:*.wild.example, "
		"IP:192.0.2.1, email:someone@contoso.example\n");
	leaf_by_int("sans", "/C=CH/L=Z\xc3\xbcrich/O=M\xc3\xbcller AG/CN=Z\xc3\xbcrich client", "v3_san",
		    "20240101000000Z", "20340101000000Z");
	self_signed("other", "/CN=Other Root CA", "v3_root");
	ca_signed("stranger", "/CN=stranger", "other", "5", "v3_noca");
	self_signed("selfsigned", "/CN=self signed client", "v3_noca");
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-revoke", path("revoked.pem"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-gencrl", "-out", path("int.crl"));
	RUN("openssl", "ca", "-config", path("ca.cnf"), "-name", "rootca", "-gencrl", "-out", path("root.crl"));
}

/* ---- certificates made with the API --------------------------------- */

#include "tls/tls_api_cert.h"

/* ---- fixtures ---------------------------------------------------------- */

static int64_t T_NOW; /* after the CRLs' lastUpdate */
#define T_2034 2019686400 /* 2034-01-01T00:00:00Z: the valid leaves' notAfter */

static X509 *c_root, *c_int, *c_valid, *c_revoked, *c_expired, *c_future, *c_sans, *c_other, *c_stranger,
	*c_selfsigned;
static X509_CRL *crl_int, *crl_root;
static struct cg_arena g_snap; /* the "snapshot": configs and trust stores */
static struct cg_trust *g_trust, *g_trust_nocrl;

static struct cg_trust *make_store(uint64_t gen, bool crls)
{
	char err[256] = "";
	struct cg_trust *t = cg_trust_new(&g_snap, gen);
	assert_non_null(t);
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, c_int, false, err, sizeof(err)), 0);
	if (crls) {
		assert_int_equal(cg_trust_add_crl(t, crl_int, err, sizeof(err)), 0);
		assert_int_equal(cg_trust_add_crl(t, crl_root, err, sizeof(err)), 0);
	}
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	return t;
}

static int group_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cg-vcc-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	make_pki();
	T_NOW = (int64_t)time(NULL) + 5;
	c_root = load_cert("root");
	c_int = load_cert("int");
	c_valid = load_cert("valid");
	c_revoked = load_cert("revoked");
	c_expired = load_cert("expired");
	c_future = load_cert("future");
	c_sans = load_cert("sans");
	c_other = load_cert("other");
	c_stranger = load_cert("stranger");
	c_selfsigned = load_cert("selfsigned");
	crl_int = load_crl("int");
	crl_root = load_crl("root");
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1);
	EVP_PKEY_keygen(kc, &g_key);
	EVP_PKEY_CTX_free(kc);
	assert_non_null(g_key);
	cg_arena_init(&g_snap, 64 * 1024, 0);
	g_trust = make_store(1, true);
	g_trust_nocrl = make_store(2, false);
	return 0;
}

static int group_teardown(void **state)
{
	cg_arena_destroy(&g_snap);
	X509 **all[] = { &c_root, &c_int, &c_valid, &c_revoked, &c_expired, &c_future, &c_sans, &c_other,
			 &c_stranger, &c_selfsigned };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		X509_free(*all[i]);
		*all[i] = NULL;
	}
	X509_CRL_free(crl_int);
	X509_CRL_free(crl_root);
	EVP_PKEY_free(g_key);
	return remove_dir();
}

static struct cg_x509 *view(X509 *x)
{
	struct cg_x509 *v = NULL;
	char err[256] = "";
	if (cg_x509_view_new(x, &g_arena, &v, err, sizeof(err)) != 0)
		fail_msg("view: %s", err);
	return v;
}

static void thumb_of(X509 *x, char out[41])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	assert_true(n > 0);
	cg_x509_thumbprint_der(der, (size_t)n, out);
	OPENSSL_free(der);
}

/* Builds a config: attrs is "name=value" strings for the element, then
 * identities separated by NULL, ended by two NULLs. */
static struct cg_vcc_config *config(const char *const *top, const char *const *ids)
{
	struct cg_vcc_config *cfg = cg_arena_zalloc(&g_arena, sizeof(*cfg));
	char err[256] = "";
	cg_vcc_config_init(cfg);
	for (size_t i = 0; top && top[i]; i += 2)
		if (cg_vcc_config_set(cfg, cg_str_from_c(top[i]), cg_str_from_c(top[i + 1]), err, sizeof(err)) != 0)
			fail_msg("set %s: %s", top[i], err);
	while (ids && ids[0]) {
		struct cg_str names[16], values[16];
		size_t n = 0;
		for (; ids[0]; ids += 2, n++) {
			names[n] = cg_str_from_c(ids[0]);
			values[n] = cg_str_from_c(ids[1]);
		}
		if (cg_vcc_config_add_identity(cfg, &g_arena, names, values, n, err, sizeof(err)) != 0)
			fail_msg("identity: %s", err);
		ids++;
	}
	return cfg;
}

#define TOP(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define IDS(...) ((const char *const[]){ __VA_ARGS__, NULL, NULL })
#define NO_TRUST TOP("validate-trust", "false", "validate-revocation", "false")

static struct cg_vcc_result g_res;
#define check(...) check_at(__LINE__, __VA_ARGS__)

static void check_at(int line, const struct cg_vcc_config *cfg, X509 *leaf, STACK_OF(X509) *chain,
		     const struct cg_trust *t, int64_t now, enum cg_vcc_reason want, const char *want_msg)
{
	cg_vcc_check(cfg, leaf ? view(leaf) : NULL, chain, t, NULL, now, &g_res);
	if (g_res.reason != want)
		fail_msg("line %d: reason '%s' [%s], want %s", line, g_res.reason_name, g_res.message,
			 cg_vcc_reason_name(want));
	assert_int_equal(g_res.ok, want == CG_VCC_OK);
	assert_string_equal(g_res.reason_name, cg_vcc_reason_name(want));
	assert_int_equal(g_res.status, want == CG_VCC_OK ? 200 : want == CG_VCC_ERROR ? 503 : 401);
	if (want_msg)
		assert_string_equal(g_res.message, want_msg);
}

/* ---- config ----------------------------------------------------------- */

static void set_err(const char *name, const char *value, const char *want)
{
	struct cg_vcc_config cfg;
	char err[256] = "";
	cg_vcc_config_init(&cfg);
	assert_int_equal(cg_vcc_config_set(&cfg, cg_str_from_c("validate-trust"), CG_STR("false"), err, sizeof(err)), 0);
	assert_int_equal(cg_vcc_config_set(&cfg, cg_str_from_c(name), cg_str_from_c(value), err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_config_top_level(void **state)
{
	struct cg_vcc_config cfg;
	cg_vcc_config_init(&cfg);
	assert_true(cfg.validate_revocation && cfg.validate_trust && cfg.validate_not_before && cfg.validate_not_after);
	assert_false(cfg.ignore_error);
	assert_false(cfg.revocation_fail_open);
	assert_int_equal(cfg.num_identities, 0);
	struct cg_vcc_config *c = config(TOP("validate-revocation", "False", "validate-trust", "FALSE",
					     "validate-not-before", "false", "validate-not-after", "false",
					     "ignore-error", "True"), NULL);
	assert_false(c->validate_revocation || c->validate_trust || c->validate_not_before || c->validate_not_after);
	assert_true(c->ignore_error);
	set_err("validate-trust", "false", "Attribute 'validate-trust' of element 'validate-client-certificate' is "
					   "specified more than once");
	set_err("validate-revocation", "yes", "Attribute 'validate-revocation' of element "
					       "'validate-client-certificate' must be 'true' or 'false'");
	set_err("ignore-error", "@(true)", "Attribute 'ignore-error' of element 'validate-client-certificate' must be "
					   "'true' or 'false'");
	set_err("validate-not-after", "", "Attribute 'validate-not-after' of element 'validate-client-certificate' must "
					  "be 'true' or 'false'");
	set_err("validate-chain", "true", "Element 'validate-client-certificate' has an unknown attribute 'validate-chain'");
	set_err("Validate-Trust", "true", "Element 'validate-client-certificate' has an unknown attribute 'Validate-Trust'");
}

static void id_err(const char *const *attrs, const char *want)
{
	struct cg_vcc_config cfg;
	struct cg_str names[16], values[16];
	size_t n = 0;
	char err[512] = "";
	cg_vcc_config_init(&cfg);
	for (; attrs[0]; attrs += 2, n++) {
		names[n] = cg_str_from_c(attrs[0]);
		values[n] = cg_str_from_c(attrs[1]);
	}
	assert_int_equal(cg_vcc_config_add_identity(&cfg, &g_arena, names, values, n, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(cfg.num_identities, 0);
}
#define ID(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_config_identity_refusals(void **state)
{
	id_err(ID(NULL), "Element 'identity' must specify at least one claim");
	id_err(ID("thumbprnt", "AB"), "Element 'identity' has an unknown attribute 'thumbprnt'");
	id_err(ID("subject", "CN=a", "subject", "CN=b"),
	       "Attribute 'subject' of element 'identity' is specified more than once");
	id_err(ID("common-name", ""), "Attribute 'common-name' of element 'identity' must not be empty");
	id_err(ID("thumbprint", "ABC"), "Attribute 'thumbprint' of element 'identity' must be a SHA-1 thumbprint "
					"(40 hexadecimal digits; ' ' and ':' allowed)");
	id_err(ID("issuer-thumbprint", "ZZ00000000000000000000000000000000000000"),
	       "Attribute 'issuer-thumbprint' of element 'identity' must be a SHA-1 thumbprint (40 hexadecimal "
	       "digits; ' ' and ':' allowed)");
	/* 41 digits. */
	id_err(ID("thumbprint", "00000000000000000000000000000000000000000"),
	       "Attribute 'thumbprint' of element 'identity' must be a SHA-1 thumbprint (40 hexadecimal digits; "
	       "' ' and ':' allowed)");
	id_err(ID("serial-number", "12G4"), "Attribute 'serial-number' of element 'identity' must be hexadecimal "
					    "digits (' ', ':' and '-' allowed; at most 256 digits)");
	id_err(ID("serial-number", "::"), "Attribute 'serial-number' of element 'identity' must be hexadecimal digits "
					  "(' ', ':' and '-' allowed; at most 256 digits)");
	id_err(ID("subject", "CN=\"abc"), "Attribute 'subject' of element 'identity' is not a valid distinguished "
					  "name: dn:1:4: unterminated quoted value");
	id_err(ID("issuer-subject", "XX=1"), "Attribute 'issuer-subject' of element 'identity' is not a valid "
					     "distinguished name: dn:1:1: unknown attribute type 'XX'");
	id_err(ID("issuer-certificate-id", "ca-cert", "issuer-subject", "CN=x"),
	       "Attribute 'issuer-certificate-id' of element 'identity' cannot be combined with 'issuer-subject' or "
	       "'issuer-thumbprint'");
	id_err(ID("issuer-thumbprint", "0000000000000000000000000000000000000000", "issuer-certificate-id", "ca-cert"),
	       "Attribute 'issuer-certificate-id' of element 'identity' cannot be combined with 'issuer-subject' or "
	       "'issuer-thumbprint'");
	/* serial-number: 256 digits (with separators) accepted, 257 refused. */
	char serial[600];
	size_t sl = 0;
	for (int i = 0; i < 256; i++) {
		serial[sl++] = "0123456789abcdef"[i % 16];
		if (i % 2)
			serial[sl++] = ':';
	}
	serial[sl] = '\0';
	assert_int_equal(config(NULL, IDS("serial-number", serial))->num_identities, 1);
	serial[sl++] = 'A';
	serial[sl] = '\0';
	id_err(ID("serial-number", serial), "Attribute 'serial-number' of element 'identity' must be hexadecimal "
					    "digits (' ', ':' and '-' allowed; at most 256 digits)");
	char *big = malloc(CG_VCC_MAX_CLAIM_LEN + 2);
	memset(big, 'a', CG_VCC_MAX_CLAIM_LEN + 1);
	big[CG_VCC_MAX_CLAIM_LEN + 1] = '\0';
	id_err(ID("common-name", big), "Attribute 'common-name' of element 'identity' is longer than 8192 bytes");
	big[CG_VCC_MAX_CLAIM_LEN] = '\0'; /* exactly at the limit: accepted */
	struct cg_vcc_config *c = config(NULL, IDS("common-name", big));
	assert_int_equal(c->identities[0].common_name.len, CG_VCC_MAX_CLAIM_LEN);
	free(big);
	/* issuer-certificate-id with the subject claims is fine. */
	c = config(NULL, IDS("issuer-certificate-id", "ca-cert", "subject", "CN=x", "common-name", "x"));
	assert_int_equal(c->num_identities, 1);
	assert_int_equal(c->identities[0].claims, (1u << CG_VCC_ISSUER_CERTIFICATE_ID) | (1u << CG_VCC_SUBJECT) |
							  (1u << CG_VCC_COMMON_NAME));
}

static void test_config_identity_limit(void **state)
{
	struct cg_vcc_config cfg;
	char err[256] = "";
	cg_vcc_config_init(&cfg);
	struct cg_str name = CG_STR("common-name");
	for (int i = 0; i < CG_VCC_MAX_IDENTITIES; i++) {
		char v[16];
		snprintf(v, sizeof(v), "client %d", i);
		struct cg_str val = cg_str_from_c(v);
		assert_int_equal(cg_vcc_config_add_identity(&cfg, &g_arena, &name, &val, 1, err, sizeof(err)), 0);
	}
	assert_int_equal(cfg.num_identities, 10);
	struct cg_str val = CG_STR("one too many");
	assert_int_equal(cg_vcc_config_add_identity(&cfg, &g_arena, &name, &val, 1, err, sizeof(err)), -1);
	assert_string_equal(err, "Element 'identities' may contain at most 10 'identity' elements");
	assert_int_equal(cfg.num_identities, 10);
	/* The tenth identity matches: all ten are used. */
	check(&cfg, NULL, NULL, g_trust, T_NOW, CG_VCC_MISSING, NULL);
	cfg.validate_trust = cfg.validate_revocation = false;
	struct cg_str v9 = CG_STR("client 9");
	cfg.identities[9].common_name = v9;
	struct cg_x509 *x = view(c_valid);
	cg_vcc_check(&cfg, x, NULL, NULL, NULL, T_NOW, &g_res);
	assert_int_equal(g_res.reason, CG_VCC_IDENTITY_MISMATCH);
	assert_string_equal(g_res.message, "The client certificate matches none of the 10 identities; the closest "
					   "(identity 1) fails claim 'common-name': certificate common name is "
					   "'valid client'");
	cfg.identities[9].common_name = CG_STR("valid client");
	cg_vcc_check(&cfg, x, NULL, NULL, NULL, T_NOW, &g_res);
	assert_true(g_res.ok);
	assert_int_equal(g_res.matched_identity, 9);
}

/* ---- top-level checks and their order ----------------------------------- */

static void test_missing(void **state)
{
	struct cg_vcc_config *cfg = config(NULL, NULL);
	check(cfg, NULL, NULL, g_trust, T_NOW, CG_VCC_MISSING, "A client certificate is required but none was presented");
	/* Whatever the flags. */
	cfg = config(TOP("validate-trust", "false", "validate-revocation", "false", "validate-not-before", "false",
			 "validate-not-after", "false"), NULL);
	check(cfg, NULL, NULL, NULL, T_NOW, CG_VCC_MISSING, NULL);
	assert_string_equal(g_res.reason_name, "ClientCertificateMissing");
}

static void test_dates(void **state)
{
	struct cg_vcc_config *cfg = config(NULL, NULL);
	check(cfg, c_future, NULL, g_trust, T_NOW, CG_VCC_NOT_YET_VALID,
	      "The client certificate is not valid before 2040-01-01T00:00:00Z");
	assert_string_equal(g_res.reason_name, "ClientCertificateNotYetValid");
	check(cfg, c_expired, NULL, g_trust, T_NOW, CG_VCC_EXPIRED, "The client certificate expired at 2021-01-01T00:00:00Z");
	assert_string_equal(g_res.reason_name, "ClientCertificateExpired");
	/* At notAfter it is expired; a second before it is not. */
	struct cg_vcc_config *nt = config(NO_TRUST, NULL);
	check(nt, c_valid, NULL, NULL, T_2034 - 1, CG_VCC_OK, "");
	check(nt, c_valid, NULL, NULL, T_2034, CG_VCC_EXPIRED, NULL);
	/* Each flag alone. */
	struct cg_vcc_config *nb_off = config(TOP("validate-trust", "false", "validate-revocation", "false",
						  "validate-not-before", "false"), NULL);
	check(nb_off, c_future, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(nb_off, c_expired, NULL, NULL, T_NOW, CG_VCC_EXPIRED, NULL);
	struct cg_vcc_config *na_off = config(TOP("validate-trust", "false", "validate-revocation", "false",
						  "validate-not-after", "false"), NULL);
	check(na_off, c_expired, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(na_off, c_future, NULL, NULL, T_NOW, CG_VCC_NOT_YET_VALID, NULL);
	/* Dates come before trust: an expired leaf with no path is "expired". */
	check(cfg, c_expired, NULL, NULL, T_NOW, CG_VCC_EXPIRED, NULL);
	/* With validate-not-after off and trust on, the chain is verified
	 * without dates: the expired leaf is trusted. */
	struct cg_vcc_config *trust_only = config(TOP("validate-not-after", "false", "validate-revocation", "false"), NULL);
	check(trust_only, c_expired, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
}

static void test_untrusted(void **state)
{
	struct cg_vcc_config *cfg = config(TOP("validate-revocation", "false"), NULL);
	check(cfg, c_stranger, NULL, g_trust, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: unable to get local issuer certificate (depth 0)");
	assert_string_equal(g_res.reason_name, "ClientCertificateUntrusted");
	assert_true(g_res.trust_checked);
	assert_int_equal(g_res.trust.reason, CG_TRUST_UNTRUSTED);
	check(cfg, c_selfsigned, NULL, g_trust, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: self-signed certificate (depth 0)");
	/* The unknown CA's root sent by the client changes nothing. */
	STACK_OF(X509) *ch = sk_X509_new_null();
	sk_X509_push(ch, c_other);
	check(cfg, c_stranger, ch, g_trust, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: self-signed certificate in certificate chain (depth 1)");
	sk_X509_free(ch);
	/* No CA configured at all. */
	check(cfg, c_valid, NULL, NULL, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: no CA certificates are configured (depth 0)");
	/* validate-trust off: anything goes (APIM's explicit opt-out). */
	check(config(NO_TRUST, NULL), c_stranger, NULL, g_trust, T_NOW, CG_VCC_OK, "");
	assert_false(g_res.trust_checked);
	check(cfg, c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, "");
}

static void test_revocation(void **state)
{
	struct cg_vcc_config *cfg = config(NULL, NULL);
	check(cfg, c_revoked, NULL, g_trust, T_NOW, CG_VCC_REVOKED, "The client certificate has been revoked");
	assert_string_equal(g_res.reason_name, "ClientCertificateRevoked");
	check(cfg, c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, "");
	/* Revocation off: the revoked leaf passes. */
	check(config(TOP("validate-revocation", "false"), NULL), c_revoked, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
	/* No CRL for the intermediate: fail closed... */
	check(cfg, c_valid, NULL, g_trust_nocrl, T_NOW, CG_VCC_REVOCATION_UNKNOWN,
	      "The revocation status of the client certificate could not be determined: unable to get certificate "
	      "CRL (depth 0)");
	assert_string_equal(g_res.reason_name, "ClientCertificateRevocationUnknown");
	/* ...unless the gateway chose fail-open. */
	struct cg_vcc_config *open = config(NULL, NULL);
	open->revocation_fail_open = true;
	check(open, c_valid, NULL, g_trust_nocrl, T_NOW, CG_VCC_OK, "");
	assert_true(g_res.trust.revocation_skipped);
	/* Revocation without trust: a path is still needed to find a CRL. */
	struct cg_vcc_config *rev_only = config(TOP("validate-trust", "false"), NULL);
	check(rev_only, c_revoked, NULL, g_trust, T_NOW, CG_VCC_REVOKED, NULL);
	check(rev_only, c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
	check(rev_only, c_stranger, NULL, g_trust, T_NOW, CG_VCC_REVOCATION_UNKNOWN,
	      "The revocation status of the client certificate could not be determined: no chain to a configured CA "
	      "certificate (unable to get local issuer certificate)");
	rev_only->revocation_fail_open = true;
	check(rev_only, c_stranger, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
	/* A stale CRL (after its nextUpdate) is unknown, not "not revoked". */
	int64_t next;
	struct tm tm;
	assert_true(ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl_int), &tm));
	next = (int64_t)timegm(&tm);
	check(cfg, c_valid, NULL, g_trust, next, CG_VCC_REVOCATION_UNKNOWN,
	      "The revocation status of the client certificate could not be determined: CRL has expired (depth 0)");
}

/* OpenSSL looks at CRLs before signatures; our order says "untrusted"
 * first. A forged leaf (root's name, another key) with no CRL anywhere. */
static void test_untrusted_before_revocation(void **state)
{
	char err[256];
	X509 *root = api_cert("order root", NULL, NULL, true, T_NOW - 86400, T_NOW + 86400 * 30, 1);
	EVP_PKEY *other = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY_keygen_init(kc);
	EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1);
	EVP_PKEY_keygen(kc, &other);
	EVP_PKEY_CTX_free(kc);
	X509 *forged = api_cert("forged", root, other, false, T_NOW - 86400, T_NOW + 86400, 2);
	struct cg_trust *t = cg_trust_new(&g_arena, 9);
	assert_int_equal(cg_trust_add_ca(t, root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	struct cg_trust_result r;
	cg_trust_verify(t, forged, NULL, T_NOW, CG_TRUST_CHECK_TIME | CG_TRUST_CHECK_REVOCATION, &r);
	assert_int_equal(r.reason, CG_TRUST_REVOCATION_UNKNOWN); /* what OpenSSL says first */
	check(config(NULL, NULL), forged, NULL, t, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: certificate signature failure (depth 0)");
	X509_free(root);
	X509_free(forged);
	EVP_PKEY_free(other);
}

/* Failures deeper in the chain: an expired intermediate, a revoked one
 * (API-made: a root CRL listing the intermediate's serial). */
static void test_chain_failures(void **state)
{
	char err[256];
	X509 *root = api_cert("deep root", NULL, NULL, true, T_NOW - 86400 * 10, T_NOW + 86400 * 400, 1);
	X509 *old = api_cert("old int", root, g_key, true, T_NOW - 86400 * 10, T_NOW - 86400, 2);
	X509 *mid = api_cert("revoked int", root, g_key, true, T_NOW - 86400 * 10, T_NOW + 86400 * 300, 3);
	X509 *leaf_old = api_cert("leaf under old", old, g_key, false, T_NOW - 86400 * 5, T_NOW + 86400 * 30, 4);
	X509 *leaf_mid = api_cert("leaf under revoked", mid, g_key, false, T_NOW - 86400 * 5, T_NOW + 86400 * 30, 5);
	X509_CRL *crl = X509_CRL_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(root));
	ASN1_TIME *tm = ASN1_TIME_set(NULL, (time_t)(T_NOW - 3600));
	X509_CRL_set1_lastUpdate(crl, tm);
	ASN1_TIME_set(tm, (time_t)(T_NOW + 86400));
	X509_CRL_set1_nextUpdate(crl, tm);
	X509_REVOKED *rv = X509_REVOKED_new();
	X509_REVOKED_set_serialNumber(rv, X509_get_serialNumber(mid));
	ASN1_TIME_set(tm, (time_t)(T_NOW - 3600));
	X509_REVOKED_set_revocationDate(rv, tm);
	X509_CRL_add0_revoked(crl, rv);
	ASN1_TIME_free(tm);
	assert_true(X509_CRL_sign(crl, g_key, EVP_sha256()) > 0);
	/* CRLs for the intermediates too, so only the root's listing counts. */
	X509_CRL *crl_old = X509_CRL_new(), *crl_mid = X509_CRL_new();
	X509_CRL *ics[2] = { crl_old, crl_mid };
	X509 *iss[2] = { old, mid };
	for (int i = 0; i < 2; i++) {
		X509_CRL_set_version(ics[i], 1);
		X509_CRL_set_issuer_name(ics[i], X509_get_subject_name(iss[i]));
		ASN1_TIME *a = ASN1_TIME_set(NULL, (time_t)(T_NOW - 3600));
		X509_CRL_set1_lastUpdate(ics[i], a);
		ASN1_TIME_set(a, (time_t)(T_NOW + 86400));
		X509_CRL_set1_nextUpdate(ics[i], a);
		ASN1_TIME_free(a);
		assert_true(X509_CRL_sign(ics[i], g_key, EVP_sha256()) > 0);
	}
	struct cg_trust *t = cg_trust_new(&g_arena, 5);
	assert_int_equal(cg_trust_add_ca(t, root, true, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, old, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_ca(t, mid, false, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_crl(t, crl, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_crl(t, crl_old, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_add_crl(t, crl_mid, err, sizeof(err)), 0);
	assert_int_equal(cg_trust_finish(t, err, sizeof(err)), 0);
	struct cg_vcc_config *cfg = config(NULL, NULL);
	check(cfg, leaf_old, NULL, t, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: certificate has expired (depth 1)");
	check(cfg, leaf_mid, NULL, t, T_NOW, CG_VCC_REVOKED,
	      "A certificate in the client certificate's chain has been revoked (depth 1)");
	/* With validate-not-after off, chain dates are not checked. */
	check(config(TOP("validate-not-after", "false"), NULL), leaf_old, NULL, t, T_NOW, CG_VCC_OK, "");
	X509_CRL_free(crl);
	X509_CRL_free(crl_old);
	X509_CRL_free(crl_mid);
	X509 *all[] = { root, old, mid, leaf_old, leaf_mid };
	for (size_t i = 0; i < 5; i++)
		X509_free(all[i]);
}

static void test_cache_used(void **state)
{
	struct cg_vcc_config *cfg = config(NULL, NULL);
	struct cg_trust_cache *c = cg_trust_cache_new(16);
	struct cg_x509 *x = view(c_valid);
	uint64_t n = cg_trust_verify_calls(g_trust);
	cg_vcc_check(cfg, x, NULL, g_trust, c, T_NOW, &g_res);
	assert_true(g_res.ok);
	assert_false(g_res.trust.from_cache);
	cg_vcc_check(cfg, x, NULL, g_trust, c, T_NOW + 1, &g_res);
	assert_true(g_res.ok);
	assert_true(g_res.trust.from_cache);
	assert_int_equal(cg_trust_verify_calls(g_trust) - n, 1);
	cg_trust_cache_free(c);
}

/* ---- identities ---------------------------------------------------------- */

static void test_identity_claims(void **state)
{
	char tp[41], lower[64];
	thumb_of(c_valid, tp);
	/* lowercase with colons: "ab:cd:..." */
	size_t k = 0;
	for (int i = 0; i < 40; i++) {
		if (i && i % 2 == 0)
			lower[k++] = ':';
		lower[k++] = (char)((tp[i] >= 'A' && tp[i] <= 'F') ? tp[i] + 32 : tp[i]);
	}
	lower[k] = '\0';
	struct cg_vcc_config *cfg;
	cfg = config(NO_TRUST, IDS("thumbprint", lower));
	check(cfg, c_valid, NULL, NULL, T_NOW, CG_VCC_OK, "");
	assert_int_equal(g_res.matched_identity, 0);
	check(cfg, c_revoked, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH, NULL);
	assert_string_equal(g_res.reason_name, "ClientCertificateIdentityMismatch");
	assert_int_equal(g_res.matched_identity, -1);
	/* Serial 0x1000 (.NET "1000"), written with separators. */
	assert_true(cg_str_eq_lit(view(c_valid)->serial, "1000"));
	check(config(NO_TRUST, IDS("serial-number", "10:00")), c_valid, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("serial-number", "00 10 00")), c_valid, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("serial-number", "1001")), c_valid, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'serial-number': certificate serial number is 1000");
	/* common-name: exact, case-sensitive. */
	check(config(NO_TRUST, IDS("common-name", "valid client")), c_valid, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("common-name", "Valid Client")), c_valid, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH, NULL);
	/* subject: a quoted comma, forward and reverse order, ST/S. */
	check(config(NO_TRUST, IDS("subject", "CN=valid client, O=\"Contoso, Inc.\", C=US")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("subject", "C=US, O=\"Contoso, Inc.\", CN=valid client")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("subject", "C=US; O=\"Contoso, Inc.\"; CN=valid client")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_OK, NULL);
	/* Unquoted, the comma splits the value: refused when loaded. */
	id_err(ID("subject", "CN=valid client, O=Contoso, Inc., C=US"),
	       "Attribute 'subject' of element 'identity' is not a valid distinguished name: dn:1:33: expected '=' "
	       "after 'Inc.', found ','");
	/* A near miss shows the certificate's subject. */
	check(config(NO_TRUST, IDS("subject", "CN=valid client, O=\"Contoso Inc.\", C=US")), c_valid, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'subject': certificate subject is 'CN=valid client, O=\"Contoso, Inc.\", C=US'");
	/* Shuffled order: no match. Subset: no match. */
	check(config(NO_TRUST, IDS("subject", "O=\"Contoso, Inc.\", CN=valid client, C=US")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_IDENTITY_MISMATCH, NULL);
	check(config(NO_TRUST, IDS("subject", "CN=valid client")), c_valid, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH, NULL);
	/* Non-ASCII text. */
	check(config(NO_TRUST, IDS("subject", "CN=Z\xc3\xbcrich client, O=M\xc3\xbcller AG, L=Z\xc3\xbcrich, C=CH")),
	      c_sans, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("common-name", "Z\xc3\xbcrich client")), c_sans, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("common-name", "Zurich client")), c_sans, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH, NULL);
	/* issuer-subject against the leaf's issuer name, both orders (encoded
	 * CN first, .NET shows O first). */
	check(config(NO_TRUST, IDS("issuer-subject", "CN=Test Intermediate CA, O=certgate tests")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("issuer-subject", "O=certgate tests, CN=Test Intermediate CA")), c_valid, NULL, NULL,
	      T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("issuer-subject", "CN=Test Root CA, O=certgate tests")), c_valid, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'issuer-subject': certificate issuer is 'O=certgate tests, CN=Test Intermediate CA'");
}

static void test_identity_dns_name(void **state)
{
	/* Exact, ASCII case-insensitive. */
	check(config(NO_TRUST, IDS("dns-name", "api.contoso.com")), c_sans, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("dns-name", "API.CONTOSO.COM")), c_sans, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("dns-name", "contoso.com")), c_sans, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'dns-name': none of the certificate's 2 SAN DNS names is equal");
	/* A wildcard SAN matches only the same literal text, never a name
	 * under it: the claim names an identity, not a host. */
	check(config(NO_TRUST, IDS("dns-name", "*.wild.example")), c_sans, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	check(config(NO_TRUST, IDS("dns-name", "a.wild.example")), c_sans, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      NULL);
	/* IP and e-mail SANs are not dNSNames; the CN is not a SAN. */
	check(config(NO_TRUST, IDS("dns-name", "192.0.2.1")), c_sans, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH, NULL);
	check(config(NO_TRUST, IDS("dns-name", "Z\xc3\xbcrich client")), c_sans, NULL, NULL, T_NOW,
	      CG_VCC_IDENTITY_MISMATCH, NULL);
	check(config(NO_TRUST, IDS("dns-name", "client.example")), c_valid, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
}

static void test_identity_and_or(void **state)
{
	char tp[41];
	thumb_of(c_valid, tp);
	/* AND: every claim of the identity must match. */
	struct cg_vcc_config *and = config(NO_TRUST, IDS("thumbprint", tp, "common-name", "valid client",
							 "dns-name", "other.example"));
	check(and, c_valid, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'dns-name': none of the certificate's 1 SAN DNS names is equal");
	/* OR: the second identity matches although the first does not. */
	struct cg_vcc_config *or = config(NO_TRUST, IDS("common-name", "someone else", NULL, "thumbprint", tp,
							"common-name", "valid client"));
	check(or, c_valid, NULL, NULL, T_NOW, CG_VCC_OK, "");
	assert_int_equal(g_res.matched_identity, 1);
	/* The closest identity is the one with the most matching claims. */
	struct cg_vcc_config *near = config(NO_TRUST, IDS("common-name", "x", NULL, "common-name", "valid client",
							  "subject", "CN=nope", NULL, "thumbprint", tp,
							  "serial-number", "1000", "common-name", "not it"));
	check(near, c_valid, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 3 identities; the closest (identity 3) fails claim "
	      "'common-name': certificate common name is 'valid client'");
	/* Identities come after the top-level rules: a matching identity
	 * never rescues an expired or untrusted certificate. */
	struct cg_vcc_config *top = config(NULL, IDS("common-name", "expired client", NULL, "common-name", "stranger"));
	check(top, c_expired, NULL, g_trust, T_NOW, CG_VCC_EXPIRED, NULL);
	check(top, c_stranger, NULL, g_trust, T_NOW, CG_VCC_UNTRUSTED, NULL);
	/* No identities: only the top-level rules. */
	check(config(NULL, NULL), c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, "");
	assert_int_equal(g_res.matched_identity, -1);
}

static void test_identity_issuer_thumbprint(void **state)
{
	char int_tp[41], root_tp[41];
	thumb_of(c_int, int_tp);
	thumb_of(c_root, root_tp);
	/* With trust: the issuer in the verified chain. */
	check(config(NULL, IDS("issuer-thumbprint", int_tp)), c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
	check(config(NULL, IDS("issuer-thumbprint", root_tp)), c_valid, NULL, g_trust, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      NULL);
	char want[300];
	snprintf(want, sizeof(want),
		 "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
		 "'issuer-thumbprint': issuer thumbprint in the verified chain is %s", int_tp);
	assert_string_equal(g_res.message, want);
	/* Without trust: a certificate the client sent, or a store CA, that
	 * really issued the leaf. */
	struct cg_vcc_config *nt = config(NO_TRUST, IDS("issuer-thumbprint", int_tp));
	STACK_OF(X509) *ch = sk_X509_new_null();
	sk_X509_push(ch, c_int);
	check(nt, c_valid, ch, NULL, T_NOW, CG_VCC_OK, NULL);
	check(nt, c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, NULL);
	check(nt, c_valid, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 1 identities; the closest (identity 1) fails claim "
	      "'issuer-thumbprint': no certificate with that thumbprint issued it");
	/* A leaf that only names the intermediate as issuer (another key)
	 * does not match, even with the real intermediate in its chain. */
	X509 *forged = api_cert("forged", c_int, g_key, false, T_NOW - 86400, T_NOW + 86400, 9);
	check(nt, forged, ch, g_trust, T_NOW, CG_VCC_IDENTITY_MISMATCH, NULL);
	X509_free(forged);
	sk_X509_free(ch);
}

static X509 *resolve(void *user, struct cg_str id)
{
	return cg_str_eq_lit(id, "intermediate-ca") ? c_int : cg_str_eq_lit(id, "root-ca") ? c_root : NULL;
}

static void test_identity_issuer_certificate_id(void **state)
{
	char err[256];
	struct cg_vcc_config *cfg = config(NO_TRUST, IDS("issuer-certificate-id", "intermediate-ca", NULL,
							 "issuer-certificate-id", "root-ca"));
	/* Before resolving, nothing matches (fail closed). */
	check(cfg, c_valid, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 2 identities; the closest (identity 1) fails claim "
	      "'issuer-certificate-id': certificate 'intermediate-ca' was not resolved");
	assert_int_equal(cg_vcc_config_resolve(cfg, &g_arena, resolve, NULL, err, sizeof(err)), 0);
	check(cfg, c_valid, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	assert_int_equal(g_res.matched_identity, 0);
	/* The root issued the intermediate, not the leaf. */
	check(cfg, c_int, NULL, NULL, T_NOW, CG_VCC_OK, NULL);
	assert_int_equal(g_res.matched_identity, 1);
	check(cfg, c_stranger, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH,
	      "The client certificate matches none of the 2 identities; the closest (identity 1) fails claim "
	      "'issuer-certificate-id': certificate 'intermediate-ca' did not issue it");
	/* A name-only forgery does not match. */
	X509 *forged = api_cert("forged", c_int, g_key, false, T_NOW - 86400, T_NOW + 86400, 9);
	check(cfg, forged, NULL, NULL, T_NOW, CG_VCC_IDENTITY_MISMATCH, NULL);
	X509_free(forged);
	/* An unknown id is a config error. */
	struct cg_vcc_config *bad = config(NO_TRUST, IDS("issuer-certificate-id", "missing-cert"));
	assert_int_equal(cg_vcc_config_resolve(bad, &g_arena, resolve, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "Attribute 'issuer-certificate-id' of element 'identity' names no certificate: "
				 "'missing-cert'");
}

static void test_internal_error_and_client_chain_limit(void **state)
{
	char err[256];
	/* An unfinished store is the gateway's bug, not the client's: 503. */
	struct cg_trust *t = cg_trust_new(&g_arena, 77);
	assert_int_equal(cg_trust_add_ca(t, c_root, true, err, sizeof(err)), 0);
	check(config(NULL, NULL), c_valid, NULL, t, T_NOW, CG_VCC_ERROR,
	      "The client certificate could not be validated: trust store is not finished");
	assert_string_equal(g_res.reason_name, "ClientCertificateValidationError");
	/* Too many chain certificates from the client: untrusted, no depth. */
	STACK_OF(X509) *ch = sk_X509_new_null();
	for (int i = 0; i <= CG_TRUST_MAX_CLIENT_CHAIN; i++)
		sk_X509_push(ch, c_int);
	check(config(NULL, NULL), c_valid, ch, g_trust, T_NOW, CG_VCC_UNTRUSTED,
	      "The client certificate is not trusted: client sent more than 16 chain certificates");
	sk_X509_free(ch);
}

/* Every allocation failure while building a config says "out of memory"
 * and leaves the config unchanged; with enough memory it succeeds. */
static void test_config_out_of_memory(void **state)
{
	struct cg_str names[] = { CG_STR("subject"), CG_STR("common-name"), CG_STR("serial-number"),
				  CG_STR("issuer-subject"), CG_STR("dns-name") };
	struct cg_str values[] = { CG_STR("CN=valid client, O=\"Contoso, Inc.\", C=US"), CG_STR("valid client"),
				   CG_STR("10:00"), CG_STR("O=certgate tests, CN=Test Intermediate CA"),
				   CG_STR("client.example") };
	bool done = false;
	int failures = 0;
	for (size_t cap = 16; cap <= 65536 && !done; cap += 16) { /* 0 would mean no cap */
		struct cg_arena a;
		struct cg_vcc_config cfg;
		char err[256] = "";
		cg_arena_init(&a, 64, cap);
		cg_vcc_config_init(&cfg);
		if (cg_vcc_config_add_identity(&cfg, &a, names, values, 5, err, sizeof(err)) == 0) {
			done = true;
			assert_int_equal(cfg.num_identities, 1);
			check(&cfg, c_valid, NULL, g_trust, T_NOW, CG_VCC_OK, "");
		} else {
			failures++;
			assert_string_equal(err, "out of memory");
			assert_int_equal(cfg.num_identities, 0);
		}
		cg_arena_destroy(&a);
	}
	assert_true(done);
	assert_true(failures > 3);
	/* Resolving: the cleanup registration can fail too. */
	struct cg_arena a;
	struct cg_vcc_config cfg;
	char err[256] = "";
	struct cg_str n = CG_STR("issuer-certificate-id"), v = CG_STR("intermediate-ca");
	cg_arena_init(&a, 64, 4096);
	cg_vcc_config_init(&cfg);
	assert_int_equal(cg_vcc_config_add_identity(&cfg, &a, &n, &v, 1, err, sizeof(err)), 0);
	a.max_bytes = a.used_bytes; /* no new chunk, and the current one filled up */
	while (cg_arena_alloc(&a, 16))
		;
	assert_int_equal(cg_vcc_config_resolve(&cfg, &a, resolve, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "out of memory");
	assert_null(cfg.identities[0].issuer_certificate);
	a.max_bytes = 0;
	assert_int_equal(cg_vcc_config_resolve(&cfg, &a, resolve, NULL, err, sizeof(err)), 0);
	assert_ptr_equal(cfg.identities[0].issuer_certificate, c_int);
	cg_arena_destroy(&a);
}

static void test_names(void **state)
{
	assert_string_equal(cg_vcc_reason_name(CG_VCC_OK), "");
	assert_string_equal(cg_vcc_reason_name(CG_VCC_REVOCATION_UNKNOWN), "ClientCertificateRevocationUnknown");
	assert_string_equal(cg_vcc_reason_name((enum cg_vcc_reason)99), "");
	assert_string_equal(cg_vcc_claim_name(CG_VCC_ISSUER_CERTIFICATE_ID), "issuer-certificate-id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_top_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_identity_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_identity_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_before_revocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_dns_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_and_or, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_issuer_thumbprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_issuer_certificate_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_internal_error_and_client_chain_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_out_of_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

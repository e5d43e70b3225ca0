/* validate-jwt below the network: signatures with keys made per run
 * (HMAC, RSA PKCS#1 and PSS, ECDSA on three curves), the key-type
 * confusion an HMAC token must never win, kid selection, lifetimes, and
 * the policy in the pipeline (token sources, audiences, issuers, claims,
 * statuses, messages, the Jwt variable), and authentication-basic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "expr/expr.h"
#include "gw/jwt.h"
#include "gw/oidc.h"
#include "tls/tls.h"

#include "gw/pipe_helpers.h"

static EVP_PKEY *rsa_key, *ec256, *ec384, *ec521, *pki_key;
static unsigned char secret[32];
static char secret_b64[64];
static X509 *pki_cert;

/* ---- making tokens ----------------------------------------------------------- */

static void b64url(const unsigned char *in, size_t n, char *out)
{
	int k = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (k > 0 && out[k - 1] == '=')
		k--;
	out[k] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

static const EVP_MD *md_of(const char *alg)
{
	return strstr(alg, "256") ? EVP_sha256() : strstr(alg, "384") ? EVP_sha384() : EVP_sha512();
}

/* Signs input with alg (HS*: hmac_key of hmac_len bytes; else pk). */
static size_t sign(const char *alg, EVP_PKEY *pk, const unsigned char *hmac_key, size_t hmac_len,
		   const char *input, unsigned char *sig)
{
	if (alg[0] == 'H') {
		unsigned int ml = 0;
		assert_non_null(HMAC(md_of(alg), hmac_key, (int)hmac_len, (const unsigned char *)input, strlen(input),
				     sig, &ml));
		return ml;
	}
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char der[600];
	size_t dl = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(mc, &pc, md_of(alg), NULL, pk), 1);
	if (alg[0] == 'P') {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0);
	}
	assert_int_equal(EVP_DigestSign(mc, der, &dl, (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(mc);
	if (alg[0] != 'E') {
		memcpy(sig, der, dl);
		return dl;
	}
	/* DER -> JOSE r || s */
	size_t size = strstr(alg, "256") ? 32 : strstr(alg, "384") ? 48 : 66;
	const unsigned char *q = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dl);
	assert_non_null(es);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)size), (int)size);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + size, (int)size), (int)size);
	ECDSA_SIG_free(es);
	return 2 * size;
}

/* "header.payload.signature" in a static buffer; kid may be NULL. */
static const char *token_k(const char *alg, const char *kid, const char *payload, EVP_PKEY *pk,
			   const unsigned char *hk, size_t hl)
{
	static char tok[4096];
	char header[200], hb[400], pb[2048];
	unsigned char sig[600];
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s}", alg, kid ? ",\"kid\":\"" : "",
		 kid ? kid : "", kid ? "\"" : "");
	b64url((const unsigned char *)header, strlen(header), hb);
	b64url((const unsigned char *)payload, strlen(payload), pb);
	snprintf(tok, sizeof(tok), "%s.%s", hb, pb);
	if (strcmp(alg, "none") == 0)
		return strcat(tok, ".");
	size_t sl = sign(alg, pk, hk, hl, tok, sig);
	char sb[1000];
	b64url(sig, sl, sb);
	strcat(tok, ".");
	strcat(tok, sb);
	return tok;
}

static const char *token(const char *alg, const char *payload, EVP_PKEY *pk)
{
	return token_k(alg, NULL, payload, pk, secret, sizeof(secret));
}

static EVP_PKEY *key_for(const char *alg)
{
	if (alg[0] == 'R' || alg[0] == 'P')
		return rsa_key;
	return strstr(alg, "256") ? ec256 : strstr(alg, "384") ? ec384 : ec521;
}

/* ---- checking one signature ------------------------------------------------- */

static struct cg_arena ta;
static struct cg_jwt_key keyv[8];
static struct cg_jwt_keys keys = { keyv, 0 };
static char msg[400];

static enum cg_jwt_reason check_sig(const char *tok, bool require_signed)
{
	struct cg_expr_ctx ectx = { .arena = &ta };
	struct cg_expr_error e;
	struct cg_expr_value jwt;
	assert_int_equal(cg_expr_jwt_parse(&ectx, cg_str_from_c(tok), &jwt, &e), 0);
	assert_int_equal(jwt.kind, CG_EXPR_V_OBJ);
	msg[0] = '\0';
	return cg_jwt_check_signature(&keys, cg_str_from_c(tok), cg_expr_jwt_header(&jwt), require_signed, msg,
				      sizeof(msg));
}

static void add_hmac(const char *id)
{
	char e[200];
	assert_int_equal(cg_jwt_key_hmac(&ta, cg_str_from_c(secret_b64), cg_str_from_c(id), &keyv[keys.n++], e,
					 sizeof(e)),
			 0);
}

static void add_pkey(EVP_PKEY *pk, const char *id)
{
	char e[200];
	assert_int_equal(cg_jwt_key_pkey(&ta, pk, cg_str_from_c(id), &keyv[keys.n++], e, sizeof(e)), 0);
}

/* The PKI certificate uploaded as "pki": its EC P-256 key verifies ES256. */
static void upload_pki_cert(void)
{
	static unsigned char der[2048];
	static char thumb[41];
	static struct cg_model_cert mc;
	unsigned char *q = der, md[20];
	int dl = i2d_X509(pki_cert, &q);
	unsigned int ml = 0;
	assert_int_equal(X509_digest(pki_cert, EVP_sha1(), md, &ml), 1);
	for (unsigned i = 0; i < ml; i++)
		snprintf(thumb + 2 * i, 3, "%02X", md[i]);
	mc = (struct cg_model_cert){ "pki", der, (size_t)dl, thumb, false, NULL };
	pt_certs = &mc;
	pt_num_certs = 1;
}

static int setup(void **state)
{
	setup_pki(state);
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ec521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_true(rsa_key && ec256 && ec384 && ec521);
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	EVP_EncodeBlock((unsigned char *)secret_b64, secret, sizeof(secret));
	BIO *b = BIO_new_mem_buf(key_pem, -1);
	pki_key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(cert_pem, -1);
	pki_cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_true(pki_key && pki_cert);
	upload_pki_cert();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ec521);
	EVP_PKEY_free(pki_key);
	X509_free(pki_cert);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	cg_arena_init(&ta, 4096, 0);
	keys.n = 0;
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	cg_arena_destroy(&ta); /* releases the keys' EVP_PKEYs */
	return 0;
}

static const char *const all_algs[] = { "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
					"PS256", "PS384", "PS512", "ES256", "ES384", "ES512" };

static void t_every_algorithm(void **state)
{
	(void)state;
	add_hmac("");
	add_pkey(rsa_key, "");
	add_pkey(ec256, "");
	add_pkey(ec384, "");
	add_pkey(ec521, "");
	for (size_t i = 0; i < sizeof(all_algs) / sizeof(all_algs[0]); i++) {
		const char *alg = all_algs[i];
		char tok[4096];
		snprintf(tok, sizeof(tok), "%s", token(alg, "{\"sub\":\"alice\"}", key_for(alg)));
		if (check_sig(tok, true) != CG_JWT_OK)
			fail_msg("%s: %s", alg, msg);
		/* another payload under the same signature */
		char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
		char forged[4096], pb[200];
		b64url((const unsigned char *)"{\"sub\":\"admin\"}", 15, pb);
		snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - tok), tok, pb, dot2);
		if (check_sig(forged, true) != CG_JWT_SIGNATURE_INVALID)
			fail_msg("%s: forged payload accepted (%s)", alg, msg);
		/* one signature bit flipped */
		size_t last = strlen(tok) - 2;
		tok[last] = tok[last] == 'A' ? 'B' : 'A';
		if (check_sig(tok, true) != CG_JWT_SIGNATURE_INVALID)
			fail_msg("%s: altered signature accepted", alg);
	}
	assert_string_equal(msg, "Signature validation failed. Keys tried: 1.");
}

/* The classic pitfall: an HS256 token "signed" with the RSA public key's
 * bytes (PEM or DER) as the HMAC secret must not verify against the RSA
 * key; nor may an ES token use an RSA key or a P-256 key sign ES384. */
static void t_key_type_confusion(void **state)
{
	(void)state;
	add_pkey(rsa_key, "k");
	add_pkey(ec256, "e");
	unsigned char der[1024], *q = der;
	int dl = i2d_PUBKEY(rsa_key, &q);
	assert_true(dl > 0);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, rsa_key);
	char *pem;
	long pl = BIO_get_mem_data(b, &pem);
	const char *t1 = token_k("HS256", "k", "{}", NULL, der, (size_t)dl);
	assert_int_equal(check_sig(t1, true), CG_JWT_KEY_NOT_FOUND);
	assert_string_equal(msg, "Signature validation failed. Unable to match key: kid: 'k', algorithm: 'HS256'.");
	assert_int_equal(check_sig(token_k("HS256", NULL, "{}", NULL, (unsigned char *)pem, (size_t)pl), true),
			 CG_JWT_KEY_NOT_FOUND);
	BIO_free(b);
	/* ES256 signed by the P-256 key verifies; relabelled ES384, no key fits */
	assert_int_equal(check_sig(token("ES256", "{}", ec256), true), CG_JWT_OK);
	assert_int_equal(check_sig(token("ES384", "{}", ec384), true), CG_JWT_KEY_NOT_FOUND);
	/* an RS256 token never reaches the EC key, nor an ES256 one the RSA key */
	keys.n = 0;
	add_pkey(ec256, "");
	assert_int_equal(check_sig(token("RS256", "{}", rsa_key), true), CG_JWT_KEY_NOT_FOUND);
	keys.n = 0;
	add_pkey(rsa_key, "");
	assert_int_equal(check_sig(token("ES256", "{}", ec256), true), CG_JWT_KEY_NOT_FOUND);
}

static void t_alg_none_and_bad_headers(void **state)
{
	(void)state;
	add_hmac("");
	const char *none = token("none", "{\"sub\":\"x\"}", NULL);
	assert_int_equal(check_sig(none, true), CG_JWT_SIGNATURE_INVALID);
	assert_string_equal(msg, "Signature validation failed. The token is not signed ('alg' is 'none').");
	assert_int_equal(check_sig(none, false), CG_JWT_OK);
	/* alg none with a signature still attached: refused either way */
	char withsig[4096];
	snprintf(withsig, sizeof(withsig), "%sAAAA", none);
	assert_int_equal(check_sig(withsig, false), CG_JWT_SIGNATURE_INVALID);
	/* a signed token without a signature part */
	char nosig[4096];
	snprintf(nosig, sizeof(nosig), "%s", token("HS256", "{}", NULL));
	strrchr(nosig, '.')[1] = '\0';
	assert_int_equal(check_sig(nosig, false), CG_JWT_SIGNATURE_INVALID);
	assert_int_equal(check_sig(token_k("HS999", NULL, "{}", NULL, secret, 32), true), CG_JWT_SIGNATURE_INVALID);
	assert_string_equal(msg, "Signature validation failed. Algorithm 'HS999' is not supported.");
	/* hand-made header without alg */
	char hb[100], t[300];
	b64url((const unsigned char *)"{\"typ\":\"JWT\"}", 13, hb);
	snprintf(t, sizeof(t), "%s.e30.AAAA", hb);
	assert_int_equal(check_sig(t, true), CG_JWT_INVALID);
	assert_string_equal(msg, "The token header has no 'alg'.");
}

/* A symmetric key wrapped over lines (blanks anywhere, as .NET's
 * Convert.FromBase64String takes it) is the same key; a stray character
 * is still refused. */
static void t_hmac_key_blanks(void **state)
{
	(void)state;
	char wrapped[128], e[200];
	snprintf(wrapped, sizeof(wrapped), "\n\t%.20s\r\n  %.10s %s\n", secret_b64, secret_b64 + 20, secret_b64 + 30);
	struct cg_jwt_key k;
	assert_int_equal(cg_jwt_key_hmac(&ta, cg_str_from_c(wrapped), CG_STR(""), &k, e, sizeof(e)), 0);
	assert_int_equal(k.secret.len, sizeof(secret));
	assert_memory_equal(k.secret.ptr, secret, sizeof(secret));
	wrapped[3] = '*';
	assert_int_equal(cg_jwt_key_hmac(&ta, cg_str_from_c(wrapped), CG_STR(""), &k, e, sizeof(e)), -1);
	assert_string_equal(e, "a symmetric key must be base64 of at least 16 bytes");
}

/* kid picks the keys with that id; an unknown kid falls back to every key
 * of the algorithm's type (APIM). */
static void t_kid_selection(void **state)
{
	(void)state;
	static const unsigned char other[32] = { 1, 2, 3 };
	char e[200], ob[64];
	EVP_EncodeBlock((unsigned char *)ob, other, sizeof(other));
	add_hmac("k1");
	assert_int_equal(cg_jwt_key_hmac(&ta, cg_str_from_c(ob), CG_STR("k2"), &keyv[keys.n++], e, sizeof(e)), 0);
	assert_int_equal(check_sig(token_k("HS256", "k2", "{}", NULL, other, 32), true), CG_JWT_OK);
	assert_int_equal(check_sig(token_k("HS256", "k1", "{}", NULL, secret, 32), true), CG_JWT_OK);
	/* kid k2 but signed with k1's secret: only k2 is tried */
	assert_int_equal(check_sig(token_k("HS256", "k2", "{}", NULL, secret, 32), true), CG_JWT_SIGNATURE_INVALID);
	/* unknown kid: every key is tried */
	assert_int_equal(check_sig(token_k("HS256", "zz", "{}", NULL, secret, 32), true), CG_JWT_OK);
	static const unsigned char third[32] = { 9 };
	assert_int_equal(check_sig(token_k("HS256", "zz", "{}", NULL, third, 32), true), CG_JWT_KEY_NOT_FOUND);
	assert_int_equal(check_sig(token_k("HS256", NULL, "{}", NULL, third, 32), true), CG_JWT_SIGNATURE_INVALID);
}

/* n/e keys (as in a JWKS) and their limits. */
static void t_rsa_n_e(void **state)
{
	(void)state;
	BIGNUM *n = NULL, *ebn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_E, &ebn), 1);
	unsigned char nb[512], eb[8];
	char n64[700], e64[16], e[200];
	b64url(nb, (size_t)BN_bn2bin(n, nb), n64);
	b64url(eb, (size_t)BN_bn2bin(ebn, eb), e64);
	BN_free(n);
	BN_free(ebn);
	assert_int_equal(cg_jwt_key_rsa(&ta, cg_str_from_c(n64), cg_str_from_c(e64), CG_STR(""), &keyv[keys.n++], e,
					sizeof(e)),
			 0);
	assert_int_equal(check_sig(token("RS256", "{}", rsa_key), true), CG_JWT_OK);
	assert_int_equal(check_sig(token("PS512", "{}", rsa_key), true), CG_JWT_OK);
	struct cg_jwt_key k;
	assert_int_equal(cg_jwt_key_rsa(&ta, CG_STR("AQAB"), CG_STR("AQAB"), CG_STR(""), &k, e, sizeof(e)), -1);
	assert_string_equal(e, "the RSA key has 17 bits; at least 2048 are needed");
	assert_int_equal(cg_jwt_key_rsa(&ta, CG_STR("!!"), CG_STR("AQAB"), CG_STR(""), &k, e, sizeof(e)), -1);
	assert_int_equal(cg_jwt_key_hmac(&ta, CG_STR("c2hvcnQ="), CG_STR(""), &k, e, sizeof(e)), -1);
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_int_equal(cg_jwt_key_pkey(&ta, small, CG_STR(""), &k, e, sizeof(e)), -1);
	assert_string_equal(e, "the RSA key has 1024 bits; at least 2048 are needed");
	EVP_PKEY_free(small);
}

/* The base64url coordinates of an EC public key. */
static void ec_xy(EVP_PKEY *pk, size_t size, char *x, char *y)
{
	unsigned char pt[200];
	size_t n = 0;
	assert_int_equal(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n), 1);
	assert_int_equal(n, 1 + 2 * size);
	b64url(pt + 1, size, x);
	b64url(pt + 1 + size, size, y);
}

/* openid-config documents: the discovery document's jwks_uri and issuer;
 * RSA and EC signing keys kept from a JWKS, secrets and encryption keys
 * skipped, and tokens verified by kid against what was kept. */
static void t_openid_documents(void **state)
{
	(void)state;
	char e[300], json[4096], x[100], y[100], n64[700];
	struct cg_str uri, iss;
	assert_int_equal(cg_oidc_parse_discovery(&ta, CG_STR("{\"issuer\":\"https://idp/\",\"jwks_uri\":\"https://idp/keys\"}"),
						 &uri, &iss, e, sizeof(e)),
			 0);
	assert_true(cg_str_eq_lit(uri, "https://idp/keys") && cg_str_eq_lit(iss, "https://idp/"));
	assert_int_equal(cg_oidc_parse_discovery(&ta, CG_STR("{\"jwks_uri\":\"http://idp/keys\"}"), &uri, &iss, e,
						 sizeof(e)),
			 -1);
	assert_string_equal(e, "the discovery document has no https jwks_uri");
	assert_int_equal(cg_oidc_parse_discovery(&ta, CG_STR("[1]"), &uri, &iss, e, sizeof(e)), -1);
	BIGNUM *n = NULL;
	unsigned char nb[512];
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	b64url(nb, (size_t)BN_bn2bin(n, nb), n64);
	BN_free(n);
	ec_xy(ec384, 48, x, y);
	snprintf(json, sizeof(json),
		 "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\",\"kid\":\"secret\"},"
		 "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"enc\"},"
		 "{\"kty\":\"RSA\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"AQAB\",\"kid\":\"r1\"},"
		 "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"e1\"},"
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"bad\"}]}",
		 secret_b64, n64, n64, x, y, x, y);
	assert_int_equal(cg_oidc_parse_jwks(&ta, cg_str_from_c(json), &keys, e, sizeof(e)), 0);
	assert_int_equal(keys.n, 2);
	assert_true(cg_str_eq_lit(keys.items[0].id, "r1") && keys.items[0].type == CG_JWT_KEY_RSA);
	assert_true(cg_str_eq_lit(keys.items[1].id, "e1") && keys.items[1].type == CG_JWT_KEY_EC);
	assert_int_equal(check_sig(token_k("RS256", "r1", "{}", rsa_key, NULL, 0), true), CG_JWT_OK);
	assert_int_equal(check_sig(token_k("ES384", "e1", "{}", ec384, NULL, 0), true), CG_JWT_OK);
	/* the JWKS's symmetric key was not taken: an HS256 token has no key */
	assert_int_equal(check_sig(token_k("HS256", "secret", "{}", NULL, secret, 32), true), CG_JWT_KEY_NOT_FOUND);
	assert_int_equal(cg_oidc_parse_jwks(&ta, CG_STR("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}"), &keys, e,
					    sizeof(e)),
			 -1);
	assert_string_equal(e, "the key set holds no usable RSA or EC signing key (0 of 1 refused)");
	assert_int_equal(cg_oidc_parse_jwks(&ta, CG_STR("{\"keys\":{},\"keys\":[]}"), &keys, e, sizeof(e)), -1);
	/* outside `certgate serve` a source registers nothing (no fetching) */
	struct cg_oidc_source *src = (struct cg_oidc_source *)&ta;
	assert_int_equal(cg_oidc_register("https://idp/.well-known/openid-configuration", &src, e, sizeof(e)), 0);
	assert_null(src);
	assert_null(cg_oidc_get(NULL));
}

static enum cg_jwt_reason lifetime(const char *payload, int64_t now, int64_t skew, bool req)
{
	json_error_t je;
	json_t *j = json_loads(payload, 0, &je);
	assert_non_null(j);
	enum cg_jwt_reason r = cg_jwt_check_lifetime(j, now, skew, req, msg, sizeof(msg));
	json_decref(j);
	return r;
}

static void t_lifetime(void **state)
{
	(void)state;
	int64_t now = 1800000000;
	assert_int_equal(lifetime("{\"exp\":1800000000}", now, 0, true), CG_JWT_OK); /* the last valid second */
	assert_int_equal(lifetime("{\"exp\":1799999999}", now, 0, true), CG_JWT_EXPIRED);
	assert_string_equal(msg, "Lifetime validation failed. The token is expired. ValidTo: '2027-01-15T07:59:59Z', "
				 "Current time: '2027-01-15T08:00:00Z'.");
	assert_int_equal(lifetime("{\"exp\":1799999970}", now, 30, true), CG_JWT_OK);
	assert_int_equal(lifetime("{\"exp\":1799999969}", now, 30, true), CG_JWT_EXPIRED);
	assert_int_equal(lifetime("{\"sub\":\"x\"}", now, 0, true), CG_JWT_INVALID);
	assert_string_equal(msg, "Lifetime validation failed. The token is missing an Expiration Time.");
	assert_int_equal(lifetime("{\"sub\":\"x\"}", now, 0, false), CG_JWT_OK);
	assert_int_equal(lifetime("{\"exp\":\"tomorrow\"}", now, 0, false), CG_JWT_INVALID);
	assert_int_equal(lifetime("{\"nbf\":1800000060,\"exp\":1900000000}", now, 0, true), CG_JWT_INVALID);
	assert_int_equal(lifetime("{\"nbf\":1800000060,\"exp\":1900000000}", now, 60, true), CG_JWT_OK);
	assert_int_equal(lifetime("{\"nbf\":1900000001,\"exp\":1900000000}", now, 0, true), CG_JWT_INVALID);
	assert_int_equal(lifetime("{\"exp\":1800000000.9}", now, 0, true), CG_JWT_OK);
}

/* ---- the policy in the pipeline ----------------------------------------------- */

static char pol[8192];

static struct cg_snapshot *jwt_policy(const char *attrs, const char *children)
{
	char inner[7000];
	snprintf(inner, sizeof(inner),
		 "<validate-jwt %s><issuer-signing-keys><key>%s</key><key certificate-id=\"pki\" id=\"ec\"/>"
		 "</issuer-signing-keys>%s</validate-jwt>"
		 "<set-header name=\"X-Sub\"><value>@(((Jwt)context.Variables.GetValueOrDefault(\"jwt\"))?.Subject)</value></set-header>",
		 attrs, secret_b64, children);
	snprintf(pol, sizeof(pol), "%s", inner);
	return build_ok(pol);
}

static void run_with(struct run *r, struct cg_snapshot *s, const char *const *hdrs, const char *query)
{
	prepare(r, s->apis[0]->pipeline, hdrs);
	if (query)
		r->p.query = cg_str_from_c(query);
	r->rc = cg_pipe_run(&r->p, CG_POL_INBOUND);
}

static void expect_fail(struct cg_snapshot *s, const char *const *hdrs, int status, const char *reason,
			const char *message, const char *body)
{
	struct run r;
	run_with(&r, s, hdrs, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_int_equal(r.p.status, status);
	if (!cg_str_eq(r.p.errv.reason, cg_str_from_c(reason)) || !cg_str_eq(r.p.errv.message, cg_str_from_c(message)))
		fail_msg("got %.*s: %.*s", CG_STR_FMT(r.p.errv.reason), CG_STR_FMT(r.p.errv.message));
	assert_true(cg_str_eq(r.p.errv.source, CG_STR("validate-jwt")));
	assert_true(cg_str_eq(r.p.err_body_message, cg_str_from_c(body)));
	cg_arena_destroy(&r.arena);
}

static const char *bearer(const char *tok)
{
	static char h[4200];
	snprintf(h, sizeof(h), "Bearer %s", tok);
	return h;
}

static void t_policy_checks(void **state)
{
	(void)state;
	struct cg_snapshot *s = jwt_policy(
		"header-name=\"Authorization\" output-token-variable-name=\"jwt\"",
		"<audiences><audience>api://a</audience><audience>@(\"api://\" + \"b\")</audience></audiences>"
		"<issuers><issuer>https://idp/</issuer></issuers>"
		"<required-claims><claim name=\"roles\" match=\"any\"><value>admin</value><value>ops</value></claim>"
		"<claim name=\"scp\" separator=\" \"><value>read</value><value>write</value></claim></required-claims>");
	long exp = (long)time(NULL) + 600;
	char p[600];
	snprintf(p, sizeof(p),
		 "{\"sub\":\"alice\",\"aud\":[\"x\",\"api://b\"],\"iss\":\"https://idp/\",\"exp\":%ld,"
		 "\"roles\":[\"user\",\"ops\"],\"scp\":\"read write\"}",
		 exp);
	/* valid, HS256 and ES256 (the uploaded certificate's key) */
	const char *algs[] = { "HS256", "ES256" };
	for (int i = 0; i < 2; i++) {
		struct run r;
		const char *h[] = { "Authorization", bearer(token(algs[i], p, pki_key)), NULL };
		run_with(&r, s, h, NULL);
		if (r.rc != CG_PIPE_CONTINUE)
			fail_msg("%s: %.*s", algs[i], CG_STR_FMT(r.p.errv.message));
		const struct cg_expr_header *sub = cg_hlist_find(&r.p.req_hdrs, CG_STR("X-Sub"));
		assert_non_null(sub);
		assert_true(cg_str_eq(sub->value, CG_STR("alice")));
		cg_arena_destroy(&r.arena);
	}
	/* missing: no header, another scheme */
	expect_fail(s, NULL, 401, "TokenNotPresent", "JWT not present.", "JWT not present.");
	const char *basic[] = { "Authorization", "Basic dTpw", NULL };
	expect_fail(s, basic, 401, "TokenNotPresent", "JWT not present.", "JWT not present.");
	const char *junk[] = { "Authorization", "Bearer not-a-jwt", NULL };
	expect_fail(s, junk, 401, "JwtInvalid", "The token is not a JWT in JWS compact serialization.", "Invalid JWT.");
	const char *two[] = { "Authorization", bearer(token("HS256", p, NULL)), "Authorization", "Bearer x.y.z", NULL };
	expect_fail(s, two, 401, "JwtInvalid", "The token header appears more than once.", "Invalid JWT.");
	char q2[700];
	/* audience */
	snprintf(q2, sizeof(q2), "{\"aud\":\"api://c\",\"iss\":\"https://idp/\",\"exp\":%ld}", exp);
	const char *h1[] = { "Authorization", bearer(token("HS256", q2, NULL)), NULL };
	expect_fail(s, h1, 401, "TokenAudienceNotAllowed",
		    "Audience validation failed. Audiences: '\"api://c\"'. Did not match an allowed audience. Access denied.",
		    "Invalid JWT.");
	/* issuer */
	snprintf(q2, sizeof(q2), "{\"aud\":\"api://a\",\"iss\":\"https://evil/\",\"exp\":%ld}", exp);
	const char *h2[] = { "Authorization", bearer(token("HS256", q2, NULL)), NULL };
	expect_fail(s, h2, 401, "TokenIssuerNotAllowed",
		    "Issuer validation failed. Issuer: 'https://evil/'. Did not match an allowed issuer. Access denied.",
		    "Invalid JWT.");
	/* claims missing, then a value not allowed (all of read, write) */
	snprintf(q2, sizeof(q2), "{\"aud\":\"api://a\",\"iss\":\"https://idp/\",\"exp\":%ld}", exp);
	const char *h3[] = { "Authorization", bearer(token("HS256", q2, NULL)), NULL };
	expect_fail(s, h3, 401, "TokenClaimNotFound",
		    "JWT token is missing the following claims: roles, scp. Access denied.", "Invalid JWT.");
	snprintf(q2, sizeof(q2),
		 "{\"aud\":\"api://a\",\"iss\":\"https://idp/\",\"exp\":%ld,\"roles\":\"admin\",\"scp\":\"read\"}", exp);
	const char *h4[] = { "Authorization", bearer(token("HS256", q2, NULL)), NULL };
	expect_fail(s, h4, 401, "TokenClaimValueNotAllowed", "Claim scp value of read is not allowed. Access denied.",
		    "Invalid JWT.");
	/* expired, then a signature made with another secret */
	snprintf(q2, sizeof(q2), "{\"aud\":\"api://a\",\"iss\":\"https://idp/\",\"exp\":%ld}", exp - 1200);
	const char *h5[] = { "Authorization", bearer(token("HS256", q2, NULL)), NULL };
	struct run r;
	run_with(&r, s, h5, NULL);
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_true(cg_str_eq(r.p.errv.reason, CG_STR("TokenExpired")));
	cg_arena_destroy(&r.arena);
	static const unsigned char wrong[32] = { 7 };
	const char *h6[] = { "Authorization", bearer(token_k("HS256", NULL, p, NULL, wrong, 32)), NULL };
	expect_fail(s, h6, 401, "TokenSignatureInvalid", "Signature validation failed. Keys tried: 1. Access denied.",
		    "Invalid JWT.");
	cg_snapshot_unref(s);
}

/* Query parameter, token-value, require-scheme, custom status and message. */
static void t_policy_sources(void **state)
{
	(void)state;
	long exp = (long)time(NULL) + 600;
	char p[200], tq[4200];
	snprintf(p, sizeof(p), "{\"sub\":\"bob\",\"exp\":%ld}", exp);
	const char *tok = token("HS512", p, NULL);
	struct cg_snapshot *s = jwt_policy("query-parameter-name=\"access_token\" output-token-variable-name=\"jwt\"", "");
	struct run r;
	snprintf(tq, sizeof(tq), "a=1&access_token=%s", tok);
	run_with(&r, s, NULL, tq);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	assert_true(cg_str_eq(cg_hlist_find(&r.p.req_hdrs, CG_STR("X-Sub"))->value, CG_STR("bob")));
	cg_arena_destroy(&r.arena);
	run_with(&r, s, NULL, "access_token=");
	assert_int_equal(r.rc, CG_PIPE_ERROR);
	assert_true(cg_str_eq(r.p.errv.reason, CG_STR("TokenNotPresent")));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);

	s = jwt_policy("token-value=\"@(context.Request.Headers.GetValueOrDefault(\"X-Token\", \"\"))\""
		       " failed-validation-httpcode=\"403\" failed-validation-error-message=\"Go away\"",
		       "");
	const char *h[] = { "X-Token", tok, NULL };
	run_with(&r, s, h, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	expect_fail(s, NULL, 403, "TokenNotPresent", "JWT not present.", "Go away");
	cg_snapshot_unref(s);

	/* require-scheme: the scheme must be the one named; a bare token is refused */
	s = jwt_policy("header-name=\"Authorization\" require-scheme=\"JWT\"", "");
	char v[4200];
	snprintf(v, sizeof(v), "jwt %s", tok);
	const char *ok[] = { "Authorization", v, NULL };
	run_with(&r, s, ok, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	const char *bare[] = { "Authorization", tok, NULL };
	expect_fail(s, bare, 401, "TokenNotPresent", "JWT not present.", "JWT not present.");
	const char *bear[] = { "Authorization", bearer(tok), NULL };
	expect_fail(s, bear, 401, "TokenNotPresent", "JWT not present.", "JWT not present.");
	cg_snapshot_unref(s);

	/* without require-scheme a bare token is accepted; an unsigned one never */
	s = jwt_policy("header-name=\"Authorization\" require-expiration-time=\"false\"", "");
	run_with(&r, s, bare, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	cg_arena_destroy(&r.arena);
	const char *none[] = { "Authorization", bearer(token("none", "{\"sub\":\"x\"}", NULL)), NULL };
	expect_fail(s, none, 401, "TokenSignatureInvalid",
		    "Signature validation failed. The token is not signed ('alg' is 'none'). Access denied.",
		    "Invalid JWT.");
	cg_snapshot_unref(s);
}

/* A certificate-id naming nothing fails the snapshot, with line:col. */
static void t_policy_build_errors(void **state)
{
	(void)state;
	char err[512];
	struct cg_snapshot *s = build("<policies><inbound><validate-jwt header-name=\"a\"><issuer-signing-keys>"
				      "<key certificate-id=\"nope\"/></issuer-signing-keys></validate-jwt></inbound>"
				      "<backend><forward-request/></backend></policies>",
				      NULL, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "1:71: validate-jwt: certificate 'nope' not found"));
}

static void t_authentication_basic(void **state)
{
	(void)state;
	struct cg_snapshot *s = build_ok("<authentication-basic username=\"@(\"Alad\" + \"din\")\""
					 " password=\"open sesame\"/>");
	const char *h[] = { "Authorization", "Bearer old", NULL };
	struct run r;
	run_with(&r, s, h, NULL);
	assert_int_equal(r.rc, CG_PIPE_CONTINUE);
	size_t n = 0;
	for (size_t i = 0; i < r.p.req_hdrs.n; i++)
		n += cg_str_ieq_lit(r.p.req_hdrs.items[i].name, "Authorization");
	assert_int_equal(n, 1);
	assert_true(cg_str_eq(cg_hlist_find(&r.p.req_hdrs, CG_STR("Authorization"))->value,
			      CG_STR("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")));
	cg_arena_destroy(&r.arena);
	cg_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_every_algorithm, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(t_key_type_confusion, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(t_alg_none_and_bad_headers, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(t_kid_selection, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(t_hmac_key_blanks, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(t_rsa_n_e, each_setup, each_teardown),
		cmocka_unit_test(t_lifetime),
		cmocka_unit_test_setup_teardown(t_openid_documents, each_setup, each_teardown),
		cmocka_unit_test(t_policy_checks),
		cmocka_unit_test(t_policy_sources),
		cmocka_unit_test(t_policy_build_errors),
		cmocka_unit_test(t_authentication_basic),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

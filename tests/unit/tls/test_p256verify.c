/* Tests for src/tls/p256verify.c: certgate's nettle_ecdsa_verify, which
 * GnuTLS calls for every ECDSA signature it verifies. P-256 goes to OpenSSL;
 * its answers must be nettle's own (reached here with dlsym RTLD_NEXT, as
 * the replacement reaches it) for valid signatures and for every way a
 * signature can be wrong; other curves go to nettle unchanged; and GnuTLS's
 * verification must actually reach the replacement. Keys and signatures are
 * made per run from the system's random source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <sys/random.h>

#include <cmocka.h>

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "tls/tls.h"

typedef int (*verify_fn)(const struct ecc_point *, size_t, const uint8_t *, const struct dsa_signature *);

static verify_fn nettle_own;

static void fill_random(void *ctx, size_t n, uint8_t *out)
{
	(void)ctx;
	while (n > 0) {
		ssize_t got = getrandom(out, n, 0);

		assert_true(got > 0);
		out += got;
		n -= (size_t)got;
	}
}

struct key {
	struct ecc_point pub;
	struct ecc_scalar priv;
};

static void key_make(struct key *k, const struct ecc_curve *curve)
{
	ecc_point_init(&k->pub, curve);
	ecc_scalar_init(&k->priv, curve);
	ecdsa_generate_keypair(&k->pub, &k->priv, NULL, fill_random);
}

static void key_free(struct key *k)
{
	ecc_point_clear(&k->pub);
	ecc_scalar_clear(&k->priv);
}

/* both implementations' answers; they must agree, and be |want| */
static void expect(const struct key *k, size_t len, const uint8_t *digest, const struct dsa_signature *sig,
		   int want)
{
	unsigned long before = cg_tls_p256_verified();

	assert_int_equal(nettle_own(&k->pub, len, digest, sig), want);
	assert_int_equal(ecdsa_verify(&k->pub, len, digest, sig), want);
	assert_int_equal(cg_tls_p256_verified(), before + 1);
}

static void p256_order(mpz_t n)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	char *hex;

	assert_non_null(g);
	hex = BN_bn2hex(EC_GROUP_get0_order(g));
	assert_int_equal(mpz_set_str(n, hex, 16), 0);
	OPENSSL_free(hex);
	EC_GROUP_free(g);
}

static int setup(void **state)
{
	nettle_own = (verify_fn)dlsym(RTLD_NEXT, "nettle_ecdsa_verify");
	return nettle_own != NULL && nettle_own != nettle_ecdsa_verify ? 0 : -1;
}

/* every digest length GnuTLS may pass: SHA-1, -256, -384, -512 */
static const size_t lengths[] = {20, 32, 48, 64};

static void test_valid_and_altered_signatures(void **state)
{
	mpz_t n, saved;
	uint8_t digest[64];

	mpz_init(n);
	mpz_init(saved);
	p256_order(n);
	for (int round = 0; round < 16; round++) {
		struct key k, other;
		struct dsa_signature sig;

		key_make(&k, nettle_get_secp_256r1());
		key_make(&other, nettle_get_secp_256r1());
		dsa_signature_init(&sig);
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
			size_t len = lengths[i];

			fill_random(NULL, sizeof(digest), digest);
			ecdsa_sign(&k.priv, NULL, fill_random, len, digest, &sig);
			expect(&k, len, digest, &sig, 1);
			expect(&other, len, digest, &sig, 0);
			/* only the leftmost 256 bits are signed */
			digest[len - 1] ^= 1;
			expect(&k, len, digest, &sig, len > 32 ? 1 : 0);
			digest[len - 1] ^= 1;
			digest[0] ^= 0x80;
			expect(&k, len, digest, &sig, 0);
			digest[0] ^= 0x80;

			mpz_set(saved, sig.r);
			mpz_add_ui(sig.r, sig.r, 1);
			expect(&k, len, digest, &sig, 0);
			mpz_set_ui(sig.r, 0);
			expect(&k, len, digest, &sig, 0);
			mpz_neg(sig.r, saved);
			expect(&k, len, digest, &sig, 0);
			mpz_add(sig.r, saved, n); /* congruent, out of range */
			expect(&k, len, digest, &sig, 0);
			mpz_set(sig.r, n);
			expect(&k, len, digest, &sig, 0);
			mpz_set(sig.r, saved);

			mpz_set(saved, sig.s);
			mpz_sub(sig.s, n, saved); /* (r, n - s) is valid too: ECDSA is malleable */
			expect(&k, len, digest, &sig, 1);
			mpz_set_ui(sig.s, 0);
			expect(&k, len, digest, &sig, 0);
			mpz_add(sig.s, saved, n);
			expect(&k, len, digest, &sig, 0);
			mpz_mul_2exp(sig.s, saved, 300); /* wider than the curve */
			expect(&k, len, digest, &sig, 0);
			mpz_set(sig.s, saved);
			expect(&k, len, digest, &sig, 1);
		}
		dsa_signature_clear(&sig);
		key_free(&k);
		key_free(&other);
	}
	mpz_clear(n);
	mpz_clear(saved);
}

/* P-384 and P-521 keys are nettle's to verify: not counted, same answers */
static void test_other_curves_go_to_nettle(void **state)
{
	const struct ecc_curve *curves[] = {nettle_get_secp_384r1(), nettle_get_secp_521r1()};
	uint8_t digest[48];

	for (size_t i = 0; i < 2; i++) {
		struct key k;
		struct dsa_signature sig;
		unsigned long before = cg_tls_p256_verified();

		key_make(&k, curves[i]);
		dsa_signature_init(&sig);
		fill_random(NULL, sizeof(digest), digest);
		ecdsa_sign(&k.priv, NULL, fill_random, sizeof(digest), digest, &sig);
		assert_int_equal(ecdsa_verify(&k.pub, sizeof(digest), digest, &sig), 1);
		digest[0] ^= 1;
		assert_int_equal(ecdsa_verify(&k.pub, sizeof(digest), digest, &sig), 0);
		assert_int_equal(cg_tls_p256_verified(), before);
		dsa_signature_clear(&sig);
		key_free(&k);
	}
}

/* GnuTLS's own verification (the CertificateVerify's path) reaches it */
static void gnutls_sign_verify(gnutls_sign_algorithm_t algo)
{
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	gnutls_datum_t sig;
	unsigned char text[] = "the handshake transcript";
	gnutls_datum_t data = {text, sizeof(text)};
	unsigned long before = cg_tls_p256_verified();

	assert_int_equal(gnutls_privkey_init(&priv), 0);
	assert_int_equal(gnutls_privkey_generate(priv, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
			 0);
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_privkey(pub, priv, 0, 0), 0);
	assert_int_equal(gnutls_privkey_sign_data2(priv, algo, 0, &data, &sig), 0);
	assert_true(gnutls_pubkey_verify_data2(pub, algo, 0, &data, &sig) >= 0);
	assert_int_equal(cg_tls_p256_verified(), before + 1);
	text[0] ^= 1;
	assert_int_equal(gnutls_pubkey_verify_data2(pub, algo, 0, &data, &sig), GNUTLS_E_PK_SIG_VERIFY_FAILED);
	assert_int_equal(cg_tls_p256_verified(), before + 2);
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
}

static void test_gnutls_reaches_the_replacement(void **state)
{
	gnutls_sign_verify(GNUTLS_SIGN_ECDSA_SECP256R1_SHA256);
	gnutls_sign_verify(GNUTLS_SIGN_ECDSA_SHA384); /* TLS 1.2's pairing: digest truncated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_altered_signatures),
		cmocka_unit_test(test_other_curves_go_to_nettle),
		cmocka_unit_test(test_gnutls_reaches_the_replacement),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

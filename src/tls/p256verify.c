/* ECDSA P-256 signature verification for GnuTLS, done by OpenSSL.
 *
 * In every mTLS handshake on the GnuTLS listener, GnuTLS verifies the
 * client's CertificateVerify signature with nettle's nettle_ecdsa_verify.
 * For P-256 that takes 111 us here; OpenSSL's ECDSA_do_verify (its
 * assembly P-256) takes 56 us with the key set-up below, and the
 * difference is about a tenth of a full ECDSA mTLS handshake
 * (docs/BENCHMARKS.md). GnuTLS 3.7 offers no hook for public-key
 * operations, so certgate defines nettle_ecdsa_verify itself and exports it
 * from the executable (CMakeLists.txt: -Wl,--export-dynamic-symbol); the
 * dynamic linker binds libgnutls's calls to the executable's definition
 * first, as it does for malloc. P-256 keys are verified here; any other
 * curve goes to nettle's own function (dlsym RTLD_NEXT), unchanged.
 *
 * The contract is nettle's: 1 when the signature over the digest is valid
 * for the public key, 0 otherwise. Both libraries take the leftmost 256 bits
 * of a longer digest (SEC 1 4.1.4) and refuse r or s outside [1, n-1]; the
 * point was checked to be on the curve when nettle imported it, and
 * OpenSSL checks it again (EC_POINT_oct2point). Any OpenSSL failure
 * (allocation included) answers 0: a signature is never accepted on an
 * error path. tests/unit/tls/test_p256verify.c checks the answers against
 * nettle's own for valid, altered and out-of-range signatures, and that
 * GnuTLS's verification reaches this function. */
#define OPENSSL_SUPPRESS_DEPRECATED /* EC_KEY/ECDSA_do_verify: no EVP key set-up per call */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>

#include "tls/tls.h"

#define P256_BYTES 32

typedef int (*verify_fn)(const struct ecc_point *, size_t, const uint8_t *, const struct dsa_signature *);

static verify_fn nettle_verify;
static EC_GROUP *p256;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_ulong verified; /* P-256 signatures checked here */

static void init(void)
{
	nettle_verify = (verify_fn)dlsym(RTLD_NEXT, "nettle_ecdsa_verify");
	p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

/* |v| in exactly 32 big-endian bytes; false when it does not fit */
static bool mpz_be32(const mpz_t v, unsigned char out[P256_BYTES])
{
	size_t n;

	if (mpz_sizeinbase(v, 256) > P256_BYTES)
		return false;
	memset(out, 0, P256_BYTES);
	mpz_export(out + P256_BYTES - (mpz_sizeinbase(v, 2) + 7) / 8, &n, 1, 1, 1, 0, v);
	return n <= P256_BYTES;
}

/* the public key as an uncompressed SEC 1 point: 04 || x || y */
static bool point_octets(const struct ecc_point *pub, unsigned char out[1 + 2 * P256_BYTES])
{
	mpz_t x, y;
	bool ok;

	mpz_init(x);
	mpz_init(y);
	ecc_point_get(pub, x, y);
	out[0] = POINT_CONVERSION_UNCOMPRESSED;
	ok = mpz_sgn(x) >= 0 && mpz_sgn(y) >= 0 && mpz_be32(x, out + 1) && mpz_be32(y, out + 1 + P256_BYTES);
	mpz_clear(x);
	mpz_clear(y);
	return ok;
}

static ECDSA_SIG *sig_from(const struct dsa_signature *signature)
{
	unsigned char r[P256_BYTES], s[P256_BYTES];
	ECDSA_SIG *sig;
	BIGNUM *br, *bs;

	/* r, s <= 0 are invalid: nettle answers 0, so does ECDSA_do_verify, but
	 * mpz_export drops the sign, so refuse them before */
	if (mpz_sgn(signature->r) <= 0 || mpz_sgn(signature->s) <= 0 || !mpz_be32(signature->r, r) ||
	    !mpz_be32(signature->s, s))
		return NULL;
	sig = ECDSA_SIG_new();
	br = BN_bin2bn(r, P256_BYTES, NULL);
	bs = BN_bin2bn(s, P256_BYTES, NULL);
	if (sig == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(sig, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	return sig;
}

static int p256_verify(const struct ecc_point *pub, size_t length, const uint8_t *digest,
		       const struct dsa_signature *signature)
{
	unsigned char oct[1 + 2 * P256_BYTES];
	ECDSA_SIG *sig = NULL;
	EC_POINT *q = NULL;
	EC_KEY *key = NULL;
	int ok = 0;

	if (!point_octets(pub, oct) || (sig = sig_from(signature)) == NULL)
		return 0;
	key = EC_KEY_new();
	q = EC_POINT_new(p256);
	if (key != NULL && q != NULL && EC_KEY_set_group(key, p256) == 1 &&
	    EC_POINT_oct2point(p256, q, oct, sizeof(oct), NULL) == 1 && EC_KEY_set_public_key(key, q) == 1)
		/* only the digest's leftmost 256 bits count (see the top) */
		ok = ECDSA_do_verify(digest, (int)(length < P256_BYTES ? length : P256_BYTES), sig, key) == 1;
	EC_POINT_free(q);
	EC_KEY_free(key);
	ECDSA_SIG_free(sig);
	return ok;
}

/* Replaces hogweed's for the whole process (see the top of this file).
 * Declared in nettle/ecdsa.h as a macro target: ecdsa_verify. */
int nettle_ecdsa_verify(const struct ecc_point *pub, size_t length, const uint8_t *digest,
			const struct dsa_signature *signature)
{
	pthread_once(&once, init);
	if (p256 != NULL && pub->ecc == nettle_get_secp_256r1()) {
		atomic_fetch_add_explicit(&verified, 1, memory_order_relaxed);
		return p256_verify(pub, length, digest, signature);
	}
	if (nettle_verify == NULL || nettle_verify == nettle_ecdsa_verify)
		return 0; /* no other implementation reachable: refuse, never accept */
	return nettle_verify(pub, length, digest, signature);
}

unsigned long cg_tls_p256_verified(void)
{
	return atomic_load_explicit(&verified, memory_order_relaxed);
}

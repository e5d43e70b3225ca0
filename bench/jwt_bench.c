/* validate-jwt microbenchmark: microseconds per token check (parse with
 * AsJwt's parser, signature, lifetime), the work validate-jwt adds to a
 * request, for HS256, RS256 (2048-bit), PS256, ES256 and ES384, with keys
 * made per run.
 *
 *   build/jwt_bench [--iterations N]
 * Prints one line per algorithm: us/check (median of 5 runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "expr/expr.h"
#include "gw/jwt.h"

#include "bench_util.h"

static void b64url(const unsigned char *in, size_t n, char *out)
{
	int k = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (k > 0 && out[k - 1] == '=')
		k--;
	out[k] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

static const unsigned char secret[32] = "certgate-bench-secret-0123456789";

/* A signed token for alg with pk (HS256: the secret). */
static void make_token(const char *alg, EVP_PKEY *pk, char *tok, size_t cap)
{
	char h[200], hb[300], pb[300];
	const char *payload = "{\"sub\":\"bench\",\"aud\":\"api://bench\",\"iss\":\"https://idp/\",\"exp\":4102444800}";
	snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	b64url((const unsigned char *)h, strlen(h), hb);
	b64url((const unsigned char *)payload, strlen(payload), pb);
	snprintf(tok, cap, "%s.%s", hb, pb);
	unsigned char sig[600], raw[200];
	size_t sl = sizeof(sig);
	const EVP_MD *md = strstr(alg, "384") ? EVP_sha384() : EVP_sha256();
	if (alg[0] == 'H') {
		unsigned int ml;
		HMAC(md, secret, sizeof(secret), (unsigned char *)tok, strlen(tok), sig, &ml);
		sl = ml;
	} else {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pc;
		EVP_DigestSignInit(mc, &pc, md, NULL, pk);
		if (alg[0] == 'P') {
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST);
		}
		EVP_DigestSign(mc, sig, &sl, (unsigned char *)tok, strlen(tok));
		EVP_MD_CTX_free(mc);
		if (alg[0] == 'E') {
			size_t size = strstr(alg, "384") ? 48 : 32;
			const unsigned char *q = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)sl);
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)size);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + size, (int)size);
			ECDSA_SIG_free(es);
			memcpy(sig, raw, 2 * size);
			sl = 2 * size;
		}
	}
	char sb[900];
	b64url(sig, sl, sb);
	strncat(tok, ".", cap - strlen(tok) - 1);
	strncat(tok, sb, cap - strlen(tok) - 1);
}

int main(int argc, char **argv)
{
	long iters = 20000;
	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iters = atol(argv[2]);
	static const char *const algs[] = { "HS256", "RS256", "PS256", "ES256", "ES384" };
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	struct cg_arena keys_arena;
	cg_arena_init(&keys_arena, 4096, 0);
	struct cg_jwt_key kv[4];
	struct cg_jwt_keys keys = { kv, 4 };
	char e[200], sb[64];
	EVP_EncodeBlock((unsigned char *)sb, secret, sizeof(secret));
	if (cg_jwt_key_hmac(&keys_arena, cg_str_from_c(sb), CG_STR(""), &kv[0], e, sizeof(e)) ||
	    cg_jwt_key_pkey(&keys_arena, rsa, CG_STR(""), &kv[1], e, sizeof(e)) ||
	    cg_jwt_key_pkey(&keys_arena, ec256, CG_STR(""), &kv[2], e, sizeof(e)) ||
	    cg_jwt_key_pkey(&keys_arena, ec384, CG_STR(""), &kv[3], e, sizeof(e))) {
		fprintf(stderr, "key: %s\n", e);
		return 1;
	}
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		char tok[2048], msg[400];
		EVP_PKEY *pk = algs[a][0] == 'E' ? (strstr(algs[a], "384") ? ec384 : ec256) : rsa;
		make_token(algs[a], pk, tok, sizeof(tok));
		double runs[5];
		const char *outcome = "ok";
		long n = algs[a][0] == 'H' ? iters : iters / 10; /* asymmetric checks cost more */
		for (int r = 0; r < 5; r++) {
			double t0 = bench_now_ns() / 1e9;
			for (long i = 0; i < n; i++) {
				struct cg_arena ra;
				cg_arena_init(&ra, 4096, 0);
				struct cg_expr_ctx ectx = { .arena = &ra };
				struct cg_expr_error er;
				struct cg_expr_value jwt;
				struct cg_str t = cg_str_from_c(tok);
				if (cg_expr_jwt_parse(&ectx, t, &jwt, &er) != 0 || jwt.kind != CG_EXPR_V_OBJ ||
				    cg_jwt_check_signature(&keys, t, cg_expr_jwt_header(&jwt), true, msg, sizeof(msg)) ||
				    cg_jwt_check_lifetime(cg_expr_jwt_payload(&jwt), 1800000000, 0, true, msg, sizeof(msg)))
					outcome = "FAILED";
				cg_arena_destroy(&ra);
			}
			runs[r] = (bench_now_ns() / 1e9 - t0) / (double)n * 1e6;
		}
		qsort(runs, 5, sizeof(runs[0]), bench_cmp_double);
		printf("%-6s %8.2f us/check  (%s, %ld iterations x 5)\n", algs[a], runs[2], outcome, n);
	}
	cg_arena_destroy(&keys_arena);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	return 0;
}

/* Fuzzer for validate-jwt's token handling: the AsJwt parser shared with
 * expressions (cg_expr_jwt_parse), the signature check and the lifetime
 * check, on a token as a client sends it.
 *
 * Beyond "no crash, no read past the input", it checks the property that
 * matters: a token is accepted only when its alg is an HMAC one and its
 * signature is the HMAC of its first two parts under the fuzzer's key,
 * recomputed here independently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "expr/expr.h"
#include "gw/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* base64 of "certgate-fuzz-secret-0123456789!" (32 bytes) */
#define KEY_B64 "Y2VydGdhdGUtZnV6ei1zZWNyZXQtMDEyMzQ1Njc4OSE="
#define KEY "certgate-fuzz-secret-0123456789!"

static int expected_ok(const char *tok, size_t n, const char *alg)
{
	const EVP_MD *md = strcmp(alg, "HS256") == 0	? EVP_sha256()
			   : strcmp(alg, "HS384") == 0 ? EVP_sha384()
			   : strcmp(alg, "HS512") == 0 ? EVP_sha512()
						       : NULL;
	const char *d2 = NULL;
	for (size_t i = 0, dots = 0; i < n; i++)
		if (tok[i] == '.' && ++dots == 2)
			d2 = tok + i;
	if (!md || !d2)
		return 0;
	unsigned char mac[64], sig[400];
	unsigned int ml = 0;
	HMAC(md, KEY, 32, (const unsigned char *)tok, (size_t)(d2 - tok), mac, &ml);
	struct cg_str st = cg_str_make(d2 + 1, n - (size_t)(d2 + 1 - tok));
	if (st.len > sizeof(sig) / 2)
		return 0;
	long sl = cg_b64_decode(st, true, sig);
	return sl == (long)ml && memcmp(sig, mac, ml) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = malloc(size ? size : 1);
	if (!tok)
		return 0;
	if (size)
		memcpy(tok, data, size);
	struct cg_arena a;
	cg_arena_init(&a, 4096, 1u << 22);
	struct cg_jwt_key k;
	struct cg_jwt_keys keys = { &k, 1 };
	char err[200], msg[400];
	if (cg_jwt_key_hmac(&a, CG_STR(KEY_B64), CG_STR("k"), &k, err, sizeof(err)) != 0)
		abort();
	struct cg_expr_ctx ectx = { .arena = &a };
	struct cg_expr_error e;
	struct cg_expr_value jwt;
	struct cg_str t = cg_str_make(tok, size);
	if (cg_expr_jwt_parse(&ectx, t, &jwt, &e) == 0 && jwt.kind == CG_EXPR_V_OBJ) {
		enum cg_jwt_reason r = cg_jwt_check_signature(&keys, t, cg_expr_jwt_header(&jwt), true, msg, sizeof(msg));
		if (r == CG_JWT_OK) {
			json_t *alg = json_object_get(cg_expr_jwt_header(&jwt), "alg");
			if (!json_is_string(alg) || !expected_ok(tok, size, json_string_value(alg)))
				abort();
		}
		cg_jwt_check_lifetime(cg_expr_jwt_payload(&jwt), 1800000000, 60, true, msg, sizeof(msg));
	}
	cg_arena_destroy(&a);
	free(tok);
	return 0;
}

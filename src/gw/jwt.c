/* validate-jwt and authentication-basic (see jwt.h). */
#include "gw/jwt.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "expr/ctx.h"
#include "expr/expr.h"
#include "gw/certs.h"
#include "gw/oidc.h"
#include "gw/snapshot.h"
#include "policy/policy.h"

const char *cg_jwt_reason_name(enum cg_jwt_reason r)
{
	static const char *const names[] = {
		[CG_JWT_OK] = "",
		[CG_JWT_NOT_PRESENT] = "TokenNotPresent",
		[CG_JWT_SIGNATURE_INVALID] = "TokenSignatureInvalid",
		[CG_JWT_AUDIENCE] = "TokenAudienceNotAllowed",
		[CG_JWT_ISSUER] = "TokenIssuerNotAllowed",
		[CG_JWT_EXPIRED] = "TokenExpired",
		[CG_JWT_KEY_NOT_FOUND] = "TokenSignatureKeyNotFound",
		[CG_JWT_CLAIM_NOT_FOUND] = "TokenClaimNotFound",
		[CG_JWT_CLAIM_VALUE] = "TokenClaimValueNotAllowed",
		[CG_JWT_INVALID] = "JwtInvalid",
	};
	return r <= CG_JWT_INVALID ? names[r] : "JwtInvalid";
}

/* ---- algorithms ------------------------------------------------------------ */

enum alg_family { FAM_HMAC, FAM_RS, FAM_PS, FAM_ES };

struct alg {
	const char *name;
	enum alg_family fam;
	int md;         /* index into digests[] */
	size_t ec_size; /* ES: coordinate bytes of the curve RFC 7518 ties to it */
};

static const struct alg algs[] = {
	{ "HS256", FAM_HMAC, 0, 0 }, { "HS384", FAM_HMAC, 1, 0 }, { "HS512", FAM_HMAC, 2, 0 },
	{ "RS256", FAM_RS, 0, 0 },   { "RS384", FAM_RS, 1, 0 },   { "RS512", FAM_RS, 2, 0 },
	{ "PS256", FAM_PS, 0, 0 },   { "PS384", FAM_PS, 1, 0 },   { "PS512", FAM_PS, 2, 0 },
	{ "ES256", FAM_ES, 0, 32 },  { "ES384", FAM_ES, 1, 48 },  { "ES512", FAM_ES, 2, 66 },
};

/* Digests fetched once: EVP_sha256() and friends fetch implicitly on every
 * use, which costs as much as a small HMAC (docs/INTERNALS.md). */
static EVP_MD *digests[3];
static pthread_once_t digests_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	digests[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
	digests[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
	digests[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *digest(int i)
{
	pthread_once(&digests_once, fetch_digests);
	return digests[i];
}

static const struct alg *find_alg(struct cg_str name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (cg_str_eq(name, cg_str_from_c(algs[i].name)))
			return &algs[i];
	return NULL;
}

static bool key_fits(const struct cg_jwt_key *k, const struct alg *al)
{
	switch (al->fam) {
	case FAM_HMAC:
		return k->type == CG_JWT_KEY_HMAC;
	case FAM_RS:
	case FAM_PS:
		return k->type == CG_JWT_KEY_RSA;
	case FAM_ES:
		return k->type == CG_JWT_KEY_EC && k->ec_size == al->ec_size;
	}
	return false;
}

/* ---- keys ------------------------------------------------------------------ */

static void pkey_cleanup(void *p)
{
	EVP_PKEY_free(p);
}

/* Decodes base64 (url or standard) into the arena. */
static long b64_to_arena(struct cg_arena *a, struct cg_str in, bool url, unsigned char **out)
{
	*out = cg_arena_alloc(a, in.len / 4 * 3 + 3);
	return *out ? cg_b64_decode(in, url, *out) : -1;
}

int cg_jwt_key_hmac(struct cg_arena *a, struct cg_str b64, struct cg_str id, struct cg_jwt_key *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char *tmp = cg_arena_alloc(a, b64.len + 1);
	unsigned char *k = cg_arena_alloc(a, b64.len / 4 * 3 + 3);
	long n = tmp && k ? cg_b64_decode_blanks(b64, tmp, k) : -1;
	if (n < (long)CG_POL_JWT_MIN_HMAC_KEY) {
		snprintf(err, errlen, "a symmetric key must be base64 of at least %u bytes", CG_POL_JWT_MIN_HMAC_KEY);
		return -1;
	}
	out->type = CG_JWT_KEY_HMAC;
	out->id = id;
	out->secret = cg_str_make((const char *)k, (size_t)n);
	return 0;
}

/* Takes over pk (one reference) whatever happens. */
static int adopt_pkey(struct cg_arena *a, EVP_PKEY *pk, struct cg_str id, struct cg_jwt_key *out, char *err,
		      size_t errlen)
{
	if (cg_arena_on_cleanup(a, pkey_cleanup, pk) < 0) {
		EVP_PKEY_free(pk);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	out->id = id;
	out->pkey = pk;
	if (EVP_PKEY_is_a(pk, "RSA")) {
		out->type = CG_JWT_KEY_RSA;
		if (EVP_PKEY_get_bits(pk) < (int)CG_POL_JWT_MIN_RSA_BITS) {
			snprintf(err, errlen, "the RSA key has %d bits; at least %u are needed", EVP_PKEY_get_bits(pk),
				 CG_POL_JWT_MIN_RSA_BITS);
			return -1;
		}
		return 0;
	}
	char group[64] = "";
	size_t gl = 0;
	if (EVP_PKEY_is_a(pk, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl)) {
		out->type = CG_JWT_KEY_EC;
		out->ec_size = strcmp(group, "prime256v1") == 0 ? 32
			       : strcmp(group, "secp384r1") == 0  ? 48
			       : strcmp(group, "secp521r1") == 0  ? 66
								  : 0;
		if (out->ec_size)
			return 0;
	}
	snprintf(err, errlen, "the key is neither RSA nor EC P-256, P-384 or P-521");
	return -1;
}

int cg_jwt_key_rsa(struct cg_arena *a, struct cg_str n, struct cg_str e, struct cg_str id, struct cg_jwt_key *out,
		   char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	unsigned char *nb, *eb;
	long nl = b64_to_arena(a, n, true, &nb), el = b64_to_arena(a, e, true, &eb);
	if (nl <= 0 || el <= 0 || el > 8) {
		snprintf(err, errlen, "'n' and 'e' must be base64url RSA modulus and exponent");
		return -1;
	}
	BIGNUM *bn = BN_bin2bn(nb, (int)nl, NULL), *be = BN_bin2bn(eb, (int)el, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	BN_free(be);
	ERR_clear_error();
	if (!pk) {
		snprintf(err, errlen, "'n' and 'e' do not make an RSA public key");
		return -1;
	}
	return adopt_pkey(a, pk, id, out, err, errlen);
}

int cg_jwt_key_pkey(struct cg_arena *a, EVP_PKEY *pkey, struct cg_str id, struct cg_jwt_key *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!pkey || !EVP_PKEY_up_ref(pkey)) {
		snprintf(err, errlen, "no public key");
		return -1;
	}
	return adopt_pkey(a, pkey, id, out, err, errlen);
}

/* ---- signature ------------------------------------------------------------- */

static bool verify_hmac(const struct cg_jwt_key *k, const EVP_MD *md, struct cg_str input, const unsigned char *sig,
			size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	if (!HMAC(md, k->secret.ptr, (int)k->secret.len, (const unsigned char *)input.ptr, input.len, mac, &ml))
		return false;
	/* The length is public (the algorithm's); the bytes compare in constant time. */
	return ml == siglen && CRYPTO_memcmp(mac, sig, ml) == 0;
}

/* JOSE ECDSA signatures are r || s, each ec_size bytes; OpenSSL wants DER. */
static int ecdsa_der(const unsigned char *sig, size_t siglen, size_t size, unsigned char *der, size_t cap)
{
	if (siglen != 2 * size)
		return -1;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)size, NULL), *s = BN_bin2bn(sig + size, (int)size, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	int n = i2d_ECDSA_SIG(es, NULL);
	unsigned char *q = der;
	if (n <= 0 || (size_t)n > cap || i2d_ECDSA_SIG(es, &q) != n)
		n = -1;
	ECDSA_SIG_free(es);
	return n;
}

static bool verify_pkey(const struct cg_jwt_key *k, const struct alg *al, struct cg_str input,
			const unsigned char *sig, size_t siglen)
{
	unsigned char der[160];
	if (al->fam == FAM_ES) {
		int n = ecdsa_der(sig, siglen, al->ec_size, der, sizeof(der));
		if (n < 0)
			return false;
		sig = der;
		siglen = (size_t)n;
	}
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	bool ok = mc && EVP_DigestVerifyInit(mc, &pc, digest(al->md), NULL, k->pkey) > 0;
	if (ok && al->fam == FAM_PS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0;
	ok = ok && EVP_DigestVerify(mc, sig, siglen, (const unsigned char *)input.ptr, input.len) == 1;
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	return ok;
}

static bool verify_one(const struct cg_jwt_key *k, const struct alg *al, struct cg_str input,
		       const unsigned char *sig, size_t siglen)
{
	if (!key_fits(k, al))
		return false; /* never an RSA key's bytes as an HMAC secret */
	if (al->fam == FAM_HMAC)
		return verify_hmac(k, digest(al->md), input, sig, siglen);
	return verify_pkey(k, al, input, sig, siglen);
}

static struct cg_str json_str(const struct json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? cg_str_make(json_string_value(v), json_string_length(v)) : CG_STR_NULL;
}

/* Tries the keys: those whose id is the token's kid when there are any,
 * else every key that fits the algorithm (APIM: "If no keys match the
 * claim, API Management will attempt each specified key"). */
static enum cg_jwt_reason try_keys(const struct cg_jwt_keys *keys, const struct alg *al, struct cg_str kid,
				   struct cg_str input, const unsigned char *sig, size_t siglen, char *msg,
				   size_t msglen)
{
	size_t fits = 0, by_id = 0;
	for (size_t i = 0; i < keys->n; i++)
		if (key_fits(&keys->items[i], al)) {
			fits++;
			by_id += kid.len && cg_str_eq(keys->items[i].id, kid);
		}
	for (size_t i = 0; i < keys->n; i++) {
		const struct cg_jwt_key *k = &keys->items[i];
		if (by_id && !cg_str_eq(k->id, kid))
			continue;
		if (verify_one(k, al, input, sig, siglen))
			return CG_JWT_OK;
	}
	if (!fits || (kid.len && !by_id)) {
		snprintf(msg, msglen, "Signature validation failed. Unable to match key: kid: '%.*s', algorithm: '%s'.",
			 (int)(kid.len > 100 ? 100 : kid.len), kid.ptr ? kid.ptr : "", al->name);
		return CG_JWT_KEY_NOT_FOUND;
	}
	snprintf(msg, msglen, "Signature validation failed. Keys tried: %zu.", by_id ? by_id : fits);
	return CG_JWT_SIGNATURE_INVALID;
}

enum cg_jwt_reason cg_jwt_check_signature(const struct cg_jwt_keys *keys, struct cg_str token,
					  const struct json_t *header, bool require_signed, char *msg,
					  size_t msglen)
{
	long d1 = cg_str_find_char(token, '.');
	struct cg_str rest = cg_str_sub(token, (size_t)d1 + 1, token.len);
	long d2 = cg_str_find_char(rest, '.');
	if (d1 < 0 || d2 < 0) {
		snprintf(msg, msglen, "The token is not a JWS in compact serialization.");
		return CG_JWT_INVALID;
	}
	struct cg_str input = cg_str_make(token.ptr, (size_t)d1 + 1 + (size_t)d2);
	struct cg_str sigtext = cg_str_sub(rest, (size_t)d2 + 1, rest.len);
	struct cg_str name = json_str(header, "alg");
	if (!name.ptr) {
		snprintf(msg, msglen, "The token header has no 'alg'.");
		return CG_JWT_INVALID;
	}
	if (cg_str_eq_lit(name, "none")) {
		if (require_signed || sigtext.len) {
			snprintf(msg, msglen, "Signature validation failed. The token is not signed ('alg' is 'none').");
			return CG_JWT_SIGNATURE_INVALID;
		}
		return CG_JWT_OK;
	}
	const struct alg *al = find_alg(name);
	if (!al) {
		snprintf(msg, msglen, "Signature validation failed. Algorithm '%.*s' is not supported.",
			 (int)(name.len > 40 ? 40 : name.len), name.ptr);
		return CG_JWT_SIGNATURE_INVALID;
	}
	unsigned char sig[1100]; /* RSA-8192 signatures are 1,024 bytes */
	long sl = sigtext.len / 4 * 3 + 3 <= sizeof(sig) ? cg_b64_decode(sigtext, true, sig) : -1;
	if (sl <= 0) {
		snprintf(msg, msglen, "Signature validation failed. The signature is missing or not base64url.");
		return CG_JWT_SIGNATURE_INVALID;
	}
	return try_keys(keys, al, json_str(header, "kid"), input, sig, (size_t)sl, msg, msglen);
}

/* ---- lifetime -------------------------------------------------------------- */

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/* A NumericDate claim: 0 absent, 1 set (*out), -1 not a number. */
static int numeric_date(const struct json_t *payload, const char *k, int64_t *out)
{
	json_t *v = json_object_get(payload, k);
	if (!v)
		return 0;
	if (!json_is_number(v))
		return -1;
	double d = json_number_value(v);
	if (!(d > -1e15 && d < 1e15))
		return -1;
	*out = (int64_t)d;
	return 1;
}

enum cg_jwt_reason cg_jwt_check_lifetime(const struct json_t *payload, int64_t now, int64_t skew, bool require_exp,
					 char *msg, size_t msglen)
{
	int64_t exp = 0, nbf = 0;
	int he = numeric_date(payload, "exp", &exp), hn = numeric_date(payload, "nbf", &nbf);
	char a[40], b[40];
	fmt_time(now, b, sizeof(b));
	if (he < 0 || hn < 0) {
		snprintf(msg, msglen, "Lifetime validation failed. The '%s' claim is not a NumericDate.",
			 he < 0 ? "exp" : "nbf");
		return CG_JWT_INVALID;
	}
	if (!he && require_exp) {
		snprintf(msg, msglen, "Lifetime validation failed. The token is missing an Expiration Time.");
		return CG_JWT_INVALID;
	}
	if (he && hn && nbf > exp) {
		snprintf(msg, msglen, "Lifetime validation failed. The NotBefore is after the Expiration Time.");
		return CG_JWT_INVALID;
	}
	if (hn && now + skew < nbf) {
		fmt_time(nbf, a, sizeof(a));
		snprintf(msg, msglen, "Lifetime validation failed. The token is not yet valid. ValidFrom: '%s', Current time: '%s'.",
			 a, b);
		return CG_JWT_INVALID;
	}
	if (he && now - skew > exp) {
		fmt_time(exp, a, sizeof(a));
		snprintf(msg, msglen, "Lifetime validation failed. The token is expired. ValidTo: '%s', Current time: '%s'.",
			 a, b);
		return CG_JWT_EXPIRED;
	}
	return CG_JWT_OK;
}

/* ---- build ------------------------------------------------------------------ */

static const struct cg_pol_node *child(const struct cg_pol_node *n, const char *name)
{
	for (const struct cg_pol_node *c = n->children; c; c = c->next)
		if (cg_str_eq(c->name, cg_str_from_c(name)))
			return c;
	return NULL;
}

static int build_key(struct cg_arena *a, const struct cg_pol_node *k, struct cg_jwt_key *out,
		     const struct cg_snapshot *snap, char *err, size_t errlen)
{
	const struct cg_pol_attr *id = cg_pol_attr_get(k, "id"), *n = cg_pol_attr_get(k, "n"),
				 *e = cg_pol_attr_get(k, "e"), *cid = cg_pol_attr_get(k, "certificate-id");
	struct cg_str kid = id ? id->value : CG_STR_NULL;
	char e2[200];
	int rc;
	if (cid) {
		X509 *x = cg_snapshot_cert_x509(snap, cid->value);
		if (!x) {
			snprintf(err, errlen, "%u:%u: validate-jwt: certificate '%.*s' not found", k->pos.line, k->pos.col,
				 CG_STR_FMT(cid->value));
			return -1;
		}
		rc = cg_jwt_key_pkey(a, X509_get0_pubkey(x), kid, out, e2, sizeof(e2));
	} else if (n && e) {
		rc = cg_jwt_key_rsa(a, n->value, e->value, kid, out, e2, sizeof(e2));
	} else {
		rc = cg_jwt_key_hmac(a, k->text, kid, out, e2, sizeof(e2));
	}
	if (rc != 0)
		snprintf(err, errlen, "%u:%u: validate-jwt: %s", k->pos.line, k->pos.col, e2);
	return rc;
}

int cg_jwt_build(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st, struct cg_snapshot *snap,
		 char *err, size_t errlen)
{
	struct cg_jwt *j = cg_arena_zalloc(a, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->jwt = j;
	j->audiences = child(n, "audiences");
	j->issuers = child(n, "issuers");
	j->claims = child(n, "required-claims");
	j->header = cg_pol_attr_get(n, "header-name");
	j->query = cg_pol_attr_get(n, "query-parameter-name");
	j->value = cg_pol_attr_get(n, "token-value");
	j->code = cg_pol_attr_get(n, "failed-validation-httpcode");
	j->message = cg_pol_attr_get(n, "failed-validation-error-message");
	j->require_exp = cg_pol_attr_get(n, "require-expiration-time");
	j->scheme = cg_pol_attr_get(n, "require-scheme");
	j->require_signed = cg_pol_attr_get(n, "require-signed-tokens");
	j->skew = cg_pol_attr_get(n, "clock-skew");
	j->output = cg_pol_attr_get(n, "output-token-variable-name");
	for (const struct cg_pol_node *c = n->children; c; c = c->next) {
		const struct cg_pol_attr *url = cg_pol_attr_get(c, "url");
		char u[1024], e[200];
		if (!cg_str_eq_lit(c->name, "openid-config") || !url || j->num_oidc == CG_POL_JWT_MAX_OPENID)
			continue;
		snprintf(u, sizeof(u), "%.*s", CG_STR_FMT(url->value));
		if (cg_oidc_register(u, &j->oidc[j->num_oidc++], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%u:%u: validate-jwt: %s", c->pos.line, c->pos.col, e);
			return -1;
		}
	}
	const struct cg_pol_node *ks = child(n, "issuer-signing-keys");
	if (!ks)
		return 0;
	j->keys.items = cg_arena_zalloc(a, sizeof(*j->keys.items) * (ks->num_children + 1));
	if (!j->keys.items) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const struct cg_pol_node *k = ks->children; k; k = k->next)
		if (build_key(a, k, &j->keys.items[j->keys.n++], snap, err, errlen) != 0)
			return -1;
	return 0;
}

/* ---- run -------------------------------------------------------------------- */

/* A failure: the policy's status and message (APIM's default messages:
 * "JWT not present." for a missing token, "Invalid JWT." otherwise). */
static enum cg_pipe_rc fail(struct cg_pipe *p, const struct cg_step *st, enum cg_jwt_reason r, const char *msg)
{
	const struct cg_jwt *j = st->jwt;
	int64_t code;
	struct cg_str body = CG_STR_NULL;
	enum cg_pipe_rc rc = cg_pipe_attr_int(p, st, j->code, 401, 100, 599, &code);
	if (rc == CG_PIPE_CONTINUE && j->message)
		rc = cg_pipe_attr_str(p, st, j->message, &body);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	char bm[512];
	if (j->message)
		snprintf(bm, sizeof(bm), "%.*s", (int)(body.len > 500 ? 500 : body.len), body.ptr ? body.ptr : "");
	else
		snprintf(bm, sizeof(bm), "%s", r == CG_JWT_NOT_PRESENT ? "JWT not present." : "Invalid JWT.");
	char lm[400];
	if (r == CG_JWT_NOT_PRESENT || r == CG_JWT_INVALID || r == CG_JWT_CLAIM_NOT_FOUND || r == CG_JWT_CLAIM_VALUE)
		snprintf(lm, sizeof(lm), "%s", msg);
	else
		snprintf(lm, sizeof(lm), "%s Access denied.", msg);
	return cg_pipe_step_error(p, st, cg_jwt_reason_name(r), lm, (int)code, bm);
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A query parameter's value, percent-decoded ('+' is a space). */
static int query_param(const struct cg_pipe *p, struct cg_str name, struct cg_arena *a, struct cg_str *out)
{
	struct cg_str raw;
	if (!cg_pipe_query_param(p, name, &raw))
		return 0;
	char *buf = cg_arena_alloc(a, raw.len + 1);
	if (!buf)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < raw.len; i++) {
		int hi, lo;
		if (raw.ptr[i] == '%' && i + 2 < raw.len && (hi = hex(raw.ptr[i + 1])) >= 0 &&
		    (lo = hex(raw.ptr[i + 2])) >= 0) {
			buf[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			buf[o++] = raw.ptr[i] == '+' ? ' ' : raw.ptr[i];
		}
	}
	*out = cg_str_make(buf, o);
	return 1;
}

/* The token from the header (Authorization: "<scheme> <token>"), the
 * query parameter or the expression. An empty result: not present. */
static enum cg_pipe_rc get_token(struct cg_pipe *p, const struct cg_step *st, struct cg_str *tok)
{
	const struct cg_jwt *j = st->jwt;
	struct cg_str name, v = CG_STR_NULL;
	enum cg_pipe_rc rc;
	*tok = CG_STR_NULL;
	if (j->value) {
		rc = cg_pipe_attr_str(p, st, j->value, &v);
		*tok = cg_str_trim_space(v);
		return rc;
	}
	if ((rc = cg_pipe_attr_str(p, st, j->header ? j->header : j->query, &name)) != CG_PIPE_CONTINUE)
		return rc;
	if (j->query) {
		if (query_param(p, name, p->arena, &v) < 0)
			return CG_PIPE_NOMEM;
		*tok = cg_str_trim_space(v);
		return CG_PIPE_CONTINUE;
	}
	const struct cg_expr_header *h = NULL;
	for (size_t i = 0; i < p->req_hdrs.n; i++)
		if (cg_str_ieq(p->req_hdrs.items[i].name, name)) {
			if (h) /* two of them: which one the backend reads is unknown */
				return fail(p, st, CG_JWT_INVALID, "The token header appears more than once.");
			h = &p->req_hdrs.items[i];
		}
	if (!h)
		return CG_PIPE_CONTINUE;
	v = cg_str_trim_space(h->value);
	if (!cg_str_ieq_lit(name, "Authorization")) {
		*tok = v; /* APIM: require-scheme applies to Authorization only */
		return CG_PIPE_CONTINUE;
	}
	struct cg_str want = CG_STR("Bearer");
	if (j->scheme && (rc = cg_pipe_attr_str(p, st, j->scheme, &want)) != CG_PIPE_CONTINUE)
		return rc;
	long sp = cg_str_find_char(v, ' ');
	if (sp < 0) {
		/* A bare token, accepted only when no scheme is required. */
		*tok = j->scheme ? CG_STR_NULL : v;
		return CG_PIPE_CONTINUE;
	}
	if (cg_str_ieq(cg_str_make(v.ptr, (size_t)sp), cg_str_trim_space(want)))
		*tok = cg_str_trim_space(cg_str_sub(v, (size_t)sp + 1, v.len));
	return CG_PIPE_CONTINUE;
}

/* One of the allowed values of a list (<audiences>, <issuers>) is the
 * token's value v: a string, or (aud) an array of strings. Each allowed
 * value (an expression maybe) is evaluated once. */
static enum cg_pipe_rc list_has(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_node *list,
				const struct json_t *v, bool *found)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	*found = false;
	for (const struct cg_pol_node *c = list->children; c && !*found; c = c->next) {
		struct cg_str want;
		enum cg_pipe_rc rc = cg_pipe_text_str(p, st, c, &want);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		want = cg_str_trim_space(want);
		for (size_t i = 0; i < n && !*found; i++) {
			json_t *x = json_is_array(v) ? json_array_get(v, i) : (json_t *)v;
			*found = json_is_string(x) &&
				 cg_str_eq(cg_str_make(json_string_value(x), json_string_length(x)), want);
		}
	}
	return CG_PIPE_CONTINUE;
}

static enum cg_pipe_rc check_audience(struct cg_pipe *p, const struct cg_step *st, const struct json_t *payload)
{
	json_t *aud = json_object_get(payload, "aud");
	bool found;
	enum cg_pipe_rc rc = list_has(p, st, st->jwt->audiences, aud, &found);
	if (rc != CG_PIPE_CONTINUE || found)
		return rc;
	char msg[300], *text = aud ? json_dumps(aud, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	snprintf(msg, sizeof(msg), "Audience validation failed. Audiences: '%.200s'. Did not match an allowed audience.",
		 text ? text : "");
	free(text);
	return fail(p, st, CG_JWT_AUDIENCE, msg);
}

/* iss: one of <issuers>, or the issuer of an openid-config's discovery
 * document (oiss[0..n)). Checked when either exists. */
static enum cg_pipe_rc check_issuer(struct cg_pipe *p, const struct cg_step *st, const struct json_t *payload,
				    const struct cg_str *oiss, size_t n)
{
	struct cg_str iss = json_str(payload, "iss");
	json_t *v = json_object_get(payload, "iss");
	bool found = false, any = st->jwt->issuers != NULL;
	for (size_t i = 0; i < n && !found; i++) {
		any |= oiss[i].len > 0;
		found = oiss[i].len && iss.ptr && cg_str_eq(oiss[i], iss);
	}
	enum cg_pipe_rc rc = CG_PIPE_CONTINUE;
	if (!found && st->jwt->issuers)
		rc = list_has(p, st, st->jwt->issuers, json_is_string(v) ? v : NULL, &found);
	if (rc != CG_PIPE_CONTINUE || found || !any)
		return rc;
	char msg[300];
	snprintf(msg, sizeof(msg), "Issuer validation failed. Issuer: '%.*s'. Did not match an allowed issuer.",
		 (int)(iss.len > 200 ? 200 : iss.len), iss.ptr ? iss.ptr : "");
	return fail(p, st, CG_JWT_ISSUER, msg);
}

/* The signature against the policy's keys and the openid-config sources'
 * current keys; their issuers are copied to oiss for the issuer check. */
static enum cg_pipe_rc check_signature(struct cg_pipe *p, const struct cg_step *st, struct cg_str tok,
				       const struct cg_expr_value *jwt, bool req_signed, struct cg_str *oiss,
				       enum cg_jwt_reason *r, char *msg, size_t msglen)
{
	const struct cg_jwt *j = st->jwt;
	struct cg_oidc_keys *src[CG_POL_JWT_MAX_OPENID];
	struct cg_jwt_keys all = j->keys;
	size_t total = j->keys.n;
	for (size_t i = 0; i < j->num_oidc; i++) {
		src[i] = cg_oidc_get(j->oidc[i]);
		total += src[i] ? src[i]->keys.n : 0;
		oiss[i] = src[i] ? cg_arena_strdup_str(p->arena, src[i]->issuer) : CG_STR_NULL;
	}
	if (total > j->keys.n) {
		all.items = cg_arena_alloc(p->arena, sizeof(*all.items) * total);
		all.n = 0;
		for (size_t i = 0; all.items && i < j->keys.n; i++)
			all.items[all.n++] = j->keys.items[i];
		for (size_t i = 0; all.items && i < j->num_oidc; i++)
			for (size_t k = 0; src[i] && k < src[i]->keys.n; k++)
				all.items[all.n++] = src[i]->keys.items[k];
	}
	if (all.items || !total)
		*r = cg_jwt_check_signature(&all, tok, cg_expr_jwt_header(jwt), req_signed, msg, msglen);
	for (size_t i = 0; i < j->num_oidc; i++) {
		cg_oidc_put(src[i]);
		if (all.items && *r == CG_JWT_KEY_NOT_FOUND)
			cg_oidc_kid_miss(j->oidc[i]); /* keys may have rotated */
	}
	return all.items || !total ? CG_PIPE_CONTINUE : CG_PIPE_NOMEM;
}

/* One of the token's values of a claim (split by sep when given) is want. */
static bool claim_has(const struct cg_expr_headers *cl, struct cg_str name, struct cg_str sep, struct cg_str want)
{
	for (size_t i = 0; i < cl->n; i++) {
		if (!cg_str_eq(cl->items[i].name, name))
			continue;
		struct cg_str v = cl->items[i].value;
		while (sep.len) {
			const char *at = memmem(v.ptr, v.len, sep.ptr, sep.len);
			if (!at)
				break;
			if (cg_str_eq(cg_str_make(v.ptr, (size_t)(at - v.ptr)), want))
				return true;
			v = cg_str_sub(v, (size_t)(at - v.ptr) + sep.len, v.len);
		}
		if (cg_str_eq(v, want))
			return true;
	}
	return false;
}

static const struct cg_expr_header *claim_first(const struct cg_expr_headers *cl, struct cg_str name)
{
	for (size_t i = 0; i < cl->n; i++)
		if (cg_str_eq(cl->items[i].name, name))
			return &cl->items[i];
	return NULL;
}

/* match="all": every listed value is among the token's; "any": one is. */
static enum cg_pipe_rc claim_values_ok(struct cg_pipe *p, const struct cg_step *st, const struct cg_pol_node *c,
				       const struct cg_expr_headers *cl, bool *ok)
{
	const struct cg_pol_attr *m = cg_pol_attr_get(c, "match"), *sep = cg_pol_attr_get(c, "separator");
	bool any = m && cg_str_eq_lit(m->value, "any");
	struct cg_str name = cg_pol_attr_get(c, "name")->value;
	*ok = !any || !c->num_children;
	for (const struct cg_pol_node *v = c->children; v; v = v->next) {
		struct cg_str want;
		enum cg_pipe_rc rc = cg_pipe_text_str(p, st, v, &want);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		bool has = claim_has(cl, name, sep ? sep->value : CG_STR_NULL, want);
		if (any && has) {
			*ok = true;
			return CG_PIPE_CONTINUE;
		}
		if (!any && !has) {
			*ok = false;
			return CG_PIPE_CONTINUE;
		}
	}
	return CG_PIPE_CONTINUE;
}

static enum cg_pipe_rc check_claims(struct cg_pipe *p, const struct cg_step *st, const struct cg_expr_value *jwt)
{
	const struct cg_expr_headers *cl = cg_expr_jwt_claim_list(jwt);
	char msg[400];
	size_t k = (size_t)snprintf(msg, sizeof(msg), "JWT token is missing the following claims: ");
	bool missing = false;
	for (const struct cg_pol_node *c = st->jwt->claims->children; c; c = c->next) {
		struct cg_str name = cg_pol_attr_get(c, "name")->value;
		if (claim_first(cl, name))
			continue;
		if (k < sizeof(msg))
			k += (size_t)snprintf(msg + k, sizeof(msg) - k, "%s%.*s", missing ? ", " : "",
					      (int)(name.len > 60 ? 60 : name.len), name.ptr);
		missing = true;
	}
	if (missing) {
		if (k < sizeof(msg))
			snprintf(msg + k, sizeof(msg) - k, ". Access denied.");
		return fail(p, st, CG_JWT_CLAIM_NOT_FOUND, msg);
	}
	for (const struct cg_pol_node *c = st->jwt->claims->children; c; c = c->next) {
		bool ok;
		enum cg_pipe_rc rc = claim_values_ok(p, st, c, cl, &ok);
		if (rc != CG_PIPE_CONTINUE)
			return rc;
		if (ok)
			continue;
		struct cg_str name = cg_pol_attr_get(c, "name")->value;
		struct cg_str v = claim_first(cl, name)->value;
		snprintf(msg, sizeof(msg), "Claim %.*s value of %.*s is not allowed. Access denied.",
			 (int)(name.len > 60 ? 60 : name.len), name.ptr, (int)(v.len > 200 ? 200 : v.len), v.ptr);
		return fail(p, st, CG_JWT_CLAIM_VALUE, msg);
	}
	return CG_PIPE_CONTINUE;
}

/* The token is parsed (a Jwt value) and has exactly three parts. */
static enum cg_pipe_rc parse_token(struct cg_pipe *p, const struct cg_step *st, struct cg_str tok,
				   struct cg_expr_value *jwt)
{
	struct cg_expr_ctx ectx = { .arena = p->arena };
	struct cg_expr_error e;
	if (cg_expr_jwt_parse(&ectx, tok, jwt, &e) != 0)
		return e.status == CG_EXPR_NOMEM ? CG_PIPE_NOMEM
						 : fail(p, st, CG_JWT_INVALID, "The token is too large.");
	size_t dots = 0;
	for (size_t i = 0; i < tok.len; i++)
		dots += tok.ptr[i] == '.';
	if (jwt->kind != CG_EXPR_V_OBJ || dots != 2)
		return fail(p, st, CG_JWT_INVALID,
			    dots == 4 ? "Encrypted tokens (JWE) are not supported."
				      : "The token is not a JWT in JWS compact serialization.");
	return CG_PIPE_CONTINUE;
}

enum cg_pipe_rc cg_jwt_run(struct cg_pipe *p, const struct cg_step *st)
{
	const struct cg_jwt *j = st->jwt;
	struct cg_str tok;
	struct cg_expr_value jwt;
	bool req_exp, req_signed;
	int64_t skew;
	char msg[400];
	enum cg_pipe_rc rc = get_token(p, st, &tok);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	if (!tok.len)
		return fail(p, st, CG_JWT_NOT_PRESENT, "JWT not present.");
	if ((rc = parse_token(p, st, tok, &jwt)) != CG_PIPE_CONTINUE ||
	    (rc = cg_pipe_attr_bool(p, st, j->require_signed, true, &req_signed)) != CG_PIPE_CONTINUE ||
	    (rc = cg_pipe_attr_bool(p, st, j->require_exp, true, &req_exp)) != CG_PIPE_CONTINUE ||
	    (rc = cg_pipe_attr_int(p, st, j->skew, 0, 0, 86400 * 365, &skew)) != CG_PIPE_CONTINUE)
		return rc;
	enum cg_jwt_reason r = CG_JWT_OK;
	struct cg_str oiss[CG_POL_JWT_MAX_OPENID];
	if ((rc = check_signature(p, st, tok, &jwt, req_signed, oiss, &r, msg, sizeof(msg))) != CG_PIPE_CONTINUE)
		return rc;
	if (r == CG_JWT_OK)
		r = cg_jwt_check_lifetime(cg_expr_jwt_payload(&jwt), (int64_t)time(NULL), skew, req_exp, msg,
					  sizeof(msg));
	if (r != CG_JWT_OK)
		return fail(p, st, r, msg);
	if ((j->audiences && (rc = check_audience(p, st, cg_expr_jwt_payload(&jwt))) != CG_PIPE_CONTINUE) ||
	    (rc = check_issuer(p, st, cg_expr_jwt_payload(&jwt), oiss, j->num_oidc)) != CG_PIPE_CONTINUE ||
	    (j->claims && (rc = check_claims(p, st, &jwt)) != CG_PIPE_CONTINUE))
		return rc;
	if (j->output && cg_expr_vars_set(&p->vars, p->arena, j->output->value, &jwt) != 0)
		return CG_PIPE_NOMEM;
	return CG_PIPE_CONTINUE;
}

/* ---- authentication-basic ---------------------------------------------------- */

enum cg_pipe_rc cg_auth_basic_run(struct cg_pipe *p, const struct cg_step *st)
{
	struct cg_str user, pass;
	enum cg_pipe_rc rc = cg_pipe_attr_str(p, st, st->a[0], &user);
	if (rc == CG_PIPE_CONTINUE)
		rc = cg_pipe_attr_str(p, st, st->a[1], &pass);
	if (rc != CG_PIPE_CONTINUE)
		return rc;
	size_t n = user.len + 1 + pass.len;
	char *plain = cg_arena_alloc(p->arena, n);
	char *val = cg_arena_alloc(p->arena, 6 + (n + 2) / 3 * 4 + 1);
	if (!plain || !val)
		return CG_PIPE_NOMEM;
	if (user.len)
		memcpy(plain, user.ptr, user.len);
	plain[user.len] = ':';
	if (pass.len)
		memcpy(plain + user.len + 1, pass.ptr, pass.len);
	memcpy(val, "Basic ", 6);
	int el = EVP_EncodeBlock((unsigned char *)val + 6, (const unsigned char *)plain, (int)n);
	OPENSSL_cleanse(plain, n);
	cg_hlist_remove(&p->req_hdrs, CG_STR("Authorization"));
	if (el < 0 || cg_hlist_add(&p->req_hdrs, p->arena, CG_STR("Authorization"), cg_str_make(val, 6 + (size_t)el)) != 0)
		return CG_PIPE_NOMEM;
	p->reqv.headers.items = p->req_hdrs.items;
	p->reqv.headers.n = p->req_hdrs.n;
	return CG_PIPE_CONTINUE;
}

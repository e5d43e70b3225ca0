/* validate-jwt and authentication-basic (APIM).
 *
 * validate-jwt checks a compact JWS: its signature against the policy's
 * issuer-signing-keys (HMAC, RSA PKCS#1 v1.5 and PSS, ECDSA; OpenSSL EVP),
 * exp / nbf with clock-skew, audiences, issuers and required claims, in
 * that order, and on success may give the token to later expressions as a
 * Jwt variable. Keys are built once per snapshot (cg_jwt_build); a
 * request only verifies. The token's "alg" picks the algorithm, never the
 * key type: an HMAC token is only checked against symmetric keys, an RS/PS
 * token against RSA keys, an ES token against EC keys of its curve, so
 * an RSA public key can never serve as an HMAC secret.
 * docs/policy-runtime.md has the failure statuses and messages. */
#ifndef CG_GW_JWT_H
#define CG_GW_JWT_H

#include <openssl/evp.h>

#include "gw/pipeline.h"

struct json_t;
struct cg_snapshot;
struct cg_oidc_source;

enum cg_jwt_key_type {
	CG_JWT_KEY_HMAC = 0,
	CG_JWT_KEY_RSA,
	CG_JWT_KEY_EC,
};

struct cg_jwt_key {
	enum cg_jwt_key_type type;
	struct cg_str id;     /* the key's id attribute, matched with the token's kid; may be empty */
	struct cg_str secret; /* HMAC: the key bytes */
	EVP_PKEY *pkey;       /* RSA / EC: the public key (released with the arena) */
	size_t ec_size;       /* EC: bytes of one coordinate (32, 48, 66) */
};

struct cg_jwt_keys {
	struct cg_jwt_key *items;
	size_t n;
};

/* The reasons of apim.md §1.6, in LastError.Reason. */
enum cg_jwt_reason {
	CG_JWT_OK = 0,
	CG_JWT_NOT_PRESENT,
	CG_JWT_SIGNATURE_INVALID,
	CG_JWT_AUDIENCE,
	CG_JWT_ISSUER,
	CG_JWT_EXPIRED,
	CG_JWT_KEY_NOT_FOUND,
	CG_JWT_CLAIM_NOT_FOUND,
	CG_JWT_CLAIM_VALUE,
	CG_JWT_INVALID,
};

/* "TokenNotPresent", "TokenSignatureInvalid", ... "JwtInvalid". */
const char *cg_jwt_reason_name(enum cg_jwt_reason r);

/* Keys. Each returns 0 with *out filled (memory and the EVP_PKEY's release
 * in arena), or -1 with err.
 * hmac: b64 is standard base64 of at least CG_POL_JWT_MIN_HMAC_KEY bytes.
 * rsa: n and e in base64url (modulus of at least CG_POL_JWT_MIN_RSA_BITS).
 * pkey: an RSA (>= CG_POL_JWT_MIN_RSA_BITS) or EC P-256/P-384/P-521
 * public key, e.g. an uploaded certificate's; the key takes its own
 * reference. */
int cg_jwt_key_hmac(struct cg_arena *a, struct cg_str b64, struct cg_str id, struct cg_jwt_key *out, char *err,
		    size_t errlen);
int cg_jwt_key_rsa(struct cg_arena *a, struct cg_str n, struct cg_str e, struct cg_str id, struct cg_jwt_key *out,
		   char *err, size_t errlen);
int cg_jwt_key_pkey(struct cg_arena *a, EVP_PKEY *pkey, struct cg_str id, struct cg_jwt_key *out, char *err,
		    size_t errlen);

/* Checks the signature of token ("header.payload.signature", exactly three
 * parts) whose parsed header is header. require_signed: "alg": "none" is
 * refused (else accepted only with an empty signature). Returns CG_JWT_OK
 * or the reason, with a message for LastError in msg. */
enum cg_jwt_reason cg_jwt_check_signature(const struct cg_jwt_keys *keys, struct cg_str token,
					  const struct json_t *header, bool require_signed, char *msg,
					  size_t msglen);

/* exp and nbf (NumericDate seconds) against now, with skew seconds of
 * tolerance each way. require_exp: a token without exp is refused. */
enum cg_jwt_reason cg_jwt_check_lifetime(const struct json_t *payload, int64_t now, int64_t skew, bool require_exp,
					 char *msg, size_t msglen);

/* validate-jwt's configuration, built once per snapshot. */
struct cg_jwt {
	struct cg_jwt_keys keys;
	const struct cg_pol_node *audiences;  /* <audiences>, or NULL: not checked */
	const struct cg_pol_node *issuers;    /* <issuers>, or NULL */
	const struct cg_pol_node *claims;     /* <required-claims>, or NULL */
	/* <openid-config> key sources (gw/oidc.h); a NULL entry: fetching is
	 * off (not `certgate serve`), so it never has keys */
	struct cg_oidc_source *oidc[CG_POL_JWT_MAX_OPENID];
	size_t num_oidc;
	/* the attributes (NULL when absent), looked up once */
	const struct cg_pol_attr *header, *query, *value, *code, *message, *require_exp, *scheme,
		*require_signed, *skew, *output;
};

/* Pipeline hooks (pipeline.c dispatches here). */
int cg_jwt_build(struct cg_arena *a, const struct cg_pol_node *n, struct cg_step *st, struct cg_snapshot *snap,
		 char *err, size_t errlen);
enum cg_pipe_rc cg_jwt_run(struct cg_pipe *p, const struct cg_step *st);
/* authentication-basic: Authorization: Basic base64(username:password). */
enum cg_pipe_rc cg_auth_basic_run(struct cg_pipe *p, const struct cg_step *st);

#endif

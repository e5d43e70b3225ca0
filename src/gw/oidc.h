/* validate-jwt <openid-config url="..."/>: OpenID Connect discovery
 * documents and the JSON Web Key Sets they name, fetched off the request
 * path and cached for the process (across configuration snapshots).
 *
 * - One background thread fetches every registered URL: the discovery
 *   document (https only), then its jwks_uri (https only); RSA and EC
 *   (P-256, P-384, P-521) signing keys are kept, symmetric and other keys
 *   are skipped (a key set fetched over the network never holds an HMAC
 *   secret). Fetches are bounded (CG_OIDC_TIMEOUT_MS, CG_OIDC_MAX_BYTES)
 *   and verify the server's certificate and name (system CA store).
 * - A good fetch replaces the source's key set; a failed one keeps the
 *   previous set and retries with doubling back-off (1 s .. min_refetch).
 * - Refresh every refresh interval (APIM: 1 hour); a token whose kid is not
 *   in the set asks for a fetch, at most once per min_refetch (APIM:
 *   5 minutes). The request that asked fails now (TokenSignatureKeyNotFound);
 *   later ones see the new keys.
 * - Until the first good fetch a source has no keys: tokens that need
 *   them are refused (fail closed).
 * - Only `certgate serve` enables fetching (cg_oidc_enable); elsewhere
 *   (CLI checks, unit tests) sources register nothing and have no keys.
 *
 * Threads: every function is safe from any thread. */
#ifndef CG_GW_OIDC_H
#define CG_GW_OIDC_H

#include <stdatomic.h>

#include "base/arena.h"
#include "gw/jwt.h"

#define CG_OIDC_MAX_SOURCES 64            /* distinct openid-config URLs per process */
#define CG_OIDC_MAX_BYTES (1024u * 1024u) /* a discovery document or a JWKS */
#define CG_OIDC_MAX_KEYS 64               /* keys kept from one JWKS */
#define CG_OIDC_TIMEOUT_MS 10000          /* one fetch, connect to last byte */
#define CG_OIDC_REFRESH_S 3600            /* default refresh interval (APIM) */
#define CG_OIDC_MIN_REFETCH_S 300         /* kid misses ask at most this often (APIM) */

/* One fetched key set: immutable, refcounted. */
struct cg_oidc_keys {
	atomic_int refs;
	struct cg_arena arena;
	struct cg_jwt_keys keys;
	struct cg_str issuer; /* the discovery document's issuer ("" when absent) */
};

struct cg_oidc_source;

/* Turns fetching on (certgate serve), with the refresh interval in seconds
 * (0: CG_OIDC_REFRESH_S); kid misses refetch at most every
 * min(refresh, CG_OIDC_MIN_REFETCH_S) seconds. The thread starts with the
 * first registration. */
void cg_oidc_enable(uint32_t refresh_s);

/* The source for url (registered once per process; later calls return the
 * same source). NULL when fetching is not enabled. -1 with err when the
 * table is full. */
int cg_oidc_register(const char *url, struct cg_oidc_source **out, char *err, size_t errlen);

/* Request path: the source's current key set (a reference: give it back
 * with cg_oidc_put), or NULL before the first good fetch. A lock and an
 * increment; never I/O. */
struct cg_oidc_keys *cg_oidc_get(struct cg_oidc_source *s);
void cg_oidc_put(struct cg_oidc_keys *k);

/* Request path: a token named a kid the set does not hold; the thread
 * fetches again unless it did within the minimum interval. */
void cg_oidc_kid_miss(struct cg_oidc_source *s);

/* Parsing, exported for tests. A discovery document: *jwks_uri and
 * *issuer point into a (copies). A JWKS: the usable keys into out (arena
 * a), at most CG_OIDC_MAX_KEYS. Each returns 0, or -1 with err. */
int cg_oidc_parse_discovery(struct cg_arena *a, struct cg_str json, struct cg_str *jwks_uri, struct cg_str *issuer,
			    char *err, size_t errlen);
int cg_oidc_parse_jwks(struct cg_arena *a, struct cg_str json, struct cg_jwt_keys *out, char *err, size_t errlen);

#endif

/* The CA trust store and client-certificate chain verification.
 *
 * The TLS handshake accepts any client chain (tls.h); trust is decided
 * here, when a policy asks: .NET Verify()/VerifyNoRevocation() and
 * validate-client-certificate (vcc.h). A store is built once per
 * configuration snapshot from the uploaded CA certificates and CRLs, then
 * shared read-only by all workers; every call builds its own
 * X509_STORE_CTX. Results are cached per worker (cg_trust_cache_*), keyed
 * by the leaf, the client's chain, the store generation and the flags.
 *
 * What we chose (APIM is silent; docs/client-certificates.md):
 * - Roots are trust anchors ("Root" store, gateway CA isTrusted=true);
 *   intermediates only help build paths ("CertificateAuthority",
 *   isTrusted=false). No system trust store, no partial chains: a path
 *   must end at a root of this store.
 * - No purpose/EKU check (purpose "any"): APIM accepts client certificates
 *   without the clientAuth extended key usage. CA certificates in the
 *   path must still be CAs (basicConstraints CA:TRUE).
 * - Revocation uses uploaded CRLs and, for issuers without one, CRLs
 *   fetched in the background from crlDistributionPoints when a fetcher
 *   is set (cg_trust_set_crl_source, crl.h); verification itself never
 *   touches the network. It covers the leaf and intermediates, not roots.
 *   A missing, expired or not-yet-valid CRL is REVOCATION_UNKNOWN: fail
 *   closed unless CG_TRUST_REVOCATION_FAIL_OPEN or the store's fail-open.
 *
 * Cost: see docs/client-certificates.md ("Cost"); a cache hit is a hash
 * lookup and a copy. */
#ifndef CG_TLS_TRUST_H
#define CG_TLS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/arena.h"
#include "base/str.h"
#include "tls/trust-t.h"

/* A new, empty store with this generation (the caller's snapshot or
 * CA-store version: results cached under an older generation are never
 * returned for this store). Its OpenSSL objects are freed by a cleanup on
 * arena a (the snapshot's); the store lives as long as a. NULL on out of
 * memory. */
struct cg_trust *cg_trust_new(struct cg_arena *a, uint64_t generation);

/* Adds a CA certificate. root: a trust anchor; false: an intermediate,
 * used only to build paths. ca is borrowed (the store takes a reference).
 * Refuses (returns -1, message in err): a certificate that is not a CA
 * ("certificate 'CN=x' is not a CA (basicConstraints CA:FALSE)" or "(no
 * basicConstraints extension)"), a root that is not self-signed
 * ("certificate 'CN=x' is not self-signed: add it as an intermediate, not
 * a root"; partial chains are off), more than CG_TRUST_MAX_CAS, a store that
 * is finished, NULL. The same certificate twice is accepted once. */
int cg_trust_add_ca(struct cg_trust *t, X509 *ca, bool root, char *err, size_t errlen);

/* Adds an uploaded CRL. Add the CA certificates first: the CRL must be
 * signed by a certificate of this store whose subject is the CRL's issuer,
 * else it is refused ("CRL issuer 'CN=x' is not a CA certificate of this
 * store", "CRL signature does not verify with the key of 'CN=x'"). Also
 * refuses more than CG_TRUST_MAX_CRLS and a finished store. crl is
 * borrowed (the store takes a reference). A CRL with no nextUpdate never
 * goes stale (OpenSSL's rule). */
int cg_trust_add_crl(struct cg_trust *t, X509_CRL *crl, char *err, size_t errlen);

/* The same for uploaded bytes: PEM ("-----BEGIN ...", the first block)
 * or DER. Errors besides the above: "empty certificate", "invalid
 * certificate (neither PEM nor DER)", "empty CRL", "invalid CRL (neither
 * PEM nor DER)". */
int cg_trust_add_ca_data(struct cg_trust *t, struct cg_str data, bool root, char *err, size_t errlen);
int cg_trust_add_crl_data(struct cg_trust *t, struct cg_str data, char *err, size_t errlen);

/* Fetched CRLs (crl.h): for an issuer of this store without an uploaded
 * CRL, revocation uses the CRL fetcher f has cached for the
 * certificate's crlDistributionPoints; none cached yet is
 * REVOCATION_UNKNOWN (and the fetch is started in the background). An
 * uploaded CRL for the issuer always wins, fresh or stale. f is borrowed
 * and must outlive the store; NULL (the default) means uploaded CRLs only.
 * Cached results (cg_trust_cache_verify) end at the fetched CRL's
 * nextUpdate and whenever the fetcher replaces a CRL. Call before
 * cg_trust_finish; -1 on a finished store or NULL t. */
struct cg_crl_fetcher;
int cg_trust_set_crl_source(struct cg_trust *t, struct cg_crl_fetcher *f);

/* Gateway-wide fail-open (P5): when true, every verification with
 * CG_TRUST_CHECK_REVOCATION on this store behaves as if
 * CG_TRUST_REVOCATION_FAIL_OPEN were passed (unknown revocation passes,
 * result.revocation_skipped says so; a revoked certificate still fails).
 * Default false: fail closed. Call before cg_trust_finish; -1 on a
 * finished store or NULL t. */
int cg_trust_set_revocation_fail_open(struct cg_trust *t, bool fail_open);
/* The setting above (false for NULL): for callers that decide revocation
 * themselves (validate-revocation without validate-trust). */
bool cg_trust_revocation_fail_open(const struct cg_trust *t);

/* Freezes the store. After this only the read-only functions below may be
 * used, from any thread. Returns 0, or -1 on out of memory. */
int cg_trust_finish(struct cg_trust *t, char *err, size_t errlen);

uint64_t cg_trust_generation(const struct cg_trust *t);
size_t cg_trust_num_cas(const struct cg_trust *t);
size_t cg_trust_num_crls(const struct cg_trust *t);
/* The i-th CA certificate (in the order added; borrowed, lives as long as
 * t), NULL past the end. For issuer look-ups that do not build a path. */
X509 *cg_trust_ca_at(const struct cg_trust *t, size_t i);
/* The earliest nextUpdate of the store's CRLs (UTC seconds), INT64_MAX
 * when none: alarm before it (stale CRLs fail closed). */
int64_t cg_trust_crl_next_update(const struct cg_trust *t);
/* How many times X509_verify_cert ran on this store (all threads), for
 * stats and tests. */
uint64_t cg_trust_verify_calls(const struct cg_trust *t);

/* Builds and verifies the path from leaf to a root of t, at now_unix (UTC
 * seconds), with CG_TRUST_* flags (others are ignored). client_chain:
 * the intermediates the client sent (may be NULL; borrowed; at most
 * CG_TRUST_MAX_CLIENT_CHAIN are used, more is CG_TRUST_OTHER). Without
 * CG_TRUST_CHECK_TIME no certificate date is checked (CRL dates still
 * are). The first failure decides out->reason. t may be NULL (nothing
 * configured: UNTRUSTED), an unfinished store is OTHER. Never throws,
 * never blocks on the network. Returns true iff out->reason is OK.
 * Thread-safe on a finished store. */
bool cg_trust_verify(const struct cg_trust *t, X509 *leaf, STACK_OF(X509) *client_chain,
		     int64_t now_unix, unsigned flags, struct cg_trust_result *out);

/* A per-worker LRU cache of results: no locks, the owning thread only.
 * entries: capacity, 0 for CG_TRUST_CACHE_ENTRIES; above
 * CG_TRUST_CACHE_MAX_ENTRIES is refused (NULL). NULL on out of memory.
 * Free with cg_trust_cache_free (NULL is fine). */
struct cg_trust_cache *cg_trust_cache_new(size_t entries);
void cg_trust_cache_free(struct cg_trust_cache *c);
void cg_trust_cache_stats(const struct cg_trust_cache *c, struct cg_trust_cache_stats *out);

/* cg_trust_verify through cache c (NULL: no cache). The key is the leaf's
 * SHA-1, the SHA-1s of the client chain, t's generation and the flags; an
 * entry is used only while valid_from <= now < valid_until, so a result
 * expires at the first notBefore/notAfter/CRL date it depends on
 * (OpenSSL's rule, which we follow everywhere: valid while
 * notBefore <= now < notAfter; a CRL is current while lastUpdate <= now
 * < nextUpdate).
 * out->from_cache says whether OpenSSL was skipped. */
bool cg_trust_cache_verify(const struct cg_trust *t, struct cg_trust_cache *c, X509 *leaf,
			   STACK_OF(X509) *client_chain, int64_t now_unix, unsigned flags,
			   struct cg_trust_result *out);

/* .NET X509Certificate2.Verify() (revocation true) and APIM's
 * VerifyNoRevocation() (false): time + chain (+ CRLs), fail closed, never
 * throws. leaf NULL or t NULL: false. */
bool cg_trust_dotnet_verify(const struct cg_trust *t, struct cg_trust_cache *c, X509 *leaf,
			    STACK_OF(X509) *client_chain, int64_t now_unix, bool revocation);

/* "ok", "untrusted", "expired", ... (logs, messages). */
const char *cg_trust_reason_name(enum cg_trust_reason r);

#endif

/* CRL fetcher: downloads the CRLs named by certificates'
 * crlDistributionPoints (http:// URLs) in a background thread of its own,
 * verifies them against the issuer, and caches them for the trust store
 * (trust.h, cg_trust_set_crl_source). peers.md P5 / §5 item 2.
 *
 * Rules (docs/client-certificates.md, "Fetched CRLs"):
 * - The request path never fetches. A certificate whose issuer has no
 *   cached CRL yet registers its distribution points and is answered
 *   "revocation unknown" at once (fail closed, or pass with fail-open);
 *   the fetch runs in the fetcher's thread, and the next verification
 *   after it lands uses the CRL. Waiting on a worker would stall every
 *   connection of that worker's loop.
 * - Only issuers that are CA certificates of the trust store are fetched
 *   for, and only after the certificate's signature verifies with that
 *   issuer's key: a client cannot make the gateway fetch a URL of its
 *   choosing by presenting a forged certificate (SSRF).
 * - A fetched CRL must name that issuer and verify with its key, else it
 *   is refused and the previous one (if any) stays.
 * - Refresh in the background at CG_CRL_REFRESH_PCT of the CRL's
 *   lastUpdate..nextUpdate (never sooner than min_refresh_ms after the
 *   last fetch); failures retry with doubling back-off. A CRL past its
 *   nextUpdate stays cached and fails closed (CRL_HAS_EXPIRED).
 * - HTTP: our own strict, bounded HTTP/1.1 GET over plain TCP (no
 *   redirects, no chunked bodies, no proxies); https:// is refused with a
 *   log line (CRLs are signed: TLS adds nothing but a trust loop).
 *   Name resolution is getaddrinfo, in the fetcher thread.
 *
 * - OCSP is the fallback for a certificate with no CRL at all
 *   (cg_crl_fetcher_ocsp): same thread, same guards, same fail modes.
 *
 * Threads: cg_crl_fetcher_lookup/ocsp/epoch/stats are safe from any thread;
 * new/free from the owner (the main thread). */
#ifndef CG_TLS_CRL_H
#define CG_TLS_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "tls/crl-t.h"

/* Defaults into *cfg. */
void cg_crl_config_init(struct cg_crl_config *cfg);

/* A fetcher with settings cfg (NULL: defaults; copied) and its thread
 * started. Refuses (NULL, message in err): refresh_pct outside 1..99,
 * max_crl_bytes above 256 MiB, a thread that cannot start, out of memory.
 * Free with cg_crl_fetcher_free after the last trust store using it is no
 * longer read (it stops and joins the thread: at most one fetch timeout). */
struct cg_crl_fetcher *cg_crl_fetcher_new(const struct cg_crl_config *cfg, char *err, size_t errlen);
void cg_crl_fetcher_free(struct cg_crl_fetcher *f);

/* Request path (a result-cache miss in trust.c). Appends to out the cached
 * CRLs (up-ref'd; the caller frees them) for the distribution points of
 * cert whose issuer is `issuer` (borrowed; must be a CA of the trust
 * store: the caller checks). Each CRL's lastUpdate/nextUpdate is folded
 * into *from (max) and *until (min), so a cached result ends with the CRL.
 * Points not yet tracked are registered and the thread woken; nothing is
 * fetched here. Returns the number of CRLs appended. Never blocks on I/O:
 * a read lock and an up-ref per CRL. */
int cg_crl_fetcher_lookup(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, STACK_OF(X509_CRL) *out,
			  int64_t *from, int64_t *until);

/* OCSP fallback, request path: called for a certificate (leaf or
 * intermediate) for which no CRL exists at all (none uploaded, none
 * fetched: the certificate has no http distribution point, or its CRL
 * could not be fetched). Returns the cached answer for cert from issuer's
 * responder (the authorityInfoAccess OCSP URL): GOOD or REVOKED while
 * thisUpdate - CG_OCSP_SKEW_S <= now < nextUpdate (folded into *from and
 * *until), else NONE, and then registers cert for a background request
 * (only when issuer's key verifies cert's signature, as for CRLs).
 * Never blocks on I/O. */
enum cg_ocsp_status cg_crl_fetcher_ocsp(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, int64_t now,
					int64_t *from, int64_t *until);

/* The tracked OCSP entry for (cert, issuer) into *out; false when none. */
bool cg_crl_fetcher_ocsp_stats(struct cg_crl_fetcher *f, X509 *cert, X509 *issuer, struct cg_ocsp_entry_stats *out);

/* A counter that changes whenever a cached CRL is replaced. Result caches
 * key on it so a new CRL (a newly revoked certificate, or the first CRL
 * after "unknown") is seen at once. 0 for NULL. */
uint64_t cg_crl_fetcher_epoch(const struct cg_crl_fetcher *f);

/* Metrics: totals into *tot (may be NULL) and up to max entries into out
 * (may be NULL), at now (UTC seconds). Returns the number of entries
 * tracked (may exceed max). */
size_t cg_crl_fetcher_stats(struct cg_crl_fetcher *f, int64_t now, struct cg_crl_entry_stats *out, size_t max,
			    struct cg_crl_totals *tot);

/* The same as Prometheus text for /metrics, each family with its # TYPE
 * line and its lines together: counters certgate_crl_fetches_total,
 * certgate_crl_fetch_failures_total, certgate_crl_refused_total,
 * certgate_ocsp_fetches_total, certgate_ocsp_fetch_failures_total; gauges
 * per {issuer,url}: certgate_crl_age_seconds,
 * certgate_crl_next_update_seconds (seconds left), certgate_crl_stale (1
 * also when no CRL is cached), certgate_crl_consecutive_failures. Writes
 * at most cap bytes (NUL-terminated; lines that do not fit are dropped
 * whole). Returns the bytes written. */
size_t cg_crl_fetcher_metrics(struct cg_crl_fetcher *f, int64_t now, char *buf, size_t cap);

/* Test hook: wakes the thread now (otherwise it sleeps until the next
 * scheduled fetch or a new registration). */
void cg_crl_fetcher_kick(struct cg_crl_fetcher *f);

#endif

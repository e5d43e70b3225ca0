/* Types for the CRL fetcher (crl.h). Types only.
 *
 * One fetcher per gateway process, shared by every snapshot's trust store
 * and every worker; it outlives snapshots so a reload never refetches. */
#ifndef CG_TLS_CRL_T_H
#define CG_TLS_CRL_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Each has a test that hits it (tests/unit/tls/test_crl.c). */
#define CG_CRL_MAX_ENTRIES 64            /* (issuer, URL) pairs tracked; more are not fetched */
#define CG_CRL_MAX_DP_PER_CERT 4         /* distribution point URLs followed per certificate */
#define CG_CRL_MAX_URL_LEN 1024          /* bytes of one distribution point URL */
#define CG_CRL_MAX_BYTES (8u << 20)      /* default largest CRL body accepted (8 MiB) */
#define CG_CRL_MAX_HEADER_BYTES 16384    /* status line + response headers */
#define CG_CRL_CONNECT_TIMEOUT_MS 3000   /* default TCP connect timeout */
#define CG_CRL_FETCH_TIMEOUT_MS 15000    /* default whole-fetch timeout (connect, send, receive) */
#define CG_CRL_REFRESH_PCT 80            /* default: refresh at 80% of lastUpdate..nextUpdate */
#define CG_CRL_MIN_REFRESH_MS 30000      /* default: never refetch one URL more often than this */
#define CG_CRL_RETRY_MIN_MS 1000         /* default first retry after a failed fetch, doubling */
#define CG_CRL_RETRY_MAX_MS 300000       /* default longest retry interval */
#define CG_CRL_NO_NEXT_UPDATE_REFRESH_MS 3600000 /* a CRL without nextUpdate: refetch hourly */
#define CG_CRL_ERR_LEN 256
/* OCSP (the fallback when a certificate has no usable CRL): one entry
 * per certificate, so more of them; responses are small. */
#define CG_OCSP_MAX_ENTRIES 256          /* certificates tracked; more are not asked for */
#define CG_OCSP_MAX_BYTES 65536          /* largest OCSP response accepted */
#define CG_OCSP_MAX_SERIAL 32            /* serial number bytes (RFC 5280 allows 20) */
#define CG_OCSP_NO_NEXT_UPDATE_MS 300000 /* a response without nextUpdate: usable 5 minutes */
#define CG_OCSP_SKEW_S 300               /* clock skew allowed on thisUpdate */

/* Settings; zero fields take the defaults above (cg_crl_config_init). */
struct cg_crl_config {
	unsigned connect_timeout_ms;
	unsigned fetch_timeout_ms;
	size_t max_crl_bytes;
	unsigned refresh_pct; /* 1..99 */
	unsigned min_refresh_ms;
	unsigned retry_min_ms;
	unsigned retry_max_ms;
};

/* One tracked (issuer, distribution point) for metrics; plain data. */
struct cg_crl_entry_stats {
	char issuer[256];          /* .NET form of the issuer's subject */
	char issuer_thumbprint[41];
	char url[CG_CRL_MAX_URL_LEN + 1];
	bool has_crl;
	bool refused;              /* never fetched (https://, bad URL): see last_error */
	int64_t last_update;       /* of the cached CRL, UTC seconds; 0 when none */
	int64_t next_update;       /* INT64_MAX when the CRL has none; 0 when no CRL */
	int64_t age_s;             /* now - last_update; -1 when no CRL */
	bool stale;                /* now >= next_update: verification fails closed */
	int64_t fetched_at;        /* last successful fetch, UTC seconds; 0 never */
	int64_t next_fetch_at;     /* scheduled, UTC seconds */
	uint64_t fetches;          /* successful */
	uint64_t failures;         /* total */
	unsigned consecutive_failures;
	size_t crl_bytes;          /* size of the cached CRL's body */
	int revoked_entries;       /* entries in the cached CRL */
	char last_error[CG_CRL_ERR_LEN]; /* "" after a success */
};

struct cg_crl_totals {
	uint64_t fetches;   /* successful fetches, all entries */
	uint64_t failures;  /* failed fetches, all entries */
	uint64_t refused;   /* lookups refused: table full, URL too long, https:// */
	uint64_t lookups;   /* cg_crl_fetcher_lookup calls (request path, result-cache misses) */
	uint64_t epoch;     /* bumps whenever a cached CRL or OCSP answer changes */
	size_t entries;
	uint64_t ocsp_fetches, ocsp_failures;
	size_t ocsp_entries;
};

enum cg_ocsp_status {
	CG_OCSP_NONE = 0, /* nothing current cached: revocation unknown */
	CG_OCSP_GOOD,
	CG_OCSP_REVOKED,
	CG_OCSP_UNKNOWN,  /* the responder answered "unknown": revocation unknown */
};

/* One certificate's cached OCSP answer, for tests and metrics. */
struct cg_ocsp_entry_stats {
	char url[CG_CRL_MAX_URL_LEN + 1];
	enum cg_ocsp_status status;
	bool refused;
	int64_t this_update, next_update; /* of the cached response; next INT64_MAX when none */
	uint64_t fetches, failures;
	unsigned consecutive_failures;
	char last_error[CG_CRL_ERR_LEN];
};

struct cg_crl_fetcher; /* opaque: crl.c */

#endif

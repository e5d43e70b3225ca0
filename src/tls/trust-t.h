/* Types for the CA trust store and chain verification (trust.h).
 * Types only.
 *
 * A trust store is built once per configuration snapshot and then read by
 * every worker without locks of ours (OpenSSL's X509_STORE takes its own
 * lock for lookups). A verification cache belongs to one worker thread. */
#ifndef CG_TLS_TRUST_T_H
#define CG_TLS_TRUST_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Limits. Adding past one is refused with a message naming it. */
#define CG_TRUST_MAX_CAS 256          /* root + intermediate certificates per store */
#define CG_TRUST_MAX_CRLS 256         /* uploaded CRLs per store */
#define CG_TRUST_MAX_CLIENT_CHAIN 16  /* certificates the client sent besides its leaf */
#define CG_TRUST_MAX_DEPTH 10         /* intermediates between leaf and root (X509 verify depth) */
#define CG_TRUST_CACHE_ENTRIES 4096   /* default cache size (results per worker) */
#define CG_TRUST_CACHE_MAX_ENTRIES 65536 /* largest cache cg_trust_cache_new accepts */

/* cg_trust_verify flags. Chain building (a path to a root) is always done. */
#define CG_TRUST_CHECK_TIME 0x1u            /* notBefore/notAfter of every chain certificate */
#define CG_TRUST_CHECK_REVOCATION 0x2u      /* uploaded CRLs, leaf and intermediates */
#define CG_TRUST_REVOCATION_FAIL_OPEN 0x4u  /* no usable CRL for an issuer: pass, not fail */
#define CG_TRUST_FLAGS_ALL 0x7u

enum cg_trust_reason {
	CG_TRUST_OK = 0,
	CG_TRUST_UNTRUSTED,          /* no path to a root in the store */
	CG_TRUST_EXPIRED,            /* a chain certificate is past notAfter (depth says which) */
	CG_TRUST_NOT_YET_VALID,      /* a chain certificate is before notBefore */
	CG_TRUST_REVOKED,            /* listed in its issuer's CRL */
	CG_TRUST_REVOCATION_UNKNOWN, /* no current CRL for an issuer (missing, expired, not yet valid) */
	CG_TRUST_BAD_SIGNATURE,      /* a certificate's signature does not verify with its issuer's key */
	CG_TRUST_OTHER,              /* anything else (bad extension, path too long, out of memory) */
};
#define CG_TRUST_REASONS 8

/* The outcome of one verification; plain data, copied in and out of the
 * cache. Strings are static (OpenSSL's or ours), never freed. */
struct cg_trust_result {
	enum cg_trust_reason reason;
	int verify_error;        /* X509_V_ERR_* of the first failure; X509_V_OK when ok */
	int depth;               /* chain position of that failure (0 = leaf); -1 when none */
	const char *error_text;  /* X509_verify_cert_error_string() or ours; "ok" when ok */
	bool revocation_skipped; /* FAIL_OPEN let an unknown revocation status pass */
	bool from_cache;         /* filled by cg_trust_cache_verify */
	bool internal_error;     /* out of memory or an unfinished store: not the certificate's fault */
	int chain_len;           /* certificates in the chain OpenSSL built (0 if none) */
	/* Uppercase SHA-1 of the leaf's issuer in the built chain (the leaf
	 * itself when it is a root in the store); "" when no issuer was
	 * found. validate-client-certificate's issuer-thumbprint uses it. */
	char issuer_thumbprint[41];
	/* The result holds for valid_from <= now < valid_until (UTC seconds):
	 * the nearest certificate or CRL date on either side of now. */
	int64_t valid_from;
	int64_t valid_until;
};

struct cg_trust;       /* opaque: trust.c */
struct cg_trust_cache; /* opaque: trust.c */

struct cg_trust_cache_stats {
	uint64_t hits;
	uint64_t misses;    /* includes expired entries */
	uint64_t evictions; /* least recently used entry dropped for a new one */
	size_t entries;     /* entries held now */
	size_t capacity;
};

#endif

/* Types for validate-client-certificate (vcc.h). Types only.
 *
 * A config is built once, when the policy is loaded into a snapshot, from
 * the element's raw attribute strings; it is then read-only and shared by
 * all workers. Its slices and parsed DNs live in the arena it was built
 * with (the snapshot's). */
#ifndef CG_TLS_VCC_T_H
#define CG_TLS_VCC_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/str.h"
#include "tls/trust-t.h"
#include "tls/x509-t.h"

#define CG_VCC_MAX_IDENTITIES 10   /* <identity> elements (APIM's documented maximum) */
#define CG_VCC_MAX_CLAIM_LEN 8192  /* bytes of one claim value (a DN text's own limit) */
#define CG_VCC_MESSAGE_LEN 512     /* bytes of a result message, NUL included */
#define CG_VCC_STATUS 401          /* HTTP status of a failure: our choice, APIM is silent */
#define CG_VCC_STATUS_ERROR 503    /* when the check itself could not run (out of memory) */

/* The claims of an identity, in the order they are checked. */
enum cg_vcc_claim {
	CG_VCC_THUMBPRINT = 0,
	CG_VCC_SERIAL_NUMBER,
	CG_VCC_COMMON_NAME,
	CG_VCC_SUBJECT,
	CG_VCC_DNS_NAME,
	CG_VCC_ISSUER_SUBJECT,
	CG_VCC_ISSUER_THUMBPRINT,
	CG_VCC_ISSUER_CERTIFICATE_ID,
};
#define CG_VCC_CLAIMS 8

struct cg_vcc_identity {
	unsigned claims;                 /* bit (1u << enum cg_vcc_claim) per claim given */
	char thumbprint[41];             /* 40 uppercase hex digits */
	char issuer_thumbprint[41];
	struct cg_str serial_number;     /* as written (the matcher ignores separators) */
	struct cg_str common_name;
	struct cg_str dns_name;
	struct cg_dn *subject;
	struct cg_dn *issuer_subject;
	struct cg_str issuer_certificate_id; /* the certificate entity's id, as written */
	X509 *issuer_certificate;        /* set by cg_vcc_config_resolve; NULL until then */
};

struct cg_vcc_config {
	bool validate_revocation; /* default true */
	bool validate_trust;      /* default true */
	bool validate_not_before; /* default true */
	bool validate_not_after;  /* default true */
	bool ignore_error;        /* default false; the caller acts on it, cg_vcc_check does not */
	/* Not an APIM attribute: the gateway's knob for CRL-less issuers
	 * (peers.md P5). false (default): unknown revocation status fails. */
	bool revocation_fail_open;
	unsigned attrs_set;       /* top-level attributes seen, for duplicates */
	struct cg_vcc_identity identities[CG_VCC_MAX_IDENTITIES];
	size_t num_identities;
};

enum cg_vcc_reason {
	CG_VCC_OK = 0,
	CG_VCC_MISSING,
	CG_VCC_NOT_YET_VALID,
	CG_VCC_EXPIRED,
	CG_VCC_UNTRUSTED,
	CG_VCC_REVOKED,
	CG_VCC_REVOCATION_UNKNOWN,
	CG_VCC_IDENTITY_MISMATCH,
	CG_VCC_ERROR,             /* out of memory, unfinished store: 503, not the client's fault */
};
#define CG_VCC_REASONS 9

struct cg_vcc_result {
	bool ok;
	enum cg_vcc_reason reason;
	const char *reason_name;  /* "ClientCertificateExpired" ...: context.LastError.Reason */
	int status;               /* 200 when ok; CG_VCC_STATUS; CG_VCC_STATUS_ERROR for CG_VCC_ERROR */
	char message[CG_VCC_MESSAGE_LEN]; /* context.LastError.Message */
	struct cg_trust_result trust; /* when a chain was verified (trust.reason etc.); else zeroed */
	bool trust_checked;
	int matched_identity;     /* index of the identity that matched; -1 when none/no identities */
};

#endif

/* Types for certificate inspection: the APIM certificate resource view of a
 * hostname's leaf (subject, issuer, thumbprint, expiry), plus SANs. Bounded
 * buffers: the view is shown by the CLI and returned by the REST API, never
 * used for decisions. */
#ifndef CG_STORE_CERT_T_H
#define CG_STORE_CERT_T_H

#include <stdbool.h>
#include <stddef.h>

#define CG_STORE_MAX_DN_LEN     1024 /* a formatted subject or issuer; longer ones are cut */
#define CG_STORE_MAX_SANS       32   /* SANs listed; more set sans_truncated */
#define CG_STORE_MAX_SAN_LEN    256  /* "DNS:" or "IP:" plus the name */
#define CG_STORE_TIME_LEN       21   /* "yyyy-MM-ddTHH:mm:ssZ" and its NUL */
#define CG_STORE_THUMBPRINT_LEN 41   /* 40 hex digits of SHA-1 and a NUL */

struct cg_store_cert_info {
	char subject[CG_STORE_MAX_DN_LEN]; /* .NET X500 format: "CN=a, O=b, S=c" */
	char issuer[CG_STORE_MAX_DN_LEN];
	char thumbprint[CG_STORE_THUMBPRINT_LEN];           /* uppercase SHA-1 of the DER */
	char not_before[CG_STORE_TIME_LEN];                 /* ISO 8601 UTC */
	char not_after[CG_STORE_TIME_LEN];                  /* APIM "expirationDate" */
	bool expired;                                       /* not_after is in the past */
	bool not_yet_valid;                                 /* not_before is in the future */
	char sans[CG_STORE_MAX_SANS][CG_STORE_MAX_SAN_LEN]; /* "DNS:x", "IP:1.2.3.4" */
	size_t num_sans;
	bool sans_truncated;
	size_t chain_len;  /* certificates in the stored chain, leaf included */
	char key_type[16]; /* of the leaf's public key: "RSA", "EC" */
	int key_bits;
};

#endif

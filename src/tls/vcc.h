/* validate-client-certificate as a pure function.
 *
 * The policy loader hands over the element's raw attribute strings
 * (cg_vcc_config_set, cg_vcc_config_add_identity); the snapshot builder
 * resolves issuer-certificate-id to certificates (cg_vcc_config_resolve);
 * the pipeline calls cg_vcc_check per request and turns a failure into
 * an error (context.LastError: Source "validate-client-certificate",
 * Reason = result.reason_name, Message = result.message, status =
 * result.status) unless ignore-error is true. This module parses no XML
 * and keeps no state between calls.
 *
 * APIM's rules (reference/apim.md §6): the certificate must pass every
 * enabled top-level check AND match every claim of at least one identity
 * (no identities: top-level checks only). APIM documents no status,
 * Reason or Message: ours are in docs/client-certificates.md. */
#ifndef CG_TLS_VCC_H
#define CG_TLS_VCC_H

#include "base/arena.h"
#include "tls/trust.h"
#include "tls/vcc-t.h"

/* Defaults: validate-revocation, validate-trust, validate-not-before,
 * validate-not-after true; ignore-error and revocation_fail_open false;
 * no identities. */
void cg_vcc_config_init(struct cg_vcc_config *cfg);

/* Sets one attribute of <validate-client-certificate> from its raw text.
 * Accepts the five names above with "true" or "false" (ASCII
 * case-insensitive, as .NET's bool.Parse; no expressions). Refuses, with
 * the message in err: "Element 'validate-client-certificate' has an
 * unknown attribute 'x'", "Attribute 'x' of element
 * 'validate-client-certificate' must be 'true' or 'false'", "Attribute
 * 'x' of element 'validate-client-certificate' is specified more than
 * once". Returns 0 or -1 (cfg unchanged). */
int cg_vcc_config_set(struct cg_vcc_config *cfg, struct cg_str name, struct cg_str value, char *err,
		      size_t errlen);

/* Adds one <identity> from its n raw attributes (names[i]="subject",
 * values[i]="CN=x, O=y"). Claims are parsed now: thumbprint and
 * issuer-thumbprint must be 40 hex digits once ' ' and ':' are dropped
 * (stored uppercase); serial-number hex digits with ' ', ':' or '-'
 * separators; subject and issuer-subject DN text (cg_dn_parse); no value
 * may be empty or longer than CG_VCC_MAX_CLAIM_LEN. Refuses: an unknown
 * or repeated attribute, a bad value, no attribute at all, more than
 * CG_VCC_MAX_IDENTITIES identities, issuer-certificate-id together with
 * issuer-subject or issuer-thumbprint. Messages name the element and the
 * attribute (docs/client-certificates.md lists them). Values are copied
 * into arena a (the snapshot's). Returns 0, or -1 with cfg unchanged
 * (memory taken from a stays until a is reset). */
int cg_vcc_config_add_identity(struct cg_vcc_config *cfg, struct cg_arena *a, const struct cg_str *names,
			       const struct cg_str *values, size_t n, char *err, size_t errlen);

/* Returns the certificate entity named id (borrowed; NULL when none). */
typedef X509 *(*cg_vcc_resolve_fn)(void *user, struct cg_str certificate_id);

/* Resolves every issuer-certificate-id through fn. Each found
 * certificate is up-ref'd; the reference is dropped by a cleanup on
 * arena a. Refuses an id fn does not know: "Attribute
 * 'issuer-certificate-id' of element 'identity' names no certificate:
 * 'x'". An unresolved claim never matches in cg_vcc_check (fail closed). */
int cg_vcc_config_resolve(struct cg_vcc_config *cfg, struct cg_arena *a, cg_vcc_resolve_fn fn, void *user,
			  char *err, size_t errlen);

/* Runs the policy on one request. cert: the client certificate's view
 * (NULL when none was presented). chain: the intermediates the client
 * sent (SSL_get_peer_cert_chain minus the leaf; may be NULL). t: the
 * snapshot's trust store (NULL = no CA configured: validate-trust and
 * validate-revocation fail). cache: the worker's (may be NULL). now: UTC
 * seconds. Checks, in this order, stopping at the first failure:
 * missing certificate, not yet valid, expired, untrusted, revoked,
 * revocation unknown, identity mismatch. Fills *out (never fails
 * itself); out->ok is the answer. Thread-safe: cfg and t are only read. */
void cg_vcc_check(const struct cg_vcc_config *cfg, const struct cg_x509 *cert, STACK_OF(X509) *chain,
		  const struct cg_trust *t, struct cg_trust_cache *cache, int64_t now, struct cg_vcc_result *out);

/* "ClientCertificateMissing" ... ; "" for CG_VCC_OK. CG_VCC_ERROR
 * ("ClientCertificateValidationError", status 503) means the check could
 * not run (out of memory, an unfinished store), as STYLE.md wants for
 * request-time out of memory. */
const char *cg_vcc_reason_name(enum cg_vcc_reason r);
/* "thumbprint", "serial-number", ... (the attribute names). */
const char *cg_vcc_claim_name(enum cg_vcc_claim c);

#endif

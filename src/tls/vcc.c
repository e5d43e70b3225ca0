/* validate-client-certificate: config from raw attributes, and the check.
 *
 * The check is a fixed sequence (missing, dates, chain, revocation,
 * identities) so that every failure has one stable Reason; the chain work
 * is trust.c's, the claim comparisons are x509.c's. Our choices where
 * APIM is silent are listed in docs/client-certificates.md. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls/vcc.h"
#include "tls/x509.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *const claim_names[CG_VCC_CLAIMS] = {
	"thumbprint", "serial-number", "common-name", "subject",
	"dns-name", "issuer-subject", "issuer-thumbprint", "issuer-certificate-id",
};

const char *cg_vcc_claim_name(enum cg_vcc_claim c)
{
	return (unsigned)c < CG_VCC_CLAIMS ? claim_names[c] : "";
}

static const char *const reason_names[CG_VCC_REASONS] = {
	"",
	"ClientCertificateMissing",
	"ClientCertificateNotYetValid",
	"ClientCertificateExpired",
	"ClientCertificateUntrusted",
	"ClientCertificateRevoked",
	"ClientCertificateRevocationUnknown",
	"ClientCertificateIdentityMismatch",
	"ClientCertificateValidationError",
};

const char *cg_vcc_reason_name(enum cg_vcc_reason r)
{
	return (unsigned)r < CG_VCC_REASONS ? reason_names[r] : "";
}

/* ---- config ------------------------------------------------------------ */

static const char *const top_names[] = {
	"validate-revocation", "validate-trust", "validate-not-before", "validate-not-after", "ignore-error",
};
#define TOP_ATTRS 5

void cg_vcc_config_init(struct cg_vcc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->validate_revocation = true;
	cfg->validate_trust = true;
	cfg->validate_not_before = true;
	cfg->validate_not_after = true;
}

int cg_vcc_config_set(struct cg_vcc_config *cfg, struct cg_str name, struct cg_str value, char *err,
		      size_t errlen)
{
	int k = -1;
	for (int i = 0; i < TOP_ATTRS; i++)
		if (cg_str_eq(name, cg_str_from_c(top_names[i])))
			k = i;
	if (k < 0) {
		seterr(err, errlen, "Element 'validate-client-certificate' has an unknown attribute '%.*s'",
		       (int)(name.len > 64 ? 64 : name.len), name.ptr ? name.ptr : "");
		return -1;
	}
	if (cfg->attrs_set & (1u << k)) {
		seterr(err, errlen, "Attribute '%s' of element 'validate-client-certificate' is specified more than once",
		       top_names[k]);
		return -1;
	}
	bool v;
	if (cg_str_ieq_lit(value, "true"))
		v = true;
	else if (cg_str_ieq_lit(value, "false"))
		v = false;
	else {
		seterr(err, errlen, "Attribute '%s' of element 'validate-client-certificate' must be 'true' or 'false'",
		       top_names[k]);
		return -1;
	}
	bool *fields[TOP_ATTRS] = { &cfg->validate_revocation, &cfg->validate_trust, &cfg->validate_not_before,
				    &cfg->validate_not_after, &cfg->ignore_error };
	*fields[k] = v;
	cfg->attrs_set |= 1u << k;
	return 0;
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = cg_ascii_lower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* 40 hex digits once ' ' and ':' are dropped, uppercased into out. */
static bool parse_thumbprint(struct cg_str v, char out[41])
{
	size_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.ptr[i];
		if (ch == ' ' || ch == ':')
			continue;
		if (hexval(ch) < 0 || n == 40)
			return false;
		out[n++] = (char)(ch >= 'a' && ch <= 'f' ? ch - 32 : ch);
	}
	out[n] = '\0';
	return n == 40;
}

/* Hex digits with ' ', ':' or '-' separators, at least one digit, and
 * no more than the matcher compares (256 significant digits). */
static bool valid_serial(struct cg_str v)
{
	size_t digits = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.ptr[i];
		if (ch == ' ' || ch == ':' || ch == '-')
			continue;
		if (hexval(ch) < 0)
			return false;
		digits++;
	}
	return digits > 0 && digits <= 256;
}

int cg_vcc_config_add_identity(struct cg_vcc_config *cfg, struct cg_arena *a, const struct cg_str *names,
			       const struct cg_str *values, size_t n, char *err, size_t errlen)
{
	if (cfg->num_identities >= CG_VCC_MAX_IDENTITIES) {
		seterr(err, errlen, "Element 'identities' may contain at most %d 'identity' elements",
		       CG_VCC_MAX_IDENTITIES);
		return -1;
	}
	if (n == 0) {
		seterr(err, errlen, "Element 'identity' must specify at least one claim");
		return -1;
	}
	struct cg_vcc_identity id;
	memset(&id, 0, sizeof(id));
	for (size_t i = 0; i < n; i++) {
		struct cg_str name = names[i], v = values[i];
		int k = -1;
		for (int c = 0; c < CG_VCC_CLAIMS; c++)
			if (cg_str_eq(name, cg_str_from_c(claim_names[c])))
				k = c;
		if (k < 0) {
			seterr(err, errlen, "Element 'identity' has an unknown attribute '%.*s'",
			       (int)(name.len > 64 ? 64 : name.len), name.ptr ? name.ptr : "");
			return -1;
		}
		const char *an = claim_names[k];
		if (id.claims & (1u << k)) {
			seterr(err, errlen, "Attribute '%s' of element 'identity' is specified more than once", an);
			return -1;
		}
		if (v.len == 0) {
			seterr(err, errlen, "Attribute '%s' of element 'identity' must not be empty", an);
			return -1;
		}
		if (v.len > CG_VCC_MAX_CLAIM_LEN) {
			seterr(err, errlen, "Attribute '%s' of element 'identity' is longer than %d bytes", an,
			       CG_VCC_MAX_CLAIM_LEN);
			return -1;
		}
		char dnerr[256];
		switch ((enum cg_vcc_claim)k) {
		case CG_VCC_THUMBPRINT:
		case CG_VCC_ISSUER_THUMBPRINT:
			if (!parse_thumbprint(v, k == CG_VCC_THUMBPRINT ? id.thumbprint : id.issuer_thumbprint)) {
				seterr(err, errlen,
				       "Attribute '%s' of element 'identity' must be a SHA-1 thumbprint (40 hexadecimal "
				       "digits; ' ' and ':' allowed)", an);
				return -1;
			}
			break;
		case CG_VCC_SERIAL_NUMBER:
			if (!valid_serial(v)) {
				seterr(err, errlen,
				       "Attribute '%s' of element 'identity' must be hexadecimal digits (' ', ':' and "
				       "'-' allowed; at most 256 digits)", an);
				return -1;
			}
			id.serial_number = cg_arena_strdup_str(a, v);
			if (!id.serial_number.ptr)
				goto oom;
			break;
		case CG_VCC_COMMON_NAME:
		case CG_VCC_DNS_NAME:
		case CG_VCC_ISSUER_CERTIFICATE_ID: {
			struct cg_str cp = cg_arena_strdup_str(a, v);
			if (!cp.ptr)
				goto oom;
			if (k == CG_VCC_COMMON_NAME)
				id.common_name = cp;
			else if (k == CG_VCC_DNS_NAME)
				id.dns_name = cp;
			else
				id.issuer_certificate_id = cp;
			break;
		}
		case CG_VCC_SUBJECT:
		case CG_VCC_ISSUER_SUBJECT: {
			struct cg_dn *dn = NULL;
			if (cg_dn_parse(v, a, &dn, dnerr, sizeof(dnerr)) != 0) {
				size_t el = strlen(dnerr);
				if (el >= 15 && strcmp(dnerr + el - 15, ": out of memory") == 0)
					goto oom; /* not the text's fault */
				seterr(err, errlen, "Attribute '%s' of element 'identity' is not a valid distinguished name: %s",
				       an, dnerr);
				return -1;
			}
			if (k == CG_VCC_SUBJECT)
				id.subject = dn;
			else
				id.issuer_subject = dn;
			break;
		}
		}
		id.claims |= 1u << k;
	}
	if ((id.claims & (1u << CG_VCC_ISSUER_CERTIFICATE_ID)) &&
	    (id.claims & ((1u << CG_VCC_ISSUER_SUBJECT) | (1u << CG_VCC_ISSUER_THUMBPRINT)))) {
		seterr(err, errlen,
		       "Attribute 'issuer-certificate-id' of element 'identity' cannot be combined with 'issuer-subject' or "
		       "'issuer-thumbprint'");
		return -1;
	}
	cfg->identities[cfg->num_identities++] = id;
	return 0;
oom:
	seterr(err, errlen, "out of memory");
	return -1;
}

static void x509_release(void *p)
{
	X509_free(p);
}

int cg_vcc_config_resolve(struct cg_vcc_config *cfg, struct cg_arena *a, cg_vcc_resolve_fn fn, void *user,
			  char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->num_identities; i++) {
		struct cg_vcc_identity *id = &cfg->identities[i];
		if (!(id->claims & (1u << CG_VCC_ISSUER_CERTIFICATE_ID)) || id->issuer_certificate)
			continue;
		X509 *x = fn ? fn(user, id->issuer_certificate_id) : NULL;
		if (!x) {
			seterr(err, errlen, "Attribute 'issuer-certificate-id' of element 'identity' names no certificate: '%.*s'",
			       (int)(id->issuer_certificate_id.len > 128 ? 128 : id->issuer_certificate_id.len),
			       id->issuer_certificate_id.ptr);
			return -1;
		}
		if (!X509_up_ref(x)) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		if (cg_arena_on_cleanup(a, x509_release, x) != 0) {
			X509_free(x); /* the reference just taken */
			seterr(err, errlen, "out of memory");
			return -1;
		}
		id->issuer_certificate = x;
	}
	return 0;
}

/* ---- the check ----------------------------------------------------------- */

static void iso_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%lld", (long long)t);
}

static void fail(struct cg_vcc_result *out, enum cg_vcc_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct cg_vcc_result *out, enum cg_vcc_reason r, const char *fmt, ...)
{
	out->ok = false;
	out->reason = r;
	out->reason_name = reason_names[r];
	out->status = r == CG_VCC_ERROR ? CG_VCC_STATUS_ERROR : CG_VCC_STATUS;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
}

/* issuer really signed leaf: the names chain (X509_check_issued, which
 * also compares key identifiers) and the signature verifies. A name match
 * alone would let a client name any issuer it likes. */
static bool issued_by(X509 *issuer, X509 *leaf)
{
	bool ok = issuer && leaf && X509_check_issued(issuer, leaf) == X509_V_OK;
	if (ok) {
		EVP_PKEY *k = X509_get0_pubkey(issuer);
		ok = k && X509_verify(leaf, k) == 1;
	}
	ERR_clear_error();
	return ok;
}

/* Uppercase SHA-1 of x's DER: OpenSSL keeps it from decoding (X509_digest
 * copies the cached hash for SHA-1), so no re-encoding per request. */
static bool thumb_of(X509 *x, char out[41])
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (X509_digest(x, EVP_sha1(), h, &n) != 1 || n != 20)
		return false;
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[40] = '\0';
	return true;
}

/* issuer-thumbprint without a verified chain: some certificate the client
 * sent, or one of the store's CAs, that really issued the leaf. */
static bool issuer_thumbprint_unverified(const char *want, X509 *leaf, STACK_OF(X509) *chain,
					 const struct cg_trust *t)
{
	char tp[41];
	int n = chain ? sk_X509_num(chain) : 0;
	for (int i = 0; i < n && i < CG_TRUST_MAX_CLIENT_CHAIN; i++) {
		X509 *c = sk_X509_value(chain, i);
		if (issued_by(c, leaf) && thumb_of(c, tp) && strcmp(tp, want) == 0)
			return true;
	}
	X509 *c;
	for (size_t i = 0; (c = cg_trust_ca_at(t, i)) != NULL; i++)
		if (issued_by(c, leaf) && thumb_of(c, tp) && strcmp(tp, want) == 0)
			return true;
	return false;
}

struct match_ctx {
	const struct cg_x509 *cert;
	STACK_OF(X509) *chain;
	const struct cg_trust *t;
	const struct cg_trust_result *trust; /* a verified chain's result, or NULL */
};

static bool claim_matches(const struct match_ctx *m, const struct cg_vcc_identity *id, enum cg_vcc_claim c)
{
	X509 *x = m->cert->x509;
	switch (c) {
	case CG_VCC_THUMBPRINT:
		return cg_x509_thumbprint_matches(m->cert, cg_str_from_c(id->thumbprint));
	case CG_VCC_SERIAL_NUMBER:
		return cg_x509_serial_matches(m->cert, id->serial_number);
	case CG_VCC_COMMON_NAME:
		return cg_x509_common_name_matches(m->cert, id->common_name);
	case CG_VCC_SUBJECT:
		return cg_dn_matches(id->subject, X509_get_subject_name(x));
	case CG_VCC_DNS_NAME:
		return cg_x509_dns_name_matches(m->cert, id->dns_name);
	case CG_VCC_ISSUER_SUBJECT:
		return cg_dn_matches(id->issuer_subject, X509_get_issuer_name(x));
	case CG_VCC_ISSUER_THUMBPRINT:
		if (m->trust)
			return m->trust->issuer_thumbprint[0] && strcmp(m->trust->issuer_thumbprint, id->issuer_thumbprint) == 0;
		return issuer_thumbprint_unverified(id->issuer_thumbprint, x, m->chain, m->t);
	case CG_VCC_ISSUER_CERTIFICATE_ID:
		return issued_by(id->issuer_certificate, x);
	}
	return false;
}

/* What the certificate has for a failed claim, for the message. */
static void describe(const struct match_ctx *m, const struct cg_vcc_identity *id, enum cg_vcc_claim c, char *buf,
		     size_t cap)
{
	const struct cg_x509 *k = m->cert;
	switch (c) {
	case CG_VCC_THUMBPRINT:
		snprintf(buf, cap, "certificate thumbprint is %s", k->thumbprint);
		break;
	case CG_VCC_SERIAL_NUMBER:
		snprintf(buf, cap, "certificate serial number is %.*s", (int)(k->serial.len > 80 ? 80 : k->serial.len),
			 k->serial.ptr);
		break;
	case CG_VCC_COMMON_NAME:
		snprintf(buf, cap, "certificate common name is '%.*s'",
			 (int)(k->common_name.len > 120 ? 120 : k->common_name.len), k->common_name.ptr);
		break;
	case CG_VCC_SUBJECT:
		snprintf(buf, cap, "certificate subject is '%.*s'", (int)(k->subject.len > 160 ? 160 : k->subject.len),
			 k->subject.ptr);
		break;
	case CG_VCC_DNS_NAME: {
		size_t dns = 0;
		for (size_t i = 0; i < k->num_sans; i++)
			dns += k->sans[i].type == CG_X509_SAN_DNS;
		snprintf(buf, cap, "none of the certificate's %zu SAN DNS names is equal", dns);
		break;
	}
	case CG_VCC_ISSUER_SUBJECT:
		snprintf(buf, cap, "certificate issuer is '%.*s'", (int)(k->issuer.len > 160 ? 160 : k->issuer.len),
			 k->issuer.ptr);
		break;
	case CG_VCC_ISSUER_THUMBPRINT:
		if (m->trust)
			snprintf(buf, cap, "issuer thumbprint in the verified chain is %s", m->trust->issuer_thumbprint);
		else
			snprintf(buf, cap, "no certificate with that thumbprint issued it");
		break;
	case CG_VCC_ISSUER_CERTIFICATE_ID:
		snprintf(buf, cap, id->issuer_certificate ? "certificate '%.*s' did not issue it"
							  : "certificate '%.*s' was not resolved",
			 (int)(id->issuer_certificate_id.len > 80 ? 80 : id->issuer_certificate_id.len),
			 id->issuer_certificate_id.ptr);
		break;
	}
}

static void check_identities(const struct cg_vcc_config *cfg, const struct match_ctx *m, struct cg_vcc_result *out)
{
	int best = -1, best_matched = -1;
	enum cg_vcc_claim best_failed = CG_VCC_THUMBPRINT;
	for (size_t i = 0; i < cfg->num_identities; i++) {
		const struct cg_vcc_identity *id = &cfg->identities[i];
		int matched = 0, failed = -1;
		/* Every claim is evaluated (not only up to the first miss) so
		 * the message can name the identity that came closest. */
		for (int c = 0; c < CG_VCC_CLAIMS; c++) {
			if (!(id->claims & (1u << c)))
				continue;
			if (claim_matches(m, id, (enum cg_vcc_claim)c))
				matched++;
			else if (failed < 0)
				failed = c;
		}
		if (failed < 0) {
			out->matched_identity = (int)i;
			return;
		}
		if (matched > best_matched) {
			best = (int)i;
			best_matched = matched;
			best_failed = (enum cg_vcc_claim)failed;
		}
	}
	char what[256];
	describe(m, &cfg->identities[best], best_failed, what, sizeof(what));
	fail(out, CG_VCC_IDENTITY_MISMATCH,
	     "The client certificate matches none of the %zu identities; the closest (identity %d) fails claim '%s': %s",
	     cfg->num_identities, best + 1, claim_names[best_failed], what);
}

void cg_vcc_check(const struct cg_vcc_config *cfg, const struct cg_x509 *cert, STACK_OF(X509) *chain,
		  const struct cg_trust *t, struct cg_trust_cache *cache, int64_t now, struct cg_vcc_result *out)
{
	memset(out, 0, sizeof(*out));
	out->ok = true;
	out->reason = CG_VCC_OK;
	out->reason_name = reason_names[CG_VCC_OK];
	out->status = 200;
	out->matched_identity = -1;
	char when[32];

	if (!cert || !cert->x509) {
		fail(out, CG_VCC_MISSING, "A client certificate is required but none was presented");
		return;
	}
	/* The leaf's own dates first, with the rule OpenSSL uses for the
	 * rest of the chain: valid while notBefore <= now < notAfter. */
	if (cfg->validate_not_before && now < cert->not_before) {
		iso_time(cert->not_before, when, sizeof(when));
		fail(out, CG_VCC_NOT_YET_VALID, "The client certificate is not valid before %s", when);
		return;
	}
	if (cfg->validate_not_after && now >= cert->not_after) {
		iso_time(cert->not_after, when, sizeof(when));
		fail(out, CG_VCC_EXPIRED, "The client certificate expired at %s", when);
		return;
	}

	const struct cg_trust_result *verified = NULL;
	if (cfg->validate_trust || cfg->validate_revocation) {
		/* Chain dates are part of trust: checked only when trust is
		 * and both leaf date checks are on (the leaf's were done above
		 * the same way). */
		unsigned base = (cfg->validate_trust && cfg->validate_not_before && cfg->validate_not_after)
					? CG_TRUST_CHECK_TIME : 0;
		unsigned flags = base;
		if (cfg->validate_revocation)
			flags |= CG_TRUST_CHECK_REVOCATION | (cfg->revocation_fail_open ? CG_TRUST_REVOCATION_FAIL_OPEN : 0);
		struct cg_trust_result *r = &out->trust;
		cg_trust_cache_verify(t, cache, cert->x509, chain, now, flags, r);
		out->trust_checked = true;
		/* OpenSSL checks CRLs before signatures and dates; our order
		 * puts "untrusted" first, so a revocation failure is re-checked
		 * without revocation (cached too, and only on failures). */
		if (cfg->validate_trust &&
		    (r->reason == CG_TRUST_REVOKED || r->reason == CG_TRUST_REVOCATION_UNKNOWN)) {
			struct cg_trust_result plain;
			if (!cg_trust_cache_verify(t, cache, cert->x509, chain, now, base, &plain))
				*r = plain;
		}
		if (r->internal_error) {
			fail(out, CG_VCC_ERROR, "The client certificate could not be validated: %s", r->error_text);
			return;
		}
		char depth[32] = "";
		if (r->depth >= 0)
			snprintf(depth, sizeof(depth), " (depth %d)", r->depth);
		switch (r->reason) {
		case CG_TRUST_OK:
			if (cfg->validate_trust)
				verified = r;
			break;
		case CG_TRUST_REVOKED:
			if (r->depth <= 0)
				fail(out, CG_VCC_REVOKED, "The client certificate has been revoked");
			else
				fail(out, CG_VCC_REVOKED, "A certificate in the client certificate's chain has been revoked (depth %d)",
				     r->depth);
			return;
		case CG_TRUST_REVOCATION_UNKNOWN:
			fail(out, CG_VCC_REVOCATION_UNKNOWN,
			     "The revocation status of the client certificate could not be determined: %s%s",
			     r->error_text, depth);
			return;
		default:
			if (cfg->validate_trust) {
				fail(out, CG_VCC_UNTRUSTED, "The client certificate is not trusted: %s%s", r->error_text, depth);
				return;
			}
			/* Revocation without trust: no path means no issuer whose
			 * CRL we could trust. */
			if (!cfg->revocation_fail_open) {
				fail(out, CG_VCC_REVOCATION_UNKNOWN,
				     "The revocation status of the client certificate could not be determined: no chain to "
				     "a configured CA certificate (%s)", r->error_text);
				return;
			}
			break;
		}
	}

	if (cfg->num_identities == 0)
		return;
	struct match_ctx m = { cert, chain, t, verified };
	check_identities(cfg, &m, out);
}

/* CA trust store, chain verification and the per-worker result cache.
 *
 * OpenSSL does the path building and checking (X509_STORE,
 * X509_STORE_CTX, X509_verify_cert); this file decides what goes into the
 * store, which flags a call uses, how OpenSSL's errors map to the reasons
 * policies see, and how long a result may be reused. See trust.h for the
 * rules and docs/client-certificates.md for why. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/crl.h"
#include "tls/trust.h"
#include "tls/x509.h"

#define MAX_DATES (2 * (CG_TRUST_MAX_CAS + CG_TRUST_MAX_CRLS))

struct cg_trust {
	X509_STORE *store;              /* roots (trust anchors) and CRLs */
	STACK_OF(X509) *intermediates;  /* path helpers, passed as untrusted */
	STACK_OF(X509) *cas;            /* every CA, for CRL issuers and duplicates */
	bool is_root[CG_TRUST_MAX_CAS]; /* parallel to cas */
	size_t num_crls;
	uint64_t generation;
	bool finished;
	int64_t crl_next_update;
	/* Dates at which a verification result may change (certificate
	 * notBefore and notAfter, CRL lastUpdate and nextUpdate: OpenSSL
	 * counts "now == notAfter" as expired), sorted
	 * at finish; cached results live between two of them. */
	int64_t dates[MAX_DATES];
	size_t num_dates;
	_Atomic uint64_t verify_calls;
	/* Fetched CRLs for issuers without an uploaded one (crl.h);
	 * borrowed, outlives the store. NULL: uploaded CRLs only. */
	struct cg_crl_fetcher *crl_source;
	bool fail_open; /* gateway-wide: unknown revocation passes */
};

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

/* Fetched once: EVP_sha1() re-fetches under a lock on every use. */
static EVP_MD *md_sha1;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

/* SHA-1 of x's DER; OpenSSL keeps it from decoding, so this is a copy. */
static bool sha1_of(const X509 *x, unsigned char out[20])
{
	unsigned int n = 0;
	pthread_once(&md_once, md_fetch);
	return md_sha1 && X509_digest(x, md_sha1, out, &n) == 1 && n == 20;
}

static void hex20(const unsigned char h[20], char out[41])
{
	static const char hx[] = "0123456789ABCDEF";
	for (int i = 0; i < 20; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[40] = '\0';
}

/* A name for messages: .NET form, or OpenSSL's oneline when that fails. */
static void name_text(const X509_NAME *n, char *buf, size_t cap)
{
	struct cg_arena a;
	struct cg_str s;
	cg_arena_init(&a, 4096, 64 * 1024);
	if (cg_x509_name_to_dotnet(n, &a, &s, NULL, 0) == 0)
		snprintf(buf, cap, "%.*s", CG_STR_FMT(s));
	else
		X509_NAME_oneline(n, buf, (int)cap);
	cg_arena_destroy(&a);
}

static int asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* ---- the store ------------------------------------------------------- */

static void trust_release(void *p)
{
	struct cg_trust *t = p;
	X509_STORE_free(t->store);
	t->store = NULL;
	sk_X509_pop_free(t->intermediates, X509_free);
	t->intermediates = NULL;
	sk_X509_pop_free(t->cas, X509_free);
	t->cas = NULL;
}

struct cg_trust *cg_trust_new(struct cg_arena *a, uint64_t generation)
{
	struct cg_trust *t = cg_arena_zalloc(a, sizeof(*t));
	if (!t)
		return NULL;
	t->generation = generation;
	t->crl_next_update = INT64_MAX;
	t->store = X509_STORE_new();
	t->intermediates = sk_X509_new_null();
	t->cas = sk_X509_new_null();
	if (!t->store || !t->intermediates || !t->cas || cg_arena_on_cleanup(a, trust_release, t) != 0) {
		trust_release(t);
		return NULL;
	}
	return t;
}

static void add_date(struct cg_trust *t, int64_t d)
{
	if (t->num_dates < MAX_DATES)
		t->dates[t->num_dates++] = d;
}

int cg_trust_add_ca(struct cg_trust *t, X509 *ca, bool root, char *err, size_t errlen)
{
	char name[512];
	if (!t || !ca) {
		seterr(err, errlen, "no certificate");
		return -1;
	}
	if (t->finished) {
		seterr(err, errlen, "trust store is finished; no certificate can be added");
		return -1;
	}
	name_text(X509_get_subject_name(ca), name, sizeof(name));
	/* X509_check_ca: 1 = basicConstraints CA:TRUE. We refuse the legacy
	 * forms it also accepts (v1 self-signed, keyCertSign without
	 * basicConstraints): a store entry must say it is a CA. */
	int ck = X509_check_ca(ca);
	if (ck != 1) {
		bool has_bc = X509_get_ext_by_NID(ca, NID_basic_constraints, -1) >= 0;
		seterr(err, errlen, "certificate '%s' is not a CA (%s)", name,
		       has_bc ? "basicConstraints CA:FALSE" : "no basicConstraints extension");
		return -1;
	}
	/* Partial chains are off, so only a self-signed root can end a path:
	 * say so now rather than fail every verification later. */
	if (root && X509_check_issued(ca, ca) != X509_V_OK) {
		ERR_clear_error();
		seterr(err, errlen, "certificate '%s' is not self-signed: add it as an intermediate, not a root", name);
		return -1;
	}
	for (int i = 0; i < sk_X509_num(t->cas); i++) {
		if (X509_cmp(sk_X509_value(t->cas, i), ca) != 0)
			continue;
		/* Uploaded twice: once is enough, but a later "root" wins so
		 * that an intermediate can be promoted to an anchor. */
		if (root && !t->is_root[i]) {
			if (!X509_STORE_add_cert(t->store, ca)) {
				seterr(err, errlen, "out of memory adding '%s'", name);
				return -1;
			}
			t->is_root[i] = true;
		}
		return 0;
	}
	if ((size_t)sk_X509_num(t->cas) >= CG_TRUST_MAX_CAS) {
		seterr(err, errlen, "more than %d CA certificates", CG_TRUST_MAX_CAS);
		return -1;
	}
	int64_t nb, na;
	if (asn1_epoch(X509_get0_notBefore(ca), &nb) || asn1_epoch(X509_get0_notAfter(ca), &na)) {
		seterr(err, errlen, "certificate '%s' has unreadable validity dates", name);
		return -1;
	}
	if (!X509_up_ref(ca))
		goto oom;
	if (!sk_X509_push(t->cas, ca)) {
		X509_free(ca);
		goto oom;
	}
	t->is_root[sk_X509_num(t->cas) - 1] = root;
	if (root ? !X509_STORE_add_cert(t->store, ca) : !X509_up_ref(ca))
		goto oom;
	if (!root && !sk_X509_push(t->intermediates, ca)) {
		X509_free(ca);
		goto oom;
	}
	add_date(t, nb);
	add_date(t, na);
	return 0;
oom:
	seterr(err, errlen, "out of memory adding '%s'", name);
	return -1;
}

int cg_trust_add_crl(struct cg_trust *t, X509_CRL *crl, char *err, size_t errlen)
{
	char name[512];
	if (!t || !crl) {
		seterr(err, errlen, "no CRL");
		return -1;
	}
	if (t->finished) {
		seterr(err, errlen, "trust store is finished; no CRL can be added");
		return -1;
	}
	if (t->num_crls >= CG_TRUST_MAX_CRLS) {
		seterr(err, errlen, "more than %d CRLs", CG_TRUST_MAX_CRLS);
		return -1;
	}
	const X509_NAME *iss = X509_CRL_get_issuer(crl);
	name_text(iss, name, sizeof(name));
	bool named = false, signed_ok = false;
	for (int i = 0; i < sk_X509_num(t->cas) && !signed_ok; i++) {
		X509 *ca = sk_X509_value(t->cas, i);
		if (X509_NAME_cmp(X509_get_subject_name(ca), iss) != 0)
			continue;
		named = true;
		EVP_PKEY *k = X509_get0_pubkey(ca);
		signed_ok = k && X509_CRL_verify(crl, k) == 1;
	}
	ERR_clear_error();
	if (!named) {
		seterr(err, errlen, "CRL issuer '%s' is not a CA certificate of this store", name);
		return -1;
	}
	if (!signed_ok) {
		seterr(err, errlen, "CRL signature does not verify with the key of '%s'", name);
		return -1;
	}
	int64_t last, next = INT64_MAX;
	if (asn1_epoch(X509_CRL_get0_lastUpdate(crl), &last) ||
	    (X509_CRL_get0_nextUpdate(crl) && asn1_epoch(X509_CRL_get0_nextUpdate(crl), &next))) {
		seterr(err, errlen, "CRL of '%s' has unreadable update dates", name);
		return -1;
	}
	if (!X509_STORE_add_crl(t->store, crl)) {
		ERR_clear_error();
		seterr(err, errlen, "out of memory adding the CRL of '%s'", name);
		return -1;
	}
	t->num_crls++;
	add_date(t, last);
	if (next != INT64_MAX) {
		add_date(t, next);
		if (next < t->crl_next_update)
			t->crl_next_update = next;
	}
	return 0;
}

/* Uploaded bytes: PEM when they start (after blanks) with "-----BEGIN",
 * else DER, which must be exactly one object. */
static bool is_pem(struct cg_str d)
{
	size_t i = 0;
	while (i < d.len && (d.ptr[i] == ' ' || d.ptr[i] == '\t' || d.ptr[i] == '\r' || d.ptr[i] == '\n'))
		i++;
	return d.len - i >= 10 && memcmp(d.ptr + i, "-----BEGIN", 10) == 0;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

int cg_trust_add_ca_data(struct cg_trust *t, struct cg_str data, bool root, char *err, size_t errlen)
{
	X509 *x = NULL;
	if (!data.len) {
		seterr(err, errlen, "empty certificate");
		return -1;
	}
	if (data.len > INT32_MAX) {
		seterr(err, errlen, "invalid certificate (neither PEM nor DER)");
		return -1;
	}
	if (is_pem(data)) {
		BIO *b = BIO_new_mem_buf(data.ptr, (int)data.len);
		x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
		BIO_free(b);
	} else {
		const unsigned char *p = (const unsigned char *)data.ptr;
		x = d2i_X509(NULL, &p, (long)data.len);
		if (x && p != (const unsigned char *)data.ptr + data.len) {
			X509_free(x);
			x = NULL;
		}
	}
	ERR_clear_error();
	if (!x) {
		seterr(err, errlen, "invalid certificate (neither PEM nor DER)");
		return -1;
	}
	int rc = cg_trust_add_ca(t, x, root, err, errlen);
	X509_free(x);
	return rc;
}

int cg_trust_add_crl_data(struct cg_trust *t, struct cg_str data, char *err, size_t errlen)
{
	X509_CRL *c = NULL;
	if (!data.len) {
		seterr(err, errlen, "empty CRL");
		return -1;
	}
	if (data.len > INT32_MAX) {
		seterr(err, errlen, "invalid CRL (neither PEM nor DER)");
		return -1;
	}
	if (is_pem(data)) {
		BIO *b = BIO_new_mem_buf(data.ptr, (int)data.len);
		c = b ? PEM_read_bio_X509_CRL(b, NULL, no_password, NULL) : NULL;
		BIO_free(b);
	} else {
		const unsigned char *p = (const unsigned char *)data.ptr;
		c = d2i_X509_CRL(NULL, &p, (long)data.len);
		if (c && p != (const unsigned char *)data.ptr + data.len) {
			X509_CRL_free(c);
			c = NULL;
		}
	}
	ERR_clear_error();
	if (!c) {
		seterr(err, errlen, "invalid CRL (neither PEM nor DER)");
		return -1;
	}
	int rc = cg_trust_add_crl(t, c, err, errlen);
	X509_CRL_free(c);
	return rc;
}

static STACK_OF(X509_CRL) *lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm);

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int cg_trust_finish(struct cg_trust *t, char *err, size_t errlen)
{
	if (!t) {
		seterr(err, errlen, "no trust store");
		return -1;
	}
	qsort(t->dates, t->num_dates, sizeof(t->dates[0]), cmp_i64);
	if (t->crl_source)
		X509_STORE_set_lookup_crls(t->store, lookup_crls);
	/* Warm the digest fetch here, not on a worker's first request. */
	pthread_once(&md_once, md_fetch);
	t->finished = true;
	return 0;
}

int cg_trust_set_crl_source(struct cg_trust *t, struct cg_crl_fetcher *f)
{
	if (!t || t->finished)
		return -1;
	t->crl_source = f;
	return 0;
}

int cg_trust_set_revocation_fail_open(struct cg_trust *t, bool fail_open)
{
	if (!t || t->finished)
		return -1;
	t->fail_open = fail_open;
	return 0;
}

bool cg_trust_revocation_fail_open(const struct cg_trust *t)
{
	return t && t->fail_open;
}

uint64_t cg_trust_generation(const struct cg_trust *t)
{
	return t ? t->generation : 0;
}

size_t cg_trust_num_cas(const struct cg_trust *t)
{
	return t ? (size_t)sk_X509_num(t->cas) : 0;
}

size_t cg_trust_num_crls(const struct cg_trust *t)
{
	return t ? t->num_crls : 0;
}

X509 *cg_trust_ca_at(const struct cg_trust *t, size_t i)
{
	return t && i < (size_t)sk_X509_num(t->cas) ? sk_X509_value(t->cas, (int)i) : NULL;
}

int64_t cg_trust_crl_next_update(const struct cg_trust *t)
{
	return t ? t->crl_next_update : INT64_MAX;
}

uint64_t cg_trust_verify_calls(const struct cg_trust *t)
{
	return t ? atomic_load_explicit(&((struct cg_trust *)t)->verify_calls, memory_order_relaxed) : 0;
}

/* ---- verification ------------------------------------------------------ */

static const char *const reason_names[CG_TRUST_REASONS] = {
	"ok", "untrusted", "expired", "not yet valid", "revoked", "revocation unknown", "bad signature", "other",
};

const char *cg_trust_reason_name(enum cg_trust_reason r)
{
	return (unsigned)r < CG_TRUST_REASONS ? reason_names[r] : "other";
}

static bool revocation_unknown_error(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
		return true;
	default:
		return false;
	}
}

static enum cg_trust_reason map_error(int e)
{
	if (revocation_unknown_error(e))
		return CG_TRUST_REVOCATION_UNKNOWN;
	switch (e) {
	case X509_V_OK:
		return CG_TRUST_OK;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_PERMITTED_VIOLATION:
	case X509_V_ERR_EXCLUDED_VIOLATION:
		return CG_TRUST_UNTRUSTED;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return CG_TRUST_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
		return CG_TRUST_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return CG_TRUST_REVOKED;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return CG_TRUST_BAD_SIGNATURE;
	default:
		return CG_TRUST_OTHER;
	}
}

/* What the verify callback needs; reached through the ctx's app data. */
struct vstate {
	unsigned flags;
	int error;
	int depth;
	bool failed;
	bool skipped;
	const struct cg_trust *t;
	int64_t now;
	/* The dates of the fetched CRLs and OCSP answers used: the result
	 * ends with them. */
	int64_t crl_from, crl_until;
};

/* The store's copy of x (same DER), or NULL: fetches happen only for
 * issuers of the store. X509_cmp compares the cached SHA-1s. */
static X509 *store_ca(const struct cg_trust *t, X509 *x)
{
	for (int i = 0; i < sk_X509_num(t->cas); i++)
		if (X509_cmp(sk_X509_value(t->cas, i), x) == 0)
			return sk_X509_value(t->cas, i);
	return NULL;
}

/* The store's CRL look-up (X509_STORE_set_lookup_crls): uploaded CRLs for
 * an issuer name win; when there are none, the fetcher's cached CRLs for
 * the certificate being checked, provided its issuer in the built chain is
 * a CA of this store (the fetcher fetches only for those: crl.h). OpenSSL
 * calls this from check_revocation with the current certificate and its
 * depth set, after the chain is built. */
static STACK_OF(X509_CRL) *lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm)
{
	STACK_OF(X509_CRL) *sk = X509_STORE_CTX_get1_crls(ctx, nm);
	if (sk && sk_X509_CRL_num(sk) > 0)
		return sk;
	ERR_clear_error();
	struct vstate *v = X509_STORE_CTX_get_app_data(ctx);
	if (!v || !v->t || !v->t->crl_source)
		return sk;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	if (!chain || depth < 0 || depth + 1 >= sk_X509_num(chain))
		return sk; /* a root: never checked against a CRL */
	X509 *cert = sk_X509_value(chain, depth), *ca = store_ca(v->t, sk_X509_value(chain, depth + 1));
	if (!ca)
		return sk; /* issuer only sent by the client: not fetched for */
	if (!sk)
		sk = sk_X509_CRL_new_null();
	if (!sk || cg_crl_fetcher_lookup(v->t->crl_source, cert, ca, sk, &v->crl_from, &v->crl_until) > 0)
		return sk;
	/* Nothing cached for this certificate: fail-closed verification stops
	 * here, so register the rest of the chain's points now; otherwise the
	 * intermediate's CRL would only be asked for after this one lands,
	 * one "unknown" round per level. Only on this (cold) path. */
	STACK_OF(X509_CRL) *tmp = sk_X509_CRL_new_null();
	int64_t f = INT64_MIN, u = INT64_MAX;
	for (int d = depth + 1; tmp && d + 1 < sk_X509_num(chain); d++) {
		X509 *upca = store_ca(v->t, sk_X509_value(chain, d + 1));
		if (upca)
			cg_crl_fetcher_lookup(v->t->crl_source, sk_X509_value(chain, d), upca, tmp, &f, &u);
	}
	sk_X509_CRL_pop_free(tmp, X509_CRL_free);
	return sk;
}

/* Called by OpenSSL for each check; ok == 0 reports a failure. We let
 * through what the flags say to ignore, and stop at the first other
 * failure (remembered, since later checks would overwrite ctx's error). */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct vstate *v = X509_STORE_CTX_get_app_data(ctx);
	if (ok || !v)
		return ok;
	int e = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	/* No CRL at all for this certificate (none uploaded, none fetched):
	 * the fetcher's OCSP answer decides when it has a current one. */
	if (e == X509_V_ERR_UNABLE_TO_GET_CRL && v->t && v->t->crl_source) {
		STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
		X509 *ca = chain && depth >= 0 && depth + 1 < sk_X509_num(chain)
				   ? store_ca(v->t, sk_X509_value(chain, depth + 1)) : NULL;
		enum cg_ocsp_status s = ca ? cg_crl_fetcher_ocsp(v->t->crl_source, sk_X509_value(chain, depth), ca,
								 v->now, &v->crl_from, &v->crl_until)
					   : CG_OCSP_NONE;
		if (s == CG_OCSP_GOOD)
			return 1;
		if (s == CG_OCSP_REVOKED) {
			if (!v->failed) {
				v->failed = true;
				v->error = X509_V_ERR_CERT_REVOKED;
				v->depth = depth;
			}
			return 0;
		}
	}
	/* Dates are checked on the clock even without CHECK_TIME (so stale
	 * CRLs still count), and certificate date failures dropped here. */
	if (!(v->flags & CG_TRUST_CHECK_TIME) &&
	    (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID))
		return 1;
	if (revocation_unknown_error(e)) {
		/* A root is revoked by removing it from the store, never by a
		 * CRL: OpenSSL's CRL_CHECK_ALL also asks for the root's. */
		STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
		X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
		if (chain && depth == sk_X509_num(chain) - 1 && cur &&
		    X509_check_issued(cur, cur) == X509_V_OK)
			return 1;
		if (v->flags & CG_TRUST_REVOCATION_FAIL_OPEN) {
			v->skipped = true;
			return 1;
		}
	}
	if (!v->failed) {
		v->failed = true;
		v->error = e;
		v->depth = depth;
	}
	return 0;
}

/* The nearest date <= now and > now among the store's, the leaf's and
 * the client chain's: the result cannot change between them. */
static void validity_window(const struct cg_trust *t, X509 *leaf, STACK_OF(X509) *chain, int n,
			    int64_t now, struct cg_trust_result *out)
{
	int64_t from = INT64_MIN, until = INT64_MAX;
	if (t) {
		size_t lo = 0, hi = t->num_dates; /* first date > now */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (t->dates[mid] <= now)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0)
			from = t->dates[lo - 1];
		if (lo < t->num_dates)
			until = t->dates[lo];
	}
	for (int i = -1; i < n; i++) {
		X509 *x = i < 0 ? leaf : sk_X509_value(chain, i);
		int64_t d[2];
		if (asn1_epoch(X509_get0_notBefore(x), &d[0]) || asn1_epoch(X509_get0_notAfter(x), &d[1])) {
			/* Unreadable dates: never cache beyond this second. */
			from = now;
			until = now + 1;
			continue;
		}
		for (int k = 0; k < 2; k++) {
			if (d[k] <= now && d[k] > from)
				from = d[k];
			if (d[k] > now && d[k] < until)
				until = d[k];
		}
	}
	out->valid_from = from;
	out->valid_until = until;
}

static void result_init(struct cg_trust_result *out)
{
	memset(out, 0, sizeof(*out));
	out->depth = -1;
	out->error_text = "ok";
	out->valid_from = INT64_MIN;
	out->valid_until = INT64_MAX;
}

static bool fail(struct cg_trust_result *out, enum cg_trust_reason r, const char *text)
{
	out->reason = r;
	out->verify_error = X509_V_ERR_UNSPECIFIED;
	out->error_text = text;
	return false;
}

bool cg_trust_verify(const struct cg_trust *t, X509 *leaf, STACK_OF(X509) *client_chain, int64_t now_unix,
		     unsigned flags, struct cg_trust_result *out)
{
	result_init(out);
	if (t && t->fail_open)
		flags |= CG_TRUST_REVOCATION_FAIL_OPEN;
	flags &= CG_TRUST_FLAGS_ALL;
	if (!leaf)
		return fail(out, CG_TRUST_OTHER, "no certificate");
	int n = client_chain ? sk_X509_num(client_chain) : 0;
	/* The window is computed first so that every failure below is also
	 * bounded in time (an unfinished store or a long chain never change). */
	validity_window(t, leaf, client_chain, n > CG_TRUST_MAX_CLIENT_CHAIN ? 0 : n, now_unix, out);
	if (!t) {
		out->reason = CG_TRUST_UNTRUSTED;
		out->verify_error = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
		out->error_text = "no CA certificates are configured";
		out->depth = 0;
		return false;
	}
	if (!t->finished) {
		out->internal_error = true;
		out->valid_from = now_unix;
		out->valid_until = now_unix; /* never cached */
		return fail(out, CG_TRUST_OTHER, "trust store is not finished");
	}
	if (n > CG_TRUST_MAX_CLIENT_CHAIN)
		return fail(out, CG_TRUST_OTHER, "client sent more than 16 chain certificates");

	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_dup(t->intermediates);
	struct vstate v = { .flags = flags, .t = t, .now = now_unix, .crl_from = INT64_MIN, .crl_until = INT64_MAX };
	bool ok = false;
	if (!ctx || !untrusted)
		goto oom;
	/* The client's intermediates go after ours: the uploaded ones are
	 * tried first when both could be the issuer. Borrowed, not up-ref'd:
	 * the stack is freed before we return. */
	for (int i = 0; i < n; i++)
		if (!sk_X509_push(untrusted, sk_X509_value(client_chain, i)))
			goto oom;
	if (!X509_STORE_CTX_init(ctx, t->store, leaf, untrusted))
		goto oom;
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	unsigned long vf = X509_V_FLAG_TRUSTED_FIRST;
	if (flags & CG_TRUST_CHECK_REVOCATION)
		vf |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	X509_VERIFY_PARAM_set_flags(p, vf);
	/* Partial chains stay off (P10 in peers.md): a path ends at a root. */
	X509_VERIFY_PARAM_clear_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(p, (time_t)now_unix);
	X509_VERIFY_PARAM_set_depth(p, CG_TRUST_MAX_DEPTH);
	/* Purpose "any": APIM does not require the clientAuth EKU. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	X509_STORE_CTX_set_app_data(ctx, &v);

	atomic_fetch_add_explicit(&((struct cg_trust *)t)->verify_calls, 1, memory_order_relaxed);
	int rc = X509_verify_cert(ctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	out->chain_len = chain ? sk_X509_num(chain) : 0;
	out->revocation_skipped = v.skipped;
	/* A result computed with a fetched CRL must not outlive it. */
	if (v.crl_until > now_unix && v.crl_until < out->valid_until)
		out->valid_until = v.crl_until;
	if (v.crl_from > now_unix && v.crl_from < out->valid_until)
		out->valid_until = v.crl_from; /* a CRL not yet valid becomes usable then */
	if (v.crl_from <= now_unix && v.crl_from > out->valid_from)
		out->valid_from = v.crl_from;
	/* A stale fetched CRL (now >= nextUpdate) keeps its "unknown" until
	 * a new one lands: the fetcher's epoch ends that entry. */
	if (rc == 1 && !v.failed) {
		ok = true;
		X509 *iss = out->chain_len >= 2 ? sk_X509_value(chain, 1) : out->chain_len == 1 ? leaf : NULL;
		unsigned char h[20];
		if (iss && sha1_of(iss, h))
			hex20(h, out->issuer_thumbprint);
	} else {
		int e = v.failed ? v.error : X509_STORE_CTX_get_error(ctx);
		out->verify_error = e == X509_V_OK ? X509_V_ERR_UNSPECIFIED : e;
		out->depth = v.failed ? v.depth : X509_STORE_CTX_get_error_depth(ctx);
		out->reason = map_error(out->verify_error);
		if (out->reason == CG_TRUST_OK)
			out->reason = CG_TRUST_OTHER;
		out->error_text = X509_verify_cert_error_string(out->verify_error);
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	return ok;
oom:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	ERR_clear_error();
	/* Out of memory is not a property of the certificate: never cache it. */
	out->valid_from = out->valid_until = now_unix;
	out->internal_error = true;
	return fail(out, CG_TRUST_OTHER, "out of memory");
}

/* ---- the cache --------------------------------------------------------- */

struct centry {
	unsigned char leaf[20];
	unsigned char chain[20]; /* SHA-1 over the chain's SHA-1s; zeros when none */
	uint64_t generation;
	uint64_t epoch; /* the CRL fetcher's, when the result was computed */
	unsigned flags;
	uint32_t hnext;      /* next in the bucket, index + 1; 0 ends */
	uint32_t prev, next; /* LRU list, index + 1; head = most recent */
	struct cg_trust_result r;
};

struct cg_trust_cache {
	struct centry *e;
	uint32_t *buckets; /* index + 1 of the first entry; 0 = empty */
	size_t cap, n, mask;
	uint32_t head, tail;
	uint64_t seed; /* random per cache: bucket placement is not predictable */
	struct cg_trust_cache_stats st;
};

struct cg_trust_cache *cg_trust_cache_new(size_t entries)
{
	if (entries == 0)
		entries = CG_TRUST_CACHE_ENTRIES;
	if (entries > CG_TRUST_CACHE_MAX_ENTRIES)
		return NULL;
	struct cg_trust_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t nb = 1;
	while (nb < 2 * entries)
		nb <<= 1;
	c->e = calloc(entries, sizeof(*c->e));
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (!c->e || !c->buckets) {
		cg_trust_cache_free(c);
		return NULL;
	}
	c->cap = entries;
	c->mask = nb - 1;
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
		c->seed = (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ull;
	c->st.capacity = entries;
	return c;
}

void cg_trust_cache_free(struct cg_trust_cache *c)
{
	if (!c)
		return;
	free(c->e);
	c->e = NULL;
	free(c->buckets);
	c->buckets = NULL;
	free(c);
}

void cg_trust_cache_stats(const struct cg_trust_cache *c, struct cg_trust_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c) {
		*out = c->st;
		out->entries = c->n;
	}
}

static size_t key_bucket(const struct cg_trust_cache *c, const unsigned char leaf[20], const unsigned char chain[20],
			 uint64_t gen, unsigned flags)
{
	uint64_t a, b;
	memcpy(&a, leaf, 8);
	memcpy(&b, chain, 8);
	uint64_t h = c->seed ^ a;
	h = (h ^ (h >> 31)) * 0x7FB5D329728EA185ull;
	h ^= b + gen * 0x9E3779B97F4A7C15ull + flags;
	h = (h ^ (h >> 27)) * 0x81DADEF4BC2DD44Dull;
	h ^= h >> 33;
	return (size_t)(h & c->mask);
}

static void lru_unlink(struct cg_trust_cache *c, uint32_t i)
{
	struct centry *x = &c->e[i - 1];
	if (x->prev)
		c->e[x->prev - 1].next = x->next;
	else
		c->head = x->next;
	if (x->next)
		c->e[x->next - 1].prev = x->prev;
	else
		c->tail = x->prev;
	x->prev = x->next = 0;
}

static void lru_push_front(struct cg_trust_cache *c, uint32_t i)
{
	struct centry *x = &c->e[i - 1];
	x->prev = 0;
	x->next = c->head;
	if (c->head)
		c->e[c->head - 1].prev = i;
	c->head = i;
	if (!c->tail)
		c->tail = i;
}

static void bucket_remove(struct cg_trust_cache *c, uint32_t i)
{
	struct centry *x = &c->e[i - 1];
	uint32_t *pp = &c->buckets[key_bucket(c, x->leaf, x->chain, x->generation, x->flags)];
	while (*pp && *pp != i)
		pp = &c->e[*pp - 1].hnext;
	if (*pp)
		*pp = x->hnext;
	x->hnext = 0;
}

/* The chain's identity for the key: SHA-1 over its certificates' SHA-1s
 * (cached by OpenSSL), so a different chain is a different entry. */
static bool chain_key(STACK_OF(X509) *chain, unsigned char out[20])
{
	memset(out, 0, 20);
	int n = chain ? sk_X509_num(chain) : 0;
	if (n == 0)
		return true;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool ok = m && EVP_DigestInit_ex(m, md_sha1, NULL);
	for (int i = 0; ok && i < n; i++) {
		unsigned char h[20];
		ok = sha1_of(sk_X509_value(chain, i), h) && EVP_DigestUpdate(m, h, 20);
	}
	unsigned int len = 0;
	ok = ok && EVP_DigestFinal_ex(m, out, &len) && len == 20;
	EVP_MD_CTX_free(m);
	return ok;
}

bool cg_trust_cache_verify(const struct cg_trust *t, struct cg_trust_cache *c, X509 *leaf,
			   STACK_OF(X509) *client_chain, int64_t now_unix, unsigned flags,
			   struct cg_trust_result *out)
{
	unsigned char lk[20], ck[20];
	if (t && t->fail_open)
		flags |= CG_TRUST_REVOCATION_FAIL_OPEN;
	flags &= CG_TRUST_FLAGS_ALL;
	if (!c || !t || !leaf || !sha1_of(leaf, lk) || !chain_key(client_chain, ck))
		return cg_trust_verify(t, leaf, client_chain, now_unix, flags, out);
	uint64_t gen = t->generation;
	/* Read before verifying: a CRL landing meanwhile makes this entry
	 * old at once, so the next call sees the new CRL. Only results that
	 * asked for revocation depend on it. */
	uint64_t epoch = (flags & CG_TRUST_CHECK_REVOCATION) ? cg_crl_fetcher_epoch(t->crl_source) : 0;
	size_t b = key_bucket(c, lk, ck, gen, flags);
	for (uint32_t i = c->buckets[b]; i; i = c->e[i - 1].hnext) {
		struct centry *x = &c->e[i - 1];
		if (x->generation != gen || x->flags != flags || memcmp(x->leaf, lk, 20) != 0 ||
		    memcmp(x->chain, ck, 20) != 0)
			continue;
		if (x->epoch == epoch && now_unix >= x->r.valid_from && now_unix < x->r.valid_until) {
			c->st.hits++;
			lru_unlink(c, i);
			lru_push_front(c, i);
			*out = x->r;
			out->from_cache = true;
			return out->reason == CG_TRUST_OK;
		}
		/* Out of its window: verify again and reuse the slot. */
		c->st.misses++;
		bool ok = cg_trust_verify(t, leaf, client_chain, now_unix, flags, out);
		x->r = *out;
		x->epoch = epoch;
		lru_unlink(c, i);
		lru_push_front(c, i);
		return ok;
	}
	c->st.misses++;
	bool ok = cg_trust_verify(t, leaf, client_chain, now_unix, flags, out);
	if (out->valid_from > now_unix || out->valid_until <= now_unix)
		return ok; /* nothing to keep (out of memory) */
	uint32_t i;
	if (c->n < c->cap) {
		i = (uint32_t)++c->n;
	} else {
		i = c->tail;
		lru_unlink(c, i);
		bucket_remove(c, i);
		c->st.evictions++;
	}
	struct centry *x = &c->e[i - 1];
	memcpy(x->leaf, lk, 20);
	memcpy(x->chain, ck, 20);
	x->generation = gen;
	x->flags = flags;
	x->epoch = epoch;
	x->r = *out;
	x->hnext = c->buckets[b];
	c->buckets[b] = i;
	lru_push_front(c, i);
	return ok;
}

bool cg_trust_dotnet_verify(const struct cg_trust *t, struct cg_trust_cache *c, X509 *leaf,
			    STACK_OF(X509) *client_chain, int64_t now_unix, bool revocation)
{
	struct cg_trust_result r;
	if (!t || !leaf)
		return false;
	unsigned flags = CG_TRUST_CHECK_TIME | (revocation ? CG_TRUST_CHECK_REVOCATION : 0);
	return cg_trust_cache_verify(t, c, leaf, client_chain, now_unix, flags, &r);
}

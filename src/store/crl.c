/* Certificate revocation lists uploaded for the CA certificates. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "store/store-int.h"
#include "store/store.h"
#include "store/validate.h"
#include "tls/trust.h"
#include "tls/x509.h"

static X509_CRL *parse_crl(const unsigned char *data, size_t len)
{
	const unsigned char *p = data;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl && p == data + len)
		return crl;
	X509_CRL_free(crl);
	BIO *b = BIO_new_mem_buf(data, (int)len);
	crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	return crl;
}

/* Checks the CRL against the uploaded CA certificates with the gateway's
 * own trust code: what the store accepts, a snapshot can use. */
static int check_against_cas(struct cg_store *st, X509_CRL *crl, char *err, size_t errlen)
{
	struct cg_arena a;
	cg_arena_init(&a, 16 * 1024, 0);
	struct cg_trust *t = cg_trust_new(&a, 1);
	int rc = t ? 0 : cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	struct cg_db_stmt *s = rc ? NULL : cg_store_prepare(st, "SELECT id, der, intermediate FROM ca_certificates", err, errlen);
	if (!rc && !s)
		rc = CG_STORE_FAIL_IO;
	while (!rc && cg_db_step(s) == CG_DB_ROW) {
		size_t n;
		const void *der = cg_db_col_blob(s, 1, &n);
		char e[300];
		/* A CA that no longer loads is the CA upload's problem, not this one's. */
		(void)cg_trust_add_ca_data(t, cg_str_make(der, n), cg_db_col_int(s, 2) == 0, e,
					   sizeof(e));
	}
	cg_db_finalize(s);
	char e[400];
	if (!rc && cg_trust_add_crl(t, crl, e, sizeof(e)) != 0)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    "the CRL cannot be used: %s (upload its issuer with 'ca add' first)", e);
	cg_arena_destroy(&a);
	return rc;
}

static void asn1_iso(const ASN1_TIME *t, char out[32])
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		strcpy(out, "");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cg_store_crl_add(struct cg_store *st, const char *id, const unsigned char *data, size_t len,
		     char *warn, size_t warnlen, char *err, size_t errlen)
{
	int rc;
	if (warn && warnlen)
		warn[0] = '\0';
	if ((rc = cg_store_check_id("CRL id", id ? id : "", err, errlen)))
		return rc;
	if (len == 0 || len > CG_STORE_MAX_CRL_BYTES)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "a CRL must be 1 to %d bytes, not %zu", CG_STORE_MAX_CRL_BYTES, len);
	X509_CRL *crl = parse_crl(data, len);
	if (!crl)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "not a certificate revocation list (PEM or DER)");
	unsigned char *der = NULL;
	int dl = i2d_X509_CRL(crl, &der);
	char issuer[1024] = "", next[32];
	struct cg_arena a;
	cg_arena_init(&a, 4096, 0);
	struct cg_str iss;
	char e[200];
	if (cg_x509_name_to_dotnet(X509_CRL_get_issuer(crl), &a, &iss, e, sizeof(e)) == 0)
		snprintf(issuer, sizeof(issuer), "%.*s", CG_STR_FMT(iss));
	cg_arena_destroy(&a);
	asn1_iso(X509_CRL_get0_nextUpdate(crl), next);
	if (dl <= 0 || !next[0]) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    dl <= 0 ? "the CRL cannot be encoded"
					    : "the CRL has no nextUpdate (a CRL that never expires is refused)");
		goto out;
	}
	if ((rc = cg_store_begin_write(st, err, errlen)))
		goto out;
	if ((rc = check_against_cas(st, crl, err, errlen)))
		goto out;
	size_t exists = 0, total = 0;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM crls WHERE id = ?1", id, NULL, &exists, err,
				 errlen)) ||
	    (rc = cg_store_count(st, "SELECT count(*) FROM crls", NULL, NULL, &total, err, errlen)))
		goto out;
	if (!exists && total >= CG_STORE_MAX_CRLS) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID, "the store already holds %d CRLs",
				    CG_STORE_MAX_CRLS);
		goto out;
	}
	struct cg_db_stmt *s = cg_store_prepare_text(
		st,
		exists ? "UPDATE crls SET issuer = ?2, next_update = ?3, der = ?4, updated_at = "
			 CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO crls (id, issuer, next_update, der, created_at, updated_at)"
			 " VALUES (?1, ?2, ?3, ?4, " CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, issuer, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, next);
		cg_db_bind_blob(s, 4, der, (size_t)dl);
	}
	if ((rc = cg_store_upsert_commit(st, s, "write CRL", exists != 0, NULL, err, errlen)))
		goto out;
	if (warn && X509_cmp_time(X509_CRL_get0_nextUpdate(crl), NULL) < 0)
		snprintf(warn, warnlen,
			 "CRL '%s' is past its nextUpdate (%s): revocation checks against its issuer fail "
			 "until a fresh one is uploaded",
			 id, next);
out:
	if (rc)
		cg_store_rollback(st);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

int cg_store_crl_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	return cg_store_rm_by_id(st, "crls", "CRL", id, err, errlen);
}

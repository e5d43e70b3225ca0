/* Uploaded certificates (APIM certificates entity) and CA certificates.
 * The file is parsed and checked before the write lock is taken (PEM, DER
 * or PKCS#12; a password must open it; a key must match), then one
 * transaction checks uniqueness and limits and writes. What is stored is
 * re-encoded from what was parsed: the DER of the certificate and, when a
 * key came with it, that key as PKCS#8 PEM. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "store/cert.h"
#include "store/store-int.h"
#include "store/validate.h"

static void warn_add(char *warn, size_t warnlen, const char *msg)
{
	if (!warn || !warnlen)
		return;
	size_t n = strlen(warn);
	if (n + 1 < warnlen)
		snprintf(warn + n, warnlen - n, "%s%s", n ? "; " : "", msg);
}

static void validity_warnings(const struct cg_store_cert_info *info, const char *what,
			      const char *id, char *warn, size_t warnlen)
{
	char msg[CG_STORE_ERR_LEN];
	if (info->expired) {
		snprintf(msg, sizeof(msg), "%s '%s' expired on %s", what, id, info->not_after);
		warn_add(warn, warnlen, msg);
	} else if (info->not_yet_valid) {
		snprintf(msg, sizeof(msg), "%s '%s' is not valid before %s", what, id,
			 info->not_before);
		warn_add(warn, warnlen, msg);
	}
}

/* Refuses (CONFLICT) when another row of table holds the thumbprint. */
static int thumbprint_free(struct cg_store *st, const char *table, const char *what,
			   const char *thumbprint, const char *id, char *err, size_t errlen)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE thumbprint = ? AND id <> ?", table);
	struct cg_db_stmt *s = cg_store_prepare(st, sql, err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	cg_db_bind_text(s, 1, thumbprint);
	cg_db_bind_text(s, 2, id);
	int r = cg_db_step(s), rc = 0;
	if (r == CG_DB_ROW)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_CONFLICT,
				    "this certificate (thumbprint %s) is already stored as %s '%s'",
				    thumbprint, what, cg_db_col_text(s, 0));
	else if (r != CG_DB_DONE)
		rc = cg_store_sql_fail(st, "check thumbprint", err, errlen);
	cg_db_finalize(s);
	return rc;
}

/* Takes the write lock for adding or replacing certificate id in table:
 * *exists says whether it is there; refuses a new row past limit (plural
 * names the rows) and a thumbprint another row holds (what names it). */
static int begin_cert_write(struct cg_store *st, const char *table, const char *plural,
			    const char *what, size_t limit, const char *id, const char *thumbprint,
			    bool *exists, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_begin_write(st, err, errlen)) ||
	    (rc = cg_store_room_for(st, table, "id", id, limit, plural, exists, err, errlen)))
		return rc;
	return thumbprint_free(st, table, what, thumbprint, id, err, errlen);
}

/* Lists the backends whose client certificate is cert_id into out
 * ("backend 'a', backend 'b'", cut to outlen), "" when none. */
static int backend_users(struct cg_store *st, const char *cert_id, char *out, size_t outlen,
			 char *err, size_t errlen)
{
	out[0] = 0;
	struct cg_db_stmt *s = cg_store_prepare(
		st, "SELECT id FROM backends WHERE client_cert_id = ? ORDER BY id", err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	cg_db_bind_text(s, 1, cert_id);
	int r;
	size_t n = 0;
	while ((r = cg_db_step(s)) == CG_DB_ROW) {
		size_t used = strlen(out);
		if (used + 1 < outlen)
			snprintf(out + used, outlen - used, "%sbackend '%.*s'", n ? ", " : "",
				 CG_STORE_MAX_ID_LEN, cg_db_col_text(s, 0));
		n++;
	}
	cg_db_finalize(s);
	return r == CG_DB_DONE ? 0 : cg_store_sql_fail(st, "read backends", err, errlen);
}

int cg_store_cert_add(struct cg_store *st, const struct cg_store_cert_add *in, char *err,
		      size_t errlen)
{
	const char *id = in->id ? in->id : "";
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	char *key_pem = NULL;
	struct cg_db_stmt *s = NULL;
	int rc;
	if (in->warn && in->warnlen)
		in->warn[0] = 0;
	if ((rc = cg_store_check_id("certificate id", id, err, errlen)))
		return rc;
	if ((rc = cg_store_cert_parse_upload(in->data, in->len, in->password, &x, &key, err,
					     errlen)))
		return rc;
	struct cg_store_cert_info info;
	cg_store_cert_info_of(x, &info);
	int dl = i2d_X509(x, &der);
	if (dl <= 0 || (key && !(key_pem = cg_store_key_to_pem(key)))) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
				    "out of memory encoding the certificate");
		goto out;
	}
	bool exists;
	if ((rc = begin_cert_write(st, "certificates", "certificates", "certificate",
				   CG_STORE_MAX_CERTS, id, info.thumbprint, &exists, err, errlen)))
		goto out;
	if (exists && !key) {
		/* A backend presents this certificate: it must keep a key. */
		char users[CG_STORE_ERR_LEN / 2];
		if ((rc = backend_users(st, id, users, sizeof(users), err, errlen)))
			goto out;
		if (users[0]) {
			rc = cg_store_failf(
				err, errlen, CG_STORE_FAIL_INVALID,
				"certificate '%s' is the client certificate of %s; the new file "
				"has no private key (use a PFX or a PEM with the key)",
				id, users);
			goto out;
		}
	}
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE certificates SET thumbprint = ?2, subject = ?3, issuer = ?4,"
			 " not_before = ?5, not_after = ?6, der = ?7, key_pem = ?8,"
			 " updated_at = " CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO certificates (id, thumbprint, subject, issuer, not_before,"
			 " not_after, der, key_pem, created_at, updated_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, info.thumbprint, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, info.subject);
		cg_db_bind_text(s, 4, info.issuer);
		cg_db_bind_text(s, 5, info.not_before);
		cg_db_bind_text(s, 6, info.not_after);
		cg_db_bind_blob(s, 7, der, (size_t)dl);
		if (key_pem)
			cg_db_bind_text(s, 8, key_pem);
	}
	rc = cg_store_upsert_commit(st, s, "write certificate", exists, in->created, err, errlen);
	s = NULL;
	if (rc)
		goto out;
	validity_warnings(&info, "certificate", id, in->warn, in->warnlen);
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	if (key_pem)
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	free(key_pem);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

int cg_store_cert_get(struct cg_store *st, const char *id, struct cg_store_cert_info *info,
		      bool *has_key, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("certificate id", id ? id : "", err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT der, key_pem IS NOT NULL FROM certificates WHERE id = ?", id, NULL, err,
		errlen);
	rc = cg_store_first_row(st, s, "read certificate", err, errlen);
	if (rc == 0) {
		size_t n;
		const unsigned char *p = cg_db_col_blob(s, 0, &n);
		X509 *x = d2i_X509(NULL, &p, (long)n);
		if (!x) {
			ERR_clear_error();
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
					    "store '%s': certificate '%s' does not parse", st->path,
					    id);
		} else {
			cg_store_cert_info_of(x, info);
			X509_free(x);
			*has_key = cg_db_col_int(s, 1) != 0;
		}
	} else if (rc == CG_STORE_FAIL_NOT_FOUND) {
		rc = cg_store_failf(err, errlen, rc, "certificate '%s' does not exist", id);
	}
	cg_db_finalize(s);
	return rc;
}

struct cert_ref {
	struct cg_str id, thumb;
};

static bool names_cert_attr(struct cg_str name, struct cg_str v, void *ud)
{
	const struct cert_ref *r = ud;
	return (cg_str_eq_lit(name, "certificate-id") && cg_str_eq(v, r->id)) ||
	       (cg_str_eq_lit(name, "thumbprint") && cg_str_ieq(v, r->thumb));
}

/* Whether an <authentication-certificate> element of text names the
 * certificate: certificate-id="id", or thumbprint="thumb" (any case), the
 * two ways APIM's policy refers to an uploaded certificate. Comments are
 * skipped; an expression value cannot be known and does not count. */
static bool names_certificate(const char *text, const char *id, const char *thumb)
{
	struct cert_ref r = { cg_str_from_c(id), cg_str_from_c(thumb) };
	return cg_store_xml_find_attr(text, "<authentication-certificate", false, names_cert_attr,
				      &r);
}

int cg_store_cert_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("certificate id", id ? id : "", err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	char thumb[CG_STORE_THUMBPRINT_LEN] = "";
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT thumbprint FROM certificates WHERE id = ?", id, NULL, err, errlen);
	rc = cg_store_first_row(st, s, "read certificate", err, errlen);
	if (rc == 0)
		snprintf(thumb, sizeof(thumb), "%s", cg_db_col_text(s, 0));
	cg_db_finalize(s);
	s = NULL;
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = cg_store_failf(err, errlen, rc, "certificate '%s' does not exist", id);
	if (rc)
		goto out;
	char busers[CG_STORE_ERR_LEN / 2];
	if ((rc = backend_users(st, id, busers, sizeof(busers), err, errlen)))
		goto out;
	if (busers[0]) {
		rc = cg_store_failf(
			err, errlen, CG_STORE_FAIL_CONFLICT,
			"certificate '%s' is used by %s (client certificate); change them first",
			id, busers);
		goto out;
	}
	/* APIM: a certificate referenced by policies cannot be deleted. */
	s = cg_store_prepare(st,
			     "SELECT scope, coalesce(api_id, product_id), op_id, value, NULL FROM policies "
			     "UNION ALL "
			     "SELECT 'fragment', NULL, NULL, value, id FROM fragments",
			     err, errlen);
	if (!s) {
		rc = CG_STORE_FAIL_IO;
		goto out;
	}
	size_t users = 0, used = 0;
	char list[CG_STORE_ERR_LEN / 2] = "";
	int r;
	while ((r = cg_db_step(s)) == CG_DB_ROW) {
		const char *v = cg_db_col_text(s, 3);
		if (!v || !names_certificate(v, id, thumb))
			continue;
		const char *sc = cg_db_col_text(s, 0);
		char label[300];
		if (strcmp(sc, "fragment") == 0)
			snprintf(label, sizeof(label), "fragment '%s'",
				 cg_db_col_text(s, 4));
		else
			cg_store_policy_name(cg_store_policy_scope_of(sc), cg_db_col_text(s, 1),
				cg_db_col_text(s, 2), label, sizeof(label));
		users++;
		used = strlen(list);
		if (used + 1 < sizeof(list))
			snprintf(list + used, sizeof(list) - used, "%s%.*s", users > 1 ? ", " : "",
				 (int)(sizeof(list) - used - 1), label); /* cut, not overflowed */
	}
	cg_db_finalize(s);
	s = NULL;
	if (r != CG_DB_DONE) {
		rc = cg_store_sql_fail(st, "read policies", err, errlen);
		goto out;
	}
	if (users) {
		rc = cg_store_failf(
			err, errlen, CG_STORE_FAIL_CONFLICT,
			"certificate '%s' is used by %s (authentication-certificate); change them "
			"first",
			id, list);
		goto out;
	}
	rc = cg_store_run(st, "DELETE FROM certificates WHERE id = ?", id, NULL,
			  "delete certificate", err, errlen);
	if (rc == 0)
		rc = cg_store_commit_write(st, err, errlen);
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

int cg_store_ca_add(struct cg_store *st, const struct cg_store_ca_add *in, char *err, size_t errlen)
{
	const char *id = in->id ? in->id : "";
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	struct cg_db_stmt *s = NULL;
	int rc;
	if (in->warn && in->warnlen)
		in->warn[0] = 0;
	if ((rc = cg_store_check_id("CA certificate id", id, err, errlen)))
		return rc;
	if ((rc = cg_store_cert_parse_upload(in->data, in->len, in->password, &x, &key, err,
					     errlen)))
		return rc;
	/* Only the public part is a trust anchor; a key is never kept. */
	EVP_PKEY_free(key);
	key = NULL;
	struct cg_store_cert_info info;
	cg_store_cert_info_of(x, &info);
	/* X509_check_ca: 0 means basicConstraints CA:FALSE, or no CA marking
	 * at all (v3 without basicConstraints or keyCertSign). */
	if (X509_check_ca(x) == 0) {
		rc = cg_store_failf(
			err, errlen, CG_STORE_FAIL_INVALID,
			"'%.200s' (thumbprint %s) is not a CA certificate (basicConstraints "
			"CA:FALSE or missing); upload client certificates with 'cert add'",
			info.subject, info.thumbprint);
		goto out;
	}
	int dl = i2d_X509(x, &der);
	if (dl <= 0) {
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_IO,
				    "out of memory encoding the certificate");
		goto out;
	}
	bool exists;
	if ((rc = begin_cert_write(st, "ca_certificates", "CA certificates", "CA certificate",
				   CG_STORE_MAX_CAS, id, info.thumbprint, &exists, err, errlen)))
		goto out;
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE ca_certificates SET thumbprint = ?2, subject = ?3, not_after = ?4,"
			 " der = ?5, intermediate = ?6, updated_at = "
			 CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO ca_certificates (id, thumbprint, subject, not_after, der,"
			 " intermediate, created_at, updated_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, info.thumbprint, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, info.subject);
		cg_db_bind_text(s, 4, info.not_after);
		cg_db_bind_blob(s, 5, der, (size_t)dl);
		cg_db_bind_int(s, 6, in->intermediate ? 1 : 0);
	}
	rc = cg_store_upsert_commit(st, s, "write CA certificate", exists, in->created, err,
				    errlen);
	s = NULL;
	if (rc)
		goto out;
	validity_warnings(&info, "CA certificate", id, in->warn, in->warnlen);
	/* A root that did not sign itself cannot end a chain. */
	if (!in->intermediate && X509_check_issued(x, x) != X509_V_OK) {
		char msg[CG_STORE_ERR_LEN];
		snprintf(
			msg, sizeof(msg),
			"CA certificate '%s' is not self-signed; chains cannot end at it as a root "
			"(add it with --intermediate, and its issuer as a root)",
			id);
		warn_add(in->warn, in->warnlen, msg);
	}
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	OPENSSL_free(der);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int cg_store_ca_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	return cg_store_rm_by_id(st, "ca_certificates", "CA certificate", id, err, errlen);
}


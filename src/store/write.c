/* Validated writes. Each one checks its input first (pure syntax), then,
 * inside one BEGIN IMMEDIATE transaction, checks it against the stored rows
 * (existence, uniqueness, the default hostname), writes, bumps the change
 * counter and commits. Any failure rolls back: nothing is changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "store/cert.h"
#include "store/store-int.h"
#include "store/validate.h"

/* Non-fatal findings: appended to in->warn ("; " between them) when the
 * caller gave a buffer, else logged one per line. */
static void warn_out(const struct cg_store_host_set *in, const char *msg)
{
	if (in->warn && in->warnlen) {
		size_t n = strlen(in->warn);
		if (n + 1 < in->warnlen)
			snprintf(in->warn + n, in->warnlen - n, "%s%s", n ? "; " : "", msg);
	} else {
		cg_log_warn("%s", msg);
	}
}

int cg_store_host_set(struct cg_store *st, const struct cg_store_host_set *in, char *err,
		      size_t errlen)
{
	char name[CG_STORE_MAX_HOSTNAME_LEN + 1];
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	char *old_cert = NULL, *old_key = NULL, *cert_pem = NULL, *key_pem = NULL;
	struct cg_db_stmt *s = NULL;
	int rc;
	if (in->warn && in->warnlen)
		in->warn[0] = 0;
	if ((rc = cg_store_check_hostname(in->name ? in->name : "", name, err, errlen)))
		return rc;
	/* Parse what was given before taking the write lock. */
	if (in->cert_pem && (rc = cg_store_chain_parse(in->cert_pem, &chain, err, errlen)))
		return rc;
	if (in->key_pem && (rc = cg_store_key_parse(in->key_pem, &key, err, errlen)))
		goto out;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		goto out;

	s = cg_store_prepare_text(st,
				  "SELECT cert_pem, key_pem, negotiate_client_certificate, "
				  "is_default FROM hostnames WHERE name = ?",
				  name, NULL, err, errlen);
	rc = cg_store_first_row(st, s, "read hostname", err, errlen);
	bool exists = rc == 0;
	int negotiate = 0;
	bool was_default = false;
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = 0;
	else if (rc)
		goto out;
	if (exists) {
		old_cert = cg_store_dup_col(s, 0);
		old_key = cg_store_dup_col(s, 1);
		negotiate = cg_db_col_int(s, 2);
		was_default = cg_db_col_int(s, 3) != 0;
		if (!old_cert || !old_key) {
			snprintf(err, errlen, "out of memory");
			rc = CG_STORE_FAIL_IO;
			goto out;
		}
	}
	cg_db_finalize(s);
	s = NULL;

	size_t n_hosts;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM hostnames", NULL, NULL, &n_hosts, err,
				 errlen)))
		goto out;
	if (!exists) {
		if (!chain || !key) {
			snprintf(err, errlen,
				 "hostname '%s' does not exist yet; a certificate and a key are "
				 "both "
				 "needed to create it",
				 name);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
		if (n_hosts >= CG_STORE_MAX_HOSTS) {
			snprintf(err, errlen, "the store already holds %d hostnames, the limit",
				 CG_STORE_MAX_HOSTS);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
	}
	/* On update, a missing half comes from the stored row, and the pair is
	 * checked as a whole: a new certificate must match the old key. */
	if (!chain && (rc = cg_store_chain_parse(old_cert, &chain, err, errlen)))
		goto out;
	if (!key && (rc = cg_store_key_parse(old_key, &key, err, errlen)))
		goto out;
	X509 *leaf = sk_X509_value(chain, 0);
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		struct cg_store_cert_info info;
		cg_store_cert_info_of(leaf, &info);
		snprintf(err, errlen,
			 "the private key does not match the certificate (leaf subject '%s', "
			 "thumbprint %s)",
			 info.subject, info.thumbprint);
		rc = CG_STORE_FAIL_INVALID;
		goto out;
	}
	{
		struct cg_store_cert_info info;
		cg_store_cert_info_of(leaf, &info);
		char msg[2 * CG_STORE_ERR_LEN]; /* subject + name + words */
		if (info.expired) {
			snprintf(msg, sizeof(msg),
				 "the certificate for '%s' expired on %s; clients will refuse it",
				 name, info.not_after);
			warn_out(in, msg);
		} else if (info.not_yet_valid) {
			snprintf(msg, sizeof(msg),
				 "the certificate for '%s' is not valid before %s; clients will "
				 "refuse it until then",
				 name, info.not_before);
			warn_out(in, msg);
		}
		if (!cg_store_cert_names_host(leaf, name)) {
			snprintf(msg, sizeof(msg),
				 "the certificate (subject '%.200s') does not name '%s' in its "
				 "subject alternative names; clients that check names will refuse it",
				 info.subject, name);
			warn_out(in, msg);
		}
	}
	cert_pem = cg_store_chain_to_pem(chain);
	key_pem = cg_store_key_to_pem(key);
	if (!cert_pem || !key_pem) {
		snprintf(err, errlen, "out of memory encoding the certificate");
		rc = CG_STORE_FAIL_IO;
		goto out;
	}
	if (in->negotiate_client_certificate >= 0)
		negotiate = in->negotiate_client_certificate ? 1 : 0;
	/* The first hostname becomes the default, so there is always one. */
	bool is_default = in->make_default || was_default || n_hosts == 0;
	if (in->make_default) {
		if ((rc = cg_store_run(st,
				       "UPDATE hostnames SET is_default = 0, updated_at = "
				       CG_STORE_SQL_NOW " WHERE is_default = 1 AND name <> ?",
				       name, NULL, "clear the old default", err, errlen)))
			goto out;
	}
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE hostnames SET cert_pem = ?2, key_pem = ?3, "
			 "negotiate_client_certificate = ?4, is_default = ?5, updated_at = "
			 CG_STORE_SQL_NOW " WHERE name = ?1"
		       : "INSERT INTO hostnames (name, cert_pem, key_pem, "
			 "negotiate_client_certificate,"
			 " is_default, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		name, cert_pem, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, key_pem);
		cg_db_bind_int(s, 4, negotiate);
		cg_db_bind_int(s, 5, is_default ? 1 : 0);
	}
	rc = cg_store_upsert_commit(st, s, "write hostname", exists, in->created, err, errlen);
	s = NULL;
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	/* Key PEMs are wiped before they go back to malloc. */
	if (old_key)
		OPENSSL_cleanse(old_key, strlen(old_key));
	if (key_pem)
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	free(old_cert);
	free(old_key);
	free(key_pem);
	free(cert_pem);
	return rc;
}

int cg_store_host_rm(struct cg_store *st, const char *in_name, char *err, size_t errlen)
{
	char name[CG_STORE_MAX_HOSTNAME_LEN + 1];
	int rc;
	if ((rc = cg_store_check_hostname(in_name ? in_name : "", name, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT is_default FROM hostnames WHERE name = ?", name, NULL, err, errlen);
	rc = cg_store_first_row(st, s, "read hostname", err, errlen);
	int is_default = rc == 0 ? cg_db_col_int(s, 0) : 0;
	cg_db_finalize(s);
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = cg_store_failf(err, errlen, rc, "hostname '%s' does not exist", name);
	if (rc)
		goto out;
	size_t n;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM hostnames", NULL, NULL, &n, err, errlen)))
		goto out;
	if (is_default && n > 1) {
		snprintf(err, errlen,
			 "hostname '%s' is the default hostname and %zu other hostname%s exist; "
			 "make "
			 "another one the default first",
			 name, n - 1, n - 1 == 1 ? "" : "s");
		rc = CG_STORE_FAIL_CONFLICT;
		goto out;
	}
	if ((rc = cg_store_run(st, "DELETE FROM hostnames WHERE name = ?", name, NULL,
			       "delete hostname", err, errlen)))
		goto out;
	rc = cg_store_commit_write(st, err, errlen);
out:
	if (rc)
		cg_store_rollback(st);
	return rc;
}

static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The subscription key's header name: an HTTP token (RFC 9110), 1-100
 * characters. */
static int check_key_header(const char *in, char *err, size_t errlen)
{
	size_t n = strlen(in);
	bool ok = n > 0 && n <= CG_STORE_MAX_KEY_NAME_LEN;
	for (size_t i = 0; ok && i < n; i++)
		ok = tchar((unsigned char)in[i]);
	if (!ok)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "subscription key header name '%.100s' is not an HTTP header "
				      "name of 1-%d characters",
				      in, CG_STORE_MAX_KEY_NAME_LEN);
	return 0;
}

/* The subscription key's query parameter name: 1-100 characters a query
 * carries unescaped, no '=' or '&'. */
static int check_key_query(const char *in, char *err, size_t errlen)
{
	size_t n = strlen(in);
	bool ok = n > 0 && n <= CG_STORE_MAX_KEY_NAME_LEN;
	for (size_t i = 0; ok && i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '-' || c == '_' || c == '.' || c == '~';
	}
	if (!ok)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "subscription key query parameter name '%.100s' must be 1-%d "
				      "letters, digits or - _ . ~",
				      in, CG_STORE_MAX_KEY_NAME_LEN);
	return 0;
}

int cg_store_api_set(struct cg_store *st, const struct cg_store_api_set *in, char *err,
		     size_t errlen)
{
	char path[CG_STORE_MAX_PATH_LEN + 1];
	char url[CG_STORE_MAX_URL_LEN + 1];
	int rc;
	const char *id = in->id ? in->id : "";
	if ((rc = cg_store_check_id("API id", id, err, errlen)))
		return rc;
	if (in->display_name && (rc = cg_store_check_display_name(in->display_name, err, errlen)))
		return rc;
	if (in->path && (rc = cg_store_check_path(in->path, path, err, errlen)))
		return rc;
	if (in->service_url && (rc = cg_store_check_service_url(in->service_url, url, err, errlen)))
		return rc;
	if ((in->sub_key_header && (rc = check_key_header(in->sub_key_header, err, errlen))) ||
	    (in->sub_key_query && (rc = check_key_query(in->sub_key_query, err, errlen))))
		return rc;
	if (in->protocols & ~CG_MODEL_PROTO_ALL)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "API protocols: only http and https are served");
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct cg_db_stmt *s = NULL;
	size_t exists;
	if ((rc = cg_store_count(st, "SELECT count(*) FROM apis WHERE id = ?", id, NULL, &exists,
				 err, errlen)))
		goto out;
	if (!exists) {
		if (!in->path || !in->service_url) {
			snprintf(err, errlen,
				 "API '%s' does not exist yet; a path and a backend URL are both "
				 "needed "
				 "to create it",
				 id);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
		size_t n;
		if ((rc = cg_store_count(st, "SELECT count(*) FROM apis", NULL, NULL, &n, err,
					 errlen)))
			goto out;
		if (n >= CG_STORE_MAX_APIS) {
			snprintf(err, errlen, "the store already holds %d APIs, the limit",
				 CG_STORE_MAX_APIS);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
	}
	if (in->path) {
		/* Paths compare case-insensitively (ASCII, as the column's
		 * collation and the PostgreSQL index), so two APIs can never be
		 * ambiguous whichever way routing folds case. */
		s = cg_store_prepare_text(st, "SELECT id FROM apis WHERE lower(path) = lower(?) AND id <> ?", path,
					  id, err, errlen);
		rc = cg_store_first_row(st, s, "check path", err, errlen);
		if (rc == 0)
			rc = cg_store_failf(err, errlen, CG_STORE_FAIL_CONFLICT,
					    "API path '%s' is already used by API '%s'", path,
					    cg_db_col_text(s, 0));
		else if (rc == CG_STORE_FAIL_NOT_FOUND)
			rc = 0;
		cg_db_finalize(s);
		s = NULL;
		if (rc)
			goto out;
	}
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE apis SET display_name = coalesce(?2, display_name),"
			 " path = coalesce(?3, path), service_url = coalesce(?4, service_url),"
			 " subscription_required = CASE WHEN ?5 < 0 THEN subscription_required"
			 " ELSE ?5 END, sub_key_header = coalesce(?6, sub_key_header),"
			 " sub_key_query = coalesce(?7, sub_key_query),"
			 " protocols = CASE WHEN ?8 = 0 THEN protocols ELSE ?8 END,"
			 " updated_at = " CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO apis (id, display_name, path, service_url,"
			 " subscription_required, sub_key_header, sub_key_query, protocols,"
			 " created_at, updated_at) VALUES (?1, coalesce(?2, ?1), ?3, ?4,"
			 " CASE WHEN ?5 < 0 THEN 0 ELSE ?5 END,"
			 " coalesce(?6, 'Ocp-Apim-Subscription-Key'), coalesce(?7, 'subscription-key'),"
			 " CASE WHEN ?8 = 0 THEN 3 ELSE ?8 END, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		id, in->display_name, err, errlen);
	if (s && in->path)
		cg_db_bind_text(s, 3, path);
	if (s && in->service_url)
		cg_db_bind_text(s, 4, url);
	if (s) {
		cg_db_bind_int(s, 5, in->subscription_required < 0 ? -1 : in->subscription_required ? 1 : 0);
		cg_db_bind_text(s, 6, in->sub_key_header);
		cg_db_bind_text(s, 7, in->sub_key_query);
		cg_db_bind_int(s, 8, (int)in->protocols);
	}
	rc = cg_store_upsert_commit(st, s, "write API", exists != 0, in->created, err, errlen);
	s = NULL;
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

int cg_store_api_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	return cg_store_rm_by_id(st, "apis", "API", id, err, errlen);
}

static int api_exists(struct cg_store *st, const char *api_id, char *err, size_t errlen)
{
	size_t n;
	int rc = cg_store_count(st, "SELECT count(*) FROM apis WHERE id = ?", api_id, NULL, &n, err,
				errlen);
	if (rc)
		return rc;
	if (n == 0) {
		snprintf(err, errlen, "API '%s' does not exist", api_id);
		return CG_STORE_FAIL_NOT_FOUND;
	}
	return 0;
}

int cg_store_op_set(struct cg_store *st, const struct cg_store_op_set *in, char *err, size_t errlen)
{
	char method[CG_STORE_MAX_METHOD_LEN + 1];
	char shape[CG_STORE_MAX_TEMPLATE_LEN + 1];
	char other_shape[CG_STORE_MAX_TEMPLATE_LEN + 1];
	char scratch[CG_STORE_ERR_LEN];
	char *old_method = NULL, *old_template = NULL;
	const char *api_id = in->api_id ? in->api_id : "", *id = in->id ? in->id : "";
	int rc;
	if ((rc = cg_store_check_id("API id", api_id, err, errlen)) ||
	    (rc = cg_store_check_id("operation id", id, err, errlen)))
		return rc;
	if (in->display_name && (rc = cg_store_check_display_name(in->display_name, err, errlen)))
		return rc;
	if (in->method && (rc = cg_store_check_method(in->method, method, err, errlen)))
		return rc;
	if (in->url_template &&
	    (rc = cg_store_check_url_template(in->url_template, shape, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	struct cg_db_stmt *s = NULL;
	if ((rc = api_exists(st, api_id, err, errlen)))
		goto out;
	s = cg_store_prepare_text(
		st, "SELECT method, url_template FROM operations WHERE api_id = ? AND id = ?",
		api_id, id, err, errlen);
	rc = cg_store_first_row(st, s, "read operation", err, errlen);
	bool exists = rc == 0;
	if (exists) {
		old_method = cg_store_dup_col(s, 0);
		old_template = cg_store_dup_col(s, 1);
	} else if (rc != CG_STORE_FAIL_NOT_FOUND) {
		goto out;
	}
	rc = 0;
	cg_db_finalize(s);
	s = NULL;
	if (!exists) {
		if (!in->method || !in->url_template) {
			snprintf(
				err, errlen,
				"operation '%s' of API '%s' does not exist yet; a method and a URL "
				"template are both needed to create it",
				id, api_id);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
		size_t n;
		if ((rc = cg_store_count(st, "SELECT count(*) FROM operations WHERE api_id = ?",
					 api_id, NULL, &n, err, errlen)))
			goto out;
		if (n >= CG_STORE_MAX_OPS_PER_API) {
			snprintf(err, errlen, "API '%s' already has %d operations, the limit",
				 api_id, CG_STORE_MAX_OPS_PER_API);
			rc = CG_STORE_FAIL_INVALID;
			goto out;
		}
	} else if (!old_method || !old_template) {
		snprintf(err, errlen, "out of memory");
		rc = CG_STORE_FAIL_IO;
		goto out;
	}
	const char *final_method = in->method ? method : old_method;
	const char *final_template = in->url_template ? in->url_template : old_template;
	if (!in->url_template &&
	    (rc = cg_store_check_url_template(final_template, shape, err, errlen)))
		goto out;
	/* Two operations with the same method and template would make routing
	 * ambiguous; APIM refuses them too, ignoring parameter names. */
	s = cg_store_prepare_text(
		st, "SELECT id, method, url_template FROM operations WHERE api_id = ? AND id <> ?",
		api_id, id, err, errlen);
	if (!s) {
		rc = CG_STORE_FAIL_IO;
		goto out;
	}
	int r;
	while ((r = cg_db_step(s)) == CG_DB_ROW) {
		const char *om = cg_db_col_text(s, 1);
		const char *ot = cg_db_col_text(s, 2);
		if (!om || !ot || strcmp(om, final_method) != 0)
			continue;
		if (cg_store_check_url_template(ot, other_shape, scratch, sizeof(scratch)) != 0)
			continue;
		if (strcmp(other_shape, shape) == 0) {
			snprintf(err, errlen,
				 "operation '%s' of API '%s' already has %s %s (the same template "
				 "up to "
				 "parameter names)",
				 cg_db_col_text(s, 0), api_id, om, ot);
			rc = CG_STORE_FAIL_CONFLICT;
			goto out;
		}
	}
	if (r != CG_DB_DONE) {
		rc = cg_store_sql_fail(st, "check operations", err, errlen);
		goto out;
	}
	cg_db_finalize(s);
	s = cg_store_prepare_text(
		st,
		exists ? "UPDATE operations SET display_name = coalesce(?3, display_name),"
			 " method = ?4, url_template = ?5, updated_at = " CG_STORE_SQL_NOW
			 " WHERE api_id = ?1 AND id = ?2"
		       : "INSERT INTO operations (api_id, id, display_name, method, url_template,"
			 " created_at, updated_at) VALUES (?1, ?2, coalesce(?3, ?2), ?4, ?5, "
			 CG_STORE_SQL_NOW ", " CG_STORE_SQL_NOW ")",
		api_id, id, err, errlen);
	if (s) {
		if (in->display_name)
			cg_db_bind_text(s, 3, in->display_name);
		cg_db_bind_text(s, 4, final_method);
		cg_db_bind_text(s, 5, final_template);
	}
	rc = cg_store_upsert_commit(st, s, "write operation", exists, in->created, err, errlen);
	s = NULL;
out:
	cg_db_finalize(s);
	if (rc)
		cg_store_rollback(st);
	free(old_method);
	free(old_template);
	return rc;
}

int cg_store_op_rm(struct cg_store *st, const char *api_id, const char *op_id, char *err,
		   size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("API id", api_id ? api_id : "", err, errlen)) ||
	    (rc = cg_store_check_id("operation id", op_id ? op_id : "", err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	if ((rc = api_exists(st, api_id, err, errlen))) {
		cg_store_rollback(st);
		return rc;
	}
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "DELETE FROM operations WHERE api_id = ? AND id = ?", api_id, op_id, err,
		errlen);
	return cg_store_delete_commit(st, s, "delete operation", err, errlen,
				      "API '%s' has no operation '%s'", api_id, op_id);
}

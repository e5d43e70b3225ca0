/* Backends (APIM backends/{id}): single backends with a URL, optional
 * client certificate and circuit breaker, and pools of single backends.
 * The JSON of circuitBreaker and pool is read in breaker.c. */
#include "store/breaker.h"
#include "store/store-int.h"
#include "store/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored backend's kind: 1 pool, 0 single; *exists false when absent. */
static int stored_kind(struct cg_store *st, const char *id, bool *exists, int *is_pool, char *err,
		       size_t errlen)
{
	struct cg_db_stmt *s =
		cg_store_prepare_text(st, "SELECT is_pool FROM backends WHERE id = ?", id, NULL, err, errlen);
	int rc = cg_store_first_row(st, s, "read backend", err, errlen);
	*exists = rc == 0;
	*is_pool = rc == 0 ? (int)cg_db_col_int(s, 0) : 0;
	cg_db_finalize(s);
	return rc == CG_STORE_FAIL_NOT_FOUND ? 0 : rc;
}

/* The first pool that has id as a member, into pool (""): none. */
static int pool_of(struct cg_store *st, const char *id, char *pool, size_t poollen, char *err,
		   size_t errlen)
{
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT pool_id FROM backend_pool_members WHERE member_id = ? ORDER BY pool_id",
		id, NULL, err, errlen);
	int rc = cg_store_first_row(st, s, "read pools", err, errlen);
	pool[0] = '\0';
	if (rc == 0)
		snprintf(pool, poollen, "%s", cg_db_col_text(s, 0));
	cg_db_finalize(s);
	return rc == CG_STORE_FAIL_NOT_FOUND ? 0 : rc;
}

static int check_client_cert(struct cg_store *st, const char *cert_id, char *err, size_t errlen)
{
	struct cg_db_stmt *s = cg_store_prepare_text(
		st, "SELECT key_pem IS NOT NULL FROM certificates WHERE id = ?", cert_id, NULL, err,
		errlen);
	int rc = cg_store_first_row(st, s, "read certificate", err, errlen);
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = cg_store_failf(err, errlen, rc, "certificate '%s' does not exist (add it with 'cert add')",
				    cert_id);
	else if (rc == 0 && !cg_db_col_int(s, 0))
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				    "certificate '%s' has no private key; a client certificate for "
				    "mTLS needs one (add it from a PFX or a PEM with the key)",
				    cert_id);
	cg_db_finalize(s);
	return rc;
}

/* Each member must be an existing single backend other than the pool. */
static int check_members(struct cg_store *st, const struct cg_store_backend_set *in, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < in->num_members; i++) {
		const char *mid = in->members[i].backend_id;
		bool exists;
		int is_pool, rc;
		if ((rc = cg_store_check_id("pool member backend id", mid, err, errlen)))
			return rc;
		if (strcmp(mid, in->id) == 0)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "pool '%s' cannot be a member of itself", in->id);
		if ((rc = stored_kind(st, mid, &exists, &is_pool, err, errlen)))
			return rc;
		if (!exists)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "pool member backend '%s' does not exist", mid);
		if (is_pool)
			return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
					      "pool member backend '%s' is a pool; a pool's members are "
					      "single backends",
					      mid);
	}
	return 0;
}

/* What a pool may not have; and becoming one when a member of a pool. */
static int check_pool(struct cg_store *st, const struct cg_store_backend_set *in, char *err,
		      size_t errlen)
{
	char pool[CG_STORE_MAX_ID_LEN + 1];
	int rc;
	if (in->url)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "pool '%s' has no url (its members have theirs)", in->id);
	if (in->client_cert_id)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "pool '%s' has no client certificate (its members present "
				      "theirs)",
				      in->id);
	if (in->breaker_json && *in->breaker_json)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "pool '%s' has no circuit breaker (give its members theirs)",
				      in->id);
	if (in->is_pool == 1 && (in->num_members == 0 || in->num_members > CG_STORE_MAX_POOL_MEMBERS))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "pool '%s' needs 1 to %d member backends", in->id,
				      CG_STORE_MAX_POOL_MEMBERS);
	if ((rc = pool_of(st, in->id, pool, sizeof(pool), err, errlen)))
		return rc;
	if (*pool)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "backend '%s' is a member of pool '%s' and cannot become a pool",
				      in->id, pool);
	return in->is_pool == 1 ? check_members(st, in, err, errlen) : 0;
}

/* The breaker text checked and put in canonical form into *out (malloc'd;
 * NULL = keep, "" = none). */
static int canon_breaker(const char *text, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!text)
		return 0;
	json_error_t je;
	json_t *j = *text ? json_loads(text, JSON_REJECT_DUPLICATES, &je) : NULL;
	struct cg_model_breaker b;
	bool has = false;
	if (*text && !j)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "properties.circuitBreaker: %d:%d: %s", je.line, je.column, je.text);
	int rc = cg_store_breaker_from_json(j, &b, &has, err, errlen);
	if (rc == 0)
		*out = has ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
	json_decref(j);
	if (rc == 0 && !*out)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_IO, "out of memory");
	return rc;
}

/* stored_pool: what the backend is now; is_pool: what it becomes. */
static int check_input(struct cg_store *st, const struct cg_store_backend_set *in, bool exists,
		       int stored_pool, int is_pool, char *err, size_t errlen)
{
	if (is_pool)
		return check_pool(st, in, err, errlen);
	if (!in->url && (!exists || stored_pool))
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      exists ? "backend '%s' is a pool; a url is needed to make it a "
					       "single backend"
					     : "backend '%s' does not exist yet; a URL is needed to "
					       "create it",
				      in->id);
	return in->client_cert_id ? check_client_cert(st, in->client_cert_id, err, errlen) : 0;
}

/* Replaces the pool's member rows with in's (none for a single backend). */
static int write_members(struct cg_store *st, const struct cg_store_backend_set *in, char *err,
			 size_t errlen)
{
	int rc = cg_store_run(st, "DELETE FROM backend_pool_members WHERE pool_id = ?", in->id, NULL,
			      "write pool", err, errlen);
	for (size_t i = 0; rc == 0 && in->is_pool == 1 && i < in->num_members; i++) {
		struct cg_db_stmt *s = cg_store_prepare_text(
			st,
			"INSERT INTO backend_pool_members (pool_id, position, member_id, priority, "
			"weight) VALUES (?1, ?3, ?2, CASE WHEN ?4 < 0 THEN NULL ELSE ?4 END, "
			"CASE WHEN ?5 < 0 THEN NULL ELSE ?5 END)",
			in->id, in->members[i].backend_id, err, errlen);
		if (s) {
			cg_db_bind_int(s, 3, (int64_t)i);
			cg_db_bind_int(s, 4, in->members[i].priority);
			cg_db_bind_int(s, 5, in->members[i].weight);
		}
		rc = cg_store_step_done(st, s, "write pool", err, errlen);
	}
	return rc;
}

static int write_row(struct cg_store *st, const struct cg_store_backend_set *in, bool exists,
		     int is_pool, const char *url, const char *breaker, char *err, size_t errlen)
{
	/* ?3 NULL keeps, ?4 = 1 clears; -1 flags keep; ?7 pool; ?8 NULL keeps. */
	struct cg_db_stmt *s = cg_store_prepare_text(
		st,
		exists ? "UPDATE backends SET url = CASE WHEN ?7 = 1 THEN '' ELSE coalesce(?2, url) END,"
			 " client_cert_id = CASE WHEN ?4 = 1 OR ?7 = 1 THEN NULL ELSE coalesce(?3, "
			 "client_cert_id) END,"
			 " validate_chain = CASE WHEN ?5 < 0 THEN validate_chain ELSE ?5 END,"
			 " validate_name = CASE WHEN ?6 < 0 THEN validate_name ELSE ?6 END,"
			 " is_pool = ?7,"
			 " circuit_breaker = CASE WHEN ?7 = 1 THEN NULL WHEN ?8 IS NULL THEN "
			 "circuit_breaker WHEN ?8 = '' THEN NULL ELSE ?8 END,"
			 " updated_at = " CG_STORE_SQL_NOW " WHERE id = ?1"
		       : "INSERT INTO backends (id, url, client_cert_id, validate_chain,"
			 " validate_name, is_pool, circuit_breaker, created_at, updated_at) VALUES (?1,"
			 " CASE WHEN ?7 = 1 THEN '' ELSE ?2 END,"
			 " CASE WHEN ?4 = 1 THEN NULL ELSE ?3 END,"
			 " CASE WHEN ?5 < 0 THEN 1 ELSE ?5 END, CASE WHEN ?6 < 0 THEN 1 ELSE ?6 "
			 "END, ?7, CASE WHEN ?8 = '' THEN NULL ELSE ?8 END, " CG_STORE_SQL_NOW
			 ", " CG_STORE_SQL_NOW ")",
		in->id, in->url ? url : NULL, err, errlen);
	if (s) {
		cg_db_bind_text(s, 3, in->client_cert_id);
		cg_db_bind_int(s, 4, in->no_client_cert ? 1 : 0);
		cg_db_bind_int(s, 5, in->validate_chain < 0 ? -1 : in->validate_chain ? 1 : 0);
		cg_db_bind_int(s, 6, in->validate_name < 0 ? -1 : in->validate_name ? 1 : 0);
		cg_db_bind_int(s, 7, is_pool);
		cg_db_bind_text(s, 8, breaker);
	}
	return cg_store_step_done(st, s, "write backend", err, errlen);
}

static int check_syntax(const struct cg_store_backend_set *in, char *url, char *err, size_t errlen)
{
	int rc;
	if ((rc = cg_store_check_id("backend id", in->id, err, errlen)))
		return rc;
	if (in->url && (rc = cg_store_check_service_url(in->url, url, err, errlen)))
		return rc;
	if (in->client_cert_id && in->no_client_cert)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "a client certificate and no client certificate were both asked for");
	if (in->client_cert_id)
		return cg_store_check_id("certificate id", in->client_cert_id, err, errlen);
	return 0;
}

int cg_store_backend_set(struct cg_store *st, const struct cg_store_backend_set *in0, char *err,
			 size_t errlen)
{
	struct cg_store_backend_set in = *in0;
	char url[CG_STORE_MAX_URL_LEN + 1], *breaker = NULL;
	bool exists;
	int rc, stored_pool;
	in.id = in.id ? in.id : "";
	if ((rc = check_syntax(&in, url, err, errlen)) ||
	    (rc = canon_breaker(in.breaker_json, &breaker, err, errlen)))
		return rc;
	if ((rc = cg_store_begin_write(st, err, errlen))) {
		free(breaker);
		return rc;
	}
	if ((rc = cg_store_room_for(st, "backends", "id", in.id, CG_STORE_MAX_BACKENDS, "backends",
				    &exists, err, errlen)) ||
	    (rc = stored_kind(st, in.id, &exists, &stored_pool, err, errlen)))
		goto out;
	int is_pool = in.is_pool >= 0 ? in.is_pool : stored_pool;
	if ((rc = check_input(st, &in, exists, stored_pool, is_pool, err, errlen)) ||
	    (rc = write_row(st, &in, exists, is_pool, url, breaker, err, errlen)) ||
	    (in.is_pool >= 0 && (rc = write_members(st, &in, err, errlen))))
		goto out;
	rc = cg_store_commit_write(st, err, errlen);
	if (rc == 0 && in.created)
		*in.created = !exists;
out:
	free(breaker);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

int cg_store_backend_rm(struct cg_store *st, const char *id, char *err, size_t errlen)
{
	char pool[CG_STORE_MAX_ID_LEN + 1];
	int rc;
	if ((rc = cg_store_check_id("backend id", id ? id : "", err, errlen)) ||
	    (rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	if ((rc = pool_of(st, id, pool, sizeof(pool), err, errlen)) == 0 && *pool)
		rc = cg_store_failf(err, errlen, CG_STORE_FAIL_CONFLICT,
				    "backend '%s' is a member of pool '%s'; remove it from the pool "
				    "first",
				    id, pool);
	if (rc) {
		cg_store_rollback(st);
		return rc;
	}
	return cg_store_delete_commit(
		st, cg_store_prepare_text(st, "DELETE FROM backends WHERE id = ?", id, NULL, err, errlen),
		"delete backend", err, errlen, "backend '%s' does not exist", id);
}

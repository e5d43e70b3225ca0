/* The database interface's entry points: pick the backend at open, then
 * hand every call to the connection's table of operations. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "store/db-int.h"

bool cg_db_is_url(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* A URL's password sits between the first ':' of the userinfo and its
 * '@' (scheme://user:password@host/...); it is cut out. A password given
 * as a query parameter is not shown either: the query is dropped. */
void cg_db_display(const char *target, char *out, size_t outlen)
{
	if (!cg_db_is_url(target)) {
		snprintf(out, outlen, "%s", target);
		return;
	}
	const char *auth = strstr(target, "://") + 3;
	size_t end = strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', end);
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	size_t query = strcspn(target, "?");
	if (colon)
		snprintf(out, outlen, "%.*s%.*s", (int)(colon - target), target,
			 (int)(query - (size_t)(at - target)), at);
	else
		snprintf(out, outlen, "%.*s", (int)query, target);
}

struct cg_db *cg_db_open(const char *target, bool readonly, char *err, size_t errlen)
{
	if (!cg_db_is_url(target))
		return cg_db_sqlite_open(target, readonly, err, errlen);
	char display[PATH_MAX];
	cg_db_display(target, display, sizeof(display));
	return cg_db_pg_open(target, display, readonly, err, errlen);
}

enum cg_db_kind cg_db_kind(struct cg_db *db)
{
	return db->ops->kind;
}

void cg_db_close(struct cg_db *db)
{
	if (db)
		db->ops->close(db);
}

const char *cg_db_errmsg(struct cg_db *db)
{
	return db->ops->errmsg(db);
}

int cg_db_exec(struct cg_db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int cg_db_begin(struct cg_db *db, bool write)
{
	return db->ops->begin(db, write);
}

int cg_db_commit(struct cg_db *db)
{
	return db->ops->commit(db);
}

void cg_db_rollback(struct cg_db *db)
{
	db->ops->rollback(db);
}

int cg_db_schema_version(struct cg_db *db, int *out)
{
	return db->ops->schema_version(db, out);
}

int cg_db_set_schema_version(struct cg_db *db, int version)
{
	return db->ops->set_schema_version(db, version);
}

int cg_db_data_version(struct cg_db *db, uint64_t *out)
{
	return db->ops->data_version(db, out);
}

int64_t cg_db_changes(struct cg_db *db)
{
	return db->ops->changes(db);
}

struct cg_db_stmt *cg_db_prepare(struct cg_db *db, const char *sql)
{
	return db->ops->prepare(db, sql);
}

void cg_db_bind_text(struct cg_db_stmt *s, int i, const char *v)
{
	s->db->ops->bind_text(s, i, v);
}

void cg_db_bind_int(struct cg_db_stmt *s, int i, int64_t v)
{
	s->db->ops->bind_int(s, i, v);
}

void cg_db_bind_blob(struct cg_db_stmt *s, int i, const void *p, size_t len)
{
	s->db->ops->bind_blob(s, i, p, len);
}

enum cg_db_step cg_db_step(struct cg_db_stmt *s)
{
	return s->db->ops->step(s);
}

bool cg_db_col_null(struct cg_db_stmt *s, int i)
{
	return s->db->ops->col_null(s, i);
}

const char *cg_db_col_text(struct cg_db_stmt *s, int i)
{
	return s->db->ops->col_text(s, i);
}

size_t cg_db_col_bytes(struct cg_db_stmt *s, int i)
{
	return s->db->ops->col_bytes(s, i);
}

int64_t cg_db_col_int(struct cg_db_stmt *s, int i)
{
	return s->db->ops->col_int(s, i);
}

const void *cg_db_col_blob(struct cg_db_stmt *s, int i, size_t *len)
{
	return s->db->ops->col_blob(s, i, len);
}

void cg_db_finalize(struct cg_db_stmt *s)
{
	if (s)
		s->db->ops->finalize(s);
}

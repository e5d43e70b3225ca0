/* The SQLite backend of db.h: one file, WAL mode so readers (the gateway)
 * never block the writer (the CLI), a busy timeout so a second writer
 * waits, foreign keys on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/db-int.h"
#include "store/store-t.h"

struct sqlite_db {
	struct cg_db base;
	sqlite3 *h;
};

struct sqlite_stmt {
	struct cg_db_stmt base;
	sqlite3_stmt *h;
};

static sqlite3 *handle(struct cg_db *db)
{
	return ((struct sqlite_db *)db)->h;
}

static sqlite3_stmt *stmt(struct cg_db_stmt *s)
{
	return ((struct sqlite_stmt *)s)->h;
}

static void db_close(struct cg_db *db)
{
	sqlite3_close(handle(db));
	free(db);
}

static const char *db_errmsg(struct cg_db *db)
{
	return sqlite3_errmsg(handle(db));
}

static int db_exec(struct cg_db *db, const char *sql)
{
	return sqlite3_exec(handle(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int db_begin(struct cg_db *db, bool write)
{
	return db_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int db_commit(struct cg_db *db)
{
	return db_exec(db, "COMMIT");
}

static void db_rollback(struct cg_db *db)
{
	if (!sqlite3_get_autocommit(handle(db)))
		sqlite3_exec(handle(db), "ROLLBACK", NULL, NULL, NULL);
}

static struct cg_db_stmt *db_prepare(struct cg_db *db, const char *sql)
{
	struct sqlite_stmt *s = malloc(sizeof(*s));
	if (!s)
		return NULL; /* errmsg: SQLite's last, not "out of memory"; rare */
	s->base.db = db;
	if (sqlite3_prepare_v2(handle(db), sql, -1, &s->h, NULL) != SQLITE_OK) {
		sqlite3_finalize(s->h);
		free(s);
		return NULL;
	}
	return &s->base;
}

static void db_finalize(struct cg_db_stmt *s)
{
	sqlite3_finalize(stmt(s));
	free(s);
}

static enum cg_db_step db_step(struct cg_db_stmt *s)
{
	int rc = sqlite3_step(stmt(s));
	return rc == SQLITE_ROW ? CG_DB_ROW : rc == SQLITE_DONE ? CG_DB_DONE : CG_DB_ERROR;
}

/* The one integer a PRAGMA returns. */
static int pragma_int(struct cg_db *db, const char *sql, int64_t *out)
{
	struct cg_db_stmt *s = db_prepare(db, sql);
	if (!s)
		return -1;
	int rc = db_step(s) == CG_DB_ROW ? 0 : -1;
	if (rc == 0)
		*out = sqlite3_column_int64(stmt(s), 0);
	db_finalize(s);
	return rc;
}

static int db_schema_version(struct cg_db *db, int *out)
{
	int64_t v;
	if (pragma_int(db, "PRAGMA user_version", &v))
		return -1;
	*out = (int)v;
	return 0;
}

static int db_set_schema_version(struct cg_db *db, int version)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return db_exec(db, sql);
}

static int db_data_version(struct cg_db *db, uint64_t *out)
{
	int64_t v;
	if (pragma_int(db, "PRAGMA data_version", &v))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int64_t db_changes(struct cg_db *db)
{
	return sqlite3_changes(handle(db));
}

static void bind_text(struct cg_db_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(stmt(s), i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt(s), i);
}

static void bind_int(struct cg_db_stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(stmt(s), i, v);
}

static void bind_blob(struct cg_db_stmt *s, int i, const void *p, size_t len)
{
	sqlite3_bind_blob64(stmt(s), i, p, len, SQLITE_STATIC);
}

static bool col_null(struct cg_db_stmt *s, int i)
{
	return sqlite3_column_type(stmt(s), i) == SQLITE_NULL;
}

static const char *col_text(struct cg_db_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(stmt(s), i);
}

static size_t col_bytes(struct cg_db_stmt *s, int i)
{
	return (size_t)sqlite3_column_bytes(stmt(s), i);
}

static int64_t col_int(struct cg_db_stmt *s, int i)
{
	return sqlite3_column_int64(stmt(s), i);
}

static const void *col_blob(struct cg_db_stmt *s, int i, size_t *len)
{
	const void *p = sqlite3_column_blob(stmt(s), i);
	*len = (size_t)sqlite3_column_bytes(stmt(s), i);
	return p;
}

static const struct cg_db_ops sqlite_ops = {
	.kind = CG_DB_SQLITE,
	.close = db_close,
	.errmsg = db_errmsg,
	.exec = db_exec,
	.begin = db_begin,
	.commit = db_commit,
	.rollback = db_rollback,
	.schema_version = db_schema_version,
	.set_schema_version = db_set_schema_version,
	.data_version = db_data_version,
	.changes = db_changes,
	.prepare = db_prepare,
	.bind_text = bind_text,
	.bind_int = bind_int,
	.bind_blob = bind_blob,
	.step = db_step,
	.col_null = col_null,
	.col_text = col_text,
	.col_bytes = col_bytes,
	.col_int = col_int,
	.col_blob = col_blob,
	.finalize = db_finalize,
};

/* Checks that a read-only store exists, or creates a writable one
 * ourselves so it is 0600 from the first byte: it holds private keys.
 * SQLite gives its -wal and -shm files the same mode as the database. */
static int file_ready(const char *path, bool readonly, char *err, size_t errlen)
{
	if (readonly) {
		if (access(path, F_OK) == 0)
			return 0;
		snprintf(err, errlen, "store '%s' does not exist", path);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create store '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* WAL: readers (the gateway) never block the writer (the CLI). */
static int enable_wal(struct cg_db *db, const char *path, char *err, size_t errlen)
{
	struct cg_db_stmt *s = db_prepare(db, "PRAGMA journal_mode = WAL");
	if (!s) {
		snprintf(err, errlen, "store '%s': prepare: %s", path, db_errmsg(db));
		return -1;
	}
	enum cg_db_step r = db_step(s);
	const char *mode = r == CG_DB_ROW ? col_text(s, 0) : NULL;
	int rc = r == CG_DB_ROW && mode && strcmp(mode, "wal") == 0 ? 0 : -1;
	if (r != CG_DB_ROW)
		snprintf(err, errlen, "store '%s': enable WAL: %s", path, db_errmsg(db));
	else if (rc)
		snprintf(err, errlen, "store '%s': cannot enable WAL mode (got '%s')", path,
			 mode ? mode : "?");
	db_finalize(s);
	return rc;
}

struct cg_db *cg_db_sqlite_open(const char *path, bool readonly, char *err, size_t errlen)
{
	if (file_ready(path, readonly, err, errlen))
		return NULL;
	struct sqlite_db *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->base.ops = &sqlite_ops;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (sqlite3_open_v2(path, &d->h, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open store '%s': %s", path,
			 d->h ? sqlite3_errmsg(d->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(d->h, CG_STORE_BUSY_TIMEOUT_MS);
	if (db_exec(&d->base, "PRAGMA foreign_keys = ON")) {
		snprintf(err, errlen, "store '%s': enable foreign keys: %s", path,
			 sqlite3_errmsg(d->h));
		goto fail;
	}
	if (!readonly && enable_wal(&d->base, path, err, errlen))
		goto fail;
	return &d->base;
fail:
	db_close(&d->base);
	return NULL;
}

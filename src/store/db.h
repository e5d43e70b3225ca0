/* The store's database interface: the handful of operations the store's
 * files (store.c, write.c, certs.c, crl.c, policy.c) need from a SQL
 * database, so they never call a database library themselves. One backend
 * today: SQLite (db-sqlite.c). Internal to src/store.
 *
 * Contract shared by every backend:
 * - Parameters are positional, numbered from 1, written "?" or "?N" in the
 *   SQL. Bound strings and blobs are not copied: they must outlive the
 *   statement (until cg_db_finalize). An unbound parameter reads as NULL.
 * - Column getters read the current row (after cg_db_step returned
 *   CG_DB_ROW); columns are numbered from 0. A text or blob pointer stays
 *   valid until the next step or finalize.
 * - Failures return -1 (or NULL, or CG_DB_ERROR); cg_db_errmsg then says
 *   why, until the next call on the same connection. The caller formats
 *   the message the user sees.
 * - A connection is used by one thread at a time. */
#ifndef CG_STORE_DB_H
#define CG_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_db;	   /* a connection */
struct cg_db_stmt; /* a prepared statement */

enum cg_db_kind {
	CG_DB_SQLITE,
	CG_DB_POSTGRESQL,
};

enum cg_db_step {
	CG_DB_ERROR = -1,
	CG_DB_DONE = 0, /* no (more) rows; a write has run */
	CG_DB_ROW = 1,	/* a row is ready for the column getters */
};

/* Whether target names a PostgreSQL database (a "postgresql://" or
 * "postgres://" URL) rather than a SQLite file. */
bool cg_db_is_url(const char *target);

/* target as messages show it: a URL without its password. */
void cg_db_display(const char *target, char *out, size_t outlen);

/* Opens the database at target: a PostgreSQL URL, else a SQLite file
 * path. For PostgreSQL, readonly sets default_transaction_read_only and
 * the database must exist. For SQLite, readonly:
 * never write, and fail when the database does not exist; otherwise it is
 * created (SQLite: a 0600 file, WAL mode). Foreign keys are enforced and a
 * busy database is waited for up to CG_STORE_BUSY_TIMEOUT_MS. Returns the
 * connection, or NULL with the whole message in err ("cannot open store
 * 'X': why", "store 'X' does not exist"). Close with cg_db_close. */
struct cg_db *cg_db_open(const char *target, bool readonly, char *err, size_t errlen);
void cg_db_close(struct cg_db *db);

/* Which backend db is (the schema's SQL differs). */
enum cg_db_kind cg_db_kind(struct cg_db *db);

/* Why the last call on db failed (static or connection storage). */
const char *cg_db_errmsg(struct cg_db *db);

/* Runs sql, one or more statements without parameters or result rows
 * (migrations). Returns 0 or -1. */
int cg_db_exec(struct cg_db *db, const char *sql);

/* Starts a transaction. write: takes the write lock now (SQLite BEGIN
 * IMMEDIATE), so a second writer waits instead of failing when it would
 * upgrade; a read transaction sees one committed state throughout.
 * Returns 0 or -1. */
int cg_db_begin(struct cg_db *db, bool write);
int cg_db_commit(struct cg_db *db);
/* Rolls the open transaction back; nothing when none is open. */
void cg_db_rollback(struct cg_db *db);

/* The schema version recorded in the database (0 when new), and setting
 * it inside the migration's transaction. Return 0 or -1. */
int cg_db_schema_version(struct cg_db *db, int *out);
int cg_db_set_schema_version(struct cg_db *db, int version);

/* A number that moves when another connection commits: SQLite's
 * data_version; for PostgreSQL the notifications the store's writers send
 * on commit, read without a round trip, plus reconnects. Returns 0 or -1. */
int cg_db_data_version(struct cg_db *db, uint64_t *out);

/* Rows changed by the last INSERT, UPDATE or DELETE on db. */
int64_t cg_db_changes(struct cg_db *db);

/* Prepares one statement. Returns NULL on failure (cg_db_errmsg). */
struct cg_db_stmt *cg_db_prepare(struct cg_db *db, const char *sql);
/* Binds parameter i (from 1). v NULL binds NULL. */
void cg_db_bind_text(struct cg_db_stmt *s, int i, const char *v);
void cg_db_bind_int(struct cg_db_stmt *s, int i, int64_t v);
void cg_db_bind_blob(struct cg_db_stmt *s, int i, const void *p, size_t len);
/* Runs s to its next row. */
enum cg_db_step cg_db_step(struct cg_db_stmt *s);
/* Column i of the current row: whether it is NULL; as text (NULL for
 * NULL) and its length in bytes; as an integer (0 for NULL); as a blob
 * (*len bytes; NULL or any pointer when *len is 0). */
bool cg_db_col_null(struct cg_db_stmt *s, int i);
const char *cg_db_col_text(struct cg_db_stmt *s, int i);
size_t cg_db_col_bytes(struct cg_db_stmt *s, int i);
int64_t cg_db_col_int(struct cg_db_stmt *s, int i);
const void *cg_db_col_blob(struct cg_db_stmt *s, int i, size_t *len);
/* Releases s; NULL is allowed. */
void cg_db_finalize(struct cg_db_stmt *s);

#endif

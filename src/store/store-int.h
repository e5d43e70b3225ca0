/* Internals shared by store.c (open, migrations, reads) and write.c
 * (validated writes). Not for other modules. */
#ifndef CG_STORE_STORE_INT_H
#define CG_STORE_STORE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store/store.h"

struct cg_store {
	sqlite3 *db;
	bool readonly;
	char path[PATH_MAX]; /* for messages */
};

/* Formats "store 'PATH': what: <sqlite message>" into err; returns
 * CG_STORE_FAIL_IO. */
int cg_store_sql_fail(struct cg_store *st, const char *what, char *err, size_t errlen);

/* BEGIN IMMEDIATE: writers take the write lock up front, so a second writer
 * waits (busy_timeout) instead of failing with SQLITE_BUSY on upgrade. */
int cg_store_begin_write(struct cg_store *st, char *err, size_t errlen);
/* Bumps meta.change_counter and commits. On failure rolls back. */
int cg_store_commit_write(struct cg_store *st, char *err, size_t errlen);
void cg_store_rollback(struct cg_store *st);

/* Prepares sql; on failure fills err and returns NULL. */
sqlite3_stmt *cg_store_prepare(struct cg_store *st, const char *sql, char *err, size_t errlen);

/* Steps s once (a write, or the first row of a read), finalizes it, and
 * reports a failure as IO with what. Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_step_done(struct cg_store *st, sqlite3_stmt *s, const char *what, char *err,
		       size_t errlen);

/* Runs "SELECT count(*) ..." with up to two text parameters (NULL: not
 * bound) into *out. Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_count(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		   size_t *out, char *err, size_t errlen);

/* Formats a message into err and returns rc (a failure kind). */
int cg_store_failf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

/* Internals shared by the store's files: store.c (open, migrations, reads,
 * and the SQL helpers below), write.c, certs.c, crl.c, policy.c and xml.c.
 * Not for other modules. */
#ifndef CG_STORE_STORE_INT_H
#define CG_STORE_STORE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"
#include "store/db.h"
#include "store/store.h"

struct cg_store {
	struct cg_db *db;
	bool readonly;
	bool rehearsal; /* cg_store_open_rehearsal: writes are savepoints */
	bool in_write;	/* a rehearsal's savepoint is open */
	char path[PATH_MAX]; /* for messages */
};

/* The current UTC time as the store writes it (2026-01-31T12:00:00Z), an
 * SQL expression. SQLite-only (strftime); see README.md. */
#define CG_STORE_SQL_NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

/* Formats "store 'PATH': what: <database message>" into err; returns
 * CG_STORE_FAIL_IO. */
int cg_store_sql_fail(struct cg_store *st, const char *what, char *err, size_t errlen);

/* BEGIN IMMEDIATE: writers take the write lock up front, so a second writer
 * waits (busy timeout) instead of failing when it would upgrade. */
int cg_store_begin_write(struct cg_store *st, char *err, size_t errlen);
/* Bumps meta.change_counter and commits. On failure rolls back. */
int cg_store_commit_write(struct cg_store *st, char *err, size_t errlen);
void cg_store_rollback(struct cg_store *st);

/* Prepares sql; on failure fills err and returns NULL. */
struct cg_db_stmt *cg_store_prepare(struct cg_store *st, const char *sql, char *err, size_t errlen);

/* Prepares sql and binds a1 and a2 as text parameters 1 and 2 (NULL: left
 * unbound, which SQL reads as NULL). The strings must outlive the
 * statement. On failure fills err and returns NULL. */
struct cg_db_stmt *cg_store_prepare_text(struct cg_store *st, const char *sql, const char *a1,
				    const char *a2, char *err, size_t errlen);

/* Steps s once (a write, or the first row of a read), finalizes it, and
 * reports a failure as IO with what. s NULL is a prepare that failed (err
 * already says why): CG_STORE_FAIL_IO. Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_step_done(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
		       size_t errlen);

/* cg_store_prepare_text, then cg_store_step_done: one write with up to
 * two text parameters. Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_run(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		 const char *what, char *err, size_t errlen);

/* Steps s to its first row and leaves it there. Returns 0 on a row,
 * CG_STORE_FAIL_NOT_FOUND when there is none (err untouched: the caller
 * names what is missing), CG_STORE_FAIL_IO with what on a failure or when
 * s is NULL (a prepare that failed, err already filled). The caller
 * finalizes s in every case. */
int cg_store_first_row(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
		       size_t errlen);

/* Ends a remove inside a write transaction: steps the DELETE s (finalized
 * here; NULL as for cg_store_step_done), refuses with NOT_FOUND and the
 * message fmt when it removed no row, else commits. Any failure rolls
 * back. Returns 0 or a failure kind. */
int cg_store_delete_commit(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
			   size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Removes the row of table whose id column is id, in its own write
 * transaction. noun names the entity in the messages: "<noun> id" for
 * the id's syntax, "<noun> '<id>' does not exist" (NOT_FOUND). Returns 0
 * or a failure kind; on failure nothing changed. */
int cg_store_rm_by_id(struct cg_store *st, const char *table, const char *noun, const char *id,
		      char *err, size_t errlen);

/* Ends an add-or-replace inside a write transaction: steps the write s
 * (as cg_store_step_done), commits, then sets *created (when not NULL) to
 * !exists. On failure the caller rolls back. Returns 0 or a failure kind. */
int cg_store_upsert_commit(struct cg_store *st, struct cg_db_stmt *s, const char *what, bool exists,
			   bool *created, char *err, size_t errlen);

/* Inside a write transaction, before adding or replacing the row of table
 * whose key column is id: *exists says whether it is there; when it is
 * not, refuses (INVALID) once the table holds limit rows ("the store
 * already holds <limit> <what>, the limit"). Returns 0 or a failure kind. */
int cg_store_room_for(struct cg_store *st, const char *table, const char *key, const char *id,
		      size_t limit, const char *what, bool *exists, char *err, size_t errlen);

/* Column i of s as a malloc'd string ("" for NULL); NULL when out of
 * memory. */
char *cg_store_dup_col(struct cg_db_stmt *s, int i);

/* Runs "SELECT count(*) ..." with up to two text parameters (NULL: not
 * bound) into *out. Returns 0 or CG_STORE_FAIL_IO. */
int cg_store_count(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		   size_t *out, char *err, size_t errlen);

/* Formats a message into err and returns rc (a failure kind). */
int cg_store_failf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The scope of a policies row from its scope column ("global", "product",
 * "api", "operation"; anything else reads as global). policy.c. */
enum cg_model_policy_scope cg_store_policy_scope_of(const char *name);

/* ---- XML text, read as text (xml.c) --------------------------------- */

static inline bool cg_store_xml_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Called with each attribute (name and raw value, quotes off) of an
 * element; true stops the scan. */
typedef bool (*cg_store_xml_attr_fn)(struct cg_str name, struct cg_str value, void *ud);

/* Whether fn returns true for an attribute of some <tag ...> element of
 * text (tag with its '<': "<include-fragment"). Comments are skipped, and
 * CDATA sections when skip_cdata. Textual, not a parser: the scan stops
 * (false) at an unterminated comment, CDATA or attribute value. */
bool cg_store_xml_find_attr(const char *text, const char *tag, bool skip_cdata,
			    cg_store_xml_attr_fn fn, void *ud);

#endif

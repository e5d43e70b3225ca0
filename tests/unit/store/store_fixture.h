/* Shared by the store unit tests: a fresh store file per test in the run's
 * temp dir, and the "refused, and nothing changed" check (every row the
 * test's dump() reads, and the change token, equal before and after).
 *
 * The including file includes cmocka, <sqlite3.h> and "store/store.h",
 * defines PATH_LEN, `static char g_dir[PATH_LEN / 2]` (made in its group
 * setup), `static int g_store_seq` and `static char g_store[PATH_LEN]`, and
 * after this header `static char *dump(void)`, usually with dump_rows(). */
#ifndef CG_TEST_STORE_FIXTURE_H
#define CG_TEST_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dump(void);

/* Group teardown: removes the run's temp dir. */
static int drop_dir(void **state)
{
	(void)state;
	char cmd[PATH_LEN + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Test setup: a new store file; *state is the open store. */
static int fresh_store(void **state)
{
	snprintf(g_store, sizeof(g_store), "%s/store-%d.db", g_dir, ++g_store_seq);
	char err[CG_STORE_ERR_LEN];
	struct cg_store *st = cg_store_open(g_store, 0, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = st;
	return 0;
}

static int close_store(void **state)
{
	cg_store_close(*state); /* NULL-safe */
	return 0;
}

/* Every row of the nq queries q over a separate raw read-only connection
 * to the current store, as one string of at most cap bytes: "a|b|" and a
 * newline per row, "--" and a newline after each query. */
static char *dump_rows(const char *const *q, size_t nq, size_t cap)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(g_store, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	char *out = calloc(1, cap);
	size_t pos = 0;
	for (size_t i = 0; i < nq; i++) {
		sqlite3_stmt *s;
		assert_int_equal(sqlite3_prepare_v2(db, q[i], -1, &s, NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				const unsigned char *t = sqlite3_column_text(s, c);
				pos += (size_t)snprintf(out + pos, cap - pos, "%s|",
							t ? (const char *)t : "NULL");
				assert_true(pos < cap);
			}
			pos += (size_t)snprintf(out + pos, cap - pos, "\n");
		}
		sqlite3_finalize(s);
		pos += (size_t)snprintf(out + pos, cap - pos, "--\n");
	}
	sqlite3_close(db);
	return out;
}

static uint64_t token(struct cg_store *st)
{
	uint64_t t;
	char err[CG_STORE_ERR_LEN];
	assert_int_equal(cg_store_change_token(st, &t, err, sizeof(err)), 0);
	return t;
}

struct before {
	char *rows;
	uint64_t tok;
};

static struct before snap(struct cg_store *st)
{
	return (struct before){ dump(), token(st) };
}

/* Asserts a refused write: its kind, its message (err holds want_msg),
 * and an unchanged store since b. Frees b. */
static void assert_refused_err(struct cg_store *st, struct before b, int rc, int want_rc,
			       const char *err, const char *want_msg)
{
	if (rc != want_rc || !strstr(err, want_msg))
		fprintf(stderr, "rc %d (want %d), err '%s' (want '%s')\n", rc, want_rc, err,
			want_msg);
	assert_int_equal(rc, want_rc);
	assert_non_null(strstr(err, want_msg));
	char *after = dump();
	assert_string_equal(b.rows, after);
	assert_true(token(st) == b.tok);
	free(after);
	free(b.rows);
}

#endif

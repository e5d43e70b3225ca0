/* Shared by the store unit tests: shell commands in the run's temp dir, a
 * fresh store file per test there, files read back, rows written behind
 * the store's back, and the "refused, and nothing changed" check (every
 * row the test's dump() reads, and the change token, equal before and
 * after).
 *
 * The including file includes cmocka, <sqlite3.h> and "store/store.h",
 * defines PATH_LEN, `static char g_dir[PATH_LEN / 2]` (made in its group
 * setup), `static int g_store_seq`, `static char g_store[PATH_LEN]` (and
 * g_err to use assert_refused), and after this header
 * `static char *dump(void)`, usually with dump_rows(). */
#ifndef CG_TEST_STORE_FIXTURE_H
#define CG_TEST_STORE_FIXTURE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dump(void);

/* Runs the command fmt in g_dir, output discarded; aborts the run when it
 * fails (the PKI every test needs could not be made). */
static __attribute__((unused, format(printf, 1, 2))) void sh(const char *fmt, ...);
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[sizeof(cmd) + PATH_LEN];
	snprintf(full, sizeof(full), "cd '%s' && (%s) >/dev/null 2>&1", g_dir, cmd);
	int rc = system(full);
	if (rc != 0) {
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
		abort();
	}
}

#define EC_NEW "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* root.crt/root.key, and int.crt/int.key issued by it (both CA:TRUE with
 * keyCertSign), valid for 30 days. */
static __attribute__((unused)) void make_root_and_int(void)
{
	sh("openssl req -x509 " EC_NEW " -keyout root.key -out root.crt -days 30 -subj /CN=Root "
	   "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign");
	sh("openssl req -new " EC_NEW " -keyout int.key -out int.csr -subj /CN=Intermediate");
	sh("printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' > "
	   "int.ext");
	sh("openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -CAcreateserial -days 30 "
	   "-extfile int.ext -out int.crt");
}

/* g_dir/name as a malloc'd buffer of *len bytes and a NUL; aborts the run
 * when it cannot be read. */
static __attribute__((unused)) unsigned char *slurp_file(const char *name, size_t *len)
{
	char p[PATH_LEN];
	snprintf(p, sizeof(p), "%s/%s", g_dir, name);
	FILE *f = fopen(p, "rb");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", p);
		abort();
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *s = malloc((size_t)n + 1);
	if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
		abort();
	s[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return s;
}

/* Rows inserted behind the store's back, in one transaction, to reach a
 * count limit quickly. */
static void raw_exec(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(g_store, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s\n", msg);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

/* Rows 1..n inserted behind the store's back: insert is an "INSERT ...
 * SELECT ... FROM n" where i is the row's number. */
static void raw_fill(int n, const char *insert)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		 "%s",
		 n, insert);
	raw_exec(sql);
}

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

/* The same, for the tests whose writes report into their g_err. */
#define assert_refused(st, b, rc, want_rc, want) assert_refused_err(st, b, rc, want_rc, g_err, want)

#endif

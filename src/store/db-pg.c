/* The PostgreSQL backend of db.h (libpq), for a fleet of gateways sharing
 * one store. Statements run with PQexecParams when first stepped; the
 * whole result is then walked row by row (the store's reads are bounded
 * by its limits). Parameters go as text (blobs as binary) with their
 * types left to the server, which infers them from the SQL. Writers
 * serialize on a transaction-scoped advisory lock, the counterpart of
 * SQLite's BEGIN IMMEDIATE; readers take a REPEATABLE READ snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/db-int.h"
#include "store/store-t.h"

#define PG_MAX_PARAMS  16	  /* the store's statements use at most 8 */
#define PG_MAX_COLS    16	  /* blob columns decoded per row; reads select at most 5 */
#define PG_ERR_LEN     512
#define PG_WRITE_LOCK  "7158223187" /* pg_advisory_xact_lock key: "certgate" writers */
#define PG_SCHEMA_SQL  "SELECT coalesce(max(version), 0) FROM certgate_schema"
#define PG_CHANNEL     "certgate_store" /* writers NOTIFY it, every connection LISTENs */

struct pg_db {
	struct cg_db base;
	PGconn *conn;
	int64_t changes;
	uint64_t events; /* notifications received + reconnects: the data_version */
	bool in_tx;	 /* between begin and commit/rollback: no reconnect */
	char settings[200]; /* the session's SET and LISTEN, again after a reconnect */
	char err[PG_ERR_LEN];
};

struct pg_stmt {
	struct cg_db_stmt base;
	char *sql; /* with $N parameters */
	int nparams;
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	PGresult *res;
	bool failed;
	int row, nrows;
	unsigned char *blobs[PG_MAX_COLS]; /* decoded bytea of the current row */
};

static struct pg_db *pg(struct cg_db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pst(struct cg_db_stmt *s)
{
	return (struct pg_stmt *)s;
}

/* Keeps msg (libpq's end in a newline) as the connection's last error. */
static void set_err(struct cg_db *db, const char *msg)
{
	snprintf(pg(db)->err, sizeof(pg(db)->err), "%s", msg && *msg ? msg : "unknown error");
	size_t n = strlen(pg(db)->err);
	while (n && (pg(db)->err[n - 1] == '\n' || pg(db)->err[n - 1] == ' '))
		pg(db)->err[--n] = 0;
}

static void db_close(struct cg_db *db)
{
	PQfinish(pg(db)->conn);
	free(db);
}

static const char *db_errmsg(struct cg_db *db)
{
	return pg(db)->err;
}

/* Counts the notifications libpq queued while it read results: the
 * count is the data_version, and the queue stays empty on connections
 * that never ask for it (the CLI's, the admin API's). */
static void drain(struct pg_db *d)
{
	PGnotify *n;
	while ((n = PQnotifies(d->conn))) {
		d->events++;
		PQfreemem(n);
	}
}

/* Whether r succeeded; else records why. Clears r either way. */
static bool result_ok(struct cg_db *db, PGresult *r)
{
	drain(pg(db));
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		set_err(db, r ? PQresultErrorMessage(r) : PQerrorMessage(pg(db)->conn));
	PQclear(r);
	return ok;
}

/* Called before each round trip. A connection the server dropped
 * (restart, failover) is opened again, with the session settings: the
 * call that met the failure reported it, the next one reconnects, so a
 * gateway's next poll finds the store again. Notifications sent while it
 * was gone are lost, so a reconnect counts as a change. Never inside a
 * transaction: its statements would run on without it; it fails until
 * rolled back. */
static void revive(struct pg_db *d)
{
	if (PQstatus(d->conn) != CONNECTION_BAD || d->in_tx)
		return;
	PQreset(d->conn);
	if (PQstatus(d->conn) == CONNECTION_OK) {
		PQclear(PQexec(d->conn, d->settings));
		drain(d);
		d->events++;
	}
}

static int db_exec(struct cg_db *db, const char *sql)
{
	revive(pg(db));
	return result_ok(db, PQexec(pg(db)->conn, sql)) ? 0 : -1;
}

/* A transaction is open (a broken connection has none left). */
static bool tx_open(PGconn *c)
{
	PGTransactionStatusType t = PQtransactionStatus(c);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int db_begin(struct cg_db *db, bool write)
{
	/* The NOTIFY is delivered when (and only if) the write commits. */
	int rc = db_exec(db, write ? "BEGIN ISOLATION LEVEL READ COMMITTED;"
				     " SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ");"
				     " NOTIFY " PG_CHANNEL
				   : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	pg(db)->in_tx = tx_open(pg(db)->conn);
	return rc;
}

static int db_commit(struct cg_db *db)
{
	PGresult *r = PQexec(pg(db)->conn, "COMMIT");
	pg(db)->in_tx = tx_open(pg(db)->conn);
	/* COMMIT of a transaction that failed earlier "succeeds" as ROLLBACK. */
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		PQclear(r);
		set_err(db, "the transaction was rolled back");
		return -1;
	}
	return result_ok(db, r) ? 0 : -1;
}

static void db_rollback(struct cg_db *db)
{
	if (PQtransactionStatus(pg(db)->conn) != PQTRANS_IDLE) {
		PQclear(PQexec(pg(db)->conn, "ROLLBACK"));
		drain(pg(db));
	}
	pg(db)->in_tx = false; /* a broken connection may now be reset */
}

/* Integers as SQLite gives them: booleans ("t"/"f") as 1/0, NULL as 0. */
static int64_t to_int(const char *v)
{
	if (!v)
		return 0;
	if (v[0] == 't' || v[0] == 'f')
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

/* The integer in the one row and column of sql. */
static int query_int(struct cg_db *db, const char *sql, int64_t *out)
{
	revive(pg(db));
	PGresult *r = PQexec(pg(db)->conn, sql);
	drain(pg(db));
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		(void)result_ok(db, r); /* records why, clears r */
		return -1;
	}
	bool one = PQntuples(r) == 1 && PQnfields(r) == 1;
	if (one)
		*out = to_int(PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0));
	else
		set_err(db, "the query did not return one value");
	PQclear(r);
	return one ? 0 : -1;
}

/* The version lives in its own table, created by the first migration
 * (set_schema_version); a database without it is version 0. Whether the
 * table exists is read from pg_class with the statement's snapshot, not
 * with to_regclass: that consults the backend's catalog cache, which can
 * still say "no such table" after another connection's migration
 * committed while this one waited for the write lock. */
static int db_schema_version(struct cg_db *db, int *out)
{
	int64_t have, v = 0;
	if (query_int(db,
		      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
		      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		      " WHERE c.relname = 'certgate_schema' AND n.nspname = current_schema())",
		      &have) ||
	    (have && query_int(db, PG_SCHEMA_SQL, &v)))
		return -1;
	*out = (int)v;
	return 0;
}

static int db_set_schema_version(struct cg_db *db, int version)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS certgate_schema (version integer NOT NULL);"
		 " DELETE FROM certgate_schema; INSERT INTO certgate_schema VALUES (%d)",
		 version);
	return db_exec(db, sql);
}

/* Every write through the store notifies PG_CHANNEL on commit, and this
 * connection listens: counting what arrived (read from the socket, no
 * round trip) sees every commit, as SQLite's data_version does. */
static int db_data_version(struct cg_db *db, uint64_t *out)
{
	struct pg_db *d = pg(db);
	if (!PQconsumeInput(d->conn))
		revive(d);
	drain(d);
	*out = d->events;
	if (PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	set_err(db, PQerrorMessage(d->conn));
	return -1;
}

static int64_t db_changes(struct cg_db *db)
{
	return pg(db)->changes;
}

/* Rewrites SQLite's "?" and "?N" as "$N" (a bare "?" is one more than the
 * largest so far, as in SQLite), outside quoted literals. Returns the
 * malloc'd text and *nparams, or NULL (out of memory, too many). */
static char *translate(const char *sql, int *nparams)
{
	size_t n = strlen(sql);
	char *out = malloc(n * 3 + 1); /* "?" -> "$NN" at most triples 1 char */
	if (!out)
		return NULL;
	char *o = out;
	int max = 0;
	char quote = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
			*o++ = *p;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p;
			continue;
		}
		if (*p != '?') {
			*o++ = *p;
			continue;
		}
		char *end;
		long k = strtol(p + 1, &end, 10);
		if (end == p + 1)
			k = max + 1;
		if (k < 1 || k > PG_MAX_PARAMS) {
			free(out);
			return NULL;
		}
		max = k > max ? (int)k : max;
		o += sprintf(o, "$%ld", k);
		p = end - 1;
	}
	*o = 0;
	*nparams = max;
	return out;
}

static struct cg_db_stmt *db_prepare(struct cg_db *db, const char *sql)
{
	struct pg_stmt *s = calloc(1, sizeof(*s));
	if (s)
		s->sql = translate(sql, &s->nparams);
	if (!s || !s->sql) {
		set_err(db, s ? "too many parameters, or out of memory" : "out of memory");
		free(s);
		return NULL;
	}
	s->base.db = db;
	s->row = -1;
	return &s->base;
}

static void free_blobs(struct pg_stmt *s)
{
	for (int i = 0; i < PG_MAX_COLS; i++) {
		PQfreemem(s->blobs[i]);
		s->blobs[i] = NULL;
	}
}

static void db_finalize(struct cg_db_stmt *bs)
{
	struct pg_stmt *s = pst(bs);
	free_blobs(s);
	PQclear(s->res);
	free(s->sql);
	free(s);
}

/* Parameter i (from 1) as value/length/format; out of range is ignored,
 * as SQLite ignores (with an error code no caller reads). */
static void bind(struct cg_db_stmt *bs, int i, const char *v, int len, int format)
{
	struct pg_stmt *s = pst(bs);
	if (i < 1 || i > s->nparams)
		return;
	s->values[i - 1] = v;
	s->lengths[i - 1] = len;
	s->formats[i - 1] = format;
}

static void bind_text(struct cg_db_stmt *s, int i, const char *v)
{
	bind(s, i, v, 0, 0);
}

static void bind_int(struct cg_db_stmt *bs, int i, int64_t v)
{
	struct pg_stmt *s = pst(bs);
	if (i < 1 || i > PG_MAX_PARAMS)
		return;
	snprintf(s->ints[i - 1], sizeof(s->ints[i - 1]), "%lld", (long long)v);
	bind(bs, i, s->ints[i - 1], 0, 0);
}

static void bind_blob(struct cg_db_stmt *s, int i, const void *p, size_t len)
{
	/* A zero-length blob still binds a value (SQLite: X''), not NULL. */
	bind(s, i, len ? (const char *)p : "", (int)len, 1);
}

static enum cg_db_step run(struct pg_stmt *s)
{
	struct pg_db *d = pg(s->base.db);
	revive(d);
	s->res = PQexecParams(d->conn, s->sql, s->nparams, NULL, s->values, s->lengths,
			      s->formats, 0);
	drain(d);
	ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK) {
		d->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		return CG_DB_DONE;
	}
	if (st == PGRES_TUPLES_OK) {
		s->nrows = PQntuples(s->res);
		return CG_DB_ROW;
	}
	set_err(&d->base, s->res ? PQresultErrorMessage(s->res) : PQerrorMessage(d->conn));
	s->failed = true;
	return CG_DB_ERROR;
}

static enum cg_db_step db_step(struct cg_db_stmt *bs)
{
	struct pg_stmt *s = pst(bs);
	if (s->failed)
		return CG_DB_ERROR;
	if (!s->res && run(s) != CG_DB_ROW)
		return s->failed ? CG_DB_ERROR : CG_DB_DONE;
	free_blobs(s);
	if (s->row < s->nrows)
		s->row++;
	return s->row < s->nrows ? CG_DB_ROW : CG_DB_DONE;
}

static bool col_null(struct cg_db_stmt *bs, int i)
{
	struct pg_stmt *s = pst(bs);
	return PQgetisnull(s->res, s->row, i) != 0;
}

static const char *col_text(struct cg_db_stmt *bs, int i)
{
	struct pg_stmt *s = pst(bs);
	return PQgetisnull(s->res, s->row, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

static size_t col_bytes(struct cg_db_stmt *bs, int i)
{
	struct pg_stmt *s = pst(bs);
	return (size_t)PQgetlength(s->res, s->row, i);
}

static int64_t col_int(struct cg_db_stmt *bs, int i)
{
	return to_int(col_text(bs, i));
}

/* Decoded from the text result's hex form; valid until the next step,
 * finalize, or col_blob of the same column. */
static const void *col_blob(struct cg_db_stmt *bs, int i, size_t *len)
{
	struct pg_stmt *s = pst(bs);
	const char *v = col_text(bs, i);
	*len = 0;
	if (!v || i < 0 || i >= PG_MAX_COLS)
		return NULL;
	PQfreemem(s->blobs[i]);
	s->blobs[i] = PQunescapeBytea((const unsigned char *)v, len);
	return s->blobs[i];
}

static const struct cg_db_ops pg_ops = {
	.kind = CG_DB_POSTGRESQL,
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

/* libpq prints server notices ("relation already exists, skipping") to
 * stderr by default; the store reports what matters itself. */
static void quiet(void *arg, const char *message)
{
}

struct cg_db *cg_db_pg_open(const char *url, const char *display, bool readonly, char *err,
			    size_t errlen)
{
	struct pg_db *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->base.ops = &pg_ops;
	/* Defaults first: a value in the URL (expanded from dbname) overrides
	 * them. Keepalives and tcp_user_timeout notice a server that vanished
	 * without closing the connection (the gateway would wait forever for
	 * a notification otherwise). */
	const char *const keys[] = { "connect_timeout", "application_name", "keepalives_idle",
				     "keepalives_interval", "keepalives_count", "tcp_user_timeout",
				     "dbname", NULL };
	const char *const vals[] = { "10", "certgate", "30", "10", "3", "60000", url, NULL };
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
		set_err(&d->base, d->conn ? PQerrorMessage(d->conn) : "out of memory");
		snprintf(err, errlen, "cannot open store '%s': %s", display, d->err);
		db_close(&d->base);
		return NULL;
	}
	PQsetNoticeProcessor(d->conn, quiet, NULL);
	snprintf(d->settings, sizeof(d->settings),
		 "SET lock_timeout = %d; SET default_transaction_read_only = %s;"
		 " LISTEN " PG_CHANNEL,
		 CG_STORE_BUSY_TIMEOUT_MS, readonly ? "on" : "off");
	if (db_exec(&d->base, d->settings)) {
		snprintf(err, errlen, "store '%s': session settings: %s", display, d->err);
		db_close(&d->base);
		return NULL;
	}
	return &d->base;
}

/* The store: opening, schema migrations, the change token and the
 * model load, and the SQL helpers of store-int.h. Writes are in write.c,
 * certs.c, crl.c and policy.c. */
#include "store/store-int.h"
#include "store/validate.h"
#include "store/breaker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CG_STORE_MODEL_CHUNK     (64 * 1024)    /* model arena chunk */
#define CG_STORE_MODEL_MAX_BYTES (1024UL << 20) /* a model above 1 GiB is refused */

/* Schema migrations, applied in order in one transaction. Migration i
 * brings the schema to version i + 1 (PRAGMA user_version). Adding a table
 * (policies, certificates, CA certificates, named values, fragments,
 * backends) is one new entry at the end; entries are never edited once
 * released, because stores in the field already ran them. */
struct cg_store_migration {
	const char *why;
	const char *sql; /* SQLite */
	const char *pg;	 /* the same schema in PostgreSQL */
};

static const struct cg_store_migration migrations[] = {
	{ "hostnames, APIs, operations and the change counter",
	  "CREATE TABLE meta ("
	  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  change_counter INTEGER NOT NULL);"
	  "INSERT INTO meta (id, change_counter) VALUES (1, 0);"
	  "CREATE TABLE hostnames ("
	  "  name TEXT PRIMARY KEY,"
	  "  cert_pem TEXT NOT NULL,"
	  "  key_pem TEXT NOT NULL,"
	  "  negotiate_client_certificate INTEGER NOT NULL DEFAULT 0"
	  "    CHECK (negotiate_client_certificate IN (0, 1)),"
	  "  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  /* At most one default, enforced by the database too. */
	  "CREATE UNIQUE INDEX hostnames_one_default ON hostnames (is_default)"
	  "  WHERE is_default = 1;"
	  "CREATE TABLE apis ("
	  "  id TEXT PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  path TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	  "  service_url TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  "CREATE TABLE operations ("
	  "  api_id TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,"
	  "  id TEXT NOT NULL,"
	  "  display_name TEXT NOT NULL,"
	  "  method TEXT NOT NULL,"
	  "  url_template TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL,"
	  "  PRIMARY KEY (api_id, id));",
	  /* PostgreSQL: ids sort and compare bytewise (COLLATE "C") as in
	   * SQLite, which the model load's merge relies on; path is unique
	   * up to ASCII case (SQLite: COLLATE NOCASE); strftime is the one
	   * form of SQLite's the store uses (CG_STORE_SQL_NOW). */
	  "CREATE FUNCTION strftime(fmt text, at text) RETURNS text LANGUAGE sql STABLE AS $$"
	  "  SELECT CASE WHEN fmt = '%Y-%m-%dT%H:%M:%SZ' AND at = 'now' THEN"
	  "    to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END $$;"
	  "CREATE TABLE meta ("
	  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  change_counter BIGINT NOT NULL);"
	  "INSERT INTO meta (id, change_counter) VALUES (1, 0);"
	  "CREATE TABLE hostnames ("
	  "  name TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  cert_pem TEXT NOT NULL,"
	  "  key_pem TEXT NOT NULL,"
	  "  negotiate_client_certificate INTEGER NOT NULL DEFAULT 0"
	  "    CHECK (negotiate_client_certificate IN (0, 1)),"
	  "  is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  "CREATE UNIQUE INDEX hostnames_one_default ON hostnames (is_default)"
	  "  WHERE is_default = 1;"
	  "CREATE TABLE apis ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  path TEXT COLLATE \"C\" NOT NULL,"
	  "  service_url TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  "CREATE UNIQUE INDEX apis_path ON apis (lower(path));"
	  "CREATE TABLE operations ("
	  "  api_id TEXT COLLATE \"C\" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,"
	  "  id TEXT COLLATE \"C\" NOT NULL,"
	  "  display_name TEXT NOT NULL,"
	  "  method TEXT NOT NULL,"
	  "  url_template TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL,"
	  "  PRIMARY KEY (api_id, id));" },
	{ "policies",
	  /* One document per scope. api_id/op_id are NULL where the scope has
	   * none; the unique index folds NULL to '' because SQLite's UNIQUE
	   * treats NULLs as distinct. Removing an API or an operation removes
	   * its policies (the composite key is only enforced when both ids
	   * are set, i.e. at operation scope). */
	  "CREATE TABLE policies ("
	  "  scope TEXT NOT NULL CHECK (scope IN ('global', 'api', 'operation')),"
	  "  api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
	  "  op_id TEXT,"
	  "  format TEXT NOT NULL CHECK (format IN ('rawxml', 'xml')),"
	  "  value TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL,"
	  "  FOREIGN KEY (api_id, op_id) REFERENCES operations (api_id, id) ON DELETE CASCADE,"
	  "  CHECK ((scope = 'global' AND api_id IS NULL AND op_id IS NULL)"
	  "      OR (scope = 'api' AND api_id IS NOT NULL AND op_id IS NULL)"
	  "      OR (scope = 'operation' AND api_id IS NOT NULL AND op_id IS NOT NULL)));"
	  "CREATE UNIQUE INDEX policies_one_per_scope ON policies"
	  "  (scope, coalesce(api_id, ''), coalesce(op_id, ''));"
	  "CREATE INDEX policies_op ON policies (api_id, op_id);",
	  "CREATE TABLE policies ("
	  "  scope TEXT NOT NULL CHECK (scope IN ('global', 'api', 'operation')),"
	  "  api_id TEXT COLLATE \"C\" REFERENCES apis (id) ON DELETE CASCADE,"
	  "  op_id TEXT COLLATE \"C\","
	  "  format TEXT NOT NULL CHECK (format IN ('rawxml', 'xml')),"
	  "  value TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL,"
	  "  FOREIGN KEY (api_id, op_id) REFERENCES operations (api_id, id) ON DELETE CASCADE,"
	  "  CHECK ((scope = 'global' AND api_id IS NULL AND op_id IS NULL)"
	  "      OR (scope = 'api' AND api_id IS NOT NULL AND op_id IS NULL)"
	  "      OR (scope = 'operation' AND api_id IS NOT NULL AND op_id IS NOT NULL)));"
	  "CREATE UNIQUE INDEX policies_one_per_scope ON policies"
	  "  (scope, coalesce(api_id, ''), coalesce(op_id, ''));"
	  "CREATE INDEX policies_op ON policies (api_id, op_id);" },
	{ "named values",
	  "CREATE TABLE named_values ("
	  "  name TEXT PRIMARY KEY,"
	  "  value TEXT NOT NULL CHECK (length(value) > 0),"
	  "  secret INTEGER NOT NULL DEFAULT 0 CHECK (secret IN (0, 1)),"
	  "  tags TEXT NOT NULL DEFAULT '[]',"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE named_values ("
	  "  name TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  value TEXT NOT NULL CHECK (length(value) > 0),"
	  "  secret INTEGER NOT NULL DEFAULT 0 CHECK (secret IN (0, 1)),"
	  "  tags TEXT NOT NULL DEFAULT '[]',"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "policy fragments",
	  "CREATE TABLE fragments ("
	  "  id TEXT PRIMARY KEY,"
	  "  description TEXT NOT NULL DEFAULT '',"
	  "  format TEXT NOT NULL CHECK (format IN ('rawxml', 'xml')),"
	  "  value TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE fragments ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  description TEXT NOT NULL DEFAULT '',"
	  "  format TEXT NOT NULL CHECK (format IN ('rawxml', 'xml')),"
	  "  value TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "certificates",
	  /* subject, issuer and the dates are derived from der at write time
	   * so lists need no parsing; der is the truth. */
	  "CREATE TABLE certificates ("
	  "  id TEXT PRIMARY KEY,"
	  "  thumbprint TEXT NOT NULL UNIQUE,"
	  "  subject TEXT NOT NULL,"
	  "  issuer TEXT NOT NULL,"
	  "  not_before TEXT NOT NULL,"
	  "  not_after TEXT NOT NULL,"
	  "  der BLOB NOT NULL,"
	  "  key_pem TEXT,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE certificates ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  thumbprint TEXT NOT NULL UNIQUE,"
	  "  subject TEXT NOT NULL,"
	  "  issuer TEXT NOT NULL,"
	  "  not_before TEXT NOT NULL,"
	  "  not_after TEXT NOT NULL,"
	  "  der BYTEA NOT NULL,"
	  "  key_pem TEXT,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "CA certificates",
	  "CREATE TABLE ca_certificates ("
	  "  id TEXT PRIMARY KEY,"
	  "  thumbprint TEXT NOT NULL UNIQUE,"
	  "  subject TEXT NOT NULL,"
	  "  not_after TEXT NOT NULL,"
	  "  der BLOB NOT NULL,"
	  "  intermediate INTEGER NOT NULL DEFAULT 0 CHECK (intermediate IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE ca_certificates ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  thumbprint TEXT NOT NULL UNIQUE,"
	  "  subject TEXT NOT NULL,"
	  "  not_after TEXT NOT NULL,"
	  "  der BYTEA NOT NULL,"
	  "  intermediate INTEGER NOT NULL DEFAULT 0 CHECK (intermediate IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "backends",
	  /* RESTRICT backs the store's own check: a certificate a backend
	   * presents cannot disappear under it. */
	  "CREATE TABLE backends ("
	  "  id TEXT PRIMARY KEY,"
	  "  url TEXT NOT NULL,"
	  "  client_cert_id TEXT REFERENCES certificates (id) ON DELETE RESTRICT,"
	  "  validate_chain INTEGER NOT NULL DEFAULT 1 CHECK (validate_chain IN (0, 1)),"
	  "  validate_name INTEGER NOT NULL DEFAULT 1 CHECK (validate_name IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE backends ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  url TEXT NOT NULL,"
	  "  client_cert_id TEXT COLLATE \"C\" REFERENCES certificates (id) ON DELETE RESTRICT,"
	  "  validate_chain INTEGER NOT NULL DEFAULT 1 CHECK (validate_chain IN (0, 1)),"
	  "  validate_name INTEGER NOT NULL DEFAULT 1 CHECK (validate_name IN (0, 1)),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "certificate revocation lists",
	  "CREATE TABLE crls ("
	  "  id TEXT PRIMARY KEY,"
	  "  issuer TEXT NOT NULL,"
	  "  next_update TEXT NOT NULL,"
	  "  der BLOB NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "CREATE TABLE crls ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  issuer TEXT NOT NULL,"
	  "  next_update TEXT NOT NULL,"
	  "  der BYTEA NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "subscriptions",
	  /* Existing APIs keep working without a key (DEFAULT 0). A
	   * subscription scoped to one API goes with it; scope_api_id NULL is
	   * the "/apis" scope (all APIs). Keys are unique among all keys: the
	   * index over both columns is checked by the store before writing. */
	  "ALTER TABLE apis ADD COLUMN subscription_required INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (subscription_required IN (0, 1));"
	  "ALTER TABLE apis ADD COLUMN sub_key_header TEXT NOT NULL"
	  "  DEFAULT 'Ocp-Apim-Subscription-Key';"
	  "ALTER TABLE apis ADD COLUMN sub_key_query TEXT NOT NULL DEFAULT 'subscription-key';"
	  "CREATE TABLE subscriptions ("
	  "  id TEXT PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  scope_api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
	  "  state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'submitted',"
	  "    'rejected', 'cancelled', 'expired')),"
	  "  primary_key TEXT NOT NULL UNIQUE,"
	  "  secondary_key TEXT NOT NULL UNIQUE,"
	  "  expiration TEXT,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);",
	  "ALTER TABLE apis ADD COLUMN subscription_required INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (subscription_required IN (0, 1));"
	  "ALTER TABLE apis ADD COLUMN sub_key_header TEXT NOT NULL"
	  "  DEFAULT 'Ocp-Apim-Subscription-Key';"
	  "ALTER TABLE apis ADD COLUMN sub_key_query TEXT NOT NULL DEFAULT 'subscription-key';"
	  "CREATE TABLE subscriptions ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  scope_api_id TEXT COLLATE \"C\" REFERENCES apis (id) ON DELETE CASCADE,"
	  "  state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'submitted',"
	  "    'rejected', 'cancelled', 'expired')),"
	  "  primary_key TEXT NOT NULL UNIQUE,"
	  "  secondary_key TEXT NOT NULL UNIQUE,"
	  "  expiration TEXT,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);" },
	{ "products",
	  /* A product groups APIs (product_apis; removing either side removes
	   * the link). A subscription scoped to a product keeps it: the store
	   * refuses to remove a product with subscriptions unless asked to
	   * remove them too (APIM deleteSubscriptions). The policies table
	   * gains the product scope; SQLite cannot change a CHECK, so the
	   * table is copied into a new one. */
	  "CREATE TABLE products ("
	  "  id TEXT PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  description TEXT NOT NULL DEFAULT '',"
	  "  subscription_required INTEGER NOT NULL DEFAULT 1"
	  "    CHECK (subscription_required IN (0, 1)),"
	  "  approval_required INTEGER NOT NULL DEFAULT 0 CHECK (approval_required IN (0, 1)),"
	  "  subscriptions_limit INTEGER,"
	  "  state TEXT NOT NULL CHECK (state IN ('published', 'notPublished')),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  "CREATE TABLE product_apis ("
	  "  product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,"
	  "  api_id TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,"
	  "  created_at TEXT NOT NULL,"
	  "  PRIMARY KEY (product_id, api_id));"
	  "ALTER TABLE subscriptions ADD COLUMN scope_product_id TEXT"
	  "  REFERENCES products (id) ON DELETE RESTRICT;"
	  "CREATE TABLE policies_v10 ("
	  "  scope TEXT NOT NULL CHECK (scope IN ('global', 'product', 'api', 'operation')),"
	  "  api_id TEXT REFERENCES apis (id) ON DELETE CASCADE,"
	  "  op_id TEXT,"
	  "  product_id TEXT REFERENCES products (id) ON DELETE CASCADE,"
	  "  format TEXT NOT NULL CHECK (format IN ('rawxml', 'xml')),"
	  "  value TEXT NOT NULL,"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL,"
	  "  FOREIGN KEY (api_id, op_id) REFERENCES operations (api_id, id) ON DELETE CASCADE,"
	  "  CHECK ((scope = 'global' AND api_id IS NULL AND op_id IS NULL AND product_id IS NULL)"
	  "      OR (scope = 'product' AND api_id IS NULL AND op_id IS NULL"
	  "          AND product_id IS NOT NULL)"
	  "      OR (scope = 'api' AND api_id IS NOT NULL AND op_id IS NULL AND product_id IS NULL)"
	  "      OR (scope = 'operation' AND api_id IS NOT NULL AND op_id IS NOT NULL"
	  "          AND product_id IS NULL)));"
	  "INSERT INTO policies_v10 (scope, api_id, op_id, format, value, created_at, updated_at)"
	  "  SELECT scope, api_id, op_id, format, value, created_at, updated_at FROM policies;"
	  "DROP TABLE policies;"
	  "ALTER TABLE policies_v10 RENAME TO policies;"
	  "CREATE UNIQUE INDEX policies_one_per_scope ON policies"
	  "  (scope, coalesce(api_id, ''), coalesce(op_id, ''), coalesce(product_id, ''));"
	  "CREATE INDEX policies_op ON policies (api_id, op_id);",
	  /* PostgreSQL names the two CHECKs of migration 2 policies_scope_check
	   * and policies_check. */
	  "CREATE TABLE products ("
	  "  id TEXT COLLATE \"C\" PRIMARY KEY,"
	  "  display_name TEXT NOT NULL,"
	  "  description TEXT NOT NULL DEFAULT '',"
	  "  subscription_required INTEGER NOT NULL DEFAULT 1"
	  "    CHECK (subscription_required IN (0, 1)),"
	  "  approval_required INTEGER NOT NULL DEFAULT 0 CHECK (approval_required IN (0, 1)),"
	  "  subscriptions_limit INTEGER,"
	  "  state TEXT NOT NULL CHECK (state IN ('published', 'notPublished')),"
	  "  created_at TEXT NOT NULL,"
	  "  updated_at TEXT NOT NULL);"
	  "CREATE TABLE product_apis ("
	  "  product_id TEXT COLLATE \"C\" NOT NULL REFERENCES products (id) ON DELETE CASCADE,"
	  "  api_id TEXT COLLATE \"C\" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,"
	  "  created_at TEXT NOT NULL,"
	  "  PRIMARY KEY (product_id, api_id));"
	  "ALTER TABLE subscriptions ADD COLUMN scope_product_id TEXT COLLATE \"C\""
	  "  REFERENCES products (id) ON DELETE RESTRICT;"
	  "ALTER TABLE policies DROP CONSTRAINT policies_scope_check;"
	  "ALTER TABLE policies DROP CONSTRAINT policies_check;"
	  "ALTER TABLE policies ADD COLUMN product_id TEXT COLLATE \"C\""
	  "  REFERENCES products (id) ON DELETE CASCADE;"
	  "ALTER TABLE policies ADD CONSTRAINT policies_scope_check"
	  "  CHECK (scope IN ('global', 'product', 'api', 'operation'));"
	  "ALTER TABLE policies ADD CONSTRAINT policies_check"
	  "  CHECK ((scope = 'global' AND api_id IS NULL AND op_id IS NULL AND product_id IS NULL)"
	  "      OR (scope = 'product' AND api_id IS NULL AND op_id IS NULL"
	  "          AND product_id IS NOT NULL)"
	  "      OR (scope = 'api' AND api_id IS NOT NULL AND op_id IS NULL AND product_id IS NULL)"
	  "      OR (scope = 'operation' AND api_id IS NOT NULL AND op_id IS NOT NULL"
	  "          AND product_id IS NULL));"
	  "DROP INDEX policies_one_per_scope;"
	  "CREATE UNIQUE INDEX policies_one_per_scope ON policies"
	  "  (scope, coalesce(api_id, ''), coalesce(op_id, ''), coalesce(product_id, ''));" },
	{ "API protocols",
	  /* APIM protocols as bits (1 http, 2 https). Existing APIs keep
	   * being served over both listeners (DEFAULT 3); new ones get https
	   * only unless asked (the store's insert, APIM's default). */
	  "ALTER TABLE apis ADD COLUMN protocols INTEGER NOT NULL DEFAULT 3"
	  "  CHECK (protocols BETWEEN 1 AND 3);",
	  "ALTER TABLE apis ADD COLUMN protocols INTEGER NOT NULL DEFAULT 3"
	  "  CHECK (protocols BETWEEN 1 AND 3);" },
	{ "backend pools and circuit breakers",
	  /* A pool keeps url '' (the column is NOT NULL and SQLite cannot
	   * drop that); its members are rows of backend_pool_members, whose
	   * RESTRICT backs the store's own check that a member in use is not
	   * removed. circuit_breaker holds the validated ARM JSON of
	   * properties.circuitBreaker (store/breaker.c reads it back). */
	  "ALTER TABLE backends ADD COLUMN is_pool INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (is_pool IN (0, 1));"
	  "ALTER TABLE backends ADD COLUMN circuit_breaker TEXT;"
	  "CREATE TABLE backend_pool_members ("
	  "  pool_id TEXT NOT NULL REFERENCES backends (id) ON DELETE CASCADE,"
	  "  position INTEGER NOT NULL,"
	  "  member_id TEXT NOT NULL REFERENCES backends (id) ON DELETE RESTRICT,"
	  "  priority INTEGER CHECK (priority BETWEEN 0 AND 100),"
	  "  weight INTEGER CHECK (weight BETWEEN 0 AND 100),"
	  "  PRIMARY KEY (pool_id, position));",
	  "ALTER TABLE backends ADD COLUMN is_pool INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (is_pool IN (0, 1));"
	  "ALTER TABLE backends ADD COLUMN circuit_breaker TEXT;"
	  "CREATE TABLE backend_pool_members ("
	  "  pool_id TEXT COLLATE \"C\" NOT NULL REFERENCES backends (id) ON DELETE CASCADE,"
	  "  position INTEGER NOT NULL,"
	  "  member_id TEXT COLLATE \"C\" NOT NULL REFERENCES backends (id) ON DELETE RESTRICT,"
	  "  priority INTEGER CHECK (priority BETWEEN 0 AND 100),"
	  "  weight INTEGER CHECK (weight BETWEEN 0 AND 100),"
	  "  PRIMARY KEY (pool_id, position));" },
};

#define NUM_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int cg_store_schema_version(void)
{
	return NUM_MIGRATIONS;
}

bool cg_store_is_url(const char *path)
{
	return cg_db_is_url(path);
}

void cg_store_display(const char *path, char *out, size_t outlen)
{
	cg_db_display(path, out, outlen);
}

bool cg_store_exists(const char *path)
{
	return cg_db_is_url(path) || access(path, F_OK) == 0;
}

const char *cg_store_default_path(void)
{
	const char *e = getenv("CERTGATE_STORE");
	return e && *e ? e : "certgate.db";
}

int cg_store_sql_fail(struct cg_store *st, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "store '%s': %s: %s", st->path, what, cg_db_errmsg(st->db));
	return CG_STORE_FAIL_IO;
}

struct cg_db_stmt *cg_store_prepare(struct cg_store *st, const char *sql, char *err, size_t errlen)
{
	struct cg_db_stmt *s = cg_db_prepare(st->db, sql);
	if (!s)
		cg_store_sql_fail(st, "prepare", err, errlen);
	return s;
}

struct cg_db_stmt *cg_store_prepare_text(struct cg_store *st, const char *sql, const char *a1,
				    const char *a2, char *err, size_t errlen)
{
	struct cg_db_stmt *s = cg_store_prepare(st, sql, err, errlen);
	if (s && a1)
		cg_db_bind_text(s, 1, a1);
	if (s && a2)
		cg_db_bind_text(s, 2, a2);
	return s;
}

int cg_store_step_done(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
		       size_t errlen)
{
	if (!s)
		return CG_STORE_FAIL_IO;
	int rc = cg_db_step(s);
	rc = rc == CG_DB_ERROR ? cg_store_sql_fail(st, what, err, errlen) : 0;
	cg_db_finalize(s);
	return rc;
}

int cg_store_run(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		 const char *what, char *err, size_t errlen)
{
	return cg_store_step_done(st, cg_store_prepare_text(st, sql, a1, a2, err, errlen), what,
				  err, errlen);
}

int cg_store_first_row(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
		       size_t errlen)
{
	if (!s)
		return CG_STORE_FAIL_IO;
	int r = cg_db_step(s);
	if (r == CG_DB_ROW)
		return 0;
	if (r == CG_DB_DONE)
		return CG_STORE_FAIL_NOT_FOUND;
	return cg_store_sql_fail(st, what, err, errlen);
}

int cg_store_delete_commit(struct cg_store *st, struct cg_db_stmt *s, const char *what, char *err,
			   size_t errlen, const char *fmt, ...)
{
	int rc = cg_store_step_done(st, s, what, err, errlen);
	if (rc == 0 && cg_db_changes(st->db) == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		rc = CG_STORE_FAIL_NOT_FOUND;
	}
	if (rc == 0)
		rc = cg_store_commit_write(st, err, errlen);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

int cg_store_upsert_commit(struct cg_store *st, struct cg_db_stmt *s, const char *what, bool exists,
			   bool *created, char *err, size_t errlen)
{
	int rc = cg_store_step_done(st, s, what, err, errlen);
	if (rc == 0)
		rc = cg_store_commit_write(st, err, errlen);
	if (rc == 0 && created)
		*created = !exists;
	return rc;
}

int cg_store_rm_by_id(struct cg_store *st, const char *table, const char *noun, const char *id,
		      char *err, size_t errlen)
{
	char label[64], sql[128], what[64];
	int rc;
	snprintf(label, sizeof(label), "%s id", noun);
	if ((rc = cg_store_check_id(label, id ? id : "", err, errlen)) ||
	    (rc = cg_store_begin_write(st, err, errlen)))
		return rc;
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?", table);
	snprintf(what, sizeof(what), "delete %s", noun);
	return cg_store_delete_commit(st, cg_store_prepare_text(st, sql, id, NULL, err, errlen),
				      what, err, errlen, "%s '%s' does not exist", noun, id);
}

int cg_store_room_for(struct cg_store *st, const char *table, const char *key, const char *id,
		      size_t limit, const char *what, bool *exists, char *err, size_t errlen)
{
	char sql[128];
	size_t n;
	int rc;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s = ?", table, key);
	if ((rc = cg_store_count(st, sql, id, NULL, &n, err, errlen)))
		return rc;
	*exists = n != 0;
	if (*exists)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if ((rc = cg_store_count(st, sql, NULL, NULL, &n, err, errlen)))
		return rc;
	if (n >= limit)
		return cg_store_failf(err, errlen, CG_STORE_FAIL_INVALID,
				      "the store already holds %zu %s, the limit", limit, what);
	return 0;
}

char *cg_store_dup_col(struct cg_db_stmt *s, int i)
{
	const char *t = cg_db_col_text(s, i);
	return strdup(t ? t : "");
}

/* Steps s (NULL: a prepare that failed) to its one row, reads column 0
 * as an integer into *out and finalizes s. No row is a failure (what). */
static int one_int(struct cg_store *st, struct cg_db_stmt *s, const char *what, int64_t *out,
		   char *err, size_t errlen)
{
	int rc = cg_store_first_row(st, s, what, err, errlen);
	if (rc == CG_STORE_FAIL_NOT_FOUND)
		rc = cg_store_sql_fail(st, what, err, errlen);
	if (rc == 0)
		*out = cg_db_col_int(s, 0);
	cg_db_finalize(s);
	return rc;
}

/* cg_store_count, saying what on a failure. */
static int count_as(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		    const char *what, size_t *out, char *err, size_t errlen)
{
	int64_t n;
	int rc = one_int(st, cg_store_prepare_text(st, sql, a1, a2, err, errlen), what, &n, err,
			 errlen);
	if (rc == 0)
		*out = (size_t)n;
	return rc;
}

int cg_store_count(struct cg_store *st, const char *sql, const char *a1, const char *a2,
		   size_t *out, char *err, size_t errlen)
{
	return count_as(st, sql, a1, a2, "count", out, err, errlen);
}

int cg_store_failf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* r: the result of a cg_db call; a failure becomes IO, saying what. */
static int checked(struct cg_store *st, int r, const char *what, char *err, size_t errlen)
{
	return r ? cg_store_sql_fail(st, what, err, errlen) : 0;
}

int cg_store_begin_write(struct cg_store *st, char *err, size_t errlen)
{
	if (st->readonly) {
		snprintf(err, errlen, "store '%s' is open read-only", st->path);
		return CG_STORE_FAIL_IO;
	}
	if (!st->rehearsal)
		return checked(st, cg_db_begin(st->db, true), "begin", err, errlen);
	int rc = checked(st, cg_db_exec(st->db, "SAVEPOINT cg_write"), "begin", err, errlen);
	st->in_write = rc == 0;
	return rc;
}

/* Ends the write transaction: COMMIT, or in a rehearsal the savepoint. */
static int end_write(struct cg_store *st, char *err, size_t errlen)
{
	if (!st->rehearsal)
		return checked(st, cg_db_commit(st->db), "commit", err, errlen);
	int rc = checked(st, cg_db_exec(st->db, "RELEASE SAVEPOINT cg_write"), "commit", err,
			 errlen);
	st->in_write = rc != 0;
	return rc;
}

int cg_store_commit_write(struct cg_store *st, char *err, size_t errlen)
{
	int rc = checked(st,
			 cg_db_exec(st->db, "UPDATE meta SET change_counter = change_counter + 1 "
					    "WHERE id = 1"),
			 "bump change counter", err, errlen);
	if (rc == 0)
		rc = end_write(st, err, errlen);
	if (rc)
		cg_store_rollback(st);
	return rc;
}

void cg_store_rollback(struct cg_store *st)
{
	if (!st->rehearsal) {
		cg_db_rollback(st->db);
	} else if (st->in_write) {
		(void)cg_db_exec(st->db,
				 "ROLLBACK TO SAVEPOINT cg_write; RELEASE SAVEPOINT cg_write");
		st->in_write = false;
	}
}

static int schema_version(struct cg_store *st, int *out, char *err, size_t errlen)
{
	return checked(st, cg_db_schema_version(st->db, out), "read schema version", err, errlen);
}

static int too_new(struct cg_store *st, int v, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "store '%s' has schema version %d; this certgate knows versions up to %d "
		 "(it was written by a newer certgate)",
		 st->path, v, NUM_MIGRATIONS);
	return CG_STORE_FAIL_IO;
}

/* Runs the migrations after version v, inside the migration transaction. */
static int migrate_from(struct cg_store *st, int v, char *err, size_t errlen)
{
	for (int i = v; i < NUM_MIGRATIONS; i++) {
		bool pg = cg_db_kind(st->db) == CG_DB_POSTGRESQL;
		if (cg_db_exec(st->db, pg ? migrations[i].pg : migrations[i].sql)) {
			char what[160];
			snprintf(what, sizeof(what), "migration to version %d (%s)", i + 1,
				 migrations[i].why);
			return cg_store_sql_fail(st, what, err, errlen);
		}
	}
	return checked(st, cg_db_set_schema_version(st->db, NUM_MIGRATIONS), "set schema version",
		       err, errlen);
}

static int migrate(struct cg_store *st, char *err, size_t errlen)
{
	int v, rc;
	if ((rc = schema_version(st, &v, err, errlen)))
		return rc;
	if (v == NUM_MIGRATIONS)
		return 0; /* the common case takes no write lock */
	if (v > NUM_MIGRATIONS)
		return too_new(st, v, err, errlen);
	if ((rc = checked(st, cg_db_begin(st->db, true), "begin migration", err, errlen)))
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	if ((rc = schema_version(st, &v, err, errlen)))
		goto out;
	if (v > NUM_MIGRATIONS) {
		rc = too_new(st, v, err, errlen);
		goto out;
	}
	if ((rc = migrate_from(st, v, err, errlen)))
		goto out;
	rc = checked(st, cg_db_commit(st->db), "commit migration", err, errlen);
out:
	if (rc)
		cg_store_rollback(st);
	return rc;
}

/* A read-only store must be at this build's version: the gateway never
 * migrates. */
static int check_version(struct cg_store *st, char *err, size_t errlen)
{
	int v, rc;
	if ((rc = schema_version(st, &v, err, errlen)))
		return rc;
	if (v > NUM_MIGRATIONS)
		return too_new(st, v, err, errlen);
	if (v < NUM_MIGRATIONS)
		return cg_store_failf(
			err, errlen, CG_STORE_FAIL_IO,
			"store '%s' has schema version %d, this certgate needs %d; run any "
			"certgate write command on it once to upgrade it",
			st->path, v, NUM_MIGRATIONS);
	return 0;
}

struct cg_store *cg_store_open(const char *path, int readonly, char *err, size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "store path is empty");
		return NULL;
	}
	if (strlen(path) >= PATH_MAX) {
		snprintf(err, errlen, "store path is longer than %d bytes", PATH_MAX - 1);
		return NULL;
	}
	struct cg_store *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cg_db_display(path, st->path, sizeof(st->path));
	st->readonly = readonly != 0;
	st->db = cg_db_open(path, st->readonly, err, errlen);
	if (!st->db || (readonly ? check_version(st, err, errlen) : migrate(st, err, errlen))) {
		cg_store_close(st);
		return NULL;
	}
	return st;
}

struct cg_store *cg_store_open_rehearsal(const char *path, char *err, size_t errlen)
{
	struct cg_store *st = cg_store_open(path, 0, err, errlen);
	if (st && checked(st, cg_db_begin(st->db, true), "begin rehearsal", err, errlen)) {
		cg_store_close(st);
		return NULL;
	}
	if (st)
		st->rehearsal = true;
	return st;
}

void cg_store_close(struct cg_store *st)
{
	if (!st)
		return;
	if (st->rehearsal)
		cg_db_rollback(st->db); /* nothing of a rehearsal is kept */
	cg_db_close(st->db);
	free(st);
}

int cg_store_change_token(struct cg_store *st, uint64_t *out, char *err, size_t errlen)
{
	/* data_version moves when another connection commits (even a foreign
	 * tool); the counter moves on every write through this module,
	 * including our own connection's. Together they miss nothing. With
	 * PostgreSQL, data_version counts the writers' notifications (our own
	 * connection's included) and reconnects: it alone is the token, and
	 * a gateway's poll costs no round trip (docs/fleet.md). */
	uint64_t dv;
	int64_t cc;
	int rc = checked(st, cg_db_data_version(st->db, &dv), "read data_version", err, errlen);
	if (rc == 0 && cg_db_kind(st->db) == CG_DB_POSTGRESQL) {
		*out = dv;
		return 0;
	}
	if (rc == 0)
		rc = one_int(st,
			     cg_store_prepare(st, "SELECT change_counter FROM meta WHERE id = 1",
					      err, errlen),
			     "read change counter", &cc, err, errlen);
	if (rc == 0)
		*out = ((uint64_t)cc << 32) ^ (dv & 0xffffffffu);
	return rc;
}

/* Copies a text column into the arena ("" for NULL). */
static const char *col(struct cg_arena *a, struct cg_db_stmt *s, int i)
{
	const char *t = cg_db_col_text(s, i);
	return cg_arena_strndup(a, t ? t : "", t ? cg_db_col_bytes(s, i) : 0);
}

static int count_rows(struct cg_store *st, const char *sql, size_t *out, char *err, size_t errlen)
{
	return count_as(st, sql, NULL, NULL, "count rows", out, err, errlen);
}

static int oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory loading the store");
	return CG_STORE_FAIL_IO;
}

/* The rows of one table: their number in *n, refused over certgate's limit
 * for it (what: the rows' name in the message), and a zeroed array of that
 * many elements of size bytes (at least one) in the model's arena; NULL
 * with *rc set on a failure. */
static void *load_rows(struct cg_store *st, struct cg_model *m, const char *count_sql, size_t limit,
		       const char *what, size_t size, size_t *n, int *rc, char *err, size_t errlen)
{
	if ((*rc = count_rows(st, count_sql, n, err, errlen)))
		return NULL;
	if (*n > limit) {
		snprintf(err, errlen, "store '%s' holds %zu %s, more than certgate's limit of %zu", st->path,
			 *n, what, limit);
		*rc = CG_STORE_FAIL_INVALID;
		return NULL;
	}
	void *arr = cg_arena_zalloc(&m->arena, (*n ? *n : 1) * size);
	if (!arr)
		*rc = oom(err, errlen);
	return arr;
}

/* Copies a blob column into the arena; *len = its size. */
static const unsigned char *blob(struct cg_arena *a, struct cg_db_stmt *s, int i, size_t *len)
{
	const void *b = cg_db_col_blob(s, i, len);
	unsigned char *c = cg_arena_alloc(a, *len ? *len : 1);
	if (c && *len)
		memcpy(c, b, *len);
	return c;
}

static const char *col_or_null(struct cg_arena *a, struct cg_db_stmt *s, int i, bool *oom_out);

/* A backend's stored circuit breaker, parsed into the model (the store
 * wrote it validated; a row edited by hand that no longer reads is
 * refused with the backend named). */
static int load_breaker(struct cg_model *m, struct cg_model_backend *b, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loads(b->breaker_json, 0, &je);
	bool has = false;
	char why[256] = "not JSON";
	b->breaker = cg_arena_zalloc(&m->arena, sizeof(*b->breaker));
	if (!b->breaker) {
		json_decref(j);
		return oom(err, errlen);
	}
	int rc = j ? cg_store_breaker_from_json(j, b->breaker, &has, why, sizeof(why)) : -1;
	json_decref(j);
	if (rc == 0 && has)
		return 0;
	snprintf(err, errlen, "backend '%s': stored circuit breaker is not valid: %s", b->id, why);
	return CG_STORE_FAIL_INVALID;
}

static struct cg_model_backend *model_backend(struct cg_model *m, const char *id)
{
	for (size_t i = 0; i < m->num_backends; i++)
		if (strcmp(m->backends[i].id, id) == 0)
			return &m->backends[i];
	return NULL;
}

/* Pool members (migration 12), in their pools' order. */
static int load_pool_members(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	struct cg_db_stmt *s = cg_store_prepare(
		st,
		"SELECT pool_id, member_id, coalesce(priority, -1), coalesce(weight, -1) FROM "
		"backend_pool_members ORDER BY pool_id, position",
		err, errlen);
	int rc;
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW) {
		struct cg_model_backend *p = model_backend(m, cg_db_col_text(s, 0));
		if (!p || !p->members || p->num_members >= CG_STORE_MAX_POOL_MEMBERS)
			continue; /* the pool's row says it is not a pool: ignored */
		struct cg_model_pool_member *pm = &p->members[p->num_members++];
		pm->backend_id = col(&m->arena, s, 1);
		pm->priority = (int)cg_db_col_int(s, 2);
		pm->weight = (int)cg_db_col_int(s, 3);
		if (!pm->backend_id) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	return rc == CG_DB_ERROR ? cg_store_sql_fail(st, "read pool members", err, errlen) : 0;
}

/* Fills one backend from a row of load_backends' query. */
static int backend_row(struct cg_model *m, struct cg_db_stmt *s, struct cg_model_backend *b, char *err,
		       size_t errlen)
{
	bool no_mem = false;
	b->id = col(&m->arena, s, 0);
	b->client_cert_id = col_or_null(&m->arena, s, 2, &no_mem);
	b->validate_chain = cg_db_col_int(s, 3) != 0;
	b->validate_name = cg_db_col_int(s, 4) != 0;
	b->breaker_json = col_or_null(&m->arena, s, 6, &no_mem);
	if (cg_db_col_int(s, 5))
		b->members = cg_arena_zalloc(&m->arena, CG_STORE_MAX_POOL_MEMBERS * sizeof(*b->members));
	else
		b->url = col(&m->arena, s, 1);
	if (!b->id || no_mem || (!b->members && !b->url))
		return oom(err, errlen);
	return b->breaker_json ? load_breaker(m, b, err, errlen) : 0;
}

/* Backends (migration 7, pools and breakers migration 12). */
static int load_backends(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t nb;
	int rc;
	m->backends = load_rows(st, m, "SELECT count(*) FROM backends", CG_STORE_MAX_BACKENDS, "backends",
				sizeof(*m->backends), &nb, &rc, err, errlen);
	if (!m->backends)
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(st,
					   "SELECT id, url, client_cert_id, validate_chain, "
					   "validate_name, is_pool, circuit_breaker FROM backends ORDER BY id",
					   err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_backends < nb) {
		if ((rc = backend_row(m, s, &m->backends[m->num_backends++], err, errlen))) {
			cg_db_finalize(s);
			return rc;
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read backends", err, errlen);
	return load_pool_members(st, m, err, errlen);
}

/* Certificate revocation lists (migration 8). */
static int load_crls(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t n;
	int rc;
	m->crls = load_rows(st, m, "SELECT count(*) FROM crls", CG_STORE_MAX_CRLS, "CRLs", sizeof(*m->crls), &n,
			    &rc, err, errlen);
	if (!m->crls)
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(
		st, "SELECT id, der, issuer, next_update FROM crls ORDER BY id", err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_crls < n) {
		struct cg_model_crl *c = &m->crls[m->num_crls++];
		c->id = col(&m->arena, s, 0);
		c->der = blob(&m->arena, s, 1, &c->der_len);
		c->issuer = col(&m->arena, s, 2);
		c->next_update = col(&m->arena, s, 3);
		if (!c->id || !c->der || !c->issuer || !c->next_update) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read CRLs", err, errlen);
	return 0;
}

/* Certificates and CA certificates (migrations 5-6). */
static int load_certs(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t nc, na;
	int rc;
	if ((rc = count_rows(st, "SELECT count(*) FROM certificates", &nc, err, errlen)) ||
	    (rc = count_rows(st, "SELECT count(*) FROM ca_certificates", &na, err, errlen)))
		return rc;
	if (nc > CG_STORE_MAX_CERTS || na > CG_STORE_MAX_CAS) {
		bool c = nc > CG_STORE_MAX_CERTS;
		snprintf(err, errlen, "store '%s' holds %zu %s, more than certgate's limit of %d",
			 st->path, c ? nc : na, c ? "certificates" : "CA certificates",
			 c ? CG_STORE_MAX_CERTS : CG_STORE_MAX_CAS);
		return CG_STORE_FAIL_INVALID;
	}
	m->certs = cg_arena_zalloc(&m->arena, (nc ? nc : 1) * sizeof(*m->certs));
	m->cas = cg_arena_zalloc(&m->arena, (na ? na : 1) * sizeof(*m->cas));
	if (!m->certs || !m->cas)
		return oom(err, errlen);
	struct cg_db_stmt *s = cg_store_prepare(
		st, "SELECT id, der, thumbprint, key_pem FROM certificates ORDER BY id", err,
		errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_certs < nc) {
		struct cg_model_cert *c = &m->certs[m->num_certs++];
		c->id = col(&m->arena, s, 0);
		c->der = blob(&m->arena, s, 1, &c->der_len);
		c->thumbprint = col(&m->arena, s, 2);
		c->has_key = !cg_db_col_null(s, 3);
		c->key_pem = c->has_key ? col(&m->arena, s, 3) : NULL;
		if (!c->id || !c->der || !c->thumbprint || (c->has_key && !c->key_pem)) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read certificates", err, errlen);
	s = cg_store_prepare(st,
			     "SELECT id, der, thumbprint, intermediate FROM ca_certificates "
			     "ORDER BY id",
			     err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_cas < na) {
		struct cg_model_ca *c = &m->cas[m->num_cas++];
		c->id = col(&m->arena, s, 0);
		c->der = blob(&m->arena, s, 1, &c->der_len);
		c->thumbprint = col(&m->arena, s, 2);
		c->intermediate = cg_db_col_int(s, 3) != 0;
		if (!c->id || !c->der || !c->thumbprint) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read CA certificates", err, errlen);
	if ((rc = load_crls(st, m, err, errlen)))
		return rc;
	return load_backends(st, m, err, errlen);
}

/* Policies, named values and fragments (migrations 2-4). */
static int load_policy_parts(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t np, nn, nf;
	int rc;
	if ((rc = count_rows(st, "SELECT count(*) FROM policies", &np, err, errlen)) ||
	    (rc = count_rows(st, "SELECT count(*) FROM named_values", &nn, err, errlen)) ||
	    (rc = count_rows(st, "SELECT count(*) FROM fragments", &nf, err, errlen)))
		return rc;
	/* One policy per scope: global + every product, API and operation. */
	size_t max_pol = 1 + CG_STORE_MAX_PRODUCTS +
			 (size_t)CG_STORE_MAX_APIS * (1 + CG_STORE_MAX_OPS_PER_API);
	const char *what = NULL;
	size_t have = 0, limit = 0;
	if (np > max_pol)
		what = "policies", have = np, limit = max_pol;
	else if (nn > CG_STORE_MAX_NAMED_VALUES)
		what = "named values", have = nn, limit = CG_STORE_MAX_NAMED_VALUES;
	else if (nf > CG_STORE_MAX_FRAGMENTS)
		what = "fragments", have = nf, limit = CG_STORE_MAX_FRAGMENTS;
	if (what) {
		snprintf(err, errlen, "store '%s' holds %zu %s, more than certgate's limit of %zu",
			 st->path, have, what, limit);
		return CG_STORE_FAIL_INVALID;
	}
	m->policies = cg_arena_zalloc(&m->arena, (np ? np : 1) * sizeof(*m->policies));
	m->named_values = cg_arena_zalloc(&m->arena, (nn ? nn : 1) * sizeof(*m->named_values));
	m->fragments = cg_arena_zalloc(&m->arena, (nf ? nf : 1) * sizeof(*m->fragments));
	if (!m->policies || !m->named_values || !m->fragments)
		return oom(err, errlen);

	struct cg_db_stmt *s = cg_store_prepare(
		st,
		"SELECT scope, api_id, op_id, format, value, product_id FROM policies "
		"ORDER BY scope = 'operation', scope = 'api', scope = 'product', api_id, op_id, "
		"product_id",
		err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_policies < np) {
		struct cg_model_policy *p = &m->policies[m->num_policies++];
		p->scope = cg_store_policy_scope_of(cg_db_col_text(s, 0));
		p->api_id = cg_db_col_null(s, 1) ? NULL : col(&m->arena, s, 1);
		p->op_id = cg_db_col_null(s, 2) ? NULL : col(&m->arena, s, 2);
		p->format = col(&m->arena, s, 3);
		p->value = col(&m->arena, s, 4);
		p->product_id = cg_db_col_null(s, 5) ? NULL : col(&m->arena, s, 5);
		bool apiless = p->scope == CG_MODEL_POLICY_GLOBAL || p->scope == CG_MODEL_POLICY_PRODUCT;
		if (!p->format || !p->value || (!apiless && !p->api_id) ||
		    (p->scope == CG_MODEL_POLICY_PRODUCT && !p->product_id) ||
		    (p->scope == CG_MODEL_POLICY_OPERATION && !p->op_id)) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read policies", err, errlen);

	s = cg_store_prepare(st, "SELECT name, value, secret FROM named_values ORDER BY name", err,
			     errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_named_values < nn) {
		struct cg_model_named_value *v = &m->named_values[m->num_named_values++];
		v->name = col(&m->arena, s, 0);
		v->value = col(&m->arena, s, 1);
		v->secret = cg_db_col_int(s, 2) != 0;
		if (!v->name || !v->value) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read named values", err, errlen);

	s = cg_store_prepare(st, "SELECT id, description, format, value FROM fragments ORDER BY id",
			     err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_fragments < nf) {
		struct cg_model_fragment *f = &m->fragments[m->num_fragments++];
		f->id = col(&m->arena, s, 0);
		f->description = col(&m->arena, s, 1);
		f->format = col(&m->arena, s, 2);
		f->value = col(&m->arena, s, 3);
		if (!f->id || !f->description || !f->format || !f->value) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read fragments", err, errlen);
	return 0;
}

/* A column that may be NULL: NULL stays NULL (col() reads it as ""). */
static const char *col_or_null(struct cg_arena *a, struct cg_db_stmt *s, int i, bool *oom_out)
{
	if (cg_db_col_null(s, i))
		return NULL;
	const char *v = col(a, s, i);
	if (!v)
		*oom_out = true;
	return v;
}

static int load_subs(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t n;
	int rc;
	m->subs = load_rows(st, m, "SELECT count(*) FROM subscriptions", CG_STORE_MAX_SUBS, "subscriptions",
			    sizeof(*m->subs), &n, &rc, err, errlen);
	if (!m->subs)
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(
		st,
		"SELECT id, display_name, scope_api_id, state, primary_key, secondary_key, "
		"expiration, created_at, scope_product_id FROM subscriptions ORDER BY id",
		err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_subs < n) {
		struct cg_model_sub *b = &m->subs[m->num_subs++];
		bool nomem = false;
		b->id = col(&m->arena, s, 0);
		b->display_name = col(&m->arena, s, 1);
		b->scope_api = col_or_null(&m->arena, s, 2, &nomem);
		b->state = col(&m->arena, s, 3);
		b->primary_key = col(&m->arena, s, 4);
		b->secondary_key = col(&m->arena, s, 5);
		b->expiration = col_or_null(&m->arena, s, 6, &nomem);
		b->created_at = col(&m->arena, s, 7);
		b->scope_product = col_or_null(&m->arena, s, 8, &nomem);
		if (nomem || !b->id || !b->display_name || !b->state || !b->primary_key ||
		    !b->secondary_key || !b->created_at) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read subscriptions", err, errlen);
	return 0;
}

/* The API ids of every product, ordered like the products (by id), into
 * their apis slices. */
static int load_product_apis(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t n;
	int rc;
	const char **ids = load_rows(st, m, "SELECT count(*) FROM product_apis", CG_STORE_MAX_PRODUCT_APIS,
				     "product-API links", sizeof(*ids), &n, &rc, err, errlen);
	if (!ids)
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(
		st, "SELECT product_id, api_id FROM product_apis ORDER BY product_id, api_id", err,
		errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	size_t k = 0, pi = 0;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && k < n) {
		const char *pid = cg_db_col_text(s, 0);
		while (pi < m->num_products && strcmp(m->products[pi].id, pid ? pid : "") < 0)
			pi++;
		if (pi == m->num_products)
			break; /* cannot happen with foreign keys on */
		struct cg_model_product *p = &m->products[pi];
		if (!p->apis)
			p->apis = &ids[k];
		if ((ids[k] = col(&m->arena, s, 1)) == NULL) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
		k++;
		p->num_apis++;
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read product APIs", err, errlen);
	return 0;
}

/* Products (migration 10). */
static int load_products(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t n;
	int rc;
	m->products = load_rows(st, m, "SELECT count(*) FROM products", CG_STORE_MAX_PRODUCTS, "products",
				sizeof(*m->products), &n, &rc, err, errlen);
	if (!m->products)
		return rc;
	struct cg_db_stmt *s = cg_store_prepare(
		st,
		"SELECT id, display_name, description, subscription_required, approval_required, "
		"subscriptions_limit, state, created_at FROM products ORDER BY id",
		err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_products < n) {
		struct cg_model_product *p = &m->products[m->num_products++];
		p->id = col(&m->arena, s, 0);
		p->display_name = col(&m->arena, s, 1);
		p->description = col(&m->arena, s, 2);
		p->subscription_required = cg_db_col_int(s, 3) != 0;
		p->approval_required = cg_db_col_int(s, 4) != 0;
		p->subscriptions_limit = cg_db_col_null(s, 5) ? -1 : cg_db_col_int(s, 5);
		const char *state = cg_db_col_text(s, 6);
		p->published = state && strcmp(state, "published") == 0;
		p->created_at = col(&m->arena, s, 7);
		if (!p->id || !p->display_name || !p->description || !p->created_at) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read products", err, errlen);
	return load_product_apis(st, m, err, errlen);
}

static int load(struct cg_store *st, struct cg_model *m, char *err, size_t errlen)
{
	size_t nh, na, no;
	int rc;
	if ((rc = count_rows(st, "SELECT count(*) FROM hostnames", &nh, err, errlen)) ||
	    (rc = count_rows(st, "SELECT count(*) FROM apis", &na, err, errlen)) ||
	    (rc = count_rows(st, "SELECT count(*) FROM operations", &no, err, errlen)))
		return rc;
	/* Limits are enforced on write; rows past them were written behind
	 * certgate's back, and the snapshot builder sizes its tables by them. */
	const char *what = NULL;
	size_t have = 0, limit = 0;
	if (nh > CG_STORE_MAX_HOSTS)
		what = "hostnames", have = nh, limit = CG_STORE_MAX_HOSTS;
	else if (na > CG_STORE_MAX_APIS)
		what = "APIs", have = na, limit = CG_STORE_MAX_APIS;
	else if (no > (size_t)CG_STORE_MAX_APIS * CG_STORE_MAX_OPS_PER_API)
		what = "operations", have = no,
		limit = (size_t)CG_STORE_MAX_APIS * CG_STORE_MAX_OPS_PER_API;
	if (what) {
		snprintf(err, errlen, "store '%s' holds %zu %s, more than certgate's limit of %zu",
			 st->path, have, what, limit);
		return CG_STORE_FAIL_INVALID;
	}
	m->hosts = cg_arena_zalloc(&m->arena, (nh ? nh : 1) * sizeof(*m->hosts));
	m->apis = cg_arena_zalloc(&m->arena, (na ? na : 1) * sizeof(*m->apis));
	struct cg_model_op *ops = cg_arena_zalloc(&m->arena, (no ? no : 1) * sizeof(*ops));
	if (!m->hosts || !m->apis || !ops)
		return oom(err, errlen);

	struct cg_db_stmt *s = cg_store_prepare(
		st,
		"SELECT name, cert_pem, key_pem, negotiate_client_certificate, is_default "
		"FROM hostnames ORDER BY name",
		err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_hosts < nh) {
		struct cg_model_host *h = &m->hosts[m->num_hosts++];
		h->name = col(&m->arena, s, 0);
		h->cert_pem = col(&m->arena, s, 1);
		h->key_pem = col(&m->arena, s, 2);
		h->negotiate_client_certificate = cg_db_col_int(s, 3) != 0;
		h->is_default = cg_db_col_int(s, 4) != 0;
		if (!h->name || !h->cert_pem || !h->key_pem) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read hostnames", err, errlen);

	s = cg_store_prepare(
		st,
		"SELECT api_id, id, display_name, method, url_template FROM operations "
		"ORDER BY api_id, id",
		err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	const char **op_api = cg_arena_zalloc(&m->arena, (no ? no : 1) * sizeof(*op_api));
	if (!op_api) {
		cg_db_finalize(s);
		return oom(err, errlen);
	}
	size_t nops = 0;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && nops < no) {
		struct cg_model_op *o = &ops[nops];
		op_api[nops] = col(&m->arena, s, 0);
		o->id = col(&m->arena, s, 1);
		o->display_name = col(&m->arena, s, 2);
		o->method = col(&m->arena, s, 3);
		o->url_template = col(&m->arena, s, 4);
		nops++;
		if (!op_api[nops - 1] || !o->id || !o->display_name || !o->method ||
		    !o->url_template) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read operations", err, errlen);

	s = cg_store_prepare(st,
			     "SELECT id, display_name, path, service_url, subscription_required, "
			     "sub_key_header, sub_key_query, protocols FROM apis ORDER BY id",
			     err, errlen);
	if (!s)
		return CG_STORE_FAIL_IO;
	/* Operations are sorted by api_id like the APIs by id (same binary
	 * collation), so one merge pass hands each API its slice. */
	size_t oi = 0;
	while ((rc = cg_db_step(s)) == CG_DB_ROW && m->num_apis < na) {
		struct cg_model_api *a = &m->apis[m->num_apis++];
		a->id = col(&m->arena, s, 0);
		a->display_name = col(&m->arena, s, 1);
		a->path = col(&m->arena, s, 2);
		a->service_url = col(&m->arena, s, 3);
		a->subscription_required = cg_db_col_int(s, 4) != 0;
		a->sub_key_header = col(&m->arena, s, 5);
		a->sub_key_query = col(&m->arena, s, 6);
		a->protocols = (unsigned)cg_db_col_int(s, 7) & CG_MODEL_PROTO_ALL;
		if (!a->id || !a->display_name || !a->path || !a->service_url ||
		    !a->sub_key_header || !a->sub_key_query) {
			cg_db_finalize(s);
			return oom(err, errlen);
		}
		while (oi < nops && strcmp(op_api[oi], a->id) < 0)
			oi++; /* orphans cannot exist with foreign keys on; skip defensively */
		a->ops = &ops[oi];
		while (oi < nops && strcmp(op_api[oi], a->id) == 0) {
			oi++;
			a->num_ops++;
		}
		if (a->num_ops > CG_STORE_MAX_OPS_PER_API) {
			snprintf(err, errlen,
				 "store '%s': API '%s' has %zu operations, more than certgate's "
				 "limit of %d",
				 st->path, a->id, a->num_ops, CG_STORE_MAX_OPS_PER_API);
			cg_db_finalize(s);
			return CG_STORE_FAIL_INVALID;
		}
	}
	cg_db_finalize(s);
	if (rc == CG_DB_ERROR)
		return cg_store_sql_fail(st, "read APIs", err, errlen);
	if ((rc = load_policy_parts(st, m, err, errlen)) || (rc = load_subs(st, m, err, errlen)) ||
	    (rc = load_products(st, m, err, errlen)))
		return rc;
	return load_certs(st, m, err, errlen);
}

int cg_store_load_model(struct cg_store *st, struct cg_model *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	cg_arena_init(&out->arena, CG_STORE_MODEL_CHUNK, CG_STORE_MODEL_MAX_BYTES);
	/* One read transaction: every SELECT below sees the same committed
	 * state, whatever writers do meanwhile. */
	bool own = !st->rehearsal; /* a rehearsal reads inside its transaction */
	int rc = own ? checked(st, cg_db_begin(st->db, false), "begin read", err, errlen) : 0;
	if (rc == 0) {
		rc = load(st, out, err, errlen);
		if (own)
			(void)cg_db_commit(st->db); /* a read: nothing to lose */
	}
	if (rc)
		cg_model_free(out);
	return rc;
}

void cg_model_free(struct cg_model *m)
{
	if (!m)
		return;
	cg_arena_destroy(&m->arena);
	m->hosts = NULL;
	m->apis = NULL;
	m->num_hosts = 0;
	m->num_apis = 0;
	m->policies = NULL;
	m->named_values = NULL;
	m->fragments = NULL;
	m->num_policies = 0;
	m->num_named_values = 0;
	m->num_fragments = 0;
	m->certs = NULL;
	m->cas = NULL;
	m->num_certs = 0;
	m->num_cas = 0;
	m->backends = NULL;
	m->num_backends = 0;
	m->subs = NULL;
	m->num_subs = 0;
	m->products = NULL;
	m->num_products = 0;
}

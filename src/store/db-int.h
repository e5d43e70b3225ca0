/* Backends of the store's database interface (db.h): each fills a table
 * of operations; db.c dispatches to it. For db.c and db-*.c only. */
#ifndef CG_STORE_DB_INT_H
#define CG_STORE_DB_INT_H

#include "store/db.h"

struct cg_db_ops {
	enum cg_db_kind kind;
	void (*close)(struct cg_db *db);
	const char *(*errmsg)(struct cg_db *db);
	int (*exec)(struct cg_db *db, const char *sql);
	int (*begin)(struct cg_db *db, bool write);
	int (*commit)(struct cg_db *db);
	void (*rollback)(struct cg_db *db);
	int (*schema_version)(struct cg_db *db, int *out);
	int (*set_schema_version)(struct cg_db *db, int version);
	int (*data_version)(struct cg_db *db, uint64_t *out);
	int64_t (*changes)(struct cg_db *db);
	struct cg_db_stmt *(*prepare)(struct cg_db *db, const char *sql);
	void (*bind_text)(struct cg_db_stmt *s, int i, const char *v);
	void (*bind_int)(struct cg_db_stmt *s, int i, int64_t v);
	void (*bind_blob)(struct cg_db_stmt *s, int i, const void *p, size_t len);
	enum cg_db_step (*step)(struct cg_db_stmt *s);
	bool (*col_null)(struct cg_db_stmt *s, int i);
	const char *(*col_text)(struct cg_db_stmt *s, int i);
	size_t (*col_bytes)(struct cg_db_stmt *s, int i);
	int64_t (*col_int)(struct cg_db_stmt *s, int i);
	const void *(*col_blob)(struct cg_db_stmt *s, int i, size_t *len);
	void (*finalize)(struct cg_db_stmt *s);
};

/* The first member of every backend's connection and statement. */
struct cg_db {
	const struct cg_db_ops *ops;
};

struct cg_db_stmt {
	struct cg_db *db;
};

/* SQLite (db-sqlite.c): target is a file path. As cg_db_open. */
struct cg_db *cg_db_sqlite_open(const char *path, bool readonly, char *err, size_t errlen);

/* PostgreSQL (db-pg.c): url as given to libpq, display for messages. */
struct cg_db *cg_db_pg_open(const char *url, const char *display, bool readonly, char *err,
			    size_t errlen);

#endif

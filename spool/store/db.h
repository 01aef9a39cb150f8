/*
 * store_db.h - the SQL driver under the store (private to libspool).
 *
 * Two drivers, SQLite (store_sqlite.c) and PostgreSQL (store_pg.c), behind
 * one small interface: run a statement with typed parameters, get every
 * row back as text.  All store logic (store.c, job.c, lineage.c) is written
 * once above it in portable SQL; the drivers know only their library.
 *
 * SQL text uses '?' placeholders (the PostgreSQL driver numbers them) and
 * may carry dialect markers that are comments to SQLite and become clauses
 * on PostgreSQL:
 *   / *SKIP LOCKED* /  ->  FOR UPDATE SKIP LOCKED
 *   / *FOR UPDATE* /   ->  FOR UPDATE
 * (written without the inner spaces).  SQLite needs neither: a write
 * transaction there holds the whole database (BEGIN IMMEDIATE).
 *
 * Statements are prepared once per connection and cached by the address
 * of their text, so callers pass string literals (or text that lives as
 * long as the connection).  Never build SQL from data: values are
 * parameters, always.
 */
#ifndef SPOOL_STORE_DB_H
#define SPOOL_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

struct spool_db;

/* One parameter: 'i' an integer, 's' text (NULL text is SQL NULL), 'n'
 * NULL. */
struct spool_dbv {
	char type;
	int64_t i;
	const char *s;
};

#define DBI(x) ((struct spool_dbv){ 'i', (int64_t)(x), NULL })
#define DBS(x) ((struct spool_dbv){ 's', 0, (x) })
#define DBNULL ((struct spool_dbv){ 'n', 0, NULL })

/* A result: every cell as text (NULL for SQL NULL), row-major.  changes is
 * the number of rows an INSERT/UPDATE/DELETE touched.  At most
 * SPOOL_DB_ROWS_MAX rows are kept; more is SPOOL_ERR_LIMIT (queries that
 * can return many rows page with LIMIT). */
#define SPOOL_DB_ROWS_MAX 1000000
struct spool_dbres {
	size_t nrows;
	size_t ncols;
	size_t *off;   /* nrows * ncols offsets into arena; SIZE_MAX: NULL */
	size_t offcap;
	char *arena;
	size_t len, cap;
	int64_t changes;
};

void spool_dbres_release(struct spool_dbres *r);
const char *spool_dbres_text(const struct spool_dbres *r, size_t row,
    size_t col);
/* The integer in a cell; 0 for NULL or text that is not one. */
int64_t spool_dbres_int(const struct spool_dbres *r, size_t row, size_t col);

struct spool_db_driver {
	const char *name; /* "sqlite" | "postgresql" */
	int (*open)(struct spool_db **out, const char *url, spool_err *err);
	void (*close)(struct spool_db *db);
	/* Several statements without parameters (migrations). */
	int (*script)(struct spool_db *db, const char *sql, spool_err *err);
	/* res may be NULL when no rows are wanted. */
	int (*query)(struct spool_db *db, const char *sql,
	    const struct spool_dbv *v, size_t nv, struct spool_dbres *res,
	    spool_err *err);
	/* write: take the write lock now (SQLite BEGIN IMMEDIATE). */
	int (*begin)(struct spool_db *db, int write, spool_err *err);
	int (*commit)(struct spool_db *db, spool_err *err);
	void (*rollback)(struct spool_db *db);
};

extern const struct spool_db_driver spool_db_sqlite;
extern const struct spool_db_driver spool_db_pg;

/* Shared by the drivers: prepared statements cached by the address of
 * their SQL text (open addressing; grows at half full). */
struct spool_stmt_cache {
	struct spool_stmt_slot {
		const char *key;
		void *val;
	} *v;
	size_t n, cap;
};
void *spool_stmt_cache_get(const struct spool_stmt_cache *c,
    const char *key);
/* SPOOL_ERR_NOMEM if it could not grow. */
int spool_stmt_cache_put(struct spool_stmt_cache *c, const char *key,
    void *val);
/* Calls fn on every value, then frees the table. */
void spool_stmt_cache_release(struct spool_stmt_cache *c,
    void (*fn)(void *val));

/* Shared by the drivers: result building. */
int spool_dbres_init(struct spool_dbres *r, size_t ncols, spool_err *err);
/* Append one row of ncols cells (NULL = SQL NULL), copying the text. */
int spool_dbres_add_row(struct spool_dbres *r, const char *const *cells,
    const size_t *lens, spool_err *err);

#endif

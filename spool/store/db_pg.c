/*
 * db_pg.c - the shared store driver (PostgreSQL, libpq).
 *
 * Several spoold processes on several hosts may share one queue through
 * it.  Statements are prepared once per connection (PQprepare) after '?'
 * placeholders are numbered and the dialect markers of db.h are
 * expanded.  Transactions run at READ COMMITTED: the store's statements are
 * written so that row locks (UPDATE ... WHERE, FOR UPDATE SKIP LOCKED) are
 * what serializes them.  Serialization failures and deadlocks come back as
 * SPOOL_ERR_BUSY so the caller's transaction is simply run again.
 *
 * It must never build SQL from data, and never print: server notices are
 * dropped (the store reports what matters itself).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "spool/base/error.h"
#include "spool/store/db.h"

#define PARAMS_MAX 64

struct spool_db {
	PGconn *c;
	struct spool_stmt_cache cache; /* values: statement numbers */
	unsigned next;
};

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int
fail_res(struct spool_db *db, PGresult *res, spool_err *err,
    const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	int code = SPOOL_ERR_STORE;
	char line[400];
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db->c);
	snprintf(line, sizeof(line), "%s", msg ? msg : "unknown error");
	n = strcspn(line, "\n");
	line[n] = '\0';
	if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
		code = SPOOL_ERR_BUSY;
	else if (state != NULL && strcmp(state, "53200") == 0)
		code = SPOOL_ERR_NOMEM;
	return spool_fail(err, code, "postgresql: %s: %s", what, line);
}

static int
pg_open(struct spool_db **out, const char *url, spool_err *err)
{
	struct spool_db *db;
	PGresult *res;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	db->c = PQconnectdb(url);
	if (db->c == NULL || PQstatus(db->c) != CONNECTION_OK) {
		char line[400];
		snprintf(line, sizeof(line), "%s",
		    db->c ? PQerrorMessage(db->c) : "out of memory");
		line[strcspn(line, "\n")] = '\0';
		PQfinish(db->c);
		free(db);
		return spool_fail(err, SPOOL_ERR_STORE,
		    "cannot connect to the store: %s", line);
	}
	PQsetNoticeProcessor(db->c, quiet, NULL);
	res = PQexec(db->c, "SET client_min_messages = warning; "
	    "SET synchronous_commit = on; SET TIME ZONE 'UTC'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		int r = fail_res(db, res, err, "cannot set up the session");
		PQclear(res);
		PQfinish(db->c);
		free(db);
		return r;
	}
	PQclear(res);
	*out = db;
	return SPOOL_OK;
}

static void
pg_close(struct spool_db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->c);
	spool_stmt_cache_release(&db->cache, NULL);
	free(db);
}

/* '?' -> $n outside quotes; markers expanded.  Returns malloc'd text. */
static char *
translate(const char *sql, int *nparams)
{
	static const struct {
		const char *marker, *pg;
	} m[] = {
		{ "/*SKIP LOCKED*/", "FOR UPDATE SKIP LOCKED" },
		{ "/*FOR UPDATE*/", "FOR UPDATE" },
	};
	size_t cap = strlen(sql) * 2 + 64, n = 0;
	char *out = malloc(cap);
	char quote = 0;
	int k = 0;

	if (out == NULL)
		return NULL;
	while (*sql) {
		size_t j;
		int done = 0;
		if (n + 32 >= cap) {
			char *o;
			cap *= 2;
			if ((o = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = o;
		}
		if (quote) {
			if (*sql == quote)
				quote = 0;
			out[n++] = *sql++;
			continue;
		}
		for (j = 0; j < sizeof(m) / sizeof(m[0]) && !done; j++) {
			size_t ml = strlen(m[j].marker), pl = strlen(m[j].pg);
			if (strncmp(sql, m[j].marker, ml) != 0)
				continue;
			if (n + pl + 1 >= cap) {
				char *o;
				cap += pl + 64;
				if ((o = realloc(out, cap)) == NULL) {
					free(out);
					return NULL;
				}
				out = o;
			}
			memcpy(out + n, m[j].pg, pl);
			n += pl;
			sql += ml;
			done = 1;
		}
		if (done)
			continue;
		if (*sql == '\'' || *sql == '"') {
			quote = *sql;
			out[n++] = *sql++;
		} else if (*sql == '?') {
			n += (size_t)snprintf(out + n, cap - n, "$%d", ++k);
			sql++;
		} else {
			out[n++] = *sql++;
		}
	}
	out[n] = '\0';
	*nparams = k;
	return out;
}

static int
prepare(struct spool_db *db, const char *sql, char name[16], spool_err *err)
{
	unsigned id = (unsigned)(uintptr_t)spool_stmt_cache_get(&db->cache,
	    sql);
	PGresult *res;
	char *text;
	int np, r;

	if (id != 0) {
		snprintf(name, 16, "s%u", id);
		return SPOOL_OK;
	}
	if ((text = translate(sql, &np)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	id = ++db->next;
	snprintf(name, 16, "s%u", id);
	res = PQprepare(db->c, name, text, 0, NULL);
	free(text);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = fail_res(db, res, err, "cannot prepare a statement");
		PQclear(res);
		return r;
	}
	PQclear(res);
	if (spool_stmt_cache_put(&db->cache, sql, (void *)(uintptr_t)id) !=
	    SPOOL_OK)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}

static int
pg_query(struct spool_db *db, const char *sql, const struct spool_dbv *v,
    size_t nv, struct spool_dbres *res, spool_err *err)
{
	const char *vals[PARAMS_MAX];
	char nums[PARAMS_MAX][24];
	const char *cells[64];
	size_t lens[64];
	char name[16];
	PGresult *pr;
	ExecStatusType st;
	int r, nrows, ncols, i, c;

	if (nv > PARAMS_MAX)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "too many parameters");
	if ((r = prepare(db, sql, name, err)) != SPOOL_OK)
		return r;
	for (i = 0; i < (int)nv; i++) {
		if (v[i].type == 'i') {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, v[i].i);
			vals[i] = nums[i];
		} else {
			vals[i] = v[i].type == 's' ? v[i].s : NULL;
		}
	}
	pr = PQexecPrepared(db->c, name, (int)nv, vals, NULL, NULL, 0);
	st = PQresultStatus(pr);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		r = fail_res(db, pr, err, "statement failed");
		PQclear(pr);
		return r;
	}
	if (res == NULL) {
		PQclear(pr);
		return SPOOL_OK;
	}
	nrows = PQntuples(pr);
	ncols = PQnfields(pr);
	if (ncols > 64) {
		PQclear(pr);
		return spool_fail(err, SPOOL_ERR_INTERNAL, "too many columns");
	}
	spool_dbres_init(res, (size_t)ncols, err);
	for (i = 0; i < nrows; i++) {
		for (c = 0; c < ncols; c++) {
			cells[c] = PQgetisnull(pr, i, c) ? NULL :
			    PQgetvalue(pr, i, c);
			lens[c] = (size_t)PQgetlength(pr, i, c);
		}
		if ((r = spool_dbres_add_row(res, cells, lens, err)) !=
		    SPOOL_OK) {
			spool_dbres_release(res);
			PQclear(pr);
			return r;
		}
	}
	res->changes = strtoll(PQcmdTuples(pr), NULL, 10);
	PQclear(pr);
	return SPOOL_OK;
}

static int
simple(struct spool_db *db, const char *sql, spool_err *err)
{
	PGresult *res = PQexec(db->c, sql);
	int r = SPOOL_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		r = fail_res(db, res, err, "statement failed");
	PQclear(res);
	return r;
}

static int
pg_script(struct spool_db *db, const char *sql, spool_err *err)
{
	return simple(db, sql, err);
}

static int
pg_begin(struct spool_db *db, int write, spool_err *err)
{
	(void)write;
	return simple(db, "BEGIN", err);
}

static int
pg_commit(struct spool_db *db, spool_err *err)
{
	PGresult *res = PQexec(db->c, "COMMIT");
	int r = SPOOL_OK;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = fail_res(db, res, err, "cannot commit");
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		/* COMMIT of a failed transaction answers ROLLBACK */
		r = spool_fail(err, SPOOL_ERR_STORE, "postgresql: the "
		    "transaction was rolled back, not committed");
	PQclear(res);
	if (r != SPOOL_OK && PQtransactionStatus(db->c) != PQTRANS_IDLE)
		simple(db, "ROLLBACK", NULL);
	return r;
}

static void
pg_rollback(struct spool_db *db)
{
	if (PQtransactionStatus(db->c) != PQTRANS_IDLE)
		simple(db, "ROLLBACK", NULL);
}

const struct spool_db_driver spool_db_pg = {
	"postgresql", pg_open, pg_close, pg_script, pg_query, pg_begin,
	pg_commit, pg_rollback,
};

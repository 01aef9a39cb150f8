/*
 * db_sqlite.c - the embedded store driver (SQLite).
 *
 * One file, WAL journal, foreign keys on, synchronous=FULL: a COMMIT that
 * returned is on disk, which is what the store acknowledges.  Writers take
 * the lock at BEGIN (BEGIN IMMEDIATE), so two writers never deadlock and
 * never fail at COMMIT; a waiting writer retries with short randomized
 * sleeps (SQLite's default busy handler sleeps up to 100 ms at a time,
 * which starves workers that commit hundreds of times a second).
 *
 * Before BEGIN IMMEDIATE a writer also waits, in the kernel, for a
 * process-wide fcntl lock on PATH-wlock: processes that write queue
 * there and each is woken the moment the one before it commits, where
 * SQLite's own (non-blocking) lock leaves it idle until a waiter's next
 * poll.  It only orders writers (SQLite's lock still decides), so a
 * process that cannot take it (another program, no such file) just
 * polls as before; fcntl locks belong to the process, so two connections
 * of one process never wait for each other there.  A writer stopped
 * while it holds it (SIGSTOP, a debugger: it is held from just before
 * BEGIN to just after COMMIT) holds the others up until it goes on, as
 * one stopped inside its transaction would, but without SQLite's
 * timeout: the daemon's watchdog, not this lock, bounds that.
 *
 * It must never build SQL from data, and never leave a transaction open
 * after an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool/base/error.h"
#include "spool/store/db.h"

#define BUSY_TIMEOUT_MS 60000

struct spool_db {
	sqlite3 *h;
	int wlock;                    /* PATH-wlock, or -1 */
	int wlocked;                  /* this connection took it */
	struct spool_stmt_cache cache;
	unsigned rnd;
};

static int
fail_db(struct spool_db *db, spool_err *err, int rc, const char *what)
{
	int code = SPOOL_ERR_STORE;

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		code = SPOOL_ERR_BUSY;
	else if (rc == SQLITE_NOMEM)
		code = SPOOL_ERR_NOMEM;
	else if (rc == SQLITE_FULL || rc == SQLITE_IOERR)
		code = SPOOL_ERR_SYS;
	return spool_fail(err, code, "sqlite: %s: %s", what,
	    db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
}

/* Sleep 50 us doubling to 2 ms, randomized, until the timeout. */
static int
busy(void *arg, int n)
{
	struct spool_db *db = arg;
	static const long cap_us = 2000;
	long us = 50L << (n < 6 ? n : 6);
	struct timespec ts;
	uint64_t waited_ms;

	if (us > cap_us)
		us = cap_us;
	/* about n * cap after the first few: a bound on the total wait */
	waited_ms = (uint64_t)n * (uint64_t)cap_us / 1000;
	if (waited_ms > BUSY_TIMEOUT_MS)
		return 0;
	db->rnd = db->rnd * 1103515245u + 12345u;
	us = us / 2 + (long)((db->rnd >> 8) % (unsigned long)(us / 2 + 1));
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 1;
}

static int
sq_open(struct spool_db **out, const char *url, spool_err *err)
{
	struct spool_db *db;
	char lpath[PATH_MAX];
	const char *path;
	int rc;

	if (strncmp(url, "sqlite://", 9) != 0 || url[9] == '\0')
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "store url '%s' is not sqlite://PATH", url);
	path = url + 9;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	db->rnd = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)db;
	rc = sqlite3_open_v2(path, &db->h,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		int r = spool_fail(err, rc == SQLITE_CANTOPEN ? SPOOL_ERR_SYS :
		    SPOOL_ERR_STORE, "cannot open store '%s': %s", path,
		    db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		sqlite3_close(db->h);
		free(db);
		return r;
	}
	sqlite3_busy_handler(db->h, busy, db);
	db->wlock = -1;
	if (strlen(path) + 7 < sizeof(lpath) && strcmp(path, ":memory:") != 0) {
		snprintf(lpath, sizeof(lpath), "%s-wlock", path);
		db->wlock = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
	}
	/* journal_mode answers with a row; the rest are silent */
	rc = sqlite3_exec(db->h,
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;"
	    "PRAGMA wal_autocheckpoint=4000;"
	    "PRAGMA foreign_keys=ON;"
	    "PRAGMA trusted_schema=OFF;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int r = fail_db(db, err, rc, "cannot set up the store");
		sqlite3_close(db->h);
		if (db->wlock >= 0)
			close(db->wlock);
		free(db);
		return r;
	}
	*out = db;
	return SPOOL_OK;
}

static void
finalize(void *st)
{
	sqlite3_finalize(st);
}

static void
sq_close(struct spool_db *db)
{
	if (db == NULL)
		return;
	spool_stmt_cache_release(&db->cache, finalize);
	sqlite3_close(db->h);
	if (db->wlock >= 0)
		close(db->wlock);
	free(db);
}

static int
prepare(struct spool_db *db, const char *sql, sqlite3_stmt **out,
    spool_err *err)
{
	sqlite3_stmt *st = spool_stmt_cache_get(&db->cache, sql);
	int rc;

	if (st != NULL) {
		*out = st;
		return SPOOL_OK;
	}
	rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return fail_db(db, err, rc, "cannot prepare a statement");
	if (spool_stmt_cache_put(&db->cache, sql, st) != SPOOL_OK) {
		sqlite3_finalize(st);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	*out = st;
	return SPOOL_OK;
}

static int
sq_query(struct spool_db *db, const char *sql, const struct spool_dbv *v,
    size_t nv, struct spool_dbres *res, spool_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *cells[64];
	size_t lens[64];
	int r, rc, ncols;
	size_t i;

	if ((r = prepare(db, sql, &st, err)) != SPOOL_OK)
		return r;
	if ((size_t)sqlite3_bind_parameter_count(st) != nv) {
		sqlite3_reset(st);
		return spool_fail(err, SPOOL_ERR_INTERNAL,
		    "statement wants %d parameters, got %zu",
		    sqlite3_bind_parameter_count(st), nv);
	}
	for (i = 0; i < nv; i++) {
		int k = (int)i + 1;
		if (v[i].type == 'i')
			rc = sqlite3_bind_int64(st, k, v[i].i);
		else if (v[i].type == 's' && v[i].s != NULL)
			rc = sqlite3_bind_text(st, k, v[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(st, k);
		if (rc != SQLITE_OK) {
			r = fail_db(db, err, rc, "cannot bind a parameter");
			goto out;
		}
	}
	ncols = sqlite3_column_count(st);
	if (ncols > 64) {
		r = spool_fail(err, SPOOL_ERR_INTERNAL, "too many columns");
		goto out;
	}
	if (res != NULL)
		spool_dbres_init(res, (size_t)ncols, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int c;
		if (res == NULL)
			continue;
		for (c = 0; c < ncols; c++) {
			cells[c] = (const char *)sqlite3_column_text(st, c);
			lens[c] = (size_t)sqlite3_column_bytes(st, c);
			if (cells[c] == NULL &&
			    sqlite3_column_type(st, c) != SQLITE_NULL) {
				r = fail_db(db, err, SQLITE_NOMEM, "out of memory");
				goto out;
			}
		}
		if ((r = spool_dbres_add_row(res, cells, lens, err)) !=
		    SPOOL_OK)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = fail_db(db, err, rc, "statement failed");
		goto out;
	}
	if (res != NULL)
		res->changes = sqlite3_changes64(db->h);
	r = SPOOL_OK;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SPOOL_OK && res != NULL)
		spool_dbres_release(res);
	return r;
}

static int
sq_script(struct spool_db *db, const char *sql, spool_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int code = rc == SQLITE_BUSY ? SPOOL_ERR_BUSY : SPOOL_ERR_STORE;
		spool_fail(err, code, "sqlite: %s",
		    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return SPOOL_OK;
}

/* Take (F_WRLCK, waiting) or drop (F_UNLCK) the writers' queue lock. */
static void
wlock(struct spool_db *db, short type)
{
	struct flock fl;

	if (db->wlock < 0 || db->wlocked == (type != F_UNLCK))
		return;
	db->wlocked = type != F_UNLCK;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(db->wlock, type == F_UNLCK ? F_SETLK : F_SETLKW, &fl) !=
	    0 && errno == EINTR)
		;
}

static int
sq_begin(struct spool_db *db, int write, spool_err *err)
{
	int rc;

	if (write)
		wlock(db, F_WRLCK);
	rc = sqlite3_exec(db->h, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL,
	    NULL, NULL);
	if (rc != SQLITE_OK) {
		if (write)
			wlock(db, F_UNLCK);
		return fail_db(db, err, rc, "cannot begin a transaction");
	}
	return SPOOL_OK;
}

static int
sq_commit(struct spool_db *db, spool_err *err)
{
	int rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		int r = fail_db(db, err, rc, "cannot commit");
		if (!sqlite3_get_autocommit(db->h))
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		wlock(db, F_UNLCK);
		return r;
	}
	wlock(db, F_UNLCK);
	return SPOOL_OK;
}

static void
sq_rollback(struct spool_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	wlock(db, F_UNLCK);
}

const struct spool_db_driver spool_db_sqlite = {
	"sqlite", sq_open, sq_close, sq_script, sq_query, sq_begin, sq_commit,
	sq_rollback,
};

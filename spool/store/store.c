/*
 * store.c - opening and migrating the store; the clock, transactions and
 * ids the other store modules share (batchlog.c, request.c, blobref.c,
 * queue.c, list.c, lineage.c, and the job engine's job.c).
 *
 * Everything here is portable SQL over db.h; the backend is chosen
 * by the URL's scheme and never looked at again.  Every change is one
 * transaction (st_tx), so a crash leaves either all of it or none.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/store/db.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

extern const char spool_store_sql[];

#define TX_TRIES 50

int64_t
spool_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sys_now(void *arg)
{
	(void)arg;
	return spool_now_ms();
}

int64_t
spool_store_now(struct spool_store *st)
{
	return st->now(st->now_arg);
}

int64_t
spool_store_sched(struct spool_store *st)
{
	/* a test's clock is both */
	if (st->now != sys_now)
		return st->now(st->now_arg);
	return st->sched_base + spool_mono_ms();
}

int64_t
spool_store_sched_base(const struct spool_store *st)
{
	return st->sched_base;
}

void
spool_store_set_sched_base(struct spool_store *st, int64_t base)
{
	st->sched_base = base;
}

void
spool_store_set_clock(struct spool_store *st, int64_t (*now)(void *),
    void *arg)
{
	st->now = now ? now : sys_now;
	st->now_arg = arg;
}

uint64_t
st_rand(struct spool_store *st, uint64_t n)
{
	/* splitmix64: jitter, not secrets */
	uint64_t z = (st->rnd += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return n ? z % n : 0;
}

int
st_query(struct spool_store *st, const char *sql, const struct spool_dbv *v,
    size_t nv, struct spool_dbres *res, spool_err *err)
{
	return st->drv->query(st->db, sql, v, nv, res, err);
}

int
st_tx(struct spool_store *st, int write, st_txfn fn, void *arg,
    spool_err *err)
{
	int tries, r = SPOOL_ERR_BUSY;

	if (st->in_tx)
		return fn(st, arg, err);
	for (tries = 0; tries < TX_TRIES; tries++) {
		if (tries > 0) {
			struct timespec ts = { 0, (long)(200000 +
			    st_rand(st, 1000000u << (tries < 5 ? tries : 5))) };
			nanosleep(&ts, NULL);
		}
		if ((r = st->drv->begin(st->db, write, err)) != SPOOL_OK) {
			if (r == SPOOL_ERR_BUSY)
				continue;
			return r;
		}
		st->in_tx = 1;
		r = fn(st, arg, err);
		st->in_tx = 0;
		if (r == SPOOL_OK)
			r = st->drv->commit(st->db, err);
		else
			st->drv->rollback(st->db);
		if (r != SPOOL_ERR_BUSY)
			return r;
	}
	return r;
}

int
spool_store_atomic(struct spool_store *st,
    int (*fn)(struct spool_store *, void *, spool_err *), void *arg,
    spool_err *err)
{
	return st_tx(st, 1, fn, arg, err);
}

int
spool_store_read(struct spool_store *st,
    int (*fn)(struct spool_store *, void *, spool_err *), void *arg,
    spool_err *err)
{
	return st_tx(st, 0, fn, arg, err);
}

int
st_rows_out(int r, struct spool_dbres *res,
    int (*fn)(void *, const struct spool_store_row *), void *arg)
{
	if (r != SPOOL_OK)
		return r;
	r = st_rows(res, fn, arg);
	spool_dbres_release(res);
	return r;
}

int
st_rows(const struct spool_dbres *res,
    int (*fn)(void *, const struct spool_store_row *), void *arg)
{
	const char *cols[64];
	struct spool_store_row row;
	size_t i, c;
	int r;

	row.ncols = res->ncols;
	row.col = cols;
	for (i = 0; i < res->nrows; i++) {
		for (c = 0; c < res->ncols && c < 64; c++)
			cols[c] = spool_dbres_text(res, i, c);
		if ((r = fn(arg, &row)) != 0)
			return r;
	}
	return SPOOL_OK;
}

/* ---- opening and migrating ------------------------------------------- */

/* The text of section version v of store.sql (malloc'd), or NULL. */
static char *
section(int v, int *nomem)
{
	char mark[32];
	const char *p, *end;
	char *s;
	int n;

	*nomem = 0;
	n = snprintf(mark, sizeof(mark), "\n-- version %d\n", v);
	if ((p = strstr(spool_store_sql, mark)) == NULL)
		return NULL;
	p += n;
	snprintf(mark, sizeof(mark), "\n-- version %d\n", v + 1);
	if ((end = strstr(p, mark)) == NULL)
		end = p + strlen(p);
	if ((s = strndup(p, (size_t)(end - p + 1))) == NULL)
		*nomem = 1;
	return s;
}

static int
latest_section(void)
{
	int v = 0, nomem;
	char *s;

	while ((s = section(v + 1, &nomem)) != NULL) {
		free(s);
		v++;
	}
	return v;
}

struct migrate {
	int target;
	int from, to;
};

static int
read_version(struct spool_store *st, int lock, int *v, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if (lock)
		r = st_q0(st, &res, err, "SELECT value FROM meta "
		    "WHERE key = 'schema_version' /*FOR UPDATE*/");
	else
		r = st_q0(st, &res, err, "SELECT value FROM meta "
		    "WHERE key = 'schema_version'");
	if (r != SPOOL_OK)
		return r;
	*v = res.nrows ? (int)spool_dbres_int(&res, 0, 0) : 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

static int
migrate_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct migrate *m = arg;
	char num[16];
	int r, v, nomem;

	/* The meta row is the lock: a second process opening a new store
	 * waits here, then finds the work done. */
	if ((r = st_q0(st, NULL, err, "INSERT INTO meta (key, value) "
	    "VALUES ('schema_version', '0') ON CONFLICT DO NOTHING")) !=
	    SPOOL_OK ||
	    (r = read_version(st, 1, &v, err)) != SPOOL_OK)
		return r;
	m->from = v;
	if (v > SPOOL_STORE_VERSION)
		return spool_fail(err, SPOOL_ERR_STORE,
		    "store schema version %d is newer than this spool's %d; "
		    "use a newer spool", v, SPOOL_STORE_VERSION);
	while (v < m->target) {
		char *sql = section(v + 1, &nomem);
		if (sql == NULL)
			return spool_fail(err, nomem ? SPOOL_ERR_NOMEM :
			    SPOOL_ERR_INTERNAL, "no schema section %d", v + 1);
		r = st->drv->script(st->db, sql, err);
		free(sql);
		if (r != SPOOL_OK) {
			spool_err_prefix(err, "migrating the store to version %d",
			    v + 1);
			return r;
		}
		v++;
	}
	snprintf(num, sizeof(num), "%d", v);
	m->to = v;
	return st_q(st, NULL, err, "UPDATE meta SET value = ? "
	    "WHERE key = 'schema_version'", DBS(num));
}

static int
open_at(struct spool_store **out, const char *url, const char *node,
    int version, spool_err *err)
{
	struct spool_store *st;
	struct migrate m;
	int r;

	if (version < 1 || version > SPOOL_STORE_VERSION ||
	    latest_section() != SPOOL_STORE_VERSION)
		return spool_fail(err, SPOOL_ERR_INTERNAL,
		    "bad store schema version %d", version);
	if (node == NULL || strlen(node) > SPOOL_NAME_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "bad node name");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (strncmp(url, "sqlite://", 9) == 0)
		st->drv = &spool_db_sqlite;
	else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		st->drv = &spool_db_pg;
	else {
		free(st);
		return spool_fail(err, SPOOL_ERR_CONFIG,
		    "store url '%s': use sqlite://PATH or postgresql://...",
		    url);
	}
	snprintf(st->node, sizeof(st->node), "%s", node);
	st->now = sys_now;
	st->sched_base = spool_now_ms() - spool_mono_ms();
	st->backoff_base = 1000;
	st->backoff_cap = 600000;
	randombytes_buf(&st->rnd, sizeof(st->rnd));
	if ((r = st->drv->open(&st->db, url, err)) != SPOOL_OK) {
		free(st);
		return r;
	}
	/* meta first, outside the migration: PostgreSQL cannot lock a row
	 * of a table that does not exist yet. */
	if ((r = st->drv->script(st->db, "CREATE TABLE IF NOT EXISTS meta ("
	    "key TEXT PRIMARY KEY, value TEXT NOT NULL)", err)) != SPOOL_OK) {
		/* two first openers on PostgreSQL: one loses the race */
		spool_err_clear(err);
		r = st->drv->script(st->db, "CREATE TABLE IF NOT EXISTS meta ("
		    "key TEXT PRIMARY KEY, value TEXT NOT NULL)", err);
	}
	if (r == SPOOL_OK) {
		int v = 0;

		/* a store at the version wanted is opened without a write
		 * transaction: a reader (spoolctl status) never waits for a
		 * writer's long transaction (an import) */
		m.target = version;
		if ((r = read_version(st, 0, &v, err)) != SPOOL_OK || v != version)
			r = st_tx(st, 1, migrate_tx, &m, err);
	}
	if (r != SPOOL_OK) {
		spool_store_close(st);
		return r;
	}
	*out = st;
	return SPOOL_OK;
}

int
spool_store_open(struct spool_store **out, const char *url,
    const char *node, spool_err *err)
{
	return open_at(out, url, node, SPOOL_STORE_VERSION, err);
}

int
spool_store_open_at(struct spool_store **out, const char *url,
    const char *node, int version, spool_err *err)
{
	return open_at(out, url, node, version, err);
}

void
spool_store_close(struct spool_store *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL)
		st->drv->close(st->db);
	free(st);
}

const char *
spool_store_backend(const struct spool_store *st)
{
	return st->drv->name;
}

const char *
spool_store_node(const struct spool_store *st)
{
	return st->node;
}

int
spool_store_version(struct spool_store *st, int *version, spool_err *err)
{
	return read_version(st, 0, version, err);
}

/* ---- ids -------------------------------------------------------------- */

int
st_find_id(struct spool_store *st, const char *table, const char *id,
    char out[SPOOL_ID_MAX], spool_err *err)
{
	static const struct {
		const char *table, *exact, *range;
	} q[] = {
		{ "request", "SELECT id FROM request WHERE id = ?",
		  "SELECT id FROM request WHERE id >= ? AND id < ? LIMIT 2" },
		{ "job", "SELECT id FROM job WHERE id = ?",
		  "SELECT id FROM job WHERE id >= ? AND id < ? LIMIT 2" },
		{ "task", "SELECT id FROM task WHERE id = ?",
		  "SELECT id FROM task WHERE id >= ? AND id < ? LIMIT 2" },
		{ "batch", "SELECT id FROM batch WHERE id = ? OR batch_id = ? "
		  "ORDER BY created LIMIT 1",
		  "SELECT id FROM batch WHERE id >= ? AND id < ? LIMIT 2" },
	};
	char hi[SPOOL_ID_MAX];
	struct spool_dbres res;
	size_t i, n = strlen(id);
	int r;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (strcmp(q[i].table, table) == 0)
			break;
	if (i == sizeof(q) / sizeof(q[0]))
		return spool_fail(err, SPOOL_ERR_INTERNAL, "no table %s", table);
	if (n == 0 || n > SPOOL_UUID_LEN)
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no %s '%s'", table,
		    id);
	if (n == SPOOL_UUID_LEN) {
		if (strcmp(table, "batch") == 0)
			r = st_q(st, &res, err, q[i].exact, DBS(id), DBS(id));
		else
			r = st_q(st, &res, err, q[i].exact, DBS(id));
	} else {
		if (n < 8)
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "'%s': give at least 8 characters of an id", id);
		memcpy(hi, id, n + 1);
		hi[n - 1]++;
		r = st_q(st, &res, err, q[i].range, DBS(id), DBS(hi));
	}
	if (r != SPOOL_OK)
		return r;
	if (res.nrows == 0)
		r = spool_fail(err, SPOOL_ERR_NOTFOUND, "no %s '%s'", table, id);
	else if (res.nrows > 1)
		r = spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' names more than one %s; give more of the id", id,
		    table);
	else
		snprintf(out, SPOOL_ID_MAX, "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	return r;
}

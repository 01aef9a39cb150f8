/*
 * store.c - opening and migrating the store; peers, sequence ledgers,
 * batches, requests, blobs and the listings spoolctl reads.
 *
 * Everything here is portable SQL over store_db.h; the backend is chosen
 * by the URL's scheme and never looked at again.  Every change is one
 * transaction (st_tx), so a crash leaves either all of it or none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fsutil.h"
#include "store_impl.h"
#include "util.h"

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
		m.target = version;
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

/* spool 0.1 kept "last seq used" in store/seq/PEER: carry it over once,
 * so a node upgraded in place never reuses a seq. */
static int
adopt_seq_files(struct spool_store *st, const char *root, spool_err *err)
{
	char dir[4096], path[4200], buf[32];
	struct dirent *e;
	DIR *d;
	int r = SPOOL_OK;

	if (snprintf(dir, sizeof(dir), "%s/store/seq", root) >=
	    (int)sizeof(dir))
		return SPOOL_OK;
	/* no opendir bookkeeping: the directory holds a handful of peers */
	snprintf(path, sizeof(path), "%s/.adopted", dir);
	if (access(dir, F_OK) != 0 || access(path, F_OK) == 0)
		return SPOOL_OK;
	if ((d = opendir(dir)) == NULL)
		return spool_fail_sys(err, "cannot open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		unsigned long long last;
		ssize_t got;
		char *end;
		int fd;

		if (!spool_node_name_ok(e->d_name))
			continue;
		if ((fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			continue;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		errno = 0;
		last = strtoull(buf, &end, 10);
		if (errno != 0 || (*end != '\n' && *end != '\0'))
			continue;
		if ((r = spool_store_seq_floor(st, e->d_name,
		    (uint64_t)last + 1, err)) != SPOOL_OK)
			break;
	}
	closedir(d);
	if (r == SPOOL_OK) {
		snprintf(path, sizeof(path), "%s/.adopted", dir);
		r = spool_write_file_atomic(path, "moved into the store\n", 21,
		    0644, err);
	}
	return r;
}

int
spool_store_open_config(struct spool_store **out,
    const struct spool_config *c, spool_err *err)
{
	struct spool_store *st;
	char *url = NULL;
	int r;

	if (strncmp(c->store_url, "sqlite://", 9) == 0 &&
	    c->store_url[9] != '/') {
		if (asprintf(&url, "sqlite://%s/%s", c->dir,
		    c->store_url + 9) < 0)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	r = spool_store_open(&st, url ? url : c->store_url, c->name, err);
	free(url);
	if (r != SPOOL_OK)
		return r;
	if ((r = adopt_seq_files(st, c->root, err)) != SPOOL_OK) {
		spool_store_close(st);
		return r;
	}
	*out = st;
	return SPOOL_OK;
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

/* ---- peers and seqs --------------------------------------------------- */

static int
ensure_peer(struct spool_store *st, const char *peer, const char *key_id,
    spool_err *err)
{
	int64_t now = spool_store_now(st);

	if (!spool_node_name_ok(peer))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' is not a node name", peer);
	return st_q(st, NULL, err, "INSERT INTO peer (name, key_id, created, "
	    "updated) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", DBS(peer),
	    DBS(key_id), DBI(now), DBI(now));
}

struct peer_arg {
	const char *peer, *key_id;
	uint64_t n;
};

static int
peer_add_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct peer_arg *a = arg;
	int r;

	if ((r = ensure_peer(st, a->peer, a->key_id, err)) != SPOOL_OK)
		return r;
	if (a->key_id == NULL)
		return SPOOL_OK;
	return st_q(st, NULL, err, "UPDATE peer SET key_id = ?, updated = ? "
	    "WHERE name = ?", DBS(a->key_id), DBI(spool_store_now(st)),
	    DBS(a->peer));
}

int
spool_store_peer_add(struct spool_store *st, const char *peer,
    const char *key_id, spool_err *err)
{
	struct peer_arg a = { peer, key_id, 0 };

	return st_tx(st, 1, peer_add_tx, &a, err);
}

static int
seq_floor_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct peer_arg *a = arg;
	int r;

	if ((r = ensure_peer(st, a->peer, NULL, err)) != SPOOL_OK)
		return r;
	return st_q(st, NULL, err, "UPDATE peer SET next_seq = ? "
	    "WHERE name = ? AND next_seq < ?", DBI(a->n), DBS(a->peer),
	    DBI(a->n));
}

int
spool_store_seq_floor(struct spool_store *st, const char *peer,
    uint64_t next, spool_err *err)
{
	struct peer_arg a = { peer, NULL, next };

	if (next > INT64_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT, "seq out of range");
	return st_tx(st, 1, seq_floor_tx, &a, err);
}

static int
batch_event(struct spool_store *st, const char *batch, const char *state,
    const char *detail, spool_err *err)
{
	char id[SPOOL_ID_MAX];

	spool_uuid7(id);
	return st_q(st, NULL, err, "INSERT INTO batch_event (id, batch, "
	    "state, time, detail) VALUES (?, ?, ?, ?, ?)", DBS(id), DBS(batch),
	    DBS(state), DBI(spool_store_now(st)), DBS(detail));
}

struct plan_arg {
	const char *peer, *batch_id;
	uint64_t seq;
};

static int
plan_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct plan_arg *a = arg;
	struct spool_dbres res;
	int64_t now = spool_store_now(st);
	int r;

	if ((r = ensure_peer(st, a->peer, NULL, err)) != SPOOL_OK)
		return r;
	if ((r = st_q(st, &res, err, "UPDATE peer SET next_seq = next_seq + 1, "
	    "updated = ? WHERE name = ? RETURNING next_seq - 1", DBI(now),
	    DBS(a->peer))) != SPOOL_OK)
		return r;
	if (res.nrows != 1) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_INTERNAL, "peer row vanished");
	}
	a->seq = (uint64_t)spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	if ((r = st_q(st, NULL, err, "INSERT INTO batch (id, batch_id, dir, "
	    "peer, seq, state, created, updated) VALUES (?, ?, 'out', ?, ?, "
	    "'planned', ?, ?)", DBS(a->batch_id), DBS(a->batch_id),
	    DBS(a->peer), DBI(a->seq), DBI(now), DBI(now))) != SPOOL_OK)
		return r;
	return batch_event(st, a->batch_id, "planned", NULL, err);
}

int
spool_store_batch_plan(struct spool_store *st, const char *peer,
    const char *batch_id, uint64_t *seq, spool_err *err)
{
	struct plan_arg a = { peer, batch_id, 0 };
	int r;

	if (!spool_uuid_ok(batch_id))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad batch id");
	if ((r = st_tx(st, 1, plan_tx, &a, err)) == SPOOL_OK)
		*seq = a.seq;
	return r;
}

/* ---- batches ---------------------------------------------------------- */

struct bstate_arg {
	const char *id, *state, *reason, *name;
	uint64_t items, bytes, tar;
	int facts;
};

static int
bstate_tx(struct spool_store *st, void *arg, spool_err *err)
{
	static const struct {
		const char *from, *to;
	} steps[] = {
		{ "planned", "written" }, { "planned", "abandoned" },
		{ "written", "exported" }, { "written", "acknowledged" },
		{ "exported", "exported" }, { "exported", "acknowledged" },
	};
	struct bstate_arg *a = arg;
	struct spool_dbres res;
	char cur[16];
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, "SELECT state FROM batch WHERE id = ? "
	    "AND dir = 'out' /*FOR UPDATE*/", DBS(a->id))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no sent batch '%s'",
		    a->id);
	}
	snprintf(cur, sizeof(cur), "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (strcmp(steps[i].from, cur) == 0 &&
		    strcmp(steps[i].to, a->state) == 0)
			break;
	if (i == sizeof(steps) / sizeof(steps[0]))
		return spool_fail(err, SPOOL_ERR_STATE,
		    "batch %s is %s, cannot become %s", a->id, cur, a->state);
	if (a->facts)
		r = st_q(st, NULL, err, "UPDATE batch SET state = ?, name = ?, "
		    "items = ?, bytes = ?, tar = ?, updated = ? WHERE id = ?",
		    DBS(a->state), DBS(a->name), DBI(a->items), DBI(a->bytes),
		    DBI(a->tar), DBI(spool_store_now(st)), DBS(a->id));
	else
		r = st_q(st, NULL, err, "UPDATE batch SET state = ?, reason = ?, "
		    "updated = ? WHERE id = ?", DBS(a->state), DBS(a->reason),
		    DBI(spool_store_now(st)), DBS(a->id));
	if (r != SPOOL_OK)
		return r;
	return batch_event(st, a->id, a->state, a->reason, err);
}

int
spool_store_batch_written(struct spool_store *st, const char *batch_id,
    const char *name, uint64_t items, uint64_t bytes, uint64_t tar,
    spool_err *err)
{
	struct bstate_arg a = { batch_id, "written", NULL, name, items, bytes,
		tar, 1 };

	return st_tx(st, 1, bstate_tx, &a, err);
}

int
spool_store_batch_set_state(struct spool_store *st, const char *batch_id,
    const char *state, const char *reason, spool_err *err)
{
	struct bstate_arg a = { batch_id, state, reason, NULL, 0, 0, 0, 0 };

	return st_tx(st, 1, bstate_tx, &a, err);
}

struct recv_arg {
	const char *peer, *batch_id, *name, *reason;
	uint64_t seq, items, bytes, tar;
	int duplicate;
	char id[SPOOL_ID_MAX];
};

/* Move peer's contiguous mark over every seq seen right above it. */
static int
advance_mark(struct spool_store *st, const char *peer, spool_err *err)
{
	struct spool_dbres res;
	int64_t mark;
	int r;

	if ((r = st_q(st, &res, err, "SELECT recv_contiguous FROM peer "
	    "WHERE name = ?", DBS(peer))) != SPOOL_OK)
		return r;
	mark = spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	for (;;) {
		/* a run of consecutive seqs above the mark, 1000 at a time */
		if ((r = st_q(st, &res, err, "SELECT seq FROM seen WHERE peer = ? "
		    "AND seq > ? ORDER BY seq LIMIT 1000", DBS(peer),
		    DBI(mark))) != SPOOL_OK)
			return r;
		size_t i, n = res.nrows;
		for (i = 0; i < n; i++) {
			if (spool_dbres_int(&res, i, 0) != mark + 1)
				break;
			mark++;
		}
		spool_dbres_release(&res);
		if (i < n || n < 1000)
			break;
	}
	return st_q(st, NULL, err, "UPDATE peer SET recv_contiguous = ?, "
	    "recv_high = CASE WHEN recv_high < ? THEN ? ELSE recv_high END, "
	    "updated = ? WHERE name = ?", DBI(mark), DBI(mark), DBI(mark),
	    DBI(spool_store_now(st)), DBS(peer));
}

static int
recv_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct recv_arg *a = arg;
	struct spool_dbres res;
	int64_t now = spool_store_now(st);
	const char *why = NULL;
	int r;

	if ((r = ensure_peer(st, a->peer, NULL, err)) != SPOOL_OK)
		return r;
	/* lock the peer's ledger: two importers of one batch serialize */
	if ((r = st_q(st, &res, err, "SELECT recv_contiguous FROM peer "
	    "WHERE name = ? /*FOR UPDATE*/", DBS(a->peer))) != SPOOL_OK)
		return r;
	if ((uint64_t)spool_dbres_int(&res, 0, 0) >= a->seq)
		why = "seq already received";
	spool_dbres_release(&res);
	if (why == NULL) {
		if ((r = st_q(st, &res, err, "SELECT batch_id FROM seen WHERE "
		    "peer = ? AND seq = ?", DBS(a->peer), DBI(a->seq))) !=
		    SPOOL_OK)
			return r;
		if (res.nrows > 0)
			why = strcmp(spool_dbres_text(&res, 0, 0),
			    a->batch_id) == 0 ? "batch already received" :
			    "seq already received with another batch id";
		spool_dbres_release(&res);
	}
	spool_uuid7(a->id);
	a->duplicate = why != NULL;
	if (why == NULL) {
		/* the signed id is the row id, unless (forged or not) it is
		 * already taken by another row */
		if ((r = st_q(st, &res, err, "SELECT 1 FROM batch WHERE id = ?",
		    DBS(a->batch_id))) != SPOOL_OK)
			return r;
		if (res.nrows == 0)
			snprintf(a->id, sizeof(a->id), "%s", a->batch_id);
		spool_dbres_release(&res);
		if ((r = st_q(st, NULL, err, "INSERT INTO seen (peer, seq, "
		    "batch_id, received) VALUES (?, ?, ?, ?)", DBS(a->peer),
		    DBI(a->seq), DBS(a->batch_id), DBI(now))) != SPOOL_OK)
			return r;
	}
	if ((r = st_q(st, NULL, err, "INSERT INTO batch (id, batch_id, dir, "
	    "peer, seq, items, bytes, tar, name, state, reason, created, "
	    "updated) VALUES (?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    DBS(a->id), DBS(a->batch_id), DBS(a->peer), DBI(a->seq),
	    DBI(a->items), DBI(a->bytes), DBI(a->tar), DBS(a->name),
	    DBS(why ? "duplicate" : "received"), DBS(why), DBI(now),
	    DBI(now))) != SPOOL_OK ||
	    (r = batch_event(st, a->id, why ? "duplicate" : "received", why,
	    err)) != SPOOL_OK)
		return r;
	if (why != NULL)
		return SPOOL_OK;
	if ((r = advance_mark(st, a->peer, err)) != SPOOL_OK)
		return r;
	/* a seq received above a gap is the highest known to exist */
	return st_q(st, NULL, err, "UPDATE peer SET recv_high = ? WHERE "
	    "name = ? AND recv_high < ?", DBI(a->seq), DBS(a->peer),
	    DBI(a->seq));
}

int
spool_store_batch_received(struct spool_store *st, const char *peer,
    uint64_t seq, const char *batch_id, const char *name, uint64_t items,
    uint64_t bytes, uint64_t tar, int *duplicate, char id_out[SPOOL_ID_MAX],
    spool_err *err)
{
	struct recv_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.peer = peer;
	a.seq = seq;
	a.batch_id = batch_id;
	a.name = name;
	a.items = items;
	a.bytes = bytes;
	a.tar = tar;
	if (seq == 0 || seq > INT64_MAX || !spool_uuid_ok(batch_id))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad batch facts");
	if ((r = st_tx(st, 1, recv_tx, &a, err)) != SPOOL_OK)
		return r;
	*duplicate = a.duplicate;
	if (id_out != NULL)
		memcpy(id_out, a.id, SPOOL_ID_MAX);
	return SPOOL_OK;
}

static int
quarantine_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct recv_arg *a = arg;
	int64_t now = spool_store_now(st);
	int r;

	spool_uuid7(a->id);
	if ((r = st_q(st, NULL, err, "INSERT INTO batch (id, batch_id, dir, "
	    "peer, seq, name, state, reason, created, updated) VALUES (?, ?, "
	    "'in', ?, ?, ?, 'quarantined', ?, ?, ?)", DBS(a->id),
	    DBS(a->batch_id), DBS(a->peer ? a->peer : ""),
	    a->seq ? DBI(a->seq) : DBNULL, DBS(a->name), DBS(a->reason),
	    DBI(now), DBI(now))) != SPOOL_OK)
		return r;
	return batch_event(st, a->id, "quarantined", a->reason, err);
}

int
spool_store_batch_quarantined(struct spool_store *st, const char *name,
    const char *peer, uint64_t seq, const char *batch_id, const char *reason,
    char id_out[SPOOL_ID_MAX], spool_err *err)
{
	struct recv_arg a;
	int r;

	memset(&a, 0, sizeof(a));
	a.name = name;
	a.peer = peer;
	a.seq = seq > INT64_MAX ? 0 : seq;
	a.batch_id = batch_id;
	a.reason = reason;
	if ((r = st_tx(st, 1, quarantine_tx, &a, err)) == SPOOL_OK &&
	    id_out != NULL)
		memcpy(id_out, a.id, SPOOL_ID_MAX);
	return r;
}

static int
sent_up_to_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct peer_arg *a = arg;
	int r;

	if ((r = ensure_peer(st, a->peer, NULL, err)) != SPOOL_OK)
		return r;
	return st_q(st, NULL, err, "UPDATE peer SET recv_high = ?, updated = ? "
	    "WHERE name = ? AND recv_high < ?", DBI(a->n),
	    DBI(spool_store_now(st)), DBS(a->peer), DBI(a->n));
}

int
spool_store_peer_sent_up_to(struct spool_store *st, const char *peer,
    uint64_t seq, spool_err *err)
{
	struct peer_arg a = { peer, NULL, seq };

	if (seq > INT64_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT, "seq out of range");
	return st_tx(st, 1, sent_up_to_tx, &a, err);
}

int
spool_store_gaps(struct spool_store *st, const char *peer,
    uint64_t **missing, size_t *n, size_t max, int *more, spool_err *err)
{
	struct spool_dbres res;
	uint64_t mark, high, s, *out = NULL;
	size_t k = 0, row = 0;
	int r;

	*more = 0;
	if ((r = st_q(st, &res, err, "SELECT recv_contiguous, recv_high FROM "
	    "peer WHERE name = ?", DBS(peer))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		*missing = NULL;
		*n = 0;
		return SPOOL_OK;
	}
	mark = (uint64_t)spool_dbres_int(&res, 0, 0);
	high = (uint64_t)spool_dbres_int(&res, 0, 1);
	spool_dbres_release(&res);
	if ((r = st_q(st, &res, err, "SELECT max(seq) FROM seen WHERE "
	    "peer = ?", DBS(peer))) != SPOOL_OK)
		return r;
	if ((uint64_t)spool_dbres_int(&res, 0, 0) > high)
		high = (uint64_t)spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	if (high <= mark) {
		*missing = NULL;
		*n = 0;
		return SPOOL_OK;
	}
	if ((r = st_q(st, &res, err, "SELECT seq FROM seen WHERE peer = ? AND "
	    "seq > ? ORDER BY seq LIMIT ?", DBS(peer), DBI(mark),
	    DBI(max + 1))) != SPOOL_OK)
		return r;
	if (max > 0 && (out = malloc(max * sizeof(*out))) == NULL) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	for (s = mark + 1; s <= high; s++) {
		while (row < res.nrows &&
		    (uint64_t)spool_dbres_int(&res, row, 0) < s)
			row++;
		if (row < res.nrows &&
		    (uint64_t)spool_dbres_int(&res, row, 0) == s)
			continue;
		if (row >= res.nrows && res.nrows > max) {
			/* past what we fetched: cannot tell, stop */
			*more = 1;
			break;
		}
		if (k == max) {
			*more = 1;
			break;
		}
		out[k++] = s;
	}
	spool_dbres_release(&res);
	if (k == 0) {
		free(out);
		out = NULL;
	}
	*missing = out;
	*n = k;
	return SPOOL_OK;
}

struct prune_arg {
	int64_t cutoff;
	uint64_t n;
};

static int
seen_prune_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct prune_arg *a = arg;
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "DELETE FROM seen WHERE received < ? AND "
	    "seq <= (SELECT recv_contiguous FROM peer WHERE peer.name = "
	    "seen.peer)", DBI(a->cutoff))) != SPOOL_OK)
		return r;
	a->n = (uint64_t)res.changes;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_seen_prune(struct spool_store *st, int64_t cutoff,
    uint64_t *pruned, spool_err *err)
{
	struct prune_arg a = { cutoff, 0 };
	int r;

	if ((r = st_tx(st, 1, seen_prune_tx, &a, err)) == SPOOL_OK &&
	    pruned != NULL)
		*pruned = a.n;
	return r;
}

#define BATCH_COLS "id, batch_id, dir, peer, seq, items, bytes, tar, name, " \
	"state, reason, created, updated"

void
spool_batch_rec_release(struct spool_batch_rec *b)
{
	if (b == NULL)
		return;
	free(b->name);
	free(b->reason);
	memset(b, 0, sizeof(*b));
}

int
spool_store_batch_get(struct spool_store *st, const char *id,
    struct spool_batch_rec *out, spool_err *err)
{
	struct spool_batch_rec b;
	struct spool_dbres res;
	char rid[SPOOL_ID_MAX];
	const char *s;
	int r;

	if ((r = st_find_id(st, "batch", id, rid, err)) != SPOOL_OK)
		return r;
	if ((r = st_q(st, &res, err, "SELECT " BATCH_COLS " FROM batch "
	    "WHERE id = ?", DBS(rid))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no batch '%s'", id);
	}
	memset(&b, 0, sizeof(b));
#define CP(f, c) snprintf(b.f, sizeof(b.f), "%s", \
	(s = spool_dbres_text(&res, 0, c)) ? s : "")
	CP(id, 0);
	CP(batch_id, 1);
	CP(dir, 2);
	CP(peer, 3);
	CP(state, 9);
#undef CP
	b.seq = (uint64_t)spool_dbres_int(&res, 0, 4);
	b.items = (uint64_t)spool_dbres_int(&res, 0, 5);
	b.bytes = (uint64_t)spool_dbres_int(&res, 0, 6);
	b.tar = (uint64_t)spool_dbres_int(&res, 0, 7);
	b.created = spool_dbres_int(&res, 0, 11);
	b.updated = spool_dbres_int(&res, 0, 12);
	if (((s = spool_dbres_text(&res, 0, 8)) && !(b.name = strdup(s))) ||
	    ((s = spool_dbres_text(&res, 0, 10)) && !(b.reason = strdup(s)))) {
		spool_batch_rec_release(&b);
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	spool_dbres_release(&res);
	*out = b;
	return SPOOL_OK;
}

/* ---- requests --------------------------------------------------------- */

static const char *const submit_states[] = { "accepted", "batched",
	"exported", "acknowledged", "completed", "failed", "expired",
	"cancelled", "rejected", NULL };
static const char *const process_states[] = { "imported", "queued",
	"running", "succeeded", "failed", "expired", "cancelled", NULL };

static int
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int
final_state(const char *s)
{
	static const char *const fin[] = { "completed", "failed", "expired",
		"cancelled", "rejected", "succeeded", NULL };
	return in_list(s, fin);
}

/* Steps a request may take: forward along its side's list (skipping is
 * allowed: a result may arrive before the ack), never out of a final
 * state, never back. */
static int
step_ok(const char *side, const char *from, const char *to)
{
	const char *const *list = strcmp(side, "submit") == 0 ? submit_states :
	    process_states;
	int i, f = -1, t = -1;

	for (i = 0; list[i]; i++) {
		if (strcmp(list[i], from) == 0)
			f = i;
		if (strcmp(list[i], to) == 0)
			t = i;
	}
	if (f < 0 || t < 0 || final_state(from))
		return 0;
	if (strcmp(to, "rejected") == 0)
		return strcmp(from, "accepted") == 0;
	return t > f;
}

static int
request_event(struct spool_store *st, const char *req, const char *state,
    const char *detail, int64_t time, spool_err *err)
{
	char id[SPOOL_ID_MAX];

	spool_uuid7(id);
	return st_q(st, NULL, err, "INSERT INTO request_event (id, request, "
	    "state, time, detail) VALUES (?, ?, ?, ?, ?)", DBS(id), DBS(req),
	    DBS(state), DBI(time), DBS(detail));
}

static int
request_add_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct spool_request *q = arg;
	int r;

	r = st_q(st, NULL, err, "INSERT INTO request (id, side, type, usr, "
	    "folder, name, peer, priority, deadline, state, error, size, hash, "
	    "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?)", DBS(q->id), DBS(q->side), DBS(q->type), DBS(q->user),
	    DBS(q->folder), DBS(q->name), DBS(q->peer), DBI(q->priority),
	    q->deadline ? DBI(q->deadline) : DBNULL, DBS(q->state),
	    DBS(q->error), q->size >= 0 ? DBI(q->size) : DBNULL, DBS(q->hash),
	    DBI(q->created), DBI(q->updated));
	if (r != SPOOL_OK)
		return r;
	return request_event(st, q->id, q->state, q->error, q->created, err);
}

int
spool_store_request_add(struct spool_store *st, struct spool_request *r,
    spool_err *err)
{
	struct spool_request q = *r;
	int rc;

	if (q.side == NULL || q.type == NULL || q.user == NULL ||
	    q.name == NULL || q.state == NULL ||
	    !in_list(q.state, strcmp(q.side, "submit") == 0 ? submit_states :
	    strcmp(q.side, "process") == 0 ? process_states :
	    (const char *const[]){ NULL }))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad request");
	if (q.id[0] == '\0')
		spool_uuid7(q.id);
	else if (!spool_uuid_ok(q.id))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad request id");
	if (q.created == 0)
		q.created = spool_store_now(st);
	q.updated = q.created;
	if ((rc = st_tx(st, 1, request_add_tx, &q, err)) != SPOOL_OK) {
		if (rc == SPOOL_ERR_STORE &&
		    spool_store_get_row(st, "request", q.id, NULL, NULL,
		    NULL) == SPOOL_OK)
			return spool_fail(err, SPOOL_ERR_EXISTS,
			    "request %s already exists", q.id);
		return rc;
	}
	memcpy(r->id, q.id, sizeof(r->id));
	r->created = q.created;
	r->updated = q.updated;
	return SPOOL_OK;
}

struct rstate_arg {
	const char *id, *state, *detail;
};

static int
rstate_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct rstate_arg *a = arg;
	struct spool_dbres res;
	char side[16], cur[16];
	int64_t now = spool_store_now(st);
	int r, keep;

	if ((r = st_q(st, &res, err, "SELECT side, state FROM request WHERE "
	    "id = ? /*FOR UPDATE*/", DBS(a->id))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no request '%s'",
		    a->id);
	}
	snprintf(side, sizeof(side), "%s", spool_dbres_text(&res, 0, 0));
	snprintf(cur, sizeof(cur), "%s", spool_dbres_text(&res, 0, 1));
	spool_dbres_release(&res);
	if (!step_ok(side, cur, a->state))
		return spool_fail(err, SPOOL_ERR_STATE,
		    "request %s is %s, cannot become %s", a->id, cur, a->state);
	keep = strcmp(a->state, "failed") == 0 ||
	    strcmp(a->state, "expired") == 0 ||
	    strcmp(a->state, "cancelled") == 0 ||
	    strcmp(a->state, "rejected") == 0;
	if (keep)
		r = st_q(st, NULL, err, "UPDATE request SET state = ?, error = ?, "
		    "updated = ? WHERE id = ?", DBS(a->state), DBS(a->detail),
		    DBI(now), DBS(a->id));
	else
		r = st_q(st, NULL, err, "UPDATE request SET state = ?, "
		    "updated = ? WHERE id = ?", DBS(a->state), DBI(now),
		    DBS(a->id));
	if (r != SPOOL_OK)
		return r;
	return request_event(st, a->id, a->state, a->detail, now, err);
}

int
spool_store_request_set_state(struct spool_store *st, const char *id,
    const char *state, const char *detail, spool_err *err)
{
	struct rstate_arg a = { id, state, detail };

	return st_tx(st, 1, rstate_tx, &a, err);
}

/* ---- blobs ------------------------------------------------------------ */

int
spool_store_blob_add(struct spool_store *st, const char *hash,
    uint64_t size, const char *path, spool_err *err)
{
	return st_q(st, NULL, err, "INSERT INTO blob (hash, size, path, "
	    "created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", DBS(hash),
	    DBI(size), DBS(path), DBI(spool_store_now(st)));
}

int
spool_store_blob_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err)
{
	return st_q(st, NULL, err, "INSERT INTO blob_ref (hash, owner, role) "
	    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", DBS(hash), DBS(owner),
	    DBS(role));
}

int
spool_store_blob_unref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM blob_ref WHERE hash = ? AND "
	    "owner = ? AND role = ?", DBS(hash), DBS(owner), DBS(role));
}

int
spool_store_blob_orphans(struct spool_store *st,
    int (*fn)(void *, const char *, const char *), void *arg, spool_err *err)
{
	struct spool_dbres res;
	size_t i;
	int r;

	if ((r = st_q0(st, &res, err, "SELECT hash, path FROM blob WHERE NOT "
	    "EXISTS (SELECT 1 FROM blob_ref WHERE blob_ref.hash = blob.hash) "
	    "ORDER BY hash")) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++)
		r = fn(arg, spool_dbres_text(&res, i, 0),
		    spool_dbres_text(&res, i, 1));
	spool_dbres_release(&res);
	return r;
}

int
spool_store_blob_forget(struct spool_store *st, const char *hash,
    spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM blob WHERE hash = ? AND NOT "
	    "EXISTS (SELECT 1 FROM blob_ref WHERE blob_ref.hash = ?)",
	    DBS(hash), DBS(hash));
}

/* ---- listings --------------------------------------------------------- */

#define REQ_COLS "id, side, type, usr, folder, name, peer, priority, " \
	"deadline, state, error, size, hash, created, updated"
#define JOB_COLS "id, type, request, priority, deadline, state, stage, " \
	"nstages, max_attempts, error, created, updated, finished, " \
	"(SELECT count(*) FROM task WHERE task.job = job.id), " \
	"(SELECT count(*) FROM task WHERE task.job = job.id AND " \
	"task.state = 'done')"
#define TASK_COLS "id, job, stage, idx, type, state, priority, created, " \
	"run_at, attempt, max_attempts, lease_owner, lease_until, input, " \
	"result, error, started, finished"

static int
rows_out(int r, struct spool_dbres *res,
    int (*fn)(void *, const struct spool_store_row *), void *arg)
{
	if (r != SPOOL_OK)
		return r;
	r = st_rows(res, fn, arg);
	spool_dbres_release(res);
	return r;
}

int
spool_store_list_requests(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if (limit == 0)
		limit = 1000;
	if (state != NULL)
		r = st_q(st, &res, err, "SELECT " REQ_COLS " FROM request WHERE "
		    "state = ? ORDER BY created DESC, id DESC LIMIT ?",
		    DBS(state), DBI(limit));
	else
		r = st_q(st, &res, err, "SELECT " REQ_COLS " FROM request "
		    "ORDER BY created DESC, id DESC LIMIT ?", DBI(limit));
	return rows_out(r, &res, fn, arg);
}

int
spool_store_list_batches(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	if (limit == 0)
		limit = 1000;
	return rows_out(st_q(st, &res, err, "SELECT " BATCH_COLS " FROM batch "
	    "ORDER BY created DESC, id DESC LIMIT ?", DBI(limit)), &res, fn,
	    arg);
}

int
spool_store_list_jobs(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if (limit == 0)
		limit = 1000;
	if (state != NULL)
		r = st_q(st, &res, err, "SELECT " JOB_COLS " FROM job WHERE "
		    "state = ? ORDER BY created DESC, id DESC LIMIT ?",
		    DBS(state), DBI(limit));
	else
		r = st_q(st, &res, err, "SELECT " JOB_COLS " FROM job "
		    "ORDER BY created DESC, id DESC LIMIT ?", DBI(limit));
	return rows_out(r, &res, fn, arg);
}

int
spool_store_history(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if (strcmp(kind, "request") == 0)
		r = st_q(st, &res, err, "SELECT state, time, detail FROM "
		    "request_event WHERE request = ? ORDER BY time, id", DBS(id));
	else if (strcmp(kind, "batch") == 0)
		r = st_q(st, &res, err, "SELECT state, time, detail FROM "
		    "batch_event WHERE batch = ? ORDER BY time, id", DBS(id));
	else if (strcmp(kind, "task") == 0)
		r = st_q(st, &res, err, "SELECT event, time, detail, attempt, "
		    "worker, task FROM task_event WHERE task = ? ORDER BY time, "
		    "id", DBS(id));
	else if (strcmp(kind, "job") == 0)
		r = st_q(st, &res, err, "SELECT e.event, e.time, e.detail, "
		    "e.attempt, e.worker, e.task FROM task_event e JOIN task t "
		    "ON t.id = e.task WHERE t.job = ? ORDER BY e.time, e.id",
		    DBS(id));
	else
		return spool_fail(err, SPOOL_ERR_USAGE, "no history of '%s'",
		    kind);
	return rows_out(r, &res, fn, arg);
}

int
spool_store_get_row(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	char rid[SPOOL_ID_MAX];
	struct spool_dbres res;
	int r;

	if ((r = st_find_id(st, kind, id, rid, err)) != SPOOL_OK)
		return r;
	if (fn == NULL)
		return SPOOL_OK;
	if (strcmp(kind, "request") == 0)
		r = st_q(st, &res, err, "SELECT " REQ_COLS " FROM request "
		    "WHERE id = ?", DBS(rid));
	else if (strcmp(kind, "job") == 0)
		r = st_q(st, &res, err, "SELECT " JOB_COLS " FROM job "
		    "WHERE id = ?", DBS(rid));
	else if (strcmp(kind, "task") == 0)
		r = st_q(st, &res, err, "SELECT " TASK_COLS " FROM task "
		    "WHERE id = ?", DBS(rid));
	else
		r = st_q(st, &res, err, "SELECT " BATCH_COLS " FROM batch "
		    "WHERE id = ?", DBS(rid));
	return rows_out(r, &res, fn, arg);
}

int
spool_store_job_tasks(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return rows_out(st_q(st, &res, err, "SELECT " TASK_COLS " FROM task "
	    "WHERE job = ? ORDER BY stage, idx", DBS(job)), &res, fn, arg);
}

int
spool_store_list_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return rows_out(st_q0(st, &res, err, "SELECT name, key_id, next_seq, "
	    "recv_contiguous, recv_high FROM peer ORDER BY name"), &res, fn,
	    arg);
}

/* ---- more reading for spoolctl and tests ------------------------------ */

int
spool_store_job_stages(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return rows_out(st_q(st, &res, err, "SELECT idx, name, state, total, "
	    "done FROM stage WHERE job = ? ORDER BY idx", DBS(job)), &res, fn,
	    arg);
}

int
spool_store_lineage_events(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;

	if (limit == 0)
		limit = 1000;
	return rows_out(st_q(st, &res, err, "SELECT e.id, e.event, e.time, "
	    "e.node, e.usr, e.batch, io.role, io.ref FROM lineage_event e "
	    "LEFT JOIN lineage_io io ON io.event = e.id WHERE e.id IN "
	    "(SELECT id FROM lineage_event WHERE time >= ? ORDER BY time, id "
	    "LIMIT ?) ORDER BY e.time, e.id, io.role, io.ref", DBI(since),
	    DBI(limit)), &res, fn, arg);
}

int
spool_store_lineage_entities(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;

	if (limit == 0)
		limit = 1000;
	return rows_out(st_q(st, &res, err, "SELECT ref, kind, name, hash, "
	    "size, node, created FROM lineage_entity WHERE created >= ? "
	    "ORDER BY created, ref LIMIT ?", DBI(since), DBI(limit)), &res, fn,
	    arg);
}

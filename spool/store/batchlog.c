/*
 * batchlog.c - peers and their sequence ledgers, batches sent and
 * received, the ledger of seen batches that refuses replays.
 *
 * Every seq taken has a batch row (planned, then written or abandoned);
 * a received batch is new or a duplicate by the ledger alone, in the
 * transaction that records it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/store/batchlog.h"
#include "spool/store/db.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

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
	uint64_t want; /* 0: any */
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
	if (a->want != 0) {
		/* only that seq: nothing is taken when it is not the next */
		if ((r = st_q(st, &res, err, "SELECT next_seq FROM peer WHERE "
		    "name = ?", DBS(a->peer))) != SPOOL_OK)
			return r;
		a->seq = res.nrows == 1 ? (uint64_t)spool_dbres_int(&res, 0,
		    0) : 0;
		spool_dbres_release(&res);
		if (a->seq != a->want)
			return spool_fail(err, SPOOL_ERR_STATE, "the next seq "
			    "to '%s' is %llu, not %llu", a->peer,
			    (unsigned long long)a->seq,
			    (unsigned long long)a->want);
	}
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
spool_store_batch_plan_seq(struct spool_store *st, const char *peer,
    const char *batch_id, uint64_t want, uint64_t *seq, spool_err *err)
{
	struct plan_arg a = { peer, batch_id, 0, want };
	int r;

	if (!spool_uuid_ok(batch_id))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad batch id");
	if ((r = st_tx(st, 1, plan_tx, &a, err)) == SPOOL_OK)
		*seq = a.seq;
	return r;
}

int
spool_store_peer_next_seq(struct spool_store *st, const char *peer,
    uint64_t *next, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT next_seq FROM peer WHERE name = "
	    "?", DBS(peer))) != SPOOL_OK)
		return r;
	*next = res.nrows == 1 ? (uint64_t)spool_dbres_int(&res, 0, 0) : 1;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_batch_plan(struct spool_store *st, const char *peer,
    const char *batch_id, uint64_t *seq, spool_err *err)
{
	return spool_store_batch_plan_seq(st, peer, batch_id, 0, seq, err);
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
	uint64_t mark;
	int r;

	if ((r = ensure_peer(st, a->peer, NULL, err)) != SPOOL_OK)
		return r;
	/* lock the peer's ledger: two importers of one batch serialize */
	if ((r = st_q(st, &res, err, "SELECT recv_contiguous FROM peer "
	    "WHERE name = ? /*FOR UPDATE*/", DBS(a->peer))) != SPOOL_OK)
		return r;
	mark = (uint64_t)spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	/* the record of seen batches first, below the mark too: the same
	 * seq with another id is a conflict, whatever the mark says */
	if ((r = st_q(st, &res, err, "SELECT batch_id FROM seen WHERE "
	    "peer = ? AND seq = ?", DBS(a->peer), DBI(a->seq))) != SPOOL_OK)
		return r;
	if (res.nrows > 0) {
		if (strcmp(spool_dbres_text(&res, 0, 0), a->batch_id) != 0) {
			spool_dbres_release(&res);
			a->duplicate = 2; /* the caller quarantines it */
			return SPOOL_OK;
		}
		why = "batch already received";
	} else if (mark >= a->seq)
		why = "seq already received";
	spool_dbres_release(&res);
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

int
spool_store_last_batch(struct spool_store *st, const char *peer,
    const char *dir, int64_t *ms, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT max(created) FROM batch WHERE "
	    "peer = ? AND dir = ?", DBS(peer), DBS(dir))) != SPOOL_OK)
		return r;
	*ms = spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_batch_seen(struct spool_store *st, const char *peer,
    uint64_t seq, int *seen, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT (SELECT count(*) FROM seen WHERE "
	    "peer = ? AND seq = ?), (SELECT count(*) FROM peer WHERE name = ? "
	    "AND recv_contiguous >= ?)", DBS(peer), DBI(seq), DBS(peer),
	    DBI(seq))) != SPOOL_OK)
		return r;
	*seen = spool_dbres_int(&res, 0, 0) > 0 || spool_dbres_int(&res, 0, 1) >
	    0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

/*
 * queue.c - what the daemon's flows keep in the store: files claimed
 * by intake, the outbox of manifest lines waiting for a batch, the
 * batches that carry them (written, exported, acknowledged), acks, and
 * parts of large files on their way in.
 *
 * The outbox is the spool discipline's queue file: a line is added in
 * the transaction that makes it (intake, a finished job), a batch is
 * planned for some lines in one transaction (seq taken, lines assigned),
 * written to out/, then recorded as written.  A crash between planning
 * and recording leaves a 'planned' batch whose lines say exactly what to
 * write again under the same seq.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/format/pair.h"
#include "spool/store/batchlog.h"
#include "spool/store/db.h"
#include "spool/store/lineage.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

/* ---- intake ----------------------------------------------------------- */

int
spool_store_intake_add(struct spool_store *st, const char *path,
    const char *request, const char *ino, spool_err *err)
{
	/* a row for the same path is stale: the claim's no-replace rename
	 * proves the file it named is gone */
	return st_q(st, NULL, err, "INSERT INTO intake (path, request, ino, "
	    "created) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
	    "request = excluded.request, ino = excluded.ino, created = "
	    "excluded.created", DBS(path), DBS(request), DBS(ino),
	    DBI(spool_store_now(st)));
}

int
spool_store_intake_done(struct spool_store *st, const char *path,
    spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM intake WHERE path = ?",
	    DBS(path));
}

int
spool_store_intake_get(struct spool_store *st, const char *path,
    char request[SPOOL_ID_MAX], char ino[64], spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT request, ino FROM intake WHERE "
	    "path = ?", DBS(path))) != SPOOL_OK)
		return r;
	if (res.nrows == 0)
		r = SPOOL_ERR_NOTFOUND;
	else {
		snprintf(request, SPOOL_ID_MAX, "%s",
		    spool_dbres_text(&res, 0, 0));
		snprintf(ino, 64, "%s", spool_dbres_text(&res, 0, 1));
	}
	spool_dbres_release(&res);
	return r;
}

/* ---- the outbox ------------------------------------------------------- */

int
spool_store_outbox_add(struct spool_store *st, struct spool_outbox_item *o,
    spool_err *err)
{
	int r;

	if (o->id[0] == '\0')
		spool_uuid7(o->id);
	/* when the line began to wait, on the schedule's clock: max_age
	 * counts from it, whatever the wall clock does */
	if (o->created == 0)
		o->created = spool_store_sched(st);
	if ((r = st_q(st, NULL, err, "INSERT INTO outbox (id, peer, kind, "
	    "request, priority, created, ord, size, item, batch) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?)", DBS(o->id), DBS(o->peer), DBS(o->kind),
	    DBS(o->request), DBI(o->priority), DBI(o->created), DBI(o->ord),
	    DBI(o->size), DBS(o->item), DBS(o->batch))) != SPOOL_OK)
		return r;
	/* a result line answers its request (spool_store_unanswered) */
	if (strcmp(o->kind, "result") != 0)
		return SPOOL_OK;
	return st_q(st, NULL, err, "UPDATE request SET answered = ? WHERE "
	    "id = ? AND side = 'process'", DBI(spool_store_now(st)),
	    DBS(o->request));
}

#define OUTBOX_COLS "id, kind, request, priority, created, ord, size, item"

int
spool_store_outbox_pending(struct spool_store *st, const char *peer,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q(st, &res, err, "SELECT " OUTBOX_COLS " FROM outbox "
	    "WHERE peer = ? AND batch IS NULL ORDER BY priority DESC, created, "
	    "ord, id LIMIT ?", DBS(peer), DBI(limit));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_outbox_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* peer, pending lines, oldest created, their payload bytes */
	r = st_q0(st, &res, err, "SELECT peer, count(*), min(created), "
	    "coalesce(sum(size), 0) FROM outbox WHERE batch IS NULL "
	    "GROUP BY peer ORDER BY peer");
	return st_rows_out(r, &res, fn, arg);
}

/* Every request line of batch: request id and user. */
static int
batch_requests(struct spool_store *st, const char *batch_id,
    struct spool_dbres *res, spool_err *err)
{
	return st_q(st, res, err, "SELECT o.request, r.usr, o.kind, o.id "
	    "FROM outbox o LEFT JOIN request r ON r.id = o.request "
	    "WHERE o.batch = ? ORDER BY o.priority DESC, o.created, o.ord, o.id",
	    DBS(batch_id));
}

struct oplan_arg {
	const char *peer, *batch_id;
	const char *const *ids;
	size_t n;
	uint64_t seq;
};

static int
oplan_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct oplan_arg *a = arg;
	struct spool_dbres res;
	char bref[SPOOL_REF_MAX], ref[SPOOL_REF_MAX];
	size_t i;
	int r;

	char name[128];

	if ((r = spool_store_batch_plan(st, a->peer, a->batch_id, &a->seq,
	    err)) != SPOOL_OK)
		return r;
	/* the daemon's batches have their name from the start: recovery
	 * knows them from an offline pack's, which names its own file */
	snprintf(name, sizeof(name), "%s-%s-%010llu.batch", st->node, a->peer,
	    (unsigned long long)a->seq);
	if ((r = st_q(st, NULL, err, "UPDATE batch SET name = ? WHERE id = ?",
	    DBS(name), DBS(a->batch_id))) != SPOOL_OK)
		return r;
	for (i = 0; i < a->n; i++) {
		if ((r = st_q(st, &res, err, "UPDATE outbox SET batch = ? "
		    "WHERE id = ? AND peer = ? AND batch IS NULL", DBS(a->batch_id),
		    DBS(a->ids[i]), DBS(a->peer))) != SPOOL_OK)
			return r;
		if (res.changes != 1) {
			spool_dbres_release(&res);
			return spool_fail(err, SPOOL_ERR_STATE, "outbox line %s "
			    "is no longer pending", a->ids[i]);
		}
		spool_dbres_release(&res);
	}
	/* lineage "batched" now, not once written: the batch (its id and
	 * name are fixed from here, and a crash writes it again the same)
	 * carries each request's events up to this one */
	snprintf(bref, sizeof(bref), "batch:%s", a->batch_id);
	if ((r = spool_lineage_entity(st, bref, name, NULL, -1, err)) !=
	    SPOOL_OK || (r = batch_requests(st, a->batch_id, &res, err)) !=
	    SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		if (strcmp(spool_dbres_text(&res, i, 2), "request") != 0)
			continue;
		snprintf(ref, sizeof(ref), "request:%s",
		    spool_dbres_text(&res, i, 0));
		r = spool_lineage_link(st, "batched", 0,
		    spool_dbres_text(&res, i, 1), a->batch_id,
		    (const char *[]){ ref }, 1, (const char *[]){ bref }, 1, err);
	}
	spool_dbres_release(&res);
	return r;
}

int
spool_store_outbox_plan(struct spool_store *st, const char *peer,
    const char *batch_id, const char *const *ids, size_t n, uint64_t *seq,
    spool_err *err)
{
	struct oplan_arg a = { peer, batch_id, ids, n, 0 };
	int r;

	if ((r = st_tx(st, 1, oplan_tx, &a, err)) == SPOOL_OK)
		*seq = a.seq;
	return r;
}

int
spool_store_outbox_batch(struct spool_store *st, const char *batch_id,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q(st, &res, err, "SELECT " OUTBOX_COLS " FROM outbox "
	    "WHERE batch = ? ORDER BY priority DESC, created, ord, id",
	    DBS(batch_id));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_planned(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* batch_id peer seq created */
	r = st_q0(st, &res, err, "SELECT batch_id, peer, seq, created, "
	    "name FROM batch WHERE dir = 'out' AND state = 'planned' AND "
	    "name IS NOT NULL ORDER BY peer, seq");
	return st_rows_out(r, &res, fn, arg);
}

struct owritten_arg {
	const char *batch_id, *name;
	uint64_t items, bytes, tar;
};

static int
owritten_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct owritten_arg *a = arg;
	struct spool_dbres res;
	char bref[SPOOL_REF_MAX];
	size_t i;
	int r;

	snprintf(bref, sizeof(bref), "batch:%s", a->batch_id);
	if ((r = spool_store_batch_written(st, a->batch_id, a->name, a->items,
	    a->bytes, a->tar, err)) != SPOOL_OK ||
	    (r = spool_lineage_entity(st, bref, a->name, NULL, -1, err)) !=
	    SPOOL_OK)
		return r;
	if ((r = batch_requests(st, a->batch_id, &res, err)) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *req = spool_dbres_text(&res, i, 0);
		const char *kind = spool_dbres_text(&res, i, 2);

		if (strcmp(kind, "request") != 0)
			continue;
		/* (its lineage "batched" was recorded at the plan) */
		r = spool_store_request_set_state(st, req, "batched", a->name,
		    err);
	}
	spool_dbres_release(&res);
	return r;
}

int
spool_store_batch_upstream(struct spool_store *st, const char *batch_id,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	char bref[SPOOL_REF_MAX];
	int r;

	/* for each request line of the batch, this node's events that made
	 * the request (received) or put it in this batch (batched) */
	snprintf(bref, sizeof(bref), "batch:%s", batch_id);
	r = st_q(st, &res, err, "SELECT o.request, e.id, e.event, e.time, "
	    "e.node, e.usr, e.batch, u.ref, g.ref FROM outbox o "
	    "JOIN lineage_io x ON x.ref = 'request:' || o.request "
	    "JOIN lineage_event e ON e.id = x.event "
	    "JOIN lineage_io u ON u.event = e.id AND u.role = 'used' "
	    "JOIN lineage_io g ON g.event = e.id AND g.role = 'generated' "
	    "WHERE o.batch = ? AND o.kind = 'request' AND e.node = ? AND "
	    "(x.role = 'generated' OR g.ref = ?) "
	    "ORDER BY o.request, e.time, e.id, u.ref, g.ref",
	    DBS(batch_id), DBS(st->node), DBS(bref));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_outbox_written(struct spool_store *st, const char *batch_id,
    const char *name, uint64_t items, uint64_t bytes, uint64_t tar,
    spool_err *err)
{
	struct owritten_arg a = { batch_id, name, items, bytes, tar };

	return st_tx(st, 1, owritten_tx, &a, err);
}

/* Requests of a sent batch move to state (when they are behind it). */
static int
batch_requests_to(struct spool_store *st, const char *batch_id,
    const char *state, const char *detail, spool_err *err)
{
	struct spool_dbres res;
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, "SELECT o.request FROM outbox o JOIN "
	    "request r ON r.id = o.request WHERE o.batch = ? AND "
	    "o.kind = 'request' AND r.side = 'submit' AND r.state IN "
	    "('batched', 'exported')", DBS(batch_id))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *req = spool_dbres_text(&res, i, 0);

		/* batched -> exported -> acknowledged; exported twice
		 * (a batch resent and carried again) is no step */
		if (strcmp(state, "exported") == 0) {
			struct spool_dbres cur;
			int same;

			if ((r = st_q(st, &cur, err, "SELECT state FROM request "
			    "WHERE id = ?", DBS(req))) != SPOOL_OK)
				break;
			same = cur.nrows == 1 && strcmp(spool_dbres_text(&cur,
			    0, 0), state) == 0;
			spool_dbres_release(&cur);
			if (same)
				continue;
		}
		r = spool_store_request_set_state(st, req, state, detail, err);
	}
	spool_dbres_release(&res);
	return r;
}

struct exported_arg {
	const char *name;
	char batch_id[SPOOL_ID_MAX];
};

static int
exported_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct exported_arg *a = arg;
	struct spool_dbres res;
	char bref[SPOOL_REF_MAX], state[16];
	int r;

	if ((r = st_q(st, &res, err, "SELECT batch_id, state FROM batch WHERE "
	    "dir = 'out' AND name = ? ORDER BY created DESC LIMIT 1",
	    DBS(a->name))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "the store has no "
		    "sent batch named %s", a->name);
	}
	snprintf(a->batch_id, sizeof(a->batch_id), "%s",
	    spool_dbres_text(&res, 0, 0));
	snprintf(state, sizeof(state), "%s", spool_dbres_text(&res, 0, 1));
	spool_dbres_release(&res);
	/* acknowledged before it was carried (a resend): stays so */
	if (strcmp(state, "acknowledged") != 0 &&
	    (r = spool_store_batch_set_state(st, a->batch_id, "exported", NULL,
	    err)) != SPOOL_OK)
		return r;
	if ((r = batch_requests_to(st, a->batch_id, "exported", a->name,
	    err)) != SPOOL_OK)
		return r;
	snprintf(bref, sizeof(bref), "batch:%s", a->batch_id);
	return spool_lineage_link(st, "exported", 0, NULL, a->batch_id,
	    (const char *[]){ bref }, 1, NULL, 0, err);
}

int
spool_store_batch_exported(struct spool_store *st, const char *name,
    spool_err *err)
{
	struct exported_arg a;

	char full[160];

	/* NAME or NAME.batch */
	if (!spool_pair_is_batch(name)) {
		if (snprintf(full, sizeof(full), "%s" SPOOL_BATCH_EXT, name) >=
		    (int)sizeof(full))
			return spool_fail(err, SPOOL_ERR_USAGE, "bad name");
		name = full;
	}
	memset(&a, 0, sizeof(a));
	a.name = name;
	return st_tx(st, 1, exported_tx, &a, err);
}

/* ---- acks ------------------------------------------------------------- */

int
spool_store_acks(struct spool_store *st, const char *peer, size_t max,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* seq batch_id, ascending: the newest max received from peer */
	r = st_q(st, &res, err, "SELECT seq, batch_id FROM (SELECT seq, "
	    "batch_id FROM batch WHERE dir = 'in' AND peer = ? AND "
	    "state = 'received' ORDER BY seq DESC LIMIT ?) AS t ORDER BY seq",
	    DBS(peer), DBI(max));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_ack(struct spool_store *st, const char *peer, uint64_t seq,
    const char *batch_id, int *applied, spool_err *err)
{
	struct spool_dbres res;
	char state[16];
	int r;

	*applied = 0;
	if ((r = st_q(st, &res, err, "SELECT state FROM batch WHERE dir = 'out' "
	    "AND peer = ? AND seq = ? AND batch_id = ?", DBS(peer), DBI(seq),
	    DBS(batch_id))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return SPOOL_OK; /* not ours, or a conflict: no effect */
	}
	snprintf(state, sizeof(state), "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	if (strcmp(state, "written") != 0 && strcmp(state, "exported") != 0)
		return SPOOL_OK;
	if ((r = spool_store_batch_set_state(st, batch_id, "acknowledged", NULL,
	    err)) != SPOOL_OK ||
	    (r = batch_requests_to(st, batch_id, "acknowledged", NULL, err)) !=
	    SPOOL_OK)
		return r;
	*applied = 1;
	return SPOOL_OK;
}

/* ---- answers ---------------------------------------------------------- */

int
spool_store_unanswered(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* processed requests whose result is not in the outbox yet, read
	 * through the partial index request_unanswered, which holds only
	 * those not answered ("state || ''": not through request_state,
	 * which SQLite's planner would otherwise take, and which holds every
	 * request ever answered); the outbox is asked too, so that nothing
	 * is ever answered twice */
	r = st_q(st, &res, err, "SELECT " REQ_COLS " FROM request r "
	    "WHERE side = 'process' AND answered IS NULL AND state || '' IN "
	    "('succeeded', 'failed', 'expired', 'cancelled') AND NOT EXISTS "
	    "(SELECT 1 FROM outbox o WHERE o.request = r.id AND o.kind = "
	    "'result') ORDER BY updated, id LIMIT ?", DBI(limit));
	return st_rows_out(r, &res, fn, arg);
}

struct split_arg {
	const char *id, *item;
	uint64_t size;
	const char *const *parts;
	const uint64_t *psizes;
	size_t n;
};

static int
split_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct split_arg *a = arg;
	struct spool_dbres res;
	struct spool_outbox_item o;
	char peer[SPOOL_NAME_MAX + 1], req[SPOOL_ID_MAX];
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, "SELECT peer, request, priority, created, "
	    "ord FROM outbox WHERE id = ? AND batch IS NULL", DBS(a->id))) !=
	    SPOOL_OK)
		return r;
	if (res.nrows != 1) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_STATE, "outbox line %s is not "
		    "pending", a->id);
	}
	memset(&o, 0, sizeof(o));
	snprintf(peer, sizeof(peer), "%s", spool_dbres_text(&res, 0, 0));
	snprintf(req, sizeof(req), "%s", spool_dbres_text(&res, 0, 1));
	o.peer = peer;
	o.kind = "part";
	o.request = req;
	o.priority = (int)spool_dbres_int(&res, 0, 2);
	o.created = spool_dbres_int(&res, 0, 3);
	o.ord = (int)spool_dbres_int(&res, 0, 4);
	spool_dbres_release(&res);
	if ((r = st_q(st, NULL, err, "UPDATE outbox SET item = ?, size = ? "
	    "WHERE id = ?", DBS(a->item), DBI(a->size), DBS(a->id))) !=
	    SPOOL_OK)
		return r;
	for (i = 0; i < a->n; i++) {
		/* new UUIDv7s sort after the request line's, which is older:
		 * the parts follow their request in send order */
		o.id[0] = '\0';
		o.item = a->parts[i];
		o.size = a->psizes[i];
		if ((r = spool_store_outbox_add(st, &o, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

int
spool_store_outbox_split(struct spool_store *st, const char *id,
    const char *item, uint64_t size, const char *const *parts,
    const uint64_t *psizes, size_t n, spool_err *err)
{
	struct split_arg a = { id, item, size, parts, psizes, n };

	return st_tx(st, 1, split_tx, &a, err);
}

int
spool_store_part_add(struct spool_store *st, const char *request,
    const char *name, int idx, int count, uint64_t offset, uint64_t size,
    const char *blob, uint64_t file_size, const char *file_blob,
    spool_err *err)
{
	return st_q(st, NULL, err, "INSERT INTO part (request, name, idx, "
	    "count, offs, size, blob, file_size, file_blob, created) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
	    DBS(request), DBS(name), DBI(idx), DBI(count), DBI(offset),
	    DBI(size), DBS(blob), DBI(file_size), DBS(file_blob),
	    DBI(spool_store_now(st)));
}

int
spool_store_parts(struct spool_store *st, const char *request,
    const char *name, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* name idx count offs size blob file_size file_blob; idx -1 is the
	 * request's note that the file comes in parts */
	if (name != NULL)
		r = st_q(st, &res, err, "SELECT name, idx, count, offs, size, "
		    "blob, file_size, file_blob FROM part WHERE request = ? AND "
		    "name = ? ORDER BY idx", DBS(request), DBS(name));
	else
		r = st_q(st, &res, err, "SELECT name, idx, count, offs, size, "
		    "blob, file_size, file_blob FROM part WHERE request = ? "
		    "ORDER BY name, idx", DBS(request));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_part_get(struct spool_store *st, const char *request,
    const char *name, int idx, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* name idx count offs size blob file_size file_blob */
	r = st_q(st, &res, err, "SELECT name, idx, count, offs, size, blob, "
	    "file_size, file_blob FROM part WHERE request = ? AND name = ? "
	    "AND idx = ?", DBS(request), DBS(name), DBI(idx));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_part_count(struct spool_store *st, const char *request,
    const char *name, int count, const char *file_blob, uint64_t *match,
    uint64_t *all, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN "
	    "count = ? AND file_blob = ? THEN 1 ELSE 0 END), 0) FROM part "
	    "WHERE request = ? AND name = ? AND idx >= 0", DBI(count),
	    DBS(file_blob), DBS(request), DBS(name))) != SPOOL_OK)
		return r;
	*all = res.nrows ? (uint64_t)spool_dbres_int(&res, 0, 0) : 0;
	*match = res.nrows ? (uint64_t)spool_dbres_int(&res, 0, 1) : 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_part_page(struct spool_store *st, const char *request,
    const char *name, int after, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q(st, &res, err, "SELECT name, idx, count, offs, size, blob, "
	    "file_size, file_blob FROM part WHERE request = ? AND name = ? "
	    "AND idx > ? ORDER BY idx LIMIT ?", DBS(request), DBS(name),
	    DBI(after), DBI(limit));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_part_files(struct spool_store *st, const char *request,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q(st, &res, err, "SELECT name, idx, count, offs, size, blob, "
	    "file_size, file_blob FROM part WHERE request = ? AND idx = -1 "
	    "ORDER BY name", DBS(request));
	return st_rows_out(r, &res, fn, arg);
}

/*
 * request.c - requests and their state machines: the one table of the
 * states of each side, the steps between them, their history.
 *
 * A request only moves forward along its side's states; every step is a
 * row of history with its time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/store/db.h"
#include "spool/store/lineage.h"
#include "spool/store/list.h"
#include "spool/store/request.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

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

int
spool_request_state_final(const char *s)
{
	static const char *const fin[] = { "completed", "failed", "expired",
		"cancelled", "rejected", "succeeded", NULL };
	return in_list(s, fin);
}

const char *
spool_request_state_at(size_t i)
{
	size_t k;

	for (k = 0; submit_states[k] != NULL; k++)
		if (i-- == 0)
			return submit_states[k];
	for (k = 0; process_states[k] != NULL; k++)
		if (!in_list(process_states[k], submit_states) && i-- == 0)
			return process_states[k];
	return NULL;
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
	if (f < 0 || t < 0 || spool_request_state_final(from))
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
	    "created, updated, params, cache_key) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DBS(q->id), DBS(q->side),
	    DBS(q->type), DBS(q->user), DBS(q->folder), DBS(q->name),
	    DBS(q->peer), DBI(q->priority),
	    q->deadline ? DBI(q->deadline) : DBNULL, DBS(q->state),
	    DBS(q->error), q->size >= 0 ? DBI(q->size) : DBNULL, DBS(q->hash),
	    DBI(q->created), DBI(q->updated), DBS(q->params),
	    DBS(q->cache_key));
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


int
spool_store_request_info(struct spool_store *st, const char *id,
    struct spool_request_info *out, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT side, peer, state, type, usr, "
	    "folder, name, created, error, hash, size, priority, updated, "
	    "deadline FROM request WHERE id = ?", DBS(id))) !=
	    SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no request %s", id);
	}
	memset(out, 0, sizeof(*out));
#define CP(f, c) snprintf(out->f, sizeof(out->f), "%s", \
	spool_dbres_text(&res, 0, c) ? spool_dbres_text(&res, 0, c) : "")
	CP(side, 0);
	CP(peer, 1);
	CP(state, 2);
	CP(type, 3);
	CP(user, 4);
	CP(folder, 5);
	CP(name, 6);
	CP(error, 8);
	CP(hash, 9);
#undef CP
	out->created = spool_dbres_int(&res, 0, 7);
	out->size = spool_dbres_text(&res, 0, 10) ? spool_dbres_int(&res, 0,
	    10) : -1;
	out->priority = (int)spool_dbres_int(&res, 0, 11);
	out->updated = spool_dbres_int(&res, 0, 12);
	out->deadline = spool_dbres_int(&res, 0, 13);
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_request_counts(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q0(st, &res, err, "SELECT side, state, count(*) FROM "
	    "request GROUP BY side, state ORDER BY side, state");
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_request_received(struct spool_store *st, struct spool_request *q,
    spool_err *err)
{
	char fref[SPOOL_REF_MAX], rref[SPOOL_REF_MAX];
	int r;

	if (q->hash == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE, "a received request "
		    "needs its file's hash");
	q->side = "submit";
	q->state = submit_states[0];
	if ((r = spool_store_request_add(st, q, err)) != SPOOL_OK)
		return r;
	snprintf(fref, sizeof(fref), "file:%s", q->hash);
	snprintf(rref, sizeof(rref), "request:%s", q->id);
	if ((r = spool_lineage_entity(st, fref, q->name, q->hash, q->size,
	    err)) != SPOOL_OK ||
	    (r = spool_lineage_entity(st, rref, q->name, q->hash, q->size,
	    err)) != SPOOL_OK)
		return r;
	return spool_lineage_link(st, "received", q->created, q->user, NULL,
	    (const char *[]){ fref }, 1, (const char *[]){ rref }, 1, err);
}

/* A retried job's request comes back from its final state: the one step
 * back the state machine allows, recorded as such. */
int
st_request_requeue(struct spool_store *st, const char *req, int64_t now,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "UPDATE request SET state = 'queued', "
	    "error = NULL, updated = ? WHERE id = ? AND side = 'process'",
	    DBI(now), DBS(req))) != SPOOL_OK)
		return r;
	if (res.changes > 0)
		r = request_event(st, req, "queued", "retried", now, err);
	spool_dbres_release(&res);
	return r;
}

int
spool_store_request_params(struct spool_store *st, const char *id,
    char **out, spool_err *err)
{
	struct spool_dbres res;
	const char *p;
	int r;

	if ((r = st_q(st, &res, err, "SELECT params FROM request WHERE id = ?",
	    DBS(id))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no request %s", id);
	}
	p = spool_dbres_text(&res, 0, 0);
	*out = NULL;
	if (p != NULL && (*out = strdup(p)) == NULL)
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	spool_dbres_release(&res);
	return r;
}

int
spool_store_request_cache_key(struct spool_store *st, const char *id,
    char *out, size_t n, spool_err *err)
{
	struct spool_dbres res;
	const char *k;
	int r;

	if ((r = st_q(st, &res, err, "SELECT cache_key FROM request WHERE "
	    "id = ?", DBS(id))) != SPOOL_OK)
		return r;
	k = res.nrows ? spool_dbres_text(&res, 0, 0) : NULL;
	snprintf(out, n, "%s", k ? k : "");
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_request_set_mode(struct spool_store *st, const char *id,
    unsigned mode, spool_err *err)
{
	return st_q(st, NULL, err, "UPDATE request SET mode = ? WHERE id = ?",
	    DBI(mode & 0777), DBS(id));
}

int
spool_store_request_mode(struct spool_store *st, const char *id, int *mode,
    spool_err *err)
{
	struct spool_dbres res;
	const char *v;
	int r;

	if ((r = st_q(st, &res, err, "SELECT mode FROM request WHERE id = ?",
	    DBS(id))) != SPOOL_OK)
		return r;
	v = res.nrows ? spool_dbres_text(&res, 0, 0) : NULL;
	*mode = v != NULL ? (int)strtol(v, NULL, 10) : -1;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

/* ---- the requesting node's query answers ------------------------------ */

int
spool_store_query_waiting(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	/* id cache_key params */
	return st_rows_out(st_q0(st, &res, err, "SELECT r.id, r.cache_key, "
	    "r.params FROM request r WHERE r.side = 'submit' AND r.type = "
	    "'query' AND r.state = 'accepted' AND r.cache_key IS NOT NULL AND "
	    "EXISTS (SELECT 1 FROM outbox o WHERE o.request = r.id AND "
	    "o.batch IS NULL) ORDER BY r.created LIMIT 1000"), &res, fn, arg);
}

int
spool_store_query_answered(struct spool_store *st, const char *key,
    int64_t since, const char *except, char out[SPOOL_ID_MAX], int *found,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	*found = 0;
	if ((r = st_q(st, &res, err, "SELECT id FROM request WHERE side = "
	    "'submit' AND type = 'query' AND cache_key = ? AND state = "
	    "'completed' AND updated >= ? AND id <> ? ORDER BY updated DESC "
	    "LIMIT 1", DBS(key), DBI(since), DBS(except))) != SPOOL_OK)
		return r;
	if (res.nrows > 0) {
		snprintf(out, SPOOL_ID_MAX, "%s", spool_dbres_text(&res, 0, 0));
		*found = 1;
	}
	spool_dbres_release(&res);
	return SPOOL_OK;
}

struct local_arg {
	const char *id, *detail;
	int *done;
};

static int
local_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct local_arg *a = arg;
	struct rstate_arg ra = { a->id, "completed", a->detail };
	struct spool_dbres res;
	int r;

	*a->done = 0;
	/* only while its line waits: once in a batch it has gone */
	if ((r = st_q(st, &res, err, "DELETE FROM outbox WHERE request = ? "
	    "AND batch IS NULL RETURNING id", DBS(a->id))) != SPOOL_OK)
		return r;
	*a->done = res.nrows > 0;
	spool_dbres_release(&res);
	return *a->done ? rstate_tx(st, &ra, err) : SPOOL_OK;
}

int
spool_store_answer_locally(struct spool_store *st, const char *id,
    const char *detail, int *done, spool_err *err)
{
	struct local_arg a = { id, detail, done };

	return st_tx(st, 1, local_tx, &a, err);
}

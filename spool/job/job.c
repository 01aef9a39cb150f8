/*
 * job.c - the job engine: sequential stages of parallel tasks, claimed
 * with leases, on either backend.
 *
 * A claim is one UPDATE of the first runnable tasks in priority DESC,
 * created ASC order (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite holds
 * the write lock for the transaction).  Completion counts only while the
 * lease is the caller's.  A stage advances through its counter row: the
 * completion that makes done reach total is the one that queues the next
 * stage, so no two workers both advance a job, on any backend.
 *
 * Lock order, to keep PostgreSQL deadlocks rare (they are retried): task
 * rows (in id order), then stage rows in (job, stage) order, each job's
 * row after its stages.
 *
 * It must never count a completion whose lease was lost, and never leave
 * a task 'running' without a lease that will expire.
 *
 * What an operator does to jobs (cancel, retry, prune) and what the
 * daemon asks of the queue is job_admin.c.  The rest stays whole: claim,
 * heartbeat, complete and fail are one state machine over the same rows,
 * and the lock order above holds only if they are read together.
 *
 * Over 800 lines and kept whole: claim, complete, fail and advance are one
 * state machine over the task and stage rows, with one lock order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/job/job.h"
#include "spool/job/job_impl.h"
#include "spool/store/db.h"
#include "spool/store/request.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

#define SWEEP_MAX 100 /* expired leases / deadlines handled per sweep */

static const char *const job_states[] = { "running", "succeeded", "failed",
	"cancelled", "expired", NULL };

const char *
spool_job_state_at(size_t i)
{
	return i < sizeof(job_states) / sizeof(job_states[0]) ? job_states[i] :
	    NULL;
}

void
spool_task_release(struct spool_task *t)
{
	if (t == NULL)
		return;
	free(t->input);
	t->input = NULL;
}

void
spool_job_set_backoff(struct spool_store *st, int64_t base_ms,
    int64_t cap_ms)
{
	st->backoff_base = base_ms > 0 ? base_ms : 1;
	st->backoff_cap = cap_ms >= st->backoff_base ? cap_ms :
	    st->backoff_base;
}

/* base * 2^(attempt-1), capped, then +-50% */
static int64_t
backoff(struct spool_store *st, int attempt)
{
	int64_t d = st->backoff_base;
	int i;

	for (i = 1; i < attempt && d < st->backoff_cap; i++)
		d *= 2;
	if (d > st->backoff_cap)
		d = st->backoff_cap;
	return d / 2 + (int64_t)st_rand(st, (uint64_t)d + 1);
}

static int
task_event(struct spool_store *st, const char *task, const char *event,
    int attempt, const char *worker, const char *detail, spool_err *err)
{
	char id[SPOOL_ID_MAX];

	spool_uuid7(id);
	return st_q(st, NULL, err, "INSERT INTO task_event (id, task, event, "
	    "attempt, worker, time, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    DBS(id), DBS(task), DBS(event), DBI(attempt), DBS(worker),
	    DBI(spool_store_now(st)), DBS(detail));
}

/* The processing-side request of a job follows it; steps a request may
 * not take (it went on without us) are not errors here. */
static int
follow_request(struct spool_store *st, const char *job, const char *state,
    const char *detail, spool_err *err)
{
	struct spool_dbres res;
	char req[SPOOL_ID_MAX];
	int r;

	if ((r = st_q(st, &res, err, "SELECT request FROM job WHERE id = ?",
	    DBS(job))) != SPOOL_OK)
		return r;
	if (res.nrows == 0 || spool_dbres_text(&res, 0, 0) == NULL) {
		spool_dbres_release(&res);
		return SPOOL_OK;
	}
	snprintf(req, sizeof(req), "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	r = spool_store_request_set_state(st, req, state, detail, err);
	if (r == SPOOL_ERR_STATE || r == SPOOL_ERR_NOTFOUND) {
		spool_err_clear(err);
		r = SPOOL_OK;
	}
	return r;
}

/* ---- create ----------------------------------------------------------- */

struct create_arg {
	const struct spool_job_spec *s;
	char id[SPOOL_ID_MAX];
};

static int
insert_task(struct spool_store *st, const char *job, int stage, int idx,
    const char *type, const char *state, int priority, int64_t deadline,
    int max_attempts, const char *input, spool_err *err)
{
	char id[SPOOL_ID_MAX];
	int64_t now = spool_store_now(st), sched = spool_store_sched(st);

	spool_uuid7(id);
	return st_q(st, NULL, err, "INSERT INTO task (id, job, stage, idx, "
	    "type, state, priority, created, run_at, deadline, max_attempts, "
	    "input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DBS(id),
	    DBS(job), DBI(stage), DBI(idx), DBS(type), DBS(state),
	    DBI(priority), DBI(now), DBI(sched),
	    deadline ? DBI(deadline) : DBNULL, DBI(max_attempts), DBS(input));
}

static int
create_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct create_arg *a = arg;
	const struct spool_job_spec *s = a->s;
	int64_t now = spool_store_now(st);
	size_t i;
	int r;

	spool_uuid7(a->id);
	if ((r = st_q(st, NULL, err, "INSERT INTO job (id, type, request, "
	    "priority, deadline, state, stage, nstages, max_attempts, created, "
	    "updated) VALUES (?, ?, ?, ?, ?, 'running', 0, ?, ?, ?, ?)",
	    DBS(a->id), DBS(s->type), DBS(s->request), DBI(s->priority),
	    s->deadline ? DBI(s->deadline) : DBNULL, DBI(s->nstages),
	    DBI(s->max_attempts), DBI(now), DBI(now))) != SPOOL_OK)
		return r;
	for (i = 0; i < s->nstages; i++) {
		if ((r = st_q(st, NULL, err, "INSERT INTO stage (job, idx, name, "
		    "total, state) VALUES (?, ?, ?, ?, ?)", DBS(a->id), DBI(i),
		    DBS(s->stage_names ? s->stage_names[i] : "main"),
		    DBI(i == 0 ? s->ntasks : 0),
		    DBS(i == 0 ? "active" : "waiting"))) != SPOOL_OK)
			return r;
	}
	for (i = 0; i < s->ntasks; i++)
		if ((r = insert_task(st, a->id, 0, (int)i,
		    s->tasks[i].type ? s->tasks[i].type : s->type, "queued",
		    s->priority, s->deadline, s->max_attempts,
		    s->tasks[i].input, err)) != SPOOL_OK)
			return r;
	if (s->request != NULL)
		return follow_request(st, a->id, "queued", NULL, err);
	return SPOOL_OK;
}

int
spool_job_create(struct spool_store *st, const struct spool_job_spec *s,
    char id[SPOOL_ID_MAX], spool_err *err)
{
	struct create_arg a;
	size_t i;
	int r;

	if (s->type == NULL || s->nstages < 1 || s->nstages > 1000 ||
	    s->ntasks < 1 || s->max_attempts < 1 || s->priority < -1000 ||
	    s->priority > 1000 || strlen(s->type) >= 64)
		return spool_fail(err, SPOOL_ERR_USAGE, "bad job spec");
	for (i = 0; i < s->ntasks; i++)
		if (s->tasks[i].type != NULL && strlen(s->tasks[i].type) >= 64)
			return spool_fail(err, SPOOL_ERR_USAGE, "bad task type");
	memset(&a, 0, sizeof(a));
	a.s = s;
	if ((r = st_tx(st, 1, create_tx, &a, err)) == SPOOL_OK)
		memcpy(id, a.id, SPOOL_ID_MAX);
	return r;
}

/* ---- ending a job ----------------------------------------------------- */

/* The job ends in state (failed, cancelled, expired) with error: its
 * unfinished tasks are cancelled (running ones learn it at their next
 * heartbeat). */
int
st_job_end(struct spool_store *st, const char *job, const char *state,
    const char *error, spool_err *err)
{
	int64_t now = spool_store_now(st);
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "UPDATE job SET state = ?, error = ?, "
	    "updated = ?, finished = ? WHERE id = ? AND state = 'running'",
	    DBS(state), DBS(error), DBI(now), DBI(now), DBS(job))) != SPOOL_OK)
		return r;
	if (res.changes == 0) {
		spool_dbres_release(&res);
		return SPOOL_OK; /* someone ended it first */
	}
	spool_dbres_release(&res);
	if ((r = st_q(st, NULL, err, "UPDATE task SET state = 'cancelled', "
	    "error = COALESCE(error, ?), finished = ? WHERE job = ? AND state "
	    "IN ('waiting', 'queued', 'running')", DBS(state), DBI(now),
	    DBS(job))) != SPOOL_OK)
		return r;
	return follow_request(st, job, state, error, err);
}

/* Stage `stage` of job is done: queue the next stage that has tasks, or
 * finish the job. */
static int
advance(struct spool_store *st, const char *job, int stage, spool_err *err)
{
	int64_t now = spool_store_now(st);
	struct spool_dbres res;
	int r, k;

	if ((r = st_q(st, NULL, err, "UPDATE stage SET state = 'done' WHERE "
	    "job = ? AND idx = ?", DBS(job), DBI(stage))) != SPOOL_OK)
		return r;
	if ((r = st_q(st, &res, err, "SELECT idx, total FROM stage WHERE "
	    "job = ? AND idx > ? ORDER BY idx", DBS(job), DBI(stage))) !=
	    SPOOL_OK)
		return r;
	for (k = 0; k < (int)res.nrows; k++) {
		int idx = (int)spool_dbres_int(&res, (size_t)k, 0);
		if (spool_dbres_int(&res, (size_t)k, 1) > 0) {
			spool_dbres_release(&res);
			if ((r = st_q(st, NULL, err, "UPDATE stage SET state = "
			    "'active' WHERE job = ? AND idx = ?", DBS(job),
			    DBI(idx))) != SPOOL_OK ||
			    (r = st_q(st, NULL, err, "UPDATE task SET state = "
			    "'queued', run_at = ? WHERE job = ? AND stage = ? "
			    "AND state = 'waiting'", DBI(spool_store_sched(st)),
			    DBS(job),
			    DBI(idx))) != SPOOL_OK)
				return r;
			return st_q(st, NULL, err, "UPDATE job SET stage = ?, "
			    "updated = ? WHERE id = ?", DBI(idx), DBI(now),
			    DBS(job));
		}
		/* an empty stage (nothing was planned): passed over */
		if ((r = st_q(st, NULL, err, "UPDATE stage SET state = 'done' "
		    "WHERE job = ? AND idx = ?", DBS(job), DBI(idx))) !=
		    SPOOL_OK) {
			spool_dbres_release(&res);
			return r;
		}
	}
	spool_dbres_release(&res);
	if ((r = st_q(st, NULL, err, "UPDATE job SET state = 'succeeded', "
	    "updated = ?, finished = ? WHERE id = ? AND state = 'running'",
	    DBI(now), DBI(now), DBS(job))) != SPOOL_OK)
		return r;
	return follow_request(st, job, "succeeded", NULL, err);
}

/* ---- sweeping --------------------------------------------------------- */

struct sweep_arg {
	uint64_t requeued, expired;
};

static int
sweep(struct spool_store *st, struct sweep_arg *a, spool_err *err)
{
	/* deadlines are wall-clock facts; leases run on the schedule */
	int64_t now = spool_store_now(st), sched = spool_store_sched(st);
	struct spool_dbres res;
	size_t i;
	int r;

	/* jobs past their deadline */
	if ((r = st_q(st, &res, err, "SELECT id FROM job WHERE state = "
	    "'running' AND deadline IS NOT NULL AND deadline <= ? LIMIT ?",
	    DBI(now), DBI(SWEEP_MAX))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows; i++) {
		if ((r = st_job_end(st, spool_dbres_text(&res, i, 0), "expired",
		    "deadline passed", err)) != SPOOL_OK)
			break;
		a->expired++;
	}
	spool_dbres_release(&res);
	if (r != SPOOL_OK)
		return r;
	/* leases of dead workers */
	if ((r = st_q(st, &res, err, "SELECT id, job, attempt, max_attempts, "
	    "lease_owner FROM task WHERE state = 'running' AND lease_until < ? "
	    "ORDER BY lease_until LIMIT ? /*SKIP LOCKED*/", DBI(sched),
	    DBI(SWEEP_MAX))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *id = spool_dbres_text(&res, i, 0);
		const char *job = spool_dbres_text(&res, i, 1);
		int attempt = (int)spool_dbres_int(&res, i, 2);
		int max = (int)spool_dbres_int(&res, i, 3);
		const char *owner = spool_dbres_text(&res, i, 4);
		char why[160];

		snprintf(why, sizeof(why), "worker %s lost its lease",
		    owner ? owner : "?");
		if (attempt >= max) {
			char msg[300];
			snprintf(msg, sizeof(msg), "task %s: %s on attempt %d "
			    "of %d", id, why, attempt, max);
			if ((r = st_q(st, NULL, err, "UPDATE task SET state = "
			    "'failed', error = ?, finished = ? WHERE id = ?",
			    DBS(why), DBI(now), DBS(id))) == SPOOL_OK &&
			    (r = task_event(st, id, "lost", attempt, owner, why,
			    err)) == SPOOL_OK)
				r = st_job_end(st, job, "failed", msg, err);
		} else {
			if ((r = st_q(st, NULL, err, "UPDATE task SET state = "
			    "'queued', run_at = ?, error = ? WHERE id = ?",
			    DBI(sched + backoff(st, attempt)), DBS(why),
			    DBS(id))) == SPOOL_OK)
				r = task_event(st, id, "lost", attempt, owner,
				    why, err);
		}
		a->requeued++;
	}
	spool_dbres_release(&res);
	return r;
}

static int
sweep_tx(struct spool_store *st, void *arg, spool_err *err)
{
	return sweep(st, arg, err);
}

int
spool_job_sweep(struct spool_store *st, uint64_t *requeued,
    uint64_t *expired, spool_err *err)
{
	struct sweep_arg a = { 0, 0 };
	int r = st_tx(st, 1, sweep_tx, &a, err);

	if (r == SPOOL_OK) {
		if (requeued)
			*requeued = a.requeued;
		if (expired)
			*expired = a.expired;
	}
	return r;
}

/* ---- claiming --------------------------------------------------------- */

struct claim_arg {
	const char *worker, *type;
	size_t max;
	int64_t lease_ms;
	struct spool_task *out;
	size_t n;
};

#define CLAIMED_COLS "id, job, type, stage, idx, attempt, max_attempts, " \
	"priority, lease_until, input, created"

static int
take_rows(struct claim_arg *a, struct spool_dbres *res, spool_err *err)
{
	size_t i;

	for (i = 0; i < res->nrows && a->n < a->max; i++) {
		struct spool_task *t = &a->out[a->n];
		const char *in = spool_dbres_text(res, i, 9);

		memset(t, 0, sizeof(*t));
		snprintf(t->id, sizeof(t->id), "%s", spool_dbres_text(res, i, 0));
		snprintf(t->job, sizeof(t->job), "%s",
		    spool_dbres_text(res, i, 1));
		snprintf(t->type, sizeof(t->type), "%s",
		    spool_dbres_text(res, i, 2));
		t->stage = (int)spool_dbres_int(res, i, 3);
		t->idx = (int)spool_dbres_int(res, i, 4);
		t->attempt = (int)spool_dbres_int(res, i, 5);
		t->max_attempts = (int)spool_dbres_int(res, i, 6);
		t->priority = (int)spool_dbres_int(res, i, 7);
		t->lease_until = spool_dbres_int(res, i, 8);
		t->created = spool_dbres_int(res, i, 10);
		if (in != NULL && (t->input = strdup(in)) == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		a->n++;
	}
	return SPOOL_OK;
}

/* Tasks may come back from UPDATE ... RETURNING in any order. */
static int
task_cmp(const void *x, const void *y)
{
	const struct spool_task *a = x, *b = y;

	/* the claim's own order: priority DESC, created, id (an id's time
	 * is the wall clock's, created the store's, which may differ) */
	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* How many more tasks of type may run now: -1 for no cap. */
static int
cap_left(struct spool_store *st, const char *type, int64_t *left,
    spool_err *err)
{
	struct spool_dbres res;
	int64_t cap;
	int r;

	if ((r = st_q(st, &res, err, "SELECT max_running FROM task_type "
	    "WHERE type = ? /*FOR UPDATE*/", DBS(type))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		*left = -1;
		return SPOOL_OK;
	}
	cap = spool_dbres_int(&res, 0, 0);
	spool_dbres_release(&res);
	if ((r = st_q(st, &res, err, "SELECT count(*) FROM task WHERE "
	    "type = ? AND state = 'running'", DBS(type))) != SPOOL_OK)
		return r;
	*left = cap - spool_dbres_int(&res, 0, 0);
	if (*left < 0)
		*left = 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

static int
claim_typed(struct spool_store *st, struct claim_arg *a, const char *type,
    int64_t want, int64_t now, int64_t sched, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "UPDATE task SET state = 'running', "
	    "attempt = attempt + 1, lease_owner = ?, lease_until = ?, "
	    "started = COALESCE(started, ?) WHERE id IN (SELECT id FROM task "
	    "WHERE state = 'queued' AND type = ? AND +run_at <= ? ORDER BY "
	    "priority DESC, created, id LIMIT ? /*SKIP LOCKED*/) RETURNING "
	    CLAIMED_COLS, DBS(a->worker), DBI(sched + a->lease_ms), DBI(now),
	    DBS(type), DBI(sched), DBI(want))) != SPOOL_OK)
		return r;
	r = take_rows(a, &res, err);
	spool_dbres_release(&res);
	return r;
}

static int
claim_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct claim_arg *a = arg;
	struct sweep_arg sw = { 0, 0 };
	int64_t now = spool_store_now(st), sched = spool_store_sched(st);
	struct spool_dbres res, caps;
	size_t i, first;
	int r;

	for (i = 0; i < a->n; i++)
		spool_task_release(&a->out[i]);
	a->n = 0;
	if ((r = sweep(st, &sw, err)) != SPOOL_OK)
		return r;
	if (a->type != NULL) {
		int64_t left;
		if ((r = cap_left(st, a->type, &left, err)) != SPOOL_OK)
			return r;
		if (left == 0)
			return SPOOL_OK;
		if ((r = claim_typed(st, a, a->type, left < 0 ||
		    (uint64_t)left > a->max ? (int64_t)a->max : left, now,
		    sched, err)) != SPOOL_OK)
			return r;
	} else {
		if ((r = st_q0(st, &caps, err, "SELECT type FROM task_type "
		    "ORDER BY type")) != SPOOL_OK)
			return r;
		if (caps.nrows == 0) {
			/* the common case: one statement */
			spool_dbres_release(&caps);
			if ((r = st_q(st, &res, err, "UPDATE task SET state = "
			    "'running', attempt = attempt + 1, lease_owner = ?, "
			    "lease_until = ?, started = COALESCE(started, ?) "
			    "WHERE id IN (SELECT id FROM task WHERE state = "
			    "'queued' AND +run_at <= ? ORDER BY priority DESC, "
			    "created, id LIMIT ? /*SKIP LOCKED*/) RETURNING "
			    CLAIMED_COLS, DBS(a->worker), DBI(sched + a->lease_ms),
			    DBI(now), DBI(sched), DBI(a->max))) != SPOOL_OK)
				return r;
			r = take_rows(a, &res, err);
			spool_dbres_release(&res);
			if (r != SPOOL_OK)
				return r;
		} else {
			/* caps exist: look at the head of the queue, then
			 * claim type by type what each cap allows */
			if ((r = st_q(st, &res, err, "SELECT DISTINCT type FROM "
			    "(SELECT type FROM task WHERE state = 'queued' AND "
			    "+run_at <= ? ORDER BY priority DESC, created, id "
			    "LIMIT ?) head ORDER BY type", DBI(sched),
			    DBI(a->max * 4 + 16))) != SPOOL_OK) {
				spool_dbres_release(&caps);
				return r;
			}
			spool_dbres_release(&caps);
			for (i = 0; i < res.nrows && a->n < a->max; i++) {
				const char *type = spool_dbres_text(&res, i, 0);
				int64_t left, want = (int64_t)(a->max - a->n);
				if ((r = cap_left(st, type, &left, err)) !=
				    SPOOL_OK)
					break;
				if (left == 0)
					continue;
				if (left > 0 && left < want)
					want = left;
				if ((r = claim_typed(st, a, type, want, now,
				    sched, err)) != SPOOL_OK)
					break;
			}
			spool_dbres_release(&res);
			if (r != SPOOL_OK)
				return r;
		}
	}
	if (a->n == 0)
		return SPOOL_OK;
	qsort(a->out, a->n, sizeof(a->out[0]), task_cmp);
	/* history: one row per claim, keyed so a retried transaction cannot
	 * write it twice */
	if ((r = st_q(st, NULL, err, "INSERT INTO task_event (id, task, event, "
	    "attempt, worker, time) SELECT id || '/' || attempt || '/claimed', "
	    "id, 'claimed', attempt, lease_owner, ? FROM task WHERE "
	    "lease_owner = ? AND lease_until = ? AND state = 'running' "
	    "ON CONFLICT DO NOTHING", DBI(now), DBS(a->worker),
	    DBI(sched + a->lease_ms))) != SPOOL_OK)
		return r;
	/* requests follow their job's first claim (once per job here: a
	 * batch often holds many first-stage tasks of one job) */
	for (first = 0; first < a->n; first++) {
		if (a->out[first].attempt != 1 || a->out[first].stage != 0)
			continue;
		for (i = 0; i < first; i++)
			if (a->out[i].attempt == 1 && a->out[i].stage == 0 &&
			    strcmp(a->out[i].job, a->out[first].job) == 0)
				break;
		if (i == first && (r = follow_request(st, a->out[first].job,
		    "running", NULL, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

int
spool_job_claim(struct spool_store *st, const char *worker,
    const char *type, size_t max, int64_t lease_ms, struct spool_task *out,
    size_t *n, spool_err *err)
{
	struct claim_arg a;
	size_t i;
	int r;

	if (worker == NULL || *worker == '\0' || max == 0 || max > 10000 ||
	    lease_ms < 1)
		return spool_fail(err, SPOOL_ERR_USAGE, "bad claim");
	memset(&a, 0, sizeof(a));
	a.worker = worker;
	a.type = type;
	a.max = max;
	a.lease_ms = lease_ms;
	a.out = out;
	r = st_tx(st, 1, claim_tx, &a, err);
	if (r != SPOOL_OK) {
		for (i = 0; i < a.n; i++)
			spool_task_release(&out[i]);
		return r;
	}
	*n = a.n;
	return SPOOL_OK;
}

/* Why an UPDATE guarded by the lease touched nothing. */
static int
lease_status(struct spool_store *st, const char *task, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT state FROM task WHERE id = ?",
	    DBS(task))) != SPOOL_OK)
		return r;
	if (res.nrows == 0)
		r = spool_fail(err, SPOOL_ERR_NOTFOUND, "no task '%s'", task);
	else if (strcmp(spool_dbres_text(&res, 0, 0), "cancelled") == 0)
		r = spool_fail(err, SPOOL_ERR_CANCELLED, "task %s: job cancelled",
		    task);
	else
		r = spool_fail(err, SPOOL_ERR_LOST, "task %s: lease lost", task);
	spool_dbres_release(&res);
	return r;
}

struct hb_arg {
	const char *worker, *task;
	int64_t lease_ms;
};

static int
hb_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct hb_arg *a = arg;
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "UPDATE task SET lease_until = ? WHERE "
	    "id = ? AND lease_owner = ? AND state = 'running'",
	    DBI(spool_store_sched(st) + a->lease_ms), DBS(a->task),
	    DBS(a->worker))) != SPOOL_OK)
		return r;
	r = res.changes == 1 ? SPOOL_OK : SPOOL_ERR_LOST;
	spool_dbres_release(&res);
	return r;
}

int
spool_job_heartbeat(struct spool_store *st, const char *worker,
    const char *task, int64_t lease_ms, spool_err *err)
{
	struct hb_arg a = { worker, task, lease_ms };
	int r = st_tx(st, 1, hb_tx, &a, err);

	if (r == SPOOL_ERR_LOST)
		return lease_status(st, task, err);
	return r;
}

/* ---- completing ------------------------------------------------------- */

/* A completion that counted, with what its stage counter needs. */
struct counted {
	struct spool_task_done *d;
	char job[SPOOL_ID_MAX];
	char type[64];              /* planned tasks' type by default */
	int stage, prio, maxa;
	int64_t deadline;
};

struct done_arg {
	const char *worker;
	struct spool_task_done **d; /* in task id order */
	size_t n;
	struct counted *c;          /* those that counted */
	size_t nc;
};

/* The task row: done if the lease is still worker's. */
static int
finish_one(struct spool_store *st, const char *worker,
    struct spool_task_done *d, struct counted *c, int *counted,
    spool_err *err)
{
	struct spool_dbres res;
	int r, attempt;

	*counted = 0;
	if ((r = st_q(st, &res, err, "UPDATE task SET state = 'done', "
	    "result = ?, finished = ? WHERE id = ? AND lease_owner = ? AND "
	    "state = 'running' RETURNING job, stage, attempt, priority, "
	    "deadline, max_attempts, type", DBS(d->result),
	    DBI(spool_store_now(st)), DBS(d->task), DBS(worker))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		d->status = lease_status(st, d->task, err);
		spool_err_clear(err);
		return d->status == SPOOL_ERR_LOST ||
		    d->status == SPOOL_ERR_CANCELLED ||
		    d->status == SPOOL_ERR_NOTFOUND ? SPOOL_OK : d->status;
	}
	c->d = d;
	snprintf(c->job, sizeof(c->job), "%s", spool_dbres_text(&res, 0, 0));
	c->stage = (int)spool_dbres_int(&res, 0, 1);
	attempt = (int)spool_dbres_int(&res, 0, 2);
	c->prio = (int)spool_dbres_int(&res, 0, 3);
	c->deadline = spool_dbres_int(&res, 0, 4);
	c->maxa = (int)spool_dbres_int(&res, 0, 5);
	snprintf(c->type, sizeof(c->type), "%s", spool_dbres_text(&res, 0, 6));
	spool_dbres_release(&res);
	if ((r = task_event(st, d->task, "completed", attempt, worker, NULL,
	    err)) != SPOOL_OK)
		return r;
	*counted = 1;
	return SPOOL_OK;
}

/* The tasks c->d plans for the next stage, waiting until it starts. */
static int
plan_next(struct spool_store *st, const struct counted *c, spool_err *err)
{
	const struct spool_task_done *d = c->d;
	struct spool_dbres base;
	int64_t first;
	size_t i;
	int r;

	if ((r = st_q(st, &base, err, "UPDATE stage SET total = total + ? "
	    "WHERE job = ? AND idx = ? RETURNING total - ?", DBI(d->nnext),
	    DBS(c->job), DBI(c->stage + 1), DBI(d->nnext))) != SPOOL_OK)
		return r;
	if (base.nrows == 0) {
		spool_dbres_release(&base);
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "task %s planned tasks after the last stage", d->task);
	}
	first = spool_dbres_int(&base, 0, 0);
	spool_dbres_release(&base);
	for (i = 0; i < d->nnext; i++) {
		const char *type = d->next[i].type ? d->next[i].type : c->type;
		if ((r = insert_task(st, c->job, c->stage + 1,
		    (int)(first + (int64_t)i), type, "waiting", c->prio,
		    c->deadline, c->maxa, d->next[i].input, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* k completions of one (job, stage), c[0..k): its counter once, then what
 * they plan, then, if that finished the stage, the job advances. */
static int
count_stage(struct spool_store *st, const struct counted *c, size_t k,
    spool_err *err)
{
	struct spool_dbres res;
	int64_t done, total;
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, "UPDATE stage SET done = done + ? WHERE "
	    "job = ? AND idx = ? RETURNING done, total", DBI(k), DBS(c->job),
	    DBI(c->stage))) != SPOOL_OK)
		return r;
	done = spool_dbres_int(&res, 0, 0);
	total = spool_dbres_int(&res, 0, 1);
	spool_dbres_release(&res);
	for (i = 0; i < k; i++)
		if (c[i].d->nnext > 0 && (r = plan_next(st, &c[i], err)) !=
		    SPOOL_OK)
			return r;
	if (done == total)
		return advance(st, c->job, c->stage, err);
	return SPOOL_OK;
}

/* (job, stage), then task: the order stage rows are locked in. */
static int
counted_cmp(const void *x, const void *y)
{
	const struct counted *a = x, *b = y;
	int k = strcmp(a->job, b->job);

	if (k != 0)
		return k;
	if (a->stage != b->stage)
		return a->stage < b->stage ? -1 : 1;
	return strcmp(a->d->task, b->d->task);
}

static int
done_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct done_arg *a = arg;
	size_t i, j;
	int r, counted;

	/* task rows first, in id order (two workers' batches never hold
	 * the same task: the lease decides) */
	a->nc = 0;
	for (i = 0; i < a->n; i++)
		a->d[i]->status = SPOOL_ERR_LOST;
	for (i = 0; i < a->n; i++) {
		if ((r = finish_one(st, a->worker, a->d[i], &a->c[a->nc],
		    &counted, err)) != SPOOL_OK)
			return r;
		a->nc += (size_t)counted;
	}
	/* then the stage counters in (job, stage) order, each once: locked
	 * in task order, two workers' batches would take counters of the
	 * same stages in opposite orders and deadlock on PostgreSQL */
	qsort(a->c, a->nc, sizeof(a->c[0]), counted_cmp);
	for (i = 0; i < a->nc; i = j) {
		for (j = i + 1; j < a->nc && a->c[j].stage == a->c[i].stage &&
		    strcmp(a->c[j].job, a->c[i].job) == 0; j++)
			;
		if ((r = count_stage(st, &a->c[i], j - i, err)) != SPOOL_OK)
			return r;
	}
	/* statuses stand only for the attempt that commits */
	for (i = 0; i < a->nc; i++)
		a->c[i].d->status = SPOOL_OK;
	return SPOOL_OK;
}

static int
task_ptr_cmp(const void *x, const void *y)
{
	const struct spool_task_done *const *a = x, *const *b = y;

	return strcmp((*a)->task, (*b)->task);
}

int
spool_job_complete(struct spool_store *st, const char *worker,
    struct spool_task_done *d, size_t n, spool_err *err)
{
	struct done_arg a;
	size_t i, k;
	int r;

	if (n == 0)
		return SPOOL_OK;
	/* as spool_job_create checks the first stage's */
	for (i = 0; i < n; i++)
		for (k = 0; k < d[i].nnext; k++)
			if (d[i].next[k].type != NULL &&
			    strlen(d[i].next[k].type) >= 64)
				return spool_fail(err, SPOOL_ERR_USAGE,
				    "bad task type");
	memset(&a, 0, sizeof(a));
	a.d = malloc(n * sizeof(*a.d));
	a.c = malloc(n * sizeof(*a.c));
	if (a.d == NULL || a.c == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		d[i].status = SPOOL_ERR_LOST;
		a.d[i] = &d[i];
	}
	qsort(a.d, n, sizeof(*a.d), task_ptr_cmp);
	a.worker = worker;
	a.n = n;
	r = st_tx(st, 1, done_tx, &a, err);
out:
	free(a.d);
	free(a.c);
	return r;
}

/* ---- failing ---------------------------------------------------------- */

struct fail_arg {
	const char *worker, *task, *error;
	int permanent;
	int64_t retry_at;
};

static int
fail_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct fail_arg *a = arg;
	int64_t now = spool_store_now(st);
	struct spool_dbres res;
	char job[SPOOL_ID_MAX], msg[SPOOL_ERR_MSG_MAX];
	int r, attempt, max, stage, idx;

	a->retry_at = 0;
	if ((r = st_q(st, &res, err, "SELECT job, attempt, max_attempts, "
	    "stage, idx FROM task WHERE id = ? AND lease_owner = ? AND "
	    "state = 'running' /*FOR UPDATE*/", DBS(a->task),
	    DBS(a->worker))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return SPOOL_ERR_LOST;
	}
	snprintf(job, sizeof(job), "%s", spool_dbres_text(&res, 0, 0));
	attempt = (int)spool_dbres_int(&res, 0, 1);
	max = (int)spool_dbres_int(&res, 0, 2);
	stage = (int)spool_dbres_int(&res, 0, 3);
	idx = (int)spool_dbres_int(&res, 0, 4);
	spool_dbres_release(&res);
	if (!a->permanent && attempt < max) {
		a->retry_at = spool_store_sched(st) + backoff(st, attempt);
		if ((r = st_q(st, NULL, err, "UPDATE task SET state = 'queued', "
		    "run_at = ?, error = ? WHERE id = ?", DBI(a->retry_at),
		    DBS(a->error), DBS(a->task))) != SPOOL_OK)
			return r;
		return task_event(st, a->task, "retry", attempt, a->worker,
		    a->error, err);
	}
	if ((r = st_q(st, NULL, err, "UPDATE task SET state = 'failed', "
	    "error = ?, finished = ? WHERE id = ?", DBS(a->error), DBI(now),
	    DBS(a->task))) != SPOOL_OK ||
	    (r = task_event(st, a->task, "failed", attempt, a->worker,
	    a->error, err)) != SPOOL_OK)
		return r;
	if (a->permanent)
		snprintf(msg, sizeof(msg), "stage %d task %d: %s", stage, idx,
		    a->error);
	else
		snprintf(msg, sizeof(msg), "stage %d task %d failed %d times: "
		    "%s", stage, idx, attempt, a->error);
	return st_job_end(st, job, "failed", msg, err);
}

int
spool_job_fail(struct spool_store *st, const char *worker,
    const char *task, const char *error, int permanent, int64_t *retry_at,
    spool_err *err)
{
	struct fail_arg a = { worker, task, error ? error : "failed",
		permanent, 0 };
	int r = st_tx(st, 1, fail_tx, &a, err);

	if (r == SPOOL_ERR_LOST)
		return lease_status(st, task, err);
	if (r == SPOOL_OK && retry_at != NULL)
		*retry_at = a.retry_at;
	return r;
}

int
spool_job_set_cap(struct spool_store *st, const char *type,
    int max_running, spool_err *err)
{
	if (max_running <= 0)
		return st_q(st, NULL, err, "DELETE FROM task_type WHERE type = ?",
		    DBS(type));
	return st_q(st, NULL, err, "INSERT INTO task_type (type, max_running) "
	    "VALUES (?, ?) ON CONFLICT (type) DO UPDATE SET max_running = ?",
	    DBS(type), DBI(max_running), DBI(max_running));
}

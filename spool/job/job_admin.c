/*
 * job_admin.c - what is done to jobs from outside the engine's loop:
 * resolving an id, cancel, retry, prune; and what the daemon asks of the
 * queue (work due, a dead worker's leases).  The engine itself is job.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/job/job.h"
#include "spool/job/job_impl.h"
#include "spool/store/db.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

/* ---- cancel, retry, prune --------------------------------------------- */

int
spool_job_resolve(struct spool_store *st, const char *id,
    char job[SPOOL_ID_MAX], spool_err *err)
{
	char found[SPOOL_ID_MAX];
	struct spool_dbres res;
	int r;

	if ((r = st_find_id(st, "job", id, job, err)) != SPOOL_ERR_NOTFOUND)
		return r;
	if ((r = st_find_id(st, "task", id, found, err)) == SPOOL_OK)
		r = st_q(st, &res, err, "SELECT job FROM task WHERE id = ?",
		    DBS(found));
	else if (r == SPOOL_ERR_NOTFOUND &&
	    (r = st_find_id(st, "request", id, found, err)) == SPOOL_OK)
		r = st_q(st, &res, err, "SELECT id FROM job WHERE request = ? "
		    "ORDER BY created DESC LIMIT 1", DBS(found));
	if (r != SPOOL_OK) {
		if (r == SPOOL_ERR_NOTFOUND)
			spool_fail(err, r, "no job, task or request '%s'", id);
		return r;
	}
	if (res.nrows == 0)
		r = spool_fail(err, SPOOL_ERR_NOTFOUND, "no job for '%s'", id);
	else
		snprintf(job, SPOOL_ID_MAX, "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	return r;
}

struct cancel_arg {
	const char *job, *reason;
};

static int
cancel_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct cancel_arg *a = arg;
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT state FROM job WHERE id = ? "
	    "/*FOR UPDATE*/", DBS(a->job))) != SPOOL_OK)
		return r;
	if (res.nrows == 0 ||
	    strcmp(spool_dbres_text(&res, 0, 0), "running") != 0) {
		r = spool_fail(err, SPOOL_ERR_STATE, "job %s is %s", a->job,
		    res.nrows ? spool_dbres_text(&res, 0, 0) : "gone");
		spool_dbres_release(&res);
		return r;
	}
	spool_dbres_release(&res);
	return st_job_end(st, a->job, "cancelled", a->reason, err);
}

int
spool_job_cancel(struct spool_store *st, const char *id, const char *reason,
    spool_err *err)
{
	char job[SPOOL_ID_MAX];
	struct cancel_arg a;
	int r;

	if ((r = spool_job_resolve(st, id, job, err)) != SPOOL_OK)
		return r;
	a.job = job;
	a.reason = reason ? reason : "cancelled by the operator";
	return st_tx(st, 1, cancel_tx, &a, err);
}

static int
retry_tx(struct spool_store *st, void *arg, spool_err *err)
{
	const char *job = arg;
	int64_t now = spool_store_now(st);
	struct spool_dbres res;
	char req[SPOOL_ID_MAX] = "";
	int r, stage;

	if ((r = st_q(st, &res, err, "SELECT state, stage, request FROM job "
	    "WHERE id = ? /*FOR UPDATE*/", DBS(job))) != SPOOL_OK)
		return r;
	if (res.nrows == 0 ||
	    (strcmp(spool_dbres_text(&res, 0, 0), "failed") != 0 &&
	    strcmp(spool_dbres_text(&res, 0, 0), "cancelled") != 0 &&
	    strcmp(spool_dbres_text(&res, 0, 0), "expired") != 0)) {
		r = spool_fail(err, SPOOL_ERR_STATE, "job %s is %s: only a "
		    "failed, cancelled or expired job can be retried", job,
		    res.nrows ? spool_dbres_text(&res, 0, 0) : "gone");
		spool_dbres_release(&res);
		return r;
	}
	stage = (int)spool_dbres_int(&res, 0, 1);
	if (spool_dbres_text(&res, 0, 2) != NULL)
		snprintf(req, sizeof(req), "%s", spool_dbres_text(&res, 0, 2));
	spool_dbres_release(&res);
	/* run_at 0: runnable at once on the daemon's schedule, whatever
	 * this process's clock says (spool_store_sched) */
	if ((r = st_q(st, NULL, err, "UPDATE job SET state = 'running', "
	    "error = NULL, deadline = NULL, finished = NULL, updated = ? "
	    "WHERE id = ?", DBI(now), DBS(job))) != SPOOL_OK ||
	    (r = st_q(st, NULL, err, "UPDATE task SET state = 'queued', "
	    "attempt = 0, run_at = ?, deadline = NULL, lease_owner = NULL, "
	    "finished = NULL WHERE job = ? AND stage = ? AND state IN "
	    "('failed', 'cancelled')", DBI(0), DBS(job), DBI(stage))) !=
	    SPOOL_OK ||
	    (r = st_q(st, NULL, err, "UPDATE task SET state = 'waiting', "
	    "attempt = 0, deadline = NULL, finished = NULL WHERE job = ? AND "
	    "stage > ? AND state = 'cancelled'", DBS(job), DBI(stage))) !=
	    SPOOL_OK)
		return r;
	if (req[0] == '\0')
		return SPOOL_OK;
	return st_request_requeue(st, req, now, err);
}

int
spool_job_retry(struct spool_store *st, const char *id, spool_err *err)
{
	char job[SPOOL_ID_MAX];
	int r;

	if ((r = spool_job_resolve(st, id, job, err)) != SPOOL_OK)
		return r;
	return st_tx(st, 1, retry_tx, job, err);
}

struct jprune_arg {
	int64_t cutoff;
	uint64_t n;
};

static int
jprune_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct jprune_arg *a = arg;
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "DELETE FROM job WHERE finished IS NOT "
	    "NULL AND finished < ?", DBI(a->cutoff))) != SPOOL_OK)
		return r;
	a->n = (uint64_t)res.changes;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_job_prune(struct spool_store *st, int64_t cutoff, uint64_t *n,
    spool_err *err)
{
	struct jprune_arg a = { cutoff, 0 };
	int r = st_tx(st, 1, jprune_tx, &a, err);

	if (r == SPOOL_OK && n != NULL)
		*n = a.n;
	return r;
}

int
spool_store_work_due(struct spool_store *st, const char *type,
    uint64_t *runnable, int64_t *next, spool_err *err)
{
	struct spool_dbres res;
	int64_t now = spool_store_sched(st);
	int r;

	if (type != NULL)
		r = st_q(st, &res, err, "SELECT (SELECT count(*) FROM task "
		    "WHERE state = 'queued' AND run_at <= ? AND type = ?), "
		    "(SELECT min(run_at) FROM task WHERE state = 'queued' AND "
		    "run_at > ? AND type = ?)", DBI(now), DBS(type), DBI(now),
		    DBS(type));
	else
		r = st_q(st, &res, err, "SELECT (SELECT count(*) FROM task "
		    "WHERE state = 'queued' AND run_at <= ?), (SELECT "
		    "min(run_at) FROM task WHERE state = 'queued' AND run_at > ?)",
		    DBI(now), DBI(now));
	if (r != SPOOL_OK)
		return r;
	*runnable = (uint64_t)spool_dbres_int(&res, 0, 0);
	*next = spool_dbres_int(&res, 0, 1);
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_worker_died(struct spool_store *st, const char *worker,
    uint64_t *n, spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* its leases end now: the next sweep requeues its tasks (or fails
	 * them when their attempts are spent), as for any lost lease */
	size_t n_ = strlen(worker);

	/* "node/host/pid" is one worker; "node/host/" all of a host's */
	if (n_ > 0 && worker[n_ - 1] == '/')
		r = st_q(st, &res, err, "UPDATE task SET lease_until = ? WHERE "
		    "state = 'running' AND substr(lease_owner, 1, ?) = ?",
		    DBI(spool_store_sched(st) - 1), DBI(n_), DBS(worker));
	else
		r = st_q(st, &res, err, "UPDATE task SET lease_until = ? WHERE "
		    "state = 'running' AND lease_owner = ?",
		    DBI(spool_store_sched(st) - 1), DBS(worker));
	if (r != SPOOL_OK)
		return r;
	*n = (uint64_t)res.changes;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

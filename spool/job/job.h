/*
 * job.h - the job engine: jobs of stages of tasks, claimed by workers
 * under leases, retried with backoff, cancelled, expired, swept (job.c),
 * in the store's tables and transactions.
 */
#ifndef SPOOL_JOB_H
#define SPOOL_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

struct spool_task_spec {
	const char *type;  /* NULL: the job's type */
	const char *input; /* text (JSON by convention), or NULL */
};

struct spool_job_spec {
	const char *type;
	const char *request;   /* or NULL */
	int priority;
	int64_t deadline;      /* 0: none */
	int max_attempts;      /* >= 1 */
	size_t nstages;        /* >= 1 */
	const char *const *stage_names;
	/* the first stage's tasks (>= 1) */
	const struct spool_task_spec *tasks;
	size_t ntasks;
};

int spool_job_create(struct spool_store *st, const struct spool_job_spec *s,
    char id[SPOOL_ID_MAX], spool_err *err);

struct spool_task {
	char id[SPOOL_ID_MAX];
	char job[SPOOL_ID_MAX];
	char type[64];
	int stage, idx;
	int attempt, max_attempts;
	int priority;
	int64_t lease_until;
	int64_t created;
	char *input; /* or NULL */
};
void spool_task_release(struct spool_task *t);

/* Claim up to max runnable tasks (of type, or of any type when NULL) for
 * worker, leased for lease_ms, in priority DESC, created ASC order, never
 * making more tasks of a type run than its cap (spool_job_set_cap).
 * Before claiming it requeues tasks whose lease expired (or fails them
 * when their attempts are spent) and expires jobs past their deadline.
 * out has room for max; *n tells how many were claimed (0 is not an
 * error). */
int spool_job_claim(struct spool_store *st, const char *worker,
    const char *type, size_t max, int64_t lease_ms, struct spool_task *out,
    size_t *n, spool_err *err);
/* Extend the lease.  SPOOL_ERR_LOST if it is no longer worker's,
 * SPOOL_ERR_CANCELLED if the job was cancelled or expired meanwhile. */
int spool_job_heartbeat(struct spool_store *st, const char *worker,
    const char *task, int64_t lease_ms, spool_err *err);

/* One finished task: its result and, for a task that plans the next
 * stage, that stage's tasks. */
struct spool_task_done {
	const char *task;
	const char *result;                /* or NULL */
	const struct spool_task_spec *next; /* tasks for stage + 1 */
	size_t nnext;
	int status;                        /* out: SPOOL_OK, or LOST/CANCELLED */
};
/* Complete n tasks in one transaction.  A completion counts only if the
 * lease is still worker's (else its status is SPOOL_ERR_LOST, or
 * SPOOL_ERR_CANCELLED); the task that finishes its stage advances the job:
 * the next stage's tasks are queued, or the job has succeeded. */
int spool_job_complete(struct spool_store *st, const char *worker,
    struct spool_task_done *d, size_t n, spool_err *err);
/* The task failed with error.  While attempts remain (and permanent is 0)
 * it runs again after base * 2^(attempt-1) ms, +-50% jitter, at most the
 * cap; then the job fails with this error.  SPOOL_ERR_LOST /
 * SPOOL_ERR_CANCELLED as for heartbeat.  *retry_at (may be NULL) is set
 * to when it runs again, 0 if it will not. */
int spool_job_fail(struct spool_store *st, const char *worker,
    const char *task, const char *error, int permanent, int64_t *retry_at,
    spool_err *err);
/* Backoff: base and cap in milliseconds (defaults 1 s and 10 min). */
void spool_job_set_backoff(struct spool_store *st, int64_t base_ms,
    int64_t cap_ms);
/* Cap running tasks of a type (0 removes the cap). */
int spool_job_set_cap(struct spool_store *st, const char *type,
    int max_running, spool_err *err);

/* Cancel a job (by job, task or request id): queued and waiting tasks
 * cancelled now, running ones learn it at their next heartbeat.
 * SPOOL_ERR_STATE if it has already finished. */
int spool_job_cancel(struct spool_store *st, const char *id,
    const char *reason, spool_err *err);
/* Run a failed, cancelled or expired job again from its failed stage
 * (by job, task or request id), with fresh attempts and no deadline. */
int spool_job_retry(struct spool_store *st, const char *id, spool_err *err);
/* Requeue expired leases and expire jobs past their deadline (claim does
 * this too); counts may be NULL. */
int spool_job_sweep(struct spool_store *st, uint64_t *requeued,
    uint64_t *expired, spool_err *err);
/* Delete jobs finished before cutoff, with their stages, tasks and
 * events. */
int spool_job_prune(struct spool_store *st, int64_t cutoff, uint64_t *n,
    spool_err *err);

/* Find the job a job, task or request id (or unique prefix) names. */
int spool_job_resolve(struct spool_store *st, const char *id,
    char job[SPOOL_ID_MAX], spool_err *err);

/* The states of a job: i from 0 until NULL. */
const char *spool_job_state_at(size_t i);

/* Tasks (of type, or any when NULL) runnable now, and when the next
 * waiting one becomes runnable (0: none),
 * on the schedule's clock (spool_store_sched): run_at and leases are
 * schedule times, never moved by a step of the wall clock. */
int spool_store_work_due(struct spool_store *st, const char *type,
    uint64_t *runnable, int64_t *next, spool_err *err);
/* A worker process died ("node/host/pid"), or every worker of an
 * earlier daemon on this host did ("node/host/"): the leases they held
 * end now (*n of them). */
int spool_store_worker_died(struct spool_store *st, const char *worker,
    uint64_t *n, spool_err *err);

#endif

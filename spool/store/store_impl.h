/*
 * store_impl.h - what the store's modules and the job engine share
 * (private to libspool).
 */
#ifndef SPOOL_STORE_IMPL_H
#define SPOOL_STORE_IMPL_H

#include "spool/base/util.h"
#include "spool/store/db.h"
#include "spool/store/list.h"
#include "spool/store/store.h"

struct spool_store {
	const struct spool_db_driver *drv;
	struct spool_db *db;
	char node[SPOOL_NAME_MAX + 1];
	int64_t (*now)(void *arg);
	void *now_arg;
	int64_t sched_base;  /* schedule = this + CLOCK_MONOTONIC ms */
	int64_t backoff_base, backoff_cap;
	uint64_t rnd;
	int in_tx;
};

/* Run one statement: st_q(st, res-or-NULL, err, sql, DBI(1), DBS("x")). */
int st_query(struct spool_store *st, const char *sql,
    const struct spool_dbv *v, size_t nv, struct spool_dbres *res,
    spool_err *err);
#define st_q(st, res, err, sql, ...)                                        \
	st_query((st), (sql), (const struct spool_dbv[]){ __VA_ARGS__ },    \
	    sizeof((const struct spool_dbv[]){ __VA_ARGS__ }) /             \
		sizeof(struct spool_dbv),                                   \
	    (res), (err))
#define st_q0(st, res, err, sql) st_query((st), (sql), NULL, 0, (res), (err))

/* Run fn in one transaction (write: take the write lock at once), again
 * on SPOOL_ERR_BUSY a bounded number of times.  fn must have no effect
 * outside the store other than its out-parameters. */
typedef int (*st_txfn)(struct spool_store *st, void *arg, spool_err *err);
int st_tx(struct spool_store *st, int write, st_txfn fn, void *arg,
    spool_err *err);

/* A uniformly random integer in [0, n) from the store's generator. */
uint64_t st_rand(struct spool_store *st, uint64_t n);

/* Each row of res as a spool_store_row to fn. */
int st_rows(const struct spool_dbres *res,
    int (*fn)(void *, const struct spool_store_row *), void *arg);
/* A query's status r and result: each row to fn, then res released. */
int st_rows_out(int r, struct spool_dbres *res,
    int (*fn)(void *, const struct spool_store_row *), void *arg);

/* Resolve an id or unique prefix (8+ chars) in table's id column.
 * table is one of a fixed set of literals. */
int st_find_id(struct spool_store *st, const char *table, const char *id,
    char out[SPOOL_ID_MAX], spool_err *err);

/* request.c, for the job engine: a retried job's request back to
 * 'queued' from its final state (no effect on a submitting-side one). */
int st_request_requeue(struct spool_store *st, const char *req, int64_t now,
    spool_err *err);

/* Columns of the listings (store.h says what each one is). */
#define BATCH_COLS "id, batch_id, dir, peer, seq, items, bytes, tar, name, " \
	"state, reason, created, updated"
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

#endif

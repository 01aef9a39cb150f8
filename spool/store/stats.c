/*
 * stats.c - counting the store for metrics (stats.h).  Aggregates only,
 * each one statement that both SQLite and PostgreSQL run as written.
 */
#include "spool/base/error.h"
#include "spool/store/db.h"
#include "spool/store/stats.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

const int64_t spool_task_bucket_ms[SPOOL_TASK_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
	900000, 3600000
};

int
spool_store_batch_stats(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q0(st, &res, err, "SELECT dir, peer, state, count(*), "
	    "COALESCE(sum(bytes), 0) FROM batch GROUP BY dir, peer, state "
	    "ORDER BY dir, peer, state");
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_task_stats(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q0(st, &res, err, "SELECT type, state, count(*) FROM task "
	    "GROUP BY type, state ORDER BY type, state");
	return st_rows_out(r, &res, fn, arg);
}

/* The statement is a literal: the drivers keep prepared statements by
 * the address of their text. */
#define B(ms) ", sum(CASE WHEN finished - started <= " #ms " THEN 1 ELSE 0 END)"
static const char durations_sql[] = "SELECT type, count(*), "
	    "COALESCE(sum(finished - started), 0)"
	    B(100)
	    B(250)
	    B(500)
	    B(1000)
	    B(2500)
	    B(5000)
	    B(10000)
	    B(30000)
	    B(60000)
	    B(300000)
	    B(900000)
	    B(3600000)
	    " FROM task WHERE finished IS NOT NULL AND started IS NOT NULL "
	    "GROUP BY type ORDER BY type";
#undef B

int
spool_store_task_durations(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	r = st_q0(st, &res, err, durations_sql);
	return st_rows_out(r, &res, fn, arg);
}

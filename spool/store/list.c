/*
 * list.c - the read-only listings spoolctl (and tests) print:
 * requests, batches, jobs, tasks, peers, histories, lineage rows.
 *
 * Only SELECTs here, newest first, bounded by LIMIT.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/store/db.h"
#include "spool/store/list.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

/* ---- listings --------------------------------------------------------- */

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
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_list_layers(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return st_rows_out(st_q(st, &res, err, "SELECT " REQ_COLS " FROM "
	    "request WHERE type IN ('raster', 'vector') ORDER BY created, id "
	    "LIMIT ?", DBI(limit ? limit : 1000)), &res, fn, arg);
}

int
spool_store_list_batches(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	if (limit == 0)
		limit = 1000;
	return st_rows_out(st_q(st, &res, err, "SELECT " BATCH_COLS " FROM batch "
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
	return st_rows_out(r, &res, fn, arg);
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
	return st_rows_out(r, &res, fn, arg);
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
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_job_tasks(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return st_rows_out(st_q(st, &res, err, "SELECT " TASK_COLS " FROM task "
	    "WHERE job = ? ORDER BY stage, idx", DBS(job)), &res, fn, arg);
}

int
spool_store_list_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return st_rows_out(st_q0(st, &res, err, "SELECT name, key_id, next_seq, "
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

	return st_rows_out(st_q(st, &res, err, "SELECT idx, name, state, total, "
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
	return st_rows_out(st_q(st, &res, err, "SELECT e.id, e.event, e.time, "
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
	return st_rows_out(st_q(st, &res, err, "SELECT ref, kind, name, hash, "
	    "size, node, created FROM lineage_entity WHERE created >= ? "
	    "ORDER BY created, ref LIMIT ?", DBI(since), DBI(limit)), &res, fn,
	    arg);
}

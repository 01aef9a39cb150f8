/*
 * list.h - reading the store for spoolctl and tests: listings, histories,
 * single rows, lineage as recorded (list.c).
 */
#ifndef SPOOL_LIST_H
#define SPOOL_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

/* Listings, newest first, at most limit rows (0: 1000).  Each calls fn
 * with one row; columns are documented at each. */
/* id side type usr folder name peer priority deadline state error size
 * hash created updated */
int spool_store_list_requests(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Raster and vector requests, oldest first (columns as requests). */
int spool_store_list_layers(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* id batch_id dir peer seq items bytes tar name state reason created
 * updated */
int spool_store_list_batches(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* id type request priority deadline state stage nstages max_attempts error
 * created updated finished tasks_total tasks_done */
int spool_store_list_jobs(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Histories: state|event time detail [attempt worker]. kind is "request",
 * "batch", "job" (the job's tasks' events) or "task". */
int spool_store_history(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* One row by id (exact or unique prefix of 8+): kind "request", "job",
 * "task", "batch" (columns as in the listings; task: id job stage idx type
 * state priority created run_at attempt max_attempts lease_owner
 * lease_until input result error started finished).  Sets *found. */
int spool_store_get_row(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* The tasks of a job, by stage and index (task columns). */
int spool_store_job_tasks(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* Peers: name key_id next_seq recv_contiguous recv_high */
int spool_store_list_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* The stages of a job: idx name state total done, by idx. */
int spool_store_job_stages(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* Lineage as recorded, oldest first, for merging into another node's
 * store (tests and simulations; the daemon carries results' lineage in
 * batches).  Events from time since on, at most limit events (0: 1000),
 * one row per event and entity it used or generated:
 * id event time node usr batch role ref (role and ref NULL for an event
 * that links nothing). */
int spool_store_lineage_events(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Entities created from since on, oldest first, at most limit (0: 1000):
 * ref kind name hash size node created. */
int spool_store_lineage_entities(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);

#endif

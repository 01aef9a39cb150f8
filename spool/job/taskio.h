/*
 * taskio.h - the spoold side of the worker protocol (docs/WORKERS.md):
 * a pool worker's area, the task line spoold sends, and taking a
 * worker's answer (its outputs become blobs, lineage and the task's
 * result in the store).
 *
 * A worker's area is a directory it is started in (its cwd): in/ holds
 * the task's inputs (read-only to it), out/ what it writes, tmp/ its
 * scratch space.  Only this module reads what a worker wrote, and it
 * trusts none of it: names are single components, files regular with
 * one link, opened without following links, bounded in size.
 */
#ifndef SPOOL_TASKIO_H
#define SPOOL_TASKIO_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "spool/base/error.h"
#include "spool/job/job.h"

struct spool_area {
	char path[4096]; /* absolute */
	uid_t uid;       /* the worker's: owns out/ and tmp/ */
	gid_t gid;
	int link_inputs; /* inputs are hard links (else copies) */
};

/* Make (or empty) the area: in/ out/ tmp/. */
int spool_area_reset(const struct spool_area *a, spool_err *err);

struct spool_task_limits {
	int64_t timeout_ms;
	uint64_t memory;
	int threads;
	uint64_t cachemax;
};

/* The task line for t, its inputs placed in the area's in/: the
 * request's file and every output of the job's earlier stages.  config
 * (borrowed, may be NULL) is the kind's settings on this node.  *line is
 * malloc'd, without its newline. */
int spool_task_line(struct spool_store *st, const char *root,
    const struct spool_task *t, const char *kind,
    const struct spool_area *a, const json_t *config,
    const struct spool_task_limits *lim, char **line, spool_err *err);

/* Take the final answer of t: outputs into blobs (each at most
 * max_output bytes), lineage, and the task completed or failed in the
 * store.  *outcome says what became of it for the log: "succeeded",
 * "failed", "retry", "lost" (lease no longer ours), "cancelled". */
int spool_task_answer(struct spool_store *st, const char *root,
    const char *worker, const struct spool_task *t,
    const struct spool_area *a, const json_t *answer, uint64_t max_output,
    const char **outcome, spool_err *err);

/* Complete t (a query) with the answer request `from` gave to the same
 * query: its outputs (the same blobs, now also this request's), its
 * summary with "cache_hit": true and "answer_of"; lineage: derived from
 * the first answer's outputs.  SPOOL_ERR_NOTFOUND when `from` has no
 * answer to give (then run the task). */
int spool_task_answer_cached(struct spool_store *st, const char *worker,
    const struct spool_task *t, const char *from, const char **outcome,
    spool_err *err);

/* The task failed outside the worker's answer (a crash, a timeout):
 * retried while attempts remain unless permanent. */
int spool_task_failed(struct spool_store *st, const char *worker,
    const struct spool_task *t, const char *why, int permanent,
    const char **outcome, spool_err *err);

#endif

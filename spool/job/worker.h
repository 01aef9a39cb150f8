/*
 * worker.h - the worker side of the worker protocol (docs/WORKERS.md):
 * the main loop of a worker program, progress and cancellation.
 *
 * A worker program is a main() that calls spool_worker_main() with its
 * kind.  The handler runs one task: it reads t->task, works in t->dir,
 * and fills t->answer.  It never sees a key, a store or the spool root.
 */
#ifndef SPOOL_WORKER_H
#define SPOOL_WORKER_H

#include <jansson.h>
#include <stdint.h>

#include "spool/base/logfmt.h"

struct spool_worker_task {
	const json_t *task;   /* the task line (borrowed) */
	const char *id;       /* task id */
	const char *dir;      /* the task's directory (absolute) */
	const json_t *params; /* task "params" (object, never NULL) */
	const json_t *config; /* task "config" (object, never NULL) */
	const json_t *plan;   /* task "plan" (object) or NULL */
	const json_t *inputs; /* task "inputs" (array, never NULL) */
	int64_t deadline_ms;  /* monotonic ms when the task times out, or 0 */
	int threads;          /* limits.threads (>= 1) */
	int64_t cachemax;     /* limits.cachemax in bytes (0: default) */
	/* the answer: the handler sets "status" and what else it has; a
	 * handler returning nonzero without "status" is a failure with
	 * "error" from its text */
	json_t *answer;
	struct spool_worker_io *io; /* private */
};

struct spool_worker_kind {
	const char *name; /* "raster" */
	/* called once before the sandbox is applied (e.g. GDALAllRegister);
	 * may be NULL */
	int (*init)(void);
	int (*run)(struct spool_worker_task *t);
	/* what the kind needs the sandbox to leave open (SPOOL_SANDBOX_*) */
	unsigned needs;
};

/* The worker may connect to a database server (vector loader, query). */
#define SPOOL_SANDBOX_NET 0x1

/* Run a worker: tasks from fd 0 until EOF, or the one task of
 * "--task FILE" ("-" for stdin) with the answer lines on stdout.
 * Returns the process exit status. */
int spool_worker_main(int argc, char **argv,
    const struct spool_worker_kind *kind);

/* Report progress (0..1) and an optional message.  Returns nonzero when
 * the task must stop now (cancelled, or past its deadline): the handler
 * returns at once, and its answer is replaced by the reason. */
int spool_worker_progress(struct spool_worker_task *t, double frac,
    const char *msg);

/* Convenience for handlers: fail the task with a message (printf),
 * made one line of at most SPOOL_WORKER_ERROR_MAX bytes of UTF-8
 * (spool_text_line): the reason the operator reads in result.json. */
#define SPOOL_WORKER_ERROR_MAX 480
int spool_worker_fail(struct spool_worker_task *t, int permanent,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fail the task because memory ran out: "task exceeded memory_limit
 * (512M)", from the task's limits (a GDAL worker calls it for
 * CPLE_OutOfMemory, any worker when malloc fails). */
int spool_worker_out_of_memory(struct spool_worker_task *t);
/* Add an output file (path relative to t->dir, under out/). */
int spool_worker_output(struct spool_worker_task *t, const char *name,
    const char *path, const char *role, const char *type);
/* Absolute path of the first input, or of the input named name. */
const char *spool_worker_input(struct spool_worker_task *t,
    const char *name, char *buf, size_t n);

#endif

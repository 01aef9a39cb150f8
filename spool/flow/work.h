/*
 * work.h - the work of jobs (work.c): tasks claimed and run, and the
 * results of processed requests put in the outbox.
 */
#ifndef SPOOL_WORK_H
#define SPOOL_WORK_H

#include <stddef.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Run claimable tasks until none is left (a worker process calls it). */
int spool_work_run(struct spool_daemon *d, const char *worker,
    size_t *ran, spool_err *err);
/* Put the results of processed requests in the outbox. */
int spool_answer_run(struct spool_daemon *d, spool_err *err);

#endif

/*
 * work.h - the work of jobs (work.c): tasks claimed and run, and the
 * results of processed requests put in the outbox.
 */
#ifndef SPOOL_WORK_H
#define SPOOL_WORK_H

#include <stddef.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Run claimable transfer tasks until none is left (a worker process
 * calls it).  After each group of them is recorded a byte is written
 * to note_fd (unless it is -1, and unless the pipe is full), so that
 * the daemon answers what was delivered while the runner goes on. */
int spool_work_run(struct spool_daemon *d, const char *worker, int note_fd,
    size_t *ran, spool_err *err);
/* Put the results of processed requests in the outbox. */
int spool_answer_run(struct spool_daemon *d, spool_err *err);

#endif

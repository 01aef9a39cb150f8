/*
 * job_impl.h - what job.c lends job_admin.c (private to libspool).
 */
#ifndef SPOOL_JOB_IMPL_H
#define SPOOL_JOB_IMPL_H

#include "spool/base/error.h"
#include "spool/store/store.h"

/* The job ends in state (failed, cancelled, expired) with error: its
 * unfinished tasks are cancelled (running ones learn it at their next
 * heartbeat). */
int st_job_end(struct spool_store *st, const char *job, const char *state,
    const char *error, spool_err *err);

#endif

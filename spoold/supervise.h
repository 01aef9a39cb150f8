/*
 * supervise.h - spoold's supervisor of worker pools (supervise.c).
 */
#ifndef SPOOLD_SUPERVISE_H
#define SPOOLD_SUPERVISE_H

#include <sys/types.h>

#include "spool/spool.h"

/* Fork the supervisor.  In the child, in_child(arg) runs first (it
 * closes spoold's descriptors and wipes the secret key).  spoold writes
 * to *wake when there may be work; the supervisor writes lines
 * "changed <request-id>" to *notify.  Returns the pid, -1 on failure. */
pid_t spool_supervise_start(struct spool_node *node, int64_t sched_base,
    int *wake, int *notify,
    void (*in_child)(void *), void *arg);

#endif

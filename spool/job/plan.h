/*
 * plan.h - the shape of each request type's job: its stages, and which
 * tasks of one stage plan the next (DESIGN section 5).
 *
 * A stage's tasks come one of three ways: the first stage's are made with
 * the job; a planned stage gets what the tasks before it asked for in
 * their answers ("next": the raster tiler, the vector chunker), and is
 * passed over when they asked for none (the job then ends there); a
 * "one" stage gets one task, planned by the first task of the stage
 * before (the raster mosaic, the vector finish).  selftest's stages are
 * as many as its request asks, each of its count of tasks.
 */
#ifndef SPOOL_PLAN_H
#define SPOOL_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "spool/base/error.h"

#define SPOOL_PLAN_STAGES_MAX 32
#define SPOOL_PLAN_TASKS_MAX 10000 /* tasks one stage may plan */

enum spool_plan_how {
	SPOOL_PLAN_FIRST,   /* made with the job (count tasks) */
	SPOOL_PLAN_FROM_NEXT, /* what the stage before asked for */
	SPOOL_PLAN_ONE,     /* one task, planned by task 0 before it */
	SPOOL_PLAN_FIXED    /* count tasks, planned by task 0 before it */
};

struct spool_plan {
	const char *type;
	const char *kind;  /* the worker pool, or NULL: spoold itself */
	size_t nstages;
	const char *names[SPOOL_PLAN_STAGES_MAX];
	enum spool_plan_how how[SPOOL_PLAN_STAGES_MAX];
	int count[SPOOL_PLAN_STAGES_MAX];
	char buf[SPOOL_PLAN_STAGES_MAX][8]; /* selftest's stage names */
};

/* The plan of a request of type with params (may be NULL).
 * SPOOL_ERR_NOTFOUND for a type this node has no plan for, FORMAT for
 * params that make no plan (selftest's stages and tasks). */
int spool_plan_get(struct spool_plan *p, const char *type,
    const json_t *params, spool_err *err);

/* How many tasks the task idx of stage asks for in the next stage, given
 * the "next" of its answer (may be NULL); -1 when the answer asks for
 * what the plan does not allow (a planned stage with no room, or more
 * than SPOOL_PLAN_TASKS_MAX).  *from_next: the tasks are the answer's
 * "next" objects (else plain tasks with no plan of their own). */
int spool_plan_next_count(const struct spool_plan *p, int stage, int idx,
    const json_t *next, int *from_next);

/* The worker kind that runs tasks of type (NULL: none, spoold runs it). */
const char *spool_plan_kind(const char *type);

#endif

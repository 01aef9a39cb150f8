/*
 * plan.c - job plans per request type (plan.h).
 */
#include <stdio.h>
#include <string.h>

#include "spool/job/plan.h"

static void
stage(struct spool_plan *p, const char *name, enum spool_plan_how how,
    int count)
{
	p->names[p->nstages] = name;
	p->how[p->nstages] = how;
	p->count[p->nstages] = count;
	p->nstages++;
}

const char *
spool_plan_kind(const char *type)
{
	static const char *const kinds[] = { "raster", "vector", "query",
	    "selftest" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i]) == 0)
			return kinds[i];
	return NULL;
}

int
spool_plan_get(struct spool_plan *p, const char *type, const json_t *params,
    spool_err *err)
{
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->kind = spool_plan_kind(type);
	if (strcmp(type, "transfer") == 0)
		stage(p, "run", SPOOL_PLAN_FIRST, 1);
	else if (strcmp(type, "raster") == 0) {
		stage(p, "raster", SPOOL_PLAN_FIRST, 1);
		stage(p, "tile", SPOOL_PLAN_FROM_NEXT, 0);
		stage(p, "mosaic", SPOOL_PLAN_ONE, 1);
	} else if (strcmp(type, "vector") == 0) {
		stage(p, "convert", SPOOL_PLAN_FIRST, 1);
		stage(p, "create", SPOOL_PLAN_FROM_NEXT, 0);
		stage(p, "load", SPOOL_PLAN_FROM_NEXT, 0);
		stage(p, "finish", SPOOL_PLAN_ONE, 1);
	} else if (strcmp(type, "query") == 0)
		stage(p, "query", SPOOL_PLAN_FIRST, 1);
	else if (strcmp(type, "selftest") == 0) {
		json_t *s = json_object_get(params, "stages");
		json_t *t = json_object_get(params, "tasks");
		json_int_t ns = s ? json_integer_value(s) : 1;
		json_int_t nt = t ? json_integer_value(t) : 1;
		json_int_t i;

		if ((s != NULL && !json_is_integer(s)) || ns < 1 ||
		    ns > SPOOL_PLAN_STAGES_MAX)
			return spool_fail(err, SPOOL_ERR_FORMAT, "selftest: "
			    "\"stages\" must be 1 to %d", SPOOL_PLAN_STAGES_MAX);
		if ((t != NULL && !json_is_integer(t)) || nt < 1 || nt > 1000)
			return spool_fail(err, SPOOL_ERR_FORMAT, "selftest: "
			    "\"tasks\" must be 1 to 1000");
		for (i = 0; i < ns; i++) {
			snprintf(p->buf[i], sizeof(p->buf[i]), "s%d",
			    (int)i + 1);
			stage(p, p->buf[i], i == 0 ? SPOOL_PLAN_FIRST :
			    SPOOL_PLAN_FIXED, (int)nt);
		}
	} else
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "request type '%s' "
		    "is not supported by this node", type);
	return SPOOL_OK;
}

int
spool_plan_next_count(const struct spool_plan *p, int stage, int idx,
    const json_t *next, int *from_next)
{
	size_t n = json_is_array(next) ? json_array_size(next) : 0;

	*from_next = 0;
	if (stage < 0 || (size_t)stage + 1 >= p->nstages)
		return n > 0 ? -1 : 0; /* the last stage plans nothing */
	switch (p->how[stage + 1]) {
	case SPOOL_PLAN_FROM_NEXT:
		if (n > SPOOL_PLAN_TASKS_MAX)
			return -1;
		*from_next = 1;
		return (int)n;
	case SPOOL_PLAN_ONE:
	case SPOOL_PLAN_FIXED:
		if (n > 0)
			return -1;
		return idx == 0 ? p->count[stage + 1] : 0;
	default:
		return -1;
	}
}

/*
 * layer.c - a layer as its source describes it: the fields a request may
 * name, its feature id, its geometry and CRS.
 *
 * Whatever a request calls a property is looked up here, exactly as the
 * layer spells it; what is not found does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "query.h"

void
q_layer_release(struct qlayer *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nfields; i++)
		free(l->fields[i].name);
	free(l->fields);
	free(l->name);
	free(l->fid);
	free(l->geom);
	if (l->srs != NULL)
		OSRDestroySpatialReference(l->srs);
	memset(l, 0, sizeof(*l));
}

int
q_layer_add_field(struct qlayer *l, const char *name, enum qf_type t,
    int text_sort)
{
	struct qfield *nf;

	if ((nf = realloc(l->fields, (l->nfields + 1) * sizeof(*nf))) == NULL)
		return -1;
	l->fields = nf;
	nf = &l->fields[l->nfields];
	if ((nf->name = strdup(name)) == NULL)
		return -1;
	nf->type = t;
	nf->text_sort = text_sort;
	l->nfields++;
	return 0;
}

int
q_layer_field(const struct qlayer *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->nfields; i++)
		if (strcmp(l->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The fields to return, as indexes: the request's "properties" in its
 * order (the id column is always there and is skipped, names given twice
 * count once), or every field. */
int
q_select_fields(const struct qlayer *l, const json_t *props, int **idx,
    size_t *n, spool_err *err)
{
	size_t i, k, cnt = 0;
	const json_t *v;
	int *sel;

	*idx = NULL;
	*n = 0;
	if ((sel = calloc(props ? json_array_size(props) + 1 :
	    l->nfields + 1, sizeof(*sel))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (props == NULL) {
		for (i = 0; i < l->nfields; i++)
			sel[i] = (int)i;
		*idx = sel;
		*n = l->nfields;
		return SPOOL_OK;
	}
	json_array_foreach(props, i, v) {
		const char *name = json_string_value(v);
		int f = name ? q_layer_field(l, name) : -1;

		if (f < 0 && name != NULL && l->fid != NULL &&
		    strcmp(name, l->fid) == 0)
			continue;
		if (f < 0) {
			free(sel);
			if (name != NULL && l->geom != NULL &&
			    (strcmp(name, l->geom) == 0 ||
			    strcmp(name, "geometry") == 0))
				return spool_fail(err, SPOOL_ERR_FORMAT,
				    "properties: '%s' is the geometry, which "
				    "always comes back", name);
			return spool_fail(err, SPOOL_ERR_NOTFOUND, "properties: "
			    "unknown property '%s' of layer '%s'",
			    name ? name : "", l->name);
		}
		for (k = 0; k < cnt; k++)
			if (sel[k] == f)
				break;
		if (k == cnt)
			sel[cnt++] = f;
	}
	*idx = sel;
	*n = cnt;
	return SPOOL_OK;
}

/*
 * params.c - a query request's params and its source's settings, checked.
 *
 * The shape is the published schema's (schemas/query-params.schema.json,
 * embedded in libspool), so the submitting node and this worker judge it
 * alike; what a schema cannot say (a bbox's order, the source's own
 * settings) is checked here.  Nothing is looked up yet: the source's
 * layers and fields are the backends' business.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spool/schema.h"
#include "query.h"

static int
sort_key(struct qsortkey *k, const json_t *v, size_t i, spool_err *err)
{
	const char *s = json_string_value(v), *dir;

	if (s != NULL) {
		k->desc = s[0] == '-';
		k->field = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
	} else {
		k->field = json_string_value(json_object_get(v, "field"));
		dir = json_string_value(json_object_get(v, "direction"));
		k->desc = dir != NULL && strcmp(dir, "desc") == 0;
	}
	if (k->field == NULL || k->field[0] == '\0')
		return spool_fail(err, SPOOL_ERR_FORMAT, "sortby[%zu]: no "
		    "field", i);
	return SPOOL_OK;
}

int
q_params_parse(struct qreq *r, const json_t *params, spool_err *err)
{
	static struct spool_schema *schema;
	const json_t *v;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	r->limit = -1;
	if (!json_is_object(params))
		return spool_fail(err, SPOOL_ERR_FORMAT, "the request has no "
		    "params");
	/* the commonest mistakes get their own words before the schema's
	 * more general ones */
	if (!json_is_string(json_object_get(params, "source")))
		return spool_fail(err, SPOOL_ERR_FORMAT, "params: no source "
		    "(the name of a query source of the processing node)");
	if (json_object_get(params, "layer") == NULL &&
	    json_object_get(params, "sql") == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "params: neither "
		    "layer nor sql");
	if (json_object_get(params, "layer") != NULL &&
	    json_object_get(params, "sql") != NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "params: layer and "
		    "sql are exclusive");
	/* the schema is compiled once per process (the worker is long-lived) */
	if (schema == NULL && (rc = spool_schema_load(&schema,
	    "query-params", err)) != SPOOL_OK)
		return rc;
	if ((rc = spool_schema_validate(schema, params, err)) != SPOOL_OK) {
		spool_err_prefix(err, "params");
		return rc;
	}
	r->source = json_string_value(json_object_get(params, "source"));
	r->layer = json_string_value(json_object_get(params, "layer"));
	r->sql = json_string_value(json_object_get(params, "sql"));
	r->sql_params = json_object_get(params, "params");
	r->filter = json_object_get(params, "filter");
	r->properties = json_object_get(params, "properties");
	r->format = json_string_value(json_object_get(params, "format"));
	if (r->format == NULL)
		r->format = "geojson";
	if ((v = json_object_get(params, "limit")) != NULL)
		r->limit = json_integer_value(v);
	if ((v = json_object_get(params, "offset")) != NULL)
		r->offset = json_integer_value(v);
	if ((v = json_object_get(params, "bbox")) != NULL) {
		size_t n = json_array_size(v), h = n / 2;

		r->has_bbox = 1;
		r->bbox[0] = json_number_value(json_array_get(v, 0));
		r->bbox[1] = json_number_value(json_array_get(v, 1));
		r->bbox[2] = json_number_value(json_array_get(v, h));
		r->bbox[3] = json_number_value(json_array_get(v, h + 1));
		for (i = 0; i < 4; i++)
			if (!isfinite(r->bbox[i]))
				return spool_fail(err, SPOOL_ERR_FORMAT,
				    "bbox: not a number");
		if (r->bbox[0] < -180 || r->bbox[0] > 180 ||
		    r->bbox[2] < -180 || r->bbox[2] > 180 ||
		    r->bbox[1] < -90 || r->bbox[1] > 90 ||
		    r->bbox[3] < -90 || r->bbox[3] > 90)
			return spool_fail(err, SPOOL_ERR_FORMAT, "bbox: outside "
			    "[-180, -90, 180, 90] (it is longitude, latitude "
			    "in CRS84)");
		if (r->bbox[1] > r->bbox[3])
			return spool_fail(err, SPOOL_ERR_FORMAT, "bbox: miny "
			    "%g > maxy %g", r->bbox[1], r->bbox[3]);
	}
	if ((v = json_object_get(params, "sortby")) != NULL &&
	    json_array_size(v) > 0) {
		r->nsort = json_array_size(v);
		if ((r->sortby = calloc(r->nsort, sizeof(*r->sortby))) == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		for (i = 0; i < r->nsort; i++)
			if ((rc = sort_key(&r->sortby[i], json_array_get(v, i),
			    i, err)) != SPOOL_OK)
				return rc;
	}
	return SPOOL_OK;
}

void
q_params_release(struct qreq *r)
{
	if (r == NULL)
		return;
	free(r->sortby);
	r->sortby = NULL;
}

static int
conf_int(const json_t *o, const char *key, int64_t def, int64_t min,
    int64_t *out, spool_err *err)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		*out = def;
		return SPOOL_OK;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return spool_fail(err, SPOOL_ERR_CONFIG, "query source: %s "
		    "must be an integer >= %lld", key, (long long)min);
	*out = json_integer_value(v);
	return SPOOL_OK;
}

int
q_source_parse(struct qsource *s, const json_t *config, const char *name,
    spool_err *err)
{
	const json_t *o = json_object_get(config, "source"), *v;
	const char *n = json_string_value(json_object_get(o, "name"));
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	/* spoold passes the source the request named, or none when this node
	 * has no such source: the same answer either way */
	if (!json_is_object(o) || n == NULL || strcmp(n, name) != 0)
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "unknown source "
		    "'%s'", name);
	s->name = n;
	s->url = json_string_value(json_object_get(o, "url"));
	if (s->url == NULL || s->url[0] == '\0')
		return spool_fail(err, SPOOL_ERR_CONFIG, "query source '%s' has "
		    "no url", n);
	s->layers = json_object_get(o, "layers");
	if (s->layers != NULL && !json_is_array(s->layers))
		return spool_fail(err, SPOOL_ERR_CONFIG, "query source '%s': "
		    "layers is not a list", n);
	json_array_foreach(s->layers, i, v)
		if (!json_is_string(v))
			return spool_fail(err, SPOOL_ERR_CONFIG, "query source "
			    "'%s': layers[%zu] is not a string", n, i);
	v = json_object_get(o, "allow_sql");
	if (v != NULL && !json_is_boolean(v))
		return spool_fail(err, SPOOL_ERR_CONFIG, "query source '%s': "
		    "allow_sql is not a boolean", n);
	s->allow_sql = json_is_true(v);
	if ((rc = conf_int(o, "timeout_ms", 30000, 1, &s->timeout_ms,
	    err)) != SPOOL_OK ||
	    (rc = conf_int(o, "max_rows", 1000, 1, &s->max_rows,
	    err)) != SPOOL_OK ||
	    (rc = conf_int(o, "max_bytes", 64 << 20, 1024, &s->max_bytes,
	    err)) != SPOOL_OK)
		return rc;
	return SPOOL_OK;
}

int
q_layer_allowed(const struct qsource *s, const char *layer)
{
	size_t i;
	const json_t *v;

	json_array_foreach(s->layers, i, v)
		if (strcmp(json_string_value(v), layer) == 0)
			return 1;
	return 0;
}

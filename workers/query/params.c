/*
 * params.c - a query request's params and its source's settings, checked.
 *
 * The shape is the one the published schema gives
 * (schemas/query-params.schema.json), checked here by hand: the schema
 * validator is private to libspool, and the processing node judges for
 * itself what the submitting node checked.  t1020 runs both on the same
 * good and bad params, so the two cannot drift apart unnoticed.  What a
 * schema cannot say (a bbox's order) is checked here too.  Nothing is
 * looked up yet: the source's layers and fields are the backends'
 * business.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define BAD(...) spool_fail(err, SPOOL_ERR_FORMAT, "params: " __VA_ARGS__)

static int
name_ok(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) >= 1 &&
	    json_string_length(v) <= max;
}

/* [a-z0-9][a-z0-9_.-]{0,63}: a [query.source NAME] */
static int
source_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '.' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

static int
sort_key(struct qsortkey *k, const json_t *v, size_t i, spool_err *err)
{
	const char *s = json_string_value(v), *dir, *key;
	const json_t *x;

	if (s != NULL) {
		k->desc = s[0] == '-';
		k->field = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
		if (json_string_length(v) > 256 || k->field[0] == '\0' ||
		    k->field[0] == '+' || k->field[0] == '-')
			return BAD("/sortby/%zu: \"name\", \"+name\" or "
			    "\"-name\"", i);
		return SPOOL_OK;
	}
	if (!json_is_object(v))
		return BAD("/sortby/%zu: a string or {\"field\", "
		    "\"direction\"}", i);
	json_object_foreach((json_t *)v, key, x)
		if (strcmp(key, "field") != 0 && strcmp(key, "direction") != 0)
			return BAD("/sortby/%zu: unknown property \"%s\"", i,
			    key);
	if (!name_ok(json_object_get(v, "field"), 255))
		return BAD("/sortby/%zu/field: a name of 1 to 255 bytes", i);
	k->field = json_string_value(json_object_get(v, "field"));
	x = json_object_get(v, "direction");
	dir = json_string_value(x);
	if (x != NULL && (dir == NULL || (strcmp(dir, "asc") != 0 &&
	    strcmp(dir, "desc") != 0)))
		return BAD("/sortby/%zu/direction: must be one of \"asc\", "
		    "\"desc\"", i);
	k->desc = dir != NULL && strcmp(dir, "desc") == 0;
	return SPOOL_OK;
}

static int
int_in(const json_t *v, json_int_t min, json_int_t max)
{
	return json_is_integer(v) && json_integer_value(v) >= min &&
	    json_integer_value(v) <= max;
}

/* The schema's rules, one by one, in its words. */
static int
check_shape(const json_t *p, spool_err *err)
{
	static const char *const known[] = {
		"source", "layer", "bbox", "filter", "properties", "sortby",
		"limit", "offset", "format", "sql", "params", "fresh", NULL
	};
	static const char *const not_with_sql[] = {
		"bbox", "filter", "properties", "sortby", "offset", NULL
	};
	const char *key, *f;
	const json_t *v, *x;
	size_t i, k;

	json_object_foreach((json_t *)p, key, v) {
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(known[k], key) == 0)
				break;
		if (known[k] == NULL)
			return BAD("/: unknown property \"%s\"", key);
	}
	if (!source_ok(json_string_value(json_object_get(p, "source"))))
		return BAD("/source: does not match pattern "
		    "^[a-z0-9][a-z0-9_.-]{0,63}$");
	if ((v = json_object_get(p, "layer")) != NULL && !name_ok(v, 255))
		return BAD("/layer: a name of 1 to 255 bytes");
	if ((v = json_object_get(p, "bbox")) != NULL) {
		if (!json_is_array(v) || (json_array_size(v) != 4 &&
		    json_array_size(v) != 6))
			return BAD("/bbox: 4 or 6 numbers");
		json_array_foreach(v, i, x)
			if (!json_is_number(x))
				return BAD("/bbox/%zu: must be number", i);
	}
	if ((v = json_object_get(p, "filter")) != NULL) {
		if (!json_is_object(v))
			return BAD("/filter: must be object");
		if (!json_is_string(json_object_get(v, "op")) ||
		    !json_is_array(json_object_get(v, "args")))
			return BAD("/filter: {\"op\": OP, \"args\": [...]}");
		if (json_array_size(json_object_get(v, "args")) < 1 ||
		    json_array_size(json_object_get(v, "args")) > 1000)
			return BAD("/filter/args: 1 to 1000 items");
	}
	if ((v = json_object_get(p, "properties")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 1000)
			return BAD("/properties: an array of at most 1000 names");
		json_array_foreach(v, i, x)
			if (!name_ok(x, 255))
				return BAD("/properties/%zu: a name of 1 to 255 "
				    "bytes", i);
	}
	if ((v = json_object_get(p, "sortby")) != NULL &&
	    (!json_is_array(v) || json_array_size(v) > 16))
		return BAD("/sortby: an array of at most 16 keys");
	if ((v = json_object_get(p, "limit")) != NULL &&
	    !int_in(v, 1, 1000000000))
		return BAD("/limit: an integer from 1 to 1000000000");
	if ((v = json_object_get(p, "offset")) != NULL &&
	    !int_in(v, 0, 1000000000))
		return BAD("/offset: an integer from 0 to 1000000000");
	if ((v = json_object_get(p, "format")) != NULL) {
		f = json_string_value(v);
		if (f == NULL || (strcmp(f, "geojson") != 0 &&
		    strcmp(f, "csv") != 0 && strcmp(f, "jsonl") != 0 &&
		    strcmp(f, "gpkg") != 0))
			return BAD("/format: must be one of \"geojson\", "
			    "\"csv\", \"jsonl\", \"gpkg\"");
	}
	if ((v = json_object_get(p, "sql")) != NULL && !name_ok(v, 65536))
		return BAD("/sql: a statement of 1 to 65536 bytes");
	if ((v = json_object_get(p, "params")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 100)
			return BAD("/params: an array of at most 100 values");
		json_array_foreach(v, i, x)
			if (!json_is_string(x) && !json_is_number(x) &&
			    !json_is_boolean(x) && !json_is_null(x))
				return BAD("/params/%zu: a string, number, "
				    "boolean or null", i);
	}
	if ((v = json_object_get(p, "fresh")) != NULL && !json_is_boolean(v))
		return BAD("/fresh: must be boolean");
	if (json_object_get(p, "sql") != NULL)
		for (k = 0; not_with_sql[k] != NULL; k++)
			if (json_object_get(p, not_with_sql[k]) != NULL)
				return BAD("/%s: not with sql", not_with_sql[k]);
	if (json_object_get(p, "sql") == NULL &&
	    json_object_get(p, "params") != NULL)
		return BAD("/params: only with sql");
	return SPOOL_OK;
}

int
q_params_parse(struct qreq *r, const json_t *params, spool_err *err)
{
	const json_t *v;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	r->limit = -1;
	if (!json_is_object(params))
		return spool_fail(err, SPOOL_ERR_FORMAT, "the request has no "
		    "params");
	if (!json_is_string(json_object_get(params, "source")))
		return BAD("no source (the name of a query source of the "
		    "processing node)");
	if (json_object_get(params, "layer") == NULL &&
	    json_object_get(params, "sql") == NULL)
		return BAD("neither layer nor sql");
	if (json_object_get(params, "layer") != NULL &&
	    json_object_get(params, "sql") != NULL)
		return BAD("layer and sql are exclusive");
	if ((rc = check_shape(params, err)) != SPOOL_OK)
		return rc;
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
		size_t h = json_array_size(v) / 2;

		r->has_bbox = 1;
		r->bbox[0] = json_number_value(json_array_get(v, 0));
		r->bbox[1] = json_number_value(json_array_get(v, 1));
		r->bbox[2] = json_number_value(json_array_get(v, h));
		r->bbox[3] = json_number_value(json_array_get(v, h + 1));
		for (i = 0; i < 4; i++)
			if (!isfinite(r->bbox[i]))
				return BAD("/bbox: not a number");
		if (fabs(r->bbox[0]) > 180 || fabs(r->bbox[2]) > 180 ||
		    fabs(r->bbox[1]) > 90 || fabs(r->bbox[3]) > 90)
			return BAD("/bbox: outside [-180, -90, 180, 90] (it is "
			    "longitude, latitude in CRS84)");
		if (r->bbox[1] > r->bbox[3])
			return BAD("/bbox: miny %g > maxy %g", r->bbox[1],
			    r->bbox[3]);
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

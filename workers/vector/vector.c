/*
 * vector - the worker of vector requests (docs/WORKERS.md,
 * docs/DECISIONS.md "Vector"): any common vector format into a clean
 * GeoPackage, and into PostGIS in parallel chunks.
 *
 * Stages (the job plan's names):
 *   convert  the upload -> <stem>.gpkg, metadata.json, item.json,
 *            preview.png; plans "create" when this node has a PostGIS
 *   create   the tables (pg.c); plans one "load" per chunk
 *   load     one fid range of one layer, COPY'd in one transaction
 *   finish   GiST index, ANALYZE, the swap (replace) or the insert (append)
 *
 * GDAL opens hostile files here; the sandbox is entered after init, so
 * nothing but the task's directory and the database port is reachable.
 */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "spool/base/util.h"
#include "vector.h"

static char gdal_failed[256]; /* (log_gdal) */

/* "yes"/"no", true/false, 1/0; def when absent or unknown */
static int
param_bool(const json_t *v, int def)
{
	const char *s = json_string_value(v);

	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (s == NULL)
		return def;
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "on") || !strcmp(s, "1"))
		return 1;
	if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "off") || !strcmp(s, "0"))
		return 0;
	return def;
}

static const char *
pstr(struct spool_worker_task *t, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(t->params, key));

	if (s == NULL || *s == '\0')
		s = json_string_value(json_object_get(t->config, key));
	return s != NULL && *s != '\0' ? s : def;
}

static int
layer_wanted(const json_t *want, const char *name)
{
	size_t i;
	json_t *v;

	if (want == NULL || json_is_null(want))
		return 1;
	if (json_is_string(want)) {
		char **l = CSLTokenizeString2(json_string_value(want), ",",
		    CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
		int r = CSLFindString(l, name) >= 0;

		CSLDestroy(l);
		return r;
	}
	json_array_foreach(want, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

/* Params of the wrong JSON type are refused by name, not taken for
 * their default: "srs": 3857 is no CRS. */
static int
check_param_types(struct spool_worker_task *t)
{
	static const char *const strings[] = { "srs", "invalid",
	    "target_schema", "target_table", "load_method", NULL };
	const json_t *want = json_object_get(t->params, "layers");
	size_t i;
	json_t *v;

	for (i = 0; strings[i] != NULL; i++) {
		v = json_object_get(t->params, strings[i]);
		if (v != NULL && !json_is_null(v) && !json_is_string(v))
			return spool_worker_fail(t, 1, "%s must be a string",
			    strings[i]);
	}
	if (want == NULL || json_is_null(want))
		return 0;
	if (json_is_string(want) && strspn(json_string_value(want),
	    ", \t") < strlen(json_string_value(want)))
		return 0;
	if (json_is_array(want) && json_array_size(want) > 0) {
		json_array_foreach(want, i, v)
			if (!json_is_string(v) || *json_string_value(v) == '\0')
				break;
		if (i == json_array_size(want))
			return 0;
	}
	return spool_worker_fail(t, 1, "layers must name layers: a list of "
	    "names, or names separated by commas");
}

/* The CRS a user asks for, in a form that names it (EPSG:n, an OGC
 * URN, WKT, PROJJSON, a +proj string), never a file or a URL that
 * OSRSetFromUserInput would read; and one a map is drawn in. */
static int
srs_param(struct spool_worker_task *t, const char *in,
    OGRSpatialReferenceH srs)
{
	size_t n = strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_");
	int named = (n > 0 && (in[n] == '[' || in[n] == '(' ||
	    in[n] == '\0' || /* WGS84, NAD27: a word, not a path */
	    (in[n] == ':' && strncasecmp(in, "http", 4) != 0 &&
	    strncasecmp(in, "file", 4) != 0))) || in[0] == '{' ||
	    strncasecmp(in, "urn:ogc:def:crs:", 16) == 0 ||
	    (strncmp(in, "+proj=", 6) == 0 && strstr(in, "init") == NULL);

	if (!named)
		return spool_worker_fail(t, 1, "srs '%.32s': write EPSG:n, WKT, "
		    "PROJJSON or a +proj= string", in);
	if (OSRSetFromUserInput(srs, in) != OGRERR_NONE)
		return spool_worker_fail(t, 1, "srs '%.32s' is not a CRS GDAL "
		    "knows", in);
	if (!(OSRIsGeographic(srs) || OSRIsProjected(srs)) ||
	    OSRIsGeocentric(srs))
		return spool_worker_fail(t, 1, "srs '%.32s' is not a geographic "
		    "or projected CRS", in);
	return 0;
}

/* The params that matter only later, checked before any work. */
static int
check_pg_params(struct spool_worker_task *t)
{
	const char *schema = pstr(t, "target_schema", "geo");
	const char *table = pstr(t, "target_table", NULL);
	const char *method = pstr(t, "load_method", "replace");

	if (!vec_valid_ident(schema))
		return spool_worker_fail(t, 1, "target_schema '%.32s' is not "
		    "[a-z0-9_]{1,63}", schema);
	if (table != NULL && !vec_valid_ident(table))
		return spool_worker_fail(t, 1, "target_table '%.32s' is not "
		    "[a-z0-9_]{1,63}", table);
	if (strcmp(method, "replace") != 0 && strcmp(method, "append") != 0)
		return spool_worker_fail(t, 1, "load_method '%.32s' is not "
		    "replace or append", method);
	return 0;
}

static int
postgis_wanted(struct spool_worker_task *t)
{
	const char *url = json_string_value(json_object_get(t->config,
	    "postgis"));

	return url != NULL && *url != '\0' &&
	    param_bool(json_object_get(t->params, "postgis"), 1);
}

/* The "create" stage's plan: the layers to load and where. */
static json_t *
pg_plan(struct spool_worker_task *t, const struct vec_source *src,
    const char *gpkg, const struct vec_report *rep, int epsg)
{
	const char *table = pstr(t, "target_table", NULL);
	const json_t *cf = json_object_get(t->params, "chunk_features");
	json_int_t chunk = 10000;
	size_t i, n = json_array_size(rep->layers);
	json_t *lo, *ls = json_array(), *seen = json_object();

	if (!json_is_integer(cf))
		cf = json_object_get(t->config, "chunk_features");
	if (json_is_integer(cf) && json_integer_value(cf) > 0)
		chunk = json_integer_value(cf);
	else if (json_is_string(cf) && atoll(json_string_value(cf)) > 0)
		chunk = atoll(json_string_value(cf));
	json_array_foreach(rep->layers, i, lo) {
		const char *name = json_string_value(json_object_get(lo,
		    "name"));
		char tn[64], t2[80];
		int k;

		vec_table_name(tn, sizeof(tn), table ? table : src->stem, name,
		    n > 1);
		snprintf(t2, sizeof(t2), "%s", tn);
		for (k = 2; json_object_get(seen, t2) != NULL; k++)
			snprintf(t2, sizeof(t2), "%.58s_%d", tn, k);
		json_object_set_new(seen, t2, json_true());
		json_array_append_new(ls, json_pack("{s:s, s:s, s:O, s:O}",
		    "layer", name, "table", t2, "geometry_type",
		    json_object_get(lo, "geometry_type"), "features",
		    json_object_get(lo, "features")));
	}
	json_decref(seen);
	return json_pack("{s:s, s:o, s:s, s:s, s:I, s:i}", "gpkg", gpkg,
	    "layers", ls, "target_schema", pstr(t, "target_schema", "geo"),
	    "load_method", pstr(t, "load_method", "replace"),
	    "chunk_features", chunk, "srid", epsg);
}

static int
convert(struct spool_worker_task *t)
{
	const json_t *in0 = json_array_get(t->inputs, 0);
	const char *name = json_string_value(json_object_get(in0, "name"));
	const char *srs_in = pstr(t, "srs", "EPSG:4326");
	const char *inv = pstr(t, "invalid", "repair");
	const json_t *want = json_object_get(t->params, "layers");
	const char *reqid = json_string_value(json_object_get(t->task,
	    "request"));
	struct vec_source src;
	struct vec_options o;
	struct vec_report rep;
	char path[4096], gpkg[300], gpath[320], *err = NULL;
	GDALDatasetH ds = NULL;
	json_t *meta = NULL, *summary = NULL, *lo, *item = NULL;
	double bb[4] = { 0 }, lbb[4];
	int i, n, r = -1, have_bb = 0, preview = 0;
	size_t k;

	memset(&src, 0, sizeof(src));
	memset(&o, 0, sizeof(o));
	memset(&rep, 0, sizeof(rep));
	gdal_failed[0] = '\0';
	if (name == NULL || spool_worker_input(t, NULL, path, sizeof(path)) ==
	    NULL)
		return spool_worker_fail(t, 1, "convert: no input file");
	if (check_param_types(t) != 0)
		return -1;
	if (strcmp(inv, "repair") == 0)
		o.invalid = VEC_INVALID_REPAIR;
	else if (strcmp(inv, "skip") == 0)
		o.invalid = VEC_INVALID_SKIP;
	else if (strcmp(inv, "fail") == 0)
		o.invalid = VEC_INVALID_FAIL;
	else
		return spool_worker_fail(t, 1, "invalid = '%.32s': use repair, "
		    "skip or fail", inv);
	o.split_by_type = param_bool(json_object_get(t->params,
	    "split_by_type"), 0);
	if (postgis_wanted(t) && check_pg_params(t) != 0)
		return -1;
	o.srs = OSRNewSpatialReference(NULL);
	if (srs_param(t, srs_in, o.srs) != 0) {
		OSRDestroySpatialReference(o.srs);
		return -1;
	}
	OSRSetAxisMappingStrategy(o.srs, OAMS_TRADITIONAL_GIS_ORDER);
	if (OSRAutoIdentifyEPSG(o.srs) == OGRERR_NONE &&
	    OSRGetAuthorityCode(o.srs, NULL) != NULL)
		o.srs_epsg = atoi(OSRGetAuthorityCode(o.srs, NULL));
	if (o.srs_epsg > 0)
		snprintf(o.srs_name, sizeof(o.srs_name), "EPSG:%d", o.srs_epsg);
	else
		snprintf(o.srs_name, sizeof(o.srs_name), "%s", srs_in);
	spool_text_line(o.srs_name, sizeof(o.srs_name) - 1);

	if (vec_source_open(&src, path, name, &err) != 0) {
		spool_worker_fail(t, 1, "%s", err);
		goto out;
	}
	snprintf(gpkg, sizeof(gpkg), "%s.gpkg", src.stem);
	snprintf(gpath, sizeof(gpath), "out/%s", gpkg);
	unlink(gpath);
	ds = GDALCreate(GDALGetDriverByName("GPKG"), gpath, 0, 0, 0,
	    GDT_Unknown, NULL);
	if (ds == NULL) {
		spool_worker_fail(t, 0, "cannot create %s: %s", gpkg,
		    CPLGetLastErrorMsg());
		goto out;
	}
	rep.layers = json_array();
	rep.tables = json_array();
	rep.failed = json_array();
	rep.skipped = json_array();
	n = GDALDatasetGetLayerCount(src.ds);
	if (json_is_array(want) || json_is_string(want)) {
		/* every layer asked for must exist */
		json_t *v;
		char **names = json_is_string(want) ? CSLTokenizeString2(
		    json_string_value(want), ",", CSLT_STRIPLEADSPACES |
		    CSLT_STRIPENDSPACES) : NULL;
		size_t nw = names ? (size_t)CSLCount(names) :
		    json_array_size(want);

		for (k = 0; k < nw; k++) {
			const char *w = names ? names[k] :
			    json_string_value(json_array_get(want, k));

			if (w == NULL || GDALDatasetGetLayerByName(src.ds, w) ==
			    NULL) {
				spool_worker_fail(t, 1, "layers: the upload has "
				    "no layer '%.64s'", w ? w : "?");
				CSLDestroy(names);
				goto out;
			}
		}
		CSLDestroy(names);
		(void)v;
	}
	for (i = 0; i < n; i++) {
		OGRLayerH l = GDALDatasetGetLayer(src.ds, i);
		const char *ln = OGR_L_GetName(l);
		char shown[256];

		if (!layer_wanted(want, ln))
			continue;
		if (spool_text_utf8(shown, sizeof(shown), ln) != ln) {
			/* its output's name, and every report of it, would not
			 * be text */
			json_array_append_new(rep.failed, json_pack("{s:s, s:s}",
			    "name", shown, "reason", "the layer's name is not "
			    "UTF-8: rename it (or its file)"));
			continue;
		}
		if (vec_gpkg_layer(t, ds, &src, l, &o, &rep, 0.9 * i / n,
		    0.9 / n) != 0)
			goto out;
	}
	CPLErrorReset();
	GDALClose(ds);
	if (CPLGetLastErrorType() >= CE_Failure) {
		ds = NULL;
		spool_worker_fail(t, 0, "cannot write %s: %s", gpkg,
		    CPLGetLastErrorMsg());
		goto out;
	}
	ds = NULL;
	if (json_array_size(rep.layers) == 0 &&
	    json_array_size(rep.tables) == 0) {
		lo = json_array_get(rep.failed, 0);
		if (lo != NULL)
			spool_worker_fail(t, 1, "no layer could be written: %s%s",
			    json_string_value(json_object_get(lo, "reason")),
			    json_array_size(rep.failed) > 1 ? " (and more in "
			    "metadata)" : "");
		else if (n == 0 && gdal_failed[0] != '\0')
			/* a .shp without its .shx, an encrypted zip: GDAL said
			 * why it found no layer */
			spool_worker_fail(t, 1, "no layer could be written: GDAL "
			    "found no layer in the upload: %s", gdal_failed);
		else
			spool_worker_fail(t, 1, "no layer could be written: the "
			    "upload holds no %s", n == 0 ? "layer" :
			    "features");
		unlink(gpath);
		goto out;
	}
	json_array_foreach(rep.layers, k, lo) {
		json_t *b = json_object_get(lo, "bbox");

		if (!json_is_array(b))
			continue;
		for (i = 0; i < 4; i++)
			lbb[i] = json_number_value(json_array_get(b, i));
		if (!have_bb)
			memcpy(bb, lbb, sizeof(bb));
		if (lbb[0] < bb[0]) bb[0] = lbb[0];
		if (lbb[1] < bb[1]) bb[1] = lbb[1];
		if (lbb[2] > bb[2]) bb[2] = lbb[2];
		if (lbb[3] > bb[3]) bb[3] = lbb[3];
		have_bb = 1;
	}
	spool_worker_progress(t, 0.92, "preview");
	meta = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:b, s:s}",
	    "source", "name", name, "format", src.format, "driver", src.driver,
	    "gpkg", gpkg, "crs", o.srs_name, "split_by_type", o.split_by_type,
	    "invalid", inv);
	if (have_bb) {
		json_t *lb = vec_leaflet_bounds(bb);

		json_object_set_new(meta, "bbox", json_pack("[f,f,f,f]", bb[0],
		    bb[1], bb[2], bb[3]));
		json_object_set_new(meta, "leaflet_bounds", lb);
		if (vec_preview(gpath, rep.layers, lb, rep.rtrees,
		    rep.nrtrees, o.srs, "out/preview.png", &err) != 0) {
			spool_worker_fail(t, 0, "cannot draw preview.png: %s",
			    err);
			goto out;
		}
		preview = 1;
		json_object_set_new(meta, "preview", json_string("preview.png"));
	} else {
		json_object_set_new(meta, "bbox", json_null());
		json_object_set_new(meta, "leaflet_bounds", json_null());
	}
	/* the spatial indexes, once the preview has drawn the points */
	if (rep.nrtrees > 0 && vec_rtree_write(gpath, rep.rtrees, rep.nrtrees,
	    &err) != 0) {
		spool_worker_fail(t, 0, "cannot write %s: %s", gpkg, err);
		goto out;
	}
	json_object_set(meta, "layers", rep.layers);
	json_object_set(meta, "tables", rep.tables);
	json_object_set(meta, "failed_layers", rep.failed);
	json_object_set(meta, "skipped_layers", rep.skipped);
	if (postgis_wanted(t))
		json_object_set_new(meta, "postgis", json_pack("{s:s, s:s}",
		    "target_schema", pstr(t, "target_schema", "geo"),
		    "load_method", pstr(t, "load_method", "replace")));
	if (vec_write_json("out/metadata.json", meta) != 0) {
		spool_worker_fail(t, 0, "cannot write metadata.json: %s",
		    strerror(errno));
		goto out;
	}
	item = vec_stac_item(reqid ? reqid : src.stem, have_bb ? bb : NULL,
	    gpkg, o.srs_epsg, preview);
	if (vec_write_json("out/item.json", item) != 0) {
		spool_worker_fail(t, 0, "cannot write item.json: %s",
		    strerror(errno));
		goto out;
	}
	spool_worker_output(t, gpkg, gpath, "data",
	    "application/geopackage+sqlite3");
	spool_worker_output(t, "metadata.json", "out/metadata.json",
	    "metadata", "application/json");
	spool_worker_output(t, "item.json", "out/item.json", "metadata",
	    "application/geo+json");
	if (preview)
		spool_worker_output(t, "preview.png", "out/preview.png",
		    "overview", "image/png");

	/* the headline facts */
	summary = json_pack("{s:s, s:s, s:[], s:O, s:O, s:O}", "gpkg", gpkg,
	    "crs", o.srs_name, "layers", "tables", rep.tables,
	    "failed_layers", rep.failed, "skipped_layers", rep.skipped);
	json_array_foreach(rep.layers, k, lo)
		json_array_append_new(json_object_get(summary, "layers"),
		    json_pack("{s:O, s:O, s:O, s:O, s:O}",
		    "name", json_object_get(lo, "name"),
		    "geometry_type", json_object_get(lo, "geometry_type"),
		    "features", json_object_get(lo, "features"),
		    "bbox", json_object_get(lo, "bbox"),
		    "leaflet_bounds", json_object_get(lo, "leaflet_bounds")));
	json_object_set(summary, "bbox", json_object_get(meta, "bbox"));
	json_object_set(summary, "leaflet_bounds", json_object_get(meta,
	    "leaflet_bounds"));
	if (preview)
		json_object_set_new(summary, "preview", json_string(
		    "preview.png"));
	json_object_set_new(t->answer, "summary", summary);
	if (postgis_wanted(t) && json_array_size(rep.layers) > 0) {
		if (o.srs_epsg <= 0) {
			spool_worker_fail(t, 1, "srs '%.32s' has no EPSG code, so "
			    "PostGIS cannot be given an SRID", srs_in);
			goto out;
		}
		json_object_set_new(t->answer, "next", json_pack("[o]",
		    pg_plan(t, &src, gpkg, &rep, o.srs_epsg)));
	}
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	if (ds != NULL)
		GDALClose(ds);
	vec_source_close(&src);
	if (o.srs != NULL)
		OSRDestroySpatialReference(o.srs);
	json_decref(rep.layers);
	json_decref(rep.tables);
	json_decref(rep.failed);
	json_decref(rep.skipped);
	for (k = 0; k < rep.nrtrees; k++)
		vec_rtree_release(&rep.rtrees[k]);
	free(rep.rtrees);
	json_decref(meta);
	json_decref(item);
	free(err);
	return r;
}

static int
vector_task(struct spool_worker_task *t)
{
	const char *stage = json_string_value(json_object_get(t->task,
	    "stage"));

	CPLErrorReset();
	if (stage == NULL)
		return spool_worker_fail(t, 1, "the task names no stage");
	if (strcmp(stage, "convert") == 0)
		return convert(t);
	if (strcmp(stage, "create") == 0)
		return vec_pg_create(t);
	if (strcmp(stage, "load") == 0)
		return vec_pg_load(t);
	if (strcmp(stage, "finish") == 0)
		return vec_pg_finish(t);
	return spool_worker_fail(t, 1, "unknown vector stage '%s'", stage);
}

/* GDAL's messages go to the log, one line each; the first error of a
 * task is kept, for a failure GDAL caused without saying so otherwise. */
static void
log_gdal(CPLErr e, CPLErrorNum num, const char *m)
{
	(void)num;
	if (e >= CE_Failure && gdal_failed[0] == '\0')
		snprintf(gdal_failed, sizeof(gdal_failed), "%s", m);
	if (e >= CE_Warning)
		fprintf(stderr, "event=gdal level=%s msg=%s\n", e == CE_Warning ?
		    "warning" : "error", SPOOL_LQ(m));
}

static int
vector_init(void)
{
	GDALAllRegister();
	CPLSetErrorHandler(log_gdal);
	/* the GeoPackage is a task's output: a crash reruns the task, so
	 * SQLite need not sync each commit (the file is fsync'd when
	 * spoold takes it) */
	CPLSetConfigOption("OGR_SQLITE_SYNCHRONOUS", "OFF");
	CPLSetConfigOption("OGR_SQLITE_CACHE", "128");
	CPLSetConfigOption("GDAL_HTTP_TIMEOUT", "1");
	CPLSetConfigOption("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", "none");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct spool_worker_kind kind = {
		.name = "vector",
		.init = vector_init,
		.run = vector_task,
		.needs = SPOOL_SANDBOX_NET,
	};
	int r = spool_worker_main(argc, argv, &kind);

	GDALDestroyDriverManager();
	return r;
}

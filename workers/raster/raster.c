/*
 * raster - the worker that turns a dropped raster into what a GIS and a
 * web map need (docs/WORKERS.md, DESIGN.md section 5, issue 16): a Cloud
 * Optimized GeoTIFF, preview.png, metadata.json and a STAC Item; or, for
 * a raster too big for one task, a plan of tiles, a COG and Item per
 * tile, then a VRT mosaic, a STAC Collection and one preview.
 *
 * Stages (the task's "stage"): "raster" (validate, then everything, or
 * the tile plan), "tile" (one window), "mosaic" (the whole from the
 * tiles).  The worker reads its input from in/, writes only out/ and
 * tmp/, and runs GDAL inside the sandbox spool_worker_main enters after
 * init.  It never modifies a COG once written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include "raster.h"

#define DEFAULT_CACHEMAX ((int64_t)256 << 20)
#define DEFAULT_TILE_THRESHOLD ((int64_t)2 << 30)

static int
raster_init(void)
{
	GDALAllRegister();
	rerr_install();
	/* the COG driver's temporary overviews (tmp/, deleted when the COG
	 * is written) uncompressed: GDAL's default ZSTD costs 9% of the
	 * CPU of a COG and changes no byte of it (docs/DECISIONS.md) */
	CPLSetConfigOption("COG_TMP_COMPRESSION", "NONE");
	return 0;
}

void
rtask_setup(struct spool_worker_task *t)
{
	char tmp[RASTER_PATH];

	(void)mkdir("out", 0700);
	(void)mkdir("tmp", 0700);
	snprintf(tmp, sizeof(tmp), "%s/tmp", t->dir);
	CPLSetConfigOption("CPL_TMPDIR", tmp);
	rerr_strip(t->dir);
	GDALSetCacheMax64(t->cachemax > 0 ? t->cachemax : DEFAULT_CACHEMAX);
	CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", NULL);
	rerr_reset();
}

int
rfail_gdal(struct spool_worker_task *t, const char *what)
{
	char why[900];

	rerr_text(why, sizeof(why), "GDAL gave no reason");
	return spool_worker_fail(t, !rerr_transient(), "%s: %s", what, why);
}

int
rfail_again(struct spool_worker_task *t, const char *fmt, ...)
{
	const char *e = json_string_value(json_object_get(t->answer, "error"));
	int permanent = json_is_true(json_object_get(t->answer, "permanent"));
	char who[RASTER_PATH], was[SPOOL_WORKER_ERROR_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(who, sizeof(who), fmt, ap);
	va_end(ap);
	snprintf(was, sizeof(was), "%s", e ? e : "?");
	return spool_worker_fail(t, permanent, "%s: %s", who, was);
}

int
routput(struct spool_worker_task *t, const char *name, const char *role,
    const char *type, json_t *hashes)
{
	char path[RASTER_PATH], hex[65];
	uint64_t size = 0;

	snprintf(path, sizeof(path), "out/%s", name);
	if (hashes != NULL) {
		if (rhash_file(path, hex, &size) != 0)
			return spool_worker_fail(t, 0, "cannot read back %s: %s",
			    name, strerror(errno));
		json_object_set_new(hashes, name, json_pack("{s:s, s:I}",
		    "blake2b_256", hex, "size", (json_int_t)size));
	}
	if (spool_worker_output(t, name, path, role, type) != 0)
		return spool_worker_fail(t, 0, "out of memory");
	return 0;
}

/* The COG's hash, computed on the other core while the preview renders
 * (a big COG's BLAKE2b costs about what the preview does). */
struct bg_hash {
	pthread_t th;
	char path[RASTER_PATH], hex[65];
	uint64_t size;
	int r, started;
};

static void *
bg_hash_run(void *arg)
{
	struct bg_hash *h = arg;

	h->r = rhash_file(h->path, h->hex, &h->size);
	return NULL;
}

static int
preview_size(struct spool_worker_task *t, int *n)
{
	const json_t *v = json_object_get(t->params, "preview_size");
	json_int_t i;
	char *end;

	*n = 1024;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		i = strtoll(json_string_value(v), &end, 10);
		if (end == json_string_value(v) || *end != '\0')
			i = 0; /* "8192x" is no number of pixels */
	} else if (json_is_integer(v))
		i = json_integer_value(v);
	else
		i = 0;
	if (i < 16 || i > 8192)
		return spool_worker_fail(t, 1, "preview_size must be 16 to 8192 "
		    "pixels");
	*n = (int)i;
	return 0;
}

json_t *
rsummary(const struct rinfo *ri, const struct rbounds *b)
{
	json_t *s = json_object();

	json_object_set_new(s, "crs", rmeta_crs_short(ri));
	json_object_set_new(s, "bounds", rbounds_json(b));
	json_object_set_new(s, "leaflet_bounds", rbounds_leaflet(b));
	json_object_set_new(s, "width", json_integer(ri->width));
	json_object_set_new(s, "height", json_integer(ri->height));
	json_object_set_new(s, "bands", json_integer(ri->bands));
	if (rbounds_note(ri, b) != NULL)
		json_object_set_new(s, "note", json_string(rbounds_note(ri, b)));
	return s;
}

/* Stage "raster": validate; the COG, preview, metadata and Item, or the
 * tile plan. */
static int
stage_raster(struct spool_worker_task *t)
{
	struct rsrc s;
	struct rcog_opts o;
	struct rinfo ci;
	struct rbounds b;
	char cog[RASTER_MAX_NAME + 8], path[RASTER_PATH], aux[RASTER_PATH];
	char what[RASTER_MAX_NAME + 64], why[512];
	json_t *hashes = NULL, *bands = NULL, *item = NULL, *meta = NULL, *sum;
	GDALDatasetH ds = NULL;
	struct bg_hash bg;
	int psize, pw = 0, ph = 0, r = -1;

	memset(&ci, 0, sizeof(ci));
	memset(&bg, 0, sizeof(bg));
	if (preview_size(t, &psize) != 0 || rsrc_open(t, NULL, &s) != 0)
		return -1;
	if (rcog_opts(t, &s.info, &o) != 0)
		goto out;
	if (s.info.pixel_bytes >= (uint64_t)rcfg_size(t->config,
	    "tile_threshold", DEFAULT_TILE_THRESHOLD)) {
		r = rtile_plan(t, &s, &o);
		goto out;
	}
	snprintf(cog, sizeof(cog), "%s.tif", s.stem);
	snprintf(path, sizeof(path), "out/%s", cog);
	snprintf(what, sizeof(what), "'%s': cannot make the COG", s.name);
	if (spool_worker_progress(t, 0.01, "cog"))
		goto out;
	if (rcog_make(t, &s, &o, NULL, NULL, path, 0.0, 0.8) != 0) {
		/* say which file, keep GDAL's reason */
		rfail_again(t, "'%s'", s.name);
		goto out;
	}
	if (rcog_check(path, why, sizeof(why)) != 0) {
		spool_worker_fail(t, 1, "'%s': the COG failed its check: %s",
		    s.name, why);
		goto out;
	}
	if ((ds = ropen_own(path)) == NULL) {
		rfail_gdal(t, "cannot reopen the COG");
		goto out;
	}
	if (rinfo_read(ds, &ci, why, sizeof(why)) != 0) {
		spool_worker_fail(t, 1, "the COG: %s", why);
		goto out;
	}
	rbounds_compute(&ci, &b);
	hashes = json_object();
	snprintf(bg.path, sizeof(bg.path), "%s", path);
	bg.started = pthread_create(&bg.th, NULL, bg_hash_run, &bg) == 0;
	if (!bg.started)
		bg_hash_run(&bg);
	if (spool_worker_output(t, cog, path, "data", RASTER_COG_TYPE) != 0) {
		spool_worker_fail(t, 0, "out of memory");
		goto out;
	}
	/* what GeoTIFF cannot hold (a raster attribute table) GDAL keeps
	 * beside it: it travels too */
	if ((size_t)snprintf(aux, sizeof(aux), "%s.aux.xml", path) <
	    sizeof(aux) && rfile_exists(aux)) {
		snprintf(what, sizeof(what), "%s.aux.xml", cog);
		if (routput(t, what, "metadata", "application/xml", hashes) != 0)
			goto out;
	}
	if (spool_worker_progress(t, 0.82, "preview"))
		goto out;
	if (rpreview_make(t, ds, &ci, &b, psize, "out/preview.png", &pw,
	    &ph) != 0 || routput(t, "preview.png", "overview", "image/png",
	    hashes) != 0)
		goto out;
	if (bg.started) {
		pthread_join(bg.th, NULL);
		bg.started = 0;
	}
	if (bg.r != 0) {
		spool_worker_fail(t, 0, "cannot read back %s", cog);
		goto out;
	}
	json_object_set_new(hashes, cog, json_pack("{s:s, s:I}", "blake2b_256",
	    bg.hex, "size", (json_int_t)bg.size));
	if (spool_worker_progress(t, 0.95, "metadata"))
		goto out;
	bands = rmeta_bands(ds, 1);
	item = rstac_item(s.stem, ds, &ci, &b, bands, cog, "preview.png",
	    "metadata.json", NULL);
	if (rwrite_json(t, "item.json", item) != 0 || routput(t, "item.json",
	    "metadata", "application/geo+json", hashes) != 0)
		goto out;
	meta = rmeta_build(ds, &ci, &s.info, &b, &o, json_incref(bands),
	    hashes);
	json_object_set_new(meta, "preview", json_pack("{s:s, s:i, s:i}",
	    "name", "preview.png", "width", pw, "height", ph));
	json_object_set_new(meta, "cog", json_string(cog));
	json_object_set_new(meta, "item", json_string("item.json"));
	if (rwrite_json(t, "metadata.json", meta) != 0 || routput(t,
	    "metadata.json", "metadata", "application/json", NULL) != 0)
		goto out;
	sum = rsummary(&ci, &b);
	json_object_set_new(sum, "cog", json_string(cog));
	json_object_set_new(sum, "preview", json_string("preview.png"));
	json_object_set_new(sum, "metadata", json_string("metadata.json"));
	json_object_set_new(sum, "item", json_string("item.json"));
	json_object_set_new(sum, "tiled", json_false());
	json_object_set_new(sum, "reprojected", o.reproject[0] ?
	    json_string(o.reproject) : json_null());
	json_object_set_new(t->answer, "summary", sum);
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	if (bg.started)
		pthread_join(bg.th, NULL);
	json_decref(item);
	json_decref(meta);
	json_decref(bands);
	json_decref(hashes);
	rinfo_release(&ci);
	if (ds != NULL)
		GDALClose(ds);
	rsrc_close(&s);
	return r;
}

/* The next task starts with an empty tmp/ (the directory itself stays:
 * the sandbox may not let us make it again). */
static void
clear_tmp(void)
{
	char **names = VSIReadDir("tmp"), path[RASTER_PATH];
	int i;

	for (i = 0; names != NULL && names[i] != NULL; i++) {
		if (strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0)
			continue;
		snprintf(path, sizeof(path), "tmp/%s", names[i]);
		if (VSIUnlink(path) != 0)
			VSIRmdirRecursive(path);
	}
	CSLDestroy(names);
}

static int
raster_task(struct spool_worker_task *t)
{
	const char *stage = json_string_value(json_object_get(t->task,
	    "stage"));
	int r;

	rtask_setup(t);
	if (stage == NULL || strcmp(stage, "raster") == 0)
		r = stage_raster(t);
	else if (strcmp(stage, "tile") == 0)
		r = rtile_stage(t);
	else if (strcmp(stage, "mosaic") == 0)
		r = rmosaic_stage(t);
	else
		r = spool_worker_fail(t, 1, "unknown stage '%s' (raster, tile, "
		    "mosaic)", stage);
	clear_tmp();
	return r;
}

int
main(int argc, char **argv)
{
	static const struct spool_worker_kind kind = {
		.name = "raster",
		.init = raster_init,
		.run = raster_task,
	};

	return spool_worker_main(argc, argv, &kind);
}

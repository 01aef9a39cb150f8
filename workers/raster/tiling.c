/*
 * tiling.c - rasters too big for one task: the plan, one COG per tile,
 * and the mosaic.
 *
 * The plan cuts the grid into tiles of about tile_bytes of uncompressed
 * pixels, on the source's block boundaries (whole strips for a striped
 * file), rounded up to 512-pixel COG blocks where the blocks divide 512,
 * so each tile task reads only its own blocks.  With a reprojection the
 * cut is made in the target grid that GDAL suggests for the whole raster
 * (GDALSuggestedWarpOutput2, computed once here): every tile warps the
 * source onto its own window of that one grid, so the tiles share pixel
 * edges and the mosaic has no seams, gaps or overlaps.
 *
 * The mosaic stage writes a VRT of the tiles with paths relative to
 * itself (all outputs of a request land in one directory), one preview
 * of the whole, metadata.json with statistics pooled from the tiles', and
 * a STAC Collection linking the tiles' Items.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <gdal_utils.h>

#include "raster.h"

#define MAX_TILES 10000
#define DEFAULT_TILE_BYTES ((int64_t)1 << 30)

/* a unit of cutting: the block, or 512 when blocks divide it */
static int
unit(int block, int size)
{
	if (block >= size)
		return size;
	if (block < 512 && 512 % block == 0)
		return 512;
	return block;
}

static int
round_up(double v, int u)
{
	double n = ceil(v / u);

	return (int)(n < 1 ? u : n * u);
}

int
rtile_plan(struct spool_worker_task *t, struct rsrc *s,
    const struct rcog_opts *o)
{
	int64_t tile_bytes = rcfg_size(t->config, "tile_bytes",
	    DEFAULT_TILE_BYTES);
	int gw = s->info.width, gh = s->info.height, ux, uy, tw, th, nx, ny;
	int row, col, dr, dc, bands = s->info.bands;
	double ggt[6], px, side;
	struct rbounds b;
	json_t *next, *grid = NULL, *sum;
	char why[512];

	if (o->reproject[0] != '\0') {
		if (rcog_grid(s->ds, o->reproject, ggt, &gw, &gh, why,
		    sizeof(why)) != 0)
			return spool_worker_fail(t, 1, "'%s': cannot plan the "
			    "reprojection to %s: %s", s->name, o->reproject, why);
		grid = json_pack("{s:s, s:[f, f, f, f, f, f], s:i, s:i}", "srs",
		    o->reproject, "geotransform", ggt[0], ggt[1], ggt[2], ggt[3],
		    ggt[4], ggt[5], "width", gw, "height", gh);
		ux = unit(512, gw);
		uy = unit(512, gh);
		if (!s->info.all_nodata && s->info.alpha_band == 0)
			bands++; /* the alpha band the warp adds */
	} else {
		ux = unit(s->info.block_x, gw);
		uy = unit(s->info.block_y, gh);
	}
	px = (double)tile_bytes / ((double)bands *
	    GDALGetDataTypeSizeBytes(s->info.type));
	if (px < 1)
		px = 1;
	if (ux >= gw) {
		tw = gw;
		th = round_up(px / gw, uy);
	} else {
		side = sqrt(px);
		nx = (int)lround(gw / side);
		if (nx < 1)
			nx = 1;
		tw = round_up((double)gw / nx, ux);
		ny = (int)lround(gh / (px / tw));
		if (ny < 1)
			ny = 1;
		th = round_up((double)gh / ny, uy);
	}
	if (tw > gw)
		tw = gw;
	if (th > gh)
		th = gh;
	nx = (gw + tw - 1) / tw;
	ny = (gh + th - 1) / th;
	if ((int64_t)nx * ny > MAX_TILES) {
		json_decref(grid);
		return spool_worker_fail(t, 1, "'%s' would make %lld tiles (at "
		    "most %d): raise tile_bytes", s->name, (long long)nx * ny,
		    MAX_TILES);
	}
	dr = snprintf(why, sizeof(why), "%d", ny - 1);
	dc = snprintf(why, sizeof(why), "%d", nx - 1);
	next = json_array();
	for (row = 0; row < ny; row++)
		for (col = 0; col < nx; col++) {
			char name[RASTER_MAX_NAME + 32];
			json_t *p;
			int xo = col * tw, yo = row * th;

			snprintf(name, sizeof(name), "%s-r%0*d-c%0*d", s->stem, dr,
			    row, dc, col);
			p = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:s}", "xoff",
			    xo, "yoff", yo, "xsize", xo + tw > gw ? gw - xo : tw,
			    "ysize", yo + th > gh ? gh - yo : th, "row", row, "col",
			    col, "name", name);
			if (grid != NULL)
				json_object_set(p, "grid", grid);
			json_array_append_new(next, p);
		}
	json_decref(grid);
	rbounds_compute(&s->info, &b);
	sum = rsummary(&s->info, &b);
	json_object_set_new(sum, "tiled", json_true());
	json_object_set_new(sum, "tiles", json_integer(nx * ny));
	json_object_set_new(sum, "tile_rows", json_integer(ny));
	json_object_set_new(sum, "tile_cols", json_integer(nx));
	json_object_set_new(sum, "pixel_bytes",
	    json_integer((json_int_t)s->info.pixel_bytes));
	json_object_set_new(t->answer, "summary", sum);
	json_object_set_new(t->answer, "next", next);
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	return 0;
}

static int
safe_name(const char *n)
{
	size_t i;

	if (n == NULL || n[0] == '\0' || n[0] == '.' || strlen(n) > 200)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (n[i] == '/' || (unsigned char)n[i] < 0x20)
			return 0;
	return 1;
}

static int
plan_int(const json_t *plan, const char *k, int *v)
{
	const json_t *j = json_object_get(plan, k);

	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > 2147483647)
		return -1;
	*v = (int)json_integer_value(j);
	return 0;
}

int
rtile_stage(struct spool_worker_task *t)
{
	struct rsrc s;
	struct rcog_opts o;
	struct rinfo ci;
	struct rbounds b;
	struct rwin win;
	const char *name;
	char cog[RASTER_MAX_NAME + 8], itemname[RASTER_MAX_NAME + 8];
	char path[RASTER_PATH], why[512];
	double ggt[6], *gridp = NULL;
	int gw, gh, r = -1, row = 0, col = 0, i;
	json_t *bands = NULL, *item = NULL, *sum, *grid;
	GDALDatasetH ds = NULL;

	memset(&ci, 0, sizeof(ci));
	if (t->plan == NULL)
		return spool_worker_fail(t, 1, "a tile task needs its plan");
	name = json_string_value(json_object_get(t->plan, "name"));
	if (!safe_name(name) || plan_int(t->plan, "xoff", &win.xoff) ||
	    plan_int(t->plan, "yoff", &win.yoff) || plan_int(t->plan, "xsize",
	    &win.xsize) || plan_int(t->plan, "ysize", &win.ysize) ||
	    win.xsize < 1 || win.ysize < 1)
		return spool_worker_fail(t, 1, "bad tile plan");
	plan_int(t->plan, "row", &row);
	plan_int(t->plan, "col", &col);
	if (rsrc_open(t, NULL, &s) != 0)
		return -1;
	if (rcog_opts(t, &s.info, &o) != 0)
		goto out;
	gw = s.info.width;
	gh = s.info.height;
	grid = json_object_get(t->plan, "grid");
	if (o.reproject[0] != '\0') {
		const json_t *g = json_object_get(grid, "geotransform");

		if (json_array_size(g) != 6 || strcmp(o.reproject,
		    json_string_value(json_object_get(grid, "srs")) ?
		    json_string_value(json_object_get(grid, "srs")) : "") != 0) {
			spool_worker_fail(t, 1, "the tile plan has no grid for %s",
			    o.reproject);
			goto out;
		}
		for (i = 0; i < 6; i++)
			ggt[i] = json_number_value(json_array_get(g, (size_t)i));
		gridp = ggt;
		gw = (int)json_integer_value(json_object_get(grid, "width"));
		gh = (int)json_integer_value(json_object_get(grid, "height"));
	}
	if ((int64_t)win.xoff + win.xsize > gw ||
	    (int64_t)win.yoff + win.ysize > gh) {
		spool_worker_fail(t, 1, "tile %s lies outside the %dx%d grid",
		    name, gw, gh);
		goto out;
	}
	snprintf(cog, sizeof(cog), "%s.tif", name);
	snprintf(itemname, sizeof(itemname), "%s.json", name);
	snprintf(path, sizeof(path), "out/%s", cog);
	if (rcog_make(t, &s, &o, &win, gridp, path, 0.0, 0.9) != 0) {
		rfail_again(t, "'%s' tile %s", s.name, name);
		goto out;
	}
	if (rcog_check(path, why, sizeof(why)) != 0) {
		spool_worker_fail(t, 1, "tile %s: the COG failed its check: %s",
		    name, why);
		goto out;
	}
	if ((ds = ropen_own(path)) == NULL) {
		rfail_gdal(t, "cannot reopen the tile's COG");
		goto out;
	}
	if (rinfo_read(ds, &ci, why, sizeof(why)) != 0) {
		spool_worker_fail(t, 1, "tile %s: %s", name, why);
		goto out;
	}
	rbounds_compute(&ci, &b);
	if (routput(t, cog, "data", RASTER_COG_TYPE, NULL) != 0)
		goto out;
	bands = rmeta_bands(ds, 1);
	item = rstac_item(name, ds, &ci, &b, bands, cog, NULL, NULL, s.stem);
	if (rwrite_json(t, itemname, item) != 0 || routput(t, itemname,
	    "metadata", "application/geo+json", NULL) != 0)
		goto out;
	sum = json_object();
	json_object_set_new(sum, "tile", json_string(name));
	json_object_set_new(sum, "row", json_integer(row));
	json_object_set_new(sum, "col", json_integer(col));
	json_object_set_new(sum, "width", json_integer(ci.width));
	json_object_set_new(sum, "height", json_integer(ci.height));
	json_object_set_new(sum, "bounds", rbounds_json(&b));
	json_object_set_new(t->answer, "summary", sum);
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	json_decref(bands);
	json_decref(item);
	rinfo_release(&ci);
	if (ds != NULL)
		GDALClose(ds);
	rsrc_close(&s);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relative paths: every SourceFilename becomes its base name, relative
 * to the VRT (tiles and mosaic land in one result directory). */
static void
relativize(CPLXMLNode *n)
{
	for (; n != NULL; n = n->psNext) {
		if (n->eType == CXT_Element && strcmp(n->pszValue,
		    "SourceFilename") == 0) {
			CPLXMLNode *c;
			const char *f = CPLGetXMLValue(n, NULL, "");
			char *base = CPLStrdup(CPLGetFilename(f));

			for (c = n->psChild; c != NULL; c = c->psNext)
				if (c->eType == CXT_Text) {
					CPLFree(c->pszValue);
					c->pszValue = CPLStrdup(base);
				}
			CPLSetXMLValue(n, "#relativeToVRT", "1");
			CPLFree(base);
		}
		relativize(n->psChild);
	}
}

/* Pool the tiles' statistics into the mosaic's bands (metadata.json):
 * min of mins, max of maxes, means weighted by valid pixels, the
 * standard deviation of the union. */
static void
pool_stats(json_t *bands, GDALDatasetH *tiles, int n)
{
	size_t bi;
	json_t *b;

	json_array_foreach(bands, bi, b) {
		double mn = INFINITY, mx = -INFINITY, sum = 0, sq = 0, cnt = 0,
		    all = 0;
		int i, ok = 1;

		for (i = 0; i < n && ok; i++) {
			GDALRasterBandH tb = GDALGetRasterBand(tiles[i],
			    (int)bi + 1);
			double st[4], px, vp;
			const char *v;

			px = (double)GDALGetRasterXSize(tiles[i]) *
			    GDALGetRasterYSize(tiles[i]);
			all += px;
			if (tb == NULL || GDALGetRasterStatistics(tb, FALSE, FALSE,
			    &st[0], &st[1], &st[2], &st[3]) != CE_None) {
				/* a tile of nothing but nodata has none */
				v = tb ? GDALGetMetadataItem(tb,
				    "STATISTICS_VALID_PERCENT", NULL) : NULL;
				if (v != NULL && CPLAtof(v) == 0)
					continue;
				ok = 0;
				break;
			}
			v = GDALGetMetadataItem(tb, "STATISTICS_VALID_PERCENT",
			    NULL);
			vp = v ? CPLAtof(v) : 100;
			px *= vp / 100;
			mn = fmin(mn, st[0]);
			mx = fmax(mx, st[1]);
			sum += st[2] * px;
			sq += (st[3] * st[3] + st[2] * st[2]) * px;
			cnt += px;
		}
		rerr_reset();
		if (!ok || cnt <= 0)
			continue;
		json_object_set_new(b, "min", jnum(mn));
		json_object_set_new(b, "max", jnum(mx));
		json_object_set_new(b, "mean", jnum(sum / cnt));
		json_object_set_new(b, "stddev", jnum(sqrt(fmax(0, sq / cnt -
		    (sum / cnt) * (sum / cnt)))));
		json_object_set_new(b, "valid_percent", jnum(100 * cnt / all));
	}
}

int
rmosaic_stage(struct spool_worker_task *t)
{
	struct rsrc s;
	struct rcog_opts o;
	struct rinfo ci;
	struct rbounds b;
	const char *first = json_string_value(json_object_get(
	    json_array_get(t->inputs, 0), "name"));
	char **paths = NULL, **items = NULL, vrtname[RASTER_MAX_NAME + 8];
	char buf[RASTER_PATH], why[512], *xml = NULL, **md;
	GDALDatasetH vrt = NULL, *tiles = NULL;
	GDALBuildVRTOptions *bo = NULL;
	CPLXMLNode *tree = NULL;
	json_t *hashes = NULL, *bands = NULL, *coll = NULL, *meta = NULL;
	json_t *jitems = NULL, *in, *sum, *names;
	int ntiles = 0, nitems = 0, err = 0, psize = 1024, pw = 0, ph = 0;
	int r = -1, i;
	size_t k;
	FILE *f;

	memset(&ci, 0, sizeof(ci));
	if (json_is_integer(json_object_get(t->params, "preview_size")))
		psize = (int)json_integer_value(json_object_get(t->params,
		    "preview_size"));
	if (psize < 16 || psize > 8192)
		psize = 1024;
	if (rsrc_open(t, NULL, &s) != 0)
		return -1;
	if (rcog_opts(t, &s.info, &o) != 0)
		goto out;
	hashes = json_object();
	/* the tiles (.tif) and their Items (.json), but the request's file */
	json_array_foreach(t->inputs, k, in) {
		const char *nm = json_string_value(json_object_get(in, "name"));
		const char *h = json_string_value(json_object_get(in, "hash"));
		size_t ln = nm ? strlen(nm) : 0;

		if (k == 0 || nm == NULL || (first && strcmp(nm, first) == 0))
			continue;
		if (ln > 4 && strcmp(nm + ln - 4, ".tif") == 0) {
			if (spool_worker_input(t, nm, buf, sizeof(buf)) == NULL)
				continue;
			paths = CSLAddString(paths, buf);
			ntiles++;
			if (h != NULL)
				json_object_set_new(hashes, nm, json_pack(
				    "{s:s, s:O}", "blake2b_256", h, "size",
				    json_object_get(in, "size")));
		} else if (ln > 5 && strcmp(nm + ln - 5, ".json") == 0) {
			items = CSLAddString(items, nm);
			nitems++;
		}
	}
	if (ntiles == 0) {
		spool_worker_fail(t, 1, "the mosaic task was given no tiles");
		goto out;
	}
	qsort(paths, (size_t)ntiles, sizeof(char *), cmp_str);
	if (nitems > 0)
		qsort(items, (size_t)nitems, sizeof(char *), cmp_str);
	tiles = calloc((size_t)ntiles, sizeof(*tiles));
	names = json_array();
	for (i = 0; i < ntiles && tiles != NULL; i++) {
		rerr_reset();
		if ((tiles[i] = ropen_own(paths[i])) == NULL) {
			json_decref(names);
			rfail_gdal(t, "cannot open a tile");
			goto out;
		}
		json_array_append_new(names, json_string(CPLGetFilename(
		    paths[i])));
	}
	if (tiles == NULL) {
		json_decref(names);
		spool_worker_fail(t, 0, "out of memory");
		goto out;
	}
	rerr_reset();
	bo = GDALBuildVRTOptionsNew(NULL, NULL);
	vrt = GDALBuildVRT("", ntiles, NULL, (const char *const *)paths, bo,
	    &err);
	if (vrt == NULL || err) {
		json_decref(names);
		rfail_gdal(t, "cannot build the mosaic");
		goto out;
	}
	/* the VRT as text, its sources relative to itself */
	GDALFlushCache(vrt);
	md = GDALGetMetadata(vrt, "xml:VRT");
	if (md == NULL || md[0] == NULL || (tree = CPLParseXMLString(md[0])) ==
	    NULL) {
		json_decref(names);
		rfail_gdal(t, "cannot serialise the mosaic");
		goto out;
	}
	relativize(tree);
	xml = CPLSerializeXMLTree(tree);
	snprintf(vrtname, sizeof(vrtname), "%s.vrt", s.stem);
	snprintf(buf, sizeof(buf), "out/%s", vrtname);
	if ((f = fopen(buf, "w")) == NULL || fputs(xml, f) == EOF ||
	    fclose(f) != 0) {
		json_decref(names);
		spool_worker_fail(t, 0, "cannot write %s", vrtname);
		goto out;
	}
	if (rinfo_read(vrt, &ci, why, sizeof(why)) != 0) {
		json_decref(names);
		spool_worker_fail(t, 1, "the mosaic: %s", why);
		goto out;
	}
	rbounds_compute(&ci, &b);
	if (routput(t, vrtname, "data", "application/xml", hashes) != 0 ||
	    spool_worker_progress(t, 0.3, "preview") ||
	    rpreview_make(t, vrt, &ci, &b, psize, "out/preview.png", &pw,
	    &ph) != 0 || routput(t, "preview.png", "overview", "image/png",
	    hashes) != 0) {
		json_decref(names);
		goto out;
	}
	jitems = json_array();
	for (i = 0; i < nitems; i++)
		json_array_append_new(jitems, json_string(items[i]));
	coll = rstac_collection(s.stem, s.name, &b, jitems, vrtname,
	    "preview.png", "metadata.json");
	if (rwrite_json(t, "collection.json", coll) != 0 || routput(t,
	    "collection.json", "metadata", "application/json", hashes) != 0) {
		json_decref(names);
		goto out;
	}
	bands = rmeta_bands(vrt, 0);
	pool_stats(bands, tiles, ntiles);
	meta = rmeta_build(vrt, &ci, &s.info, &b, &o, json_incref(bands),
	    hashes);
	json_object_set_new(meta, "preview", json_pack("{s:s, s:i, s:i}",
	    "name", "preview.png", "width", pw, "height", ph));
	json_object_set_new(meta, "mosaic", json_string(vrtname));
	json_object_set_new(meta, "collection", json_string("collection.json"));
	json_object_set_new(meta, "tiles", names);
	if (rwrite_json(t, "metadata.json", meta) != 0 || routput(t,
	    "metadata.json", "metadata", "application/json", NULL) != 0)
		goto out;
	sum = rsummary(&ci, &b);
	json_object_set_new(sum, "cog", json_null());
	json_object_set_new(sum, "vrt", json_string(vrtname));
	json_object_set_new(sum, "preview", json_string("preview.png"));
	json_object_set_new(sum, "metadata", json_string("metadata.json"));
	json_object_set_new(sum, "collection", json_string("collection.json"));
	json_object_set_new(sum, "tiled", json_true());
	json_object_set_new(sum, "tiles", json_integer(ntiles));
	json_object_set_new(sum, "reprojected", o.reproject[0] ?
	    json_string(o.reproject) : json_null());
	json_object_set_new(t->answer, "summary", sum);
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	json_decref(hashes);
	json_decref(bands);
	json_decref(coll);
	json_decref(meta);
	json_decref(jitems);
	CPLFree(xml);
	if (tree != NULL)
		CPLDestroyXMLNode(tree);
	GDALBuildVRTOptionsFree(bo);
	rinfo_release(&ci);
	if (vrt != NULL)
		GDALClose(vrt);
	for (i = 0; tiles != NULL && i < ntiles; i++)
		if (tiles[i] != NULL)
			GDALClose(tiles[i]);
	free(tiles);
	CSLDestroy(paths);
	CSLDestroy(items);
	rsrc_close(&s);
	return r;
}

/*
 * cog.c - the Cloud Optimized GeoTIFF: GDALTranslate -of COG, or
 * GDALWarp -of COG straight from the source when reprojecting, with the
 * options of ANCHORS.md (512 blocks, automatic overviews, BIGTIFF when
 * needed, a predictor under DEFLATE/ZSTD/LZW, statistics).  The file is
 * written once and never opened for update afterwards: editing a COG in
 * place breaks its layout.  rcog_check reopens it and wants LAYOUT=COG.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdal_utils.h>

#include "raster.h"

static const char *const compressions[] = {
	"DEFLATE", "ZSTD", "LZW", "JPEG", "WEBP", NULL,
};
static const char *const resamplings[] = {
	"NEAREST", "AVERAGE", "BILINEAR", "CUBIC", "CUBICSPLINE", "LANCZOS",
	"MODE", "RMS", "GAUSS", NULL,
};

static int
in_list(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static void
upper(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < n; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 :
		    src[i]);
	dst[i] = '\0';
}

int
rcog_opts(struct spool_worker_task *t, const struct rinfo *ri,
    struct rcog_opts *o)
{
	const json_t *cp = json_object_get(t->params, "compress");
	const json_t *rs = json_object_get(t->params, "resampling");
	const json_t *rp = json_object_get(t->params, "reproject");
	const char *c = json_string_value(cp), *r = json_string_value(rs);
	const char *p = json_string_value(rp);

	memset(o, 0, sizeof(*o));
	if (cp != NULL && !json_is_null(cp) && c == NULL)
		return spool_worker_fail(t, 1, "compress must be a string such "
		    "as \"ZSTD\"");
	if (rs != NULL && !json_is_null(rs) && r == NULL)
		return spool_worker_fail(t, 1, "resampling must be a string "
		    "such as \"AVERAGE\"");
	upper(o->compress, sizeof(o->compress), c && *c ? c : "DEFLATE");
	/* a user's value is echoed, not more than a word of it */
	if (!in_list(compressions, o->compress))
		return spool_worker_fail(t, 1, "compress '%.32s' is not one of "
		    "DEFLATE, ZSTD, LZW, JPEG, WEBP", c);
	if ((strcmp(o->compress, "JPEG") == 0 ||
	    strcmp(o->compress, "WEBP") == 0) && ri->type != GDT_Byte)
		return spool_worker_fail(t, 1, "compress %s needs 8-bit data; "
		    "this raster is %s (use DEFLATE, ZSTD or LZW)", o->compress,
		    GDALGetDataTypeName(ri->type));
	if (strcmp(o->compress, "WEBP") == 0 && ri->bands != 3 &&
	    ri->bands != 4)
		return spool_worker_fail(t, 1, "compress WEBP needs 3 or 4 "
		    "bands; this raster has %d", ri->bands);
	if (r != NULL && *r != '\0') {
		upper(o->resampling, sizeof(o->resampling), r);
		if (!in_list(resamplings, o->resampling))
			return spool_worker_fail(t, 1, "resampling '%.32s' is not "
			    "one of NEAREST, AVERAGE, BILINEAR, CUBIC, "
			    "CUBICSPLINE, LANCZOS, MODE, RMS, GAUSS", r);
	} else
		snprintf(o->resampling, sizeof(o->resampling), "%s",
		    ri->classified ? "MODE" : "AVERAGE");
	/* reprojecting classes must not invent classes */
	snprintf(o->warp_resampling, sizeof(o->warp_resampling), "%s",
	    ri->classified ? "near" : "bilinear");
	if (p != NULL && *p != '\0' && strcasecmp(p, "none") != 0) {
		OGRSpatialReferenceH srs;
		const char *digits;
		char *end;
		long code;

		if (strncasecmp(p, "EPSG:", 5) != 0)
			return spool_worker_fail(t, 1, "reproject '%.32s': write "
			    "EPSG:n", p);
		digits = p + 5;
		code = strtol(digits, &end, 10);
		if (end == digits || *end != '\0' || code <= 0 || code > 999999)
			return spool_worker_fail(t, 1, "reproject '%.32s': write "
			    "EPSG:n", p);
		srs = OSRNewSpatialReference(NULL);
		rerr_reset();
		if (OSRImportFromEPSG(srs, (int)code) != OGRERR_NONE) {
			OSRDestroySpatialReference(srs);
			return spool_worker_fail(t, 1, "reproject '%.32s': no such "
			    "CRS in this node's PROJ database", p);
		}
		OSRDestroySpatialReference(srs);
		if (ri->srs == NULL || !ri->has_gt)
			return spool_worker_fail(t, 1, "cannot reproject to %.32s: "
			    "the raster has no CRS or no geotransform", p);
		snprintf(o->reproject, sizeof(o->reproject), "EPSG:%ld", code);
	} else if (rp != NULL && !json_is_null(rp) && p == NULL)
		return spool_worker_fail(t, 1, "reproject must be a string "
		    "such as \"EPSG:32633\"");
	o->threads = t->threads > 0 ? t->threads : 1;
	o->cachemax = t->cachemax;
	return 0;
}

static char **
creation_options(char **argv, const struct rcog_opts *o,
    const struct rinfo *ri)
{
	GDALDataType dt = ri->type;
	/* GDAL's predictors take whole 8 to 64-bit samples: a 1-bit or
	 * 12-bit raster keeps its NBITS and goes without */
	int whole = ri->nbits == 0 || ri->nbits == 8 || ri->nbits == 16 ||
	    ri->nbits == 32 || ri->nbits == 64;
	char buf[64];

	argv = CSLAddString(argv, "-of");
	argv = CSLAddString(argv, "COG");
	argv = CSLAddString(argv, "-co");
	argv = CSLAddString(argv, "BLOCKSIZE=512");
	argv = CSLAddString(argv, "-co");
	argv = CSLAddString(argv, "OVERVIEWS=AUTO");
	argv = CSLAddString(argv, "-co");
	argv = CSLAddString(argv, "BIGTIFF=IF_SAFER");
	argv = CSLAddString(argv, "-co");
	snprintf(buf, sizeof(buf), "COMPRESS=%s", o->compress);
	argv = CSLAddString(argv, buf);
	if (whole && (strcmp(o->compress, "DEFLATE") == 0 ||
	    strcmp(o->compress, "ZSTD") == 0 ||
	    strcmp(o->compress, "LZW") == 0)) {
		argv = CSLAddString(argv, "-co");
		argv = CSLAddString(argv, GDALDataTypeIsFloating(dt) ?
		    "PREDICTOR=FLOATING_POINT" : "PREDICTOR=STANDARD");
	}
	argv = CSLAddString(argv, "-co");
	snprintf(buf, sizeof(buf), "OVERVIEW_RESAMPLING=%s", o->resampling);
	argv = CSLAddString(argv, buf);
	argv = CSLAddString(argv, "-co");
	snprintf(buf, sizeof(buf), "NUM_THREADS=%d", o->threads);
	argv = CSLAddString(argv, buf);
	return argv;
}

/* A palette index the colour table does not use, or -1. */
static int
free_index(GDALDatasetH ds)
{
	GDALColorTableH ct = GDALGetRasterColorTable(GDALGetRasterBand(ds, 1));
	int n = ct ? GDALGetColorEntryCount(ct) : 256;

	return n < 256 ? n : -1;
}

int
rcog_grid(GDALDatasetH src, const char *srs, double gt[6], int *w, int *h,
    char *why, size_t n)
{
	char *opts[3] = { NULL, NULL, NULL };
	char buf[64];
	void *tr;
	double ext[4];
	int r;

	snprintf(buf, sizeof(buf), "DST_SRS=%s", srs);
	opts[0] = buf;
	rerr_reset();
	tr = GDALCreateGenImgProjTransformer2(src, NULL, opts);
	if (tr == NULL) {
		rerr_text(why, n, "cannot transform to the target CRS");
		return -1;
	}
	r = GDALSuggestedWarpOutput2(src, GDALGenImgProjTransform, tr, gt, w, h,
	    ext, 0) == CE_None ? 0 : -1;
	GDALDestroyGenImgProjTransformer(tr);
	if (r != 0)
		rerr_text(why, n, "cannot find the reprojected grid");
	return r;
}

int
rcog_make(struct spool_worker_task *t, struct rsrc *s,
    const struct rcog_opts *o, const struct rwin *win, const double *grid_gt,
    const char *out, double base, double span)
{
	struct rprog prog = { t, base, span, "cog" };
	char **argv = NULL, buf[96];
	GDALDatasetH ds = NULL;
	int err = 0;

	rerr_reset();
	if (o->reproject[0] == '\0') {
		GDALTranslateOptions *to;

		argv = CSLAddString(argv, "-stats");
		if (s->info.mixed_types) {
			argv = CSLAddString(argv, "-ot");
			argv = CSLAddString(argv,
			    GDALGetDataTypeName(s->info.type));
		}
		if (win != NULL) {
			argv = CSLAddString(argv, "-srcwin");
			snprintf(buf, sizeof(buf), "%d", win->xoff);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%d", win->yoff);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%d", win->xsize);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%d", win->ysize);
			argv = CSLAddString(argv, buf);
		}
		argv = creation_options(argv, o, &s->info);
		to = GDALTranslateOptionsNew(argv, NULL);
		if (to == NULL) {
			CSLDestroy(argv);
			return spool_worker_fail(t, 1, "bad COG options");
		}
		GDALTranslateOptionsSetProgress(to, rprog_cb, &prog);
		ds = GDALTranslate(out, s->ds, to, &err);
		GDALTranslateOptionsFree(to);
	} else {
		GDALWarpAppOptions *wo;
		int64_t wm = o->cachemax > 0 ? o->cachemax / 4 : 64 << 20;
		GDALDatasetH src[1] = { s->ds };
		int idx;

		argv = CSLAddString(argv, "-t_srs");
		argv = CSLAddString(argv, o->reproject);
		argv = CSLAddString(argv, "-r");
		argv = CSLAddString(argv, o->warp_resampling);
		argv = CSLAddString(argv, "-wo");
		snprintf(buf, sizeof(buf), "NUM_THREADS=%d", o->threads);
		argv = CSLAddString(argv, buf);
		argv = CSLAddString(argv, "-wm");
		snprintf(buf, sizeof(buf), "%lld", (long long)(wm < (16 << 20) ?
		    16 << 20 : wm));
		argv = CSLAddString(argv, buf);
		if (s->info.mixed_types) {
			argv = CSLAddString(argv, "-ot");
			argv = CSLAddString(argv,
			    GDALGetDataTypeName(s->info.type));
		}
		/* never black collars: nodata where the source has it (gdalwarp
		 * carries it over), its alpha band, else a new alpha band (a
		 * free palette index for a paletted raster) */
		if (!s->info.all_nodata && s->info.alpha_band == 0) {
			if (s->info.paletted && (idx = free_index(s->ds)) >= 0) {
				argv = CSLAddString(argv, "-dstnodata");
				snprintf(buf, sizeof(buf), "%d", idx);
				argv = CSLAddString(argv, buf);
			} else
				argv = CSLAddString(argv, "-dstalpha");
		}
		if (win != NULL && grid_gt != NULL) {
			argv = CSLAddString(argv, "-te");
			snprintf(buf, sizeof(buf), "%.17g", grid_gt[0] +
			    win->xoff * grid_gt[1]);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%.17g", grid_gt[3] +
			    (win->yoff + win->ysize) * grid_gt[5]);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%.17g", grid_gt[0] +
			    (win->xoff + win->xsize) * grid_gt[1]);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%.17g", grid_gt[3] +
			    win->yoff * grid_gt[5]);
			argv = CSLAddString(argv, buf);
			argv = CSLAddString(argv, "-ts");
			snprintf(buf, sizeof(buf), "%d", win->xsize);
			argv = CSLAddString(argv, buf);
			snprintf(buf, sizeof(buf), "%d", win->ysize);
			argv = CSLAddString(argv, buf);
		}
		argv = creation_options(argv, o, &s->info);
		wo = GDALWarpAppOptionsNew(argv, NULL);
		if (wo == NULL) {
			CSLDestroy(argv);
			return spool_worker_fail(t, 1, "bad warp options");
		}
		GDALWarpAppOptionsSetProgress(wo, rprog_cb, &prog);
		ds = GDALWarp(out, NULL, 1, src, wo, &err);
		GDALWarpAppOptionsFree(wo);
	}
	CSLDestroy(argv);
	if (ds == NULL || err)
		return rfail_gdal(t, "cannot make the COG");
	rerr_reset();
	GDALClose(ds);
	return 0;
}

int
rcog_check(const char *path, char *why, size_t n)
{
	GDALDatasetH ds;
	const char *layout;
	int r;

	rerr_reset();
	if ((ds = ropen_own(path)) == NULL) {
		rerr_text(why, n, "cannot reopen it");
		return -1;
	}
	layout = GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE");
	r = layout != NULL && strcmp(layout, "COG") == 0 ? 0 : -1;
	if (r != 0)
		snprintf(why, n, "its layout is %s, not COG", layout ? layout :
		    "plain GeoTIFF");
	GDALClose(ds);
	return r;
}

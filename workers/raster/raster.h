/*
 * raster.h - the raster worker's modules (workers/raster/): what each file
 * offers the others.  Nothing here is libspool's API; GDAL stays inside
 * this worker.
 *
 *   raster.c    main, the kind's table, per-task setup, the stages
 *   gdalerr.c   GDAL's errors captured for the user, progress callbacks
 *   open.c      opening an untrusted file: extension, driver allow-list,
 *               /vsizip/, validation (size, bands, types, CRS, geotransform)
 *   bounds.c    EPSG:4326 bounds and leaflet_bounds, sampled where corners
 *               do not transform
 *   cog.c       the COG (GDALTranslate or GDALWarp -of COG) and its check
 *   preview.c   preview.png in EPSG:3857 over leaflet_bounds
 *   metadata.c  metadata.json
 *   stac.c      STAC Items and the Collection
 *   tiling.c    the tile plan, the tile stage, the mosaic stage
 *   util.c      JSON numbers without inf/NaN, files, hashes, config sizes
 */
#ifndef RASTER_H
#define RASTER_H

#include <gdal.h>
#include <jansson.h>
#include <ogr_srs_api.h>
#include <stdint.h>

#include "spool/job/worker.h"

#define RASTER_COG_TYPE "image/tiff; application=geotiff; profile=cloud-optimized"
#define RASTER_MAX_NAME 256
#define RASTER_PATH 4096
/* Leaflet's (and EPSG:3857's) latitude limit */
#define RASTER_MERC_LAT 85.0511287798
#define RASTER_MERC_R 6378137.0

/* ---- gdalerr.c ---- */
/* Install the handler that keeps GDAL's error text (once, at init). */
void rerr_install(void);
/* Cut dir/ out of every message (a node's paths are not the user's
 * business). */
void rerr_strip(const char *dir);
/* Forget what was captured (before each GDAL step whose failure we
 * report). */
void rerr_reset(void);
/* "GDAL: first error (then: last error)", or dflt when none was seen. */
const char *rerr_text(char *buf, size_t n, const char *dflt);
/* Nonzero when the captured text says the failure is the machine's
 * (disk full, out of memory), so a retry may help. */
int rerr_transient(void);

struct rprog {
	struct spool_worker_task *t;
	double base, span;
	const char *msg;
};
/* A GDALProgressFunc over struct rprog: FALSE (stop) when the task must
 * stop. */
int CPL_STDCALL rprog_cb(double frac, const char *msg, void *arg);

/* ---- util.c ---- */
/* A JSON number, or null for inf/NaN (JSON has neither). */
json_t *jnum(double v);
/* A nodata value for JSON: a number, or "nan", "inf", "-inf". */
json_t *jnodata(double v);
/* A string GDAL gave (a name, WKT, description) for JSON, which holds
 * only UTF-8: bytes that are not written \xNN; null for NULL. */
json_t *jtext(const char *s);
/* Write o to out/NAME (2-space indented, full double precision). */
int rwrite_json(struct spool_worker_task *t, const char *name, json_t *o);
/* BLAKE2b-256 of a file as lowercase hex, and its size. */
int rhash_file(const char *path, char hex[65], uint64_t *size);
/* A size from config: an integer (bytes) or "2G", "512M", "100K". */
int64_t rcfg_size(const json_t *cfg, const char *key, int64_t dflt);
/* "YYYY-MM-DDTHH:MM:SSZ" now (UTC). */
void rnow(char out[32]);
/* File-name stem: "dem.tif" -> "dem", "a.b.zip" -> "a.b". */
void rstem(const char *name, char *out, size_t n);
int rfile_exists(const char *path);

/* ---- open.c ---- */
struct rinfo {
	int width, height, bands;
	GDALDataType type;        /* every band's type, or their union */
	int mixed_types;          /* bands differ: converted to type */
	double gt[6];
	int has_gt;               /* a real geotransform */
	OGRSpatialReferenceH srs; /* owned, traditional GIS order, or NULL */
	int epsg;                 /* 0: none */
	int georef;               /* srs and gt, and srs transforms to 4326 */
	int paletted;             /* band 1 has a colour table */
	int classified;           /* paletted, or a RAT / category names */
	int alpha_band;           /* 1-based index of an alpha band, or 0 */
	int all_nodata;           /* every band has a nodata value */
	int per_dataset_mask;     /* a mask shared by all bands */
	uint64_t pixel_bytes;     /* uncompressed: w * h * bands * type size */
	int block_x, block_y;     /* band 1's block size */
	int nbits;                /* band 1's NBITS (1-bit, 12-bit...), or 0 */
	char driver[64];
};

struct rsrc {
	char name[RASTER_MAX_NAME];  /* the original file name */
	char stem[RASTER_MAX_NAME];  /* for output names */
	char path[RASTER_PATH];      /* what GDAL opens (/vsizip/... too) */
	GDALDatasetH ds;
	struct rinfo info;
};

/* Open the task's input named name (NULL: the first) as an untrusted
 * raster and validate it; on failure the task's answer says why. */
int rsrc_open(struct spool_worker_task *t, const char *name,
    struct rsrc *s);
void rsrc_close(struct rsrc *s);
/* Facts of an open dataset (ours or the source's); 0 or -1 with why. */
int rinfo_read(GDALDatasetH ds, struct rinfo *ri, char *why, size_t n);
void rinfo_release(struct rinfo *ri);
/* Open one of our own outputs (GTiff or VRT only), PAM off. */
GDALDatasetH ropen_own(const char *path);

/* ---- bounds.c ---- */
struct rbounds {
	int ok;              /* bounds known */
	int sampled;         /* from a sampled grid (corners fail) */
	double native[4];    /* minx, miny, maxx, maxy in the raster's CRS */
	double w, s, e, n;   /* EPSG:4326, lon/lat */
};
void rbounds_compute(const struct rinfo *ri, struct rbounds *b);
json_t *rbounds_json(const struct rbounds *b);         /* [w,s,e,n] */
json_t *rbounds_leaflet(const struct rbounds *b);      /* [[s,w],[n,e]] */
/* The EPSG:3857 extent of leaflet_bounds with latitudes clamped; -1
 * when there is none (no bounds, or all beyond +-85.0511 degrees, which
 * a web map does not show). */
int rbounds_mercator(const struct rbounds *b, double ext[4]);
/* Why the raster has no place on a web map, or NULL: the note of its
 * summary and metadata.json. */
const char *rbounds_note(const struct rinfo *ri, const struct rbounds *b);

/* ---- cog.c ---- */
struct rcog_opts {
	char compress[16];
	char resampling[16];   /* overviews */
	char warp_resampling[16];
	char reproject[32];    /* "EPSG:n" or "" */
	int threads;
	int64_t cachemax;
};
/* params -> options (validated against the raster). */
int rcog_opts(struct spool_worker_task *t, const struct rinfo *ri,
    struct rcog_opts *o);
/* Target grid of a reprojection: GDALSuggestedWarpOutput2's. */
int rcog_grid(GDALDatasetH src, const char *srs, double gt[6], int *w,
    int *h, char *why, size_t n);
/* Make the COG at out path from src: a window (or NULL: all), or, when
 * reprojecting, a target grid window (grid_gt + win, or NULL: the whole
 * suggested output). */
struct rwin {
	int xoff, yoff, xsize, ysize;
};
int rcog_make(struct spool_worker_task *t, struct rsrc *s,
    const struct rcog_opts *o, const struct rwin *win,
    const double *grid_gt, const char *out, double base, double span);
/* Reopen: 0 when LAYOUT=COG, else -1 with why. */
int rcog_check(const char *path, char *why, size_t n);

/* ---- preview.c ---- */
/* preview.png of ds at out path; its size in *pw, *ph. */
int rpreview_make(struct spool_worker_task *t, GDALDatasetH ds,
    const struct rinfo *ri, const struct rbounds *b, int max_size,
    const char *out, int *pw, int *ph);

/* ---- metadata.c ---- */
/* The band list (type, nodata, colour interpretation, statistics) of
 * ds; its statistics from the file, else computed (PAM off: nothing is
 * written) when compute, else null. */
json_t *rmeta_bands(GDALDatasetH ds, int compute);
json_t *rmeta_crs(const struct rinfo *ri);
/* "EPSG:n", a PROJ string, or NULL */
json_t *rmeta_crs_short(const struct rinfo *ri);
json_t *rmeta_build(GDALDatasetH ds, const struct rinfo *ri,
    const struct rinfo *src, const struct rbounds *b,
    const struct rcog_opts *o, json_t *bands, json_t *hashes);

/* ---- stac.c ---- */
json_t *rstac_item(const char *id, GDALDatasetH ds, const struct rinfo *ri,
    const struct rbounds *b, json_t *bands, const char *cog,
    const char *preview, const char *metadata, const char *collection);
json_t *rstac_collection(const char *id, const char *title,
    const struct rbounds *b, json_t *items, const char *vrt,
    const char *preview, const char *metadata);

/* ---- tiling.c ---- */
int rtile_plan(struct spool_worker_task *t, struct rsrc *s,
    const struct rcog_opts *o);
int rtile_stage(struct spool_worker_task *t);
int rmosaic_stage(struct spool_worker_task *t);

/* ---- raster.c ---- */
/* Set up GDAL for a task: temp dir, cache, threads. */
void rtask_setup(struct spool_worker_task *t);
/* Fail the task with GDAL's reason: permanent unless the machine's. */
int rfail_gdal(struct spool_worker_task *t, const char *what);
/* The task's failure again, its reason prefixed with which file (printf)
 * and its permanence kept. */
int rfail_again(struct spool_worker_task *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The answer's summary of a raster: crs, bounds, leaflet_bounds, size,
 * bands, and a note when it has no place on a web map. */
json_t *rsummary(const struct rinfo *ri, const struct rbounds *b);
/* Add an output and remember its hash in hashes (may be NULL). */
int routput(struct spool_worker_task *t, const char *name, const char *role,
    const char *type, json_t *hashes);

#endif

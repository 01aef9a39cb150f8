/*
 * vector.h - the vector worker's modules, shared between its files
 * (docs/DECISIONS.md, "Vector").
 *
 *   vector.c    main, the stage dispatch, the "convert" stage
 *   source.c    which formats are taken, opening them with only their
 *               driver, the layers of a source
 *   clean.c     one geometry made 2-D, linear, of one family, valid
 *   gpkg.c      the GeoPackage writer: one source layer into one or more
 *               typed output layers
 *   rtree.c     their spatial indexes, bulk-loaded once the GeoPackage
 *               is written
 *   preview.c   preview.png in EPSG:3857 over leaflet_bounds
 *   stac.c      metadata.json and item.json
 *   pg.c        the PostGIS stages: create, load, finish
 *
 * Nothing here keeps state between tasks but pg.c's connection cache.
 */
#ifndef SPOOL_VECTOR_H
#define SPOOL_VECTOR_H

#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stddef.h>

#include "spool/job/worker.h"

/* The families a layer may hold one of. */
enum vec_family {
	VEC_NONE = 0, /* null or empty */
	VEC_POINT,
	VEC_LINE,
	VEC_POLY,
	VEC_COLL,     /* a collection of several families */
	VEC_NFAMILY
};

/* ---- source.c ---- */

struct vec_source {
	GDALDatasetH ds;
	char ext[16];         /* lowercase extension of the upload */
	char stem[256];       /* upload name without its extension(s) */
	const char *driver;   /* the one driver allowed to open it */
	const char *format;   /* what metadata.json calls it */
};

/* The list of formats for messages: "zip (shapefile, FileGDB), ...". */
extern const char vec_supported[];

/* Open the upload at path (named name by the user).  On failure *err is
 * a malloc'd message and *permanent says whether retrying can help. */
int vec_source_open(struct vec_source *s, const char *path, const char *name,
    char **err);
void vec_source_close(struct vec_source *s);
/* The layer's next feature; NULL at its end, or with *failed set when
 * the reader stopped with an error (a cut .dbf, a damaged file, memory
 * run out: CPLGetLastErrorMsg says which). */
OGRFeatureH vec_next_feature(OGRLayerH in, int *failed);
/* A layer's features, counted by reading when the driver says 0 (or
 * cannot say); -1 when reading failed (CPLGetLastErrorMsg says why). */
long long vec_layer_count(OGRLayerH in);
/* The extent of a layer's features, read (not the one its file
 * states); -1 when none has a geometry, or reading failed. */
int vec_layer_extent(OGRLayerH in, OGREnvelope *env);
/* A CRS GDAL gives for "undefined" (a GeoPackage's srs_id 0 and -1). */
int vec_srs_undefined(OGRSpatialReferenceH srs);

/* ---- clean.c ---- */

/* What one geometry was, and what was done to it. */
struct vec_geom_info {
	OGRwkbGeometryType raw; /* the type as read */
	enum vec_family family; /* after flattening (VEC_NONE: null/empty) */
	int multi;              /* a Multi* (or a collection) */
	int empty, null, zm, z, m, curve;
};

/* The name users read: "MultiLineString ZM", "TIN Z", "Point". */
void vec_type_name(OGRwkbGeometryType t, char *buf, size_t n);
const char *vec_family_name(enum vec_family f);
/* the flat 2-D type of a family, single or multi */
OGRwkbGeometryType vec_family_type(enum vec_family f, int multi);
/* the family and multi-ness a declared layer type implies */
enum vec_family vec_type_family(OGRwkbGeometryType t, int *multi);

/* Drop Z and M, linearise curves, turn TINs, triangles, polyhedral
 * surfaces and one-family collections into their Multi* type.  Takes g
 * (owned, may be NULL) and returns the normalised geometry (NULL for a
 * null or empty one), filling *gi. */
OGRGeometryH vec_normalise(OGRGeometryH g, struct vec_geom_info *gi);
/* Every coordinate of g a finite number. */
int vec_geom_finite(OGRGeometryH g);

/* Bring a normalised geometry of the layer's family to the target type
 * (single -> multi).  Returns g or its replacement; NULL when it cannot
 * be (a multi with several parts into a single type). */
OGRGeometryH vec_to_target(OGRGeometryH g, enum vec_family f, int multi);

/* Make g valid: returns g when valid (*repaired 0), a repaired geometry
 * of family f (*repaired 1, g destroyed), or NULL when nothing of that
 * family is left (g destroyed). */
OGRGeometryH vec_make_valid(OGRGeometryH g, enum vec_family f, int multi,
    int *repaired);

/* ---- gpkg.c ---- */

struct vec_options {
	int split_by_type;
	enum { VEC_INVALID_REPAIR, VEC_INVALID_SKIP, VEC_INVALID_FAIL } invalid;
	OGRSpatialReferenceH srs;   /* target, traditional axis order */
	char srs_name[64];          /* "EPSG:4326" */
	int srs_epsg;               /* 0: none */
};

/* ---- rtree.c ---- */

/* Boxes kept for the layers' indexes: at most VEC_RTREE_MAX, and no more
 * than half of RLIMIT_AS at VEC_RTREE_ENTRY_BYTES each, the peak of
 * one entry (its box 24, a point's coordinates 16, its leaf link 16, the
 * sort's key 16 and its copy 24); a layer beyond that is indexed by GDAL.
 * 5.3 Mi entries under spoold's default memory_limit of 1 GiB. */
#define VEC_RTREE_MAX ((size_t)8 << 20)
#define VEC_RTREE_ENTRY_BYTES 96

struct vec_rtree_ent;

struct vec_rtree {
	char table[256], column[64];
	struct vec_rtree_ent *e;
	size_t n, cap, max;
	double *xy;       /* a Point layer's coordinates, for the preview */
	int points;       /* keep xy */
	int too_big;      /* more than max: left to GDAL */
};

/* points: keep each point's coordinates too (a Point layer) */
void vec_rtree_init(struct vec_rtree *r, const char *table,
    const char *column, int points);
void vec_rtree_release(struct vec_rtree *r);
/* the box of feature fid (a non-empty geometry) */
void vec_rtree_add(struct vec_rtree *r, long long fid, const OGREnvelope *env);
/* Build the index of each layer in the closed GeoPackage at gpkg, in one
 * transaction.  0, or -1 with *err a malloc'd message. */
int vec_rtree_write(const char *gpkg, struct vec_rtree *rs, size_t nr,
    char **err);

/* What the convert stage reports, in metadata.json's form: one object
 * per output layer, per table (a source layer without geometry), per
 * layer that failed ({name, reason}) and per layer left out because it
 * has no features. */
struct vec_report {
	json_t *layers, *tables, *failed, *skipped;
	struct vec_rtree *rtrees; /* one per output layer, to build */
	size_t nrtrees;
};

/* Copy one source layer into ds (the output GeoPackage).  Returns 0 when
 * the layer is done or recorded as failed, -1 when the task must stop
 * (cancelled, or the GeoPackage cannot be written: t->answer says). */
int vec_gpkg_layer(struct spool_worker_task *t, GDALDatasetH ds,
    const struct vec_source *src, OGRLayerH in, const struct vec_options *o,
    struct vec_report *rep, double done, double span);

/* ---- preview.c ---- */

/* Render the output layers of the GeoPackage at gpkg in EPSG:3857 over
 * lb ([[s, w], [n, e]]) into png.  A layer whose rtree collector in rts
 * holds its points (in srs) is drawn from them instead of read back.
 * 0 or -1 with *err set. */
int vec_preview(const char *gpkg, const json_t *layers, const json_t *lb,
    const struct vec_rtree *rts, size_t nrt, OGRSpatialReferenceH srs,
    const char *png, char **err);

/* ---- stac.c ---- */

int vec_write_json(const char *path, const json_t *o);
/* bbox [w, s, e, n] from [[s, w], [n, e]] and back */
json_t *vec_leaflet_bounds(const double bb[4]);
json_t *vec_stac_item(const char *id, const double bb[4], const char *gpkg,
    int epsg, int has_preview);

/* ---- pg.c ---- */

int vec_pg_create(struct spool_worker_task *t);
int vec_pg_load(struct spool_worker_task *t);
int vec_pg_finish(struct spool_worker_task *t);
/* target table name of an output layer: lowercase, [a-z0-9_] */
void vec_table_name(char *buf, size_t n, const char *stem, const char *layer,
    int several);
int vec_valid_ident(const char *s);

#endif

/*
 * gpkg.c - one source layer into typed GeoPackage layers.
 *
 * A layer's type is decided before anything is written, from what its
 * features really hold (docs/DECISIONS.md, "Vector"): when the driver
 * declares one family (Point, LineString, Polygon, or their Multi*), the
 * layer is written as that family straight away and every feature is
 * checked on the way; the first feature that does not fit stops the
 * write, the layer is dropped and a census of every geometry decides.
 * A declared GEOMETRY (GeoJSON of mixed types, CSV, KML) gets the census
 * first.  So a layer never holds a type it did not declare
 * (ANCHORS: PROMOTE_TO_MULTI on an undeclared layer).
 *
 * Features keep their attributes; output fids are 1..N in read order (the
 * PostGIS chunks are fid ranges).  Fields named like the output's fid or
 * geometry column get "_src" appended.
 */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spool/base/util.h"
#include "vector.h"

#define BATCH 1024
#define MAX_OUT 4

struct out_layer {
	OGRLayerH lyr;
	char name[256];
	enum vec_family fam;
	int multi;
	long long n_in, n_out, nulls, empties, zm, z, m, curves;
	long long repaired, skipped, unrepairable;
	json_t *before; /* type name -> count */
	struct vec_rtree rt;
};

/* One attempt at writing a layer. */
struct plan {
	enum vec_family fam[MAX_OUT];
	int multi[MAX_OUT];
	int nout;
	int split;      /* route by family */
	int checked;    /* the types come from a census */
};

enum { WR_OK = 0, WR_FATAL = -1, WR_RECENSUS = 1, WR_MULTI = 2, WR_FAIL = 3 };

static void
srs_label(OGRSpatialReferenceH srs, char *buf, size_t n)
{
	const char *auth, *code, *name;

	if (srs == NULL) {
		snprintf(buf, n, "none");
		return;
	}
	auth = OSRGetAuthorityName(srs, NULL);
	code = OSRGetAuthorityCode(srs, NULL);
	if (auth == NULL || code == NULL) {
		OGRSpatialReferenceH c = OSRClone(srs);

		if (OSRAutoIdentifyEPSG(c) == OGRERR_NONE) {
			auth = OSRGetAuthorityName(c, NULL);
			code = OSRGetAuthorityCode(c, NULL);
			if (auth != NULL && code != NULL) {
				snprintf(buf, n, "%s:%s", auth, code);
				OSRDestroySpatialReference(c);
				return;
			}
		}
		OSRDestroySpatialReference(c);
		name = OSRGetName(srs);
		snprintf(buf, n, "%s", name ? name : "unnamed CRS");
		return;
	}
	snprintf(buf, n, "%s:%s", auth, code);
}

static void
count_type(json_t *o, OGRwkbGeometryType t, int null)
{
	char name[64];
	json_t *v;

	if (null)
		snprintf(name, sizeof(name), "null");
	else
		vec_type_name(t, name, sizeof(name));
	v = json_object_get(o, name);
	if (v != NULL)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(o, name, json_integer(1));
}

/* A free layer name in ds, from want. */
static void
free_name(GDALDatasetH ds, const char *want, char *buf, size_t n)
{
	int i;

	if (strncasecmp(want, "gpkg_", 5) == 0 ||
	    strncasecmp(want, "rtree_", 6) == 0 ||
	    strncasecmp(want, "sqlite_", 7) == 0 || want[0] == '\0')
		snprintf(buf, n, "layer_%s", want);
	else
		snprintf(buf, n, "%s", want);
	for (i = 2; GDALDatasetGetLayerByName(ds, buf) != NULL; i++) {
		snprintf(buf, n, "%.200s_%d", want, i);
	}
}

#define VEC_FIELDS_MAX 1998 /* SQLite's 2,000 columns, less fid and geom */

/* Create an output layer with in's fields; map[i] = output field of
 * input field i. */
static OGRLayerH
make_layer(GDALDatasetH ds, const char *name, OGRSpatialReferenceH srs,
    OGRwkbGeometryType gt, OGRFeatureDefnH idef, int *map, json_t *fields,
    char **err)
{
	/* the spatial index is built by rtree.c once the file is written */
	char *opts[] = { "FID=fid", "GEOMETRY_NAME=geom", "SPATIAL_INDEX=NO",
	    NULL, NULL };
	OGRLayerH l;
	int i, n = OGR_FD_GetFieldCount(idef);

	if (gt == wkbNone)
		opts[1] = NULL;
	if (n > VEC_FIELDS_MAX) {
		if (asprintf(err, "the layer has %d fields; a GeoPackage table "
		    "holds at most %d besides fid and geom", n,
		    VEC_FIELDS_MAX) < 0)
			*err = NULL;
		return NULL;
	}
	CPLErrorReset();
	l = GDALDatasetCreateLayer(ds, name, gt == wkbNone ? NULL : srs, gt,
	    opts);
	if (l == NULL) {
		*err = strdup(CPLGetLastErrorMsg());
		return NULL;
	}
	for (i = 0; i < n; i++) {
		OGRFieldDefnH fi = OGR_FD_GetFieldDefn(idef, i), fo;
		const char *nm = OGR_Fld_GetNameRef(fi);
		char base[300], fname[300], shown[1024];
		size_t cut;
		int k;

		/* a GeoPackage's names are UTF-8: a stray byte becomes '?'
		 * (source_name keeps it, written \xNN) */
		snprintf(base, sizeof(base), "%s", nm);
		spool_text_line(base, sizeof(base) - 1);
		if (strcasecmp(nm, "fid") == 0 || strcasecmp(nm, "geom") == 0)
			snprintf(fname, sizeof(fname), "%s_src", nm);
		else
			snprintf(fname, sizeof(fname), "%s", base);
		/* taken (two names alike but for case, or alike in their
		 * first 299 bytes): NAME_2, NAME_3, ... with NAME cut short,
		 * on a character, so that the number fits */
		cut = strlen(base);
		if (cut > sizeof(fname) - 16)
			cut = sizeof(fname) - 16;
		while (cut > 0 && ((unsigned char)base[cut] & 0xc0) == 0x80)
			cut--;
		for (k = 2; OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l),
		    fname) >= 0; k++)
			snprintf(fname, sizeof(fname), "%.*s_%d", (int)cut, base,
			    k);
		fo = OGR_Fld_Create(fname, OGR_Fld_GetType(fi));
		OGR_Fld_SetSubType(fo, OGR_Fld_GetSubType(fi));
		OGR_Fld_SetWidth(fo, OGR_Fld_GetWidth(fi));
		OGR_Fld_SetPrecision(fo, OGR_Fld_GetPrecision(fi));
		if (OGR_L_CreateField(l, fo, TRUE) != OGRERR_NONE) {
			OGR_Fld_Destroy(fo);
			*err = strdup(CPLGetLastErrorMsg());
			return NULL;
		}
		OGR_Fld_Destroy(fo);
		map[i] = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), fname);
		if (fields != NULL) {
			json_t *f = json_pack("{s:s, s:s}", "name", fname,
			    "type", OGR_GetFieldTypeName(OGR_Fld_GetType(fi)));

			if (OGR_Fld_GetSubType(fi) != OFSTNone)
				json_object_set_new(f, "subtype", json_string(
				    OGR_GetFieldSubTypeName(
				    OGR_Fld_GetSubType(fi))));
			if (strcmp(fname, nm) != 0)
				json_object_set_new(f, "source_name",
				    json_string(spool_text_utf8(shown,
				    sizeof(shown), nm)));
			json_array_append_new(fields, f);
		}
	}
	return l;
}

static void
drop_layer(GDALDatasetH ds, OGRLayerH l)
{
	int i, n = GDALDatasetGetLayerCount(ds);

	for (i = 0; i < n; i++)
		if (GDALDatasetGetLayer(ds, i) == l) {
			GDALDatasetDeleteLayer(ds, i);
			return;
		}
}

static int
layer_fail(struct vec_report *rep, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
layer_fail(struct vec_report *rep, const char *name, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(rep->failed, json_pack("{s:s, s:s}", "name",
	    name, "reason", buf));
	fprintf(stderr, "event=vector_layer_failed layer=%s why=%s\n",
	    SPOOL_LQ(name), SPOOL_LQ(buf));
	return 0;
}

/* A layer without geometry: a plain table. */
static int
copy_table(struct spool_worker_task *t, GDALDatasetH ds, OGRLayerH in,
    struct vec_report *rep)
{
	OGRFeatureDefnH idef = OGR_L_GetLayerDefn(in);
	int *map = calloc((size_t)OGR_FD_GetFieldCount(idef) + 1, sizeof(int));
	json_t *fields = json_array();
	char name[256], *err = NULL;
	OGRFeatureH f;
	OGRLayerH out;
	long long n = 0;

	free_name(ds, OGR_L_GetName(in), name, sizeof(name));
	out = make_layer(ds, name, NULL, wkbNone, idef, map, fields, &err);
	if (out == NULL) {
		layer_fail(rep, OGR_L_GetName(in), "cannot create the table: %s",
		    err ? err : "?");
		goto out;
	}
	GDALDatasetStartTransaction(ds, FALSE);
	OGR_L_ResetReading(in);
	while ((f = OGR_L_GetNextFeature(in)) != NULL) {
		OGRFeatureH o = OGR_F_Create(OGR_L_GetLayerDefn(out));

		OGR_F_SetFromWithMap(o, f, TRUE, map);
		OGR_F_SetFID(o, OGRNullFID);
		if (OGR_L_CreateFeature(out, o) != OGRERR_NONE) {
			OGR_F_Destroy(o);
			OGR_F_Destroy(f);
			GDALDatasetRollbackTransaction(ds);
			spool_worker_fail(t, 0, "cannot write table '%s' to the "
			    "GeoPackage: %s", name, CPLGetLastErrorMsg());
			free(map);
			json_decref(fields);
			free(err);
			return -1;
		}
		OGR_F_Destroy(o);
		OGR_F_Destroy(f);
		n++;
	}
	GDALDatasetCommitTransaction(ds);
	json_array_append_new(rep->tables, json_pack("{s:s, s:s, s:I, s:O}",
	    "name", name, "source_layer", OGR_L_GetName(in), "features",
	    (json_int_t)n, "fields", fields));
out:
	free(map);
	json_decref(fields);
	free(err);
	return 0;
}

/* The reader stopped with an error after k features (vec_next_feature):
 * not the layer's end.  Returns 1, with why set. */
static int
read_failed(long long k, char *why, size_t whysz)
{
	snprintf(why, whysz, "reading the layer failed after %lld features: "
	    "%s", k, CPLGetLastErrorMsg());
	return 1;
}

/* Census: the families and multi-ness the layer's geometries hold. */
static int
census(struct spool_worker_task *t, OGRLayerH in, long long fam_n[],
    int fam_multi[], json_t *types, double done, double span, long long total,
    char *why, size_t whysz)
{
	OGRFeatureDefnH idef = OGR_L_GetLayerDefn(in);
	int i, nf = OGR_FD_GetFieldCount(idef);
	char **ign = NULL;
	OGRFeatureH f;
	long long k = 0;
	int failed;

	for (i = 0; i < nf; i++)
		ign = CSLAddString(ign, OGR_Fld_GetNameRef(
		    OGR_FD_GetFieldDefn(idef, i)));
	ign = CSLAddString(ign, "OGR_STYLE");
	OGR_L_SetIgnoredFields(in, (const char **)ign);
	CSLDestroy(ign);
	OGR_L_ResetReading(in);
	for (;;) {
		struct vec_geom_info gi;
		OGRGeometryH g;

		if ((f = vec_next_feature(in, &failed)) == NULL)
			break;
		g = vec_normalise(OGR_F_StealGeometry(f), &gi);
		count_type(types, gi.raw, gi.null);
		if (g != NULL) {
			fam_n[gi.family]++;
			fam_multi[gi.family] |= gi.multi;
		}
		OGR_G_DestroyGeometry(g);
		OGR_F_Destroy(f);
		if (++k % 10000 == 0 && spool_worker_progress(t, done + span *
		    0.5 * (double)k / (double)(total ? total : 1), "census")) {
			OGR_L_SetIgnoredFields(in, NULL);
			return -1;
		}
	}
	OGR_L_SetIgnoredFields(in, NULL);
	return failed ? read_failed(k, why, whysz) : 0;
}

/* Which output a feature of family fam goes to (-1: none fits). */
static int
route(const struct plan *p, enum vec_family fam)
{
	int i;

	if (!p->split)
		return fam == VEC_NONE || fam == p->fam[0] ? 0 : -1;
	for (i = 0; i < p->nout; i++)
		if (p->fam[i] == fam)
			return i;
	return fam == VEC_NONE ? 0 : -1;
}

struct wctx {
	struct spool_worker_task *t;
	GDALDatasetH ds;
	OGRLayerH in;
	const struct vec_options *o;
	OGRCoordinateTransformationH ct;
	struct out_layer out[MAX_OUT];
	int *map;
	long long total;
	double done, span;
	char why[1024];
};

/* Write one batch of features (geometries already normalised). */
static int
write_batch(struct wctx *w, const struct plan *p, OGRFeatureH *fs,
    OGRGeometryH *gs, struct vec_geom_info *gis, int n)
{
	double x[BATCH], y[BATCH];
	int ok[BATCH], idx[BATCH];
	int i, np = 0, r = WR_OK;

	for (i = 0; i < n; i++)
		if (gs[i] != NULL && !vec_geom_finite(gs[i])) {
			snprintf(w->why, sizeof(w->why), "feature %lld has a "
			    "coordinate that is not a finite number",
			    (long long)OGR_F_GetFID(fs[i]));
			return WR_FAIL;
		}
	/* points: one transformation call for the batch */
	if (w->ct != NULL) {
		for (i = 0; i < n; i++)
			if (gs[i] != NULL && wkbFlatten(OGR_G_GetGeometryType(
			    gs[i])) == wkbPoint) {
				x[np] = OGR_G_GetX(gs[i], 0);
				y[np] = OGR_G_GetY(gs[i], 0);
				idx[np++] = i;
			}
		if (np > 0 && !OCTTransformEx(w->ct, np, x, y, NULL, ok)) {
			for (i = 0; i < np && ok[i]; i++)
				;
			if (i < np) {
				snprintf(w->why, sizeof(w->why), "feature %lld "
				    "cannot be reprojected to %s",
				    (long long)OGR_F_GetFID(fs[idx[i]]),
				    w->o->srs_name);
				return WR_FAIL;
			}
		}
		for (i = 0; i < np; i++)
			OGR_G_SetPoint_2D(gs[idx[i]], 0, x[i], y[i]);
	}
	for (i = 0; i < n; i++) {
		int k = route(p, gis[i].family), rep = 0;
		struct out_layer *ol;
		OGRFeatureH of;

		if (k < 0)
			return p->checked ? WR_FAIL : WR_RECENSUS;
		ol = &w->out[k];
		if (gs[i] != NULL) {
			OGRGeometryH g;

			if (w->ct != NULL && wkbFlatten(OGR_G_GetGeometryType(
			    gs[i])) != wkbPoint &&
			    OGR_G_Transform(gs[i], w->ct) != OGRERR_NONE) {
				snprintf(w->why, sizeof(w->why), "feature %lld "
				    "cannot be reprojected to %s",
				    (long long)OGR_F_GetFID(fs[i]),
				    w->o->srs_name);
				return WR_FAIL;
			}
			if (ol->fam != VEC_POINT) {
				g = gs[i];
				gs[i] = NULL;
				if (w->o->invalid == VEC_INVALID_REPAIR)
					g = vec_make_valid(g, ol->fam,
					    ol->multi, &rep);
				else if (!OGR_G_IsValid(g)) {
					if (w->o->invalid == VEC_INVALID_FAIL) {
						snprintf(w->why, sizeof(w->why),
						    "feature %lld has an invalid "
						    "geometry (invalid = fail)",
						    (long long)OGR_F_GetFID(fs[i]));
						OGR_G_DestroyGeometry(g);
						return WR_FAIL;
					}
					OGR_G_DestroyGeometry(g);
					ol->n_in++;
					ol->skipped++;
					count_type(ol->before, gis[i].raw, 0);
					continue;
				}
				if (g == NULL) {
					ol->n_in++;
					ol->unrepairable++;
					count_type(ol->before, gis[i].raw, 0);
					continue;
				}
				gs[i] = g;
				ol->repaired += rep;
			}
			gs[i] = vec_to_target(gs[i], ol->fam, ol->multi);
			if (gs[i] == NULL)
				return WR_MULTI;
		}
		of = OGR_F_Create(OGR_L_GetLayerDefn(ol->lyr));
		OGR_F_SetFromWithMap(of, fs[i], TRUE, w->map);
		OGR_F_SetGeometryDirectly(of, gs[i]);
		gs[i] = NULL;
		OGR_F_SetFID(of, OGRNullFID);
		if (OGR_L_CreateFeature(ol->lyr, of) != OGRERR_NONE) {
			OGR_F_Destroy(of);
			spool_worker_fail(w->t, 0, "cannot write layer '%s' to "
			    "the GeoPackage: %s", ol->name, CPLGetLastErrorMsg());
			return WR_FATAL;
		}
		{
			OGRGeometryH g = OGR_F_GetGeometryRef(of);
			OGREnvelope env;

			if (g != NULL && !OGR_G_IsEmpty(g)) {
				OGR_G_GetEnvelope(g, &env);
				vec_rtree_add(&ol->rt, (long long)OGR_F_GetFID(of),
				    &env);
			}
		}
		OGR_F_Destroy(of);
		ol->n_in++;
		ol->n_out++;
		ol->nulls += gis[i].null;
		ol->empties += gis[i].empty;
		ol->zm += gis[i].zm;
		ol->z += gis[i].z;
		ol->m += gis[i].m;
		ol->curves += gis[i].curve;
		count_type(ol->before, gis[i].raw, gis[i].null);
	}
	return r;
}

/* One pass: create the outputs of p, copy every feature. */
static int
write_pass(struct wctx *w, const struct plan *p, const char *lname,
    json_t *fields)
{
	OGRFeatureH fs[BATCH];
	OGRGeometryH gs[BATCH];
	struct vec_geom_info gis[BATCH];
	OGRFeatureH f;
	char *err = NULL;
	long long k = 0;
	int i, n = 0, r = WR_OK, failed;

	for (i = 0; i < p->nout; i++) {
		struct out_layer *ol = &w->out[i];
		char want[300];

		memset(ol, 0, sizeof(*ol));
		ol->fam = p->fam[i];
		ol->multi = p->multi[i];
		ol->before = json_object();
		if (p->split) {
			static const char *const plural[] = { "none", "points",
			    "lines", "polygons", "collections" };

			snprintf(want, sizeof(want), "%s_%s", lname,
			    plural[ol->fam]);
		} else
			snprintf(want, sizeof(want), "%s", lname);
		free_name(w->ds, want, ol->name, sizeof(ol->name));
		vec_rtree_init(&ol->rt, ol->name, "geom",
		    ol->fam == VEC_POINT && !ol->multi);
		ol->lyr = make_layer(w->ds, ol->name, w->o->srs,
		    vec_family_type(ol->fam, ol->multi),
		    OGR_L_GetLayerDefn(w->in), w->map, i == 0 ? fields : NULL,
		    &err);
		if (ol->lyr == NULL) {
			snprintf(w->why, sizeof(w->why), "cannot create the "
			    "output layer: %s", err ? err : "?");
			free(err);
			return WR_FAIL;
		}
	}
	GDALDatasetStartTransaction(w->ds, FALSE);
	OGR_L_ResetReading(w->in);
	for (;;) {
		f = vec_next_feature(w->in, &failed);
		if (failed) {
			read_failed(k + n, w->why, sizeof(w->why));
			for (i = 0; i < n; i++) {
				OGR_G_DestroyGeometry(gs[i]);
				OGR_F_Destroy(fs[i]);
			}
			r = WR_FAIL;
			break;
		}
		if (f != NULL) {
			fs[n] = f;
			gs[n] = vec_normalise(OGR_F_StealGeometry(f), &gis[n]);
			/* empty geometries go with their family's layer */
			if (gis[n].empty && route(p, gis[n].family) < 0)
				gis[n].family = VEC_NONE;
			n++;
		}
		if (n == BATCH || (f == NULL && n > 0)) {
			r = write_batch(w, p, fs, gs, gis, n);
			for (i = 0; i < n; i++) {
				OGR_G_DestroyGeometry(gs[i]);
				OGR_F_Destroy(fs[i]);
			}
			k += n;
			n = 0;
			if (r != WR_OK)
				break;
			if (spool_worker_progress(w->t, w->done + w->span *
			    (double)k / (double)(w->total ? w->total : 1),
			    lname)) {
				r = WR_FATAL;
				break;
			}
		}
		if (f == NULL)
			break;
	}
	if (r == WR_OK) {
		if (GDALDatasetCommitTransaction(w->ds) != OGRERR_NONE) {
			spool_worker_fail(w->t, 0, "cannot write layer '%s' to "
			    "the GeoPackage: %s", lname, CPLGetLastErrorMsg());
			r = WR_FATAL;
		}
	} else
		GDALDatasetRollbackTransaction(w->ds);
	return r;
}

static void
out_release(struct wctx *w, int nout, int drop)
{
	int i;

	for (i = 0; i < nout; i++) {
		if (drop && w->out[i].lyr != NULL)
			drop_layer(w->ds, w->out[i].lyr);
		w->out[i].lyr = NULL;
		json_decref(w->out[i].before);
		w->out[i].before = NULL;
		vec_rtree_release(&w->out[i].rt);
	}
}

/* The bbox of an output layer in EPSG:4326 ([w, s, e, n]). */
static int
bbox_4326(OGRLayerH l, const struct vec_options *o, double bb[4])
{
	OGREnvelope env;
	OGRSpatialReferenceH wgs;
	OGRCoordinateTransformationH ct;
	int r;

	if (OGR_L_GetExtent(l, &env, TRUE) != OGRERR_NONE)
		return -1;
	if (o->srs_epsg == 4326) {
		bb[0] = env.MinX;
		bb[1] = env.MinY;
		bb[2] = env.MaxX;
		bb[3] = env.MaxY;
		return 0;
	}
	wgs = OSRNewSpatialReference(NULL);
	OSRImportFromEPSG(wgs, 4326);
	OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
	ct = OCTNewCoordinateTransformation(o->srs, wgs);
	r = ct != NULL && OCTTransformBounds(ct, env.MinX, env.MinY, env.MaxX,
	    env.MaxY, &bb[0], &bb[1], &bb[2], &bb[3], 21) ? 0 : -1;
	OCTDestroyCoordinateTransformation(ct);
	OSRDestroySpatialReference(wgs);
	return r;
}

/* Hand rt over to rep (rt is left empty). */
static int
keep_rtree(struct vec_report *rep, struct vec_rtree *rt)
{
	struct vec_rtree *a = realloc(rep->rtrees, (rep->nrtrees + 1) *
	    sizeof(*a));

	if (a == NULL)
		return -1;
	rep->rtrees = a;
	a[rep->nrtrees++] = *rt;
	memset(rt, 0, sizeof(*rt));
	return 0;
}

int
vec_gpkg_layer(struct spool_worker_task *t, GDALDatasetH ds,
    const struct vec_source *src, OGRLayerH in, const struct vec_options *o,
    struct vec_report *rep, double done, double span)
{
	const char *lname = OGR_L_GetName(in);
	OGRFeatureDefnH idef = OGR_L_GetLayerDefn(in);
	OGRwkbGeometryType declared = OGR_L_GetGeomType(in);
	OGRSpatialReferenceH ssrs = NULL;
	char crs_orig[256], types_msg[1024];
	long long total, fam_n[VEC_NFAMILY];
	int fam_multi[VEC_NFAMILY];
	const char *assumed = NULL;
	struct plan p;
	struct wctx w;
	json_t *fields = NULL, *types = NULL;
	int i, r = 0, dmulti, attempt, shp;
	enum vec_family dfam;

	total = vec_layer_count(in);
	if (total < 0) {
		layer_fail(rep, lname, "reading the layer failed: %s",
		    CPLGetLastErrorMsg());
		return 0;
	}
	if (total == 0) {
		json_array_append_new(rep->skipped, json_pack("{s:s, s:s}",
		    "name", lname, "reason", "no features"));
		return 0;
	}
	if (OGR_FD_GetGeomFieldCount(idef) == 0)
		return copy_table(t, ds, in, rep);

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.ds = ds;
	w.in = in;
	w.o = o;
	w.total = total;
	w.done = done;
	w.span = span;
	w.map = calloc((size_t)OGR_FD_GetFieldCount(idef) + 1, sizeof(int));

	/* the source CRS, or EPSG:4326 assumed when the data fits it (a
	 * GeoPackage's srs_id 0 and -1 say "undefined": no CRS) */
	if (OGR_L_GetSpatialRef(in) != NULL && !vec_srs_undefined(
	    OGR_L_GetSpatialRef(in))) {
		ssrs = OSRClone(OGR_L_GetSpatialRef(in));
		srs_label(ssrs, crs_orig, sizeof(crs_orig));
		/* a .prj's name in Latin-1, say: kept, a stray byte '?' */
		spool_text_line(crs_orig, sizeof(crs_orig) - 1);
	} else {
		OGREnvelope env;

		snprintf(crs_orig, sizeof(crs_orig), "none");
		if (vec_layer_extent(in, &env) == 0 &&
		    (env.MinX < -180 || env.MaxX > 180 || env.MinY < -90 ||
		    env.MaxY > 90)) {
			layer_fail(rep, lname, "the layer has no CRS and its "
			    "coordinates (%g, %g) - (%g, %g) are not in the "
			    "lon/lat range, so it cannot be taken as EPSG:4326",
			    env.MinX, env.MinY, env.MaxX, env.MaxY);
			goto out;
		}
		ssrs = OSRNewSpatialReference(NULL);
		OSRImportFromEPSG(ssrs, 4326);
		assumed = "EPSG:4326";
	}
	OSRSetAxisMappingStrategy(ssrs, OAMS_TRADITIONAL_GIS_ORDER);
	if (!OSRIsSame(ssrs, o->srs)) {
		CPLErrorReset();
		w.ct = OCTNewCoordinateTransformation(ssrs, o->srs);
		if (w.ct == NULL) {
			layer_fail(rep, lname, "no transformation from %s to %s: "
			    "%s", crs_orig, o->srs_name, CPLGetLastErrorMsg());
			goto out;
		}
	}

	/* the plan: the declared family when it is one, else a census */
	memset(&p, 0, sizeof(p));
	dfam = vec_type_family(declared, &dmulti);
	shp = strcmp(src->driver, "ESRI Shapefile") == 0;
	p.nout = 1;
	if (dfam == VEC_POINT || dfam == VEC_LINE || dfam == VEC_POLY) {
		p.fam[0] = dfam;
		/* a shapefile's Polygon/LineString may hold Multi*: the format
		 * cannot tell them apart, so both become Multi* */
		p.multi[0] = dmulti || (shp && dfam != VEC_POINT);
	} else
		p.fam[0] = VEC_NONE;
	for (attempt = 0; attempt < 4; attempt++) {
		if (p.fam[0] == VEC_NONE || (attempt > 0 && !p.checked)) {
			int nfam = 0, any = 0;

			memset(fam_n, 0, sizeof(fam_n));
			memset(fam_multi, 0, sizeof(fam_multi));
			json_decref(types);
			types = json_object();
			r = census(t, in, fam_n, fam_multi, types, done, span,
			    total, w.why, sizeof(w.why));
			if (r != 0) {
				if (r > 0)
					layer_fail(rep, lname, "%s", w.why);
				r = r > 0 ? 0 : -1;
				goto out;
			}
			p.checked = 1;
			p.nout = 0;
			for (i = VEC_POINT; i < VEC_NFAMILY; i++)
				if (fam_n[i] > 0)
					nfam++;
			if (nfam > 1 && !o->split_by_type) {
				const char *k;
				json_t *v;
				size_t off = 0;

				types_msg[0] = '\0';
				json_object_foreach(types, k, v)
					if (strcmp(k, "null") != 0)
						off += (size_t)snprintf(types_msg +
						    off, off < sizeof(types_msg) ?
						    sizeof(types_msg) - off : 0,
						    "%s%s (%lld)", off ? ", " : "",
						    k, (long long)json_integer_value(v));
				layer_fail(rep, lname, "layer '%s' holds geometry "
				    "types that cannot be unified into one: %s; "
				    "split_by_type = yes gives one layer per type",
				    lname, types_msg);
				r = 0; /* (a pass before may have left r set) */
				goto out;
			}
			for (i = VEC_POINT; i < VEC_NFAMILY; i++) {
				if (fam_n[i] == 0)
					continue;
				p.fam[p.nout] = (enum vec_family)i;
				p.multi[p.nout] = fam_multi[i] ||
				    (dfam == (enum vec_family)i && dmulti) ||
				    (shp && i != VEC_POINT);
				p.nout++;
				any = 1;
			}
			p.split = nfam > 1;
			if (!any) {
				/* only null or empty geometries: as declared */
				p.nout = 1;
				p.fam[0] = dfam;
				p.multi[0] = dmulti;
			}
		}
		json_decref(fields);
		fields = json_array();
		r = write_pass(&w, &p, lname, fields);
		if (r == WR_OK)
			break;
		out_release(&w, p.nout, 1);
		if (r == WR_FATAL) {
			r = -1;
			goto out;
		}
		if (r == WR_FAIL) {
			layer_fail(rep, lname, "%s", w.why[0] ? w.why :
			    "a geometry does not fit the layer's type");
			r = 0;
			goto out;
		}
		if (r == WR_MULTI)
			for (i = 0; i < p.nout; i++)
				p.multi[i] = 1;
		/* WR_RECENSUS: the declaration was wrong; count */
		if (r == WR_RECENSUS)
			p.fam[0] = VEC_NONE;
	}
	if (r != WR_OK) {
		layer_fail(rep, lname, "the layer's types could not be settled");
		r = 0;
		goto out;
	}
	for (i = 0; i < p.nout; i++) {
		struct out_layer *ol = &w.out[i];
		double bb[4];
		char tn[64];
		json_t *lo;

		vec_type_name(vec_family_type(ol->fam, ol->multi), tn,
		    sizeof(tn));
		lo = json_pack("{s:s, s:s, s:s, s:I, s:I, s:O, s:s, s:I, "
		    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:O}",
		    "name", ol->name, "source_layer", lname,
		    "geometry_type", tn,
		    "features_original", (json_int_t)ol->n_in,
		    "features", (json_int_t)ol->n_out,
		    "geometry_types_before", ol->before,
		    "geometry_type_declared", "",
		    "z_m_values_removed", (json_int_t)ol->zm,
		    "z_removed", (json_int_t)ol->z,
		    "m_removed", (json_int_t)ol->m,
		    "curves_linearised", (json_int_t)ol->curves,
		    "null_geometries", (json_int_t)ol->nulls,
		    "empty_geometries", (json_int_t)ol->empties,
		    "invalid_repaired", (json_int_t)ol->repaired,
		    "invalid_skipped", (json_int_t)ol->skipped,
		    "invalid_unrepairable", (json_int_t)ol->unrepairable,
		    "crs_original", crs_orig, "crs", o->srs_name,
		    "fields", fields);
		vec_type_name(declared, tn, sizeof(tn));
		json_object_set_new(lo, "geometry_type_declared",
		    json_string(tn));
		if (p.split)
			json_object_set_new(lo, "split_from", json_string(lname));
		if (assumed != NULL)
			json_object_set_new(lo, "crs_assumed",
			    json_string(assumed));
		if (ol->n_out > ol->nulls + ol->empties &&
		    bbox_4326(ol->lyr, o, bb) == 0) {
			json_object_set_new(lo, "bbox", json_pack("[f,f,f,f]",
			    bb[0], bb[1], bb[2], bb[3]));
			json_object_set_new(lo, "leaflet_bounds",
			    vec_leaflet_bounds(bb));
		} else {
			json_object_set_new(lo, "bbox", json_null());
			json_object_set_new(lo, "leaflet_bounds", json_null());
		}
		json_array_append_new(rep->layers, lo);
		/* its index is built when the file is closed */
		if (keep_rtree(rep, &ol->rt) != 0) {
			spool_worker_fail(t, 0, "out of memory");
			out_release(&w, p.nout, 0);
			r = -1;
			goto out;
		}
	}
	out_release(&w, p.nout, 0);
	r = 0;
out:
	free(w.map);
	json_decref(fields);
	json_decref(types);
	if (w.ct != NULL)
		OCTDestroyCoordinateTransformation(w.ct);
	if (ssrs != NULL)
		OSRDestroySpatialReference(ssrs);
	return r;
}

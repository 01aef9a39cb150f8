/*
 * metadata.c - metadata.json: what a catalogue indexes about a processed
 * raster (schemas/raster-metadata.schema.json).
 *
 * It describes the COG (or the mosaic) as delivered: size, bands with
 * their statistics, CRS, geotransform, bounds; and where it came from:
 * the source's driver and CRS.  No number in it is inf or NaN: those are
 * null, and a NaN nodata is the string "nan".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>

#include "raster.h"

/* min, max, mean, stddev, valid_percent: from the file, else computed
 * (exactly; nothing is written back: PAM is off for our outputs). */
static int
band_stats(GDALRasterBandH b, int compute, double st[5])
{
	const char *vp;

	if (GDALGetRasterStatistics(b, FALSE, FALSE, &st[0], &st[1], &st[2],
	    &st[3]) != CE_None) {
		rerr_reset();
		if (!compute)
			return -1;
		if (GDALComputeRasterStatistics(b, FALSE, &st[0], &st[1], &st[2],
		    &st[3], NULL, NULL) != CE_None) {
			rerr_reset();
			return -1;
		}
	}
	vp = GDALGetMetadataItem(b, "STATISTICS_VALID_PERCENT", NULL);
	st[4] = vp ? CPLAtof(vp) : NAN;
	return 0;
}

json_t *
rmeta_bands(GDALDatasetH ds, int compute)
{
	json_t *arr = json_array();
	int i, n = GDALGetRasterCount(ds);

	for (i = 1; i <= n; i++) {
		GDALRasterBandH b = GDALGetRasterBand(ds, i);
		GDALDataType dt = GDALGetRasterDataType(b);
		GDALColorTableH ct = GDALGetRasterColorTable(b);
		const char *desc = GDALGetDescription(b);
		json_t *o = json_object();
		double st[5], nd;
		int has, ok;

		nd = GDALGetRasterNoDataValue(b, &has);
		json_object_set_new(o, "band", json_integer(i));
		json_object_set_new(o, "type",
		    json_string(GDALGetDataTypeName(dt)));
		json_object_set_new(o, "nodata", has ? jnodata(nd) : json_null());
		json_object_set_new(o, "color_interpretation",
		    json_string(GDALGetColorInterpretationName(
		    GDALGetRasterColorInterpretation(b))));
		json_object_set_new(o, "description", jtext(desc ? desc :
		    ""));
		json_object_set_new(o, "palette", ct ?
		    json_integer(GDALGetColorEntryCount(ct)) : json_null());
		ok = band_stats(b, compute, st) == 0;
		json_object_set_new(o, "min", ok ? jnum(st[0]) : json_null());
		json_object_set_new(o, "max", ok ? jnum(st[1]) : json_null());
		json_object_set_new(o, "mean", ok ? jnum(st[2]) : json_null());
		json_object_set_new(o, "stddev", ok ? jnum(st[3]) : json_null());
		json_object_set_new(o, "valid_percent", ok ? jnum(st[4]) :
		    json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

static char *
wkt2(OGRSpatialReferenceH srs)
{
	const char *opts[] = { "FORMAT=WKT2_2019", "MULTILINE=NO", NULL };
	char *w = NULL;

	if (OSRExportToWktEx(srs, &w, opts) != OGRERR_NONE) {
		CPLFree(w);
		return NULL;
	}
	return w;
}

json_t *
rmeta_crs(const struct rinfo *ri)
{
	json_t *o;
	char *w, *p4 = NULL;
	const char *name;

	if (ri->srs == NULL)
		return json_null();
	o = json_object();
	json_object_set_new(o, "epsg", ri->epsg ? json_integer(ri->epsg) :
	    json_null());
	name = OSRGetName(ri->srs);
	json_object_set_new(o, "name", jtext(name ? name : ""));
	w = wkt2(ri->srs);
	json_object_set_new(o, "wkt2", jtext(w));
	CPLFree(w);
	rerr_reset();
	if (OSRExportToProj4(ri->srs, &p4) == OGRERR_NONE && p4 && *p4)
		json_object_set_new(o, "proj4", jtext(p4));
	else
		json_object_set_new(o, "proj4", json_null());
	CPLFree(p4);
	rerr_reset();
	return o;
}

json_t *
rmeta_crs_short(const struct rinfo *ri)
{
	char buf[32], *p4 = NULL;
	json_t *r;

	if (ri->srs == NULL)
		return json_null();
	if (ri->epsg) {
		snprintf(buf, sizeof(buf), "EPSG:%d", ri->epsg);
		return json_string(buf);
	}
	rerr_reset();
	if (OSRExportToProj4(ri->srs, &p4) == OGRERR_NONE && p4 && *p4) {
		/* "+proj=... +no_defs" trimmed */
		size_t n = strlen(p4);

		while (n > 0 && p4[n - 1] == ' ')
			p4[--n] = '\0';
		r = jtext(p4);
	} else {
		const char *name = OSRGetName(ri->srs);

		r = jtext(name ? name : "unknown");
	}
	CPLFree(p4);
	rerr_reset();
	return r;
}

static json_t *
overview_levels(GDALDatasetH ds)
{
	GDALRasterBandH b = GDALGetRasterBand(ds, 1);
	int i, n = GDALGetOverviewCount(b), w = GDALGetRasterXSize(ds);
	json_t *arr = json_array();

	for (i = 0; i < n; i++) {
		GDALRasterBandH o = GDALGetOverview(b, i);
		int ow = o ? GDALGetRasterBandXSize(o) : 0;

		if (ow > 0)
			json_array_append_new(arr, json_integer(
			    (json_int_t)lround((double)w / ow)));
	}
	return arr;
}

json_t *
rmeta_build(GDALDatasetH ds, const struct rinfo *ri, const struct rinfo *src,
    const struct rbounds *b, const struct rcog_opts *o, json_t *bands,
    json_t *hashes)
{
	const char *comp = GDALGetMetadataItem(ds, "COMPRESSION",
	    "IMAGE_STRUCTURE");
	const char *pred = GDALGetMetadataItem(ds, "PREDICTOR",
	    "IMAGE_STRUCTURE");
	const char *layout = GDALGetMetadataItem(ds, "LAYOUT",
	    "IMAGE_STRUCTURE");
	json_t *m = json_object(), *s;
	int bx = 0, by = 0, i;

	json_object_set_new(m, "driver", json_string(src->driver));
	json_object_set_new(m, "width", json_integer(ri->width));
	json_object_set_new(m, "height", json_integer(ri->height));
	json_object_set_new(m, "band_count", json_integer(ri->bands));
	json_object_set_new(m, "bands", bands);
	json_object_set_new(m, "crs", rmeta_crs(ri));
	if (ri->has_gt) {
		json_t *g = json_array();

		for (i = 0; i < 6; i++)
			json_array_append_new(g, jnum(ri->gt[i]));
		json_object_set_new(m, "geotransform", g);
		json_object_set_new(m, "resolution", json_pack("[o, o]",
		    jnum(hypot(ri->gt[1], ri->gt[4])),
		    jnum(hypot(ri->gt[2], ri->gt[5]))));
		json_object_set_new(m, "native_bbox", json_pack("[o, o, o, o]",
		    jnum(b->native[0]), jnum(b->native[1]), jnum(b->native[2]),
		    jnum(b->native[3])));
	} else {
		json_object_set_new(m, "geotransform", json_null());
		json_object_set_new(m, "resolution", json_null());
		json_object_set_new(m, "native_bbox", json_null());
	}
	json_object_set_new(m, "bounds", rbounds_json(b));
	json_object_set_new(m, "leaflet_bounds", rbounds_leaflet(b));
	json_object_set_new(m, "bounds_method", !b->ok ? json_null() :
	    json_string(b->sampled ? "sampled_grid" : "transform_bounds"));
	if (rbounds_note(ri, b) != NULL)
		json_object_set_new(m, "note", json_string(rbounds_note(ri, b)));
	json_object_set_new(m, "overviews", overview_levels(ds));
	json_object_set_new(m, "compression", comp ? json_string(comp) :
	    json_null());
	json_object_set_new(m, "predictor", pred ? json_integer(atoi(pred)) :
	    json_null());
	GDALGetBlockSize(GDALGetRasterBand(ds, 1), &bx, &by);
	json_object_set_new(m, "blocksize", json_pack("[i, i]", bx, by));
	json_object_set_new(m, "layout", layout ? json_string(layout) :
	    json_null());
	json_object_set_new(m, "resampling", json_string(o->resampling));
	json_object_set_new(m, "reprojected", o->reproject[0] ?
	    json_string(o->reproject) : json_null());
	s = json_object();
	json_object_set_new(s, "driver", json_string(src->driver));
	json_object_set_new(s, "width", json_integer(src->width));
	json_object_set_new(s, "height", json_integer(src->height));
	json_object_set_new(s, "band_count", json_integer(src->bands));
	json_object_set_new(s, "crs", rmeta_crs_short(src));
	json_object_set_new(m, "source", s);
	json_object_set_new(m, "outputs", hashes ? json_incref(hashes) :
	    json_object());
	return m;
}

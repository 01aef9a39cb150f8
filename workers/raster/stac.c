/*
 * stac.c - STAC 1.0.0 Items (one per COG) and the Collection of a tiled
 * raster, with the projection (v1.1.0) and raster (v1.1.0) extensions.
 * Every href is relative: the result directory is carried across the
 * gap as it is and must stay valid wherever it lands.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cpl_conv.h>

#include "raster.h"

#define EXT_PROJ "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
#define EXT_RASTER "https://stac-extensions.github.io/raster/v1.1.0/schema.json"

static json_t *
ring(double w, double s, double e, double n)
{
	return json_pack("[[[o, o], [o, o], [o, o], [o, o], [o, o]]]",
	    jnum(w), jnum(s), jnum(e), jnum(s), jnum(e), jnum(n), jnum(w),
	    jnum(n), jnum(w), jnum(s));
}

/* The bounds as GeoJSON, split at the antimeridian when they cross it. */
static json_t *
geometry(const struct rbounds *b)
{
	if (b->w <= b->e)
		return json_pack("{s:s, s:o}", "type", "Polygon", "coordinates",
		    ring(b->w, b->s, b->e, b->n));
	return json_pack("{s:s, s:[o, o]}", "type", "MultiPolygon",
	    "coordinates", ring(b->w, b->s, 180, b->n), ring(-180, b->s, b->e,
	    b->n));
}

static json_t *
href(const char *name)
{
	char buf[RASTER_PATH];

	snprintf(buf, sizeof(buf), "./%s", name);
	return json_string(buf);
}

/* raster:bands from metadata.json's band list (no second pass over the
 * pixels) */
static json_t *
raster_bands(json_t *bands)
{
	static const char *const stat_keys[][2] = {
		{ "min", "minimum" }, { "max", "maximum" }, { "mean", "mean" },
		{ "stddev", "stddev" }, { "valid_percent", "valid_percent" },
	};
	json_t *arr = json_array(), *b;
	size_t i, k;

	json_array_foreach(bands, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));
		json_t *o = json_object(), *st = json_object(), *nd, *v;
		char lower[16];

		for (k = 0; type != NULL && type[k] != '\0' && k + 1 <
		    sizeof(lower); k++)
			lower[k] = (char)(type[k] >= 'A' && type[k] <= 'Z' ?
			    type[k] + 32 : type[k]);
		lower[type ? k : 0] = '\0';
		json_object_set_new(o, "data_type", json_string(
		    strcmp(lower, "byte") == 0 ? "uint8" : lower[0] ? lower :
		    "other"));
		nd = json_object_get(b, "nodata");
		if (nd != NULL && !json_is_null(nd))
			json_object_set(o, "nodata", nd);
		for (k = 0; k < sizeof(stat_keys) / sizeof(stat_keys[0]); k++)
			if ((v = json_object_get(b, stat_keys[k][0])) != NULL &&
			    json_is_number(v))
				json_object_set(st, stat_keys[k][1], v);
		if (json_object_size(st) > 0)
			json_object_set_new(o, "statistics", st);
		else
			json_decref(st);
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
rstac_item(const char *id, GDALDatasetH ds, const struct rinfo *ri,
    const struct rbounds *b, json_t *bands, const char *cog,
    const char *preview, const char *metadata, const char *collection)
{
	json_t *item, *props, *assets, *links, *a;
	char now[32];

	(void)ds;
	rnow(now);
	props = json_object();
	json_object_set_new(props, "datetime", json_string(now));
	json_object_set_new(props, "created", json_string(now));
	json_object_set_new(props, "proj:epsg", ri->epsg ?
	    json_integer(ri->epsg) : json_null());
	if (ri->srs != NULL && ri->epsg == 0) {
		const char *opts[] = { "FORMAT=WKT2_2019", "MULTILINE=NO", NULL };
		char *w = NULL;

		if (OSRExportToWktEx(ri->srs, &w, opts) == OGRERR_NONE && w)
			json_object_set_new(props, "proj:wkt2", jtext(w));
		CPLFree(w);
	}
	json_object_set_new(props, "proj:shape", json_pack("[i, i]",
	    ri->height, ri->width));
	if (ri->has_gt) {
		json_object_set_new(props, "proj:transform", json_pack(
		    "[o, o, o, o, o, o, i, i, i]", jnum(ri->gt[1]), jnum(ri->gt[2]),
		    jnum(ri->gt[0]), jnum(ri->gt[4]), jnum(ri->gt[5]),
		    jnum(ri->gt[3]), 0, 0, 1));
		json_object_set_new(props, "proj:bbox", json_pack("[o, o, o, o]",
		    jnum(b->native[0]), jnum(b->native[1]), jnum(b->native[2]),
		    jnum(b->native[3])));
	}

	assets = json_object();
	a = json_pack("{s:o, s:s, s:s, s:[s]}", "href", href(cog), "type",
	    RASTER_COG_TYPE, "title", "Cloud Optimized GeoTIFF", "roles",
	    "data");
	json_object_set_new(a, "raster:bands", raster_bands(bands));
	json_object_set_new(assets, "data", a);
	if (preview != NULL)
		json_object_set_new(assets, "overview", json_pack("{s:o, s:s, "
		    "s:s, s:[s]}", "href", href(preview), "type", "image/png",
		    "title", "Preview (EPSG:3857 over leaflet_bounds)", "roles",
		    "overview"));
	if (metadata != NULL)
		json_object_set_new(assets, "metadata", json_pack("{s:o, s:s, "
		    "s:s, s:[s]}", "href", href(metadata), "type",
		    "application/json", "title", "Raster metadata", "roles",
		    "metadata"));

	links = json_array();
	if (collection != NULL) {
		json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel",
		    "collection", "href", "./collection.json", "type",
		    "application/json"));
		json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel",
		    "parent", "href", "./collection.json", "type",
		    "application/json"));
		json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel",
		    "root", "href", "./collection.json", "type",
		    "application/json"));
	}

	item = json_pack("{s:s, s:s, s:[s, s], s:s}", "type", "Feature",
	    "stac_version", "1.0.0", "stac_extensions", EXT_PROJ, EXT_RASTER,
	    "id", id);
	if (b->ok) {
		json_object_set_new(item, "geometry", geometry(b));
		json_object_set_new(item, "bbox", rbounds_json(b));
	} else
		json_object_set_new(item, "geometry", json_null());
	json_object_set_new(item, "properties", props);
	json_object_set_new(item, "links", links);
	json_object_set_new(item, "assets", assets);
	if (collection != NULL)
		json_object_set_new(item, "collection", json_string(collection));
	return item;
}

json_t *
rstac_collection(const char *id, const char *title, const struct rbounds *b,
    json_t *items, const char *vrt, const char *preview,
    const char *metadata)
{
	json_t *c, *links, *assets, *bbox;
	char now[32];
	size_t i;
	json_t *it;

	rnow(now);
	links = json_array();
	json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "root",
	    "href", "./collection.json", "type", "application/json"));
	json_array_foreach(items, i, it)
		json_array_append_new(links, json_pack("{s:s, s:o, s:s}", "rel",
		    "item", "href", href(json_string_value(it)), "type",
		    "application/geo+json"));
	assets = json_object();
	if (vrt != NULL)
		json_object_set_new(assets, "mosaic", json_pack("{s:o, s:s, s:s, "
		    "s:[s]}", "href", href(vrt), "type", "application/xml",
		    "title", "GDAL VRT mosaic of the tiles", "roles", "data"));
	if (preview != NULL)
		json_object_set_new(assets, "overview", json_pack("{s:o, s:s, "
		    "s:s, s:[s]}", "href", href(preview), "type", "image/png",
		    "title", "Preview (EPSG:3857 over leaflet_bounds)", "roles",
		    "overview"));
	if (metadata != NULL)
		json_object_set_new(assets, "metadata", json_pack("{s:o, s:s, "
		    "s:s, s:[s]}", "href", href(metadata), "type",
		    "application/json", "title", "Raster metadata", "roles",
		    "metadata"));
	/* a collection needs a spatial extent; without a CRS it is the
	 * whole world, which says "unknown" as plainly as STAC allows */
	bbox = b->ok ? rbounds_json(b) : json_pack("[i, i, i, i]", -180, -90,
	    180, 90);
	c = json_pack("{s:s, s:s, s:[], s:s, s:s, s:s, s:s, s:{s:{s:[o]}, "
	    "s:{s:[[s, n]]}}, s:o, s:o}", "type", "Collection", "stac_version",
	    "1.0.0", "stac_extensions", "id", id, "title", title, "description",
	    "Tiles of a raster too big for one COG, as Cloud Optimized "
	    "GeoTIFFs, with a VRT mosaic of them", "license", "proprietary",
	    "extent", "spatial", "bbox", bbox, "temporal", "interval", now,
	    "links", links, "assets", assets);
	return c;
}

/*
 * stac.c - the JSON files of a vector result: metadata.json (written by
 * vector.c from the report) and item.json, a STAC 1.0.0 Item whose data
 * asset is the GeoPackage.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vector.h"

int
vec_write_json(const char *path, const json_t *o)
{
	FILE *f = fopen(path, "w");
	int r;

	if (f == NULL)
		return -1;
	r = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (fputc('\n', f) == EOF)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

json_t *
vec_leaflet_bounds(const double bb[4])
{
	return json_pack("[[f,f],[f,f]]", bb[1], bb[0], bb[3], bb[2]);
}

json_t *
vec_stac_item(const char *id, const double bb[4], const char *gpkg,
    int epsg, int has_preview)
{
	char now[32], href[300];
	time_t tt = time(NULL);
	struct tm tm;
	json_t *item, *assets, *props;

	gmtime_r(&tt, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	props = json_pack("{s:s}", "datetime", now);
	if (epsg > 0)
		json_object_set_new(props, "proj:epsg", json_integer(epsg));
	snprintf(href, sizeof(href), "./%s", gpkg);
	assets = json_pack("{s:{s:s, s:s, s:s, s:[s]}, s:{s:s, s:s, s:[s]}}",
	    "data", "href", href, "type", "application/geopackage+sqlite3",
	    "title", "GeoPackage", "roles", "data",
	    "metadata", "href", "./metadata.json", "type", "application/json",
	    "roles", "metadata");
	if (has_preview)
		json_object_set_new(assets, "overview", json_pack("{s:s, s:s, "
		    "s:[s]}", "href", "./preview.png", "type", "image/png",
		    "roles", "overview"));
	item = json_pack("{s:s, s:s, s:[s], s:s}", "type", "Feature",
	    "stac_version", "1.0.0", "stac_extensions",
	    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
	    "id", id);
	if (bb != NULL) {
		json_object_set_new(item, "bbox", json_pack("[f,f,f,f]", bb[0],
		    bb[1], bb[2], bb[3]));
		json_object_set_new(item, "geometry", json_pack("{s:s, "
		    "s:[[[f,f],[f,f],[f,f],[f,f],[f,f]]]}", "type", "Polygon",
		    "coordinates", bb[0], bb[1], bb[2], bb[1], bb[2], bb[3],
		    bb[0], bb[3], bb[0], bb[1]));
	} else
		json_object_set_new(item, "geometry", json_null());
	json_object_set_new(item, "properties", props);
	json_object_set_new(item, "links", json_array());
	json_object_set_new(item, "assets", assets);
	return item;
}

/*
 * source.c - which uploads the vector worker takes, and opening them.
 *
 * An upload is hostile until proven otherwise: it is opened read-only
 * with exactly one driver, chosen by its extension (and, for a zip, by
 * what the archive holds), so a file named .csv can never wake the
 * FileGDB or GPKG parser.  Anything else is refused before GDAL reads a
 * byte of it.  What a layer holds (its count, its extent) is read from
 * its features where the file's own statement of it may lie.
 */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

const char vec_supported[] = ".zip (shapefile or FileGDB), .geojson, .json, "
    ".gpkg, .kml, .kmz, .csv, .gpx";

static char *
msg(const char *fmt, const char *a, const char *b)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), fmt, a, b ? b : "");
	return strdup(buf);
}

static int
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* The lowercase extension and the stem (safe for a file name). */
static void
split_name(struct vec_source *s, const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i, n;

	s->ext[0] = '\0';
	if (dot != NULL && dot != name && strlen(dot + 1) < sizeof(s->ext)) {
		for (i = 0; dot[1 + i]; i++)
			s->ext[i] = (char)tolower((unsigned char)dot[1 + i]);
		s->ext[i] = '\0';
	}
	n = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);
	if (n >= sizeof(s->stem))
		n = sizeof(s->stem) - 1;
	memcpy(s->stem, name, n);
	s->stem[n] = '\0';
	/* x.gdb.zip, x.shp.zip: the inner extension is not part of the name */
	if (strcmp(s->ext, "zip") == 0 && (ends_with(s->stem, ".gdb") ||
	    ends_with(s->stem, ".shp")))
		s->stem[strlen(s->stem) - 4] = '\0';
	for (i = 0; s->stem[i]; i++) {
		unsigned char c = (unsigned char)s->stem[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			s->stem[i] = '_';
	}
	if (s->stem[0] == '\0' || s->stem[0] == '.')
		snprintf(s->stem, sizeof(s->stem), "upload");
}

/* What a zip holds: the FileGDB folder or the shapefiles' folder inside
 * it, as a /vsizip/ path. */
static int
zip_target(const char *path, char *out, size_t n, const char **driver,
    char **err)
{
	char zpath[4200], dir[200];
	char **list;
	int i, shp = -1, gdb = -1;

	snprintf(zpath, sizeof(zpath), "/vsizip/%s", path);
	list = VSIReadDirRecursive(zpath);
	if (list == NULL) {
		*err = msg("cannot read the zip archive%s%s", "", NULL);
		return -1;
	}
	for (i = 0; list[i] != NULL; i++) {
		const char *e = list[i];
		const char *g = strstr(e, ".gdb/");

		if (gdb < 0 && (g != NULL || ends_with(e, ".gdb")))
			gdb = i;
		if (shp < 0 && ends_with(e, ".shp"))
			shp = i;
	}
	if (gdb >= 0) {
		const char *e = list[gdb];
		const char *g = strstr(e, ".gdb/");
		size_t k = g != NULL ? (size_t)(g - e) + 4 : strlen(e);

		if (k >= sizeof(dir))
			k = sizeof(dir) - 1;
		memcpy(dir, e, k);
		dir[k] = '\0';
		snprintf(out, n, "%.4090s/%s", zpath, dir);
		*driver = "OpenFileGDB";
	} else if (shp >= 0) {
		const char *e = list[shp], *sl = strrchr(e, '/');

		if (sl == NULL)
			snprintf(out, n, "%s", zpath);
		else
			snprintf(out, n, "%s/%.*s", zpath, (int)(sl - e), e);
		*driver = "ESRI Shapefile";
	} else {
		CSLDestroy(list);
		*err = msg("unsupported format: .zip holding neither a shapefile "
		    "nor a FileGDB (supported: %s)%s", vec_supported, NULL);
		return -1;
	}
	CSLDestroy(list);
	return 0;
}

int
vec_source_open(struct vec_source *s, const char *path, const char *name,
    char **err)
{
	static const char *const csv_opts[] = {
		"X_POSSIBLE_NAMES=lon,lng,long,longitude,x,xcoord,x_coord",
		"Y_POSSIBLE_NAMES=lat,latitude,y,ycoord,y_coord",
		"GEOM_POSSIBLE_NAMES=wkt,geom,geometry,the_geom,wkt_geom,shape",
		"KEEP_GEOM_COLUMNS=NO",
		"AUTODETECT_TYPE=YES",
		"EMPTY_STRING_AS_NULL=YES",
		NULL
	};
	const char *drivers[2] = { NULL, NULL };
	const char *const *opts = NULL;
	char target[4400];

	memset(s, 0, sizeof(*s));
	*err = NULL;
	split_name(s, name);
	snprintf(target, sizeof(target), "%s", path);
	if (strcmp(s->ext, "zip") == 0) {
		if (zip_target(path, target, sizeof(target), &s->driver, err) != 0)
			return -1;
		s->format = strcmp(s->driver, "OpenFileGDB") == 0 ?
		    "FileGDB (zipped)" : "Shapefile (zipped)";
	} else if (strcmp(s->ext, "geojson") == 0 ||
	    strcmp(s->ext, "json") == 0) {
		s->driver = "GeoJSON";
		s->format = "GeoJSON";
	} else if (strcmp(s->ext, "gpkg") == 0) {
		s->driver = "GPKG";
		s->format = "GeoPackage";
	} else if (strcmp(s->ext, "kml") == 0 || strcmp(s->ext, "kmz") == 0) {
		s->driver = GDALGetDriverByName("LIBKML") != NULL ? "LIBKML" :
		    "KML";
		s->format = strcmp(s->ext, "kml") == 0 ? "KML" : "KMZ";
		if (strcmp(s->ext, "kmz") == 0 && strcmp(s->driver, "KML") == 0)
			snprintf(target, sizeof(target), "/vsizip/%s/doc.kml",
			    path);
	} else if (strcmp(s->ext, "csv") == 0) {
		s->driver = "CSV";
		s->format = "CSV";
		opts = csv_opts;
	} else if (strcmp(s->ext, "gpx") == 0) {
		s->driver = "GPX";
		s->format = "GPX";
	} else {
		char e[32];

		snprintf(e, sizeof(e), "%s%s", s->ext[0] ? "." : "",
		    s->ext[0] ? s->ext : "(no extension)");
		*err = msg("unsupported format: %s (supported: %s)", e,
		    vec_supported);
		return -1;
	}
	if (GDALGetDriverByName(s->driver) == NULL) {
		*err = msg("the %s driver is missing from this GDAL%s",
		    s->driver, NULL);
		return -1;
	}
	drivers[0] = s->driver;
	CPLErrorReset();
	s->ds = GDALOpenEx(target, GDAL_OF_VECTOR | GDAL_OF_READONLY |
	    GDAL_OF_VERBOSE_ERROR, drivers, opts, NULL);
	if (s->ds == NULL) {
		const char *why = CPLGetLastErrorMsg();

		*err = msg("cannot open the upload as %s: %s", s->format,
		    why && *why ? why : "not recognised");
		return -1;
	}
	return 0;
}

void
vec_source_close(struct vec_source *s)
{
	if (s->ds != NULL)
		GDALClose(s->ds);
	s->ds = NULL;
}

OGRFeatureH
vec_next_feature(OGRLayerH in, int *failed)
{
	OGRFeatureH f;

	CPLErrorReset();
	f = OGR_L_GetNextFeature(in);
	*failed = f == NULL && CPLGetLastErrorType() >= CE_Failure;
	return f;
}

long long
vec_layer_count(OGRLayerH in)
{
	long long n = OGR_L_GetFeatureCount(in, TRUE);
	OGRFeatureH f;
	int failed;

	if (n > 0)
		return n;
	/* a count the file stores (gpkg_ogr_contents) may lie, or there
	 * is none: counted by reading */
	n = 0;
	OGR_L_ResetReading(in);
	while ((f = vec_next_feature(in, &failed)) != NULL) {
		OGR_F_Destroy(f);
		n++;
	}
	return failed ? -1 : n;
}

/* The extent of the features themselves, not the one the file states
 * (a shapefile's header, a GeoPackage's gpkg_contents): what decides
 * whether a layer without CRS is lon/lat.  -1 when none has geometry. */
int
vec_layer_extent(OGRLayerH in, OGREnvelope *env)
{
	OGRFeatureH f;
	OGREnvelope e;
	int any = 0, failed;

	OGR_L_ResetReading(in);
	while ((f = vec_next_feature(in, &failed)) != NULL) {
		OGRGeometryH g = OGR_F_GetGeometryRef(f);

		if (g != NULL && !OGR_G_IsEmpty(g)) {
			OGR_G_GetEnvelope(g, &e);
			if (!any || e.MinX < env->MinX)
				env->MinX = e.MinX;
			if (!any || e.MinY < env->MinY)
				env->MinY = e.MinY;
			if (!any || e.MaxX > env->MaxX)
				env->MaxX = e.MaxX;
			if (!any || e.MaxY > env->MaxY)
				env->MaxY = e.MaxY;
			any = 1;
		}
		OGR_F_Destroy(f);
	}
	return any && !failed ? 0 : -1;
}

/* GDAL's names for a GeoPackage's srs_id 0 and -1 */
int
vec_srs_undefined(OGRSpatialReferenceH srs)
{
	const char *n = OSRGetName(srs);

	return n != NULL && (strcmp(n, "Undefined geographic SRS") == 0 ||
	    strcmp(n, "Undefined Cartesian SRS") == 0);
}

/*
 * preview.c - preview.png: the features drawn in EPSG:3857 over exactly
 * the request's leaflet_bounds, so a web map overlays it as it is
 * (latitudes clamped to Leaflet's +-85.0511287798, at most 1024 px on the
 * long side).  Drawn with GDALRasterizeLayers into a MEM dataset, which
 * reprojects each layer to the raster's CRS itself.
 */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_alg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

#define MAX_LAT 85.0511287798
#define SIDE 1024
#define R_EARTH 6378137.0

static double
merc_x(double lon)
{
	return R_EARTH * lon * M_PI / 180.0;
}

static double
merc_y(double lat)
{
	if (lat > MAX_LAT)
		lat = MAX_LAT;
	if (lat < -MAX_LAT)
		lat = -MAX_LAT;
	return R_EARTH * log(tan(M_PI / 4 + lat * M_PI / 360.0));
}

int
vec_preview(const char *gpkg, const json_t *layers, const json_t *lb,
    const char *png, char **err)
{
	static const double rgba[4] = { 37, 99, 235, 220 };
	double s = json_number_value(json_array_get(json_array_get(lb, 0), 0));
	double w = json_number_value(json_array_get(json_array_get(lb, 0), 1));
	double n = json_number_value(json_array_get(json_array_get(lb, 1), 0));
	double e = json_number_value(json_array_get(json_array_get(lb, 1), 1));
	double x0 = merc_x(w), x1 = merc_x(e), y0 = merc_y(s), y1 = merc_y(n);
	double dx = x1 - x0, dy = y1 - y0, gt[6], *burn = NULL;
	OGRSpatialReferenceH merc = NULL;
	GDALDatasetH mem = NULL, src = NULL, out = NULL;
	OGRLayerH *ls = NULL;
	char *wkt = NULL, *opts[] = { "ALL_TOUCHED=TRUE", NULL };
	int bands[4] = { 1, 2, 3, 4 };
	int W, H, nl = 0, r = -1;
	size_t i;
	json_t *lo;

	*err = NULL;
	if (dx <= 0 && dy <= 0)
		W = H = 1;
	else if (dx >= dy) {
		W = SIDE;
		H = (int)lround(SIDE * dy / dx);
	} else {
		H = SIDE;
		W = (int)lround(SIDE * dx / dy);
	}
	if (W < 1)
		W = 1;
	if (H < 1)
		H = 1;
	gt[0] = x0;
	gt[1] = dx > 0 ? dx / W : 1;
	gt[2] = 0;
	gt[3] = y1;
	gt[4] = 0;
	gt[5] = dy > 0 ? -dy / H : -1;
	mem = GDALCreate(GDALGetDriverByName("MEM"), "", W, H, 4, GDT_Byte,
	    NULL);
	if (mem == NULL)
		goto out;
	merc = OSRNewSpatialReference(NULL);
	OSRImportFromEPSG(merc, 3857);
	OSRExportToWkt(merc, &wkt);
	GDALSetProjection(mem, wkt);
	GDALSetGeoTransform(mem, gt);
	src = GDALOpenEx(gpkg, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL,
	    NULL);
	if (src == NULL)
		goto out;
	ls = calloc(json_array_size(layers) + 1, sizeof(*ls));
	burn = calloc((json_array_size(layers) + 1) * 4, sizeof(*burn));
	if (ls == NULL || burn == NULL)
		goto out;
	json_array_foreach(layers, i, lo) {
		OGRLayerH l = GDALDatasetGetLayerByName(src,
		    json_string_value(json_object_get(lo, "name")));

		if (l == NULL || json_is_null(json_object_get(lo, "bbox")))
			continue;
		memcpy(burn + 4 * nl, rgba, sizeof(rgba));
		ls[nl++] = l;
	}
	if (nl > 0 && GDALRasterizeLayers(mem, 4, bands, nl, ls, NULL, NULL,
	    burn, opts, NULL, NULL) != CE_None)
		goto out;
	out = GDALCreateCopy(GDALGetDriverByName("PNG"), png, mem, FALSE, NULL,
	    NULL, NULL);
	if (out == NULL)
		goto out;
	r = 0;
out:
	if (r != 0)
		*err = strdup(CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() :
		    "cannot draw the preview");
	if (out != NULL)
		GDALClose(out);
	if (src != NULL)
		GDALClose(src);
	if (mem != NULL)
		GDALClose(mem);
	free(ls);
	free(burn);
	CPLFree(wkt);
	if (merc != NULL)
		OSRDestroySpatialReference(merc);
	return r;
}

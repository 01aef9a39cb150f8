/*
 * bounds.c - where a raster lies on the globe: `bounds` [west, south,
 * east, north] in EPSG:4326 and Leaflet's [[south, west], [north, east]].
 *
 * The bounds are OCTTransformBounds over the native bounding box with 21
 * densify points in traditional GIS order, exactly what GDAL's own
 * TransformBounds gives, so anyone can check them.  Where that fails or
 * answers infinities (a full-disk geostationary image: its corners are
 * off the planet), the bounds come from a grid of pixel positions, each
 * transformed on its own, keeping those that land.
 */
#include <math.h>
#include <string.h>

#include "raster.h"

#define DENSIFY 21
#define GRID 129

static void
pix2geo(const double *gt, double px, double py, double *x, double *y)
{
	*x = gt[0] + px * gt[1] + py * gt[2];
	*y = gt[3] + px * gt[4] + py * gt[5];
}

static void
native_bbox(const struct rinfo *ri, double bb[4])
{
	double cx[4], cy[4];
	int i;

	pix2geo(ri->gt, 0, 0, &cx[0], &cy[0]);
	pix2geo(ri->gt, ri->width, 0, &cx[1], &cy[1]);
	pix2geo(ri->gt, 0, ri->height, &cx[2], &cy[2]);
	pix2geo(ri->gt, ri->width, ri->height, &cx[3], &cy[3]);
	bb[0] = bb[2] = cx[0];
	bb[1] = bb[3] = cy[0];
	for (i = 1; i < 4; i++) {
		bb[0] = fmin(bb[0], cx[i]);
		bb[2] = fmax(bb[2], cx[i]);
		bb[1] = fmin(bb[1], cy[i]);
		bb[3] = fmax(bb[3], cy[i]);
	}
}

/* The pixels that transform: a GRID x GRID lattice over the raster,
 * edges included. */
static int
sampled(const struct rinfo *ri, OGRCoordinateTransformationH ct,
    struct rbounds *b)
{
	double x[GRID], y[GRID], z[GRID];
	int ok[GRID], i, j, any = 0;

	for (j = 0; j < GRID; j++) {
		for (i = 0; i < GRID; i++) {
			pix2geo(ri->gt, (double)ri->width * i / (GRID - 1),
			    (double)ri->height * j / (GRID - 1), &x[i], &y[i]);
			z[i] = 0;
		}
		memset(ok, 0, sizeof(ok));
		OCTTransformEx(ct, GRID, x, y, z, ok);
		for (i = 0; i < GRID; i++) {
			if (!ok[i] || !isfinite(x[i]) || !isfinite(y[i]))
				continue;
			if (!any) {
				b->w = b->e = x[i];
				b->s = b->n = y[i];
				any = 1;
			}
			b->w = fmin(b->w, x[i]);
			b->e = fmax(b->e, x[i]);
			b->s = fmin(b->s, y[i]);
			b->n = fmax(b->n, y[i]);
		}
	}
	return any;
}

void
rbounds_compute(const struct rinfo *ri, struct rbounds *b)
{
	OGRSpatialReferenceH wgs84;
	OGRCoordinateTransformationH ct;
	double *bb = b->native;

	memset(b, 0, sizeof(*b));
	native_bbox(ri, b->native);
	if (!ri->georef)
		return;
	wgs84 = OSRNewSpatialReference(NULL);
	OSRImportFromEPSG(wgs84, 4326);
	OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
	rerr_reset();
	ct = OCTNewCoordinateTransformation(ri->srs, wgs84);
	if (ct == NULL)
		goto out;
	if (OCTTransformBounds(ct, bb[0], bb[1], bb[2], bb[3], &b->w, &b->s,
	    &b->e, &b->n, DENSIFY) && isfinite(b->w) && isfinite(b->s) &&
	    isfinite(b->e) && isfinite(b->n))
		b->ok = 1;
	else if (sampled(ri, ct, b)) {
		b->ok = 1;
		b->sampled = 1;
	}
	/* the failures were expected: not the task's error */
	rerr_reset();
out:
	OCTDestroyCoordinateTransformation(ct);
	OSRDestroySpatialReference(wgs84);
}

json_t *
rbounds_json(const struct rbounds *b)
{
	if (!b->ok)
		return json_null();
	return json_pack("[o, o, o, o]", jnum(b->w), jnum(b->s), jnum(b->e),
	    jnum(b->n));
}

json_t *
rbounds_leaflet(const struct rbounds *b)
{
	if (!b->ok)
		return json_null();
	return json_pack("[[o, o], [o, o]]", jnum(b->s), jnum(b->w),
	    jnum(b->n), jnum(b->e));
}

static double
clamp_lat(double lat)
{
	return lat > RASTER_MERC_LAT ? RASTER_MERC_LAT :
	    lat < -RASTER_MERC_LAT ? -RASTER_MERC_LAT : lat;
}

int
rbounds_mercator(const struct rbounds *b, double ext[4])
{
	double s = clamp_lat(b->s), n = clamp_lat(b->n), e = b->e;
	double ratio;

	/* across the antimeridian: east beyond 180 (Leaflet wraps it) */
	if (e < b->w)
		e += 360;
	ext[0] = RASTER_MERC_R * b->w * M_PI / 180;
	ext[2] = RASTER_MERC_R * e * M_PI / 180;
	ext[1] = RASTER_MERC_R * log(tan(M_PI / 4 + s * M_PI / 360));
	ext[3] = RASTER_MERC_R * log(tan(M_PI / 4 + n * M_PI / 360));
	ratio = (ext[2] - ext[0]) / (ext[3] - ext[1]);
	return b->ok && isfinite(ratio) && ratio > 0 ? 0 : -1;
}

const char *
rbounds_note(const struct rinfo *ri, const struct rbounds *b)
{
	double ext[4];

	if (ri->srs == NULL)
		return "the raster has no CRS: processed without map bounds, "
		    "its preview is not georeferenced";
	if (!b->ok)
		return "the raster's CRS does not transform to EPSG:4326: no "
		    "map bounds";
	if (rbounds_mercator(b, ext) != 0)
		return "the raster lies beyond EPSG:3857's +-85.0511 degrees "
		    "of latitude: a web map does not show it, its preview is "
		    "not warped";
	if (b->sampled)
		return "the raster's corners do not transform to EPSG:4326: "
		    "bounds from the pixels that do";
	return NULL;
}

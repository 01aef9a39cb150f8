/*
 * geom.c - geometry chores of the query worker: GeoPackage blobs, CRS84
 * and the layer's CRS, the winding RFC 7946 asks for.
 *
 * Requests speak CRS84 (OGC API - Features: bbox and CQL2 geometries are
 * longitude, latitude); layers keep their own CRS.  Filter geometries go
 * to the layer's CRS (densified first, so an edge straight in lon/lat
 * stays where the user drew it), results come back to CRS84.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>

#include "query.h"

static double
rdd(const unsigned char *p, int le)
{
	uint64_t u = 0;
	double d;
	int i;

	for (i = 0; i < 8; i++)
		u |= (uint64_t)p[le ? i : 7 - i] << (8 * i);
	memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * GeoPackage 1.3, 2.1.3: "GP", version 0, flags (bit 0 byte order of
 * the header, bits 1-3 envelope kind, bit 4 empty, bit 5 extended
 * type), srs_id, the envelope, then standard WKB.
 */
const unsigned char *
gpkg_wkb(const unsigned char *blob, size_t n, size_t *wkb_len, int *empty,
    OGREnvelope *env, int *has_env)
{
	static const size_t env_size[8] = { 0, 32, 48, 48, 64, 0, 0, 0 };
	unsigned flags;
	size_t hdr;
	int le;

	if (blob == NULL || n < 8 || blob[0] != 'G' || blob[1] != 'P' ||
	    blob[2] != 0)
		return NULL;
	flags = blob[3];
	if (flags & 0x20)
		return NULL; /* an extension's own geometry encoding */
	if (((flags >> 1) & 7) > 4)
		return NULL;
	le = flags & 1;
	hdr = 8 + env_size[(flags >> 1) & 7];
	if (n < hdr + 5)
		return NULL;
	*empty = (flags & 0x10) != 0;
	*has_env = env_size[(flags >> 1) & 7] > 0;
	if (*has_env && env != NULL) {
		env->MinX = rdd(blob + 8, le);
		env->MaxX = rdd(blob + 16, le);
		env->MinY = rdd(blob + 24, le);
		env->MaxY = rdd(blob + 32, le);
	}
	*wkb_len = n - hdr;
	return blob + hdr;
}

OGRSpatialReferenceH
q_srs_epsg(int code)
{
	OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);

	if (s == NULL)
		return NULL;
	if (OSRImportFromEPSG(s, code) != OGRERR_NONE) {
		OSRDestroySpatialReference(s);
		return NULL;
	}
	OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
	return s;
}

OGRSpatialReferenceH
q_srs_wkt(const char *wkt)
{
	OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);

	if (s == NULL)
		return NULL;
	if (OSRSetFromUserInput(s, wkt) != OGRERR_NONE) {
		OSRDestroySpatialReference(s);
		return NULL;
	}
	OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
	return s;
}

int
q_srs_is_crs84(OGRSpatialReferenceH srs)
{
	const char *auth, *code;

	if (srs == NULL)
		return 1;
	auth = OSRGetAuthorityName(srs, NULL);
	code = OSRGetAuthorityCode(srs, NULL);
	if (auth != NULL && code != NULL &&
	    ((strcmp(auth, "EPSG") == 0 && strcmp(code, "4326") == 0) ||
	    (strcmp(auth, "OGC") == 0 && strcmp(code, "CRS84") == 0)))
		return 1;
	return 0;
}

static OGRSpatialReferenceH
crs84(void)
{
	return q_srs_epsg(4326);
}

int
q_to_crs84(OGRSpatialReferenceH from, OGRCoordinateTransformationH *ct,
    spool_err *err)
{
	OGRSpatialReferenceH w;

	*ct = NULL;
	if (from == NULL || q_srs_is_crs84(from))
		return SPOOL_OK;
	if ((w = crs84()) == NULL)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "EPSG:4326 is not "
		    "known to PROJ");
	*ct = OCTNewCoordinateTransformation(from, w);
	OSRDestroySpatialReference(w);
	if (*ct == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "cannot transform the "
		    "layer's CRS to EPSG:4326: %s", CPLGetLastErrorMsg());
	return SPOOL_OK;
}

int
q_from_crs84(OGRGeometryH g, OGRSpatialReferenceH to, spool_err *err)
{
	OGRCoordinateTransformationH ct;
	OGRSpatialReferenceH w;
	OGRErr e;

	if (to == NULL || q_srs_is_crs84(to))
		return SPOOL_OK;
	if ((w = crs84()) == NULL)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "EPSG:4326 is not "
		    "known to PROJ");
	ct = OCTNewCoordinateTransformation(w, to);
	OSRDestroySpatialReference(w);
	if (ct == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "cannot transform "
		    "EPSG:4326 to the layer's CRS: %s", CPLGetLastErrorMsg());
	OGR_G_Segmentize(g, Q_DENSIFY_DEG);
	e = OGR_G_Transform(g, ct);
	OCTDestroyCoordinateTransformation(ct);
	if (e != OGRERR_NONE)
		return spool_fail(err, SPOOL_ERR_FORMAT, "the filter geometry "
		    "cannot be transformed to the layer's CRS (outside its "
		    "area of use?)");
	return SPOOL_OK;
}

/* Twice the signed area: > 0 counterclockwise. */
static double
ring_area2(OGRGeometryH r)
{
	int i, n = OGR_G_GetPointCount(r);
	double a = 0, x0, y0;

	if (n < 3)
		return 0;
	x0 = OGR_G_GetX(r, 0);
	y0 = OGR_G_GetY(r, 0);
	/* relative to the first point: fewer cancellation errors */
	for (i = 1; i + 1 < n; i++)
		a += (OGR_G_GetX(r, i) - x0) * (OGR_G_GetY(r, i + 1) - y0) -
		    (OGR_G_GetX(r, i + 1) - x0) * (OGR_G_GetY(r, i) - y0);
	return a;
}

static void
ring_reverse(OGRGeometryH r)
{
	int i, n = OGR_G_GetPointCount(r), dim = OGR_G_CoordinateDimension(r);
	double *x, *y, *z = NULL, t;

	x = malloc(sizeof(double) * (size_t)n);
	y = malloc(sizeof(double) * (size_t)n);
	if (dim > 2)
		z = malloc(sizeof(double) * (size_t)n);
	if (x == NULL || y == NULL || (dim > 2 && z == NULL))
		goto out;
	OGR_G_GetPoints(r, x, sizeof(double), y, sizeof(double), z,
	    z ? sizeof(double) : 0);
	for (i = 0; i < n / 2; i++) {
		t = x[i]; x[i] = x[n - 1 - i]; x[n - 1 - i] = t;
		t = y[i]; y[i] = y[n - 1 - i]; y[n - 1 - i] = t;
		if (z) {
			t = z[i]; z[i] = z[n - 1 - i]; z[n - 1 - i] = t;
		}
	}
	OGR_G_SetPoints(r, n, x, sizeof(double), y, sizeof(double), z,
	    z ? sizeof(double) : 0);
out:
	free(x);
	free(y);
	free(z);
}

void
q_rfc7946_winding(OGRGeometryH g)
{
	OGRwkbGeometryType t;
	int i, n;

	if (g == NULL)
		return;
	t = OGR_GT_Flatten(OGR_G_GetGeometryType(g));
	n = OGR_G_GetGeometryCount(g);
	if (t == wkbPolygon) {
		for (i = 0; i < n; i++) {
			OGRGeometryH r = OGR_G_GetGeometryRef(g, i);
			double a = ring_area2(r);

			if ((i == 0 && a < 0) || (i > 0 && a > 0))
				ring_reverse(r);
		}
	} else if (t == wkbMultiPolygon || t == wkbGeometryCollection) {
		for (i = 0; i < n; i++)
			q_rfc7946_winding(OGR_G_GetGeometryRef(g, i));
	}
}

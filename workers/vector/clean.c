/*
 * clean.c - one geometry made clean: 2-D, linear, of one family, valid.
 *
 * The rules (docs/DECISIONS.md, "Vector"): Z and M are dropped; curves
 * are linearised with GDAL's default step; TINs, triangles, polyhedral
 * surfaces (FileGDB multipatches) and collections whose parts are all of
 * one family become that family's Multi* type; a collection of several
 * families stays a GeometryCollection, its own family, which unifies with
 * nothing else.  Nothing here decides a layer's type: gpkg.c does, from
 * what these functions report.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "vector.h"

void
vec_type_name(OGRwkbGeometryType t, char *buf, size_t n)
{
	const char *base;
	OGRwkbGeometryType f = wkbFlatten(t);

	switch (f) {
	case wkbUnknown: base = "Geometry"; break;
	case wkbNone: base = "None"; break;
	case wkbPoint: base = "Point"; break;
	case wkbLineString: base = "LineString"; break;
	case wkbPolygon: base = "Polygon"; break;
	case wkbMultiPoint: base = "MultiPoint"; break;
	case wkbMultiLineString: base = "MultiLineString"; break;
	case wkbMultiPolygon: base = "MultiPolygon"; break;
	case wkbGeometryCollection: base = "GeometryCollection"; break;
	case wkbCircularString: base = "CircularString"; break;
	case wkbCompoundCurve: base = "CompoundCurve"; break;
	case wkbCurvePolygon: base = "CurvePolygon"; break;
	case wkbMultiCurve: base = "MultiCurve"; break;
	case wkbMultiSurface: base = "MultiSurface"; break;
	case wkbCurve: base = "Curve"; break;
	case wkbSurface: base = "Surface"; break;
	case wkbPolyhedralSurface: base = "PolyhedralSurface"; break;
	case wkbTIN: base = "TIN"; break;
	case wkbTriangle: base = "Triangle"; break;
	default: base = "Geometry"; break;
	}
	snprintf(buf, n, "%s%s%s%s", base,
	    OGR_GT_HasZ(t) || OGR_GT_HasM(t) ? " " : "",
	    OGR_GT_HasZ(t) ? "Z" : "", OGR_GT_HasM(t) ? "M" : "");
}

const char *
vec_family_name(enum vec_family f)
{
	switch (f) {
	case VEC_POINT: return "point";
	case VEC_LINE: return "line";
	case VEC_POLY: return "polygon";
	case VEC_COLL: return "collection";
	default: return "none";
	}
}

OGRwkbGeometryType
vec_family_type(enum vec_family f, int multi)
{
	switch (f) {
	case VEC_POINT: return multi ? wkbMultiPoint : wkbPoint;
	case VEC_LINE: return multi ? wkbMultiLineString : wkbLineString;
	case VEC_POLY: return multi ? wkbMultiPolygon : wkbPolygon;
	case VEC_COLL: return wkbGeometryCollection;
	default: return wkbUnknown;
	}
}

enum vec_family
vec_type_family(OGRwkbGeometryType t, int *multi)
{
	*multi = 0;
	switch (wkbFlatten(t)) {
	case wkbPoint: return VEC_POINT;
	case wkbLineString: case wkbCircularString: case wkbCompoundCurve:
		return VEC_LINE;
	case wkbPolygon: case wkbCurvePolygon: case wkbTriangle:
		return VEC_POLY;
	case wkbMultiPoint: *multi = 1; return VEC_POINT;
	case wkbMultiLineString: case wkbMultiCurve:
		*multi = 1; return VEC_LINE;
	case wkbMultiPolygon: case wkbMultiSurface: case wkbTIN:
	case wkbPolyhedralSurface:
		*multi = 1; return VEC_POLY;
	case wkbGeometryCollection: *multi = 1; return VEC_COLL;
	default: return VEC_NONE;
	}
}

struct parts {
	OGRGeometryH pt, ln, pg; /* Multi* being filled */
};

/* Add the atomic parts of g (2-D, linear) to p. */
static void
collect(OGRGeometryH g, struct parts *p)
{
	OGRwkbGeometryType f = wkbFlatten(OGR_G_GetGeometryType(g));
	OGRGeometryH c;
	int i, n;

	switch (f) {
	case wkbPoint:
		if (!OGR_G_IsEmpty(g))
			OGR_G_AddGeometry(p->pt, g);
		return;
	case wkbLineString:
		if (!OGR_G_IsEmpty(g))
			OGR_G_AddGeometry(p->ln, g);
		return;
	case wkbPolygon:
		if (!OGR_G_IsEmpty(g))
			OGR_G_AddGeometry(p->pg, g);
		return;
	case wkbTriangle:
		c = OGR_G_ForceTo(OGR_G_Clone(g), wkbPolygon, NULL);
		if (c != NULL && !OGR_G_IsEmpty(c))
			OGR_G_AddGeometry(p->pg, c);
		OGR_G_DestroyGeometry(c);
		return;
	case wkbTIN:
	case wkbPolyhedralSurface:
		c = OGR_G_ForceTo(OGR_G_Clone(g), wkbMultiPolygon, NULL);
		if (c != NULL && wkbFlatten(OGR_G_GetGeometryType(c)) ==
		    wkbMultiPolygon)
			collect(c, p);
		OGR_G_DestroyGeometry(c);
		return;
	default:
		break;
	}
	n = OGR_G_GetGeometryCount(g);
	if (OGR_GT_IsSubClassOf(f, wkbGeometryCollection))
		for (i = 0; i < n; i++)
			collect(OGR_G_GetGeometryRef(g, i), p);
}

/* The parts of g in p; returns the number of families found. */
static int
split_parts(OGRGeometryH g, struct parts *p)
{
	p->pt = OGR_G_CreateGeometry(wkbMultiPoint);
	p->ln = OGR_G_CreateGeometry(wkbMultiLineString);
	p->pg = OGR_G_CreateGeometry(wkbMultiPolygon);
	collect(g, p);
	return (OGR_G_GetGeometryCount(p->pt) > 0) +
	    (OGR_G_GetGeometryCount(p->ln) > 0) +
	    (OGR_G_GetGeometryCount(p->pg) > 0);
}

static void
parts_free(struct parts *p)
{
	OGR_G_DestroyGeometry(p->pt);
	OGR_G_DestroyGeometry(p->ln);
	OGR_G_DestroyGeometry(p->pg);
}

/* Take the family's Multi* out of p. */
static OGRGeometryH
parts_take(struct parts *p, enum vec_family f)
{
	OGRGeometryH *slot = f == VEC_POINT ? &p->pt : f == VEC_LINE ? &p->ln :
	    &p->pg;
	OGRGeometryH g = *slot;

	*slot = NULL;
	return g;
}

OGRGeometryH
vec_normalise(OGRGeometryH g, struct vec_geom_info *gi)
{
	OGRwkbGeometryType f;
	struct parts p;
	int nfam;

	memset(gi, 0, sizeof(*gi));
	if (g == NULL) {
		gi->null = 1;
		return NULL;
	}
	gi->raw = OGR_G_GetGeometryType(g);
	if (OGR_G_IsEmpty(g)) {
		gi->empty = 1;
		gi->family = vec_type_family(gi->raw, &gi->multi);
		OGR_G_DestroyGeometry(g);
		return NULL;
	}
	gi->z = OGR_GT_HasZ(gi->raw);
	gi->m = OGR_GT_HasM(gi->raw);
	if (gi->z || gi->m) {
		gi->zm = 1;
		OGR_G_Set3D(g, FALSE);
		OGR_G_SetMeasured(g, FALSE);
	}
	f = wkbFlatten(OGR_G_GetGeometryType(g));
	if (OGR_GT_IsNonLinear(f) || OGR_G_HasCurveGeometry(g, FALSE)) {
		OGRGeometryH lin = OGR_G_GetLinearGeometry(g, 0, NULL);

		if (lin == NULL) {
			OGR_G_DestroyGeometry(g);
			gi->empty = 1;
			return NULL;
		}
		OGR_G_DestroyGeometry(g);
		g = lin;
		gi->curve = 1;
		f = wkbFlatten(OGR_G_GetGeometryType(g));
	}
	switch (f) {
	case wkbPoint: case wkbLineString: case wkbPolygon:
	case wkbMultiPoint: case wkbMultiLineString: case wkbMultiPolygon:
		gi->family = vec_type_family(f, &gi->multi);
		return g;
	default:
		break;
	}
	/* TIN, triangle, polyhedral surface, collection */
	nfam = split_parts(g, &p);
	if (nfam == 0) {
		parts_free(&p);
		OGR_G_DestroyGeometry(g);
		gi->empty = 1;
		return NULL;
	}
	gi->multi = 1;
	if (nfam > 1) {
		parts_free(&p);
		gi->family = VEC_COLL;
		return g;
	}
	gi->family = OGR_G_GetGeometryCount(p.pt) ? VEC_POINT :
	    OGR_G_GetGeometryCount(p.ln) ? VEC_LINE : VEC_POLY;
	OGR_G_DestroyGeometry(g);
	g = parts_take(&p, gi->family);
	parts_free(&p);
	return g;
}

OGRGeometryH
vec_to_target(OGRGeometryH g, enum vec_family f, int multi)
{
	OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
	int is_multi = t == wkbMultiPoint || t == wkbMultiLineString ||
	    t == wkbMultiPolygon;
	OGRGeometryH part;

	if (f == VEC_COLL)
		return g;
	if (multi && !is_multi) {
		switch (f) {
		case VEC_POINT: return OGR_G_ForceToMultiPoint(g);
		case VEC_LINE: return OGR_G_ForceToMultiLineString(g);
		default: return OGR_G_ForceToMultiPolygon(g);
		}
	}
	if (!multi && is_multi) {
		if (OGR_G_GetGeometryCount(g) != 1)
			return NULL;
		part = OGR_G_Clone(OGR_G_GetGeometryRef(g, 0));
		OGR_G_DestroyGeometry(g);
		return part;
	}
	return g;
}

OGRGeometryH
vec_make_valid(OGRGeometryH g, enum vec_family f, int multi, int *repaired)
{
	OGRGeometryH mv, out;
	struct parts p;

	*repaired = 0;
	if (f == VEC_POINT || OGR_G_IsValid(g))
		return g;
	mv = OGR_G_MakeValid(g);
	OGR_G_DestroyGeometry(g);
	if (mv == NULL)
		return NULL;
	*repaired = 1;
	if (f == VEC_COLL)
		return mv;
	split_parts(mv, &p);
	OGR_G_DestroyGeometry(mv);
	out = parts_take(&p, f);
	parts_free(&p);
	if (OGR_G_GetGeometryCount(out) == 0) {
		OGR_G_DestroyGeometry(out);
		return NULL;
	}
	if (!multi && OGR_G_GetGeometryCount(out) == 1) {
		OGRGeometryH one = OGR_G_Clone(OGR_G_GetGeometryRef(out, 0));

		OGR_G_DestroyGeometry(out);
		return one;
	}
	return out;
}

/* Every coordinate of g a finite number (a GeoJSON may say 1e999,
 * which GDAL reads as inf, and no GeoPackage extent holds it). */
int
vec_geom_finite(OGRGeometryH g)
{
	int i, n = OGR_G_GetGeometryCount(g);

	for (i = 0; i < n; i++)
		if (!vec_geom_finite(OGR_G_GetGeometryRef(g, i)))
			return 0;
	n = OGR_G_GetPointCount(g);
	for (i = 0; i < n; i++)
		if (!isfinite(OGR_G_GetX(g, i)) || !isfinite(OGR_G_GetY(g, i)))
			return 0;
	return 1;
}

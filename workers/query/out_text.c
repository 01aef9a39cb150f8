/*
 * out_text.c - the text results: GeoJSON (RFC 7946), JSONL (one GeoJSON
 * Feature per line) and CSV (RFC 4180, a WKT geometry column).
 *
 * Each row is rendered whole into memory first, so max_bytes holds
 * exactly: a row that would take the file past it (the closing bytes
 * counted) is not written, and the result says it was cut there.
 * Geometries arrive in CRS84; GeoJSON gets RFC 7946's winding and plain
 * (linear) geometry types.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>

#include "query.h"

struct text_out {
	FILE *f;
	struct sbuf row;
	int64_t nrows;
	const char *tail;    /* what close writes */
};

int
q_format_parse(const char *s, enum q_format *f)
{
	if (strcmp(s, "geojson") == 0)
		*f = QF_GEOJSON;
	else if (strcmp(s, "jsonl") == 0)
		*f = QF_JSONL;
	else if (strcmp(s, "csv") == 0)
		*f = QF_CSV;
	else if (strcmp(s, "gpkg") == 0)
		*f = QF_GPKG;
	else
		return -1;
	return 0;
}

const char *
q_format_ext(enum q_format f)
{
	static const char *const ext[] = { "geojson", "jsonl", "csv", "gpkg" };

	return ext[f];
}

const char *
q_format_mime(enum q_format f)
{
	static const char *const mime[] = {
		"application/geo+json", "application/x-ndjson",
		"text/csv; charset=utf-8", "application/geopackage+sqlite3"
	};

	return mime[f];
}

static void
json_str(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	sb_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_addn(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': sb_add(b, "\\\""); break;
		case '\\': sb_add(b, "\\\\"); break;
		case '\n': sb_add(b, "\\n"); break;
		case '\r': sb_add(b, "\\r"); break;
		case '\t': sb_add(b, "\\t"); break;
		default: {
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 15], 0 };

			sb_add(b, u);
		}
		}
	}
	sb_addn(b, s + run, n - run);
	sb_addc(b, '"');
}

static void
base64(struct sbuf *b, const unsigned char *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	char q[4];

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = a[p[i] >> 2];
		q[1] = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = a[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = a[p[i + 2] & 63];
		sb_addn(b, q, 4);
	}
	if (i < n) {
		q[0] = a[p[i] >> 2];
		if (i + 1 < n) {
			q[1] = a[(p[i] & 3) << 4 | p[i + 1] >> 4];
			q[2] = a[(p[i + 1] & 15) << 2];
		} else {
			q[1] = a[(p[i] & 3) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		sb_addn(b, q, 4);
	}
}

/* PostgreSQL's numeric text is a JSON number unless NaN or infinite. */
static int
json_number_text(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p; p++)
		if (!strchr("0123456789.eE+-", *p))
			return 0;
	return 1;
}

static void
json_val(struct sbuf *b, const struct qval *v)
{
	char num[40];

	switch (v->t) {
	case QV_NULL:
		sb_add(b, "null");
		break;
	case QV_INT:
		sb_addf(b, "%lld", (long long)v->i);
		break;
	case QV_REAL:
		if (!isfinite(v->d)) {
			sb_add(b, "null");
			break;
		}
		q_fmt_double(num, sizeof(num), v->d);
		sb_add(b, num);
		break;
	case QV_BOOL:
		sb_add(b, v->i ? "true" : "false");
		break;
	case QV_NUMTEXT:
		if (json_number_text(v->s)) {
			sb_addn(b, v->s, v->n);
			break;
		}
		sb_add(b, "null");
		break;
	case QV_TEXT:
		json_str(b, v->s, v->n);
		break;
	case QV_BLOB:
		sb_addc(b, '"');
		base64(b, (const unsigned char *)v->s, v->n);
		sb_addc(b, '"');
		break;
	}
}

static void
num(struct sbuf *b, double d)
{
	char buf[40];

	q_fmt_double(buf, sizeof(buf), d);
	sb_add(b, buf);
}

/* The coordinates of a point string: [[x,y],...] (z when it has one). */
static int
coords(struct sbuf *b, OGRGeometryH g, int z)
{
	int i, n = OGR_G_GetPointCount(g);

	sb_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_addc(b, ',');
		sb_addc(b, '[');
		num(b, OGR_G_GetX(g, i));
		sb_addc(b, ',');
		num(b, OGR_G_GetY(g, i));
		if (z) {
			sb_addc(b, ',');
			num(b, OGR_G_GetZ(g, i));
		}
		sb_addc(b, ']');
	}
	sb_addc(b, ']');
	return 0;
}

/* The coordinates member of a linear geometry; -1 for other types. */
static int
coord_member(struct sbuf *b, OGRGeometryH g, OGRwkbGeometryType t, int z)
{
	int i, n = OGR_G_GetGeometryCount(g);

	switch (t) {
	case wkbPoint:
		if (OGR_G_IsEmpty(g)) {
			sb_add(b, "[]");
			return 0;
		}
		sb_addc(b, '[');
		num(b, OGR_G_GetX(g, 0));
		sb_addc(b, ',');
		num(b, OGR_G_GetY(g, 0));
		if (z) {
			sb_addc(b, ',');
			num(b, OGR_G_GetZ(g, 0));
		}
		sb_addc(b, ']');
		return 0;
	case wkbLineString:
	case wkbLinearRing:
		return coords(b, g, z);
	case wkbPolygon:
	case wkbMultiPoint:
	case wkbMultiLineString:
	case wkbMultiPolygon:
		sb_addc(b, '[');
		for (i = 0; i < n; i++) {
			OGRGeometryH p = OGR_G_GetGeometryRef(g, i);

			if (i > 0)
				sb_addc(b, ',');
			if (coord_member(b, p, t == wkbMultiPoint ? wkbPoint :
			    t == wkbMultiPolygon ? wkbPolygon : wkbLineString,
			    z) != 0)
				return -1;
		}
		sb_addc(b, ']');
		return 0;
	default:
		return -1;
	}
}

static int
geojson_geom(struct sbuf *b, OGRGeometryH g)
{
	static const char *const names[] = {
		[wkbPoint] = "Point", [wkbLineString] = "LineString",
		[wkbPolygon] = "Polygon", [wkbMultiPoint] = "MultiPoint",
		[wkbMultiLineString] = "MultiLineString",
		[wkbMultiPolygon] = "MultiPolygon",
		[wkbGeometryCollection] = "GeometryCollection",
	};
	OGRwkbGeometryType t = OGR_GT_Flatten(OGR_G_GetGeometryType(g));
	int i, z = OGR_G_Is3D(g);

	if (t < wkbPoint || t > wkbGeometryCollection)
		return -1;
	sb_add(b, "{\"type\":\"");
	sb_add(b, names[t]);
	if (t == wkbGeometryCollection) {
		sb_add(b, "\",\"geometries\":[");
		for (i = 0; i < OGR_G_GetGeometryCount(g); i++) {
			if (i > 0)
				sb_addc(b, ',');
			if (geojson_geom(b, OGR_G_GetGeometryRef(g, i)) != 0)
				return -1;
		}
		sb_add(b, "]}");
		return 0;
	}
	sb_add(b, "\",\"coordinates\":");
	if (coord_member(b, g, t, z) != 0)
		return -1;
	sb_addc(b, '}');
	return 0;
}

/* Geometry as RFC 7946 wants it: linear types, right-hand winding, the
 * shortest numbers that read back exactly. */
static int
json_geom(struct sbuf *b, OGRGeometryH g)
{
	OGRGeometryH lin = NULL;
	int rc;

	if (g == NULL) {
		sb_add(b, "null");
		return 0;
	}
	if (OGR_G_HasCurveGeometry(g, 1)) {
		lin = OGR_G_GetLinearGeometry(g, 0, NULL);
		if (lin == NULL)
			return -1;
		g = lin;
	}
	q_rfc7946_winding(g);
	rc = geojson_geom(b, g);
	OGR_G_DestroyGeometry(lin);
	return rc;
}

static int
feature(struct qout *o, struct sbuf *b, const struct qrow *r)
{
	size_t i;

	sb_add(b, "{\"type\":\"Feature\"");
	if (r->has_fid) {
		sb_add(b, ",\"id\":");
		json_val(b, &r->fid);
	}
	sb_add(b, ",\"geometry\":");
	if (json_geom(b, r->geom) != 0)
		return -1;
	sb_add(b, ",\"properties\":{");
	for (i = 0; i < r->nvals; i++) {
		if (i > 0)
			sb_addc(b, ',');
		json_str(b, o->cols[i].name, strlen(o->cols[i].name));
		sb_addc(b, ':');
		json_val(b, &r->vals[i]);
	}
	sb_add(b, "}}");
	return 0;
}

/* RFC 4180: quoted when it holds a comma, quote, CR, LF, or edge blanks */
static void
csv_field(struct sbuf *b, const char *s, size_t n)
{
	size_t i;
	int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');

	for (i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (!quote) {
		sb_addn(b, s, n);
		return;
	}
	sb_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			sb_addc(b, '"');
		sb_addc(b, s[i]);
	}
	sb_addc(b, '"');
}

static void
csv_val(struct sbuf *b, const struct qval *v)
{
	char num[40];

	switch (v->t) {
	case QV_NULL:
		break;
	case QV_INT:
		sb_addf(b, "%lld", (long long)v->i);
		break;
	case QV_REAL:
		if (isfinite(v->d)) {
			q_fmt_double(num, sizeof(num), v->d);
			sb_add(b, num);
		}
		break;
	case QV_BOOL:
		sb_add(b, v->i ? "true" : "false");
		break;
	case QV_NUMTEXT:
	case QV_TEXT:
		csv_field(b, v->s, v->n);
		break;
	case QV_BLOB:
		base64(b, (const unsigned char *)v->s, v->n);
		break;
	}
}

static int
csv_row(struct qout *o, struct sbuf *b, const struct qrow *r)
{
	size_t i;
	int sep = 0;

	if (o->has_geom) {
		if (r->geom != NULL) {
			char *wkt = NULL;

			if (OGR_G_ExportToIsoWkt(r->geom, &wkt) != OGRERR_NONE) {
				CPLFree(wkt);
				return -1;
			}
			csv_field(b, wkt, strlen(wkt));
			CPLFree(wkt);
		}
		sep = 1;
	}
	if (o->fid_name != NULL) {
		if (sep)
			sb_addc(b, ',');
		if (r->has_fid)
			csv_val(b, &r->fid);
		sep = 1;
	}
	for (i = 0; i < r->nvals; i++) {
		if (sep)
			sb_addc(b, ',');
		csv_val(b, &r->vals[i]);
		sep = 1;
	}
	sb_add(b, "\r\n");
	return 0;
}

static int
put(struct qout *o, struct text_out *x, const char *s, size_t n,
    spool_err *err)
{
	if (n > 0 && fwrite(s, 1, n, x->f) != n)
		return spool_fail_sys(err, "cannot write '%s'", o->path);
	o->bytes += (int64_t)n;
	return SPOOL_OK;
}

static int
text_open(struct qout *o, spool_err *err)
{
	struct text_out *x = calloc(1, sizeof(*x));
	const char *head = "";
	struct sbuf h;
	size_t i;
	int rc, sep = 0;

	if (x == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	o->priv = x;
	/* a row never needs more than the whole allowance */
	sb_init(&x->row, (size_t)o->max_bytes + 1);
	unlink(o->path); /* an earlier attempt's, in the same directory */
	x->f = fopen(o->path, "wx");
	if (x->f == NULL)
		return spool_fail_sys(err, "cannot create '%s'", o->path);
	switch (o->format) {
	case QF_GEOJSON:
		head = "{\"type\":\"FeatureCollection\",\"features\":[\n";
		x->tail = "]}\n";
		break;
	case QF_JSONL:
		x->tail = "";
		break;
	case QF_CSV:
		x->tail = "";
		sb_init(&h, (size_t)o->max_bytes + 1);
		if (o->has_geom) {
			sb_add(&h, "WKT");
			sep = 1;
		}
		if (o->fid_name != NULL) {
			if (sep)
				sb_addc(&h, ',');
			csv_field(&h, o->fid_name, strlen(o->fid_name));
			sep = 1;
		}
		for (i = 0; i < o->ncols; i++) {
			if (sep)
				sb_addc(&h, ',');
			csv_field(&h, o->cols[i].name, strlen(o->cols[i].name));
			sep = 1;
		}
		sb_add(&h, "\r\n");
		if (h.oom || (int64_t)h.len > o->max_bytes) {
			sb_release(&h);
			return spool_fail(err, SPOOL_ERR_LIMIT, "the CSV header "
			    "alone passes max_bytes");
		}
		rc = put(o, x, h.p, h.len, err);
		sb_release(&h);
		return rc;
	default:
		return spool_fail(err, SPOOL_ERR_INTERNAL, "not a text format");
	}
	if ((int64_t)(strlen(head) + strlen(x->tail)) > o->max_bytes)
		return spool_fail(err, SPOOL_ERR_LIMIT, "max_bytes is too small "
		    "for an empty result");
	return put(o, x, head, strlen(head), err);
}

static int
text_row(struct qout *o, const struct qrow *r, spool_err *err)
{
	struct text_out *x = o->priv;
	struct sbuf *b = &x->row;
	int rc;

	b->len = 0;
	b->oom = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
	if (o->format == QF_GEOJSON && x->nrows > 0)
		sb_add(b, ",\n");
	if (o->format == QF_CSV)
		rc = csv_row(o, b, r);
	else
		rc = feature(o, b, r);
	if (rc != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT, "a geometry cannot be "
		    "written as %s", o->format == QF_CSV ? "WKT" : "GeoJSON");
	if (o->format == QF_JSONL)
		sb_addc(b, '\n');
	/* a row over the cap stops the buffer, not the worker */
	if (b->oom || o->bytes + (int64_t)b->len +
	    (int64_t)strlen(x->tail) + (o->format == QF_GEOJSON ? 1 : 0) >
	    o->max_bytes)
		return SPOOL_ERR_LIMIT;
	if ((rc = put(o, x, b->p, b->len, err)) != SPOOL_OK)
		return rc;
	x->nrows++;
	return SPOOL_OK;
}

static void
text_free(struct qout *o)
{
	struct text_out *x = o->priv;

	if (x == NULL)
		return;
	if (x->f != NULL)
		fclose(x->f);
	sb_release(&x->row);
	free(x);
	o->priv = NULL;
}

static int
text_close(struct qout *o, spool_err *err)
{
	struct text_out *x = o->priv;
	int rc = SPOOL_OK;

	if (o->format == QF_GEOJSON && x->nrows > 0)
		rc = put(o, x, "\n", 1, err);
	if (rc == SPOOL_OK)
		rc = put(o, x, x->tail, strlen(x->tail), err);
	if (rc == SPOOL_OK && fflush(x->f) != 0)
		rc = spool_fail_sys(err, "cannot write '%s'", o->path);
	if (rc == SPOOL_OK && fclose(x->f) != 0)
		rc = spool_fail_sys(err, "cannot write '%s'", o->path);
	else if (rc != SPOOL_OK)
		fclose(x->f);
	x->f = NULL;
	text_free(o);
	return rc;
}

static void
text_abort(struct qout *o)
{
	text_free(o);
	unlink(o->path);
}

const struct qout_ops q_out_text_ops = {
	text_open, text_row, text_close, text_abort
};

/*
 * src_ogr.c - any other OGR-readable source (a shapefile, GeoJSON,
 * FlatGeobuf, a /vsizip/ path ...), opened read-only.
 *
 * There is no SQL here to bind values into: the CQL2 tree is evaluated
 * feature by feature in C (cql2.c), after OGR's own spatial filter has
 * skipped what lies outside the request's box.  sortby keeps the best
 * offset + limit + 1 features in a bounded heap, so memory stays bounded
 * by the limits, not by the layer.  A user's SQL is not offered.
 */
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include "query.h"

/* sortby over a layer without an engine keeps this many features */
#define Q_OGR_SORT_MAX 100000

struct og {
	struct qctx *q;
	GDALDatasetH ds;
	OGRLayerH lyr;
	struct qlayer layer;
	struct cq_expr expr;
	int *fmap;        /* layer field -> OGR field index */
	OGRCoordinateTransformationH ct;
	/* the sort heap: the worst kept feature on top */
	OGRFeatureH *heap;
	size_t nheap, cap;
	int *keys;        /* sort key -> OGR field index (-1: the id) */
};

static enum qf_type
ogr_qtype(OGRFieldDefnH fd, int *text)
{
	*text = 0;
	switch (OGR_Fld_GetType(fd)) {
	case OFTInteger:
	case OFTInteger64:
		return OGR_Fld_GetSubType(fd) == OFSTBoolean ? QF_BOOL : QF_INT;
	case OFTReal:
		return QF_REAL;
	case OFTString:
		*text = 1;
		return QF_TEXT;
	case OFTDate:
	case OFTTime:
	case OFTDateTime:
		return QF_TEXT;
	case OFTBinary:
		return QF_BLOB;
	default:
		return QF_OTHER;
	}
}

static int
describe(struct og *s, spool_err *err)
{
	struct qlayer *l = &s->layer;
	OGRFeatureDefnH d = OGR_L_GetLayerDefn(s->lyr);
	OGRSpatialReferenceH srs;
	const char *fidc = OGR_L_GetFIDColumn(s->lyr);
	const char *gc = OGR_L_GetGeometryColumn(s->lyr);
	int i, n = OGR_FD_GetFieldCount(d), text;

	if ((l->name = strdup(s->q->req.layer)) == NULL ||
	    (s->fmap = calloc((size_t)n + 1, sizeof(int))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		OGRFieldDefnH fd = OGR_FD_GetFieldDefn(d, i);
		enum qf_type t = ogr_qtype(fd, &text);

		if (q_layer_add_field(l, OGR_Fld_GetNameRef(fd), t, text) != 0)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		s->fmap[i] = i;
	}
	/* OGR gives every feature an id; its column's name, or "fid" */
	if (fidc != NULL && fidc[0] != '\0')
		l->fid = strdup(fidc);
	else if (q_layer_field(l, "fid") < 0)
		l->fid = strdup("fid");
	else
		l->fid = strdup("ogc_fid");
	l->fid_int = 1;
	l->geom_type = OGR_L_GetGeomType(s->lyr);
	if (l->geom_type != wkbNone)
		l->geom = strdup(gc != NULL && gc[0] != '\0' ? gc : "geometry");
	if (l->fid == NULL || (l->geom_type != wkbNone && l->geom == NULL))
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (l->geom != NULL && (srs = OGR_L_GetSpatialRef(s->lyr)) != NULL &&
	    !q_srs_is_crs84(srs)) {
		l->srs = OSRClone(srs);
		OSRSetAxisMappingStrategy(l->srs, OAMS_TRADITIONAL_GIS_ORDER);
		return q_to_crs84(l->srs, &s->ct, err);
	}
	return SPOOL_OK;
}

/* The box every match lies in, when the tree says so: the request's
 * bbox (compiled first, under the top "and"), or a lone s_intersects. */
static const struct cq_geom *
prefilter(const struct cq_expr *e)
{
	const struct cq_node *n = e->root;

	if (n != NULL && n->op == CQ_AND && n->nkids > 0)
		n = n->kids[0];
	if (n != NULL && n->op == CQ_INTERSECTS)
		return &e->geoms[n->args[1].geom];
	return NULL;
}

/* sortby order of two features: <0 when a comes first */
static int
cmp_feat(struct og *s, OGRFeatureH a, OGRFeatureH b)
{
	const struct qreq *r = &s->q->req;
	size_t i;
	int c = 0;

	for (i = 0; i < r->nsort && c == 0; i++) {
		int k = s->keys[i], na, nb;

		if (k < 0) {
			GIntBig x = OGR_F_GetFID(a), y = OGR_F_GetFID(b);

			c = x < y ? -1 : x > y;
		} else {
			na = !OGR_F_IsFieldSetAndNotNull(a, k);
			nb = !OGR_F_IsFieldSetAndNotNull(b, k);
			/* NULL is the largest, as on the SQL engines */
			if (na || nb)
				c = na - nb;
			else {
				switch (OGR_Fld_GetType(OGR_F_GetFieldDefnRef(a,
				    k))) {
				case OFTInteger:
				case OFTInteger64: {
					GIntBig x = OGR_F_GetFieldAsInteger64(a,
					    k), y = OGR_F_GetFieldAsInteger64(b,
					    k);

					c = x < y ? -1 : x > y;
					break;
				}
				case OFTReal: {
					double x = OGR_F_GetFieldAsDouble(a, k),
					    y = OGR_F_GetFieldAsDouble(b, k);

					c = x < y ? -1 : x > y;
					break;
				}
				default:
					c = strcmp(OGR_F_GetFieldAsString(a, k),
					    OGR_F_GetFieldAsString(b, k));
				}
			}
		}
		if (r->sortby[i].desc)
			c = -c;
	}
	if (c == 0) {
		GIntBig x = OGR_F_GetFID(a), y = OGR_F_GetFID(b);

		c = x < y ? -1 : x > y;
	}
	return c;
}

static void
heap_down(struct og *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		OGRFeatureH t;

		if (l < s->nheap && cmp_feat(s, s->heap[l], s->heap[m]) > 0)
			m = l;
		if (r < s->nheap && cmp_feat(s, s->heap[r], s->heap[m]) > 0)
			m = r;
		if (m == i)
			return;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

/* Keep f (adopted) if it is among the best cap features. */
static void
heap_offer(struct og *s, OGRFeatureH f)
{
	size_t i;

	if (s->nheap < s->cap) {
		i = s->nheap++;
		s->heap[i] = f;
		while (i > 0 && cmp_feat(s, s->heap[(i - 1) / 2],
		    s->heap[i]) < 0) {
			OGRFeatureH t = s->heap[i];

			s->heap[i] = s->heap[(i - 1) / 2];
			s->heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (cmp_feat(s, f, s->heap[0]) >= 0) {
		OGR_F_Destroy(f);
		return;
	}
	OGR_F_Destroy(s->heap[0]);
	s->heap[0] = f;
	heap_down(s, 0);
}

static int
qsort_cmp(const void *a, const void *b, void *s)
{
	return cmp_feat(s, *(OGRFeatureH const *)a, *(OGRFeatureH const *)b);
}

/* One feature -> q_row (0 go on, 1 stop, <0 error). */
static int
emit(struct og *s, OGRFeatureH f, const int *sel, size_t nsel,
    struct qval *vals, char **keep, spool_err *err)
{
	struct qrow row;
	OGRGeometryH g = OGR_F_GetGeometryRef(f);
	size_t i;
	int rc, k, n;

	memset(&row, 0, sizeof(row));
	row.has_fid = 1;
	row.fid.t = QV_INT;
	row.fid.i = OGR_F_GetFID(f);
	if (g != NULL) {
		row.geom = OGR_G_Clone(g);
		if (row.geom != NULL && s->ct != NULL &&
		    OGR_G_Transform(row.geom, s->ct) != OGRERR_NONE) {
			OGR_G_DestroyGeometry(row.geom);
			row.geom = NULL;
		}
	}
	for (i = 0; i < nsel; i++) {
		struct qval *v = &vals[i];

		memset(v, 0, sizeof(*v));
		keep[i] = NULL;
		k = s->fmap[sel[i]];
		if (!OGR_F_IsFieldSetAndNotNull(f, k)) {
			v->t = QV_NULL;
			continue;
		}
		switch (s->layer.fields[sel[i]].type) {
		case QF_INT:
			v->t = QV_INT;
			v->i = OGR_F_GetFieldAsInteger64(f, k);
			break;
		case QF_BOOL:
			v->t = QV_BOOL;
			v->i = OGR_F_GetFieldAsInteger64(f, k) != 0;
			break;
		case QF_REAL:
			v->t = QV_REAL;
			v->d = OGR_F_GetFieldAsDouble(f, k);
			break;
		case QF_BLOB:
			v->t = QV_BLOB;
			v->s = (const char *)OGR_F_GetFieldAsBinary(f, k, &n);
			v->n = (size_t)n;
			break;
		default:
			/* OGR's text of a date or list is a buffer it reuses */
			v->t = QV_TEXT;
			keep[i] = strdup(OGR_F_GetFieldAsString(f, k));
			v->s = keep[i] ? keep[i] : "";
			v->n = strlen(v->s);
			break;
		}
	}
	row.vals = vals;
	row.nvals = nsel;
	rc = q_row(s->q, &row, err);
	OGR_G_DestroyGeometry(row.geom);
	for (i = 0; i < nsel; i++)
		free(keep[i]);
	return rc;
}

static int
run_layer(struct og *s, spool_err *err)
{
	struct qctx *q = s->q;
	struct qlayer *l = &s->layer;
	const struct cq_geom *box;
	struct qcol *cols = NULL;
	struct qval *vals = NULL;
	char **keep = NULL;
	int *sel = NULL, rc;
	size_t nsel = 0, i;
	int64_t skipped = 0, seen = 0;
	OGRFeatureH f;

	if ((rc = describe(s, err)) != SPOOL_OK)
		return rc;
	if ((rc = q_select_fields(l, q->req.properties, &sel, &nsel,
	    err)) != SPOOL_OK)
		return rc;
	if ((rc = cq_compile(&s->expr, &q->req, l, err)) != SPOOL_OK)
		goto out;
	cols = calloc(nsel + 1, sizeof(*cols));
	vals = calloc(nsel + 1, sizeof(*vals));
	keep = calloc(nsel + 1, sizeof(*keep));
	if (cols == NULL || vals == NULL || keep == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nsel; i++) {
		cols[i].name = l->fields[sel[i]].name;
		cols[i].type = l->fields[sel[i]].type;
	}
	if (q->req.nsort > 0) {
		if ((s->keys = calloc(q->req.nsort, sizeof(int))) == NULL) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < q->req.nsort; i++) {
			const char *fn = q->req.sortby[i].field;
			int k = q_layer_field(l, fn);

			if (k >= 0)
				s->keys[i] = s->fmap[k];
			else if (strcmp(fn, l->fid) == 0)
				s->keys[i] = -1;
			else {
				rc = spool_fail(err, SPOOL_ERR_NOTFOUND, "sortby: "
				    "unknown property '%s' of layer '%s'", fn,
				    l->name);
				goto out;
			}
		}
		if (q->req.offset + q->eff_limit + 1 > Q_OGR_SORT_MAX) {
			rc = spool_fail(err, SPOOL_ERR_LIMIT, "sortby: offset + "
			    "limit past %d is not offered for this source",
			    Q_OGR_SORT_MAX);
			goto out;
		}
		s->cap = (size_t)(q->req.offset + q->eff_limit + 1);
		if ((s->heap = calloc(s->cap, sizeof(*s->heap))) == NULL) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = q_begin(q, cols, nsel, l->fid, l->geom != NULL, l->geom_type,
	    err)) != SPOOL_OK)
		goto out;
	if ((box = prefilter(&s->expr)) != NULL)
		OGR_L_SetSpatialFilterRect(s->lyr, box->env.MinX,
		    box->env.MinY, box->env.MaxX, box->env.MaxY);
	OGR_L_ResetReading(s->lyr);
	rc = 0;
	while ((f = OGR_L_GetNextFeature(s->lyr)) != NULL) {
		if ((++seen & 255) == 0 && q_check(q) != SPOOL_OK) {
			OGR_F_Destroy(f);
			rc = q->cancelled ? spool_fail(err, SPOOL_ERR_CANCELLED,
			    "cancelled") : q_fail_timeout(q, err);
			goto out;
		}
		if (!cq_eval(&s->expr, f, OGR_F_GetGeometryRef(f), s->fmap)) {
			OGR_F_Destroy(f);
			continue;
		}
		if (s->heap != NULL) {
			heap_offer(s, f);
			continue;
		}
		if (skipped < q->req.offset) {
			skipped++;
			OGR_F_Destroy(f);
			continue;
		}
		rc = emit(s, f, sel, nsel, vals, keep, err);
		OGR_F_Destroy(f);
		if (rc != 0)
			break;
	}
	if (rc == 0 && s->heap != NULL) {
		qsort_r(s->heap, s->nheap, sizeof(*s->heap), qsort_cmp, s);
		for (i = (size_t)q->req.offset; i < s->nheap && rc == 0; i++)
			rc = emit(s, s->heap[i], sel, nsel, vals, keep, err);
	}
	if (rc > 0)
		rc = SPOOL_OK;
out:
	free(sel);
	free(cols);
	free(vals);
	free(keep);
	return rc;
}

int
q_ogr_run(struct qctx *q, const char *path, spool_err *err)
{
	struct og s;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.q = q;
	if (q->req.sql != NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: source '%s' is "
		    "not a database (sql needs a GeoPackage, SQLite or "
		    "PostgreSQL source)", q->src.name);
	CPLErrorReset();
	s.ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL,
	    NULL);
	if (s.ds == NULL)
		return spool_fail(err, SPOOL_ERR_STORE, "cannot open source "
		    "'%s'%s%s", q->src.name, CPLGetLastErrorMsg()[0] ? ": " :
		    "", CPLGetLastErrorMsg());
	if ((s.lyr = GDALDatasetGetLayerByName(s.ds, q->req.layer)) == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOTFOUND, "layer '%s' does not "
		    "exist in source '%s'", q->req.layer, q->src.name);
		goto out;
	}
	rc = run_layer(&s, err);
out:
	for (i = 0; i < s.nheap; i++)
		OGR_F_Destroy(s.heap[i]);
	free(s.heap);
	free(s.keys);
	free(s.fmap);
	cq_release(&s.expr);
	q_layer_release(&s.layer);
	if (s.ct != NULL)
		OCTDestroyCoordinateTransformation(s.ct);
	GDALClose(s.ds);
	return rc;
}

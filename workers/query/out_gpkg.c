/*
 * out_gpkg.c - the GeoPackage result, written by OGR's GPKG driver.
 *
 * One layer named as the queried layer ("result" for SQL), EPSG:4326,
 * the source's feature ids kept.  A GeoPackage's size is not known row
 * by row, so max_bytes bounds the rows' content (WKB plus values, as
 * they are written); the file adds the GeoPackage's fixed tables and
 * its spatial index (docs/DECISIONS.md, "Query").
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_error.h>
#include <gdal.h>

#include "query.h"

struct gpkg_out {
	GDALDatasetH ds;
	OGRLayerH lyr;
	OGRFeatureDefnH defn;
	int *idx;   /* column -> field index */
	int in_tx;
};

static OGRFieldType
ogr_type(enum qf_type t, OGRFieldSubType *sub)
{
	*sub = OFSTNone;
	switch (t) {
	case QF_INT:
		return OFTInteger64;
	case QF_REAL:
		return OFTReal;
	case QF_BOOL:
		*sub = OFSTBoolean;
		return OFTInteger;
	case QF_BLOB:
		return OFTBinary;
	default:
		return OFTString;
	}
}

static int
gpkg_open(struct qout *o, spool_err *err)
{
	struct gpkg_out *x = calloc(1, sizeof(*x));
	OGRSpatialReferenceH srs = NULL;
	GDALDriverH drv = GDALGetDriverByName("GPKG");
	char *lco[3] = { NULL, NULL, NULL };
	char fidopt[300];
	size_t i;

	if (x == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	o->priv = x;
	if (drv == NULL)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "GDAL has no GPKG "
		    "driver");
	if ((x->idx = calloc(o->ncols + 1, sizeof(int))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	unlink(o->path);
	x->ds = GDALCreate(drv, o->path, 0, 0, 0, GDT_Unknown, NULL);
	if (x->ds == NULL)
		return spool_fail(err, SPOOL_ERR_SYS, "cannot create '%s': %s",
		    o->path, CPLGetLastErrorMsg());
	if (o->has_geom && (srs = q_srs_epsg(4326)) == NULL)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "EPSG:4326 is not "
		    "known to PROJ");
	if (o->fid_name != NULL) {
		snprintf(fidopt, sizeof(fidopt), "FID=%s", o->fid_name);
		lco[0] = fidopt;
	}
	x->lyr = GDALDatasetCreateLayer(x->ds, o->layer, srs, o->has_geom ?
	    o->geom_type : wkbNone, lco);
	if (srs != NULL)
		OSRDestroySpatialReference(srs);
	if (x->lyr == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "cannot create layer "
		    "'%s' in the GeoPackage: %s", o->layer,
		    CPLGetLastErrorMsg());
	for (i = 0; i < o->ncols; i++) {
		OGRFieldSubType sub;
		OGRFieldDefnH fd = OGR_Fld_Create(o->cols[i].name,
		    ogr_type(o->cols[i].type, &sub));

		OGR_Fld_SetSubType(fd, sub);
		if (OGR_L_CreateField(x->lyr, fd, 1) != OGRERR_NONE) {
			OGR_Fld_Destroy(fd);
			return spool_fail(err, SPOOL_ERR_FORMAT, "cannot create "
			    "field '%s': %s", o->cols[i].name,
			    CPLGetLastErrorMsg());
		}
		OGR_Fld_Destroy(fd);
	}
	x->defn = OGR_L_GetLayerDefn(x->lyr);
	for (i = 0; i < o->ncols; i++)
		x->idx[i] = OGR_FD_GetFieldIndex(x->defn, o->cols[i].name);
	if (OGR_L_StartTransaction(x->lyr) == OGRERR_NONE)
		x->in_tx = 1;
	return SPOOL_OK;
}

static int
gpkg_row(struct qout *o, const struct qrow *r, spool_err *err)
{
	struct gpkg_out *x = o->priv;
	int64_t size = 16;
	OGRFeatureH f;
	size_t i;
	for (i = 0; i < r->nvals; i++)
		size += 8 + (int64_t)r->vals[i].n;
	if (r->geom != NULL)
		size += (int64_t)OGR_G_WkbSizeEx(r->geom);
	if (o->bytes + size > o->max_bytes)
		return SPOOL_ERR_LIMIT;
	if ((f = OGR_F_Create(x->defn)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (r->has_fid && r->fid.t == QV_INT)
		OGR_F_SetFID(f, r->fid.i);
	for (i = 0; i < r->nvals && i < o->ncols; i++) {
		const struct qval *v = &r->vals[i];
		int k = x->idx[i];

		if (k < 0)
			continue;
		switch (v->t) {
		case QV_NULL:
			OGR_F_SetFieldNull(f, k);
			break;
		case QV_INT:
		case QV_BOOL:
			OGR_F_SetFieldInteger64(f, k, v->i);
			break;
		case QV_REAL:
			OGR_F_SetFieldDouble(f, k, v->d);
			break;
		case QV_BLOB:
			OGR_F_SetFieldBinary(f, k, (int)v->n, v->s);
			break;
		case QV_TEXT:
		case QV_NUMTEXT:
			OGR_F_SetFieldString(f, k, v->s);
			break;
		}
	}
	if (r->geom != NULL)
		OGR_F_SetGeometry(f, r->geom);
	if (OGR_L_CreateFeature(x->lyr, f) != OGRERR_NONE) {
		OGR_F_Destroy(f);
		return spool_fail(err, SPOOL_ERR_FORMAT, "cannot write a "
		    "feature to the GeoPackage: %s", CPLGetLastErrorMsg());
	}
	OGR_F_Destroy(f);
	o->bytes += size;
	return SPOOL_OK;
}

static void
gpkg_free(struct qout *o)
{
	struct gpkg_out *x = o->priv;

	if (x == NULL)
		return;
	if (x->ds != NULL)
		GDALClose(x->ds);
	free(x->idx);
	free(x);
	o->priv = NULL;
}

static int
gpkg_close(struct qout *o, spool_err *err)
{
	struct gpkg_out *x = o->priv;
	int rc = SPOOL_OK;

	if (x->in_tx && OGR_L_CommitTransaction(x->lyr) != OGRERR_NONE)
		rc = spool_fail(err, SPOOL_ERR_SYS, "cannot write '%s': %s",
		    o->path, CPLGetLastErrorMsg());
	x->in_tx = 0;
	CPLErrorReset();
	GDALClose(x->ds);
	if (CPLGetLastErrorType() >= CE_Failure && rc == SPOOL_OK)
		rc = spool_fail(err, SPOOL_ERR_SYS, "cannot write '%s': %s",
		    o->path, CPLGetLastErrorMsg());
	x->ds = NULL;
	gpkg_free(o);
	return rc;
}

static void
gpkg_abort(struct qout *o)
{
	char p[4200];

	gpkg_free(o);
	unlink(o->path);
	snprintf(p, sizeof(p), "%s-journal", o->path);
	unlink(p);
}

const struct qout_ops q_out_gpkg_ops = {
	gpkg_open, gpkg_row, gpkg_close, gpkg_abort
};

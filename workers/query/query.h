/*
 * query.h - the query worker's private interfaces (docs/WORKERS.md,
 * docs/DECISIONS.md "Query").
 *
 * One task answers one query request read-only against one named source:
 *
 *   params.c      the request's params, checked (shape by the published
 *                 schema, the rest here) into a struct qreq
 *   cql2.c        CQL2-JSON -> a checked tree -> SQL with bound values, or
 *                 evaluated feature by feature (OGR sources)
 *   geom.c        GeoPackage geometry blobs, CRS84 <-> layer CRS,
 *                 RFC 7946 winding
 *   src_sqlite.c  GeoPackage / SQLite files (SQLITE_OPEN_READONLY)
 *   src_pg.c      PostgreSQL / PostGIS (BEGIN READ ONLY, statement_timeout)
 *   src_ogr.c     any other OGR-readable dataset (opened read-only)
 *   out_text.c    GeoJSON, JSONL and CSV writers
 *   out_gpkg.c    the GeoPackage writer (OGR)
 *   query.c       the task: source, limits, summary
 *
 * Nothing here may write outside the task's out/ and tmp/, and no value
 * from a request is ever spliced into SQL: identifiers are checked
 * against the layer's real fields and quoted, values are bound.
 */
#ifndef SPOOL_QUERY_H
#define SPOOL_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "spool/base/error.h"
#include "spool/job/worker.h"

/* Bounds on what one request may ask for. */
#define Q_FILTER_DEPTH  32     /* nesting of a CQL2 expression */
#define Q_FILTER_NODES  2000   /* operators and operands in one filter */
#define Q_IN_MAX        1000   /* values of one "in" list */
#define Q_SQL_PARAMS    100    /* params of an allow_sql statement */
#define Q_SQL_MAX       65536  /* bytes of SQL (ours or the user's) */
#define Q_DENSIFY_DEG   0.05   /* edge length before a CRS change */

/* ---- values ---- */

enum qv_type {
	QV_NULL, QV_INT, QV_REAL, QV_TEXT, QV_BOOL, QV_BLOB,
	QV_NUMTEXT /* a number given as text (PostgreSQL numeric) */
};

struct qval {
	enum qv_type t;
	int64_t i;        /* QV_INT, QV_BOOL */
	double d;         /* QV_REAL */
	const char *s;    /* QV_TEXT, QV_BLOB, QV_NUMTEXT (borrowed) */
	size_t n;         /* length of s */
};

/* ---- the request ---- */

struct qsortkey {
	const char *field;
	int desc;
};

struct qreq {
	const char *source;
	const char *layer;        /* NULL with sql */
	const char *format;       /* geojson | csv | jsonl | gpkg */
	const json_t *filter;     /* CQL2-JSON or NULL */
	const json_t *properties; /* array of names or NULL (all) */
	struct qsortkey *sortby;  /* malloc'd */
	size_t nsort;
	int has_bbox;
	double bbox[4];           /* CRS84 minx miny maxx maxy */
	int64_t limit;            /* -1: none given */
	int64_t offset;
	const char *sql;          /* allow_sql only */
	const json_t *sql_params; /* array or NULL */
};

/* The named source's settings, as spoold read them (task "config"). */
struct qsource {
	const char *name;
	const char *url;
	const json_t *layers;     /* array of strings */
	int allow_sql;
	int64_t timeout_ms;
	int64_t max_rows;
	int64_t max_bytes;
};

int q_params_parse(struct qreq *r, const json_t *params, spool_err *err);
void q_params_release(struct qreq *r);
int q_source_parse(struct qsource *s, const json_t *config,
    const char *name, spool_err *err);
int q_layer_allowed(const struct qsource *s, const char *layer);

/* ---- layers ---- */

enum qf_type { QF_INT, QF_REAL, QF_TEXT, QF_BOOL, QF_BLOB, QF_OTHER };

struct qfield {
	char *name;
	enum qf_type type;
	int text_sort;   /* a text type: sorted bytewise */
};

struct qlayer {
	char *name;         /* as the request named it */
	char *fid;          /* the feature id column, or NULL */
	int fid_int;        /* the id is an integer */
	char *geom;         /* the geometry column, or NULL */
	OGRwkbGeometryType geom_type;
	OGRSpatialReferenceH srs; /* the layer's CRS; NULL: CRS84 already */
	int srid;           /* PostGIS SRID / GeoPackage srs_id */
	struct qfield *fields;
	size_t nfields;
};

void q_layer_release(struct qlayer *l);
int q_layer_add_field(struct qlayer *l, const char *name, enum qf_type t,
    int text_sort);
/* index of field name, -1 if none */
int q_layer_field(const struct qlayer *l, const char *name);
/* The fields to return, as indexes into l->fields: the request's
 * "properties" (checked) or all. */
int q_select_fields(const struct qlayer *l, const json_t *props,
    int **idx, size_t *n, spool_err *err);

/* ---- CQL2 ---- */

enum cq_op {
	CQ_AND, CQ_OR, CQ_NOT, CQ_EQ, CQ_NE, CQ_LT, CQ_LE, CQ_GT, CQ_GE,
	CQ_LIKE, CQ_BETWEEN, CQ_IN, CQ_ISNULL, CQ_INTERSECTS
};

enum cq_argkind { CA_PROP, CA_LIT, CA_GEOM };

#define CQ_FID (-2)  /* a CA_PROP naming the feature id column */

struct cq_arg {
	enum cq_argkind kind;
	int field;         /* CA_PROP: field index or CQ_FID */
	struct qval lit;   /* CA_LIT */
	int geom;          /* CA_GEOM: index into cq_expr.geoms */
};

struct cq_node {
	enum cq_op op;
	struct cq_node **kids;  /* and, or, not */
	size_t nkids;
	struct cq_arg *args;    /* the rest; for in: args[1..] are the list */
	size_t nargs;
};

/* A filter geometry, in the layer's CRS. */
struct cq_geom {
	OGRGeometryH g;
	OGRPreparedGeometryH prep; /* made on first use */
	OGREnvelope env;
	int is_rect;               /* an axis-aligned rectangle */
};

struct cq_expr {
	struct cq_node *root;   /* NULL: everything */
	struct cq_geom *geoms;
	size_t ngeoms;
	size_t nodes;
};

/* Compile the request's bbox and filter against a layer.  Geometries are
 * moved into the layer's CRS.  Unknown properties and bad operands fail
 * with a reason. */
int cq_compile(struct cq_expr *e, const struct qreq *r,
    const struct qlayer *l, spool_err *err);
void cq_release(struct cq_expr *e);

/* SQL text with a cap, and the values bound to its placeholders. */
struct sbuf {
	char *p;
	size_t len, cap, max;
	int oom;
};

void sb_init(struct sbuf *b, size_t max);
void sb_release(struct sbuf *b);
void sb_add(struct sbuf *b, const char *s);
void sb_addn(struct sbuf *b, const char *s, size_t n);
void sb_addc(struct sbuf *b, char c);
void sb_addf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "name" with " doubled */
void sb_ident(struct sbuf *b, const char *name);

struct qparams {
	struct qval *v;
	size_t n, cap;
	int pg;  /* $n placeholders (else ?n) */
	char **keep; /* strings values point into, freed with the list */
	size_t nkeep;
};

/* Appends v as the next parameter and its placeholder to b. */
int qp_add(struct qparams *p, struct sbuf *b, const struct qval *v);
void qp_release(struct qparams *p);
/* Keeps s (malloc'd) until qp_release; returns s (NULL if s is NULL or
 * memory ran out, s freed then). */
const char *qp_keep(struct qparams *p, char *s);

/* How a backend writes what differs between SQL dialects. */
struct cq_dialect {
	int pg;
	/* s_intersects(geometry column, filter geometry g) */
	int (*intersects)(void *ctx, struct sbuf *b, struct qparams *p,
	    const struct cq_expr *e, int g);
	void *ctx;
	const struct qlayer *layer;
};

int cq_sql(struct sbuf *b, struct qparams *p, const struct cq_expr *e,
    const struct cq_dialect *d, spool_err *err);

/* Evaluate against one feature (OGR sources): 1 true, 0 false or
 * unknown. */
int cq_eval(const struct cq_expr *e, OGRFeatureH f, OGRGeometryH g,
    const int *field_map);

/* ---- geometry ---- */

/* The WKB inside a GeoPackage geometry blob (NULL if not one, or an
 * extension type); *empty set when the blob says it is empty. */
const unsigned char *gpkg_wkb(const unsigned char *blob, size_t n,
    size_t *wkb_len, int *empty, OGREnvelope *env, int *has_env);
/* An SRS in traditional GIS order (x = longitude / easting). */
OGRSpatialReferenceH q_srs_epsg(int code);
OGRSpatialReferenceH q_srs_wkt(const char *wkt);
/* Is this SRS CRS84-equivalent (EPSG:4326 or OGC:CRS84)? */
int q_srs_is_crs84(OGRSpatialReferenceH srs);
/* Transformation layer -> CRS84 (NULL when none is needed). */
int q_to_crs84(OGRSpatialReferenceH from, OGRCoordinateTransformationH *ct,
    spool_err *err);
/* A filter geometry in CRS84 -> the layer's CRS, densified first so
 * that edges straight in lon/lat stay where they were. */
int q_from_crs84(OGRGeometryH g, OGRSpatialReferenceH to, spool_err *err);
/* Exterior rings counterclockwise, holes clockwise (RFC 7946 3.1.6). */
void q_rfc7946_winding(OGRGeometryH g);

/* ---- output ---- */

/* The shortest text that reads back as d ("0.05", not
 * "0.050000000000000003"); buf of 32 bytes at least. */
void q_fmt_double(char *buf, size_t n, double d);

enum q_format { QF_GEOJSON, QF_JSONL, QF_CSV, QF_GPKG };

struct qcol {
	const char *name;
	enum qf_type type;
};

struct qrow {
	int has_fid;
	struct qval fid;
	OGRGeometryH geom;      /* in CRS84, or NULL */
	const struct qval *vals;
	size_t nvals;
};

struct qout;

struct qout_ops {
	int (*open)(struct qout *o, spool_err *err);
	/* SPOOL_ERR_LIMIT: the row would pass max_bytes (not written) */
	int (*row)(struct qout *o, const struct qrow *row, spool_err *err);
	int (*close)(struct qout *o, spool_err *err);
	void (*abort)(struct qout *o);
};

struct qout {
	const struct qout_ops *ops;
	enum q_format format;
	const char *path;      /* out/result.<ext> */
	const char *layer;     /* the layer name for GPKG */
	const struct qcol *cols;
	size_t ncols;
	const char *fid_name;  /* CSV's id column */
	int has_geom;
	OGRwkbGeometryType geom_type;
	int64_t max_bytes;
	int64_t bytes;         /* written (GPKG: content estimate) */
	void *priv;
};

extern const struct qout_ops q_out_text_ops;
extern const struct qout_ops q_out_gpkg_ops;

int q_format_parse(const char *s, enum q_format *f);
const char *q_format_ext(enum q_format f);
const char *q_format_mime(enum q_format f);

/* ---- the task ---- */

struct qctx {
	struct spool_worker_task *t;
	struct qreq req;
	struct qsource src;
	int64_t started_ms;
	int64_t deadline_ms;   /* monotonic; min(source timeout, task's) */
	int64_t timeout_ms;    /* the source's */
	int64_t eff_limit;     /* rows to return at most */
	int limit_is_max;      /* eff_limit is max_rows (cut means truncated) */
	struct qout out;
	int out_open;
	/* set by the run */
	int64_t rows;
	int truncated;
	const char *limit_hit; /* "max_rows" | "max_bytes" */
	int row_cap;           /* stopped at eff_limit + 1 rows */
	int timed_out;
	int cancelled;
	int64_t last_check;
	int debug;
};

int64_t q_now_ms(void);
/* Check deadline and cancellation: 0 go on, SPOOL_ERR_CANCELLED stop
 * (timed_out or cancelled tells which). */
int q_check(struct qctx *q);
/* Opens the writer with the result's columns (once); cols and their
 * names must live until the last row is written. */
int q_begin(struct qctx *q, const struct qcol *cols, size_t ncols,
    const char *fid_name, int has_geom, OGRwkbGeometryType gt,
    spool_err *err);
/* One result row: 0 go on, 1 stop (a limit was reached), <0 error. */
int q_row(struct qctx *q, const struct qrow *row, spool_err *err);
/* An error for a timeout. */
int q_fail_timeout(struct qctx *q, spool_err *err);

int q_sqlite_run(struct qctx *q, const char *path, spool_err *err);
int q_pg_run(struct qctx *q, const char *conninfo, spool_err *err);
int q_ogr_run(struct qctx *q, const char *path, spool_err *err);
/* The long-lived worker keeps PostgreSQL connections between tasks. */
void q_pg_cleanup(void);

#endif

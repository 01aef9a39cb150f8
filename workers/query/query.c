/*
 * query - the worker that answers query requests (docs/WORKERS.md; the
 * Query section of docs/DECISIONS.md).
 *
 * One task: the request's params against the named source's settings
 * (task "config": {"source": {...}}), run read-only by the engine, cut by
 * the source's timeout, max_rows and max_bytes, written to
 * out/result.<format>.  It must never write to a source: SQLite files are
 * opened SQLITE_OPEN_READONLY, PostgreSQL runs in READ ONLY transactions
 * as the source's role, OGR datasets are opened read-only.
 *
 * Also: "query --cache-key FILE" prints the cache key (spool_query_cache_key) of the
 * task or params object in FILE ("-": stdin), for tests and operators.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <sqlite3.h>

#include "spool/node/kinds.h"
#include "query.h"

int64_t
q_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
q_check(struct qctx *q)
{
	int64_t now = q_now_ms();

	if (q->timed_out || q->cancelled)
		return SPOOL_ERR_CANCELLED;
	if (now > q->deadline_ms) {
		q->timed_out = 1;
		return SPOOL_ERR_CANCELLED;
	}
	/* reads spoold's cancel lines: not on every row */
	if (now - q->last_check >= 100) {
		q->last_check = now;
		if (spool_worker_progress(q->t, 0, "querying")) {
			if (q->t->deadline_ms > 0 && now > q->t->deadline_ms)
				q->timed_out = 1;
			else
				q->cancelled = 1;
			return SPOOL_ERR_CANCELLED;
		}
	}
	return SPOOL_OK;
}

int
q_fail_timeout(struct qctx *q, spool_err *err)
{
	q->timed_out = 1;
	return spool_fail(err, SPOOL_ERR_CANCELLED, "timeout: the query ran "
	    "past the source's timeout of %lld ms and was stopped",
	    (long long)q->timeout_ms);
}

int
q_begin(struct qctx *q, const struct qcol *cols, size_t ncols,
    const char *fid_name, int has_geom, OGRwkbGeometryType gt,
    spool_err *err)
{
	int rc;

	if (q->out_open)
		return SPOOL_OK;
	q->out.cols = cols;
	q->out.ncols = ncols;
	q->out.fid_name = fid_name;
	q->out.has_geom = has_geom;
	q->out.geom_type = gt;
	q->out.max_bytes = q->src.max_bytes;
	q->out.layer = q->req.layer != NULL ? q->req.layer : "result";
	q->out.ops = q->out.format == QF_GPKG ? &q_out_gpkg_ops :
	    &q_out_text_ops;
	q->out_open = 1;
	if ((rc = q->out.ops->open(&q->out, err)) != SPOOL_OK)
		return rc;
	return SPOOL_OK;
}

int
q_row(struct qctx *q, const struct qrow *row, spool_err *err)
{
	int rc;

	if (q->rows >= q->eff_limit) {
		/* one row more than allowed exists */
		q->row_cap = 1;
		if (q->limit_is_max) {
			q->truncated = 1;
			q->limit_hit = "max_rows";
		}
		return 1;
	}
	rc = q->out.ops->row(&q->out, row, err);
	if (rc == SPOOL_ERR_LIMIT) {
		q->truncated = 1;
		q->limit_hit = "max_bytes";
		return 1;
	}
	if (rc != SPOOL_OK)
		return rc;
	q->rows++;
	if ((q->rows & 63) == 0 && q_check(q) != SPOOL_OK)
		return q->timed_out ? q_fail_timeout(q, err) :
		    spool_fail(err, SPOOL_ERR_CANCELLED, "cancelled");
	return 0;
}

static int
is_sqlite_file(const char *path)
{
	char head[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof(head));
	close(fd);
	return n == 16 && memcmp(head, "SQLite format 3", 16) == 0;
}

static int
run(struct qctx *q, spool_err *err)
{
	const char *url = q->src.url;

	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0)
		return q_pg_run(q, url, err);
	if (strncmp(url, "PG:", 3) == 0)
		return q_pg_run(q, url + 3, err);
	if (strncmp(url, "sqlite://", 9) == 0)
		return q_sqlite_run(q, url + 9, err);
	if (is_sqlite_file(url))
		return q_sqlite_run(q, url, err);
	return q_ogr_run(q, url, err);
}

static int
query_task(struct spool_worker_task *t)
{
	struct qctx q;
	spool_err err;
	char path[64], tmp[4200];
	json_t *sum;
	int rc, permanent = 1;

	memset(&q, 0, sizeof(q));
	memset(&err, 0, sizeof(err));
	q.t = t;
	q.started_ms = q_now_ms();
	q.debug = getenv("SPOOL_QUERY_DEBUG") != NULL;
	if ((rc = q_params_parse(&q.req, t->params, &err)) != SPOOL_OK)
		goto fail;
	if ((rc = q_source_parse(&q.src, t->config, q.req.source,
	    &err)) != SPOOL_OK) {
		permanent = rc != SPOOL_ERR_CONFIG;
		goto fail;
	}
	if (q_format_parse(q.req.format, &q.out.format) != 0) {
		rc = spool_fail(&err, SPOOL_ERR_FORMAT, "unknown format '%s'",
		    q.req.format);
		goto fail;
	}
	if (q.req.sql != NULL && !q.src.allow_sql) {
		rc = spool_fail(&err, SPOOL_ERR_FORMAT, "source '%s' does not "
		    "allow sql", q.src.name);
		goto fail;
	}
	if (q.req.layer != NULL && !q_layer_allowed(&q.src, q.req.layer)) {
		rc = spool_fail(&err, SPOOL_ERR_NOTFOUND, "unknown layer '%s' "
		    "in source '%s'", q.req.layer, q.src.name);
		goto fail;
	}
	q.timeout_ms = q.src.timeout_ms;
	q.deadline_ms = q.started_ms + q.src.timeout_ms;
	if (t->deadline_ms > 0 && t->deadline_ms < q.deadline_ms)
		q.deadline_ms = t->deadline_ms;
	q.last_check = q.started_ms;
	if (q.req.limit < 0 || q.req.limit > q.src.max_rows) {
		q.eff_limit = q.src.max_rows;
		q.limit_is_max = 1;
	} else
		q.eff_limit = q.req.limit;
	snprintf(path, sizeof(path), "out/result.%s",
	    q_format_ext(q.out.format));
	q.out.path = path;
	/* SQLite's and GDAL's temporary files: the task's tmp/ (the sandbox
	 * lets nothing else be written); no connection is open here */
	snprintf(tmp, sizeof(tmp), "%s/tmp", t->dir);
	sqlite3_free(sqlite3_temp_directory);
	sqlite3_temp_directory = sqlite3_mprintf("%s", tmp);
	CPLSetConfigOption("CPL_TMPDIR", tmp);

	if ((rc = run(&q, &err)) != SPOOL_OK) {
		if (q.timed_out && rc != SPOOL_ERR_CANCELLED)
			rc = q_fail_timeout(&q, &err);
		if (q.cancelled)
			rc = spool_fail(&err, SPOOL_ERR_CANCELLED, "cancelled");
		/* a server that went away or is busy may be back later */
		permanent = rc != SPOOL_ERR_BUSY;
		goto fail;
	}
	if (!q.out_open) {
		rc = spool_fail(&err, SPOOL_ERR_INTERNAL, "the query produced "
		    "no result");
		goto fail;
	}
	q.out_open = 0;
	if ((rc = q.out.ops->close(&q.out, &err)) != SPOOL_OK) {
		permanent = 0;
		unlink(path);
		goto fail;
	}
	if (spool_worker_output(t, path + 4, path, "data",
	    q_format_mime(q.out.format)) != 0) {
		rc = spool_fail(&err, SPOOL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	sum = json_pack("{s:s, s:s?, s:I, s:b, s:I, s:s}",
	    "source", q.src.name, "layer", q.req.layer,
	    "rows", (json_int_t)q.rows, "truncated", q.truncated,
	    "execution_time_ms", (json_int_t)(q_now_ms() - q.started_ms),
	    "format", q_format_ext(q.out.format));
	if (sum != NULL && q.truncated)
		json_object_set_new(sum, "limit", json_string(q.limit_hit));
	if (sum == NULL) {
		rc = spool_fail(&err, SPOOL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	json_object_set_new(t->answer, "summary", sum);
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	fprintf(stderr, "event=query_done task=%s source=%s rows=%lld "
	    "truncated=%d ms=%lld\n", t->id, q.src.name, (long long)q.rows,
	    q.truncated, (long long)(q_now_ms() - q.started_ms));
	q_params_release(&q.req);
	return 0;
fail:
	if (q.out_open)
		q.out.ops->abort(&q.out);
	q_params_release(&q.req);
	fprintf(stderr, "event=query_failed task=%s why=%s\n", t->id,
	    SPOOL_LQ(err.msg));
	return spool_worker_fail(t, permanent, "%s", err.msg[0] ? err.msg :
	    spool_strerror(rc));
}

/* GDAL's messages: one log line each, never on stdout. */
static void
gdal_log(CPLErr e, CPLErrorNum n, const char *msg)
{
	char cut[401];

	if (e < CE_Warning)
		return;
	snprintf(cut, sizeof(cut), "%s", msg);
	fprintf(stderr, "event=gdal level=%s code=%d msg=%s\n",
	    e == CE_Warning ? "warning" : "error", (int)n, SPOOL_LQ(cut));
}

static int
query_init(void)
{
	CPLSetErrorHandler(gdal_log);
	GDALAllRegister();
	/* proj.db opened now, while every path is still readable */
	OSRDestroySpatialReference(q_srs_epsg(4326));
	return sqlite3_initialize() == SQLITE_OK ? 0 : -1;
}

/* --cache-key FILE: the key of the params in FILE (a task line, whose
 * params and config name the source, or a bare params object). */
static int
cache_key_main(const char *file)
{
	json_error_t je;
	json_t *doc, *params;
	const char *src;
	char key[SPOOL_CACHE_KEY_MAX];

	doc = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &je) :
	    json_load_file(file, 0, &je);
	if (doc == NULL) {
		fprintf(stderr, "query: '%s': %s\n", file, je.text);
		return 1;
	}
	params = json_object_get(doc, "params");
	if (!json_is_object(params))
		params = doc;
	src = json_string_value(json_object_get(params, "source"));
	/* the key both nodes' caches use (libspool's, spool/node/kinds.h) */
	if (src == NULL || spool_query_cache_key(params, key) != 0) {
		json_decref(doc);
		fprintf(stderr, "query: '%s': no params with a source\n", file);
		return 1;
	}
	json_decref(doc);
	puts(key);
	return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct spool_worker_kind kind = {
		.name = "query",
		.init = query_init,
		.run = query_task,
		.needs = SPOOL_SANDBOX_NET,
	};
	int r;

	if (argc == 3 && strcmp(argv[1], "--cache-key") == 0)
		return cache_key_main(argv[2]);
	r = spool_worker_main(argc, argv, &kind);
	q_pg_cleanup();
	return r;
}

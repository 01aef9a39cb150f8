/*
 * metrics.c - status/metrics.prom: the node for Prometheus, in the text
 * format node_exporter's textfile collector reads (point its
 * --collector.textfile.directory at the node's status/, or link the
 * file there).  Written with status/summary.json, atomically, and never
 * read by spool.
 *
 * What the store remembers (requests, batches, tasks) is subject to
 * retention, so those are gauges; the only counters are the daemon's own
 * (since spool_daemon_start_time_seconds), whose resets Prometheus
 * understands.  Label values are names spool checked ([a-z0-9-]); they
 * are escaped anyway.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/base/version.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/intake.h"
#include "spool/flow/metrics.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/stats.h"
#include "spool/store/store.h"

#define TEXT_MAX (4 << 20) /* bytes: thousands of peers and kinds */

struct text {
	char *p;
	size_t len, cap;
	int nomem;
};

static void __attribute__((format(printf, 2, 3)))
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (t->nomem)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL,
		    t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = 1;
			return;
		}
		if (t->p != NULL && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t cap = t->cap ? t->cap * 2 : 16384;
			char *p;

			while (cap < t->len + (size_t)n + 1)
				cap *= 2;
			if (cap > TEXT_MAX || (p = realloc(t->p, cap)) == NULL) {
				t->nomem = 1;
				return;
			}
			t->p = p;
			t->cap = cap;
		}
	}
}

/* A label value: \ " and newline escaped. */
static const char *
lv(char *buf, size_t n, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s && o + 3 < n; s++) {
		if (*s == '\\' || *s == '"')
			buf[o++] = '\\';
		if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
			continue;
		}
		buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}
#define LV(s) lv((char[256]){ 0 }, 256, (s))

static void
head(struct text *t, const char *name, const char *type, const char *help)
{
	add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* ---- from the store --------------------------------------------------- */

struct rows {
	struct text *t;
	const char *metric;
	int part;
};

/* dir peer state count bytes */
static int
batch_row(void *arg, const struct spool_store_row *row)
{
	struct rows *r = arg;

	if (r->part == 0)
		add(r->t, "spool_batches{direction=\"%s\",peer=\"%s\","
		    "state=\"%s\"} %s\n", LV(row->col[0]), LV(row->col[1]),
		    LV(row->col[2]), row->col[3]);
	else
		add(r->t, "spool_batch_payload_bytes{direction=\"%s\","
		    "peer=\"%s\",state=\"%s\"} %s\n", LV(row->col[0]),
		    LV(row->col[1]), LV(row->col[2]), row->col[4]);
	return 0;
}

/* type state count */
static int
task_row(void *arg, const struct spool_store_row *row)
{
	struct rows *r = arg;

	if (r->part == 0)
		add(r->t, "spool_tasks{kind=\"%s\",state=\"%s\"} %s\n",
		    LV(row->col[0]), LV(row->col[1]), row->col[2]);
	else if (strcmp(row->col[1], "queued") == 0)
		add(r->t, "spool_queue_depth{kind=\"%s\"} %s\n",
		    LV(row->col[0]), row->col[2]);
	return 0;
}

/* type count sum_ms bucket... */
static int
duration_row(void *arg, const struct spool_store_row *row)
{
	struct rows *r = arg;
	const char *kind = row->col[0];
	size_t i;

	for (i = 0; i < SPOOL_TASK_BUCKETS && 3 + i < row->ncols; i++)
		add(r->t, "spool_task_duration_seconds_bucket{kind=\"%s\","
		    "le=\"%g\"} %s\n", LV(kind),
		    (double)spool_task_bucket_ms[i] / 1000.0,
		    row->col[3 + i] ? row->col[3 + i] : "0");
	add(r->t, "spool_task_duration_seconds_bucket{kind=\"%s\","
	    "le=\"+Inf\"} %s\n", LV(kind), row->col[1]);
	add(r->t, "spool_task_duration_seconds_sum{kind=\"%s\"} %.3f\n",
	    LV(kind), strtod(row->col[2] ? row->col[2] : "0", NULL) / 1000.0);
	add(r->t, "spool_task_duration_seconds_count{kind=\"%s\"} %s\n",
	    LV(kind), row->col[1]);
	return 0;
}

static int
from_store(struct spool_daemon *d, json_t *peers, struct text *t,
    spool_err *err)
{
	struct rows r = { t, NULL, 0 };
	const char *peer;
	json_t *p;
	int64_t ms;
	int rc, k;

	head(t, "spool_batches", "gauge", "Batches the store remembers, by "
	    "direction (out: written here, in: received), peer and state.");
	if ((rc = spool_store_batch_stats(d->st, batch_row, &r, err)) < 0)
		return rc;
	head(t, "spool_batch_payload_bytes", "gauge", "Payload bytes of "
	    "those batches (distinct blobs).");
	r.part = 1;
	if ((rc = spool_store_batch_stats(d->st, batch_row, &r, err)) < 0)
		return rc;
	head(t, "spool_batch_last_timestamp_seconds", "gauge", "When the "
	    "last batch went to (out) or came from (in) each peer.");
	json_object_foreach(peers, peer, p)
		for (k = 0; k < 2; k++) {
			const char *dir = k ? "in" : "out";

			if ((rc = spool_store_last_batch(d->st, peer, dir, &ms,
			    err)) != SPOOL_OK)
				return rc;
			if (ms > 0)
				add(t, "spool_batch_last_timestamp_seconds{"
				    "direction=\"%s\",peer=\"%s\"} %.3f\n", dir,
				    LV(peer), (double)ms / 1000.0);
		}
	head(t, "spool_tasks", "gauge", "Tasks by kind and state.");
	r.part = 0;
	if ((rc = spool_store_task_stats(d->st, task_row, &r, err)) < 0)
		return rc;
	head(t, "spool_queue_depth", "gauge", "Tasks queued to run, by kind.");
	r.part = 1;
	if ((rc = spool_store_task_stats(d->st, task_row, &r, err)) < 0)
		return rc;
	head(t, "spool_task_duration_seconds", "histogram", "How long the "
	    "finished tasks the store remembers took, first start to end.");
	if ((rc = spool_store_task_durations(d->st, duration_row, &r, err)) <
	    0)
		return rc;
	return SPOOL_OK;
}

/* ---- the text --------------------------------------------------------- */

int
spool_metrics_text(struct spool_daemon *d, json_t *summary, char **out,
    spool_err *err)
{
	struct text t = { NULL, 0, 0, 0 };
	json_t *by, *side, *peers, *p, *disk, *v;
	const char *sname, *state, *peer;
	int i, r;

	*out = NULL;
	head(&t, "spool_info", "gauge", "This node and the spool it runs.");
	add(&t, "spool_info{node=\"%s\",version=\"%s\"} 1\n",
	    LV(d->node->cfg->name), LV(spool_version()));
	head(&t, "spool_status_updated_timestamp_seconds", "gauge", "When "
	    "this file was written.");
	add(&t, "spool_status_updated_timestamp_seconds %.3f\n",
	    (double)spool_now_ms() / 1000.0);
	head(&t, "spool_daemon_start_time_seconds", "gauge", "When the "
	    "process writing this started: the counters below count from "
	    "then.");
	add(&t, "spool_daemon_start_time_seconds %.3f\n",
	    (double)d->started / 1000.0);

	head(&t, "spool_requests", "gauge", "Requests by side (submit: made "
	    "here, process: run here) and state.");
	by = json_object_get(summary, "requests");
	json_object_foreach(by, sname, side)
		json_object_foreach(side, state, v)
			add(&t, "spool_requests{side=\"%s\",state=\"%s\"} %lld\n",
			    LV(sname), LV(state), (long long)json_integer_value(v));

	peers = json_object_get(summary, "peers");
	head(&t, "spool_batch_seq", "gauge", "Highest seq sent to (out) or "
	    "seen from (in) each peer.");
	json_object_foreach(peers, peer, p) {
		json_int_t next = jint(p, "next_seq");

		add(&t, "spool_batch_seq{direction=\"out\",peer=\"%s\"} %lld\n",
		    LV(peer), (long long)(next > 0 ? next - 1 : 0));
		add(&t, "spool_batch_seq{direction=\"in\",peer=\"%s\"} %lld\n",
		    LV(peer), (long long)jint(p, "highest_seen"));
	}
	head(&t, "spool_batch_received_up_to", "gauge", "Every seq from each "
	    "peer up to this one has arrived.");
	json_object_foreach(peers, peer, p)
		add(&t, "spool_batch_received_up_to{peer=\"%s\"} %lld\n",
		    LV(peer), (long long)jint(p, "received_up_to"));
	head(&t, "spool_batch_gaps", "gauge", "Seqs missing from each peer "
	    "(spoolctl status names them; resend heals them).");
	json_object_foreach(peers, peer, p)
		add(&t, "spool_batch_gaps{peer=\"%s\"} %zu\n", LV(peer),
		    json_array_size(json_object_get(p, "missing")));

	head(&t, "spool_batches_waiting", "gauge", "Batches in out/ to be "
	    "carried, and in import/ to be taken.");
	add(&t, "spool_batches_waiting{dir=\"out\"} %lld\n",
	    (long long)jint(summary, "waiting_in_out"));
	add(&t, "spool_batches_waiting{dir=\"import\"} %lld\n",
	    (long long)jint(summary, "waiting_in_import"));
	head(&t, "spool_rejected_files", "gauge", "Files waiting in rejected/.");
	add(&t, "spool_rejected_files %lld\n",
	    (long long)jint(summary, "rejected"));
	head(&t, "spool_quarantined_batches", "gauge", "Batches waiting in "
	    "quarantine/.");
	add(&t, "spool_quarantined_batches %lld\n",
	    (long long)jint(summary, "quarantined"));
	head(&t, "spool_intake_paused", "gauge", "1 while intake is paused "
	    "(the disk is full).");
	add(&t, "spool_intake_paused %d\n", d->disk_full || d->store_lost ? 1 :
	    0);
	if ((disk = json_object_get(summary, "disk")) != NULL) {
		head(&t, "spool_disk_free_bytes", "gauge", "Space left for "
		    "spool on the node's file system.");
		add(&t, "spool_disk_free_bytes %lld\n",
		    (long long)jint(disk, "free_bytes"));
		head(&t, "spool_disk_size_bytes", "gauge", "Size of the "
		    "node's file system.");
		add(&t, "spool_disk_size_bytes %lld\n",
		    (long long)jint(disk, "total_bytes"));
	}

	head(&t, "spool_intake_refused_total", "counter", "Files intake "
	    "refused (to rejected/), by reason.");
	for (i = 0; i < SPOOL_REFUSED_N; i++)
		add(&t, "spool_intake_refused_total{reason=\"%s\"} %llu\n",
		    spool_refusal_name(i), (unsigned long long)d->refused[i]);
	head(&t, "spool_files_taken_total", "counter", "Files taken from the "
	    "hot folders.");
	add(&t, "spool_files_taken_total %llu\n",
	    (unsigned long long)d->taken);
	head(&t, "spool_batches_written_total", "counter", "Batches written "
	    "into out/.");
	add(&t, "spool_batches_written_total %llu\n",
	    (unsigned long long)d->written);
	head(&t, "spool_batches_imported_total", "counter", "Batches "
	    "imported.");
	add(&t, "spool_batches_imported_total %llu\n",
	    (unsigned long long)d->imported);
	head(&t, "spool_batches_quarantined_total", "counter", "Batches "
	    "refused on import.");
	add(&t, "spool_batches_quarantined_total %llu\n",
	    (unsigned long long)d->quarantined);

	if ((r = from_store(d, peers, &t, err)) != SPOOL_OK) {
		free(t.p);
		return r;
	}
	if (t.nomem) {
		free(t.p);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	*out = t.p;
	return SPOOL_OK;
}

int
spool_metrics_write(struct spool_daemon *d, json_t *summary, spool_err *err)
{
	char path[PATH_MAX], *text;
	int r;

	if (spool_node_path(d->node, path, sizeof(path),
	    "status/metrics.prom") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_metrics_text(d, summary, &text, err)) != SPOOL_OK)
		return r;
	r = spool_write_file_replace(path, text, strlen(text), 0644, err);
	free(text);
	return r;
}

/*
 * cmd_daemon.c - the commands about a running node: status and flush.
 *
 * flush asks a running spoold over its control socket
 * (store/spoold.sock) and waits for its answer; with no daemon running it
 * takes the node lock and does the same steps itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "spoolctl.h"

static void
print_status(json_t *doc)
{
	const char *k;
	json_t *p, *disk, *v;
	size_t i;

	printf("node %s\n", json_string_value(json_object_get(doc, "node")));
	printf("requests: %lld pending, %lld in flight, %lld completed, "
	    "%lld failed\n",
	    (long long)json_integer_value(json_object_get(doc, "pending")),
	    (long long)json_integer_value(json_object_get(doc, "in_flight")),
	    (long long)json_integer_value(json_object_get(doc, "completed")),
	    (long long)json_integer_value(json_object_get(doc, "failed")));
	printf("processing: %lld waiting or running, %lld processed\n",
	    (long long)json_integer_value(json_object_get(doc, "processing")),
	    (long long)json_integer_value(json_object_get(doc, "processed")));
	printf("rejected: %lld, quarantined: %lld\n",
	    (long long)json_integer_value(json_object_get(doc, "rejected")),
	    (long long)json_integer_value(json_object_get(doc, "quarantined")));
	printf("out/: %lld batches to carry, import/: %lld waiting\n",
	    (long long)json_integer_value(json_object_get(doc,
	    "waiting_in_out")),
	    (long long)json_integer_value(json_object_get(doc,
	    "waiting_in_import")));
	json_object_foreach(json_object_get(doc, "peers"), k, p) {
		json_t *m = json_object_get(p, "missing");
		const char *li = json_string_value(json_object_get(p,
		    "last_in"));
		const char *lo = json_string_value(json_object_get(p,
		    "last_out"));

		printf("peer %s: received up to %lld, next seq to send %lld, "
		    "last in %s, last out %s\n", k,
		    (long long)json_integer_value(json_object_get(p,
		    "received_up_to")),
		    (long long)json_integer_value(json_object_get(p,
		    "next_seq")), li ? li : "never", lo ? lo : "never");
		if (json_array_size(m) > 0) {
			printf("  missing from %s:", k);
			json_array_foreach(m, i, v)
				printf("%s %lld", i ? "," : "",
				    (long long)json_integer_value(v));
			printf("%s\n", json_is_true(json_object_get(p,
			    "missing_more")) ? ", ..." : "");
		}
	}
	if ((disk = json_object_get(doc, "disk")) != NULL) {
		char f[32], t[32];

		out_size(f, sizeof(f), (double)json_integer_value(
		    json_object_get(disk, "free_bytes")));
		out_size(t, sizeof(t), (double)json_integer_value(
		    json_object_get(disk, "total_bytes")));
		printf("disk: %s free of %s\n", f, t);
	}
}

/* Whether spoold runs, and since when; what status/summary.json adds
 * (intake paused) is marked stale when it does not. */
static void
daemon_facts(struct ctl *c, json_t *doc)
{
	json_t *sum, *in, *o;
	char path[PATH_MAX], t[32];
	int64_t since;
	long pid;
	int run = spool_daemon_probe(c->node, &pid, &since);

	if (run > 0) {
		out_time(t, since, 0);
		o = json_pack("{s:b, s:I, s:s}", "running", 1, "pid",
		    (json_int_t)pid, "since", t);
	} else
		o = run == 0 ? json_pack("{s:b}", "running", 0) :
		    json_pack("{s:n}", "running");
	json_object_set_new(doc, "spoold", o);
	if (spool_node_path(c->node, path, sizeof(path),
	    "status/summary.json") != 0 ||
	    (sum = json_load_file(path, 0, NULL)) == NULL)
		return;
	if ((in = json_object_get(sum, "intake")) != NULL)
		json_object_set(doc, "intake", in);
	if ((in = json_object_get(sum, "intake_reason")) != NULL)
		json_object_set(doc, "intake_reason", in);
	if (run == 0 && json_object_get(doc, "intake") != NULL) {
		/* the daemon's word, from when it last wrote the file */
		json_object_set_new(doc, "stale", json_pack("{s:O?, s:[s]}",
		    "since", json_object_get(sum, "updated"), "keys",
		    "intake"));
	}
	json_decref(sum);
}

int
cmd_status(struct ctl *c)
{
	struct spool_store *st = NULL;
	json_t *doc = NULL, *o;
	spool_err err;
	int r;

	if (c->argc != 0)
		return ctl_usage(c, NULL);
	if ((r = out_store_open(c, &st)) != EXIT_OK)
		return r;
	if (spool_status_summary(st, c->node, &doc, &err) != SPOOL_OK) {
		spool_store_close(st);
		return out_fail(c, &err);
	}
	spool_store_close(st);
	/* what the daemon knows that the store does not: intake paused */
	daemon_facts(c, doc);
	if (c->json)
		return ctl_print_json(doc); /* takes doc */
	print_status(doc);
	o = json_object_get(doc, "spoold");
	if (json_is_true(json_object_get(o, "running")))
		printf("spoold: running since %s (pid %lld)\n",
		    json_string_value(json_object_get(o, "since")),
		    (long long)json_integer_value(json_object_get(o, "pid")));
	else if (json_is_false(json_object_get(o, "running")))
		printf("spoold: not running\n");
	else
		printf("spoold: unknown (cannot read store/lock)\n");
	if (json_object_get(doc, "intake") != NULL) {
		const char *since = json_string_value(json_object_get(
		    json_object_get(doc, "stale"), "since"));

		printf("intake: %s", json_string_value(json_object_get(doc,
		    "intake")));
		if (json_object_get(doc, "stale") != NULL)
			printf(" (stale: spoold is not running; as of %s)",
			    since ? since : "?");
		printf("\n");
	}
	json_decref(doc);
	return EXIT_OK;
}

/* "k=v k=v" as the command's output: one "k: v" line each, or JSON. */
static void
print_kv(const struct ctl *c, const char *line)
{
	char buf[512], *save = NULL, *tok;
	json_t *doc = json_object();

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (c->json)
			json_object_set_new(doc, tok, json_integer(strtoll(eq + 1,
			    NULL, 10)));
		else
			printf("%s: %s\n", tok, eq + 1);
	}
	if (c->json)
		ctl_print_json(doc);
	else
		json_decref(doc);
}

/* Ask the running daemon: 1 answered (r set), 0 no daemon listening. */
static int
ask_daemon(struct ctl *c, const char *what, int *r)
{
	char detail[SPOOL_ERR_MSG_MAX + 64];
	int ok;

	if (!spool_control_ask(c->node, what, &ok, detail, sizeof(detail)))
		return 0;
	if (!ok)
		*r = ctl_fail(c, SPOOL_ERR_SYS, detail);
	else {
		if (detail[0] != '\0')
			print_kv(c, detail);
		*r = EXIT_OK;
	}
	return 1;
}

/* The node's steps in this process, when no daemon answers. */
static int
local_daemon(struct ctl *c, struct spool_daemon **d)
{
	spool_err err;

	if (spool_daemon_open(d, c->node, 0, &err) == SPOOL_OK)
		return EXIT_OK;
	if (err.code == SPOOL_ERR_BUSY)
		spool_err_prefix(&err, "spoold does not answer on "
		    SPOOL_CONTROL_SOCK);
	return out_fail(c, &err);
}

int
cmd_flush(struct ctl *c)
{
	struct spool_daemon *d = NULL;
	int64_t next = 0;
	spool_err err;
	int r;

	if (c->argc != 0)
		return ctl_usage(c, NULL);
	if (ask_daemon(c, SPOOL_CONTROL_FLUSH, &r))
		return r;
	/* no daemon: do it here, holding the node like a daemon would */
	if ((r = local_daemon(c, &d)) != EXIT_OK)
		return r;
	if ((r = spool_daemon_recover(d, &err)) == SPOOL_OK)
		r = spool_daemon_flush(d, &next, &err);
	spool_daemon_close(d);
	return r == SPOOL_OK ? EXIT_OK : out_fail(c, &err);
}

int
cmd_gc(struct ctl *c)
{
	struct spool_daemon *d = NULL;
	struct spool_gc_stats gs;
	char line[512];
	spool_err err;
	int r;

	if (c->argc != 0)
		return ctl_usage(c, NULL);
	if (ask_daemon(c, SPOOL_CONTROL_GC, &r))
		return r;
	if ((r = local_daemon(c, &d)) != EXIT_OK)
		return r;
	r = spool_gc_run(d, &gs, &err);
	if (r == SPOOL_OK)
		r = spool_status_flush(d, &err);
	spool_daemon_close(d);
	if (r != SPOOL_OK)
		return out_fail(c, &err);
	spool_gc_format(&gs, line, sizeof(line));
	print_kv(c, line);
	return EXIT_OK;
}

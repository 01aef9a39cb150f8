/*
 * cmd_store.c - the commands that read the store: requests, show,
 * batches, jobs; and retry and cancel, which act on jobs (lineage is
 * cmd_lineage.c, on the same output kit, output.h).
 *
 * They open the node's store themselves (SQLite or PostgreSQL, as the
 * configuration says), so they work whether spoold runs or not.  Each has
 * a human form (aligned columns, times in RFC 3339 UTC) and --json (one
 * document on stdout; times with milliseconds).  Names, reasons and
 * errors come from users and peers: a control character never reaches
 * the operator's terminal, and invalid UTF-8 never reaches a JSON reader.
 *
 * Over 800 lines and kept whole: the read commands share their column
 * tables and views (the output kit itself is output.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "spoolctl.h"

#define LIST_LIMIT_DEFAULT 1000
#define LIST_LIMIT_MAX 100000
#define GAPS_MAX 100       /* missing seqs listed per peer */

enum { RQ_ID, RQ_SIDE, RQ_TYPE, RQ_USER, RQ_FOLDER, RQ_NAME, RQ_PEER,
	RQ_PRIORITY, RQ_DEADLINE, RQ_STATE, RQ_ERROR, RQ_SIZE, RQ_HASH,
	RQ_CREATED, RQ_UPDATED, RQ_NCOLS };
static const struct col request_cols[RQ_NCOLS] = {
	{ "id", 's' }, { "side", 's' }, { "type", 's' }, { "user", 's' },
	{ "folder", 's' }, { "name", 's' }, { "peer", 's' },
	{ "priority", 'i' }, { "deadline", 't' }, { "state", 's' },
	{ "error", 's' }, { "size", 'i' }, { "hash", 's' },
	{ "created", 't' }, { "updated", 't' },
};

enum { BA_ID, BA_BATCH_ID, BA_DIR, BA_PEER, BA_SEQ, BA_ITEMS, BA_BYTES,
	BA_TAR, BA_NAME, BA_STATE, BA_REASON, BA_CREATED, BA_UPDATED,
	BA_NCOLS };
static const struct col batch_cols[BA_NCOLS] = {
	{ "id", 's' }, { "batch_id", 's' }, { "dir", 's' }, { "peer", 's' },
	{ "seq", 'i' }, { "items", 'i' }, { "bytes", 'i' }, { "tar", 'i' },
	{ "name", 's' }, { "state", 's' }, { "reason", 's' },
	{ "created", 't' }, { "updated", 't' },
};

enum { JB_ID, JB_TYPE, JB_REQUEST, JB_PRIORITY, JB_DEADLINE, JB_STATE,
	JB_STAGE, JB_NSTAGES, JB_MAX_ATTEMPTS, JB_ERROR, JB_CREATED,
	JB_UPDATED, JB_FINISHED, JB_TASKS, JB_DONE, JB_NCOLS };
static const struct col job_cols[JB_NCOLS] = {
	{ "id", 's' }, { "type", 's' }, { "request", 's' },
	{ "priority", 'i' }, { "deadline", 't' }, { "state", 's' },
	{ "stage", 'i' }, { "nstages", 'i' }, { "max_attempts", 'i' },
	{ "error", 's' }, { "created", 't' }, { "updated", 't' },
	{ "finished", 't' }, { "tasks", 'i' }, { "tasks_done", 'i' },
};

enum { TK_ID, TK_JOB, TK_STAGE, TK_IDX, TK_TYPE, TK_STATE, TK_PRIORITY,
	TK_CREATED, TK_RUN_AT, TK_ATTEMPT, TK_MAX_ATTEMPTS, TK_LEASE_OWNER,
	TK_LEASE_UNTIL, TK_INPUT, TK_RESULT, TK_ERROR, TK_STARTED,
	TK_FINISHED, TK_NCOLS };
static const struct col task_cols[TK_NCOLS] = {
	{ "id", 's' }, { "job", 's' }, { "stage", 'i' }, { "idx", 'i' },
	{ "type", 's' }, { "state", 's' }, { "priority", 'i' },
	{ "created", 't' }, { "run_at", 't' }, { "attempt", 'i' },
	{ "max_attempts", 'i' }, { "lease_owner", 's' },
	{ "lease_until", 't' }, { "input", 'j' }, { "result", 'j' },
	{ "error", 's' }, { "started", 't' }, { "finished", 't' },
};

enum { SG_IDX, SG_NAME, SG_STATE, SG_TOTAL, SG_DONE, SG_NCOLS };
static const struct col stage_cols[SG_NCOLS] = {
	{ "idx", 'i' }, { "name", 's' }, { "state", 's' }, { "total", 'i' },
	{ "done", 'i' },
};

/* request and batch histories: state time detail */
static const struct col state_history_cols[] = {
	{ "state", 's' }, { "time", 't' }, { "detail", 's' },
};
/* job and task histories: event time detail attempt worker task */
enum { EV_EVENT, EV_TIME, EV_DETAIL, EV_ATTEMPT, EV_WORKER, EV_TASK };
static const struct col task_history_cols[] = {
	{ "event", 's' }, { "time", 't' }, { "detail", 's' },
	{ "attempt", 'i' }, { "worker", 's' }, { "task", 's' },
};

enum { PR_NAME, PR_KEY_ID, PR_NEXT_SEQ, PR_CONTIGUOUS, PR_HIGH };


/* ---- listings --------------------------------------------------------- */

/* the states a listing may ask for come from the library's tables:
 * spool_request_state_at, spool_job_state_at */
static int
state_ok(const char *(*state_at)(size_t), const char *s)
{
	size_t k;

	for (k = 0; state_at(k) != NULL; k++)
		if (strcmp(state_at(k), s) == 0)
			return 1;
	return 0;
}

struct list_opts {
	const char *state;
	size_t limit;
};

static int
list_args(struct ctl *c, const char *(*state_at)(size_t),
    struct list_opts *o)
{
	const char *v;
	char *end;

	o->state = NULL;
	o->limit = LIST_LIMIT_DEFAULT;
	if (c->argc != 0)
		return ctl_usage(c, "unexpected operand");
	if ((v = c->opt[OPT_STATE]) != NULL && state_at != NULL) {
		if (!state_ok(state_at, v)) {
			char msg[400];
			size_t k, n;

			n = (size_t)snprintf(msg, sizeof(msg),
			    "unknown state '%.64s'; one of:", v);
			for (k = 0; state_at(k) && n < sizeof(msg); k++)
				n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				    " %s", state_at(k));
			sanitize(msg);
			return ctl_fail(c, SPOOL_ERR_USAGE, msg);
		}
		o->state = v;
	}
	if ((v = c->opt[OPT_LIMIT]) != NULL) {
		unsigned long n = strtoul(v, &end, 10);

		if (*v < '0' || *v > '9' || *end != '\0' || n < 1 ||
		    n > LIST_LIMIT_MAX)
			return ctl_fail(c, SPOOL_ERR_USAGE, "--limit: give a "
			    "number from 1 to 100000");
		o->limit = n;
	}
	return EXIT_OK;
}

/* Print a finished listing table (or say memory ran out), free it. */
static int
table_end(const struct ctl *c, struct table *t)
{
	int status = EXIT_OK;

	if (t->nomem)
		status = out_nomem(c);
	else
		table_print(t, "", 1);
	table_free(t);
	return status;
}

static int
print_requests(const struct ctl *c, struct rows *r, const char *state)
{
	struct table t;
	char tm[32];
	size_t i;

	if (r->n == 0) {
		if (state != NULL)
			printf("no requests in state '%s'\n", state);
		else
			printf("no requests\n");
		return EXIT_OK;
	}
	table_init(&t, 9, 0);
	table_row(&t, (const char *[]){ "ID", "SIDE", "PEER", "TYPE", "STATE",
	    "FOLDER", "USER", "UPDATED", "NAME" });
	for (i = 0; i < r->n; i++)
		table_row(&t, (const char *[]){ CELL(r, i, RQ_ID),
		    CELL(r, i, RQ_SIDE), CELL(r, i, RQ_PEER),
		    CELL(r, i, RQ_TYPE), CELL(r, i, RQ_STATE),
		    CELL(r, i, RQ_FOLDER), CELL(r, i, RQ_USER),
		    cell_time(tm, CELL(r, i, RQ_UPDATED)),
		    CELL(r, i, RQ_NAME) });
	return table_end(c, &t);
}

/* requests and jobs: the same command over two tables. */
struct listing {
	const char *(*state_at)(size_t); /* NULL: no --state */
	int (*list)(struct spool_store *, const char *, size_t,
	    int (*)(void *, const struct spool_store_row *), void *,
	    spool_err *);
	const char *key;                 /* --json: {"key": [...]} */
	const struct col *cols;
	size_t ncols;
	int (*print)(const struct ctl *, struct rows *, const char *);
};

static int
list_cmd(struct ctl *c, const struct listing *l)
{
	struct spool_store *st = NULL;
	struct rows rows = { 0, 0, 0, NULL };
	struct list_opts o;
	spool_err err;
	int status;

	if ((status = list_args(c, l->state_at, &o)) != EXIT_OK ||
	    (status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	spool_err_clear(&err);
	if (l->list(st, o.state, o.limit, collect, &rows, &err) != SPOOL_OK)
		status = out_fail(c, &err);
	else if (c->json)
		status = print_rows_json(c, l->key, &rows, l->cols, l->ncols);
	else
		status = l->print(c, &rows, o.state);
	rows_free(&rows);
	spool_store_close(st);
	return status;
}

int
cmd_requests(struct ctl *c)
{
	static const struct listing l = { spool_request_state_at, spool_store_list_requests, "requests",
		request_cols, NCOLS(request_cols), print_requests };

	return list_cmd(c, &l);
}

static int
print_jobs(const struct ctl *c, struct rows *r, const char *state)
{
	struct table t;
	char tm[32], stage[32], tasks[48];
	size_t i;

	if (r->n == 0) {
		if (state != NULL)
			printf("no jobs in state '%s'\n", state);
		else
			printf("no jobs\n");
		return EXIT_OK;
	}
	table_init(&t, 8, 0);
	table_row(&t, (const char *[]){ "ID", "TYPE", "STATE", "STAGE",
	    "TASKS", "REQUEST", "UPDATED", "ERROR" });
	for (i = 0; i < r->n; i++) {
		snprintf(stage, sizeof(stage), "%" PRId64 "/%" PRId64,
		    cell_int(CELL(r, i, JB_STAGE)) + 1,
		    cell_int(CELL(r, i, JB_NSTAGES)));
		snprintf(tasks, sizeof(tasks), "%" PRId64 "/%" PRId64,
		    cell_int(CELL(r, i, JB_DONE)),
		    cell_int(CELL(r, i, JB_TASKS)));
		table_row(&t, (const char *[]){ CELL(r, i, JB_ID),
		    CELL(r, i, JB_TYPE), CELL(r, i, JB_STATE), stage, tasks,
		    CELL(r, i, JB_REQUEST),
		    cell_time(tm, CELL(r, i, JB_UPDATED)),
		    CELL(r, i, JB_ERROR) ? CELL(r, i, JB_ERROR) : "" });
	}
	return table_end(c, &t);
}

int
cmd_jobs(struct ctl *c)
{
	static const struct listing l = { spool_job_state_at, spool_store_list_jobs, "jobs", job_cols,
		NCOLS(job_cols), print_jobs };

	return list_cmd(c, &l);
}

/* ---- batches and gaps ------------------------------------------------- */

struct peer_gaps {
	uint64_t *missing;
	size_t n;
	int more;
};

static void
batch_table(struct table *t, struct rows *r, const char *dir)
{
	char tm[32];
	size_t i;
	int in = strcmp(dir, "in") == 0;

	table_init(t, in ? 9 : 8, (1u << 1) | (1u << 3) | (1u << 4));
	table_row(t, (const char *[]){ "PEER", "SEQ", "STATE", "ITEMS",
	    "BYTES", "UPDATED", "ID", "NAME", "REASON" });
	for (i = 0; i < r->n; i++) {
		if (strcmp(CELL(r, i, BA_DIR), dir) != 0)
			continue;
		table_row(t, (const char *[]){
		    CELL(r, i, BA_PEER)[0] ? CELL(r, i, BA_PEER) : "?",
		    CELL(r, i, BA_SEQ), CELL(r, i, BA_STATE),
		    CELL(r, i, BA_ITEMS), CELL(r, i, BA_BYTES),
		    cell_time(tm, CELL(r, i, BA_UPDATED)), CELL(r, i, BA_ID),
		    CELL(r, i, BA_NAME),
		    CELL(r, i, BA_REASON) ? CELL(r, i, BA_REASON) : "" });
	}
}

static int
print_batches(const struct ctl *c, struct rows *r, struct rows *peers,
    const struct peer_gaps *g)
{
	struct table t;
	size_t i, k;
	int status = EXIT_OK;
	const char *dirs[2] = { "out", "in" };
	const char *titles[2] = { "sent", "received" };

	for (k = 0; k < 2 && status == EXIT_OK; k++) {
		batch_table(&t, r, dirs[k]);
		printf("%s:\n", titles[k]);
		if (t.nomem)
			status = out_nomem(c);
		else if (t.n == 1)
			printf("  none\n");
		else
			table_print(&t, "  ", 1);
		table_free(&t);
	}
	if (status != EXIT_OK)
		return status;
	printf("gaps:\n");
	if (peers->n == 0)
		printf("  no peers yet\n");
	for (i = 0; i < peers->n; i++) {
		printf("  ");
		if (g[i].n == 0) {
			printf("nothing missing from ");
			out_put(CELL(peers, i, PR_NAME));
			putchar('\n');
			continue;
		}
		printf("missing from ");
		out_put(CELL(peers, i, PR_NAME));
		printf(":");
		for (k = 0; k < g[i].n; k++)
			printf("%s %" PRIu64, k ? "," : "", g[i].missing[k]);
		printf("%s\n", g[i].more ? ", and more" : "");
	}
	return EXIT_OK;
}

static int
json_batches(const struct ctl *c, struct rows *r, struct rows *peers,
    const struct peer_gaps *g)
{
	json_t *doc = json_object(), *jp = json_object(),
	    *jg = json_object(), *a = rows_json(r, batch_cols,
	    NCOLS(batch_cols));
	size_t i, k;
	int bad = doc == NULL || jp == NULL || jg == NULL || a == NULL;

	for (i = 0; !bad && i < peers->n; i++) {
		json_t *m = json_array(), *m2 = NULL, *p = NULL;

		for (k = 0; m != NULL && k < g[i].n; k++)
			if (json_array_append_new(m, json_integer(
			    (json_int_t)g[i].missing[k])) != 0)
				bad = 1;
		if (m != NULL && (m2 = json_deep_copy(m)) != NULL)
			p = json_pack("{s:o?, s:I, s:I, s:I, s:O, s:b}", "key_id",
			    out_jstr(CELL(peers, i, PR_KEY_ID)), "next_seq",
			    (json_int_t)cell_int(CELL(peers, i, PR_NEXT_SEQ)),
			    "received_contiguous",
			    (json_int_t)cell_int(CELL(peers, i, PR_CONTIGUOUS)),
			    "received_high",
			    (json_int_t)cell_int(CELL(peers, i, PR_HIGH)),
			    "missing", m, "missing_more", g[i].more);
		json_decref(m);
		/* set_new takes the value even when it fails (NULL: -1) */
		if (json_object_set_new(jp, CELL(peers, i, PR_NAME), p) != 0)
			bad = 1;
		if (json_object_set_new(jg, CELL(peers, i, PR_NAME), m2) != 0)
			bad = 1;
	}
	if (bad) {
		json_decref(a);
		json_decref(jp);
		json_decref(jg);
		json_decref(doc);
		return out_nomem(c);
	}
	/* each set_new takes its value, so all three run */
	if ((json_object_set_new(doc, "batches", a) |
	    json_object_set_new(doc, "peers", jp) |
	    json_object_set_new(doc, "gaps", jg)) != 0) {
		json_decref(doc);
		return out_nomem(c);
	}
	return ctl_print_json(doc);
}

int
cmd_batches(struct ctl *c)
{
	struct spool_store *st = NULL;
	struct rows rows = { 0, 0, 0, NULL }, peers = { 0, 0, 0, NULL };
	struct peer_gaps *g = NULL;
	struct list_opts o;
	spool_err err;
	size_t i;
	int status;

	if ((status = list_args(c, NULL, &o)) !=
	    EXIT_OK || (status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	spool_err_clear(&err);
	if (spool_store_list_batches(st, o.limit, collect, &rows, &err) !=
	    SPOOL_OK ||
	    spool_store_list_peers(st, collect, &peers, &err) != SPOOL_OK) {
		status = out_fail(c, &err);
		goto out;
	}
	if (peers.n > 0 && (g = calloc(peers.n, sizeof(*g))) == NULL) {
		status = out_nomem(c);
		goto out;
	}
	for (i = 0; i < peers.n; i++)
		if (spool_store_gaps(st, CELL(&peers, i, PR_NAME), &g[i].missing,
		    &g[i].n, GAPS_MAX, &g[i].more, &err) != SPOOL_OK) {
			status = out_fail(c, &err);
			goto out;
		}
	if (c->json)
		status = json_batches(c, &rows, &peers, g);
	else
		status = print_batches(c, &rows, &peers, g);
out:
	for (i = 0; g != NULL && i < peers.n; i++)
		free(g[i].missing);
	free(g);
	rows_free(&rows);
	rows_free(&peers);
	spool_store_close(st);
	return status;
}

/* ---- show ------------------------------------------------------------- */

static void
print_state_history(struct rows *h)
{
	struct table t;
	char tm[32];
	size_t i;

	printf("history:\n");
	table_init(&t, 3, 0);
	for (i = 0; i < h->n; i++)
		table_row(&t, (const char *[]){ cell_time(tm, CELL(h, i, 1)),
		    CELL(h, i, 0), CELL(h, i, 2) ? CELL(h, i, 2) : "" });
	if (h->n == 0)
		printf("  none\n");
	table_print(&t, "  ", 0);
	table_free(&t);
}

static void
print_task_history(struct rows *h, int with_task)
{
	struct table t;
	char tm[32], att[24];
	size_t i;

	printf("history:\n");
	table_init(&t, with_task ? 6 : 5, 0);
	for (i = 0; i < h->n; i++) {
		snprintf(att, sizeof(att), "attempt %s",
		    CELL(h, i, EV_ATTEMPT) ? CELL(h, i, EV_ATTEMPT) : "?");
		if (with_task)
			table_row(&t, (const char *[]){
			    cell_time(tm, CELL(h, i, EV_TIME)),
			    CELL(h, i, EV_EVENT), CELL(h, i, EV_TASK), att,
			    CELL(h, i, EV_WORKER),
			    CELL(h, i, EV_DETAIL) ? CELL(h, i, EV_DETAIL) : "" });
		else
			table_row(&t, (const char *[]){
			    cell_time(tm, CELL(h, i, EV_TIME)),
			    CELL(h, i, EV_EVENT), att, CELL(h, i, EV_WORKER),
			    CELL(h, i, EV_DETAIL) ? CELL(h, i, EV_DETAIL) : "" });
	}
	if (h->n == 0)
		printf("  none\n");
	table_print(&t, "  ", 0);
	table_free(&t);
}

/* A job's stages, each with its tasks in order. */
struct job_view {
	struct rows job, stages, tasks, history;
};

static void
job_view_free(struct job_view *v)
{
	rows_free(&v->job);
	rows_free(&v->stages);
	rows_free(&v->tasks);
	rows_free(&v->history);
}

static int
job_view_load(struct spool_store *st, const char *id, int history,
    struct job_view *v, spool_err *err)
{
	int r;

	memset(v, 0, sizeof(*v));
	if ((r = spool_store_get_row(st, "job", id, collect, &v->job, err)) !=
	    SPOOL_OK)
		return r;
	if ((r = gone(&v->job, "job", id, err)) != SPOOL_OK)
		return r;
	id = CELL(&v->job, 0, JB_ID);
	if ((r = spool_store_job_stages(st, id, collect, &v->stages, err)) !=
	    SPOOL_OK ||
	    (r = spool_store_job_tasks(st, id, collect, &v->tasks, err)) !=
	    SPOOL_OK)
		return r;
	if (history)
		r = spool_store_history(st, "job", id, collect, &v->history, err);
	return r;
}

static json_t *
job_view_json(struct job_view *v, int history)
{
	json_t *j = row_json(&v->job, 0, job_cols, NCOLS(job_cols));
	json_t *stages = json_array(), *s, *tasks, *t, *h;
	size_t i, k;
	int bad = j == NULL || stages == NULL;

	for (i = 0; !bad && i < v->stages.n; i++) {
		int64_t idx = cell_int(CELL(&v->stages, i, SG_IDX));

		s = row_json(&v->stages, i, stage_cols, NCOLS(stage_cols));
		tasks = json_array();
		for (k = 0; tasks != NULL && k < v->tasks.n; k++) {
			if (cell_int(CELL(&v->tasks, k, TK_STAGE)) != idx)
				continue;
			t = row_json(&v->tasks, k, task_cols, NCOLS(task_cols));
			if (t == NULL || json_array_append_new(tasks, t) != 0)
				bad = 1;
		}
		if (s == NULL || tasks == NULL ||
		    json_object_set_new(s, "tasks", tasks) != 0 ||
		    json_array_append_new(stages, s) != 0)
			bad = 1;
	}
	if (!bad && json_object_set_new(j, "stages", stages) != 0)
		bad = 1;
	stages = NULL;
	if (!bad && history) {
		h = rows_json(&v->history, task_history_cols,
		    NCOLS(task_history_cols));
		if (h == NULL || json_object_set_new(j, "history", h) != 0)
			bad = 1;
	}
	if (bad) {
		json_decref(j);
		json_decref(stages);
		return NULL;
	}
	return j;
}

/* ", 3 done, 1 running": the tasks of one stage by state */
static void
print_state_counts(struct rows *tk, int64_t stage)
{
	static const char *const states[] = { "done", "running", "queued",
	    "waiting", "failed", "cancelled", NULL };
	size_t i, k, n;

	for (i = 0; states[i] != NULL; i++) {
		for (k = 0, n = 0; k < tk->n; k++)
			if (cell_int(CELL(tk, k, TK_STAGE)) == stage &&
			    strcmp(CELL(tk, k, TK_STATE), states[i]) == 0)
				n++;
		if (n > 0)
			printf(", %zu %s", n, states[i]);
	}
}

/* "2 outputs" from a worker's result; another result as it is */
static void
task_outputs(const char *result, char *out, size_t n)
{
	json_t *r = result ? json_loads(result, 0, NULL) : NULL;
	size_t k = json_array_size(json_object_get(r, "outputs"));

	if (k > 0)
		snprintf(out, n, "%zu output%s", k, k == 1 ? "" : "s");
	else if (result != NULL)
		snprintf(out, n, "result:  %.*s", (int)(n > 20 ? n - 20 : 1),
		    result);
	else
		snprintf(out, n, "-");
	json_decref(r);
}

static void
job_view_print(struct job_view *v, int history)
{
	struct rows *j = &v->job;
	char buf[64];
	size_t i, k;

	printf("job %s\n", CELL(j, 0, JB_ID));
	field("type", CELL(j, 0, JB_TYPE));
	field("request", CELL(j, 0, JB_REQUEST));
	field("state", CELL(j, 0, JB_STATE));
	snprintf(buf, sizeof(buf), "%" PRId64 " of %" PRId64,
	    cell_int(CELL(j, 0, JB_STAGE)) + 1, cell_int(CELL(j, 0, JB_NSTAGES)));
	field("stage", buf);
	snprintf(buf, sizeof(buf), "%" PRId64 " of %" PRId64 " done",
	    cell_int(CELL(j, 0, JB_DONE)), cell_int(CELL(j, 0, JB_TASKS)));
	field("tasks", buf);
	field("priority", CELL(j, 0, JB_PRIORITY));
	snprintf(buf, sizeof(buf), "at most %s per task",
	    CELL(j, 0, JB_MAX_ATTEMPTS));
	field("attempts", buf);
	field_time("deadline", CELL(j, 0, JB_DEADLINE));
	if (CELL(j, 0, JB_ERROR) != NULL)
		field("error", CELL(j, 0, JB_ERROR));
	field_time("created", CELL(j, 0, JB_CREATED));
	field_time("updated", CELL(j, 0, JB_UPDATED));
	field_time("finished", CELL(j, 0, JB_FINISHED));
	for (i = 0; i < v->stages.n; i++) {
		int64_t idx = cell_int(CELL(&v->stages, i, SG_IDX));
		struct table t;

		printf("stage %" PRId64 " ", idx);
		out_put(CELL(&v->stages, i, SG_NAME));
		printf(": %s, %s of %s tasks done",
		    CELL(&v->stages, i, SG_STATE), CELL(&v->stages, i, SG_DONE),
		    CELL(&v->stages, i, SG_TOTAL));
		print_state_counts(&v->tasks, idx);
		printf("\n");
		table_init(&t, 6, 1u);
		for (k = 0; k < v->tasks.n; k++) {
			struct rows *tk = &v->tasks;
			const char *err = CELL(tk, k, TK_ERROR);
			char att[48], what[200];

			if (cell_int(CELL(tk, k, TK_STAGE)) != idx)
				continue;
			snprintf(att, sizeof(att), "attempt %s/%s",
			    CELL(tk, k, TK_ATTEMPT), CELL(tk, k, TK_MAX_ATTEMPTS));
			/* the last error of a task not done; else its outputs */
			if (err != NULL && strcmp(CELL(tk, k, TK_STATE), "done") != 0)
				snprintf(what, sizeof(what), "error: %.80s", err);
			else
				task_outputs(CELL(tk, k, TK_RESULT), what,
				    sizeof(what));
			table_row(&t, (const char *[]){ CELL(tk, k, TK_IDX),
			    CELL(tk, k, TK_ID), CELL(tk, k, TK_STATE), att,
			    CELL(tk, k, TK_LEASE_OWNER) ? CELL(tk, k,
			    TK_LEASE_OWNER) : "-", what });
		}
		table_print(&t, "  ", 0);
		table_free(&t);
	}
	if (history)
		print_task_history(&v->history, 1);
}

static const char *const show_kinds[] = { "request", "job", "task", "batch",
	NULL };

/* An id as lineage prints it (KIND:ID) is the id, of that kind only. */
static const char *
strip_kind(const char *id, const char *const *kinds, const char **kind)
{
	size_t k, n;

	*kind = NULL;
	for (k = 0; kinds[k]; k++) {
		n = strlen(kinds[k]);
		if (strncmp(id, kinds[k], n) == 0 && id[n] == ':') {
			*kind = kinds[k];
			return id + n + 1;
		}
	}
	return id;
}

/* Which kind an id names (only: look for that kind alone), or why
 * not; -1 (nothing said) when nothing has that id and quiet. */
static int
find_kind(const struct ctl *c, struct spool_store *st, const char *id,
    const char *only, const char **kind, int quiet)
{
	const char *found[4];
	spool_err err;
	size_t k, n = 0;
	int r;

	for (k = 0; show_kinds[k]; k++) {
		if (only != NULL && strcmp(only, show_kinds[k]) != 0)
			continue;
		spool_err_clear(&err);
		r = spool_store_get_row(st, show_kinds[k], id, NULL, NULL, &err);
		if (r == SPOOL_OK)
			found[n++] = show_kinds[k];
		else if (r != SPOOL_ERR_NOTFOUND)
			return out_fail(c, &err);
	}
	if (n == 0 && quiet)
		return -1;
	if (n == 0) {
		char msg[160];
		if (only != NULL)
			snprintf(msg, sizeof(msg), "no %s '%.64s'", only, id);
		else
			snprintf(msg, sizeof(msg), "no request, job, task or "
			    "batch '%.64s'", id);
		sanitize(msg);
		return ctl_fail(c, SPOOL_ERR_NOTFOUND, msg);
	}
	if (n > 1) {
		char msg[200];
		snprintf(msg, sizeof(msg), "'%.64s' names a %s and a %s; give "
		    "more of the id", id, found[0], found[1]);
		sanitize(msg);
		return ctl_fail(c, SPOOL_ERR_USAGE, msg);
	}
	*kind = found[0];
	return EXIT_OK;
}

static int
show_request(struct ctl *c, struct spool_store *st, const char *id)
{
	struct rows req = { 0, 0, 0, NULL }, hist = { 0, 0, 0, NULL };
	struct job_view v;
	char job[SPOOL_ID_MAX] = "";
	json_t *doc = NULL, *j;
	spool_err err;
	int r, status = EXIT_OK;

	memset(&v, 0, sizeof(v));
	spool_err_clear(&err);
	if ((r = spool_store_get_row(st, "request", id, collect, &req,
	    &err)) != SPOOL_OK ||
	    (r = gone(&req, "request", id, &err)) != SPOOL_OK ||
	    (r = spool_store_history(st, "request", CELL(&req, 0, RQ_ID),
	    collect, &hist, &err)) != SPOOL_OK)
		goto out;
	/* a job when this node processes it */
	r = spool_job_resolve(st, CELL(&req, 0, RQ_ID), job, &err);
	if (r == SPOOL_ERR_NOTFOUND) {
		job[0] = '\0';
		r = SPOOL_OK;
	} else if (r == SPOOL_OK)
		r = job_view_load(st, job, 0, &v, &err);
	if (r != SPOOL_OK)
		goto out;
	if (c->json) {
		doc = json_pack("{s:s, s:o?, s:o?, s:o?}", "kind", "request",
		    "request", row_json(&req, 0, request_cols,
		    NCOLS(request_cols)), "history", rows_json(&hist,
		    state_history_cols, NCOLS(state_history_cols)), "job",
		    job[0] ? job_view_json(&v, 0) : json_null());
		if (doc == NULL ||
		    (j = json_object_get(doc, "request")) == NULL ||
		    json_is_null(j) ||
		    json_is_null(json_object_get(doc, "history")) ||
		    (job[0] && json_is_null(json_object_get(doc, "job")))) {
			status = out_nomem(c);
			goto out;
		}
		status = ctl_print_json(doc);
		doc = NULL;
		goto out;
	}
	printf("request %s\n", CELL(&req, 0, RQ_ID));
	field("side", CELL(&req, 0, RQ_SIDE));
	field("type", CELL(&req, 0, RQ_TYPE));
	field("state", CELL(&req, 0, RQ_STATE));
	field("name", CELL(&req, 0, RQ_NAME));
	field("folder", CELL(&req, 0, RQ_FOLDER));
	field("user", CELL(&req, 0, RQ_USER));
	field(strcmp(CELL(&req, 0, RQ_SIDE), "submit") == 0 ? "to" : "from",
	    CELL(&req, 0, RQ_PEER));
	field("priority", CELL(&req, 0, RQ_PRIORITY));
	field_time("deadline", CELL(&req, 0, RQ_DEADLINE));
	field("size", CELL(&req, 0, RQ_SIZE));
	field("hash", CELL(&req, 0, RQ_HASH));
	if (CELL(&req, 0, RQ_ERROR) != NULL)
		field("error", CELL(&req, 0, RQ_ERROR));
	field_time("created", CELL(&req, 0, RQ_CREATED));
	field_time("updated", CELL(&req, 0, RQ_UPDATED));
	field("job", job[0] ? job : "none on this node");
	print_state_history(&hist);
	if (job[0]) {
		putchar('\n');
		job_view_print(&v, 0);
	}
out:
	if (r != SPOOL_OK)
		status = out_fail(c, &err);
	json_decref(doc);
	job_view_free(&v);
	rows_free(&req);
	rows_free(&hist);
	return status;
}

static int
show_job(struct ctl *c, struct spool_store *st, const char *id)
{
	struct job_view v;
	json_t *j, *doc;
	spool_err err;
	int status;

	spool_err_clear(&err);
	if (job_view_load(st, id, 1, &v, &err) != SPOOL_OK)
		status = out_fail(c, &err);
	else if (c->json) {
		if ((j = job_view_json(&v, 1)) == NULL)
			status = out_nomem(c);
		else if ((doc = json_pack("{s:s, s:o}", "kind", "job", "job",
		    j)) == NULL)
			status = out_nomem(c);
		else
			status = ctl_print_json(doc);
	} else {
		job_view_print(&v, 1);
		status = EXIT_OK;
	}
	job_view_free(&v);
	return status;
}

static int
show_task(struct ctl *c, struct spool_store *st, const char *id)
{
	struct rows t = { 0, 0, 0, NULL }, h = { 0, 0, 0, NULL };
	json_t *doc, *jt, *jh;
	spool_err err;
	char buf[64];
	int status = EXIT_OK;

	spool_err_clear(&err);
	if (spool_store_get_row(st, "task", id, collect, &t, &err) !=
	    SPOOL_OK || gone(&t, "task", id, &err) != SPOOL_OK ||
	    spool_store_history(st, "task", CELL(&t, 0, TK_ID), collect, &h,
	    &err) != SPOOL_OK)
		status = out_fail(c, &err);
	else if (c->json) {
		jt = row_json(&t, 0, task_cols, NCOLS(task_cols));
		jh = rows_json(&h, task_history_cols, NCOLS(task_history_cols));
		if (jt == NULL || jh == NULL ||
		    json_object_set_new(jt, "history", jh) != 0 ||
		    (doc = json_pack("{s:s, s:o}", "kind", "task", "task",
		    jt)) == NULL) {
			json_decref(jt);
			status = out_nomem(c);
		} else
			status = ctl_print_json(doc);
	} else {
		printf("task %s\n", CELL(&t, 0, TK_ID));
		field("job", CELL(&t, 0, TK_JOB));
		snprintf(buf, sizeof(buf), "%s, task %s",
		    CELL(&t, 0, TK_STAGE), CELL(&t, 0, TK_IDX));
		field("stage", buf);
		field("type", CELL(&t, 0, TK_TYPE));
		field("state", CELL(&t, 0, TK_STATE));
		snprintf(buf, sizeof(buf), "%s of %s", CELL(&t, 0, TK_ATTEMPT),
		    CELL(&t, 0, TK_MAX_ATTEMPTS));
		field("attempt", buf);
		field("priority", CELL(&t, 0, TK_PRIORITY));
		field("worker", CELL(&t, 0, TK_LEASE_OWNER));
		field_time("lease", CELL(&t, 0, TK_LEASE_UNTIL));
		field("input", CELL(&t, 0, TK_INPUT));
		field("result", CELL(&t, 0, TK_RESULT));
		if (CELL(&t, 0, TK_ERROR) != NULL)
			field("error", CELL(&t, 0, TK_ERROR));
		field_time("created", CELL(&t, 0, TK_CREATED));
		field_time("run at", CELL(&t, 0, TK_RUN_AT));
		field_time("started", CELL(&t, 0, TK_STARTED));
		field_time("finished", CELL(&t, 0, TK_FINISHED));
		print_task_history(&h, 0);
	}
	rows_free(&t);
	rows_free(&h);
	return status;
}

/* What a batch carried, from the lineage: what was batched into it and
 * what was imported from it, with the names of the entities met. */
struct carried {
	struct rows refs;  /* ref (repeats possible) */
	struct rows names; /* ref name, of every named entity met */
	const char *batch;
};

static int
carried_edge(void *arg, const struct spool_lineage_edge *e)
{
	struct carried *k = arg;
	struct spool_store_row row = { 1, NULL };

	if (strcmp(e->to, k->batch) == 0)
		row.col = &e->from;
	else if (strcmp(e->from, k->batch) == 0)
		row.col = &e->to;
	else
		return SPOOL_OK;
	return collect(&k->refs, &row);
}

static int
carried_entity(void *arg, const struct spool_lineage_info *i)
{
	struct carried *k = arg;
	const char *v[2] = { i->ref, i->name };
	struct spool_store_row row = { 2, v };

	/* the walk reports entities before their edges: keep every named
	 * one, pick out the neighbours later */
	if (i->name == NULL)
		return SPOOL_OK;
	return collect(&k->names, &row);
}

static int
pair_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and unique the refs; find each one's name. */
static json_t *
carried_list(struct carried *k)
{
	json_t *a = json_array(), *o;
	char *key[2] = { NULL, NULL }, **hit;
	size_t i;

	/* (qsort and bsearch want a base even for no elements) */
	if (k->refs.n > 0)
		qsort(k->refs.cell, k->refs.n, sizeof(char *), pair_cmp);
	if (k->names.n > 0)
		qsort(k->names.cell, k->names.n, 2 * sizeof(char *), pair_cmp);
	for (i = 0; a != NULL && i < k->refs.n; i++) {
		if (i > 0 && strcmp(k->refs.cell[i - 1], k->refs.cell[i]) == 0)
			continue;
		key[0] = k->refs.cell[i];
		hit = k->names.n == 0 ? NULL : bsearch(key, k->names.cell,
		    k->names.n, 2 * sizeof(char *), pair_cmp);
		o = json_pack("{s:s, s:o?}", "ref", k->refs.cell[i], "name",
		    out_jstr(hit ? hit[1] : NULL));
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int
show_batch(struct ctl *c, struct spool_store *st, const char *id)
{
	struct rows b = { 0, 0, 0, NULL }, h = { 0, 0, 0, NULL };
	struct carried k;
	char ref[SPOOL_REF_MAX];
	json_t *doc, *jb, *jh, *jc = NULL, *o;
	spool_err err;
	size_t i;
	int r, status = EXIT_OK;

	memset(&k, 0, sizeof(k));
	spool_err_clear(&err);
	if ((r = spool_store_get_row(st, "batch", id, collect, &b, &err)) ==
	    SPOOL_OK && (r = gone(&b, "batch", id, &err)) == SPOOL_OK)
		r = spool_store_history(st, "batch", CELL(&b, 0, BA_ID), collect,
		    &h, &err);
	if (r == SPOOL_OK) {
		/* lineage names a batch by its signed id */
		snprintf(ref, sizeof(ref), "batch:%s", CELL(&b, 0, BA_BATCH_ID) ?
		    CELL(&b, 0, BA_BATCH_ID) : CELL(&b, 0, BA_ID));
		k.batch = ref;
		r = spool_lineage_walk(st, ref, SPOOL_LINEAGE_UP, carried_edge,
		    carried_entity, &k, &err);
		if (r == SPOOL_OK)
			r = spool_lineage_walk(st, ref, SPOOL_LINEAGE_DOWN,
			    carried_edge, carried_entity, &k, &err);
	}
	if (r != SPOOL_OK) {
		status = out_fail(c, &err);
		goto out;
	}
	if ((jc = carried_list(&k)) == NULL) {
		status = out_nomem(c);
		goto out;
	}
	if (c->json) {
		jb = row_json(&b, 0, batch_cols, NCOLS(batch_cols));
		jh = rows_json(&h, state_history_cols,
		    NCOLS(state_history_cols));
		if (jb == NULL || jh == NULL ||
		    json_object_set_new(jb, "history", jh) != 0 ||
		    json_object_set_new(jb, "carried", jc) != 0 ||
		    (doc = json_pack("{s:s, s:o}", "kind", "batch", "batch",
		    jb)) == NULL) {
			json_decref(jb);
			status = out_nomem(c);
		} else
			status = ctl_print_json(doc);
		jc = NULL;
		goto out;
	}
	printf("batch %s\n", CELL(&b, 0, BA_ID));
	if (CELL(&b, 0, BA_BATCH_ID) != NULL &&
	    strcmp(CELL(&b, 0, BA_BATCH_ID), CELL(&b, 0, BA_ID)) != 0)
		field("signed id", CELL(&b, 0, BA_BATCH_ID));
	field("direction", strcmp(CELL(&b, 0, BA_DIR), "out") == 0 ? "sent" :
	    "received");
	field(strcmp(CELL(&b, 0, BA_DIR), "out") == 0 ? "to" : "from",
	    CELL(&b, 0, BA_PEER));
	field("seq", CELL(&b, 0, BA_SEQ));
	field("state", CELL(&b, 0, BA_STATE));
	field("name", CELL(&b, 0, BA_NAME));
	field("items", CELL(&b, 0, BA_ITEMS));
	field("bytes", CELL(&b, 0, BA_BYTES));
	field("tar", CELL(&b, 0, BA_TAR));
	if (CELL(&b, 0, BA_REASON) != NULL)
		field("reason", CELL(&b, 0, BA_REASON));
	field_time("created", CELL(&b, 0, BA_CREATED));
	field_time("updated", CELL(&b, 0, BA_UPDATED));
	print_state_history(&h);
	printf("carried:\n");
	if (json_array_size(jc) == 0)
		printf("  nothing recorded in the lineage\n");
	json_array_foreach(jc, i, o) {
		printf("  %s", json_string_value(json_object_get(o, "ref")));
		if (json_is_string(json_object_get(o, "name"))) {
			printf("  \"");
			out_put(json_string_value(json_object_get(o, "name")));
			putchar('"');
		}
		putchar('\n');
	}
out:
	json_decref(jc);
	rows_free(&b);
	rows_free(&h);
	rows_free(&k.refs);
	rows_free(&k.names);
	return status;
}

/* The requests a lineage ref leads to (a file: the requests made of it
 * or that delivered it; an output: its request), walking both ways. */
struct req_refs {
	char v[8][SPOOL_REF_MAX];
	size_t n;
};

static int
req_edge(void *arg, const struct spool_lineage_edge *e)
{
	struct req_refs *q = arg;
	const char *refs[2] = { e->from, e->to };
	size_t i, k;

	for (k = 0; k < 2; k++) {
		if (strncmp(refs[k], "request:", 8) != 0)
			continue;
		for (i = 0; i < q->n; i++)
			if (strcmp(q->v[i], refs[k]) == 0)
				break;
		if (i == q->n && q->n < 8)
			snprintf(q->v[q->n++], SPOOL_REF_MAX, "%s", refs[k]);
	}
	return 0;
}

/* What show shows for a lineage ref: its kind and id (in ref). */
static int
show_ref(struct ctl *c, struct spool_store *st, char *ref, const char **kind,
    const char **id)
{
	struct req_refs q;
	spool_err err;
	size_t k, i;

	for (k = 0; show_kinds[k]; k++)
		if (strncmp(ref, show_kinds[k], strlen(show_kinds[k])) == 0 &&
		    ref[strlen(show_kinds[k])] == ':') {
			*kind = show_kinds[k];
			*id = ref + strlen(show_kinds[k]) + 1;
			return EXIT_OK;
		}
	memset(&q, 0, sizeof(q));
	spool_err_clear(&err);
	if (spool_lineage_walk(st, ref, SPOOL_LINEAGE_UP, req_edge, NULL, &q,
	    &err) != SPOOL_OK ||
	    (q.n == 0 && spool_lineage_walk(st, ref, SPOOL_LINEAGE_DOWN,
	    req_edge, NULL, &q, &err) != SPOOL_OK))
		return out_fail(c, &err);
	if (q.n == 1) {
		snprintf(ref, SPOOL_REF_MAX, "%s", q.v[0]);
		*kind = "request";
		*id = ref + 8;
		return EXIT_OK;
	}
	if (q.n == 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%.80s is in the lineage, but no "
		    "request here is made of it (spoolctl lineage %.80s)", ref,
		    ref);
		return ctl_fail(c, SPOOL_ERR_NOTFOUND, msg);
	}
	ctl_fail(c, SPOOL_ERR_USAGE, "it leads to more than one request; "
	    "give the id of one");
	fprintf(stderr, "spoolctl: %s: candidates:\n", c->cmd);
	for (i = 0; i < q.n; i++)
		fprintf(stderr, "  %s\n", q.v[i]);
	return EXIT_USAGE;
}

int
cmd_show(struct ctl *c)
{
	struct spool_store *st = NULL;
	const char *kind = NULL, *only, *id;
	char ref[SPOOL_REF_MAX];
	int status;

	if (c->argc != 1)
		return ctl_usage(c, NULL);
	id = strip_kind(c->argv[0], show_kinds, &only);
	if ((status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	/* an id-shaped argument that names nothing is said so as an id */
	status = find_kind(c, st, id, only, &kind, only == NULL &&
	    !(strlen(id) >= 8 && strspn(id, "0123456789abcdef-") ==
	    strlen(id)));
	if (status < 0) {
		/* not an id: a name or path the operator has (a dropped
		 * file's name, a batch's file name, a delivered file) */
		if ((status = ctl_resolve(c, st, c->argv[0], ref)) == EXIT_OK)
			status = show_ref(c, st, ref, &kind, &id);
	}
	if (status == EXIT_OK) {
		if (strcmp(kind, "request") == 0)
			status = show_request(c, st, id);
		else if (strcmp(kind, "job") == 0)
			status = show_job(c, st, id);
		else if (strcmp(kind, "task") == 0)
			status = show_task(c, st, id);
		else
			status = show_batch(c, st, id);
	}
	spool_store_close(st);
	return status;
}

/* ---- retry and cancel ------------------------------------------------- */

static int
job_action(struct ctl *c, int cancel)
{
	struct spool_store *st = NULL;
	struct rows job = { 0, 0, 0, NULL };
	const char *id, *reason = c->opt[OPT_REASON], *kind;
	char jid[SPOOL_ID_MAX];
	spool_err err;
	int r, status;

	if (c->argc != 1)
		return ctl_usage(c, NULL);
	id = c->argv[0];
	id = strip_kind(id, show_kinds, &kind);
	if ((status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	spool_err_clear(&err);
	if ((r = spool_job_resolve(st, id, jid, &err)) == SPOOL_OK) {
		r = cancel ? spool_job_cancel(st, jid, reason, &err) :
		    spool_job_retry(st, jid, &err);
		/* retry says what it takes; cancel says less */
		if (r == SPOOL_ERR_STATE && cancel) {
			char msg[SPOOL_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%.400s: only a running job "
			    "can be cancelled", err.msg);
			snprintf(err.msg, sizeof(err.msg), "%s", msg);
		}
	}
	if (r == SPOOL_OK)
		r = spool_store_get_row(st, "job", jid, collect, &job, &err);
	if (r != SPOOL_OK)
		status = out_fail(c, &err);
	else if (c->json) {
		json_t *doc = json_pack("{s:o?}", "job", row_json(&job, 0,
		    job_cols, NCOLS(job_cols)));
		if (doc == NULL || json_is_null(json_object_get(doc, "job"))) {
			json_decref(doc);
			status = out_nomem(c);
		} else
			status = ctl_print_json(doc);
	}
	else
		printf("job %s: %s\n", jid, CELL(&job, 0, JB_STATE));
	rows_free(&job);
	spool_store_close(st);
	return status;
}

int
cmd_retry(struct ctl *c)
{
	return job_action(c, 0);
}

int
cmd_cancel(struct ctl *c)
{
	return job_action(c, 1);
}

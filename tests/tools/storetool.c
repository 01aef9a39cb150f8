/*
 * storetool.c - drive the job engine from outside, for tests and make
 * bench: seed jobs, work them off, check that every task ran exactly once,
 * and time it against the plain SQL loop an operator would write instead.
 *
 *   storetool seed URL N [--per K] [--attempts A]
 *   storetool work URL --worker NAME [--batch K] [--lease MS] [--idle MS]
 *                  [--backoff MS]
 *   storetool check URL N
 *   storetool bench URL --workers W --tasks N [--batch K] [--per K]
 *   storetool baseline URL --workers W --tasks N
 *
 * seed, work and bench use only the public store API (store.h).  check
 * and baseline talk to SQLite or PostgreSQL directly: check so that it
 * does not trust the engine it judges, baseline because it is the loop
 * without the engine.
 *
 * A seeded job has three stages: K tasks, then one planner task, then the
 * K tasks the planner asks for (spool_task_done.next), so stage barriers
 * and planning run under concurrency like the real work will.  The first
 * stage's task 0 plans the planner.  Inputs say what to plan:
 * "plan A B" plans A tasks of input "plan B 0" ("leaf" when B is 0).
 *
 * It must never report success for a store it did not check.
 *
 * Over 800 lines: a test tool whose subcommands share one store
 * harness.
 */
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "spool/spool.h"

#define PLAN_MAX 10000   /* tasks one planner may ask for */
#define BATCH_MAX 1000

static const char *prog = "storetool";

static void
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A decimal number in [min, max], or -1 after saying why. */
static int64_t
number(const char *what, const char *s, int64_t min, int64_t max)
{
	char *end;
	long long v;

	errno = 0;
	v = s ? strtoll(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 || v < min ||
	    v > max) {
		say("%s must be a number from %" PRId64 " to %" PRId64
		    ", not '%s'", what, min, max, s ? s : "");
		return -1;
	}
	return (int64_t)v;
}

struct opts {
	const char *url;
	const char *worker;
	int64_t n;          /* tasks */
	int64_t per;        /* K: first-stage tasks per job */
	int64_t attempts;
	int64_t batch;
	int64_t lease;
	int64_t idle;
	int64_t backoff;    /* 0: the engine's default */
	int64_t workers;
	int64_t fused;      /* 1: complete and claim in one transaction */
};

/* --name VALUE options after the positional arguments; 0 or -1. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *name;
		size_t off;
		int64_t min, max;
	} tab[] = {
		{ "--per", offsetof(struct opts, per), 1, PLAN_MAX },
		{ "--attempts", offsetof(struct opts, attempts), 1, 1000 },
		{ "--batch", offsetof(struct opts, batch), 1, BATCH_MAX },
		{ "--lease", offsetof(struct opts, lease), 1, 3600000 },
		{ "--idle", offsetof(struct opts, idle), 0, 10000 },
		{ "--backoff", offsetof(struct opts, backoff), 0, 3600000 },
		{ "--workers", offsetof(struct opts, workers), 1, 256 },
		{ "--tasks", offsetof(struct opts, n), 1, 100000000 },
		{ "--fused", offsetof(struct opts, fused), 0, 1 },
	};
	int i;
	size_t k;

	for (i = 0; i < argc; i++) {
		if (i + 1 >= argc) {
			say("'%s' wants a value", argv[i]);
			return -1;
		}
		if (strcmp(argv[i], "--worker") == 0) {
			o->worker = argv[++i];
			continue;
		}
		for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++)
			if (strcmp(argv[i], tab[k].name) == 0)
				break;
		if (k == sizeof(tab) / sizeof(tab[0])) {
			say("unknown option '%s'", argv[i]);
			return -1;
		}
		*(int64_t *)(void *)((char *)o + tab[k].off) =
		    number(tab[k].name, argv[i + 1], tab[k].min, tab[k].max);
		if (*(int64_t *)(void *)((char *)o + tab[k].off) < 0)
			return -1;
		i++;
	}
	return 0;
}

static int
open_store(struct spool_store **st, const char *url, const char *node)
{
	spool_err err;
	int r;

	spool_err_clear(&err);
	if ((r = spool_store_open(st, url, node, &err)) != SPOOL_OK)
		say("cannot open the store '%s': %s", url, err.msg);
	return r;
}

/* ---- seed ------------------------------------------------------------- */

/* One job: per > 0 is the three-stage shape (2 * per + 1 tasks); per < 0
 * is a one-stage job of -per tasks. */
static int
seed_job(struct spool_store *st, int64_t per, int attempts)
{
	static const char *const names[] = { "split", "plan", "work" };
	struct spool_task_spec *tasks = NULL;
	struct spool_job_spec s;
	char id[SPOOL_ID_MAX], plan[64];
	size_t n = (size_t)(per > 0 ? per : -per), i;
	spool_err err;
	int r;

	spool_err_clear(&err);
	if ((tasks = calloc(n, sizeof(*tasks))) == NULL) {
		say("out of memory");
		r = SPOOL_ERR_NOMEM;
		goto out;
	}
	snprintf(plan, sizeof(plan), "plan 1 %" PRId64, per);
	for (i = 0; i < n; i++)
		tasks[i].input = per > 0 && i == 0 ? plan : "leaf";
	memset(&s, 0, sizeof(s));
	s.type = "bench";
	s.max_attempts = attempts;
	s.nstages = per > 0 ? 3 : 1;
	s.stage_names = names;
	s.tasks = tasks;
	s.ntasks = n;
	do
		r = spool_job_create(st, &s, id, &err);
	while (r == SPOOL_ERR_BUSY);
	if (r != SPOOL_OK)
		say("cannot create a job: %s", err.msg);
out:
	free(tasks);
	return r;
}

/* Jobs of 2 * per + 1 tasks, and one one-stage job for what is left:
 * n tasks in all. */
static int
seed(struct spool_store *st, int64_t n, int64_t per, int attempts,
    int64_t *jobs)
{
	int64_t left = n, made = 0;
	int r = SPOOL_OK;

	while (left >= 2 * per + 1 && r == SPOOL_OK) {
		if ((r = seed_job(st, per, attempts)) == SPOOL_OK) {
			left -= 2 * per + 1;
			made++;
		}
	}
	if (r == SPOOL_OK && left > 0 && (r = seed_job(st, -left,
	    attempts)) == SPOOL_OK)
		made++;
	if (r == SPOOL_OK)
		*jobs = made;
	return r;
}

static int
cmd_seed(struct opts *o)
{
	struct spool_store *st = NULL;
	int64_t jobs = 0;
	int rc = 1;

	if (open_store(&st, o->url, "storetool") != SPOOL_OK)
		goto out;
	if (seed(st, o->n, o->per, (int)o->attempts, &jobs) != SPOOL_OK)
		goto out;
	printf("seeded %" PRId64 " jobs, %" PRId64 " tasks: %" PRId64
	    " jobs of %" PRId64 " + 1 planner + %" PRId64 " tasks", jobs, o->n,
	    o->n / (2 * o->per + 1), o->per, o->per);
	if (o->n % (2 * o->per + 1) != 0)
		printf(", 1 one-stage job of %" PRId64, o->n % (2 * o->per + 1));
	printf("\n");
	rc = 0;
out:
	spool_store_close(st);
	return rc;
}

/* ---- work ------------------------------------------------------------- */

struct work_stats {
	uint64_t claims, claimed, completed, lost, busy, idle;
	double claim_s, complete_s; /* time in the calls */
};

static int
found_row(void *arg, const struct spool_store_row *row)
{
	(void)row;
	*(int *)arg = 1;
	return 0;
}

/* Is any job still running?  -1 on error. */
static int
any_running(struct spool_store *st)
{
	spool_err err;
	int found = 0, r;

	spool_err_clear(&err);
	do
		r = spool_store_list_jobs(st, "running", 1, found_row, &found,
		    &err);
	while (r == SPOOL_ERR_BUSY);
	if (r != SPOOL_OK) {
		say("cannot list jobs: %s", err.msg);
		return -1;
	}
	return found;
}

/* What the task's input asks it to plan; -1 if the input is not ours. */
static int
plan_of(const struct spool_task *t, int64_t *count, int64_t *then)
{
	long long a, b;
	char end;

	if (t->input != NULL && strcmp(t->input, "leaf") == 0) {
		*count = 0;
		*then = 0;
		return 0;
	}
	if (t->input == NULL || sscanf(t->input, "plan %lld %lld%c", &a, &b,
	    &end) != 2 || a < 0 || a > PLAN_MAX || b < 0 || b > PLAN_MAX)
		return -1;
	*count = a;
	*then = b;
	return 0;
}

struct worker {
	struct spool_store *st;
	const struct opts *o;
	struct spool_task *tasks;
	struct spool_task *claimed;     /* --fused: the next tasks */
	struct spool_task_done *done;
	struct spool_task_spec **next;  /* per slot, PLAN_MAX each, lazily */
	char (*result)[SPOOL_ID_MAX + 2];
	char (*input)[64];
	struct work_stats s;
};

static void
worker_release(struct worker *w)
{
	int64_t i;

	if (w->next != NULL)
		for (i = 0; i < w->o->batch; i++)
			free(w->next[i]);
	free(w->next);
	free(w->tasks);
	free(w->claimed);
	free(w->done);
	free(w->result);
	free(w->input);
	spool_store_close(w->st);
}

/* Fill done[i] for tasks[i]: result "r:ID", and what it plans. */
static int
finish_task(struct worker *w, size_t i)
{
	const struct spool_task *t = &w->tasks[i];
	struct spool_task_done *d = &w->done[i];
	int64_t count, then, k;

	if (plan_of(t, &count, &then) != 0 || t->attempt < 1 ||
	    t->attempt > t->max_attempts) {
		say("task %s: unexpected input '%s' or attempt %d of %d",
		    t->id, t->input ? t->input : "(null)", t->attempt,
		    t->max_attempts);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	snprintf(w->result[i], sizeof(w->result[i]), "r:%s", t->id);
	d->task = t->id;
	d->result = w->result[i];
	if (count == 0)
		return 0;
	if (w->next[i] == NULL &&
	    (w->next[i] = calloc(PLAN_MAX, sizeof(*w->next[i]))) == NULL) {
		say("out of memory");
		return -1;
	}
	if (then > 0)
		snprintf(w->input[i], sizeof(w->input[i]), "plan %" PRId64 " 0",
		    then);
	else
		snprintf(w->input[i], sizeof(w->input[i]), "leaf");
	for (k = 0; k < count; k++) {
		w->next[i][k].type = NULL;
		w->next[i][k].input = w->input[i];
	}
	d->next = w->next[i];
	d->nnext = (size_t)count;
	return 0;
}

/* Count what spool_job_complete said of done[0..n); -1 on anything but
 * done or a lease lost. */
static int
count_done(struct worker *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w->done[i].status == SPOOL_OK)
			w->s.completed++;
		else if (w->done[i].status == SPOOL_ERR_LOST)
			w->s.lost++;
		else {
			say("worker %s: task %s: %s", w->o->worker,
			    w->done[i].task, spool_strerror(w->done[i].status));
			return -1;
		}
	}
	return 0;
}

/* --fused: the tasks just run are completed and the next ones claimed
 * in one transaction, one durable commit for both (a worker with work
 * waiting never commits a claim alone). */
struct fused {
	struct worker *w;
	size_t ndone, nclaimed;
};

static int
fused_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct fused *f = arg;
	struct worker *w = f->w;
	size_t i;
	int r;

	for (i = 0; i < f->nclaimed; i++) /* a rolled-back attempt's */
		spool_task_release(&w->claimed[i]);
	f->nclaimed = 0;
	if (f->ndone > 0 && (r = spool_job_complete(st, w->o->worker,
	    w->done, f->ndone, err)) != SPOOL_OK)
		return r;
	return spool_job_claim(st, w->o->worker, NULL, (size_t)w->o->batch,
	    w->o->lease, w->claimed, &f->nclaimed, err);
}

static int
work_fused(struct worker *w, spool_err *err)
{
	struct fused f = { w, 0, 0 };
	struct spool_task *t;
	size_t i;
	int r, running;

	for (;;) {
		double t0 = mono();

		r = spool_store_atomic(w->st, fused_tx, &f, err);
		w->s.complete_s += mono() - t0;
		if (r == SPOOL_ERR_BUSY) {
			w->s.busy++;
			continue;
		}
		if (r != SPOOL_OK) {
			say("worker %s: cannot complete and claim: %s",
			    w->o->worker, err->msg);
			return -1;
		}
		if (count_done(w, f.ndone) != 0)
			return -1;
		for (i = 0; i < f.ndone; i++)
			spool_task_release(&w->tasks[i]);
		f.ndone = 0;
		t = w->tasks; /* the claimed ones are the current ones now */
		w->tasks = w->claimed;
		w->claimed = t;
		if (f.nclaimed == 0) {
			if ((running = any_running(w->st)) < 0)
				return -1;
			if (!running)
				return 0;
			w->s.idle++;
			sleep_ms(w->o->idle);
			continue;
		}
		w->s.claims++;
		w->s.claimed += f.nclaimed;
		for (i = 0; i < f.nclaimed; i++)
			if (finish_task(w, i) != 0)
				return -1;
		f.ndone = f.nclaimed;
		f.nclaimed = 0;
	}
}

/* Claim, complete, until no job is running.  0 or -1. */
static int
work(const struct opts *o, struct work_stats *stats)
{
	struct worker w;
	spool_err err;
	size_t n, i;
	int r, rc = -1, running, ran;

	memset(&w, 0, sizeof(w));
	w.o = o;
	spool_err_clear(&err);
	if (open_store(&w.st, o->url, o->worker) != SPOOL_OK)
		goto out;
	if (o->backoff > 0)
		spool_job_set_backoff(w.st, o->backoff, o->backoff * 8);
	w.tasks = calloc((size_t)o->batch, sizeof(*w.tasks));
	w.claimed = calloc((size_t)o->batch, sizeof(*w.claimed));
	w.done = calloc((size_t)o->batch, sizeof(*w.done));
	w.next = calloc((size_t)o->batch, sizeof(*w.next));
	w.result = calloc((size_t)o->batch, sizeof(*w.result));
	w.input = calloc((size_t)o->batch, sizeof(*w.input));
	if (!w.tasks || !w.claimed || !w.done || !w.next || !w.result ||
	    !w.input) {
		say("out of memory");
		goto out;
	}
	if (o->fused) {
		rc = work_fused(&w, &err);
		goto out;
	}
	for (;;) {
		double t0 = mono();
		r = spool_job_claim(w.st, o->worker, NULL, (size_t)o->batch,
		    o->lease, w.tasks, &n, &err);
		w.s.claim_s += mono() - t0;
		if (r == SPOOL_ERR_BUSY) {
			w.s.busy++;
			continue;
		}
		if (r != SPOOL_OK) {
			say("worker %s: cannot claim: %s", o->worker, err.msg);
			goto out;
		}
		if (n == 0) {
			if ((running = any_running(w.st)) < 0)
				goto out;
			if (!running)
				break;
			w.s.idle++;
			sleep_ms(o->idle);
			continue;
		}
		w.s.claims++;
		w.s.claimed += n;
		for (i = 0; i < n; i++)
			if (finish_task(&w, i) != 0)
				break;
		ran = i == n;
		if (ran) {
			t0 = mono();
			while ((r = spool_job_complete(w.st, o->worker, w.done,
			    n, &err)) == SPOOL_ERR_BUSY)
				w.s.busy++;
			w.s.complete_s += mono() - t0;
			if (r != SPOOL_OK)
				say("worker %s: cannot complete %zu tasks: %s",
				    o->worker, n, err.msg);
			/* (done[].task points into tasks[]: counted first) */
			ran = r == SPOOL_OK && count_done(&w, n) == 0;
		}
		for (i = 0; i < n; i++)
			spool_task_release(&w.tasks[i]);
		if (!ran)
			goto out;
	}
	rc = 0;
out:
	*stats = w.s;
	worker_release(&w);
	return rc;
}

static int
cmd_work(struct opts *o)
{
	struct work_stats s;
	int rc;

	if (o->worker == NULL || *o->worker == '\0') {
		say("work wants --worker NAME");
		return 2;
	}
	rc = work(o, &s);
	printf("worker %s: %" PRIu64 " claims, %" PRIu64 " tasks claimed, %"
	    PRIu64 " completed, %" PRIu64 " leases lost, %" PRIu64 " busy, %"
	    PRIu64 " idle polls; %.3f ms per claim, %.3f ms per complete\n",
	    o->worker, s.claims, s.claimed, s.completed, s.lost, s.busy,
	    s.idle, s.claims ? s.claim_s * 1e3 / (double)s.claims : 0.0,
	    s.claims ? s.complete_s * 1e3 / (double)s.claims : 0.0);
	return rc == 0 ? 0 : 1;
}

/* ---- plain SQL, without the engine ------------------------------------ */

struct raw {
	sqlite3 *lite;
	PGconn *pg;
	unsigned rnd;
};

/* Sleep 50 us doubling to 2 ms, randomized (as the store's SQLite driver
 * does: SQLite's default handler sleeps far longer and would starve the
 * baseline), for at most a minute. */
static int
raw_busy(void *arg, int n)
{
	struct raw *db = arg;
	long us = 50L << (n < 6 ? n : 6);
	struct timespec ts;

	if (us > 2000)
		us = 2000;
	if ((int64_t)n * 2 > 60000)
		return 0;
	db->rnd = db->rnd * 1103515245u + 12345u;
	us = us / 2 + (long)((db->rnd >> 8) % (unsigned long)(us / 2 + 1));
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 1;
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int
raw_open(struct raw *db, const char *url)
{
	int rc = -1;

	memset(db, 0, sizeof(*db));
	db->rnd = (unsigned)getpid() ^ (unsigned)time(NULL);
	if (strncmp(url, "sqlite://", 9) == 0) {
		if (sqlite3_open_v2(url + 9, &db->lite, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
			say("cannot open '%s': %s", url + 9, db->lite ?
			    sqlite3_errmsg(db->lite) : "out of memory");
			goto out;
		}
		sqlite3_busy_handler(db->lite, raw_busy, db);
		if (sqlite3_exec(db->lite, "PRAGMA journal_mode=WAL; "
		    "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
			say("cannot set up '%s': %s", url + 9,
			    sqlite3_errmsg(db->lite));
			goto out;
		}
	} else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		db->pg = PQconnectdb(url);
		if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
			say("cannot connect to '%s': %s", url,
			    db->pg ? PQerrorMessage(db->pg) : "out of memory");
			goto out;
		}
		PQsetNoticeProcessor(db->pg, quiet, NULL);
	} else {
		say("'%s' is neither sqlite:// nor postgresql://", url);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		sqlite3_close(db->lite);
		PQfinish(db->pg);
		memset(db, 0, sizeof(*db));
	}
	return rc;
}

static void
raw_close(struct raw *db)
{
	sqlite3_close(db->lite);
	PQfinish(db->pg);
	memset(db, 0, sizeof(*db));
}

/* Statements without results (several for SQLite, one or more for
 * PostgreSQL's simple protocol). */
static int
raw_exec(struct raw *db, const char *sql)
{
	char *msg = NULL;
	PGresult *res;
	int rc = 0;

	if (db->lite != NULL) {
		if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
			say("sqlite: %s", msg ? msg : "error");
			rc = -1;
		}
		sqlite3_free(msg);
		return rc;
	}
	res = PQexec(db->pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		say("postgresql: %s", PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* The one integer a query returns; 0 or -1. */
static int
raw_int(struct raw *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	PGresult *res = NULL;
	int rc = -1;

	if (db->lite != NULL) {
		if (sqlite3_prepare_v2(db->lite, sql, -1, &s, NULL) !=
		    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
			say("sqlite: %s: %s", sqlite3_errmsg(db->lite), sql);
			goto out;
		}
		*out = sqlite3_column_int64(s, 0);
	} else {
		res = PQexec(db->pg, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			say("postgresql: %s: %s", PQresultErrorMessage(res),
			    sql);
			goto out;
		}
		*out = PQgetisnull(res, 0, 0) ? 0 :
		    strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	PQclear(res);
	return rc;
}

/* ---- check ------------------------------------------------------------ */

/* Each must count zero rows. */
static const struct {
	const char *what, *sql;
} violations[] = {
	{ "tasks not done", "SELECT count(*) FROM task WHERE state <> 'done'" },
	{ "tasks running", "SELECT count(*) FROM task WHERE state = 'running'" },
	{ "tasks queued or waiting", "SELECT count(*) FROM task WHERE "
	  "state IN ('queued', 'waiting')" },
	{ "jobs not succeeded", "SELECT count(*) FROM job WHERE state <> "
	  "'succeeded'" },
	{ "tasks never completed", "SELECT count(*) FROM task t WHERE NOT "
	  "EXISTS (SELECT 1 FROM task_event e WHERE e.task = t.id AND "
	  "e.event = 'completed')" },
	{ "tasks completed more than once", "SELECT count(*) FROM (SELECT "
	  "task FROM task_event WHERE event = 'completed' GROUP BY task "
	  "HAVING count(*) > 1) d" },
	{ "tasks whose result is not their own", "SELECT count(*) FROM task "
	  "WHERE result IS NULL OR result <> 'r:' || id" },
	{ "completions by a worker that did not hold the lease", "SELECT "
	  "count(*) FROM task t JOIN task_event e ON e.task = t.id AND "
	  "e.event = 'completed' WHERE e.worker IS NULL OR t.lease_owner IS "
	  "NULL OR e.worker <> t.lease_owner OR e.attempt <> t.attempt" },
	{ "tasks over their attempts", "SELECT count(*) FROM task WHERE "
	  "attempt > max_attempts" },
	{ "tasks done but never claimed", "SELECT count(*) FROM task WHERE "
	  "state = 'done' AND attempt < 1" },
	{ "stages not done or miscounted", "SELECT count(*) FROM stage WHERE "
	  "state <> 'done' OR done <> total" },
	{ "stages whose total is not their task count", "SELECT count(*) FROM "
	  "stage s WHERE total <> (SELECT count(*) FROM task t WHERE "
	  "t.job = s.job AND t.stage = s.idx)" },
	{ "tasks started before their previous stage finished", "SELECT "
	  "count(*) FROM task t JOIN task p ON p.job = t.job AND p.stage = "
	  "t.stage - 1 WHERE t.started < p.finished" },
	{ "planned stages not planned exactly once", "SELECT count(*) FROM "
	  "stage s JOIN job j ON j.id = s.job WHERE j.nstages = 3 AND "
	  "((s.idx = 1 AND s.total <> 1) OR (s.idx = 2 AND s.total <> "
	  "(SELECT total FROM stage z WHERE z.job = s.job AND z.idx = 0)))" },
};

static int
cmd_check(struct opts *o)
{
	struct raw db;
	int64_t tasks, jobs, completed, claims, lost, maxatt, v;
	size_t i;
	int rc = 2, bad = 0;

	if (raw_open(&db, o->url) != 0)
		return 2;
	if (raw_int(&db, "SELECT count(*) FROM task", &tasks) != 0 ||
	    raw_int(&db, "SELECT count(*) FROM job", &jobs) != 0 ||
	    raw_int(&db, "SELECT count(*) FROM task_event WHERE event = "
	    "'completed'", &completed) != 0 ||
	    raw_int(&db, "SELECT count(*) FROM task_event WHERE event = "
	    "'claimed'", &claims) != 0 ||
	    raw_int(&db, "SELECT count(*) FROM task_event WHERE event = "
	    "'lost'", &lost) != 0 ||
	    raw_int(&db, "SELECT max(attempt) FROM task", &maxatt) != 0)
		goto out;
	if (tasks != o->n) {
		printf("check: %" PRId64 " tasks, seeded %" PRId64 "\n", tasks,
		    o->n);
		bad++;
	}
	if (completed != tasks) {
		printf("check: %" PRId64 " completions for %" PRId64
		    " tasks\n", completed, tasks);
		bad++;
	}
	for (i = 0; i < sizeof(violations) / sizeof(violations[0]); i++) {
		if (raw_int(&db, violations[i].sql, &v) != 0)
			goto out;
		if (v != 0) {
			printf("check: %" PRId64 " %s\n", v, violations[i].what);
			bad++;
		}
	}
	printf("check: %s: %" PRId64 " jobs, %" PRId64 " tasks, %" PRId64
	    " completions, %" PRId64 " claims, %" PRId64 " leases lost and "
	    "requeued, highest attempt %" PRId64 "\n", bad ? "FAILED" : "ok",
	    jobs, tasks, completed, claims, lost, maxatt);
	rc = bad ? 1 : 0;
out:
	raw_close(&db);
	return rc;
}

/* ---- bench ------------------------------------------------------------ */

static const char *
backend_of(const char *url)
{
	return strncmp(url, "sqlite://", 9) == 0 ? "sqlite" : "postgresql";
}

/* Fork workers running fn(o, i); 0 if every one exited 0. */
static int
run_workers(const struct opts *o, int (*fn)(const struct opts *, int),
    double *secs)
{
	pid_t *pids;
	double t0;
	int64_t i, started = 0;
	int rc = 0, status;

	if ((pids = calloc((size_t)o->workers, sizeof(*pids))) == NULL) {
		say("out of memory");
		return -1;
	}
	fflush(NULL);
	t0 = mono();
	for (i = 0; i < o->workers; i++) {
		if ((pids[i] = fork()) < 0) {
			say("cannot fork: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (pids[i] == 0)
			_exit(fn(o, (int)i) == 0 ? 0 : 1);
		started++;
	}
	for (i = 0; i < started; i++) {
		pid_t got;
		status = 0;
		while ((got = waitpid(pids[i], &status, 0)) < 0 && errno == EINTR)
			;
		if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			say("worker %" PRId64 " failed (status %d)", i, status);
			rc = -1;
		}
	}
	*secs = mono() - t0;
	free(pids);
	return rc;
}

static int
bench_worker(const struct opts *o, int i)
{
	struct work_stats s;
	struct opts w = *o;
	char name[64];

	snprintf(name, sizeof(name), "bench-%d-%ld", i, (long)getpid());
	w.worker = name;
	return work(&w, &s);
}

static int
cmd_bench(struct opts *o)
{
	struct spool_store *st = NULL;
	spool_err err;
	uint64_t pruned = 0;
	int64_t jobs = 0;
	double secs;
	int rc = 1, running;

	spool_err_clear(&err);
	if (open_store(&st, o->url, "storetool") != SPOOL_OK)
		goto out;
	/* start from an empty queue: earlier runs' jobs go */
	if ((running = any_running(st)) != 0) {
		if (running > 0)
			say("the store has running jobs: bench wants an idle "
			    "one");
		goto out;
	}
	if (spool_job_prune(st, INT64_MAX, &pruned, &err) != SPOOL_OK) {
		say("cannot prune: %s", err.msg);
		goto out;
	}
	if (seed(st, o->n, o->per, (int)o->attempts, &jobs) != SPOOL_OK)
		goto out;
	spool_store_close(st); /* no connection crosses a fork */
	st = NULL;
	if (run_workers(o, bench_worker, &secs) != 0)
		goto out;
	printf("store %s: %" PRId64 " workers, batch %" PRId64 ", %" PRId64
	    " tasks in %" PRId64 " jobs, %.3f s: %.0f tasks/s\n",
	    backend_of(o->url), o->workers, o->batch, o->n, jobs, secs,
	    (double)o->n / secs);
	rc = cmd_check(o);
out:
	spool_store_close(st);
	return rc;
}

/* ---- baseline: the plain two-transaction loop ------------------------- */

#define BQ_CLAIM_LITE "UPDATE baseline_queue SET state = 'running', " \
	"owner = ?1 WHERE id = (SELECT id FROM baseline_queue WHERE " \
	"state = 'queued' ORDER BY id LIMIT 1) RETURNING id"
#define BQ_DONE_LITE "UPDATE baseline_queue SET state = 'done', " \
	"result = ?2 WHERE id = ?1 AND owner = ?3 AND state = 'running'"
#define BQ_CLAIM_PG "UPDATE baseline_queue SET state = 'running', " \
	"owner = $1 WHERE id = (SELECT id FROM baseline_queue WHERE " \
	"state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) " \
	"RETURNING id"
#define BQ_DONE_PG "UPDATE baseline_queue SET state = 'done', " \
	"result = $2 WHERE id = $1 AND owner = $3 AND state = 'running'"

/* One SQLite step in its own BEGIN IMMEDIATE transaction; *id gets the
 * claimed row (0: none). */
static int
lite_tx(struct raw *db, sqlite3_stmt *s, int64_t *id)
{
	int rc = -1, e;

	if ((e = sqlite3_exec(db->lite, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK)
		goto out;
	*id = 0;
	while ((e = sqlite3_step(s)) == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (e != SQLITE_DONE || (e = sqlite3_exec(db->lite, "COMMIT", NULL,
	    NULL, NULL)) != SQLITE_OK)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		say("sqlite: %s", sqlite3_errmsg(db->lite));
		if (!sqlite3_get_autocommit(db->lite))
			sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

static int
baseline_lite(struct raw *db, const char *name)
{
	sqlite3_stmt *claim = NULL, *done = NULL;
	char result[64];
	int64_t id, dummy;
	int rc = -1;

	if (sqlite3_prepare_v2(db->lite, BQ_CLAIM_LITE, -1, &claim, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db->lite, BQ_DONE_LITE, -1, &done,
	    NULL) != SQLITE_OK) {
		say("sqlite: %s", sqlite3_errmsg(db->lite));
		goto out;
	}
	sqlite3_bind_text(claim, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(done, 3, name, -1, SQLITE_STATIC);
	for (;;) {
		if (lite_tx(db, claim, &id) != 0)
			goto out;
		if (id == 0)
			break;
		snprintf(result, sizeof(result), "r:%" PRId64, id);
		sqlite3_bind_int64(done, 1, id);
		sqlite3_bind_text(done, 2, result, -1, SQLITE_STATIC);
		if (lite_tx(db, done, &dummy) != 0)
			goto out;
		if (sqlite3_changes(db->lite) != 1) {
			say("row %" PRId64 " was not ours to complete", id);
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(claim);
	sqlite3_finalize(done);
	return rc;
}

static int
baseline_pg(struct raw *db, const char *name)
{
	const char *vals[3];
	char idtext[24], result[64];
	PGresult *res = NULL;
	int rc = -1;

	res = PQprepare(db->pg, "claim", BQ_CLAIM_PG, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(res);
	res = PQprepare(db->pg, "done", BQ_DONE_PG, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(res);
	res = NULL;
	for (;;) {
		vals[0] = name;
		res = PQexecPrepared(db->pg, "claim", 1, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			goto fail;
		if (PQntuples(res) == 0)
			break;
		snprintf(idtext, sizeof(idtext), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		snprintf(result, sizeof(result), "r:%s", idtext);
		vals[0] = idtext;
		vals[1] = result;
		vals[2] = name;
		res = PQexecPrepared(db->pg, "done", 3, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto fail;
		if (strcmp(PQcmdTuples(res), "1") != 0) {
			say("row %s was not ours to complete", idtext);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	rc = 0;
	goto out;
fail:
	say("postgresql: %s", PQresultErrorMessage(res));
out:
	PQclear(res);
	return rc;
}

static int
baseline_worker(const struct opts *o, int i)
{
	struct raw db;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "plain-%d-%ld", i, (long)getpid());
	if (raw_open(&db, o->url) != 0)
		return -1;
	rc = db.lite ? baseline_lite(&db, name) : baseline_pg(&db, name);
	raw_close(&db);
	return rc;
}

static int
cmd_baseline(struct opts *o)
{
	struct raw db;
	int64_t left = -1, good = -1;
	double secs;
	int rc = 1, opened = 0;

	if (raw_open(&db, o->url) != 0)
		goto out;
	opened = 1;
	if (raw_exec(&db, "DROP TABLE IF EXISTS baseline_queue") != 0 ||
	    raw_exec(&db, "CREATE TABLE baseline_queue (id BIGINT PRIMARY "
	    "KEY, state TEXT NOT NULL, owner TEXT, result TEXT)") != 0 ||
	    raw_exec(&db, "CREATE INDEX baseline_queued ON baseline_queue (id) "
	    "WHERE state = 'queued'") != 0)
		goto out;
	if (db.lite != NULL) {
		char sql[160];
		snprintf(sql, sizeof(sql), "WITH RECURSIVE n(i) AS (SELECT 1 "
		    "UNION ALL SELECT i + 1 FROM n WHERE i < %" PRId64 ") "
		    "INSERT INTO baseline_queue SELECT i, 'queued', NULL, NULL "
		    "FROM n", o->n);
		if (raw_exec(&db, sql) != 0)
			goto out;
	} else {
		char sql[160];
		snprintf(sql, sizeof(sql), "INSERT INTO baseline_queue SELECT i, "
		    "'queued', NULL, NULL FROM generate_series(1, %" PRId64
		    ") i; ANALYZE baseline_queue", o->n);
		if (raw_exec(&db, sql) != 0)
			goto out;
	}
	raw_close(&db); /* no connection crosses a fork */
	opened = 0;
	if (run_workers(o, baseline_worker, &secs) != 0)
		goto out;
	if (raw_open(&db, o->url) != 0)
		goto out;
	opened = 1;
	if (raw_int(&db, "SELECT count(*) FROM baseline_queue WHERE state <> "
	    "'done'", &left) != 0 || raw_int(&db, "SELECT count(*) FROM "
	    "baseline_queue WHERE result = 'r:' || id", &good) != 0)
		goto out;
	if (left != 0 || good != o->n) {
		say("baseline: %" PRId64 " rows not done, %" PRId64
		    " results right of %" PRId64, left, good, o->n);
		goto out;
	}
	printf("plain %s: %" PRId64 " workers, 1 row per transaction, %"
	    PRId64 " rows, %.3f s: %.0f tasks/s\n", backend_of(o->url),
	    o->workers, o->n, secs, (double)o->n / secs);
	rc = 0;
out:
	if (opened)
		raw_close(&db);
	return rc;
}

/* ---- main ------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: storetool seed URL N [--per K] [--attempts A]\n"
	    "       storetool work URL --worker NAME [--batch K] [--lease MS] "
	    "[--idle MS] [--backoff MS]\n"
	    "       storetool check URL N\n"
	    "       storetool bench URL --workers W --tasks N [--batch K] "
	    "[--per K] [--lease MS] [--fused 1]\n"
	    "       storetool baseline URL --workers W --tasks N\n");
}

int
main(int argc, char **argv)
{
	struct opts o;
	const char *cmd;
	int rc = 2, npos;

	signal(SIGPIPE, SIG_IGN);
	/* as spoold and its workers run: freed memory is kept up to 64 MiB
	 * (spoold/spoold.c) */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	memset(&o, 0, sizeof(o));
	o.per = 50;
	o.attempts = 25;
	o.batch = 10;
	o.lease = 2000;
	o.idle = 10;
	o.workers = 1;
	if (argc < 3) {
		usage();
		return 2;
	}
	cmd = argv[1];
	o.url = argv[2];
	npos = strcmp(cmd, "seed") == 0 || strcmp(cmd, "check") == 0 ? 1 : 0;
	if (argc < 3 + npos) {
		usage();
		return 2;
	}
	if (npos && (o.n = number("N", argv[3], 1, 100000000)) < 0)
		return 2;
	if (parse_opts(argc - 3 - npos, argv + 3 + npos, &o) != 0)
		return 2;
	if (strcmp(cmd, "seed") == 0)
		rc = cmd_seed(&o);
	else if (strcmp(cmd, "work") == 0)
		rc = cmd_work(&o);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(&o);
	else if (strcmp(cmd, "bench") == 0 || strcmp(cmd, "baseline") == 0) {
		if (o.n == 0) {
			say("%s wants --tasks N", cmd);
			return 2;
		}
		rc = cmd[0] == 'b' && cmd[1] == 'e' ? cmd_bench(&o) :
		    cmd_baseline(&o);
	} else {
		usage();
		return 2;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("cannot write the output: %s", strerror(errno));
		rc = rc ? rc : 1;
	}
	return rc;
}

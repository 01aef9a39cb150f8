/*
 * supervise.c - spoold's supervisor: one pool of worker programs per kind
 * of processing (docs/WORKERS.md).
 *
 * The supervisor is a process of its own, forked by spoold once the node
 * is open, with its own store connection and without the node's secret
 * key (wiped before anything else).  It claims tasks only of the kinds
 * it has pools for, so an absent or busy pool never fails or delays
 * another's tasks.  It exec's each worker program with limits and an
 * unprivileged uid (spool_sandbox_child), hands it one task at a time,
 * renews the task's lease while it runs, stops it when it runs past its
 * timeout or its job is cancelled (a cancel line first, SIGKILL after),
 * and restarts a worker that died, with backoff.  What a worker answers
 * is taken by taskio.c; spoold is told which requests changed through a
 * pipe, so it answers them and rewrites their status files.
 *
 * Over 800 lines and kept whole: one process and its loop: pools, task
 * hand-off, leases, timeouts and restarts act on the same worker table.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

#define KINDS_MAX 8
#define PROCS_MAX 64
#define HEARTBEAT_MS 1000    /* lease renewal while a task runs */
#define CANCEL_GRACE_MS 1000 /* after a cancel line, before SIGKILL */
#define TIMEOUT_GRACE_MS 2000
#define POLL_MS 1000         /* tasks waiting for a retry become due */
#define BACKOFF_MAX_MS 30000
#define LINE_MAX_BYTES (1 << 20)

enum why_kill { KILL_NONE, KILL_TIMEOUT, KILL_CANCEL, KILL_LOST, KILL_STOP };

struct proc {
	struct pool *pool;
	int slot;
	char name[200];           /* lease owner: node/host/pid/kind.slot */
	char mnt[200];            /* where its area is mounted (root) */
	/* a query's place in the cache, kept for its answer */
	char qkey[SPOOL_CACHE_KEY_MAX], qsource[80], qfp[128];
	int64_t qttl;
	pid_t pid;                /* 0: not running */
	int to, from;             /* pipes: task lines, answer lines */
	int err;                  /* pipe: its stderr, logged line by line */
	char ebuf[1024];
	size_t elen;
	int ecut;                 /* the line in ebuf goes on a cut one */
	char *buf;
	size_t len, cap;
	int busy;
	struct spool_task task;
	int64_t started, deadline, next_hb, kill_at;
	enum why_kill why;
	int64_t restart_at, backoff;
	struct spool_area area;
};

struct pool {
	char kind[16];
	char prog[PATH_MAX];
	struct spool_conf_pool c;
	struct proc procs[PROCS_MAX];
	int nprocs;
	int dry;                  /* the last claim found nothing */
};

struct sup {
	struct spool_node *node;
	struct spool_store *st;
	char worker[160];         /* lease owner: node/host/pid */
	int wake, notify, sfd;
	struct pool pools[KINDS_MAX];
	int npools;
	int stop;
	uid_t uid;
	gid_t gid;
	int set_user;
	int64_t lease_ms;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* this process's node, for slog: its name and [log] level */
static const struct spool_config *log_cfg;

/* One log line, as spool_daemon_log writes them (level by event). */
#define slog(...) spool_log(log_cfg, __VA_ARGS__)

/* A log value: quoted, quotes and control characters replaced. */
static const char *
q(char *buf, size_t n, const char *s)
{
	size_t i = 0;

	if (n < 3)
		return "";
	buf[i++] = '"';
	for (; s && *s && i + 2 < n; s++)
		buf[i++] = (*s == '"' || (unsigned char)*s < 0x20) ? '\'' : *s;
	buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}

/* spoold: these requests changed (it answers them, rewrites status) */
static void
tell(struct sup *s, const char *what, const char *id)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %s\n", what, id ? id : "-");

	if (n > 0 && write(s->notify, line, (size_t)n) < 0 && errno != EAGAIN)
		s->stop = 1; /* spoold is gone */
}

static const char *
request_of(const struct spool_task *t, char *out, size_t n)
{
	json_t *in = t->input ? json_loads(t->input, 0, NULL) : NULL;
	const char *r = json_string_value(json_object_get(in, "request"));

	snprintf(out, n, "%s", r ? r : "");
	json_decref(in);
	return out;
}

/* ---- worker processes ------------------------------------------------- */

/* The TCP port a PostgreSQL connection string reaches, "" for a Unix
 * socket (or a string this does not know: then nothing is opened). */
static void
pg_port(const char *url, char *out, size_t n)
{
	const char *h, *e;

	out[0] = '\0';
	if (url == NULL || strstr(url, "host=/") != NULL ||
	    strstr(url, "host=%2F") != NULL)
		return;
	if (strncmp(url, "postgresql://", 13) == 0)
		h = url + 13;
	else if (strncmp(url, "postgres://", 11) == 0)
		h = url + 11;
	else
		return;
	if ((e = strpbrk(h, "/?")) == NULL)
		e = h + strlen(h);
	if (memchr(h, '@', (size_t)(e - h)) != NULL)
		h = (const char *)memchr(h, '@', (size_t)(e - h)) + 1;
	if (h == e)
		return; /* no host: the default Unix socket */
	{
		const char *c = memchr(h, ':', (size_t)(e - h));

		if (c != NULL && c + 1 < e)
			snprintf(out, n, "%.*s", (int)(e - c - 1), c + 1);
		else
			snprintf(out, n, "5432");
	}
}

static void
proc_start(struct sup *s, struct proc *p)
{
	struct pool *pl = p->pool;
	struct spool_sandbox_limits lim;
	char *argv[4 + 4 * SPOOL_SANDBOX_MAX_PATHS + 2];
	char *envp[12], cachemax[64], threads[64], asan[160];
	char ports[SPOOL_SANDBOX_MAX_PATHS][16];
	int nports = 0;
	int to[2], from[2], ep[2], argc = 0;
	const char *step = NULL;
	size_t i;
	spool_err err;
	pid_t pid;

	if (spool_area_reset(&p->area, &err) != SPOOL_OK) {
		slog("event=error what=worker kind=%s reason=%s", pl->kind,
		    q((char[600]){ 0 }, 600, err.msg));
		p->restart_at = mono_ms() + BACKOFF_MAX_MS;
		return;
	}
	if (pipe2(to, O_CLOEXEC) != 0)
		return;
	if (pipe2(from, O_CLOEXEC) != 0) {
		close(to[0]);
		close(to[1]);
		return;
	}
	if (pipe2(ep, O_CLOEXEC) != 0) {
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		return;
	}
	memset(&lim, 0, sizeof(lim));
#if !defined(__SANITIZE_ADDRESS__)
	/* (a sanitizer build reserves terabytes of address space) */
	lim.memory = pl->c.memory_limit;
#endif
	/* CPU: the timeout is wall time; CPU time stops a spinning worker
	 * that ignores its cancel line even if the supervisor is gone */
	lim.cpu_s = pl->c.task_timeout * 2 + 10;
	lim.fsize = s->node->cfg->max_bytes;
	lim.nofile = 256;
	lim.new_netns = strcmp(pl->kind, "vector") != 0 &&
	    strcmp(pl->kind, "query") != 0;
	lim.uid = s->uid;
	lim.gid = s->gid;
	lim.set_user = s->set_user;
	lim.area = s->set_user ? p->area.path : NULL;
	lim.mnt = p->mnt;
	if (s->set_user) {
		struct stat mb;

		/* /tmp is sticky: a directory of root's there stays root's */
		if ((mkdir(p->mnt, 0755) != 0 && errno != EEXIST) ||
		    lstat(p->mnt, &mb) != 0 || !S_ISDIR(mb.st_mode) ||
		    mb.st_uid != 0) {
			slog("event=error what=worker kind=%s reason=\"cannot "
			    "use '%s' as the mount point of its area\"",
			    pl->kind, p->mnt);
			p->restart_at = mono_ms() + BACKOFF_MAX_MS;
			return;
		}
	}

	argv[argc++] = pl->prog;
	argv[argc++] = "--area";
	argv[argc++] = ".";
	for (i = 0; i < s->node->cfg->nsources && argc < 4 +
	    2 * SPOOL_SANDBOX_MAX_PATHS; i++) {
		const char *u = s->node->cfg->sources[i].url;

		if (strcmp(pl->kind, "query") != 0 || u == NULL || u[0] != '/')
			continue;
		argv[argc++] = "--read";
		argv[argc++] = (char *)u;
	}
	/* the database servers a kind may reach, by port */
	for (i = 0; i <= s->node->cfg->nsources && nports <
	    SPOOL_SANDBOX_MAX_PATHS && argc + 2 < (int)(sizeof(argv) /
	    sizeof(argv[0])); i++) {
		const char *u = NULL;

		if (i == s->node->cfg->nsources && strcmp(pl->kind, "vector") ==
		    0)
			u = s->node->cfg->vector.postgis;
		else if (i < s->node->cfg->nsources &&
		    strcmp(pl->kind, "query") == 0)
			u = s->node->cfg->sources[i].url;
		pg_port(u, ports[nports], sizeof(ports[nports]));
		if (ports[nports][0] == '\0')
			continue;
		argv[argc++] = "--net";
		argv[argc++] = ports[nports++];
	}
	argv[argc] = NULL;
	snprintf(cachemax, sizeof(cachemax), "GDAL_CACHEMAX=%llu",
	    (unsigned long long)(pl->c.cachemax >> 20));
	snprintf(threads, sizeof(threads), "GDAL_NUM_THREADS=%llu",
	    (unsigned long long)pl->c.threads);
	i = 0;
	envp[i++] = "PATH=/usr/bin:/bin";
	envp[i++] = "LANG=C.UTF-8";
	envp[i++] = "HOME=/nonexistent";
	envp[i++] = "TMPDIR=tmp";
	envp[i++] = "CPL_TMPDIR=tmp";
	envp[i++] = "PROJ_NETWORK=OFF";
	envp[i++] = "GDAL_HTTP_TIMEOUT=1";
	envp[i++] = cachemax;
	envp[i++] = threads;
#if defined(__SANITIZE_ADDRESS__)
	/* no RLIMIT_AS under a sanitizer: its allocator keeps the limit,
	 * one allocation at a time */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=detect_leaks=0:"
	    "allocator_may_return_null=1:max_allocation_size_mb=%llu",
	    (unsigned long long)(pl->c.memory_limit >> 20));
	envp[i++] = asan;
#else
	(void)asan;
#endif
	envp[i] = NULL;

	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		close(ep[0]);
		close(ep[1]);
		p->restart_at = mono_ms() + 1000;
		return;
	}
	if (pid == 0) {
		int e;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0 ||
		    dup2(ep[1], 2) < 0)
			_exit(127);
		if (chdir(p->area.path) != 0)
			_exit(127);
		if ((e = spool_sandbox_child(&lim, &step)) != 0) {
			dprintf(2, "event=worker-sandbox step=%s reason=\"%s\"\n",
			    step, strerror(e));
			_exit(126);
		}
		execve(pl->prog, argv, envp);
		dprintf(2, "event=worker-exec prog=%s reason=\"%s\"\n",
		    pl->prog, strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	close(ep[1]);
	p->pid = pid;
	p->to = to[1];
	p->from = from[0];
	p->err = ep[0];
	p->elen = 0;
	p->ecut = 0;
	fcntl(p->from, F_SETFL, O_NONBLOCK);
	fcntl(p->err, F_SETFL, O_NONBLOCK);
	p->len = 0;
	p->busy = 0;
	p->why = KILL_NONE;
	p->kill_at = 0;
	slog("event=worker-started kind=%s slot=%d pid=%ld", pl->kind,
	    p->slot, (long)pid);
}

/* One line a worker wrote on stderr.  An event line of its own names
 * (spool_logline_take) is logged as that event, at its level=, with
 * the worker's kind and pid; anything else, and every piece of a line
 * cut because it was too long (text), as the worker's words, quoted. */
static void
worker_said(struct proc *p, char *line, int text)
{
	int lv;

	if (line[0] == '\0')
		return;
	if (text || !spool_logline_take(line, p->pool->kind, &lv)) {
		slog("event=worker-said kind=%s pid=%ld text=%s", p->pool->kind,
		    (long)p->pid, spool_logq((char[1200]){ 0 }, 1200, line));
		return;
	}
	if (lv >= 0)
		spool_logl(log_cfg, lv < 5 ? lv : SPOOL_LOG_ERR,
		    "%s kind=%s pid=%ld", line, p->pool->kind, (long)p->pid);
	else
		slog("%s kind=%s pid=%ld", line, p->pool->kind, (long)p->pid);
}

/* What a worker wrote on stderr so far: each whole line logged; a line
 * longer than the buffer is logged in pieces, as text (a piece is not a
 * line the worker wrote: its end could be made to look like one).  At
 * EOF (end) the rest. */
static void
on_stderr(struct proc *p, int end)
{
	char *nl;
	ssize_t r;

	for (;;) {
		r = p->err >= 0 ? read(p->err, p->ebuf + p->elen,
		    sizeof(p->ebuf) - 1 - p->elen) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			p->elen += (size_t)r;
		p->ebuf[p->elen] = '\0';
		while ((nl = memchr(p->ebuf, '\n', p->elen)) != NULL) {
			*nl = '\0';
			worker_said(p, p->ebuf, p->ecut);
			p->ecut = 0;
			p->elen -= (size_t)(nl + 1 - p->ebuf);
			memmove(p->ebuf, nl + 1, p->elen + 1);
		}
		if (p->elen == sizeof(p->ebuf) - 1 || (r <= 0 && end &&
		    p->elen > 0)) {
			int full = p->elen == sizeof(p->ebuf) - 1;

			worker_said(p, p->ebuf, full || p->ecut);
			p->ecut = full;
			p->elen = 0;
		}
		if (r <= 0)
			return;
	}
}

static void
proc_close(struct proc *p)
{
	on_stderr(p, 1);
	if (p->to >= 0)
		close(p->to);
	if (p->from >= 0)
		close(p->from);
	if (p->err >= 0)
		close(p->err);
	p->to = p->from = p->err = -1;
	p->pid = 0;
	p->len = 0;
}

static int
send_line(struct proc *p, const char *line)
{
	size_t n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(p->to, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	while (write(p->to, "\n", 1) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void
format_size(char *out, size_t n, uint64_t v)
{
	if (v && v % (1ULL << 30) == 0)
		snprintf(out, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v && v % (1ULL << 20) == 0)
		snprintf(out, n, "%lluM", (unsigned long long)(v >> 20));
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

static void
format_secs(char *out, size_t n, uint64_t v)
{
	if (v && v % 3600 == 0)
		snprintf(out, n, "%lluh", (unsigned long long)(v / 3600));
	else if (v && v % 60 == 0)
		snprintf(out, n, "%llum", (unsigned long long)(v / 60));
	else
		snprintf(out, n, "%llus", (unsigned long long)v);
}

/* The busy task of p ended without an answer (a crash, a kill). */
static void
lost_task(struct sup *s, struct proc *p, int status, const struct rusage *ru)
{
	char why[512], rid[64], num[32];
	const char *outcome = "failed";
	int permanent = 0;
	spool_err err;

	if (p->why == KILL_TIMEOUT) {
		format_secs(num, sizeof(num), p->pool->c.task_timeout);
		snprintf(why, sizeof(why), "task exceeded task_timeout (%s)",
		    num);
	} else if (p->why == KILL_CANCEL) {
		snprintf(why, sizeof(why), "cancelled");
		permanent = 1;
	} else if (p->why == KILL_LOST || p->why == KILL_STOP) {
		snprintf(why, sizeof(why), "worker stopped while running "
		    "task %s", p->task.id);
	} else if (WIFSIGNALED(status) && p->pool->c.memory_limit > 0 &&
	    (uint64_t)ru->ru_maxrss * 1024 >= p->pool->c.memory_limit / 10 * 9) {
		format_size(num, sizeof(num), p->pool->c.memory_limit);
		snprintf(why, sizeof(why), "task exceeded memory_limit (%s)",
		    num);
	} else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "worker killed by signal %d while "
		    "running task %s", WTERMSIG(status), p->task.id);
	else
		snprintf(why, sizeof(why), "worker exited with status %d while "
		    "running task %s", WEXITSTATUS(status), p->task.id);
	if (p->why != KILL_LOST &&
	    spool_task_failed(s->st, p->name, &p->task, why, permanent,
	    &outcome, &err) != SPOOL_OK)
		slog("event=error what=task-failed task=%s reason=%s",
		    p->task.id, q((char[600]){ 0 }, 600, err.msg));
	slog("event=task-%s kind=%s task=%s request=%s reason=%s", outcome,
	    p->pool->kind, p->task.id, request_of(&p->task, rid, sizeof(rid)),
	    q((char[600]){ 0 }, 600, why));
	tell(s, "changed", rid);
	spool_task_release(&p->task);
	p->busy = 0;
}

/* A worker process ended. */
static void
on_exit_(struct sup *s, pid_t pid, int status, const struct rusage *ru)
{
	int i, k;

	for (i = 0; i < s->npools; i++)
		for (k = 0; k < s->pools[i].nprocs; k++) {
			struct proc *p = &s->pools[i].procs[k];

			if (p->pid != pid)
				continue;
			if (p->busy)
				lost_task(s, p, status, ru);
			slog("event=worker-exited kind=%s slot=%d pid=%ld "
			    "status=%d signal=%d", p->pool->kind, p->slot,
			    (long)pid, WIFEXITED(status) ? WEXITSTATUS(status) :
			    -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			proc_close(p);
			p->backoff = p->backoff ? p->backoff * 2 : 500;
			if (p->backoff > BACKOFF_MAX_MS)
				p->backoff = BACKOFF_MAX_MS;
			p->restart_at = mono_ms() + (p->why == KILL_NONE ?
			    p->backoff : 0);
			p->why = KILL_NONE;
			return;
		}
}

/* ---- tasks ------------------------------------------------------------ */

/* A query the processing node's cache answers (then 1: done); else
 * what its answer is kept under is noted in p. */
static int
query_cached(struct sup *s, struct proc *p, const json_t *config)
{
	const json_t *src = json_object_get(config, "source");
	const struct spool_conf_source *cs;
	char from[SPOOL_ID_MAX], rid[64];
	const char *outcome;
	spool_err err;
	int found = 0, r;

	p->qkey[0] = '\0';
	p->qttl = json_integer_value(json_object_get(src, "cache_ttl_ms"));
	cs = spool_config_source(s->node->cfg, json_string_value(
	    json_object_get(src, "name")));
	if (cs == NULL || p->qttl <= 0 ||
	    spool_store_request_cache_key(s->st, request_of(&p->task, rid,
	    sizeof(rid)), p->qkey, sizeof(p->qkey), NULL) != SPOOL_OK ||
	    p->qkey[0] == '\0') {
		p->qkey[0] = '\0';
		return 0;
	}
	snprintf(p->qsource, sizeof(p->qsource), "%s", cs->name);
	spool_source_fingerprint(cs, p->qfp, sizeof(p->qfp));
	if (spool_qcache_lookup(s->st, p->qkey, p->qfp, from, &found, &err) !=
	    SPOOL_OK || !found)
		return 0;
	r = spool_task_answer_cached(s->st, p->name, &p->task, from, &outcome,
	    &err);
	if (r == SPOOL_ERR_NOTFOUND)
		return 0; /* the first answer is gone: ask the source */
	if (r != SPOOL_OK) {
		slog("event=error what=cache task=%s reason=%s", p->task.id,
		    q((char[600]){ 0 }, 600, err.msg));
		return 0;
	}
	slog("event=task-%s kind=query task=%s request=%s cache_hit=1 "
	    "answer_of=%s", outcome, p->task.id, rid, from);
	p->qkey[0] = '\0';
	tell(s, "changed", rid);
	return 1;
}

static void
give_task(struct sup *s, struct proc *p)
{
	struct pool *pl = p->pool;
	struct spool_task_limits lim;
	const char *outcome;
	char *line = NULL, rid[64];
	json_t *config;
	spool_err err;
	size_t n = 0;
	int r;

	if ((r = spool_job_claim(s->st, p->name, pl->kind, 1, s->lease_ms,
	    &p->task, &n, &err)) != SPOOL_OK) {
		slog("event=error what=claim kind=%s reason=%s", pl->kind,
		    q((char[600]){ 0 }, 600, err.msg));
		pl->dry = 1;
		return;
	}
	if (n == 0) {
		pl->dry = 1;
		return;
	}
	request_of(&p->task, rid, sizeof(rid));
	memset(&lim, 0, sizeof(lim));
	lim.timeout_ms = (int64_t)pl->c.task_timeout * 1000;
	lim.memory = pl->c.memory_limit;
	lim.threads = (int)pl->c.threads;
	lim.cachemax = pl->c.cachemax;
	config = spool_kind_config(s->node, pl->kind, &p->task, s->st);
	if (strcmp(pl->kind, "query") == 0 && query_cached(s, p, config)) {
		json_decref(config);
		spool_task_release(&p->task);
		return;
	}
	if ((r = spool_area_reset(&p->area, &err)) != SPOOL_OK ||
	    (r = spool_task_line(s->st, s->node->root, &p->task, pl->kind,
	    &p->area, config, &lim, &line, &err)) != SPOOL_OK) {
		json_decref(config);
		slog("event=task-failed kind=%s task=%s request=%s reason=%s",
		    pl->kind, p->task.id, rid, q((char[600]){ 0 }, 600,
		    err.msg));
		spool_task_failed(s->st, p->name, &p->task, err.msg,
		    r != SPOOL_ERR_SYS && r != SPOOL_ERR_BUSY &&
		    r != SPOOL_ERR_STORE, &outcome, NULL);
		spool_task_release(&p->task);
		tell(s, "changed", rid);
		return;
	}
	json_decref(config);
	if (p->task.attempt == 1) {
		char tref[SPOOL_REF_MAX], jref[SPOOL_REF_MAX];

		snprintf(tref, sizeof(tref), "task:%s", p->task.id);
		snprintf(jref, sizeof(jref), "job:%s", p->task.job);
		spool_lineage_link(s->st, "started", 0, NULL, NULL,
		    (const char *[]){ jref }, 1, (const char *[]){ tref }, 1,
		    NULL);
	}
	p->busy = 1;
	p->started = mono_ms();
	p->deadline = p->started + lim.timeout_ms;
	p->next_hb = p->started + HEARTBEAT_MS;
	p->kill_at = 0;
	p->why = KILL_NONE;
	if (send_line(p, line) != 0) {
		/* the worker is gone: its exit fails the task */
		kill(p->pid, SIGKILL);
		p->why = KILL_NONE;
	}
	free(line);
	slog("event=task-started kind=%s task=%s request=%s stage=%d "
	    "index=%d attempt=%d pid=%ld", pl->kind, p->task.id, rid,
	    p->task.stage, p->task.idx, p->task.attempt, (long)p->pid);
	tell(s, "changed", rid);
}

/* What a finished task changes in the query cache: a query's answer
 * serves the same query; a vector load into a database makes that
 * database's sources answer afresh. */
static void
after_success(struct sup *s, struct proc *p, const char *rid)
{
	const struct spool_config *c = s->node->cfg;
	spool_err err;
	uint64_t n;
	size_t i;

	if (strcmp(p->pool->kind, "query") == 0 && p->qkey[0] != '\0' &&
	    spool_qcache_put(s->st, p->qkey, p->qsource, rid, p->qfp, p->qttl,
	    &err) != SPOOL_OK)
		slog("event=error what=cache reason=%s", q((char[600]){ 0 },
		    600, err.msg));
	if (strcmp(p->pool->kind, "vector") != 0 || c->vector.postgis == NULL)
		return;
	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].url != NULL &&
		    strcmp(c->sources[i].url, c->vector.postgis) == 0 &&
		    spool_qcache_clear(s->st, c->sources[i].name, &n, NULL) ==
		    SPOOL_OK && n > 0)
			slog("event=cache-cleared source=%s entries=%llu "
			    "why=\"a vector load\"", c->sources[i].name,
			    (unsigned long long)n);
}

static void
on_answer(struct sup *s, struct proc *p, json_t *a)
{
	const char *task = json_string_value(json_object_get(a, "task"));
	const char *outcome = "failed";
	char rid[64];
	spool_err err;

	if (!p->busy || task == NULL || strcmp(task, p->task.id) != 0)
		return; /* a line about nothing we gave it */
	if (json_object_get(a, "status") == NULL) {
		/* progress: the lease is renewed by the heartbeat below */
		return;
	}
	request_of(&p->task, rid, sizeof(rid));
	if (p->why == KILL_LOST) {
		outcome = "lost";
	} else if (p->why == KILL_TIMEOUT || p->why == KILL_CANCEL) {
		/* it stopped because it was told to: say why it was */
		char why[128], num[32];

		format_secs(num, sizeof(num), p->pool->c.task_timeout);
		snprintf(why, sizeof(why), p->why == KILL_CANCEL ? "cancelled" :
		    "task exceeded task_timeout (%s)", num);
		spool_task_failed(s->st, p->name, &p->task, why,
		    p->why == KILL_CANCEL, &outcome, NULL);
	} else if (spool_task_answer(s->st, s->node->root, p->name,
	    &p->task, &p->area, a, s->node->cfg->max_bytes, &outcome, &err) !=
	    SPOOL_OK) {
		slog("event=error what=answer task=%s reason=%s", p->task.id,
		    q((char[600]){ 0 }, 600, err.msg));
		/* a transient failure taking it: it runs again later */
		spool_task_failed(s->st, p->name, &p->task, err.msg, 0,
		    &outcome, NULL);
	}
	{
		const char *e = json_string_value(json_object_get(a, "error"));
		char eb[600];

		slog("event=task-%s kind=%s task=%s request=%s wall_ms=%lld%s%s",
		    outcome, p->pool->kind, p->task.id, rid,
		    (long long)(mono_ms() - p->started), e ? " reason=" : "",
		    e ? q(eb, sizeof(eb), e) : "");
	}
	if (strcmp(outcome, "succeeded") == 0) {
		p->backoff = 0;
		after_success(s, p, rid);
	}
	/* a finished task may have queued the next stage's */
	p->pool->dry = 0;
	spool_task_release(&p->task);
	p->busy = 0;
	/* a task the supervisor was about to kill answered in time */
	if (p->why == KILL_TIMEOUT || p->why == KILL_CANCEL)
		p->kill_at = 0;
	p->why = KILL_NONE;
	tell(s, "changed", rid);
}

static void
on_readable(struct sup *s, struct proc *p)
{
	for (;;) {
		ssize_t r;
		char *nl;

		if (p->cap - p->len < 65536) {
			size_t cap = p->cap ? p->cap * 2 : 131072;
			char *nb;

			if (cap > LINE_MAX_BYTES + 65536 || (nb = realloc(p->buf,
			    cap)) == NULL) {
				kill(p->pid, SIGKILL); /* a line too long */
				return;
			}
			p->buf = nb;
			p->cap = cap;
		}
		r = read(p->from, p->buf + p->len, p->cap - p->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return; /* EAGAIN, or EOF: SIGCHLD follows */
		p->len += (size_t)r;
		while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
			size_t n = (size_t)(nl - p->buf);
			json_t *a = json_loadb(p->buf, n, JSON_REJECT_DUPLICATES,
			    NULL);

			if (json_is_object(a))
				on_answer(s, p, a);
			json_decref(a);
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
		}
		if (p->len >= LINE_MAX_BYTES) {
			kill(p->pid, SIGKILL);
			return;
		}
	}
}

/* Leases, timeouts, cancellations, kills. */
static void
tick(struct sup *s)
{
	int64_t now = mono_ms();
	spool_err err;
	int i, k, r;

	for (i = 0; i < s->npools; i++)
		for (k = 0; k < s->pools[i].nprocs; k++) {
			struct proc *p = &s->pools[i].procs[k];
			char line[128];

			if (p->pid > 0 && p->kill_at && now >= p->kill_at) {
				kill(p->pid, SIGKILL);
				p->kill_at = 0;
			}
			if (p->pid == 0 || !p->busy)
				continue;
			if (now >= p->next_hb && p->why == KILL_NONE) {
				p->next_hb = now + HEARTBEAT_MS;
				r = spool_job_heartbeat(s->st, p->name,
				    p->task.id, s->lease_ms, &err);
				if (r == SPOOL_ERR_CANCELLED) {
					snprintf(line, sizeof(line),
					    "{\"cancel\":\"%s\"}", p->task.id);
					send_line(p, line);
					p->why = KILL_CANCEL;
					p->kill_at = now + CANCEL_GRACE_MS;
				} else if (r == SPOOL_ERR_LOST) {
					p->why = KILL_LOST;
					kill(p->pid, SIGKILL);
				} else if (r != SPOOL_OK)
					slog("event=error what=heartbeat "
					    "task=%s reason=%s", p->task.id,
					    q((char[600]){ 0 }, 600, err.msg));
			}
			if (now >= p->deadline && p->why == KILL_NONE) {
				snprintf(line, sizeof(line),
				    "{\"cancel\":\"%s\"}", p->task.id);
				send_line(p, line);
				p->why = KILL_TIMEOUT;
				p->kill_at = now + TIMEOUT_GRACE_MS;
			}
		}
}

/* Where a worker's area is mounted: /tmp/.spool-NODE-ROOT-KIND.SLOT,
 * ROOT the first 12 hex digits of the BLAKE2b of the node's root.  The
 * root in the name keeps apart two nodes of one name on a machine (a
 * test node beside the real one): stopping one removes its directories,
 * and on the shared name that detached the other's workers' areas under
 * them; SQLite and GDAL's GeoPackage driver open by absolute path. */
static void
mount_point(char *out, size_t n, const char *root, const char *name,
    const char *kind, int slot)
{
	spool_hasher h;
	uint8_t d[32];
	char hex[2 * 6 + 1];

	spool_hasher_init(&h, sizeof(d));
	spool_hasher_update(&h, root, strlen(root));
	spool_hasher_final(&h, d);
	spool_hex(hex, d, 6);
	snprintf(out, n, "/tmp/.spool-%s-%s-%s.%d", name, hex, kind, slot);
}

/* ---- the loop --------------------------------------------------------- */

static int
setup(struct sup *s, spool_err *err)
{
	static const char *const kinds[] = { "selftest", "raster", "vector",
	    "query" };
	const struct spool_config *c = s->node->cfg;
	char host[65];
	size_t i;
	int k;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(s->worker, sizeof(s->worker), "%s/%s/%ld", c->name, host,
	    (long)getpid());
	s->lease_ms = (int64_t)c->lease * 1000;
	s->uid = geteuid();
	s->gid = getegid();
	if (geteuid() == 0 && c->worker_user != NULL &&
	    strcmp(c->worker_user, "root") != 0) {
		struct passwd *pw = getpwnam(c->worker_user);

		if (pw == NULL)
			return spool_fail(err, SPOOL_ERR_CONFIG, "[workers] user "
			    "'%s' does not exist", c->worker_user);
		s->uid = pw->pw_uid;
		s->gid = pw->pw_gid;
		s->set_user = 1;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct pool *pl = &s->pools[s->npools];

		memset(pl, 0, sizeof(*pl));
		snprintf(pl->kind, sizeof(pl->kind), "%s", kinds[i]);
		spool_config_pool(c, kinds[i], &pl->c);
		if (pl->c.count == 0)
			continue;
		if (spool_worker_program(kinds[i], pl->prog, sizeof(pl->prog)) != 0) {
			slog("event=notice what=pool kind=%s reason=\"no "
			    "worker program at '%s': no pool\"", kinds[i],
			    pl->prog);
			continue;
		}
		pl->nprocs = pl->c.count > PROCS_MAX ? PROCS_MAX :
		    (int)pl->c.count;
		for (k = 0; k < pl->nprocs; k++) {
			struct proc *p = &pl->procs[k];

			p->pool = pl;
			p->slot = k;
			snprintf(p->name, sizeof(p->name), "%s/%s.%d",
			    s->worker, kinds[i], k);
			mount_point(p->mnt, sizeof(p->mnt), s->node->root,
			    c->name, kinds[i], k);
			p->to = p->from = p->err = -1;
			snprintf(p->area.path, sizeof(p->area.path),
			    "%s/store/work/%s.%d", s->node->root, kinds[i], k);
			p->area.uid = s->uid;
			p->area.gid = s->gid;
			p->area.link_inputs = 1;
		}
		s->npools++;
	}
	return SPOOL_OK;
}

static void
stop_all(struct sup *s)
{
	int64_t until = mono_ms() + 3000;
	int i, k, left;

	for (i = 0; i < s->npools; i++)
		for (k = 0; k < s->pools[i].nprocs; k++) {
			struct proc *p = &s->pools[i].procs[k];

			if (p->pid > 0) {
				if (p->to >= 0)
					close(p->to); /* EOF: exit */
				p->to = -1;
				kill(p->pid, p->busy ? SIGKILL : SIGTERM);
			}
		}
	do {
		int st;
		pid_t pid;

		left = 0;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			;
		for (i = 0; i < s->npools; i++)
			for (k = 0; k < s->pools[i].nprocs; k++)
				if (s->pools[i].procs[k].pid > 0 &&
				    kill(s->pools[i].procs[k].pid, 0) == 0)
					left++;
		if (left)
			usleep(20000);
	} while (left && mono_ms() < until);
	for (i = 0; i < s->npools; i++)
		for (k = 0; k < s->pools[i].nprocs; k++) {
			if (s->pools[i].procs[k].pid > 0)
				kill(s->pools[i].procs[k].pid, SIGKILL);
			if (s->set_user)
				rmdir(s->pools[i].procs[k].mnt);
		}
}

static void
run(struct sup *s)
{
	struct pollfd pfd[2 + 2 * KINDS_MAX * PROCS_MAX];
	struct proc *who[2 + 2 * KINDS_MAX * PROCS_MAX];
	int is_err[2 + 2 * KINDS_MAX * PROCS_MAX];
	int64_t next_poll = 0;

	while (!s->stop) {
		int64_t now = mono_ms(), wait = POLL_MS;
		int i, k, n = 0, any_busy = 0;

		/* workers to (re)start, tasks to hand out */
		if (now >= next_poll) {
			for (i = 0; i < s->npools; i++)
				s->pools[i].dry = 0;
			next_poll = now + POLL_MS;
		}
		for (i = 0; i < s->npools; i++) {
			struct pool *pl = &s->pools[i];

			for (k = 0; k < pl->nprocs; k++) {
				struct proc *p = &pl->procs[k];

				if (p->pid == 0 && now >= p->restart_at)
					proc_start(s, p);
				if (p->pid > 0 && !p->busy && p->why ==
				    KILL_NONE && !pl->dry)
					give_task(s, p);
				if (p->busy)
					any_busy = 1;
			}
		}
		pfd[n].fd = s->wake;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		pfd[n].fd = s->sfd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		for (i = 0; i < s->npools; i++)
			for (k = 0; k < s->pools[i].nprocs; k++) {
				struct proc *p = &s->pools[i].procs[k];

				if (p->pid > 0 && p->from >= 0) {
					pfd[n].fd = p->from;
					pfd[n].events = POLLIN;
					is_err[n] = 0;
					who[n++] = p;
				}
				if (p->pid > 0 && p->err >= 0) {
					pfd[n].fd = p->err;
					pfd[n].events = POLLIN;
					is_err[n] = 1;
					who[n++] = p;
				}
				if (p->pid == 0 && p->restart_at > now &&
				    p->restart_at - now < wait)
					wait = p->restart_at - now;
			}
		if (any_busy && wait > 200)
			wait = 200;
		if (poll(pfd, (nfds_t)n, (int)wait) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			char b[256];
			ssize_t r = read(s->wake, b, sizeof(b));

			if (r == 0)
				s->stop = 1; /* spoold is gone */
			for (i = 0; i < s->npools; i++)
				s->pools[i].dry = 0;
		} else if (pfd[0].revents & (POLLHUP | POLLERR))
			s->stop = 1;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(s->sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT)
					s->stop = 1;
		}
		for (i = 2; i < n; i++)
			if (is_err[i] && (pfd[i].revents & (POLLIN | POLLHUP)))
				on_stderr(who[i], 0);
			else if (pfd[i].revents & (POLLIN | POLLHUP))
				on_readable(s, who[i]);
		{
			struct rusage ru;
			int status;
			pid_t pid;

			while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0)
				on_exit_(s, pid, status, &ru);
		}
		tick(s);
	}
	stop_all(s);
}

pid_t
spool_supervise_start(struct spool_node *node, int64_t sched_base,
    int *wake, int *notify,
    void (*in_child)(void *), void *arg)
{
	int w[2], nt[2];
	sigset_t mask;
	pid_t pid;

	if (pipe2(w, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(nt, O_CLOEXEC) != 0) {
		close(w[0]);
		close(w[1]);
		return -1;
	}
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(w[0]);
		close(w[1]);
		close(nt[0]);
		close(nt[1]);
		return -1;
	}
	if (pid > 0) {
		close(w[0]);
		close(nt[1]);
		fcntl(w[1], F_SETFL, O_NONBLOCK);
		fcntl(nt[0], F_SETFL, O_NONBLOCK);
		*wake = w[1];
		*notify = nt[0];
		return pid;
	}
	/* the supervisor */
	{
		struct sup *s = calloc(1, sizeof(*s));
		spool_err err;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "spoold-workers");
		close(w[1]);
		close(nt[0]);
		/* spoold's descriptors and its secret key go first */
		in_child(arg);
		if (s == NULL)
			_exit(1);
		s->node = node;
		log_cfg = node->cfg;
		s->wake = w[0];
		s->notify = nt[1];
		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGCHLD);
		sigaddset(&mask, SIGHUP);
		sigprocmask(SIG_BLOCK, &mask, NULL);
		s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
		if (s->sfd < 0 || setup(s, &err) != SPOOL_OK ||
		    spool_store_open_config(&s->st, node->cfg, &err) !=
		    SPOOL_OK) {
			slog("event=error what=supervisor reason=%s",
			    q((char[600]){ 0 }, 600, err.msg));
			_exit(1);
		}
		/* spoold's schedule: leases and retries it compares */
		spool_store_set_sched_base(s->st, sched_base);
		run(s);
		spool_store_close(s->st);
		_exit(0);
	}
}

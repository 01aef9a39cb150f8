/*
 * spoold - the spool daemon.
 *
 * One event loop over file descriptors: inotify (hot folders and
 * import/), a signalfd (TERM/INT stop after the current step, HUP reloads
 * and rescans, CHLD reaps workers), one timerfd armed for the nearest
 * thing due (a batch's max_age, a heartbeat, a settling file, the slow
 * rescan, the watchdog, a retry of answers the store refused), a control
 * socket (store/spoold.sock) that `spoolctl flush` talks to, and two
 * pipes on which workers say that they finished something (the worker
 * pools' supervisor, and the transfer runners after each group they
 * record): what they finished is answered then.  Transfers run in
 * runner processes (fork, with RLIMIT_AS from [workers] memory_limit),
 * each with its own store connection, so a crash in a task fails the
 * task, not the daemon.
 *
 * Every step ends with the status files rewritten.  The steps are those of
 * libspool (spool/daemon.h); this file only decides when to run them.
 *
 * Over 800 lines and kept whole: one event loop, and every handler
 * writes the same deadlines it arms.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool/spool.h"
#include "supervise.h"

#define RESCAN_MS (60 * 1000)    /* the slow safety rescan */
#define ANSWER_RETRY_MS 1000     /* answers the store refused, first retry */
#define SWEEP_MS (15 * 1000)     /* expired leases and deadlines */
#define WORK_POLL_MS 1000        /* while tasks wait for a retry */
#define DISK_RETRY_MS 5000       /* intake paused by a full disk */
#define GC_MS (6 * 3600 * 1000)  /* retention applied every 6 hours */
#define STATUS_DELAY_MS 200      /* status files follow within this */
#define STORE_CHECK_MS 1000      /* the store file still the one opened */
#define NOTE_ANSWER_MS 1000      /* runners' deliveries answered this often */
#define WORKERS_MAX 256

struct watch {
	int wd;
	char folder[80]; /* "" for import/ */
};

struct spoold {
	const char *config;
	struct spool_node *node;
	struct spool_daemon *d;
	int ifd, sfd, tfd, cfd;
	struct watch *w;
	size_t nw;
	pid_t workers[WORKERS_MAX];
	size_t nworkers;
	int stop, reload, rescan, work_wanted, outbox_wanted;
	int64_t next_rescan, next_sweep, next_outbox, next_retry, next_work;
	int64_t next_watchdog, next_gc, next_status, next_store, next_import;
	int64_t next_answer, answer_backoff; /* after answers failed */
	int64_t answered;          /* when answers last ran */
	int store_lost;            /* said: nothing more done with it */
	int64_t watchdog_ms;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* the supervisor of the worker pools (supervise.c) */
	pid_t sup;
	int sup_wake, sup_note;
	int64_t sup_restart, sup_backoff;
	/* the transfer runners' word that they recorded deliveries (read
	 * end, write end): answered then, not only when a runner exits */
	int wnote[2];
	char note[4096];
	size_t nnote;
	char logfile[PATH_MAX]; /* detached: the log, reopened on SIGHUP */
};

/* Without --foreground, the write end of the pipe the operator's process
 * waits on for the daemon's word (ready_say); -1 once said. */
static int ready_fd = -1;

/* Every deadline of the loop is on the schedule's clock (the store's:
 * CLOCK_MONOTONIC from the wall clock at start, and so are tasks'
 * run_at and the batcher's max_age): a step of the wall clock (NTP, a
 * restored VM) moves none of them.  The timerfd is CLOCK_MONOTONIC. */
static int64_t
sched_now(struct spoold *s)
{
	return spool_store_sched(spool_daemon_store(s->d));
}

/* ---- systemd notify (Type=notify) ---- */

static void
notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	char msg[512];
	va_list ap;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, len);
	close(fd);
}

/* ---- watches ---- */

/* Hot folders are watched for created names and changed attributes
 * too: a symlink, a directory, a FIFO or a second link makes no
 * close-write, and is refused as soon as it appears (on_inotify). */
#define HOT_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB)

static int
add_watch(struct spoold *s, const char *rel, const char *folder,
    spool_err *err)
{
	char path[PATH_MAX];
	struct watch *w;
	int wd, r;

	if (spool_node_path(s->node, path, sizeof(path), rel) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_mkdirs(path, 0755, err)) != SPOOL_OK)
		return r;
	wd = inotify_add_watch(s->ifd, path, (folder[0] ? HOT_EVENTS :
	    IN_CLOSE_WRITE | IN_MOVED_TO) | IN_ONLYDIR);
	if (wd < 0)
		return spool_fail_sys(err, "cannot watch '%s'", path);
	if ((w = realloc(s->w, (s->nw + 1) * sizeof(*w))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	s->w = w;
	w[s->nw].wd = wd;
	snprintf(w[s->nw].folder, sizeof(w[s->nw].folder), "%s", folder);
	s->nw++;
	return SPOOL_OK;
}

static int
setup_watches(struct spoold *s, spool_err *err)
{
	const struct spool_config *c = s->node->cfg;
	char rel[128];
	size_t i;
	int r;

	if (s->ifd >= 0)
		close(s->ifd);
	free(s->w);
	s->w = NULL;
	s->nw = 0;
	if ((s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return spool_fail_sys(err, "inotify");
	for (i = 0; i < c->nfolders; i++) {
		snprintf(rel, sizeof(rel), "in/%s", c->folders[i].name);
		if ((r = add_watch(s, rel, c->folders[i].name, err)) !=
		    SPOOL_OK)
			return r;
	}
	return add_watch(s, "import", "", err);
}

/* ---- control socket ---- */

static void
setup_control(struct spoold *s)
{
	spool_err err;

	s->cfd = -1;
	if (spool_control_listen(s->node, &s->cfd, s->sock, sizeof(s->sock),
	    &err) == SPOOL_OK)
		return;
	s->sock[0] = '\0';
	if (err.code == SPOOL_ERR_USAGE)
		spool_daemon_log(s->d, "event=warning what=control reason="
		    "\"socket path too long; spoolctl flush works only while "
		    "spoold is stopped\"");
}

/* ---- steps ---- */

static int64_t
min_due(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

static void
step_failed(struct spoold *s, const char *what, const spool_err *err)
{
	spool_daemon_log(s->d, "event=error what=%s reason=%s", what,
	    spool_logq((char[600]){ 0 }, 600, err->msg));
}

/* Status files now (before answering a flush, and at stop). */
static void
status_now(struct spoold *s)
{
	spool_err err;

	s->next_status = 0;
	if (spool_status_flush(s->d, &err) != SPOOL_OK)
		step_failed(s, "status", &err);
}

static void sup_stop(struct spoold *s);

/* The store's file deleted or replaced under the daemon: writes would
 * go into a file nobody will read again.  Nothing more is taken,
 * batched, imported or run (the supervisor and its workers stop); status
 * and the log say why (spool_daemon_paused) and spoolctl refuses the
 * missing store with the reason. */
static int
store_lost(struct spoold *s)
{
	if (!spool_daemon_store_lost(s->d))
		return 0;
	if (!s->store_lost) {
		s->store_lost = 1;
		sup_stop(s);
		s->sup_restart = 0;
		s->next_store = 0;
		status_now(s);
	}
	return 1;
}

/* Status files soon: the steps of a burst share one rewrite, and a
 * request that moved twice in it is written once, in its last state. */
static void
status(struct spoold *s)
{
	if (s->next_status == 0)
		s->next_status = sched_now(s) + STATUS_DELAY_MS;
}

static void
do_intake(struct spoold *s, const char *folder, char *const *names,
    size_t n)
{
	int64_t retry = 0;
	spool_err err;
	int r, was_full = spool_daemon_paused(s->d) != NULL;
	struct spool_daemon_counts dc;
	uint64_t taken;

	if (store_lost(s))
		return;
	spool_daemon_counts(s->d, &dc);
	taken = dc.taken;

	if (folder == NULL)
		r = spool_intake_scan(s->d, &retry, &err);
	else
		r = spool_intake_folder(s->d, folder, names, n, &retry, &err);
	if (r != SPOOL_OK)
		step_failed(s, "intake", &err);
	if (retry)
		s->next_retry = min_due(s->next_retry, retry);
	if (spool_daemon_paused(s->d) != NULL)
		s->next_retry = min_due(s->next_retry, sched_now(s) +
		    DISK_RETRY_MS);
	if (was_full && spool_daemon_paused(s->d) == NULL)
		spool_daemon_log(s->d, "event=disk-ok what=intake");
	spool_daemon_counts(s->d, &dc);
	if (was_full != (spool_daemon_paused(s->d) != NULL) || dc.taken)
		status(s);
	/* new lines: the batcher runs once the events read so far are
	 * taken (loop): a full batch goes, the oldest's max_age is armed */
	if (dc.taken != taken)
		s->outbox_wanted = 1;
}

static void
do_outbox(struct spoold *s, int force)
{
	int64_t next = 0;
	spool_err err;

	s->outbox_wanted = 0;
	if (store_lost(s))
		return;
	if (spool_outbox_run(s->d, force, &next, &err) != SPOOL_OK)
		step_failed(s, "batch", &err);
	s->next_outbox = next;
	status(s);
}

static void
do_import(struct spoold *s, const char *name)
{
	spool_err err;
	int r;

	if (store_lost(s))
		return;
	r = name ? spool_inbox_take(s->d, name, &err) :
	    spool_inbox_scan(s->d, &err);
	if (r != SPOOL_OK)
		step_failed(s, "import", &err);
	s->next_import = min_due(s->next_import, spool_daemon_inbox_due(s->d));
	s->work_wanted = 1;
	status(s);
	/* an import may add lines (answers of duplicates, refusals) */
	s->outbox_wanted = 1;
}

/* "node/host/pid": unique across the hosts sharing a PostgreSQL queue;
 * "node/host/" (pid 0) names every worker of this host. */
static void
worker_name(const struct spoold *s, pid_t pid, char *out, size_t n)
{
	char host[65];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (pid > 0)
		snprintf(out, n, "%s/%s/%ld", s->node->cfg->name, host,
		    (long)pid);
	else
		snprintf(out, n, "%s/%s/", s->node->cfg->name, host);
}

/* A worker process: its own store connection, run tasks, exit. */
static void
worker_main(struct spoold *s)
{
	struct spool_daemon *cd = NULL;
	struct rlimit rl;
	char name[160];
	size_t ran;
	spool_err err;
	int r;

	sigset_t all;

	/* a worker dies with its daemon (its task's lease then runs out
	 * and the task runs again), and holds none of the daemon's
	 * descriptors: not the node lock, which a restarted daemon needs */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	close(s->ifd);
	close(s->sfd);
	close(s->tfd);
	if (s->cfd >= 0)
		close(s->cfd);
	close(s->wnote[0]);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
#if !defined(__SANITIZE_ADDRESS__)
	/* (a sanitizer build reserves terabytes of address space for its
	 * shadow memory: no address-space limit there) */
	if (s->node->cfg->memory_limit > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)s->node->cfg->memory_limit;
		setrlimit(RLIMIT_AS, &rl);
	}
#else
	(void)rl;
#endif
	worker_name(s, getpid(), name, sizeof(name));
	if (spool_daemon_fork_open(&cd, s->d, &err) != SPOOL_OK) {
		step_failed(s, "worker", &err);
		_exit(1);
	}
	r = spool_work_run(cd, name, s->wnote[1], &ran, &err);
	if (r != SPOOL_OK)
		step_failed(s, "worker", &err);
	if (spool_status_flush(cd, &err) != SPOOL_OK)
		step_failed(s, "status", &err);
	spool_daemon_close(cd);
	_exit(r == SPOOL_OK ? 0 : 1);
}

static void
spawn_workers(struct spoold *s)
{
	size_t want = (size_t)s->node->cfg->workers;
	pid_t pid;

	if (want > WORKERS_MAX)
		want = WORKERS_MAX;
	/* one more worker per wake-up, up to the configured count */
	if (s->nworkers >= want)
		return;
	fflush(stderr);
	if ((pid = fork()) < 0) {
		spool_daemon_log(s->d, "event=error what=worker reason="
		    "\"cannot fork\"");
		return;
	}
	if (pid == 0)
		worker_main(s);
	s->workers[s->nworkers++] = pid;
}

/* Results of what was processed put in the outbox.  When the store
 * refuses (busy, full, failing), they are tried again after a second,
 * then twice as long after each retry that fails, up to the slow
 * rescan's period: nothing else might come along to answer them. */
static void
answer(struct spoold *s)
{
	spool_err err;

	s->answered = sched_now(s);
	if (spool_answer_run(s->d, &err) == SPOOL_OK) {
		s->answer_backoff = 0;
		s->next_answer = 0;
		return;
	}
	step_failed(s, "answer", &err);
	if (s->next_answer == 0) {
		if (s->answer_backoff == 0)
			s->answer_backoff = ANSWER_RETRY_MS;
		s->next_answer = sched_now(s) + s->answer_backoff;
	}
}

static void
sweep(struct spoold *s)
{
	uint64_t requeued = 0, expired = 0;
	spool_err err;

	if (store_lost(s))
		return;
	if (spool_job_sweep(spool_daemon_store(s->d), &requeued, &expired, &err) != SPOOL_OK)
		step_failed(s, "sweep", &err);
	else if (requeued || expired) {
		spool_daemon_log(s->d, "event=sweep requeued=%llu expired=%llu",
		    (unsigned long long)requeued, (unsigned long long)expired);
		s->work_wanted = 1;
		if (expired)
			answer(s);
	}
}

static void sup_died(struct spoold *s, int status);

static void
reap(struct spoold *s)
{
	spool_err err;
	int status_, any = 0;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status_, WNOHANG)) > 0) {
		if (pid == s->sup) {
			sup_died(s, status_);
			continue;
		}
		for (i = 0; i < s->nworkers; i++)
			if (s->workers[i] == pid) {
				s->workers[i] = s->workers[--s->nworkers];
				break;
			}
		if (WIFSIGNALED(status_) || (WIFEXITED(status_) &&
		    WEXITSTATUS(status_) != 0)) {
			char name[160];
			uint64_t n = 0;

			/* its tasks run again now, not after their lease (one
			 * that failed has logged why) */
			worker_name(s, pid, name, sizeof(name));
			if (spool_store_worker_died(spool_daemon_store(s->d), name, &n, &err) !=
			    SPOOL_OK)
				step_failed(s, "reap", &err);
			if (WIFSIGNALED(status_))
				spool_daemon_log(s->d, "event=worker-died pid=%ld "
				    "signal=%d tasks=%llu", (long)pid,
				    WTERMSIG(status_), (unsigned long long)n);
			if (n > 0)
				sweep(s);
		}
		any = 1;
	}
	if (!any)
		return;
	/* what the workers finished is answered now */
	answer(s);
	s->work_wanted = 1;
	do_outbox(s, 0);
}

/* ---- the worker pools' supervisor ---- */

/* In the supervisor, first: nothing of spoold's but the node's config. */
static void
sup_child(void *arg)
{
	struct spoold *s = arg;

	close(s->ifd);
	close(s->sfd);
	close(s->tfd);
	if (s->cfd >= 0)
		close(s->cfd);
	close(s->wnote[0]);
	close(s->wnote[1]);
	if (ready_fd >= 0) /* the operator waits for spoold's word only */
		close(ready_fd);
	ready_fd = -1;
	spool_daemon_forget(s->d);
}

static void
sup_start(struct spoold *s)
{
	s->sup = spool_supervise_start(s->node,
	    spool_store_sched_base(spool_daemon_store(s->d)), &s->sup_wake,
	    &s->sup_note,
	    sup_child, s);
	if (s->sup < 0) {
		s->sup = 0;
		s->sup_restart = sched_now(s) + 1000;
		spool_daemon_log(s->d, "event=error what=supervisor reason="
		    "\"cannot fork\"");
		return;
	}
	s->nnote = 0;
	s->sup_restart = 0;
	spool_daemon_log(s->d, "event=supervisor-started pid=%ld",
	    (long)s->sup);
}

static void
sup_stop(struct spoold *s)
{
	if (s->sup <= 0)
		return;
	kill(s->sup, SIGTERM);
	waitpid(s->sup, NULL, 0);
	close(s->sup_wake);
	close(s->sup_note);
	s->sup = 0;
}

/* The supervisor ended (its workers die with it: PDEATHSIG). */
static void
sup_died(struct spoold *s, int status)
{
	char name[200];
	uint64_t n = 0;
	spool_err err;

	/* its workers' tasks run again now, not when their leases end */
	worker_name(s, s->sup, name, sizeof(name) - 1);
	strcat(name, "/");
	if (spool_store_worker_died(spool_daemon_store(s->d), name, &n, &err) !=
	    SPOOL_OK)
		step_failed(s, "reap", &err);
	else if (n > 0)
		s->work_wanted = 1;
	close(s->sup_wake);
	close(s->sup_note);
	s->sup = 0;
	s->sup_backoff = s->sup_backoff ? s->sup_backoff * 2 : 1000;
	if (s->sup_backoff > 30000)
		s->sup_backoff = 30000;
	s->sup_restart = sched_now(s) + s->sup_backoff;
	spool_daemon_log(s->d, "event=supervisor-died status=%d signal=%d "
	    "restart_ms=%lld", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0,
	    (long long)s->sup_backoff);
}

/* What workers finished: answered, batched, status rewritten. */
static void
answer_now(struct spoold *s)
{
	answer(s);
	do_outbox(s, 0);
	status(s);
}

/* Transfer runners recorded deliveries (and go on): answered now, or
 * a second after answers last ran (a runner notes every group it
 * records, and may then stay busy, or stopped, for a long time). */
static void
runner_notes(struct spoold *s)
{
	int64_t at = s->answered + NOTE_ANSWER_MS;
	char b[64];

	while (read(s->wnote[0], b, sizeof(b)) > 0)
		;
	if (store_lost(s))
		return;
	if (sched_now(s) >= at)
		answer_now(s);
	else if (s->next_answer == 0 || s->next_answer > at)
		s->next_answer = at;
}

/* Requests the workers changed: answered, batched, status rewritten. */
static void
sup_notes(struct spoold *s)
{
	char *nl;
	ssize_t r;
	int any = 0;

	while ((r = read(s->sup_note, s->note + s->nnote,
	    sizeof(s->note) - s->nnote - 1)) > 0) {
		s->nnote += (size_t)r;
		while ((nl = memchr(s->note, '\n', s->nnote)) != NULL) {
			*nl = '\0';
			if (strncmp(s->note, "changed ", 8) == 0)
				spool_daemon_changed(s->d, s->note + 8);
			any = 1;
			s->nnote -= (size_t)(nl + 1 - s->note);
			memmove(s->note, nl + 1, s->nnote);
		}
		if (s->nnote >= sizeof(s->note) - 1)
			s->nnote = 0; /* a line too long: dropped */
	}
	if (!any)
		return;
	s->sup_backoff = 0;
	answer_now(s);
}

static void
maybe_work(struct spoold *s)
{
	uint64_t runnable = 0;
	int64_t next = 0;
	spool_err err;

	if (!s->work_wanted && s->next_work == 0)
		return;
	if (store_lost(s)) {
		s->work_wanted = 0;
		s->next_work = 0;
		return;
	}
	if (s->work_wanted && s->sup > 0)
		(void)!write(s->sup_wake, "w", 1);
	s->work_wanted = 0;
	s->next_work = 0;
	if (spool_store_work_due(spool_daemon_store(s->d), "transfer",
	    &runnable, &next, &err) !=
	    SPOOL_OK) {
		step_failed(s, "work", &err);
		return;
	}
	if (runnable > 0)
		spawn_workers(s);
	if (next > 0)
		s->next_work = next;
	else if (runnable > 0 && s->nworkers > 0)
		s->next_work = sched_now(s) + WORK_POLL_MS;
}

/* ---- events ---- */

/* Names of complete files per hot folder, gathered from a burst of
 * events so that intake takes them as groups (one syncfs and one
 * transaction per group, not per file). */
struct pending {
	char **v;
	size_t n, cap;
};

static void
pending_add(struct pending *p, const char *name)
{
	char *d;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *x = realloc(p->v, cap * sizeof(*p->v));

		if (x == NULL)
			return; /* the slow rescan takes it */
		p->v = x;
		p->cap = cap;
	}
	if ((d = strdup(name)) != NULL)
		p->v[p->n++] = d;
}

static void
pending_run(struct spoold *s, struct pending *p, size_t i)
{
	size_t k;

	if (p->n == 0)
		return;
	do_intake(s, s->w[i].folder, p->v, p->n);
	for (k = 0; k < p->n; k++)
		free(p->v[k]);
	p->n = 0;
}

#define PENDING_MAX 4096 /* names gathered before intake runs */

/* A name created in a hot folder, or whose attributes changed: 1 if it
 * is something intake refuses (not a regular file, or a file with
 * another link), so it is refused now; a regular file with one link is
 * taken only once complete (close-write, moved in). */
static int
refused_now(struct spoold *s, const char *folder, const char *name,
    uint32_t mask)
{
	char rel[PATH_MAX], path[PATH_MAX];
	struct stat sb;

	if (mask & IN_ISDIR)
		return 1;
	if ((size_t)snprintf(rel, sizeof(rel), "in/%s/%s", folder, name) >=
	    sizeof(rel) || spool_node_path(s->node, path, sizeof(path), rel) !=
	    0 || lstat(path, &sb) != 0)
		return 0; /* gone, or the slow rescan sees it */
	return !S_ISREG(sb.st_mode) || sb.st_nlink != 1;
}

static void
on_inotify(struct spoold *s)
{
	char buf[64 * 1024] __attribute__((aligned(8)));
	struct pending *pend;
	size_t i, total = 0;
	ssize_t n;
	char *p;

	if ((pend = calloc(s->nw ? s->nw : 1, sizeof(*pend))) == NULL) {
		s->rescan = 1;
		return;
	}
	for (;;) {
		n = read(s->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				spool_daemon_log(s->d, "event=overflow "
				    "what=inotify action=rescan");
				s->rescan = 1;
				continue;
			}
			if (e->len == 0 || spool_intake_ignored(e->name))
				continue;
			for (i = 0; i < s->nw; i++)
				if (s->w[i].wd == e->wd)
					break;
			if (i == s->nw)
				continue;
			if (s->w[i].folder[0] == '\0') {
				char bn[NAME_MAX + 1];

				/* import takes the pair once it is complete */
				if (spool_pair_batch_of(e->name, bn, sizeof(bn)))
					do_import(s, bn);
				continue;
			}
			if (!(e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) &&
			    !refused_now(s, s->w[i].folder, e->name, e->mask))
				continue;
			pending_add(&pend[i], e->name);
			if (++total >= PENDING_MAX) {
				for (i = 0; i < s->nw; i++)
					pending_run(s, &pend[i], i);
				total = 0;
			}
		}
	}
	for (i = 0; i < s->nw; i++) {
		pending_run(s, &pend[i], i);
		free(pend[i].v);
	}
	free(pend);
}

/* Requests on the control socket (spool/flow/control.h): a flush takes
 * what is in the folders now and batches everything pending. */
static void
on_control(struct spoold *s)
{
	int64_t next;
	int fd;

	while ((fd = accept4(s->cfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		next = s->next_outbox;
		spool_control_serve(s->d, fd, &next);
		s->next_outbox = next;
		status_now(s);
		close(fd);
	}
}

static void
on_signal(struct spoold *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			s->stop = 1;
			break;
		case SIGHUP:
			s->reload = 1;
			break;
		case SIGCHLD:
			reap(s);
			break;
		}
	}
}

/* SIGHUP when detached: the log file again, for logrotate (which moved
 * it away); until it can be opened, the old one goes on. */
static void
reopen_log(struct spoold *s)
{
	int fd;

	if (s->logfile[0] == '\0')
		return;
	if ((fd = open(s->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) < 0) {
		spool_daemon_log(s->d, "event=error what=log reason=%s",
		    spool_logq((char[600]){ 0 }, 600, strerror(errno)));
		return;
	}
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	spool_daemon_log(s->d, "event=log-reopened");
}

static void
reload(struct spoold *s)
{
	struct spool_diag diag = { NULL, 0 };
	struct spool_node *n = NULL;
	spool_err err;
	size_t i;

	s->reload = 0;
	reopen_log(s);
	notify("RELOADING=1");
	if (spool_node_open(&n, s->config, &diag, &err) != SPOOL_OK) {
		for (i = 0; i < diag.n; i++)
			spool_daemon_log(s->d, "event=reload-failed reason=%s",
			    spool_logq((char[600]){ 0 }, 600, diag.lines[i]));
		if (diag.n == 0)
			step_failed(s, "reload", &err);
		spool_diag_release(&diag);
		notify("READY=1");
		return;
	}
	spool_diag_release(&diag);
	if (strcmp(n->cfg->name, s->node->cfg->name) != 0 ||
	    strcmp(n->cfg->root, s->node->cfg->root) != 0 ||
	    strcmp(n->cfg->store_url, s->node->cfg->store_url) != 0) {
		spool_daemon_log(s->d, "event=reload-failed reason=\"node "
		    "name, root and store url change only at restart; the "
		    "configuration in use is kept\"");
		spool_node_free(n);
		notify("READY=1");
		return;
	}
	spool_node_free(s->node);
	s->node = n;
	spool_daemon_set_node(s->d, n);
	if (setup_watches(s, &err) != SPOOL_OK)
		step_failed(s, "reload", &err);
	spool_daemon_log(s->d, "event=reloaded folders=%zu",
	    n->cfg->nfolders);
	/* the pools as the new configuration has them */
	sup_stop(s);
	if (!s->store_lost)
		sup_start(s);
	s->rescan = 1;
	notify("READY=1");
}

static void
arm_timer(struct spoold *s)
{
	struct itimerspec it;
	int64_t due = 0, now = sched_now(s), d;

	due = min_due(due, s->next_rescan);
	due = min_due(due, s->next_sweep);
	due = min_due(due, s->next_outbox);
	due = min_due(due, s->next_retry);
	due = min_due(due, s->next_work);
	due = min_due(due, s->next_watchdog);
	due = min_due(due, s->next_gc);
	due = min_due(due, s->next_status);
	due = min_due(due, s->sup_restart);
	due = min_due(due, s->next_store);
	due = min_due(due, s->next_import);
	due = min_due(due, s->next_answer);
	memset(&it, 0, sizeof(it));
	d = due - now;
	if (d < 1)
		d = 1;
	it.it_value.tv_sec = d / 1000;
	it.it_value.tv_nsec = (d % 1000) * 1000000;
	timerfd_settime(s->tfd, 0, &it, NULL);
}

static void
on_timer(struct spoold *s)
{
	uint64_t ticks;
	int64_t now = sched_now(s);

	(void)!read(s->tfd, &ticks, sizeof(ticks));
	if (s->next_watchdog && now >= s->next_watchdog) {
		notify("WATCHDOG=1");
		s->next_watchdog = now + s->watchdog_ms;
	}
	if (now >= s->next_rescan) {
		s->rescan = 1;
		s->next_rescan = now + RESCAN_MS;
	}
	if (s->next_retry && now >= s->next_retry) {
		s->next_retry = 0;
		spool_daemon_unpause(s->d); /* try again */
		do_intake(s, NULL, NULL, 0);
	}
	if (now >= s->next_sweep) {
		sweep(s);
		s->next_sweep = now + SWEEP_MS;
	}
	if (s->next_outbox && now >= s->next_outbox)
		do_outbox(s, 0);
	if (s->next_work && now >= s->next_work)
		s->work_wanted = 1;
	if (s->next_status && now >= s->next_status)
		status_now(s);
	if (s->next_import && now >= s->next_import) {
		s->next_import = 0;
		do_import(s, NULL);
	}
	if (s->next_answer && now >= s->next_answer) {
		s->next_answer = 0; /* (not again with the store lost) */
		s->answer_backoff *= 2; /* for the next retry, if this fails */
		if (s->answer_backoff > RESCAN_MS)
			s->answer_backoff = RESCAN_MS;
		if (!store_lost(s))
			answer_now(s);
	}
	if (s->next_store && now >= s->next_store) {
		s->next_store = now + STORE_CHECK_MS;
		(void)store_lost(s);
	}
	if (s->sup == 0 && s->sup_restart && now >= s->sup_restart)
		sup_start(s);
	if (now >= s->next_gc && !store_lost(s)) {
		struct spool_gc_stats gs;
		spool_err err;

		if (spool_gc_run(s->d, &gs, &err) != SPOOL_OK)
			step_failed(s, "gc", &err);
		s->next_gc = now + GC_MS;
		status(s);
	}
}

static void
rescan(struct spoold *s)
{
	spool_err err;

	s->rescan = 0;
	spool_daemon_unpause(s->d);
	if (spool_intake_recover(s->d, &err) != SPOOL_OK)
		step_failed(s, "intake", &err);
	do_intake(s, NULL, NULL, 0);
	do_import(s, NULL);
	do_outbox(s, 0);
}

static int
loop(struct spoold *s)
{
	struct spool_daemon_counts n;
	struct pollfd p[6];
	char st[160];
	nfds_t np;

	while (!s->stop) {
		if (s->reload)
			reload(s);
		if (s->rescan)
			rescan(s);
		if (s->outbox_wanted)
			do_outbox(s, 0);
		maybe_work(s);
		arm_timer(s);
		spool_daemon_counts(s->d, &n);
		snprintf(st, sizeof(st), "STATUS=taken %llu, batches written "
		    "%llu, imported %llu, quarantined %llu",
		    (unsigned long long)n.taken, (unsigned long long)n.written,
		    (unsigned long long)n.imported,
		    (unsigned long long)n.quarantined);
		notify("%s", st);
		p[0] = (struct pollfd){ s->ifd, POLLIN, 0 };
		p[1] = (struct pollfd){ s->sfd, POLLIN, 0 };
		p[2] = (struct pollfd){ s->tfd, POLLIN, 0 };
		p[3] = (struct pollfd){ s->cfd, POLLIN, 0 };
		p[4] = (struct pollfd){ s->sup > 0 ? s->sup_note : -1, POLLIN,
		    0 };
		p[5] = (struct pollfd){ s->wnote[0], POLLIN, 0 };
		np = 6;
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[1].revents)
			on_signal(s);
		if (s->stop)
			break;
		if (p[0].revents)
			on_inotify(s);
		if (p[2].revents)
			on_timer(s);
		if (s->cfd >= 0 && p[3].revents)
			on_control(s);
		if (s->sup > 0 && p[4].revents)
			sup_notes(s);
		if (p[5].revents)
			runner_notes(s);
	}
	return 0;
}

static const char usage_text[] =
    "usage: spoold [-c FILE] [-f | --foreground]\n"
    "       spoold [-c FILE] -T | --print-config\n"
    "       spoold -h | --help | --version\n"
    "options:\n"
    "  -c, --config FILE   the node's configuration (default: $SPOOL_CONFIG)\n"
    "  -f, --foreground    stay attached, log to stderr\n"
    "  -T, --print-config  check the configuration, print every key, exit\n"
    "  -h, --help          this help\n"
    "      --version       spool's version\n"
    "See spoold(8).\n";

/* A usage error: one line saying why (what, quoted), then the usage;
 * exit 2. */
static void __attribute__((noreturn))
usage_error(const char *why, const char *what)
{
	fprintf(stderr, "spoold: %s%s%s%s\n%s", why, what ? " '" : "",
	    what ? what : "", what ? "'" : "", usage_text);
	exit(2);
}

/* Without --foreground the process started by the operator waits until
 * the daemon is ready or has failed, and says which: its exit status and
 * stderr are where the operator (or an init script) looks.  The daemon
 * writes "ok\n" or "error: REASON\n" on this pipe, once. */
static void
ready_say(const char *reason)
{
	char line[SPOOL_ERR_MSG_MAX + 16];
	int n;

	if (ready_fd < 0)
		return;
	n = snprintf(line, sizeof(line), reason ? "error: %s\n" : "ok\n",
	    reason);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	(void)!write(ready_fd, line, (size_t)n);
	close(ready_fd);
	ready_fd = -1;
}

/* In the operator's process: wait for the daemon's word. */
static int
ready_wait(int fd, const char *log)
{
	char buf[SPOOL_ERR_MSG_MAX + 16];
	size_t n = 0;
	ssize_t k;

	/* one line (a process the daemon started may hold the pipe too) */
	while (n < sizeof(buf) - 1 && memchr(buf, '\n', n) == NULL &&
	    (k = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)k;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "ok") == 0)
		return 0;
	if (strncmp(buf, "error: ", 7) == 0)
		fprintf(stderr, "spoold: %s\n", buf + 7);
	else
		fprintf(stderr, "spoold: the daemon ended while starting "
		    "(see '%s')\n", log);
	return 1;
}

/* Without --foreground: detach, and log to <root>/spoold.log; the
 * caller's process waits for ready_say. */
static int
detach(const struct spool_node *n, char path[PATH_MAX])
{
	pid_t pid;
	int fd, p[2];

	if (spool_node_path(n, path, PATH_MAX, "spoold.log") != 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fflush(stderr);
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		_exit(ready_wait(p[0], path));
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	dup2(fd, 2);
	close(fd);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/* Before the node's log is there (a bad configuration, a start that
 * fails): "spoold: what" for the operator, priority err for the journal. */
static void
say_err(const char *msg)
{
	fprintf(stderr, "%sspoold: %s\n", spool_log_to_journal() ? "<3>" : "",
	    msg);
}

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "print-config", no_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct spool_diag diag = { NULL, 0 };
	struct spoold s;
	sigset_t mask;
	spool_err err;
	int print = 0, fg = 0, i, rc;
	size_t k;
	const char *wd;

	memset(&s, 0, sizeof(s));
	s.ifd = s.sfd = s.tfd = s.cfd = -1;
	s.wnote[0] = s.wnote[1] = -1;
	s.config = getenv("SPOOL_CONFIG");
	opterr = 0;
	while ((i = getopt_long(argc, argv, ":c:fhT", longopts, NULL)) != -1) {
		switch (i) {
		case 'c': s.config = optarg; break;
		case 'f': fg = 1; break;
		case 'T': print = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("spoold (spool) %s\n", spool_version()); return 0;
		case ':':
			usage_error("a value is needed by option",
			    argv[optind - 1]);
		default:
			/* a long option as written; a short one by itself */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				usage_error("unknown option", argv[optind - 1]);
			usage_error("unknown option", (char[3]){ '-',
			    (char)optopt, 0 });
		}
	}
	if (optind < argc)
		usage_error("unexpected argument", argv[optind]);
	if (s.config == NULL)
		usage_error("which node? (-c FILE, or SPOOL_CONFIG)", NULL);
	if (spool_node_open(&s.node, s.config, &diag, &err) != SPOOL_OK) {
		for (k = 0; k < diag.n; k++)
			say_err(diag.lines[k]);
		if (diag.n == 0)
			say_err(err.msg);
		spool_diag_release(&diag);
		return 1;
	}
	spool_diag_release(&diag);
	if (print) {
		rc = spool_config_print(s.node->cfg, stdout) == SPOOL_OK ? 0 : 1;
		spool_node_free(s.node);
		return rc;
	}
	/* freed memory stays in the process up to 64 MiB: the store's
	 * statements and batch buffers come and go at a high rate */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	/* detach first: the store's connection and locks belong to the
	 * process that runs, never carried across a fork */
	if (!fg && getenv("NOTIFY_SOCKET") == NULL &&
	    detach(s.node, s.logfile) != 0) {
		say_err("cannot detach");
		ready_say("cannot detach");
		return 1;
	}
	if (spool_daemon_open(&s.d, s.node, 0, &err) != SPOOL_OK) {
		say_err(err.msg);
		ready_say(err.msg);
		spool_node_free(s.node);
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s.sfd < 0 || s.tfd < 0 ||
	    pipe2(s.wnote, O_CLOEXEC | O_NONBLOCK) != 0) {
		say_err("cannot set up signals and timers");
		ready_say("cannot set up signals and timers");
		return 1;
	}
	spool_daemon_log(s.d, "event=starting pid=%ld config=%s",
	    (long)getpid(), spool_logq((char[600]){ 0 }, 600, s.config));
	if (setup_watches(&s, &err) != SPOOL_OK ||
	    spool_daemon_recover(s.d, &err) != SPOOL_OK) {
		step_failed(&s, "start", &err);
		ready_say(err.msg);
		spool_daemon_close(s.d);
		spool_node_free(s.node);
		return 1;
	}
	setup_control(&s);
	if ((wd = getenv("WATCHDOG_USEC")) != NULL &&
	    strtoll(wd, NULL, 10) > 0) {
		s.watchdog_ms = strtoll(wd, NULL, 10) / 2000;
		if (s.watchdog_ms < 1)
			s.watchdog_ms = 1;
		s.next_watchdog = sched_now(&s);
	}
	{
		/* the workers of an earlier daemon here died with it: their
		 * tasks run again now, not when their leases run out */
		char name[160];
		uint64_t n = 0;

		worker_name(&s, 0, name, sizeof(name));
		if (spool_store_worker_died(spool_daemon_store(s.d), name, &n, &err) != SPOOL_OK)
			step_failed(&s, "start", &err);
		else if (n > 0)
			spool_daemon_log(s.d, "event=leases-released tasks=%llu",
			    (unsigned long long)n);
	}
	s.next_rescan = sched_now(&s) + RESCAN_MS;
	s.next_sweep = sched_now(&s);
	s.next_gc = sched_now(&s) + GC_MS;
	s.next_store = sched_now(&s) + STORE_CHECK_MS;
	s.work_wanted = 1;
	rescan(&s);
	answer(&s);
	sup_start(&s);
	if (spool_daemon_announce(s.d, &err) != SPOOL_OK)
		step_failed(&s, "start", &err);
	notify("READY=1");
	spool_daemon_log(s.d, "event=ready folders=%zu",
	    s.node->cfg->nfolders);
	ready_say(NULL);
	rc = loop(&s);
	sup_stop(&s);
	status_now(&s);
	notify("STOPPING=1");
	spool_daemon_log(s.d, "event=stopping workers=%zu", s.nworkers);
	for (k = 0; k < s.nworkers; k++)
		kill(s.workers[k], SIGTERM);
	while (s.nworkers > 0 && waitpid(-1, NULL, 0) > 0)
		s.nworkers--;
	if (s.sock[0] != '\0')
		unlink(s.sock);
	spool_daemon_close(s.d);
	spool_node_free(s.node);
	free(s.w);
	return rc;
}

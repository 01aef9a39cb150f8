/*
 * daemon.c - the context of a running node: its lock, store, schemas and
 * key; the event log.  The flows use it; it calls none of them (steps.c
 * runs them in sequence).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/base/fsutil.h"
#include "spool/base/logfmt.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/reaper.h"
#include "spool/format/manifest.h"
#include "spool/format/schema.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

int
spool_idlist_add(struct spool_idlist *l, const char *id)
{
	/* repeats are dropped when the list is used (status.c sorts it) */
	if (l->n > 0 && strcmp(l->v[l->n - 1], id) == 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], SPOOL_ID_MAX, "%s", id);
	return 0;
}

/* ---- the log ----------------------------------------------------------- */

static const char *const level_names[] = {
	"err", "warning", "notice", "info", "debug"
};

/* How severe each event is: one table, so `journalctl -p warning` and
 * [log] level mean the same everywhere.  An event not listed is info. */
static const struct {
	const char *event;
	int level;
} event_levels[] = {
	{ "error", SPOOL_LOG_ERR },
	{ "reload-failed", SPOOL_LOG_ERR },
	{ "warning", SPOOL_LOG_WARNING },
	{ "worker-exited", SPOOL_LOG_WARNING },
	{ "task-timeout", SPOOL_LOG_WARNING },
	{ "task-lost", SPOOL_LOG_WARNING },
	{ "gdal_warning", SPOOL_LOG_WARNING },
	{ "vector_layer_failed", SPOOL_LOG_WARNING },
	{ "worker_bad_line", SPOOL_LOG_WARNING },
	{ "worker_line_too_long", SPOOL_LOG_WARNING },
	{ "worker_bad_task", SPOOL_LOG_WARNING },
	{ "worker_sandbox_failed", SPOOL_LOG_ERR },
	{ "worker-sandbox", SPOOL_LOG_ERR },
	{ "worker-exec", SPOOL_LOG_ERR },
	{ "rejected", SPOOL_LOG_WARNING },
	{ "quarantined", SPOOL_LOG_WARNING },
	{ "disk-full", SPOOL_LOG_WARNING },
	{ "overflow", SPOOL_LOG_WARNING },
	{ "worker-died", SPOOL_LOG_WARNING },
	{ "task-failed", SPOOL_LOG_WARNING },
	{ "gap", SPOOL_LOG_WARNING },
	{ "notice", SPOOL_LOG_NOTICE },
	{ "starting", SPOOL_LOG_NOTICE },
	{ "ready", SPOOL_LOG_NOTICE },
	{ "stopping", SPOOL_LOG_NOTICE },
	{ "reloaded", SPOOL_LOG_NOTICE },
	{ "disk-ok", SPOOL_LOG_NOTICE },
	{ "leases-released", SPOOL_LOG_NOTICE },
	{ "duplicate", SPOOL_LOG_NOTICE },
	{ "gc", SPOOL_LOG_NOTICE },
	{ "log-reopened", SPOOL_LOG_NOTICE },
	{ "sweep", SPOOL_LOG_DEBUG },
};

int
spool_log_event_level(const char *event, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(event_levels) / sizeof(event_levels[0]); i++)
		if (strlen(event_levels[i].event) == len &&
		    memcmp(event_levels[i].event, event, len) == 0)
			return event_levels[i].level;
	return SPOOL_LOG_INFO;
}

const char *
spool_log_level_name(int level)
{
	if (level < SPOOL_LOG_ERR || level > SPOOL_LOG_DEBUG)
		return "info";
	return level_names[level];
}

/* Is stderr the journal's stream (systemd sets JOURNAL_STREAM=dev:ino
 * for a service whose output goes there)?  Then lines start with "<N>",
 * the syslog priority, which journald reads. */
int
spool_log_to_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

/* The one place a log line is made.  level < 0: the level of the event
 * the text names ("event=NAME ..."). */
static void
emit(const char *node, int max_level, int journal, int level,
    const char *fmt, va_list ap)
{
	char text[1800], ts[40], prefix[16] = "";
	const char *ev;
	struct timespec now;
	struct tm tm;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (level < 0) {
		ev = strncmp(text, "event=", 6) == 0 ? text + 6 : "";
		level = spool_log_event_level(ev, strcspn(ev, " "));
	}
	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* syslog's priorities: err 3, warning 4, notice 5, info 6, debug 7 */
	if (journal)
		snprintf(prefix, sizeof(prefix), "<%d>", level + 3);
	/* one write per line: workers share the stream */
	fprintf(stderr, "%stime=%s.%03ldZ level=%s node=%s %s\n", prefix, ts,
	    now.tv_nsec / 1000000, spool_log_level_name(level), node, text);
}

static void
emitf(struct spool_daemon *d, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(d->node->cfg->name, d->node->cfg->log_level, d->journal, level,
	    fmt, ap);
	va_end(ap);
}

static void
vlog(struct spool_daemon *d, int level, const char *fmt, va_list ap)
{
	struct spool_held_log *p;
	char text[1800];

	if (d->hlogging) {
		vsnprintf(text, sizeof(text), fmt, ap);
		p = realloc(d->hlog, (d->nhlog + 1) * sizeof(*p));
		if (p != NULL) {
			d->hlog = p;
			if ((p[d->nhlog].text = strdup(text)) != NULL) {
				p[d->nhlog++].level = level;
				return;
			}
		}
		/* no memory to hold it: said now rather than lost */
		emitf(d, level, "%s", text);
		return;
	}
	emit(d->node->cfg->name, d->node->cfg->log_level, d->journal, level,
	    fmt, ap);
}

void
spool_daemon_log_hold(struct spool_daemon *d)
{
	spool_daemon_log_release(d, 0);
	d->hlogging = 1;
}

void
spool_daemon_log_release(struct spool_daemon *d, int write)
{
	size_t i;

	d->hlogging = 0;
	for (i = 0; i < d->nhlog; i++) {
		if (write)
			emitf(d, d->hlog[i].level, "%s", d->hlog[i].text);
		free(d->hlog[i].text);
	}
	free(d->hlog);
	d->hlog = NULL;
	d->nhlog = 0;
}

void
spool_daemon_log(struct spool_daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(d, -1, fmt, ap);
	va_end(ap);
}

void
spool_log(const struct spool_config *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(c ? c->name : "-", c ? c->log_level : SPOOL_LOG_INFO,
	    spool_log_to_journal(), -1, fmt, ap);
	va_end(ap);
}

void
spool_logl(const struct spool_config *c, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(c ? c->name : "-", c ? c->log_level : SPOOL_LOG_INFO,
	    spool_log_to_journal(), level, fmt, ap);
	va_end(ap);
}

void
spool_daemon_logl(struct spool_daemon *d, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(d, level, fmt, ap);
	va_end(ap);
}

static int
lock_node(struct spool_daemon *d, int wait, spool_err *err)
{
	char path[PATH_MAX], pid[32];
	int fd, n;

	if (spool_node_path(d->node, path, sizeof(path), "store/lock") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return spool_fail_sys(err, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		int e = errno;

		n = (int)pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (e == EWOULDBLOCK)
			return spool_fail(err, SPOOL_ERR_BUSY, "the node is "
			    "in use by process %s", pid[0] ? pid : "?");
		errno = e;
		return spool_fail_sys(err, "cannot lock '%s'", path);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		close(fd);
		return spool_fail_sys(err, "cannot write '%s'", path);
	}
	d->lock_fd = fd;
	return SPOOL_OK;
}

/* store/lock of a running spoold: "PID\nspoold since=MS\n", and a
 * write lock (fcntl, per process: not inherited by workers) on its first
 * byte.  flock (the node lock) cannot be tested without being taken,
 * and taking it, even shared and for an instant, could make a starting
 * daemon find the node in use; F_GETLK only looks. */
int
spool_daemon_announce(struct spool_daemon *d, spool_err *err)
{
	struct flock fl;
	char buf[96];
	int n;

	if (d->lock_fd < 0)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "the node is not "
		    "locked");
	n = snprintf(buf, sizeof(buf), "%ld\nspoold since=%lld\n",
	    (long)getpid(), (long long)d->started);
	if (pwrite(d->lock_fd, buf, (size_t)n, 0) != n ||
	    ftruncate(d->lock_fd, n) != 0)
		return spool_fail_sys(err, "cannot write the node lock");
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(d->lock_fd, F_SETLK, &fl) != 0)
		return spool_fail_sys(err, "cannot mark the node lock");
	return SPOOL_OK;
}

int
spool_daemon_probe(const struct spool_node *n, long *pid, int64_t *since_ms)
{
	char path[PATH_MAX], buf[96], *p;
	struct flock fl;
	ssize_t k;
	int fd;

	*pid = 0;
	*since_ms = 0;
	if (spool_node_path(n, path, sizeof(path), "store/lock") != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) != 0) {
		close(fd);
		return -1;
	}
	if (fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	*pid = (long)fl.l_pid;
	k = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[k > 0 ? k : 0] = '\0';
	if ((p = strstr(buf, "since=")) != NULL)
		*since_ms = strtoll(p + 6, NULL, 10);
	return 1;
}

int
spool_daemon_open(struct spool_daemon **out, struct spool_node *n, int wait,
    spool_err *err)
{
	static const char *const dirs[] = { "store/intake", "store/blobs",
		"store/tmp", "store/work", "store/reap", "results/by-name", "delivered",
		"status", "rejected", "quarantine", "archive/sent",
		"archive/received", "import", "out" };
	struct spool_daemon *d;
	char path[PATH_MAX];
	size_t i;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	d->node = n;
	d->started = spool_now_ms();
	d->lock_fd = d->store_fd = -1;
	d->journal = spool_log_to_journal();
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (spool_node_path(n, path, sizeof(path), dirs[i]) != 0) {
			r = spool_fail(err, SPOOL_ERR_USAGE, "path too long");
			goto fail;
		}
		if ((r = spool_mkdirs(path, strncmp(dirs[i], "store", 5) == 0 ?
		    0700 : 0755, err)) != SPOOL_OK)
			goto fail;
	}
	/* results are each their user's: others may pass through results/
	 * and by-name/ to what is theirs, not list what is not */
	if (spool_node_path(n, path, sizeof(path), "results") == 0)
		chmod(path, 0711);
	if (spool_node_path(n, path, sizeof(path), "results/by-name") == 0)
		chmod(path, 0711);
	if ((r = lock_node(d, wait, err)) != SPOOL_OK ||
	    (r = spool_reaper_start(d, err)) != SPOOL_OK)
		goto fail;
	spool_node_path(n, path, sizeof(path), "store");
	if ((d->store_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = spool_fail_sys(err, "cannot open '%s'", path);
		goto fail;
	}
	if ((r = spool_store_open_config(&d->st, n->cfg, err)) != SPOOL_OK ||
	    (r = spool_manifest_new(&d->manifest, err)) != SPOOL_OK ||
	    (r = spool_schema_load(&d->request_schema, "request", err)) !=
	    SPOOL_OK ||
	    (r = spool_node_seckey(n, &d->sk, err)) != SPOOL_OK)
		goto fail;
	{
		struct stat sb;

		if (spool_store_config_file(n->cfg, d->store_file,
		    sizeof(d->store_file)) == 0 &&
		    stat(d->store_file, &sb) == 0) {
			d->store_dev = (uint64_t)sb.st_dev;
			d->store_ino = (uint64_t)sb.st_ino;
		} else
			d->store_file[0] = '\0';
	}
	*out = d;
	return SPOOL_OK;
fail:
	spool_daemon_close(d);
	return r;
}

int
spool_daemon_fork_open(struct spool_daemon **out, struct spool_daemon *parent,
    spool_err *err)
{
	struct spool_daemon *d;
	int r;

	if (parent->lock_fd >= 0)
		close(parent->lock_fd);
	parent->lock_fd = -1;
	if ((d = malloc(sizeof(*d))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	*d = *parent;
	/* a worker signs nothing: the key is not in this process */
	spool_seckey_wipe(&parent->sk);
	spool_seckey_wipe(&d->sk);
	d->forked = 1;
	memset(&d->changed, 0, sizeof(d->changed));
	d->held = NULL; /* the parent's */
	d->nheld = 0;
	d->hlog = NULL;
	d->nhlog = 0;
	d->hlogging = 0;
	d->reaper = NULL; /* the daemon's thread is not in this process */
	d->st = NULL;
	if ((r = spool_store_open_config(&d->st, d->node->cfg, err)) !=
	    SPOOL_OK) {
		free(d);
		return r;
	}
	/* one schedule for the daemon and its workers (leases, retries) */
	spool_store_set_sched_base(d->st, spool_store_sched_base(parent->st));
	*out = d;
	return SPOOL_OK;
}

void
spool_daemon_changed(struct spool_daemon *d, const char *id)
{
	if (spool_uuid_ok(id))
		spool_idlist_add(&d->changed, id);
}

void
spool_daemon_forget(struct spool_daemon *d)
{
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	spool_seckey_wipe(&d->sk);
}

void
spool_daemon_close(struct spool_daemon *d)
{
	if (d == NULL)
		return;
	if (!d->forked)
		spool_reaper_stop(d);
	spool_store_close(d->st);
	free(d->changed.v);
	spool_daemon_log_release(d, 0);
	if (d->forked) {
		/* the rest is the parent's */
		free(d);
		return;
	}
	free(d->held);
	spool_manifest_free(d->manifest);
	spool_schema_free(d->request_schema);
	spool_seckey_wipe(&d->sk);
	if (d->store_fd >= 0)
		close(d->store_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d);
}

struct spool_store *
spool_daemon_store(struct spool_daemon *d)
{
	return d->st;
}

void
spool_daemon_set_node(struct spool_daemon *d, struct spool_node *n)
{
	d->node = n;
}

int
spool_daemon_store_lost(struct spool_daemon *d)
{
	struct stat sb;
	const char *what;

	if (d->store_lost || d->store_file[0] == '\0')
		return d->store_lost;
	if (stat(d->store_file, &sb) == 0) {
		if ((uint64_t)sb.st_dev == d->store_dev &&
		    (uint64_t)sb.st_ino == d->store_ino)
			return 0;
		what = "replaced by another file";
	} else if (errno == ENOENT)
		what = "deleted";
	else
		return 0; /* cannot tell now: the next look will */
	d->store_lost = 1;
	snprintf(d->store_lost_why, sizeof(d->store_lost_why), "the store "
	    "%s was %s under the running daemon: nothing more is taken, "
	    "batched or imported; put it back and restart spoold",
	    d->store_file, what);
	spool_daemon_log(d, "event=error what=store reason=%s",
	    LQ(d->store_lost_why));
	return 1;
}

const char *
spool_daemon_paused(const struct spool_daemon *d)
{
	size_t i;

	if (d->store_lost)
		return d->store_lost_why;
	if (d->disk_full)
		return d->disk_full_why;
	/* a file waiting for room pauses intake for itself only */
	for (i = 0; i < d->nheld; i++)
		if (d->held[i].room)
			return d->held[i].why;
	return NULL;
}

void
spool_daemon_unpause(struct spool_daemon *d)
{
	d->disk_full = 0;
}

void
spool_daemon_counts(const struct spool_daemon *d,
    struct spool_daemon_counts *c)
{
	c->taken = d->taken;
	c->rejected = d->rejected;
	c->imported = d->imported;
	c->quarantined = d->quarantined;
	c->written = d->written;
}

int
spool_daemon_sync(struct spool_daemon *d, spool_err *err)
{
	if (syncfs(d->store_fd) != 0)
		return spool_fail_sys(err, "cannot sync the node's filesystem");
	return SPOOL_OK;
}

void
spool_time_ms(char out[32], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms % 1000 != 0)
		snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
	else
		snprintf(out + n, 32 - n, "Z");
}

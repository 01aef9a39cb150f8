/*
 * daemon.c - the context of a running node: its lock, store, schemas and
 * key; the event log.  The flows use it; it calls none of them (steps.c
 * runs them in sequence).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/base/fsutil.h"
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

/* Quote a log value when it holds anything but [A-Za-z0-9_./:@+-]. */
const char *
spool_logq(char *buf, size_t n, const char *s)
{
	const char *p;
	size_t o = 0;

	if (s == NULL)
		return "-";
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("_./:@+-,", *p)))
			break;
	if (*p == '\0' && p != s)
		return s;
	buf[o++] = '"';
	for (p = s; *p && o + 5 < n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void
spool_daemon_log(struct spool_daemon *d, const char *fmt, ...)
{
	char line[2048], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int w;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line, sizeof(line), "time=%s.%03ldZ node=%s ", ts,
	    now.tv_nsec / 1000000, d->node->cfg->name);
	va_start(ap, fmt);
	vsnprintf(line + w, sizeof(line) - (size_t)w, fmt, ap);
	va_end(ap);
	if (d->log != NULL)
		d->log(d->log_arg, line);
	else
		fprintf(stderr, "%s\n", line);
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
	d->forked = 1;
	memset(&d->changed, 0, sizeof(d->changed));
	d->held = NULL; /* the parent's */
	d->nheld = 0;
	d->reaper = NULL; /* the daemon's thread is not in this process */
	d->st = NULL;
	if ((r = spool_store_open_config(&d->st, d->node->cfg, err)) !=
	    SPOOL_OK) {
		free(d);
		return r;
	}
	*out = d;
	return SPOOL_OK;
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

const char *
spool_daemon_paused(const struct spool_daemon *d)
{
	size_t i;

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

/*
 * reaper.c - removing files that are done with, off the daemon's loop.
 *
 * A committed claimed file must leave store/intake/, and unlink() of a
 * file whose blocks are on the device can wait for the device (a
 * filesystem mounted with -o discard trims them then: about a third of
 * a millisecond a file on the machines we measured, which is most of the
 * cost of taking a small file).  So the loop only renames it into
 * store/reap/ under a name of its own (a rename frees no blocks), and one
 * thread unlinks whatever is there once intake (and the batcher, which
 * a burst now interleaves with it) has been quiet for a second (ext4 skips recently freed inodes when it makes new ones, so
 * deletes in the middle of a burst slow every file created after them),
 * or 30 s after the first file waited, or at once when the disk is full.
 * Nothing in store/reap/ is referred to by anything: a crash leaves files
 * there, the next start removes them.  The thread never touches the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/reaper.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

#define QUIET_MS 1000     /* no new work for this long: reap */
#define DELAY_MAX_MS 30000 /* or when the oldest waited this long */

struct spool_reaper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;            /* CLOCK_MONOTONIC */
	unsigned kicks;               /* under mu: work was added */
	int64_t first, last;          /* under mu: ms of the first and last
	                                 kick since the last pass */
	int urgent;                   /* under mu: reap now */
	atomic_int stop;
	char dir[PATH_MAX];           /* store/reap */
};

/* Unlink everything in store/reap/ (once; until asked to stop). */
static void
reap_pass(struct spool_reaper *rp)
{
	struct dirent *e;
	DIR *dp;

	if ((dp = opendir(rp->dir)) == NULL)
		return;
	while (!atomic_load(&rp->stop) && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void)unlinkat(dirfd(dp), e->d_name, 0);
	}
	closedir(dp);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
reaper_main(void *arg)
{
	struct spool_reaper *rp = arg;
	unsigned seen = 0;
	int64_t now, due;

	pthread_mutex_lock(&rp->mu);
	while (!atomic_load(&rp->stop)) {
		if (rp->kicks == seen) {
			pthread_cond_wait(&rp->cv, &rp->mu);
			continue;
		}
		now = mono_ms();
		due = rp->last + QUIET_MS;
		if (due > rp->first + DELAY_MAX_MS)
			due = rp->first + DELAY_MAX_MS;
		if (!rp->urgent && now < due) {
			struct timespec ts = { (time_t)(due / 1000),
				(long)(due % 1000) * 1000000 };

			pthread_cond_timedwait(&rp->cv, &rp->mu, &ts);
			continue;
		}
		seen = rp->kicks;
		rp->urgent = 0;
		rp->first = rp->last = 0;
		pthread_mutex_unlock(&rp->mu);
		reap_pass(rp);
		pthread_mutex_lock(&rp->mu);
	}
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

int
spool_reaper_start(struct spool_daemon *d, spool_err *err)
{
	struct spool_reaper *rp;
	pthread_condattr_t ca;
	int e;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (spool_node_path(d->node, rp->dir, sizeof(rp->dir), "store/reap") !=
	    0) {
		free(rp);
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	}
	pthread_mutex_init(&rp->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rp->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&rp->stop, 0);
	rp->kicks = 1; /* what a crash left there */
	rp->urgent = 1;
	if ((e = spool_thread_start(&rp->thread, reaper_main, rp)) != 0) {
		pthread_cond_destroy(&rp->cv);
		pthread_mutex_destroy(&rp->mu);
		free(rp);
		errno = e;
		return spool_fail_sys(err, "cannot start a thread");
	}
	d->reaper = rp;
	return SPOOL_OK;
}

void
spool_reaper_kick(struct spool_daemon *d, int now)
{
	struct spool_reaper *rp = d->reaper;
	int64_t t = mono_ms();

	if (rp == NULL)
		return;
	pthread_mutex_lock(&rp->mu);
	if (rp->first == 0)
		rp->first = t;
	rp->last = t;
	rp->kicks++;
	rp->urgent |= now;
	pthread_cond_signal(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
}

void
spool_reaper_busy(struct spool_daemon *d)
{
	struct spool_reaper *rp = d->reaper;

	if (rp == NULL)
		return;
	pthread_mutex_lock(&rp->mu);
	if (rp->first != 0 && !rp->urgent)
		rp->last = mono_ms(); /* the thread's wait ends later */
	pthread_mutex_unlock(&rp->mu);
}

void
spool_reaper_stop(struct spool_daemon *d)
{
	struct spool_reaper *rp = d->reaper;

	if (rp == NULL)
		return;
	pthread_mutex_lock(&rp->mu);
	atomic_store(&rp->stop, 1);
	pthread_cond_signal(&rp->cv);
	pthread_mutex_unlock(&rp->mu);
	pthread_join(rp->thread, NULL);
	pthread_cond_destroy(&rp->cv);
	pthread_mutex_destroy(&rp->mu);
	free(rp);
	d->reaper = NULL;
}

int
spool_reap(struct spool_daemon *d, const char *path, const char *id)
{
	char dst[PATH_MAX + SPOOL_ID_MAX + 2];

	if (d->reaper != NULL) {
		snprintf(dst, sizeof(dst), "%s/%s", d->reaper->dir, id);
		if (rename(path, dst) == 0)
			return 1;
		if (errno == ENOENT && access(path, F_OK) != 0)
			return 1;
	}
	return unlink(path) == 0 || errno == ENOENT;
}

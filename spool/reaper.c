/*
 * reaper.c - removing files that are done with, off the daemon's loop.
 *
 * A committed claimed file must leave store/intake/, and unlink() of a
 * file whose blocks are on the device can wait for the device (a
 * filesystem mounted with -o discard trims them then: about a third of
 * a millisecond a file on the machines we measured, which is most of the
 * cost of taking a small file).  So the loop only renames it into
 * store/reap/ under a name of its own (a rename frees no blocks), and one
 * thread unlinks whatever is there.  Nothing in store/reap/ is referred
 * to by anything: a crash leaves files there, the next start removes
 * them.  The thread never touches the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "fsutil.h"
#include "util.h"

struct spool_reaper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned kicks;               /* under mu: work was added */
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

static void *
reaper_main(void *arg)
{
	struct spool_reaper *rp = arg;
	unsigned seen = 0;

	pthread_mutex_lock(&rp->mu);
	while (!atomic_load(&rp->stop)) {
		if (rp->kicks == seen) {
			pthread_cond_wait(&rp->cv, &rp->mu);
			continue;
		}
		seen = rp->kicks;
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
	int e;

	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (spool_node_path(d->node, rp->dir, sizeof(rp->dir), "store/reap") !=
	    0) {
		free(rp);
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	}
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->cv, NULL);
	atomic_init(&rp->stop, 0);
	rp->kicks = 1; /* what a crash left there */
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
spool_reaper_kick(struct spool_daemon *d)
{
	struct spool_reaper *rp = d->reaper;

	if (rp == NULL)
		return;
	pthread_mutex_lock(&rp->mu);
	rp->kicks++;
	pthread_cond_signal(&rp->cv);
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

/*
 * gc.c - retention: what a node keeps, and for how long ([retention]).
 *
 *   archive  batches in archive/sent/ and archive/received/, by age
 *   results  results/<id>/ folders (and by-name links to them), and the
 *            blobs of final requests with nothing left to send
 *   status   status/<id>.json of final requests
 *   jobs     finished jobs with their stages, tasks and events
 *   seen     the ledger of seen batches (never past the contiguous mark)
 * A duration of 0 keeps forever (seen is at least a day).  Blobs nobody
 * refers to any more are removed, each with a lineage event "purged";
 * files under store/blobs/ the store never recorded (a crash, a refused
 * import) go once they are an hour old.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/gc.h"
#include "spool/flow/results.h"
#include "spool/flow/status.h"
#include "spool/job/job.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/blobref.h"
#include "spool/store/blobstore.h"
#include "spool/store/lineage.h"
#include "spool/store/store.h"

static int64_t
mtime_ms(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec /
	    1000000;
}

/* Files of dir older than cutoff (whose name passes keep == NULL or
 * keep(name) == 0) are removed; directories with remove_dir. */
static uint64_t
expire_dir(const char *dir, int64_t cutoff, int dirs)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 3];
	struct dirent *e, *f;
	struct stat sb;
	uint64_t n = 0;
	DIR *dp, *sub;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &sb) != 0 || mtime_ms(&sb) >= cutoff)
			continue;
		if (S_ISREG(sb.st_mode) && !dirs) {
			n += unlink(p) == 0;
		} else if (S_ISDIR(sb.st_mode) && dirs) {
			if ((sub = opendir(p)) != NULL) {
				while ((f = readdir(sub)) != NULL) {
					if (strcmp(f->d_name, ".") == 0 ||
					    strcmp(f->d_name, "..") == 0)
						continue;
					snprintf(q, sizeof(q), "%s/%s", p,
					    f->d_name);
					unlink(q);
				}
				closedir(sub);
			}
			n += rmdir(p) == 0;
		}
	}
	closedir(dp);
	return n;
}

static int
add_id(void *arg, const struct spool_store_row *row)
{
	return spool_idlist_add(arg, row->col[0]) == 0 ? 0 : SPOOL_ERR_NOMEM;
}

struct orphans {
	struct spool_daemon *d;
	uint64_t n, bytes;
	spool_err *err;
};

static int
on_orphan(void *arg, const char *hash, const char *path)
{
	struct orphans *o = arg;
	char ref[SPOOL_REF_MAX];
	struct stat sb;
	int r;

	if (lstat(path, &sb) == 0) {
		if (unlink(path) != 0)
			return spool_fail_sys(o->err, "cannot remove '%s'", path);
		o->bytes += (uint64_t)sb.st_size;
	}
	if ((r = spool_store_blob_forget(o->d->st, hash, o->err)) != SPOOL_OK)
		return r;
	snprintf(ref, sizeof(ref), "file:%s", hash);
	o->n++;
	return spool_lineage_link(o->d->st, "purged", 0, NULL, NULL,
	    (const char *[]){ ref }, 1, NULL, 0, o->err);
}

#define STRAY_GRACE_MS (3600 * 1000)

/* Files under store/blobs/ the store has no row for (left by a crash, a
 * refused import, a group that failed), older than an hour. */
static uint64_t
stray_blobs(struct spool_daemon *d, int64_t now, uint64_t *bytes)
{
	char dir[PATH_MAX], sub[PATH_MAX * 2], p[PATH_MAX * 3];
	struct dirent *e, *f;
	struct stat sb;
	uint64_t n = 0;
	DIR *dp, *sp;
	int has;

	spool_node_path(d->node, dir, sizeof(dir), "store/blobs");
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL) {
		if (strlen(e->d_name) != 2)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if ((sp = opendir(sub)) == NULL)
			continue;
		while ((f = readdir(sp)) != NULL) {
			if (strlen(f->d_name) != SPOOL_HASH_HEXLEN)
				continue;
			snprintf(p, sizeof(p), "%s/%s", sub, f->d_name);
			if (lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode) ||
			    mtime_ms(&sb) > now - STRAY_GRACE_MS)
				continue;
			if (spool_store_blob_has(d->st, f->d_name, &has,
			    NULL) != SPOOL_OK || has)
				continue;
			if (unlink(p) == 0) {
				n++;
				*bytes += (uint64_t)sb.st_size;
			}
		}
		closedir(sp);
	}
	closedir(dp);
	return n;
}

void
spool_gc_format(const struct spool_gc_stats *gs, char *out, size_t n)
{
	snprintf(out, n, "jobs=%llu seen=%llu archive=%llu results=%llu "
	    "released=%llu status=%llu blobs=%llu bytes=%llu",
	    (unsigned long long)gs->jobs, (unsigned long long)gs->seen,
	    (unsigned long long)gs->archived, (unsigned long long)gs->results,
	    (unsigned long long)gs->released, (unsigned long long)gs->status,
	    (unsigned long long)gs->blobs, (unsigned long long)gs->blob_bytes);
}

int
spool_gc_run(struct spool_daemon *d, struct spool_gc_stats *gs,
    spool_err *err)
{
	const struct spool_config *c = d->node->cfg;
	int64_t now = spool_now_ms();
	char dir[PATH_MAX], p[PATH_MAX + 64], line[256];
	struct orphans o = { d, 0, 0, err };
	struct spool_idlist ids = { NULL, 0, 0 };
	size_t i;
	int r;

	memset(gs, 0, sizeof(*gs));
	if (c->keep_jobs > 0 && (r = spool_job_prune(d->st, now -
	    (int64_t)c->keep_jobs * 1000, &gs->jobs, err)) != SPOOL_OK)
		return r;
	if ((r = spool_store_seen_prune(d->st, now - (int64_t)c->keep_seen *
	    1000, &gs->seen, err)) != SPOOL_OK)
		return r;
	if (c->keep_archive > 0) {
		int64_t cut = now - (int64_t)c->keep_archive * 1000;

		spool_node_path(d->node, dir, sizeof(dir), "archive/sent");
		gs->archived = expire_dir(dir, cut, 0);
		spool_node_path(d->node, dir, sizeof(dir), "archive/received");
		gs->archived += expire_dir(dir, cut, 0);
	}
	if (c->keep_results > 0) {
		int64_t cut = now - (int64_t)c->keep_results * 1000;

		spool_node_path(d->node, dir, sizeof(dir), "results");
		gs->results = expire_dir(dir, cut, 1);
		spool_node_path(d->node, dir, sizeof(dir), "results/by-name");
		spool_results_drop_dangling(dir);
		/* blobs of answered requests, and their delivery ledgers */
		if ((r = spool_store_releasable(d->st, cut, 100000, add_id, &ids,
		    err)) < 0)
			goto out;
		for (i = 0; i < ids.n; i++) {
			if ((r = spool_store_blob_release(d->st, ids.v[i], err)) !=
			    SPOOL_OK)
				goto out;
			spool_node_path(d->node, dir, sizeof(dir),
			    "store/work/delivered");
			snprintf(p, sizeof(p), "%s/%s", dir, ids.v[i]);
			unlink(p);
		}
		gs->released = ids.n;
	}
	if (c->keep_status > 0) {
		/* status files of requests that moved no more since */
		spool_node_path(d->node, dir, sizeof(dir), "status");
		gs->status = spool_status_expire(d->st, dir, now -
		    (int64_t)c->keep_status * 1000);
	}
	if ((r = spool_store_blob_orphans(d->st, on_orphan, &o, err)) !=
	    SPOOL_OK)
		goto out;
	gs->blobs = o.n + stray_blobs(d, now, &o.bytes);
	gs->blob_bytes = o.bytes;
	spool_gc_format(gs, line, sizeof(line));
	spool_daemon_log(d, "event=gc %s", line);
	r = SPOOL_OK;
out:
	free(ids.v);
	return r;
}

/*
 * results.c - what a requesting node's users find: results/<id>/ with the
 * output files and result.json, and results/by-name/<folder>/<name>
 * pointing at the newest result of that file name.
 *
 * A result folder is built under a temp name in results/ and renamed into
 * place, so a reader sees all of it or none; writing it again (an import
 * redone after a crash) replaces it with the same content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/results.h"
#include "spool/node/node.h"
#include "spool/store/blobstore.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

/* rm -r of a folder spool made (files and no subfolders). */
void
spool_results_remove(const char *dir)
{
	char p[PATH_MAX + NAME_MAX + 2];
	struct dirent *e;
	DIR *dp;

	if ((dp = opendir(dir)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(dp);
	}
	rmdir(dir);
}

/* by-name/<folder>/<name> -> ../../<id>, replaced atomically. */
static int
link_by_name(const char *rdir, const char *folder, const char *name,
    const char *id, spool_err *err)
{
	char dir[PATH_MAX], lnk[PATH_MAX + NAME_MAX + 2], tmp[PATH_MAX + 64];
	char target[SPOOL_ID_MAX + 8];
	int r;

	if (snprintf(dir, sizeof(dir), "%s/by-name/%s", rdir, folder) >=
	    (int)sizeof(dir))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_mkdirs(dir, 0755, err)) != SPOOL_OK)
		return r;
	snprintf(lnk, sizeof(lnk), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.link.%s.tmp", dir, id);
	snprintf(target, sizeof(target), "../../%s", id);
	unlink(tmp);
	if (symlink(target, tmp) != 0)
		return spool_fail_sys(err, "cannot link '%s'", tmp);
	if (rename(tmp, lnk) != 0) {
		r = spool_fail_sys(err, "cannot link '%s'", lnk);
		unlink(tmp);
		return r;
	}
	return spool_fsync_dir(dir, err);
}

/* The blob hex (size bytes) as NAME in the folder being built (dfd, new
 * and ours: O_EXCL, no links followed).  Not fsync'd one by one: the
 * import syncs the filesystem once before its commit, and an import
 * redone after a crash writes the folder again. */
static int
put_file(struct spool_daemon *d, int dfd, const char *name, const char *hex,
    uint64_t size, spool_err *err)
{
	char src[PATH_MAX];
	int in, out, r;

	if (spool_blob_path(d->node->root, hex, src) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return spool_fail_sys(err, "cannot open blob %s", hex);
	if ((out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) < 0) {
		r = spool_fail_sys(err, "cannot create '%s'", name);
		close(in);
		return r;
	}
	r = spool_copy_fd(in, src, out, name, size, NULL, err);
	close(in);
	if (close(out) != 0 && r == SPOOL_OK)
		r = spool_fail_sys(err, "cannot write '%s'", name);
	return r;
}

int
spool_results_write(struct spool_daemon *d, const json_t *item,
    const struct spool_request_info *ri, spool_err *err)
{
	const char *req = json_string_value(json_object_get(item, "request"));
	const json_t *files = json_object_get(item, "files"), *f;
	json_t *v;
	char rdir[PATH_MAX], tmp[PATH_MAX + 64], final[PATH_MAX + 64];
	char old[PATH_MAX + 64], p[PATH_MAX * 2];
	char name[NAME_MAX + 1], now[32];
	json_t *doc = NULL, *outs = NULL, *used = NULL, *next = NULL;
	char *text = NULL;
	size_t i;
	unsigned k;
	int r, dfd = -1;

	spool_node_path(d->node, rdir, sizeof(rdir), "results");
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", rdir, req);
	snprintf(final, sizeof(final), "%s/%s", rdir, req);
	spool_results_remove(tmp);
	if (mkdir(tmp, 0755) != 0)
		return spool_fail_sys(err, "cannot create '%s'", tmp);
	if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		r = spool_fail_sys(err, "cannot open '%s'", tmp);
		spool_results_remove(tmp);
		return r;
	}
	if ((outs = json_array()) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the folder is new: the names taken are the ones written, kept
	 * here (with the next variant to try for each name) so that a name
	 * used many times costs no search on disk */
	if ((used = json_object()) == NULL || (next = json_object()) == NULL ||
	    json_object_set_new(used, "result.json", json_true()) != 0) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(files, i, f) {
		const char *fname = json_string_value(json_object_get(f, "name"));

		/* result.json is ours; a name used twice gets a variant */
		k = (unsigned)json_integer_value(json_object_get(next, fname));
		for (k = k ? k : 1;; k++) {
			if (k == 1)
				snprintf(name, sizeof(name), "%s", fname);
			else if (spool_name_variant(name, sizeof(name), fname,
			    k) != 0) {
				r = spool_fail(err, SPOOL_ERR_FORMAT, "no name "
				    "for output '%s'", fname);
				goto out;
			}
			if (json_object_get(used, name) == NULL)
				break;
		}
		if (json_object_set_new(next, fname, json_integer(k + 1)) != 0 ||
		    json_object_set_new(used, name, json_true()) != 0) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((r = put_file(d, dfd, name, json_string_value(
		    json_object_get(f, "blob")), (uint64_t)json_integer_value(
		    json_object_get(f, "size")), err)) != SPOOL_OK)
			goto out;
		json_array_append_new(outs, json_pack("{s:s, s:O, s:O}", "name",
		    name, "size", json_object_get(f, "size"), "blake2b",
		    json_object_get(f, "blob")));
	}
	spool_time_ms(now, spool_now_ms());
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "request",
	    req, "result", json_string_value(json_object_get(item, "id")),
	    "status", json_string_value(json_object_get(item, "status")),
	    "type", ri->type, "name", ri->name, "folder", ri->folder,
	    "received", now, "files", outs);
	outs = NULL;
	if (doc == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((v = (json_t *)json_object_get(item, "error")) != NULL)
		json_object_set(doc, "error", v);
	if ((v = (json_t *)json_object_get(item, "started")) != NULL)
		json_object_set(doc, "started", v);
	if ((v = (json_t *)json_object_get(item, "finished")) != NULL)
		json_object_set(doc, "finished", v);
	json_object_set_new(doc, "lineage_events", json_integer((json_int_t)
	    json_array_size(json_object_get(item, "lineage"))));
	if ((text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(p, sizeof(p), "%s/result.json", tmp);
	if ((r = spool_write_file_atomic(p, text, strlen(text), 0644, err)) !=
	    SPOOL_OK)
		goto out;
	/* into place: an older folder of the same request is replaced */
	snprintf(old, sizeof(old), "%s/.%s.old", rdir, req);
	spool_results_remove(old);
	if (rename(final, old) != 0 && errno != ENOENT) {
		r = spool_fail_sys(err, "cannot replace '%s'", final);
		goto out;
	}
	if (rename(tmp, final) != 0) {
		r = spool_fail_sys(err, "cannot rename into '%s'", final);
		goto out;
	}
	spool_results_remove(old);
	if ((r = spool_fsync_dir(rdir, err)) != SPOOL_OK)
		goto out;
	r = link_by_name(rdir, ri->folder[0] ? ri->folder : "pack", ri->name,
	    req, err);
out:
	if (dfd >= 0)
		close(dfd);
	json_decref(used);
	json_decref(next);
	json_decref(outs);
	json_decref(doc);
	free(text);
	if (r != SPOOL_OK)
		spool_results_remove(tmp);
	return r;
}

/* by-name links whose result folder is gone. */
void
spool_results_drop_dangling(const char *byname)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 3];
	struct dirent *e, *f;
	struct stat sb;
	DIR *dp, *sub;

	if ((dp = opendir(byname)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", byname, e->d_name);
		if ((sub = opendir(p)) == NULL)
			continue;
		while ((f = readdir(sub)) != NULL) {
			if (f->d_name[0] == '.')
				continue;
			snprintf(q, sizeof(q), "%s/%s", p, f->d_name);
			if (stat(q, &sb) != 0 && errno == ENOENT)
				unlink(q);
		}
		closedir(sub);
		rmdir(p); /* only if empty */
	}
	closedir(dp);
}

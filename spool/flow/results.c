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
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

/* ---- who may read a result -------------------------------------------- */

/* A result is its user's (and the operators' group's): results/<id>/ and
 * results/by-name/<user>/ are mode 0750, the files 0640, group the
 * [node] operators group (else spoold's own).  Running as root, spoold
 * makes the user their owner; as a service user (which may not chown) it
 * keeps them and gives the user read access by a POSIX ACL entry. */
struct access {
	uid_t uid;     /* the user's, or -1 unknown */
	gid_t gid;     /* the group's, or -1: leave it */
	int root;      /* may chown */
};

static void
access_of(struct spool_daemon *d, const char *user, struct access *a)
{
	struct passwd pw, *pr = NULL;
	struct group gr, *g = NULL;
	char buf[4096];
	unsigned long n;
	char *end;

	a->uid = (uid_t)-1;
	a->gid = (gid_t)-1;
	a->root = geteuid() == 0;
	if (user != NULL && getpwnam_r(user, &pw, buf, sizeof(buf), &pr) ==
	    0 && pr != NULL)
		a->uid = pr->pw_uid;
	else if (user != NULL && strncmp(user, "uid", 3) == 0 &&
	    (n = strtoul(user + 3, &end, 10), *end == '\0' && end != user + 3))
		a->uid = (uid_t)n; /* spool_owner_name's name of a bare uid */
	if (d->node->cfg->operators != NULL && getgrnam_r(
	    d->node->cfg->operators, &gr, buf, sizeof(buf), &g) == 0 &&
	    g != NULL)
		a->gid = g->gr_gid;
}

/* The POSIX ACL "owner, user uid and the group may read (and enter)",
 * as the kernel takes it (system.posix_acl_access, version 2). */
static int
set_acl(int fd, uid_t uid, int dir)
{
	struct { uint16_t tag, perm; uint32_t id; } __attribute__((packed)) e[5];
	uint8_t buf[4 + sizeof(e)];
	uint16_t r = dir ? 5 : 4, own = dir ? 7 : 6;
	uint32_t v = htole32(2);
	size_t i;

	e[0].tag = 0x01; e[0].perm = own; e[0].id = 0xffffffffu;   /* USER_OBJ */
	e[1].tag = 0x02; e[1].perm = r;   e[1].id = (uint32_t)uid; /* USER */
	e[2].tag = 0x04; e[2].perm = r;   e[2].id = 0xffffffffu;   /* GROUP_OBJ */
	e[3].tag = 0x10; e[3].perm = r;   e[3].id = 0xffffffffu;   /* MASK */
	e[4].tag = 0x20; e[4].perm = 0;   e[4].id = 0xffffffffu;   /* OTHER */
	for (i = 0; i < 5; i++) {
		e[i].tag = htole16(e[i].tag);
		e[i].perm = htole16(e[i].perm);
		e[i].id = htole32(e[i].id);
	}
	memcpy(buf, &v, 4);
	memcpy(buf + 4, e, sizeof(e));
	return fsetxattr(fd, "system.posix_acl_access", buf, sizeof(buf), 0);
}

/* Give fd (a directory or a file of a result) to its user and group.
 * Said once per daemon when the user cannot be given access. */
static int
grant(struct spool_daemon *d, int fd, const struct access *a, int dir,
    const char *what, spool_err *err)
{
	mode_t mode = dir ? 0750 : 0640;

	if (a->root) {
		if (fchown(fd, a->uid, a->gid) != 0)
			return spool_fail_sys(err, "cannot give '%s' to its "
			    "user", what);
	} else if (a->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, a->gid) != 0)
		return spool_fail_sys(err, "cannot give '%s' to the operators' "
		    "group (is the spool user in it?)", what);
	if (fchmod(fd, mode) != 0)
		return spool_fail_sys(err, "cannot chmod '%s'", what);
	if (!a->root && a->uid != (uid_t)-1 && a->uid != geteuid() &&
	    set_acl(fd, a->uid, dir) != 0 && !d->acl_said) {
		d->acl_said = 1;
		spool_daemon_log(d, "event=warning what=results reason=%s",
		    LQ("results are readable by the operators' group only: "
		    "spoold may not chown and the filesystem takes no ACL "
		    "entry for their user"));
	}
	return SPOOL_OK;
}

/* mkdir -p of by-name/<user>/<folder> under rdir, each made its user's. */
static int
by_name_dir(struct spool_daemon *d, const char *rdir, const char *user,
    const char *folder, const struct access *a, char *out, size_t n,
    spool_err *err)
{
	const char *parts[2] = { user, folder };
	size_t i;
	int fd, r;

	if (snprintf(out, n, "%s/by-name", rdir) >= (int)n)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	for (i = 0; i < 2; i++) {
		size_t l = strlen(out);

		if (snprintf(out + l, n - l, "/%s", parts[i]) >= (int)(n - l))
			return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		if (mkdir(out, 0700) != 0 && errno != EEXIST)
			return spool_fail_sys(err, "cannot create '%s'", out);
		if ((fd = open(out, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			return spool_fail_sys(err, "cannot open '%s'", out);
		r = grant(d, fd, a, 1, out, err);
		close(fd);
		if (r != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* A user's name as a path component: as is when it is one. */
static const char *
user_dir(const char *user)
{
	return user != NULL && user[0] != '.' && spool_item_name_ok(user) ?
	    user : "unknown";
}

/* by-name/<user>/<folder>/<name> -> ../../../<id>, replaced atomically:
 * each user finds their own files' results, nobody else's. */
static int
link_by_name(struct spool_daemon *d, const char *rdir, const char *user,
    const char *folder, const char *name, const char *id,
    const struct access *a, spool_err *err)
{
	char dir[PATH_MAX], lnk[PATH_MAX + NAME_MAX + 2], tmp[PATH_MAX + 64];
	char target[SPOOL_ID_MAX + 16];
	int r;

	if ((r = by_name_dir(d, rdir, user_dir(user), folder, a, dir,
	    sizeof(dir), err)) != SPOOL_OK)
		return r;
	snprintf(lnk, sizeof(lnk), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.link.%s.tmp", dir, id);
	snprintf(target, sizeof(target), "../../../%s", id);
	unlink(tmp);
	if (symlink(target, tmp) != 0)
		return spool_fail_sys(err, "cannot link '%s'", tmp);
	if (a->root && lchown(tmp, a->uid, a->gid) != 0) {
		r = spool_fail_sys(err, "cannot give '%s' to its user", tmp);
		unlink(tmp);
		return r;
	}
	if (rename(tmp, lnk) != 0) {
		r = spool_fail_sys(err, "cannot link '%s'", lnk);
		unlink(tmp);
		return r;
	}
	return spool_fsync_dir(dir, err);
}

/* The blob hex (size bytes) as NAME in the folder being built (dfd, new
 * and ours: O_EXCL, no links followed), its user's before it has bytes.
 * Not fsync'd one by one: the import syncs the filesystem once before
 * its commit, and an import redone after a crash writes the folder
 * again. */
static int
put_file(struct spool_daemon *d, int dfd, const char *name, const char *hex,
    uint64_t size, const struct access *a, spool_err *err)
{
	char src[PATH_MAX];
	int in, out, r;

	if (spool_blob_path(d->node->root, hex, src) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return spool_fail_sys(err, "cannot open blob %s", hex);
	if ((out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		r = spool_fail_sys(err, "cannot create '%s'", name);
		close(in);
		return r;
	}
	if ((r = grant(d, out, a, 0, name, err)) == SPOOL_OK)
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
	char old[PATH_MAX + 64];
	char name[NAME_MAX + 1], now[32];
	json_t *doc = NULL, *outs = NULL, *used = NULL, *next = NULL;
	char *text = NULL;
	size_t i;
	unsigned k;
	struct access a;
	int r, dfd = -1;

	spool_node_path(d->node, rdir, sizeof(rdir), "results");
	access_of(d, ri->user, &a);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", rdir, req);
	snprintf(final, sizeof(final), "%s/%s", rdir, req);
	spool_results_remove(tmp);
	if (mkdir(tmp, 0700) != 0)
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
		    json_object_get(f, "size")), &a, err)) != SPOOL_OK)
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
	/* what the workers reported (a raster's bounds, a query's rows),
	 * beside ours, never over them */
	json_object_update_missing(doc, json_object_get(item, "summary"));
	if ((text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		int fd = openat(dfd, "result.json", O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0) {
			r = spool_fail_sys(err, "cannot create '%s/result.json'",
			    tmp);
			goto out;
		}
		if ((r = grant(d, fd, &a, 0, "result.json", err)) == SPOOL_OK)
			r = spool_write_all(fd, text, strlen(text), err);
		if (close(fd) != 0 && r == SPOOL_OK)
			r = spool_fail_sys(err, "cannot write result.json");
		/* the folder is its user's before it has its name */
		if (r == SPOOL_OK)
			r = grant(d, dfd, &a, 1, tmp, err);
		if (r != SPOOL_OK)
			goto out;
	}
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
	r = link_by_name(d, rdir, ri->user, ri->folder[0] ? ri->folder :
	    "pack", ri->name, req, &a, err);
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

/* Links under dir whose result folder is gone; then dir itself if
 * empty.  depth: directory levels still below (user, folder). */
static void
drop_dangling(const char *dir, int depth)
{
	char p[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' || snprintf(p, sizeof(p), "%s/%s", dir,
		    e->d_name) >= (int)sizeof(p) || lstat(p, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode) && depth > 0) {
			drop_dangling(p, depth - 1);
			rmdir(p); /* only if empty */
		}
		else if (S_ISLNK(sb.st_mode) && stat(p, &sb) != 0 &&
		    errno == ENOENT)
			unlink(p);
	}
	closedir(dp);
}

/* by-name links whose result folder is gone, and folders left empty. */
void
spool_results_drop_dangling(const char *byname)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *dp;

	if ((dp = opendir(byname)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' || snprintf(p, sizeof(p), "%s/%s",
		    byname, e->d_name) >= (int)sizeof(p))
			continue;
		drop_dangling(p, 1);
		rmdir(p); /* only if empty */
	}
	closedir(dp);
}

/*
 * batch_unpack.c - verify a batch, then write its payloads into a folder.
 *
 * Blobs stream into a private staging directory beside DIR while the
 * batch is verified; only when every check passed do they appear in DIR
 * under their item names.  Everything is done relative to directory
 * descriptors opened once (openat, linkat, unlinkat), so nobody who can
 * write DIR's parent can redirect a write or swap a staged blob after its
 * hash was checked by renaming a directory under us.
 * Must never: write into DIR before the whole batch verified, replace a
 * file, or follow a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/format/batch.h"
#include "spool/format/blobset.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"

struct out_name {
	char *name;
	uint8_t hash[SPOOL_HASH_LEN];
	char *made; /* name created in DIR */
};

struct unpacker {
	int stagefd;  /* the staging directory */
	int fd;       /* blob being written */
	struct out_name *v;
	size_t n, cap;
	struct spool_blobset linked; /* blobs already linked into DIR */
};

static int
collect(void *ctx, const struct spool_payload *p, spool_err *err)
{
	struct unpacker *u = ctx;
	char name[300];

	if (p->part > 0) {
		if (spool_name_part(name, sizeof(name), p->name, p->part - 1) != 0)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "part name '%s' cannot be formed", p->name);
	} else
		snprintf(name, sizeof(name), "%s", p->name);
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 32;
		struct out_name *nv = realloc(u->v, cap * sizeof(*nv));

		if (nv == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		u->v = nv;
		u->cap = cap;
	}
	memset(&u->v[u->n], 0, sizeof(u->v[u->n]));
	if ((u->v[u->n].name = strdup(name)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	memcpy(u->v[u->n].hash, p->hash, SPOOL_HASH_LEN);
	u->n++;
	return SPOOL_OK;
}

static int
on_item(void *ctx, const json_t *item, spool_err *err)
{
	return spool_manifest_payloads(item, collect, ctx, err);
}

static int
on_blob_begin(void *ctx, const uint8_t hash[SPOOL_HASH_LEN], uint64_t size,
    spool_err *err)
{
	struct unpacker *u = ctx;
	char hex[SPOOL_HASH_HEXLEN + 1];

	(void)size;
	spool_hex(hex, hash, SPOOL_HASH_LEN);
	u->fd = openat(u->stagefd, hex, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0644);
	if (u->fd < 0)
		return spool_fail_sys(err, "cannot create a staged blob");
	return SPOOL_OK;
}

static int
on_blob_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	struct unpacker *u = ctx;

	return spool_write_all(u->fd, p, n, err);
}

static int
on_blob_end(void *ctx, const uint8_t hash[SPOOL_HASH_LEN], spool_err *err)
{
	struct unpacker *u = ctx;
	int r = SPOOL_OK;

	(void)hash;
	/* Like tar -x, unpack does not fsync each payload: it is the
	 * operator's tool; the daemon's import is the durable path. */
	if (close(u->fd) != 0)
		r = spool_fail_sys(err, "cannot write a payload");
	u->fd = -1;
	return r;
}

/* True when the directory behind fd has no entries. */
static int
fd_dir_empty(int fd)
{
	struct dirent *de;
	int dup_fd = dup(fd), empty = 1;
	DIR *d;

	if (dup_fd < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	rewinddir(d); /* a dup shares the offset of earlier listings */
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* Open DIR (base, in parentfd) if it exists: it must be an empty
 * directory and not a symlink.  *dirfd stays -1 when it does not exist. */
static int
open_dir(int parentfd, const char *base, const char *dir, int *dirfd,
    spool_err *err)
{
	*dirfd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*dirfd < 0) {
		if (errno == ENOENT)
			return SPOOL_OK;
		if (errno == ENOTDIR || errno == ELOOP)
			return spool_fail(err, SPOOL_ERR_EXISTS,
			    "'%s' exists and is not a directory", dir);
		return spool_fail_sys(err, "cannot open '%s'", dir);
	}
	if (!fd_dir_empty(*dirfd)) {
		close(*dirfd);
		*dirfd = -1;
		return spool_fail(err, SPOOL_ERR_EXISTS,
		    "directory '%s' is not empty", dir);
	}
	return SPOOL_OK;
}

/* A fresh staging directory in parentfd, owned by us and empty. */
static int
make_staging(int parentfd, const char *base, char *name, size_t namesz,
    int *stagefd, spool_err *err)
{
	uint8_t rnd[6];
	char hex[13];
	struct stat st;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		randombytes_buf(rnd, sizeof(rnd));
		spool_hex(hex, rnd, sizeof(rnd));
		if (snprintf(name, namesz, ".%.200s.unpack.%s", base, hex) >=
		    (int)namesz)
			return spool_fail(err, SPOOL_ERR_USAGE, "name too long");
		if (mkdirat(parentfd, name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return spool_fail_sys(err, "cannot create a staging "
			    "directory");
	}
	*stagefd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*stagefd < 0)
		return spool_fail_sys(err, "cannot open the staging directory");
	/* someone may have swapped in a directory of theirs meanwhile */
	if (fstat(*stagefd, &st) != 0 || st.st_uid != geteuid() ||
	    !fd_dir_empty(*stagefd)) {
		close(*stagefd);
		*stagefd = -1;
		return spool_fail(err, SPOOL_ERR_EXISTS,
		    "the staging directory was tampered with");
	}
	return SPOOL_OK;
}

/* Remove the staged blobs (all regular files we made) and the directory. */
static void
remove_staging(int parentfd, const char *name, int stagefd)
{
	struct dirent *de;
	int dup_fd = dup(stagefd);
	DIR *d;

	if (dup_fd >= 0 && (d = fdopendir(dup_fd)) != NULL) {
		rewinddir(d); /* a dup shares the offset of earlier listings */
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(stagefd, de->d_name, 0);
		closedir(d);
	} else if (dup_fd >= 0)
		close(dup_fd);
	unlinkat(parentfd, name, AT_REMOVEDIR);
}

/* Copy the staged blob hex to a new file name in dirfd (no replace). */
static int
copy_staged(struct unpacker *u, const char *hex, int dirfd, const char *name,
    spool_err *err)
{
	char tmp[32], buf[1 << 16];
	uint8_t rnd[6];
	ssize_t n;
	int in, out, r = SPOOL_OK;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(tmp, ".unpack.", 8);
	spool_hex(tmp + 8, rnd, sizeof(rnd));
	if ((in = openat(u->stagefd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return spool_fail_sys(err, "cannot open a staged blob");
	out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return spool_fail_sys(err, "cannot create '%s'", name);
	}
	while (r == SPOOL_OK && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? spool_fail_sys(err, "cannot read a staged blob") :
		    spool_write_all(out, buf, (size_t)n, err);
	}
	close(in);
	if (close(out) != 0 && r == SPOOL_OK)
		r = spool_fail_sys(err, "cannot write '%s'", name);
	if (r == SPOOL_OK && renameat2(dirfd, tmp, dirfd, name,
	    RENAME_NOREPLACE) != 0)
		r = errno == EEXIST ? SPOOL_ERR_EXISTS :
		    spool_fail_sys(err, "cannot create '%s'", name);
	if (r != SPOOL_OK)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* Place one payload at the first free variant of its name. */
static int
place(struct unpacker *u, size_t i, int dirfd, const char *dir,
    spool_err *err)
{
	char hex[SPOOL_HASH_HEXLEN + 1], name[300];
	int first, r;
	unsigned k;

	/* the first name of a blob takes the staged file itself (a link),
	 * later names get copies */
	first = spool_blobset_find(&u->linked, u->v[i].hash) == NULL;
	if (first && spool_blobset_add(&u->linked, u->v[i].hash, 0, &r) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	spool_hex(hex, u->v[i].hash, SPOOL_HASH_LEN);
	for (k = 1; k < 10000; k++) {
		if (spool_name_variant(name, sizeof(name), u->v[i].name, k) != 0)
			return spool_fail(err, SPOOL_ERR_EXISTS,
			    "no usable name for '%s' in '%s' (too long with a "
			    "suffix)", u->v[i].name, dir);
		if (first) {
			if (linkat(u->stagefd, hex, dirfd, name, 0) == 0)
				break;
			if (errno == EEXIST)
				continue;
			/* DIR on another filesystem (a mounted stick), or
			 * one without links (FAT): copy instead */
			if (errno != EXDEV && errno != EPERM &&
			    errno != EMLINK && errno != ENOTSUP)
				return spool_fail_sys(err, "cannot create "
				    "'%s/%s'", dir, name);
			first = 0;
		}
		r = copy_staged(u, hex, dirfd, name, err);
		if (r == SPOOL_OK)
			break;
		if (r != SPOOL_ERR_EXISTS)
			return r;
	}
	if (k == 10000)
		return spool_fail(err, SPOOL_ERR_EXISTS, "no free name for '%s'",
		    u->v[i].name);
	if ((u->v[i].made = strdup(name)) == NULL) {
		unlinkat(dirfd, name, 0); /* not recorded: undo it here */
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	return SPOOL_OK;
}

int
spool_batch_unpack(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, const char *dir,
    struct spool_batch_facts *facts, spool_err *err)
{
	struct spool_batch_sink sink = { NULL, NULL, on_item, on_blob_begin,
		on_blob_data, on_blob_end, NULL };
	struct spool_batch_check c = *chk;
	struct unpacker u;
	char parent[PATH_MAX], dirbuf[PATH_MAX], stagename[256];
	const char *base;
	int parentfd = -1, dirfd = -1, created = 0, r;
	size_t i, len;

	memset(&u, 0, sizeof(u));
	u.fd = -1;
	u.stagefd = -1;
	spool_blobset_init(&u.linked, SPOOL_BLOBS_MAX);
	sink.ctx = &u;
	c.sink = &sink;
	/* "out/" is "out": the staging directory must land beside DIR */
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(dirbuf))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad directory '%s'",
		    dir);
	memcpy(dirbuf, dir, len);
	dirbuf[len] = '\0';
	dir = dirbuf;
	base = spool_basename(dir);
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    strcmp(dir, "/") == 0 || strlen(base) > 200)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "unpack needs a new or empty directory, not '%s'", dir);
	if (spool_dirname(parent, sizeof(parent), dir) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0)
		return spool_fail_sys(err, "cannot open '%s'", parent);
	if ((r = open_dir(parentfd, base, dir, &dirfd, err)) != SPOOL_OK ||
	    (r = make_staging(parentfd, base, stagename, sizeof(stagename),
	    &u.stagefd, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_batch_read(batch_path, sig_path, &c, facts, err)) !=
	    SPOOL_OK)
		goto out;
	if (dirfd < 0) {
		if (mkdirat(parentfd, base, 0755) != 0) {
			r = spool_fail_sys(err, "cannot create '%s'", dir);
			goto out;
		}
		created = 1;
		dirfd = openat(parentfd, base, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0) {
			r = spool_fail_sys(err, "cannot open '%s'", dir);
			goto out;
		}
	}
	for (i = 0; i < u.n; i++)
		if ((r = place(&u, i, dirfd, dir, err)) != SPOOL_OK)
			goto out;
	if (fsync(dirfd) != 0)
		r = spool_fail_sys(err, "cannot fsync '%s'", dir);
out:
	if (u.fd >= 0)
		close(u.fd);
	for (i = 0; i < u.n; i++) {
		if (r != SPOOL_OK && u.v[i].made != NULL && dirfd >= 0)
			unlinkat(dirfd, u.v[i].made, 0);
		free(u.v[i].made);
		free(u.v[i].name);
	}
	free(u.v);
	spool_blobset_release(&u.linked);
	if (r != SPOOL_OK && created)
		unlinkat(parentfd, base, AT_REMOVEDIR);
	if (u.stagefd >= 0) {
		remove_staging(parentfd, stagename, u.stagefd);
		close(u.stagefd);
	}
	if (dirfd >= 0)
		close(dirfd);
	if (parentfd >= 0)
		close(parentfd);
	return r;
}

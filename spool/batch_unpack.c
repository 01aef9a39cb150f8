/*
 * batch_unpack.c - verify a batch, then write its payloads into a folder.
 *
 * Blobs stream into a private staging directory beside DIR while the
 * batch is verified; only when every check passed do they appear in DIR
 * under their item names.  Must never: write into DIR before the whole
 * batch verified, replace a file, or follow a symlink in DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "blobset.h"
#include "fsutil.h"
#include "manifest.h"
#include "util.h"

struct out_name {
	char *name;
	uint8_t hash[SPOOL_HASH_LEN];
	char *made; /* path created in DIR */
};

struct unpacker {
	char staging[PATH_MAX];
	int fd;
	struct out_name *v;
	size_t n, cap;
	struct spool_blobset linked; /* blobs already linked into DIR */
};

static int
collect(void *ctx, const struct spool_payload *p, spool_err *err)
{
	struct unpacker *u = ctx;
	char name[300];

	if (p->part > 0)
		snprintf(name, sizeof(name), "%s.part%06u", p->name, p->part - 1);
	else
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

static void
blob_path(char *out, size_t outsz, const struct unpacker *u,
    const uint8_t hash[SPOOL_HASH_LEN])
{
	char hex[SPOOL_HASH_HEXLEN + 1];

	spool_hex(hex, hash, SPOOL_HASH_LEN);
	snprintf(out, outsz, "%s/%s", u->staging, hex);
}

static int
on_blob_begin(void *ctx, const uint8_t hash[SPOOL_HASH_LEN], uint64_t size,
    spool_err *err)
{
	struct unpacker *u = ctx;
	char path[PATH_MAX + 80];

	(void)size;
	blob_path(path, sizeof(path), u, hash);
	u->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (u->fd < 0)
		return spool_fail_sys(err, "cannot create '%s'", path);
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

/* DIR must be absent (*create = 1) or an empty directory. */
static int
check_dir(const char *dir, int *create, spool_err *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT)
			return spool_fail_sys(err, "cannot stat '%s'", dir);
		*create = 1;
		return SPOOL_OK;
	}
	if (!S_ISDIR(st.st_mode))
		return spool_fail(err, SPOOL_ERR_EXISTS,
		    "'%s' exists and is not a directory", dir);
	if ((d = opendir(dir)) == NULL)
		return spool_fail_sys(err, "cannot open '%s'", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	closedir(d);
	if (de != NULL)
		return spool_fail(err, SPOOL_ERR_EXISTS,
		    "directory '%s' is not empty", dir);
	*create = 0;
	return SPOOL_OK;
}

/* Place one payload at the first free variant of its name. */
static int
place(struct unpacker *u, size_t i, const char *dir, spool_err *err)
{
	char src[PATH_MAX + 80], name[300], dst[PATH_MAX];
	int first, r;
	unsigned k;

	/* the first name of a blob takes the staged file itself (a link),
	 * later names get copies */
	first = spool_blobset_find(&u->linked, u->v[i].hash) == NULL;
	if (first && spool_blobset_add(&u->linked, u->v[i].hash, 0, &r) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	blob_path(src, sizeof(src), u, u->v[i].hash);
	for (k = 1; k < 10000; k++) {
		if (spool_name_variant(name, sizeof(name), u->v[i].name, k) != 0 ||
		    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >=
		    (int)sizeof(dst))
			return spool_fail(err, SPOOL_ERR_EXISTS,
			    "no usable name for '%s' in '%s' (too long with a "
			    "suffix)", u->v[i].name, dir);
		if (first) {
			if (link(src, dst) == 0)
				break;
			if (errno == EEXIST)
				continue;
			/* DIR on another filesystem (a mounted stick), or
			 * one without links (FAT): copy instead */
			if (errno != EXDEV && errno != EPERM &&
			    errno != EMLINK && errno != ENOTSUP)
				return spool_fail_sys(err, "cannot create '%s'",
				    dst);
			first = 0;
		}
		if (access(dst, F_OK) == 0 || errno != ENOENT)
			continue;
		r = spool_copy_file(src, dst, err);
		if (r == SPOOL_OK)
			break;
		if (r != SPOOL_ERR_EXISTS)
			return r;
	}
	if (k == 10000)
		return spool_fail(err, SPOOL_ERR_EXISTS, "no free name for '%s'",
		    u->v[i].name);
	if ((u->v[i].made = strdup(dst)) == NULL) {
		unlink(dst); /* not recorded: undo it here */
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	return SPOOL_OK;
}

int
spool_batch_unpack(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, const char *dir,
    struct spool_batch_facts *facts, spool_err *err)
{
	struct spool_batch_sink sink = { NULL, on_item, on_blob_begin,
		on_blob_data, on_blob_end };
	struct spool_batch_check c = *chk;
	struct unpacker u;
	char parent[PATH_MAX], dirbuf[PATH_MAX];
	int create = 0, created = 0, r;
	size_t i, len;

	memset(&u, 0, sizeof(u));
	u.fd = -1;
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
	if (strcmp(spool_basename(dir), ".") == 0 ||
	    strcmp(spool_basename(dir), "..") == 0 ||
	    strcmp(dir, "/") == 0)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "unpack needs a new or empty directory, not '%s'", dir);
	if ((r = check_dir(dir, &create, err)) != SPOOL_OK)
		return r;
	if (spool_dirname(parent, sizeof(parent), dir) != 0 ||
	    snprintf(u.staging, sizeof(u.staging), "%s/.%s.unpack.XXXXXX",
	    parent, spool_basename(dir)) >= (int)sizeof(u.staging))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (mkdtemp(u.staging) == NULL) {
		r = spool_fail_sys(err, "cannot create a staging directory in "
		    "'%s'", parent);
		u.staging[0] = '\0';
		goto out;
	}
	if ((r = spool_batch_read(batch_path, sig_path, &c, facts, err)) !=
	    SPOOL_OK)
		goto out;
	if (create) {
		if (mkdir(dir, 0755) != 0) {
			r = spool_fail_sys(err, "cannot create '%s'", dir);
			goto out;
		}
		created = 1;
	}
	for (i = 0; i < u.n; i++)
		if ((r = place(&u, i, dir, err)) != SPOOL_OK)
			goto out;
	r = spool_fsync_dir(dir, err);
out:
	if (u.fd >= 0)
		close(u.fd);
	for (i = 0; i < u.n; i++) {
		if (r != SPOOL_OK && u.v[i].made != NULL)
			unlink(u.v[i].made);
		free(u.v[i].made);
		free(u.v[i].name);
	}
	free(u.v);
	spool_blobset_release(&u.linked);
	if (r != SPOOL_OK && created)
		rmdir(dir);
	if (u.staging[0] != '\0')
		spool_rmtree(u.staging, NULL);
	return r;
}

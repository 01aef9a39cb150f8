/*
 * blobstore.c - content-addressed files under <root>/store/blobs/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blobstore.h"
#include "fsutil.h"

int
spool_blob_path(const char *root, const char *hex, char out[PATH_MAX])
{
	int w = snprintf(out, PATH_MAX, "%s/store/blobs/%.2s/%s", root, hex,
	    hex);

	return w < 0 || w >= PATH_MAX ? -1 : 0;
}

int
spool_blob_open(struct spool_blob_tmp *t, const char *root, spool_err *err)
{
	char dir[PATH_MAX];
	int r;

	memset(t, 0, sizeof(*t));
	t->tf.fd = -1;
	if (snprintf(dir, sizeof(dir), "%s/store/tmp", root) >= PATH_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_tmpfile_open(&t->tf, dir, "blob", 0600, err)) !=
	    SPOOL_OK)
		return r;
	spool_hasher_init(&t->h, SPOOL_HASH_LEN);
	return SPOOL_OK;
}

int
spool_blob_write(struct spool_blob_tmp *t, const void *p, size_t n,
    spool_err *err)
{
	int r;

	if (!t->trusted)
		spool_hasher_update(&t->h, p, n);
	if ((r = spool_write_all(t->tf.fd, p, n, err)) != SPOOL_OK)
		return r;
	t->size += n;
	return SPOOL_OK;
}

int
spool_blob_copy_fd(struct spool_blob_tmp *t, int fd, spool_err *err)
{
	static __thread char buf[1 << 17];
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return spool_fail_sys(err, "cannot read");
		if (n == 0)
			return SPOOL_OK;
		if ((r = spool_blob_write(t, buf, (size_t)n, err)) != SPOOL_OK)
			return r;
	}
}

int
spool_blob_commit(struct spool_blob_tmp *t, const char *root,
    const uint8_t *want, spool_err *err)
{
	char final[PATH_MAX], dir[PATH_MAX];
	struct stat sb;
	int r;

	if (t->trusted && want != NULL)
		memcpy(t->hash, want, SPOOL_HASH_LEN);
	else
		spool_hasher_final(&t->h, t->hash);
	spool_hex(t->hex, t->hash, SPOOL_HASH_LEN);
	if (want != NULL && memcmp(want, t->hash, SPOOL_HASH_LEN) != 0) {
		spool_blob_discard(t);
		return spool_fail(err, SPOOL_ERR_HASH, "blob does not match "
		    "its hash");
	}
	if (close(t->tf.fd) != 0) {
		t->tf.fd = -1;
		r = spool_fail_sys(err, "cannot write '%s'", t->tf.path);
		spool_blob_discard(t);
		return r;
	}
	t->tf.fd = -1;
	if (spool_blob_path(root, t->hex, final) != 0 ||
	    spool_dirname(dir, sizeof(dir), final) != 0) {
		spool_blob_discard(t);
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	}
	if (stat(final, &sb) == 0 && (uint64_t)sb.st_size == t->size) {
		/* the same bytes are there already */
		spool_blob_discard(t);
		return SPOOL_OK;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		r = spool_fail_sys(err, "cannot create '%s'", dir);
		spool_blob_discard(t);
		return r;
	}
	/* rename() replaces a blob cut short by a crash before its sync:
	 * a name under blobs/ never holds other bytes than its hash says
	 * once the syncfs after this group returned */
	if (rename(t->tf.path, final) != 0) {
		r = spool_fail_sys(err, "cannot rename into '%s'", final);
		spool_blob_discard(t);
		return r;
	}
	t->tf.path[0] = '\0';
	return SPOOL_OK;
}

void
spool_blob_discard(struct spool_blob_tmp *t)
{
	spool_tmpfile_discard(&t->tf);
}

int
spool_blob_export(const char *root, const char *hex, const char *path,
    mode_t mode, spool_err *err)
{
	char src[PATH_MAX];
	int r;

	if (spool_blob_path(root, hex, src) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_copy_file(src, path, err)) != SPOOL_OK)
		return r;
	if (chmod(path, mode) != 0)
		return spool_fail_sys(err, "cannot chmod '%s'", path);
	return SPOOL_OK;
}

/*
 * blobstore.c - content-addressed files under <root>/store/blobs/.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/store/blobstore.h"

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

/* Hash the n bytes from off of the temp file, reading it back. */
static int
hash_back(struct spool_blob_tmp *t, uint64_t off, uint64_t n, spool_err *err)
{
	uint64_t got = 0;
	int fd, r;

	if ((fd = open(t->tf.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return spool_fail_sys(err, "cannot reopen '%s'", t->tf.path);
	if (lseek(fd, (off_t)off, SEEK_SET) < 0)
		r = spool_fail_sys(err, "cannot read '%s'", t->tf.path);
	else if ((r = spool_hasher_fd(&t->h, fd, &got, err)) == SPOOL_OK &&
	    got != n)
		r = spool_fail(err, SPOOL_ERR_INTERNAL, "'%s' holds %" PRIu64
		    " bytes from %" PRIu64 ", not the %" PRIu64 " copied",
		    t->tf.path, got, off, n);
	close(fd);
	return r;
}

int
spool_blob_copy_fd(struct spool_blob_tmp *t, int fd, const char *path,
    uint64_t size, spool_err *err)
{
	static __thread char buf[1 << 17];
	uint64_t n, off = t->size;
	ssize_t got;
	int r;

	if (size >= SPOOL_BIG_FILE) {
		if ((r = spool_copy_fd(fd, path, t->tf.fd, t->tf.path, size, &n,
		    err)) != SPOOL_OK) {
			if (r == SPOOL_ERR_LIMIT)
				r = spool_fail(err, SPOOL_ERR_LIMIT, "'%s' grew "
				    "past the %llu bytes it had when it was taken",
				    path, (unsigned long long)size);
			return r;
		}
		t->size += n;
		return t->trusted ? SPOOL_OK : hash_back(t, off, n, err);
	}
	for (n = 0;;) {
		/* one byte past size tells "grew" from "exactly size" */
		size_t want = size - n < sizeof(buf) ? (size_t)(size - n) + 1 :
		    sizeof(buf);

		got = read(fd, buf, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return spool_fail_sys(err, "cannot read '%s'", path);
		if (got == 0)
			return SPOOL_OK;
		if ((uint64_t)got > size - n)
			return spool_fail(err, SPOOL_ERR_LIMIT, "'%s' grew past "
			    "the %llu bytes it had when it was taken", path,
			    (unsigned long long)size);
		n += (uint64_t)got;
		if ((r = spool_blob_write(t, buf, (size_t)got, err)) != SPOOL_OK)
			return r;
	}
}

int
spool_blob_adopt(struct spool_blob_tmp *t, int fd, const char *path,
    spool_err *err)
{
	char self[64];
	struct stat st;
	uint64_t n = 0;
	int r;

	if (t->size != 0 || t->trusted || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid() || (uint64_t)st.st_size < SPOOL_BIG_FILE ||
	    !spool_pin(fd))
		return 0;
	if ((r = spool_hasher_fd(&t->h, fd, &n, err)) != SPOOL_OK)
		return r;
	/* a second name for exactly the inode that was hashed (not for
	 * whatever path names now), only while the pin still holds */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (n == (uint64_t)st.st_size && spool_pin_held(fd) &&
	    close(t->tf.fd) == 0 && (t->tf.fd = -1, unlink(t->tf.path) == 0) &&
	    linkat(AT_FDCWD, self, AT_FDCWD, t->tf.path,
	    AT_SYMLINK_FOLLOW) == 0) {
		t->size = n;
		return 1;
	}
	/* not adopted after all: start again with a copy */
	if (t->tf.fd < 0 && (t->tf.fd = open(t->tf.path, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return spool_fail_sys(err, "cannot create '%s'", t->tf.path);
	spool_hasher_init(&t->h, SPOOL_HASH_LEN);
	if (lseek(fd, 0, SEEK_SET) != 0)
		return spool_fail_sys(err, "cannot rewind '%s'", path);
	return 0;
}

int
spool_blob_commit(struct spool_blob_tmp *t, const char *root,
    const uint8_t *want, spool_err *err)
{
	char final[PATH_MAX], dir[PATH_MAX];
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
	if (t->tf.fd >= 0 && close(t->tf.fd) != 0) {
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
	/* rename() replaces a blob cut short by a crash before its sync
	 * (and the same bytes, when they are there already): a name under
	 * blobs/ never holds other bytes than its hash says once the syncfs
	 * after this group returned.  The fan-out directory is made only
	 * when the rename says it is missing. */
	if (rename(t->tf.path, final) != 0 && (errno != ENOENT ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    rename(t->tf.path, final) != 0)) {
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

	if (spool_blob_path(root, hex, src) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	return spool_copy_file_mode(src, path, mode, err);
}

/*
 * fsutil.c - atomic files, no-replace renames, directory fsync.
 *
 * Must never: replace an existing file by rename, leave a partial file
 * under a final name, or follow a symlink it did not expect.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"

int
spool_dirname(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');
	int w;

	if (slash == NULL)
		w = snprintf(out, outsz, ".");
	else if (slash == path)
		w = snprintf(out, outsz, "/");
	else
		w = snprintf(out, outsz, "%.*s", (int)(slash - path), path);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

const char *
spool_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int
spool_write_all(int fd, const void *p, size_t n, spool_err *err)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return spool_fail_sys(err, "write");
		c += w;
		n -= (size_t)w;
	}
	return SPOOL_OK;
}

int
spool_read_full(int fd, void *p, size_t n, size_t *got, spool_err *err)
{
	char *c = p;
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, c + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return spool_fail_sys(err, "read");
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return SPOOL_OK;
}

int
spool_fsync_dir(const char *dir, spool_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return spool_fail_sys(err, "cannot open directory '%s'", dir);
	if (fsync(fd) != 0 && errno != EINVAL) {
		int r = spool_fail_sys(err, "cannot fsync directory '%s'", dir);

		close(fd);
		return r;
	}
	close(fd);
	return SPOOL_OK;
}

int
spool_rename_noreplace(const char *from, const char *to, spool_err *err)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return SPOOL_OK;
	if (errno == EEXIST)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists",
		    to);
	if (errno != EINVAL && errno != ENOSYS)
		return spool_fail_sys(err, "cannot rename '%s' to '%s'", from,
		    to);
	/* Filesystems without RENAME_NOREPLACE (vfat on some kernels):
	 * link+unlink where links work, else check then rename. */
	if (link(from, to) == 0) {
		unlink(from);
		return SPOOL_OK;
	}
	if (errno == EEXIST)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists",
		    to);
	if (access(to, F_OK) == 0)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists",
		    to);
	if (rename(from, to) != 0)
		return spool_fail_sys(err, "cannot rename '%s' to '%s'", from,
		    to);
	return SPOOL_OK;
}

/* How much of prefix goes into a temp name: at most 200 bytes, cut at
 * a UTF-8 character boundary. */
static int
prefix_len(const char *prefix)
{
	size_t n = strlen(prefix);

	if (n <= 200)
		return (int)n;
	n = 200;
	while (n > 0 && ((unsigned char)prefix[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

int
spool_tmpfile_open(struct spool_tmpfile *t, const char *dir,
    const char *prefix, mode_t mode, spool_err *err)
{
	uint8_t rnd[6];
	char hex[13];
	int tries, w;

	t->fd = -1;
	t->path[0] = '\0';
	for (tries = 0; tries < 16; tries++) {
		spool_random(rnd, sizeof(rnd));
		spool_hex(hex, rnd, sizeof(rnd));
		/* ".PREFIX.HEX.tmp" is one name: a prefix of up to 200
		 * bytes keeps it under NAME_MAX (a 255-byte file name
		 * makes a temp name too) */
		w = snprintf(t->path, sizeof(t->path), "%s/.%.*s.%s.tmp", dir,
		    prefix_len(prefix), prefix, hex);
		if (w < 0 || (size_t)w >= sizeof(t->path))
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "path too long in '%s'", dir);
		t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, mode);
		if (t->fd >= 0)
			return SPOOL_OK;
		if (errno != EEXIST)
			break;
	}
	w = spool_fail_sys(err, "cannot create a file in '%s'", dir);
	t->path[0] = '\0';
	return w;
}

void
spool_tmpfile_discard(struct spool_tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->path[0] != '\0')
		unlink(t->path);
	t->path[0] = '\0';
}

int
spool_tmpfile_commit(struct spool_tmpfile *t, const char *final,
    spool_err *err)
{
	char dir[PATH_MAX];
	int r;

	if (fsync(t->fd) != 0) {
		r = spool_fail_sys(err, "cannot fsync '%s'", t->path);
		goto fail;
	}
	if (close(t->fd) != 0) {
		t->fd = -1;
		r = spool_fail_sys(err, "cannot write '%s'", t->path);
		goto fail;
	}
	t->fd = -1;
	if ((r = spool_rename_noreplace(t->path, final, err)) != SPOOL_OK)
		goto fail;
	t->path[0] = '\0';
	if (spool_dirname(dir, sizeof(dir), final) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	return spool_fsync_dir(dir, err);
fail:
	spool_tmpfile_discard(t);
	return r;
}

/* A temp file beside path holding p[0..n), open (discarded on failure). */
static int
write_tmp(struct spool_tmpfile *t, const char *path, const void *p,
    size_t n, mode_t mode, spool_err *err)
{
	char dir[PATH_MAX];
	int r;

	if (spool_dirname(dir, sizeof(dir), path) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_tmpfile_open(t, dir, spool_basename(path), mode,
	    err)) != SPOOL_OK)
		return r;
	if ((r = spool_write_all(t->fd, p, n, err)) != SPOOL_OK)
		spool_tmpfile_discard(t);
	return r;
}

int
spool_write_file_atomic(const char *path, const void *p, size_t n,
    mode_t mode, spool_err *err)
{
	struct spool_tmpfile t;
	int r;

	if ((r = write_tmp(&t, path, p, n, mode, err)) != SPOOL_OK)
		return r;
	return spool_tmpfile_commit(&t, path, err);
}

int
spool_open_regular(const char *path, int *fdp, struct stat *stp,
    spool_err *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return spool_fail(err, SPOOL_ERR_NOTFOUND,
			    "cannot open '%s': No such file or directory",
			    path);
		if (errno == ELOOP)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "'%s' is a symbolic link", path);
		return spool_fail_sys(err, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) != 0)
		r = spool_fail_sys(err, "cannot stat '%s'", path);
	else if (!S_ISREG(st.st_mode))
		r = spool_fail(err, SPOOL_ERR_FORMAT,
		    "'%s' is not a regular file", path);
	else {
		if (stp != NULL)
			*stp = st;
		*fdp = fd;
		return SPOOL_OK;
	}
	close(fd);
	return r;
}

int
spool_read_file(const char *path, size_t max, char **out, size_t *len,
    spool_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got;
	int fd, r;

	if ((r = spool_open_regular(path, &fd, &st, err)) != SPOOL_OK)
		return r;
	if ((uint64_t)st.st_size > max) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "'%s' is larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* read one byte more than allowed to notice growth since fstat */
	if ((r = spool_read_full(fd, buf, max + 1, &got, err)) != SPOOL_OK)
		goto out;
	if (got > max) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "'%s' is larger than %zu bytes", path, max);
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	r = SPOOL_OK;
out:
	free(buf);
	close(fd);
	return r;
}

int
spool_mkdirs(const char *path, mode_t mode, spool_err *err)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad directory path");
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return spool_fail_sys(err, "cannot create directory '%s'",
			    buf);
		if (i < n)
			buf[i] = '/';
	}
	return SPOOL_OK;
}

ssize_t
spool_copy_step(int in, int out, size_t len, int *kernel)
{
	static __thread char buf[1 << 17];
	ssize_t n;

	for (;;) {
		if (*kernel) {
			n = copy_file_range(in, NULL, out, NULL, len, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
			    errno == EINVAL || errno == EOPNOTSUPP ||
			    errno == EBADF)) {
				*kernel = 0; /* not between these two files */
				continue;
			}
		} else {
			n = read(in, buf, len < sizeof(buf) ? len : sizeof(buf));
			if (n > 0 && spool_write_all(out, buf, (size_t)n, NULL) !=
			    SPOOL_OK)
				return -2;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

int
spool_copy_fd(int in, const char *in_path, int out, const char *out_path,
    uint64_t max, uint64_t *copied, spool_err *err)
{
	uint64_t total = 0;
	int kernel = 1;
	ssize_t n;

	for (;;) {
		/* one byte past max tells "more than max" from "exactly" */
		size_t want = max - total < (1u << 30) ? (size_t)(max - total) +
		    1 : 1u << 30;

		n = spool_copy_step(in, out, want, &kernel);
		if (n == -2)
			return spool_fail_sys(err, "cannot write '%s'", out_path);
		if (n < 0)
			return kernel ? spool_fail_sys(err, "cannot copy '%s' to "
			    "'%s'", in_path, out_path) : spool_fail_sys(err,
			    "cannot read '%s'", in_path);
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max)
			return spool_fail(err, SPOOL_ERR_LIMIT, "'%s' is over the "
			    "%" PRIu64 " byte limit", in_path, max);
	}
	if (copied != NULL)
		*copied = total;
	return SPOOL_OK;
}

int
spool_copy_file(const char *from, const char *to, spool_err *err)
{
	return spool_copy_file_mode(from, to, 0644, err);
}

int
spool_copy_file_mode(const char *from, const char *to, mode_t mode,
    spool_err *err)
{
	struct spool_tmpfile t;
	char dir[PATH_MAX];
	int in, r;

	if (spool_dirname(dir, sizeof(dir), to) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return spool_fail_sys(err, "cannot open '%s'", from);
	if ((r = spool_tmpfile_open(&t, dir, spool_basename(to), 0600,
	    err)) != SPOOL_OK) {
		close(in);
		return r;
	}
	/* the mode before the name: never readable by more, not even for
	 * a moment (the umask does not apply) */
	if (fchmod(t.fd, mode) != 0) {
		r = spool_fail_sys(err, "cannot chmod '%s'", t.path);
		close(in);
		spool_tmpfile_discard(&t);
		return r;
	}
	r = spool_copy_fd(in, from, t.fd, t.path, UINT64_MAX - 1, NULL, err);
	close(in);
	if (r != SPOOL_OK) {
		spool_tmpfile_discard(&t);
		return r;
	}
	return spool_tmpfile_commit(&t, to, err);
}

/* A reflink copy (FICLONE): btrfs, xfs; -1 where unsupported. */
static int
reflink(const char *from, const char *to, spool_err *err)
{
	struct spool_tmpfile t;
	char dir[PATH_MAX];
	int in, r;

	if (spool_dirname(dir, sizeof(dir), to) != 0)
		return -1;
	if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (spool_tmpfile_open(&t, dir, spool_basename(to), 0444, NULL) !=
	    SPOOL_OK) {
		close(in);
		return -1;
	}
	if (ioctl(t.fd, FICLONE, in) != 0) {
		close(in);
		spool_tmpfile_discard(&t);
		return -1;
	}
	close(in);
	r = spool_tmpfile_commit(&t, to, err);
	return r == SPOOL_OK ? 0 : r;
}

void
spool_drop_cache(int fd, const char *path)
{
	int own = -1;

	if (fd < 0 && (fd = own = open(path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK)) < 0)
		return;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (own >= 0)
		close(own);
}

int
spool_pin(int fd)
{
	struct sigaction sa;

	if (sigaction(SIGIO, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    !(sa.sa_flags & SA_SIGINFO)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGIO, &sa, NULL);
	}
	if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0)
		return 0;
	/* taking the lease made this process the file's owner: no owner,
	 * no signal when it breaks; spool_pin_held() asks instead */
	fcntl(fd, F_SETOWN, 0);
	return 1;
}

int
spool_pin_held(int fd)
{
	/* a lease being broken reads as F_UNLCK already */
	return fcntl(fd, F_GETLEASE) == F_RDLCK;
}

int
spool_keep_file(const char *from, const char *to, spool_err *err)
{
	char dir[PATH_MAX];
	int r;

	if ((r = reflink(from, to, err)) >= 0)
		return r; /* 0, or the commit's error */
	if (link(from, to) == 0) {
		if (spool_dirname(dir, sizeof(dir), to) != 0)
			return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		return spool_fsync_dir(dir, err);
	}
	if (errno == EEXIST)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists",
		    to);
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return spool_fail_sys(err, "cannot link '%s' to '%s'", from, to);
	return spool_copy_file(from, to, err);
}

int
spool_write_file_replace(const char *path, const void *p, size_t n,
    mode_t mode, spool_err *err)
{
	struct spool_tmpfile t;
	int r;

	if ((r = write_tmp(&t, path, p, n, mode, err)) != SPOOL_OK)
		return r;
	if (rename(t.path, path) != 0) {
		r = spool_fail_sys(err, "cannot rename to '%s'", path);
		spool_tmpfile_discard(&t);
		return r;
	}
	close(t.fd);
	return SPOOL_OK;
}

/*
 * fsutil.h - the spool discipline on disk.
 *
 * A file that others may read appears atomically: it is created under a
 * dot-name in the same directory with O_CREAT|O_EXCL, written, fsync'd,
 * renamed into place without replacing anything (renameat2
 * RENAME_NOREPLACE), and the directory is fsync'd.
 */
#ifndef SPOOL_FSUTIL_H
#define SPOOL_FSUTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "spool/base/error.h"

struct spool_tmpfile {
	int fd;
	char path[PATH_MAX];
};

/* Create dir/.PREFIX.XXXXXXXX (mode) exclusively; t->fd open for write. */
int spool_tmpfile_open(struct spool_tmpfile *t, const char *dir,
    const char *prefix, mode_t mode, spool_err *err);
/* fsync, close, rename to final without replacing, fsync final's dir.
 * On failure the temp file is removed. */
int spool_tmpfile_commit(struct spool_tmpfile *t, const char *final,
    spool_err *err);
/* Close and unlink; safe to call twice or after commit. */
void spool_tmpfile_discard(struct spool_tmpfile *t);

/* Write the whole buffer to a new file at path, atomically (above). */
int spool_write_file_atomic(const char *path, const void *p, size_t n,
    mode_t mode, spool_err *err);
/* Read a whole regular file of at most max bytes (NUL-terminated). */
int spool_read_file(const char *path, size_t max, char **out, size_t *len,
    spool_err *err);

/* Open a regular file for reading without following a symlink or
 * blocking on a FIFO.  A symlink or non-regular file is SPOOL_ERR_FORMAT,
 * a missing one SPOOL_ERR_NOTFOUND.  st is filled (may be NULL). */
int spool_open_regular(const char *path, int *fd, struct stat *st,
    spool_err *err);

int spool_write_all(int fd, const void *p, size_t n, spool_err *err);
/* Read up to n bytes, retrying short reads; *got < n only at EOF. */
int spool_read_full(int fd, void *p, size_t n, size_t *got, spool_err *err);

int spool_fsync_dir(const char *dir, spool_err *err);
int spool_rename_noreplace(const char *from, const char *to, spool_err *err);
/* mkdir -p with mode for the directories it creates. */
int spool_mkdirs(const char *path, mode_t mode, spool_err *err);
/* Copy in (from its offset) to out until in's end, at most max bytes
 * (more is SPOOL_ERR_LIMIT): in the kernel where it can (copy_file_range:
 * no pass through user memory, extents shared on filesystems with
 * reflinks), else by read and write.  *copied (may be NULL) is the count.
 * in_path and out_path name the files in errors. */
int spool_copy_fd(int in, const char *in_path, int out, const char *out_path,
    uint64_t max, uint64_t *copied, spool_err *err);
/* One step of that: up to len bytes from in to out (both offsets
 * advance), in the kernel while *kernel (cleared when the kernel cannot
 * copy between these two files), else by read and write.  The count, 0
 * at in's end, -1 when reading or copying failed, -2 when writing did
 * (errno says why). */
ssize_t spool_copy_step(int in, int out, size_t len, int *kernel);
/* Copy from -> to (new file, atomic, mode 0644). */
int spool_copy_file(const char *from, const char *to, spool_err *err);
/* The same with the new file's mode (set before it has its name). */
int spool_copy_file_mode(const char *from, const char *to, mode_t mode,
    spool_err *err);
/* Keep an immutable file under a second name: a reflink where the
 * filesystem has them (an independent copy for free), else a hard link,
 * else (another filesystem) a copy.  Never replaces to. */
int spool_keep_file(const char *from, const char *to, spool_err *err);

/* Pin a file open for reading (fd open O_RDONLY): take a read lease,
 * which the kernel grants only while nobody has the file open for
 * writing (a writable mapping counts) and breaks as soon as anyone opens
 * it for writing or truncates it.  While the pin holds, what is read
 * through fd is what the file holds: the guarantee a private copy gives,
 * without the copy.  1 when pinned; 0 when the kernel will not lease it
 * (open for writing now, owned by another user and no CAP_LEASE, a
 * filesystem without leases): then copy it.  A lease break signals the
 * lease holder with SIGIO, whose default action ends the process: the
 * pin sets SIGIO to be ignored if it has no handler, and clears the
 * file's owner so that no signal is sent. */
int spool_pin(int fd);
/* 1 while fd's pin holds: nobody has opened the file for writing or
 * truncated it since spool_pin().  The pin ends when fd is closed. */
int spool_pin_held(int fd);

/* From this size up a file is worth a few more system calls of its own:
 * copied in the kernel, adopted as a blob, its cache dropped after use. */
#define SPOOL_BIG_FILE (1u << 20)

/* Drop the cached pages of a file spool is done with (fd, or path when
 * fd < 0; clean pages only: call it after an fsync): a big file passing
 * through should not push out what the machine caches for others, and
 * pages freed now are the cheapest to fill next (on a VM a page the
 * guest never touched costs up to ten times one it reuses). */
void spool_drop_cache(int fd, const char *path);

/* dirname/basename into caller buffers; -1 if they do not fit. */
int spool_dirname(char *out, size_t outsz, const char *path);
const char *spool_basename(const char *path);

/* Replace path with new content atomically for readers (temp name in the
 * same directory, rename over): a reader sees the old file or the new
 * one.  Not fsync'd: for files derived from the store (status files);
 * ext4 (auto_da_alloc) flushes a file renamed over another. */
int spool_write_file_replace(const char *path, const void *p, size_t n,
    mode_t mode, spool_err *err);

#endif

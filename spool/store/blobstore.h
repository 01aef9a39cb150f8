/*
 * blobstore.h - content-addressed files under <root>/store/blobs/.
 *
 * A blob is store/blobs/<first two hex digits>/<64 hex digits>, mode 0600,
 * never changed once there.  Bytes arrive in a temp file under store/tmp
 * (staged, hashed on the way), then are renamed into place.  Durability
 * is the caller's: one syncfs() after a group of commits is cheaper than
 * an fsync per small file, and must happen before the store records them.
 */
#ifndef SPOOL_BLOBSTORE_H
#define SPOOL_BLOBSTORE_H

#include <limits.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"

struct spool_blob_tmp {
	struct spool_tmpfile tf; /* under store/tmp; fd -1 when closed */
	spool_hasher h;
	uint8_t hash[SPOOL_HASH_LEN];
	char hex[SPOOL_HASH_HEXLEN + 1];
	uint64_t size;
	int trusted;  /* set after open: the bytes are being hashed by the
	                 caller (batch reader), commit takes want as is */
};

/* The path of blob hex under root; -1 if it does not fit. */
int spool_blob_path(const char *root, const char *hex, char out[PATH_MAX]);

/* Open a temp file for a new blob (fd -1 after any failure). */
int spool_blob_open(struct spool_blob_tmp *t, const char *root,
    spool_err *err);
int spool_blob_write(struct spool_blob_tmp *t, const void *p, size_t n,
    spool_err *err);
/* Copy what fd holds (named path in errors) into the temp file: at most
 * size bytes, what it held when it was looked at; more is
 * SPOOL_ERR_LIMIT (it grew: a sparse file cannot make this copy zeros
 * until the disk is full).  From 1 MiB up the bytes are copied in the
 * kernel and then hashed as the temp file has them (which only this
 * process can change). */
int spool_blob_copy_fd(struct spool_blob_tmp *t, int fd, const char *path,
    uint64_t size, spool_err *err);
/* Make the file open as fd the blob itself, without a copy, when that
 * is as safe as a copy: it is at least 1 MiB, owned by this process's
 * user (so no one else can open it for writing: only this user and root
 * can, who can change the store anyway), nobody has it open for writing
 * and nothing opens it for writing while it is hashed (a read lease, see
 * spool_pin).  The caller must hold the only name of the file in a
 * directory no one else can reach (intake's claim).  1: adopted, the
 * temp name is a second name of the file and commit renames it into
 * place; 0: not adopted, fd rewound, copy it instead. */
int spool_blob_adopt(struct spool_blob_tmp *t, int fd, const char *path,
    spool_err *err);
/* Finish hashing and rename into place (the same name is replaced: the
 * bytes are the same, or a crash cut the old ones short).  want: the hash the bytes must have, or NULL. */
int spool_blob_commit(struct spool_blob_tmp *t, const char *root,
    const uint8_t *want, spool_err *err);
void spool_blob_discard(struct spool_blob_tmp *t);

/* Copy blob hex to path (mode), appearing atomically there: temp name in
 * the same directory, fsync, rename without replacing.  EXISTS if path is
 * taken. */
int spool_blob_export(const char *root, const char *hex, const char *path,
    mode_t mode, spool_err *err);

#endif

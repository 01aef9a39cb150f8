/*
 * media.c - export to and import from removable media.
 *
 * Must never: leave a .minisig on a medium or in import/ before its
 * .batch is complete there (the .minisig is what says "take me"), replace
 * a file on the medium or in import/, remove a batch from out/ before a
 * copy read back from the medium verified and archive/sent/ holds it, or
 * parse a batch found on a medium (import copies bytes; the daemon
 * verifies them before reading anything but the bounded .minisig).
 *
 * Order of an export, per pair (DECISIONS.md "Media" says why it is
 * crash-safe at every step):
 *   1. DIR/.NAME.batch.tmp, each chunk written out and read back with its
 *      page cache dropped while the next is copied, fsync, rename (no
 *      replace) to DIR/NAME.batch, fsync DIR; what was read back has the
 *      BLAKE2b-512 this node signed (a copy there before this run is read
 *      back whole)
 *   2. the same for NAME.batch.minisig, read back, verified again
 *   3. archive/sent/ holds the pair (kept there now if it does not)
 *   4. the store records it exported
 *   5. unlink out/NAME.batch, then out/NAME.batch.minisig, fsync out/
 * A crash between 5's unlinks leaves a lone .minisig in out/: no .batch
 * the daemon could take for an unfinished write; the next export removes
 * it once archive/sent/ holds the same .minisig.
 *
 * Over 800 lines and kept whole: export and import are one protocol
 * whose numbered steps above must be read together with the crash cases
 * between them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/phash.h"
#include "spool/base/util.h"
#include "spool/flow/media.h"
#include "spool/format/minisig.h"
#include "spool/format/pair.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/queue.h"
#include "spool/store/store.h"

#define BATCH_EXT SPOOL_BATCH_EXT
#define SIG_EXT SPOOL_BATCH_EXT SPOOL_SIG_EXT
/* Batch files considered in one directory: a bound, not a quota. */
#define MEDIA_NAMES_MAX 1000000u
/* A batch file's stem is at most 32 + 1 + 32 + 1 + 10 bytes. */
#define STEM_BUF 96
#define NAME_BUF 128

/* ---- names and limits ------------------------------------------------- */

int
spool_media_fat_refuses(unsigned long fstype, uint64_t size)
{
	return fstype == SPOOL_FAT_MAGIC && size > SPOOL_FAT_FILE_MAX;
}

int
spool_media_size_check(unsigned long fstype, const char *name,
    uint64_t size, spool_err *err)
{
	if (!spool_media_fat_refuses(fstype, size))
		return SPOOL_OK;
	/* tenths of a GiB, rounded down: 4 GiB exactly must not read 4.0
	 * next to "under 4 GiB" without its byte count */
	return spool_fail(err, SPOOL_ERR_LIMIT, "'%s' is %" PRIu64 ".%" PRIu64
	    " GiB (%" PRIu64 " bytes); a FAT filesystem holds files under 4 GiB",
	    name, size >> 30, (uint64_t)(((size & ((1ULL << 30) - 1)) * 10) >>
	    30), size);
}

/* ---- the directory's batch names -------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static void
names_release(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* name without ext into stem; 0 if it does not fit (not a batch name) */
static int
stem_of(const char *name, const char *ext, char stem[STEM_BUF])
{
	size_t n = strlen(name) - strlen(ext);

	if (n >= STEM_BUF)
		return 0;
	memcpy(stem, name, n);
	stem[n] = '\0';
	return 1;
}

/* Every name in dir ending in .batch or .batch.minisig, not a dot-name,
 * sorted.  Whether the stem is a batch name is the caller's business. */
static int
names_read(const char *dir, struct names *ns, spool_err *err)
{
	struct dirent *de;
	DIR *d;
	int r = SPOOL_OK;

	memset(ns, 0, sizeof(*ns));
	if ((d = opendir(dir)) == NULL)
		return spool_fail_sys(err, "cannot open directory '%s'", dir);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				r = spool_fail_sys(err, "cannot read directory "
				    "'%s'", dir);
			break;
		}
		if (de->d_name[0] == '.' || !(ends_with(de->d_name, BATCH_EXT) ||
		    ends_with(de->d_name, SIG_EXT)))
			continue;
		if (ns->n == ns->cap) {
			size_t cap = ns->cap ? 2 * ns->cap : 64;
			char **v;

			if (ns->n >= MEDIA_NAMES_MAX) {
				r = spool_fail(err, SPOOL_ERR_LIMIT, "more than "
				    "%u batch files in '%s'", MEDIA_NAMES_MAX,
				    dir);
				break;
			}
			if ((v = realloc(ns->v, cap * sizeof(*v))) == NULL) {
				r = spool_fail(err, SPOOL_ERR_NOMEM,
				    "out of memory");
				break;
			}
			ns->v = v;
			ns->cap = cap;
		}
		if ((ns->v[ns->n] = strdup(de->d_name)) == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			break;
		}
		ns->n++;
	}
	closedir(d);
	if (r != SPOOL_OK)
		names_release(ns);
	else if (ns->n > 0)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_str);
	return r;
}

static int
names_has(const struct names *ns, const char *name)
{
	return ns->n > 0 && bsearch(&name, ns->v, ns->n, sizeof(*ns->v),
	    cmp_str) != NULL;
}

static int
has_name(void *arg, const char *name)
{
	return names_has(arg, name);
}

/* ---- files ------------------------------------------------------------ */

static int
path_join(char out[PATH_MAX], const char *dir, const char *name,
    const char *ext, spool_err *err)
{
	int w = snprintf(out, PATH_MAX, "%s/%s%s", dir, name, ext);

	if (w < 0 || w >= PATH_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long in '%s'",
		    dir);
	return SPOOL_OK;
}

/* What one run shares: the hasher thread, keys, the store. */
struct media {
	const struct spool_node *n;
	const char *dir;            /* the medium */
	char out[PATH_MAX], import[PATH_MAX], sent[PATH_MAX];
	struct spool_phash *ph;
	struct spool_pubkey pk;     /* this node's (export) */
	struct spool_store *st;     /* (export) */
	unsigned long fstype;       /* the medium's statfs f_type */
	spool_media_fn fn;
	void *arg;
	unsigned refused;
	unsigned flags;             /* SPOOL_MEDIA_REMOVE */
	const char *cur;            /* the pair being copied (its stem) */
	uint64_t cur_bytes;         /* its .batch size */
	size_t k, npairs;           /* pair k of npairs */
};

/* A pair being copied: done bytes of m->cur_bytes so far. */
static void
progress(struct media *m, uint64_t done)
{
	struct spool_media_event e;

	if (m->fn == NULL || m->cur == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.name = m->cur;
	e.bytes = m->cur_bytes;
	e.outcome = SPOOL_MEDIA_PROGRESS;
	e.done = done;
	e.k = m->k;
	e.n = m->npairs;
	m->fn(m->arg, &e);
}

/* BLAKE2b-512 and size of in from its offset to its end. */
static int
hash_fd(struct media *m, int in, const char *in_path,
    uint8_t digest[SPOOL_PREHASH_LEN], uint64_t *size, spool_err *err)
{
	return spool_phash_fd(m->ph, in, in_path, -1, NULL, UINT64_MAX,
	    SPOOL_PREHASH_LEN, digest, size, err);
}

/* dir/.NAME.tmp, exclusively.  The caller holds the directory's lock, so
 * a file already there was left by a crash: it is removed first. */
static int
tmp_create(const char *tmp, int *fd, spool_err *err)
{
	if (unlink(tmp) != 0 && errno != ENOENT)
		return spool_fail_sys(err, "cannot remove '%s'", tmp);
	*fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0444);
	if (*fd < 0)
		return spool_fail_sys(err, "cannot create '%s'", tmp);
	return SPOOL_OK;
}

/* fsync and close fd (tmp), rename tmp to final without replacing,
 * fsync dir.  tmp is removed on failure. */
static int
tmp_place(int fd, const char *tmp, const char *final, const char *dir,
    spool_err *err)
{
	int r;

	if (fsync(fd) != 0) {
		r = spool_fail_sys(err, "cannot fsync '%s'", tmp);
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		r = spool_fail_sys(err, "cannot write '%s'", tmp);
		goto fail;
	}
	if ((r = spool_rename_noreplace(tmp, final, err)) != SPOOL_OK)
		goto fail;
	return spool_fsync_dir(dir, err);
fail:
	unlink(tmp);
	return r;
}

/* dir/.NAME.tmp created for writing (fd), dir/NAME the final path. */
static int
tmp_begin(const char *dir, const char *name, char tmp[PATH_MAX],
    char final[PATH_MAX], int *fd, spool_err *err)
{
	int r;

	if ((r = path_join(final, dir, name, "", err)) != SPOOL_OK)
		return r;
	if (snprintf(tmp, PATH_MAX, "%s/.%s.tmp", dir, name) >= PATH_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long in '%s'",
		    dir);
	return tmp_create(tmp, fd, err);
}

/* Copy in (already open) to dir/NAME via dir/.NAME.tmp, in the kernel
 * where it can; *size is what was copied.  (What reached the medium is
 * judged by reading it back, not by what was sent to it.) */
#define PROGRESS_CHUNK (4u << 20)

static int
copy_in(struct media *m, int in, const char *in_path, const char *dir,
    const char *name, uint64_t *size, spool_err *err)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	uint64_t total = 0;
	int fd, r, kernel = 1;
	ssize_t n;

	if ((r = tmp_begin(dir, name, tmp, final, &fd, err)) != SPOOL_OK)
		return r;
	/* in steps, to say how far it is (a kernel copy all the same) */
	while ((n = spool_copy_step(in, fd, PROGRESS_CHUNK, &kernel)) > 0) {
		total += (uint64_t)n;
		progress(m, total);
	}
	if (n < 0) {
		r = n == -2 ? spool_fail_sys(err, "cannot write '%s'", tmp) :
		    spool_fail_sys(err, "cannot copy '%s' to '%s'", in_path,
		    tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	*size = total;
	return tmp_place(fd, tmp, final, dir, err);
}

/* Read back what the device holds of [off, off + n) of fd (whose pages
 * there were just written out), into buf, and hash it on m's thread. */
static int
read_back(struct media *m, int fd, int rfd, uint64_t off, size_t n,
    uint8_t *buf, const char *tmp, spool_err *err)
{
	size_t got = 0;

	/* written to the device, then dropped from the cache (clean now):
	 * the read below is served by the device */
	if (sync_file_range(fd, (off_t)off, (off_t)n,
	    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	    SYNC_FILE_RANGE_WAIT_AFTER) != 0 && fdatasync(fd) != 0)
		return spool_fail_sys(err, "cannot write '%s'", tmp);
	(void)posix_fadvise(rfd, (off_t)off, (off_t)n, POSIX_FADV_DONTNEED);
	while (got < n) {
		ssize_t k = pread(rfd, buf + got, n - got, (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? spool_fail_sys(err, "cannot read back "
			    "'%s'", tmp) : spool_fail(err, SPOOL_ERR_HASH,
			    "'%s' reads back shorter than written", tmp);
		got += (size_t)k;
	}
	spool_phash_submit(m->ph, buf, n); /* waits for the other half */
	return SPOOL_OK;
}

#define VERIFY_CHUNK (4u << 20)

/* copy_in, and the BLAKE2b-512 and size of the copy as read back from
 * the device: each chunk is read back (and hashed on the other core)
 * while the next one is copied and written out, instead of the whole
 * file after its fsync.  The reading is of what the device holds, the
 * same as reading the placed file with its cache dropped. */
static int
copy_verified(struct media *m, int in, const char *in_path, const char *dir,
    const char *name, uint64_t *size, uint8_t digest[SPOOL_PREHASH_LEN],
    spool_err *err)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	uint8_t *buf = NULL;
	uint64_t off = 0, prev_off = 0;
	size_t prev = 0;
	int fd, rfd = -1, kernel = 1, half = 0, r;
	ssize_t n;

	if ((r = tmp_begin(dir, name, tmp, final, &fd, err)) != SPOOL_OK)
		return r;
	if ((buf = malloc(2 * (size_t)VERIFY_CHUNK)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rfd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = spool_fail_sys(err, "cannot reopen '%s'", tmp);
		goto fail;
	}
	spool_phash_init(m->ph, SPOOL_PREHASH_LEN);
	for (;;) {
		n = spool_copy_step(in, fd, VERIFY_CHUNK, &kernel);
		if (n < 0) {
			r = n == -2 ? spool_fail_sys(err, "cannot write '%s'",
			    tmp) : spool_fail_sys(err, "cannot copy '%s' to "
			    "'%s'", in_path, tmp);
			goto fail;
		}
		if (n > 0) /* start writing it out; not waited for yet */
			(void)sync_file_range(fd, (off_t)off, n,
			    SYNC_FILE_RANGE_WRITE);
		if (prev > 0) {
			if ((r = read_back(m, fd, rfd, prev_off, prev, buf +
			    (size_t)half * VERIFY_CHUNK, tmp, err)) != SPOOL_OK)
				goto fail;
			half ^= 1;
			progress(m, prev_off + prev);
		}
		if (n == 0)
			break;
		prev_off = off;
		prev = (size_t)n;
		off += (uint64_t)n;
	}
	spool_phash_final(m->ph, digest); /* and no buffer is being hashed */
	free(buf);
	close(rfd);
	*size = off;
	return tmp_place(fd, tmp, final, dir, err);
fail:
	spool_phash_wait(m->ph);
	free(buf);
	if (rfd >= 0)
		close(rfd);
	close(fd);
	unlink(tmp);
	return r;
}

/* Write text to dir/NAME via dir/.NAME.tmp. */
static int
write_in(const char *dir, const char *name, const char *text, size_t len,
    spool_err *err)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd, r;

	if ((r = tmp_begin(dir, name, tmp, final, &fd, err)) != SPOOL_OK)
		return r;
	if ((r = spool_write_all(fd, text, len, err)) != SPOOL_OK) {
		spool_err_prefix(err, "'%s'", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	return tmp_place(fd, tmp, final, dir, err);
}

/* Open path for reading what the device holds, not what the page cache
 * remembers: fsync (a file placed by an earlier run is on the device too),
 * then drop its cached pages, which are all clean now. */
static int
open_uncached(const char *path, int *fd, struct stat *st, spool_err *err)
{
	int r;

	if ((r = spool_open_regular(path, fd, st, err)) != SPOOL_OK)
		return r;
	if (fsync(*fd) != 0 && errno != EINVAL && errno != EROFS) {
		r = spool_fail_sys(err, "cannot fsync '%s'", path);
		close(*fd);
		return r;
	}
	(void)posix_fadvise(*fd, 0, 0, POSIX_FADV_DONTNEED);
	return SPOOL_OK;
}

/* BLAKE2b-512 of the file at path as read back from its device. */
static int
hash_uncached(struct media *m, const char *path,
    uint8_t digest[SPOOL_PREHASH_LEN], uint64_t *size, spool_err *err)
{
	int fd, r;

	if ((r = open_uncached(path, &fd, NULL, err)) != SPOOL_OK)
		return r;
	r = hash_fd(m, fd, path, digest, size, err);
	close(fd);
	return r;
}

/* A .minisig's text, bounded; as read back from the device if uncached. */
static int
read_sig(const char *path, int uncached, char **text, size_t *len,
    spool_err *err)
{
	int fd, r;

	if (uncached) {
		if ((r = open_uncached(path, &fd, NULL, err)) != SPOOL_OK)
			return r;
		close(fd);
	}
	return spool_read_file(path, SPOOL_MINISIG_MAX, text, len, err);
}

static int
exists(const char *path, spool_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	return spool_fail_sys(err, "cannot stat '%s'", path);
}

static void
report_removed(struct media *m, const char *name, uint64_t bytes,
    int outcome, const char *reason, int removed)
{
	struct spool_media_event e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.bytes = bytes;
	e.outcome = outcome;
	e.reason = reason;
	e.removed = removed;
	e.k = m->k;
	e.n = m->npairs;
	if (outcome == SPOOL_MEDIA_REFUSED)
		m->refused++;
	if (m->fn != NULL)
		m->fn(m->arg, &e);
}

static void
report(struct media *m, const char *name, uint64_t bytes, int outcome,
    const char *reason)
{
	report_removed(m, name, bytes, outcome, reason, 0);
}

/* Lock dir against a second export (or import) into the same place: the
 * fixed temporary names are safe only for one writer at a time. */
static int
lock_dir(const char *dir, const char *what, int *fd, spool_err *err)
{
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return spool_fail_sys(err, "cannot open directory '%s'", dir);
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return SPOOL_OK;
	close(*fd);
	*fd = -1;
	if (errno == EWOULDBLOCK)
		return spool_fail(err, SPOOL_ERR_BUSY, "another %s is running "
		    "('%s' is locked)", what, dir);
	return spool_fail_sys(err, "cannot lock '%s'", dir);
}

/* dir is an existing directory and not node_dir itself. */
static int
check_medium(const char *dir, const char *node_dir, spool_err *err)
{
	struct stat a, b;

	if (stat(dir, &a) != 0) {
		if (errno == ENOENT)
			return spool_fail(err, SPOOL_ERR_NOTFOUND, "'%s' does "
			    "not exist (is the medium mounted?)", dir);
		return spool_fail_sys(err, "cannot stat '%s'", dir);
	}
	if (!S_ISDIR(a.st_mode))
		return spool_fail(err, SPOOL_ERR_USAGE, "'%s' is not a "
		    "directory", dir);
	if (stat(node_dir, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return spool_fail(err, SPOOL_ERR_USAGE, "'%s' is this node's "
		    "own '%s'", dir, node_dir);
	return SPOOL_OK;
}

static int
media_init(struct media *m, const struct spool_node *n, const char *dir,
    spool_media_fn fn, void *arg, spool_err *err)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->dir = dir;
	m->fn = fn;
	m->arg = arg;
	if (spool_node_path(n, m->out, sizeof(m->out), "out") != 0 ||
	    spool_node_path(n, m->import, sizeof(m->import), "import") != 0 ||
	    spool_node_path(n, m->sent, sizeof(m->sent), "archive/sent") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	return spool_phash_new(&m->ph, err);
}

static void
media_release(struct media *m)
{
	spool_store_close(m->st);
	spool_phash_free(m->ph);
}

/* ---- export ----------------------------------------------------------- */

/* The original's .minisig, read and checked before anything is copied:
 * signed by this node's key, under this name. */
static int
own_signature(struct media *m, const char *stem, const char *path,
    char **text, size_t *len, struct spool_minisig *sig, spool_err *err)
{
	struct spool_batch_facts f;
	char kid[SPOOL_KEYID_STRLEN + 1], oid[SPOOL_KEYID_STRLEN + 1];
	char want[NAME_BUF], have[NAME_BUF];
	int r;

	if ((r = spool_read_file(path, SPOOL_MINISIG_MAX, text, len, err)) !=
	    SPOOL_OK)
		return r;
	if ((r = spool_minisig_parse(*text, *len, sig, err)) != SPOOL_OK ||
	    (r = spool_facts_parse(sig->trusted, &f, err)) != SPOOL_OK)
		goto fail;
	if (memcmp(sig->keyid, m->pk.id, SPOOL_KEYID_LEN) != 0) {
		spool_keyid_str(sig->keyid, kid);
		spool_keyid_str(m->pk.id, oid);
		r = spool_fail(err, SPOOL_ERR_UNTRUSTED, "signed by key %s, not "
		    "by this node's key %s", kid, oid);
		goto fail;
	}
	snprintf(want, sizeof(want), "%s%s", stem, BATCH_EXT);
	spool_batch_name(have, sizeof(have), f.from, f.to, f.seq);
	if (strcmp(want, have) != 0) {
		r = spool_fail(err, SPOOL_ERR_FORMAT, "its signature names it "
		    "'%s'", have);
		goto fail;
	}
	return SPOOL_OK;
fail:
	free(*text);
	*text = NULL;
	return r;
}

/* archive/sent/NAME holds the same file as out/NAME, or is made to. */
static int
archived(struct media *m, const char *orig, const char *name,
    const char *sig_text, size_t sig_len, spool_err *err)
{
	char path[PATH_MAX], *text = NULL;
	struct stat a, b;
	size_t len;
	int r;

	if ((r = path_join(path, m->sent, name, "", err)) != SPOOL_OK)
		return r;
	if (lstat(path, &a) != 0) {
		if (errno != ENOENT)
			return spool_fail_sys(err, "cannot stat '%s'", path);
		/* pack and the daemon archive at write time; a pair put in
		 * out/ some other way is archived before it leaves */
		return spool_keep_file(orig, path, err);
	}
	if (stat(orig, &b) != 0)
		return spool_fail_sys(err, "cannot stat '%s'", orig);
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return SPOOL_OK; /* a hard link */
	if (sig_text != NULL) {
		/* the .minisig names the .batch by its hash: equal .minisig
		 * texts and sizes mean the archive holds this batch (resend
		 * verifies it before offering it again) */
		if ((r = spool_read_file(path, SPOOL_MINISIG_MAX, &text, &len,
		    err)) != SPOOL_OK)
			return r;
		r = len == sig_len && memcmp(text, sig_text, len) == 0;
		free(text);
	} else
		r = S_ISREG(a.st_mode) && a.st_size == b.st_size;
	if (!r)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' differs from "
		    "'%s'", path, orig);
	return SPOOL_OK;
}

/* A lone out/NAME.batch.minisig: an export removed the .batch and
 * stopped before the .minisig.  It goes if the archive has the pair. */
static void
export_residue(struct media *m, const char *stem)
{
	char path[PATH_MAX], arch[PATH_MAX], *a = NULL, *o = NULL;
	size_t alen, olen;
	spool_err err;

	if (path_join(path, m->out, stem, SIG_EXT, NULL) != SPOOL_OK ||
	    path_join(arch, m->sent, stem, BATCH_EXT, NULL) != SPOOL_OK ||
	    exists(arch, NULL) != 1 ||
	    path_join(arch, m->sent, stem, SIG_EXT, NULL) != SPOOL_OK)
		return;
	if (spool_read_file(arch, SPOOL_MINISIG_MAX, &a, &alen, NULL) ==
	    SPOOL_OK &&
	    spool_read_file(path, SPOOL_MINISIG_MAX, &o, &olen, NULL) ==
	    SPOOL_OK && alen == olen && memcmp(a, o, alen) == 0) {
		if (unlink(path) == 0 && spool_fsync_dir(m->out, &err) == SPOOL_OK)
			report(m, stem, 0, SPOOL_MEDIA_SKIPPED, "removed the "
			    ".minisig an interrupted export left in out/");
	}
	free(a);
	free(o);
}

static int
export_pair(struct media *m, const char *stem, uint64_t *bytes,
    const char **note, spool_err *err)
{
	char ob[PATH_MAX], os[PATH_MAX], mb[PATH_MAX], ms[PATH_MAX];
	char name[NAME_BUF], sname[NAME_BUF], *sig_text = NULL, *back = NULL;
	uint8_t orig[SPOOL_PREHASH_LEN], copy[SPOOL_PREHASH_LEN];
	struct spool_minisig sig, bsig;
	struct stat st, mst;
	uint64_t size, csize;
	size_t sig_len, back_len;
	int in = -1, made_batch = 0, made_sig = 0, good, r, e;

	snprintf(name, sizeof(name), "%s%s", stem, BATCH_EXT);
	snprintf(sname, sizeof(sname), "%s%s", stem, SIG_EXT);
	if ((r = path_join(ob, m->out, name, "", err)) != SPOOL_OK ||
	    (r = path_join(os, m->out, sname, "", err)) != SPOOL_OK ||
	    (r = path_join(mb, m->dir, name, "", err)) != SPOOL_OK ||
	    (r = path_join(ms, m->dir, sname, "", err)) != SPOOL_OK)
		return r;
	if ((r = spool_open_regular(ob, &in, &st, err)) != SPOOL_OK)
		return r;
	*bytes = m->cur_bytes = (uint64_t)st.st_size;
	/* before anything is written: the medium could not hold it */
	if ((r = spool_media_size_check(m->fstype, name, *bytes, err)) !=
	    SPOOL_OK)
		goto out;
	if ((r = own_signature(m, stem, os, &sig_text, &sig_len, &sig, err)) !=
	    SPOOL_OK)
		goto out;

	/* 1. the .batch */
	if ((e = exists(mb, err)) < 0) {
		r = e;
		goto out;
	}
	if (e == 1 && (lstat(mb, &mst) != 0 || !S_ISREG(mst.st_mode) ||
	    (uint64_t)mst.st_size != *bytes)) {
		r = spool_fail(err, SPOOL_ERR_EXISTS, "'%s' is already on the "
		    "medium with different bytes", mb);
		goto out;
	}
	/* the copy is judged by what the device gives back: exactly the
	 * bytes this node signed.  The original is read only when that
	 * fails (to tell a medium that lost bytes from an original that
	 * does not verify) or when the copy was there before this run. */
	if (e == 0) {
		if ((r = copy_verified(m, in, ob, m->dir, name, &size, copy,
		    err)) != SPOOL_OK)
			goto out;
		made_batch = 1;
		csize = size;
		if (size != *bytes) {
			r = spool_fail(err, SPOOL_ERR_INTERNAL, "'%s' changed "
			    "while it was read", ob);
			goto out;
		}
	} else if ((r = hash_uncached(m, mb, copy, &csize, err)) != SPOOL_OK)
		goto out;
	good = csize == *bytes &&
	    spool_minisig_verify(&sig, &m->pk, copy, NULL) == SPOOL_OK;
	if (!good || e == 1) {
		if (lseek(in, 0, SEEK_SET) != 0) {
			r = spool_fail_sys(err, "cannot read '%s'", ob);
			goto out;
		}
		if ((r = hash_fd(m, in, ob, orig, &size, err)) != SPOOL_OK)
			goto out;
		if ((r = spool_minisig_verify(&sig, &m->pk, orig, err)) !=
		    SPOOL_OK) {
			spool_err_prefix(err, "'%s' does not verify", ob);
			goto out;
		}
		if (!good || csize != size || memcmp(orig, copy,
		    sizeof(orig)) != 0) {
			r = made_batch ? spool_fail(err, SPOOL_ERR_HASH, "the "
			    "copy on the medium reads back different bytes (a "
			    "failing medium?)") : spool_fail(err,
			    SPOOL_ERR_EXISTS, "'%s' is already on the medium "
			    "with different bytes", mb);
			goto out;
		}
	}

	/* 2. the .minisig, last: now the pair on the medium is complete */
	if ((e = exists(ms, err)) < 0) {
		r = e;
		goto out;
	}
	if (e == 0) {
		if ((r = write_in(m->dir, sname, sig_text, sig_len, err)) !=
		    SPOOL_OK)
			goto out;
		made_sig = 1;
	}
	if ((r = read_sig(ms, 1, &back, &back_len, err)) != SPOOL_OK)
		goto out;
	if (back_len != sig_len || memcmp(back, sig_text, sig_len) != 0) {
		r = made_sig ? spool_fail(err, SPOOL_ERR_HASH, "the .minisig on "
		    "the medium reads back different bytes (a failing "
		    "medium?)") : spool_fail(err, SPOOL_ERR_EXISTS, "'%s' is "
		    "already on the medium with different bytes", ms);
		goto out;
	}
	if ((r = spool_minisig_parse(back, back_len, &bsig, err)) != SPOOL_OK ||
	    (r = spool_minisig_verify(&bsig, &m->pk, copy, err)) != SPOOL_OK) {
		spool_err_prefix(err, "the copy on the medium does not verify");
		goto out;
	}
	made_batch = made_sig = 0; /* the medium's pair is good: it stays */

	/* 3. archive/sent/ holds it */
	if ((r = archived(m, ob, name, NULL, 0, err)) != SPOOL_OK ||
	    (r = archived(m, os, sname, sig_text, sig_len, err)) != SPOOL_OK)
		goto out;

	/* 4. the store says so before out/ does: a crash after this leaves
	 * the pair in out/ and on the medium, and a rerun finishes */
	r = spool_store_batch_exported(m->st, stem, err);
	if (r != SPOOL_OK) {
		if (r != SPOOL_ERR_NOTFOUND) {
			spool_err_prefix(err, "the copy on the medium is good, "
			    "but the store cannot record it (out/ keeps it)");
			goto out;
		}
		/* a batch the store never knew (made elsewhere, or before
		 * the store): carried all the same, and said so */
		*note = "the store has no record of this batch";
	}

	/* 5. out/: .batch first, so no .batch is ever left without its
	 * .minisig (which means "being written" to the daemon) */
	if (unlink(ob) != 0 && errno != ENOENT) {
		r = spool_fail_sys(err, "exported, but cannot remove '%s'", ob);
		goto out;
	}
	if (unlink(os) != 0 && errno != ENOENT) {
		r = spool_fail_sys(err, "exported, but cannot remove '%s'", os);
		goto out;
	}
	r = spool_fsync_dir(m->out, err);
	/* carried: neither the copy on the medium nor the original (kept
	 * in archive/sent/) is read again here */
	spool_drop_cache(-1, mb);
	spool_drop_cache(in, NULL);
out:
	/* a copy that is not good does not stay on the medium (one that
	 * was there before this run is not ours to remove) */
	if (made_sig)
		unlink(ms);
	if (made_batch)
		unlink(mb);
	if (made_sig || made_batch)
		spool_fsync_dir(m->dir, NULL);
	if (in >= 0)
		close(in);
	free(sig_text);
	free(back);
	return r;
}

/* This node's pairs on the medium that their peer has acknowledged
 * (the store says so of the batch the signature names, and the
 * signature is this node's, under this name) leave the medium: .batch
 * first, so that what a crash leaves is a lone .minisig, which imports
 * ignore and the next export removes. */
static void
export_acked(struct media *m)
{
	struct names ns = { NULL, 0, 0 };
	struct spool_batch_rec b;
	struct spool_minisig sig;
	struct spool_batch_facts f;
	char stem[STEM_BUF], from[SPOOL_NAME_MAX + 1], path[PATH_MAX];
	char sp[PATH_MAX], why[160], *text = NULL;
	size_t i, len;
	spool_err e;
	int ok;

	if (names_read(m->dir, &ns, NULL) != SPOOL_OK)
		return;
	for (i = 0; i < ns.n; i++) {
		if (!ends_with(ns.v[i], SIG_EXT) ||
		    !stem_of(ns.v[i], SIG_EXT, stem) ||
		    !spool_batch_stem_parse(stem, from, NULL, NULL) ||
		    strcmp(from, m->n->cfg->name) != 0)
			continue;
		free(text);
		text = NULL;
		spool_err_clear(&e);
		if (path_join(sp, m->dir, stem, SIG_EXT, NULL) != SPOOL_OK ||
		    own_signature(m, stem, sp, &text, &len, &sig, &e) !=
		    SPOOL_OK || spool_minisig_verify_comment(&sig, &m->pk,
		    &e) != SPOOL_OK || spool_facts_parse(sig.trusted, &f, &e) !=
		    SPOOL_OK)
			continue; /* not ours to remove */
		memset(&b, 0, sizeof(b));
		if (spool_store_batch_get(m->st, f.id, &b, &e) != SPOOL_OK)
			continue;
		ok = strcmp(b.dir, "out") == 0 && b.seq == f.seq &&
		    strcmp(b.peer, f.to) == 0 &&
		    strcmp(b.state, "acknowledged") == 0;
		spool_batch_rec_release(&b);
		if (!ok)
			continue;
		if (path_join(path, m->dir, stem, BATCH_EXT, NULL) != SPOOL_OK ||
		    (unlink(path) != 0 && errno != ENOENT) || unlink(sp) != 0) {
			snprintf(why, sizeof(why), "acknowledged by '%s', but "
			    "cannot be removed from the medium: %s", f.to,
			    strerror(errno));
			report(m, stem, 0, SPOOL_MEDIA_REFUSED, why);
			continue;
		}
		(void)spool_fsync_dir(m->dir, NULL);
		snprintf(why, sizeof(why), "acknowledged by '%s'", f.to);
		report(m, stem, 0, SPOOL_MEDIA_REMOVED, why);
	}
	free(text);
	names_release(&ns);
}

int
spool_media_export(const struct spool_node *n, const char *dir,
    unsigned flags, spool_media_fn fn, void *arg, unsigned *refused,
    spool_err *err)
{
	struct media m;
	struct names ns = { NULL, 0, 0 };
	struct statfs sfs;
	char stem[STEM_BUF], want[NAME_BUF];
	int lock = -1, r;
	size_t i;

	if ((r = media_init(&m, n, dir, fn, arg, err)) != SPOOL_OK)
		goto out;
	m.flags = flags;
	if ((r = check_medium(dir, m.out, err)) != SPOOL_OK)
		goto out;
	if (statfs(dir, &sfs) != 0) {
		r = spool_fail_sys(err, "cannot statfs '%s'", dir);
		goto out;
	}
	m.fstype = (unsigned long)sfs.f_type;
	if ((r = spool_node_pubkey(n, &m.pk, err)) != SPOOL_OK ||
	    (r = lock_dir(m.out, "export", &lock, err)) != SPOOL_OK ||
	    (r = spool_store_open_config(&m.st, n->cfg, err)) != SPOOL_OK ||
	    (r = names_read(m.out, &ns, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < ns.n; i++)
		m.npairs += ends_with(ns.v[i], BATCH_EXT) &&
		    stem_of(ns.v[i], BATCH_EXT, stem) &&
		    spool_batch_stem_parse(stem, NULL, NULL, NULL) &&
		    spool_pair_complete_in(stem, has_name, &ns);
	for (i = 0; i < ns.n; i++) {
		const char *note = NULL;
		uint64_t bytes = 0;
		spool_err e;

		if (ends_with(ns.v[i], SIG_EXT)) {
			if (!stem_of(ns.v[i], SIG_EXT, stem) ||
			    !spool_batch_stem_parse(stem, NULL, NULL, NULL))
				continue;
			snprintf(want, sizeof(want), "%s%s", stem, BATCH_EXT);
			if (!names_has(&ns, want))
				export_residue(&m, stem);
			continue;
		}
		if (!stem_of(ns.v[i], BATCH_EXT, stem) ||
		    !spool_batch_stem_parse(stem, NULL, NULL, NULL))
			continue;
		/* without its .minisig a .batch is still being written */
		if (!spool_pair_complete_in(stem, has_name, &ns))
			continue;
		spool_err_clear(&e);
		m.k++;
		m.cur = stem;
		m.cur_bytes = 0;
		if (export_pair(&m, stem, &bytes, &note, &e) == SPOOL_OK)
			report(&m, stem, bytes, SPOOL_MEDIA_DONE, note);
		else
			report(&m, stem, bytes, SPOOL_MEDIA_REFUSED, e.msg);
		m.cur = NULL;
	}
	export_acked(&m);
	r = SPOOL_OK;
	*refused = m.refused;
out:
	names_release(&ns);
	if (lock >= 0)
		close(lock);
	media_release(&m);
	return r;
}

/* ---- import ----------------------------------------------------------- */

/* Bring dir/NAME (open as in) to import/NAME unless it is there with the
 * same bytes; *copied says which.  1: it was there, and the daemon took
 * it while this looked (nothing copied). */
static int
import_batch(struct media *m, int in, const char *src, const char *name,
    int *copied, spool_err *err)
{
	uint8_t a[SPOOL_PREHASH_LEN], b[SPOOL_PREHASH_LEN];
	char dst[PATH_MAX];
	uint64_t asz, bsz;
	int e, r;

	*copied = 0;
	if ((r = path_join(dst, m->import, name, "", err)) != SPOOL_OK)
		return r;
	if ((e = exists(dst, err)) < 0)
		return e;
	if (e == 0) {
		if ((r = copy_in(m, in, src, m->import, name, &asz, err)) ==
		    SPOOL_OK) {
			*copied = 1;
			spool_drop_cache(in, NULL); /* the medium's */
		}
		return r;
	}
	if ((r = hash_fd(m, in, src, a, &asz, err)) != SPOOL_OK)
		return r;
	if ((r = hash_uncached(m, dst, b, &bsz, err)) != SPOOL_OK) {
		if (r == SPOOL_ERR_SYS && err->sys_errno == ENOENT &&
		    exists(dst, NULL) == 0) {
			spool_err_clear(err);
			return 1;
		}
		return r;
	}
	if (asz != bsz || memcmp(a, b, sizeof(a)) != 0)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists "
		    "with different bytes", dst);
	return SPOOL_OK;
}

static int
import_sig(struct media *m, const char *name, const char *text, size_t len,
    int *copied, spool_err *err)
{
	char dst[PATH_MAX], *have = NULL;
	size_t hlen;
	int e, r;

	*copied = 0;
	if ((r = path_join(dst, m->import, name, "", err)) != SPOOL_OK)
		return r;
	if ((e = exists(dst, err)) < 0)
		return e;
	if (e == 0) {
		if ((r = write_in(m->import, name, text, len, err)) == SPOOL_OK)
			*copied = 1;
		return r;
	}
	if ((r = read_sig(dst, 0, &have, &hlen, err)) != SPOOL_OK)
		return r;
	r = hlen == len && memcmp(have, text, len) == 0;
	free(have);
	if (!r)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists "
		    "with different bytes", dst);
	return SPOOL_OK;
}

/* The pair stem was received before: archive/received holds this very
 * .minisig (the daemon keeps it there before it removes the pair from
 * import/). */
static int
received_before(struct media *m, const char *stem, const char *text,
    size_t len)
{
	char rel[NAME_BUF + 32], have[PATH_MAX], *b = NULL;
	size_t blen;
	int same;

	snprintf(rel, sizeof(rel), "archive/received/%s%s", stem, SIG_EXT);
	if (spool_node_path(m->n, have, sizeof(have), rel) != 0 ||
	    spool_read_file(have, SPOOL_MINISIG_MAX, &b, &blen, NULL) !=
	    SPOOL_OK)
		return 0;
	same = blen == len && memcmp(b, text, len) == 0;
	free(b);
	return same;
}

/* A name found on a medium, safe to show on a terminal. */
static void
printable(char *out, size_t outsz, const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 4 < outsz; i++)
		out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	if (name[i] != '\0')
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
}

/* Whether a pair on the medium is for this node, from its .minisig
 * alone (DESIGN 4, import step 1 without the batch): 0 it is, 1 skip it
 * (why says why: not a pair this node takes), or an error (refuse it:
 * the signature file is malformed, forged, or names another file). */
static int
import_check(struct media *m, const char *stem, const char *text,
    size_t len, char *why, size_t whysz, spool_err *err)
{
	const char *self = m->n->cfg->name;
	struct spool_batch_facts f;
	struct spool_minisig sig;
	struct spool_pubkey pk;
	char want[NAME_BUF], have[NAME_BUF], kid[SPOOL_KEYID_STRLEN + 1];
	char pid[SPOOL_KEYID_STRLEN + 1];
	int r;

	if ((r = spool_minisig_parse(text, len, &sig, err)) != SPOOL_OK ||
	    (r = spool_facts_parse(sig.trusted, &f, err)) != SPOOL_OK) {
		spool_err_prefix(err, "not a batch signature");
		return r;
	}
	if (strcmp(f.from, self) == 0) {
		snprintf(why, whysz, "this node's own batch (to '%s')", f.to);
		return 1;
	}
	if (strcmp(f.to, self) != 0) {
		snprintf(why, whysz, "addressed to '%s', this node is '%s'",
		    f.to, self);
		return 1;
	}
	r = spool_trust_get(m->n->root, f.from, &pk, err);
	if (r == SPOOL_ERR_NOTFOUND) {
		snprintf(why, whysz, "from '%s', which this node does not "
		    "trust", f.from);
		return 1;
	}
	if (r != SPOOL_OK) {
		spool_err_prefix(err, "trusted key of '%s'", f.from);
		return r;
	}
	if (memcmp(pk.id, sig.keyid, SPOOL_KEYID_LEN) != 0) {
		spool_keyid_str(sig.keyid, kid);
		spool_keyid_str(pk.id, pid);
		snprintf(why, whysz, "signed by key %s, not by the key of '%s' "
		    "(%s), which this node trusts", kid, f.from, pid);
		return 1;
	}
	if ((r = spool_minisig_verify_comment(&sig, &pk, err)) != SPOOL_OK)
		return r;
	snprintf(want, sizeof(want), "%s%s", stem, BATCH_EXT);
	spool_batch_name(have, sizeof(have), f.from, f.to, f.seq);
	if (strcmp(want, have) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT, "its signature names "
		    "it '%s'", have);
	return 0;
}

/* import --remove: the pair leaves the medium, .batch first (a lone
 * .minisig is ignored by imports, and removed by the next). */
static int
import_remove(struct media *m, const char *mb, const char *ms,
    spool_err *err)
{
	int r;

	if ((r = spool_fsync_dir(m->import, err)) != SPOOL_OK) {
		spool_err_prefix(err, "the copy in import/ is not durable; "
		    "the medium keeps the pair");
		return r;
	}
	if (unlink(mb) != 0 && errno != ENOENT)
		return spool_fail_sys(err, "imported, but cannot remove '%s'",
		    mb);
	if (unlink(ms) != 0 && errno != ENOENT)
		return spool_fail_sys(err, "imported, but cannot remove '%s'",
		    ms);
	return spool_fsync_dir(m->dir, err);
}

static int
import_pair(struct media *m, const char *stem, uint64_t *bytes, int *copied,
    char *why, size_t whysz, spool_err *err)
{
	char mb[PATH_MAX], ms[PATH_MAX], name[NAME_BUF], sname[NAME_BUF];
	char ib[PATH_MAX], *text = NULL;
	struct stat st;
	size_t len;
	int in = -1, cb = 0, cs = 0, r, e;

	snprintf(name, sizeof(name), "%s%s", stem, BATCH_EXT);
	snprintf(sname, sizeof(sname), "%s%s", stem, SIG_EXT);
	if ((r = path_join(mb, m->dir, name, "", err)) != SPOOL_OK ||
	    (r = path_join(ms, m->dir, sname, "", err)) != SPOOL_OK)
		return r;
	/* untrusted: only regular files, no symlinks, no FIFOs; the
	 * .minisig bounded before anything is written */
	if ((r = spool_open_regular(mb, &in, &st, err)) != SPOOL_OK)
		return r;
	*bytes = m->cur_bytes = (uint64_t)st.st_size;
	if ((r = spool_read_file(ms, SPOOL_MINISIG_MAX, &text, &len, err)) !=
	    SPOOL_OK) {
		if (r == SPOOL_ERR_LIMIT)
			r = spool_fail(err, SPOOL_ERR_LIMIT, "'%s' is larger than "
			    "%d bytes: not a batch signature", ms,
			    SPOOL_MINISIG_MAX);
		goto out;
	}
	/* 1 (skip) or an error: nothing is copied */
	if ((r = import_check(m, stem, text, len, why, whysz, err)) != 0)
		goto out;
	/* a rerun after a crash, the daemon taking the pairs meanwhile: a
	 * pair it received or took is skipped, and no .minisig is left in
	 * import/ without its .batch */
	if (received_before(m, stem, text, len)) {
		snprintf(why, whysz, "received before (archive/received)");
		r = 2;
		goto taken;
	}
	if ((r = import_batch(m, in, mb, name, &cb, err)) == 1) {
		snprintf(why, whysz, "taken by the daemon meanwhile");
		r = 2;
		goto taken;
	}
	if (r != SPOOL_OK ||
	    (r = import_sig(m, sname, text, len, &cs, err)) != SPOOL_OK)
		goto out;
	if (cs && path_join(ib, m->import, name, "", NULL) == SPOOL_OK &&
	    (exists(ib, NULL) == 0 || received_before(m, stem, text, len))) {
		/* the daemon took the pair between the two copies: what
		 * was written is the second .minisig of a received pair */
		if (path_join(ib, m->import, sname, "", NULL) == SPOOL_OK)
			unlink(ib);
		(void)spool_fsync_dir(m->import, NULL);
		snprintf(why, whysz, "taken by the daemon meanwhile");
		r = 2;
		goto taken;
	}
	*copied = cb || cs;
taken:
	if (r == 2 && !(m->flags & SPOOL_MEDIA_REMOVE))
		goto out;
	if (m->flags & SPOOL_MEDIA_REMOVE) {
		close(in);
		in = -1;
		if ((e = import_remove(m, mb, ms, err)) != SPOOL_OK)
			r = e;
	}
out:
	if (in >= 0)
		close(in);
	free(text);
	return r;
}

/* import --remove: a lone NAME.batch.minisig on the medium whose pair
 * was imported (import/ or archive/received/ holds the same .minisig)
 * is what an interrupted removal left. */
static void
import_residue(struct media *m, const char *stem)
{
	char path[PATH_MAX], have[PATH_MAX], rel[NAME_BUF + 32];
	char *a = NULL, *b = NULL;
	const char *where[] = { "import", "archive/received" };
	size_t alen, blen, i;

	if (path_join(path, m->dir, stem, SIG_EXT, NULL) != SPOOL_OK ||
	    spool_read_file(path, SPOOL_MINISIG_MAX, &a, &alen, NULL) !=
	    SPOOL_OK)
		return;
	for (i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "%s/%s%s", where[i], stem, SIG_EXT);
		if (spool_node_path(m->n, have, sizeof(have), rel) != 0 ||
		    spool_read_file(have, SPOOL_MINISIG_MAX, &b, &blen, NULL) !=
		    SPOOL_OK)
			continue;
		if (alen == blen && memcmp(a, b, alen) == 0 &&
		    unlink(path) == 0) {
			(void)spool_fsync_dir(m->dir, NULL);
			report_removed(m, stem, 0, SPOOL_MEDIA_SKIPPED,
			    "imported before; removed the .minisig an "
			    "interrupted removal left on the medium", 1);
			break;
		}
		free(b);
		b = NULL;
	}
	free(a);
	free(b);
}

int
spool_media_import(const struct spool_node *n, const char *dir,
    unsigned flags, spool_media_fn fn, void *arg, unsigned *refused,
    spool_err *err)
{
	struct media m;
	struct names ns = { NULL, 0, 0 };
	char stem[STEM_BUF], want[NAME_BUF], why[256];
	int lock = -1, r;
	size_t i;

	if ((r = media_init(&m, n, dir, fn, arg, err)) != SPOOL_OK)
		goto out;
	m.flags = flags;
	if ((r = check_medium(dir, m.import, err)) != SPOOL_OK ||
	    (r = lock_dir(m.import, "import", &lock, err)) != SPOOL_OK ||
	    (r = names_read(dir, &ns, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < ns.n; i++)
		m.npairs += ends_with(ns.v[i], BATCH_EXT) &&
		    stem_of(ns.v[i], BATCH_EXT, stem) &&
		    spool_batch_stem_parse(stem, NULL, NULL, NULL) &&
		    spool_pair_complete_in(stem, has_name, &ns);
	for (i = 0; i < ns.n; i++) {
		uint64_t bytes = 0;
		int copied = 0;
		spool_err e;

		if (!ends_with(ns.v[i], BATCH_EXT)) {
			/* a .minisig goes with its .batch */
			if ((flags & SPOOL_MEDIA_REMOVE) &&
			    stem_of(ns.v[i], SIG_EXT, stem) &&
			    spool_batch_stem_parse(stem, NULL, NULL, NULL) &&
			    snprintf(want, sizeof(want), "%s%s", stem,
			    BATCH_EXT) > 0 && !names_has(&ns, want))
				import_residue(&m, stem);
			continue;
		}
		if (!stem_of(ns.v[i], BATCH_EXT, stem) ||
		    !spool_batch_stem_parse(stem, NULL, NULL, NULL)) {
			char shown[NAME_BUF];

			printable(shown, sizeof(shown), ns.v[i]);
			report(&m, shown, 0, SPOOL_MEDIA_SKIPPED, "not a batch "
			    "name (FROM-TO-SEQ.batch)");
			continue;
		}
		if (!spool_pair_complete_in(stem, has_name, &ns)) {
			report(&m, stem, 0, SPOOL_MEDIA_SKIPPED, "no .minisig "
			    "(an incomplete pair)");
			continue;
		}
		spool_err_clear(&e);
		m.k++;
		m.cur = stem;
		m.cur_bytes = 0;
		why[0] = '\0';
		r = import_pair(&m, stem, &bytes, &copied, why, sizeof(why), &e);
		m.cur = NULL;
		if (r == 1)
			report(&m, stem, bytes, SPOOL_MEDIA_SKIPPED, why);
		else if (r == 2)
			report_removed(&m, stem, bytes, SPOOL_MEDIA_SKIPPED, why,
			    (flags & SPOOL_MEDIA_REMOVE) != 0);
		else if (r != SPOOL_OK)
			report(&m, stem, bytes, SPOOL_MEDIA_REFUSED, e.msg);
		else if (copied)
			report_removed(&m, stem, bytes, SPOOL_MEDIA_DONE, NULL,
			    (flags & SPOOL_MEDIA_REMOVE) != 0);
		else
			report_removed(&m, stem, bytes, SPOOL_MEDIA_SKIPPED,
			    "already in import/", (flags & SPOOL_MEDIA_REMOVE) !=
			    0);
	}
	r = SPOOL_OK;
	*refused = m.refused;
out:
	names_release(&ns);
	if (lock >= 0)
		close(lock);
	media_release(&m);
	return r;
}

/* ---- resend ----------------------------------------------------------- */

int
spool_media_resend(const struct spool_node *n, const char *peer,
    uint64_t seq, char name_out[NAME_BUF], spool_err *err)
{
	struct media m;
	struct spool_minisig sig;
	char stem[STEM_BUF], name[NAME_BUF], sname[NAME_BUF];
	char ab[PATH_MAX], as[PATH_MAX], ob[PATH_MAX];
	uint8_t digest[SPOOL_PREHASH_LEN];
	char *sig_text = NULL;
	size_t sig_len;
	uint64_t size;
	int in = -1, lock = -1, r;

	if ((r = media_init(&m, n, NULL, NULL, NULL, err)) != SPOOL_OK)
		goto out;
	snprintf(stem, sizeof(stem), "%s-%s-%010llu", n->cfg->name, peer,
	    (unsigned long long)seq);
	snprintf(name, sizeof(name), "%s%s", stem, BATCH_EXT);
	snprintf(sname, sizeof(sname), "%s%s", stem, SIG_EXT);
	snprintf(name_out, NAME_BUF, "%s", name);
	if ((r = path_join(ab, m.sent, name, "", err)) != SPOOL_OK ||
	    (r = path_join(as, m.sent, sname, "", err)) != SPOOL_OK ||
	    (r = path_join(ob, m.out, name, "", err)) != SPOOL_OK)
		goto out;
	if ((r = spool_node_pubkey(n, &m.pk, err)) != SPOOL_OK ||
	    (r = lock_dir(m.out, "resend or export", &lock, err)) != SPOOL_OK)
		goto out;
	if (exists(ob, err) == 1) {
		r = spool_fail(err, SPOOL_ERR_EXISTS, "%s is in out/ already",
		    name);
		goto out;
	}
	if ((r = spool_open_regular(ab, &in, NULL, err)) != SPOOL_OK) {
		if (r == SPOOL_ERR_NOTFOUND)
			r = spool_fail(err, SPOOL_ERR_NOTFOUND, "no %s in "
			    "archive/sent/ (never sent, or past retention)",
			    name);
		goto out;
	}
	/* the archive shares its bytes with what was sent (a link or a
	 * reflink): it is checked again before it is offered again */
	if ((r = own_signature(&m, stem, as, &sig_text, &sig_len, &sig,
	    err)) != SPOOL_OK ||
	    (r = copy_in(&m, in, ab, m.out, name, &size, err)) != SPOOL_OK)
		goto out;
	if ((r = hash_uncached(&m, ob, digest, &size, err)) != SPOOL_OK ||
	    (r = spool_minisig_verify(&sig, &m.pk, digest, err)) != SPOOL_OK) {
		unlink(ob);
		spool_err_prefix(err, "the archived %s does not verify", name);
		goto out;
	}
	r = write_in(m.out, sname, sig_text, sig_len, err);
out:
	if (in >= 0)
		close(in);
	if (lock >= 0)
		close(lock);
	free(sig_text);
	media_release(&m);
	return r;
}

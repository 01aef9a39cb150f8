/*
 * media.h - carrying batches by removable media (sneakernet).
 *
 * export: complete pairs leave out/ for a directory on a medium (a USB
 * stick), each verified as read back from the medium before the original
 * leaves out/ (it stays in archive/sent/).  import: complete pairs on a
 * medium are copied into import/, where the daemon takes them; import
 * never parses a batch (its bytes are untrusted until the daemon verifies
 * them), it only copies, bounding the .minisig.
 *
 * In both directions a .batch appears first and its .minisig last, each
 * through a dot-name and a no-replace rename, so a .minisig marks a
 * complete pair on the medium and in import/ as it does in out/.
 */
#ifndef SPOOL_MEDIA_H
#define SPOOL_MEDIA_H

#include <stdint.h>

#include "spool/base/error.h"
#include "spool/node/config.h"
#include "spool/node/node.h"

/* FAT12/16/32 (msdos, vfat): statfs f_type MSDOS_SUPER_MAGIC. */
#define SPOOL_FAT_MAGIC 0x4d44UL
/* A FAT file is at most 4 GiB - 1 bytes. */
#define SPOOL_FAT_FILE_MAX 4294967295ULL

/* 1 if a filesystem of type fstype (statfs f_type) cannot hold a file of
 * size bytes: FAT holds files under 4 GiB (exFAT is another type and has
 * no such limit). */
int spool_media_fat_refuses(unsigned long fstype, uint64_t size);
/* The same as a spool code: SPOOL_ERR_LIMIT with the reason ("'N' is 5.0
 * GiB; a FAT filesystem holds files under 4 GiB") when it refuses. */
int spool_media_size_check(unsigned long fstype, const char *name,
    uint64_t size, spool_err *err);

/* What became of one pair. */
enum spool_media_outcome {
	SPOOL_MEDIA_DONE,    /* exported, or imported */
	SPOOL_MEDIA_SKIPPED, /* nothing to do (already there, incomplete,
	                        not for this node) */
	SPOOL_MEDIA_REFUSED, /* not carried; reason says why */
	SPOOL_MEDIA_REMOVED, /* export: this node's pair the peer has
	                        acknowledged, removed from the medium */
	SPOOL_MEDIA_PROGRESS /* a pair being copied: done of bytes */
};

struct spool_media_event {
	const char *name;   /* NAME (the stem), or the file name seen */
	uint64_t bytes;     /* size of NAME.batch */
	int outcome;        /* enum spool_media_outcome */
	const char *reason; /* why skipped or refused; else NULL or a note */
	int removed;        /* import --remove: the pair left the medium */
	uint64_t done;      /* PROGRESS: bytes copied so far */
	size_t k, n;        /* pair k (from 1) of the n complete pairs */
};

/* Called once per pair, in name order (and with PROGRESS while a pair
 * is copied, every few MiB). */
typedef void (*spool_media_fn)(void *arg, const struct spool_media_event *e);

/* spool_media_import: remove each pair from the medium once its copy in
 * import/ is durable. */
#define SPOOL_MEDIA_REMOVE 1u

/* Carry every complete pair in out/ to dir (an existing directory):
 * copy (.batch, then .minisig), read back from the medium with the page
 * cache dropped and verify (same bytes, this node's signature), make sure
 * archive/sent/ holds it, record it exported in the store, then remove it
 * from out/.  A pair already on the medium with the same bytes is carried
 * again without copying (a rerun after a crash); different bytes refuse
 * the pair.  Then this node's pairs on the medium that their peer has
 * acknowledged are removed from it (.batch, then .minisig).  Per-pair
 * refusals go to fn (the others still go) and *refused counts them; the
 * return is an error only when nothing could be tried (dir missing, out/
 * unreadable, another export running).  No flags yet (0). */
int spool_media_export(const struct spool_node *n, const char *dir,
    unsigned flags, spool_media_fn fn, void *arg, unsigned *refused,
    spool_err *err);

/* Copy every complete pair in dir that is for this node into import/
 * (.batch, then .minisig).  Before anything is copied the bounded
 * .minisig is read and its global signature checked with the sender's
 * trusted key (no byte of the batch is needed): a pair from this node,
 * to another node, or from a sender this node does not trust is skipped
 * with the reason; one whose signature file does not verify or names
 * another file is refused.  A pair already in import/ with the same
 * bytes is skipped.  The medium is changed only with SPOOL_MEDIA_REMOVE:
 * each pair imported (or found in import/ already) is removed from it
 * once its copy is durable.  Same reporting as export. */
int spool_media_import(const struct spool_node *n, const char *dir,
    unsigned flags, spool_media_fn fn, void *arg, unsigned *refused,
    spool_err *err);

/* Offer the archived sent batch to peer with seq again: checked (this
 * node's signature over its bytes, under its own name), then copied into
 * out/ unchanged (.batch, then .minisig), so a receiver that has it calls
 * it a duplicate.  name gets NAME.batch. */
int spool_media_resend(const struct spool_node *n, const char *peer,
    uint64_t seq, char name[128], spool_err *err);

#endif

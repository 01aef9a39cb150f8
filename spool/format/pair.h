/*
 * pair.h - a batch travels as a pair of files, NAME.batch and
 * NAME.batch.minisig (pair.c).  The .minisig is written (and renamed
 * into place) last, so the one rule every reader of a folder follows is
 * here: a pair is complete when its .minisig exists; a .batch without
 * one is still being written.
 */
#ifndef SPOOL_PAIR_H
#define SPOOL_PAIR_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_BATCH_EXT ".batch"
#define SPOOL_SIG_EXT ".minisig" /* appended to the .batch name */

/* 1 if name is "NAME.batch" with a NAME, and not a dot-name. */
int spool_pair_is_batch(const char *name);
/* The .batch a name seen in a folder belongs to: "X.batch.minisig" and
 * "X.batch" give "X.batch" in out (n bytes); 0 for any other name. */
int spool_pair_batch_of(const char *name, char *out, size_t n);
/* out = batch_path + ".minisig"; -1 if it does not fit n. */
int spool_pair_sig_path(char *out, size_t n, const char *batch_path);

/* 1 if the pair batch_path (a .batch path) is complete on disk. */
int spool_pair_complete(const char *batch_path);
/* The same over a listing: has(arg, name) says whether name is in it;
 * stem is NAME of NAME.batch. */
int spool_pair_complete_in(const char *stem,
    int (*has)(void *arg, const char *name), void *arg);

/* "<from>-<to>-<10 digits>": the stem of a batch file name (NAME of
 * NAME.batch), node names [a-z0-9]{1,32}.  1 if stem is one; from, to
 * and seq (each may be NULL) get its parts. */
int spool_batch_stem_parse(const char *stem, char *from, char *to,
    uint64_t *seq);

#endif

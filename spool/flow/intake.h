/*
 * intake.h - taking files from the hot folders in/FOLDER/ (intake.c):
 * claimed, copied into blobs, made durable, committed as requests with
 * their manifest lines in the outbox, removed.
 */
#ifndef SPOOL_INTAKE_H
#define SPOOL_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Why intake refused a file, by kind: "code" in rejected/NAME.error.json,
 * code= in the log, reason= in status/metrics.prom. */
enum spool_refusal {
	SPOOL_REFUSED_SYMLINK,    /* a symbolic link */
	SPOOL_REFUSED_DIRECTORY,
	SPOOL_REFUSED_SPECIAL,    /* FIFO, socket, device */
	SPOOL_REFUSED_HARD_LINK,
	SPOOL_REFUSED_NAME,       /* not UTF-8, control characters */
	SPOOL_REFUSED_NO_PEER,    /* the folder has nowhere to send it */
	SPOOL_REFUSED_UNREADABLE, /* spoold may not read it */
	SPOOL_REFUSED_CHANGED,    /* changed while it was taken */
	SPOOL_REFUSED_TOO_LARGE,  /* a request file, or its manifest line */
	SPOOL_REFUSED_BAD_JSON,   /* a request file that is not JSON */
	SPOOL_REFUSED_SCHEMA,     /* a request the schema refuses */
	SPOOL_REFUSED_N
};
/* "symlink" "directory" "special" "hard-link" "name" "no-peer"
 * "unreadable" "changed" "too-large" "bad-json" "schema" */
const char *spool_refusal_name(int code);

/* 1 if a hot-folder name is one intake ignores (".x", "x.tmp", "x.part",
 * "x~"). */
int spool_intake_ignored(const char *name);
/* Take the complete files of hot folder in/folder/ (all of them when
 * names is NULL, else those named), as one group: claimed, copied into
 * blobs, made durable, committed, removed.  Files younger than the settle
 * time are left for later: *retry_ms says when to look again (0: none),
 * on the schedule's clock (spool_store_sched).
 * Refused files go to rejected/ with NAME.error.json.  When the disk is
 * full, the files stay in in/ and spool_daemon_paused says so. */
int spool_intake_folder(struct spool_daemon *d, const char *folder,
    char *const *names, size_t nnames, int64_t *retry_ms, spool_err *err);
/* Every hot folder. */
int spool_intake_scan(struct spool_daemon *d, int64_t *retry_ms,
    spool_err *err);
/* Files left claimed in store/intake/ (a crash, or a put-back that found
 * the name taken again): removed if committed, else taken now. */
int spool_intake_recover(struct spool_daemon *d, spool_err *err);

#endif

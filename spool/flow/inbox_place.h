/*
 * inbox_place.h - import's ends (inbox_place.c, private to libspool): the
 * pair import/NAME to quarantine/ with its reason (what its .minisig says
 * of it, if it parses, kept beside it), or its verified copy into
 * archive/received/ and the pair out of import/.
 */
#ifndef SPOOL_INBOX_PLACE_H
#define SPOOL_INBOX_PLACE_H

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

void spool_inbox_quarantine(struct spool_daemon *d, const char *dir,
    const char *name, const char *why);
int spool_inbox_archive(struct spool_daemon *d, const char *dir,
    const char *name, const char *copy, spool_err *err);

#endif

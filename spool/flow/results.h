/*
 * results.h - results/ (results.c, private to libspool): a result's
 * folder and its by-name link, and their removal.
 */
#ifndef SPOOL_RESULTS_H
#define SPOOL_RESULTS_H

#include <jansson.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"
#include "spool/store/request.h"

/* Write results/<request>/ for a result item (its blobs are in the blob
 * store) and point results/by-name/<folder>/<name> at it. */
int spool_results_write(struct spool_daemon *d, const json_t *item,
    const struct spool_request_info *ri, spool_err *err);

/* rm -r of a result folder (files only); by-name links left dangling
 * (under byname/<folder>/) are removed. */
void spool_results_remove(const char *dir);
void spool_results_drop_dangling(const char *byname);

#endif

/*
 * steps.c - the sequences of flows a node runs as one: recovery at start,
 * and a flush (spoold's answer on the control socket, and spoolctl's own
 * when no daemon runs).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/intake.h"
#include "spool/flow/outbox.h"
#include "spool/flow/status.h"
#include "spool/flow/steps.h"
#include "spool/flow/work.h"
#include "spool/node/node.h"

/* Temp files of an interrupted step: nothing refers to them. */
static void
clean_tmp(struct spool_daemon *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *dp;

	spool_node_path(d->node, dir, sizeof(dir), "store/tmp");
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dp);
}

int
spool_daemon_recover(struct spool_daemon *d, spool_err *err)
{
	int r;

	clean_tmp(d);
	if ((r = spool_intake_recover(d, err)) != SPOOL_OK ||
	    (r = spool_outbox_recover(d, err)) != SPOOL_OK)
		return r;
	return SPOOL_OK;
}

int
spool_daemon_flush(struct spool_daemon *d, int64_t *next_ms, spool_err *err)
{
	int64_t retry = 0;
	int r;

	if ((r = spool_intake_scan(d, &retry, err)) != SPOOL_OK ||
	    (r = spool_answer_run(d, err)) != SPOOL_OK ||
	    (r = spool_outbox_run(d, 1, next_ms, err)) != SPOOL_OK ||
	    (r = spool_status_flush(d, err)) != SPOOL_OK)
		return r;
	if (spool_daemon_paused(d))
		return spool_fail(err, SPOOL_ERR_SYS, "intake is paused: %s",
		    spool_daemon_paused(d));
	return SPOOL_OK;
}

/*
 * spoolctl.h - shared state of the spoolctl commands.
 */
#ifndef SPOOLCTL_H
#define SPOOLCTL_H

#include <jansson.h>

#include "spool/spool.h"

/* Exit statuses (DESIGN section 8). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3 };

struct ctl {
	const char *cmd;      /* command name for messages */
	const char *config;   /* resolved configuration path */
	const char *root_opt; /* --root as given */
	int json;
	int argc;             /* command's own arguments */
	char **argv;
	struct spool_node *node; /* loaded when the command needs it */
};

/* "spoolctl: <cmd>: <msg>" on stderr; returns the exit status for code. */
int ctl_fail(const struct ctl *c, int code, const char *msg);
int ctl_usage(const struct ctl *c, const char *usage);
/* Load the node (config) unless already loaded; prints on failure. */
int ctl_node(struct ctl *c);
/* Print a JSON document on stdout. */
int ctl_print_json(json_t *doc);

/* What an operator's argument names (an id, hash, path, also under the
 * root, batch or file name) as a lineage ref; else prints why (and the
 * candidates of an ambiguous name) and returns the exit status. */
int ctl_resolve(struct ctl *c, struct spool_store *st, const char *arg,
    char ref[SPOOL_REF_MAX]);

int cmd_init(struct ctl *c);
int cmd_key(struct ctl *c);
int cmd_trust(struct ctl *c);
int cmd_pack(struct ctl *c);
int cmd_verify(struct ctl *c);
int cmd_inspect(struct ctl *c);
int cmd_unpack(struct ctl *c);
int cmd_config(struct ctl *c);
/* cmd_store.c */
int cmd_requests(struct ctl *c);
int cmd_show(struct ctl *c);
int cmd_lineage(struct ctl *c);
int cmd_batches(struct ctl *c);
int cmd_jobs(struct ctl *c);
int cmd_retry(struct ctl *c);
int cmd_cancel(struct ctl *c);
int cmd_status(struct ctl *c);
int cmd_flush(struct ctl *c);
int cmd_resend(struct ctl *c);
int cmd_gc(struct ctl *c);
/* cmd_media.c */
int cmd_export(struct ctl *c);
int cmd_import(struct ctl *c);

#endif

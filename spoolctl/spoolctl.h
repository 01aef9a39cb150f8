/*
 * spoolctl.h - shared state of the spoolctl commands.
 */
#ifndef SPOOLCTL_H
#define SPOOLCTL_H

#include <jansson.h>

#include "spool/spool.h"

/* Exit statuses (DESIGN section 8). */
enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3 };

/* The commands' own options (spoolctl.c has their names): a command finds
 * the value of each in c->opt[] (NULL: not given; "" for a flag given). */
enum ctl_opt {
	OPT_OUT,    /* -o, --output FILE (pack) */
	OPT_TO,     /* --to PEER (pack, resend) or DIR (export) */
	OPT_FROM,   /* --from DIR (import) */
	OPT_NAME,   /* --name NAME (init) */
	OPT_PEER,   /* --peer NAME (init) */
	OPT_STATE,  /* --state S (requests, jobs) */
	OPT_LIMIT,  /* --limit N (listings) */
	OPT_REASON, /* --reason TEXT (cancel) */
	OPT_UP, OPT_DOWN, OPT_DOT, /* lineage */
	OPT_REMOVE, /* --remove (import) */
	OPT_QUIET,  /* -q, --quiet (export, import) */
	CTL_NOPT
};

struct ctl {
	const char *cmd;      /* command name for messages */
	const char *usage;    /* the command's usage line */
	const char *config;   /* resolved configuration path */
	const char *root_opt; /* --root as given */
	int json;
	const char *opt[CTL_NOPT];
	int argc;             /* the command's operands, options taken out */
	char **argv;
	struct spool_node *node; /* loaded when the command needs it */
};

/* "spoolctl: <cmd>: <msg>" on stderr; returns the exit status for code. */
int ctl_fail(const struct ctl *c, int code, const char *msg);
/* A usage error, exit 2: "spoolctl: CMD: WHY; usage: ..." (why may be
 * NULL) on one line. */
int ctl_usage(const struct ctl *c, const char *why);
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
int cmd_cache(struct ctl *c);
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

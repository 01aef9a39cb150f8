/*
 * spoolctl - the operator's command-line tool.
 *
 * One table of commands; global options (-c FILE, --root DIR, --json) may
 * stand anywhere on the line and are handled here, once.  Exit status:
 * 0 success, 1 error, 2 usage, 3 verification failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

#define NEEDS_NODE 1

static const struct command {
	const char *name;
	int (*fn)(struct ctl *);
	int flags;
	const char *usage;
} commands[] = {
	{ "init", cmd_init, 0, "init --root DIR --name NAME [--peer NAME]" },
	{ "key", cmd_key, NEEDS_NODE, "key show" },
	{ "trust", cmd_trust, NEEDS_NODE,
	    "trust add NAME PUBKEYFILE | trust list | trust remove NAME" },
	{ "pack", cmd_pack, NEEDS_NODE,
	    "pack [-o OUT.batch] [--to PEER] FILE..." },
	{ "verify", cmd_verify, NEEDS_NODE, "verify BATCH" },
	{ "inspect", cmd_inspect, NEEDS_NODE, "inspect BATCH" },
	{ "unpack", cmd_unpack, NEEDS_NODE, "unpack BATCH DIR" },
	{ "requests", cmd_requests, NEEDS_NODE,
	    "requests [--state S] [--limit N]" },
	{ "show", cmd_show, NEEDS_NODE, "show ID" },
	{ "lineage", cmd_lineage, NEEDS_NODE,
	    "lineage ID|HASH|PATH [--up | --down] [--dot]" },
	{ "batches", cmd_batches, NEEDS_NODE, "batches [--limit N]" },
	{ "jobs", cmd_jobs, NEEDS_NODE, "jobs [--state S] [--limit N]" },
	{ "retry", cmd_retry, NEEDS_NODE, "retry ID" },
	{ "cancel", cmd_cancel, NEEDS_NODE, "cancel ID [--reason TEXT]" },
	{ "status", cmd_status, NEEDS_NODE, "status" },
	{ "flush", cmd_flush, NEEDS_NODE, "flush" },
	{ "resend", cmd_resend, NEEDS_NODE, "resend SEQ [--to PEER]" },
	{ "gc", cmd_gc, NEEDS_NODE, "gc" },
	{ "export", cmd_export, NEEDS_NODE, "export --to DIR" },
	{ "import", cmd_import, NEEDS_NODE, "import --from DIR" },
	{ "config", cmd_config, 0, "config check [FILE]" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int
ctl_fail(const struct ctl *c, int code, const char *msg)
{
	fprintf(stderr, "spoolctl: %s: %s\n", c->cmd, msg);
	if (code == SPOOL_ERR_USAGE)
		return EXIT_USAGE;
	return spool_err_is_verify(code) ? EXIT_VERIFY : EXIT_ERROR;
}

int
ctl_usage(const struct ctl *c, const char *usage)
{
	fprintf(stderr, "spoolctl: %s: usage: spoolctl [-c FILE | --root DIR] "
	    "[--json] %s\n", c->cmd, usage);
	return EXIT_USAGE;
}

int
ctl_node(struct ctl *c)
{
	struct spool_diag diag = { NULL, 0 };
	spool_err err;
	int r;

	if (c->node != NULL)
		return EXIT_OK;
	r = spool_node_open(&c->node, c->config, &diag, &err);
	spool_diag_release(&diag);
	if (r != SPOOL_OK) {
		fprintf(stderr, "spoolctl: %s: %s\n", c->cmd, err.msg);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int
ctl_print_json(json_t *doc)
{
	int r = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(doc);
	fputc('\n', stdout);
	return r == 0 ? EXIT_OK : EXIT_ERROR;
}

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage: spoolctl [-c FILE | --root DIR] [--json] COMMAND "
	    "[ARGS]\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int
main(int argc, char **argv)
{
	static char rootconf[4096];
	struct ctl c;
	char **rest;
	const struct command *cmd = NULL;
	int i, n = 0, status;

	memset(&c, 0, sizeof(c));
	c.cmd = "spoolctl";
	if (sodium_init() < 0) {
		fputs("spoolctl: libsodium failed to initialise\n", stderr);
		return EXIT_ERROR;
	}
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
		return EXIT_ERROR;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) &&
		    i + 1 < argc)
			c.config = argv[++i];
		else if (strcmp(a, "--root") == 0 && i + 1 < argc)
			c.root_opt = argv[++i];
		else if (strncmp(a, "--root=", 7) == 0)
			c.root_opt = a + 7;
		else if (strcmp(a, "--json") == 0)
			c.json = 1;
		else if (n == 0 && (strcmp(a, "-h") == 0 ||
		    strcmp(a, "--help") == 0)) {
			usage_all(stdout);
			free(rest);
			return EXIT_OK;
		} else
			rest[n++] = argv[i];
	}
	if (n == 0) {
		usage_all(stderr);
		free(rest);
		return EXIT_USAGE;
	}
	for (i = 0; i < (int)NCOMMANDS; i++)
		if (strcmp(commands[i].name, rest[0]) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "spoolctl: unknown command '%s'\n", rest[0]);
		usage_all(stderr);
		free(rest);
		return EXIT_USAGE;
	}
	c.cmd = cmd->name;
	c.argc = n - 1;
	c.argv = rest + 1;
	if (c.config == NULL && c.root_opt != NULL) {
		snprintf(rootconf, sizeof(rootconf), "%s/spoold.conf", c.root_opt);
		c.config = rootconf;
	}
	if (c.config == NULL)
		c.config = getenv("SPOOL_CONFIG");
	if (c.config == NULL)
		c.config = "/var/lib/spool/spoold.conf";
	status = EXIT_OK;
	if (cmd->flags & NEEDS_NODE)
		status = ctl_node(&c);
	if (status == EXIT_OK)
		status = cmd->fn(&c);
	spool_node_free(c.node);
	free(rest);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "spoolctl: %s: cannot write output\n", c.cmd);
		return EXIT_ERROR;
	}
	return status;
}

/*
 * spoolctl - the operator's command-line tool.
 *
 * One table of commands and one of options; getopt_long(3) reads both in
 * one place.  Global options (-c FILE, --root DIR, --json) may stand
 * anywhere on the line, a command's own options anywhere after it,
 * "--opt=value" and "--opt value" alike; "--" ends the options.  A command
 * finds its options in c->opt[] and its operands in c->argv.
 * `spoolctl CMD --help` and `spoolctl help CMD` print the command's usage
 * and options.  Exit status: 0 success, 1 error, 2 usage, 3 verification
 * failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

#define NEEDS_NODE 1

/* A command's option: which one, what its value is called, what it does. */
struct cmd_opt {
	int id;
	const char *arg;
	const char *help;
};

static int cmd_help(struct ctl *c);

static const struct command {
	const char *name;
	int (*fn)(struct ctl *);
	int flags;
	const char *usage;   /* after "spoolctl [global options] " */
	const char *summary; /* one line */
	struct cmd_opt opts[4];
} commands[] = {
	{ "init", cmd_init, 0, "init --root DIR --name NAME [--peer NAME]",
	    "create a node in DIR: its directories, spoold.conf, a key pair",
	    { { OPT_NAME, "NAME", "the node's name, [a-z0-9]{1,32}" },
	      { OPT_PEER, "NAME", "its default peer ([node] peer)" } } },
	{ "key", cmd_key, NEEDS_NODE, "key show",
	    "print this node's public key (a minisign public-key file)", { { 0, NULL, NULL } } },
	{ "trust", cmd_trust, NEEDS_NODE,
	    "trust add NAME PUBKEYFILE | trust list | trust remove NAME",
	    "trust a peer's minisign public key, list or remove trusted peers",
	    { { 0, NULL, NULL } } },
	{ "pack", cmd_pack, NEEDS_NODE,
	    "pack [-o OUT.batch] [--to PEER] FILE...",
	    "pack files into one signed batch for a peer (takes its next seq)",
	    { { OPT_OUT, "OUT.batch", "write the batch there (default: "
		"FROM-TO-SEQ.batch here)" },
	      { OPT_TO, "PEER", "the peer (default: [node] peer)" } } },
	{ "verify", cmd_verify, NEEDS_NODE, "verify BATCH",
	    "check a batch: signature, sender, addressee, format, every hash",
	    { { 0, NULL, NULL } } },
	{ "inspect", cmd_inspect, NEEDS_NODE, "inspect BATCH",
	    "verify a batch, then list its header and items",
	    { { 0, NULL, NULL } } },
	{ "unpack", cmd_unpack, NEEDS_NODE, "unpack BATCH DIR",
	    "verify a batch, then write its payloads into DIR",
	    { { 0, NULL, NULL } } },
	{ "requests", cmd_requests, NEEDS_NODE,
	    "requests [--state S] [--limit N]", "list requests, newest first",
	    { { OPT_STATE, "S", "only requests in state S" },
	      { OPT_LIMIT, "N", "at most N rows (default 1000)" } } },
	{ "show", cmd_show, NEEDS_NODE, "show ID|NAME|PATH",
	    "one request, job or batch, with its history (also by a dropped "
	    "file's name, a batch's file name or a delivered path)",
	    { { 0, NULL, NULL } } },
	{ "lineage", cmd_lineage, NEEDS_NODE,
	    "lineage ID|HASH|PATH|NAME [--up | --down] [--dot]",
	    "where something came from and what became of it",
	    { { OPT_UP, NULL, "ancestors only" },
	      { OPT_DOWN, NULL, "descendants only" },
	      { OPT_DOT, NULL, "a graph for dot(1)" } } },
	{ "batches", cmd_batches, NEEDS_NODE, "batches [--limit N]",
	    "batches sent and received, and the seqs missing from each peer",
	    { { OPT_LIMIT, "N", "at most N rows (default 1000)" } } },
	{ "jobs", cmd_jobs, NEEDS_NODE, "jobs [--state S] [--limit N]",
	    "list jobs, newest first",
	    { { OPT_STATE, "S", "only jobs in state S" },
	      { OPT_LIMIT, "N", "at most N rows (default 1000)" } } },
	{ "retry", cmd_retry, NEEDS_NODE, "retry ID",
	    "run a failed, cancelled or expired job again",
	    { { 0, NULL, NULL } } },
	{ "cancel", cmd_cancel, NEEDS_NODE, "cancel ID [--reason TEXT]",
	    "cancel a running job",
	    { { OPT_REASON, "TEXT", "why, for its history" } } },
	{ "status", cmd_status, NEEDS_NODE, "status",
	    "the node at a glance", { { 0, NULL, NULL } } },
	{ "flush", cmd_flush, NEEDS_NODE, "flush",
	    "batch everything pending now", { { 0, NULL, NULL } } },
	{ "resend", cmd_resend, NEEDS_NODE, "resend SEQ [--to PEER]",
	    "put an archived batch back into out/, unchanged",
	    { { OPT_TO, "PEER", "the peer it was sent to (default: [node] "
		"peer)" } } },
	{ "cache", cmd_cache, NEEDS_NODE, "cache [clear [SOURCE]]",
	    "list the query cache of this processing node, or empty it (for "
	    "one source)",
	    { { 0, NULL, NULL } } },
	{ "gc", cmd_gc, NEEDS_NODE, "gc", "apply [retention] now",
	    { { 0, NULL, NULL } } },
	{ "export", cmd_export, NEEDS_NODE, "export --to DIR [--quiet]",
	    "move the complete batches of out/ onto the medium at DIR, and "
	    "remove from it this node's batches the peer acknowledged",
	    { { OPT_TO, "DIR", "where the medium is mounted" },
	      { OPT_QUIET, NULL, "say only what was refused (no progress, "
		"no lines per batch)" } } },
	{ "import", cmd_import, NEEDS_NODE,
	    "import --from DIR [--remove] [--quiet]",
	    "copy the batches for this node from the medium at DIR to import/",
	    { { OPT_FROM, "DIR", "where the medium is mounted" },
	      { OPT_REMOVE, NULL, "remove each batch from the medium once its "
		"copy in import/ is safe" },
	      { OPT_QUIET, NULL, "say only what was refused (no progress, "
		"no lines per batch)" } } },
	{ "config", cmd_config, 0, "config check [FILE]",
	    "check a configuration, and the node it describes",
	    { { 0, NULL, NULL } } },
	{ "help", cmd_help, 0, "help [COMMAND]",
	    "list the commands, or say how to use one",
	    { { 0, NULL, NULL } } },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Every option there is.  Long options are returned by getopt_long as
 * LONG_BASE + their id. */
#define LONG_BASE 256
enum { G_CONFIG = CTL_NOPT, G_ROOT, G_JSON, G_HELP, G_VERSION, ALL_NOPT };
static const struct {
	const char *name;
	int has_arg;
	int shortopt;
} optdefs[ALL_NOPT] = {
	[OPT_OUT] = { "output", required_argument, 'o' },
	[OPT_TO] = { "to", required_argument, 0 },
	[OPT_FROM] = { "from", required_argument, 0 },
	[OPT_NAME] = { "name", required_argument, 0 },
	[OPT_PEER] = { "peer", required_argument, 0 },
	[OPT_STATE] = { "state", required_argument, 0 },
	[OPT_LIMIT] = { "limit", required_argument, 0 },
	[OPT_REASON] = { "reason", required_argument, 0 },
	[OPT_UP] = { "up", no_argument, 0 },
	[OPT_DOWN] = { "down", no_argument, 0 },
	[OPT_DOT] = { "dot", no_argument, 0 },
	[OPT_REMOVE] = { "remove", no_argument, 0 },
	[OPT_QUIET] = { "quiet", no_argument, 'q' },
	[G_CONFIG] = { "config", required_argument, 'c' },
	[G_ROOT] = { "root", required_argument, 0 },
	[G_JSON] = { "json", no_argument, 0 },
	[G_HELP] = { "help", no_argument, 'h' },
	[G_VERSION] = { "version", no_argument, 0 },
};
static const int globals[] = { G_CONFIG, G_ROOT, G_JSON, G_HELP, G_VERSION };
#define NGLOBALS (sizeof(globals) / sizeof(globals[0]))

static const char global_usage[] = "[-c FILE | --root DIR] [--json]";

int
ctl_fail(const struct ctl *c, int code, const char *msg)
{
	fprintf(stderr, "spoolctl: %s: %s\n", c->cmd, msg);
	if (code == SPOOL_ERR_USAGE)
		return EXIT_USAGE;
	return spool_err_is_verify(code) ? EXIT_VERIFY : EXIT_ERROR;
}

/* One line: "spoolctl: CMD: [WHY; ]usage: spoolctl ... USAGE". */
int
ctl_usage(const struct ctl *c, const char *why)
{
	if (c->usage == NULL)
		fprintf(stderr, "spoolctl: %s%susage: spoolctl %s COMMAND [ARGS] "
		    "(spoolctl help)\n", why ? why : "", why ? "; " : "",
		    global_usage);
	else
		fprintf(stderr, "spoolctl: %s: %s%susage: spoolctl %s %s "
		    "(spoolctl %s --help)\n", c->cmd, why ? why : "",
		    why ? "; " : "", global_usage, c->usage, c->cmd);
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

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage: spoolctl %s COMMAND [ARGS]\n"
	    "       spoolctl COMMAND --help | help COMMAND | --version\n"
	    "commands:\n", global_usage);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

static void
print_opt(FILE *f, int id, const char *arg, const char *help)
{
	char left[64];

	if (optdefs[id].shortopt)
		snprintf(left, sizeof(left), "-%c, --%s%s%s",
		    optdefs[id].shortopt, optdefs[id].name, arg ? " " : "",
		    arg ? arg : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", optdefs[id].name,
		    arg ? " " : "", arg ? arg : "");
	fprintf(f, "  %-24s %s\n", left, help);
}

/* `spoolctl CMD --help`: its usage, what it does, its options. */
static void
usage_command(FILE *f, const struct command *cmd)
{
	const struct cmd_opt *o;

	fprintf(f, "usage: spoolctl %s %s\n\n%s\n\noptions:\n", global_usage,
	    cmd->usage, cmd->summary);
	for (o = cmd->opts; o < cmd->opts + 4 && o->help != NULL; o++)
		print_opt(f, o->id, o->arg, o->help);
	print_opt(f, G_CONFIG, "FILE", "the node's configuration");
	print_opt(f, G_ROOT, "DIR", "the node in DIR (-c DIR/spoold.conf)");
	print_opt(f, G_JSON, NULL, "one JSON document on stdout");
	print_opt(f, G_HELP, NULL, "this help");
	fprintf(f, "\nSee spoolctl(1).\n");
}

static int
cmd_help(struct ctl *c)
{
	const struct command *cmd;

	if (c->argc == 0) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if (c->argc > 1)
		return ctl_usage(c, "one command at a time");
	if ((cmd = find_command(c->argv[0])) == NULL) {
		fprintf(stderr, "spoolctl: help: unknown command '%s'\n",
		    c->argv[0]);
		return EXIT_USAGE;
	}
	usage_command(stdout, cmd);
	return EXIT_OK;
}

static void
version(void)
{
	printf("spoolctl (spool) %s\n", spool_version());
}

/* The getopt_long table for a command (NULL: no command yet, globals
 * only) and its short options. */
static void
build_opts(const struct command *cmd, struct option *lo, char *so)
{
	size_t n = 0, k = 0, i;
	const struct cmd_opt *o;
	int ids[NGLOBALS + 4];

	for (i = 0; i < NGLOBALS; i++)
		ids[k++] = globals[i];
	for (o = cmd ? cmd->opts : NULL; o && o < cmd->opts + 4 && o->help;
	    o++)
		ids[k++] = o->id;
	so[n++] = cmd ? ':' : '+'; /* '+': stop at the command */
	if (!cmd)
		so[n++] = ':';
	for (i = 0; i < k; i++) {
		lo[i].name = optdefs[ids[i]].name;
		lo[i].has_arg = optdefs[ids[i]].has_arg;
		lo[i].flag = NULL;
		lo[i].val = LONG_BASE + ids[i];
		if (optdefs[ids[i]].shortopt) {
			so[n++] = (char)optdefs[ids[i]].shortopt;
			if (optdefs[ids[i]].has_arg)
				so[n++] = ':';
		}
	}
	memset(&lo[k], 0, sizeof(lo[k]));
	so[n] = '\0';
}

/* The option id getopt_long returned v for (-1: none). */
static int
opt_id(int v)
{
	int i;

	if (v >= LONG_BASE && v < LONG_BASE + ALL_NOPT)
		return v - LONG_BASE;
	for (i = 0; i < ALL_NOPT; i++)
		if (optdefs[i].shortopt && optdefs[i].shortopt == v)
			return i;
	return -1;
}

/* Why getopt_long stopped at argv[optind - 1] ('?' or ':'); lo is the
 * table it was given. */
static int
bad_option(struct ctl *c, int v, char **argv, const struct option *lo)
{
	const char *arg = argv[optind - 1];
	char why[300], name[64];
	size_t i, n;
	int matches = 0;

	if (v == ':') {
		if (optopt != 0 && optopt < LONG_BASE)
			snprintf(why, sizeof(why), "option '-%c' needs a value",
			    optopt);
		else
			snprintf(why, sizeof(why), "option '%.100s' needs a "
			    "value", arg);
		return ctl_usage(c, why);
	}
	if (optopt != 0 && optopt < LONG_BASE) {
		snprintf(why, sizeof(why), "unknown option '-%c'", optopt);
		return ctl_usage(c, why);
	}
	/* a long option: unknown here, known to another command, or an
	 * abbreviation of more than one */
	n = strcspn(arg + 2, "=");
	snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), arg + 2);
	for (; lo->name != NULL; lo++)
		if (strncmp(lo->name, name, strlen(name)) == 0)
			matches++;
	for (i = 0; i < ALL_NOPT; i++)
		if (strcmp(optdefs[i].name, name) == 0)
			break;
	if (strncmp(arg, "--", 2) != 0)
		snprintf(why, sizeof(why), "unknown option '%.100s'", arg);
	else if (i < ALL_NOPT && optdefs[i].has_arg == no_argument &&
	    arg[2 + n] == '=')
		snprintf(why, sizeof(why), "option '--%s' takes no value",
		    name);
	else if (matches > 1)
		snprintf(why, sizeof(why), "option '--%s' is ambiguous", name);
	else if (i < ALL_NOPT && c->usage == NULL)
		snprintf(why, sizeof(why), "option '--%s' goes after its "
		    "command", name);
	else if (i < ALL_NOPT)
		snprintf(why, sizeof(why), "'--%s' is not an option of %s",
		    name, c->cmd);
	else
		snprintf(why, sizeof(why), "unknown option '%.100s'", arg);
	return ctl_usage(c, why);
}

int
main(int argc, char **argv)
{
	static char rootconf[4096];
	struct option lo[NGLOBALS + 5];
	char so[32];
	struct ctl c;
	const struct command *cmd = NULL;
	int v, id, help = 0, status, nargs;

	memset(&c, 0, sizeof(c));
	c.cmd = "spoolctl";
	if (sodium_init() < 0) {
		fputs("spoolctl: libsodium failed to initialise\n", stderr);
		return EXIT_ERROR;
	}
	opterr = 0;
	/* pass 1: the global options before the command */
	build_opts(NULL, lo, so);
	while ((v = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (v == '?' || v == ':')
			return bad_option(&c, v, argv, lo);
		switch ((id = opt_id(v))) {
		case G_CONFIG: c.config = optarg; break;
		case G_ROOT: c.root_opt = optarg; break;
		case G_JSON: c.json = 1; break;
		case G_HELP: help = 1; break;
		case G_VERSION: version(); return EXIT_OK;
		}
	}
	if (optind >= argc) {
		usage_all(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	if ((cmd = find_command(argv[optind])) == NULL) {
		fprintf(stderr, "spoolctl: unknown command '%s' (spoolctl help "
		    "lists them)\n", argv[optind]);
		return EXIT_USAGE;
	}
	c.cmd = cmd->name;
	c.usage = cmd->usage;
	/* pass 2: the rest, options anywhere (getopt_long moves the operands
	 * after them, in order), up to "--" */
	nargs = argc - optind;
	argv += optind;
	optind = 0; /* glibc: start afresh */
	build_opts(cmd, lo, so);
	while ((v = getopt_long(nargs, argv, so, lo, NULL)) != -1) {
		if (v == '?' || v == ':')
			return bad_option(&c, v, argv, lo);
		switch ((id = opt_id(v))) {
		case G_CONFIG: c.config = optarg; break;
		case G_ROOT: c.root_opt = optarg; break;
		case G_JSON: c.json = 1; break;
		case G_HELP: help = 1; break;
		case G_VERSION: version(); return EXIT_OK;
		default:
			if (id >= 0 && id < CTL_NOPT)
				c.opt[id] = optarg ? optarg : "";
		}
	}
	if (help) {
		usage_command(stdout, cmd);
		return EXIT_OK;
	}
	c.argc = nargs - optind;
	c.argv = argv + optind;
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
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "spoolctl: %s: cannot write output\n", c.cmd);
		return EXIT_ERROR;
	}
	return status;
}

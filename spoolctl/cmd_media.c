/*
 * cmd_media.c - export --to DIR, import --from DIR: batches by USB stick.
 *
 * One line per pair as it goes (stdout), each refusal as
 * "spoolctl: CMD: NAME: why" (stderr); --json collects one document.
 * Exit 0 when every pair went, 1 when any was refused, 2 on usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "spoolctl.h"

struct media_out {
	const struct ctl *c;
	const char *dir;
	const char *done_key;      /* "exported" | "imported" */
	json_t *done, *skipped, *refused;
};

static void
on_event(void *arg, const struct spool_media_event *e)
{
	struct media_out *o = arg;

	if (e->outcome == SPOOL_MEDIA_REFUSED)
		fprintf(stderr, "spoolctl: %s: %s: %s\n", o->c->cmd, e->name,
		    e->reason);
	if (o->c->json) {
		json_t *j;

		if (e->outcome == SPOOL_MEDIA_DONE) {
			j = json_pack("{s:s, s:I}", "name", e->name, "bytes",
			    (json_int_t)e->bytes);
			if (j != NULL && e->reason != NULL)
				json_object_set_new(j, "note",
				    json_string(e->reason));
			json_array_append_new(o->done, j);
		} else
			json_array_append_new(e->outcome == SPOOL_MEDIA_SKIPPED ?
			    o->skipped : o->refused, json_pack("{s:s, s:s}",
			    "name", e->name, "reason", e->reason));
		return;
	}
	if (e->outcome == SPOOL_MEDIA_DONE)
		printf("%s: %s %s %s (%" PRIu64 " bytes)%s%s\n", e->name,
		    o->done_key, strcmp(o->done_key, "exported") == 0 ? "to" :
		    "from", o->dir, e->bytes, e->reason ? "; " : "",
		    e->reason ? e->reason : "");
	else if (e->outcome == SPOOL_MEDIA_SKIPPED)
		printf("%s: skipped: %s\n", e->name, e->reason);
	fflush(stdout);
}

static int
run(struct ctl *c, int opt, const char *done_key,
    int (*fn)(const struct spool_node *, const char *, spool_media_fn,
    void *, unsigned *, spool_err *))
{
	struct media_out o;
	unsigned refused = 0;
	spool_err err;
	int r, status;

	if (c->argc != 0 || c->opt[opt] == NULL || c->opt[opt][0] == '\0')
		return ctl_usage(c, c->argc != 0 ? "unexpected operand" :
		    opt == OPT_TO ? "where to? (--to DIR)" :
		    "from where? (--from DIR)");
	memset(&o, 0, sizeof(o));
	o.c = c;
	o.dir = c->opt[opt];
	o.done_key = done_key;
	if (c->json && ((o.done = json_array()) == NULL ||
	    (o.skipped = json_array()) == NULL ||
	    (o.refused = json_array()) == NULL)) {
		status = ctl_fail(c, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = fn(c->node, o.dir, on_event, &o, &refused, &err);
	if (r != SPOOL_OK) {
		/* nothing was tried: never a verdict on a batch (exit 3) */
		status = ctl_fail(c, r == SPOOL_ERR_USAGE ? r : SPOOL_ERR_SYS,
		    err.msg);
		goto out;
	}
	status = refused > 0 ? EXIT_ERROR : EXIT_OK;
	if (c->json) {
		json_t *doc = json_pack("{s:O, s:O, s:O}", done_key, o.done,
		    "skipped", o.skipped, "refused", o.refused);

		if (doc == NULL || ctl_print_json(doc) != EXIT_OK)
			status = EXIT_ERROR;
	}
out:
	json_decref(o.done);
	json_decref(o.skipped);
	json_decref(o.refused);
	return status;
}

int
cmd_export(struct ctl *c)
{
	return run(c, OPT_TO, "exported", spool_media_export);
}

int
cmd_import(struct ctl *c)
{
	return run(c, OPT_FROM, "imported", spool_media_import);
}

/* resend SEQ [--to PEER]: the archived batch back into out/. */
int
cmd_resend(struct ctl *c)
{
	const char *peer = c->opt[OPT_TO], *s;
	char name[128], *end;
	unsigned long long seq;
	spool_err err;

	if (c->argc != 1)
		return ctl_usage(c, NULL);
	s = c->argv[0];
	errno = 0;
	seq = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || seq < 1 || seq > SPOOL_SEQ_MAX ||
	    s[0] == '+' || s[0] == '-')
		return ctl_fail(c, SPOOL_ERR_USAGE, "SEQ must be a number from "
		    "1 to 9999999999");
	if (peer == NULL)
		peer = c->node->cfg->peer;
	if (peer == NULL || !spool_node_name_ok(peer))
		return ctl_fail(c, SPOOL_ERR_USAGE, "which peer? (--to PEER; "
		    "the node has no default peer)");
	spool_err_clear(&err);
	if (spool_media_resend(c->node, peer, seq, name, &err) != SPOOL_OK)
		return ctl_fail(c, err.code, err.msg);
	if (c->json) {
		json_t *doc = json_pack("{s:s, s:I, s:s}", "resent", name, "seq",
		    (json_int_t)seq, "to", peer);
		return ctl_print_json(doc); /* takes doc */
	}
	printf("%s: back in out/, unchanged\n", name);
	return EXIT_OK;
}

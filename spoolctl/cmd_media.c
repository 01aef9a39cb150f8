/*
 * cmd_media.c - export --to DIR, import --from DIR: batches by USB stick.
 *
 * One line per pair as it goes (stdout), each refusal as
 * "spoolctl: CMD: NAME: why" (stderr), and a closing line saying what the
 * run did ("nothing to export" included); on a terminal, progress on
 * stderr (pair k of n, bytes, rate).  --quiet: refusals only.  --json
 * collects one document.  Exit 0 when every pair went, 1 when any was
 * refused, 2 on usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "spoolctl.h"

struct media_out {
	const struct ctl *c;
	const char *dir;
	const char *done_key;      /* "exported" | "imported" */
	json_t *done, *skipped, *refused, *removed;
	int quiet, tty;
	unsigned ndone, nskipped, nremoved;
	uint64_t bytes;            /* of the pairs carried */
	/* progress on a terminal */
	int shown;                 /* a progress line is on stderr */
	double t0, last;           /* when the pair began, last shown */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Progress (a terminal only): "pair k of n NAME: done of total, rate",
 * rewritten in place at most ten times a second. */
static void
on_progress(struct media_out *o, const struct spool_media_event *e)
{
	char d[32], t[32], rate[32];
	double now = now_s(), el;

	if (e->done == 0 || o->t0 == 0)
		o->t0 = now;
	if (e->done < e->bytes && now - o->last < 0.1)
		return;
	o->last = now;
	el = now - o->t0;
	out_size(d, sizeof(d), (double)e->done);
	out_size(t, sizeof(t), (double)e->bytes);
	out_size(rate, sizeof(rate), el > 0.01 ? (double)e->done / el : 0);
	fprintf(stderr, "\r\033[Kpair %zu of %zu %s: %s of %s, %s/s", e->k,
	    e->n, e->name, d, t, rate);
	fflush(stderr);
	o->shown = 1;
}

static void
progress_clear(struct media_out *o)
{
	if (!o->shown)
		return;
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	o->shown = 0;
	o->t0 = 0;
}

static void
on_event(void *arg, const struct spool_media_event *e)
{
	struct media_out *o = arg;
	int exp = strcmp(o->done_key, "exported") == 0;
	json_t *j;

	if (e->outcome == SPOOL_MEDIA_PROGRESS) {
		if (o->tty && !o->quiet && !o->c->json)
			on_progress(o, e);
		return;
	}
	progress_clear(o);
	switch (e->outcome) {
	case SPOOL_MEDIA_DONE:
		o->ndone++;
		o->bytes += e->bytes;
		break;
	case SPOOL_MEDIA_SKIPPED:
		o->nskipped++;
		break;
	case SPOOL_MEDIA_REMOVED:
		o->nremoved++;
		break;
	}
	if (e->outcome == SPOOL_MEDIA_REFUSED)
		fprintf(stderr, "spoolctl: %s: %s: %s\n", o->c->cmd, e->name,
		    e->reason);
	if (o->c->json) {
		switch (e->outcome) {
		case SPOOL_MEDIA_DONE:
			j = json_pack("{s:s, s:I}", "name", e->name, "bytes",
			    (json_int_t)e->bytes);
			if (j != NULL && e->reason != NULL)
				json_object_set_new(j, "note",
				    json_string(e->reason));
			if (j != NULL && e->removed)
				json_object_set_new(j, "removed", json_true());
			json_array_append_new(o->done, j);
			break;
		case SPOOL_MEDIA_REMOVED:
			json_array_append_new(o->removed, json_pack("{s:s, "
			    "s:s}", "name", e->name, "reason", e->reason));
			break;
		default:
			j = json_pack("{s:s, s:s}", "name", e->name, "reason",
			    e->reason);
			if (j != NULL && e->removed)
				json_object_set_new(j, "removed", json_true());
			json_array_append_new(e->outcome == SPOOL_MEDIA_SKIPPED ?
			    o->skipped : o->refused, j);
		}
		return;
	}
	if (o->quiet)
		return;
	if (e->outcome == SPOOL_MEDIA_DONE)
		printf("%s: %s %s %s (%" PRIu64 " bytes)%s%s%s\n", e->name,
		    o->done_key, exp ? "to" : "from", o->dir, e->bytes,
		    e->reason ? "; " : "", e->reason ? e->reason : "",
		    e->removed ? "; removed from the medium" : "");
	else if (e->outcome == SPOOL_MEDIA_SKIPPED)
		printf("%s: skipped: %s%s\n", e->name, e->reason,
		    e->removed && strstr(e->reason, "removed") == NULL ?
		    "; removed from the medium" : "");
	else if (e->outcome == SPOOL_MEDIA_REMOVED)
		printf("%s: removed from %s: %s\n", e->name, o->dir,
		    e->reason);
	fflush(stdout);
}

/* The closing line: what the run did, or that there was nothing to do. */
static void
summary(const struct media_out *o, unsigned refused)
{
	char b[32];
	int exp = strcmp(o->done_key, "exported") == 0;

	if (o->ndone + o->nskipped + o->nremoved + refused == 0) {
		printf(exp ? "nothing to export\n" :
		    "nothing to import from %s\n", o->dir);
		return;
	}
	out_size(b, sizeof(b), (double)o->bytes);
	printf("%s %u pair%s (%s)", o->done_key, o->ndone, o->ndone == 1 ?
	    "" : "s", b);
	if (o->nskipped)
		printf(", skipped %u", o->nskipped);
	if (o->nremoved)
		printf(", removed %u acknowledged from the medium", o->nremoved);
	if (refused)
		printf(", refused %u", refused);
	printf("\n");
}

static int
run(struct ctl *c, int opt, const char *done_key,
    int (*fn)(const struct spool_node *, const char *, unsigned,
    spool_media_fn, void *, unsigned *, spool_err *))
{
	struct media_out o;
	unsigned refused = 0, flags = 0;
	spool_err err;
	int r, status, imp = strcmp(done_key, "imported") == 0;

	if (c->argc != 0 || c->opt[opt] == NULL || c->opt[opt][0] == '\0')
		return ctl_usage(c, c->argc != 0 ? "unexpected operand" :
		    opt == OPT_TO ? "where to? (--to DIR)" :
		    "from where? (--from DIR)");
	memset(&o, 0, sizeof(o));
	o.quiet = c->opt[OPT_QUIET] != NULL;
	if (imp && c->opt[OPT_REMOVE] != NULL)
		flags |= SPOOL_MEDIA_REMOVE;
	o.c = c;
	o.dir = c->opt[opt];
	o.done_key = done_key;
	o.tty = isatty(2);
	if (c->json && ((o.done = json_array()) == NULL ||
	    (o.skipped = json_array()) == NULL ||
	    (o.refused = json_array()) == NULL ||
	    (o.removed = json_array()) == NULL)) {
		status = ctl_fail(c, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = fn(c->node, o.dir, flags, on_event, &o, &refused, &err);
	progress_clear(&o);
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

		if (doc != NULL && !imp)
			json_object_set(doc, "removed", o.removed);
		if (doc == NULL || ctl_print_json(doc) != EXIT_OK)
			status = EXIT_ERROR;
	} else if (!o.quiet)
		summary(&o, refused);
out:
	json_decref(o.done);
	json_decref(o.skipped);
	json_decref(o.refused);
	json_decref(o.removed);
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

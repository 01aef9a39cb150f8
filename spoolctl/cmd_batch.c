/*
 * cmd_batch.c - pack, verify, inspect, unpack.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

static json_t *
facts_json(const struct spool_batch_facts *f)
{
	char name[128];

	spool_batch_name(name, sizeof(name), f->from, f->to, f->seq);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s}",
	    "name", name, "from", f->from, "to", f->to, "seq",
	    (json_int_t)f->seq, "id", f->id, "items", (json_int_t)f->items,
	    "bytes", (json_int_t)f->bytes, "tar", (json_int_t)f->tar,
	    "created", f->created);
}

int
cmd_pack(struct ctl *c)
{
	struct spool_batch_facts f;
	const char *out = c->opt[OPT_OUT], *to = c->opt[OPT_TO];
	char written[PATH_MAX], warn[512] = "";
	spool_err err;
	int r;

	if (to == NULL)
		to = c->node->cfg->peer;
	if (c->argc == 0)
		return ctl_usage(c, "no FILE to pack");
	if (to == NULL)
		return ctl_fail(c, SPOOL_ERR_USAGE,
		    "no peer: give --to PEER or set [node] peer");
	r = spool_node_pack(c->node, to, c->argv, (size_t)c->argc, out,
	    written, &f, &err);
	/* pack verifies nothing: its failures are errors (1) or usage (2) */
	if (r != SPOOL_OK)
		return ctl_fail(c, spool_err_is_verify(r) ? SPOOL_ERR_SYS : r,
		    err.msg);
	/* pack is not bound by max_bytes (DESIGN 8), but a reader is: say
	 * what the peer must allow, or it refuses the batch */
	if (f.tar > c->node->cfg->max_bytes) {
		/* [batch] max_bytes in whole MiB, rounded up */
		snprintf(warn, sizeof(warn), "the batch's tar is %" PRIu64
		    " bytes, over this node's [batch] max_bytes (%" PRIu64
		    "): '%s' refuses it unless its [batch] max_bytes is at "
		    "least %" PRIu64 "M", f.tar, c->node->cfg->max_bytes, f.to,
		    (f.tar + (1u << 20) - 1) >> 20);
		fprintf(stderr, "spoolctl: pack: warning: %s\n", warn);
	}
	if (c->json) {
		json_t *j = facts_json(&f);

		json_object_set_new(j, "path", json_string(written));
		if (warn[0] != '\0')
			json_object_set_new(j, "warning", json_string(warn));
		return ctl_print_json(j);
	}
	printf("%s: seq %" PRIu64 " to %s, %" PRIu64 " items, %" PRIu64
	    " bytes\n", written, f.seq, f.to, f.items, f.bytes);
	return EXIT_OK;
}

int
cmd_verify(struct ctl *c)
{
	struct spool_batch_check chk;
	struct spool_batch_facts f;
	char tmpdir[PATH_MAX];
	spool_err err;

	if (c->argc != 1)
		return ctl_usage(c, NULL);
	spool_node_batch_check(c->node, &chk, tmpdir);
	if (spool_batch_read(c->argv[0], NULL, &chk, &f, &err) != SPOOL_OK) {
		spool_err_prefix(&err, "'%s'", c->argv[0]);
		return ctl_fail(c, err.code, err.msg);
	}
	if (c->json) {
		json_t *j = facts_json(&f);

		json_object_set_new(j, "verified", json_true());
		return ctl_print_json(j);
	}
	printf("%s: ok, from %s seq %" PRIu64 ", %" PRIu64 " items, %" PRIu64
	    " bytes\n", c->argv[0], f.from, f.seq, f.items, f.bytes);
	return EXIT_OK;
}

static int
keep_item(void *ctx, const json_t *item, spool_err *err)
{
	if (json_array_append(ctx, (json_t *)item) != 0)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}

static void
print_item(const json_t *it)
{
	const char *kind = json_string_value(json_object_get(it, "kind"));
	const json_t *f;
	size_t i;

	if (strcmp(kind, "request") == 0) {
		printf("request %s  %s  %s  user=%s\n",
		    json_string_value(json_object_get(it, "id")),
		    json_string_value(json_object_get(it, "type")),
		    json_string_value(json_object_get(it, "name")),
		    json_string_value(json_object_get(it, "user")));
	} else if (strcmp(kind, "part") == 0) {
		printf("part    of %s  %s  %" JSON_INTEGER_FORMAT "/%"
		    JSON_INTEGER_FORMAT "\n",
		    json_string_value(json_object_get(it, "request")),
		    json_string_value(json_object_get(it, "name")),
		    json_integer_value(json_object_get(it, "index")) + 1,
		    json_integer_value(json_object_get(it, "count")));
		return;
	} else {
		printf("result  %s  for %s  %s\n",
		    json_string_value(json_object_get(it, "id")),
		    json_string_value(json_object_get(it, "request")),
		    json_string_value(json_object_get(it, "status")));
	}
	json_array_foreach(json_object_get(it, "files"), i, f)
		printf("        %12" JSON_INTEGER_FORMAT "  %.16s  %s\n",
		    json_integer_value(json_object_get(f, "size")),
		    json_string_value(json_object_get(f, "blob")),
		    json_string_value(json_object_get(f, "name")));
}

int
cmd_inspect(struct ctl *c)
{
	struct spool_batch_sink sink = { NULL, NULL, keep_item, NULL, NULL, NULL, NULL };
	struct spool_batch_check chk;
	struct spool_batch_facts f;
	char tmpdir[PATH_MAX];
	json_t *items = json_array(), *it;
	spool_err err;
	size_t i;

	if (c->argc != 1) {
		json_decref(items);
		return ctl_usage(c, NULL);
	}
	sink.ctx = items;
	spool_node_batch_check(c->node, &chk, tmpdir);
	chk.sink = &sink;
	if (spool_batch_read(c->argv[0], NULL, &chk, &f, &err) != SPOOL_OK) {
		json_decref(items);
		spool_err_prefix(&err, "'%s'", c->argv[0]);
		return ctl_fail(c, err.code, err.msg);
	}
	if (c->json)
		return ctl_print_json(json_pack("{s:o, s:o}", "batch",
		    facts_json(&f), "items", items));
	printf("batch   %s-%s-%010" PRIu64 ".batch (verified)\n", f.from, f.to,
	    f.seq);
	printf("id      %s\nfrom    %s\nto      %s\nseq     %" PRIu64
	    "\ncreated %s\nitems   %" PRIu64 "\nbytes   %" PRIu64 "\ntar     %"
	    PRIu64 "\n\n", f.id, f.from, f.to, f.seq, f.created, f.items,
	    f.bytes, f.tar);
	json_array_foreach(items, i, it)
		print_item(it);
	json_decref(items);
	return EXIT_OK;
}

int
cmd_unpack(struct ctl *c)
{
	struct spool_batch_check chk;
	struct spool_batch_facts f;
	char tmpdir[PATH_MAX];
	spool_err err;

	if (c->argc != 2)
		return ctl_usage(c, NULL);
	spool_node_batch_check(c->node, &chk, tmpdir);
	if (spool_batch_unpack(c->argv[0], NULL, &chk, c->argv[1], &f, &err) !=
	    SPOOL_OK) {
		spool_err_prefix(&err, "'%s'", c->argv[0]);
		return ctl_fail(c, err.code, err.msg);
	}
	if (c->json) {
		json_t *j = facts_json(&f);

		json_object_set_new(j, "dir", json_string(c->argv[1]));
		return ctl_print_json(j);
	}
	printf("%s: unpacked %" PRIu64 " items into %s\n", c->argv[0], f.items,
	    c->argv[1]);
	return EXIT_OK;
}

/*
 * cmd_node.c - init, key show, trust add|list|remove, config check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "spoolctl.h"

int
cmd_init(struct ctl *c)
{
	const char *name = c->opt[OPT_NAME], *peer = c->opt[OPT_PEER];
	spool_err err;

	if (c->argc != 0)
		return ctl_usage(c, "unexpected operand");
	if (c->root_opt == NULL || name == NULL)
		return ctl_usage(c, c->root_opt == NULL ? "where? (--root DIR)" :
		    "what name? (--name NAME)");
	if (spool_node_create(c->root_opt, name, peer, &err) != SPOOL_OK)
		return ctl_fail(c, err.code, err.msg);
	printf("initialised node '%s' in %s\n", name, c->root_opt);
	return EXIT_OK;
}

int
cmd_key(struct ctl *c)
{
	struct spool_pubkey pk;
	char text[256];
	spool_err err;

	if (c->argc != 1 || strcmp(c->argv[0], "show") != 0)
		return ctl_usage(c, NULL);
	if (spool_node_pubkey(c->node, &pk, &err) != SPOOL_OK)
		return ctl_fail(c, err.code, err.msg);
	spool_pubkey_format(&pk, text, sizeof(text));
	if (c->json) {
		char id[SPOOL_KEYID_STRLEN + 1];

		spool_keyid_str(pk.id, id);
		return ctl_print_json(json_pack("{s:s, s:s, s:s}", "node",
		    c->node->cfg->name, "key_id", id, "public_key", text));
	}
	fputs(text, stdout);
	return EXIT_OK;
}

static int
trust_list(struct ctl *c)
{
	struct spool_trusted *v = NULL;
	char id[SPOOL_KEYID_STRLEN + 1];
	json_t *arr;
	size_t n = 0, i;
	spool_err err;

	if (spool_trust_list(c->node->root, &v, &n, &err) != SPOOL_OK)
		return ctl_fail(c, err.code, err.msg);
	if (c->json) {
		arr = json_array();
		for (i = 0; i < n; i++) {
			spool_keyid_str(v[i].key.id, id);
			json_array_append_new(arr, json_pack("{s:s, s:s}", "name",
			    v[i].name, "key_id", id));
		}
		free(v);
		return ctl_print_json(json_pack("{s:o}", "trusted", arr));
	}
	for (i = 0; i < n; i++) {
		spool_keyid_str(v[i].key.id, id);
		printf("%-32s %s\n", v[i].name, id);
	}
	free(v);
	return EXIT_OK;
}

/* The store keeps each peer with the id of the key it was trusted with,
 * next to its sequence ledger (the key file stays the truth). */
static int
record_peer(struct ctl *c, const char *name, spool_err *err)
{
	char id[SPOOL_KEYID_STRLEN + 1];
	struct spool_store *st;
	struct spool_pubkey pk;
	int r;

	if ((r = spool_trust_get(c->node->root, name, &pk, err)) != SPOOL_OK)
		return r;
	spool_keyid_str(pk.id, id);
	if ((r = spool_store_open_config(&st, c->node->cfg, err)) != SPOOL_OK)
		return r;
	r = spool_store_peer_add(st, name, id, err);
	spool_store_close(st);
	return r;
}

int
cmd_trust(struct ctl *c)
{
	spool_err err;

	if (c->argc == 1 && strcmp(c->argv[0], "list") == 0)
		return trust_list(c);
	if (c->argc == 3 && strcmp(c->argv[0], "add") == 0) {
		if (spool_node_trust_add(c->node, c->argv[1], c->argv[2],
		    &err) != SPOOL_OK)
			return ctl_fail(c, err.code, err.msg);
		if (record_peer(c, c->argv[1], &err) != SPOOL_OK) {
			spool_err_prefix(&err, "trusted '%s', but the store "
			    "could not record it", c->argv[1]);
			return ctl_fail(c, err.code, err.msg);
		}
		printf("trusted '%s'\n", c->argv[1]);
		return EXIT_OK;
	}
	if (c->argc == 2 && strcmp(c->argv[0], "remove") == 0) {
		if (spool_trust_remove(c->node->root, c->argv[1], &err) !=
		    SPOOL_OK)
			return ctl_fail(c, err.code, err.msg);
		printf("removed '%s'\n", c->argv[1]);
		return EXIT_OK;
	}
	return ctl_usage(c, NULL);
}

/* config check [FILE]: the file (every problem, with file and line), then
 * the node it describes (spool_node_check): problems exit 1, warnings
 * are said.  --json: {"config": PATH, "ok": BOOL, "node": ROOT or null
 * when there is no node to check, "problems": [LINE...], "warnings":
 * [LINE...]}. */
int
cmd_config(struct ctl *c)
{
	struct spool_diag diag = { NULL, 0 }, warn = { NULL, 0 };
	struct spool_config *cfg = NULL;
	const char *path = c->config;
	json_t *probs = NULL, *warns = NULL;
	spool_err err;
	size_t i;
	int r, nodechk = -1, status;

	if (c->argc < 1 || c->argc > 2 || strcmp(c->argv[0], "check") != 0)
		return ctl_usage(c, NULL);
	if (c->argc == 2)
		path = c->argv[1];
	r = spool_config_load(&cfg, path, &diag, &err);
	if (r != SPOOL_OK && diag.n == 0)
		spool_diag_add(&diag, err.msg);
	if (r == SPOOL_OK)
		nodechk = spool_node_check(cfg, &diag, &warn);
	status = diag.n > 0 ? EXIT_ERROR : EXIT_OK;
	if (c->json) {
		probs = json_array();
		warns = json_array();
		for (i = 0; probs != NULL && i < diag.n; i++)
			json_array_append_new(probs, out_jstr(diag.lines[i]));
		for (i = 0; warns != NULL && i < warn.n; i++)
			json_array_append_new(warns, out_jstr(warn.lines[i]));
		if (probs == NULL || warns == NULL ||
		    ctl_print_json(json_pack("{s:s, s:b, s:o, s:O, s:O}",
		    "config", cfg ? cfg->path : path, "ok", status == EXIT_OK,
		    "node", nodechk >= 0 ? out_jstr(cfg->root) : json_null(),
		    "problems", probs, "warnings", warns)) != EXIT_OK)
			status = EXIT_ERROR;
		json_decref(probs);
		json_decref(warns);
	} else {
		for (i = 0; i < diag.n + warn.n; i++) {
			char *line = out_printable(i < diag.n ? diag.lines[i] :
			    warn.lines[i - diag.n]);

			fprintf(stderr, "spoolctl: config: %s%s\n", i < diag.n ?
			    "" : "warning: ", line ? line : "?");
			free(line);
		}
		if (status == EXIT_OK)
			printf("%s: ok%s\n", path, nodechk < 0 ? " (no node "
			    "there yet: the file alone was checked)" : "");
	}
	spool_diag_release(&diag);
	spool_diag_release(&warn);
	spool_config_free(cfg);
	return status;
}

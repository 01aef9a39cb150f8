/*
 * cmd_node.c - init, key show, trust add|list|remove, config check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoolctl.h"

int
cmd_init(struct ctl *c)
{
	const char *name = NULL, *peer = NULL;
	spool_err err;
	int i;

	for (i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--name") == 0 && i + 1 < c->argc)
			name = c->argv[++i];
		else if (strcmp(c->argv[i], "--peer") == 0 && i + 1 < c->argc)
			peer = c->argv[++i];
		else
			return ctl_usage(c, "init --root DIR --name NAME "
			    "[--peer NAME]");
	}
	if (c->root_opt == NULL || name == NULL)
		return ctl_usage(c, "init --root DIR --name NAME [--peer NAME]");
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
		return ctl_usage(c, "key show");
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
	static const char usage[] =
	    "trust add NAME PUBKEYFILE | trust list | trust remove NAME";
	spool_err err;

	if (c->argc == 1 && strcmp(c->argv[0], "list") == 0)
		return trust_list(c);
	if (c->argc == 3 && strcmp(c->argv[0], "add") == 0) {
		if (spool_trust_add(c->node->root, c->argv[1], c->argv[2], &err) !=
		    SPOOL_OK)
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
	return ctl_usage(c, usage);
}

int
cmd_config(struct ctl *c)
{
	struct spool_diag diag = { NULL, 0 };
	struct spool_config *cfg = NULL;
	const char *path = c->config;
	spool_err err;
	size_t i;
	int r;

	if (c->argc < 1 || c->argc > 2 || strcmp(c->argv[0], "check") != 0)
		return ctl_usage(c, "config check [FILE]");
	if (c->argc == 2)
		path = c->argv[1];
	r = spool_config_load(&cfg, path, &diag, &err);
	if (r != SPOOL_OK) {
		if (diag.n == 0)
			fprintf(stderr, "spoolctl: config: %s\n", err.msg);
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "spoolctl: config: %s\n", diag.lines[i]);
		spool_diag_release(&diag);
		return EXIT_ERROR;
	}
	spool_diag_release(&diag);
	printf("%s: ok\n", path);
	spool_config_free(cfg);
	return EXIT_OK;
}

/*
 * check.c - a configuration against the node on disk (check.h).  Reads
 * only: keys/ and the query sources' files.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "spool/base/error.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"
#include "spool/node/check.h"
#include "spool/node/config.h"

struct checker {
	const struct spool_config *c;
	struct spool_diag *diag, *warn;
	int n;
};

static void
say(struct checker *k, int warning, const char *section, const char *fmt,
    va_list ap)
{
	char why[1024], line[1400];

	vsnprintf(why, sizeof(why), fmt, ap);
	snprintf(line, sizeof(line), "%s: %s: %s", k->c->path, section, why);
	spool_diag_add(warning ? k->warn : k->diag, line);
	if (!warning)
		k->n++;
}

static void __attribute__((format(printf, 3, 4)))
bad(struct checker *k, const char *section, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(k, 0, section, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
warn(struct checker *k, const char *section, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(k, 1, section, fmt, ap);
	va_end(ap);
}

/* peer (named by section) must be trusted under its name */
static void
trusted(struct checker *k, const char *section, const char *peer)
{
	struct spool_pubkey pk;
	spool_err err;
	int r;

	if ((r = spool_trust_get(k->c->root, peer, &pk, &err)) == SPOOL_OK)
		return;
	if (r == SPOOL_ERR_NOTFOUND)
		warn(k, section, "peer '%s' has no trusted key yet (keys/"
		    "trusted/%s.pub): spoolctl trust add %s FILE", peer, peer,
		    peer);
	else
		warn(k, section, "the trusted key of '%s': %s", peer, err.msg);
}

/* Is this url a file spool could check?  Connection strings and GDAL's
 * virtual file systems are not. */
static int
is_file_source(const char *url)
{
	static const char *const not_files[] = { "PG:", "pg:", "postgresql:",
		"postgres:", "/vsi", "http:", "https:", NULL };
	size_t i;

	for (i = 0; not_files[i] != NULL; i++)
		if (strncmp(url, not_files[i], strlen(not_files[i])) == 0)
			return 0;
	return strchr(url, '=') == NULL; /* "dbname=x host=y" */
}

int
spool_node_check(const struct spool_config *c, struct spool_diag *diag,
    struct spool_diag *warn)
{
	struct checker k = { c, diag, warn, 0 };
	char path[PATH_MAX + 64], sect[200];
	struct spool_pubkey pk;
	struct stat sb;
	spool_err err;
	size_t i;

	snprintf(path, sizeof(path), "%s/keys", c->root);
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return -1;
	snprintf(path, sizeof(path), "%s/keys/node.pub", c->root);
	if (spool_pubkey_read(path, &pk, &err) != SPOOL_OK)
		bad(&k, "[node]", "this node's public key: %s", err.msg);
	snprintf(path, sizeof(path), "%s/keys/node.key", c->root);
	if (stat(path, &sb) != 0)
		bad(&k, "[node]", "this node has no secret key (keys/node.key)");
	if (c->peer != NULL && spool_config_peer(c, c->peer) == NULL)
		trusted(&k, "[node] peer", c->peer);
	for (i = 0; i < c->npeers; i++) {
		snprintf(sect, sizeof(sect), "[peer %s]", c->peers[i].name);
		if (strcmp(c->peers[i].name, c->name) == 0)
			bad(&k, sect, "this is the node's own name");
		else
			trusted(&k, sect, c->peers[i].name);
	}
	for (i = 0; i < c->nfolders; i++) {
		const char *peer = c->folders[i].peer;

		snprintf(sect, sizeof(sect), "[folder %s]", c->folders[i].name);
		if (peer != NULL && spool_config_peer(c, peer) == NULL)
			trusted(&k, sect, peer);
		else if (peer == NULL && c->peer == NULL)
			bad(&k, sect, "no destination: give it a peer, or set "
			    "[node] peer (its files would be refused)");
	}
	for (i = 0; i < c->nsources; i++) {
		const char *url = c->sources[i].url;

		snprintf(sect, sizeof(sect), "[query.source %s]",
		    c->sources[i].name);
		if (!is_file_source(url))
			continue;
		if (url[0] == '/')
			snprintf(path, sizeof(path), "%s", url);
		else
			snprintf(path, sizeof(path), "%s/%s", c->dir, url);
		if (stat(path, &sb) != 0)
			bad(&k, sect, "url '%s': no such file", url);
		else if (!S_ISREG(sb.st_mode))
			bad(&k, sect, "url '%s': not a file", url);
	}
	return k.n;
}

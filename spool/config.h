/*
 * config.h - spoold.conf, the one configuration file of a node.
 *
 * INI syntax (libinih).  Every key is declared in one table with its type,
 * default and bounds; unknown sections or keys and bad values are errors
 * naming file, line and key.  The parser collects every problem instead of
 * stopping at the first, so `spoolctl config check` can list them all.
 * Relative paths are resolved from the directory of the config file.
 */
#ifndef SPOOL_CONFIG_H
#define SPOOL_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define SPOOL_NAME_MAX 32 /* node names: [a-z0-9]{1,32} */

enum spool_direction {
	SPOOL_DIR_TWO_WAY = 0,
	SPOOL_DIR_SEND_ONLY,
	SPOOL_DIR_RECEIVE_ONLY
};

/* [peer NAME]: the peer's key is always keys/trusted/NAME.pub (managed by
 * spoolctl trust), so the key has exactly one source of truth. */
struct spool_conf_peer {
	char name[SPOOL_NAME_MAX + 1];
	enum spool_direction direction;
};

/* [folder NAME]: a hot folder in/NAME/. */
struct spool_conf_folder {
	char *name;
	char *type;     /* request | transfer | raster | vector | query */
	char *peer;     /* destination; NULL = [node] peer */
	int priority;   /* -1000..1000, default 0 */
	uint64_t expires; /* seconds until a request expires; 0 = never */
};

/* [query.source NAME] */
struct spool_conf_source {
	char *name;
	char *url;      /* GDAL/OGR or PostgreSQL connection string */
	char **layers;  /* allowed layers/tables (comma list in the file) */
	size_t nlayers;
	uint64_t max_rows;
	uint64_t timeout;
};

struct spool_config {
	char *path; /* the file read (absolute) */
	char *dir;  /* its directory (absolute) */
	/* [node] */
	char name[SPOOL_NAME_MAX + 1];
	char *root; /* absolute; default: dir */
	char *peer; /* default destination, or NULL */
	/* [store] */
	char *store_url; /* default sqlite://<root>/lineage.db */
	/* [batch] */
	uint64_t max_bytes;  /* default 1G */
	uint64_t max_items;  /* default 10000 */
	uint64_t max_age;    /* seconds, default 5m */
	int zstd_level;      /* 1..19, default 3 */
	uint64_t heartbeat;  /* seconds, default 10m; 0 = off */
	/* [intake] */
	uint64_t settle;     /* seconds, default 0 */
	/* [workers] */
	uint64_t workers;        /* count, default 2 */
	uint64_t memory_limit;   /* bytes, default 1G */
	uint64_t task_timeout;   /* seconds, default 1h */
	uint64_t retries;        /* default 3 */
	/* [retention] */
	uint64_t keep_archive;   /* seconds, default 30d */
	uint64_t keep_results;   /* default 30d */
	uint64_t keep_status;    /* default 30d */
	uint64_t keep_seen;      /* ledger of seen batches, default 90d */
	struct spool_conf_peer *peers;
	size_t npeers;
	struct spool_conf_folder *folders;
	size_t nfolders;
	struct spool_conf_source *sources;
	size_t nsources;
};

/* Every problem found, one line each: "FILE:LINE: key 'x': why". */
struct spool_diag {
	char **lines;
	size_t n;
};

void spool_diag_release(struct spool_diag *d);

/* Read and check path.  On any problem returns SPOOL_ERR_CONFIG, err holds
 * the first problem and diag (if non-NULL) all of them. */
int spool_config_load(struct spool_config **out, const char *path,
    struct spool_diag *diag, spool_err *err);
/* The same from memory; name is used in messages, dir resolves paths. */
int spool_config_parse(struct spool_config **out, const char *name,
    const char *dir, const char *text, size_t len, struct spool_diag *diag,
    spool_err *err);
void spool_config_free(struct spool_config *c);

/* Print the effective configuration (every key, defaults included) in
 * the file's own syntax: what `spoold -T` shows. */
int spool_config_print(const struct spool_config *c, FILE *f);

/* Write a new node's configuration: node name, optional default peer,
 * and the default hot folders requests (request), files (transfer),
 * raster (raster) and vector (vector). */
int spool_config_write_new(FILE *f, const char *name, const char *peer);

const struct spool_conf_peer *spool_config_peer(const struct spool_config *c,
    const char *name);
const struct spool_conf_folder *spool_config_folder(
    const struct spool_config *c, const char *name);

/* "30s" "5m" "2h" "7d" (and "0") -> seconds. */
int spool_parse_duration(const char *s, uint64_t *out);
/* "1024" "64K" "512M" "1G" (powers of 1024) -> bytes. */
int spool_parse_size(const char *s, uint64_t *out);
/* [a-z0-9]{1,32} */
int spool_node_name_ok(const char *s);

#endif

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

#include "spool/base/error.h"
#include "spool/base/util.h"

/* Limits on what the parser reads.  A key line ("key = value", trimmed)
 * may hold SPOOL_CONF_LINE_MAX bytes: libinih reads lines into a 200-byte
 * buffer and would split a longer one, so it is an error instead.  Comment
 * and section lines may be longer. */
#define SPOOL_CONF_MAX (1024 * 1024) /* bytes per file; more: LIMIT */
#define SPOOL_CONF_LINE_MAX 198
#define SPOOL_DIAG_MAX 100 /* problems listed; the rest are counted */

/* [log] level: syslog's severities, most severe first. */
enum spool_log_level {
	SPOOL_LOG_ERR = 0, SPOOL_LOG_WARNING, SPOOL_LOG_NOTICE, SPOOL_LOG_INFO,
	SPOOL_LOG_DEBUG
};

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

/* What a raster or vector hot folder does to its files (a preset): set
 * in [raster] / [vector], overridden per [folder NAME], travelling with
 * each request as its params.  NULL / 0: not set (the worker's default). */
struct spool_preset {
	/* raster */
	char *reproject;      /* EPSG:n */
	char *compress;       /* DEFLATE ZSTD LZW JPEG WEBP */
	char *resampling;     /* overviews: NEAREST AVERAGE MODE ... */
	uint64_t preview_size; /* 64..8192 px */
	/* vector */
	char *srs;            /* EPSG:n, default EPSG:4326 */
	char *split_by_type;  /* yes | no */
	char *invalid;        /* repair | skip | fail */
	char **layers;        /* of a GeoPackage; NULL: every layer */
	size_t nlayers;
	char *target_schema;
	char *target_table;
	char *load_method;    /* replace | append */
	char *postgis;        /* folder: yes | no; [vector]: the URL */
	uint64_t chunk_features;
};

/* [folder NAME]: a hot folder in/NAME/. */
struct spool_conf_folder {
	char *name;
	char *type;     /* request | transfer | raster | vector | query */
	char *peer;     /* destination; NULL = [node] peer */
	int priority;   /* -1000..1000, default 0 */
	uint64_t expires; /* seconds until a request expires; 0 = never */
	struct spool_preset preset;
};

/* [workers.KIND]: one pool of worker programs; SPOOL_CONF_UNSET falls
 * back to [workers]. */
#define SPOOL_CONF_UNSET UINT64_MAX
struct spool_conf_pool {
	char *name;              /* selftest | raster | vector | query */
	uint64_t count;          /* 0: no pool, its tasks are never claimed */
	uint64_t memory_limit;
	uint64_t task_timeout;
	uint64_t retries;
	uint64_t threads;
	uint64_t cachemax;
};

/* [query.source NAME] */
struct spool_conf_source {
	char *name;
	char *url;      /* GDAL/OGR or PostgreSQL connection string */
	char **layers;  /* allowed layers/tables (comma list in the file) */
	size_t nlayers;
	uint64_t max_rows; /* 1..1000000000, default 1000 */
	uint64_t timeout;  /* seconds, at least 1s, default 30s */
	int allow_sql;     /* 0 | 1, default 0 */
	uint64_t max_bytes; /* default 64M */
	uint64_t cache_ttl; /* seconds, default 1h; 0 = no cache */
};

/* Every duration is at most 36500d, so time arithmetic cannot overflow. */
struct spool_config {
	char *path; /* the file read (absolute) */
	char *dir;  /* its directory (absolute) */
	/* [node] */
	char name[SPOOL_NAME_MAX + 1];
	char *root; /* absolute; default: dir */
	char *peer; /* default destination, or NULL */
	char *operators; /* group that may read every user's results, or
			  * NULL */
	int status_names; /* status/<id>.json names the user and file
			   * (0 no, the default; 1 yes) */
	/* [store] */
	char *store_url; /* default sqlite://<root>/lineage.db */
	/* [batch] */
	uint64_t max_bytes;  /* 64K..4G-1, default 1G */
	uint64_t max_items;  /* 1..1000000, default 10000 */
	uint64_t max_age;    /* seconds, at least 1s, default 5m */
	int zstd_level;      /* 1..19, default 3 */
	uint64_t heartbeat;  /* seconds, default 10m; 0 = off */
	/* [intake] */
	uint64_t settle;     /* seconds, default 0 */
	uint64_t max_file_size; /* bytes a dropped file may have; 0: as
				 * many as the disk has free */
	/* [workers] */
	uint64_t workers;        /* count, 1..256, default 2 */
	uint64_t memory_limit;   /* bytes, at least 1M, default 1G */
	uint64_t task_timeout;   /* seconds, at least 1s, default 1h */
	uint64_t retries;        /* 0..100, default 3 */
	uint64_t lease;          /* seconds a claimed task is leased, renewed
				  * every second while it runs; default 30s */
	char *worker_user;       /* workers' uid when spoold is root;
				  * default nobody */
	uint64_t threads;        /* per task, default 1 */
	uint64_t cachemax;       /* GDAL block cache per task, default 256M */
	struct spool_conf_pool *pools;
	size_t npools;
	/* [raster], [vector]: the presets of their folders, and what only
	 * the processing node decides */
	struct spool_preset raster, vector;
	uint64_t tile_threshold; /* bytes of pixels, default 2G */
	uint64_t tile_bytes;     /* default 1G */
	char **drivers;          /* GDAL drivers that open untrusted rasters */
	size_t ndrivers;
	/* [query] */
	uint64_t local_ttl;      /* seconds, default 1h */
	/* [retention] */
	uint64_t keep_archive;   /* seconds, default 30d */
	uint64_t keep_results;   /* default 30d */
	uint64_t keep_status;    /* default 30d */
	uint64_t keep_jobs;      /* finished jobs, default 30d */
	/* [log] */
	int log_level;           /* SPOOL_LOG_ERR..SPOOL_LOG_DEBUG, default
	                          * SPOOL_LOG_INFO */
	uint64_t keep_seen;      /* ledger of seen batches, default 90d;
				  * at least 1d, as forgetting invites replays */
	struct spool_conf_peer *peers;
	size_t npeers;
	struct spool_conf_folder *folders;
	size_t nfolders;
	struct spool_conf_source *sources;
	size_t nsources;
};

/*
 * Every problem found, one line each, lowercase, no trailing period:
 *   "FILE:LINE: [section] key 'x': why"   a bad, unknown or repeated key
 *   "FILE:LINE: [section]: why"           a bad, unknown or repeated section
 *   "FILE:LINE: why"                      a malformed or too long line
 * A required key missing from a section names the section's header line;
 * with no [node] section at all there is no line: "FILE: [node] key ...".
 * At most SPOOL_DIAG_MAX lines, then one saying the list was cut.
 * Zero it (or release it) before use; the parser appends to it.
 */
struct spool_diag {
	char **lines;
	size_t n;
};

void spool_diag_release(struct spool_diag *d); /* frees and zeroes */
/* Append a copy of line; -1 when memory ran out. */
int spool_diag_add(struct spool_diag *d, const char *line);

/* Read and check path (at most SPOOL_CONF_MAX bytes).  On any problem
 * returns SPOOL_ERR_CONFIG, err holds the first problem and diag (if
 * non-NULL) all of them; *out is set on success only.  Messages name path
 * as given; c->path is it made absolute (lexically, symlinks kept) and
 * c->dir its directory. */
int spool_config_load(struct spool_config **out, const char *path,
    struct spool_diag *diag, spool_err *err);
/* The same from memory, reading no file: name is used in messages and
 * becomes c->path; dir (absolute, else SPOOL_ERR_USAGE) resolves relative
 * paths and becomes c->dir.  text need not be NUL-terminated; over
 * SPOOL_CONF_MAX bytes is SPOOL_ERR_LIMIT.  CRLF line ends and a UTF-8 BOM
 * are accepted; indented lines are ordinary lines, never continuations;
 * ';' after whitespace starts a comment in a value (libinih). */
int spool_config_parse(struct spool_config **out, const char *name,
    const char *dir, const char *text, size_t len, struct spool_diag *diag,
    spool_err *err);
void spool_config_free(struct spool_config *c);

/* Print the effective configuration (every key, defaults included) in
 * the file's own syntax: what `spoold -T` shows; spool_config_parse reads
 * it back to an equal configuration.  Unset optional keys appear as
 * comments.  Returns SPOOL_ERR_SYS if writing failed, SPOOL_ERR_LIMIT if a
 * value could not be written so that it reads back the same (too long, or
 * with a ';' that would start a comment); all keys are printed either
 * way. */
int spool_config_print(const struct spool_config *c, FILE *f);

/* Write a new node's configuration: node name, optional default peer
 * (then also its [peer] section), the other keys as commented-out
 * defaults, and the default hot folders requests (request), files
 * (transfer), raster (raster) and vector (vector).  SPOOL_ERR_USAGE if
 * name or peer is not a node name, SPOOL_ERR_SYS if writing failed. */
int spool_config_write_new(FILE *f, const char *name, const char *peer);

const struct spool_conf_peer *spool_config_peer(const struct spool_config *c,
    const char *name);
const struct spool_conf_folder *spool_config_folder(
    const struct spool_config *c, const char *name);
/* The settings of kind's pool: [workers.KIND] over [workers].  A kind
 * with no [workers.KIND] section has [workers] count workers. */
void spool_config_pool(const struct spool_config *c, const char *kind,
    struct spool_conf_pool *out);
const struct spool_conf_source *spool_config_source(
    const struct spool_config *c, const char *name);

/* "30s" "5m" "2h" "7d" (and "0") -> seconds.  A nonzero number needs a
 * unit.  SPOOL_ERR_FORMAT if malformed, SPOOL_ERR_LIMIT on overflow. */
int spool_parse_duration(const char *s, uint64_t *out);
/* "1024" "64K" "512M" "1G" (powers of 1024; k m g too) -> bytes.
 * SPOOL_ERR_FORMAT if malformed or negative, SPOOL_ERR_LIMIT on overflow. */
int spool_parse_size(const char *s, uint64_t *out);

#endif

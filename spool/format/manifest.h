/*
 * manifest.h - manifest.jsonl: the header line and the item lines.
 *
 * Both sides run every line through the published JSON Schemas
 * (schemas/batch-header, schemas/batch-item) plus the checks a schema
 * cannot express (item names are single safe path components, the header
 * agrees with the signed facts).  Item layouts: schemas/README.md.
 */
#ifndef SPOOL_MANIFEST_H
#define SPOOL_MANIFEST_H

#include <jansson.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/hash.h"
#include "spool/format/minisig.h"

struct spool_manifest;

int spool_manifest_new(struct spool_manifest **out, spool_err *err);

/* jansson reports running out of memory as a syntax error.  Call before
 * parsing; afterwards, non-zero means an allocation failed on this
 * thread, so the text may be fine.  (spool_manifest_new installs the
 * allocator that records it.) */
void spool_json_oom_clear(void);
int spool_json_oom(void);
void spool_manifest_free(struct spool_manifest *m);

/* The header object for facts f (acks borrowed; NULL = []). */
json_t *spool_manifest_header(const struct spool_batch_facts *f,
    json_t *acks);
/* The item lines a node makes (layouts: schemas/README.md), built here
 * only; NULL when out of memory.  A request line carries one file. */
struct spool_request_line {
	const char *id, *type, *name;
	const char *folder;    /* or NULL */
	const char *user;
	int priority;
	const char *created;   /* RFC 3339 */
	const char *expires;   /* or NULL */
	const json_t *params;  /* or NULL */
	uint64_t size;         /* the file's */
	const char *blob;      /* its hash, hex */
};
json_t *spool_manifest_request(const struct spool_request_line *l);
/* Part index of count of the file (file_size bytes, hash file_blob)
 * that request carries under name. */
json_t *spool_manifest_part(const char *request, const char *name,
    uint64_t index, uint64_t count, uint64_t offset, uint64_t size,
    const char *blob, uint64_t file_size, const char *file_blob);
/* The result of request: status, files and lineage (arrays, borrowed);
 * error, started and finished may be NULL. */
json_t *spool_manifest_result(const char *id, const char *request,
    const char *status, json_t *files, json_t *lineage, const char *error,
    const char *started, const char *finished);

/* One lineage edge (event id used `from` and generated `to`) into
 * events, an object of event objects by id (EVENT of the item schema):
 * the first edge of an event makes it, later ones add their refs once.
 * time is RFC 3339; user and batch may be NULL.  -1 out of memory. */
int spool_manifest_event_edge(json_t *events, const char *id,
    const char *event, const char *time, const char *node, const char *user,
    const char *batch, const char *from, const char *to);

/* Schema-check hdr and compare it with every fact the trusted comment
 * shares (all but tar). */
int spool_manifest_check_header(const struct spool_manifest *m,
    const json_t *hdr, const struct spool_batch_facts *f, spool_err *err);
/* Schema-check one item and the names it carries. */
int spool_manifest_check_item(const struct spool_manifest *m,
    const json_t *item, spool_err *err);

/* One payload an item carries in this batch. */
struct spool_payload {
	const char *name;  /* name to write it under (item file name) */
	unsigned part;     /* part index + 1 for "part" items, else 0 */
	uint8_t hash[SPOOL_HASH_LEN];
	uint64_t size;
};

typedef int (*spool_payload_fn)(void *ctx, const struct spool_payload *p,
    spool_err *err);
/* Call fn for every payload of a checked item that travels as a member
 * of this batch (file references with "parts" travel in part items). */
int spool_manifest_payloads(const json_t *item, spool_payload_fn fn,
    void *ctx, spool_err *err);

#endif

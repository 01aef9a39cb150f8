/*
 * schema.h - JSON Schema validation of everything spool reads or writes.
 *
 * The schemas published in schemas/NAME.schema.json are compiled into
 * libspool (tools/embed-schemas.sh), so the published schema is exactly
 * the enforced one.  The validator implements the subset of JSON Schema
 * (2020-12) that those files use; a schema using any other keyword fails
 * to load, so the subset can never silently ignore a rule.
 */
#ifndef SPOOL_SCHEMA_H
#define SPOOL_SCHEMA_H

#include <jansson.h>

#include "spool/base/error.h"

struct spool_embedded_schema {
	const char *name; /* file name without .schema.json */
	const char *text;
};

/* Generated table, terminated by { NULL, NULL }. */
extern const struct spool_embedded_schema spool_embedded_schemas[];

struct spool_schema;

/* Compile the embedded schema NAME ("batch-item"). */
int spool_schema_load(struct spool_schema **out, const char *name,
    spool_err *err);
/* Compile a schema from JSON text (for tests and tools). */
int spool_schema_compile(struct spool_schema **out, const char *text,
    spool_err *err);
/* SPOOL_OK, or SPOOL_ERR_FORMAT with a reason naming the JSON pointer
 * and the rule: "/files/0/size: must be >= 0". */
int spool_schema_validate(const struct spool_schema *s, const json_t *doc,
    spool_err *err);
void spool_schema_free(struct spool_schema *s);

#endif

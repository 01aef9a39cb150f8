/*
 * fuzz_manifest.c - manifest lines: JSON parsing, schema validation of the
 * header and items, and the payload walk, as the batch reader runs them.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool/format/manifest.h"
#include "spool/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct spool_manifest *m;

static int
count(void *ctx, const struct spool_payload *p, spool_err *err)
{
	(void)err;
	if (p->name == NULL || !spool_item_name_ok(p->name))
		abort(); /* checked items only carry safe names */
	(*(size_t *)ctx)++;
	return SPOOL_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_batch_facts f;
	const uint8_t *p = data, *end = data + size;
	spool_err err;
	int line = 0;

	if (m == NULL && spool_manifest_new(&m, &err) != SPOOL_OK)
		abort();
	memset(&f, 0, sizeof(f));
	strcpy(f.from, "low");
	strcpy(f.to, "high");
	f.seq = 1;
	strcpy(f.id, "01936f3e-1c2a-7abc-8def-0123456789ab");
	strcpy(f.created, "2026-11-23T11:00:00Z");
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *v = json_loadb((const char *)p, n,
		    JSON_REJECT_DUPLICATES, NULL);

		if (v != NULL) {
			size_t k = 0;

			if (line == 0)
				spool_manifest_check_header(m, v, &f, &err);
			else if (spool_manifest_check_item(m, v, &err) ==
			    SPOOL_OK)
				spool_manifest_payloads(v, count, &k, &err);
			json_decref(v);
		}
		line++;
		p += n + (nl != NULL);
	}
	return 0;
}

/*
 * fuzz_minisig.c - the .minisig parser and the trusted-comment facts
 * parser: the only text spool reads before a signature is checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_minisig m;
	struct spool_batch_facts f;
	spool_err err;

	if (spool_minisig_parse((const char *)data, size, &m, &err) ==
	    SPOOL_OK) {
		if (strlen(m.trusted) > SPOOL_TRUSTED_MAX)
			abort();
		spool_facts_parse(m.trusted, &f, &err);
	}
	/* the facts parser on raw text too */
	if (size < 2048) {
		char buf[2048];

		memcpy(buf, data, size);
		buf[size] = '\0';
		spool_facts_parse(buf, &f, &err);
	}
	return 0;
}

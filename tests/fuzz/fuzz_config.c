/*
 * fuzz_config.c - libFuzzer target for spool_config_parse.
 *
 * Any bytes must parse or fail cleanly, without a crash or a leak.  When
 * they parse, the printed configuration must parse again and print the
 * same: spool_config_print promises that round trip.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
print(const struct spool_config *c, int *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	*r = spool_config_print(c, f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_config *c = NULL, *c2 = NULL;
	struct spool_diag diag = { 0 };
	spool_err err;
	char *out, *out2;
	int r, r2;

	r = spool_config_parse(&c, "fuzz.conf", "/srv/spool",
	    (const char *)data, size, &diag, &err);
	if ((r == SPOOL_OK) != (c != NULL) ||
	    (r == SPOOL_ERR_CONFIG && (diag.n == 0 ||
	    strcmp(diag.lines[0], err.msg) != 0)))
		abort();
	spool_diag_release(&diag);
	if (r != SPOOL_OK)
		return 0;
	out = print(c, &r);
	if (r == SPOOL_OK) {
		if (spool_config_parse(&c2, "fuzz.conf", "/srv/spool", out,
		    strlen(out), &diag, &err) != SPOOL_OK) {
			fprintf(stderr, "reparse failed: %s\n%s", err.msg, out);
			abort();
		}
		out2 = print(c2, &r2);
		if (r2 != SPOOL_OK || strcmp(out, out2) != 0) {
			fprintf(stderr, "print differs:\n%s---\n%s", out, out2);
			abort();
		}
		free(out2);
		spool_config_free(c2);
		spool_diag_release(&diag);
	}
	free(out);
	spool_config_free(c);
	return 0;
}

/*
 * cmd_cache.c - spoolctl cache: the processing node's query cache
 * (issue 18): list it, or empty it for one source or all.
 */
#include <stdio.h>
#include <string.h>

#include "spool/spool.h"
#include "output.h"
#include "spoolctl.h"

enum { QC_KEY, QC_SOURCE, QC_REQUEST, QC_FINGERPRINT, QC_HITS, QC_CREATED,
	QC_EXPIRES, QC_NCOLS };
static const struct col cache_cols[QC_NCOLS] = {
	{ "key", 's' }, { "source", 's' }, { "request", 's' },
	{ "fingerprint", 's' }, { "hits", 'i' }, { "created", 't' },
	{ "expires", 't' },
};

static int
cache_list(struct ctl *c, struct spool_store *st)
{
	struct rows rows = { QC_NCOLS, 0, 0, NULL };
	struct table t;
	char t1[32], t2[32];
	spool_err err;
	size_t i;
	int status;

	spool_err_clear(&err);
	if (spool_qcache_list(st, collect, &rows, &err) != SPOOL_OK) {
		rows_free(&rows);
		return out_fail(c, &err);
	}
	if (c->json) {
		status = print_rows_json(c, "entries", &rows, cache_cols,
		    QC_NCOLS);
		rows_free(&rows);
		return status;
	}
	table_init(&t, 5, 1u << 2);
	table_row(&t, (const char *[]){ "SOURCE", "REQUEST", "HITS",
	    "CREATED", "EXPIRES" });
	for (i = 0; i < rows.n; i++)
		table_row(&t, (const char *[]){ CELL(&rows, i, QC_SOURCE),
		    CELL(&rows, i, QC_REQUEST), CELL(&rows, i, QC_HITS),
		    cell_time(t1, CELL(&rows, i, QC_CREATED)),
		    cell_time(t2, CELL(&rows, i, QC_EXPIRES)) });
	table_print(&t, "", 1);
	table_free(&t);
	rows_free(&rows);
	return EXIT_OK;
}

int
cmd_cache(struct ctl *c)
{
	struct spool_store *st = NULL;
	spool_err err;
	uint64_t n = 0;
	int status;

	if (c->argc > 2 || (c->argc >= 1 && strcmp(c->argv[0], "clear") != 0) ||
	    (c->argc == 2 && c->argv[1][0] == '-'))
		return ctl_usage(c, NULL);
	if ((status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	if (c->argc == 0)
		status = cache_list(c, st);
	else if (spool_qcache_clear(st, c->argc == 2 ? c->argv[1] : NULL, &n,
	    &err) != SPOOL_OK)
		status = out_fail(c, &err);
	else if (c->json)
		status = ctl_print_json(json_pack("{s:I}", "cleared",
		    (json_int_t)n));
	else {
		printf("cleared %llu entr%s\n", (unsigned long long)n,
		    n == 1 ? "y" : "ies");
		status = EXIT_OK;
	}
	spool_store_close(st);
	return status;
}

/*
 * spoold - the spool daemon.
 *
 * This version checks a configuration and prints the effective one
 * (spoold -c FILE -T, like sshd -T); the event loop (hot folders, batcher,
 * import, jobs) is the subject of the daemon issue and is not in this
 * build, so spoold refuses to start rather than pretend to run.
 */
#include <stdio.h>
#include <string.h>

#include "spool.h"

int
main(int argc, char **argv)
{
	struct spool_diag diag = { NULL, 0 };
	struct spool_config *cfg = NULL;
	const char *path = NULL;
	int print = 0, i;
	size_t k;
	spool_err err;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-T") == 0)
			print = 1;
		else if (strcmp(argv[i], "--foreground") != 0) {
			fprintf(stderr, "usage: spoold -c FILE [-T] "
			    "[--foreground]\n");
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: spoold -c FILE [-T] [--foreground]\n");
		return 2;
	}
	if (spool_config_load(&cfg, path, &diag, &err) != SPOOL_OK) {
		for (k = 0; k < diag.n; k++)
			fprintf(stderr, "spoold: %s\n", diag.lines[k]);
		if (diag.n == 0)
			fprintf(stderr, "spoold: %s\n", err.msg);
		spool_diag_release(&diag);
		return 1;
	}
	spool_diag_release(&diag);
	if (print) {
		spool_config_print(cfg, stdout);
		spool_config_free(cfg);
		return 0;
	}
	spool_config_free(cfg);
	fprintf(stderr, "spoold: this build has no event loop yet; "
	    "use -T to print the effective configuration\n");
	return 1;
}

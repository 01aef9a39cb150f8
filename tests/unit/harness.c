/*
 * harness.c - runs every registered unit test in its own child process.
 *
 * A child gets a fresh temporary directory as cwd, so tests can write
 * files freely; a crash or an abort in a test fails that test only.
 * Usage: unit [NAME-SUBSTRING]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct unit_test *tests;
static int failures;

void
unit_register(struct unit_test *t)
{
	t->next = tests;
	tests = t;
}

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	failures++;
}

const char *
unit_testdata(void)
{
	return getenv("SPOOL_TESTDATA");
}

void
unit_write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stdout, "#   cannot write '%s': %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

char *
unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
				abort();
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int
cmp(const void *a, const void *b)
{
	const struct unit_test *x = *(struct unit_test *const *)a;
	const struct unit_test *y = *(struct unit_test *const *)b;

	return strcmp(x->name, y->name);
}

static int
run_one(const struct unit_test *t)
{
	char tmpl[] = "/tmp/spool-unit-XXXXXX";
	char cmd[64];
	pid_t pid;
	int status, ok;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (chdir(tmpl) != 0)
			_exit(2);
		t->fn();
		fflush(stdout);
		_exit(failures ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		perror("fork");
		return 0;
	}
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (WIFSIGNALED(status))
		printf("#   killed by signal %d\n", WTERMSIG(status));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", tmpl);
	return ok;
}

int
main(int argc, char **argv)
{
	struct unit_test *t, **v;
	size_t n = 0, i, k = 0;
	int bad = 0;

	for (t = tests; t; t = t->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return 1;
	for (t = tests; t; t = t->next)
		if (argc < 2 || strstr(t->name, argv[1]) != NULL)
			v[k++] = t;
	qsort(v, k, sizeof(*v), cmp);
	printf("1..%zu\n", k);
	for (i = 0; i < k; i++) {
		int ok = run_one(v[i]);
		printf("%s %zu - %s\n", ok ? "ok" : "not ok", i + 1,
		    v[i]->name);
		fflush(stdout);
		bad += !ok;
	}
	free(v);
	return bad ? 1 : 0;
}

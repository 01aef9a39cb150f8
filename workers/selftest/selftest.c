/*
 * selftest - the worker that proves an installation and the supervisor,
 * with no GDAL (docs/WORKERS.md).
 *
 * Each task writes out/s<stage>-t<task>.txt (both 1-based).  Knobs from
 * the request's params: "sleep" seconds, "crash_task" K (task K of each
 * stage dies of SIGSEGV; with "crash_attempts" N only in its first N
 * attempts), "alloc" (allocate and touch that much: "2G"), "output_bytes"
 * (each output that size), "probe" (try to reach what a worker must
 * never reach and write probe.json saying what happened).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "spool/job/worker.h"

/* "2G", "512M", "100K", "42" -> bytes (0 when bad) */
static unsigned long long
size_arg(const json_t *v)
{
	const char *s = json_string_value(v);
	unsigned long long n;
	char *end;

	if (json_is_integer(v))
		return json_integer_value(v) > 0 ?
		    (unsigned long long)json_integer_value(v) : 0;
	if (s == NULL)
		return 0;
	n = strtoull(s, &end, 10);
	switch (*end) {
	case 'K': case 'k': return n << 10;
	case 'M': case 'm': return n << 20;
	case 'G': case 'g': return n << 30;
	case '\0': return n;
	default: return 0;
	}
}

static void
verdict(json_t *o, const char *what, int ok, const char *step, int e)
{
	char buf[256];

	if (ok)
		json_object_set_new(o, what, json_string("allowed"));
	else {
		snprintf(buf, sizeof(buf), "denied: %s: %s", step, strerror(e));
		json_object_set_new(o, what, json_string(buf));
	}
}

/* What a worker must not reach: the key, the store, the network, a Unix
 * socket under the store (spoold's control socket). */
static int
probe(struct spool_worker_task *t)
{
	const char *root = json_string_value(json_object_get(t->config,
	    "probe_root"));
	char path[4096];
	struct sockaddr_in in4;
	struct sockaddr_un un;
	json_t *o = json_object();
	int fd, r;
	FILE *f;

	if (root == NULL)
		return spool_worker_fail(t, 1, "probe: this node gave no root "
		    "to probe");
	snprintf(path, sizeof(path), "%s/keys/node.key", root);
	fd = open(path, O_RDONLY);
	verdict(o, "key", fd >= 0, "open keys/node.key", errno);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/lineage.db", root);
	fd = open(path, O_WRONLY);
	verdict(o, "store", fd >= 0, "open lineage.db for writing", errno);
	if (fd >= 0)
		close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		verdict(o, "network", 0, "socket", errno);
	else {
		memset(&in4, 0, sizeof(in4));
		in4.sin_family = AF_INET;
		in4.sin_port = htons(5432);
		in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r = connect(fd, (struct sockaddr *)&in4, sizeof(in4));
		/* refused: a packet reached the host, so it was reachable */
		verdict(o, "network", r == 0 || errno == ECONNREFUSED,
		    "connect 127.0.0.1:5432", errno);
		close(fd);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		verdict(o, "socket", 0, "socket", errno);
	else {
		memset(&un, 0, sizeof(un));
		un.sun_family = AF_UNIX;
		snprintf(un.sun_path, sizeof(un.sun_path), "%s/store/spoold.sock",
		    root);
		r = connect(fd, (struct sockaddr *)&un, sizeof(un));
		verdict(o, "socket", r == 0, "connect store/spoold.sock", errno);
		close(fd);
	}
	if ((f = fopen("out/probe.json", "w")) == NULL) {
		json_decref(o);
		return spool_worker_fail(t, 0, "cannot write probe.json: %s",
		    strerror(errno));
	}
	json_dumpf(o, f, JSON_INDENT(2));
	fputc('\n', f);
	r = fclose(f);
	json_object_set_new(t->answer, "summary", json_pack("{s:o}", "probe",
	    o));
	if (r != 0)
		return spool_worker_fail(t, 0, "cannot write probe.json");
	return spool_worker_output(t, "probe.json", "out/probe.json",
	    "metadata", "application/json");
}

static int
selftest_task(struct spool_worker_task *t)
{
	const json_t *p = t->params;
	int stage = (int)json_integer_value(json_object_get(t->task,
	    "stage_index")) + 1;
	int idx = (int)json_integer_value(json_object_get(t->task, "index")) + 1;
	int attempt = (int)json_integer_value(json_object_get(t->task,
	    "attempt"));
	double sleep_s = json_number_value(json_object_get(p, "sleep"));
	json_int_t crash = json_integer_value(json_object_get(p, "crash_task"));
	json_int_t crash_n = json_integer_value(json_object_get(p,
	    "crash_attempts"));
	unsigned long long alloc = size_arg(json_object_get(p, "alloc"));
	unsigned long long bytes = size_arg(json_object_get(p, "output_bytes"));
	char name[64], path[80], line[128];
	struct timespec ts;
	double waited = 0;
	FILE *f;

	if (crash > 0 && crash == idx && (crash_n <= 0 || attempt <= crash_n)) {
		/* die of the signal itself, whatever handler a sanitizer put
		 * there (ASan's would report it and exit with a status) */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (alloc > 0) {
		char *m = malloc(alloc);
		unsigned long long i;

		if (m == NULL)
			return spool_worker_out_of_memory(t);
		for (i = 0; i < alloc; i += 4096)
			m[i] = 1;
		free(m);
	}
	while (waited < sleep_s) {
		double step = sleep_s - waited < 0.05 ? sleep_s - waited : 0.05;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)(step * 1e9);
		nanosleep(&ts, NULL);
		waited += step;
		if (spool_worker_progress(t, waited / sleep_s, "sleeping"))
			return -1;
	}
	if (json_is_true(json_object_get(p, "probe")) && probe(t) != 0)
		return -1;
	snprintf(name, sizeof(name), "s%d-t%d.txt", stage, idx);
	snprintf(path, sizeof(path), "out/%s", name);
	if ((f = fopen(path, "w")) == NULL)
		return spool_worker_fail(t, 0, "cannot write %s: %s", name,
		    strerror(errno));
	snprintf(line, sizeof(line), "stage %d task %d attempt %d\n", stage,
	    idx, attempt);
	if (bytes == 0)
		fputs(line, f);
	else {
		unsigned long long i;

		for (i = 0; i < bytes; i++)
			fputc(line[i % strlen(line)], f);
	}
	if (fclose(f) != 0)
		return spool_worker_fail(t, 0, "cannot write %s", name);
	if (spool_worker_output(t, name, path, "data", "text/plain") != 0)
		return spool_worker_fail(t, 0, "out of memory");
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct spool_worker_kind kind = {
		.name = "selftest",
		.run = selftest_task,
	};

	return spool_worker_main(argc, argv, &kind);
}

/*
 * worker.c - the worker side of the worker protocol (docs/WORKERS.md).
 *
 * A worker program reads one task line at a time on fd 0, runs it with
 * its kind's handler inside its task directory, and writes progress and
 * one final answer line on fd 1.  It must never hold anything worth
 * stealing: it is given no key, no store and no path of the spool root
 * but its own work area, and it applies the sandbox (sandbox.h) before
 * it reads the first task.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "spool/base/util.h"
#include "spool/job/sandbox.h"
#include "spool/job/worker.h"

#define LINE_MAX_BYTES (1 << 20)
#define PROGRESS_EVERY_MS 250

struct spool_worker_io {
	int in, out;
	char *buf;        /* bytes read from in, not yet a line */
	size_t len, cap;
	int eof;
	int cancelled;    /* a cancel line named the running task */
	int oneshot;      /* --task FILE: EOF on in is not a cancel */
	int home;         /* the directory it started in */
	int64_t last_progress;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write o as one line; a dead reader ends the worker. */
static void
put_line(struct spool_worker_io *io, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t n, off = 0;
	char *line;

	if (s == NULL)
		_exit(70);
	n = strlen(s);
	if ((line = realloc(s, n + 1)) == NULL)
		_exit(70);
	line[n++] = '\n';
	while (off < n) {
		ssize_t w = write(io->out, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(74);
		off += (size_t)w;
	}
	free(line);
}

/* Read what is there (block: wait for it); 0, or -1 at EOF/error. */
static int
fill(struct spool_worker_io *io, int block)
{
	ssize_t r;

	if (io->eof)
		return -1;
	if (!block) {
		struct pollfd p = { .fd = io->in, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0)
			return 0;
	}
	if (io->cap - io->len < 65536) {
		size_t cap = io->cap ? io->cap * 2 : 131072;
		char *nb;

		if (cap > LINE_MAX_BYTES + 65536)
			cap = LINE_MAX_BYTES + 65536;
		if (cap <= io->len + 1)
			return -1; /* a line over the limit */
		if ((nb = realloc(io->buf, cap)) == NULL)
			return -1;
		io->buf = nb;
		io->cap = cap;
	}
	do
		r = read(io->in, io->buf + io->len, io->cap - io->len - 1);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		io->eof = 1;
		return -1;
	}
	io->len += (size_t)r;
	return 0;
}

/* The next complete line, parsed (NULL: none yet when !block, or EOF). */
static json_t *
next_line(struct spool_worker_io *io, int block)
{
	for (;;) {
		char *nl = io->len ? memchr(io->buf, '\n', io->len) : NULL;

		if (nl != NULL) {
			size_t n = (size_t)(nl - io->buf);
			json_t *o;

			o = json_loadb(io->buf, n, JSON_REJECT_DUPLICATES, NULL);
			memmove(io->buf, nl + 1, io->len - n - 1);
			io->len -= n + 1;
			if (o == NULL || !json_is_object(o)) {
				json_decref(o);
				fprintf(stderr, "event=worker_bad_line\n");
				continue;
			}
			return o;
		}
		if (io->len >= LINE_MAX_BYTES) {
			fprintf(stderr, "event=worker_line_too_long\n");
			return NULL;
		}
		if (fill(io, block) != 0 || !block) {
			if (!block && !io->eof && io->len &&
			    memchr(io->buf, '\n', io->len))
				continue;
			return NULL;
		}
	}
}

int
spool_worker_progress(struct spool_worker_task *t, double frac,
    const char *msg)
{
	struct spool_worker_io *io = t->io;
	int64_t now = mono_ms();
	json_t *o;

	/* a cancel line for this task may be waiting */
	while ((o = next_line(io, 0)) != NULL) {
		const char *c = json_string_value(json_object_get(o, "cancel"));

		if (c != NULL && strcmp(c, t->id) == 0)
			io->cancelled = 1;
		json_decref(o);
	}
	if (io->eof && !io->oneshot)
		io->cancelled = 1; /* spoold went away */
	if (io->cancelled)
		return 1;
	if (t->deadline_ms > 0 && now > t->deadline_ms)
		return 1;
	if (now - io->last_progress >= PROGRESS_EVERY_MS) {
		io->last_progress = now;
		if (frac < 0)
			frac = 0;
		if (frac > 1)
			frac = 1;
		o = json_pack("{s:s, s:f}", "task", t->id, "progress", frac);
		if (o != NULL && msg != NULL)
			json_object_set_new(o, "message", json_string(msg));
		if (o != NULL)
			put_line(io, o);
		json_decref(o);
	}
	return 0;
}

int
spool_worker_fail(struct spool_worker_task *t, int permanent,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one line for the user, whatever the file's names and GDAL said */
	spool_text_line(msg, SPOOL_WORKER_ERROR_MAX);
	json_object_set_new(t->answer, "status", json_string("failed"));
	json_object_set_new(t->answer, "error", json_string(msg));
	json_object_set_new(t->answer, "permanent", json_boolean(permanent));
	return -1;
}

int
spool_worker_out_of_memory(struct spool_worker_task *t)
{
	json_int_t m = json_integer_value(json_object_get(json_object_get(
	    t->task, "limits"), "memory"));

	if (m > 0 && m % (1LL << 30) == 0)
		return spool_worker_fail(t, 0, "task exceeded memory_limit "
		    "(%lldG)", (long long)(m >> 30));
	if (m > 0 && m % (1LL << 20) == 0)
		return spool_worker_fail(t, 0, "task exceeded memory_limit "
		    "(%lldM)", (long long)(m >> 20));
	if (m > 0)
		return spool_worker_fail(t, 0, "task exceeded memory_limit "
		    "(%lld bytes)", (long long)m);
	return spool_worker_fail(t, 0, "out of memory");
}

int
spool_worker_output(struct spool_worker_task *t, const char *name,
    const char *path, const char *role, const char *type)
{
	json_t *outs = json_object_get(t->answer, "outputs"), *o;

	if (outs == NULL) {
		outs = json_array();
		if (outs == NULL || json_object_set_new(t->answer, "outputs",
		    outs) != 0)
			return -1;
	}
	o = json_pack("{s:s, s:s}", "name", name, "path", path);
	if (o == NULL)
		return -1;
	if (role != NULL)
		json_object_set_new(o, "role", json_string(role));
	if (type != NULL)
		json_object_set_new(o, "type", json_string(type));
	return json_array_append_new(outs, o);
}

const char *
spool_worker_input(struct spool_worker_task *t, const char *name,
    char *buf, size_t n)
{
	size_t i;
	json_t *in;

	json_array_foreach(t->inputs, i, in) {
		const char *nm = json_string_value(json_object_get(in, "name"));
		const char *p = json_string_value(json_object_get(in, "path"));

		if (p == NULL)
			continue;
		if (name != NULL && (nm == NULL || strcmp(nm, name) != 0))
			continue;
		if ((size_t)snprintf(buf, n, "%s/%s", t->dir, p) >= n)
			return NULL;
		return buf;
	}
	return NULL;
}

/* Every input is a plain item name, at in/NAME (as spoold places them). */
static int
inputs_ok(const json_t *inputs)
{
	size_t i;
	json_t *in;

	json_array_foreach(inputs, i, in) {
		const char *nm = json_string_value(json_object_get(in, "name"));
		const char *p = json_string_value(json_object_get(in, "path"));

		if (nm == NULL || !spool_item_name_ok(nm) || p == NULL ||
		    strncmp(p, "in/", 3) != 0 || strcmp(p + 3, nm) != 0)
			return 0;
	}
	return 1;
}

static int64_t
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
	    (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
}

/* Run one task line; write its final answer. */
static void
run_task(struct spool_worker_io *io, const struct spool_worker_kind *kind,
    json_t *task)
{
	static json_t *empty_obj, *empty_arr;
	struct spool_worker_task t;
	json_t *lim, *v;
	const char *id, *dir, *status;
	int64_t started = mono_ms(), cpu0 = cpu_ms();
	struct rusage ru;
	int r;

	if (empty_obj == NULL) {
		empty_obj = json_object();
		empty_arr = json_array();
	}
	id = json_string_value(json_object_get(task, "task"));
	dir = json_string_value(json_object_get(task, "dir"));
	if (id == NULL) {
		fprintf(stderr, "event=worker_bad_task why=\"no task id\"\n");
		return;
	}
	memset(&t, 0, sizeof(t));
	t.task = task;
	t.id = id;
	t.dir = dir ? dir : ".";
	t.io = io;
	t.params = json_object_get(task, "params");
	if (!json_is_object(t.params))
		t.params = empty_obj;
	t.config = json_object_get(task, "config");
	if (!json_is_object(t.config))
		t.config = empty_obj;
	t.plan = json_object_get(task, "plan");
	if (!json_is_object(t.plan))
		t.plan = NULL;
	t.inputs = json_object_get(task, "inputs");
	if (!json_is_array(t.inputs))
		t.inputs = empty_arr;
	t.threads = 1;
	lim = json_object_get(task, "limits");
	if ((v = json_object_get(lim, "timeout_ms")) && json_integer_value(v) > 0)
		t.deadline_ms = started + json_integer_value(v);
	if ((v = json_object_get(lim, "threads")) && json_integer_value(v) > 0)
		t.threads = (int)json_integer_value(v);
	if ((v = json_object_get(lim, "cachemax")) && json_integer_value(v) > 0)
		t.cachemax = json_integer_value(v);
	t.answer = json_object();
	if (t.answer == NULL)
		_exit(70);
	io->cancelled = 0;
	io->last_progress = 0;

	if (dir == NULL || chdir(dir) != 0)
		spool_worker_fail(&t, 0, "cannot enter the task directory "
		    "'%s': %s", t.dir, strerror(errno));
	else if (!inputs_ok(t.inputs))
		/* spoold names inputs as users' files are named; a worker
		 * builds output names from them, so it checks again */
		spool_worker_fail(&t, 1, "the task names an input that is not "
		    "a plain file name at in/NAME");
	else {
		r = kind->run(&t);
		if (io->cancelled)
			spool_worker_fail(&t, 1, "cancelled");
		else if (t.deadline_ms > 0 && mono_ms() > t.deadline_ms) {
			json_int_t ms = json_integer_value(json_object_get(lim,
			    "timeout_ms"));

			/* a timeout may be the machine's load: retried */
			if (ms % 1000 == 0)
				spool_worker_fail(&t, 0, "task exceeded "
				    "task_timeout (%llds)", (long long)ms / 1000);
			else
				spool_worker_fail(&t, 0, "task exceeded "
				    "task_timeout (%lldms)", (long long)ms);
		}
		else if (json_object_get(t.answer, "status") == NULL) {
			json_object_set_new(t.answer, "status", json_string(r ==
			    0 ? "succeeded" : "failed"));
			if (r != 0 && json_object_get(t.answer, "error") == NULL)
				json_object_set_new(t.answer, "error",
				    json_string("the worker failed without saying "
				    "why"));
		}
		/* back where it started, for the next task's "." */
		if (io->home >= 0 && fchdir(io->home) != 0)
			_exit(71);
	}
	/* a failed task gives nothing: what it made on the way is not a
	 * result */
	status = json_string_value(json_object_get(t.answer, "status"));
	if (status != NULL && strcmp(status, "failed") == 0)
		json_object_del(t.answer, "outputs");
	json_object_set_new(t.answer, "task", json_string(id));
	getrusage(RUSAGE_SELF, &ru);
	json_object_set_new(t.answer, "metrics", json_pack("{s:I, s:I, s:I}",
	    "cpu_ms", (json_int_t)(cpu_ms() - cpu0), "wall_ms",
	    (json_int_t)(mono_ms() - started), "max_rss",
	    (json_int_t)ru.ru_maxrss * 1024));
	put_line(io, t.answer);
	json_decref(t.answer);
}

static void
usage(const char *kind)
{
	fprintf(stderr, "usage: %s [--area DIR] [--read PATH]... [--net PORT]"
	    "... [--no-sandbox] [--task FILE]\n", kind);
}

int
spool_worker_main(int argc, char **argv,
    const struct spool_worker_kind *kind)
{
	struct spool_worker_io io;
	struct spool_sandbox sb;
	const char *task_file = NULL;
	int i, sandbox = 1;
	char *err = NULL;
	json_t *task;

	memset(&sb, 0, sizeof(sb));
	sb.needs = kind->needs;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--task") == 0 && i + 1 < argc)
			task_file = argv[++i];
		else if (strcmp(argv[i], "--area") == 0 && i + 1 < argc)
			sb.area = argv[++i];
		else if (strcmp(argv[i], "--read") == 0 && i + 1 < argc) {
			if (sb.nread < SPOOL_SANDBOX_MAX_PATHS)
				sb.read[sb.nread++] = argv[++i];
			else
				i++;
		} else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc) {
			if (sb.nnet < SPOOL_SANDBOX_MAX_PATHS)
				sb.net[sb.nnet++] = argv[++i];
			else
				i++;
		} else if (strcmp(argv[i], "--no-sandbox") == 0)
			sandbox = 0;
		else {
			usage(kind->name);
			return 2;
		}
	}
	memset(&io, 0, sizeof(io));
	io.in = 0;
	io.out = 1;
	if (task_file != NULL && strcmp(task_file, "-") != 0) {
		int fd = open(task_file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "%s: cannot open '%s': %s\n",
			    kind->name, task_file, strerror(errno));
			return 1;
		}
		io.in = fd;
	}
	io.oneshot = task_file != NULL;
	io.home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kind->init != NULL && kind->init() != 0) {
		fprintf(stderr, "%s: initialisation failed\n", kind->name);
		return 1;
	}
	/* one task from a file: its directory is the area */
	task = NULL;
	if (task_file != NULL) {
		if ((task = next_line(&io, 1)) == NULL) {
			fprintf(stderr, "%s: no task in '%s'\n", kind->name,
			    task_file);
			return 1;
		}
		if (sb.area == NULL)
			sb.area = json_string_value(json_object_get(task,
			    "dir"));
	}
	if (sandbox && spool_sandbox_enter(&sb, &err) != 0) {
		fprintf(stderr, "event=worker_sandbox_failed worker=%s why=%s\n",
		    kind->name, SPOOL_LQ(err ? err : "?"));
		free(err);
		json_decref(task);
		return 1;
	}
	if (task != NULL) {
		run_task(&io, kind, task);
		json_decref(task);
	}
	while (task_file == NULL && (task = next_line(&io, 1)) != NULL) {
		if (json_object_get(task, "cancel") == NULL)
			run_task(&io, kind, task);
		/* else: not running, nothing to stop */
		json_decref(task);
	}
	free(io.buf);
	if (io.in != 0)
		close(io.in);
	if (io.home >= 0)
		close(io.home);
	return 0;
}

/*
 * control.c - the control protocol (control.h), both sides: the socket
 * spoold listens on and answers, and spoolctl's question to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/logfmt.h"
#include "spool/flow/control.h"
#include "spool/flow/daemon.h"
#include "spool/flow/gc.h"
#include "spool/flow/status.h"
#include "spool/flow/steps.h"
#include "spool/node/node.h"

static int
sock_addr(const struct spool_node *n, struct sockaddr_un *sa, char *path,
    size_t pathlen)
{
	if (spool_node_path(n, path, pathlen, SPOOL_CONTROL_SOCK) != 0 ||
	    strlen(path) >= sizeof(sa->sun_path))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int
spool_control_listen(const struct spool_node *n, int *fd, char *path,
    size_t pathlen, spool_err *err)
{
	struct sockaddr_un sa;
	int s;

	if (sock_addr(n, &sa, path, pathlen) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "socket path too long");
	unlink(path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return spool_fail_sys(err, "cannot make a socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0600) != 0 || listen(s, 16) != 0) {
		int e = errno;

		close(s);
		errno = e;
		return spool_fail_sys(err, "cannot listen on '%s'", path);
	}
	*fd = s;
	return SPOOL_OK;
}

/* 1 if pid is this process or descends from it: a worker of ours (which
 * may run under our uid) never talks to the control socket. */
static int
our_descendant(pid_t pid)
{
	pid_t self = getpid();
	int hops;

	for (hops = 0; pid > 1 && hops < 64; hops++) {
		char path[64], buf[512], *p;
		ssize_t n;
		int fd;

		if (pid == self)
			return 1;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		/* "pid (comm) S ppid ...": comm may hold anything, so from
		 * the last ')' */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &pid) != 1)
			return 0;
	}
	return 0;
}

void
spool_control_serve(struct spool_daemon *d, int fd, int64_t *next_ms)
{
	char buf[64], reply[SPOOL_ERR_MSG_MAX + 32];
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	spool_err err;
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (cred.uid != geteuid() && cred.uid != 0) ||
	    our_descendant(cred.pid)) {
		spool_daemon_log(d, "event=control-refused pid=%ld uid=%ld",
		    (long)cred.pid, (long)cred.uid);
		(void)!write(fd, "error: not allowed\n", 19);
		return;
	}
	n = poll(&pfd, 1, 2000) == 1 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (strncmp(buf, "flush", 5) == 0) {
		int64_t next = 0;

		spool_daemon_log(d, "event=flush");
		if (spool_daemon_flush(d, &next, &err) == SPOOL_OK)
			snprintf(reply, sizeof(reply), "ok\n");
		else
			snprintf(reply, sizeof(reply), "error: %s\n", err.msg);
		*next_ms = next;
	} else if (strncmp(buf, "gc", 2) == 0) {
		struct spool_gc_stats gs;

		if (spool_gc_run(d, &gs, &err) == SPOOL_OK) {
			char line[256];

			spool_gc_format(&gs, line, sizeof(line));
			snprintf(reply, sizeof(reply), "ok %s\n", line);
		} else
			snprintf(reply, sizeof(reply), "error: %s\n", err.msg);
		/* the status files say what gc left before the answer does */
		if (spool_status_flush(d, &err) != SPOOL_OK)
			spool_daemon_log(d, "event=error what=status reason=%s",
			    spool_logq((char[600]){ 0 }, 600, err.msg));
	} else
		snprintf(reply, sizeof(reply), "error: unknown request\n");
	(void)!write(fd, reply, strlen(reply));
}

int
spool_control_ask(const struct spool_node *n, const char *request, int *ok,
    char *detail, size_t len)
{
	struct sockaddr_un sa;
	char path[PATH_MAX], buf[SPOOL_ERR_MSG_MAX + 64];
	size_t got = 0;
	ssize_t r;
	int fd;

	if (sock_addr(n, &sa, path, sizeof(path)) != 0)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return 0;
	}
	while (got < sizeof(buf) - 1 &&
	    (r = read(fd, buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strncmp(buf, "ok", 2) == 0 && (buf[2] == '\0' || buf[2] == ' ')) {
		*ok = 1;
		snprintf(detail, len, "%s", buf[2] == ' ' ? buf + 3 : "");
	} else if (strncmp(buf, "error: ", 7) == 0) {
		*ok = 0;
		snprintf(detail, len, "%s", buf + 7);
	} else {
		*ok = 0;
		snprintf(detail, len, "spoold gave no answer");
	}
	return 1;
}

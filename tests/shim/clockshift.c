/*
 * clockshift.so - moves the wall clock of the process it is preloaded
 * into, for tests (LD_PRELOAD): CLOCK_REALTIME (and its coarse
 * variant), gettimeofday() and time() return the real time plus the
 * offset in milliseconds written in the file SPOOL_CLOCKSHIFT names
 * (decimal, may be negative; read at every call, so a test steps the
 * clock of a running process by rewriting it in place: `printf '%-20s'
 * -3600000 | dd of=FILE conv=notrunc`).  CLOCK_MONOTONIC is left alone:
 * that is what a step of NTP or a restored VM does.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *map;

static long long
offset_ms(void)
{
	const char *path;
	char buf[32];
	int fd, i;

	if (map == NULL) {
		if ((path = getenv("SPOOL_CLOCKSHIFT")) == NULL ||
		    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
		map = mmap(NULL, 32, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (map == MAP_FAILED) {
			map = NULL;
			return 0;
		}
	}
	for (i = 0; i < 31 && map[i] != '\0'; i++)
		buf[i] = map[i];
	buf[i] = '\0';
	return strtoll(buf, NULL, 10);
}

static void
shift(struct timespec *ts)
{
	long long ns = (long long)ts->tv_nsec + offset_ms() % 1000 * 1000000;

	ts->tv_sec += offset_ms() / 1000 + ns / 1000000000;
	ns %= 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		ts->tv_sec--;
	}
	ts->tv_nsec = ns;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int r;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
		    "clock_gettime");
	r = real(id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift(ts);
	return r;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

/*
 * gdalerr.c - GDAL's own words for what went wrong, and its progress
 * reports turned into the task's.
 *
 * GDAL reports through CPLError, from any of its threads (the COG
 * driver compresses in several): one process-wide handler keeps the
 * first and the last failure since the last reset, so a corrupt file
 * fails with the message that names the cause ("TIFFFillTile: Read
 * error at row 512 ...") rather than a generic one.  Warnings go to the
 * log (a few per task), never to stdout, which belongs to the protocol.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cpl_error.h>

#include "raster.h"

#define MAX_WARNINGS 20

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char first[480], last[480];
static char strip[RASTER_PATH];
static int warnings;

/* one line, no double quotes (the log is key="value"), and no path of
 * this node: the task directory is cut out ("in/dem.tif") */
static void
oneline(char *dst, size_t n, const char *src)
{
	size_t i = 0, ls = strlen(strip);

	while (*src != '\0' && i + 1 < n) {
		if (ls > 0 && strncmp(src, strip, ls) == 0) {
			src += ls;
			continue;
		}
		dst[i++] = (*src == '\n' || *src == '\r' || *src == '"') ?
		    ' ' : *src;
		src++;
	}
	dst[i] = '\0';
}

void
rerr_strip(const char *dir)
{
	pthread_mutex_lock(&mu);
	snprintf(strip, sizeof(strip), "%s/", dir);
	pthread_mutex_unlock(&mu);
}

static void CPL_STDCALL
handler(CPLErr cls, CPLErrorNum no, const char *msg)
{
	char line[480];

	(void)no;
	if (msg == NULL)
		return;
	oneline(line, sizeof(line), msg);
	pthread_mutex_lock(&mu);
	if (cls >= CE_Failure) {
		if (first[0] == '\0')
			memcpy(first, line, sizeof(line));
		memcpy(last, line, sizeof(line));
	} else if (cls == CE_Warning && warnings < MAX_WARNINGS &&
	    strstr(line, "Unable to save auxiliary information") == NULL) {
		/* (that one: in/ is read-only, and stays so) */
		warnings++;
		fprintf(stderr, "event=gdal_warning msg=%s\n", SPOOL_LQ(line));
	}
	pthread_mutex_unlock(&mu);
}

void
rerr_install(void)
{
	CPLSetErrorHandler(handler);
}

void
rerr_reset(void)
{
	pthread_mutex_lock(&mu);
	first[0] = last[0] = '\0';
	warnings = 0;
	pthread_mutex_unlock(&mu);
	CPLErrorReset();
}

const char *
rerr_text(char *buf, size_t n, const char *dflt)
{
	pthread_mutex_lock(&mu);
	if (first[0] == '\0')
		snprintf(buf, n, "%s", dflt);
	else if (strcmp(first, last) == 0)
		snprintf(buf, n, "GDAL: %s", first);
	else
		snprintf(buf, n, "GDAL: %s (then: %s)", first, last);
	pthread_mutex_unlock(&mu);
	return buf;
}

int
rerr_transient(void)
{
	static const char *const words[] = {
		"No space left", "Out of memory", "Cannot allocate",
		"cannot allocate", "out of memory", "Disk full",
	};
	size_t i;
	int r = 0;

	pthread_mutex_lock(&mu);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(first, words[i]) || strstr(last, words[i]))
			r = 1;
	pthread_mutex_unlock(&mu);
	return r;
}

int CPL_STDCALL
rprog_cb(double frac, const char *msg, void *arg)
{
	static pthread_mutex_t pmu = PTHREAD_MUTEX_INITIALIZER;
	struct rprog *p = arg;
	int stop;

	(void)msg;
	if (p == NULL || p->t == NULL)
		return TRUE;
	/* GDAL may report from its own threads */
	pthread_mutex_lock(&pmu);
	stop = spool_worker_progress(p->t, p->base + frac * p->span, p->msg);
	pthread_mutex_unlock(&pmu);
	return stop ? FALSE : TRUE;
}

/*
 * node_store.c - a configured node's store: [store] url resolved from the
 * config file's directory, and what spool 0.1 kept beside it taken over.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/store.h"

/* spool 0.1 kept "last seq used" in store/seq/PEER: carry it over once,
 * so a node upgraded in place never reuses a seq. */
static int
adopt_seq_files(struct spool_store *st, const char *root, spool_err *err)
{
	char dir[4096], path[4200], buf[32];
	struct dirent *e;
	DIR *d;
	int r = SPOOL_OK;

	if (snprintf(dir, sizeof(dir), "%s/store/seq", root) >=
	    (int)sizeof(dir))
		return SPOOL_OK;
	/* no opendir bookkeeping: the directory holds a handful of peers */
	snprintf(path, sizeof(path), "%s/.adopted", dir);
	if (access(dir, F_OK) != 0 || access(path, F_OK) == 0)
		return SPOOL_OK;
	if ((d = opendir(dir)) == NULL)
		return spool_fail_sys(err, "cannot open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		unsigned long long last;
		ssize_t got;
		char *end;
		int fd;

		if (!spool_node_name_ok(e->d_name))
			continue;
		if ((fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) < 0)
			continue;
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		errno = 0;
		last = strtoull(buf, &end, 10);
		if (errno != 0 || (*end != '\n' && *end != '\0'))
			continue;
		if ((r = spool_store_seq_floor(st, e->d_name,
		    (uint64_t)last + 1, err)) != SPOOL_OK)
			break;
	}
	closedir(d);
	if (r == SPOOL_OK) {
		snprintf(path, sizeof(path), "%s/.adopted", dir);
		r = spool_write_file_atomic(path, "moved into the store\n", 21,
		    0644, err);
	}
	return r;
}

int
spool_store_config_file(const struct spool_config *c, char *out,
    size_t outsz)
{
	int n;

	if (strncmp(c->store_url, "sqlite://", 9) != 0)
		return -1;
	if (c->store_url[9] == '/')
		n = snprintf(out, outsz, "%s", c->store_url + 9);
	else
		n = snprintf(out, outsz, "%s/%s", c->dir, c->store_url + 9);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* store/sqlite-store names the SQLite file this node's history is in:
 * refuse to make it again when it is gone (*named: the marker names it). */
static int
sqlite_named(const struct spool_config *c, const char *file, int *named,
    spool_err *err)
{
	char marker[4200], buf[4200];
	ssize_t got;
	int fd;

	*named = 0;
	snprintf(marker, sizeof(marker), "%s/store/sqlite-store", c->root);
	if ((fd = open(marker, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return SPOOL_OK;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return SPOOL_OK;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, file) != 0)
		return SPOOL_OK; /* another file: a store moved by the config */
	*named = 1;
	if (access(file, F_OK) == 0 || errno != ENOENT)
		return SPOOL_OK;
	return spool_fail(err, SPOOL_ERR_STATE, "the store %s is missing: it "
	    "was deleted or moved (store/sqlite-store names it); put it back, "
	    "or remove store/sqlite-store to start an empty store", file);
}

static void
sqlite_name(const struct spool_config *c, const char *file)
{
	char marker[4200], line[4200];
	spool_err e;
	int n;

	snprintf(marker, sizeof(marker), "%s/store", c->root);
	if (access(marker, W_OK) != 0)
		return; /* not a node's root (yet), or read-only to us */
	snprintf(marker, sizeof(marker), "%s/store/sqlite-store", c->root);
	n = snprintf(line, sizeof(line), "%s\n", file);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)spool_write_file_atomic(marker, line, (size_t)n, 0644, &e);
}

int
spool_store_open_config(struct spool_store **out,
    const struct spool_config *c, spool_err *err)
{
	struct spool_store *st;
	char *url = NULL, file[4096];
	int r, sqlite, named = 0;

	sqlite = spool_store_config_file(c, file, sizeof(file)) == 0;
	if (sqlite && (r = sqlite_named(c, file, &named, err)) != SPOOL_OK)
		return r;
	if (strncmp(c->store_url, "sqlite://", 9) == 0 &&
	    c->store_url[9] != '/') {
		if (asprintf(&url, "sqlite://%s/%s", c->dir,
		    c->store_url + 9) < 0)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	r = spool_store_open(&st, url ? url : c->store_url, c->name, err);
	free(url);
	if (r != SPOOL_OK)
		return r;
	if (sqlite && !named)
		sqlite_name(c, file);
	if ((r = adopt_seq_files(st, c->root, err)) != SPOOL_OK) {
		spool_store_close(st);
		return r;
	}
	*out = st;
	return SPOOL_OK;
}

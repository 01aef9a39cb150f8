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
spool_store_open_config(struct spool_store **out,
    const struct spool_config *c, spool_err *err)
{
	struct spool_store *st;
	char *url = NULL;
	int r;

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
	if ((r = adopt_seq_files(st, c->root, err)) != SPOOL_OK) {
		spool_store_close(st);
		return r;
	}
	*out = st;
	return SPOOL_OK;
}

/*
 * trust.c - trusted peer keys under keys/trusted/.
 *
 * Must never: trust one key under two names, or let a file that is not a
 * valid minisign public key into the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"

static int
trust_path(char *out, size_t outsz, const char *root, const char *name)
{
	int w = name ? snprintf(out, outsz, "%s/keys/trusted/%s.pub", root, name)
		     : snprintf(out, outsz, "%s/keys/trusted", root);

	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct spool_trusted *)a)->name,
	    ((const struct spool_trusted *)b)->name);
}

int
spool_trust_list(const char *root, struct spool_trusted **out, size_t *n,
    spool_err *err)
{
	struct spool_trusted *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = SPOOL_OK;

	if (trust_path(dir, sizeof(dir), root, NULL) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			*out = NULL;
			*n = 0;
			return SPOOL_OK;
		}
		return spool_fail_sys(err, "cannot open '%s'", dir);
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char name[SPOOL_NAME_MAX + 1], path[PATH_MAX];

		if (len < 5 || strcmp(de->d_name + len - 4, ".pub") != 0 ||
		    len - 4 > SPOOL_NAME_MAX)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (!spool_node_name_ok(name))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path)) {
			r = spool_fail(err, SPOOL_ERR_USAGE, "path too long");
			break;
		}
		if ((r = spool_pubkey_read(path, &v[cnt].key, err)) != SPOOL_OK)
			break;
		memcpy(v[cnt].name, name, len - 3);
		cnt++;
	}
	closedir(d);
	if (r != SPOOL_OK) {
		free(v);
		return r;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), by_name);
	*out = v;
	*n = cnt;
	return SPOOL_OK;
}

int
spool_trust_get(const char *root, const char *name, struct spool_pubkey *out,
    spool_err *err)
{
	char path[PATH_MAX];
	int r;

	if (!spool_node_name_ok(name))
		return spool_fail(err, SPOOL_ERR_NOTFOUND,
		    "'%s' is not a valid node name", name);
	if (trust_path(path, sizeof(path), root, name) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	r = spool_pubkey_read(path, out, err);
	if (r == SPOOL_ERR_NOTFOUND)
		return spool_fail(err, SPOOL_ERR_NOTFOUND,
		    "peer '%s' is not trusted", name);
	return r;
}

int
spool_trust_add(const char *root, const char *name, const char *pubfile,
    spool_err *err)
{
	struct spool_trusted *all = NULL;
	struct spool_pubkey key;
	char path[PATH_MAX], id[SPOOL_KEYID_STRLEN + 1];
	size_t n = 0, i;
	int r;

	if (!spool_node_name_ok(name))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' is not a valid node name ([a-z0-9]{1,32})", name);
	if ((r = spool_pubkey_read(pubfile, &key, err)) != SPOOL_OK)
		return r;
	if ((r = spool_trust_list(root, &all, &n, err)) != SPOOL_OK)
		return r;
	spool_keyid_str(key.id, id);
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].name, name) == 0) {
			r = spool_fail(err, SPOOL_ERR_EXISTS,
			    "peer '%s' is already trusted (remove it first)",
			    name);
			goto out;
		}
		if (memcmp(all[i].key.id, key.id, sizeof(key.id)) == 0 ||
		    memcmp(all[i].key.pk, key.pk, sizeof(key.pk)) == 0) {
			r = spool_fail(err, SPOOL_ERR_EXISTS,
			    "key %s is already trusted as '%s'", id,
			    all[i].name);
			goto out;
		}
	}
	if (trust_path(path, sizeof(path), root, NULL) != 0 ||
	    (r = spool_mkdirs(path, 0755, err)) != SPOOL_OK)
		goto out;
	trust_path(path, sizeof(path), root, name);
	r = spool_pubkey_write(path, &key, err);
out:
	free(all);
	return r;
}

int
spool_trust_remove(const char *root, const char *name, spool_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];

	if (!spool_node_name_ok(name) ||
	    trust_path(path, sizeof(path), root, name) != 0)
		return spool_fail(err, SPOOL_ERR_NOTFOUND,
		    "peer '%s' is not trusted", name);
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return spool_fail(err, SPOOL_ERR_NOTFOUND,
			    "peer '%s' is not trusted", name);
		return spool_fail_sys(err, "cannot remove '%s'", path);
	}
	trust_path(dir, sizeof(dir), root, NULL);
	return spool_fsync_dir(dir, err);
}

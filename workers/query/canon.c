/*
 * canon.c - the cache key of a query (canon.h).
 *
 * It must never depend on anything but the question: not on the order
 * the user wrote the keys in, not on whitespace, not on "fresh".
 */
#include <jansson.h>
#include <stdlib.h>

#include "canon.h"

char *
query_cache_key(const char *source, const json_t *params)
{
	json_t *p, *k;
	char *s;

	if (source == NULL || !json_is_object(params))
		return NULL;
	/* deep: a shallow copy would share (and so not isolate) nested
	 * objects, and nothing is changed below the top level anyway */
	if ((p = json_deep_copy(params)) == NULL)
		return NULL;
	json_object_del(p, "fresh");
	k = json_pack("{s:s, s:o}", "source", source, "params", p);
	if (k == NULL)
		return NULL;
	s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(17));
	json_decref(k);
	return s;
}

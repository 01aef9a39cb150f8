#include "query.h"
int
q_ogr_run(struct qctx *q, const char *path, spool_err *err)
{
	(void)q;
	return spool_fail(err, SPOOL_ERR_FORMAT, "'%s' is not a source this "
	    "worker can read", path);
}

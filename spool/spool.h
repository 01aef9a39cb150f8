/*
 * spool.h - the public interface of libspool, for spoold, spoolctl and
 * anything else that drives spool.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include "batch.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "fsutil.h"
#include "hash.h"
#include "key.h"
#include "media.h"
#include "minisig.h"
#include "node.h"
#include "status.h"
#include "store.h"
#include "trust.h"
#include "util.h"

#endif

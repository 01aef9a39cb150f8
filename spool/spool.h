/*
 * spool.h - the public interface of libspool, for spoold, spoolctl and
 * anything else that drives spool.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include "spool/format/batch.h"
#include "spool/node/config.h"
#include "spool/flow/daemon.h"
#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/keys/key.h"
#include "spool/flow/media.h"
#include "spool/format/minisig.h"
#include "spool/node/node.h"
#include "spool/flow/status.h"
#include "spool/store/store.h"
#include "spool/keys/trust.h"
#include "spool/base/util.h"

#endif

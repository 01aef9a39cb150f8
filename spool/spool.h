/*
 * spool.h - the public interface of libspool, for spoold, spoolctl and
 * anything else that drives spool: the headers below, lowest layer first
 * (docs/ARCHITECTURE.md).  Every other header of spool/ is private to
 * the library; a program includes "spool/spool.h" (or one of these), and
 * tests/t/t0010-layers.sh checks that it does.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/logfmt.h"
#include "spool/base/numfmt.h"
#include "spool/base/util.h"
#include "spool/base/version.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"
#include "spool/format/batch.h"
#include "spool/format/minisig.h"
#include "spool/format/pair.h"
#include "spool/store/store.h"
#include "spool/store/batchlog.h"
#include "spool/store/blobref.h"
#include "spool/store/lineage.h"
#include "spool/store/list.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/qcache.h"
#include "spool/job/job.h"
#include "spool/job/worker.h"
#include "spool/job/plan.h"
#include "spool/job/sandbox.h"
#include "spool/job/taskio.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/node/kinds.h"
#include "spool/node/check.h"
#include "spool/flow/daemon.h"
#include "spool/flow/media.h"
#include "spool/flow/status.h"
#include "spool/flow/intake.h"
#include "spool/flow/outbox.h"
#include "spool/flow/inbox.h"
#include "spool/flow/work.h"
#include "spool/flow/gc.h"
#include "spool/flow/steps.h"
#include "spool/flow/control.h"

#endif

/*
 * layers.h - status/layer-state.json: the raster and vector layers this
 * node knows, for map pages that poll files (DESIGN section 6;
 * schemas/layer-state.schema.json).
 */
#ifndef SPOOL_LAYERS_H
#define SPOOL_LAYERS_H

#include <jansson.h>

#include "spool/base/error.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

/* The document: {"layers": [...]}, one entry per raster request and per
 * output layer of a vector request (one per request until its layers are
 * known).  On the requesting node paths point into results/<id>/; on the
 * processing node at the blobs. */
int spool_layer_state(struct spool_store *st, const struct spool_node *n,
    json_t **out, spool_err *err);

#endif

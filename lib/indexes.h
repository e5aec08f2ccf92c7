/* indexes.h: the browser's indexes, defined once for the dump's
 * metadata, the manifest and the MongoDB load. Private to the library. */
#ifndef SFL_INDEXES_H
#define SFL_INDEXES_H

#include <bson/bson.h>

#include "swefreq/sink.h"

typedef struct {
    const char *name;       /* "xpos_1" */
    const char *fields[4];  /* ascending keys, NULL-terminated */
} sfl_index_def_t;

/* The index definitions of a collection (not counting _id). */
const sfl_index_def_t *sfl_browser_indexes(sfl_collection_t c, size_t *n);

/* Appends {key: {...}, name: "..."} (and "v": 2 with `with_version`) for
 * each index to the array `arr`, starting at array index *i; with
 * `with_id`, the _id index first. */
bool sfl_append_index_specs(bson_t *arr, sfl_collection_t c, bool with_id, bool with_version,
                            uint32_t *i);

#endif

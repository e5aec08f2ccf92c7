/* manifest_int.h: building a manifest from inside the library. */
#ifndef SFL_MANIFEST_INT_H
#define SFL_MANIFEST_INT_H

#include <bson/bson.h>

#include "swefreq/manifest.h"

/* Takes a complete manifest document (the JSON shape of docs/manifest.md
 * as BSON), validates it and builds the accessor views. `doc` is copied. */
sfl_manifest_t *sfl_manifest_from_bson(const bson_t *doc, sfl_error_t *err);

/* The folder (ending in '/') of the file the manifest was read from, or
 * NULL when it was not read from a file; borrowed. */
const char *sfl_manifest_dir(const sfl_manifest_t *m);

/* The manifest's document; borrowed. */
const bson_t *sfl_manifest_bson(const sfl_manifest_t *m);

#endif

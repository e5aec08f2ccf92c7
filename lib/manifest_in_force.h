/* manifest_in_force.h: the manifest that a database loaded in parts is
 * checked against. Private to the library. */
#ifndef SFL_MANIFEST_IN_FORCE_H
#define SFL_MANIFEST_IN_FORCE_H

#include <mongoc/mongoc.h>

#include "swefreq/error.h"
#include "swefreq/manifest.h"

/* The manifest in force of `db` (see manifest_in_force.c). NULL with err
 * when no complete load is recorded or the server fails. */
sfl_manifest_t *sfl_manifest_in_force(mongoc_client_t *c, const char *db, sfl_error_t *err);

#endif

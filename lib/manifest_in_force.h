/* manifest_in_force.h: the manifest that a database loaded in parts is
 * checked against. Private to the library. */
#ifndef SFL_MANIFEST_IN_FORCE_H
#define SFL_MANIFEST_IN_FORCE_H

#include <mongoc/mongoc.h>

#include "swefreq/error.h"
#include "swefreq/manifest.h"

/* The manifest in force of `db` (see manifest_in_force.c). NULL with err
 * when no complete load is recorded or the server fails. With `load_ids`
 * (may be NULL), the ids of the loads it draws on, the current one first
 * (none for a database of a version before the "current" pointer), as a
 * malloc'd array of malloc'd strings, *n_load_ids of them. */
sfl_manifest_t *sfl_manifest_in_force(mongoc_client_t *c, const char *db, char ***load_ids,
                                      size_t *n_load_ids, sfl_error_t *err);

#endif

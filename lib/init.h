/* init.h: the library's share of libmongoc's process-wide state (init.c).
 * Private. */
#ifndef SFL_INIT_H
#define SFL_INIT_H

#include <stdbool.h>

#include "swefreq/error.h"

/* Calls mongoc_init() (idempotent) unless sfl_cleanup shut libmongoc down
 * (SFL_INIT_OWN_MONGOC): then false with SFL_E_USAGE. Before every
 * connection (mongo_util.c). */
bool sfl_mongoc_ready(sfl_error_t *err);

#endif

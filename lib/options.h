/* options.h: checking the caller's sfl_options_t. Private.
 *
 * The public half (sfl_options_init, the style and histogram names) is
 * declared in swefreq/job.h; options.c holds both halves.
 */
#ifndef SFL_OPTIONS_H
#define SFL_OPTIONS_H

#include "swefreq/job.h"

/* Copies `in` (NULL = the defaults) into `out`, honouring its struct_size,
 * checks every value and fills in what 0 means (threads = cores) and the
 * clamped sizes. False with SFL_E_USAGE naming the bad option. */
bool sfl_options_resolve(const sfl_options_t *in, sfl_options_t *out, sfl_error_t *err);

#endif

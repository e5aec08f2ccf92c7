/* log.h: formatting a message for the caller's log callback. Private. */
#ifndef SFL_LOG_H
#define SFL_LOG_H

#include "swefreq/job.h"

/* Formats and hands a message to `fn` (nothing when fn is NULL). */
void sfl_logf(sfl_log_fn fn, void *ud, sfl_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* htslib prints to stderr and has no callback: these turn its log off
 * around the library's own calls and restore the caller's level after the
 * last one ends (nested and concurrent runs are counted). */
void sfl_hts_quiet_begin(void);
void sfl_hts_quiet_end(void);

#endif

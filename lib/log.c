/* log.c: the library's only way to say something: the caller's callback. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void sfl_logf(sfl_log_fn fn, void *ud, sfl_log_level_t level, const char *fmt, ...)
{
    if (!fn)
        return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(ud, level, msg);
}

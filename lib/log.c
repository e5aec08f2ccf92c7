/* log.c: the library's only way to say something: the caller's callback.
 *
 * htslib 1.16 has no log callback (only a global level), so while the
 * library runs htslib's level is "off" and every condition htslib would
 * have logged is turned into the library's own error or warning (the
 * reader checks every block itself). */
#include <htslib/hts_log.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "secrets.h"

void sfl_logf(sfl_log_fn fn, void *ud, sfl_log_level_t level, const char *fmt, ...)
{
    if (!fn)
        return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sfl_secrets_scrub(msg);
    fn(ud, level, msg);
}

static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static int quiet_depth;
static enum htsLogLevel quiet_saved;

void sfl_hts_quiet_begin(void)
{
    pthread_mutex_lock(&quiet_lock);
    if (quiet_depth++ == 0) {
        quiet_saved = hts_get_log_level();
        hts_set_log_level(HTS_LOG_OFF);
    }
    pthread_mutex_unlock(&quiet_lock);
}

void sfl_hts_quiet_end(void)
{
    pthread_mutex_lock(&quiet_lock);
    if (quiet_depth > 0 && --quiet_depth == 0)
        hts_set_log_level(quiet_saved);
    pthread_mutex_unlock(&quiet_lock);
}

/* init.c: process-wide set-up of the libraries we call.
 *
 * The design is simple: the library promises never to print, so
 * sfl_init() silences htslib's and libmongoc's own logging before anything
 * else runs; every condition they would have reported comes back to the
 * caller as an sfl_error_t or through the job's log callback instead.
 */
#include <htslib/hts_log.h>
#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

static void quiet_mongoc(mongoc_log_level_t level, const char *domain, const char *message,
                         void *ud)
{
    (void)level;
    (void)domain;
    (void)message;
    (void)ud;
}

void sfl_init(void)
{
    static bool done = false;
    if (done)
        return;
    done = true;
    hts_set_log_level(HTS_LOG_OFF);
    mongoc_log_set_handler(quiet_mongoc, NULL);
    mongoc_init();
}

void sfl_cleanup(void) { mongoc_cleanup(); }

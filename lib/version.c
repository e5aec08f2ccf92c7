/* version.c: the library's version and process-wide set-up. */
#include <htslib/hts_log.h>
#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

const char *sfl_version(void) { return SFL_VERSION_STRING; }

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

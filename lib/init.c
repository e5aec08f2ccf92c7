/* init.c: process-wide set-up of the libraries we call.
 *
 * The design is simple: the library promises never to print, so
 * sfl_init() routes libmongoc's own log to nowhere before anything else
 * runs. htslib's log is switched off only while a job runs (log.c,
 * sfl_hts_quiet_begin/end), so that a host program keeps its own htslib
 * logging between runs. Every condition either would have reported comes
 * back to the caller as an sfl_error_t or through the job's log callback.
 */
#include <mongoc/mongoc.h>

#include "secrets.h"
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
    mongoc_log_set_handler(quiet_mongoc, NULL);
    mongoc_init();
}

void sfl_cleanup(void)
{
    mongoc_cleanup();
    sfl_secrets_clear();
}

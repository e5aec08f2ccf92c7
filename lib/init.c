/* init.c: process-wide set-up of the libraries we call, shared politely
 * with a host program that may use libmongoc itself.
 *
 * libmongoc's rules: mongoc_init() once per process before any use (it is
 * guarded by a once-flag, so calling it again does nothing), and
 * mongoc_cleanup() at most once, after all use; after it libmongoc cannot
 * be initialised again in that process. Its log handler is process-wide.
 *
 * So the library
 *   - counts its own sfl_init/sfl_cleanup pairs (under a mutex);
 *   - calls mongoc_init() from sfl_init and again, lazily, before its first
 *     connection (sfl_mongoc_ready), which makes it safe for a host that
 *     never called sfl_init and harmless for one that called mongoc_init;
 *   - calls mongoc_cleanup() only when the host asked it to
 *     (SFL_INIT_OWN_MONGOC) and the last sfl_init was balanced; after that
 *     every call that needs libmongoc fails with SFL_E_USAGE instead of
 *     touching freed state;
 *   - replaces libmongoc's log handler only when the host asked it to
 *     (SFL_INIT_QUIET_MONGOC). The library's own messages never go through
 *     libmongoc's handler: they go to the job's log callback.
 *
 * htslib's log is switched off only while a job runs (log.c). */
#include <mongoc/mongoc.h>
#include <pthread.h>

#include "init.h"
#include "secrets.h"
#include "swefreq/swefreq.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static long init_count;      /* sfl_init calls not yet balanced by sfl_cleanup */
static bool own_mongoc;      /* some sfl_init_ex asked for SFL_INIT_OWN_MONGOC */
static bool mongoc_shut;     /* we called mongoc_cleanup(): libmongoc is gone */

static void quiet_mongoc(mongoc_log_level_t level, const char *domain, const char *message,
                         void *ud)
{
    (void)level;
    (void)domain;
    (void)message;
    (void)ud;
}

static bool shut_error(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                         "libmongoc was shut down by sfl_cleanup (the host asked for "
                         "SFL_INIT_OWN_MONGOC); it cannot be used again in this process");
}

bool sfl_init_ex(unsigned flags, sfl_error_t *err)
{
    if (flags & ~(unsigned)(SFL_INIT_OWN_MONGOC | SFL_INIT_QUIET_MONGOC))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_init_ex: unknown flags 0x%x", flags);
    pthread_mutex_lock(&init_lock);
    bool shut = mongoc_shut;
    if (!shut) {
        init_count++;
        if (flags & SFL_INIT_OWN_MONGOC)
            own_mongoc = true;
        if (flags & SFL_INIT_QUIET_MONGOC)
            mongoc_log_set_handler(quiet_mongoc, NULL);
        mongoc_init();
    }
    pthread_mutex_unlock(&init_lock);
    if (shut)
        return shut_error(err);
    sfl_error_clear(err);
    return true;
}

void sfl_init(void) { (void)sfl_init_ex(0, NULL); }

void sfl_cleanup(void)
{
    pthread_mutex_lock(&init_lock);
    if (init_count > 0 && --init_count == 0) {
        /* the credentials registered for scrubbing messages (secrets.h) */
        sfl_secrets_clear();
        if (own_mongoc && !mongoc_shut) {
            mongoc_cleanup();
            mongoc_shut = true;
        }
    }
    pthread_mutex_unlock(&init_lock);
}

bool sfl_mongoc_ready(sfl_error_t *err)
{
    pthread_mutex_lock(&init_lock);
    bool shut = mongoc_shut;
    if (!shut)
        mongoc_init();
    pthread_mutex_unlock(&init_lock);
    return shut ? shut_error(err) : true;
}

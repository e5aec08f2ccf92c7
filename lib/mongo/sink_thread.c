/* mongo/sink_thread.c: the MongoDB sink's threads, at the bottom of the sink's
 * files (mongo/sink_internal.h). It counts the references that the sink
 * and each of its helper threads hold (the last one frees the sink),
 * starts those threads with every signal blocked, waits on the sink's
 * conditions with a timeout, and queues the messages of the helper threads
 * for the driving thread (mlog_later, deliver_later, the mlog macro). It
 * calls no other file of the sink.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sink_internal.h"
#include "log.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

static void *xref(mongo_sink_t *m);

bool sfl_msink_cancelled(mongo_sink_t *m)
{
    return sfl_sink_cancelled_int(m->self);
}

/* Waits on cv for at most ms milliseconds (m->lock held). */
void sfl_msink_wait_ms(mongo_sink_t *m, pthread_cond_t *cv, long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, &m->lock, &t);
}

/* Starts a detached thread holding a reference on m, with every signal
 * blocked (signals belong to the application's own threads). */
bool sfl_msink_spawn(mongo_sink_t *m, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    xref(m);
    bool ok = pthread_create(&t, &a, fn, arg) == 0;
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok)
        sfl_msink_unref(m);
    return ok;
}

/* From the sink's own threads: queued for the driving thread. A message
 * that cannot be queued (out of memory) is dropped. */
void sfl_msink_mlog_later(mongo_sink_t *m, sfl_log_level_t lvl, const char *fmt, ...)
{
    if (!m->o.log)
        return;
    char text[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t n = strlen(text) + 1;
    later_msg_t *q = malloc(sizeof *q + n);
    if (!q)
        return;
    q->next = NULL;
    q->level = lvl;
    memcpy(q->text, text, n);
    pthread_mutex_lock(&m->log_lock);
    if (m->later_tail)
        m->later_tail->next = q;
    else
        m->later_head = q;
    m->later_tail = q;
    pthread_mutex_unlock(&m->log_lock);
}

/* On the driving thread: hands the queued messages to the callback. */
void sfl_msink_deliver_later(mongo_sink_t *m)
{
    pthread_mutex_lock(&m->log_lock);
    later_msg_t *q = m->later_head;
    m->later_head = m->later_tail = NULL;
    pthread_mutex_unlock(&m->log_lock);
    while (q) {
        later_msg_t *next = q->next;
        sfl_logf(m->o.log, m->o.log_ud, q->level, "%s", q->text);
        free(q);
        q = next;
    }
}

void sfl_msink_job_free(insert_job_t *j)
{
    if (!j)
        return;
    free(j->buf);
    free(j->off);
    free(j);
}

bool sfl_msink_cancel_error(sfl_error_t *err, const char *when)
{
    return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                         "interrupted %s; the browser's collections were not changed", when);
}

double sfl_msink_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void *xref(mongo_sink_t *m)
{
    pthread_mutex_lock(&m->lock);
    m->refs++;
    pthread_mutex_unlock(&m->lock);
    return m;
}

/* The last reference frees everything, once no helper thread needs it. */
void sfl_msink_unref(mongo_sink_t *m)
{
    pthread_mutex_lock(&m->lock);
    int left = --m->refs;
    if (left > 0)
        pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
    if (left > 0)
        return;
    while (m->head) {
        insert_job_t *j = m->head;
        m->head = j->next;
        sfl_msink_job_free(j);
    }
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_msink_job_free(m->cur[c]);
    if (m->main)
        mongoc_client_pool_push(m->pool, m->main);
    if (m->pool)
        mongoc_client_pool_destroy(m->pool);
    if (m->wc)
        mongoc_write_concern_destroy(m->wc);
    free(m->manifest_partial);
    free(m->manifest_path);
    sfl_manifest_destroy(m->done_manifest);
    bson_destroy(&m->prev_attempts);
    bson_destroy(&m->part_spec);
    free(m->uri_redacted);
    free(m->origin);
    free(m->db);
    /* Said by a helper thread after the run's end: nobody to hand it to
     * on the job's thread any more (see mongo.h). */
    while (m->later_head) {
        later_msg_t *q = m->later_head;
        m->later_head = q->next;
        free(q);
    }
    pthread_mutex_destroy(&m->log_lock);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->not_empty);
    pthread_cond_destroy(&m->not_full);
    pthread_cond_destroy(&m->idle);
    pthread_cond_destroy(&m->hb_wake);
    free(m);
}

/* mongo/sink_lock.c: the MongoDB sink's hold on the database's load lock
 * (mongo/state.c takes and releases it): taking it at begin, the heartbeat
 * thread that keeps it fresh and notes when another load took it over,
 * letting it go, and the lock taken over, for the load record.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mongo/state.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

/* Refreshes the lock every SFL_LOCK_HEARTBEAT_SECONDS until told to stop;
 * notes when the lock is no longer ours. */
static void *heartbeat_main(void *arg)
{
    mongo_sink_t *m = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
    pthread_mutex_lock(&m->lock);
    while (!m->hb_stop) {
        sfl_msink_wait_ms(m, &m->hb_wake, SFL_LOCK_HEARTBEAT_SECONDS * 1000L);
        if (m->hb_stop)
            break;
        pthread_mutex_unlock(&m->lock);
        int rc = sfl_lock_heartbeat(c, m->db, m->part ? m->group_id : m->lock_id);
        pthread_mutex_lock(&m->lock);
        if (rc == 0 && !m->hb_stop && !m->lock_lost) {
            m->lock_lost = true;
            sfl_msink_mlog_later(m, SFL_LOG_WARNING,
                                 "the lock of %s is no longer held by this load (%s): "
                                 "another load took it over; this load will not swap",
                                 m->db, m->load_id);
        }
    }
    pthread_mutex_unlock(&m->lock);
    mongoc_client_pool_push(m->pool, c);
    sfl_msink_unref(m);
    return NULL;
}

/* Stops the heartbeat and deletes the lock if it is still ours. */
void sfl_msink_unlock_db(mongo_sink_t *m)
{
    if (!m->locked && !m->hb_running)
        return;
    pthread_mutex_lock(&m->lock);
    m->hb_stop = true;
    pthread_cond_broadcast(&m->hb_wake);
    pthread_mutex_unlock(&m->lock);
    m->hb_running = false;
    if (m->locked) /* a part leaves the group's lock to the group */
        sfl_lock_release(m->main, m->db, m->lock_id);
    m->locked = false;
}

bool sfl_msink_part_heartbeat(mongo_sink_t *m, sfl_error_t *err)
{
    m->hb_running = true;
    if (sfl_msink_spawn(m, heartbeat_main, m))
        return true;
    m->hb_running = false;
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
}

bool sfl_msink_lock_db(mongo_sink_t *m, sfl_error_t *err)
{
    sfl_lock_request_t rq = {m->lock_id, m->command, m->o.lock_stale_seconds, m->o.break_lock,
                             m->o.log, m->o.log_ud};
    if (!sfl_lock_acquire(m->main, m->db, &rq, &m->took_over, &m->prev_holder, err))
        return false;
    m->locked = true;
    m->hb_running = true;
    if (!sfl_msink_spawn(m, heartbeat_main, m)) {
        sfl_msink_unlock_db(m);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
    }
    return true;
}

/* The lock taken over, for the load record. */
void sfl_msink_append_lock_info(mongo_sink_t *m, bson_t *extra)
{
    if (!m->took_over && !m->o.break_lock)
        return;
    bson_t l, p;
    BSON_APPEND_DOCUMENT_BEGIN(extra, "lock", &l);
    BSON_APPEND_BOOL(&l, "break_lock", m->o.break_lock);
    if (m->took_over) {
        BSON_APPEND_DOCUMENT_BEGIN(&l, "took_over", &p);
        BSON_APPEND_UTF8(&p, "load_id", m->prev_holder.load_id);
        BSON_APPEND_UTF8(&p, "host", m->prev_holder.host);
        BSON_APPEND_INT64(&p, "pid", m->prev_holder.pid);
        BSON_APPEND_DATE_TIME(&p, "started", m->prev_holder.started_ms);
        BSON_APPEND_DATE_TIME(&p, "heartbeat", m->prev_holder.heartbeat_ms);
        bson_append_document_end(&l, &p);
    }
    bson_append_document_end(extra, &l);
}

/* True (and err set) once the heartbeat found the lock taken by another
 * load (--break-lock, or a heartbeat later than the stale timeout): this
 * load must stop, and say why, rather than report what the other load did
 * to its staging (it drops the staging of the load it took over from). */
bool sfl_msink_lost_lock(mongo_sink_t *m, sfl_error_t *err)
{
    pthread_mutex_lock(&m->lock);
    bool lost = m->lock_lost;
    pthread_mutex_unlock(&m->lock);
    if (lost)
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                      "%s: this load (%s) lost the database's lock to another load "
                      "(which broke it: sfl_mongo_options_t.break_lock; or its heartbeat was "
                      "late); it stops before the swap, "
                      "and the browser's collections were not changed by it",
                      m->db, m->load_id);
    return lost;
}

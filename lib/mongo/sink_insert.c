/* mongo/sink_insert.c: the MongoDB sink's insert workers. K inserter threads
 * take insert batches from a bounded queue (enqueue) and send each as an
 * unordered, acknowledged bulk insert into its staging collection,
 * retrying transient network errors with backoff and absorbing duplicate
 * keys that a retry or a resume may meet; each acknowledgement moves the
 * acknowledged position. drain() waits for them to finish. call() runs
 * one long server command of the commit on a helper thread, so that a
 * signal stops the wait within about a second.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mongo/client.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

static bool insert_once(mongo_sink_t *m, mongoc_client_t *c, insert_job_t *j, bool retry,
                        uint64_t *absorbed, bson_error_t *be, bson_t *reply)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, m->db, m->staging[j->collection]);
    const bson_t **docs = malloc(j->n * sizeof *docs);
    bson_t *store = malloc(j->n * sizeof *store);
    if (!docs || !store) {
        free(docs);
        free(store);
        mongoc_collection_destroy(coll);
        bson_set_error(be, 0, 0, "out of memory");
        bson_init(reply);
        return false;
    }
    for (size_t i = 0; i < j->n; i++) {
        uint32_t len = (uint32_t)((i + 1 < j->n ? j->off[i + 1] : j->len) - j->off[i]);
        bson_init_static(&store[i], j->buf + j->off[i], len);
        docs[i] = &store[i];
    }
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    /* Our documents were checked (UTF-8, keys) when they were built. */
    BSON_APPEND_BOOL(&opts, "validate", false);
    mongoc_write_concern_append(m->wc, &opts);
    bool ok = mongoc_collection_insert_many(coll, docs, j->n, &opts, reply, be);
    if (!ok && (retry || m->skip_have || m->stats.resumed)) {
        /* After a network error some documents of this batch may already be
         * stored; a duplicate key on the retry is that, not a new problem.
         * So is one in a resumed load: a document after the acknowledged
         * position that the earlier attempt stored. The final staging check
         * (count and digest) proves that nothing else was lost. */
        bson_iter_t it, e, f;
        bool only_dups = bson_iter_init_find(&it, reply, "writeErrors") &&
                         bson_iter_recurse(&it, &e);
        uint64_t n = 0;
        while (only_dups && bson_iter_next(&e)) {
            n++;
            only_dups = bson_iter_recurse(&e, &f) && bson_iter_find(&f, "code") &&
                        bson_iter_as_int64(&f) == 11000;
        }
        bson_iter_t wce;
        if (only_dups && n > 0 && !bson_iter_init_find(&wce, reply, "writeConcernErrors")) {
            ok = true;
            *absorbed = n;
        }
    }
    bson_destroy(&opts);
    free(docs);
    free(store);
    mongoc_collection_destroy(coll);
    return ok;
}

static void set_failed(mongo_sink_t *m, const sfl_error_t *e)
{
    pthread_mutex_lock(&m->lock);
    if (!m->failed) {
        m->failed = true;
        m->first_error = *e;
    }
    pthread_cond_broadcast(&m->not_full);
    pthread_cond_broadcast(&m->not_empty);
    pthread_mutex_unlock(&m->lock);
}

void *sfl_msink_inserter(void *arg)
{
    mongo_sink_t *m = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (!m->head && !m->closing && !m->failed)
            pthread_cond_wait(&m->not_empty, &m->lock);
        if (m->failed || !m->head) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        insert_job_t *j = m->head;
        m->head = j->next;
        if (!m->head)
            m->tail = NULL;
        m->queued--;
        pthread_cond_signal(&m->not_full);
        pthread_mutex_unlock(&m->lock);

        bson_error_t be;
        bool ok = false;
        sfl_error_t e;
        uint64_t absorbed = 0;
        for (int attempt = 0;; attempt++) {
            bson_t reply;
            ok = insert_once(m, c, j, attempt > 0, &absorbed, &be, &reply);
            if (!ok)
                sfl_mongo_insert_error(&e, &be, &reply, m->staging[j->collection], j->buf, j->off,
                                       j->n, j->len);
            bson_destroy(&reply);
            if (ok || !sfl_mongo_transient(&be) || attempt >= m->o.max_retries)
                break;
            int ms = 250 << attempt;
            sfl_msink_mlog_later(m, SFL_LOG_WARNING,
                                 "insert into %s failed (%s); retrying in %d ms (%d of %d)",
                                 m->staging[j->collection], be.message, ms, attempt + 1,
                                 m->o.max_retries);
            usleep((useconds_t)ms * 1000);
        }
        if (!ok) {
            if (sfl_mongo_transient(&be) && m->o.max_retries > 0) {
                size_t l = strlen(e.message);
                if (l + 40 < sizeof e.message)
                    snprintf(e.message + l, sizeof e.message - l, " (gave up after %d retries)",
                             m->o.max_retries);
            }
            set_failed(m, &e);
            sfl_msink_job_free(j);
            break;
        }
        pthread_mutex_lock(&m->lock);
        m->inserted += j->n;
        m->stats.absorbed += absorbed;
        size_t r = (size_t)(j->seq % ACK_RING);
        m->ack_done[r] = true;
        m->ack_voff[r] = j->end_voffset;
        m->ack_src[r] = j->source_index;
        m->ack_n[r] = (uint32_t)j->n;
        pthread_cond_signal(&m->not_full);
        while (m->ack_done[m->acked_through % ACK_RING]) {
            size_t a = (size_t)(m->acked_through % ACK_RING);
            m->ack_done[a] = false;
            m->have_resume = true;
            m->resume_voffset = m->ack_voff[a];
            m->resume_source = m->ack_src[a];
            m->resume_docs += m->ack_n[a];
            m->acked_through++;
        }
        pthread_mutex_unlock(&m->lock);
        sfl_msink_job_free(j);
    }
    mongoc_client_pool_push(m->pool, c);
    pthread_mutex_lock(&m->lock);
    m->running--;
    pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
    sfl_msink_unref(m);
    return NULL;
}

bool sfl_msink_enqueue(mongo_sink_t *m, insert_job_t *j, sfl_error_t *err)
{
    pthread_mutex_lock(&m->lock);
    /* Also wait while the oldest unacknowledged batch is ACK_RING batches
     * behind (one slow batch, many fast ones): the ring must not wrap. */
    while ((m->queued >= m->max_queued || m->next_seq - m->acked_through >= ACK_RING - 1) &&
           !m->failed) {
        if (sfl_msink_cancelled(m)) {
            pthread_mutex_unlock(&m->lock);
            sfl_msink_job_free(j);
            return sfl_msink_cancel_error(err, "while inserting");
        }
        sfl_msink_wait_ms(m, &m->not_full, 100);
    }
    if (m->failed) {
        sfl_error_t e = m->first_error;
        pthread_mutex_unlock(&m->lock);
        sfl_msink_job_free(j);
        if (err)
            *err = e;
        return false;
    }
    j->next = NULL;
    j->seq = m->next_seq++;
    m->have_sent = true;
    m->sent_source = j->source_index;
    m->sent_voffset = j->end_voffset;
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    m->queued++;
    pthread_cond_signal(&m->not_empty);
    pthread_mutex_unlock(&m->lock);
    return true;
}

/* Waits for every queued batch; false if an inserter failed. With
 * stop_on_cancel, a cancellation stops the wait at once; with limit_s > 0,
 * the wait gives up after that long. Inserters still blocked in the server
 * then finish on their own (they hold references). */
bool sfl_msink_drain(mongo_sink_t *m, sfl_error_t *err, bool stop_on_cancel, double limit_s)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    m->closing = true;
    pthread_cond_broadcast(&m->not_empty);
    bool stopped = false;
    while (m->running > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if ((stop_on_cancel && sfl_msink_cancelled(m)) || (limit_s > 0 && el > limit_s)) {
            stopped = true;
            m->abandoned = true;
            break;
        }
        sfl_msink_wait_ms(m, &m->idle, 100);
    }
    bool failed = m->failed;
    sfl_error_t first = m->first_error;
    pthread_mutex_unlock(&m->lock);
    if (stopped)
        return stop_on_cancel && sfl_msink_cancelled(m)
                   ? sfl_msink_cancel_error(err, "while inserting")
                   : sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_TIMEOUT,
                                   "the server does not answer");
    if (failed) {
        if (err)
            *err = first;
        return false;
    }
    return true;
}

static void *call_main(void *arg)
{
    call_t *k = arg;
    mongo_sink_t *m = k->m;
    mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
    bool ok = k->fn(k, c);
    mongoc_client_pool_push(m->pool, c);
    pthread_mutex_lock(&m->lock);
    k->ok = ok;
    k->done = true;
    bool gone = k->abandoned;
    pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
    if (gone)
        free(k);
    sfl_msink_unref(m);
    return NULL;
}

/* Runs fn on a helper thread and waits. On a cancellation (when
 * `cancellable`) or after limit_s seconds (when > 0), stops waiting and
 * returns false with SFL_E_CANCELLED or a timeout; the command is left to
 * finish in the server. *digest (if not NULL) is the call's digest: its
 * kind in, the digest out. */
bool sfl_msink_call(mongo_sink_t *m, bool (*fn)(call_t *, mongoc_client_t *), int coll,
                    sfl_digest_t *digest, bool cancellable, double limit_s, const char *what,
                    sfl_error_t *err)
{
    call_t *k = calloc(1, sizeof *k);
    if (!k)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    k->m = m;
    k->fn = fn;
    k->coll = coll;
    if (digest)
        k->digest = *digest;
    if (!sfl_msink_spawn(m, call_main, k)) {
        free(k);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    bool gave_up = false;
    while (!k->done) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if ((cancellable && sfl_msink_cancelled(m)) || (limit_s > 0 && el > limit_s)) {
            gave_up = true;
            k->abandoned = true;
            m->abandoned = true;
            break;
        }
        sfl_msink_wait_ms(m, &m->idle, 100);
    }
    pthread_mutex_unlock(&m->lock);
    if (gave_up) {
        if (cancellable && sfl_msink_cancelled(m))
            return sfl_msink_cancel_error(err, what);
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_TIMEOUT,
                             "%s: the server did not answer within %.0f s", what, limit_s);
    }
    bool ok = k->ok;
    if (!ok && err)
        *err = k->err;
    if (ok && digest)
        *digest = k->digest;
    free(k);
    return ok;
}

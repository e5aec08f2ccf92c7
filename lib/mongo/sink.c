/* mongo/sink.c: load into MongoDB through staging collections.
 *
 * The design: begin() connects, learns the server's limits and abilities
 * from hello and buildInfo, refuses a document shape the server cannot
 * store before anything is written, takes the database's load lock
 * (mongo/state.c; a heartbeat thread keeps it fresh), finishes a swap an
 * earlier load left journalled, drops leftover staging collections of
 * interrupted loads, records the load as "loading" in swefreq_meta and
 * starts K inserter threads. write() copies each pipeline batch into
 * insert batches (bounded by bytes and document count) on a bounded queue;
 * the inserters send them as unordered, acknowledged bulk inserts, each
 * thread with its own client from one pool, retrying transient network
 * errors with backoff. commit() waits for the inserters, builds the
 * browser's indexes on the staging collections, scans them to check count
 * and digest against the manifest, writes the swap journal (the verified
 * manifest and the renames, status "swapping") and only then renames each
 * staging collection over the browser's collection, points "current" at
 * the load and records it "complete". abort() drops the staging
 * collections and records "failed" (or "interrupted") with the error.
 * Nothing half-loaded is ever under the browser's names, and a swap that
 * has begun is always finished, by this load or by the next command.
 *
 * Cancellation (sfl_job_cancel) reaches the sink: every wait checks it,
 * and the long commands of the commit (index builds, the staging scan) run
 * on a helper thread, so a signal stops the load within about a second
 * even when the server does not answer. A command abandoned that way keeps
 * its thread, its client and this sink's memory until the server answers
 * (a reference count frees them then). Once the swap has begun, a signal
 * only takes effect after it.
 */
#include <mongoc/mongoc.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filled.h"
#include "grow.h"
#include "indexes.h"
#include "mongo/lifecycle_internal.h"
#include "log.h"
#include "manifest_internal.h"
#include "mongo/group.h"
#include "mongo/state.h"
#include "mongo/client.h"
#include "sink_internal.h"
#include "swefreq/swefreq.h"

typedef struct insert_job {
    struct insert_job *next;
    int collection;
    uint8_t *buf;
    size_t len, cap;
    uint32_t *off;
    size_t n, cap_n;
    int64_t end_voffset;
    uint32_t source_index;
    uint64_t seq;
} insert_job_t;

/* How long an abort waits for a server that does not answer (inserts in
 * flight, dropping the staging) before it leaves the command behind. */
#define SFL_ABANDON_SECONDS 5.0

/* Batches complete out of order; the resume point is the end of the last
 * batch before which every batch is acknowledged. A ring larger than the
 * batches that can be in flight tracks that. */
#define ACK_RING 1024

typedef struct {
    sfl_mongo_options_t o;
    sfl_sink_t *self; /* the wrapper: cancellation and the abort reason */
    int refs;         /* the sink, each helper thread (under lock)      */
    int running;      /* inserter threads still running (under lock)    */
    pthread_cond_t idle; /* running or a helper call changed            */
    /* the load lock */
    bool locked, lock_lost, hb_stop;
    pthread_cond_t hb_wake;
    bool took_over;
    sfl_lock_holder_t prev_holder;
    /* the end */
    bool committed; /* the swap was journalled: abort leaves staging alone */
    bool abandoned; /* a thread was left blocked in the server (under lock) */
    sfl_mongo_outcome_t outcome;
    char *manifest_partial;
    char *manifest_path; /* o.manifest_path, copied */
    char *uri_redacted;
    char *db;
    char load_id[48];
    mongoc_client_pool_t *pool;
    mongoc_client_t *main; /* the driving thread's client */
    mongoc_write_concern_t *wc;
    int64_t max_bson;
    bool ferretdb;
    bool used[SFL_N_COLLECTIONS];
    sfl_histograms_t histograms; /* the documents' shape, from begin */
    bool recorded; /* the load is in swefreq_meta: abort records "failed" */
    char staging[SFL_N_COLLECTIONS][128];
    char command[16];  /* "load", or "restore" (lifecycle_internal.h) */
    char *origin;      /* restore: the dump folder, for the load record */
    char release_key[65], release_sha[65]; /* restore: the signed manifest */
    /* A part of a partitioned load (o.group; mongo/group.c): no lock of its
     * own (the group holds it; the heartbeat keeps the group's fresh), the
     * group's staging, a part record, no swap. */
    bool part;
    bool hb_running; /* the heartbeat thread runs (a load's, or a part's) */
    char group[72], group_id[48];
    bson_t part_spec;

    /* the queue */
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    insert_job_t *head, *tail;
    int queued, max_queued;
    bool closing;
    bool failed;
    sfl_error_t first_error;
    insert_job_t *cur[SFL_N_COLLECTIONS];
    uint64_t inserted;
    struct timespec t0, last_meta;
    /* acknowledgement tracking (under lock) */
    uint64_t next_seq, acked_through;
    bool ack_done[ACK_RING];
    int64_t ack_voff[ACK_RING];
    uint32_t ack_src[ACK_RING];
    uint32_t ack_n[ACK_RING];
    bool have_resume;
    int64_t resume_voffset;
    uint32_t resume_source;
    uint64_t resume_docs;
    /* the last batch seen (batch_end): its offset as reported, its end */
    bool seen_any;
    uint32_t seen_source;
    int64_t seen_end, seen_pos;
    /* the end of the last batch wholly in jobs (driving thread) */
    int64_t done_voffset;
    uint32_t done_source;
    /* the end of the last batch before the batches that end where the last
     * one does (mongo_write; driving thread) */
    int64_t group_voffset;
    uint32_t group_source;
    /* the last batch handed to the inserters (under lock) */
    bool have_sent;
    int64_t sent_voffset;
    uint32_t sent_source;

    /* attempts and resuming (see "Resuming" in swefreq/mongo.h) */
    char lock_id[48];      /* this attempt's name in the lock document     */
    char resume_id[48];    /* o.resume_load_id, copied                     */
    char host[128];
    int64_t attempt_started_ms;
    bson_t prev_attempts;  /* the record's earlier attempts, as an array   */
    bool finished_before;  /* the load's journalled swap was finished at begin */
    bool taken;            /* a resume took this load over (taken_by_resume) */
    sfl_manifest_t *done_manifest; /* then: the manifest it was journalled with */
    bool skip_have;        /* an earlier attempt's acknowledged position    */
    uint32_t skip_source;
    int64_t skip_voffset;
    uint64_t skip_docs;
    bool skipping;         /* still before it                               */
    bool resent_have;      /* an earlier attempt's last recorded sent position */
    uint32_t resent_source;
    int64_t resent_voffset;
    sfl_mongo_resume_stats_t stats; /* under lock */

    /* Messages of the inserter and heartbeat threads, handed to the log
     * callback on the driving thread (job.h's promise): by the next message
     * of that thread, at each batch, and at the end of begin, commit and
     * abort. Under log_lock. */
    pthread_mutex_t log_lock;
    struct later_msg *later_head, *later_tail;
} mongo_sink_t;

typedef struct later_msg {
    struct later_msg *next;
    sfl_log_level_t level;
    char text[];
} later_msg_t;

static void *xref(mongo_sink_t *m);
static void unref(mongo_sink_t *m);

static bool cancelled(mongo_sink_t *m)
{
    return sfl_sink_cancelled_int(m->self);
}

/* Waits on cv for at most ms milliseconds (m->lock held). */
static void wait_ms(mongo_sink_t *m, pthread_cond_t *cv, long ms)
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
static bool spawn(mongo_sink_t *m, void *(*fn)(void *), void *arg)
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
        unref(m);
    return ok;
}

void sfl_mongo_options_init(sfl_mongo_options_t *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->insert_threads = 2;
    o->write_concern = "1";
    o->batch_bytes = 4u << 20;
    o->batch_docs = 2000;
    o->queue_batches = 2;
    o->max_retries = 3;
    o->lock_stale_seconds = SFL_LOCK_STALE_SECONDS;
    o->record_ms = 10000;
}

/* From the sink's own threads: queued for the driving thread. A message
 * that cannot be queued (out of memory) is dropped. */
static void mlog_later(mongo_sink_t *m, sfl_log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mlog_later(mongo_sink_t *m, sfl_log_level_t lvl, const char *fmt, ...)
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
static void deliver_later(mongo_sink_t *m)
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

/* On the driving thread: the queued messages first, then this one. */
#define mlog(m, lvl, ...)                                                                          \
    do {                                                                                           \
        deliver_later(m);                                                                          \
        sfl_logf((m)->o.log, (m)->o.log_ud, (lvl), __VA_ARGS__);                                   \
    } while (0)

static void job_free(insert_job_t *j)
{
    if (!j)
        return;
    free(j->buf);
    free(j->off);
    free(j);
}

/* ---- inserter threads ------------------------------------------------- */

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

static void *inserter(void *arg)
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
            mlog_later(m, SFL_LOG_WARNING,
                       "insert into %s failed (%s); retrying in %d ms (%d of %d)",
                 m->staging[j->collection], be.message, ms, attempt + 1, m->o.max_retries);
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
            job_free(j);
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
        job_free(j);
    }
    mongoc_client_pool_push(m->pool, c);
    pthread_mutex_lock(&m->lock);
    m->running--;
    pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
    unref(m);
    return NULL;
}

static bool cancel_error(sfl_error_t *err, const char *when)
{
    return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                         "interrupted %s; the browser's collections were not changed", when);
}

static bool enqueue(mongo_sink_t *m, insert_job_t *j, sfl_error_t *err)
{
    pthread_mutex_lock(&m->lock);
    /* Also wait while the oldest unacknowledged batch is ACK_RING batches
     * behind (one slow batch, many fast ones): the ring must not wrap. */
    while ((m->queued >= m->max_queued || m->next_seq - m->acked_through >= ACK_RING - 1) &&
           !m->failed) {
        if (cancelled(m)) {
            pthread_mutex_unlock(&m->lock);
            job_free(j);
            return cancel_error(err, "while inserting");
        }
        wait_ms(m, &m->not_full, 100);
    }
    if (m->failed) {
        sfl_error_t e = m->first_error;
        pthread_mutex_unlock(&m->lock);
        job_free(j);
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
static bool drain(mongo_sink_t *m, sfl_error_t *err, bool stop_on_cancel, double limit_s)
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
        if ((stop_on_cancel && cancelled(m)) || (limit_s > 0 && el > limit_s)) {
            stopped = true;
            m->abandoned = true;
            break;
        }
        wait_ms(m, &m->idle, 100);
    }
    bool failed = m->failed;
    sfl_error_t first = m->first_error;
    pthread_mutex_unlock(&m->lock);
    if (stopped)
        return stop_on_cancel && cancelled(m) ? cancel_error(err, "while inserting")
                                              : sfl_error_set(err, SFL_DOMAIN_SERVER,
                                                              SFL_E_SERVER_TIMEOUT,
                                                              "the server does not answer");
    if (failed) {
        if (err)
            *err = first;
        return false;
    }
    return true;
}

/* ---- commands that a signal may abandon --------------------------------- */

/* One server command of the commit, run on a helper thread so that the
 * driving thread can stop waiting for it. Everything the command needs is
 * in the call, which the helper frees if the waiter has gone. */
typedef struct call {
    mongo_sink_t *m;
    bool (*fn)(struct call *k, mongoc_client_t *c);
    int coll;
    sfl_digest_t digest;
    bool done, ok, abandoned;
    sfl_error_t err;
} call_t;

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
    unref(m);
    return NULL;
}

/* Runs fn on a helper thread and waits. On a cancellation (when
 * `cancellable`) or after limit_s seconds (when > 0), stops waiting and
 * returns false with SFL_E_CANCELLED or a timeout; the command is left to
 * finish in the server. *digest (if not NULL) is the call's digest: its
 * kind in, the digest out. */
static bool call(mongo_sink_t *m, bool (*fn)(call_t *, mongoc_client_t *), int coll,
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
    if (!spawn(m, call_main, k)) {
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
        if ((cancellable && cancelled(m)) || (limit_s > 0 && el > limit_s)) {
            gave_up = true;
            k->abandoned = true;
            m->abandoned = true;
            break;
        }
        wait_ms(m, &m->idle, 100);
    }
    pthread_mutex_unlock(&m->lock);
    if (gave_up) {
        if (cancellable && cancelled(m))
            return cancel_error(err, what);
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

/* ---- begin ------------------------------------------------------------ */

/* The record's attempts: the earlier ones as read at begin, then this one
 * with its status and figures. */
static void append_attempts(mongo_sink_t *m, bson_t *set, const char *status)
{
    bson_t arr, a, r;
    bson_iter_t it;
    uint32_t i = 0;
    char key[16];
    BSON_APPEND_ARRAY_BEGIN(set, "attempts", &arr);
    if (bson_iter_init(&it, &m->prev_attempts))
        while (bson_iter_next(&it)) {
            snprintf(key, sizeof key, "%u", i++);
            bson_append_iter(&arr, key, -1, &it);
        }
    snprintf(key, sizeof key, "%u", i);
    pthread_mutex_lock(&m->lock);
    sfl_mongo_resume_stats_t st = m->stats;
    pthread_mutex_unlock(&m->lock);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &a);
    BSON_APPEND_INT32(&a, "attempt", st.attempt);
    BSON_APPEND_UTF8(&a, "lock_id", m->lock_id);
    BSON_APPEND_UTF8(&a, "host", m->host);
    BSON_APPEND_INT64(&a, "pid", (int64_t)getpid());
    BSON_APPEND_DATE_TIME(&a, "started", m->attempt_started_ms);
    BSON_APPEND_UTF8(&a, "status", status);
    if (strcmp(status, "loading") != 0 && strcmp(status, "swapping") != 0)
        BSON_APPEND_DATE_TIME(&a, "finished", sfl_now_ms());
    if (m->skip_have) {
        BSON_APPEND_DOCUMENT_BEGIN(&a, "resumed_after", &r);
        BSON_APPEND_INT32(&r, "source_index", (int32_t)m->skip_source);
        BSON_APPEND_INT64(&r, "voffset", m->skip_voffset);
        BSON_APPEND_INT64(&r, "documents", (int64_t)m->skip_docs);
        bson_append_document_end(&a, &r);
    }
    BSON_APPEND_INT64(&a, "skipped", (int64_t)st.skipped);
    BSON_APPEND_INT64(&a, "sent", (int64_t)st.sent);
    BSON_APPEND_INT64(&a, "resent", (int64_t)st.resent);
    BSON_APPEND_INT64(&a, "duplicates_absorbed", (int64_t)st.absorbed);
    bson_append_document_end(&arr, &a);
    bson_append_array_end(set, &arr);
}

/* After this load lost its lock: whether a resume of it took over its
 * record and staging (the record's last attempt is another's). Such a
 * load then leaves both alone; one that lost its lock to a new load still
 * drops its own staging and records its end. */
static bool taken_by_resume(mongo_sink_t *m)
{
    pthread_mutex_lock(&m->lock);
    bool lost = m->lock_lost;
    pthread_mutex_unlock(&m->lock);
    if (!lost || m->taken)
        return m->taken;
    mongoc_collection_t *c = mongoc_client_get_collection(m->main, m->db, SFL_META_COLLECTION);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", m->load_id);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &filter, &opts, NULL);
    const bson_t *doc;
    bson_iter_t it, arr, last;
    if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "attempts") &&
        BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)) {
        bool any = false;
        while (bson_iter_next(&arr)) {
            last = arr;
            any = true;
        }
        bson_iter_t f;
        if (any && BSON_ITER_HOLDS_DOCUMENT(&last) && bson_iter_recurse(&last, &f) &&
            bson_iter_find(&f, "lock_id") && BSON_ITER_HOLDS_UTF8(&f) &&
            strcmp(bson_iter_utf8(&f, NULL), m->lock_id) != 0)
            m->taken = true;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return m->taken;
}

/* The load record. `extra` (may be NULL) is merged into $set. */
static bool meta_update(mongo_sink_t *m, const char *status, const sfl_manifest_t *man,
                        const sfl_error_t *error, const bson_t *extra, sfl_error_t *err)
{
    if (taken_by_resume(m)) /* the record is a resume's now: leave it to the holder */
        return true;
    mongoc_collection_t *c = mongoc_client_get_collection(m->main, m->db, SFL_META_COLLECTION);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&sel, "_id", m->load_id);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", status);
    BSON_APPEND_UTF8(&set, "tool", "swefreq-load");
    BSON_APPEND_UTF8(&set, "version", sfl_version());
    /* "started" is the first attempt's; each attempt has its own below. */
    if (!strcmp(status, "loading") && !m->recorded && !m->stats.resumed)
        BSON_APPEND_DATE_TIME(&set, "started", m->attempt_started_ms);
    BSON_APPEND_DATE_TIME(&set, "updated", sfl_now_ms());
    append_attempts(m, &set, status);
    if (strcmp(status, "loading") != 0 && strcmp(status, "swapping") != 0)
        BSON_APPEND_DATE_TIME(&set, "finished", sfl_now_ms());
    if (man)
        BSON_APPEND_DOCUMENT(&set, "manifest", sfl_manifest_bson(man));
    if (error) {
        /* The real error; messages never carry credentials. */
        bson_t e;
        BSON_APPEND_DOCUMENT_BEGIN(&set, "error", &e);
        BSON_APPEND_INT32(&e, "domain", (int32_t)error->domain);
        BSON_APPEND_INT32(&e, "code", (int32_t)error->code);
        BSON_APPEND_UTF8(&e, "name", sfl_error_code_name(error->code));
        BSON_APPEND_UTF8(&e, "message", error->message);
        bson_append_document_end(&set, &e);
    }
    if (extra) {
        bson_iter_t it;
        if (bson_iter_init(&it, extra))
            while (bson_iter_next(&it))
                bson_append_iter(&set, NULL, 0, &it);
    }
    pthread_mutex_lock(&m->lock);
    bool have = m->have_resume;
    int64_t voff = m->resume_voffset;
    uint32_t src = m->resume_source;
    uint64_t ndocs = m->resume_docs;
    bool have_sent = m->have_sent;
    int64_t sent_voff = m->sent_voffset;
    uint32_t sent_src = m->sent_source;
    pthread_mutex_unlock(&m->lock);
    if (have_sent) {
        /* The last batch handed to the inserters: a resume counts what it
         * sends again up to here as "re-sent". */
        bson_t snt;
        BSON_APPEND_DOCUMENT_BEGIN(&set, "sent", &snt);
        BSON_APPEND_INT32(&snt, "source_index", (int32_t)sent_src);
        BSON_APPEND_INT64(&snt, "voffset", sent_voff);
        bson_append_document_end(&set, &snt);
    }
    if (have) {
        /* Every document before this BGZF virtual offset of this source
         * (and of all earlier sources) is acknowledged in staging. */
        bson_t res;
        BSON_APPEND_DOCUMENT_BEGIN(&set, "acknowledged", &res);
        BSON_APPEND_INT32(&res, "source_index", (int32_t)src);
        BSON_APPEND_INT64(&res, "voffset", voff);
        BSON_APPEND_INT64(&res, "documents", (int64_t)ndocs);
        bson_append_document_end(&set, &res);
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    BSON_APPEND_DOUBLE(&set, "seconds",
                       (double)(now.tv_sec - m->t0.tv_sec) +
                           (double)(now.tv_nsec - m->t0.tv_nsec) / 1e9);
    bson_append_document_end(&upd, &set);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "upsert", true);
    mongoc_write_concern_append(m->wc, &opts);
    bson_error_t be;
    bool ok = mongoc_collection_update_one(c, &sel, &upd, &opts, NULL, &be);
    bson_destroy(&sel);
    bson_destroy(&upd);
    bson_destroy(&opts);
    mongoc_collection_destroy(c);
    return ok || sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
}

/* A document of this shape refused by the server is refused here, before
 * anything is written. */
static bool check_shape(mongo_sink_t *m, sfl_error_t *err)
{
    if (m->ferretdb && m->histograms == SFL_HIST_PAIRS && m->used[SFL_COLL_VARIANTS])
        return sfl_error_set(
            err, SFL_DOMAIN_SERVER, SFL_E_SERVER_CAPABILITY,
            "the server (FerretDB) cannot store arrays of arrays, which histograms as pairs "
            "(genotype_depths, genotype_qualities) need; choose histograms as columns or none "
            "(sfl_options_t.histograms). Nothing was written.");
    return true;
}

/* Refreshes the lock every SFL_LOCK_HEARTBEAT_SECONDS until told to stop;
 * notes when the lock is no longer ours. */
static void *heartbeat_main(void *arg)
{
    mongo_sink_t *m = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
    pthread_mutex_lock(&m->lock);
    while (!m->hb_stop) {
        wait_ms(m, &m->hb_wake, SFL_LOCK_HEARTBEAT_SECONDS * 1000L);
        if (m->hb_stop)
            break;
        pthread_mutex_unlock(&m->lock);
        int rc = sfl_lock_heartbeat(c, m->db, m->part ? m->group_id : m->lock_id);
        pthread_mutex_lock(&m->lock);
        if (rc == 0 && !m->hb_stop && !m->lock_lost) {
            m->lock_lost = true;
            mlog_later(m, SFL_LOG_WARNING, "the lock of %s is no longer held by this load (%s): "
                                     "another load took it over; this load will not swap",
                 m->db, m->load_id);
        }
    }
    pthread_mutex_unlock(&m->lock);
    mongoc_client_pool_push(m->pool, c);
    unref(m);
    return NULL;
}

/* Stops the heartbeat and deletes the lock if it is still ours. */
static void unlock_db(mongo_sink_t *m)
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

static bool lock_db(mongo_sink_t *m, sfl_error_t *err)
{
    sfl_lock_request_t rq = {m->lock_id, m->command, m->o.lock_stale_seconds, m->o.break_lock,
                             m->o.log, m->o.log_ud};
    if (!sfl_lock_acquire(m->main, m->db, &rq, &m->took_over, &m->prev_holder, err))
        return false;
    m->locked = true;
    m->hb_running = true;
    if (!spawn(m, heartbeat_main, m)) {
        unlock_db(m);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
    }
    return true;
}

/* The lock taken over, for the load record. */
static void append_lock_info(mongo_sink_t *m, bson_t *extra)
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

/* ---- resuming ----------------------------------------------------------- */

static bool iter_doc(const bson_t *d, const char *key, bson_t *out)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, d, key) ||
        !(BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(&it))
        bson_iter_document(&it, &len, &data);
    else
        bson_iter_array(&it, &len, &data);
    return bson_init_static(out, data, len);
}

static int64_t int_field(const bson_t *d, const char *key, int64_t dflt)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, key))
        return dflt;
    if (BSON_ITER_HOLDS_DATE_TIME(&it))
        return bson_iter_date_time(&it);
    return BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : dflt;
}

/* Appends `what` to the list of differences in buf. */
static void note(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t n, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l + 4 >= n)
        return;
    if (l) {
        snprintf(buf + l, n - l, "; ");
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, n - l, fmt, ap);
    va_end(ap);
}

/* The run's sources and document-shaping options against the load's
 * record: the same files (by SHA-256), in the same order, and the same
 * options; otherwise refused, naming each difference. A load begun by a
 * version that wrote format 1 (sources by XXH3-128) is not resumed. */
static bool check_plan(mongo_sink_t *m, const bson_t *rec, sfl_error_t *err)
{
    static const char *const shaping[] = {"style",     "histograms",   "coverage_step",
                                          "csq_field", "csq_format",   "vep_features",
                                          "genome"};
    const sfl_manifest_t *now = sfl_sink_plan_int(m->self);
    if (!now)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "a resumed load needs a job's sources (sfl_job_run)");
    sfl_manifest_t *was = sfl_resume_plan_of(rec, m->db, err);
    if (!was)
        return false;
    char diff[700] = "";
    size_t nw = sfl_manifest_n_sources(was), nn = sfl_manifest_n_sources(now);
    if (sfl_manifest_format_version(was) != sfl_manifest_format_version(now))
        note(diff, sizeof diff,
             "it was begun by a version that writes manifest format %d, this one writes %d",
             sfl_manifest_format_version(was), sfl_manifest_format_version(now));
    else if (nw != nn)
        note(diff, sizeof diff, "it read %zu source file(s), this run gives %zu", nw, nn);
    bool same_format = sfl_manifest_format_version(was) == sfl_manifest_format_version(now);
    for (size_t i = 0; same_format && i < nw && i < nn; i++) {
        const sfl_manifest_source_t *a = sfl_manifest_source(was, i), *b = sfl_manifest_source(now, i);
        if (strcmp(a->kind, b->kind) != 0)
            note(diff, sizeof diff, "source %zu was a %s file (%s), now a %s file (%s)", i + 1,
                 a->kind, a->path, b->kind, b->path);
        else if (strcmp(a->sha256, b->sha256) != 0 || a->size != b->size)
            note(diff, sizeof diff,
                 "source %zu (%s) changed since the load began: SHA-256 %.16s..., %llu bytes "
                 "then; %.16s..., %llu bytes now",
                 i + 1, b->path, a->sha256, (unsigned long long)a->size, b->sha256,
                 (unsigned long long)b->size);
    }
    for (size_t i = 0; i < sizeof shaping / sizeof *shaping; i++) {
        const char *a = sfl_manifest_option(was, shaping[i]);
        const char *b = sfl_manifest_option(now, shaping[i]);
        if ((a || b) && (!a || !b || strcmp(a, b) != 0))
            note(diff, sizeof diff, "option %s was %s, now %s", shaping[i], a ? a : "(unset)",
                 b ? b : "(unset)");
    }
    char *rw = sfl_manifest_regions_text(was), *rn = sfl_manifest_regions_text(now);
    if (!rw || !rn)
        note(diff, sizeof diff, "(out of memory comparing the regions)");
    else if (strcmp(rw, rn) != 0)
        note(diff, sizeof diff, "the regions were [%.150s%s] (%zu), now [%.150s%s] (%zu)",
             rw[0] ? rw : "whole files", strlen(rw) > 150 ? "..." : "",
             sfl_manifest_n_regions(was), rn[0] ? rn : "whole files",
             strlen(rn) > 150 ? "..." : "", sfl_manifest_n_regions(now));
    free(rw);
    free(rn);
    sfl_manifest_destroy(was);
    if (diff[0])
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "%s: load %s cannot be resumed: %s. Nothing was written; load "
                             "again without resuming (sfl_mongo_options_t.resume) to start afresh.",
                             m->db, m->load_id, diff);
    return true;
}

/* The earlier attempts of the record; one still "loading" or "swapping"
 * never recorded its end (killed, or its server or network lost): it is
 * kept as "lost", with the last time its record was updated. */
static void take_attempts(mongo_sink_t *m, const bson_t *rec)
{
    bson_t arr, one;
    bson_iter_t it, f;
    uint32_t i = 0;
    int64_t updated = int_field(rec, "updated", 0);
    if (!iter_doc(rec, "attempts", &arr) || !bson_iter_init(&it, &arr))
        return;
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&one, data, len))
            continue;
        char key[16];
        snprintf(key, sizeof key, "%u", i++);
        bson_t out;
        BSON_APPEND_DOCUMENT_BEGIN(&m->prev_attempts, key, &out);
        bool open_ended = false;
        if (bson_iter_init(&f, &one))
            while (bson_iter_next(&f)) {
                if (!strcmp(bson_iter_key(&f), "status") && BSON_ITER_HOLDS_UTF8(&f) &&
                    (!strcmp(bson_iter_utf8(&f, NULL), "loading") ||
                     !strcmp(bson_iter_utf8(&f, NULL), "swapping"))) {
                    open_ended = true;
                    continue;
                }
                bson_append_iter(&out, NULL, 0, &f);
            }
        if (open_ended) {
            BSON_APPEND_UTF8(&out, "status", "lost");
            if (updated)
                BSON_APPEND_DATE_TIME(&out, "last_recorded", updated);
        }
        bson_append_document_end(&m->prev_attempts, &out);
    }
    m->stats.attempt = (int)i;
}

/* The journal's manifest of a load whose swap the recovery finished. */
static sfl_manifest_t *journal_manifest(const bson_t *rec, sfl_error_t *err)
{
    bson_t man;
    if (iter_doc(rec, "manifest", &man))
        return sfl_manifest_from_bson(&man, err);
    sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "the swap journal has no manifest");
    return NULL;
}

/* With the lock held: finds the load to continue, checks its plan, takes
 * its attempts, finishes its swap if journalled (then nothing is left to
 * send), otherwise settles the database keeping its staging, and reads
 * the acknowledged position when all of its staging is still there. */
static bool begin_resume_rec(mongo_sink_t *m, bson_t *rec_in, sfl_error_t *err);

static bool begin_resume(mongo_sink_t *m, sfl_error_t *err)
{
    bson_t rec;
    if (sfl_resume_target(m->main, m->db, m->resume_id[0] ? m->resume_id : NULL, &rec, err) != 1)
        return false;
    return begin_resume_rec(m, &rec, err);
}

/* The staging collection of collection c: the load's, or a part's group's. */
static void staging_name(const mongo_sink_t *m, int c, char *out, size_t n)
{
    snprintf(out, n, "%s%s_%s", SFL_STAGING_PREFIX, m->part ? m->group_id : m->load_id,
             sfl_collection_name((sfl_collection_t)c));
}

/* begin_resume with the record found (taken and destroyed). A part keeps
 * the database as it is: the other parts' staging is the group's. */
static bool begin_resume_rec(mongo_sink_t *m, bson_t *rec, sfl_error_t *err)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, rec, "_id") && BSON_ITER_HOLDS_UTF8(&it))
        snprintf(m->load_id, sizeof m->load_id, "%s", bson_iter_utf8(&it, NULL));
    char status[32] = "";
    if (bson_iter_init_find(&it, rec, "status") && BSON_ITER_HOLDS_UTF8(&it))
        snprintf(status, sizeof status, "%s", bson_iter_utf8(&it, NULL));
    bool ok = check_plan(m, rec, err);
    if (ok) {
        snprintf(m->stats.load_id, sizeof m->stats.load_id, "%s", m->load_id);
        m->stats.resumed = true;
        take_attempts(m, rec);
    }
    if (ok && !strcmp(status, "swapping")) {
        /* Roll forward, as any command that takes the lock does. */
        sfl_mongo_recovery_t rr;
        ok = (m->done_manifest = journal_manifest(rec, err)) != NULL &&
             sfl_state_recover_keep(m->main, m->db, m->ferretdb, NULL, m->o.log, m->o.log_ud,
                                    &rr, err);
        if (ok) {
            m->finished_before = true;
            m->stats.swap_finished = true;
            m->outcome = SFL_MONGO_SWAPPED;
            sfl_error_t ignore; /* this attempt, for the record */
            meta_update(m, "complete", NULL, NULL, NULL, &ignore);
            mlog(m, SFL_LOG_WARNING,
                 "load %s was interrupted during its swap; the swap was finished (renamed: %s) "
                 "and the load is complete. The files are read once more to check that they "
                 "give the digests it was swapped in with.",
                 m->load_id, rr.renamed[0] ? rr.renamed : "nothing left");
        }
        bson_destroy(rec);
        return ok;
    }
    sfl_mongo_recovery_t rr;
    ok = ok && (m->part || sfl_state_recover_keep(m->main, m->db, m->ferretdb, m->load_id,
                                                  m->o.log, m->o.log_ud, &rr, err));
    bool all = ok;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        char name[128];
        staging_name(m, c, name, sizeof name);
        int has = sfl_mongo_has_collection(m->main, m->db, name, err);
        if (has < 0)
            ok = false;
        else if (!has)
            all = false;
    }
    bson_t ack, snt;
    if (ok && all && iter_doc(rec, "acknowledged", &ack)) {
        m->skip_have = m->skipping = true;
        m->skip_source = (uint32_t)int_field(&ack, "source_index", 0);
        m->skip_voffset = int_field(&ack, "voffset", 0);
        m->skip_docs = (uint64_t)int_field(&ack, "documents", 0);
        m->have_resume = true;
        m->resume_source = m->done_source = m->group_source = m->skip_source;
        m->resume_voffset = m->done_voffset = m->group_voffset = m->skip_voffset;
        m->resume_docs = m->skip_docs;
        mlog(m, SFL_LOG_INFO,
             "resuming load %s (attempt %d): documents up to source %u, BGZF offset %lld "
             "(%llu documents) are acknowledged in staging and are not sent again",
             m->load_id, m->stats.attempt, m->skip_source + 1, (long long)m->skip_voffset,
             (unsigned long long)m->skip_docs);
    } else if (ok) {
        /* Nothing to skip; forget the old position in the record. */
        m->have_resume = true;
        mlog(m, all ? SFL_LOG_INFO : SFL_LOG_WARNING,
             "resuming load %s (attempt %d): %s; every document is sent (those already in "
             "staging are absorbed as duplicates)",
             m->load_id, m->stats.attempt,
             all ? "no acknowledged position was recorded"
                 : "its staging collections are gone (dropped by another load or `recover`)");
    }
    if (ok && all && iter_doc(rec, "sent", &snt)) {
        m->resent_have = true;
        m->resent_source = (uint32_t)int_field(&snt, "source_index", 0);
        m->resent_voffset = int_field(&snt, "voffset", 0);
    }
    bson_destroy(rec);
    return ok;
}

/* A new load: the database is settled (staging of interrupted loads
 * dropped, which a resume would have continued: say so). */
static bool begin_new(mongo_sink_t *m, sfl_error_t *err)
{
    sfl_mongo_recovery_t rec;
    if (!sfl_state_recover(m->main, m->db, m->ferretdb, m->o.log, m->o.log_ud, &rec, err))
        return false;
    if (rec.staging_dropped || rec.interrupted)
        mlog(m, SFL_LOG_WARNING,
             "this new load replaces %u interrupted load(s) of %s (marked \"interrupted\", "
             "%u staging collection(s) dropped); to continue an interrupted load instead, "
             "resume it (sfl_mongo_options_t.resume)",
             rec.interrupted ? rec.interrupted : 1, m->db, rec.staging_dropped);
    return true;
}

/* A part of a partitioned load: the group must hold the lock and have
 * this run's plan (mongo/group.c); the part is new, or continued from its
 * record. The heartbeat keeps the group's lock fresh while it runs. */
static bool part_begin(mongo_sink_t *m, sfl_error_t *err)
{
    const sfl_manifest_t *plan = sfl_sink_plan_int(m->self);
    if (!plan)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "a part of a group needs a job's sources (sfl_job_run)");
    sfl_part_entry_t e;
    if (!sfl_group_part_enter(m->main, m->db, m->group, m->o.part,
                              m->group_id[0] ? m->group_id : NULL, plan, m->o.lock_stale_seconds,
                              &e, err))
        return false;
    snprintf(m->group_id, sizeof m->group_id, "%s", e.group_id);
    snprintf(m->load_id, sizeof m->load_id, "%s", e.part_id);
    snprintf(m->stats.load_id, sizeof m->stats.load_id, "%s", e.part_id);
    bson_destroy(&m->part_spec);
    bson_copy_to(&e.spec, &m->part_spec);
    bson_destroy(&e.spec);
    m->hb_running = true;
    if (!spawn(m, heartbeat_main, m)) {
        m->hb_running = false;
        bson_destroy(&e.record);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
    }
    m->o.resume = e.resume; /* an earlier attempt's record: continue it */
    if (e.resume)
        return begin_resume_rec(m, &e.record, err);
    bson_destroy(&e.record);
    return true;
}

/* The part's fields of its record. */
static void append_part_info(mongo_sink_t *m, bson_t *extra)
{
    if (!m->part)
        return;
    BSON_APPEND_UTF8(extra, "kind", "part");
    BSON_APPEND_UTF8(extra, "group", m->group);
    BSON_APPEND_UTF8(extra, "group_id", m->group_id);
    BSON_APPEND_INT32(extra, "part", m->o.part);
    BSON_APPEND_DOCUMENT(extra, "part_spec", &m->part_spec);
}

static bool begin_body(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    const bool *used = run->collections;
    memcpy(m->used, used, sizeof m->used);
    m->histograms = run->histograms;
    clock_gettime(CLOCK_MONOTONIC, &m->t0);
    /* The role first (lifecycle.c): another role, or a sealed database,
     * is refused before anything is read or written; once the lock is
     * held, the seal is checked again and a new database gets its role. */
    if (!sfl_role_gate(m->main, m->db, (sfl_role_t)m->o.expect_role, true, m->command, NULL,
                       err))
        return false;
    if (m->part ? !check_shape(m, err) || !part_begin(m, err)
                : !check_shape(m, err) || !lock_db(m, err))
        return false;
    /* (a part: the group's plan took the role and settled the database) */
    if (!m->part &&
        (!sfl_role_gate(m->main, m->db, (sfl_role_t)m->o.expect_role, true, m->command, NULL,
                        err) ||
         !sfl_role_ensure(m->main, m->db, (sfl_role_t)m->o.role, (sfl_role_t)m->o.expect_role,
                          m->command, err))) {
        unlock_db(m);
        return false;
    }
    /* We hold the lock: a journalled swap is finished first, then whatever
     * staging is left belongs to loads that are gone (except a resumed
     * load's own). */
    if (!m->part && !(m->o.resume ? begin_resume(m, err) : begin_new(m, err)))
        return false;
    if (m->finished_before)
        return true; /* nothing to send: the commit only compares digests */
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!used[c])
            continue;
        staging_name(m, c, m->staging[c], sizeof m->staging[c]);
        if (m->o.resume || m->part) { /* a group's plan made its staging */
            int has = sfl_mongo_has_collection(m->main, m->db, m->staging[c], err);
            if (has < 0)
                return false;
            if (has)
                continue;
        }
        /* Create it now, so that an empty collection is still swapped in. */
        mongoc_database_t *d = mongoc_client_get_database(m->main, m->db);
        bson_error_t be;
        mongoc_collection_t *coll = mongoc_database_create_collection(d, m->staging[c], NULL, &be);
        mongoc_database_destroy(d);
        if (!coll)
            return sfl_mongo_error(err, &be, NULL, m->staging[c]);
        mongoc_collection_destroy(coll);
    }
    bson_t extra = BSON_INITIALIZER;
    append_lock_info(m, &extra);
    append_part_info(m, &extra);
    const sfl_manifest_t *plan = sfl_sink_plan_int(m->self);
    if (plan && !m->o.resume) /* a resume keeps the plan it was checked against */
        BSON_APPEND_DOCUMENT(&extra, "plan", sfl_manifest_bson(plan));
    BSON_APPEND_UTF8(&extra, "command", m->command);
    if (m->origin)
        BSON_APPEND_UTF8(&extra, "dump", m->origin);
    if (m->release_sha[0]) {
        bson_t rel;
        BSON_APPEND_DOCUMENT_BEGIN(&extra, "release", &rel);
        if (m->release_key[0])
            BSON_APPEND_UTF8(&rel, "signer_key_id", m->release_key);
        else
            BSON_APPEND_NULL(&rel, "signer_key_id");
        BSON_APPEND_UTF8(&rel, "manifest_sha256", m->release_sha);
        bson_append_document_end(&extra, &rel);
    }
    bool ok = meta_update(m, "loading", NULL, NULL, &extra, err);
    bson_destroy(&extra);
    if (!ok)
        return false;
    m->recorded = true;
    m->max_queued = m->o.insert_threads * m->o.queue_batches;
    m->last_meta = m->t0;
    for (int i = 0; i < m->o.insert_threads; i++) {
        pthread_mutex_lock(&m->lock);
        m->running++;
        pthread_mutex_unlock(&m->lock);
        if (!spawn(m, inserter, m)) {
            pthread_mutex_lock(&m->lock);
            m->running--;
            pthread_mutex_unlock(&m->lock);
            drain(m, NULL, false, 0);
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                                 "could not start inserter threads");
        }
    }
    return true;
}

/* ---- write ------------------------------------------------------------ */

static bool flush_cur(mongo_sink_t *m, int c, sfl_error_t *err)
{
    insert_job_t *j = m->cur[c];
    m->cur[c] = NULL;
    return !j || enqueue(m, j, err);
}

/* Records the acknowledged position now and then (a later resume starts
 * there). */
static void record_progress(mongo_sink_t *m)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - m->last_meta.tv_sec) * 1000 +
            (now.tv_nsec - m->last_meta.tv_nsec) / 1000000 >= m->o.record_ms) {
        m->last_meta = now;
        sfl_error_t ignore;
        meta_update(m, "loading", NULL, NULL, NULL, &ignore);
    }
}

/* The end of a batch as a position in its source. BGZF virtual offsets
 * grow through a source, but htslib's multi-threaded reader reports 0 (or
 * a smaller value) after the last block: a batch whose end does not grow
 * is the source's last, and ends after everything (INT64_MAX). A batch
 * reporting the offset the one before reported (the collections of one
 * GTF chunk, the metrics batch after the last source) ends where it did. */
static int64_t batch_end(mongo_sink_t *m, const sfl_batch_t *b)
{
    bool same = m->seen_any && b->source_index == m->seen_source;
    int64_t end = b->end_voffset;
    if (same && end == m->seen_end)
        end = m->seen_pos;
    else if (end <= 0 || (same && end < m->seen_end))
        end = INT64_MAX;
    m->seen_any = true;
    m->seen_source = b->source_index;
    m->seen_end = b->end_voffset;
    m->seen_pos = end;
    return end;
}

/* Where the acknowledged position may move once this batch is wholly
 * acknowledged (and all before it), and where it may move before that.
 * Usually the batch's end, and the end of the batch before. But a batch
 * that ends where the batch before ended (the metrics batch, written after
 * the last source; the collections of one GTF chunk; htslib's offset 0 at
 * the end of a source) cannot be told apart from it by any position: once
 * the position reached that end, a resume would skip this batch too, whole,
 * even with none of it in staging. So until the last batch of such a run
 * is wholly in jobs, the position stays where it was before the first:
 * the job still being filled that carries the run's end (m->cur) is set
 * back to it, and so are this batch's jobs flushed before its end (they
 * carry m->done). Nothing was queued with that end yet: a job leaves
 * m->cur with its batch's end only when the next batch begins (below). */
static void hold_position(mongo_sink_t *m, const sfl_batch_t *b, int64_t end, uint32_t *pos_source,
                          int64_t *pos_voffset)
{
    if (b->source_index > m->done_source ||
        (b->source_index == m->done_source && end > m->done_voffset)) {
        m->group_source = m->done_source; /* a new run begins after the last batch */
        m->group_voffset = m->done_voffset;
        *pos_source = b->source_index;
        *pos_voffset = end;
        return;
    }
    *pos_source = m->done_source; /* the run's end, never before it */
    *pos_voffset = m->done_voffset;
    for (int oc = 0; oc < SFL_N_COLLECTIONS; oc++) {
        insert_job_t *o = m->cur[oc];
        if (o && o->source_index == m->done_source && o->end_voffset == m->done_voffset) {
            o->source_index = m->group_source;
            o->end_voffset = m->group_voffset;
        }
    }
    m->done_source = m->group_source;
    m->done_voffset = m->group_voffset;
}

/* A resumed load: true for a batch that ends at or before the earlier
 * attempt's acknowledged position (all of it is in staging, acknowledged).
 * A batch that ends after it is sent whole. */
static bool acknowledged_before(mongo_sink_t *m, const sfl_batch_t *b, int64_t end)
{
    if (m->finished_before)
        return true;
    if (!m->skipping)
        return false;
    if (b->source_index < m->skip_source ||
        (b->source_index == m->skip_source && end <= m->skip_voffset))
        return true;
    m->skipping = false;
    mlog(m, SFL_LOG_INFO,
         "reached the acknowledged position of load %s at %s line %llu: %llu documents "
         "skipped; sending from here",
         m->load_id, b->source_path, (unsigned long long)b->first_line,
         (unsigned long long)m->stats.skipped);
    return false;
}

/* Sent again: the batch ends at or before the last position the earlier
 * attempt recorded as handed to its inserters. */
static bool sent_before(const mongo_sink_t *m, const sfl_batch_t *b, int64_t end)
{
    return m->resent_have &&
           (b->source_index < m->resent_source ||
            (b->source_index == m->resent_source && end <= m->resent_voffset));
}

static bool mongo_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    deliver_later(m);
    int c = (int)b->collection;
    int64_t end = batch_end(m, b);
    if (acknowledged_before(m, b, end)) {
        pthread_mutex_lock(&m->lock);
        m->stats.skipped += b->n_docs;
        pthread_mutex_unlock(&m->lock);
        if (!m->finished_before)
            record_progress(m);
        return true;
    }
    pthread_mutex_lock(&m->lock);
    m->stats.sent += b->n_docs;
    if (sent_before(m, b, end))
        m->stats.resent += b->n_docs;
    pthread_mutex_unlock(&m->lock);
    /* An insert batch holds documents of one source and collection, and
     * batches are queued in input order: so the acknowledged position (the
     * end of the last batch before which all are acknowledged) is exact. */
    uint32_t pos_source;
    int64_t pos_voffset;
    hold_position(m, b, end, &pos_source, &pos_voffset);
    for (int oc = 0; oc < SFL_N_COLLECTIONS; oc++) {
        insert_job_t *o = m->cur[oc];
        if (o && (oc != c || o->source_index != b->source_index) && !flush_cur(m, oc, err))
            return false;
    }
    for (size_t i = 0; i < b->n_docs; i++) {
        const sfl_doc_t *d = &b->docs[i];
        if ((int64_t)d->len > m->max_bson) {
            char id[128] = "?";
            bson_t doc;
            bson_iter_t it;
            if (bson_init_static(&doc, d->data, d->len) && bson_iter_init_find(&it, &doc, "_id")) {
                if (BSON_ITER_HOLDS_UTF8(&it))
                    snprintf(id, sizeof id, "%s", bson_iter_utf8(&it, NULL));
                else
                    snprintf(id, sizeof id, "%lld", (long long)bson_iter_as_int64(&it));
            }
            return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_WRITE,
                                 "%s: lines %llu-%llu: the document for %s is %u bytes, larger "
                                 "than the server's maximum of %lld bytes",
                                 b->source_path, (unsigned long long)b->first_line,
                                 (unsigned long long)b->last_line, id, d->len,
                                 (long long)m->max_bson);
        }
        insert_job_t *j = m->cur[c];
        if (j && (j->n >= m->o.batch_docs || j->len + d->len > m->o.batch_bytes)) {
            if (!flush_cur(m, c, err))
                return false;
            j = NULL;
        }
        if (!j) {
            j = calloc(1, sizeof *j);
            if (!j)
                return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            j->collection = c;
            j->end_voffset = m->done_voffset; /* until the batch is complete */
            j->source_index = m->done_source;
            m->cur[c] = j;
        }
        if (!SFL_GROW(j->buf, &j->cap, j->len + d->len, 1 << 16) ||
            !SFL_GROW(j->off, &j->cap_n, j->n + 1, 256))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        j->off[j->n++] = (uint32_t)j->len;
        memcpy(j->buf + j->len, d->data, d->len);
        j->len += d->len;
    }
    /* The batch is wholly in queued jobs and this one: once this job is
     * acknowledged (and all before it), so is everything up to the batch's
     * end. A job flushed in the middle of a batch keeps the end of the
     * batch before. */
    if (m->cur[c]) {
        m->cur[c]->end_voffset = pos_voffset;
        m->cur[c]->source_index = pos_source;
    }
    m->done_voffset = pos_voffset;
    m->done_source = pos_source;
    record_progress(m);
    /* Surface an inserter's failure promptly. */
    pthread_mutex_lock(&m->lock);
    bool failed = m->failed;
    sfl_error_t first = m->first_error;
    pthread_mutex_unlock(&m->lock);
    if (failed) {
        if (err)
            *err = first;
        return false;
    }
    return true;
}

/* ---- commit / abort --------------------------------------------------- */

/* Whether the staging collection has an index of that name already (a
 * resumed load's earlier attempt may have built some). */
static bool has_index(mongoc_collection_t *coll, const char *name)
{
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *doc;
    bson_iter_t it;
    bool found = false;
    while (!found && mongoc_cursor_next(cur, &doc))
        found = bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
                !strcmp(bson_iter_utf8(&it, NULL), name);
    mongoc_cursor_destroy(cur);
    return found;
}

/* Builds the browser's indexes that the staging collection lacks (all of
 * them, but for a resumed load). FerretDB fails on a createIndexes of an
 * index that exists, so existing ones are left out of the command. */
static bool create_indexes_fn(call_t *k, mongoc_client_t *client)
{
    mongo_sink_t *m = k->m;
    int c = k->coll;
    bson_t cmd = BSON_INITIALIZER, all = BSON_INITIALIZER, arr, reply;
    uint32_t i = 0, n = 0;
    sfl_append_index_specs(&all, (sfl_collection_t)c, false, false, &i);
    mongoc_collection_t *coll = m->stats.resumed ? mongoc_client_get_collection(client, m->db,
                                                                                m->staging[c])
                                                 : NULL;
    BSON_APPEND_UTF8(&cmd, "createIndexes", m->staging[c]);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    bson_iter_t it, f;
    if (bson_iter_init(&it, &all))
        while (bson_iter_next(&it)) {
            if (coll && bson_iter_recurse(&it, &f) && bson_iter_find(&f, "name") &&
                BSON_ITER_HOLDS_UTF8(&f) && has_index(coll, bson_iter_utf8(&f, NULL)))
                continue;
            char key[16];
            snprintf(key, sizeof key, "%u", n++);
            bson_append_iter(&arr, key, -1, &it);
        }
    bson_append_array_end(&cmd, &arr);
    bson_destroy(&all);
    if (coll)
        mongoc_collection_destroy(coll);
    if (n == 0) {
        bson_destroy(&cmd);
        return true;
    }
    mongoc_write_concern_append(m->wc, &cmd);
    bson_error_t be;
    bool ok = mongoc_client_write_command_with_opts(client, m->db, &cmd, NULL, &reply, &be);
    if (!ok)
        sfl_mongo_error(&k->err, &be, &reply, m->staging[c]);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return ok;
}

static bool scan_fn(call_t *k, mongoc_client_t *client)
{
    return sfl_mongo_scan_digest(client, k->m->db, k->m->staging[k->coll],
                                 (sfl_digest_kind_t)k->digest.kind, &k->digest, &k->err);
}

static bool drop_fn(call_t *k, mongoc_client_t *client)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(client, k->m->db,
                                                             k->m->staging[k->coll]);
    bson_error_t be;
    mongoc_collection_drop(coll, &be);
    mongoc_collection_destroy(coll);
    return true;
}

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* The staging collections hold exactly what the manifest says. */
static bool check_staging(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        const sfl_manifest_collection_t *e =
            sfl_manifest_find_collection(man, sfl_collection_name((sfl_collection_t)c));
        if (!e)
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "the manifest has no collection %s",
                                 sfl_collection_name((sfl_collection_t)c));
        sfl_digest_t d;
        sfl_digest_init_kind(&d, sfl_manifest_digest_kind(e));
        if (!call(m, scan_fn, c, &d, true, 0, "while checking the staging collections", err))
            return false;
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_fingerprint(&d, fp);
        if (!sfl_manifest_collection_matches(e, &d))
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "staging collection %s does not match what was sent: %llu "
                                 "documents (digest %s), expected %llu (digest %s); the "
                                 "browser's collections were not changed",
                                 m->staging[c], (unsigned long long)d.count, fp,
                                 (unsigned long long)e->count, e->fingerprint);
    }
    return true;
}

/* True (and err set) once the heartbeat found the lock taken by another
 * load (--break-lock, or a heartbeat later than the stale timeout): this
 * load must stop, and say why, rather than report what the other load did
 * to its staging (it drops the staging of the load it took over from). */
static bool lost_lock(mongo_sink_t *m, sfl_error_t *err)
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

/* Before the first rename: the manifest file (if asked for) under a
 * temporary name, a last check that the lock is still ours, and the
 * journal: the verified manifest and the renames, status "swapping". */
static bool journal_swap(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    if (m->o.manifest_path) {
        size_t n = strlen(m->o.manifest_path) + 16;
        if (!(m->manifest_partial = malloc(n)))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        snprintf(m->manifest_partial, n, "%s.partial", m->o.manifest_path);
        if (!sfl_manifest_write_file(man, m->manifest_partial, err)) {
            free(m->manifest_partial);
            m->manifest_partial = NULL;
            return false;
        }
    }
    int held = m->lock_lost ? 0 : sfl_lock_heartbeat(m->main, m->db, m->lock_id);
    if (held < 0)
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER,
                             "%s: cannot check the database's lock before the swap; the "
                             "browser's collections were not changed",
                             m->db);
    if (held == 0) {
        pthread_mutex_lock(&m->lock);
        m->lock_lost = true;
        pthread_mutex_unlock(&m->lock);
        return !lost_lock(m, err);
    }
    bson_t extra = BSON_INITIALIZER, sw, arr, one;
    BSON_APPEND_DOCUMENT_BEGIN(&extra, "swap", &sw);
    BSON_APPEND_DATE_TIME(&sw, "started", sfl_now_ms());
    BSON_APPEND_ARRAY_BEGIN(&sw, "collections", &arr);
    uint32_t i = 0;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        char key[16];
        snprintf(key, sizeof key, "%u", i++);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &one);
        BSON_APPEND_UTF8(&one, "target", sfl_collection_name((sfl_collection_t)c));
        BSON_APPEND_UTF8(&one, "staging", m->staging[c]);
        bson_append_document_end(&arr, &one);
    }
    bson_append_array_end(&sw, &arr);
    bson_append_document_end(&extra, &sw);
    /* From the attempt on, the staging is kept: a journal write that
     * failed may still have been stored, and then the next command must
     * find the staging to finish the swap (if it was not stored, the next
     * load drops the staging as a leftover). */
    m->committed = true;
    bool ok = meta_update(m, "swapping", man, NULL, &extra, err);
    bson_destroy(&extra);
    if (!ok) {
        m->outcome = SFL_MONGO_SWAP_PENDING;
        size_t l = err ? strlen(err->message) : 0;
        if (err)
            snprintf(err->message + l, sizeof err->message - l,
                     "; the swap journal may not have been written: run `swefreq-load "
                     "recover`, which finishes the swap if it was, and drops the staging if "
                     "it was not");
    }
    return ok;
}

/* A resumed load whose swap the recovery finished: the files must give the
 * digests it was swapped in with. */
static bool commit_finished(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    unlock_db(m);
    for (size_t i = 0; i < sfl_manifest_n_collections(man); i++) {
        const sfl_manifest_collection_t *a = sfl_manifest_collection(man, i);
        const sfl_manifest_collection_t *b = sfl_manifest_find_collection(m->done_manifest,
                                                                         a->name);
        if (!b || a->count != b->count || strcmp(a->digest, b->digest) != 0)
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "%s: load %s was swapped in with %s %llu documents (digest "
                                 "%s), but the files now give %llu (digest %s)",
                                 m->db, m->load_id, a->name,
                                 (unsigned long long)(b ? b->count : 0),
                                 b ? b->fingerprint : "none", (unsigned long long)a->count,
                                 a->fingerprint);
    }
    mlog(m, SFL_LOG_INFO, "load %s is complete; the files give the digests it was swapped in with",
         m->load_id);
    return true;
}

/* Waits until every queued batch is acknowledged (or an inserter failed,
 * or a cancellation), recording the acknowledged position now and then as
 * write() does, so that a load killed in its last inserts resumes close to
 * where it stopped. drain() then ends the inserters. */
static void settle(mongo_sink_t *m)
{
    for (;;) {
        pthread_mutex_lock(&m->lock);
        bool busy = m->acked_through < m->next_seq && !m->failed && !cancelled(m);
        if (busy)
            wait_ms(m, &m->not_full, 100);
        pthread_mutex_unlock(&m->lock);
        if (!busy)
            return;
        record_progress(m);
    }
}

/* A part's end: every batch acknowledged, then its record "complete" with
 * its manifest; the group's finish does the rest. */
static bool part_commit(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    bool ok = true;
    for (int c = 0; c < SFL_N_COLLECTIONS && ok; c++)
        ok = flush_cur(m, c, err);
    if (ok)
        settle(m);
    ok = drain(m, ok ? err : NULL, true, 0) && ok;
    if (lost_lock(m, err) || !ok)
        return false;
    if (cancelled(m))
        return cancel_error(err, "before the part was recorded complete");
    ok = meta_update(m, "complete", man, NULL, NULL, err);
    unlock_db(m);
    if (ok)
        mlog(m, SFL_LOG_INFO, "part %d of group %s: %llu documents inserted in %.2f s; "
             "recorded complete (%s)", m->o.part, m->group, (unsigned long long)m->inserted,
             since(&m->t0), m->load_id);
    return ok;
}

static bool commit_body(void *ctx, const sfl_manifest_t *man, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    bool ok = true;
    struct timespec phase;
    if (m->part)
        return part_commit(m, man, err);
    if (m->finished_before)
        return commit_finished(m, man, err);
    for (int c = 0; c < SFL_N_COLLECTIONS && ok; c++)
        ok = flush_cur(m, c, err);
    if (ok)
        settle(m);
    ok = drain(m, ok ? err : NULL, true, 0) && ok;
    if (lost_lock(m, err) || !ok)
        return false;
    mlog(m, SFL_LOG_INFO, "inserted %llu documents in %.2f s; building indexes",
         (unsigned long long)m->inserted, since(&m->t0));
    if (m->stats.resumed)
        mlog(m, SFL_LOG_INFO,
             "resumed load %s (attempt %d): %llu documents skipped (acknowledged before), "
             "%llu sent (%llu of them sent before), %llu duplicates absorbed",
             m->load_id, m->stats.attempt, (unsigned long long)m->stats.skipped,
             (unsigned long long)m->stats.sent, (unsigned long long)m->stats.resent,
             (unsigned long long)m->stats.absorbed);
    clock_gettime(CLOCK_MONOTONIC, &phase);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (m->used[c] && !call(m, create_indexes_fn, c, NULL, true, 0,
                                "while building indexes", err))
            return false;
    if (lost_lock(m, err))
        return false;
    mlog(m, SFL_LOG_INFO, "indexes built in %.2f s; verifying the staging collections",
         since(&phase));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    /* Verify the staging data by scanning it, before anyone can see it. A
     * load that lost its lock says so, not that its staging differs. */
    bool staged = check_staging(m, man, err);
    if (lost_lock(m, err) || !staged)
        return false;
    if (cancelled(m))
        return cancel_error(err, "after the staging check");
    mlog(m, SFL_LOG_INFO, "staging verified in %.2f s; swapping in", since(&phase));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    if (!journal_swap(m, man, err))
        return false;
    /* From here the swap is finished whatever happens: by this load, or
     * (if it dies) by the next command that takes the lock. A signal takes
     * effect after it. */
    m->outcome = SFL_MONGO_SWAP_PENDING;
    char swapped[256];
    if (!sfl_swap_finish(m->main, m->db, m->load_id, m->ferretdb, m->o.log, m->o.log_ud, swapped,
                         sizeof swapped, err)) {
        size_t l = err ? strlen(err->message) : 0;
        if (err)
            snprintf(err->message + l, sizeof err->message - l,
                     "; the swap of load %s is journalled in %s.%s%s%s and will be finished by "
                     "`swefreq-load recover` or the next load",
                     m->load_id, m->db, SFL_META_COLLECTION, swapped[0] ? "; already replaced: " : "",
                     swapped);
        unlock_db(m);
        return false;
    }
    m->outcome = SFL_MONGO_SWAPPED;
    sfl_error_t ignore; /* the attempt's end, for the record; the load is complete anyway */
    meta_update(m, "complete", NULL, NULL, NULL, &ignore);
    mlog(m, SFL_LOG_INFO, "swapped in and recorded in %.2f s", since(&phase));
    bool done = true;
    if (m->manifest_partial && rename(m->manifest_partial, m->o.manifest_path) != 0)
        done = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot rename %s into place: %s (the load is complete and "
                             "its manifest is recorded in %s.%s)",
                             m->o.manifest_path, m->manifest_partial, strerror(errno), m->db,
                             SFL_META_COLLECTION);
    unlock_db(m);
    if (done && cancelled(m))
        return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                             "interrupted during the swap: the swap was finished, the new data "
                             "is live in %s (load %s complete)",
                             m->db, m->load_id);
    return done;
}

static void abort_body(void *ctx)
{
    mongo_sink_t *m = ctx;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        job_free(m->cur[c]);
        m->cur[c] = NULL;
    }
    if (m->manifest_partial && m->outcome != SFL_MONGO_SWAPPED)
        unlink(m->manifest_partial);
    if (m->committed) { /* the swap is journalled: finishing it is the next command's job */
        unlock_db(m);
        return;
    }
    const sfl_error_t *why = sfl_sink_abort_reason_int(m->self);
    pthread_mutex_lock(&m->lock);
    if (!m->failed) {
        m->failed = true;
        if (why)
            m->first_error = *why;
        else
            sfl_error_set(&m->first_error, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED, "aborted");
    }
    pthread_cond_broadcast(&m->not_empty);
    pthread_cond_broadcast(&m->not_full);
    pthread_mutex_unlock(&m->lock);
    /* Inserters stop after their batch; one blocked in the server is left
     * behind after SFL_ABANDON_SECONDS. */
    drain(m, NULL, false, cancelled(m) ? 1.0 : SFL_ABANDON_SECONDS);
    /* Best effort, bounded: the server may be gone; the next load cleans
     * up. A load refused in begin (its shape, the lock) wrote nothing and
     * records nothing. A load whose record and staging a resume took over
     * leaves them alone. */
    bool taken = m->part || taken_by_resume(m); /* a part's staging is its group's */
    for (int c = 0; c < SFL_N_COLLECTIONS && !taken; c++)
        if (m->staging[c][0] && !call(m, drop_fn, c, NULL, false, SFL_ABANDON_SECONDS, "drop", NULL))
            mlog(m, SFL_LOG_WARNING, "could not drop %s.%s; the next load drops it", m->db,
                 m->staging[c]);
    if (m->recorded) {
        const sfl_error_t *e = why ? why : &m->first_error;
        meta_update(m, e->code == SFL_E_CANCELLED ? "interrupted" : "failed", NULL, e, NULL, NULL);
    }
    unlock_db(m);
}

/* The ops as the job calls them, on its thread: the end of each hands
 * over what the sink's own threads said meanwhile. */
static bool mongo_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    bool ok = begin_body(ctx, run, err);
    deliver_later(ctx);
    return ok;
}

static bool mongo_commit(void *ctx, const sfl_manifest_t *man, sfl_error_t *err)
{
    bool ok = commit_body(ctx, man, err);
    deliver_later(ctx);
    return ok;
}

static void mongo_abort(void *ctx)
{
    abort_body(ctx);
    deliver_later(ctx);
}

static void *xref(mongo_sink_t *m)
{
    pthread_mutex_lock(&m->lock);
    m->refs++;
    pthread_mutex_unlock(&m->lock);
    return m;
}

/* The last reference frees everything, once no helper thread needs it. */
static void unref(mongo_sink_t *m)
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
        job_free(j);
    }
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        job_free(m->cur[c]);
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

static void mongo_destroy(void *ctx)
{
    mongo_sink_t *m = ctx;
    if (!m)
        return;
    unlock_db(m);
    /* Inserters still running stop; the heartbeat ends at once. Wait a
     * little for the helper threads, so that normally everything is freed
     * before this returns; one blocked in the server keeps the memory
     * until it ends. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    m->failed = true;
    pthread_cond_broadcast(&m->not_empty);
    while (m->refs > 1 && since(&t0) < (m->abandoned ? 0.2 : 2.0))
        wait_ms(m, &m->idle, 100);
    pthread_mutex_unlock(&m->lock);
    unref(m);
}

sfl_mongo_outcome_t sfl_sink_mongo_outcome(const sfl_sink_t *sink)
{
    const mongo_sink_t *m = sfl_sink_ctx_int(sink, (const void *)mongo_commit);
    return m ? m->outcome : SFL_MONGO_UNCHANGED;
}

bool sfl_sink_mongo_resume_stats(const sfl_sink_t *sink, sfl_mongo_resume_stats_t *out)
{
    mongo_sink_t *m = sfl_sink_ctx_int(sink, (const void *)mongo_commit);
    /* The first published struct ended after `absorbed`. */
    if (!m || !out ||
        out->struct_size < offsetof(sfl_mongo_resume_stats_t, absorbed) + sizeof(uint64_t))
        return false;
    pthread_mutex_lock(&m->lock);
    sfl_mongo_resume_stats_t st = m->stats;
    pthread_mutex_unlock(&m->lock);
    st.struct_size = sizeof st;
    sfl_filled_copy(out, &st, sizeof st);
    return true;
}

sfl_sink_t *sfl_sink_mongo_new(const sfl_mongo_options_t *opt, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), mongo_begin, mongo_write,
                                       mongo_commit, mongo_abort, mongo_destroy};
    /* struct_size: a caller built against an older header knows fewer
     * fields; the rest keep their defaults. */
    if (!opt || opt->struct_size < offsetof(sfl_mongo_options_t, resume) ||
        opt->struct_size > sizeof(sfl_mongo_options_t) || !opt->uri || !opt->db ||
        !*opt->db || strpbrk(opt->db, "/\\. \"$")) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a MongoDB load needs a URI and a database name without / \\ . space \" $");
        return NULL;
    }
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    memcpy(&o, opt, opt->struct_size);
    o.struct_size = sizeof o;
    if (!sfl_mongo_options_check(&o, err))
        return NULL;
    if (o.manifest_path && !*o.manifest_path) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "the manifest path is empty (NULL for no manifest file)");
        return NULL;
    }
    if (o.group && (!*o.group || strlen(o.group) > 64 || o.part < 1 ||
                    o.part > SFL_GROUP_MAX_PARTS || (o.group_id && strlen(o.group_id) >= 48))) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a part needs a group name of 1 to 64 characters and a part from 1 to %d",
                      SFL_GROUP_MAX_PARTS);
        return NULL;
    }
    if (o.resume_load_id &&
        (strlen(o.resume_load_id) >= 48 || !*o.resume_load_id ||
         strspn(o.resume_load_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") !=
             strlen(o.resume_load_id))) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a load id has 1 to 47 letters, digits, '-' or '_'");
        return NULL;
    }
    mongo_sink_t *m = calloc(1, sizeof *m);
    if (!m) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    m->o = o;
    opt = &o;
    bson_init(&m->prev_attempts);
    bson_init(&m->part_spec);
    m->part = o.group != NULL;
    snprintf(m->group, sizeof m->group, "%s", o.group ? o.group : "");
    snprintf(m->group_id, sizeof m->group_id, "%s", o.group_id ? o.group_id : "");
    m->o.group = m->o.group_id = NULL; /* copied */
    if (o.resume_load_id)
        snprintf(m->resume_id, sizeof m->resume_id, "%s", o.resume_load_id);
    m->o.resume_load_id = NULL; /* copied */
    if (gethostname(m->host, sizeof m->host - 1) != 0)
        snprintf(m->host, sizeof m->host, "?");
    m->attempt_started_ms = sfl_now_ms();
    m->o.uri = NULL; /* not kept */
    /* Ranges checked above (queue_batches <= 8 keeps what is in flight
     * below ACK_RING). Strings are copied or dropped: the caller's need
     * not outlive this call. */
    m->o.write_concern = NULL; /* made into m->wc below */
    m->o.manifest_path = NULL;
    m->manifest_path = o.manifest_path ? strdup(o.manifest_path) : NULL;
    m->o.manifest_path = m->manifest_path;
    m->refs = 1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->log_lock, NULL);
    pthread_cond_init(&m->not_empty, NULL);
    pthread_cond_init(&m->not_full, NULL);
    pthread_cond_init(&m->idle, NULL);
    pthread_cond_init(&m->hb_wake, NULL);
    snprintf(m->command, sizeof m->command, "load");
    m->db = strdup(opt->db);
    m->uri_redacted = sfl_uri_redact(opt->uri);
    sfl_mongo_load_id(m->load_id);
    /* A resume keeps the load's id; its lock names this attempt. */
    snprintf(m->lock_id, sizeof m->lock_id, "%s", m->load_id);
    snprintf(m->stats.load_id, sizeof m->stats.load_id, "%s", m->load_id);
    m->wc = sfl_mongo_write_concern(opt->write_concern, err);
    bool ok = m->db && m->uri_redacted && m->wc && (m->manifest_path || !o.manifest_path);
    if (!ok && m->wc)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    /* Clients: the inserters, the driving thread, the heartbeat and the
     * helper calls of the commit (some possibly abandoned). */
    ok = ok && sfl_mongo_connect(opt->uri, m->o.insert_threads + 8, &m->pool, &m->main, err);
    sfl_mongo_server_t info;
    ok = ok && sfl_mongo_hello(m->main, &info, err);
    if (!ok) {
        mongo_destroy(m);
        return NULL;
    }
    m->max_bson = info.max_bson_size;
    m->ferretdb = info.ferretdb;
    if ((size_t)info.max_message_size < m->o.batch_bytes)
        m->o.batch_bytes = (size_t)info.max_message_size / 2;
    if (info.max_write_batch_size > 0 && (int64_t)m->o.batch_docs > info.max_write_batch_size)
        m->o.batch_docs = (uint32_t)info.max_write_batch_size;
    mlog(m, SFL_LOG_INFO, "connected to %s (%s %s); load id %s", m->uri_redacted,
         info.ferretdb ? "FerretDB" : "MongoDB", info.version, m->load_id);
    sfl_sink_t *s = sfl_sink_new(&ops, m, err);
    if (!s) {
        mongo_destroy(m);
        return NULL;
    }
    m->self = s;
    return s;
}

bool sfl_sink_mongo_set_command(sfl_sink_t *sink, const char *command, const char *origin)
{
    mongo_sink_t *m = sfl_sink_ctx_int(sink, (const void *)mongo_commit);
    if (!m)
        return false;
    snprintf(m->command, sizeof m->command, "%s", command);
    free(m->origin);
    m->origin = origin ? strdup(origin) : NULL;
    return !origin || m->origin;
}

bool sfl_sink_mongo_set_release(sfl_sink_t *sink, const char *key_id, const char *sha256)
{
    mongo_sink_t *m = sfl_sink_ctx_int(sink, (const void *)mongo_commit);
    if (!m)
        return false;
    snprintf(m->release_key, sizeof m->release_key, "%s", key_id ? key_id : "");
    snprintf(m->release_sha, sizeof m->release_sha, "%s", sha256 ? sha256 : "");
    return true;
}

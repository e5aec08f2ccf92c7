/* sink_mongo.c: load into MongoDB through staging collections.
 *
 * The design: begin() connects, learns the server's limits and abilities
 * from hello and buildInfo, refuses a document shape the server cannot
 * store before anything is written, drops leftover staging collections of
 * interrupted loads, records the load as "loading" in swefreq_meta and
 * starts K inserter threads. write() copies each pipeline batch into insert
 * batches (bounded by bytes and document count) on a bounded queue; the
 * inserters send them as unordered, acknowledged bulk inserts, each thread
 * with its own client from one pool, retrying transient network errors
 * with backoff. commit() waits for the inserters, builds the browser's
 * indexes on the staging collections, scans them to check count and digest
 * against the manifest, and only then renames each over the browser's
 * collection (atomically with dropTarget; where the server refuses that,
 * drop then rename, a window of one command) and records the load as
 * "complete" with its manifest. abort() drops the staging collections and
 * records "failed". Nothing half-loaded is ever under the browser's names.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "indexes.h"
#include "log.h"
#include "manifest_internal.h"
#include "mongo_util.h"
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

/* Batches complete out of order; the resume point is the end of the last
 * batch before which every batch is acknowledged. A ring larger than the
 * batches that can be in flight tracks that. */
#define ACK_RING 1024

typedef struct {
    sfl_mongo_options_t o;
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

    /* the queue */
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    insert_job_t *head, *tail;
    int queued, max_queued;
    bool closing;
    bool failed;
    sfl_error_t first_error;
    pthread_t *threads;
    int n_threads;
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
} mongo_sink_t;

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
}

#define mlog(m, lvl, ...) sfl_logf((m)->o.log, (m)->o.log_ud, (lvl), __VA_ARGS__)

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
                        bson_error_t *be, bson_t *reply)
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
    if (!ok && retry) {
        /* After a network error some documents of this batch may already be
         * stored; a duplicate key on the retry is that, not a new problem. */
        bson_iter_t it, e, f;
        bool only_dups = bson_iter_init_find(&it, reply, "writeErrors") &&
                         bson_iter_recurse(&it, &e);
        bool any = false;
        while (only_dups && bson_iter_next(&e)) {
            any = true;
            only_dups = bson_iter_recurse(&e, &f) && bson_iter_find(&f, "code") &&
                        bson_iter_as_int64(&f) == 11000;
        }
        bson_iter_t wce;
        if (only_dups && any && !bson_iter_init_find(&wce, reply, "writeConcernErrors"))
            ok = true;
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
        for (int attempt = 0;; attempt++) {
            bson_t reply;
            ok = insert_once(m, c, j, attempt > 0, &be, &reply);
            if (!ok)
                sfl_mongo_error(&e, &be, &reply, m->staging[j->collection]);
            bson_destroy(&reply);
            if (ok || !sfl_mongo_transient(&be) || attempt >= m->o.max_retries)
                break;
            int ms = 250 << attempt;
            mlog(m, SFL_LOG_WARNING, "insert into %s failed (%s); retrying in %d ms (%d of %d)",
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
    return NULL;
}

static bool enqueue(mongo_sink_t *m, insert_job_t *j, sfl_error_t *err)
{
    pthread_mutex_lock(&m->lock);
    /* Also wait while the oldest unacknowledged batch is ACK_RING batches
     * behind (one slow batch, many fast ones): the ring must not wrap. */
    while ((m->queued >= m->max_queued || m->next_seq - m->acked_through >= ACK_RING - 1) &&
           !m->failed)
        pthread_cond_wait(&m->not_full, &m->lock);
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

/* Waits for every queued batch; false if an inserter failed. */
static bool drain(mongo_sink_t *m, sfl_error_t *err)
{
    pthread_mutex_lock(&m->lock);
    m->closing = true;
    pthread_cond_broadcast(&m->not_empty);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < m->n_threads; i++)
        pthread_join(m->threads[i], NULL);
    m->n_threads = 0;
    if (m->failed) {
        if (err)
            *err = m->first_error;
        return false;
    }
    return true;
}

/* ---- begin ------------------------------------------------------------ */

static bool drop_leftovers(mongo_sink_t *m, sfl_error_t *err)
{
    mongoc_database_t *d = mongoc_client_get_database(m->main, m->db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    if (!names) {
        mongoc_database_destroy(d);
        return sfl_mongo_error(err, &be, NULL, "listCollections");
    }
    for (char **n = names; *n; n++) {
        if (strncmp(*n, SFL_STAGING_PREFIX, strlen(SFL_STAGING_PREFIX)) != 0)
            continue;
        mongoc_collection_t *c = mongoc_database_get_collection(d, *n);
        if (mongoc_collection_drop(c, &be))
            mlog(m, SFL_LOG_WARNING, "dropped leftover staging collection %s.%s of an "
                                     "interrupted load", m->db, *n);
        mongoc_collection_destroy(c);
    }
    bson_strfreev(names);
    mongoc_database_destroy(d);
    /* Loads still marked "loading" were interrupted (we run one load per
     * database at a time): say so. */
    mongoc_collection_t *meta = mongoc_client_get_collection(m->main, m->db, SFL_META_COLLECTION);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&sel, "status", "loading");
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", "interrupted");
    bson_append_document_end(&upd, &set);
    bson_t reply;
    if (mongoc_collection_update_many(meta, &sel, &upd, NULL, &reply, &be)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) > 0)
            mlog(m, SFL_LOG_WARNING, "%lld earlier load(s) in %s.%s were interrupted; marked so",
                 (long long)bson_iter_as_int64(&it), m->db, SFL_META_COLLECTION);
    }
    bson_destroy(&reply);
    bson_destroy(&sel);
    bson_destroy(&upd);
    mongoc_collection_destroy(meta);
    return true;
}

static bool meta_update(mongo_sink_t *m, const char *status, const sfl_manifest_t *man,
                        const char *error, sfl_error_t *err)
{
    mongoc_collection_t *c = mongoc_client_get_collection(m->main, m->db, SFL_META_COLLECTION);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&sel, "_id", m->load_id);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", status);
    BSON_APPEND_UTF8(&set, "tool", "swefreq-load");
    BSON_APPEND_UTF8(&set, "version", sfl_version());
    BSON_APPEND_DATE_TIME(&set, strcmp(status, "loading") ? "finished" : "started",
                          (int64_t)time(NULL) * 1000);
    if (man)
        BSON_APPEND_DOCUMENT(&set, "manifest", sfl_manifest_bson(man));
    if (error)
        BSON_APPEND_UTF8(&set, "error", error);
    pthread_mutex_lock(&m->lock);
    bool have = m->have_resume;
    int64_t voff = m->resume_voffset;
    uint32_t src = m->resume_source;
    uint64_t ndocs = m->resume_docs;
    pthread_mutex_unlock(&m->lock);
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
            "the server (FerretDB) cannot store arrays of arrays, which --histograms pairs "
            "(genotype_depths, genotype_qualities) needs; use --histograms columns or "
            "--histograms none. Nothing was written.");
    return true;
}

static bool mongo_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    const bool *used = run->collections;
    memcpy(m->used, used, sizeof m->used);
    m->histograms = run->histograms;
    clock_gettime(CLOCK_MONOTONIC, &m->t0);
    if (!check_shape(m, err) || !drop_leftovers(m, err))
        return false;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!used[c])
            continue;
        snprintf(m->staging[c], sizeof m->staging[c], "%s%s_%s", SFL_STAGING_PREFIX, m->load_id,
                 sfl_collection_name((sfl_collection_t)c));
        /* Create it now, so that an empty collection is still swapped in. */
        mongoc_database_t *d = mongoc_client_get_database(m->main, m->db);
        bson_error_t be;
        mongoc_collection_t *coll = mongoc_database_create_collection(d, m->staging[c], NULL, &be);
        mongoc_database_destroy(d);
        if (!coll)
            return sfl_mongo_error(err, &be, NULL, m->staging[c]);
        mongoc_collection_destroy(coll);
    }
    if (!meta_update(m, "loading", NULL, NULL, err))
        return false;
    m->recorded = true;
    m->max_queued = m->o.insert_threads * m->o.queue_batches;
    m->last_meta = m->t0;
    m->threads = calloc((size_t)m->o.insert_threads, sizeof *m->threads);
    if (!m->threads)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (int i = 0; i < m->o.insert_threads; i++) {
        if (pthread_create(&m->threads[i], NULL, inserter, m) != 0) {
            drain(m, NULL);
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                                 "could not start inserter threads");
        }
        m->n_threads++;
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

static bool mongo_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    int c = (int)b->collection;
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
            m->cur[c] = j;
        }
        if (!SFL_GROW(j->buf, &j->cap, j->len + d->len, 1 << 16) ||
            !SFL_GROW(j->off, &j->cap_n, j->n + 1, 256))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        j->off[j->n++] = (uint32_t)j->len;
        memcpy(j->buf + j->len, d->data, d->len);
        j->len += d->len;
        j->end_voffset = b->end_voffset;
        j->source_index = b->source_index;
    }
    /* Record the acknowledged position now and then (a later resume starts
     * there). */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - m->last_meta.tv_sec >= 10) {
        m->last_meta = now;
        sfl_error_t ignore;
        meta_update(m, "loading", NULL, NULL, &ignore);
    }
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

static bool create_indexes(mongo_sink_t *m, int c, sfl_error_t *err)
{
    bson_t cmd = BSON_INITIALIZER, arr, reply;
    uint32_t i = 0;
    BSON_APPEND_UTF8(&cmd, "createIndexes", m->staging[c]);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    sfl_append_index_specs(&arr, (sfl_collection_t)c, false, false, &i);
    bson_append_array_end(&cmd, &arr);
    mongoc_write_concern_append(m->wc, &cmd);
    bson_error_t be;
    bool ok = mongoc_client_write_command_with_opts(m->main, m->db, &cmd, NULL, &reply, &be);
    if (!ok)
        sfl_mongo_error(err, &be, &reply, m->staging[c]);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return ok;
}

static bool rename_over(mongo_sink_t *m, int c, sfl_error_t *err)
{
    const char *final = sfl_collection_name((sfl_collection_t)c);
    char from[512], to[512];
    snprintf(from, sizeof from, "%s.%s", m->db, m->staging[c]);
    snprintf(to, sizeof to, "%s.%s", m->db, final);
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_UTF8(&cmd, "renameCollection", from);
    BSON_APPEND_UTF8(&cmd, "to", to);
    BSON_APPEND_BOOL(&cmd, "dropTarget", true);
    bson_error_t be;
    bool ok = mongoc_client_command_simple(m->main, "admin", &cmd, NULL, &reply, &be);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    if (ok)
        return true;
    /* Only a server that does not implement dropTarget (FerretDB) gets the
     * drop-then-rename fallback; any other failure (a timeout after which
     * the rename may well have happened, a stepdown, ...) is an error, and
     * nothing is dropped. */
    bool unsupported = m->ferretdb || be.code == 115 || be.code == 238 ||
                       strstr(be.message, "not implemented") != NULL;
    if (!unsupported)
        return sfl_mongo_error(err, &be, NULL, final);
    mongoc_database_t *d = mongoc_client_get_database(m->main, m->db);
    bson_error_t be3;
    bool staged = mongoc_database_has_collection(d, m->staging[c], &be3);
    mongoc_database_destroy(d);
    if (!staged)
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER,
                             "%s: the staging collection %s is gone before the swap; nothing "
                             "was dropped",
                             final, m->staging[c]);
    /* Drop, then rename: between the two commands the browser's collection
     * is absent, never partial. */
    mlog(m, SFL_LOG_INFO, "renameCollection with dropTarget refused (%s); dropping %s first",
         be.message, final);
    mongoc_collection_t *old = mongoc_client_get_collection(m->main, m->db, final);
    bson_error_t be2;
    if (!mongoc_collection_drop(old, &be2) && be2.code != 26 /* NamespaceNotFound */ &&
        !strstr(be2.message, "not found")) {
        mongoc_collection_destroy(old);
        return sfl_mongo_error(err, &be2, NULL, final);
    }
    mongoc_collection_destroy(old);
    bson_t cmd2 = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&cmd2, "renameCollection", from);
    BSON_APPEND_UTF8(&cmd2, "to", to);
    ok = mongoc_client_command_simple(m->main, "admin", &cmd2, NULL, &reply, &be);
    bson_destroy(&reply);
    bson_destroy(&cmd2);
    return ok || sfl_mongo_error(err, &be, NULL, final);
}

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static bool mongo_commit(void *ctx, const sfl_manifest_t *man, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    bool ok = true;
    struct timespec phase;
    for (int c = 0; c < SFL_N_COLLECTIONS && ok; c++)
        ok = flush_cur(m, c, err);
    ok = drain(m, ok ? err : NULL) && ok;
    if (!ok)
        return false;
    mlog(m, SFL_LOG_INFO, "inserted %llu documents in %.2f s; building indexes",
         (unsigned long long)m->inserted, since(&m->t0));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (m->used[c] && !create_indexes(m, c, err))
            return false;
    mlog(m, SFL_LOG_INFO, "indexes built in %.2f s; verifying the staging collections",
         since(&phase));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    /* Verify the staging data by scanning it, before anyone can see it. */
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        const sfl_manifest_collection_t *e =
            sfl_manifest_find_collection(man, sfl_collection_name((sfl_collection_t)c));
        sfl_digest_t d;
        if (!e || !sfl_mongo_scan_digest(m->main, m->db, m->staging[c], &d, err))
            return e ? false
                     : sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                     "the manifest has no collection %s",
                                     sfl_collection_name((sfl_collection_t)c));
        char hex[33];
        sfl_digest_hex(&d, hex);
        if (d.count != e->count || strcmp(hex, e->digest) != 0)
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "staging collection %s does not match what was sent: %llu "
                                 "documents (digest %s), expected %llu (digest %s); the "
                                 "browser's collections were not changed",
                                 m->staging[c], (unsigned long long)d.count, hex,
                                 (unsigned long long)e->count, e->digest);
    }
    mlog(m, SFL_LOG_INFO, "staging verified in %.2f s; swapping in", since(&phase));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    /* Collections are swapped one after the other (MongoDB has no
     * multi-collection rename); if a later one fails, say which are new. */
    char swapped[256] = "";
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        if (!rename_over(m, c, err)) {
            if (swapped[0] && err) {
                size_t l = strlen(err->message);
                snprintf(err->message + l, sizeof err->message - l,
                         " (already replaced: %s; rerun the load to replace all)", swapped);
            }
            return false;
        }
        size_t l = strlen(swapped);
        snprintf(swapped + l, sizeof swapped - l, "%s%s", l ? ", " : "",
                 sfl_collection_name((sfl_collection_t)c));
    }
    bool done = meta_update(m, "complete", man, NULL, err);
    mlog(m, SFL_LOG_INFO, "swapped in and recorded in %.2f s", since(&phase));
    return done;
}

static void drop_staging(mongo_sink_t *m)
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->staging[c][0])
            continue;
        mongoc_collection_t *coll = mongoc_client_get_collection(m->main, m->db, m->staging[c]);
        bson_error_t be;
        mongoc_collection_drop(coll, &be);
        mongoc_collection_destroy(coll);
    }
}

static void mongo_abort(void *ctx)
{
    mongo_sink_t *m = ctx;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        job_free(m->cur[c]);
        m->cur[c] = NULL;
    }
    pthread_mutex_lock(&m->lock);
    if (!m->failed) {
        m->failed = true;
        sfl_error_set(&m->first_error, SFL_DOMAIN_SYSTEM, SFL_E_CANCELLED, "aborted");
    }
    pthread_cond_broadcast(&m->not_empty);
    pthread_cond_broadcast(&m->not_full);
    pthread_mutex_unlock(&m->lock);
    drain(m, NULL);
    /* Best effort: the server may be gone; the next load cleans up. A load
     * refused in begin (e.g. its shape) wrote nothing and records nothing. */
    drop_staging(m);
    if (m->recorded)
        meta_update(m, "failed", NULL, m->first_error.message, NULL);
}

static void mongo_destroy(void *ctx)
{
    mongo_sink_t *m = ctx;
    if (!m)
        return;
    if (m->n_threads)
        mongo_abort(m);
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
    free(m->threads);
    free(m->uri_redacted);
    free(m->db);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->not_empty);
    pthread_cond_destroy(&m->not_full);
    free(m);
}

sfl_sink_t *sfl_sink_mongo_new(const sfl_mongo_options_t *opt, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), mongo_begin, mongo_write,
                                       mongo_commit, mongo_abort, mongo_destroy};
    if (!opt || opt->struct_size != sizeof(sfl_mongo_options_t) || !opt->uri || !opt->db ||
        !*opt->db || strpbrk(opt->db, "/\\. \"$")) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a MongoDB load needs a URI and a database name without / \\ . space \" $");
        return NULL;
    }
    mongo_sink_t *m = calloc(1, sizeof *m);
    if (!m) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    m->o = *opt;
    m->o.uri = NULL; /* not kept */
    if (m->o.insert_threads < 1)
        m->o.insert_threads = 1;
    if (m->o.queue_batches < 1)
        m->o.queue_batches = 1;
    if (m->o.insert_threads > 64)
        m->o.insert_threads = 64;
    if (m->o.queue_batches > 8)
        m->o.queue_batches = 8; /* in flight stays below ACK_RING */
    if (m->o.batch_docs < 1)
        m->o.batch_docs = 1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->not_empty, NULL);
    pthread_cond_init(&m->not_full, NULL);
    m->db = strdup(opt->db);
    m->uri_redacted = sfl_uri_redact(opt->uri);
    snprintf(m->load_id, sizeof m->load_id, "%lx%05lx", (unsigned long)time(NULL),
             (unsigned long)(getpid() & 0xfffff));
    m->wc = sfl_mongo_write_concern(opt->write_concern, err);
    bool ok = m->db && m->uri_redacted && m->wc;
    ok = ok && sfl_mongo_connect(opt->uri, m->o.insert_threads + 1, &m->pool, &m->main, err);
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
    if (!s)
        mongo_destroy(m);
    return s;
}

/* mongo/sink_record.c: the MongoDB sink's load record in swefreq_meta: its
 * status, its attempts (the earlier ones read at begin, then this one
 * with its figures), the acknowledged and sent positions a resume starts
 * from, the manifest and the error. A load whose record a resume took
 * over (taken_by_resume) leaves it to that resume.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest_internal.h"
#include "mongo/client.h"
#include "mongo/state.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

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
bool sfl_msink_taken_by_resume(mongo_sink_t *m)
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
bool sfl_msink_meta_update(mongo_sink_t *m, const char *status, const sfl_manifest_t *man,
                           const sfl_error_t *error, const bson_t *extra, sfl_error_t *err)
{
    if (sfl_msink_taken_by_resume(m)) /* the record is a resume's now: leave it to the holder */
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

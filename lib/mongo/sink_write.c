/* mongo/sink_write.c: the MongoDB sink's write(). Each pipeline batch is
 * copied into insert batches (bounded by bytes and document count) that
 * go on the inserters' queue (mongo/sink_insert.c); a resumed load skips
 * the batches that are acknowledged in staging already. It keeps the
 * acknowledged position exact (batch_end, hold_position) and records it
 * in the load record now and then (record_progress).
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grow.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

bool sfl_msink_flush_cur(mongo_sink_t *m, int c, sfl_error_t *err)
{
    insert_job_t *j = m->cur[c];
    m->cur[c] = NULL;
    return !j || sfl_msink_enqueue(m, j, err);
}

/* Records the acknowledged position now and then (a later resume starts
 * there). */
void sfl_msink_record_progress(mongo_sink_t *m)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - m->last_meta.tv_sec) * 1000 +
            (now.tv_nsec - m->last_meta.tv_nsec) / 1000000 >= m->o.record_ms) {
        m->last_meta = now;
        sfl_error_t ignore;
        sfl_msink_meta_update(m, "loading", NULL, NULL, NULL, &ignore);
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

bool sfl_msink_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    sfl_msink_deliver_later(m);
    int c = (int)b->collection;
    int64_t end = batch_end(m, b);
    if (acknowledged_before(m, b, end)) {
        pthread_mutex_lock(&m->lock);
        m->stats.skipped += b->n_docs;
        pthread_mutex_unlock(&m->lock);
        if (!m->finished_before)
            sfl_msink_record_progress(m);
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
        if (o && (oc != c || o->source_index != b->source_index) &&
            !sfl_msink_flush_cur(m, oc, err))
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
            if (!sfl_msink_flush_cur(m, c, err))
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
    sfl_msink_record_progress(m);
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

/* mongo/sink_commit.c: the MongoDB sink's commit(): waits for the inserters,
 * builds the indexes and verifies the staging (mongo/sink_staging.c),
 * writes the swap journal (the verified manifest and the renames, status
 * "swapping"), then renames each staging collection over the browser's
 * (sfl_swap_finish in mongo/state.c) and records the load "complete". A
 * resumed load whose swap was finished at begin only compares digests.
 */
#include <mongoc/mongoc.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mongo/client.h"
#include "mongo/state.h"
#include "mongo/sink_internal.h"
#include "../sink_internal.h"
#include "swefreq/swefreq.h"

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
        return !sfl_msink_lost_lock(m, err);
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
    bool ok = sfl_msink_meta_update(m, "swapping", man, NULL, &extra, err);
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
    sfl_msink_unlock_db(m);
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
        bool busy = m->acked_through < m->next_seq && !m->failed && !sfl_msink_cancelled(m);
        if (busy)
            sfl_msink_wait_ms(m, &m->not_full, 100);
        pthread_mutex_unlock(&m->lock);
        if (!busy)
            return;
        sfl_msink_record_progress(m);
    }
}

/* Every batch sent and acknowledged, and the lock still ours. */
static bool flush_all(mongo_sink_t *m, sfl_error_t *err)
{
    bool ok = true;
    for (int c = 0; c < SFL_N_COLLECTIONS && ok; c++)
        ok = sfl_msink_flush_cur(m, c, err);
    if (ok)
        settle(m);
    ok = sfl_msink_drain(m, ok ? err : NULL, true, 0) && ok;
    return !sfl_msink_lost_lock(m, err) && ok;
}

/* A part's end: every batch acknowledged, then its record "complete" with
 * its manifest; the group's finish does the rest (mongo/group.c). */
static bool part_commit(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    if (!flush_all(m, err))
        return false;
    if (sfl_msink_cancelled(m))
        return sfl_msink_cancel_error(err, "before the part was recorded complete");
    /* The file before the record: a part recorded complete has its file
     * (the finish checks the record against it; group_files.h), and one
     * killed in between is run again and writes it again. */
    if (m->o.manifest_path && !sfl_manifest_write_file(man, m->o.manifest_path, err))
        return false;
    /* with the records it read per region, for the finish (group_check.h) */
    bool ok = sfl_msink_meta_update(m, "complete", man, NULL, sfl_sink_part_reads_int(m->self), err);
    sfl_msink_unlock_db(m);
    if (ok)
        mlog(m, SFL_LOG_INFO, "part %d of group %s: %llu documents inserted; recorded complete "
             "(%s)", m->o.part, m->group, (unsigned long long)m->inserted, m->load_id);
    return ok;
}

bool sfl_msink_commit_body(void *ctx, const sfl_manifest_t *man, sfl_error_t *err)
{
    mongo_sink_t *m = ctx;
    struct timespec phase;
    if (m->part)
        return part_commit(m, man, err);
    if (m->finished_before)
        return commit_finished(m, man, err);
    if (!flush_all(m, err))
        return false;
    mlog(m, SFL_LOG_INFO, "inserted %llu documents in %.2f s; building indexes",
         (unsigned long long)m->inserted, sfl_msink_since(&m->t0));
    if (m->stats.resumed)
        mlog(m, SFL_LOG_INFO,
             "resumed load %s (attempt %d): %llu documents skipped (acknowledged before), "
             "%llu sent (%llu of them sent before), %llu duplicates absorbed",
             m->load_id, m->stats.attempt, (unsigned long long)m->stats.skipped,
             (unsigned long long)m->stats.sent, (unsigned long long)m->stats.resent,
             (unsigned long long)m->stats.absorbed);
    clock_gettime(CLOCK_MONOTONIC, &phase);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (m->used[c] && !sfl_msink_call(m, sfl_msink_create_indexes_fn, c, NULL, true, 0,
                                          "while building indexes", err))
            return false;
    if (sfl_msink_lost_lock(m, err))
        return false;
    mlog(m, SFL_LOG_INFO, "indexes built in %.2f s; verifying the staging collections",
         sfl_msink_since(&phase));
    clock_gettime(CLOCK_MONOTONIC, &phase);
    /* Verify the staging data by scanning it, before anyone can see it. A
     * load that lost its lock says so, not that its staging differs. */
    bool staged = sfl_msink_check_staging(m, man, err);
    if (sfl_msink_lost_lock(m, err) || !staged)
        return false;
    if (sfl_msink_cancelled(m))
        return sfl_msink_cancel_error(err, "after the staging check");
    mlog(m, SFL_LOG_INFO, "staging verified in %.2f s; swapping in", sfl_msink_since(&phase));
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
        sfl_msink_unlock_db(m);
        return false;
    }
    m->outcome = SFL_MONGO_SWAPPED;
    sfl_error_t ignore; /* the attempt's end, for the record; the load is complete anyway */
    sfl_msink_meta_update(m, "complete", NULL, NULL, NULL, &ignore);
    mlog(m, SFL_LOG_INFO, "swapped in and recorded in %.2f s", sfl_msink_since(&phase));
    bool done = true;
    if (m->manifest_partial && rename(m->manifest_partial, m->o.manifest_path) != 0)
        done = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot rename %s into place: %s (the load is complete and "
                             "its manifest is recorded in %s.%s)",
                             m->o.manifest_path, m->manifest_partial, strerror(errno), m->db,
                             SFL_META_COLLECTION);
    sfl_msink_unlock_db(m);
    if (done && sfl_msink_cancelled(m))
        return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                             "interrupted during the swap: the swap was finished, the new data "
                             "is live in %s (load %s complete)",
                             m->db, m->load_id);
    return done;
}

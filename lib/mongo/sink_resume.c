/* mongo/sink_resume.c: the start of the MongoDB sink's load, with the lock
 * held: a new load settles the database (begin_new); a resumed load
 * (begin_resume) finds its record, checks its plan against this run's
 * sources and options (check_plan), takes its earlier attempts
 * (take_attempts), finishes its swap if it was journalled, and otherwise
 * reads the acknowledged position that write() skips up to.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sink_internal.h"
#include "manifest_internal.h"
#include "bson_util.h"
#include "mongo/client.h"
#include "mongo/state.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

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
    if (!sfl_bson_sub_key(rec, "attempts", &arr) || !bson_iter_init(&it, &arr))
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
    if (sfl_bson_sub_key(rec, "manifest", &man))
        return sfl_manifest_from_bson(&man, err);
    sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "the swap journal has no manifest");
    return NULL;
}

/* With the lock held: finds the load to continue, checks its plan, takes
 * its attempts, finishes its swap if journalled (then nothing is left to
 * send), otherwise settles the database keeping its staging, and reads
 * the acknowledged position when all of its staging is still there. */
bool sfl_msink_begin_resume(mongo_sink_t *m, sfl_error_t *err)
{
    bson_t rec;
    if (sfl_resume_target(m->main, m->db, m->resume_id[0] ? m->resume_id : NULL, &rec, err) != 1)
        return false;
    return sfl_msink_begin_resume_rec(m, &rec, err);
}

void sfl_msink_staging_name(const mongo_sink_t *m, int c, char *out, size_t n)
{
    snprintf(out, n, "%s%s_%s", SFL_STAGING_PREFIX, m->part ? m->group_id : m->load_id,
             sfl_collection_name((sfl_collection_t)c));
}

/* A part keeps the database as it is: the other parts' staging is the
 * group's. */
bool sfl_msink_begin_resume_rec(mongo_sink_t *m, bson_t *rec, sfl_error_t *err)
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
            sfl_msink_meta_update(m, "complete", NULL, NULL, NULL, &ignore);
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
        sfl_msink_staging_name(m, c, name, sizeof name);
        int has = sfl_mongo_has_collection(m->main, m->db, name, err);
        if (has < 0)
            ok = false;
        else if (!has)
            all = false;
    }
    bson_t ack, snt;
    if (ok && all && sfl_bson_sub_key(rec, "acknowledged", &ack)) {
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
    if (ok && all && sfl_bson_sub_key(rec, "sent", &snt)) {
        m->resent_have = true;
        m->resent_source = (uint32_t)int_field(&snt, "source_index", 0);
        m->resent_voffset = int_field(&snt, "voffset", 0);
    }
    bson_destroy(rec);
    return ok;
}

/* A new load: the database is settled (staging of interrupted loads
 * dropped, which a resume would have continued: say so). */
bool sfl_msink_begin_new(mongo_sink_t *m, sfl_error_t *err)
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

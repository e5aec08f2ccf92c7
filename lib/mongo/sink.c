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
 *
 * The sink's steps live in files of their own, each taking what it needs
 * from the ones below it and none calling back up into this file (the state
 * they share is in mongo/sink_internal.h), lowest first: mongo/sink_thread.c
 * (references, helper threads, their messages), mongo/sink_record.c (the
 * load record), mongo/sink_lock.c (the lock and its heartbeat),
 * mongo/sink_insert.c (the inserter threads and the commit's commands on a
 * helper thread), mongo/sink_staging.c (indexes, the verifying scan, drop),
 * mongo/sink_resume.c (a new load's start, the plan check and resume),
 * mongo/sink_write.c (write()), mongo/sink_commit.c (the swap journal and
 * commit). This file ties them together: the ops table, new and destroy, the
 * public accessors, begin and abort.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../sink_internal.h"
#include "filled.h"
#include "manifest_internal.h"
#include "mongo/client.h"
#include "mongo/lifecycle_internal.h"
#include "mongo/shard.h"
#include "mongo/state.h"
#include "mongo/group.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

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

static bool begin_records(mongo_sink_t *m, const bool *used, sfl_error_t *err);

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
    if (!sfl_msink_part_heartbeat(m, err)) {
        bson_destroy(&e.record);
        return false;
    }
    m->o.resume = e.resume; /* an earlier attempt's record: continue it */
    if (e.resume)
        return sfl_msink_begin_resume_rec(m, &e.record, err);
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
    if (m->part) /* the group's plan took the role, settled the database, made its staging */
        return check_shape(m, err) && part_begin(m, err) && begin_records(m, used, err);
    if (!check_shape(m, err) ||
        !sfl_shard_precheck(m->main, m->db, m->o.shard_key, used, err) ||
        !sfl_msink_lock_db(m, err))
        return false;
    sfl_role_info_t ri;
    if (!sfl_role_gate(m->main, m->db, (sfl_role_t)m->o.expect_role, true, m->command, &ri,
                       err) ||
        (m->has_claim && !sfl_release_check(&ri, m->db, &m->claim, m->command, err)) ||
        !sfl_role_ensure(m->main, m->db, (sfl_role_t)m->o.role, (sfl_role_t)m->o.expect_role,
                         m->command, err)) {
        sfl_msink_unlock_db(m);
        return false;
    }
    /* We hold the lock: a journalled swap is finished first, then whatever
     * staging is left belongs to loads that are gone (except a resumed
     * load's own). */
    if (!(m->o.resume ? sfl_msink_begin_resume(m, err) : sfl_msink_begin_new(m, err)))
        return false;
    if (m->finished_before)
        return true; /* nothing to send: the commit only compares digests */
    return begin_records(m, used, err);
}

/* The staging collections (created unless a resume or the group's plan
 * made them), the record "loading", the inserters. */
static bool begin_records(mongo_sink_t *m, const bool *used, sfl_error_t *err)
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!used[c])
            continue;
        sfl_msink_staging_name(m, c, m->staging[c], sizeof m->staging[c]);
        if (m->o.resume || m->part) {
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
        if (!sfl_shard_staging(m->main, m->db, m->staging[c], c, m->o.shard_key,
                               sfl_sink_plan_int(m->self), m->o.log, m->o.log_ud, err))
            return false;
    }
    bson_t extra = BSON_INITIALIZER;
    sfl_msink_append_lock_info(m, &extra);
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
        if (m->has_claim && m->claim.number) {
            BSON_APPEND_INT64(&rel, "number", (int64_t)m->claim.number);
            BSON_APPEND_UTF8(&rel, "database", m->claim.database);
        }
        bson_append_document_end(&extra, &rel);
    }
    bool ok = sfl_msink_meta_update(m, "loading", NULL, NULL, &extra, err);
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
        if (!sfl_msink_spawn(m, sfl_msink_inserter, m)) {
            pthread_mutex_lock(&m->lock);
            m->running--;
            pthread_mutex_unlock(&m->lock);
            sfl_msink_drain(m, NULL, false, 0);
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                                 "could not start inserter threads");
        }
    }
    return true;
}

static void abort_body(void *ctx)
{
    mongo_sink_t *m = ctx;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        sfl_msink_job_free(m->cur[c]);
        m->cur[c] = NULL;
    }
    if (m->manifest_partial && m->outcome != SFL_MONGO_SWAPPED)
        unlink(m->manifest_partial);
    if (m->committed) { /* the swap is journalled: finishing it is the next command's job */
        sfl_msink_unlock_db(m);
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
    sfl_msink_drain(m, NULL, false, sfl_msink_cancelled(m) ? 1.0 : SFL_ABANDON_SECONDS);
    /* Best effort, bounded: the server may be gone; the next load cleans
     * up. A load refused in begin (its shape, the lock) wrote nothing and
     * records nothing. A load whose record and staging a resume took over
     * leaves them alone. */
    bool taken = m->part || sfl_msink_taken_by_resume(m); /* a part's staging is its group's */
    for (int c = 0; c < SFL_N_COLLECTIONS && !taken; c++)
        if (m->staging[c][0] && !sfl_msink_call(m, sfl_msink_drop_fn, c, NULL, false,
                                                SFL_ABANDON_SECONDS, "drop", NULL))
            mlog(m, SFL_LOG_WARNING, "could not drop %s.%s; the next load drops it", m->db,
                 m->staging[c]);
    if (m->recorded) {
        const sfl_error_t *e = why ? why : &m->first_error;
        sfl_msink_meta_update(m, e->code == SFL_E_CANCELLED ? "interrupted" : "failed", NULL, e,
                              NULL, NULL);
    }
    sfl_msink_unlock_db(m);
}

/* The ops as the job calls them, on its thread: the end of each hands
 * over what the sink's own threads said meanwhile. */
static bool mongo_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    bool ok = begin_body(ctx, run, err);
    sfl_msink_deliver_later(ctx);
    return ok;
}

static bool mongo_commit(void *ctx, const sfl_manifest_t *man, sfl_error_t *err)
{
    bool ok = sfl_msink_commit_body(ctx, man, err);
    sfl_msink_deliver_later(ctx);
    return ok;
}

static void mongo_abort(void *ctx)
{
    abort_body(ctx);
    sfl_msink_deliver_later(ctx);
}

static void mongo_destroy(void *ctx)
{
    mongo_sink_t *m = ctx;
    if (!m)
        return;
    sfl_msink_unlock_db(m);
    /* Inserters still running stop; the heartbeat ends at once. Wait a
     * little for the helper threads, so that normally everything is freed
     * before this returns; one blocked in the server keeps the memory
     * until it ends. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&m->lock);
    m->failed = true;
    pthread_cond_broadcast(&m->not_empty);
    while (m->refs > 1 && sfl_msink_since(&t0) < (m->abandoned ? 0.2 : 2.0))
        sfl_msink_wait_ms(m, &m->idle, 100);
    pthread_mutex_unlock(&m->lock);
    sfl_msink_unref(m);
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
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), mongo_begin, sfl_msink_write,
                                       mongo_commit, mongo_abort, mongo_destroy};
    /* struct_size: a caller built against an older header knows fewer
     * fields; the rest keep their defaults. */
    sfl_mongo_options_t o;
    if (!sfl_mongo_options_full(opt, &o) || !o.uri || !o.db || !*o.db ||
        strpbrk(o.db, "/\\. \"$")) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a MongoDB load needs a URI and a database name without / \\ . space \" $");
        return NULL;
    }
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
    /* begin records the plan, and a resume compares the sources' hashes
     * with its record before it sends anything: the hashes come first. */
    sfl_sink_set_reads_plan_int(s);
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

void sfl_sink_mongo_set_claim(sfl_sink_t *sink, const sfl_release_claim_t *c)
{
    mongo_sink_t *m = sfl_sink_ctx_int(sink, (const void *)mongo_commit);
    if (!m || !c)
        return;
    m->claim = *c;
    m->has_claim = true;
}

/* mongo/state.c: the database's own state, kept in swefreq_meta next to the
 * load records.
 *
 * The design: three kinds of documents, each with a fixed shape, so that
 * every command (load, recover, verify, and later status, promote, resume)
 * reads the same state:
 *
 *   {_id: "lock", load_id, command, host, pid, started, heartbeat, tool,
 *    version}
 *       One load (or recover) per database at a time. Taken with an insert
 *       that fails on the duplicate _id; the holder refreshes `heartbeat`
 *       every SFL_LOCK_HEARTBEAT_SECONDS. A lock whose heartbeat is older
 *       than the stale timeout (default SFL_LOCK_STALE_SECONDS) is taken
 *       over with a replace conditional on the old holder and heartbeat,
 *       so two takers cannot both win. Deleted at every end.
 *
 *   {_id: <load id>, status: "swapping", manifest, swap: {started,
 *    collections: [{target, staging}]}, ...}
 *       The swap journal is the load record itself: before the first
 *       rename, the verified manifest and the renames to do are written
 *       there. Whoever next holds the lock finishes it (sfl_swap_finish):
 *       the staging was verified, so what is left is renamed, "current" is
 *       pointed at the load and the record becomes "complete".
 *
 *   {_id: "current", load_id, since}
 *       The load in force, written by the swap before the record says
 *       "complete". verify --uri reads the manifest through it.
 *
 * Times are the loader's clock (ms since the epoch, BSON dates): the
 * clocks of hosts that load one database must agree to within the stale
 * timeout.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manifest_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"

int64_t sfl_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static mongoc_collection_t *meta(mongoc_client_t *c, const char *db)
{
    return mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
}

/* ---- the lock ---------------------------------------------------------- */

static void lock_doc(bson_t *d, const sfl_lock_request_t *rq, const char *group, int lease,
                     int64_t now)
{
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "?");
    BSON_APPEND_UTF8(d, "_id", SFL_LOCK_ID);
    BSON_APPEND_UTF8(d, "load_id", rq->load_id);
    BSON_APPEND_UTF8(d, "command", rq->command);
    BSON_APPEND_UTF8(d, "host", host);
    BSON_APPEND_INT64(d, "pid", (int64_t)getpid());
    BSON_APPEND_DATE_TIME(d, "started", now);
    BSON_APPEND_DATE_TIME(d, "heartbeat", now);
    BSON_APPEND_UTF8(d, "tool", "swefreq-load");
    BSON_APPEND_UTF8(d, "version", sfl_version());
    if (group) {
        BSON_APPEND_UTF8(d, "group", group);
        BSON_APPEND_INT64(d, "lease_seconds", lease);
    }
}

static void str_field(const bson_t *d, const char *key, char *out, size_t n)
{
    bson_iter_t it;
    out[0] = '\0';
    if (bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it))
        snprintf(out, n, "%s", bson_iter_utf8(&it, NULL));
}

static int64_t num_field(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, key))
        return 0;
    if (BSON_ITER_HOLDS_DATE_TIME(&it))
        return bson_iter_date_time(&it);
    return BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : 0;
}

int sfl_meta_find_one(mongoc_collection_t *m, const bson_t *filter, const bson_t *opts,
                      bson_t *out, sfl_error_t *err)
{
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t be;
    int rc = 0;
    if (mongoc_cursor_next(cur, &doc)) {
        bson_copy_to(doc, out);
        rc = 1;
    } else if (mongoc_cursor_error(cur, &be)) {
        sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
        rc = -1;
    }
    mongoc_cursor_destroy(cur);
    return rc;
}

/* The document {_id: id} of swefreq_meta, as sfl_meta_find_one. */
static int read_record(mongoc_collection_t *m, const char *id, bson_t *out, sfl_error_t *err)
{
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    int rc = sfl_meta_find_one(m, &filter, NULL, out, err);
    bson_destroy(&filter);
    return rc;
}

/* Reads the lock document; 1 found, 0 none, -1 error. */
static int read_lock(mongoc_collection_t *m, sfl_lock_holder_t *h, sfl_error_t *err)
{
    bson_t doc;
    memset(h, 0, sizeof *h);
    int rc = read_record(m, SFL_LOCK_ID, &doc, err);
    if (rc == 1) {
        str_field(&doc, "load_id", h->load_id, sizeof h->load_id);
        str_field(&doc, "command", h->command, sizeof h->command);
        str_field(&doc, "host", h->host, sizeof h->host);
        h->pid = num_field(&doc, "pid");
        h->started_ms = num_field(&doc, "started");
        h->heartbeat_ms = num_field(&doc, "heartbeat");
        str_field(&doc, "group", h->group, sizeof h->group);
        h->lease_seconds = num_field(&doc, "lease_seconds");
        bson_destroy(&doc);
    }
    return rc;
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "?");
}

static bool is_dup(const bson_error_t *be)
{
    return be->code == 11000 || strstr(be->message, "E11000") ||
           strstr(be->message, "duplicate key");
}

int sfl_lock_read(mongoc_client_t *c, const char *db, sfl_lock_holder_t *h, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    int rc = read_lock(m, h, err);
    mongoc_collection_destroy(m);
    return rc;
}

/* The refusal of a lock a live holder has. */
static void locked_error(sfl_error_t *err, const char *db, const sfl_lock_holder_t *h,
                         int64_t age, int stale)
{
    char since[32], beat[32];
    fmt_time(h->started_ms, since, sizeof since);
    fmt_time(h->heartbeat_ms, beat, sizeof beat);
    if (h->group[0])
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                      "%s is held by group %s (a partitioned load, id %s, planned on host %s, "
                      "since %s; last sign of life of a part %s, %.0f s ago; it is stale "
                      "after %d s). Finish the group (sfl_mongo_group_finish) or, if it is "
                      "abandoned, break the lock (sfl_mongo_options_t.break_lock). Nothing was "
                      "changed",
                      db, h->group, h->load_id, h->host, since, beat, (double)age / 1000.0,
                      stale);
    else
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                      "%s is locked by another %s: load %s on host %s, pid %lld, since %s, "
                      "last heartbeat %s (%.0f s ago; it is stale after %d s). Wait for "
                      "it to end; if that process is dead, wait %d s or break the lock "
                      "(sfl_mongo_options_t.break_lock). "
                      "Nothing was changed",
                      db, h->command[0] ? h->command : "load", h->load_id, h->host,
                      (long long)h->pid, since, beat, (double)age / 1000.0, stale, stale);
}

bool sfl_lock_acquire(mongoc_client_t *c, const char *db, const sfl_lock_request_t *rq,
                      bool *took_over, sfl_lock_holder_t *prev, sfl_error_t *err)
{
    return sfl_lock_acquire_group(c, db, rq, NULL, 0, took_over, prev, err);
}

bool sfl_lock_acquire_group(mongoc_client_t *c, const char *db, const sfl_lock_request_t *rq,
                            const char *group, int lease_seconds, bool *took_over,
                            sfl_lock_holder_t *prev, sfl_error_t *err)
{
    *took_over = false;
    mongoc_collection_t *m = meta(c, db);
    bool ok = false;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        int64_t now = sfl_now_ms();
        bson_t doc = BSON_INITIALIZER;
        lock_doc(&doc, rq, group, lease_seconds, now);
        bson_error_t be;
        bool inserted = mongoc_collection_insert_one(m, &doc, NULL, NULL, &be);
        if (inserted) {
            bson_destroy(&doc);
            ok = true;
            break;
        }
        if (!is_dup(&be)) {
            bson_destroy(&doc);
            sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
            break;
        }
        sfl_lock_holder_t h;
        int rc = read_lock(m, &h, err);
        if (rc < 0) {
            bson_destroy(&doc);
            break;
        }
        if (rc == 0) { /* released in between: try the insert again */
            bson_destroy(&doc);
            continue;
        }
        int64_t age = now - h.heartbeat_ms;
        char since[32], beat[32];
        fmt_time(h.started_ms, since, sizeof since);
        fmt_time(h.heartbeat_ms, beat, sizeof beat);
        int stale = rq->stale_seconds;
        if (h.group[0] && h.lease_seconds > stale)
            stale = (int)h.lease_seconds; /* a group is alive between its parts */
        if (!rq->break_lock && age <= (int64_t)stale * 1000) {
            bson_destroy(&doc);
            locked_error(err, db, &h, age, stale);
            break;
        }
        /* Take it over, only if it is still the lock we just read. */
        bson_t sel = BSON_INITIALIZER, reply;
        BSON_APPEND_UTF8(&sel, "_id", SFL_LOCK_ID);
        BSON_APPEND_UTF8(&sel, "load_id", h.load_id);
        BSON_APPEND_DATE_TIME(&sel, "heartbeat", h.heartbeat_ms);
        bool replaced = mongoc_collection_replace_one(m, &sel, &doc, NULL, &reply, &be);
        bson_iter_t it;
        replaced = replaced && bson_iter_init_find(&it, &reply, "modifiedCount") &&
                   bson_iter_as_int64(&it) == 1;
        bson_destroy(&reply);
        bson_destroy(&sel);
        bson_destroy(&doc);
        if (replaced) {
            *took_over = true;
            *prev = h;
            sfl_logf(rq->log, rq->log_ud, SFL_LOG_WARNING,
                     "%s lock of %s held by load %s (host %s, pid %lld, since %s, last "
                     "heartbeat %s, %.0f s ago)",
                     rq->break_lock && age <= (int64_t)stale * 1000
                         ? "broke (sfl_mongo_options_t.break_lock) the"
                         : "took over the stale",
                     db, h.load_id, h.host, (long long)h.pid, since, beat, (double)age / 1000.0);
            ok = true;
        }
    }
    if (!ok && err && err->code == SFL_OK)
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                      "%s: the lock changed hands while it was being taken; try again", db);
    mongoc_collection_destroy(m);
    return ok;
}

int sfl_lock_heartbeat(mongoc_client_t *c, const char *db, const char *load_id)
{
    mongoc_collection_t *m = meta(c, db);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, reply;
    BSON_APPEND_UTF8(&sel, "_id", SFL_LOCK_ID);
    BSON_APPEND_UTF8(&sel, "load_id", load_id);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_DATE_TIME(&set, "heartbeat", sfl_now_ms());
    bson_append_document_end(&upd, &set);
    bson_error_t be;
    int rc = -1;
    if (mongoc_collection_update_one(m, &sel, &upd, NULL, &reply, &be)) {
        bson_iter_t it;
        rc = bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1;
    }
    bson_destroy(&reply);
    bson_destroy(&sel);
    bson_destroy(&upd);
    mongoc_collection_destroy(m);
    return rc;
}

void sfl_lock_release(mongoc_client_t *c, const char *db, const char *load_id)
{
    mongoc_collection_t *m = meta(c, db);
    bson_t sel = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&sel, "_id", SFL_LOCK_ID);
    BSON_APPEND_UTF8(&sel, "load_id", load_id);
    bson_error_t be;
    mongoc_collection_delete_one(m, &sel, NULL, NULL, &be);
    bson_destroy(&sel);
    mongoc_collection_destroy(m);
}

/* ---- the swap ---------------------------------------------------------- */

int sfl_mongo_has_collection(mongoc_client_t *c, const char *db, const char *name,
                             sfl_error_t *err)
{
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bson_error_t be;
    memset(&be, 0, sizeof be);
    bool has = mongoc_database_has_collection(d, name, &be);
    mongoc_database_destroy(d);
    if (!has && be.code != 0) {
        sfl_mongo_error(err, &be, NULL, "listCollections");
        return -1;
    }
    return has;
}

bool sfl_mongo_rename_over(mongoc_client_t *c, const char *db, const char *staging,
                           const char *target, bool ferretdb, sfl_log_fn log, void *log_ud,
                           sfl_error_t *err)
{
    char from[512], to[512];
    snprintf(from, sizeof from, "%s.%s", db, staging);
    snprintf(to, sizeof to, "%s.%s", db, target);
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_UTF8(&cmd, "renameCollection", from);
    BSON_APPEND_UTF8(&cmd, "to", to);
    BSON_APPEND_BOOL(&cmd, "dropTarget", true);
    bson_error_t be;
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &be);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    if (ok)
        return true;
    /* Only a server that does not implement dropTarget (FerretDB) gets the
     * drop-then-rename fallback; any other failure (a timeout after which
     * the rename may well have happened, a stepdown, ...) is an error, and
     * nothing is dropped. */
    bool unsupported = ferretdb || be.code == 115 || be.code == 238 ||
                       strstr(be.message, "not implemented") != NULL;
    if (!unsupported)
        return sfl_mongo_error(err, &be, NULL, target);
    int staged = sfl_mongo_has_collection(c, db, staging, err);
    if (staged < 0)
        return false;
    if (!staged)
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER,
                             "%s: the staging collection %s is gone before the swap; nothing "
                             "was dropped",
                             target, staging);
    /* Drop, then rename: between the two commands the browser's collection
     * is absent, never partial; the swap journal finishes the rename if
     * this process dies in between. */
    sfl_logf(log, log_ud, SFL_LOG_INFO,
             "renameCollection with dropTarget refused (%s); dropping %s first", be.message,
             target);
    mongoc_collection_t *old = mongoc_client_get_collection(c, db, target);
    bson_error_t be2;
    if (!mongoc_collection_drop(old, &be2) && be2.code != 26 /* NamespaceNotFound */ &&
        !strstr(be2.message, "not found")) {
        mongoc_collection_destroy(old);
        return sfl_mongo_error(err, &be2, NULL, target);
    }
    mongoc_collection_destroy(old);
    bson_t cmd2 = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&cmd2, "renameCollection", from);
    BSON_APPEND_UTF8(&cmd2, "to", to);
    ok = mongoc_client_command_simple(c, "admin", &cmd2, NULL, &reply, &be);
    bson_destroy(&reply);
    bson_destroy(&cmd2);
    return ok || sfl_mongo_error(err, &be, NULL, target);
}

static bool set_fields(mongoc_collection_t *m, const char *id, const bson_t *set, bool upsert,
                       sfl_error_t *err)
{
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&sel, "_id", id);
    BSON_APPEND_DOCUMENT(&upd, "$set", set);
    if (upsert)
        BSON_APPEND_BOOL(&opts, "upsert", true);
    bson_error_t be;
    bool ok = mongoc_collection_update_one(m, &sel, &upd, &opts, NULL, &be);
    bson_destroy(&sel);
    bson_destroy(&upd);
    bson_destroy(&opts);
    return ok || sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
}

bool sfl_swap_finish(mongoc_client_t *c, const char *db, const char *load_id, bool ferretdb,
                     sfl_log_fn log, void *log_ud, char *swapped, size_t swapped_size,
                     sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    bson_t rec;
    int rc = read_record(m, load_id, &rec, err);
    if (rc <= 0) {
        mongoc_collection_destroy(m);
        return rc == 0 ? sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SWAP_PENDING,
                                       "%s.%s: no load record %s to finish", db,
                                       SFL_META_COLLECTION, load_id)
                       : false;
    }
    bool ok = true;
    bson_iter_t it, arr, e;
    if (swapped && swapped_size)
        swapped[0] = '\0';
    if (!bson_iter_init(&it, &rec) || !bson_iter_find_descendant(&it, "swap.collections", &arr) ||
        !BSON_ITER_HOLDS_ARRAY(&arr) || !bson_iter_recurse(&arr, &e))
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SWAP_PENDING,
                           "%s.%s: load %s is swapping but its journal has no collections", db,
                           SFL_META_COLLECTION, load_id);
    while (ok && bson_iter_next(&e)) {
        const uint8_t *data;
        uint32_t len;
        bson_t one;
        char target[128], staging[160];
        bson_iter_document(&e, &len, &data);
        if (!bson_init_static(&one, data, len))
            continue;
        str_field(&one, "target", target, sizeof target);
        str_field(&one, "staging", staging, sizeof staging);
        int has = sfl_mongo_has_collection(c, db, staging, err);
        if (has < 0) {
            ok = false;
        } else if (has) {
            ok = sfl_mongo_rename_over(c, db, staging, target, ferretdb, log, log_ud, err);
            if (ok && swapped) {
                size_t l = strlen(swapped);
                snprintf(swapped + l, swapped_size - l, "%s%s", l ? ", " : "", target);
            }
        } else {
            int live = sfl_mongo_has_collection(c, db, target, err);
            if (live < 0)
                ok = false;
            else if (!live)
                ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SWAP_PENDING,
                                   "%s: the swap of load %s cannot be finished: neither the "
                                   "staging collection %s nor %s exists; load the files again",
                                   db, load_id, staging, target);
        }
    }
    if (ok) {
        bson_t cur = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&cur, "load_id", load_id);
        BSON_APPEND_DATE_TIME(&cur, "since", sfl_now_ms());
        ok = set_fields(m, SFL_CURRENT_ID, &cur, true, err);
        bson_destroy(&cur);
    }
    if (ok) {
        bson_t set = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&set, "status", "complete");
        BSON_APPEND_DATE_TIME(&set, "finished", sfl_now_ms());
        BSON_APPEND_DATE_TIME(&set, "swap.finished", sfl_now_ms());
        ok = set_fields(m, load_id, &set, false, err);
        bson_destroy(&set);
    }
    bson_destroy(&rec);
    mongoc_collection_destroy(m);
    return ok;
}

int sfl_swap_pending(mongoc_client_t *c, const char *db, char *id, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, doc;
    BSON_APPEND_UTF8(&filter, "status", "swapping");
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "started", 1);
    bson_append_document_end(&opts, &sort);
    int rc = sfl_meta_find_one(m, &filter, &opts, &doc, err);
    if (rc == 1) {
        str_field(&doc, "_id", id, 48);
        bson_destroy(&doc);
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(m);
    return rc;
}

/* ---- the load in force -------------------------------------------------- */

static sfl_manifest_t *manifest_of(const bson_t *doc, const char *db, sfl_error_t *err)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    bson_t man;
    if (bson_iter_init_find(&it, doc, "manifest") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&man, data, len))
            return sfl_manifest_from_bson(&man, err);
    }
    sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                  "%s.%s: the load in force has no manifest", db, SFL_META_COLLECTION);
    return NULL;
}

sfl_manifest_t *sfl_current_manifest(mongoc_client_t *c, const char *db, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    sfl_manifest_t *man = NULL;
    bson_t ptr, rec;
    int rc = read_record(m, SFL_CURRENT_ID, &ptr, err);
    if (rc > 0) {
        char id[48];
        str_field(&ptr, "load_id", id, sizeof id);
        bson_destroy(&ptr);
        rc = read_record(m, id, &rec, err);
        if (rc > 0) {
            man = manifest_of(&rec, db, err);
            bson_destroy(&rec);
        } else if (rc == 0) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                          "%s.%s: the load in force (%s) has no record", db,
                          SFL_META_COLLECTION, id);
        }
        mongoc_collection_destroy(m);
        return man;
    }
    if (rc < 0) {
        mongoc_collection_destroy(m);
        return NULL;
    }
    /* No pointer: a database loaded by an older version. */
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, ne;
    BSON_APPEND_UTF8(&filter, "status", "complete");
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "kind", &ne);
    BSON_APPEND_UTF8(&ne, "$ne", "part");
    bson_append_document_end(&filter, &ne);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "finished", -1);
    bson_append_document_end(&opts, &sort);
    bson_t doc;
    rc = sfl_meta_find_one(m, &filter, &opts, &doc, err);
    if (rc == 1) {
        man = manifest_of(&doc, db, err);
        bson_destroy(&doc);
    } else if (rc == 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                      "%s.%s records no complete load; give the manifest to verify "
                      "against (the manifest argument)", db,
                      SFL_META_COLLECTION);
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(m);
    return man;
}

/* ---- settling the database ------------------------------------------------ */

void sfl_mongo_load_id(char id[48])
{
    /* seconds, pid and a per-process counter: unique per host even for two
     * loads started in one second by one process. */
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    snprintf(id, 48, "%lx%05lx%02x", (unsigned long)time(NULL),
             (unsigned long)(getpid() & 0xfffff), n & 0xff);
}

static bool drop_leftovers(mongoc_client_t *c, const char *db, const char *keep, sfl_log_fn log,
                           void *log_ud, sfl_mongo_recovery_t *out, sfl_error_t *err)
{
    char keep_prefix[128] = "";
    if (keep)
        snprintf(keep_prefix, sizeof keep_prefix, "%s%s_", SFL_STAGING_PREFIX, keep);
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    if (!names) {
        mongoc_database_destroy(d);
        return sfl_mongo_error(err, &be, NULL, "listCollections");
    }
    for (char **n = names; *n; n++) {
        if (strncmp(*n, SFL_STAGING_PREFIX, strlen(SFL_STAGING_PREFIX)) != 0 ||
            (keep && strncmp(*n, keep_prefix, strlen(keep_prefix)) == 0))
            continue;
        mongoc_collection_t *coll = mongoc_database_get_collection(d, *n);
        if (mongoc_collection_drop(coll, &be)) {
            out->staging_dropped++;
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "dropped leftover staging collection %s.%s of an interrupted load", db, *n);
        }
        mongoc_collection_destroy(coll);
    }
    bson_strfreev(names);
    mongoc_database_destroy(d);
    /* Loads still marked "loading" are gone: we hold the lock. */
    mongoc_collection_t *m = meta(c, db);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, reply;
    BSON_APPEND_UTF8(&sel, "status", "loading");
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", "interrupted");
    bson_append_document_end(&upd, &set);
    if (mongoc_collection_update_many(m, &sel, &upd, NULL, &reply, &be)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) > 0) {
            out->interrupted = (unsigned)bson_iter_as_int64(&it);
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "%u earlier load(s) in %s.%s were interrupted; marked so",
                     out->interrupted, db, SFL_META_COLLECTION);
        }
    }
    bson_destroy(&reply);
    bson_destroy(&sel);
    bson_destroy(&upd);
    mongoc_collection_destroy(m);
    return true;
}

bool sfl_state_recover(mongoc_client_t *c, const char *db, bool ferretdb, sfl_log_fn log,
                       void *log_ud, sfl_mongo_recovery_t *out, sfl_error_t *err)
{
    return sfl_state_recover_keep(c, db, ferretdb, NULL, log, log_ud, out, err);
}

bool sfl_state_recover_keep(mongoc_client_t *c, const char *db, bool ferretdb, const char *keep,
                            sfl_log_fn log, void *log_ud, sfl_mongo_recovery_t *out,
                            sfl_error_t *err)
{
    memset(out, 0, sizeof *out);
    char id[48];
    int rc;
    /* At most one swap is ever journalled (it is written under the lock),
     * but finish every one found. */
    for (int i = 0; i < 8 && (rc = sfl_swap_pending(c, db, id, err)) == 1; i++) {
        char renamed[256];
        if (!sfl_swap_finish(c, db, id, ferretdb, log, log_ud, renamed, sizeof renamed, err))
            return false;
        snprintf(out->finished_load, sizeof out->finished_load, "%s", id);
        snprintf(out->renamed, sizeof out->renamed, "%s", renamed);
        sfl_logf(log, log_ud, SFL_LOG_WARNING,
                 "finished the swap of interrupted load %s in %s (renamed: %s); it is now the "
                 "load in force",
                 id, db, renamed[0] ? renamed : "nothing left to rename");
    }
    if (rc < 0)
        return false;
    return drop_leftovers(c, db, keep, log, log_ud, out, err);
}

/* ---- resuming ------------------------------------------------------------ */

static bool resumable_status(const char *s)
{
    return !strcmp(s, "loading") || !strcmp(s, "interrupted") || !strcmp(s, "swapping");
}

int sfl_resume_target(mongoc_client_t *c, const char *db, const char *named, bson_t *rec,
                      sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort, in, doc;
    int rc;
    if (named) {
        rc = read_record(m, named, &doc, err);
    } else {
        /* The newest load record (the lock, "current" and other documents
         * have no status). */
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "status", &in);
        BSON_APPEND_BOOL(&in, "$exists", true);
        bson_append_document_end(&filter, &in);
        BSON_APPEND_UTF8(&filter, "tool", "swefreq-load");
        /* a group and its parts are continued by their own commands */
        BSON_APPEND_DOCUMENT_BEGIN(&filter, "kind", &in);
        BSON_APPEND_NULL(&in, "$eq");
        bson_append_document_end(&filter, &in);
        BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
        BSON_APPEND_INT32(&sort, "started", -1);
        bson_append_document_end(&opts, &sort);
        rc = sfl_meta_find_one(m, &filter, &opts, &doc, err);
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(m);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        if (named)
            sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                          "%s: nothing to resume: there is no load %s in %s.%s", db, named, db,
                          SFL_META_COLLECTION);
        else
            sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                          "%s: nothing to resume: no load was ever recorded in %s.%s", db, db,
                          SFL_META_COLLECTION);
        return -1;
    }
    char id[48], status[32];
    str_field(&doc, "_id", id, sizeof id);
    str_field(&doc, "status", status, sizeof status);
    if (!resumable_status(status)) {
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                      "%s: nothing to resume: %s load %s is %s%s", db, named ? "" : "the last",
                      id, status[0] ? status : "not a load",
                      !strcmp(status, "failed")
                          ? " (a failed load drops its staging; load again)"
                          : (!strcmp(status, "complete") ? " (load again to replace it)" : ""));
        bson_destroy(&doc);
        return -1;
    }
    bson_copy_to(&doc, rec);
    bson_destroy(&doc);
    return 1;
}

sfl_manifest_t *sfl_mongo_resume_plan(const sfl_mongo_options_t *o, char load_id[48],
                                      sfl_error_t *err)
{
    if (!o || o->struct_size < offsetof(sfl_mongo_options_t, resume) || !o->uri || !o->db ||
        !*o->db) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "resume needs options from sfl_mongo_options_init with a URI and a "
                      "database");
        return NULL;
    }
    const char *named = o->struct_size > offsetof(sfl_mongo_options_t, resume_load_id)
                            ? o->resume_load_id
                            : NULL;
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    if (!sfl_mongo_connect(o->uri, 1, &pool, &c, err))
        return NULL;
    bson_t rec;
    sfl_manifest_t *plan = NULL;
    if (sfl_resume_target(c, o->db, named, &rec, err) == 1) {
        plan = sfl_resume_plan_of(&rec, o->db, err);
        if (plan && load_id)
            str_field(&rec, "_id", load_id, 48);
        bson_destroy(&rec);
    }
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    return plan;
}

sfl_manifest_t *sfl_resume_plan_of(const bson_t *rec, const char *db, sfl_error_t *err)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    bson_t plan;
    char id[48];
    str_field(rec, "_id", id, sizeof id);
    if (bson_iter_init_find(&it, rec, "plan") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&plan, data, len))
            return sfl_manifest_from_bson(&plan, err);
    }
    sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                  "%s: load %s cannot be resumed: its record has no plan (sources and "
                  "options), it was begun by an earlier version; load again",
                  db, id);
    return NULL;
}

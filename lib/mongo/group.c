/* mongo/group.c: a partitioned load's group in the database: its record
 * and lock (plan), what a part may do (its sink's begin), and the finish.
 *
 * The design: the group is one load whose inserts many processes make.
 * `plan` takes the database's load lock for the group (mongo/state.c; the
 * lock document names the group and a lease, since no process of the
 * group need run between the plan and the parts) and records the group
 * with its plan; the group's id names its staging collections, which the
 * plan creates. Each part's sink (mongo/sink.c) checks here that the
 * group holds the lock and that its sources and options are the plan's,
 * then loads like a load into the shared staging, keeping its own record,
 * and refreshes the lock's heartbeat while it runs. The finish takes the
 * lock over as "finish" (stale after the ordinary timeout from then on,
 * with its own heartbeat), checks the parts' records against the plan,
 * merges their manifests (manifest_merge.c), computes the metrics from a
 * scan of all the variants in staging (no part sees them all) while
 * checking their digest, inserts them, builds the indexes, checks every
 * other staging collection, and journals and finishes the swap as a load
 * does (mongo/state.c): a finish killed in the swap is finished by
 * recover or the next load.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filled.h"
#include "group_check.h"
#include "group_files.h"
#include "group_plan.h"
#include "grow.h"
#include "indexes.h"
#include "log.h"
#include "manifest_internal.h"
#include "metrics.h"
#include "variant_key.h"
#include "mongo/client.h"
#include "mongo/group.h"
#include "mongo/lifecycle_internal.h"
#include "mongo/range_scan.h"
#include "mongo/shard.h"
#include "mongo/state.h"

typedef struct {
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    sfl_mongo_server_t info;
    const sfl_mongo_options_t *o;
    sfl_mongo_options_t full; /* the caller's options at this size */
    int stale;
} conn_t;

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

static bool open_db(const sfl_mongo_options_t *o, const char *what, conn_t *k, sfl_error_t *err)
{
    memset(k, 0, sizeof *k);
    if (!sfl_mongo_options_full(o, &k->full) || !k->full.uri || !k->full.db || !*k->full.db)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s needs options from sfl_mongo_options_init with a URI and a "
                             "database",
                             what);
    k->o = o = &k->full; /* the caller's struct may be shorter */
    k->stale = o->lock_stale_seconds > 0 ? o->lock_stale_seconds : SFL_LOCK_STALE_SECONDS;
    if (!sfl_mongo_options_check(o, err))
        return false;
    /* the calling thread, the heartbeat, the finish's other scan threads */
    if (!sfl_mongo_connect(o->uri, 1 + o->scan_threads, &k->pool, &k->c, err))
        return false;
    if (!sfl_mongo_hello(k->c, &k->info, err)) {
        mongoc_client_pool_push(k->pool, k->c);
        mongoc_client_pool_destroy(k->pool);
        k->pool = NULL;
        return false;
    }
    return true;
}

static void close_db(conn_t *k)
{
    if (!k->pool)
        return;
    mongoc_client_pool_push(k->pool, k->c);
    mongoc_client_pool_destroy(k->pool);
    k->pool = NULL;
}

static mongoc_collection_t *meta(mongoc_client_t *c, const char *db)
{
    return mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
}

static const char *str_of(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : "";
}

static int64_t num_of(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, key))
        return 0;
    if (BSON_ITER_HOLDS_DATE_TIME(&it))
        return bson_iter_date_time(&it);
    return BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : 0;
}

static bool sub_of(const bson_t *d, const char *key, bson_t *out)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_DOCUMENT(&it))
        return false;
    bson_iter_document(&it, &len, &data);
    return bson_init_static(out, data, len);
}

/* The first document matching filter (sorted by opts), copied: 1, 0 none,
 * -1 error. */
static int find_one(mongoc_client_t *c, const char *db, const bson_t *filter, const bson_t *opts,
                    bson_t *out, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(c, db);
    int rc = sfl_meta_find_one(m, filter, opts, out, err);
    mongoc_collection_destroy(m);
    return rc;
}

static int read_id(mongoc_client_t *c, const char *db, const char *id, bson_t *out,
                   sfl_error_t *err)
{
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    int rc = find_one(c, db, &f, NULL, out, err);
    bson_destroy(&f);
    return rc;
}

/* ---- the group and its lock ------------------------------------------- */

/* Group `group`'s record: the holder of the lock when it is that group's,
 * else its newest record. 1 found, 0 none, -1 error. *holds says whether
 * it holds the lock now; *h is the lock (load_id "" when none). */
static int group_record(mongoc_client_t *c, const char *db, const char *group, bson_t *rec,
                        bool *holds, sfl_lock_holder_t *h, sfl_error_t *err)
{
    *holds = false;
    int rc = sfl_lock_read(c, db, h, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        memset(h, 0, sizeof *h);
    if (rc == 1 && !strcmp(h->group, group)) {
        *holds = true;
        return read_id(c, db, h->load_id, rec, err);
    }
    bson_t f = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    BSON_APPEND_UTF8(&f, "kind", "group");
    BSON_APPEND_UTF8(&f, "group", group);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "started", -1);
    bson_append_document_end(&opts, &sort);
    rc = find_one(c, db, &f, &opts, rec, err);
    bson_destroy(&f);
    bson_destroy(&opts);
    return rc;
}

/* Why group `group` cannot be used now (it does not hold the lock). */
static bool not_holding(const char *db, const char *group, int found, const bson_t *rec,
                        const sfl_lock_holder_t *h, sfl_error_t *err)
{
    if (found == 1 && !strcmp(str_of(rec, "status"), "complete"))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_PART_DONE,
                             "%s: group %s (id %s) is finished already; nothing was done", db,
                             group, str_of(rec, "_id"));
    if (h->load_id[0])
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                             "%s: group %s does not hold the database's lock: %s %s holds it "
                             "(host %s, pid %lld); nothing was done",
                             db, group, h->group[0] ? "group" : h->command,
                             h->group[0] ? h->group : h->load_id, h->host, (long long)h->pid);
    if (found == 1)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                             "%s: group %s (id %s, %s) no longer holds the database's lock "
                             "(another load took it over, or it was recovered); plan it "
                             "again",
                             db, group, str_of(rec, "_id"), str_of(rec, "status"));
    return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_NOT_READY,
                         "%s: no group %s is recorded (yet): its plan must be recorded first "
                         "(sfl_mongo_group_record); retry later",
                         db, group);
}

/* The browser collections the plan fills. */
static void used_of(const sfl_manifest_t *plan, bool used[SFL_N_COLLECTIONS])
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        used[c] = false;
        for (size_t i = 0; i < sfl_manifest_n_collections(plan); i++)
            used[c] = used[c] || !strcmp(sfl_collection_name((sfl_collection_t)c),
                                         sfl_manifest_collection(plan, i)->name);
    }
}

/* The group's staging collections, sharded on a mongos when asked
 * (o->shard_key: mongo/shard.c), before any part inserts. */
static bool create_staging(conn_t *k, const char *id, const sfl_manifest_t *plan,
                           const sfl_group_plan_t *p, sfl_error_t *err)
{
    size_t nr = 0; /* split at the parts' regions (range sharding) */
    sfl_manifest_region_t *regs = sfl_group_plan_regions(p, &nr);
    mongoc_client_t *c = k->c;
    const char *db = k->o->db;
    bool used[SFL_N_COLLECTIONS];
    used_of(plan, used);
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bool ok = true;
    for (int ci = 0; ok && ci < SFL_N_COLLECTIONS; ci++) {
        if (!used[ci])
            continue;
        char name[128];
        snprintf(name, sizeof name, "%s%s_%s", SFL_STAGING_PREFIX, id,
                 sfl_collection_name((sfl_collection_t)ci));
        bson_error_t be;
        mongoc_collection_t *coll = mongoc_database_create_collection(d, name, NULL, &be);
        if (!coll)
            ok = sfl_mongo_error(err, &be, NULL, name);
        mongoc_collection_destroy(coll);
        ok = ok && sfl_shard_staging_regions(c, db, name, ci, k->o->shard_key, regs, nr,
                                             k->o->log, k->o->log_ud, err);
    }
    mongoc_database_destroy(d);
    free(regs);
    return ok;
}

static bool insert_group(conn_t *k, const sfl_group_plan_t *p, const char *id,
                         const sfl_manifest_t *plan, int lease, sfl_error_t *err)
{
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "?");
    bson_t d = BSON_INITIALIZER;
    int64_t now = sfl_now_ms();
    BSON_APPEND_UTF8(&d, "_id", id);
    BSON_APPEND_UTF8(&d, "kind", "group");
    BSON_APPEND_UTF8(&d, "group", sfl_group_plan_group(p));
    BSON_APPEND_UTF8(&d, "status", "loading");
    BSON_APPEND_UTF8(&d, "command", "plan");
    BSON_APPEND_UTF8(&d, "tool", "swefreq-load");
    BSON_APPEND_UTF8(&d, "version", sfl_version());
    BSON_APPEND_UTF8(&d, "host", host);
    BSON_APPEND_INT64(&d, "pid", (int64_t)getpid());
    BSON_APPEND_DATE_TIME(&d, "started", now);
    BSON_APPEND_DATE_TIME(&d, "updated", now);
    BSON_APPEND_INT32(&d, "parts_n", sfl_group_plan_parts(p));
    BSON_APPEND_INT64(&d, "lease_seconds", lease);
    BSON_APPEND_DOCUMENT(&d, "plan", sfl_manifest_bson(plan));
    BSON_APPEND_DOCUMENT(&d, "group_plan", sfl_group_plan_doc(p));
    mongoc_collection_t *m = meta(k->c, k->o->db);
    bson_error_t be;
    bool ok = mongoc_collection_insert_one(m, &d, NULL, NULL, &be) ||
              sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    mongoc_collection_destroy(m);
    bson_destroy(&d);
    return ok;
}

static bool record_body(conn_t *k, sfl_group_plan_t *p, int lease, sfl_error_t *err)
{
    const sfl_mongo_options_t *o = k->o;
    char id[48];
    sfl_mongo_load_id(id);
    sfl_lock_request_t rq = {id, "plan", k->stale, o->break_lock, o->log, o->log_ud};
    bool took = false;
    sfl_lock_holder_t prev;
    bool used[SFL_N_COLLECTIONS];
    sfl_manifest_t *pm = sfl_group_plan_manifest(p, err);
    if (!pm)
        return false;
    used_of(pm, used);
    sfl_manifest_destroy(pm);
    if (!sfl_role_gate(k->c, o->db, (sfl_role_t)o->expect_role, true, "plan", NULL, err) ||
        !sfl_shard_precheck(k->c, o->db, o->shard_key, used, err) ||
        !sfl_lock_acquire_group(k->c, o->db, &rq, sfl_group_plan_group(p), lease, &took, &prev,
                                err))
        return false;
    sfl_manifest_t *plan = sfl_group_plan_manifest(p, err);
    sfl_mongo_recovery_t rec;
    bool ok = plan &&
              sfl_role_gate(k->c, o->db, (sfl_role_t)o->expect_role, true, "plan", NULL, err) &&
              sfl_role_ensure(k->c, o->db, (sfl_role_t)o->role, (sfl_role_t)o->expect_role,
                              "plan", err) &&
              sfl_state_recover(k->c, o->db, k->info.ferretdb, o->log, o->log_ud, &rec, err) &&
              create_staging(k, id, plan, p, err) &&
              insert_group(k, p, id, plan, lease, err);
    sfl_manifest_destroy(plan);
    if (!ok) {
        sfl_lock_release(k->c, o->db, id);
        return false;
    }
    sfl_group_plan_set_id(p, id);
    sfl_logf(o->log, o->log_ud, SFL_LOG_INFO,
             "group %s recorded in %s as %s; it holds the database's lock until its finish",
             sfl_group_plan_group(p), o->db, id);
    return true;
}

bool sfl_mongo_group_record(const sfl_mongo_options_t *o, sfl_group_plan_t *p,
                            int lease_seconds, sfl_error_t *err)
{
    if (!p || lease_seconds < 0 || lease_seconds > 30 * 86400)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "recording a group needs a plan and a lease of 0 to 30 days");
    conn_t k;
    if (!open_db(o, "recording a group", &k, err))
        return false;
    bool ok = record_body(&k, p, lease_seconds ? lease_seconds : SFL_GROUP_LEASE_SECONDS, err);
    close_db(&k);
    return ok;
}

sfl_group_plan_t *sfl_mongo_group_fetch(const sfl_mongo_options_t *o, const char *group,
                                        sfl_error_t *err)
{
    conn_t k;
    if (!group) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "which group?");
        return NULL;
    }
    if (!open_db(o, "reading a group", &k, err))
        return NULL;
    bson_t rec, gp;
    bool holds;
    sfl_lock_holder_t h;
    sfl_group_plan_t *p = NULL;
    int rc = group_record(k.c, o->db, group, &rec, &holds, &h, err);
    if (rc >= 0 && (!holds || rc == 0))
        not_holding(o->db, group, rc, &rec, &h, err);
    else if (rc == 1 && !sub_of(&rec, "group_plan", &gp))
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "group %s has no plan", group);
    else if (rc == 1)
        p = sfl_group_plan_from_doc(&gp, str_of(&rec, "_id"), err);
    if (rc == 1)
        bson_destroy(&rec);
    close_db(&k);
    return p;
}

/* ---- a part ------------------------------------------------------------- */

static void note(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t n, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l + 3 >= n)
        return;
    if (l) {
        memcpy(buf + l, "; ", 3);
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, n - l, fmt, ap);
    va_end(ap);
}

/* The differences between the group's plan and a part's, into diff. */
static void plan_diff(const sfl_manifest_t *was, const sfl_manifest_t *now, char *diff, size_t n)
{
    static const char *const shaping[] = {"style",      "histograms",   "coverage_step",
                                          "csq_field",  "csq_format",   "vep_features",
                                          "genome",     "max_errors",   "skip_unknown_contigs"};
    size_t nw = sfl_manifest_n_sources(was), nn = sfl_manifest_n_sources(now);
    if (nw != nn)
        note(diff, n, "the group has %zu source file(s), this part gives %zu", nw, nn);
    for (size_t i = 0; i < nw && i < nn; i++) {
        const sfl_manifest_source_t *a = sfl_manifest_source(was, i);
        const sfl_manifest_source_t *b = sfl_manifest_source(now, i);
        if (strcmp(a->kind, b->kind) != 0)
            note(diff, n, "source %zu is a %s file (%s) in the plan, this part gives a %s file "
                 "(%s)", i + 1, a->kind, a->path, b->kind, b->path);
        else if (strcmp(a->sha256, b->sha256) != 0 || a->size != b->size)
            note(diff, n, "source %zu (%s) is not the plan's: SHA-256 %.16s..., %llu bytes in "
                 "the plan; %.16s..., %llu bytes here", i + 1, b->path, a->sha256,
                 (unsigned long long)a->size, b->sha256, (unsigned long long)b->size);
    }
    for (size_t i = 0; i < sizeof shaping / sizeof *shaping; i++) {
        const char *a = sfl_manifest_option(was, shaping[i]);
        const char *b = sfl_manifest_option(now, shaping[i]);
        if ((a || b) && (!a || !b || strcmp(a, b) != 0))
            note(diff, n, "option %s is %s in the plan, %s here", shaping[i], a ? a : "(unset)",
                 b ? b : "(unset)");
    }
}

static bool check_part_plan(const bson_t *rec, const char *db, const char *group, int part,
                            const sfl_manifest_t *now, sfl_error_t *err)
{
    bson_t pd;
    if (!sub_of(rec, "plan", &pd))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "group %s has no plan",
                             group);
    sfl_manifest_t *was = sfl_manifest_from_bson(&pd, err);
    if (!was)
        return false;
    char diff[900] = "";
    plan_diff(was, now, diff, sizeof diff);
    sfl_manifest_destroy(was);
    if (diff[0])
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                             "%s: part %d of group %s refused: %s. Nothing was written", db, part,
                             group, diff);
    return true;
}

/* Part `part`'s entry of the group record's plan, copied into spec. */
static bool part_spec(const bson_t *rec, int part, bson_t *spec, sfl_error_t *err)
{
    bson_t gp, d;
    sfl_group_plan_t *p = sub_of(rec, "group_plan", &gp)
                              ? sfl_group_plan_from_doc(&gp, str_of(rec, "_id"), err)
                              : NULL;
    if (!p)
        return err && err->code ? false
                                : sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                                "the group's record has no plan");
    bool ok = sfl_group_plan_part_doc(p, part, &d);
    if (ok)
        bson_copy_to(&d, spec);
    else
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "group %s has parts 1 to %d; there is no part %d",
                      sfl_group_plan_group(p), sfl_group_plan_parts(p), part);
    sfl_group_plan_destroy(p);
    return ok;
}

/* What the part's record allows: a new part, a resume, or a refusal. */
static bool part_state(mongoc_client_t *c, const char *db, const char *group, int part,
                       int stale, sfl_part_entry_t *out, sfl_error_t *err)
{
    bson_t rec;
    int rc = read_id(c, db, out->part_id, &rec, err);
    if (rc <= 0)
        return rc == 0;
    const char *st = str_of(&rec, "status");
    int64_t age = sfl_now_ms() - num_of(&rec, "updated");
    bool ok = true;
    if (!strcmp(st, "complete"))
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_PART_DONE,
                           "%s: part %d of group %s is complete already (record %s); nothing "
                           "was done",
                           db, part, group, out->part_id);
    else if (!strcmp(st, "loading") && age <= (int64_t)stale * 1000)
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                           "%s: part %d of group %s is being loaded by another process (its "
                           "record %s was updated %.0f s ago; it is taken as dead after %d s); "
                           "nothing was done",
                           db, part, group, out->part_id, (double)age / 1000.0, stale);
    if (ok) {
        out->resume = true;
        bson_copy_to(&rec, &out->record);
    }
    bson_destroy(&rec);
    return ok;
}

bool sfl_group_part_enter(mongoc_client_t *c, const char *db, const char *group, int part,
                          const char *group_id, const sfl_manifest_t *plan, int stale_seconds,
                          sfl_part_entry_t *out, sfl_error_t *err)
{
    memset(out, 0, sizeof *out);
    bson_init(&out->record);
    bson_init(&out->spec);
    bson_t rec;
    bool holds;
    sfl_lock_holder_t h;
    int rc = group_record(c, db, group, &rec, &holds, &h, err);
    if (rc < 0)
        return false;
    if (!holds || rc == 0) {
        not_holding(db, group, rc, &rec, &h, err);
        if (rc == 1)
            bson_destroy(&rec);
        return false;
    }
    bool ok = true;
    if (group_id && strcmp(group_id, h.load_id) != 0)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                           "%s: group %s was planned again (now id %s, this part read the plan "
                           "of %s); run the part again",
                           db, group, h.load_id, group_id);
    snprintf(out->group_id, sizeof out->group_id, "%s", h.load_id);
    snprintf(out->part_id, sizeof out->part_id, "%.36s-p%d", h.load_id, part);
    bson_destroy(&out->spec);
    ok = ok && part_spec(&rec, part, &out->spec, err);
    if (!ok)
        bson_init(&out->spec);
    ok = ok && check_part_plan(&rec, db, group, part, plan, err) &&
         part_state(c, db, group, part, stale_seconds, out, err);
    bson_destroy(&rec);
    if (!ok) {
        bson_destroy(&out->record);
        bson_destroy(&out->spec);
        bson_init(&out->record);
        bson_init(&out->spec);
    }
    return ok;
}

/* ---- finish: the parts against the plan --------------------------------- */

typedef struct {
    conn_t k;
    const char *group;
    char gid[48];
    bson_t rec; /* the group's record */
    sfl_group_plan_t *plan;
    int n;
    bson_t *part_rec;         /* [n]: each part's record (empty: none)   */
    sfl_manifest_t **parts;   /* [n]                                     */
    bool used[SFL_N_COLLECTIONS];
    char staging[SFL_N_COLLECTIONS][128];
    sfl_manifest_t *merged;
    sfl_group_finish_files_t files; /* checked against (group_files.h) */
    /* the heartbeat while finishing */
    pthread_t hb;
    bool hb_running, hb_stop, lock_lost;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* how each staging collection was scanned (sfl_group_finish_t) */
    int scan_mode[SFL_N_COLLECTIONS];
    char scan_reason[SFL_N_COLLECTIONS][200];
} fin_t;

/* Reads every part's record into f->part_rec; two records for one part,
 * or a part out of the plan's range, are refused. */
static bool read_parts(fin_t *f, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(f->k.c, f->k.o->db);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "kind", "part");
    BSON_APPEND_UTF8(&filter, "group_id", f->gid);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, &filter, NULL, NULL);
    const bson_t *doc;
    bool ok = true;
    while (ok && mongoc_cursor_next(cur, &doc)) {
        int64_t k = num_of(doc, "part");
        if (k < 1 || k > f->n)
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                               "%s: record %s is part %lld of group %s, which has parts 1 to "
                               "%d; nothing was swapped",
                               f->k.o->db, str_of(doc, "_id"), (long long)k, f->group, f->n);
        else if (f->part_rec[k - 1].len > 5)
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                               "%s: part %lld of group %s has two records (%s, %s); nothing was "
                               "swapped",
                               f->k.o->db, (long long)k, f->group,
                               str_of(&f->part_rec[k - 1], "_id"), str_of(doc, "_id"));
        else {
            bson_destroy(&f->part_rec[k - 1]);
            bson_copy_to(doc, &f->part_rec[k - 1]);
        }
    }
    bson_error_t be;
    if (ok && mongoc_cursor_error(cur, &be))
        ok = sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    mongoc_collection_destroy(m);
    return ok;
}

/* Every part complete; else SFL_E_NOT_READY naming those that are not. */
static bool parts_complete(fin_t *f, sfl_error_t *err)
{
    char list[700] = "";
    int missing = 0;
    for (int k = 0; k < f->n; k++) {
        const bson_t *r = &f->part_rec[k];
        const char *st = r->len > 5 ? str_of(r, "status") : "not started";
        if (!strcmp(st, "complete"))
            continue;
        missing++;
        double age = r->len > 5 ? (double)(sfl_now_ms() - num_of(r, "updated")) / 1000.0 : 0;
        if (r->len > 5)
            note(list, sizeof list, "part %d %s (recorded %.0f s ago)", k + 1, st, age);
        else
            note(list, sizeof list, "part %d not started", k + 1);
    }
    if (missing)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_NOT_READY,
                             "%s: group %s is not ready: %d of its %d parts are not complete "
                             "(%s); nothing was changed, finish again when they are",
                             f->k.o->db, f->group, missing, f->n, list);
    return true;
}

typedef struct {
    char chrom[128];
    int64_t beg, end; /* whole source: chrom "", 0, INT64_MAX */
    int part;
} span_t;

static int cmp_span(const void *a, const void *b)
{
    const span_t *x = a, *y = b;
    int c = strcmp(x->chrom, y->chrom);
    return c ? c : (x->beg < y->beg ? -1 : x->beg > y->beg);
}

/* Source i's spans in a part's entry {sources: [{read, regions}]}. */
static bool spans_of(const bson_t *spec, size_t i, int part, span_t **v, size_t *n, size_t *cap)
{
    bson_iter_t it, arr, s, r;
    if (!bson_iter_init_find(&it, spec, "sources") || !bson_iter_recurse(&it, &arr))
        return true;
    for (size_t k = 0; bson_iter_next(&arr); k++) {
        if (k != i || !bson_iter_recurse(&arr, &s))
            continue;
        bool whole = false, regions = false;
        bson_iter_t rs;
        while (bson_iter_next(&s)) {
            if (!strcmp(bson_iter_key(&s), "read") && BSON_ITER_HOLDS_UTF8(&s))
                whole = !strcmp(bson_iter_utf8(&s, NULL), "whole");
            else if (!strcmp(bson_iter_key(&s), "regions") && bson_iter_recurse(&s, &rs))
                regions = true;
        }
        while (whole || (regions && bson_iter_next(&rs))) {
            if (!SFL_GROW(*v, cap, *n + 1, 16))
                return false;
            span_t sp = {"", 0, INT64_MAX, part};
            if (!whole && bson_iter_recurse(&rs, &r))
                while (bson_iter_next(&r)) {
                    if (!strcmp(bson_iter_key(&r), "chrom") && BSON_ITER_HOLDS_UTF8(&r))
                        snprintf(sp.chrom, sizeof sp.chrom, "%s", bson_iter_utf8(&r, NULL));
                    else if (!strcmp(bson_iter_key(&r), "start"))
                        sp.beg = bson_iter_as_int64(&r);
                    else if (!strcmp(bson_iter_key(&r), "end"))
                        sp.end = bson_iter_as_int64(&r);
                }
            (*v)[(*n)++] = sp;
            whole = false;
        }
    }
    return true;
}

/* The spans merged where one ends at the next one's start. */
static size_t merge_spans(span_t *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && !strcmp(v[m - 1].chrom, v[i].chrom) && v[m - 1].end == v[i].beg)
            v[m - 1].end = v[i].end;
        else
            v[m++] = v[i];
    }
    return m;
}

static void span_text(const span_t *s, char *out, size_t n)
{
    if (!s->chrom[0])
        snprintf(out, n, "the whole file");
    else if (s->end == INT64_MAX)
        snprintf(out, n, "%s:%lld-", s->chrom, (long long)s->beg + 1);
    else
        snprintf(out, n, "%s:%lld-%lld", s->chrom, (long long)s->beg + 1, (long long)s->end);
}

/* The parts' recorded regions of source i cover the plan's exactly: no
 * region twice, none missing. */
static bool cover_source(fin_t *f, size_t i, const char *path, sfl_error_t *err)
{
    span_t *got = NULL, *want = NULL;
    size_t ng = 0, cg = 0, nw = 0, cw = 0;
    bool ok = true;
    for (int k = 0; ok && k < f->n; k++) {
        bson_t spec, pd;
        ok = (!sub_of(&f->part_rec[k], "part_spec", &spec) ||
              spans_of(&spec, i, k + 1, &got, &ng, &cg)) &&
             (!sfl_group_plan_part_doc(f->plan, k + 1, &pd) ||
              spans_of(&pd, i, k + 1, &want, &nw, &cw));
    }
    if (!ok)
        nomem(err);
    if (ok && ng) {
        qsort(got, ng, sizeof *got, cmp_span);
        qsort(want, nw, sizeof *want, cmp_span);
    }
    char a[200], b[200];
    for (size_t s = 1; ok && s < ng; s++)
        if (!strcmp(got[s - 1].chrom, got[s].chrom) && got[s - 1].end > got[s].beg) {
            span_text(&got[s - 1], a, sizeof a);
            span_text(&got[s], b, sizeof b);
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                               "%s: group %s cannot be finished: %s (source %zu) is covered "
                               "twice: region %s of part %d overlaps region %s of part %d; "
                               "nothing was swapped",
                               f->k.o->db, f->group, path, i + 1, a, got[s - 1].part, b,
                               got[s].part);
        }
    size_t mg = ok ? merge_spans(got, ng) : 0, mw = ok ? merge_spans(want, nw) : 0;
    for (size_t s = 0; ok && s < mw; s++) {
        bool covered = false;
        for (size_t t = 0; !covered && t < mg; t++)
            covered = !strcmp(got[t].chrom, want[s].chrom) && got[t].beg <= want[s].beg &&
                      got[t].end >= want[s].end;
        if (!covered) {
            span_text(&want[s], a, sizeof a);
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                               "%s: group %s cannot be finished: region %s of %s (source %zu) "
                               "is in no complete part's record; nothing was swapped",
                               f->k.o->db, f->group, a, path, i + 1);
        }
    }
    if (ok && mg != mw)
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                           "%s: group %s cannot be finished: the parts read regions of %s "
                           "(source %zu) that the plan does not have; nothing was swapped",
                           f->k.o->db, f->group, path, i + 1);
    free(got);
    free(want);
    return ok;
}

/* Each part's recorded regions are its plan's entry (nothing swapped
 * between parts), and together they cover the plan exactly. */
static bool check_cover(fin_t *f, const sfl_manifest_t *plan, sfl_error_t *err)
{
    for (size_t i = 0; i < sfl_manifest_n_sources(plan); i++)
        if (!cover_source(f, i, sfl_manifest_source(plan, i)->path, err))
            return false;
    for (int k = 0; k < f->n; k++) {
        bson_t spec, pd;
        if (!sub_of(&f->part_rec[k], "part_spec", &spec) ||
            !sfl_group_plan_part_doc(f->plan, k + 1, &pd) || spec.len != pd.len ||
            memcmp(bson_get_data(&spec), bson_get_data(&pd), pd.len) != 0)
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "%s: group %s cannot be finished: part %d's record (%s) read "
                                 "other regions than the plan gives part %d; nothing was "
                                 "swapped",
                                 f->k.o->db, f->group, k + 1, str_of(&f->part_rec[k], "_id"),
                                 k + 1);
    }
    return true;
}

/* The parts' manifests merged; the metrics come later, from the scan. */
static bool merge_parts(fin_t *f, const sfl_manifest_t *plan, sfl_error_t *err)
{
    size_t ns = sfl_manifest_n_sources(plan);
    bool *reads = calloc((size_t)f->n * ns + 1, sizeof *reads);
    if (!reads || !(f->parts = calloc((size_t)f->n, sizeof *f->parts))) {
        free(reads);
        return nomem(err);
    }
    bool ok = true;
    for (int k = 0; ok && k < f->n; k++) {
        bson_t m;
        for (size_t i = 0; i < ns; i++)
            reads[(size_t)k * ns + i] = sfl_group_plan_part_reads(f->plan, k + 1, i);
        ok = sub_of(&f->part_rec[k], "manifest", &m)
                 ? (f->parts[k] = sfl_manifest_from_bson(&m, err)) != NULL
                 : sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "part %d's record has no manifest", k + 1);
    }
    ok = ok && (f->merged = sfl_manifest_merge_named(
                    (const sfl_manifest_t *const *)f->parts, (size_t)f->n, reads, NULL,
                    sfl_group_plan_allow_empty(f->plan), plan, err)) != NULL;
    free(reads);
    return ok;
}

/* ---- finish: staging ------------------------------------------------------ */

/* The lock's holder: the group's again (LOCK_GROUP: its lease back), the
 * finish's (LOCK_FINISH: the lease kept, so that a finish killed before
 * its journal is run again rather than its group taken over), or the
 * swap's (LOCK_SWAP, just before the journal: stale after the ordinary
 * timeout, so that recover finishes a killed finish's swap). */
enum { LOCK_GROUP, LOCK_FINISH, LOCK_SWAP };

static bool lock_mode(fin_t *f, int mode, sfl_error_t *err)
{
    bool finishing = mode != LOCK_GROUP;
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "?");
    mongoc_collection_t *m = meta(f->k.c, f->k.o->db);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, unset, reply;
    BSON_APPEND_UTF8(&sel, "_id", SFL_LOCK_ID);
    BSON_APPEND_UTF8(&sel, "load_id", f->gid);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "command", finishing ? "finish" : "plan");
    BSON_APPEND_DATE_TIME(&set, "heartbeat", sfl_now_ms());
    if (finishing) {
        BSON_APPEND_UTF8(&set, "host", host);
        BSON_APPEND_INT64(&set, "pid", (int64_t)getpid());
    } else {
        BSON_APPEND_INT64(&set, "lease_seconds", num_of(&f->rec, "lease_seconds"));
    }
    bson_append_document_end(&upd, &set);
    if (mode == LOCK_SWAP) {
        BSON_APPEND_DOCUMENT_BEGIN(&upd, "$unset", &unset);
        BSON_APPEND_UTF8(&unset, "lease_seconds", "");
        bson_append_document_end(&upd, &unset);
    }
    bson_error_t be;
    bool ok = mongoc_collection_update_one(m, &sel, &upd, NULL, &reply, &be);
    bson_iter_t it;
    if (!ok)
        sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    else if (!bson_iter_init_find(&it, &reply, "matchedCount") || bson_iter_as_int64(&it) != 1)
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                           "%s: group %s lost the database's lock (another load took it over)",
                           f->k.o->db, f->group);
    bson_destroy(&reply);
    bson_destroy(&sel);
    bson_destroy(&upd);
    mongoc_collection_destroy(m);
    return ok;
}

static void *hb_main(void *arg)
{
    fin_t *f = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(f->k.pool);
    pthread_mutex_lock(&f->mu);
    while (!f->hb_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += SFL_LOCK_HEARTBEAT_SECONDS;
        pthread_cond_timedwait(&f->wake, &f->mu, &t);
        if (f->hb_stop)
            break;
        pthread_mutex_unlock(&f->mu);
        int rc = sfl_lock_heartbeat(c, f->k.o->db, f->gid);
        pthread_mutex_lock(&f->mu);
        if (rc == 0)
            f->lock_lost = true;
    }
    pthread_mutex_unlock(&f->mu);
    mongoc_client_pool_push(f->k.pool, c);
    return NULL;
}

static void hb_stop(fin_t *f)
{
    if (!f->hb_running)
        return;
    pthread_mutex_lock(&f->mu);
    f->hb_stop = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->hb, NULL);
    f->hb_running = false;
}

static bool lost(fin_t *f, sfl_error_t *err)
{
    pthread_mutex_lock(&f->mu);
    bool l = f->lock_lost;
    pthread_mutex_unlock(&f->mu);
    return l && sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_LOCKED,
                              "%s: the finish of group %s lost the database's lock to another "
                              "load; it stops before the swap",
                              f->k.o->db, f->group);
}

typedef struct {
    struct sfl_metrics *m;
} metrics_ud_t;

static bool metrics_each(void *ud, const bson_t *doc, sfl_error_t *err)
{
    return sfl_metrics_add_doc(((metrics_ud_t *)ud)->m, bson_get_data(doc), doc->len, err);
}

/* `d`, the digest of collection c's documents in `what`, matches the
 * merged manifest's entry for c. */
static bool check_named(fin_t *f, sfl_collection_t c, const char *what, const sfl_digest_t *d,
                        sfl_error_t *err)
{
    const sfl_manifest_collection_t *e =
        sfl_manifest_find_collection(f->merged, sfl_collection_name(c));
    char fp[SFL_DIGEST_FINGERPRINT_SIZE];
    sfl_digest_fingerprint(d, fp);
    if (!e || !sfl_manifest_collection_matches(e, d))
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "%s does not match the parts' manifests: %llu documents (digest "
                             "%s), expected %llu (digest %s); %s",
                             what, (unsigned long long)d->count, fp,
                             (unsigned long long)(e ? e->count : 0), e ? e->fingerprint : "-",
                             strcmp(str_of(&f->rec, "status"), "swapping")
                                 ? "the browser's collections were not changed"
                                 : "nothing more was renamed");
    return true;
}

static bool check_digest(fin_t *f, sfl_collection_t c, const sfl_digest_t *d, sfl_error_t *err)
{
    char what[160];
    snprintf(what, sizeof what, "staging collection %s", f->staging[c]);
    return check_named(f, c, what, d, err);
}

/* The metrics computed from the variants (ud.m, when the plan has them)
 * against the journal's manifest, and freed. */
static bool recheck_metrics(fin_t *f, metrics_ud_t *ud, bool ok, sfl_error_t *err)
{
    uint8_t *buf = NULL;
    size_t *offs = NULL, n = 0;
    if (ok && ud->m)
        ok = sfl_metrics_finish(ud->m, &buf, &offs, &n, err);
    if (ok && ud->m) {
        sfl_digest_t d;
        sfl_digest_init(&d);
        for (size_t i = 0; i < n; i++) {
            uint32_t len;
            memcpy(&len, buf + offs[i], 4);
            sfl_digest_add(&d, buf + offs[i], len);
        }
        ok = check_named(f, SFL_COLL_METRICS, "the metrics computed from the variants", &d, err);
    }
    free(buf);
    free(offs);
    sfl_metrics_destroy(ud->m);
    return ok;
}

/* A finish resumed in its swap, its journal checked against the files
 * (resume_check): every collection the journal renames, in staging or,
 * renamed already by the killed finish, in the browser, scanned in one
 * pass against the journal's manifest, and the metrics computed again from
 * the variants, before anything more is renamed. */
static bool rescan(fin_t *f, sfl_error_t *err)
{
    metrics_ud_t ud = {NULL};
    bool ok = !f->used[SFL_COLL_METRICS] || (ud.m = sfl_metrics_new(NULL, err)) != NULL;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!f->used[c])
            continue;
        const char *name = f->staging[c];
        int has = sfl_mongo_has_collection(f->k.c, f->k.o->db, name, err);
        if (has == 0)
            name = sfl_collection_name((sfl_collection_t)c);
        f->scan_mode[c] = SFL_SCAN_SINGLE;
        snprintf(f->scan_reason[c], sizeof f->scan_reason[c],
                 "one pass: the check of a finish resumed in its swap (%s)", name);
        char what[160];
        snprintf(what, sizeof what, "collection %s", name);
        sfl_digest_t d;
        ok = has >= 0 && !lost(f, err) &&
             sfl_mongo_scan_digest_each(f->k.c, f->k.o->db, name, SFL_DIGEST_LTHASH16, &d,
                                        c == SFL_COLL_VARIANTS && ud.m ? metrics_each : NULL,
                                        &ud, err) &&
             check_named(f, (sfl_collection_t)c, what, &d, err);
    }
    return recheck_metrics(f, &ud, ok, err) && !lost(f, err);
}

/* Inserts the metric documents into staging (emptied first: a finish that
 * failed may have inserted them) and puts their digest in the manifest. */
static bool insert_metrics(fin_t *f, const uint8_t *buf, const size_t *offs, size_t n,
                           sfl_error_t *err)
{
    mongoc_collection_t *c = mongoc_client_get_collection(f->k.c, f->k.o->db,
                                                          f->staging[SFL_COLL_METRICS]);
    bson_t all = BSON_INITIALIZER;
    bson_error_t be;
    bool ok = mongoc_collection_delete_many(c, &all, NULL, NULL, &be) ||
              sfl_mongo_error(err, &be, NULL, f->staging[SFL_COLL_METRICS]);
    sfl_digest_t d;
    sfl_digest_init(&d);
    for (size_t i = 0; ok && i < n; i++) {
        uint32_t len;
        memcpy(&len, buf + offs[i], 4);
        bson_t doc;
        sfl_digest_add(&d, buf + offs[i], len);
        ok = (bson_init_static(&doc, buf + offs[i], len) &&
              mongoc_collection_insert_one(c, &doc, NULL, NULL, &be)) ||
             sfl_mongo_error(err, &be, NULL, f->staging[SFL_COLL_METRICS]);
    }
    bson_destroy(&all);
    mongoc_collection_destroy(c);
    if (!ok)
        return false;
    size_t ns = sfl_manifest_n_sources(f->merged);
    bool *reads = calloc(ns + 1, sizeof *reads);
    if (!reads)
        return nomem(err);
    for (size_t i = 0; i < ns; i++)
        reads[i] = true;
    const sfl_manifest_t *one[1] = {f->merged};
    sfl_manifest_t *m = sfl_manifest_merge(one, 1, reads, &d, true, err);
    free(reads);
    if (!m)
        return false;
    sfl_manifest_destroy(f->merged);
    f->merged = m;
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A region's first xpos and its part, to sort by xpos. */
typedef struct {
    int64_t x;
    int part;
} cut_t;

static int cmp_cut(const void *a, const void *b)
{
    const cut_t *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : p->part - q->part;
}

/* At most `max` of the n sorted, distinct cuts, evenly spaced among them
 * (still sorted and distinct): several sources split into parts each give
 * cuts of their own, and every range costs a find (and on a server
 * without filter pushdown a pass over the collection). */
static void thin_cuts(int64_t *cuts, size_t *n, size_t max)
{
    if (*n <= max)
        return;
    for (size_t j = 0; j < max; j++)
        cuts[j] = cuts[(j + 1) * *n / (max + 1)];
    *n = max;
}

/* The cut points of the ranged scans, sorted and distinct: the xpos where
 * a region of the plan (of any source, of a contig with a code) starts
 * whose part is not the part of the region before it in xpos order
 * (thinned to fewer than 4 ranges per scan thread), balanced as the plan
 * balanced its parts. A region [start, end) of 0-based positions starts
 * at xpos code * 10^9 + start + 1. Any cut points partition the numbers
 * exactly: the ranges are open at both ends. */
static bool plan_cuts(fin_t *f, int64_t **cuts, size_t *n, sfl_error_t *err)
{
    *cuts = NULL;
    *n = 0;
    span_t *sp = NULL;
    size_t ns = 0, cs = 0;
    bool ok = true;
    int parts = sfl_group_plan_parts(f->plan);
    size_t sources = sfl_manifest_n_sources(f->merged);
    for (int k = 1; ok && k <= parts; k++) {
        bson_t pd;
        for (size_t i = 0; ok && i < sources && sfl_group_plan_part_doc(f->plan, k, &pd); i++)
            ok = spans_of(&pd, i, k, &sp, &ns, &cs);
    }
    cut_t *c = ok && ns ? calloc(ns, sizeof *c) : NULL;
    if (!ok || (ns && !c) || (ns && !(*cuts = calloc(ns, sizeof **cuts)))) {
        free(sp);
        free(c);
        return nomem(err);
    }
    size_t m = 0;
    for (size_t i = 0; i < ns; i++) {
        int code = sfl_contig_code(sp[i].chrom, strlen(sp[i].chrom));
        if (code)
            c[m++] = (cut_t){sfl_xpos(code, sp[i].beg + 1), sp[i].part};
    }
    free(sp);
    qsort(c, m, sizeof *c, cmp_cut);
    for (size_t i = 1; i < m; i++)
        if (c[i].part != c[i - 1].part)
            (*cuts)[(*n)++] = c[i].x;
    free(c);
    qsort(*cuts, *n, sizeof **cuts, cmp_i64);
    size_t d = 0;
    for (size_t i = 0; i < *n; i++)
        if (!d || (*cuts)[d - 1] != (*cuts)[i])
            (*cuts)[d++] = (*cuts)[i];
    *n = d;
    thin_cuts(*cuts, n, (size_t)f->k.o->scan_threads * 4 - 1);
    return true;
}

/* Whether staging collection c is scanned by ranges (s): the option, or
 * in auto what the server's explain says of one range (range_scan.h);
 * recorded with the reason for sfl_group_finish_t and logged. */
static bool choose_ranged(fin_t *f, sfl_collection_t c, const sfl_range_scan_t *s)
{
    int mode = f->k.o->scan_mode;
    char *why = f->scan_reason[c];
    size_t n = sizeof f->scan_reason[c];
    if (mode == SFL_SCAN_RANGED || mode == SFL_SCAN_SINGLE)
        snprintf(why, n, "as sfl_mongo_options_t.scan_mode asks");
    else if (!s->n_cuts) {
        mode = SFL_SCAN_SINGLE;
        snprintf(why, n, "one range only: the plan's regions are all in one part");
    } else
        mode = sfl_mongo_range_indexed(s, why, n) ? SFL_SCAN_RANGED : SFL_SCAN_SINGLE;
    f->scan_mode[c] = mode;
    char how[64] = "in one pass";
    if (mode == SFL_SCAN_RANGED)
        snprintf(how, sizeof how, "by %zu ranges of xpos", s->n_cuts + 1);
    sfl_logf(f->k.o->log, f->k.o->log_ud, SFL_LOG_INFO, "group %s: %s scanned %s (%s)", f->group,
             f->staging[c], how, why);
    return mode == SFL_SCAN_RANGED;
}

/* Staging collection c scanned by ranges of xpos on the scan threads
 * (range_scan.h) or in one pass, as choose_ranged says, its digest
 * checked against the merged manifest; each document handed to `each`
 * too when not NULL. */
static bool positional_check(fin_t *f, sfl_collection_t c, const int64_t *cuts, size_t n_cuts,
                             bool (*each)(void *, const bson_t *, sfl_error_t *), void *ud,
                             sfl_error_t *err)
{
    sfl_range_scan_t s = {f->k.pool,    f->k.c, f->k.o->db, f->staging[c], "xpos",
                          cuts,         n_cuts, f->k.o->scan_threads, SFL_DIGEST_LTHASH16,
                          each,         ud};
    sfl_digest_t d;
    if (lost(f, err))
        return false;
    bool ok = choose_ranged(f, c, &s)
                  ? sfl_mongo_range_scan(&s, &d, err)
                  : sfl_mongo_scan_digest_each(f->k.c, f->k.o->db, f->staging[c],
                                               SFL_DIGEST_LTHASH16, &d, each, ud, err);
    return ok && check_digest(f, c, &d, err);
}

/* The collections scanned by ranges of their indexed xpos. */
static bool positional(sfl_collection_t c)
{
    return c == SFL_COLL_VARIANTS || c == SFL_COLL_COVERAGE || c == SFL_COLL_DBSNP;
}

/* The positional collections checked (positional_check); the metrics
 * computed from the variants on the way, as one process computes them. */
static bool scan_positional(fin_t *f, sfl_error_t *err)
{
    int64_t *cuts = NULL;
    size_t n = 0;
    if (!plan_cuts(f, &cuts, &n, err))
        return false;
    metrics_ud_t ud = {NULL};
    bool ok = !f->used[SFL_COLL_METRICS] || (ud.m = sfl_metrics_new(NULL, err)) != NULL;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++)
        if (f->used[c] && positional((sfl_collection_t)c))
            ok = c == SFL_COLL_VARIANTS && ud.m
                     ? positional_check(f, (sfl_collection_t)c, cuts, n, metrics_each, &ud, err)
                     : positional_check(f, (sfl_collection_t)c, cuts, n, NULL, NULL, err);
    free(cuts);
    uint8_t *buf = NULL;
    size_t *offs = NULL, nm = 0;
    if (ok && ud.m)
        ok = sfl_metrics_finish(ud.m, &buf, &offs, &nm, err) &&
             insert_metrics(f, buf, offs, nm, err);
    free(buf);
    free(offs);
    sfl_metrics_destroy(ud.m);
    return ok;
}

/* The browser's indexes that staging collection c lacks (a finish run
 * again keeps those an earlier one built). */
static bool build_indexes(fin_t *f, sfl_collection_t c, sfl_error_t *err)
{
    return sfl_mongo_create_indexes(f->k.c, f->k.o->db, f->staging[c], (int)c, true, NULL, err);
}

/* Every index but the metrics' first (an explain needs the xpos index),
 * then the positional collections' check (the metrics computed on the way
 * and inserted), then the metrics' index, then every other collection's
 * check by a single scan. */
static bool stage(fin_t *f, sfl_error_t *err)
{
    const sfl_mongo_options_t *o = f->k.o;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (f->used[c] && c != SFL_COLL_METRICS &&
            (lost(f, err) || !build_indexes(f, (sfl_collection_t)c, err)))
            return false;
    sfl_logf(o->log, o->log_ud, SFL_LOG_INFO, "group %s: indexes built; checking staging",
             f->group);
    if (!scan_positional(f, err))
        return false;
    if (f->used[SFL_COLL_METRICS] &&
        (lost(f, err) || !build_indexes(f, SFL_COLL_METRICS, err)))
        return false;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!f->used[c] || positional((sfl_collection_t)c))
            continue;
        f->scan_mode[c] = SFL_SCAN_SINGLE;
        snprintf(f->scan_reason[c], sizeof f->scan_reason[c], "no xpos index: one pass");
        sfl_digest_t d;
        if (lost(f, err) ||
            !sfl_mongo_scan_digest(f->k.c, o->db, f->staging[c], SFL_DIGEST_LTHASH16, &d, err) ||
            !check_digest(f, (sfl_collection_t)c, &d, err))
            return false;
    }
    sfl_logf(o->log, o->log_ud, SFL_LOG_INFO, "group %s: staging verified; swapping in",
             f->group);
    return !lost(f, err);
}

/* The swap journal in the group's record, as a load writes it. */
static bool journal(fin_t *f, sfl_error_t *err)
{
    mongoc_collection_t *m = meta(f->k.c, f->k.o->db);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, sw, arr, one;
    BSON_APPEND_UTF8(&sel, "_id", f->gid);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", "swapping");
    BSON_APPEND_DATE_TIME(&set, "updated", sfl_now_ms());
    BSON_APPEND_DOCUMENT(&set, "manifest", sfl_manifest_bson(f->merged));
    BSON_APPEND_DOCUMENT_BEGIN(&set, "swap", &sw);
    BSON_APPEND_DATE_TIME(&sw, "started", sfl_now_ms());
    BSON_APPEND_ARRAY_BEGIN(&sw, "collections", &arr);
    uint32_t i = 0;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!f->used[c])
            continue;
        char key[16];
        snprintf(key, sizeof key, "%u", i++);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &one);
        BSON_APPEND_UTF8(&one, "target", sfl_collection_name((sfl_collection_t)c));
        BSON_APPEND_UTF8(&one, "staging", f->staging[c]);
        bson_append_document_end(&arr, &one);
    }
    bson_append_array_end(&sw, &arr);
    bson_append_document_end(&set, &sw);
    bson_append_document_end(&upd, &set);
    bson_error_t be;
    bool ok = mongoc_collection_update_one(m, &sel, &upd, NULL, NULL, &be) ||
              sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    bson_destroy(&sel);
    bson_destroy(&upd);
    mongoc_collection_destroy(m);
    return ok;
}

/* ---- finish --------------------------------------------------------------- */

static void fin_free(fin_t *f)
{
    for (int k = 0; f->part_rec && k < f->n; k++)
        bson_destroy(&f->part_rec[k]);
    free(f->part_rec);
    for (int k = 0; f->parts && k < f->n; k++)
        sfl_manifest_destroy(f->parts[k]);
    free(f->parts);
    sfl_manifest_destroy(f->merged);
    sfl_group_plan_destroy(f->plan);
    bson_destroy(&f->rec);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->wake);
}

/* The journal's renames are this group's staging collections over the
 * browser's, each of the plan's collections once. */
static bool check_renames(fin_t *f, sfl_error_t *err)
{
    bool seen[SFL_N_COLLECTIONS] = {false};
    bson_t sw, one;
    bson_iter_t it, arr;
    if (!sub_of(&f->rec, "swap", &sw) || !bson_iter_init_find(&it, &sw, "collections") ||
        !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "group %s: the swap journal recorded in the database has no "
                             "renames; nothing was swapped",
                             f->group);
    while (bson_iter_next(&arr)) {
        const uint8_t *data = NULL;
        uint32_t len = 0;
        const char *target = "", *staging = "";
        if (BSON_ITER_HOLDS_DOCUMENT(&arr)) {
            bson_iter_document(&arr, &len, &data);
            if (bson_init_static(&one, data, len)) {
                target = str_of(&one, "target");
                staging = str_of(&one, "staging");
            }
        }
        int c = 0;
        while (c < SFL_N_COLLECTIONS && strcmp(sfl_collection_name((sfl_collection_t)c), target))
            c++;
        if (c == SFL_N_COLLECTIONS || !f->used[c] || seen[c] || strcmp(staging, f->staging[c]))
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "group %s: the swap journal recorded in the database renames "
                                 "\"%s\" over \"%s\", which its finish does not (it renames "
                                 "%s%s_<collection> over each of the plan's collections once); "
                                 "nothing was swapped",
                                 f->group, staging, target, SFL_STAGING_PREFIX, f->gid);
        seen[c] = true;
    }
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (f->used[c] && !seen[c])
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "group %s: the swap journal recorded in the database does not "
                                 "rename %s over %s; nothing was swapped",
                                 f->group, f->staging[c], sfl_collection_name((sfl_collection_t)c));
    return true;
}

/* A finish killed in its swap, run again with the files (the records
 * checked against them and merged as before a journal): the journal's
 * manifest must be the merged one (group_files.h) and its renames this
 * group's; the journal's manifest is then the finish's. */
static bool resume_check(fin_t *f, sfl_error_t *err)
{
    bson_t jm;
    if (!sub_of(&f->rec, "manifest", &jm))
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "group %s: the swap journal recorded in the database has no "
                             "manifest; nothing was swapped",
                             f->group);
    sfl_manifest_t *j = sfl_manifest_from_bson(&jm, err);
    if (!j || !sfl_group_journal_check(f->merged, j, f->group, err) || !check_renames(f, err)) {
        sfl_manifest_destroy(j);
        return false;
    }
    sfl_manifest_destroy(f->merged);
    f->merged = j;
    return true;
}

/* Everything checked before anything changes: the group holds the lock,
 * every part is complete, the parts cover the plan, their manifests merge;
 * for a finish killed in its swap and run again with the files, the
 * journal against them (resume_check), else nothing. */
static bool finish_checks(fin_t *f, sfl_error_t *err)
{
    bool holds;
    sfl_lock_holder_t h;
    bson_t gp, rec;
    int rc = group_record(f->k.c, f->k.o->db, f->group, &rec, &holds, &h, err);
    if (rc < 0)
        return false;
    if (rc == 1) {
        bson_destroy(&f->rec);
        bson_copy_to(&rec, &f->rec);
        bson_destroy(&rec);
    }
    if (!holds || rc == 0)
        return not_holding(f->k.o->db, f->group, rc, &f->rec, &h, err);
    snprintf(f->gid, sizeof f->gid, "%s", h.load_id);
    if (!sub_of(&f->rec, "group_plan", &gp) ||
        !(f->plan = sfl_group_plan_from_doc(&gp, f->gid, err)))
        return err && err->code ? false
                                : sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                                "group %s has no plan", f->group);
    bool resumed = !strcmp(str_of(&f->rec, "status"), "swapping");
    if (resumed && !f->files.plan_path && !f->files.part_manifests)
        return true; /* a finish killed in its swap, rolled forward on the journal's word */
    f->n = sfl_group_plan_parts(f->plan);
    if (!(f->part_rec = calloc((size_t)f->n, sizeof *f->part_rec)))
        return nomem(err);
    for (int k = 0; k < f->n; k++)
        bson_init(&f->part_rec[k]);
    if (f->files.plan_path && !sfl_group_plan_file_check(f->plan, f->files.plan_path, err))
        return false;
    sfl_manifest_t *plan = sfl_group_plan_manifest(f->plan, err);
    bool ok = plan && read_parts(f, err) && parts_complete(f, err) && check_cover(f, plan, err) &&
              sfl_group_check_reads(sfl_group_plan_doc(f->plan), f->part_rec, f->n,
                                    f->k.o->db, f->group, err) && /* group_check.c */
              merge_parts(f, plan, err);
    /* the parts' manifests as their files hold them, before any is used */
    ok = ok && (!f->files.part_manifests ||
                sfl_group_part_files_check(f->parts, f->n, f->files.part_manifests,
                                           f->files.n_part_manifests, f->group, err));
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(plan); i++)
        for (int c = 0; c < SFL_N_COLLECTIONS; c++)
            if (!strcmp(sfl_collection_name((sfl_collection_t)c),
                        sfl_manifest_collection(plan, i)->name)) {
                f->used[c] = true;
                snprintf(f->staging[c], sizeof f->staging[c], "%s%s_%s", SFL_STAGING_PREFIX,
                         f->gid, sfl_collection_name((sfl_collection_t)c));
            }
    sfl_manifest_destroy(plan);
    return ok && (!resumed || resume_check(f, err));
}

static bool write_partial(const sfl_mongo_options_t *o, const sfl_manifest_t *m, char **partial,
                          sfl_error_t *err)
{
    if (!o->manifest_path)
        return true;
    size_t n = strlen(o->manifest_path) + 16;
    if (!(*partial = malloc(n)))
        return nomem(err);
    snprintf(*partial, n, "%s.partial", o->manifest_path);
    return sfl_manifest_write_file(m, *partial, err);
}

/* The finish proper: the lock as "finish", staging verified, the journal,
 * the swap, the lock released. */
static bool finish_swap(fin_t *f, sfl_error_t *err)
{
    const sfl_mongo_options_t *o = f->k.o;
    char *partial = NULL;
    bool resumed = !strcmp(str_of(&f->rec, "status"), "swapping");
    if (!lock_mode(f, resumed ? LOCK_SWAP : LOCK_FINISH, err))
        return false;
    f->hb_running = pthread_create(&f->hb, NULL, hb_main, f) == 0;
    bool ok = f->hb_running || sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                                             "could not start a thread");
    /* resumed: checked again only when its journal was, against the files */
    ok = ok && (resumed ? !f->merged || rescan(f, err) : stage(f, err));
    ok = ok && ((resumed && !f->merged) || write_partial(o, f->merged, &partial, err));
    ok = ok && (resumed || lock_mode(f, LOCK_SWAP, err));
    bool journalled = ok && (resumed || journal(f, err));
    if (!journalled) {
        hb_stop(f);
        sfl_error_t ignore;
        if (!resumed && !lost(f, &ignore))
            lock_mode(f, LOCK_GROUP, &ignore); /* the group's again: fix and finish again */
        if (partial)
            unlink(partial);
        free(partial);
        return false;
    }
    char swapped[256];
    ok = sfl_swap_finish(f->k.c, o->db, f->gid, f->k.info.ferretdb, o->log, o->log_ud, swapped,
                         sizeof swapped, err);
    hb_stop(f);
    if (ok) {
        sfl_lock_release(f->k.c, o->db, f->gid);
        if (partial && rename(partial, o->manifest_path) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                               "%s: cannot rename %s into place: %s (the group is complete and "
                               "its manifest is recorded in %s.%s)",
                               o->manifest_path, partial, strerror(errno), o->db,
                               SFL_META_COLLECTION);
    }
    free(partial);
    return ok;
}

bool sfl_mongo_group_finish(const sfl_mongo_options_t *o, const char *group,
                            sfl_group_finish_t *out, sfl_manifest_t **manifest,
                            sfl_error_t *err)
{
    return sfl_mongo_group_finish_files(o, group, NULL, out, manifest, err);
}

bool sfl_mongo_group_finish_files(const sfl_mongo_options_t *o, const char *group,
                                  const sfl_group_finish_files_t *files,
                                  sfl_group_finish_t *out, sfl_manifest_t **manifest,
                                  sfl_error_t *err)
{
    if (manifest)
        *manifest = NULL;
    if (out && !sfl_filled_size_ok(out->struct_size, SFL_GROUP_FINISH_V1, "sfl_mongo_group_finish",
                                   err))
        return false;
    if (!group)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "which group?");
    fin_t f;
    memset(&f, 0, sizeof f);
    bson_init(&f.rec);
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.wake, NULL);
    f.group = group;
    if (files) {
        size_t n = files->struct_size < sizeof f.files ? files->struct_size : sizeof f.files;
        if (n < sizeof f.files) {
            fin_free(&f);
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                 "sfl_mongo_group_finish_files: files->struct_size is %zu, "
                                 "not sizeof(sfl_group_finish_files_t)",
                                 files->struct_size);
        }
        memcpy(&f.files, files, n);
    }
    if (!open_db(o, "finishing a group", &f.k, err)) {
        fin_free(&f);
        return false;
    }
    bool ok = sfl_role_gate(f.k.c, o->db, (sfl_role_t)o->expect_role, true, "finish", NULL, err) &&
              finish_checks(&f, err) && finish_swap(&f, err);
    sfl_group_finish_t r = {.struct_size = sizeof r,
                            .parts = f.n,
                            .swapped = ok,
                            .plan_file_checked = ok && f.files.plan_path,
                            .part_files_checked = ok && f.files.part_manifests,
                            .resumed = !strcmp(str_of(&f.rec, "status"), "swapping")};
    snprintf(r.group_id, sizeof r.group_id, "%s", f.gid);
    memcpy(r.scan_mode, f.scan_mode, sizeof r.scan_mode);
    memcpy(r.scan_reason, f.scan_reason, sizeof r.scan_reason);
    if (out)
        sfl_filled_copy(out, &r, sizeof r);
    if (ok && manifest && f.merged) {
        *manifest = f.merged;
        f.merged = NULL;
    }
    close_db(&f.k);
    fin_free(&f);
    return ok;
}

/* mongo/shard.c: staging collections on a sharded cluster (see shard.h and
 * docs/scale.md, which lists these commands one by one with MongoDB's
 * documentation for each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mongo/client.h"
#include "mongo/shard.h"
#include "variant_key.h"

#define XPOS_CONTIG 1000000000LL

bool sfl_shard_sharded(int collection)
{
    return collection == SFL_COLL_VARIANTS || collection == SFL_COLL_COVERAGE ||
           collection == SFL_COLL_DBSNP;
}

bool sfl_shard_version_ok(const char *version)
{
    if (!version || version[0] < '0' || version[0] > '9')
        return false;
    long major = strtol(version, NULL, 10);
    return major >= 5;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

bool sfl_shard_split_points(const sfl_manifest_region_t *regions, size_t n_regions,
                            int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = n_regions ? 2 * n_regions : 25;
    int64_t *p = malloc(cap * sizeof *p);
    if (!p)
        return false;
    size_t k = 0;
    if (!n_regions) {
        for (int code = 1; code <= 25; code++)
            p[k++] = (int64_t)code * XPOS_CONTIG;
    }
    for (size_t i = 0; i < n_regions; i++) {
        const sfl_manifest_region_t *r = &regions[i];
        int code = r->chrom ? sfl_contig_code(r->chrom, strlen(r->chrom)) : 0;
        if (!code)
            continue;
        if (r->end < 0) { /* to the contig's end: the whole contig from start 0 */
            p[k++] = r->start > 0 ? sfl_xpos(code, r->start + 1) : (int64_t)code * XPOS_CONTIG;
            p[k++] = (int64_t)(code + 1) * XPOS_CONTIG;
        } else { /* [start, end) 0-based: POS start+1 .. end */
            p[k++] = sfl_xpos(code, r->start + 1);
            p[k++] = sfl_xpos(code, r->end + 1);
        }
    }
    qsort(p, k, sizeof *p, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || p[i] != p[u - 1])
            p[u++] = p[i];
    if (!u) {
        free(p);
        return true;
    }
    *out = p;
    *n = u;
    return true;
}

static void ns_of(char *buf, size_t len, const char *db, const char *coll)
{
    snprintf(buf, len, "%s.%s", db, coll);
}

void sfl_shard_cmd_enable(bson_t *cmd, const char *db)
{
    bson_init(cmd);
    BSON_APPEND_UTF8(cmd, "enableSharding", db);
}

void sfl_shard_cmd_collection(bson_t *cmd, const char *db, const char *coll, int shard_key)
{
    char ns[512];
    ns_of(ns, sizeof ns, db, coll);
    bson_init(cmd);
    BSON_APPEND_UTF8(cmd, "shardCollection", ns);
    bson_t key;
    BSON_APPEND_DOCUMENT_BEGIN(cmd, "key", &key);
    if (shard_key == SFL_SHARD_HASHED)
        BSON_APPEND_UTF8(&key, "_id", "hashed");
    else
        BSON_APPEND_INT32(&key, "xpos", 1);
    bson_append_document_end(cmd, &key);
}

static void xpos_doc(bson_t *parent, const char *name, int64_t at)
{
    bson_t d;
    BSON_APPEND_DOCUMENT_BEGIN(parent, name, &d);
    BSON_APPEND_INT64(&d, "xpos", at);
    bson_append_document_end(parent, &d);
}

void sfl_shard_cmd_split(bson_t *cmd, const char *db, const char *coll, int64_t at)
{
    char ns[512];
    ns_of(ns, sizeof ns, db, coll);
    bson_init(cmd);
    BSON_APPEND_UTF8(cmd, "split", ns);
    xpos_doc(cmd, "middle", at);
}

void sfl_shard_cmd_move(bson_t *cmd, const char *db, const char *coll, int64_t at,
                        const char *shard)
{
    char ns[512];
    ns_of(ns, sizeof ns, db, coll);
    bson_init(cmd);
    BSON_APPEND_UTF8(cmd, "moveChunk", ns);
    xpos_doc(cmd, "find", at);
    BSON_APPEND_UTF8(cmd, "to", shard);
}

void sfl_shard_zones_filter(bson_t *filter, const char *db, const char *coll)
{
    char ns[512];
    ns_of(ns, sizeof ns, db, coll);
    bson_init(filter);
    BSON_APPEND_UTF8(filter, "ns", ns);
}

/* Runs `cmd` on admin; the reply into `reply` when not NULL (then
 * bson_destroy it, also on failure). */
static bool admin(mongoc_client_t *c, const bson_t *cmd, bson_t *reply, const char *what,
                  sfl_error_t *err)
{
    bson_t r;
    bson_error_t be;
    bool ok = mongoc_client_command_simple(c, "admin", cmd, NULL, &r, &be);
    if (!ok)
        sfl_mongo_error(err, &be, &r, what);
    if (reply)
        bson_copy_to(&r, reply);
    bson_destroy(&r);
    return ok;
}

static bool utf8_field(const bson_t *d, const char *key, char *out, size_t len)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    snprintf(out, len, "%s", bson_iter_utf8(&it, NULL));
    return true;
}

/* A mongos of MongoDB 5.0 or later; else SFL_E_SHARDING. */
static bool check_server(mongoc_client_t *c, sfl_error_t *err)
{
    bson_t cmd, reply;
    char msg[64] = "", version[64] = "";
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "hello", 1);
    bool ok = admin(c, &cmd, &reply, "hello", err);
    bson_destroy(&cmd);
    if (ok)
        utf8_field(&reply, "msg", msg, sizeof msg);
    bson_destroy(&reply);
    if (!ok)
        return false;
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "buildInfo", 1);
    bool ferretdb = false;
    if (admin(c, &cmd, &reply, "buildInfo", NULL)) {
        bson_iter_t it;
        utf8_field(&reply, "version", version, sizeof version);
        ferretdb = bson_iter_init_find(&it, &reply, "ferretdbVersion");
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    if (strcmp(msg, "isdbgrid") != 0)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SHARDING,
                             "a sharded load (sfl_mongo_options_t.shard_key) needs a mongos of a "
                             "sharded cluster, and this server is not one (%s %s: its hello "
                             "reply has no msg \"isdbgrid\"); nothing was written. Load without "
                             "a shard key, or connect to the cluster's mongos",
                             ferretdb ? "FerretDB, reporting MongoDB" : "MongoDB",
                             version[0] ? version : "of unknown version");
    if (!sfl_shard_version_ok(version))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SHARDING,
                             "a sharded load (sfl_mongo_options_t.shard_key) needs MongoDB 5.0 "
                             "or later, and this mongos is %s: the swap renames sharded "
                             "collections with dropTarget, which older servers cannot do; "
                             "nothing was written",
                             version[0] ? version : "of unknown version");
    return true;
}

bool sfl_shard_precheck(mongoc_client_t *c, const char *db, int shard_key,
                        const bool used[SFL_N_COLLECTIONS], sfl_error_t *err)
{
    if (shard_key == SFL_SHARD_NONE)
        return true;
    if (!check_server(c, err))
        return false;
    mongoc_collection_t *tags = mongoc_client_get_collection(c, "config", "tags");
    bool ok = true;
    for (int i = 0; ok && i < SFL_N_COLLECTIONS; i++) {
        if (!used[i])
            continue;
        const char *name = sfl_collection_name((sfl_collection_t)i);
        bson_t filter;
        bson_error_t be;
        sfl_shard_zones_filter(&filter, db, name);
        int64_t n = mongoc_collection_count_documents(tags, &filter, NULL, NULL, NULL, &be);
        bson_destroy(&filter);
        if (n < 0)
            ok = sfl_mongo_error(err, &be, NULL, "config.tags (the zones of the collections)");
        else if (n > 0)
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SHARDING,
                               "collection %s.%s has %lld zone range(s) (config.tags): the swap's "
                               "rename cannot replace a collection with zones; remove them "
                               "(updateZoneKeyRange with zone null) or load into another "
                               "database. Nothing was written",
                               db, name, (long long)n);
    }
    mongoc_collection_destroy(tags);
    return ok;
}

/* The shards' names (listShards) into a malloc'd array of malloc'd
 * strings, and the database's primary shard (config.databases) into
 * `primary` ("" when unknown). */
static char **list_shards(mongoc_client_t *c, const char *db, size_t *n, char *primary,
                          size_t plen, sfl_error_t *err)
{
    bson_t cmd, reply;
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "listShards", 1);
    bool ok = admin(c, &cmd, &reply, "listShards", err);
    bson_destroy(&cmd);
    char **names = NULL;
    *n = 0;
    bson_iter_t it, arr;
    if (ok && bson_iter_init_find(&it, &reply, "shards") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &arr)) {
        uint32_t count = 0;
        bson_iter_t cnt = arr;
        while (bson_iter_next(&cnt))
            count++;
        names = calloc(count + 1, sizeof *names);
        while (names && bson_iter_next(&arr)) {
            bson_iter_t id;
            if (BSON_ITER_HOLDS_DOCUMENT(&arr) && bson_iter_recurse(&arr, &id) &&
                bson_iter_find(&id, "_id") && BSON_ITER_HOLDS_UTF8(&id))
                names[(*n)++] = strdup(bson_iter_utf8(&id, NULL));
        }
    }
    bson_destroy(&reply);
    primary[0] = 0;
    mongoc_collection_t *dbs = mongoc_client_get_collection(c, "config", "databases");
    bson_t filter;
    bson_init(&filter);
    BSON_APPEND_UTF8(&filter, "_id", db);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(dbs, &filter, NULL, NULL);
    const bson_t *doc;
    if (mongoc_cursor_next(cur, &doc))
        utf8_field(doc, "primary", primary, plen);
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    mongoc_collection_destroy(dbs);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* The chunk that starts at at[i] goes to shard (i + 1) mod S, so that the
 * chunks of neighbouring regions (loaded by parts running at once) are on
 * different shards; chunks already on their shard stay. */
static void spread_chunks(mongoc_client_t *c, const char *db, const char *staging,
                          const int64_t *at, size_t n, sfl_log_fn log, void *log_ud)
{
    char primary[256];
    size_t ns = 0;
    sfl_error_t e;
    sfl_error_clear(&e);
    snprintf(e.message, sizeof e.message, "out of memory");
    char **shards = list_shards(c, db, &ns, primary, sizeof primary, &e);
    size_t moved = 0;
    for (size_t i = 0; shards && ns > 1 && primary[0] && i < n; i++) {
        const char *to = shards[(i + 1) % ns];
        if (strcmp(to, primary) == 0)
            continue;
        bson_t cmd;
        sfl_shard_cmd_move(&cmd, db, staging, at[i], to);
        bool ok = admin(c, &cmd, NULL, staging, &e);
        bson_destroy(&cmd);
        if (!ok) {
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "%s: moving the chunk at xpos %lld to shard %s failed (%s); the remaining "
                     "chunks stay on shard %s and the balancer, if running, spreads them",
                     staging, (long long)at[i], to, e.message, primary);
            break;
        }
        moved++;
    }
    if (!shards || ns < 2 || !primary[0])
        sfl_logf(log, log_ud, SFL_LOG_WARNING,
                 "%s: its chunks were not spread (%s); they stay on the primary shard",
                 staging, !shards ? e.message : ns < 2 ? "the cluster has one shard"
                                                       : "the database's primary is unknown");
    else
        sfl_logf(log, log_ud, SFL_LOG_INFO, "%s: %zu chunk(s) moved over %zu shards", staging,
                 moved, ns);
    free_names(shards, ns);
}

bool sfl_shard_staging(mongoc_client_t *c, const char *db, const char *staging, int collection,
                       int shard_key, const sfl_manifest_t *plan, sfl_log_fn log, void *log_ud,
                       sfl_error_t *err)
{
    size_t nr = sfl_manifest_n_regions(plan);
    sfl_manifest_region_t *regs = nr ? calloc(nr, sizeof *regs) : NULL;
    if (nr && !regs)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nr; i++)
        regs[i] = *sfl_manifest_region(plan, i);
    bool ok = sfl_shard_staging_regions(c, db, staging, collection, shard_key, regs, nr, log,
                                        log_ud, err);
    free(regs);
    return ok;
}

bool sfl_shard_staging_regions(mongoc_client_t *c, const char *db, const char *staging,
                               int collection, int shard_key,
                               const sfl_manifest_region_t *regs, size_t nr, sfl_log_fn log,
                               void *log_ud, sfl_error_t *err)
{
    if (shard_key == SFL_SHARD_NONE || !sfl_shard_sharded(collection))
        return true;
    bson_t cmd;
    sfl_shard_cmd_enable(&cmd, db);
    bool ok = admin(c, &cmd, NULL, "enableSharding", err);
    bson_destroy(&cmd);
    if (!ok)
        return false;
    sfl_shard_cmd_collection(&cmd, db, staging, shard_key);
    ok = admin(c, &cmd, NULL, staging, err);
    bson_destroy(&cmd);
    if (!ok || shard_key != SFL_SHARD_RANGE) {
        if (ok)
            sfl_logf(log, log_ud, SFL_LOG_INFO, "%s: sharded on {_id: \"hashed\"}", staging);
        return ok;
    }
    int64_t *at;
    size_t n;
    ok = sfl_shard_split_points(regs, nr, &at, &n);
    if (!ok)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; ok && i < n; i++) {
        sfl_shard_cmd_split(&cmd, db, staging, at[i]);
        ok = admin(c, &cmd, NULL, staging, err);
        bson_destroy(&cmd);
    }
    if (ok) {
        sfl_logf(log, log_ud, SFL_LOG_INFO, "%s: sharded on {xpos: 1}, split at %zu point(s)",
                 staging, n);
        spread_chunks(c, db, staging, at, n, log, log_ud);
    }
    free(at);
    return ok;
}

int sfl_shard_key_index(mongoc_client_t *c, const char *db, const char *coll,
                        const bson_value_t *key)
{
    if (!key || key->value_type != BSON_TYPE_DOCUMENT)
        return 0;
    char ns[512];
    ns_of(ns, sizeof ns, db, coll);
    mongoc_collection_t *cc = mongoc_client_get_collection(c, "config", "collections");
    bson_t filter;
    bson_init(&filter);
    BSON_APPEND_UTF8(&filter, "_id", ns);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(cc, &filter, NULL, NULL);
    const bson_t *doc;
    int found = 0;
    bson_iter_t it;
    if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "key") &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_iter_document(&it, &len, &data);
        found = len == key->value.v_doc.data_len &&
                memcmp(data, key->value.v_doc.data, len) == 0;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    mongoc_collection_destroy(cc);
    return found;
}

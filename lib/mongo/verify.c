/* mongo/verify.c: checking a live database against a manifest.
 *
 * The same comparison as a dump's (verify.c), with each collection read by
 * a full scan, and then the indexes: every index the manifest names must
 * be on the server with the same key and no option the definition does
 * not have (a browser without its indexes crawls; a hidden, partial,
 * sparse or TTL index hides or deletes documents: index_check.c), and no
 * other (`index unlisted`). Every browser collection in
 * the database must be one the manifest lists (`unlisted` otherwise, with
 * its count): nothing in it goes unaccounted for. The report names the
 * manifest used. Without a manifest, the manifest in force is used: for a
 * database loaded in parts, each collection as the last complete load
 * that replaced it describes it (mongo/in_force.c). It never writes: an
 * unfinished swap is reported, not finished. The role and seal are read
 * by lifecycle.c (sfl_verify_mongo_opts) around this.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "index_check.h"
#include "indexes.h"
#include "mongo/lifecycle_internal.h"
#include "mongo/in_force.h"
#include "manifest_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"
#include "mongo/shard.h"
#include "verify_internal.h"

/* The document count of db.name into *count. */
static bool count_of(mongoc_client_t *c, const char *db, const char *name, int64_t *count,
                     sfl_error_t *err)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, db, name);
    bson_t filter = BSON_INITIALIZER;
    bson_error_t be;
    *count = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &be);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    return *count >= 0 || sfl_mongo_error(err, &be, NULL, name);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is `name` (not a browser collection) the loader's or the server's own:
 * swefreq_meta, system.*, or a staging leftover (*staging set)? */
static bool own_collection(const char *name, bool *staging)
{
    *staging = strncmp(name, SFL_STAGING_PREFIX, strlen(SFL_STAGING_PREFIX)) == 0;
    return *staging || !strcmp(name, "swefreq_meta") || !strncmp(name, "system.", 7);
}

/* Every collection in the database (`names`, from listCollections) that
 * the manifest does not list: `unlisted`, with its document count; the
 * browser's first, in their order, then any other by name (`zzz`, or
 * `variants` with an invisible character: nothing in the database goes
 * unaccounted for). swefreq_meta and system.* are not reported; a staging
 * collection a load left is a warning. */
static bool check_unlisted_collections(mongoc_client_t *c, const char *db, char **names,
                                       const sfl_manifest_t *m, sfl_verify_report_t *r,
                                       sfl_error_t *err)
{
    int64_t count;
    for (int k = 0; k < SFL_N_COLLECTIONS; k++) {
        const char *name = sfl_collection_name((sfl_collection_t)k);
        bool present = false;
        for (char **n = names; *n && !present; n++)
            present = strcmp(*n, name) == 0;
        if (!present || sfl_manifest_find_collection(m, name))
            continue;
        if (!count_of(c, db, name, &count, err))
            return false;
        if (!sfl_verify_add_unlisted(r, name, (uint64_t)count))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    size_t n = 0;
    while (names[n])
        n++;
    char **sorted = malloc((n + 1) * sizeof *sorted);
    if (!sorted)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, name_cmp);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const char *name = sorted[i];
        bool staging;
        bool browser = false;
        for (int k = 0; k < SFL_N_COLLECTIONS && !browser; k++)
            browser = !strcmp(name, sfl_collection_name((sfl_collection_t)k));
        if (browser)
            continue; /* above, or checked */
        bool own = own_collection(name, &staging);
        if (own && !staging)
            continue;
        ok = count_of(c, db, name, &count, err);
        char msg[600];
        if (ok && staging)
            snprintf(msg, sizeof msg,
                     "collection %s: a staging collection (%lld documents) left by a load "
                     "that did not finish, or one running now; not part of the browser's data",
                     name, (long long)count);
        if (ok && !(staging ? sfl_verify_add_warning(r, msg)
                            : sfl_verify_add_unlisted(r, name, (uint64_t)count)))
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    free(sorted);
    return ok;
}

typedef struct {
    sfl_verify_report_t *r;
    const char *coll, *where;
} found_ctx_t;

static bool add_found(void *ud, const char *index, sfl_verify_status_t st, const char *what)
{
    const found_ctx_t *c = ud;
    return sfl_verify_add_index_found(c->r, c->coll, index, st, what, c->where);
}

/* Compares the indexes on db.name, each whole spec (key and options),
 * with the manifest's definitions (index_check.c). */
static bool check_indexes(mongoc_client_t *c, const char *db, const sfl_manifest_t *m,
                          const char *name, sfl_verify_report_t *r, sfl_error_t *err)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, db, name);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    bson_t have = BSON_INITIALIZER; /* the specs, as listIndexes gives them */
    const bson_t *doc;
    uint32_t i = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t key;
        if (bson_iter_init_find(&key, doc, "key") &&
            sfl_shard_key_index(c, db, name, bson_iter_value(&key)) == 1)
            continue; /* the index shardCollection made (mongo/shard.h) */
        char k[16];
        snprintf(k, sizeof k, "%u", i++);
        BSON_APPEND_DOCUMENT(&have, k, doc);
    }
    bson_error_t be;
    bool ok = !mongoc_cursor_error(cur, &be) || sfl_mongo_error(err, &be, NULL, name);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    bson_t want;
    sfl_expected_indexes(m, name, &want);
    char where[300];
    snprintf(where, sizeof where, "the database %s", db);
    found_ctx_t ctx = {r, name, where};
    if (ok && !sfl_index_specs_compare(&have, &want, true, add_found, &ctx))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bson_destroy(&want);
    bson_destroy(&have);
    return ok;
}

sfl_verify_report_t *sfl_verify_mongo_client(mongoc_client_t *c, const sfl_manifest_t *m,
                                             const char *db, bool check_sources,
                                             sfl_error_t *err)
{
    sfl_manifest_t *own = NULL;
    char pending[48];
    int rc = sfl_swap_pending(c, db, pending, err);
    if (rc != 0) {
        if (rc > 0)
            sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SWAP_PENDING,
                          "%s: the swap of load %s was cut short (a crash or kill during the "
                          "swap): the browser's collections may be mixed or missing. Run "
                          "`swefreq-load recover` (or any load) to finish it; verify changed "
                          "nothing",
                          db, pending);
        return NULL;
    }
    char **ids = NULL;
    size_t n_ids = 0;
    if (!m && !(m = own = sfl_manifest_in_force(c, db, &ids, &n_ids, err)))
        return NULL;
    sfl_verify_report_t *r = sfl_verify_report_new();
    bool ref_ok = r && sfl_verify_set_manifest(r, m) &&
                  (own ? sfl_verify_set_reference(r, "database", NULL,
                                                       (const char *const *)ids, n_ids)
                            : sfl_verify_set_given(r, m));
    for (size_t i = 0; i < n_ids; i++)
        free(ids[i]);
    free(ids);
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    bool ok = ref_ok && names;
    if (!names)
        sfl_mongo_error(err, &be, NULL, "listCollections");
    else if (!ref_ok)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(m); i++)
        sfl_ctl_add_total(sfl_manifest_collection(m, i)->bytes);
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *e = sfl_manifest_collection(m, i);
        bool found = false;
        for (char **n = names; *n && !found; n++)
            found = strcmp(*n, e->name) == 0;
        sfl_digest_t dg;
        sfl_digest_init_kind(&dg, sfl_manifest_digest_kind(e));
        if (found && !sfl_mongo_scan_digest(c, db, e->name, sfl_manifest_digest_kind(e), &dg, err))
            ok = false;
        else
            ok = sfl_verify_add_collection(r, e, found, &dg);
        if (ok && found)
            ok = check_indexes(c, db, m, e->name, r, err);
    }
    ok = ok && check_unlisted_collections(c, db, names, m, r, err);
    if (ok && check_sources)
        ok = sfl_verify_sources(r, m, err);
    if (ok && sfl_cancel_requested(sfl_ctl_cancel_handle()))
        ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED, "interrupted while verifying");
    bson_strfreev(names);
    mongoc_database_destroy(d);
    sfl_manifest_destroy(own);
    if (!ok) {
        sfl_verify_report_destroy(r);
        return NULL;
    }
    return r;
}

sfl_verify_report_t *sfl_verify_mongo(const sfl_manifest_t *m, const char *uri, const char *db,
                                      bool check_sources, sfl_error_t *err)
{
    return sfl_verify_mongo_ctl(m, uri, db, check_sources, NULL, err);
}

sfl_verify_report_t *sfl_verify_mongo_ctl(const sfl_manifest_t *m, const char *uri,
                                          const char *db, bool check_sources,
                                          const sfl_run_control_t *ctl, sfl_error_t *err)
{
    sfl_ctl_t k;
    if (!sfl_ctl_begin(&k, ctl, err))
        return NULL;
    if (!uri || !db) {
        sfl_ctl_end(&k);
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "sfl_verify_mongo: a URI and a database name are required");
        return NULL;
    }
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    if (!sfl_mongo_connect(uri, 1, &pool, &c, err)) {
        sfl_ctl_end(&k);
        return NULL;
    }
    sfl_verify_report_t *r = sfl_verify_mongo_client(c, m, db, check_sources, err);
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    sfl_ctl_end(&k);
    return r;
}

/* verify_mongo.c: checking a live database against a manifest.
 *
 * The same comparison as a dump's (verify.c), with each collection read by
 * a full scan. Without a manifest, the one recorded by the last complete
 * load in swefreq_meta is used.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_internal.h"
#include "mongo_util.h"
#include "verify_internal.h"

static sfl_manifest_t *last_manifest(mongoc_client_t *c, const char *db, sfl_error_t *err)
{
    mongoc_collection_t *meta = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    BSON_APPEND_UTF8(&filter, "status", "complete");
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "finished", -1);
    bson_append_document_end(&opts, &sort);
    BSON_APPEND_INT64(&opts, "limit", 1);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(meta, &filter, &opts, NULL);
    const bson_t *doc;
    sfl_manifest_t *m = NULL;
    bson_error_t be;
    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        const uint8_t *data;
        uint32_t len;
        bson_t man;
        if (bson_iter_init_find(&it, doc, "manifest") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_document(&it, &len, &data);
            if (bson_init_static(&man, data, len))
                m = sfl_manifest_from_bson(&man, err);
        } else {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                          "%s.%s: the last complete load has no manifest", db,
                          SFL_META_COLLECTION);
        }
    } else if (mongoc_cursor_error(cur, &be)) {
        sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    } else {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                      "%s.%s records no complete load; give --manifest FILE", db,
                      SFL_META_COLLECTION);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(meta);
    return m;
}

sfl_verify_report_t *sfl_verify_mongo(const sfl_manifest_t *m, const char *uri, const char *db,
                                      bool check_sources, sfl_error_t *err)
{
    if (!uri || !db) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "sfl_verify_mongo: a URI and a database name are required");
        return NULL;
    }
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    if (!sfl_mongo_connect(uri, 1, &pool, &c, err))
        return NULL;
    sfl_manifest_t *own = NULL;
    if (!m && !(m = own = last_manifest(c, db, err))) {
        mongoc_client_pool_push(pool, c);
        mongoc_client_pool_destroy(pool);
        return NULL;
    }
    sfl_verify_report_t *r = sfl_verify_report_new();
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    bool ok = r && names;
    if (!names)
        sfl_mongo_error(err, &be, NULL, "listCollections");
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *e = sfl_manifest_collection(m, i);
        bool found = false;
        for (char **n = names; *n && !found; n++)
            found = strcmp(*n, e->name) == 0;
        sfl_digest_t dg;
        sfl_digest_init(&dg);
        if (found && !sfl_mongo_scan_digest(c, db, e->name, &dg, err))
            ok = false;
        else
            ok = sfl_verify_add_collection(r, e, found, &dg);
    }
    if (ok && check_sources)
        ok = sfl_verify_sources(r, m);
    bson_strfreev(names);
    mongoc_database_destroy(d);
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    sfl_manifest_destroy(own);
    if (!ok) {
        sfl_verify_report_destroy(r);
        return NULL;
    }
    return r;
}

/* verify_mongo.c: checking a live database against a manifest.
 *
 * The same comparison as a dump's (verify.c), with each collection read by
 * a full scan. Without a manifest, the one of the load in force (the
 * "current" pointer in swefreq_meta) is used. It never writes: an
 * unfinished swap is reported, not finished.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest_internal.h"
#include "mongo_state.h"
#include "mongo_util.h"
#include "verify_internal.h"

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
        mongoc_client_pool_push(pool, c);
        mongoc_client_pool_destroy(pool);
        return NULL;
    }
    if (!m && !(m = own = sfl_current_manifest(c, db, err))) {
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

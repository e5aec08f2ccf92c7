/* mongo/sink_staging.c: the MongoDB sink's staging collections at the commit:
 * building the browser's indexes on them (those a resumed load still
 * lacks), the verifying scan that checks each one's count and digest
 * against the manifest, and dropping them when a load is aborted. Each
 * command runs through call() (mongo/sink_insert.c).
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "indexes.h"
#include "manifest_internal.h"
#include "mongo/client.h"
#include "mongo/sink_internal.h"
#include "swefreq/swefreq.h"

/* Builds the browser's indexes that the staging collection lacks (all of
 * them, but for a resumed load, whose earlier attempt may have built some). */
bool sfl_msink_create_indexes_fn(call_t *k, mongoc_client_t *client)
{
    mongo_sink_t *m = k->m;
    return sfl_mongo_create_indexes(client, m->db, m->staging[k->coll], k->coll,
                                    m->stats.resumed, m->wc, &k->err);
}

static bool scan_fn(call_t *k, mongoc_client_t *client)
{
    return sfl_mongo_scan_digest(client, k->m->db, k->m->staging[k->coll],
                                 (sfl_digest_kind_t)k->digest.kind, &k->digest, &k->err);
}

bool sfl_msink_drop_fn(call_t *k, mongoc_client_t *client)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(client, k->m->db,
                                                             k->m->staging[k->coll]);
    bson_error_t be;
    mongoc_collection_drop(coll, &be);
    mongoc_collection_destroy(coll);
    return true;
}

/* The staging collections hold exactly what the manifest says. */
bool sfl_msink_check_staging(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err)
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!m->used[c])
            continue;
        const sfl_manifest_collection_t *e =
            sfl_manifest_find_collection(man, sfl_collection_name((sfl_collection_t)c));
        if (!e)
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "the manifest has no collection %s",
                                 sfl_collection_name((sfl_collection_t)c));
        sfl_digest_t d;
        sfl_digest_init_kind(&d, sfl_manifest_digest_kind(e));
        if (!sfl_msink_call(m, scan_fn, c, &d, true, 0, "while checking the staging collections",
                            err))
            return false;
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_fingerprint(&d, fp);
        if (!sfl_manifest_collection_matches(e, &d))
            return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                                 "staging collection %s does not match what was sent: %llu "
                                 "documents (digest %s), expected %llu (digest %s); the "
                                 "browser's collections were not changed",
                                 m->staging[c], (unsigned long long)d.count, fp,
                                 (unsigned long long)e->count, e->fingerprint);
    }
    return true;
}

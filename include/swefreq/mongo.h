/* swefreq/mongo.h: loading into MongoDB, and verifying a live database.
 *
 * The MongoDB sink never makes a half-loaded collection visible: documents
 * go to staging collections (swefreq_staging_<load id>_<collection>) by K
 * inserter threads (unordered, acknowledged bulk inserts, each thread with
 * its own client from one mongoc_client_pool_t); on commit the browser's
 * indexes are built there, the staging data is verified against the
 * manifest by scanning it, and only then is each staging collection renamed
 * over the browser's collection (atomically, renameCollection with
 * dropTarget, where the server supports it). Other collections are never
 * touched. Each load is recorded in `swefreq_meta` with its manifest and
 * status (loading, complete, failed). Leftover staging collections of
 * earlier, interrupted loads are dropped by the next load.
 *
 * Thread safety: a sink is driven from one thread (sfl_job_run); it runs
 * its own inserter threads inside. Credentials in the URI never appear in
 * any message, log or manifest.
 */
#ifndef SWEFREQ_MONGO_H
#define SWEFREQ_MONGO_H

#include "swefreq/job.h"
#include "swefreq/manifest.h"
#include "swefreq/verify.h"
#include "swefreq/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t struct_size;          /* set by sfl_mongo_options_init           */
    const char *uri;             /* any libmongoc URI; borrowed during _new  */
    const char *db;              /* database name                            */
    int insert_threads;          /* K inserter threads; default 2            */
    const char *write_concern;   /* "1" (default), "majority" or a number    */
    size_t batch_bytes;          /* BSON bytes per insert batch; 4 MiB       */
    uint32_t batch_docs;         /* documents per insert batch; 2000         */
    int queue_batches;           /* batches waiting per thread; default 2    */
    int max_retries;             /* transient network errors; default 3      */
    sfl_log_fn log;              /* NULL = dropped                           */
    void *log_ud;
} sfl_mongo_options_t;

SFL_API void sfl_mongo_options_init(sfl_mongo_options_t *o);

/* Connects (checking that the server answers and the credentials work) and
 * returns the sink; NULL with err on failure (SFL_E_SERVER_UNREACHABLE,
 * SFL_E_SERVER_AUTH, SFL_E_USAGE for a bad URI, ...). */
SFL_API sfl_sink_t *sfl_sink_mongo_new(const sfl_mongo_options_t *o, sfl_error_t *err) SFL_WUR;

/* Verifies database `db` against `m`, or, when `m` is NULL, against the
 * manifest of the last complete load recorded in swefreq_meta. Each
 * collection is scanned and each document re-canonicalised and digested.
 * With `check_sources`, the source files are re-hashed too. */
SFL_API sfl_verify_report_t *sfl_verify_mongo(const sfl_manifest_t *m, const char *uri,
                                              const char *db, bool check_sources,
                                              sfl_error_t *err) SFL_WUR;

/* The URI with any password replaced by "***" (malloc'd; free() it), for
 * messages. NULL only when out of memory. */
SFL_API char *sfl_uri_redact(const char *uri);

#ifdef __cplusplus
}
#endif
#endif

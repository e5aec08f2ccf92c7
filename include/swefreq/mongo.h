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
 * status (loading, swapping, complete, failed, interrupted).
 *
 * One load per database at a time: a load takes the database's lock (a
 * document {_id: "lock"} in swefreq_meta) before it writes anything, keeps
 * it fresh with a heartbeat every SFL_LOCK_HEARTBEAT_SECONDS and deletes it
 * at its end. A second load is refused (SFL_E_LOCKED, naming the holder)
 * unless the holder's heartbeat is older than the stale timeout, or
 * break_lock is set. Only the holder of the lock drops leftover staging
 * collections, finishes a journalled swap (see sfl_mongo_recover) and
 * marks dead loads "interrupted".
 *
 * Before its first rename a load journals the swap in its record (status
 * "swapping", the verified manifest, the renames), so a swap cut short by a
 * crash is finished by the next load or by sfl_mongo_recover, never left
 * mixed. The swap points {_id: "current"} at the load in force.
 *
 * Cancellation: sfl_job_cancel() reaches the sink. Before the swap it
 * stops within about a second even when the server does not answer: the
 * command at hand (an insert, an index build, the staging scan) is left to
 * the server on a helper thread that keeps a client and the sink's memory
 * until the server answers or the process ends. Once the swap has begun it
 * is finished first; sfl_sink_mongo_outcome() then says SWAPPED.
 *
 * Thread safety: a sink is driven from one thread (sfl_job_run); it runs
 * its own inserter, heartbeat and helper threads inside (with every signal
 * blocked). sfl_sink_destroy() waits up to 2 s for them.
 *
 * The log callback (o->log) is only ever called on the thread that calls
 * sfl_sink_mongo_new() and sfl_job_run(), as job.h promises. What the
 * sink's own threads have to say (an insert retried, the lock lost) is
 * queued and handed over there: before the next message of that thread,
 * at the next batch, and at the end of the sink's begin, commit and abort.
 * A helper thread left behind after a cancellation that speaks after the
 * run ended is not heard (its message is freed with the sink). Credentials in the URI never appear in
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

/* Lifetimes: every string is read during the call that takes the options
 * (sfl_sink_mongo_new, sfl_mongo_restore_new, ...) and copied if kept;
 * the caller may free or reuse it as soon as that call returns. Only
 * log_ud (with log) is kept as given: it must stay valid until the sink
 * (or restore) is destroyed. Numbers out of the ranges below are refused
 * with SFL_E_USAGE naming the option, never clamped; batch_bytes is only
 * lowered, to half the server's maximum message size, when the server
 * cannot take it. */
typedef struct {
    size_t struct_size;          /* set by sfl_mongo_options_init           */
    const char *uri;             /* any libmongoc URI                        */
    const char *db;              /* database name                            */
    int insert_threads;          /* K inserter threads; default 2; 1 to 64   */
    const char *write_concern;   /* "1" (default), "majority" or a number    */
    size_t batch_bytes;          /* BSON bytes per insert batch; 4 MiB;
                                    1 KiB to 1 GiB                           */
    uint32_t batch_docs;         /* documents per insert batch; 2000;
                                    1 to 1000000                             */
    int queue_batches;           /* batches waiting per thread; default 2;
                                    1 to 8                                   */
    int max_retries;             /* transient network errors; default 3;
                                    0 to 20                                  */
    sfl_log_fn log;              /* NULL = dropped                           */
    void *log_ud;
    int lock_stale_seconds;      /* a lock whose heartbeat is older is taken
                                    over; default SFL_LOCK_STALE_SECONDS;
                                    1 to 604800                              */
    bool break_lock;             /* take the lock even from a live holder
                                    (recorded in the load record)            */
    const char *manifest_path;   /* NULL, or where the sink writes the
                                    manifest: as PATH.partial before the swap,
                                    renamed to PATH after it; copied          */
    int expect_role;             /* sfl_role_t (swefreq/lifecycle.h): refuse
                                    (SFL_E_ROLE) a database of another role,
                                    before any other read or write; 0 = any */
    int role;                    /* sfl_role_t a new database gets at its
                                    first load or restore; 0 = expect_role,
                                    else development                        */
    /* Added later; struct_size tells which of these a caller knows. */
    bool resume;                 /* continue an interrupted load instead of
                                    starting a new one (see "Resuming")      */
    const char *resume_load_id;  /* with resume: that load; NULL = the newest
                                    load of the database                      */
    int record_ms;               /* how often the acknowledged position is
                                    recorded in the load record; default
                                    10000 (ms); 1 to 86400000                 */
    const struct sfl_trusted_keys *trusted_keys; /* swefreq/sign.h: restore
                                    refuses a dump whose manifest no key of
                                    the set signed; NULL or empty = no check;
                                    borrowed during the call              */
    int shard_key;               /* sfl_shard_key_t: SFL_SHARD_NONE (0), or
                                    create the staging collections sharded
                                    on a sharded cluster (see "Sharded
                                    clusters" below and docs/scale.md)     */
    uint64_t release_number;     /* export: 0, or the release's sequence
                                    number, written into manifest.json as
                                    "release" (docs/manifest.md, Releases);
                                    restore and promote then refuse
                                    (SFL_E_RELEASE) a release not newer than
                                    the one the database records           */
    const char *release_db;      /* export with release_number: the database
                                    the release is for; NULL = db          */
    const char *group;           /* a part of partitioned load `group`
                                    (swefreq/group.h): the sink loads part
                                    `part` into the group's staging and
                                    records the part instead of swapping;
                                    NULL = an ordinary load               */
    int part;                    /* with group: 1..N                       */
    const char *group_id;        /* with group: NULL, or the id of the plan
                                    the job was restricted with
                                    (sfl_group_plan_id); a group planned
                                    again since is refused                */
    const char *restore_manifest; /* restore: NULL (the dump's manifest.json),
                                    or a manifest file read once in its
                                    place: its signature (FILE.sig), its
                                    release and every count and digest are
                                    checked from that one reading, and the
                                    dump's manifest.json must be byte for
                                    byte the same (else SFL_E_MISMATCH
                                    before anything is written); see
                                    sfl_mongo_restore (swefreq/lifecycle.h) */
    int scan_threads;            /* finish (swefreq/group.h): threads of
                                    the scan by ranges of xpos, each with
                                    its own client; default 2; 1 to 64    */
    int scan_mode;               /* sfl_scan_mode_t: how finish verifies
                                    variants, base_coverage and dbsnp;
                                    default SFL_SCAN_AUTO                 */
} sfl_mongo_options_t;

/* How sfl_mongo_group_finish scans the staging collections that have an
 * xpos index (variants, base_coverage, dbsnp) to verify them. A range
 * scan reads each range of xpos (cut where the plan's regions change
 * part) with its own find, on o->scan_threads threads: on a server that
 * serves the ranges from the xpos index (a mongod, a sharded cluster's
 * shards) the scan spreads over the threads and shards; on one that does
 * not (FerretDB on SQLite) each range reads the whole collection. Either
 * way the result is checked as strictly: every document counted once, the
 * digest equal to the merged manifest's. */
typedef enum {
    SFL_SCAN_AUTO = 0,   /* per collection, `explain` one range's find: by
                            ranges when the winning plan scans the xpos
                            index, else (or when explain fails or is not
                            understood) in one pass                       */
    SFL_SCAN_RANGED = 1, /* by ranges, whatever the server's plan          */
    SFL_SCAN_SINGLE = 2  /* one pass over each collection, as a load does  */
} sfl_scan_mode_t;

/* Sharded clusters (o->shard_key, docs/scale.md). With SFL_SHARD_HASHED
 * or SFL_SHARD_RANGE a load (and anything else that creates staging
 * collections with these options) first checks, before it takes the lock
 * or writes anything: the server must be a mongos (its hello reply's msg
 * is "isdbgrid") of MongoDB 5.0 or later (the swap renames sharded
 * collections with dropTarget), and no browser collection the load
 * replaces may have zones (config.tags: a rename onto a zoned collection
 * fails). Any of these refuses the load with SFL_E_SHARDING
 * (SFL_DOMAIN_STATE) and nothing is written. Then each staging collection
 * of variants, base_coverage and dbsnp is sharded right after it is
 * created, before any insert: hashed on {_id: "hashed"}, or by range on
 * {xpos: 1}, split at every region boundary of the run (at every
 * contig's start when it reads whole files) and its chunks spread over
 * the shards (moveChunk, round robin). genes, transcripts, exons and
 * metrics (small) stay unsharded on the database's primary shard. The
 * balancer is never started or stopped. */
typedef enum {
    SFL_SHARD_NONE = 0,
    SFL_SHARD_HASHED = 1, /* {_id: "hashed"}                                */
    SFL_SHARD_RANGE = 2   /* {xpos: 1}, pre-split at the regions' bounds    */
} sfl_shard_key_t;

/* The holder of the lock refreshes its heartbeat this often... */
#define SFL_LOCK_HEARTBEAT_SECONDS 5
/* ...and a lock whose heartbeat is older than this is stale (default of
 * lock_stale_seconds). Clocks of the loading hosts must agree within it. */
#define SFL_LOCK_STALE_SECONDS 60

SFL_API void sfl_mongo_options_init(sfl_mongo_options_t *o);

/* Connects (checking that the server answers and the credentials work) and
 * returns the sink; NULL with err on failure (SFL_E_SERVER_UNREACHABLE,
 * SFL_E_SERVER_AUTH, SFL_E_USAGE for a bad URI, ...). */
SFL_API sfl_sink_t *sfl_sink_mongo_new(const sfl_mongo_options_t *o, sfl_error_t *err) SFL_WUR;

/* What a MongoDB sink did to the browser's collections, for a caller that
 * must say so after sfl_job_run(): unchanged (any failure before the swap),
 * swapped (the new data is live: also after a signal during the swap,
 * when the run returns SFL_E_CANCELLED), or swap pending (the swap began,
 * a rename failed; it is journalled and sfl_mongo_recover or the next load
 * finishes it). UNCHANGED for a sink that is not a MongoDB sink. */
typedef enum {
    SFL_MONGO_UNCHANGED = 0,
    SFL_MONGO_SWAPPED = 1,
    SFL_MONGO_SWAP_PENDING = 2
} sfl_mongo_outcome_t;
SFL_API sfl_mongo_outcome_t sfl_sink_mongo_outcome(const sfl_sink_t *sink);

/* Resuming (o->resume). The load to continue is o->resume_load_id, or
 * the newest load record of the database; it must be "loading" (its
 * process died), "interrupted" or "swapping", else the sink's begin
 * refuses (SFL_DOMAIN_STATE, SFL_E_MANIFEST) and nothing is written. The
 * job must have the same sources, in the same order, with the same bytes
 * (SHA-256; a load begun by a version that wrote format 1 is not
 * resumed), and the same document-shaping options (style, histograms,
 * coverage_step, csq_field, csq_format, vep_features, genome) as recorded
 * when that load began; any difference is refused the same way, naming
 * it. The resumed load keeps its id and staging collections, takes the
 * lock like any load, and re-reads every source from its first byte: the
 * digests of the manifest come from the files, never from the staging.
 * Batches that end at or before the acknowledged position recorded by the
 * earlier attempt (source index, BGZF virtual offset) are not sent; every
 * later batch is sent, and a duplicate-key error on one of its documents
 * (stored by the earlier attempt but not acknowledged in its record) is
 * absorbed and counted. Indexes are then (re)built, the staging is
 * scanned in full (count and digest against the manifest) and swapped in
 * as by any load. A load whose swap was journalled is finished by the
 * recovery at begin; its writes are then all skipped and the commit
 * checks that the files give the recorded manifest's digests. */
typedef struct {
    size_t struct_size;       /* sizeof(sfl_mongo_resume_stats_t): see
                                 SFL_FILLED_HAS in swefreq/export.h         */
    bool resumed;             /* this sink continued an earlier load        */
    char load_id[48];         /* the load's id (new or continued)           */
    int attempt;              /* 0 for a new load, 1 for its first resume... */
    bool swap_finished;       /* the load's journalled swap was finished at
                                 begin: nothing was sent                    */
    uint64_t skipped;         /* documents not sent: acknowledged before    */
    uint64_t sent;            /* documents sent by this attempt             */
    uint64_t resent;          /* of those, ones an earlier attempt had sent
                                 (as far as its record says)                */
    uint64_t absorbed;        /* duplicate-key errors absorbed (documents
                                 already stored by an earlier attempt)      */
} sfl_mongo_resume_stats_t;

/* The figures above, for a MongoDB sink (false for any other sink, or an
 * out->struct_size too small). Read after sfl_job_run() returns. */
SFL_API bool sfl_sink_mongo_resume_stats(const sfl_sink_t *sink, sfl_mongo_resume_stats_t *out);

/* The plan (options and sources, as a manifest without collection
 * figures) of the load o->resume would continue, for a caller that takes
 * the sources from the record; its id in load_id (size 48, may be NULL).
 * NULL with err when there is nothing to resume (SFL_E_MANIFEST) or on a
 * server error. Destroy it with sfl_manifest_destroy. Takes no lock. */
SFL_API sfl_manifest_t *sfl_mongo_resume_plan(const sfl_mongo_options_t *o, char load_id[48],
                                              sfl_error_t *err) SFL_WUR;

/* What sfl_mongo_recover did. */
typedef struct {
    size_t struct_size;       /* sizeof(sfl_mongo_recovery_t): see
                                 SFL_FILLED_HAS in swefreq/export.h           */
    char finished_load[48];   /* the load whose swap was finished; "" if none */
    char renamed[256];        /* collections renamed to finish it ("a, b")    */
    unsigned staging_dropped; /* leftover staging collections dropped          */
    unsigned interrupted;     /* dead loads marked "interrupted"               */
    bool took_over;           /* a stale (or, with break_lock, live) lock was taken */
} sfl_mongo_recovery_t;

/* Brings database o->db to a settled state, as every load does first:
 * takes the lock (o->lock_stale_seconds, o->break_lock; SFL_E_LOCKED if a
 * live load holds it), finishes a journalled swap (renames what is left,
 * points "current" at the load, marks it complete), drops leftover staging
 * collections, marks dead loads "interrupted", and releases the lock.
 * Uses o->uri, o->db, o->log, o->lock_stale_seconds and o->break_lock.
 * `out` may be NULL; else set out->struct_size first. */
SFL_API bool sfl_mongo_recover(const sfl_mongo_options_t *o, sfl_mongo_recovery_t *out,
                               sfl_error_t *err) SFL_WUR;

/* Verifies database `db` against `m`, or, when `m` is NULL, against the
 * manifest of the load in force (the one {_id: "current"} in swefreq_meta
 * points to; for databases loaded before it existed, the last complete
 * load). An unfinished swap is reported (SFL_E_SWAP_PENDING) and nothing
 * is changed. Each
 * collection is scanned and each document re-canonicalised and digested.
 * Every index the manifest names must be there with its key, and no other
 * (`index unlisted`; `_id_` aside); every collection in the database
 * must be listed by the manifest, else it is reported `unlisted` with its
 * document count, except swefreq_meta and system.* (not reported) and a
 * staging collection a load left (swefreq_staging_*: a warning). The
 * report says which manifest it checked against
 * (sfl_verify_report_reference). With `check_sources`, the source files
 * are re-hashed too. */
SFL_API sfl_verify_report_t *sfl_verify_mongo(const sfl_manifest_t *m, const char *uri,
                                              const char *db, bool check_sources,
                                              sfl_error_t *err) SFL_WUR;

/* The same with progress and cancellation (`ctl` may be NULL; see
 * sfl_run_control_t in job.h): a cancelled verification returns NULL
 * with SFL_E_CANCELLED. */
SFL_API sfl_verify_report_t *sfl_verify_mongo_ctl(const sfl_manifest_t *m, const char *uri,
                                                  const char *db, bool check_sources,
                                                  const sfl_run_control_t *ctl,
                                                  sfl_error_t *err) SFL_WUR;

/* The URI with its password and the value of every option but a few
 * harmless ones (authSource, replicaSet, tls, timeouts, appname, ...)
 * replaced by "***" (malloc'd; free() it), for messages: option names are
 * shown, values such as authMechanismProperties (an AWS session token) or
 * tlsCertificateKeyFilePassword never. NULL only when out of memory.
 * Thread safe. */
SFL_API char *sfl_uri_redact(const char *uri);

/* true when the URI carries a password or the value of a credential option
 * (authMechanismProperties, any option whose name contains "password",
 * "token" or "secret"): such a URI must not be passed on a command line.
 * NULL: false. Thread safe. */
SFL_API bool sfl_uri_has_secret(const char *uri);

#ifdef __cplusplus
}
#endif
#endif

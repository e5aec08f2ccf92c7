/* mongo_state.h: the database's own state in swefreq_meta: the load lock,
 * the swap journal and the pointer to the load in force. Private to the
 * library; see mongo/state.c for the documents. */
#ifndef SFL_MONGO_STATE_H
#define SFL_MONGO_STATE_H

#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

#define SFL_LOCK_ID "lock"       /* _id of the lock document               */
#define SFL_CURRENT_ID "current" /* _id of the pointer to the load in force */

/* Who holds (or held) the lock, as read from its document. */
typedef struct {
    char load_id[48];
    char command[32];
    char host[128];
    int64_t pid;
    int64_t started_ms, heartbeat_ms; /* client clock, ms since the epoch */
    char group[72];        /* a partitioned load's group holds it ("": no) */
    int64_t lease_seconds; /* the group's lease (0: the stale timeout)     */
} sfl_lock_holder_t;

typedef struct {
    const char *load_id; /* the holder's id                            */
    const char *command; /* "load", "recover"                           */
    int stale_seconds;   /* > 0; a heartbeat older than this is stale   */
    bool break_lock;     /* take it even when its heartbeat is fresh    */
    sfl_log_fn log;
    void *log_ud;
} sfl_lock_request_t;

/* Reads the lock document into *h; 1 found, 0 none, -1 error. */
/* The first document of swefreq_meta `m` matching filter (sorted by opts,
 * which may be NULL), copied into *out (initialised only when found;
 * bson_destroy it): 1 found, 0 none, -1 error in err. */
int sfl_meta_find_one(mongoc_collection_t *m, const bson_t *filter, const bson_t *opts,
                      bson_t *out, sfl_error_t *err);
int sfl_lock_read(mongoc_client_t *c, const char *db, sfl_lock_holder_t *h, sfl_error_t *err);

int64_t sfl_now_ms(void);

/* Takes the lock of db: an insert (a lock a group holds is stale only
 * after its lease, and refusals name the group) of {_id: "lock", ...} that fails on a
 * duplicate key while another holder's heartbeat is fresh (SFL_E_LOCKED,
 * naming the holder). A stale lock, or any lock with break_lock, is taken
 * over with a conditional replace; then *took_over is true and *prev
 * describes the old holder. */
bool sfl_lock_acquire(mongoc_client_t *c, const char *db, const sfl_lock_request_t *rq,
                      bool *took_over, sfl_lock_holder_t *prev, sfl_error_t *err);
/* The same for partitioned load `group` (mongo/group.c), whose lock is
 * stale only after `lease_seconds` without a heartbeat. */
bool sfl_lock_acquire_group(mongoc_client_t *c, const char *db, const sfl_lock_request_t *rq,
                            const char *group, int lease_seconds, bool *took_over,
                            sfl_lock_holder_t *prev, sfl_error_t *err);
/* Refreshes the heartbeat. Returns 1 when refreshed, 0 when the lock is no
 * longer ours (taken over or broken), -1 on a server error. */
int sfl_lock_heartbeat(mongoc_client_t *c, const char *db, const char *load_id);
/* Deletes the lock if it is still ours; best effort. */
void sfl_lock_release(mongoc_client_t *c, const char *db, const char *load_id);

/* Renames staging over target: atomically with dropTarget where the server
 * has it, else drop then rename (where `ferretdb`, or the server refuses
 * dropTarget). A missing staging collection is an error; nothing is dropped
 * then. */
bool sfl_mongo_rename_over(mongoc_client_t *c, const char *db, const char *staging,
                           const char *target, bool ferretdb, sfl_log_fn log, void *log_ud,
                           sfl_error_t *err);

/* Finishes the swap journalled in load record `load_id` (status
 * "swapping"): renames what is left, points "current" at the load, marks
 * it complete. `swapped` (may be NULL) receives the collections renamed by
 * this call. */
bool sfl_swap_finish(mongoc_client_t *c, const char *db, const char *load_id, bool ferretdb,
                     sfl_log_fn log, void *log_ud, char *swapped, size_t swapped_size,
                     sfl_error_t *err);

/* The id of an unfinished swap (a load record with status "swapping") in
 * id (size 48); 1 if there is one, 0 if none, -1 on error. */
int sfl_swap_pending(mongoc_client_t *c, const char *db, char *id, sfl_error_t *err);

/* The manifest of the load in force: the one "current" points to, else (a
 * database loaded before "current" existed) the latest complete load. */
sfl_manifest_t *sfl_current_manifest(mongoc_client_t *c, const char *db, sfl_error_t *err);

/* A new load id (size 48): hex seconds, pid, counter. */
void sfl_mongo_load_id(char id[48]);

/* With the lock held: finishes any journalled swap, drops leftover staging
 * collections, marks "loading" records "interrupted"; counts in *out. */
bool sfl_state_recover(mongoc_client_t *c, const char *db, bool ferretdb, sfl_log_fn log,
                       void *log_ud, sfl_mongo_recovery_t *out, sfl_error_t *err);

/* As sfl_state_recover, but keeps the staging collections of load `keep`
 * (NULL: keeps none), which a resume continues. */
bool sfl_state_recover_keep(mongoc_client_t *c, const char *db, bool ferretdb, const char *keep,
                            sfl_log_fn log, void *log_ud, sfl_mongo_recovery_t *out,
                            sfl_error_t *err);

/* 1 if collection `name` exists in db, 0 if not, -1 on error. */
int sfl_mongo_has_collection(mongoc_client_t *c, const char *db, const char *name,
                             sfl_error_t *err);

/* The load record a resume continues: load `named`, or (NULL) the newest
 * load record of db. 1 with a copy in *rec (bson_destroy it); -1 with err
 * on a server error, or, refusing (SFL_DOMAIN_STATE, SFL_E_MANIFEST), when
 * there is no such load or it is not loading, interrupted or swapping. */
int sfl_resume_target(mongoc_client_t *c, const char *db, const char *named, bson_t *rec,
                      sfl_error_t *err);

/* The plan of a load record (its options and hashed sources, recorded at
 * its begin) as a manifest; NULL with err (SFL_E_MANIFEST) when absent. */
sfl_manifest_t *sfl_resume_plan_of(const bson_t *rec, const char *db, sfl_error_t *err);

#endif

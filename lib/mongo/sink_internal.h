/* mongo/sink_internal.h: the state the MongoDB sink's files share (the sink
 * is mongo/sink.c; its steps are the mongo/sink_*.c files). Private to
 * lib/mongo/; none of these functions is exported (hidden visibility, like
 * every function without SFL_API). The functions are listed by file, lowest
 * first: a file calls only the files listed before its own, never
 * mongo/sink.c. Each is described where it is defined; fields marked
 * "under lock" are read and written with m->lock held, the others belong
 * to the driving thread (the job's) unless their comment says otherwise.
 */
#ifndef SFL_MONGO_SINK_INTERNAL_H
#define SFL_MONGO_SINK_INTERNAL_H

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "mongo/lifecycle_internal.h"
#include "mongo/state.h"
#include "swefreq/swefreq.h"

typedef struct insert_job {
    struct insert_job *next;
    int collection;
    uint8_t *buf;
    size_t len, cap;
    uint32_t *off;
    size_t n, cap_n;
    int64_t end_voffset;
    uint32_t source_index;
    uint64_t seq;
} insert_job_t;

/* How long an abort waits for a server that does not answer (inserts in
 * flight, dropping the staging) before it leaves the command behind. */
#define SFL_ABANDON_SECONDS 5.0

/* Batches complete out of order; the resume point is the end of the last
 * batch before which every batch is acknowledged. A ring larger than the
 * batches that can be in flight tracks that. */
#define ACK_RING 1024

typedef struct {
    sfl_mongo_options_t o;
    sfl_sink_t *self; /* the wrapper: cancellation and the abort reason */
    int refs;         /* the sink, each helper thread (under lock)      */
    int running;      /* inserter threads still running (under lock)    */
    pthread_cond_t idle; /* running or a helper call changed            */
    /* the load lock */
    bool locked, lock_lost, hb_stop;
    pthread_cond_t hb_wake;
    bool took_over;
    sfl_lock_holder_t prev_holder;
    /* the end */
    bool committed; /* the swap was journalled: abort leaves staging alone */
    bool abandoned; /* a thread was left blocked in the server (under lock) */
    sfl_mongo_outcome_t outcome;
    char *manifest_partial;
    char *manifest_path; /* o.manifest_path, copied */
    char *uri_redacted;
    char *db;
    char load_id[48];
    mongoc_client_pool_t *pool;
    mongoc_client_t *main; /* the driving thread's client */
    mongoc_write_concern_t *wc;
    int64_t max_bson;
    bool ferretdb;
    bool used[SFL_N_COLLECTIONS];
    sfl_histograms_t histograms; /* the documents' shape, from begin */
    bool recorded; /* the load is in swefreq_meta: abort records "failed" */
    char staging[SFL_N_COLLECTIONS][128];
    char command[16];  /* "load", or "restore" (lifecycle_internal.h) */
    char *origin;      /* restore: the dump folder, for the load record */
    char release_key[65], release_sha[65]; /* restore: the signed manifest */
    bool has_claim;                /* restore: its release, checked under the lock */
    /* A part of a partitioned load (o.group; mongo/group.c): no lock of its
     * own (the group holds it; the heartbeat keeps the group's fresh), the
     * group's staging, a part record, no swap. */
    bool part;
    bool hb_running; /* the heartbeat thread runs (a load's, or a part's) */
    char group[72], group_id[48];
    bson_t part_spec;
    sfl_release_claim_t claim;

    /* the queue */
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    insert_job_t *head, *tail;
    int queued, max_queued;
    bool closing;
    bool failed;
    sfl_error_t first_error;
    insert_job_t *cur[SFL_N_COLLECTIONS];
    uint64_t inserted;
    struct timespec t0, last_meta;
    /* acknowledgement tracking (under lock) */
    uint64_t next_seq, acked_through;
    bool ack_done[ACK_RING];
    int64_t ack_voff[ACK_RING];
    uint32_t ack_src[ACK_RING];
    uint32_t ack_n[ACK_RING];
    bool have_resume;
    int64_t resume_voffset;
    uint32_t resume_source;
    uint64_t resume_docs;
    /* the last batch seen (batch_end): its offset as reported, its end */
    bool seen_any;
    uint32_t seen_source;
    int64_t seen_end, seen_pos;
    /* the end of the last batch wholly in jobs (driving thread) */
    int64_t done_voffset;
    uint32_t done_source;
    /* the end of the last batch before the batches that end where the last
     * one does (mongo_write; driving thread) */
    int64_t group_voffset;
    uint32_t group_source;
    /* the last batch handed to the inserters (under lock) */
    bool have_sent;
    int64_t sent_voffset;
    uint32_t sent_source;

    /* attempts and resuming (see "Resuming" in swefreq/mongo.h) */
    char lock_id[48];      /* this attempt's name in the lock document     */
    char resume_id[48];    /* o.resume_load_id, copied                     */
    char host[128];
    int64_t attempt_started_ms;
    bson_t prev_attempts;  /* the record's earlier attempts, as an array   */
    bool finished_before;  /* the load's journalled swap was finished at begin */
    bool taken;            /* a resume took this load over (taken_by_resume) */
    sfl_manifest_t *done_manifest; /* then: the manifest it was journalled with */
    bool skip_have;        /* an earlier attempt's acknowledged position    */
    uint32_t skip_source;
    int64_t skip_voffset;
    uint64_t skip_docs;
    bool skipping;         /* still before it                               */
    bool resent_have;      /* an earlier attempt's last recorded sent position */
    uint32_t resent_source;
    int64_t resent_voffset;
    sfl_mongo_resume_stats_t stats; /* under lock */

    /* Messages of the inserter and heartbeat threads, handed to the log
     * callback on the driving thread (job.h's promise): by the next message
     * of that thread, at each batch, and at the end of begin, commit and
     * abort. Under log_lock. */
    pthread_mutex_t log_lock;
    struct later_msg *later_head, *later_tail;
} mongo_sink_t;

typedef struct later_msg {
    struct later_msg *next;
    sfl_log_level_t level;
    char text[];
} later_msg_t;

/* On the driving thread: the queued messages first, then this one. */
#define mlog(m, lvl, ...)                                                                          \
    do {                                                                                           \
        sfl_msink_deliver_later(m);                                                                \
        sfl_logf((m)->o.log, (m)->o.log_ud, (lvl), __VA_ARGS__);                                   \
    } while (0)

/* One server command of the commit, run on a helper thread so that the
 * driving thread can stop waiting for it. Everything the command needs is
 * in the call, which the helper frees if the waiter has gone. */
typedef struct call {
    mongo_sink_t *m;
    bool (*fn)(struct call *k, mongoc_client_t *c);
    int coll;
    sfl_digest_t digest;
    bool done, ok, abandoned;
    sfl_error_t err;
} call_t;

/* mongo/sink_thread.c */
bool sfl_msink_cancelled(mongo_sink_t *m);
void sfl_msink_wait_ms(mongo_sink_t *m, pthread_cond_t *cv, long ms);
bool sfl_msink_spawn(mongo_sink_t *m, void *(*fn)(void *), void *arg);
void sfl_msink_mlog_later(mongo_sink_t *m, sfl_log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sfl_msink_deliver_later(mongo_sink_t *m);
void sfl_msink_job_free(insert_job_t *j);
bool sfl_msink_cancel_error(sfl_error_t *err, const char *when);
double sfl_msink_since(const struct timespec *t);
void sfl_msink_unref(mongo_sink_t *m);

/* mongo/sink_record.c */
bool sfl_msink_taken_by_resume(mongo_sink_t *m);
bool sfl_msink_meta_update(mongo_sink_t *m, const char *status, const sfl_manifest_t *man,
                           const sfl_error_t *error, const bson_t *extra, sfl_error_t *err);

/* mongo/sink_lock.c */
void sfl_msink_unlock_db(mongo_sink_t *m);
bool sfl_msink_lock_db(mongo_sink_t *m, sfl_error_t *err);
void sfl_msink_append_lock_info(mongo_sink_t *m, bson_t *extra);
bool sfl_msink_lost_lock(mongo_sink_t *m, sfl_error_t *err);
/* A part: the heartbeat of the group's lock, without taking it. */
bool sfl_msink_part_heartbeat(mongo_sink_t *m, sfl_error_t *err);

/* mongo/sink_insert.c */
void *sfl_msink_inserter(void *arg);
bool sfl_msink_enqueue(mongo_sink_t *m, insert_job_t *j, sfl_error_t *err);
bool sfl_msink_drain(mongo_sink_t *m, sfl_error_t *err, bool stop_on_cancel, double limit_s);
bool sfl_msink_call(mongo_sink_t *m, bool (*fn)(call_t *, mongoc_client_t *), int coll,
                    sfl_digest_t *digest, bool cancellable, double limit_s, const char *what,
                    sfl_error_t *err);

/* mongo/sink_staging.c */
bool sfl_msink_create_indexes_fn(call_t *k, mongoc_client_t *client);
bool sfl_msink_drop_fn(call_t *k, mongoc_client_t *client);
bool sfl_msink_check_staging(mongo_sink_t *m, const sfl_manifest_t *man, sfl_error_t *err);

/* mongo/sink_resume.c */
bool sfl_msink_begin_resume(mongo_sink_t *m, sfl_error_t *err);
/* The same with the record to continue (a part's; destroyed here). */
bool sfl_msink_begin_resume_rec(mongo_sink_t *m, bson_t *rec, sfl_error_t *err);
/* The staging collection of collection c: the load's, or a part's group's. */
void sfl_msink_staging_name(const mongo_sink_t *m, int c, char *out, size_t n);
bool sfl_msink_begin_new(mongo_sink_t *m, sfl_error_t *err);

/* mongo/sink_write.c */
bool sfl_msink_flush_cur(mongo_sink_t *m, int c, sfl_error_t *err);
void sfl_msink_record_progress(mongo_sink_t *m);
bool sfl_msink_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err);

/* mongo/sink_commit.c */
bool sfl_msink_commit_body(void *ctx, const sfl_manifest_t *man, sfl_error_t *err);

#endif

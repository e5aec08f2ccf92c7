/* mongo/range_scan.h: a collection's digest taken by ranges of an indexed
 * number field, on a small pool of threads, each with its own client; the
 * ranges' digests add up (LtHash16). Every document a range returns must
 * hold a number (int32, int64 or double, not NaN) in that field, inside
 * that range: the ranges are disjoint, so no document is counted twice
 * (an array in the field, which the server may match in two ranges, is
 * refused). Their counts must add up to the collection's count, so that
 * no document outside every range (a missing or non-numeric field) escapes.
 * And whether the server would serve a range from the field's index at all
 * (its `explain`): a server that would not reads the whole collection for
 * every range. Private to the library. */
#ifndef SFL_MONGO_RANGE_SCAN_H
#define SFL_MONGO_RANGE_SCAN_H

#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

typedef struct {
    mongoc_client_pool_t *pool; /* threads - 1 clients are popped from it  */
    mongoc_client_t *c;         /* the calling thread's client             */
    const char *db, *coll, *field;
    const int64_t *cuts;        /* sorted, distinct; the ranges are
                                   (-inf, cuts[0]), [cuts[i], cuts[i+1]), ...,
                                   [cuts[n-1], +inf); none: one range, the
                                   whole collection                        */
    size_t n_cuts;
    int threads;                /* 1 to 64                                 */
    sfl_digest_kind_t kind;
    /* NULL, or handed every document, one call at a time (under a mutex),
     * in no particular order; a false stops the scan with its err. */
    bool (*each)(void *ud, const bson_t *doc, sfl_error_t *err);
    void *ud;
} sfl_range_scan_t;

/* The digest of every document of s->coll in *d (d->count: how many).
 * False with err on a server error, a false from each, a thread that
 * cannot start, or (SFL_E_MISMATCH) a document whose field is not a
 * number of its range, or ranges whose counts do not add up to the
 * collection's count (an aggregate count, which a mongos answers without
 * orphan documents, as it answers the ranges' finds). Every borrowed
 * pointer is read during the call only. */
bool sfl_mongo_range_scan(const sfl_range_scan_t *s, sfl_digest_t *d, sfl_error_t *err);

/* Asks the server to `explain` (verbosity queryPlanner) a find of one of
 * s's ranges (the second when there are two or more cuts, else the
 * first) and decides with sfl_explain_uses_index: true when the winning
 * plan scans an index on s->field. False, with the reason in why (size
 * n), when it does not, when explain fails, or when its reply is not
 * understood. Uses s->c only. */
bool sfl_mongo_range_indexed(const sfl_range_scan_t *s, char *why, size_t n);

/* Pure: whether an explain reply (of a find, verbosity queryPlanner)
 * has a winning plan whose every leaf is an IXSCAN of an index whose key
 * starts with `field`, walking inputStage, inputStages, a slot-based
 * plan's queryPlan, and a mongos reply's shards[].winningPlan (every
 * shard must). The reason, either way, in why (size n, always
 * terminated). Thread safe. */
bool sfl_explain_uses_index(const bson_t *reply, const char *field, char *why, size_t n);

#endif

/* mongo/range_scan.c: see range_scan.h. The calling thread is one of the
 * workers (it keeps the progress and cancellation of control.h); the others
 * take ranges from the same counter. The first error stops every worker.
 *
 * Why every document is counted in exactly one range, or the scan fails:
 * the ranges partition the numbers (open at both ends, half-open between
 * cuts), each document a range returns must hold a number of that range
 * (so none is counted in two), and the documents counted must be as many
 * as the collection holds (so none is left out: no field, a string, null,
 * NaN, an empty array). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bson_util.h"
#include "mongo/client.h"
#include "mongo/range_scan.h"

typedef struct {
    const sfl_range_scan_t *s;
    pthread_mutex_t mu;
    size_t next;      /* the next range to take                          */
    bool stop;        /* an error: every worker stops                   */
    sfl_digest_t sum; /* the ranges' digests added                       */
    sfl_error_t err;  /* the first error                                 */
} shared_t;

/* One range being scanned: its bounds, for the check of each document. */
typedef struct {
    shared_t *w;
    size_t i;
} range_t;

/* The document's _id as text, for a message. */
static void id_text(const bson_t *doc, char *out, size_t n)
{
    bson_iter_t it;
    snprintf(out, n, "?");
    if (bson_iter_init_find(&it, doc, "_id")) {
        if (BSON_ITER_HOLDS_UTF8(&it))
            snprintf(out, n, "'%s'", bson_iter_utf8(&it, NULL));
        else if (BSON_ITER_HOLDS_NUMBER(&it))
            snprintf(out, n, "%lld", (long long)bson_iter_as_int64(&it));
    }
}

/* Whether doc's field holds a number of range i: int32, int64 or a double
 * (not NaN) at or above cuts[i-1] and below cuts[i]. */
static bool in_range(const sfl_range_scan_t *s, size_t i, const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, s->field))
        return false;
    double lo = i > 0 ? (double)s->cuts[i - 1] : -INFINITY;
    double hi = i < s->n_cuts ? (double)s->cuts[i] : INFINITY;
    if (BSON_ITER_HOLDS_DOUBLE(&it)) {
        double v = bson_iter_double(&it);
        return !isnan(v) && v >= lo && v < hi;
    }
    if (!BSON_ITER_HOLDS_INT32(&it) && !BSON_ITER_HOLDS_INT64(&it))
        return false;
    int64_t v = bson_iter_as_int64(&it);
    return (i == 0 || v >= s->cuts[i - 1]) && (i == s->n_cuts || v < s->cuts[i]);
}

static bool each_checked(void *ud, const bson_t *doc, sfl_error_t *err)
{
    range_t *r = ud;
    const sfl_range_scan_t *s = r->w->s;
    if (!in_range(s, r->i, doc)) {
        char id[96];
        id_text(doc, id, sizeof id);
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "staging collection %s: document _id %s has a %s that is not a "
                             "number of the range it was found in (an array, or another type): "
                             "it could be counted twice or not at all; the browser's "
                             "collections were not changed",
                             s->coll, id, s->field);
    }
    if (!s->each)
        return true;
    pthread_mutex_lock(&r->w->mu);
    bool ok = s->each(s->ud, doc, err);
    pthread_mutex_unlock(&r->w->mu);
    return ok;
}

/* Range i's filter on the field. */
static void range_filter(const sfl_range_scan_t *s, size_t i, bson_t *filter)
{
    bson_init(filter);
    if (!s->n_cuts)
        return;
    bson_t cond;
    BSON_APPEND_DOCUMENT_BEGIN(filter, s->field, &cond);
    if (i > 0)
        BSON_APPEND_INT64(&cond, "$gte", s->cuts[i - 1]);
    if (i < s->n_cuts)
        BSON_APPEND_INT64(&cond, "$lt", s->cuts[i]);
    bson_append_document_end(filter, &cond);
}

static void work(shared_t *w, mongoc_client_t *c)
{
    const sfl_range_scan_t *s = w->s;
    size_t n = s->n_cuts + 1;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        size_t i = w->next++;
        bool stop = w->stop || i >= n;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            return;
        bson_t filter;
        range_filter(s, i, &filter);
        sfl_digest_t d;
        sfl_error_t e;
        memset(&e, 0, sizeof e);
        range_t r = {w, i};
        bool ok = sfl_mongo_scan_digest_filter(c, s->db, s->coll, &filter, s->kind, &d,
                                               each_checked, &r, &e);
        bson_destroy(&filter);
        pthread_mutex_lock(&w->mu);
        if (ok)
            sfl_digest_merge(&w->sum, &d);
        else if (!w->stop) {
            w->stop = true;
            w->err = e;
        }
        pthread_mutex_unlock(&w->mu);
    }
}

static void *worker_main(void *arg)
{
    shared_t *w = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(w->s->pool);
    work(w, c);
    mongoc_client_pool_push(w->s->pool, c);
    return NULL;
}

/* The collection's count against the ranges' sum. countDocuments, an
 * aggregate ($match {}, $group $sum 1): exact, and on a mongos without
 * orphan documents (the `count` command without a query reads the
 * collection's metadata, which counts orphans during a migration). */
static bool check_count(const sfl_range_scan_t *s, uint64_t in_ranges, sfl_error_t *err)
{
    mongoc_collection_t *col = mongoc_client_get_collection(s->c, s->db, s->coll);
    bson_t all = BSON_INITIALIZER;
    bson_error_t be;
    int64_t n = mongoc_collection_count_documents(col, &all, NULL, NULL, NULL, &be);
    bson_destroy(&all);
    mongoc_collection_destroy(col);
    if (n < 0)
        return sfl_mongo_error(err, &be, NULL, s->coll);
    if ((uint64_t)n < in_ranges)
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "staging collection %s has %lld documents, but its %zu ranges of "
                             "%s hold %llu: documents were counted in more than one range; the "
                             "browser's collections were not changed",
                             s->coll, (long long)n, s->n_cuts + 1, s->field,
                             (unsigned long long)in_ranges);
    if ((uint64_t)n != in_ranges)
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "staging collection %s has %lld documents, but its %zu ranges of "
                             "%s hold %llu: %lld documents have no number in %s (missing or of "
                             "another type); the browser's collections were not changed",
                             s->coll, (long long)n, s->n_cuts + 1, s->field,
                             (unsigned long long)in_ranges, (long long)n - (long long)in_ranges,
                             s->field);
    return true;
}

bool sfl_mongo_range_scan(const sfl_range_scan_t *s, sfl_digest_t *d, sfl_error_t *err)
{
    shared_t w;
    memset(&w, 0, sizeof w);
    w.s = s;
    pthread_mutex_init(&w.mu, NULL);
    sfl_digest_init_kind(&w.sum, s->kind);
    size_t n = s->n_cuts + 1;
    int extra = s->threads - 1;
    if ((size_t)extra > n - 1)
        extra = (int)(n - 1);
    pthread_t th[64];
    int started = 0;
    while (started < extra && started < 63 &&
           pthread_create(&th[started], NULL, worker_main, &w) == 0)
        started++;
    bool ok = started == extra ||
              sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
    if (!ok) {
        pthread_mutex_lock(&w.mu);
        w.stop = true;
        pthread_mutex_unlock(&w.mu);
    }
    work(&w, s->c);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    if (ok && w.stop) {
        if (err)
            *err = w.err;
        ok = false;
    }
    pthread_mutex_destroy(&w.mu);
    ok = ok && check_count(s, w.sum.count, err);
    if (ok)
        *d = w.sum;
    return ok;
}

/* ---- explain: would the server serve a range from the index? ---------- */

/* The explain output is a tree of stages (MongoDB Manual, "Explain
 * Results", https://www.mongodb.com/docs/manual/reference/explain-results/):
 * queryPlanner.winningPlan is the root stage; a stage with one child has
 * it in inputStage, with several in inputStages; a leaf reads the
 * collection (COLLSCAN) or an index (IXSCAN, with the index's keyPattern);
 * under the slot-based engine winningPlan holds the tree in queryPlan; on
 * a sharded collection the mongos's winningPlan (SHARD_MERGE,
 * SINGLE_SHARD) lists each shard's own winningPlan in shards[], and a
 * shard's tree may hold SHARDING_FILTER (orphans filtered out) and FETCH
 * above the IXSCAN. */
static bool stage_uses(const bson_t *st, const char *field, int depth, char *why, size_t n);

/* Every element of array `arr` (documents; each the plan under `key` of
 * the element, or the element itself when key is NULL) must use it. */
static bool all_use(const bson_t *arr, const char *key, const char *field, int depth, char *why,
                    size_t n)
{
    bson_iter_t it;
    int seen = 0;
    if (!bson_iter_init(&it, arr))
        return false;
    while (bson_iter_next(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_t el, sub;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            snprintf(why, n, "explain: a stage list holds a non-document");
            return false;
        }
        bson_iter_document(&it, &len, &data);
        if (!bson_init_static(&el, data, len))
            return false;
        if (key && !sfl_bson_sub_key(&el, key, &sub)) {
            snprintf(why, n, "explain: a shard's entry has no %s", key);
            return false;
        }
        if (!stage_uses(key ? &sub : &el, field, depth + 1, why, n))
            return false;
        seen++;
    }
    if (!seen)
        snprintf(why, n, "explain: an empty list of stages");
    return seen > 0;
}

static bool stage_uses(const bson_t *st, const char *field, int depth, char *why, size_t n)
{
    bson_t sub;
    bson_iter_t it;
    if (depth > 32) {
        snprintf(why, n, "explain: a plan deeper than 32 stages");
        return false;
    }
    if (sfl_bson_sub_key(st, "queryPlan", &sub)) /* the slot-based engine's */
        return stage_uses(&sub, field, depth + 1, why, n);
    if (sfl_bson_sub_key(st, "shards", &sub)) /* a mongos's: every shard's plan */
        return all_use(&sub, "winningPlan", field, depth, why, n);
    if (!bson_iter_init_find(&it, st, "stage") || !BSON_ITER_HOLDS_UTF8(&it)) {
        snprintf(why, n, "explain: a plan stage without a stage name");
        return false;
    }
    const char *stage = bson_iter_utf8(&it, NULL);
    if (!strcmp(stage, "IXSCAN")) {
        bson_t kp;
        bson_iter_t k;
        const char *first = sfl_bson_sub_key(st, "keyPattern", &kp) && bson_iter_init(&k, &kp) &&
                                    bson_iter_next(&k)
                                ? bson_iter_key(&k)
                                : "";
        if (!strcmp(first, field)) {
            snprintf(why, n, "explain: IXSCAN of an index on %s", field);
            return true;
        }
        snprintf(why, n, "explain: IXSCAN of an index on '%s', not on %s", first, field);
        return false;
    }
    if (sfl_bson_sub_key(st, "inputStage", &sub))
        return stage_uses(&sub, field, depth + 1, why, n);
    if (sfl_bson_sub_key(st, "inputStages", &sub))
        return all_use(&sub, NULL, field, depth, why, n);
    snprintf(why, n, "explain: the winning plan reads by %.40s, not by an index on %s", stage,
             field);
    return false;
}

bool sfl_explain_uses_index(const bson_t *reply, const char *field, char *why, size_t n)
{
    bson_t qp, wp;
    bson_iter_t it;
    if (!n)
        return false;
    why[0] = '\0';
    if (!sfl_bson_sub_key(reply, "queryPlanner", &qp) || !sfl_bson_sub_key(&qp, "winningPlan", &wp)) {
        bool no_push = bson_iter_init_find(&it, reply, "filterPushdown") &&
                       BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it);
        snprintf(why, n, "explain: the reply has no queryPlanner.winningPlan%s",
                 no_push ? " (filterPushdown: false: the server filters every document itself)"
                         : "");
        return false;
    }
    return stage_uses(&wp, field, 0, why, n);
}

bool sfl_mongo_range_indexed(const sfl_range_scan_t *s, char *why, size_t n)
{
    bson_t cmd = BSON_INITIALIZER, find, filter, reply;
    range_filter(s, s->n_cuts >= 2 ? 1 : 0, &filter);
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "explain", &find);
    BSON_APPEND_UTF8(&find, "find", s->coll);
    BSON_APPEND_DOCUMENT(&find, "filter", &filter);
    bson_append_document_end(&cmd, &find);
    BSON_APPEND_UTF8(&cmd, "verbosity", "queryPlanner");
    bson_error_t be;
    bool ok = mongoc_client_command_simple(s->c, s->db, &cmd, NULL, &reply, &be);
    if (ok)
        ok = sfl_explain_uses_index(&reply, s->field, why, n);
    else
        snprintf(why, n, "explain failed: %.200s", be.message);
    bson_destroy(&reply);
    bson_destroy(&filter);
    bson_destroy(&cmd);
    return ok;
}

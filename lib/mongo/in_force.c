/* mongo/in_force.c: what `verify --uri` checks a database against when
 * it was loaded in parts.
 *
 * A load owns exactly the collections its manifest lists (the ones its
 * sources fill: a load with only --gtf owns genes, transcripts and exons)
 * and replaces only those. So the database as a whole is described by
 * several manifests. The manifest in force is defined as:
 *
 *   1. take the complete loads recorded in swefreq_meta, the load that the
 *      "current" pointer names first (the last swap), then the others by
 *      "finished", newest first;
 *   2. each collection is described by the first of those loads whose
 *      manifest lists it (the last load that replaced it);
 *   3. the manifest in force lists those collection entries (count, digest,
 *      indexes, in the order met), the sources of every load that
 *      describes at least one collection (newest load first), and the
 *      format, tool, options and created time of the current load; its
 *      "in_force" array names, per load id, the collections it describes.
 *      When the current load describes every collection, its manifest is
 *      the manifest in force as it is (same bytes, same digest).
 *   4. its format_version is the lowest of the loads it draws on: a load of
 *      an older version (format 1, XXH3-based) makes the whole manifest in
 *      force "not forgery-resistant", and each entry keeps its own kind of
 *      digest (manifest.c checks each with its own).
 *
 * A browser collection that no complete load lists is reported by verify
 * as `unlisted` (mongo/verify.c): nothing claims it. A failed or
 * interrupted load is never complete and changes nothing.
 */
#include <string.h>

#include "mongo/in_force.h"
#include "manifest_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"

typedef struct {
    char **names;
    size_t n, cap;
} names_t;

static bool has_name(const names_t *s, const char *n)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], n) == 0)
            return true;
    return false;
}

static bool add_name(names_t *s, const char *n)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? 2 * s->cap : 16;
        char **p = realloc(s->names, c * sizeof *p);
        if (!p)
            return false;
        s->names = p;
        s->cap = c;
    }
    return (s->names[s->n] = strdup(n)) && ++s->n;
}

static void free_names(names_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
}

/* Appends the entries of `man`'s array `key` to `arr` (from *i on); for
 * "collections", only those not yet in `seen` (which then gets them), and
 * the names appended go to `took`. */
static bool take(const bson_t *man, const char *key, bson_t *arr, uint32_t *i, names_t *seen,
                 bson_t *took, uint32_t *ti)
{
    bson_iter_t it, e;
    if (!bson_iter_init_find(&it, man, key) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &e))
        return true;
    while (bson_iter_next(&e)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&e))
            continue;
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&e, &len, &data);
        bson_t sub;
        if (!bson_init_static(&sub, data, len))
            continue;
        if (seen) {
            bson_iter_t nm;
            if (!bson_iter_init_find(&nm, &sub, "name") || !BSON_ITER_HOLDS_UTF8(&nm))
                continue;
            const char *name = bson_iter_utf8(&nm, NULL);
            if (has_name(seen, name))
                continue;
            char kb[16];
            const char *k;
            size_t kl = bson_uint32_to_string((*ti)++, &k, kb, sizeof kb);
            if (!add_name(seen, name) || !bson_append_utf8(took, k, (int)kl, name, -1))
                return false;
        }
        char kb[16];
        const char *k;
        size_t kl = bson_uint32_to_string((*i)++, &k, kb, sizeof kb);
        if (!bson_append_document(arr, k, (int)kl, &sub))
            return false;
    }
    return true;
}

/* The manifest documents of the complete loads, newest first, with their
 * load ids; the current one first. */
static bool each_load(mongoc_client_t *c, const char *db, const char *current,
                      bool (*fn)(void *ud, const char *id, const bson_t *man), void *ud,
                      sfl_error_t *err)
{
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    BSON_APPEND_UTF8(&filter, "status", "complete");
    bson_t ne; /* a part's record holds a part's manifest, not a load's */
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "kind", &ne);
    BSON_APPEND_UTF8(&ne, "$ne", "part");
    bson_append_document_end(&filter, &ne);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "finished", -1);
    bson_append_document_end(&opts, &sort);
    bool ok = true;
    for (int pass = 0; ok && pass < 2; pass++) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, &filter, &opts, NULL);
        const bson_t *doc;
        while (ok && mongoc_cursor_next(cur, &doc)) {
            bson_iter_t it;
            const char *id = bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)
                                 ? bson_iter_utf8(&it, NULL)
                                 : "";
            if ((pass == 0) != (strcmp(id, current) == 0))
                continue; /* the current load in the first pass, the others in the second */
            uint32_t len;
            const uint8_t *data;
            bson_t man;
            if (bson_iter_init_find(&it, doc, "manifest") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
                bson_iter_document(&it, &len, &data);
                if (bson_init_static(&man, data, len))
                    ok = fn(ud, id, &man);
            }
        }
        bson_error_t be;
        if (ok && mongoc_cursor_error(cur, &be))
            ok = sfl_mongo_error(err, &be, NULL, "find in swefreq_meta");
        mongoc_cursor_destroy(cur);
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(m);
    return ok;
}

typedef struct {
    names_t seen, ids; /* collections taken; loads drawn on */
    bson_t colls, srcs, in_force;
    uint32_t ci, si, fi;
    bool oom;
    int64_t version; /* the lowest format_version of the loads drawn on */
} acc_t;

static int64_t format_version(const bson_t *man)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, man, "format_version") && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

static bool one_load(void *ud, const char *id, const bson_t *man)
{
    acc_t *a = ud;
    bson_t took = BSON_INITIALIZER, e;
    uint32_t ti = 0, before = a->ci;
    bool ok = take(man, "collections", &a->colls, &a->ci, &a->seen, &took, &ti);
    if (ok && a->ci > before) {
        int64_t v = format_version(man);
        if (a->version == 0 || v < a->version)
            a->version = v;
        char kb[16];
        const char *k;
        size_t kl = bson_uint32_to_string(a->fi++, &k, kb, sizeof kb);
        ok = add_name(&a->ids, id) && take(man, "sources", &a->srcs, &a->si, NULL, NULL, NULL) &&
             bson_append_document_begin(&a->in_force, k, (int)kl, &e) &&
             bson_append_utf8(&e, "load_id", -1, id, -1) &&
             bson_append_array(&e, "collections", -1, &took) &&
             bson_append_document_end(&a->in_force, &e);
    }
    bson_destroy(&took);
    a->oom = a->oom || !ok;
    return ok;
}

/* Hands the load ids over to the caller (when it asked) and frees them. */
static void give_ids(names_t *ids, char ***load_ids, size_t *n_load_ids)
{
    if (load_ids) {
        *load_ids = ids->names;
        *n_load_ids = ids->n;
    } else {
        free_names(ids);
    }
    memset(ids, 0, sizeof *ids);
}

sfl_manifest_t *sfl_manifest_in_force(mongoc_client_t *c, const char *db, char ***load_ids,
                                      size_t *n_load_ids, sfl_error_t *err)
{
    if (load_ids) {
        *load_ids = NULL;
        *n_load_ids = 0;
    }
    /* The current load's manifest: its errors (no complete load, no
     * manifest) are the ones to report. */
    sfl_manifest_t *cur = sfl_current_manifest(c, db, err);
    if (!cur)
        return NULL;
    char current[64] = "";
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t q = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&q, "_id", SFL_CURRENT_ID);
    mongoc_cursor_t *cu = mongoc_collection_find_with_opts(m, &q, NULL, NULL);
    const bson_t *doc;
    bson_iter_t it;
    if (mongoc_cursor_next(cu, &doc) && bson_iter_init_find(&it, doc, "load_id") &&
        BSON_ITER_HOLDS_UTF8(&it))
        snprintf(current, sizeof current, "%s", bson_iter_utf8(&it, NULL));
    mongoc_cursor_destroy(cu);
    bson_destroy(&q);
    mongoc_collection_destroy(m);
    if (!*current) /* a database of an older version: its one manifest */
        return cur;
    names_t cur_id = {0};
    if (load_ids && !add_name(&cur_id, current)) {
        sfl_manifest_destroy(cur);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }

    acc_t a;
    memset(&a, 0, sizeof a);
    bson_init(&a.colls);
    bson_init(&a.srcs);
    bson_init(&a.in_force);
    bool ok = each_load(c, db, current, one_load, &a, err);
    bson_t out = BSON_INITIALIZER;
    if (ok && a.fi <= 1) {
        /* Every collection is the current load's: its manifest as it is
         * (the same bytes, the same digest, as before partial loads). */
        bson_destroy(&a.colls);
        bson_destroy(&a.srcs);
        bson_destroy(&a.in_force);
        free_names(&a.seen);
        free_names(&a.ids);
        give_ids(&cur_id, load_ids, n_load_ids);
        return cur;
    }
    free_names(&cur_id);
    if (ok) {
        /* the current manifest's other fields, then the combined arrays */
        const bson_t *base = sfl_manifest_bson(cur);
        bson_iter_t b;
        ok = bson_iter_init(&b, base);
        while (ok && bson_iter_next(&b)) {
            const char *k = bson_iter_key(&b);
            if (!strcmp(k, "format_version"))
                ok = bson_append_int32(&out, k, -1, (int32_t)a.version);
            else if (strcmp(k, "collections") && strcmp(k, "sources") && strcmp(k, "in_force"))
                ok = bson_append_iter(&out, k, -1, &b);
        }
        ok = ok && bson_append_array(&out, "sources", -1, &a.srcs) &&
             bson_append_array(&out, "collections", -1, &a.colls) &&
             bson_append_array(&out, "in_force", -1, &a.in_force);
        if (!ok)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    sfl_manifest_t *res = ok ? sfl_manifest_from_bson(&out, err) : NULL;
    bson_destroy(&out);
    bson_destroy(&a.colls);
    bson_destroy(&a.srcs);
    bson_destroy(&a.in_force);
    free_names(&a.seen);
    if (res)
        give_ids(&a.ids, load_ids, n_load_ids);
    free_names(&a.ids);
    sfl_manifest_destroy(cur);
    return res;
}

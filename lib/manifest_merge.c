/* manifest_merge.c: the manifest of a partitioned load, from its parts'.
 *
 * The design: a collection's digest is a sum over its documents (LtHash16,
 * digest.c), so the digest of the union of disjoint parts is the sum of
 * the parts' digests, and counts and bytes add. The merged manifest is
 * built in the order and shape of sfl_manifest_build, so that it equals,
 * byte for byte but for `created`, the manifest one process would have
 * written for the same files. Everything else must agree or be summed:
 *   - options: the document-shaping ones equal in every part;
 *     `rejected_lines` and `unknown_contig_lines` summed;
 *   - sources: kind, size and SHA-256 equal in every part; `records`
 *     summed; what only a reader of the source knows (its style, its
 *     consequence field and Format, the genome build, a gene table's
 *     unjoined rows) taken from the first part that read it, and equal in
 *     every other part that read it;
 *   - collections: count, bytes and digest added; the metrics, which no
 *     part can compute alone, replaced by the caller's.
 * Anything that does not agree is refused, naming the part and the field:
 * a merged manifest is never a guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bson_util.h"
#include "manifest_internal.h"

typedef struct {
    const sfl_manifest_t *const *parts;
    size_t n;
    const bool *reads; /* [part * n_sources + source] */
    size_t n_sources;
    sfl_error_t *err;
    const sfl_manifest_t *names; /* NULL, or whose sources' path and abs_path to use */
} merge_t;

/* Field `key` of document `path` (a top-level key) of part k's manifest,
 * entry `index` when that is an array (SIZE_MAX: not an array). */
static bool find_in(const sfl_manifest_t *m, const char *path, size_t index, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, sfl_manifest_bson(m), path))
        return false;
    if (index == SIZE_MAX)
        return sfl_bson_sub(&it, out);
    if (!bson_iter_recurse(&it, &arr))
        return false;
    for (size_t i = 0; bson_iter_next(&arr); i++)
        if (i == index)
            return sfl_bson_sub(&arr, out);
    return false;
}

static int64_t i64(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it)
               ? bson_iter_as_int64(&it)
               : 0;
}

/* Whether two values of a document are the same (type and bytes). */
static bool same_value(const bson_iter_t *a, const bson_t *other, const char *key)
{
    bson_iter_t b;
    if (!bson_iter_init_find(&b, other, key) || bson_iter_type(a) != bson_iter_type(&b))
        return false;
    const bson_value_t *va = bson_iter_value((bson_iter_t *)a), *vb = bson_iter_value(&b);
    bson_t da = BSON_INITIALIZER, db = BSON_INITIALIZER;
    bson_append_value(&da, "v", 1, va);
    bson_append_value(&db, "v", 1, vb);
    bool same = da.len == db.len && !memcmp(bson_get_data(&da), bson_get_data(&db), da.len);
    bson_destroy(&da);
    bson_destroy(&db);
    return same;
}

static bool differ(merge_t *g, size_t k, const char *what, const char *key)
{
    return sfl_error_set(g->err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                         "the parts do not agree: part %zu's %s %s differs from part 1's; "
                         "nothing was merged",
                         k + 1, what, key);
}

static bool merge_options(merge_t *g, bson_t *doc)
{
    bson_t base, o, other;
    bson_iter_t it;
    if (!find_in(g->parts[0], "options", SIZE_MAX, &base) || !bson_iter_init(&it, &base))
        return sfl_error_set(g->err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "part 1 has no options");
    BSON_APPEND_DOCUMENT_BEGIN(doc, "options", &o);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        bool summed = !strcmp(key, "rejected_lines") || !strcmp(key, "unknown_contig_lines");
        int64_t sum = 0;
        for (size_t k = 0; k < g->n; k++) {
            if (!find_in(g->parts[k], "options", SIZE_MAX, &other))
                return differ(g, k, "option", key);
            if (summed)
                sum += i64(&other, key);
            else if (!same_value(&it, &other, key))
                return differ(g, k, "option", key);
        }
        if (summed)
            BSON_APPEND_INT64(&o, key, sum);
        else
            bson_append_iter(&o, NULL, 0, &it);
    }
    bson_append_document_end(doc, &o);
    return true;
}

static const char *const reader_fields[] = {"style", "csq_field", "csq_format",
                                            "csq_format_from_option", "csq_gnomad_v40_repair",
                                            "genome", "unjoined_rows"};

/* Source i: identical files in every part; records summed; the reader's
 * fields from the first part that read it, equal in the others. */
static bool merge_source(merge_t *g, size_t i, bson_t *arr, bool allow_empty)
{
    size_t first = SIZE_MAX;
    for (size_t k = 0; k < g->n && first == SIZE_MAX; k++)
        if (g->reads[k * g->n_sources + i])
            first = k;
    bson_t chosen, other, e;
    if (first == SIZE_MAX || !find_in(g->parts[first], "sources", i, &chosen))
        return sfl_error_set(g->err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "no part read source %zu; nothing was merged", i + 1);
    int64_t records = 0;
    bson_iter_t it;
    for (size_t k = 0; k < g->n; k++) {
        if (!find_in(g->parts[k], "sources", i, &other))
            return differ(g, k, "source", "(missing)");
        records += i64(&other, "records");
        static const char *const same[] = {"kind", "size", "sha256"};
        for (size_t f = 0; f < sizeof same / sizeof *same; f++)
            if (!bson_iter_init_find(&it, &chosen, same[f]) || !same_value(&it, &other, same[f]))
                return differ(g, k, "source file", same[f]);
        for (size_t f = 0; g->reads[k * g->n_sources + i] && f < 7; f++)
            if (bson_iter_init_find(&it, &chosen, reader_fields[f]) &&
                !same_value(&it, &other, reader_fields[f]))
                return differ(g, k, "reading of a source:", reader_fields[f]);
    }
    if (records == 0 && !allow_empty && bson_iter_init_find(&it, &chosen, "path"))
        return sfl_error_set(g->err, SFL_DOMAIN_INPUT, SFL_E_EMPTY,
                             "%s: no part found a record in it; refusing to load an empty "
                             "collection (sfl_options_t.allow_empty accepts it)",
                             bson_iter_utf8(&it, NULL));
    char key[24];
    snprintf(key, sizeof key, "%zu", i);
    bson_t named;
    bool have_names = g->names && find_in(g->names, "sources", i, &named);
    BSON_APPEND_DOCUMENT_BEGIN(arr, key, &e);
    if (bson_iter_init(&it, &chosen))
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            bson_iter_t nm;
            if (!strcmp(k, "records"))
                BSON_APPEND_INT64(&e, "records", records);
            else if (have_names && (!strcmp(k, "path") || !strcmp(k, "abs_path")) &&
                     bson_iter_init_find(&nm, &named, k))
                bson_append_iter(&e, NULL, 0, &nm);
            else
                bson_append_iter(&e, NULL, 0, &it);
        }
    bson_append_document_end(arr, &e);
    return true;
}

/* Collection `ci` of part 1's list: counts, bytes and digests added. */
static bool merge_collection(merge_t *g, size_t ci, const sfl_digest_t *metrics, bson_t *arr)
{
    bson_t base, e;
    bson_iter_t it;
    if (!find_in(g->parts[0], "collections", ci, &base) ||
        !bson_iter_init_find(&it, &base, "name") || !BSON_ITER_HOLDS_UTF8(&it))
        return sfl_error_set(g->err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "bad collection");
    const char *name = bson_iter_utf8(&it, NULL);
    sfl_digest_t sum, d;
    sfl_digest_init(&sum);
    for (size_t k = 0; k < g->n; k++) {
        const sfl_manifest_collection_t *c = sfl_manifest_find_collection(g->parts[k], name);
        if (!c || !sfl_digest_from_text(&d, c->digest))
            return differ(g, k, "collection", name);
        d.count = c->count;
        d.bytes = c->bytes;
        if (!sfl_digest_merge(&sum, &d))
            return differ(g, k, "digest kind of", name);
    }
    if (!strcmp(name, "metrics") && metrics)
        sum = *metrics;
    char text[SFL_DIGEST_TEXT_SIZE], key[24];
    sfl_digest_text(&sum, text);
    snprintf(key, sizeof key, "%zu", ci);
    BSON_APPEND_DOCUMENT_BEGIN(arr, key, &e);
    if (bson_iter_init(&it, &base))
        while (bson_iter_next(&it)) {
            const char *k = bson_iter_key(&it);
            if (!strcmp(k, "count"))
                BSON_APPEND_INT64(&e, "count", (int64_t)sum.count);
            else if (!strcmp(k, "bytes"))
                BSON_APPEND_INT64(&e, "bytes", (int64_t)sum.bytes);
            else if (!strcmp(k, "digest"))
                BSON_APPEND_UTF8(&e, "digest", text);
            else
                bson_append_iter(&e, NULL, 0, &it);
        }
    bson_append_document_end(arr, &e);
    return true;
}

static bool merge_body(merge_t *g, const sfl_digest_t *metrics, bool allow_empty, bson_t *doc)
{
    bson_iter_t it;
    bson_t arr;
    bool ok = bson_iter_init(&it, sfl_manifest_bson(g->parts[0]));
    while (ok && bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (!strcmp(key, "created")) {
            char created[32];
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
            BSON_APPEND_UTF8(doc, "created", created);
        } else if (!strcmp(key, "options")) {
            ok = merge_options(g, doc);
        } else if (!strcmp(key, "regions")) {
            ok = sfl_error_set(g->err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                               "a part's manifest has regions of its own; nothing was merged");
        } else if (!strcmp(key, "sources")) {
            BSON_APPEND_ARRAY_BEGIN(doc, "sources", &arr);
            for (size_t i = 0; ok && i < g->n_sources; i++)
                ok = merge_source(g, i, &arr, allow_empty);
            bson_append_array_end(doc, &arr);
        } else if (!strcmp(key, "collections")) {
            BSON_APPEND_ARRAY_BEGIN(doc, "collections", &arr);
            for (size_t c = 0; ok && c < sfl_manifest_n_collections(g->parts[0]); c++)
                ok = merge_collection(g, c, metrics, &arr);
            bson_append_array_end(doc, &arr);
        } else {
            bson_append_iter(doc, NULL, 0, &it);
        }
    }
    return ok;
}

sfl_manifest_t *sfl_manifest_merge(const sfl_manifest_t *const *parts, size_t n,
                                   const bool *reads, const sfl_digest_t *metrics,
                                   bool allow_empty, sfl_error_t *err)
{
    return sfl_manifest_merge_named(parts, n, reads, metrics, allow_empty, NULL, err);
}

sfl_manifest_t *sfl_manifest_merge_named(const sfl_manifest_t *const *parts, size_t n,
                                         const bool *reads, const sfl_digest_t *metrics,
                                         bool allow_empty, const sfl_manifest_t *names,
                                         sfl_error_t *err)
{
    if (!parts || n == 0 || !reads) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "nothing to merge");
        return NULL;
    }
    merge_t g = {parts, n, reads, sfl_manifest_n_sources(parts[0]), err, names};
    for (size_t k = 0; k < n; k++)
        if (sfl_manifest_n_sources(parts[k]) != g.n_sources ||
            sfl_manifest_n_collections(parts[k]) != sfl_manifest_n_collections(parts[0]) ||
            sfl_manifest_format_version(parts[k]) != sfl_manifest_format_version(parts[0])) {
            differ(&g, k, "list of", "sources or collections");
            return NULL;
        }
    bson_t doc = BSON_INITIALIZER;
    sfl_manifest_t *m = merge_body(&g, metrics, allow_empty, &doc)
                            ? sfl_manifest_from_bson(&doc, err)
                            : NULL;
    bson_destroy(&doc);
    return m;
}

/* index_check.c: the indexes found (on a server, or in a dump's
 * <collection>.metadata.json) against the definitions a manifest names.
 *
 * The design is simple: the manifest's index definitions (the browser's,
 * from indexes.c) are the only source of truth, and an index found is
 * judged by its name, its key and every option it carries. A spec is
 * {v, key, name} plus options (hidden, partialFilterExpression, sparse,
 * unique, expireAfterSeconds, collation, weights, ...); `v` (the index
 * version) and `ns` (older servers) describe the spec, not the index, and
 * are not options. An option the definition does not have, or has with
 * another value, changes what the browser's queries see (a hidden index is
 * not used, a partial or sparse one leaves documents out, a TTL index
 * deletes them), so it is a difference like another key.
 */
#include <stdio.h>
#include <string.h>

#include "index_check.h"

/* Two index keys are the same when they name the same fields in the same
 * order with the same direction (1, 1.0 and 1L are one direction). */
static bool same_key(const bson_t *a, const bson_t *b)
{
    bson_iter_t x, y;
    if (!bson_iter_init(&x, a) || !bson_iter_init(&y, b))
        return false;
    for (;;) {
        bool nx = bson_iter_next(&x), ny = bson_iter_next(&y);
        if (!nx || !ny)
            return nx == ny;
        if (strcmp(bson_iter_key(&x), bson_iter_key(&y)) != 0)
            return false;
        if (BSON_ITER_HOLDS_NUMBER(&x) && BSON_ITER_HOLDS_NUMBER(&y)) {
            if (bson_iter_as_double(&x) != bson_iter_as_double(&y))
                return false;
        } else if (BSON_ITER_HOLDS_UTF8(&x) && BSON_ITER_HOLDS_UTF8(&y)) {
            if (strcmp(bson_iter_utf8(&x, NULL), bson_iter_utf8(&y, NULL)) != 0)
                return false;
        } else {
            return false;
        }
    }
}

static bool not_an_option(const char *k)
{
    return !strcmp(k, "v") || !strcmp(k, "key") || !strcmp(k, "name") || !strcmp(k, "ns");
}

/* Whether two option values are equal: numbers by value, anything else
 * by type and bytes. */
static bool same_value(const bson_iter_t *a, const bson_iter_t *b)
{
    if (BSON_ITER_HOLDS_NUMBER(a) && BSON_ITER_HOLDS_NUMBER(b))
        return bson_iter_as_double(a) == bson_iter_as_double(b);
    if (bson_iter_type(a) != bson_iter_type(b))
        return false;
    const bson_value_t *x = bson_iter_value((bson_iter_t *)a);
    const bson_value_t *y = bson_iter_value((bson_iter_t *)b);
    bson_t dx = BSON_INITIALIZER, dy = BSON_INITIALIZER;
    bson_append_value(&dx, "v", 1, x);
    bson_append_value(&dy, "v", 1, y);
    bool same = dx.len == dy.len && !memcmp(bson_get_data(&dx), bson_get_data(&dy), dx.len);
    bson_destroy(&dx);
    bson_destroy(&dy);
    return same;
}

/* The value at `it` as relaxed extended JSON, shortened, into out. */
static void value_text(const bson_iter_t *it, char *out, size_t n)
{
    bson_t d = BSON_INITIALIZER;
    bson_append_value(&d, "v", 1, bson_iter_value((bson_iter_t *)it));
    char *js = bson_as_relaxed_extended_json(&d, NULL);
    /* {"v" : VALUE } */
    const char *v = js ? strstr(js, ": ") : NULL;
    snprintf(out, n, "%s", v ? v + 2 : "?");
    size_t l = strlen(out);
    if (l >= 2 && out[l - 1] == '}' && out[l - 2] == ' ')
        out[l - 2] = '\0';
    if (l + 1 >= n && n > 4)
        memcpy(out + n - 4, "...", 4);
    bson_free(js);
    bson_destroy(&d);
}

bool sfl_index_options_differ(const bson_t *found, const bson_t *want, char *what, size_t n)
{
    bson_iter_t f, w;
    if (bson_iter_init(&f, found))
        while (bson_iter_next(&f)) {
            const char *k = bson_iter_key(&f);
            if (not_an_option(k))
                continue;
            bool has = bson_iter_init_find(&w, want, k);
            if (has && same_value(&f, &w))
                continue;
            char v[160], d[160] = "";
            value_text(&f, v, sizeof v);
            if (has)
                value_text(&w, d, sizeof d);
            snprintf(what, n, "option %s: %s, the definition has %s%s", k, v, has ? "" : "none",
                     d);
            return true;
        }
    if (bson_iter_init(&w, want))
        while (bson_iter_next(&w)) {
            const char *k = bson_iter_key(&w);
            if (!not_an_option(k) && !bson_iter_init_find(&f, found, k)) {
                snprintf(what, n, "option %s missing, which the definition has", k);
                return true;
            }
        }
    return false;
}

/* The spec named `name` in the array `arr` into *spec (a view). */
static bool find_spec(const bson_t *arr, const char *name, bson_t *spec)
{
    bson_iter_t it, f;
    if (!bson_iter_init(&it, arr))
        return false;
    while (bson_iter_next(&it)) {
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f) ||
            !bson_iter_find(&f, "name") || !BSON_ITER_HOLDS_UTF8(&f) ||
            strcmp(bson_iter_utf8(&f, NULL), name) != 0)
            continue;
        bson_iter_document(&it, &len, &data);
        return bson_init_static(spec, data, len);
    }
    return false;
}

/* The key document of a spec into *key (a view). */
static bool key_of(const bson_t *spec, bson_t *key)
{
    bson_iter_t k;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&k, spec, "key") || !BSON_ITER_HOLDS_DOCUMENT(&k))
        return false;
    bson_iter_document(&k, &len, &data);
    return bson_init_static(key, data, len);
}

/* One index found against its definition (`want` NULL: the _id index,
 * whose definition is {_id: 1} and no option). */
static sfl_verify_status_t judge(const bson_t *found, const bson_t *want, char *what, size_t n)
{
    bson_t fk, wk;
    bson_t id_key = BSON_INITIALIZER, none = BSON_INITIALIZER;
    BSON_APPEND_INT32(&id_key, "_id", 1);
    sfl_verify_status_t st = SFL_VERIFY_OK;
    bool keys = key_of(found, &fk) && (!want || key_of(want, &wk));
    if (!keys || !same_key(&fk, want ? &wk : &id_key)) {
        snprintf(what, n, "another key");
        st = SFL_VERIFY_INDEX_DIFFERS;
    } else if (sfl_index_options_differ(found, want ? want : &none, what, n)) {
        st = SFL_VERIFY_INDEX_OPTIONS;
    }
    bson_destroy(&id_key);
    bson_destroy(&none);
    return st;
}

bool sfl_index_specs_compare(const bson_t *found, const bson_t *want, bool with_ok,
                             sfl_index_result_fn fn, void *ud)
{
    bson_iter_t it, f;
    char what[400];
    /* What is found: the _id index as it must be, the others listed. */
    if (bson_iter_init(&it, found))
        while (bson_iter_next(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t spec, w;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f) ||
                !bson_iter_find(&f, "name") || !BSON_ITER_HOLDS_UTF8(&f))
                continue;
            const char *name = bson_iter_utf8(&f, NULL);
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&spec, data, len))
                continue;
            what[0] = '\0';
            if (!strcmp(name, "_id_")) {
                sfl_verify_status_t st = judge(&spec, NULL, what, sizeof what);
                if (st != SFL_VERIFY_OK && !fn(ud, name, st, what))
                    return false;
            } else if (!find_spec(want, name, &w) &&
                       !fn(ud, name, SFL_VERIFY_INDEX_UNLISTED, "")) {
                return false;
            }
        }
    /* What is defined: each present, with the same key and options. */
    if (bson_iter_init(&it, want))
        while (bson_iter_next(&it)) {
            bson_t spec, have;
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f) ||
                !bson_iter_find(&f, "name") || !BSON_ITER_HOLDS_UTF8(&f))
                continue;
            const char *name = bson_iter_utf8(&f, NULL);
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&spec, data, len))
                continue;
            what[0] = '\0';
            sfl_verify_status_t st = find_spec(found, name, &have)
                                         ? judge(&have, &spec, what, sizeof what)
                                         : SFL_VERIFY_INDEX_MISSING;
            if ((st != SFL_VERIFY_OK || with_ok) && !fn(ud, name, st, what))
                return false;
        }
    return true;
}

void sfl_expected_indexes(const sfl_manifest_t *m, const char *name, bson_t *out)
{
    bson_init(out);
    bson_iter_t it, coll;
    const bson_t *doc = sfl_manifest_bson(m);
    if (doc && bson_iter_init_find(&it, doc, "collections") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &coll)) {
        while (bson_iter_next(&coll)) {
            bson_iter_t f, idx;
            if (!BSON_ITER_HOLDS_DOCUMENT(&coll) || !bson_iter_recurse(&coll, &f) ||
                !bson_iter_find(&f, "name") || !BSON_ITER_HOLDS_UTF8(&f) ||
                strcmp(bson_iter_utf8(&f, NULL), name) != 0)
                continue;
            if (bson_iter_recurse(&coll, &idx) && bson_iter_find(&idx, "indexes") &&
                BSON_ITER_HOLDS_ARRAY(&idx)) {
                const uint8_t *data;
                uint32_t len;
                bson_iter_array(&idx, &len, &data);
                bson_destroy(out);
                bson_init_static(out, data, len);
                return;
            }
        }
    }
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (!strcmp(sfl_collection_name((sfl_collection_t)c), name)) {
            uint32_t i = 0;
            sfl_append_index_specs(out, (sfl_collection_t)c, false, false, &i);
        }
}

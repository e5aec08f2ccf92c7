/* group_files.c: a partitioned load's plan file and its parts' manifest
 * files against what the database records (group_files.h says why).
 *
 * Both sides are compared as JSON text: the plan as the relaxed Extended
 * JSON that `plan --out` writes, each side parsed and printed again by
 * libbson (so that a number is compared by value, whatever integer width
 * the parser picked), field by field to name the first difference; a part's
 * manifest as sfl_manifest_to_json prints it, which is how both the part's
 * file and its record were written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bson_util.h"
#include "group_files.h"
#include "group_plan.h"
#include "manifest_internal.h"
#include "safe_fs.h"

#define PLAN_MAX (64u << 20)

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

/* The whole regular file `path` (at most PLAN_MAX bytes), NUL-terminated. */
static char *read_plan_file(const char *path, size_t *len, sfl_error_t *err)
{
    sfl_error_t oe;
    int fd = sfl_open_regular(path, "the plan file", &oe);
    if (fd < 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "%s", oe.message);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    bool ok = buf != NULL;
    while (ok) {
        if (n == cap) {
            char *q = cap < PLAN_MAX ? realloc(buf, cap * 2 + 1) : NULL;
            if (!q) {
                ok = cap < PLAN_MAX ? nomem(err)
                                    : sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                                                    "%s: too large for a plan file", path);
                break;
            }
            buf = q;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                               "%s: cannot read the plan file: %s", path, strerror(errno));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!ok || !buf) {
        if (ok)
            nomem(err);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* `doc` without the "command" of each element of its "parts" array. */
static void strip_commands(const bson_t *doc, bson_t *out)
{
    bson_iter_t it, parts, f;
    bson_init(out);
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "parts") != 0 || !BSON_ITER_HOLDS_ARRAY(&it)) {
            bson_append_iter(out, NULL, 0, &it);
            continue;
        }
        bson_t arr, one;
        BSON_APPEND_ARRAY_BEGIN(out, "parts", &arr);
        bson_iter_recurse(&it, &parts);
        while (bson_iter_next(&parts)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&parts) || !bson_iter_recurse(&parts, &f)) {
                bson_append_iter(&arr, NULL, 0, &parts);
                continue;
            }
            BSON_APPEND_DOCUMENT_BEGIN(&arr, bson_iter_key(&parts), &one);
            while (bson_iter_next(&f))
                if (strcmp(bson_iter_key(&f), "command") != 0)
                    bson_append_iter(&one, NULL, 0, &f);
            bson_append_document_end(&arr, &one);
        }
        bson_append_array_end(out, &arr);
    }
}

/* The relaxed JSON of field `key` of `doc` ("" when absent); bson_free. */
static char *field_json(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    bson_t one = BSON_INITIALIZER;
    if (bson_iter_init_find(&it, doc, key))
        bson_append_iter(&one, NULL, 0, &it);
    char *js = bson_as_relaxed_extended_json(&one, NULL);
    bson_destroy(&one);
    return js;
}

static bool skipped(const char *key, const char *const *skip)
{
    for (size_t i = 0; skip && skip[i]; i++)
        if (!strcmp(key, skip[i]))
            return true;
    return false;
}

/* The first top-level field of `want` or `got`, not in the NULL-terminated
 * list `skip` (may be NULL), whose value differs (or that only one has), or
 * NULL when they agree. Points into want or got. */
static const char *first_difference(const bson_t *want, const bson_t *got,
                                    const char *const *skip)
{
    const bson_t *docs[2] = {want, got};
    for (int side = 0; side < 2; side++) {
        bson_iter_t it;
        if (!bson_iter_init(&it, docs[side]))
            return "(the document)";
        while (bson_iter_next(&it)) {
            const char *key = bson_iter_key(&it);
            if (skipped(key, skip))
                continue;
            char *a = field_json(want, key), *b = field_json(got, key);
            bool same = a && b && !strcmp(a, b);
            bson_free(a);
            bson_free(b);
            if (!same)
                return key;
        }
    }
    return NULL;
}

bool sfl_group_plan_file_check(const sfl_group_plan_t *p, const char *path, sfl_error_t *err)
{
    if (!p || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_group_plan_file_check: no plan or no path");
    size_t len = 0;
    char *text = read_plan_file(path, &len, err);
    char *recorded = text ? sfl_group_plan_json(p, NULL, 0) : NULL;
    if (text && !recorded) {
        free(text);
        return nomem(err);
    }
    if (!text)
        return false;
    bson_error_t be;
    bson_t *file = bson_new_from_json((const uint8_t *)text, (ssize_t)len, &be);
    bson_t *db = bson_new_from_json((const uint8_t *)recorded, -1, NULL);
    free(text);
    free(recorded);
    bool ok = true;
    if (!file || !db) {
        ok = file ? nomem(err)
                  : sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                                  "%s: not a plan file (not JSON: %s)", path, be.message);
    } else {
        bson_t bare;
        strip_commands(file, &bare);
        const char *key = first_difference(db, &bare, NULL);
        if (key)
            ok = sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                               "group %s: the plan recorded in the database differs from the "
                               "plan file %s in its field \"%s\": the recorded plan was changed "
                               "after `plan` wrote the file, or the file is another group's; "
                               "nothing was swapped",
                               sfl_group_plan_group(p), path, key);
        bson_destroy(&bare);
    }
    bson_destroy(file);
    bson_destroy(db);
    return ok;
}

bool sfl_group_part_files_check(sfl_manifest_t *const *parts, int n, const char *const *paths,
                                size_t n_paths, const char *group, sfl_error_t *err)
{
    if (n < 0 || (size_t)n != n_paths)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "group %s has %d parts, and %zu part manifest files were given: "
                             "give each part's file once",
                             group, n, n_paths);
    char **files = calloc(n_paths + 1, sizeof *files);
    bool *used = calloc(n_paths + 1, sizeof *used);
    bool ok = files && used ? true : nomem(err);
    for (size_t i = 0; ok && i < n_paths; i++) {
        sfl_manifest_t *m = sfl_manifest_read_file(paths[i], err);
        ok = m != NULL && ((files[i] = sfl_manifest_to_json(m)) != NULL || nomem(err));
        sfl_manifest_destroy(m);
    }
    for (int k = 0; ok && k < n; k++) {
        char *mine = sfl_manifest_to_json(parts[k]);
        if (!mine) {
            ok = nomem(err);
            break;
        }
        size_t i = 0;
        while (i < n_paths && (used[i] || strcmp(files[i], mine) != 0))
            i++;
        free(mine);
        if (i < n_paths) {
            used[i] = true;
            continue;
        }
        ok = sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                           "group %s: part %d's manifest recorded in the database is in none "
                           "of the part manifest files given: the record was changed after the "
                           "part wrote its file, or that file is missing or another run's; "
                           "nothing was swapped",
                           group, k + 1);
    }
    for (size_t i = 0; ok && i < n_paths; i++)
        if (!used[i])
            ok = sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                               "group %s: %s holds no part's manifest as the database records "
                               "it; nothing was swapped",
                               group, paths[i]);
    for (size_t i = 0; files && i < n_paths; i++)
        free(files[i]);
    free(files);
    free(used);
    return ok;
}

/* Entry `i` of array `key` of doc. */
static bool entry_of(const bson_t *doc, const char *key, size_t i, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, doc, key) || !bson_iter_recurse(&it, &arr))
        return false;
    for (size_t k = 0; bson_iter_next(&arr); k++)
        if (k == i)
            return sfl_bson_sub(&arr, out);
    return false;
}

/* The entry of doc's "collections" named `name`. */
static bool collection_entry(const bson_t *doc, const char *name, bson_t *out)
{
    bson_iter_t it, arr, f;
    if (!bson_iter_init_find(&it, doc, "collections") || !bson_iter_recurse(&it, &arr))
        return false;
    while (bson_iter_next(&arr))
        if (sfl_bson_sub(&arr, out) && bson_iter_init_find(&f, out, "name") &&
            BSON_ITER_HOLDS_UTF8(&f) && !strcmp(bson_iter_utf8(&f, NULL), name))
            return true;
    return false;
}

/* Whether a collection of `a` is missing from `b` or has other fields
 * there (for "metrics" but its count, bytes and digest, which the finish
 * computes from the variants); what differs in `what`. */
static bool collections_differ(const bson_t *a, const bson_t *b, const char *only_a, char *what,
                               size_t n)
{
    static const char *const computed[] = {"count", "bytes", "digest", NULL};
    bson_iter_t it, arr, f;
    bson_t ea, eb;
    if (!bson_iter_init_find(&it, a, "collections") || !bson_iter_recurse(&it, &arr)) {
        snprintf(what, n, "its list of collections");
        return true;
    }
    while (bson_iter_next(&arr)) {
        if (!sfl_bson_sub(&arr, &ea) || !bson_iter_init_find(&f, &ea, "name") ||
            !BSON_ITER_HOLDS_UTF8(&f)) {
            snprintf(what, n, "its list of collections");
            return true;
        }
        const char *name = bson_iter_utf8(&f, NULL);
        if (!collection_entry(b, name, &eb)) {
            snprintf(what, n, "collection %s, which only %s has", name, only_a);
            return true;
        }
        const char *key = first_difference(&ea, &eb, strcmp(name, "metrics") ? NULL : computed);
        if (key) {
            snprintf(what, n, "collection %s's field \"%s\"", name, key);
            return true;
        }
    }
    return false;
}

/* What differs between the two documents but for their collections and
 * `created`, named down to a source's or option's field; false if nothing. */
static bool outer_differs(const bson_t *m, const bson_t *j, char *what, size_t n)
{
    static const char *const outer[] = {"created", "collections", NULL};
    const char *key = first_difference(m, j, outer);
    bson_t a, b;
    if (!key)
        return false;
    snprintf(what, n, "its field \"%s\"", key);
    const char *opt = !strcmp(key, "options") && sfl_bson_sub_key(m, key, &a) &&
                              sfl_bson_sub_key(j, key, &b)
                          ? first_difference(&a, &b, NULL)
                          : NULL;
    if (opt)
        snprintf(what, n, "option \"%s\"", opt);
    for (size_t i = 0; !strcmp(key, "sources"); i++) {
        bool ha = entry_of(m, "sources", i, &a), hb = entry_of(j, "sources", i, &b);
        const char *f = ha && hb ? first_difference(&a, &b, NULL) : NULL;
        if (ha != hb)
            snprintf(what, n, "source %zu, which only one of them has", i + 1);
        if (f)
            snprintf(what, n, "source %zu's field \"%s\"", i + 1, f);
        if (ha != hb || f || (!ha && !hb))
            break;
    }
    return true;
}

bool sfl_group_journal_check(const sfl_manifest_t *merged, const sfl_manifest_t *journal,
                             const char *group, sfl_error_t *err)
{
    const bson_t *m = sfl_manifest_bson(merged), *j = sfl_manifest_bson(journal);
    char what[300];
    if (!collections_differ(m, j, "the parts' manifests", what, sizeof what) &&
        !collections_differ(j, m, "the journal", what, sizeof what) &&
        !outer_differs(m, j, what, sizeof what))
        return true;
    return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                         "group %s: the manifest in the swap journal recorded in the database "
                         "differs from the parts' manifests merged in %s: the journal was "
                         "changed after the finish that wrote it; nothing was swapped",
                         group, what);
}

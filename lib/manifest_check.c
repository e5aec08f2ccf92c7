/* manifest_check.c: the rules a manifest must meet before anything trusts it.
 *
 * The design: manifest.c reads the fields into its views; this file decides
 * whether a manifest document may be used at all, wherever it came from (a
 * file, a dump, the copy in the database's swefreq_meta, the one a job has
 * just built), so that verify, restore and promote check against a
 * manifest that says what it seems to say:
 *
 *   - every count, size, byte total and record count is an exact whole
 *     number from 0 to 2^63 - 1 (24.5, -1, 1e3 or "24" are refused, naming
 *     the field and the collection or source);
 *   - every collection is one of the browser's seven, listed once (a name
 *     is never a path: "../x" or "a/b" is not a collection);
 *   - there is at least one source, each of a known kind, and the
 *     collections are exactly those its sources fill (sources.c's table):
 *     an empty or partial list would leave the rest unchecked.
 *
 * JSON text is scanned first (sfl_manifest_widen_integers): libbson wraps an
 * integer literal past 2^64 around (2^64 + 24 reads as 24), so each integer
 * literal outside int64 is rewritten as a double, which the rules above
 * then refuse with its field named.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_internal.h"

/* ---- integer literals past int64 in JSON text --------------------------- */

/* Is the integer literal s[0..n) (an optional '-', then digits) outside
 * int64? */
static bool past_int64(const char *s, size_t n)
{
    bool neg = n && s[0] == '-';
    s += neg;
    n -= neg;
    while (n > 1 && s[0] == '0') {
        s++;
        n--;
    }
    const char *limit = neg ? "9223372036854775808" : "9223372036854775807";
    return n > 19 || (n == 19 && memcmp(s, limit, 19) > 0);
}

bool sfl_manifest_widen_integers(const char *json, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    char *w = NULL;
    size_t wl = 0, from = 0; /* json[from..i) is still to copy into w */
    for (size_t i = 0; i < len;) {
        if (json[i] == '"') { /* a string: skipped, escapes and all */
            for (i++; i < len && json[i] != '"'; i++)
                i += json[i] == '\\';
            i++;
            continue;
        }
        if (json[i] != '-' && (json[i] < '0' || json[i] > '9')) {
            i++;
            continue;
        }
        size_t start = i;
        bool integer = true;
        while (i < len && strchr("+-.eE0123456789", json[i]) && json[i]) {
            integer = integer && json[i] != '.' && json[i] != 'e' && json[i] != 'E';
            i++;
        }
        if (!integer || !past_int64(json + start, i - start))
            continue;
        /* Copy up to the end of the literal and add ".0". */
        char *q = realloc(w, wl + (i - from) + 3 + (len - i) + 1);
        if (!q) {
            free(w);
            return false;
        }
        w = q;
        memcpy(w + wl, json + from, i - from);
        wl += i - from;
        memcpy(w + wl, ".0", 2);
        wl += 2;
        from = i;
    }
    if (w) {
        memcpy(w + wl, json + from, len - from);
        wl += len - from;
        w[wl] = '\0';
        *out = w;
        *out_len = wl;
    }
    return true;
}

/* ---- the rules ------------------------------------------------------------ */

/* Refuses the manifest: "invalid manifest: " and the message. */
#define BAD(err, ...) \
    sfl_error_set((err), SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "invalid manifest: " __VA_ARGS__)

/* A string value for a message: printable ASCII as it is, other bytes as
 * \xNN, at most about 80 bytes. */
static void printable(const char *s, uint32_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (uint32_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
        if (o > 80 && i + 1 < len) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
    }
    buf[o] = '\0';
}

/* What a value is, for a message: "24.5", "-1", "the string \"24\"", "null". */
static void describe(const bson_iter_t *it, char *buf, size_t size)
{
    char s[128];
    uint32_t len;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOUBLE: snprintf(buf, size, "%.17g", bson_iter_double(it)); break;
    case BSON_TYPE_INT32: snprintf(buf, size, "%" PRId32, bson_iter_int32(it)); break;
    case BSON_TYPE_INT64: snprintf(buf, size, "%" PRId64, bson_iter_int64(it)); break;
    case BSON_TYPE_UTF8: {
        const char *str = bson_iter_utf8(it, &len);
        printable(str, len, s, sizeof s);
        snprintf(buf, size, "the string \"%s\"", s);
        break;
    }
    case BSON_TYPE_NULL: snprintf(buf, size, "null"); break;
    case BSON_TYPE_BOOL: snprintf(buf, size, "%s", bson_iter_bool(it) ? "true" : "false"); break;
    case BSON_TYPE_DOCUMENT: snprintf(buf, size, "an object"); break;
    case BSON_TYPE_ARRAY: snprintf(buf, size, "an array"); break;
    default: snprintf(buf, size, "a value of BSON type %d", (int)bson_iter_type(it)); break;
    }
}

/* Field `key` of entry `e`, when present, is an int32 or int64 >= 0. */
static bool whole(const bson_t *e, const char *key, const char *what, sfl_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, e, key))
        return true; /* presence is manifest.c's rule */
    if ((BSON_ITER_HOLDS_INT32(&it) && bson_iter_int32(&it) >= 0) ||
        (BSON_ITER_HOLDS_INT64(&it) && bson_iter_int64(&it) >= 0))
        return true;
    char v[200];
    describe(&it, v, sizeof v);
    return BAD(err, "%s: \"%s\" is %s, not a whole number from 0 to 9223372036854775807", what,
               key, v);
}

/* The string field `key` of `e` (no NUL inside) into *out; false when it
 * is absent or not a string (`*out` NULL), or holds a NUL (`*out` set). */
static bool string_field(const bson_t *e, const char *key, const char **out, uint32_t *len)
{
    bson_iter_t it;
    *out = NULL;
    *len = 0;
    if (!bson_iter_init_find(&it, e, key) || !BSON_ITER_HOLDS_UTF8(&it))
        return false;
    *out = bson_iter_utf8(&it, len);
    return strlen(*out) == *len;
}

/* The array `key` of `doc` into `arr` (a view). */
static bool array_of(const bson_t *doc, const char *key, bson_t *arr, sfl_error_t *err)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_ARRAY(&it))
        return BAD(err, "\"%s\" is not an array", key);
    bson_iter_array(&it, &len, &data);
    return bson_init_static(arr, data, len) || BAD(err, "\"%s\" is damaged", key);
}

/* Entry `it` of an array as a document view; `what` names it for errors. */
static bool entry_of(const bson_iter_t *it, bson_t *e, const char *what, sfl_error_t *err)
{
    const uint8_t *data;
    uint32_t len;
    if (!BSON_ITER_HOLDS_DOCUMENT(it))
        return BAD(err, "%s is not an object", what);
    bson_iter_document(it, &len, &data);
    return bson_init_static(e, data, len) || BAD(err, "%s is damaged", what);
}

static const char *const known_names =
    "variants, base_coverage, genes, transcripts, exons, dbsnp, metrics";

/* "sources": at least one; each of a known kind, its numbers whole. The
 * collections the sources fill go to owned[]. */
static bool check_sources(const bson_t *doc, bool owned[SFL_N_COLLECTIONS], sfl_error_t *err)
{
    bson_t arr, e;
    bson_iter_t it;
    if (!array_of(doc, "sources", &arr, err))
        return false;
    size_t n = 0;
    for (bson_iter_init(&it, &arr); bson_iter_next(&it); n++) {
        char what[200], p[128];
        snprintf(what, sizeof what, "source %zu", n + 1);
        if (!entry_of(&it, &e, what, err))
            return false;
        const char *path;
        uint32_t len;
        bool clean = string_field(&e, "path", &path, &len);
        if (path) {
            printable(path, len, p, sizeof p);
            snprintf(what, sizeof what, "source \"%s\"", p);
        }
        if (path && !clean)
            return BAD(err, "%s: its path holds a NUL byte", what);
        int k = SFL_SOURCE_VCF; /* a source without a kind is a VCF (manifest.c) */
        bson_iter_t ki;
        if (bson_iter_init_find(&ki, &e, "kind")) {
            const char *kind = BSON_ITER_HOLDS_UTF8(&ki) ? bson_iter_utf8(&ki, &len) : NULL;
            k = SFL_N_SOURCE_KINDS;
            if (kind && strlen(kind) == len)
                for (k = 0; k < SFL_N_SOURCE_KINDS; k++)
                    if (!strcmp(kind, sfl_source_kind_name((sfl_source_kind_t)k)))
                        break;
            if (k == SFL_N_SOURCE_KINDS) {
                char v[200];
                describe(&ki, v, sizeof v);
                return BAD(err,
                           "%s: \"kind\" is %s, not one of vcf, coverage, gtf, "
                           "canonical_transcripts, omim, dbnsfp_genes, dbsnp",
                           what, v);
            }
        }
        bool fills[SFL_N_COLLECTIONS];
        sfl_source_collections((sfl_source_kind_t)k, fills);
        for (int c = 0; c < SFL_N_COLLECTIONS; c++)
            owned[c] = owned[c] || fills[c];
        if (!whole(&e, "size", what, err) || !whole(&e, "records", what, err))
            return false;
    }
    if (n == 0)
        return BAD(err, "it lists no sources: a manifest names the files its collections "
                        "were loaded from");
    return true;
}

/* "collections": each a browser collection, once, its numbers whole; the
 * names go to listed[]. */
static bool check_collections(const bson_t *doc, bool listed[SFL_N_COLLECTIONS],
                              sfl_error_t *err)
{
    bson_t arr, e;
    bson_iter_t it;
    if (!array_of(doc, "collections", &arr, err))
        return false;
    size_t n = 0;
    for (bson_iter_init(&it, &arr); bson_iter_next(&it); n++) {
        char what[200], v[128];
        snprintf(what, sizeof what, "collection %zu", n + 1);
        if (!entry_of(&it, &e, what, err))
            return false;
        const char *name;
        uint32_t len;
        bool clean = string_field(&e, "name", &name, &len);
        if (!name)
            continue; /* "lacks a name": manifest.c's message */
        printable(name, len, v, sizeof v);
        int c = SFL_N_COLLECTIONS;
        if (clean)
            for (c = 0; c < SFL_N_COLLECTIONS; c++)
                if (!strcmp(name, sfl_collection_name((sfl_collection_t)c)))
                    break;
        if (c == SFL_N_COLLECTIONS)
            return BAD(err,
                       "%s is named \"%s\", which is not one of the browser's collections "
                       "(%s)",
                       what, v, known_names);
        if (listed[c])
            return BAD(err, "collection \"%s\" is listed twice", v);
        listed[c] = true;
        snprintf(what, sizeof what, "collection \"%s\"", v);
        if (!whole(&e, "count", what, err) || !whole(&e, "bytes", what, err))
            return false;
    }
    return true;
}

/* The names of the collections set in `set` and not in `minus`, as
 * "a, b" into buf; false when there are none. */
static bool names_of(const bool set[SFL_N_COLLECTIONS], const bool minus[SFL_N_COLLECTIONS],
                     char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (set[c] && !minus[c] && o < size)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
                                  sfl_collection_name((sfl_collection_t)c));
    return o > 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No object of `doc` (at `where`, "" at the top) holds a key twice, at
 * any depth. JSON allows it, and readers disagree on which value wins
 * (libbson keeps both; a lookup finds the first, an overwrite the last),
 * so a manifest would mean one thing to us and another to a reviewer. */
static bool unique_keys(const bson_t *doc, bool is_array, const char *where, int depth,
                        sfl_error_t *err)
{
    if (depth > 100)
        return BAD(err, "nested deeper than 100 levels at %s", *where ? where : "the top");
    uint32_t n = bson_count_keys(doc), i = 0;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    if (n && !keys)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bson_iter_t it;
    bool ok = bson_iter_init(&it, doc) || BAD(err, "damaged at %s", *where ? where : "the top");
    while (ok && i < n && bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        keys[i++] = k;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it) && !BSON_ITER_HOLDS_ARRAY(&it))
            continue;
        char pk[64], sub[512];
        printable(k, (uint32_t)strlen(k), pk, sizeof pk);
        if (is_array)
            snprintf(sub, sizeof sub, "%s[%s]", where, pk);
        else
            snprintf(sub, sizeof sub, "%s%s%s", where, *where ? "." : "", pk);
        const uint8_t *data;
        uint32_t len;
        bson_t child;
        if (BSON_ITER_HOLDS_DOCUMENT(&it))
            bson_iter_document(&it, &len, &data);
        else
            bson_iter_array(&it, &len, &data);
        ok = (bson_init_static(&child, data, len) || BAD(err, "damaged at %s", sub)) &&
             unique_keys(&child, BSON_ITER_HOLDS_ARRAY(&it), sub, depth + 1, err);
    }
    if (ok && !is_array && i > 1) {
        qsort(keys, i, sizeof *keys, key_cmp);
        for (uint32_t j = 1; ok && j < i; j++)
            if (!strcmp(keys[j - 1], keys[j])) {
                char pk[64];
                printable(keys[j], (uint32_t)strlen(keys[j]), pk, sizeof pk);
                ok = BAD(err,
                         "the key \"%s\" appears more than once in %s%s: readers disagree on "
                         "which value counts, so each key must appear once",
                         pk, *where ? "" : "the top-level object", where);
            }
    }
    free(keys);
    return ok;
}

bool sfl_manifest_check_keys(const bson_t *doc, sfl_error_t *err)
{
    return unique_keys(doc, false, "", 0, err);
}

/* A database name MongoDB accepts and a path cannot escape through: 1 to
 * 63 bytes, none of / \\ . space " $ or a control byte. */
bool sfl_db_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || strchr("/\\. \"$", s[i]))
            return false;
    return true;
}

/* "release", when present (an export given a release number):
 * {"number": a whole number from 1, "database": the database it is for},
 * nothing else. */
static bool check_release(const bson_t *doc, sfl_error_t *err)
{
    bson_iter_t it, f;
    if (!bson_iter_init_find(&it, doc, "release"))
        return true;
    bson_t r;
    if (!entry_of(&it, &r, "\"release\"", err) || !whole(&r, "number", "\"release\"", err))
        return false;
    if (!bson_iter_init_find(&f, &r, "number") ||
        (BSON_ITER_HOLDS_INT32(&f) ? bson_iter_int32(&f) : bson_iter_int64(&f)) < 1)
        return BAD(err, "\"release\" needs a \"number\" from 1 (the release's sequence "
                        "number)");
    const char *db;
    uint32_t len;
    char pv[128];
    if (!string_field(&r, "database", &db, &len) || !sfl_db_name_ok(db)) {
        printable(db ? db : "", len, pv, sizeof pv);
        return BAD(err, "\"release\" needs a \"database\": the name of the database it is "
                        "for (1 to 63 bytes, none of / \\ . space \" $), not \"%s\"", pv);
    }
    uint32_t keys = 0;
    for (bson_iter_init(&f, &r); bson_iter_next(&f);)
        keys++;
    return keys == 2 || BAD(err, "\"release\" holds keys other than \"number\" and "
                                 "\"database\"");
}

bool sfl_manifest_check(const bson_t *doc, sfl_error_t *err)
{
    bool owned[SFL_N_COLLECTIONS] = {false}, listed[SFL_N_COLLECTIONS] = {false};
    bool none[SFL_N_COLLECTIONS] = {false};
    if (!check_sources(doc, owned, err) || !check_collections(doc, listed, err) ||
        !check_release(doc, err))
        return false;
    char missing[256], extra[256], fill[256];
    if (!names_of(owned, none, fill, sizeof fill))
        return BAD(err, "its sources (gene tables only) fill no collection: a manifest "
                        "lists at least one");
    if (names_of(owned, listed, missing, sizeof missing))
        return BAD(err,
                   "\"collections\" lacks %s: its sources fill %s, and a manifest lists every "
                   "collection its sources fill (an empty or partial list leaves the rest "
                   "unchecked)",
                   missing, fill);
    if (names_of(listed, owned, extra, sizeof extra))
        return BAD(err, "\"collections\" lists %s, which none of its sources fills (they "
                        "fill %s)",
                   extra, fill);
    return true;
}

/* canonical.c: re-canonicalise a document read back from a server.
 *
 * A server may move `_id` to the front (we already put it there) and may
 * store -0.0 as 0.0 (FerretDB does); we never write -0.0, but a document
 * changed by hand might carry one. Canonical form: `_id` first, the other
 * fields in their stored order, every double -0.0 as 0.0 at any depth.
 * A document with `_id` twice has no canonical form: refused (it would
 * otherwise hash as its first `_id` alone).
 * The common case, a document that is already canonical, costs one scan
 * and no copy.
 */
#include <bson/bson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "canonical.h"

static bool has_negative_zero(bson_iter_t *it)
{
    while (bson_iter_next(it)) {
        bson_type_t t = bson_iter_type(it);
        if (t == BSON_TYPE_DOUBLE) {
            double v = bson_iter_double(it);
            if (v == 0.0 && signbit(v))
                return true;
        } else if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
            bson_iter_t child;
            if (bson_iter_recurse(it, &child) && has_negative_zero(&child))
                return true;
        }
    }
    return false;
}

static bool copy_fixed(bson_t *dst, bson_iter_t *it, bool skip_id);

static bool append_value(bson_t *dst, bson_iter_t *it)
{
    const char *key = bson_iter_key(it);
    int klen = (int)bson_iter_key_len(it);
    bson_type_t t = bson_iter_type(it);
    if (t == BSON_TYPE_DOUBLE) {
        double v = bson_iter_double(it);
        return bson_append_double(dst, key, klen, v == 0.0 ? 0.0 : v);
    }
    if (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) {
        bson_t child;
        bson_iter_t sub;
        if (!bson_iter_recurse(it, &sub))
            return false;
        bool ok = t == BSON_TYPE_DOCUMENT ? bson_append_document_begin(dst, key, klen, &child)
                                          : bson_append_array_begin(dst, key, klen, &child);
        ok = ok && copy_fixed(&child, &sub, false);
        return ok && (t == BSON_TYPE_DOCUMENT ? bson_append_document_end(dst, &child)
                                              : bson_append_array_end(dst, &child));
    }
    return bson_append_iter(dst, key, klen, it);
}

static bool copy_fixed(bson_t *dst, bson_iter_t *it, bool skip_id)
{
    while (bson_iter_next(it)) {
        if (skip_id && strcmp(bson_iter_key(it), "_id") == 0)
            continue;
        if (!append_value(dst, it))
            return false;
    }
    return true;
}

/* Could the document hold a double -0.0? Its 8 bytes are 7 zeros and
 * 0x80; when that pattern is nowhere in the document, no double can be
 * -0.0. A cheap, exact pre-check for the common case. */
static bool may_hold_negative_zero(const uint8_t *doc, size_t len)
{
    const uint8_t *p = doc + 7, *end = doc + len;
    while (p < end && (p = memchr(p, 0x80, (size_t)(end - p))) != NULL) {
        static const uint8_t zeros[7] = {0};
        if (memcmp(p - 7, zeros, 7) == 0)
            return true;
        p++;
    }
    return false;
}

static bool id_is_first(const uint8_t *doc, size_t len)
{
    return len >= 9 && doc[4] != 0 && memcmp(doc + 5, "_id", 4) == 0;
}

bool sfl_canonicalize(const uint8_t *doc, size_t len, uint8_t **out, size_t *out_len,
                      sfl_error_t *err)
{
    bson_t b;
    *out = NULL;
    *out_len = 0;
    /* Fast path: _id first and no -0.0 possible: hash the bytes as they
     * are. (A damaged document then simply hashes differently.) */
    uint32_t declared;
    if (len >= 5) {
        memcpy(&declared, doc, 4);
        if (declared == len && doc[len - 1] == 0 && id_is_first(doc, len) &&
            !may_hold_negative_zero(doc, len))
            return true;
    }
    size_t off = 0;
    if (!bson_init_static(&b, doc, len) || !bson_validate(&b, BSON_VALIDATE_NONE, &off))
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "not a valid BSON document (%zu bytes, problem near byte %zu)", len,
                             off);
    /* Two `_id` fields: the copy below would keep the first and drop the
     * other, so a document that differs from the one hashed (a reader
     * that keeps the last value sees the other `_id`) would pass. */
    bson_iter_t it;
    int ids = 0;
    if (bson_iter_init(&it, &b))
        while (bson_iter_next(&it))
            ids += strcmp(bson_iter_key(&it), "_id") == 0;
    if (ids > 1)
        return sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                             "not a valid document: it holds _id %d times (%zu bytes)", ids, len);
    bool id_first = bson_iter_init(&it, &b) && bson_iter_next(&it) &&
                    strcmp(bson_iter_key(&it), "_id") == 0;
    bson_iter_t scan;
    bool negz = bson_iter_init(&scan, &b) && has_negative_zero(&scan);
    if (id_first && !negz)
        return true;
    bson_t c = BSON_INITIALIZER;
    bool ok = true;
    bson_iter_t idit;
    if (bson_iter_init_find(&idit, &b, "_id"))
        ok = append_value(&c, &idit);
    bson_iter_t rest;
    ok = ok && bson_iter_init(&rest, &b) && copy_fixed(&c, &rest, true);
    if (!ok) {
        bson_destroy(&c);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "could not copy a document to canonical form");
    }
    uint32_t clen = c.len;
    *out = bson_destroy_with_steal(&c, true, &clen);
    *out_len = clen;
    return *out != NULL;
}

/* canonical.c: re-canonicalise a document read back from a server.
 *
 * A server may move `_id` to the front (we already put it there).
 * Canonical form: `_id` first, the other fields in their stored order, each
 * value byte for byte. A double -0.0 is kept as it is: the encoder never
 * writes one (bson_enc.h writes -0.0 as 0.0), so a -0.0 read back is a
 * change someone made, and it must hash differently (a browser shows
 * "-0"). Folding it into 0.0, as this file once did, let a writer to the
 * database flip the sign of any zero unseen.
 * A document with `_id` twice has no canonical form: refused (it would
 * otherwise hash as its first `_id` alone).
 * The common case, a document that is already canonical, costs one scan
 * and no copy.
 */
#include <bson/bson.h>
#include <stdlib.h>
#include <string.h>

#include "canonical.h"

static bool copy_fixed(bson_t *dst, bson_iter_t *it, bool skip_id)
{
    while (bson_iter_next(it)) {
        if (skip_id && strcmp(bson_iter_key(it), "_id") == 0)
            continue;
        if (!bson_append_iter(dst, bson_iter_key(it), (int)bson_iter_key_len(it), it))
            return false;
    }
    return true;
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
    /* Fast path: _id first: hash the bytes as they are. (A damaged
     * document then simply hashes differently.) */
    uint32_t declared;
    if (len >= 5) {
        memcpy(&declared, doc, 4);
        if (declared == len && doc[len - 1] == 0 && id_is_first(doc, len))
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
    if (id_first)
        return true;
    bson_t c = BSON_INITIALIZER;
    bool ok = true;
    bson_iter_t idit;
    if (bson_iter_init_find(&idit, &b, "_id"))
        ok = bson_append_iter(&c, "_id", 3, &idit);
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

/* bson_util.h: libbson helpers for the BSON that is built with libbson
 * (index specifications, indexes.c); the documents themselves are encoded
 * by bson_enc.h. Private to the library. */
#ifndef SFL_BSON_UTIL_H
#define SFL_BSON_UTIL_H

#include <bson/bson.h>
#include <math.h>
#include <string.h>

/* `d` as relaxed extended JSON in a malloc'd string (free() it, not
 * bson_free()), or NULL when out of memory. */
static inline char *sfl_bson_json_dup(const bson_t *d)
{
    char *json = bson_as_relaxed_extended_json(d, NULL);
    char *out = json ? strdup(json) : NULL;
    bson_free(json);
    return out;
}

/* int32 when it fits, int64 otherwise: what pymongo does with an int. */
static inline bool sfl_append_int(bson_t *b, const char *key, int klen, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX)
        return bson_append_int32(b, key, klen, (int32_t)v);
    return bson_append_int64(b, key, klen, v);
}

/* A double that never writes NaN, Infinity (null instead; counted in
 * *non_finite) or -0.0 (0.0 instead). */
static inline bool sfl_append_num(bson_t *b, const char *key, int klen, double v,
                                  uint64_t *non_finite)
{
    if (!isfinite(v)) {
        (*non_finite)++;
        return bson_append_null(b, key, klen);
    }
    return bson_append_double(b, key, klen, v == 0.0 ? 0.0 : v);
}

/* The document or array at `it` as a static view in *out (valid while
 * the iterated document lives); false for any other type. */
static inline bool sfl_bson_sub(const bson_iter_t *it, bson_t *out)
{
    const uint8_t *data;
    uint32_t len;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else if (BSON_ITER_HOLDS_ARRAY(it))
        bson_iter_array(it, &len, &data);
    else
        return false;
    return bson_init_static(out, data, len);
}

/* The document or array under `key` of d, as a static view in *out
 * (valid while d lives): false when there is none. */
static inline bool sfl_bson_sub_key(const bson_t *d, const char *key, bson_t *out)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && sfl_bson_sub(&it, out);
}

/* The key of array element i ("0", "1", ...): returns its length. */
static inline int sfl_index_key(uint32_t i, const char **key, char buf[16])
{
    return (int)bson_uint32_to_string(i, key, buf, 16);
}

/* Starts a reusable document in the caller's scratch buffer. */
static inline bson_t *sfl_scratch_doc(uint8_t **scratch, size_t *cap)
{
    if (*scratch && *cap >= 5) {
        static const uint8_t empty[5] = {5, 0, 0, 0, 0};
        memcpy(*scratch, empty, 5);
    }
    return bson_new_from_buffer(scratch, cap, bson_realloc_ctx, NULL);
}

#endif

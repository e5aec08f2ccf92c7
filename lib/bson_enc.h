/* bson_enc.h: a minimal BSON encoder for the document builders' hot path.
 *
 * The design is simple: elements are appended straight into one growing
 * buffer (the batch's), each with one capacity check and one or two memcpy,
 * and (sub)documents get their length patched when they end. It writes only
 * the types our documents use (string, int32, int64, double, null,
 * document, array) and never validates: the callers have validated every
 * line before they build. libbson remains the reader, validator and encoder
 * everywhere else; the golden tests compare this encoder's bytes with
 * libbson's. On out-of-memory the encoder sets `oom` and ignores further
 * writes. Private to the library.
 */
#ifndef SFL_BSON_ENC_H
#define SFL_BSON_ENC_H

#include <bson/bson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} sfl_enc_t;

static inline bool sfl_enc_grow(sfl_enc_t *e, size_t need)
{
    if (e->oom)
        return false;
    size_t n = e->cap ? e->cap : 1 << 16;
    while (n < e->len + need)
        n *= 2;
    uint8_t *q = realloc(e->p, n);
    if (!q) {
        e->oom = true;
        return false;
    }
    e->p = q;
    e->cap = n;
    return true;
}

#define SFL_ENC_NEED(e, n) ((e)->len + (n) <= (e)->cap || sfl_enc_grow((e), (n)))

static inline void sfl_enc_u32(uint8_t *at, uint32_t v)
{
    at[0] = (uint8_t)v;
    at[1] = (uint8_t)(v >> 8);
    at[2] = (uint8_t)(v >> 16);
    at[3] = (uint8_t)(v >> 24);
}

/* memcpy for the short strings of a document (keys, CSQ fields): up to
 * 16 bytes with two overlapping moves of a fixed size, which the compiler
 * inlines, instead of a call to memcpy; nothing outside s[0, n) is read. */
static inline void sfl_enc_copy(uint8_t *d, const void *src, size_t n)
{
    const uint8_t *s = src;
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0) { /* 1..3 bytes: 0, n/2 and n-1 cover them */
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* type byte + key + NUL; the caller has reserved the room. */
static inline void sfl_enc_head(sfl_enc_t *e, uint8_t type, const char *k, size_t kl)
{
    e->p[e->len++] = type;
    sfl_enc_copy(e->p + e->len, k, kl);
    e->len += kl;
    e->p[e->len++] = 0;
}

/* Returns the offset in e->p of the string's bytes (0 when out of memory),
 * for a caller that records where a value is, such as a document's _id. */
static inline size_t sfl_enc_str(sfl_enc_t *e, const char *k, size_t kl, const char *s, size_t sl)
{
    if (!SFL_ENC_NEED(e, kl + sl + 7))
        return 0;
    sfl_enc_head(e, 0x02, k, kl);
    sfl_enc_u32(e->p + e->len, (uint32_t)sl + 1);
    e->len += 4;
    size_t at = e->len;
    sfl_enc_copy(e->p + e->len, s, sl);
    e->len += sl;
    e->p[e->len++] = 0;
    return at;
}

static inline void sfl_enc_i64(sfl_enc_t *e, const char *k, size_t kl, int64_t v)
{
    if (!SFL_ENC_NEED(e, kl + 10))
        return;
    sfl_enc_head(e, 0x12, k, kl);
    uint64_t u = (uint64_t)v;
    sfl_enc_u32(e->p + e->len, (uint32_t)u);
    sfl_enc_u32(e->p + e->len + 4, (uint32_t)(u >> 32));
    e->len += 8;
}

/* int32 when it fits, int64 otherwise (what pymongo does with an int). */
static inline void sfl_enc_int(sfl_enc_t *e, const char *k, size_t kl, int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX) {
        sfl_enc_i64(e, k, kl, v);
        return;
    }
    if (!SFL_ENC_NEED(e, kl + 6))
        return;
    sfl_enc_head(e, 0x10, k, kl);
    sfl_enc_u32(e->p + e->len, (uint32_t)(int32_t)v);
    e->len += 4;
}

static inline void sfl_enc_null(sfl_enc_t *e, const char *k, size_t kl)
{
    if (!SFL_ENC_NEED(e, kl + 2))
        return;
    sfl_enc_head(e, 0x0A, k, kl);
}

/* A double; NaN/Infinity become null (counted), -0.0 becomes 0.0. */
static inline void sfl_enc_num(sfl_enc_t *e, const char *k, size_t kl, double v,
                               uint64_t *non_finite)
{
    if (!isfinite(v)) {
        (*non_finite)++;
        sfl_enc_null(e, k, kl);
        return;
    }
    if (v == 0.0)
        v = 0.0;
    if (!SFL_ENC_NEED(e, kl + 10))
        return;
    sfl_enc_head(e, 0x01, k, kl);
    uint64_t u;
    memcpy(&u, &v, 8);
    sfl_enc_u32(e->p + e->len, (uint32_t)u);
    sfl_enc_u32(e->p + e->len + 4, (uint32_t)(u >> 32));
    e->len += 8;
}

/* Starts a document (type 0x03) or array (0x04) element, or with k == NULL
 * a top-level document; returns where its length goes. */
static inline size_t sfl_enc_begin(sfl_enc_t *e, uint8_t type, const char *k, size_t kl)
{
    if (!SFL_ENC_NEED(e, kl + 6))
        return 0;
    if (k)
        sfl_enc_head(e, type, k, kl);
    size_t at = e->len;
    e->len += 4;
    return at;
}

/* The first key that (BSON document `doc`, `len` bytes) holds twice at its
 * own level, or NULL when each key is there once (or the bytes are not a
 * document). Nested documents are not walked: each is checked when it
 * ends. For tests and debug builds; defined in bson_enc_check.c. */
const char *sfl_enc_repeated_key(const uint8_t *doc, size_t len);

/* Aborts, naming the key: a document with a repeated key is a bug of the
 * builder that wrote it (drivers keep one of the two values). */
void sfl_enc_repeated_key_abort(const char *key);

static inline void sfl_enc_end(sfl_enc_t *e, size_t at)
{
    if (!SFL_ENC_NEED(e, 1))
        return;
    e->p[e->len++] = 0;
    sfl_enc_u32(e->p + at, (uint32_t)(e->len - at));
#ifdef SFL_CHECK_KEYS
    /* Debug and sanitizer builds (cmake -DSFL_CHECK_KEYS=ON, on by default
     * in Debug): no document leaves an encoder with a repeated key. Release
     * builds compile none of this. */
    const char *dup = sfl_enc_repeated_key(e->p + at, e->len - at);
    if (dup)
        sfl_enc_repeated_key_abort(dup);
#endif
}

/* The key of array element i. */
static inline const char *sfl_enc_idx(uint32_t i, size_t *kl, char buf[16])
{
    const char *k;
    *kl = bson_uint32_to_string(i, &k, buf, 16);
    return k;
}

/* Can this header-given name be a document key? Non-empty UTF-8 without
 * NUL, not starting with '$' and without '.' (older servers and the
 * browser's queries cannot use those). Sets *why when it cannot. */
static inline bool sfl_valid_key(const char *k, size_t len, const char **why)
{
    if (len == 0) {
        *why = "is empty";
        return false;
    }
    if (!bson_utf8_validate(k, len, false)) {
        *why = "is not UTF-8 text (or holds a NUL byte)";
        return false;
    }
    if (k[0] == '$') {
        *why = "starts with '$'";
        return false;
    }
    if (memchr(k, '.', len)) {
        *why = "contains '.'";
        return false;
    }
    return true;
}

#endif

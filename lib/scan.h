/* scan.h: the separators of a field list, found 16 bytes at a time.
 * Private to the library.
 *
 * The design is simple: a scanner walks a span in blocks of 16 bytes and
 * keeps a bit mask of the places in the current block that hold either of
 * two separator bytes (a CSQ value's ',' and '|', say); each call hands out
 * the next one. With SSE2, which every x86-64 has, a block costs two
 * compares, an OR and a movemask; elsewhere, and for the last block of
 * fewer than 16 bytes, a plain loop builds the same mask. Nothing is read
 * outside the span. This replaces a memchr call per field, whose fixed
 * cost dominates on fields of a few bytes.
 */
#ifndef SFL_SCAN_H
#define SFL_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    const char *p;   /* the span */
    size_t len;
    size_t blk;      /* offset of the block that `mask` describes */
    uint32_t mask;   /* separators of that block not handed out yet */
    char a, b;
} sfl_scan_t;

/* Scans p[0, len) for the bytes a and b. */
static inline void sfl_scan_init(sfl_scan_t *s, const char *p, size_t len, char a, char b)
{
    s->p = p;
    s->len = len;
    s->blk = 0;
    s->a = a;
    s->b = b;
    s->mask = 0;
    if (len == 0)
        return;
    /* the first block's mask; sfl_scan_next moves on from there */
#if defined(__SSE2__)
    if (len >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(a)),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8(b)));
        s->mask = (uint32_t)_mm_movemask_epi8(m);
        return;
    }
#endif
    size_t n = len < 16 ? len : 16;
    for (size_t i = 0; i < n; i++)
        if (p[i] == a || p[i] == b)
            s->mask |= 1u << i;
}

/* The offset of the next separator, or the span's length when there is
 * none left. */
static inline size_t sfl_scan_next(sfl_scan_t *s)
{
    while (s->mask == 0) {
        s->blk += 16;
        if (s->blk >= s->len) {
            s->blk = s->len; /* stays at the end */
            return s->len;
        }
        size_t left = s->len - s->blk;
        const char *q = s->p + s->blk;
#if defined(__SSE2__)
        if (left >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
            __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(s->a)),
                                     _mm_cmpeq_epi8(v, _mm_set1_epi8(s->b)));
            s->mask = (uint32_t)_mm_movemask_epi8(m);
            continue;
        }
#endif
        size_t n = left < 16 ? left : 16;
        for (size_t i = 0; i < n; i++)
            if (q[i] == s->a || q[i] == s->b)
                s->mask |= 1u << i;
    }
    unsigned i = (unsigned)__builtin_ctz(s->mask);
    s->mask &= s->mask - 1;
    return s->blk + i;
}

/* True when p[0, len) is ASCII without NUL (bytes 1 to 127), 16 bytes a
 * step; a line that is not needs the full UTF-8 check. */
static inline bool sfl_scan_ascii(const char *p, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        if (_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)))
            return false;
    }
#endif
    for (; i < len; i++)
        if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
            return false;
    return true;
}

/* How many bytes of p[0, len) equal c: 64 bytes a step with SSE2 (four
 * compares whose all-ones bytes are subtracted from 16 byte counters,
 * which add at most 4 a step, so they are summed every 63 steps before
 * they could wrap), a byte loop for the rest and elsewhere. The reader
 * counts a chunk's newlines with it. */
static inline uint64_t sfl_scan_count(const char *p, size_t len, char c)
{
    uint64_t n = 0;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi8(c), zero = _mm_setzero_si128();
    while (i + 64 <= len) {
        __m128i acc = zero;
        for (int k = 0; k < 63 && i + 64 <= len; k++, i += 64) {
            const __m128i *q = (const __m128i *)(const void *)(p + i);
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q), want));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 1), want));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 2), want));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 3), want));
        }
        __m128i sums = _mm_sad_epu8(acc, zero);
        n += (uint64_t)_mm_cvtsi128_si64(sums) +
             (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
    }
#endif
    for (; i < len; i++)
        n += p[i] == c;
    return n;
}

#endif

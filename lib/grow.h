/* grow.h: the one growable-array helper every module uses. Private.
 *
 * SFL_GROW(p, cap, need, first) makes the array `p` (any `T *`, NULL when
 * empty) hold at least `need` elements, doubling its capacity `*cap` from
 * `first`. The element size is taken from the pointer itself (sizeof *p),
 * as htslib's hts_resize does, and the new block is assigned back to `p`
 * with its own type: no cast through `void **`. Evaluates to true, or to
 * false with `p` and `*cap` untouched when out of memory or when the size
 * in bytes would not fit in a size_t. `p` and `need` are evaluated more
 * than once: pass plain lvalues and expressions without side effects.
 */
#ifndef SFL_GROW_H
#define SFL_GROW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* The new block for `need` elements of `elem` bytes (and *cap updated), or
 * `p` itself when it is large enough or cannot be grown. */
static inline void *sfl_grow_block(void *p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (elem && n > SIZE_MAX / elem)
        return p;
    void *q = realloc(p, n * elem);
    if (!q)
        return p;
    *cap = n;
    return q;
}

#define SFL_GROW(p, cap, need, first)                                                             \
    ((p) = sfl_grow_block((p), (cap), (need), sizeof *(p), (first)), *(cap) >= (size_t)(need))

#endif

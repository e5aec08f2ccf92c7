/* grow.h: the one growable-array helper every module uses. Private. */
#ifndef SFL_GROW_H
#define SFL_GROW_H

#include <stdbool.h>
#include <stdlib.h>

/* Makes *p hold at least `need` elements of `elem` bytes, doubling from
 * `first`; false (and *p untouched) when out of memory. */
static inline bool sfl_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

#endif

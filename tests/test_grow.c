/* Unit tests: SFL_GROW (lib/grow.h), the typed growable-array macro. */
#include <stdint.h>

#include "grow.h"
#include "testutil.h"

typedef struct {
    uint64_t a, b, c; /* 24 bytes: the size comes from the pointer */
} wide_t;

int main(void)
{
    /* From NULL: the first capacity, then doubling; contents survive. */
    wide_t *w = NULL;
    size_t cap = 0;
    CHECK(SFL_GROW(w, &cap, 3, 4));
    CHECK_INT(cap, 4);
    for (int i = 0; i < 4; i++)
        w[i] = (wide_t){(uint64_t)i, 2, 3};
    CHECK(SFL_GROW(w, &cap, 5, 4));
    CHECK_INT(cap, 8);
    CHECK(SFL_GROW(w, &cap, 33, 4));
    CHECK_INT(cap, 64);
    CHECK_INT(w[3].a, 3);
    w[63] = (wide_t){63, 63, 63}; /* all 64 elements of 24 bytes are there (ASan) */
    /* Already large enough: nothing changes. */
    wide_t *before = w;
    CHECK(SFL_GROW(w, &cap, 64, 4));
    CHECK(w == before);
    CHECK_INT(cap, 64);
    /* A size in bytes that does not fit in size_t: refused, untouched. */
    CHECK(!SFL_GROW(w, &cap, SIZE_MAX / sizeof *w + 1, 4));
    CHECK(w == before);
    CHECK_INT(cap, 64);
    CHECK(!SFL_GROW(w, &cap, SIZE_MAX, 4));
    CHECK(w == before);
    CHECK_INT(cap, 64);
    /* Doubling near SIZE_MAX does not wrap round to a small block: the
     * capacity goes straight to `need`, whose bytes do not fit: refused. */
    uint16_t *pairs = NULL;
    size_t pcap = 0;
    CHECK(SFL_GROW(pairs, &pcap, 10, 16));
    CHECK_INT(pcap, 16);
    CHECK(!SFL_GROW(pairs, &pcap, SIZE_MAX / 2 + 1, 16));
    CHECK_INT(pcap, 16);
    CHECK(pairs != NULL);
    free(pairs);
    free(w);
    return t_done("test_grow");
}

/* Unit tests: the separator scanner (lib/scan.h) against a plain byte
 * loop, on every length from 0 to 80 and every alignment of the span in
 * its buffer, with separators at random places, next to each other, at
 * both ends, and bytes that only look alike (0x7c | 0x80, the other one
 * of the pair in the buffer just outside the span); the ASCII check; and
 * the byte count (the reader's newline count) against a byte loop, on
 * every length to 300 and alignment, and on 1 MiB that is all newlines
 * (its counters must not wrap) or none. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "scan.h"
#include "testutil.h"

/* Every separator offset of p[0, len), then len, as the scanner should
 * hand them out; false at the first difference. */
static bool same_as_loop(const char *p, size_t len, char a, char b)
{
    sfl_scan_t s;
    sfl_scan_init(&s, p, len, a, b);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != a && p[i] != b)
            continue;
        if (sfl_scan_next(&s) != i)
            return false;
    }
    /* the end, and it stays the end */
    return sfl_scan_next(&s) == len && sfl_scan_next(&s) == len;
}

/* The byte count against a loop: every length to 300, every alignment,
 * newlines at random (and the same byte with its high bit set, which is
 * not one), then long runs of all newlines and of none. Returns how many
 * counts were wrong. */
static int count_mismatches(void)
{
    static char buf[320];
    int wrong = 0;
    for (size_t len = 0; len <= 300; len++) {
        for (size_t align = 0; align < 16; align++) {
            char *p = buf + align;
            memset(buf, '\n', sizeof buf); /* outside the span: not counted */
            uint64_t want = 0;
            for (size_t i = 0; i < len; i++) {
                int r = rand() % 4;
                p[i] = r == 0 ? '\n' : r == 1 ? (char)('\n' | 0x80) : 'A';
                want += r == 0;
            }
            wrong += sfl_scan_count(p, len, '\n') != want;
        }
    }
    size_t big = 1u << 20;
    char *all = malloc(big + 1);
    if (!all)
        return 1;
    memset(all, '\n', big + 1);
    wrong += sfl_scan_count(all, big, '\n') != big;
    wrong += sfl_scan_count(all + 1, big - 7, '\n') != big - 7;
    memset(all, 'x', big + 1);
    wrong += sfl_scan_count(all, big, '\n') != 0;
    free(all);
    return wrong;
}

int main(void)
{
    static const char alphabet[] = {'A', 'C', '|', ',', (char)0xfc, (char)0xac, '\0', '='};
    char buf[128];
    srand(25);
    int bad = 0;
    for (size_t len = 0; len <= 80; len++) {
        for (size_t align = 0; align < 16; align++) {
            for (int round = 0; round < 20; round++) {
                /* a span framed by separators that are not part of it */
                memset(buf, '|', sizeof buf);
                char *p = buf + 8 + align;
                for (size_t i = 0; i < len; i++)
                    p[i] = round == 0   ? 'x'
                           : round == 1 ? (i % 2 ? '|' : ',')
                           : round == 2 ? '|'
                                        : alphabet[rand() % (int)sizeof alphabet];
                if (!same_as_loop(p, len, ',', '|') || !same_as_loop(p, len, ';', '='))
                    bad++;
            }
        }
    }
    CHECK_INT(bad, 0);
    /* ASCII without NUL: one byte >= 0x80 or one NUL anywhere, at any
     * length and place, is seen */
    int wrong = 0;
    for (size_t len = 0; len <= 70; len++) {
        memset(buf, 'a', sizeof buf);
        if (!sfl_scan_ascii(buf, len))
            wrong++;
        for (size_t at = 0; at < len; at++) {
            buf[at] = (char)(at % 2 ? 0x80 : 0xff);
            wrong += sfl_scan_ascii(buf, len);
            buf[at] = '\0';
            wrong += sfl_scan_ascii(buf, len);
            buf[at] = 0x7f;
            wrong += !sfl_scan_ascii(buf, len);
            buf[at] = 'a';
        }
        buf[len] = '\0'; /* just outside: not looked at */
        wrong += !sfl_scan_ascii(buf, len);
    }
    CHECK_INT(wrong, 0);
    /* the first and the last byte */
    CHECK(same_as_loop("|abcdefghijklmnopqrstuvwxyz|", 28, ',', '|'));
    CHECK(same_as_loop(",", 1, ',', '|'));
    CHECK_INT(count_mismatches(), 0);
    return t_done("test_scan");
}

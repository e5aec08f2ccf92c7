/* Unit tests: a region's chunks (lib/reader.c, region mode, issue 25:
 * lines copied by whole blocks). A BGZF file of many blocks is written
 * here (a header block, then contig 1 and contig 2 lines of varying
 * length); for regions that begin and end inside blocks, a whole contig
 * followed by another and a contig read to the end of the file, at chunk
 * sizes 4096 and 1 MiB:
 * - the chunks together are exactly the region's lines (each line's
 *   contig and POS tested here, one by one);
 * - each chunk but the last ends with the first line that makes it reach
 *   the chunk size, and its first_line follows the last chunk's;
 * - end_voffset is exact: a BGZF handle seeked there reads next the next
 *   chunk's first line (or, after the last, the line that ended the
 *   region, or the end of the file), which is what a resume and a part's
 *   recorded read end rely on. */
#include <htslib/bgzf.h>
#include <htslib/kstring.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader.h"
#include "testutil.h"

#define N1 6000
#define N2 3000

static char lines[N1 + N2][160];

static int64_t write_file(const char *path)
{
    BGZF *w = bgzf_open(path, "w");
    const char *hdr = "##fileformat=VCFv4.1\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    CHECK(bgzf_write(w, hdr, strlen(hdr)) >= 0);
    CHECK(bgzf_flush(w) == 0); /* the data lines begin a block */
    int64_t data = bgzf_tell(w);
    for (int i = 0; i < N1 + N2; i++) {
        bool one = i < N1;
        int pos = one ? 1000 + 10 * i : 500 + 10 * (i - N1);
        /* lengths vary, so that lines straddle blocks at every offset */
        snprintf(lines[i], sizeof lines[i], "%s\t%d\t.\tA\tG\t50\tPASS\tAC=%d;X=%.*s\n",
                 one ? "1" : "2", pos, i % 7 + 1, i % 61, "abcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        CHECK(bgzf_write(w, lines[i], strlen(lines[i])) >= 0);
    }
    CHECK(bgzf_close(w) == 0);
    return data;
}

/* The line after `voff` in a fresh handle, or "" at the end of the file. */
static void line_at(const char *path, int64_t voff, char *out, size_t cap)
{
    BGZF *f = bgzf_open(path, "r");
    kstring_t s = {0, 0, NULL};
    out[0] = '\0';
    if (bgzf_seek(f, voff, SEEK_SET) == 0 && bgzf_getline(f, '\n', &s) >= 0)
        snprintf(out, cap, "%s\n", s.s);
    free(s.s);
    bgzf_close(f);
}

static void region(const char *path, int64_t data, const char *chrom, int64_t beg, int64_t end,
                   size_t target)
{
    /* the region's lines, and the line that ends it, one by one */
    size_t want = 0, first = 0, stop = N1 + N2;
    bool begun = false;
    for (size_t i = 0; i < N1 + N2; i++) {
        int pos = atoi(strchr(lines[i], '\t') + 1);
        bool same = strncmp(lines[i], chrom, strlen(chrom)) == 0 && lines[i][strlen(chrom)] == '\t';
        if (same && pos - 1 >= beg && pos - 1 < end) {
            if (!begun)
                first = i;
            begun = true;
            want++;
        } else if (begun || (same && pos - 1 >= end)) {
            stop = i;
            break;
        }
    }
    sfl_error_t err = {0};
    sfl_reader_t *r = sfl_reader_open(path, NULL, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    char *h = NULL;
    size_t hlen = 0;
    CHECK(sfl_reader_header(r, false, &h, &hlen, &err));
    free(h);
    CHECK(sfl_reader_region(r, data, chrom, beg, end, &err));
    sfl_chunk_t c = {0};
    size_t got = 0, at = first;
    uint64_t next_line = 1;
    bool ok = true;
    char after[200];
    int rc;
    while ((rc = sfl_reader_next_chunk(r, target, &c, &err)) == 1) {
        /* the chunk is the next lines, whole, cut where line by line would */
        size_t off = 0, last_len = 0;
        ok &= c.first_line == next_line;
        for (uint64_t k = 0; k < c.n_lines && ok; k++, at++, got++) {
            size_t n = strlen(lines[at]);
            ok &= at < N1 + N2 && off + n <= c.len && memcmp(c.text + off, lines[at], n) == 0;
            off += n;
            last_len = n;
        }
        ok &= off == c.len;
        next_line += c.n_lines;
        bool last = got == want;
        ok &= last || (c.len >= target && c.len - last_len < target);
        line_at(path, c.end_voffset, after, sizeof after);
        const char *next = at < N1 + N2 ? lines[at] : "";
        ok &= strcmp(after, next) == 0;
        if (!ok) {
            fprintf(stderr, "region %s:%lld-%lld, chunks of %zu: wrong at line %zu\n", chrom,
                    (long long)beg, (long long)end, target, at);
            break;
        }
    }
    CHECK(ok);
    CHECK_INT(rc, 0);
    CHECK_INT(got, want);
    CHECK(at == stop || want == 0);
    free(c.text);
    sfl_reader_close(r);
}

int main(void)
{
    char path[] = "/tmp/test_reader.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    int64_t data = write_file(path);
    for (size_t t = 0; t < 2; t++) {
        size_t target = t ? (size_t)1 << 20 : 4096;
        region(path, data, "1", 12345, 45678, target);   /* begins, ends mid-block */
        region(path, data, "1", 30009, 30010, target);   /* one line */
        region(path, data, "1", 0, INT64_MAX, target);   /* a contig, then another */
        region(path, data, "2", 7777, INT64_MAX, target); /* to the end of the file */
        region(path, data, "1", 5, 6, target);           /* no line */
    }
    unlink(path);
    return t_done("test_reader");
}

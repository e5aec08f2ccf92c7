/* index_cover.c: does a source's .tbi/.csi index cover the whole file?
 *
 * The design: tabix (and bcftools index) push every record into the index
 * with the virtual offset where it starts and where it ends, and each
 * record starts where the one before it ended, the first where the header
 * (the skipped and '#' lines) ends. So in an index built from this very
 * file, the contigs' spans [first record, past last record), taken from
 * the index's chunks, tile the data exactly: the first starts at the end
 * of the header, each starts where the previous one ends, and after the
 * last one there are only empty BGZF blocks (the end-of-file marker) to
 * the end of the file. A stale index breaks this: records appended after
 * indexing lie after its last chunk; a contig it does not know lies
 * between two spans or after them; an index of an older version or of
 * another file points its contigs' first records elsewhere than to a line
 * of that contig (checked: one line per contig). The check reads only the
 * index, the header, one line per contig and the frames of the blocks
 * after the last record, with pread and zlib on this thread, so the
 * caller's descriptor keeps its offset.
 *
 * What it cannot see alone: records of a contig the index knows, missing
 * or added inside that contig's span (an in-place edit of the same size).
 * The per-contig record counts it returns (the index's own statistics)
 * are compared with the records the parts read at a group's finish
 * (group_check.c), and the plan hashes the whole file, each part its own
 * ranges (group_plan.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "index_cover.h"
#include "log.h"
#include "safe_fs.h"

#define BLK_HDR 18
#define BLK_MAX 65536

/* A cursor over the uncompressed bytes, one BGZF block at a time. */
typedef struct {
    int fd;
    int64_t size;
    int64_t at;      /* the block's compressed offset */
    uint32_t bsize;  /* its compressed size           */
    uint32_t isize;  /* its uncompressed size         */
    uint32_t pos;    /* the next byte in it           */
    uint8_t cbuf[BLK_MAX];
    uint8_t ubuf[BLK_MAX];
} cur_t;

/* The frame of the block at `at` (compressed and uncompressed sizes);
 * NULL, or what is wrong. */
static const char *frame_of(int fd, int64_t size, int64_t at, uint32_t *bsize,
                            uint32_t *isize)
{
    uint8_t h[BLK_HDR], t[4];
    if (at < 0 || size - at < BLK_HDR || !sfl_pread_all(fd, h, sizeof h, at))
        return "no BGZF block starts there";
    if (h[0] != 31 || h[1] != 139 || h[2] != 8 || !(h[3] & 4) || h[12] != 'B' || h[13] != 'C')
        return "no BGZF block starts there";
    *bsize = ((uint32_t)h[16] | (uint32_t)h[17] << 8) + 1;
    if (*bsize < BLK_HDR + 8 || size - at < (int64_t)*bsize ||
        !sfl_pread_all(fd, t, sizeof t, at + *bsize - 4))
        return "the block there is cut short";
    *isize = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    return *isize > BLK_MAX ? "the block there has an impossible size" : NULL;
}

/* Loads and inflates the block at `at`; NULL, or what is wrong. */
static const char *load(cur_t *c, int64_t at)
{
    const char *why = frame_of(c->fd, c->size, at, &c->bsize, &c->isize);
    if (why)
        return why;
    if (!sfl_pread_all(c->fd, c->cbuf, c->bsize, at))
        return "the block there cannot be read";
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK)
        return "zlib could not be initialised";
    zs.next_in = c->cbuf + BLK_HDR;
    zs.avail_in = c->bsize - BLK_HDR - 8;
    zs.next_out = c->ubuf;
    zs.avail_out = BLK_MAX;
    int rc = inflate(&zs, Z_FINISH);
    uLong got = zs.total_out;
    inflateEnd(&zs);
    uint32_t crc = (uint32_t)c->cbuf[c->bsize - 8] | (uint32_t)c->cbuf[c->bsize - 7] << 8 |
                   (uint32_t)c->cbuf[c->bsize - 6] << 16 | (uint32_t)c->cbuf[c->bsize - 5] << 24;
    if (rc != Z_STREAM_END || got != c->isize || crc32(0L, c->ubuf, (uInt)got) != crc)
        return "the block there is damaged";
    c->at = at;
    c->pos = 0;
    return NULL;
}

/* Positions the cursor at virtual offset v; NULL, or what is wrong. */
static const char *seek_v(cur_t *c, int64_t v)
{
    const char *why = load(c, v >> 16);
    if (!why && (uint32_t)(v & 0xffff) > c->isize)
        why = "the offset lies past the end of its block";
    if (!why)
        c->pos = (uint32_t)(v & 0xffff);
    return why;
}

/* The next byte; -1 at the end of the file, -2 on a bad block (*why). */
static int next_byte(cur_t *c, const char **why)
{
    while (c->pos >= c->isize) {
        if (c->at + (int64_t)c->bsize >= c->size)
            return -1;
        if ((*why = load(c, c->at + c->bsize)))
            return -2;
    }
    return c->ubuf[c->pos++];
}

/* Where the next byte is, as htslib tells it: a block read to its end
 * gives the next block's start. */
static int64_t tell(const cur_t *c)
{
    return c->pos >= c->isize ? (c->at + (int64_t)c->bsize) << 16 : c->at << 16 | c->pos;
}

/* Reads a line: its first `cap - 1` bytes into out (NUL-terminated);
 * 1, 0 at the end of the file, -1 on a bad block. */
static int read_line(cur_t *c, char *out, size_t cap, const char **why)
{
    size_t n = 0;
    int ch = next_byte(c, why);
    if (ch < 0)
        return ch == -1 ? 0 : -1;
    while (ch >= 0 && ch != '\n') {
        if (n + 1 < cap)
            out[n++] = (char)ch;
        ch = next_byte(c, why);
    }
    out[n] = '\0';
    return ch == -2 ? -1 : 1;
}

static int fail(sfl_error_t *err, const char *path, const char *index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(sfl_error_t *err, const char *path, const char *index, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                  "%s: its index %s is stale: it does not cover the file (%s); a partitioned "
                  "load reads only what the index points to, so records would be lost. Rebuild "
                  "the index from this file (tabix -p vcf FILE for a VCF, tabix -s1 -b2 -e2 "
                  "FILE for coverage, or bcftools index FILE) and plan again",
                  path, index, what);
    return -1;
}

/* A block that cannot be read where the file's start or its index points. */
static int damaged(sfl_error_t *err, const char *path, const char *index, int64_t at,
                   const char *why)
{
    sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                  "%s: compressed byte %lld: %s: the file is damaged, or its index %s was built "
                  "from another file",
                  path, (long long)at, why, index);
    return -1;
}

static int cmp_first(const void *a, const void *b)
{
    const sfl_cover_contig_t *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The index's contigs with their record counts and spans, in file order. */
static int contigs(const char *path, tbx_t *tbx, sfl_cover_t *out, sfl_error_t *err)
{
    int n = 0;
    const char **names = tbx_seqnames(tbx, &n);
    out->c = calloc((size_t)n + 1, sizeof *out->c);
    if (!names || !out->c) {
        free(names);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return -1;
    }
    int rc = 1;
    for (int t = 0; rc > 0 && t < n; t++) {
        uint64_t mapped = 0, unmapped = 0;
        if (hts_idx_get_stat(tbx->idx, t, &mapped, &unmapped) < 0) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                          "%s: its index %s has no record counts per contig (made by an old "
                          "tabix?), so a partitioned load cannot check that its parts read "
                          "every record; rebuild it (tabix -p vcf FILE for a VCF, tabix -s1 "
                          "-b2 -e2 FILE for coverage, or bcftools index FILE) and plan again",
                          path, out->index_path);
            rc = -1;
            break;
        }
        hts_itr_t *it = tbx_itr_queryi(tbx, t, 0, HTS_POS_MAX);
        int64_t first = -1, end = -1;
        for (int k = 0; it && k < it->n_off; k++) {
            if (first < 0 || (int64_t)it->off[k].u < first)
                first = (int64_t)it->off[k].u;
            if ((int64_t)it->off[k].v > end)
                end = (int64_t)it->off[k].v;
        }
        hts_itr_destroy(it);
        if (first < 0 && mapped == 0)
            continue;
        if (first < 0)
            rc = fail(err, path, out->index_path,
                      "it counts %llu records on %s but locates none",
                      (unsigned long long)mapped, names[t]);
        else if (!(out->c[out->n].chrom = strdup(names[t]))) {
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            rc = -1;
        } else {
            out->c[out->n].records = mapped;
            out->c[out->n].first = first;
            out->c[out->n].end = end;
            out->n++;
        }
    }
    free(names);
    if (rc > 0)
        qsort(out->c, out->n, sizeof *out->c, cmp_first);
    return rc;
}

/* The virtual offset where the records start: past the lines tabix skips
 * (the first conf.line_skip, and those starting with conf.meta_char). */
static int header_end(cur_t *c, const tbx_t *tbx, const char *path, const char *index,
                      int64_t *out, sfl_error_t *err)
{
    const char *why = load(c, 0);
    if (why)
        return damaged(err, path, index, 0, why);
    char line[8];
    for (int64_t lineno = 1;; lineno++) {
        int64_t at = tell(c);
        int rc = read_line(c, line, sizeof line, &why);
        if (rc < 0)
            return damaged(err, path, index, c->at, why);
        if (rc == 0 || (lineno > tbx->conf.line_skip && line[0] != tbx->conf.meta_char)) {
            *out = at;
            return 1;
        }
    }
}

static void voff_text(int64_t v, char *out, size_t n)
{
    snprintf(out, n, "compressed byte %lld, +%lld", (long long)(v >> 16), (long long)(v & 0xffff));
}

/* The spans tile the data: first at the header's end, each where the last
 * ended; each contig's first record is a line of that contig. */
static int tiling(cur_t *c, sfl_cover_t *cv, const char *path, sfl_error_t *err)
{
    char a[64], b[64], line[256];
    const char *why = NULL;
    for (size_t i = 0; i < cv->n; i++) {
        const sfl_cover_contig_t *k = &cv->c[i];
        int64_t want = i ? cv->c[i - 1].end : cv->header_end;
        voff_text(want, a, sizeof a);
        voff_text(k->first, b, sizeof b);
        if (k->first != want && i)
            return fail(err, path, cv->index_path,
                        "contig %s ends at %s, the next one it holds, %s, starts at %s: the "
                        "file has records there it does not index",
                        cv->c[i - 1].chrom, a, k->chrom, b);
        if (k->first != want)
            return fail(err, path, cv->index_path,
                        "the file's records start at %s, after its header; the index's first, "
                        "of contig %s, at %s",
                        a, k->chrom, b);
        size_t l = strlen(k->chrom);
        int rc = (why = seek_v(c, k->first)) ? -1 : read_line(c, line, sizeof line, &why);
        if (i == 0)
            cv->first_line_end = tell(c);
        if (rc <= 0 || strncmp(line, k->chrom, l) != 0 || line[l] != '\t') {
            voff_text(k->first, a, sizeof a);
            return fail(err, path, cv->index_path,
                        "it places the first record of contig %s at %s, where %s", k->chrom, a,
                        rc < 0 ? why : rc == 0 ? "the file ends" : "the file has another line");
        }
    }
    return 1;
}

/* After the last record: only empty blocks, to the end of the file. */
static int tail(cur_t *c, const sfl_cover_t *cv, const char *path, sfl_error_t *err)
{
    int64_t at = cv->data_end >> 16;
    uint32_t u = (uint32_t)(cv->data_end & 0xffff), bsize, isize;
    char a[64];
    voff_text(cv->data_end, a, sizeof a);
    while (at < c->size) {
        const char *why = frame_of(c->fd, c->size, at, &bsize, &isize);
        if (why)
            return fail(err, path, cv->index_path, "after its last record, at %s: %s", a, why);
        if (isize > u)
            return fail(err, path, cv->index_path,
                        "the file goes on after the index's last record (at %s): records were "
                        "added after it was built, or it is another file's",
                        a);
        u = 0;
        at += bsize;
    }
    return 1;
}

static char *index_of(const char *path, int fmt)
{
    size_t n = strlen(path) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", path, fmt == HTS_FMT_CSI ? ".csi" : ".tbi");
    return p;
}

int sfl_index_cover(const char *path, int fd, sfl_cover_t *out, sfl_error_t *err)
{
    memset(out, 0, sizeof *out);
    sfl_hts_quiet_begin();
    tbx_t *tbx = tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
    sfl_hts_quiet_end();
    if (!tbx)
        return 0;
    struct stat st;
    cur_t *c = malloc(sizeof *c);
    int rc = 1;
    if (!c || !(out->index_path = index_of(path, hts_idx_fmt(tbx->idx)))) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        rc = -1;
    } else if (fstat(fd, &st) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot stat: %s", path,
                      strerror(errno));
        rc = -1;
    } else {
        c->fd = fd;
        c->size = (int64_t)st.st_size;
        c->at = -1;
        rc = contigs(path, tbx, out, err);
    }
    if (rc > 0)
        rc = header_end(c, tbx, path, out->index_path, &out->header_end, err);
    if (rc > 0) {
        out->data_end = out->n ? out->c[out->n - 1].end : out->header_end;
        out->first_line_end = out->header_end;
        rc = tiling(c, out, path, err);
    }
    if (rc > 0)
        rc = tail(c, out, path, err);
    free(c);
    tbx_destroy(tbx);
    if (rc < 0)
        sfl_cover_free(out);
    return rc;
}

void sfl_cover_free(sfl_cover_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->c[i].chrom);
    free(c->c);
    free(c->index_path);
    memset(c, 0, sizeof *c);
}

int64_t sfl_cover_block_end(int fd, const char *path, int64_t voff, sfl_error_t *err)
{
    if ((voff & 0xffff) == 0)
        return voff >> 16;
    struct stat st;
    uint32_t bsize = 0, isize = 0;
    const char *why = fstat(fd, &st) != 0 ? strerror(errno) : NULL;
    if (!why)
        why = frame_of(fd, (int64_t)st.st_size, voff >> 16, &bsize, &isize);
    if (why) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                      "%s: the block at compressed byte %lld, which its index names: %s", path,
                      (long long)(voff >> 16), why);
        return -1;
    }
    return (voff >> 16) + bsize;
}

bool sfl_cover_tail(int fd, const char *path, const char *index, int64_t data_end,
                    sfl_error_t *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot stat: %s", path,
                             strerror(errno));
    cur_t *c = malloc(sizeof *c);
    if (!c)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    c->fd = fd;
    c->size = (int64_t)st.st_size;
    sfl_cover_t cv = {.index_path = (char *)index, .data_end = data_end};
    int rc = tail(c, &cv, path, err);
    free(c);
    return rc > 0;
}

char *sfl_cover_index_path(const char *path)
{
    size_t n = strlen(path) + 8;
    char *p = malloc(n);
    if (!p)
        return NULL;
    /* htslib's order (tbx_index_load3): a .csi before a .tbi */
    snprintf(p, n, "%s.csi", path);
    if (access(p, F_OK) != 0)
        snprintf(p, n, "%s.tbi", path);
    return p;
}

/* reader.c: BGZF (or plain) text -> chunks of whole lines.
 *
 * The design is simple: a chunk is whole decompressed blocks, copied
 * straight out of BGZF's current block into the chunk buffer with one
 * memcpy each, its newlines counted 64 bytes a step (scan.h) for the line
 * numbers, and cut after the first newline that reaches the chunk's size
 * (where cutting line by line would): the rest of that block stays in
 * BGZF's buffer for the next chunk, so bgzf_tell() is the exact virtual
 * offset just after the chunk's last line. The calling thread thus never looks at a line: the parser
 * jobs find the line ends, and drop a '\r' before a '\n' (pipeline.c).
 * The header is read line by line: memchr for the newline, then memcpy,
 * '\r' dropped here, as htslib's own bgzf_getline does minus its
 * byte-at-a-time scan and its extra copy. So are a region's first lines
 * (skipped up to its first record), a line across two blocks and the
 * line that ends the region; each line of a region must be looked at (its
 * contig and POS) to know where the region ends, but once it has begun,
 * the lines of the current block that the line-by-line reading would keep
 * (each tested as it tests them, up to the first it would not) are copied
 * into the chunk with one memcpy, their '\r's left to the parser as in
 * block mode, and the chunk is cut where the line-by-line reading cuts it;
 * the same lines, the same kept_tell. A line of the region's contig before
 * its end that follows, in the same block, the line that ended the region
 * (an unsorted file) is an error, never a silent early end.
 *
 * A read error is never an end of file. htslib's threaded reader can
 * report a damaged block as the end of the file, and drop the blocks
 * queued before it, so the reader does not take htslib's word for it:
 * it follows the file's block frames itself (an 18-byte header and an
 * 8-byte footer per block, read on its own descriptor). Every block
 * htslib hands over must start where the previous one ended and hold as
 * many bytes as its footer says; between two data blocks, and after the
 * last one, there may only be valid empty blocks, ending exactly at the
 * end of the file with the end-of-file marker. A plain file must yield
 * exactly its size. When anything is off, locate() walks the blocks from
 * the end of the last one delivered whole, inflating each on this thread,
 * and reports the first bad one with the last complete line before it;
 * so the message is the same whatever the thread count and whatever
 * htslib's threaded reader made of the damage.
 */
#include <errno.h>
#include <fcntl.h>
#include <htslib/bgzf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "grow.h"
#include "safe_fs.h"
#include "bounds.h"
#include "reader.h"
#include "scan.h"


#define BGZF_HDR 18
#define BGZF_FTR 8
#define BGZF_MAX 65536

struct sfl_reader {
    BGZF *fp;
    char *path;
    int fd;              /* our own view of the file, for the block checks */
    int64_t size;        /* file size at open                             */
    bool compressed;     /* BGZF; else plain text                         */
    bool eof_marker;     /* the file ends with the 28-byte EOF block      */
    int64_t next;        /* BGZF: where the next block must start         */
    uint64_t plain_read; /* plain: bytes htslib has handed over           */
    uint64_t lines;
    uint64_t bytes;
    /* a line read while looking for the end of the header */
    char *pending;
    size_t pending_len;
    bool has_pending;
    bool eof;
    bool unterminated; /* the last line had no '\n' */
    uint64_t open_len; /* block mode: bytes handed out after the last '\n' */
    uint8_t *scratch;  /* 2 x 64 KiB: one block, compressed and not */
    /* region mode (sfl_reader_region): only lines of `chrom` whose second
     * column lies in [beg, end) are handed out */
    bool region, region_started, region_done;
    char *chrom;
    size_t chrom_len;
    int64_t beg, end;
    int64_t kept_tell; /* virtual offset just after the last line kept */
};

/* One block's frame as the file has it. */
typedef struct {
    uint32_t bsize; /* compressed size of the whole block */
    uint32_t crc;
    uint32_t isize; /* uncompressed size */
} frame_t;

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p)
{
    return le16(p) | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the frame of the block at `at`; NULL, or what is wrong with it.
 * The checks are those of htslib's check_header(). */
static const char *frame_at(const sfl_reader_t *r, int64_t at, frame_t *f)
{
    uint8_t h[BGZF_HDR], t[BGZF_FTR];
    if (r->size - at < BGZF_HDR)
        return "the file ends inside its header";
    if (!sfl_pread_all(r->fd, h, sizeof h, at))
        return "its header cannot be read";
    if (h[0] != 31 || h[1] != 139 || h[2] != 8 || !(h[3] & 4) || le16(h + 10) != 6 ||
        h[12] != 'B' || h[13] != 'C' || le16(h + 14) != 2)
        return "no BGZF block header here";
    f->bsize = le16(h + 16) + 1;
    if (f->bsize < BGZF_HDR + BGZF_FTR)
        return "its header gives an impossible block size";
    if (r->size - at < (int64_t)f->bsize)
        return "the file ends inside it: truncated, or bytes cut out";
    if (!sfl_pread_all(r->fd, t, sizeof t, at + f->bsize - BGZF_FTR))
        return "its footer cannot be read";
    f->crc = le32(t);
    f->isize = le32(t + 4);
    if (f->isize > BGZF_MAX)
        return "its footer gives an impossible size";
    return NULL;
}

/* Reads and inflates the whole block at `at` into out (BGZF_MAX bytes),
 * checking its size and CRC; NULL, or what is wrong with it. */
static const char *inflate_at(const sfl_reader_t *r, int64_t at, frame_t *f, uint8_t *cbuf,
                              uint8_t *out)
{
    const char *why = frame_at(r, at, f);
    if (why)
        return why;
    if (!sfl_pread_all(r->fd, cbuf, f->bsize, at))
        return "it cannot be read";
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK)
        return "zlib could not be initialised";
    zs.next_in = cbuf + BGZF_HDR;
    zs.avail_in = f->bsize - BGZF_HDR - BGZF_FTR;
    zs.next_out = out;
    zs.avail_out = BGZF_MAX;
    int rc = inflate(&zs, Z_FINISH);
    uLong got = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return "its compressed data is corrupt";
    if (got != f->isize)
        return "it inflates to another size than its footer says";
    if (crc32(crc32(0L, Z_NULL, 0), out, (uInt)got) != f->crc)
        return "its CRC does not match its data";
    return NULL;
}

static bool report(sfl_reader_t *r, int64_t at, const char *why, uint64_t lines, sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                         "%s: corrupt or truncated BGZF file: the block at compressed byte %lld "
                         "is bad (%s); the last complete line before it is line %llu",
                         r->path, (long long)at, why, (unsigned long long)lines);
}

/* The deterministic diagnosis: from the end of the last block delivered
 * whole, inflate block after block on this thread, counting lines, until
 * one fails. Always returns false with err set. */
static bool locate(sfl_reader_t *r, sfl_error_t *err)
{
    if (!r->compressed)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                             "%s: read error after %llu of %lld bytes; the last complete line "
                             "is line %llu",
                             r->path, (unsigned long long)r->plain_read, (long long)r->size,
                             (unsigned long long)r->lines);
    uint8_t *cbuf = r->scratch, *ubuf = r->scratch + BGZF_MAX;
    int64_t at = r->next;
    uint64_t lines = r->lines;
    frame_t f;
    while (at < r->size) {
        const char *why = inflate_at(r, at, &f, cbuf, ubuf);
        if (why)
            return report(r, at, why, lines, err);
        for (const uint8_t *p = ubuf, *e = ubuf + f.isize;
             (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
            lines++;
        at += f.bsize;
    }
    if (!r->eof_marker)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                             "%s: truncated BGZF file: it ends at compressed byte %lld without "
                             "the end-of-file marker block (was the copy interrupted?); the last "
                             "complete line is line %llu",
                             r->path, (long long)r->size, (unsigned long long)lines);
    return report(r, r->next, "htslib could not read it", r->lines, err);
}

sfl_reader_t *sfl_reader_open(const char *path, hts_tpool *pool, sfl_error_t *err)
{
    int fd = sfl_open_regular(path, NULL, err); /* never a FIFO, device or pipe */
    if (fd < 0)
        return NULL;
    sfl_reader_t *r = sfl_reader_open_fd(path, fd, pool, err);
    close(fd);
    return r;
}

sfl_reader_t *sfl_reader_open_fd(const char *path, int given_fd, hts_tpool *pool,
                                 sfl_error_t *err)
{
    struct stat st;
    int fd = dup(given_fd);
    if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot read: %s", path,
                      strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    sfl_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        close(fd);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    r->fd = fd;
    if (!(r->scratch = malloc(2 * BGZF_MAX))) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        sfl_reader_close(r);
        return NULL;
    }
    if (fstat(r->fd, &st) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      strerror(errno));
        sfl_reader_close(r);
        return NULL;
    }
    r->size = (int64_t)st.st_size;
    /* htslib reads the very file that was checked, through its own copy
     * of the descriptor (bgzf_close closes it). */
    int hfd = dup(r->fd);
    r->fp = hfd >= 0 ? bgzf_dopen(hfd, "r") : NULL;
    if (!r->fp && hfd >= 0)
        close(hfd);
    if (!r->fp) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      errno ? strerror(errno) : "unknown error");
        sfl_reader_close(r);
        return NULL;
    }
    int comp = bgzf_compression(r->fp);
    if (comp == 1) { /* gzip, not BGZF */
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                      "%s: the file is gzip-compressed but not BGZF; recompress it with "
                      "'zcat FILE | bgzip -c > FILE.bgz'",
                      path);
        sfl_reader_close(r);
        return NULL;
    }
    r->compressed = comp == 2;
    /* A missing marker is reported where the data ends (locate()), with
     * the last complete line, after every earlier block was checked. */
    r->eof_marker = r->compressed && bgzf_check_EOF(r->fp) == 1;
    if (pool && r->compressed && bgzf_thread_pool(r->fp, pool, 0) != 0) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                      "%s: could not attach the decompression thread pool", path);
        sfl_reader_close(r);
        return NULL;
    }
    return r;
}

void sfl_reader_close(sfl_reader_t *r)
{
    if (!r)
        return;
    if (r->fp)
        bgzf_close(r->fp);
    if (r->fd >= 0)
        close(r->fd);
    free(r->scratch);
    free(r->pending);
    free(r->chrom);
    free(r->path);
    free(r);
}

uint64_t sfl_reader_lines(const sfl_reader_t *r) { return r->lines; }
uint64_t sfl_reader_bytes(const sfl_reader_t *r) { return r->bytes; }
bool sfl_reader_unterminated(const sfl_reader_t *r) { return r->unterminated; }

/* Skips the valid empty blocks from r->next (concatenated bgzip files have
 * them in the middle; the EOF marker is one); returns how many. Stops at
 * the first block with data, at a bad block, or at the end of the file. */
static int skip_empty_blocks(sfl_reader_t *r)
{
    int n = 0;
    frame_t f;
    while (r->next < r->size && !frame_at(r, r->next, &f) && f.isize == 0 &&
           !inflate_at(r, r->next, &f, r->scratch, r->scratch + BGZF_MAX)) {
        r->next += f.bsize;
        n++;
    }
    return n;
}

/* The next block of data from htslib, checked against the file's own
 * frames: 1 = a block, 0 = the end of the file (every byte accounted
 * for), -1 = error (err set, by locate()). */
static int next_block(sfl_reader_t *r, sfl_error_t *err)
{
    BGZF *fp = r->fp;
    if (!r->compressed) {
        if (bgzf_read_block(fp) != 0 || fp->errcode)
            return locate(r, err), -1;
        r->plain_read += (uint64_t)fp->block_length;
        if (fp->block_length > 0)
            return 1;
        if (r->plain_read != (uint64_t)r->size)
            return locate(r, err), -1;
        return 0;
    }
    /* htslib may hand an empty block in the middle over as a 0-length
     * block (or skip it): allow one 0-length read per empty block. */
    int empties = skip_empty_blocks(r);
    for (int tries = 0; tries <= empties; tries++) {
        if (bgzf_read_block(fp) != 0 || fp->errcode)
            break;
        if (fp->block_length == 0) {
            if (r->next == r->size) {
                if (!r->eof_marker)
                    break;
                return 0;
            }
            continue;
        }
        frame_t f;
        if (fp->block_address != r->next || frame_at(r, r->next, &f) ||
            f.isize != (uint32_t)fp->block_length)
            break;
        r->next += f.bsize;
        return 1;
    }
    return locate(r, err), -1;
}

static bool ensure(char **buf, size_t *cap, size_t need)
{
    return SFL_GROW(*buf, cap, need, 4096);
}

/* The unread part of the current block, the next block read when it is
 * all read: 1 = data[0, avail), 0 = the end of the file (r->eof set),
 * -1 = error. */
static int block_data(sfl_reader_t *r, const char **data, size_t *avail, sfl_error_t *err)
{
    BGZF *fp = r->fp;
    if (fp->block_offset >= fp->block_length) {
        int rc = next_block(r, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            r->eof = true;
            return 0;
        }
    }
    *data = (const char *)fp->uncompressed_block + fp->block_offset;
    *avail = (size_t)(fp->block_length - fp->block_offset);
    return 1;
}

/* Appends one line (with '\n') to buf. 1 = a line, 0 = EOF, -1 = error. */
static int read_line(sfl_reader_t *r, char **buf, size_t *len, size_t *cap, sfl_error_t *err)
{
    BGZF *fp = r->fp;
    size_t start = *len;
    bool nl_seen = false;
    while (!r->eof) {
        const char *data;
        size_t avail;
        int rc = block_data(r, &data, &avail, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        const char *nl = memchr(data, '\n', avail);
        size_t take = nl ? (size_t)(nl - data) : avail;
        if (*len - start + take > SFL_MAX_LINE) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                          "%s: line %llu: longer than %d MiB; is this a text VCF or coverage "
                          "file?",
                          r->path, (unsigned long long)(r->lines + 1), SFL_MAX_LINE >> 20);
            return -1;
        }
        if (!ensure(buf, cap, *len + take + 2)) {
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            return -1;
        }
        memcpy(*buf + *len, data, take);
        *len += take;
        fp->block_offset += (int)(take + (nl ? 1 : 0));
        if (nl) {
            nl_seen = true;
            break;
        }
    }
    if (!nl_seen) {
        if (*len == start)
            return 0;
        r->unterminated = true; /* the file's last line, without '\n' */
    }
    if (*len > start && (*buf)[*len - 1] == '\r')
        (*len)--;
    (*buf)[(*len)++] = '\n';
    r->bytes += *len - start;
    r->lines++;
    return 1;
}

bool sfl_reader_header(sfl_reader_t *r, bool first_only, char **out, size_t *out_len,
                       sfl_error_t *err)
{
    char *h = NULL;
    size_t hlen = 0, hcap = 0;
    for (;;) {
        size_t before = hlen;
        int rc = read_line(r, &h, &hlen, &hcap, err);
        if (rc < 0) {
            free(h);
            return false;
        }
        if (rc == 0)
            break;
        if (first_only && before == 0 && h[0] != '#')
            break; /* no header at all: the caller says so */
        if (first_only && before > 0 && h[before] == '#') {
            free(h);
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: line %llu: a second header line ('#...'); this format has "
                                 "one header line, then data lines",
                                 r->path, (unsigned long long)r->lines);
        }
        /* Only header lines count towards the header's bound: the first
         * data line (kept below) is bound like any line. */
        if (h[before] == '#' && hlen > SFL_MAX_HEADER) {
            free(h);
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_TOO_LARGE,
                                 "%s: line %llu: the header is longer than %d MiB; is this a "
                                 "sites VCF?",
                                 r->path, (unsigned long long)r->lines, SFL_MAX_HEADER >> 20);
        }
        if (first_only && before == 0)
            continue; /* read the next line too: it must not be a header */
        if (h[before] != '#') {
            /* the first data line: keep it for the first chunk */
            r->pending_len = hlen - before;
            r->pending = malloc(r->pending_len);
            if (!r->pending) {
                free(h);
                return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            }
            memcpy(r->pending, h + before, r->pending_len);
            r->has_pending = true;
            hlen = before;
            break;
        }
    }
    if (!ensure(&h, &hcap, hlen + 1)) {
        free(h);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    h[hlen] = '\0';
    *out = h;
    *out_len = hlen;
    return true;
}

bool sfl_reader_region(sfl_reader_t *r, int64_t voffset, const char *chrom, int64_t beg,
                       int64_t end, sfl_error_t *err)
{
    free(r->pending);
    r->pending = NULL;
    r->has_pending = false;
    free(r->chrom);
    if (!(r->chrom = strdup(chrom)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    r->chrom_len = strlen(chrom);
    r->region = true;
    r->region_started = false;
    r->beg = beg;
    r->end = end;
    r->lines = 0;
    r->region_done = voffset < 0; /* the index holds nothing there */
    if (r->region_done)
        return true;
    if (!r->compressed || bgzf_seek(r->fp, voffset, SEEK_SET) != 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                             "%s: cannot seek to virtual offset %lld (compressed byte %lld) "
                             "that its index gives: is the index of another file?",
                             r->path, (long long)voffset, (long long)(voffset >> 16));
    /* the block checks go on from the block the index points into */
    r->next = voffset >> 16;
    r->eof = false;
    r->kept_tell = voffset;
    return true;
}

/* How region_take sees a line: not on the region's contig, on it with
 * POS *pos, or odd (a header or empty line, no tab, no readable POS: kept
 * for the parser to report). */
enum { LINE_ODD, LINE_OTHER, LINE_POS };

static int region_line(const sfl_reader_t *r, const char *line, size_t len, int64_t *pos)
{
    const char *tab = memchr(line, '\t', len);
    if (len <= 1 || line[0] == '#' || !tab)
        return LINE_ODD;
    size_t clen = (size_t)(tab - line);
    if (r->chrom_len != clen || memcmp(line, r->chrom, clen) != 0)
        return LINE_OTHER;
    int64_t v = 0;
    const char *p = tab + 1, *e = line + len;
    int digits = 0;
    for (; p < e && *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        v = v * 10 + (*p - '0');
    if (!digits || (p < e && *p != '\t' && *p != '\n' && *p != '\r'))
        return LINE_ODD;
    *pos = v;
    return LINE_POS;
}

/* Region mode: 1 = keep the line buf[0..len) (its POS lies in the region,
 * or it has no readable POS: the parser reports it), 0 = skip it (before
 * the region), -1 = it is past the region: stop before it. */
static int region_take(sfl_reader_t *r, const char *line, size_t len)
{
    int64_t pos = 0;
    int kind = region_line(r, line, len, &pos);
    if (kind == LINE_ODD)
        return 1;
    if (kind == LINE_OTHER)
        return r->region_started ? -1 : 0;
    if (pos - 1 < r->beg)
        return r->region_started ? 1 : 0; /* unsorted: the order check names it */
    if (pos - 1 >= r->end)
        return -1;
    return 1;
}

/* Region mode: the region has ended at `stop` (a line of another contig,
 * or past its end); in a sorted file no whole line after it in the same
 * block can be a line of the region's contig before the region's end,
 * which the line-by-line reading would drop without a word: such a line
 * is an error. Lines in later blocks are not looked at. */
static bool region_rest_sorted(sfl_reader_t *r, const char *stop, size_t stop_len,
                               sfl_error_t *err)
{
    BGZF *fp = r->fp;
    const char *p = (const char *)fp->uncompressed_block + fp->block_offset;
    const char *e = (const char *)fp->uncompressed_block + fp->block_length;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            break;
        int64_t pos = 0;
        if (region_line(r, p, (size_t)(nl - p) + 1, &pos) == LINE_POS && pos - 1 < r->end) {
            const char *t1 = memchr(stop, '\t', stop_len);
            size_t c1 = t1 ? (size_t)(t1 - stop) : 0, c2 = 0;
            while (t1 && c1 + 1 + c2 < stop_len && stop[c1 + 1 + c2] != '\t' &&
                   stop[c1 + 1 + c2] != '\n' && c2 < 20)
                c2++;
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_UNSORTED,
                                 "%s: unsorted input: a line at %s:%lld comes after the line at "
                                 "%.*s:%.*s, which ended a region of contig %s, in the same "
                                 "BGZF block (lines of a contig must be together, positions "
                                 "ascending; or is the index of another file?)",
                                 r->path, r->chrom, (long long)pos, (int)(c1 > 40 ? 40 : c1),
                                 stop, (int)c2, t1 ? t1 + 1 : stop, r->chrom);
        }
        p = nl + 1;
    }
    return true;
}

/* One line of a region into buf: as read_line, but skipping the lines
 * before the region and ending at the first line past it (an error when
 * that block holds a line of the region after it: region_rest_sorted). */
static int read_region_line(sfl_reader_t *r, char **buf, size_t *len, size_t *cap,
                            sfl_error_t *err)
{
    while (!r->region_done) {
        size_t before = *len;
        int rc = read_line(r, buf, len, cap, err);
        if (rc <= 0)
            return rc;
        int take = region_take(r, *buf + before, *len - before);
        if (take > 0) {
            r->region_started = true;
            r->kept_tell = bgzf_tell(r->fp);
            return 1;
        }
        if (take < 0) {
            r->region_done = true;
            if (!region_rest_sorted(r, *buf + before, *len - before, err))
                return -1;
        }
        *len = before;
        r->lines--;
    }
    return 0;
}

/* Appends data[0, take), the start of the current block's unread part,
 * to buf and moves past it. false when out of memory (err set). */
static bool append_block(sfl_reader_t *r, const char *data, size_t take, char **buf, size_t *len,
                         size_t *cap, sfl_error_t *err)
{
    if (!ensure(buf, cap, *len + take + 2))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    memcpy(*buf + *len, data, take);
    *len += take;
    r->fp->block_offset += (int)take;
    r->bytes += take;
    return true;
}

/* Region mode, once the region has begun: appends to buf the whole lines
 * at the start of the current block's unread part that read_region_line
 * would keep, one by one (each tested by region_take as it tests them),
 * up to the first it would not keep and no further than the line that
 * makes buf hold `target` bytes, as it stops; with one memcpy, their
 * newlines counted into *n and r->lines. A line that goes on into the
 * next block is not among them. 1 = some lines, 0 = none, -1 = error. */
static int region_span(sfl_reader_t *r, size_t target, char **buf, size_t *len, size_t *cap,
                       uint64_t *n, sfl_error_t *err)
{
    const char *data;
    size_t avail, start = 0;
    int rc = block_data(r, &data, &avail, err);
    if (rc <= 0)
        return rc;
    uint64_t k = 0;
    while (*len + start < target) {
        const char *nl = memchr(data + start, '\n', avail - start);
        if (!nl)
            break;
        size_t end = (size_t)(nl - data) + 1;
        if (region_take(r, data + start, end - start) != 1)
            break;
        start = end;
        k++;
    }
    if (start == 0)
        return 0;
    if (!append_block(r, data, start, buf, len, cap, err))
        return -1;
    r->lines += k;
    *n += k;
    r->kept_tell = bgzf_tell(r->fp);
    return 1;
}

/* Region mode: appends the region's lines to buf until it holds `target`
 * bytes, the region ends or the file does; adds them to *n. Once the
 * region has begun, the lines it keeps that lie whole in the current
 * block are copied at once (region_span), as read_region_line would copy
 * them one by one, except that a '\r' before their '\n' stays for the
 * parser to drop (and count), as in block mode. The rest (the lines
 * before the region, a line across two blocks, the line that ends the
 * region, a line it would not keep) goes line by line. 0, or -1 on
 * error. */
static int read_region(sfl_reader_t *r, size_t target, char **buf, size_t *len, size_t *cap,
                       uint64_t *n, sfl_error_t *err)
{
    while (*len < target && !r->eof && !r->region_done) {
        int rc = r->region_started ? region_span(r, target, buf, len, cap, n, err) : 0;
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        rc = read_region_line(r, buf, len, cap, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        (*n)++;
    }
    return 0;
}

/* The SFL_MAX_LINE bound in block mode: a line that began in an earlier
 * block (open_len bytes of it are in the chunk) and goes on into
 * data[0, avail) is too long if its part before the first newline there
 * makes it so (a line within one block is far shorter). */
static bool line_bound(sfl_reader_t *r, const char *data, size_t avail, sfl_error_t *err)
{
    if (r->open_len + avail <= SFL_MAX_LINE)
        return true;
    const char *nl = memchr(data, '\n', avail);
    if (r->open_len + (size_t)(nl ? nl - data : (ptrdiff_t)avail) <= SFL_MAX_LINE)
        return true;
    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                         "%s: line %llu: longer than %d MiB; is this a text VCF or coverage "
                         "file?",
                         r->path, (unsigned long long)(r->lines + 1), SFL_MAX_LINE >> 20);
}

/* Block mode: appends whole blocks to buf up to the first newline that
 * makes it hold `target` bytes or more (the rest of that block stays in
 * BGZF's buffer); at the end of the file, a last line without '\n' gets
 * one. Adds the newlines to *n and r->lines. 0, or -1 on error. */
static int read_blocks(sfl_reader_t *r, size_t target, char **buf, size_t *len, size_t *cap,
                       uint64_t *n, sfl_error_t *err)
{
    while (!r->eof) {
        const char *data;
        size_t avail;
        int rc = block_data(r, &data, &avail, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        size_t take = avail;
        /* the chunk's last newline: its first at or past `target` bytes
         * (so the chunk ends with the line that reaches its size, as when
         * the lines were counted one by one) */
        const char *last = NULL;
        if (*len + avail >= target) {
            size_t from = *len + 1 >= target ? 0 : target - 1 - *len;
            if ((last = memchr(data + from, '\n', avail - from)) != NULL)
                take = (size_t)(last - data) + 1;
        }
        if (!line_bound(r, data, take, err))
            return -1;
        if (!append_block(r, data, take, buf, len, cap, err))
            return -1;
        uint64_t k = sfl_scan_count(data, take, '\n');
        *n += k;
        r->lines += k;
        if (last) {
            r->open_len = 0;
            return 0;
        }
        const char *nl = k ? memrchr(data, '\n', take) : NULL;
        r->open_len = nl ? take - (size_t)(nl - data) - 1 : r->open_len + take;
    }
    if (r->open_len > 0) { /* the file's last line, without '\n' */
        (*buf)[(*len)++] = '\n';
        r->bytes++;
        r->lines++;
        (*n)++;
        r->open_len = 0;
        r->unterminated = true;
    }
    return 0;
}

int sfl_reader_next_chunk(sfl_reader_t *r, size_t target, sfl_chunk_t *c, sfl_error_t *err)
{
    char *buf = c->text; /* a buffer to reuse, or NULL */
    size_t len = 0, cap = buf ? c->cap : 0;
    uint64_t n = 0;
    c->text = NULL;
    c->first_line = r->lines + 1 - (r->has_pending ? 1 : 0);
    /* room for the chunk and the block that ends it: no growing after
     * the first chunks (a line longer than that grows it) */
    size_t room = target + BGZF_MAX + 4096;
    if (r->has_pending) {
        if (!ensure(&buf, &cap, room > r->pending_len ? room : r->pending_len)) {
            free(buf);
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            return -1;
        }
        memcpy(buf, r->pending, r->pending_len);
        len = r->pending_len;
        n = 1;
        r->has_pending = false;
        free(r->pending);
        r->pending = NULL;
    } else if (!ensure(&buf, &cap, room)) {
        free(buf);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return -1;
    }
    if (!r->region) {
        if (len < target && read_blocks(r, target, &buf, &len, &cap, &n, err) < 0) {
            free(buf);
            return -1;
        }
    } else if (read_region(r, target, &buf, &len, &cap, &n, err) < 0) {
        free(buf);
        return -1;
    }
    if (n == 0) {
        free(buf);
        return 0;
    }
    c->text = buf;
    c->cap = cap;
    c->len = len;
    c->n_lines = n;
    c->end_voffset = r->region ? r->kept_tell : bgzf_tell(r->fp);
    c->file_offset = (uint64_t)(c->end_voffset >> 16);
    return 1;
}

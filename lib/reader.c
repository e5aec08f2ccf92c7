/* reader.c: BGZF (or plain) text -> chunks of whole lines.
 *
 * The design is simple: lines are copied straight out of BGZF's current
 * decompressed block into the chunk buffer (memchr for the newline, then
 * memcpy), one block at a time, so after every line bgzf_tell() is the
 * exact virtual offset of the next line. This is what htslib's own
 * bgzf_getline does, minus its byte-at-a-time scan and its extra copy.
 */
#include <errno.h>
#include <htslib/bgzf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grow.h"
#include "reader.h"

/* Memory stays bounded: no line may be longer than this. */
#define SFL_MAX_LINE (256 << 20)

struct sfl_reader {
    BGZF *fp;
    char *path;
    uint64_t lines;
    uint64_t bytes;
    /* a line read while looking for the end of the header */
    char *pending;
    size_t pending_len;
    bool has_pending;
    bool eof;
};

sfl_reader_t *sfl_reader_open(const char *path, hts_tpool *pool, sfl_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: it is a directory",
                      path);
        return NULL;
    }
    BGZF *fp = bgzf_open(path, "r");
    if (!fp) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      errno ? strerror(errno) : "unknown error");
        return NULL;
    }
    int comp = bgzf_compression(fp);
    if (comp == 1) { /* gzip, not BGZF */
        bgzf_close(fp);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                      "%s: the file is gzip-compressed but not BGZF; recompress it with "
                      "'zcat FILE | bgzip -c > FILE.bgz'",
                      path);
        return NULL;
    }
    if (comp == 2 && bgzf_check_EOF(fp) == 0) {
        bgzf_close(fp);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                      "%s: truncated BGZF file: the end-of-file marker block is missing (was the "
                      "copy interrupted?)",
                      path);
        return NULL;
    }
    if (pool && comp == 2 && bgzf_thread_pool(fp, pool, 0) != 0) {
        bgzf_close(fp);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                      "%s: could not attach the decompression thread pool", path);
        return NULL;
    }
    sfl_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        bgzf_close(fp);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    r->fp = fp;
    return r;
}

void sfl_reader_close(sfl_reader_t *r)
{
    if (!r)
        return;
    if (r->fp)
        bgzf_close(r->fp);
    free(r->pending);
    free(r->path);
    free(r);
}

uint64_t sfl_reader_lines(const sfl_reader_t *r) { return r->lines; }
uint64_t sfl_reader_bytes(const sfl_reader_t *r) { return r->bytes; }

static bool ensure(char **buf, size_t *cap, size_t need)
{
    return sfl_grow((void **)buf, cap, need, 1, 4096);
}

/* Appends one line (with '\n') to buf. 1 = a line, 0 = EOF, -1 = error. */
static int read_line(sfl_reader_t *r, char **buf, size_t *len, size_t *cap, sfl_error_t *err)
{
    BGZF *fp = r->fp;
    size_t start = *len;
    bool got = false;
    for (;;) {
        if (fp->block_offset >= fp->block_length) {
            if (bgzf_read_block(fp) != 0) {
                sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                              "%s: line %llu: corrupt or truncated BGZF data near compressed "
                              "byte %lld",
                              r->path, (unsigned long long)(r->lines + 1),
                              (long long)(bgzf_tell(fp) >> 16));
                return -1;
            }
            if (fp->block_length == 0) {
                r->eof = true;
                break;
            }
        }
        const char *data = (const char *)fp->uncompressed_block + fp->block_offset;
        size_t avail = (size_t)(fp->block_length - fp->block_offset);
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
        got = true;
        fp->block_offset += (int)(take + (nl ? 1 : 0));
        if (nl)
            break;
    }
    if (!got || (r->eof && *len == start))
        return 0;
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
        if (first_only)
            break;
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

int sfl_reader_next_chunk(sfl_reader_t *r, size_t target, sfl_chunk_t *c, sfl_error_t *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    uint64_t n = 0;
    c->first_line = r->lines + 1 - (r->has_pending ? 1 : 0);
    if (r->has_pending) {
        if (!ensure(&buf, &cap, target + 4096 > r->pending_len ? target + 4096 : r->pending_len)) {
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            return -1;
        }
        memcpy(buf, r->pending, r->pending_len);
        len = r->pending_len;
        n = 1;
        r->has_pending = false;
        free(r->pending);
        r->pending = NULL;
    } else if (!ensure(&buf, &cap, target + 4096)) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return -1;
    }
    while (len < target && !r->eof) {
        int rc = read_line(r, &buf, &len, &cap, err);
        if (rc < 0) {
            free(buf);
            return -1;
        }
        if (rc == 0)
            break;
        n++;
    }
    if (n == 0) {
        free(buf);
        return 0;
    }
    c->text = buf;
    c->len = len;
    c->n_lines = n;
    c->end_voffset = bgzf_tell(r->fp);
    c->file_offset = (uint64_t)(bgzf_tell(r->fp) >> 16);
    return 1;
}

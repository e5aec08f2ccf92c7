/* batch.c: growing the buffers of a parser job's result, and a pool that
 * recycles them. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "batch.h"
#include "metrics.h"
#include "variant_key.h"
#include "grow.h"

struct sfl_batch_pool {
    pthread_mutex_t lock;
    sfl_parsed_batch_t **idle;
    size_t n, max;
    char **texts; /* chunk buffers given back, texts_cap[i] bytes each */
    size_t *texts_cap, n_texts;
};

sfl_parsed_batch_t *sfl_batch_new(void) { return calloc(1, sizeof(sfl_parsed_batch_t)); }

static void batch_free(sfl_parsed_batch_t *b)
{
    free(b->text);
    free(b->buf);
    free(b->docs);
    free(b->lines);
    free(b->msgs);
    free(b->missing);
    free(b->miss);
    free(b->digests);
    free(b->undeclared);
    free(b->out);
    sfl_metrics_part_destroy(b->mpart);
    free(b);
}

sfl_batch_pool_t *sfl_batch_pool_new(size_t max_idle)
{
    sfl_batch_pool_t *p = calloc(1, sizeof *p);
    if (p && (!(p->idle = calloc(max_idle + 1, sizeof *p->idle)) ||
              !(p->texts = calloc(max_idle + 1, sizeof *p->texts)) ||
              !(p->texts_cap = calloc(max_idle + 1, sizeof *p->texts_cap)))) {
        free(p->idle);
        free(p->texts);
        free(p);
        return NULL;
    }
    if (p) {
        pthread_mutex_init(&p->lock, NULL);
        p->max = max_idle;
    }
    return p;
}

void sfl_batch_pool_destroy(sfl_batch_pool_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        batch_free(p->idle[i]);
    for (size_t i = 0; i < p->n_texts; i++)
        free(p->texts[i]);
    free(p->idle);
    free(p->texts);
    free(p->texts_cap);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Empties b for its next use: its buffers and their capacities stay (the
 * chunk's text has been taken out). */
static void batch_reset(sfl_parsed_batch_t *b)
{
    sfl_parsed_batch_t keep = *b;
    free(b->missing);
    memset(b, 0, sizeof *b);
    b->buf = keep.buf;
    b->buf_cap = keep.buf_cap;
    b->docs = keep.docs;
    b->cap_docs = keep.cap_docs;
    b->lines = keep.lines;
    b->cap_lines = keep.cap_lines;
    b->msgs = keep.msgs;
    b->msgs_cap = keep.msgs_cap;
    b->miss = keep.miss;
    b->cap_miss = keep.cap_miss;
    b->undeclared = keep.undeclared;
    b->cap_undeclared = keep.cap_undeclared;
    b->digests = keep.digests;
    b->out = keep.out;
    b->cap_out = keep.cap_out;
    b->mpart = keep.mpart;
    if (b->mpart)
        sfl_metrics_part_reset(b->mpart);
    b->pool = keep.pool;
}

sfl_parsed_batch_t *sfl_batch_take(sfl_batch_pool_t *p)
{
    sfl_parsed_batch_t *b = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n > 0)
        b = p->idle[--p->n];
    pthread_mutex_unlock(&p->lock);
    if (b)
        return b;
    if ((b = sfl_batch_new()))
        b->pool = p;
    return b;
}

char *sfl_batch_pool_take_text(sfl_batch_pool_t *p, size_t *cap)
{
    char *t = NULL;
    *cap = 0;
    pthread_mutex_lock(&p->lock);
    if (p->n_texts > 0) {
        p->n_texts--;
        t = p->texts[p->n_texts];
        *cap = p->texts_cap[p->n_texts];
    }
    pthread_mutex_unlock(&p->lock);
    return t;
}

void sfl_batch_destroy(sfl_parsed_batch_t *b)
{
    if (!b)
        return;
    sfl_batch_pool_t *p = b->pool;
    if (p && b->buf_cap <= (64u << 20)) {
        char *text = b->text;
        size_t text_cap = b->text_cap;
        b->text = NULL;
        batch_reset(b);
        pthread_mutex_lock(&p->lock);
        bool kept = p->n < p->max, text_kept = text && p->n_texts < p->max;
        if (kept)
            p->idle[p->n++] = b;
        if (text_kept) {
            p->texts[p->n_texts] = text;
            p->texts_cap[p->n_texts++] = text_cap;
        }
        pthread_mutex_unlock(&p->lock);
        if (!text_kept)
            free(text);
        if (kept)
            return;
    }
    batch_free(b);
}

void sfl_batch_digest(sfl_parsed_batch_t *b)
{
    if (b->failed)
        return;
    if (!b->digests && !(b->digests = malloc(SFL_N_COLLECTIONS * sizeof *b->digests))) {
        b->failed = true;
        return;
    }
    b->has_digests = true;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_digest_init(&b->digests[c]);
    for (size_t i = 0; i < b->n_docs; i++) {
        sfl_docrec_t *d = &b->docs[i];
        if (b->lines[d->line_idx].code != SFL_OK)
            continue; /* the parser refused the line: never written */
        sfl_digest_add(&b->digests[b->multi ? d->coll : b->collection], b->buf + d->off, d->len);
        d->digested = true;
    }
}

void sfl_batch_list_docs(sfl_parsed_batch_t *b)
{
    if (b->failed || b->multi || !SFL_GROW(b->out, &b->cap_out, b->n_docs, 64))
        return;
    size_t bytes = 0;
    for (size_t i = 0; i < b->n_docs; i++) {
        b->out[i].data = b->buf + b->docs[i].off;
        b->out[i].len = b->docs[i].len;
        bytes += b->docs[i].len;
    }
    b->out_bytes = bytes;
    b->has_out = true;
}

sfl_linerec_t *sfl_batch_add_line(sfl_parsed_batch_t *b, uint64_t line, uint32_t off, size_t len)
{
    if (!SFL_GROW(b->lines, &b->cap_lines, b->n_lines + 1, 64)) {
        b->failed = true;
        return NULL;
    }
    sfl_linerec_t *r = &b->lines[b->n_lines++];
    memset(r, 0, sizeof *r);
    r->first_doc = (uint32_t)b->n_docs;
    r->line = line;
    r->text_off = off;
    r->text_len = (uint32_t)len;
    b->records++;
    return r;
}

int sfl_batch_contig(sfl_parsed_batch_t *b, sfl_linerec_t *rec, bool skip, const char *path,
                     const char *chrom, size_t len)
{
    int code = sfl_contig_code(chrom, len);
    if (code)
        return code;
    if (skip)
        b->unknown_contig++;
    else
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: unknown contig '%.*s': it has no xpos code (expected "
                         "1-22, X, Y, M or MT, with or without 'chr'; skipping unknown contigs "
                         "(sfl_options_t.skip_unknown_contigs) leaves such lines out, counted)",
                         path, (unsigned long long)rec->line, (int)(len > 60 ? 60 : len), chrom);
    return 0;
}

bool sfl_batch_undeclared(sfl_parsed_batch_t *b, uint32_t line_idx, uint32_t off, uint32_t len)
{
    if (!SFL_GROW(b->undeclared, &b->cap_undeclared, b->n_undeclared + 1, 16))
        return !(b->failed = true);
    b->undeclared[b->n_undeclared++] = (struct sfl_undeclared){line_idx, off, len};
    return true;
}

bool sfl_batch_line_missing(sfl_parsed_batch_t *b, sfl_linerec_t *rec, int slot)
{
    if (b->missing)
        b->missing[slot]++;
    if (!SFL_GROW(b->miss, &b->cap_miss, b->n_miss + 1, 64)) {
        b->failed = true;
        return false;
    }
    if (rec->miss_n == 0)
        rec->miss_off = (uint32_t)b->n_miss;
    b->miss[b->n_miss++] = (uint32_t)slot;
    rec->miss_n++;
    return true;
}

bool sfl_batch_record_doc(sfl_parsed_batch_t *b, size_t off, uint32_t len, uint32_t id_off,
                          uint32_t id_len, uint32_t line_idx, int64_t key_pos)
{
    if (off + len > UINT32_MAX) { /* offsets are 32-bit: a batch stays < 4 GiB */
        b->failed = true;
        return false;
    }
    if (!SFL_GROW(b->docs, &b->cap_docs, b->n_docs + 1, 64)) {
        b->failed = true;
        return false;
    }
    sfl_docrec_t *d = &b->docs[b->n_docs++];
    d->off = (uint32_t)off;
    d->len = len;
    d->id_off = id_off;
    d->id_len = id_len;
    d->id_hash_lo = d->id_hash_hi = 0;
    if (id_len) {
        XXH128_hash_t h = XXH3_128bits(b->buf + off + id_off, id_len);
        d->id_hash_lo = h.low64;
        d->id_hash_hi = h.high64;
    }
    d->line_idx = line_idx;
    d->key_pos = key_pos;
    d->dropped = false;
    d->digested = false;
    d->coll = 0;
    if (len > b->max_doc_len)
        b->max_doc_len = len;
    b->lines[line_idx].n_docs++;
    return true;
}

void sfl_batch_reject(sfl_parsed_batch_t *b, sfl_linerec_t *rec, uint32_t code,
                      const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    rec->code = code;
    b->any_refused = true;
    /* A refused line adds nothing to the summary's counts. */
    for (uint32_t i = 0; b->missing && i < rec->miss_n; i++)
        b->missing[b->miss[rec->miss_off + i]]--;
    rec->miss_n = 0;
    rec->csq_unmatched = rec->non_finite = 0;
    rec->no_alt = rec->thinned = rec->csq_repaired = 0;
    if (!SFL_GROW(b->msgs, &b->msgs_cap, b->msgs_len + (size_t)n + 1, 64)) {
        b->failed = true;
        rec->msg_off = 0;
        return;
    }
    rec->msg_off = (uint32_t)b->msgs_len;
    memcpy(b->msgs + b->msgs_len, tmp, (size_t)n + 1);
    b->msgs_len += (size_t)n + 1;
}

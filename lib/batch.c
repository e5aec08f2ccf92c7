/* batch.c: growing the buffers of a parser job's result. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "variant_key.h"
#include "grow.h"

sfl_parsed_batch_t *sfl_batch_new(void) { return calloc(1, sizeof(sfl_parsed_batch_t)); }

void sfl_batch_destroy(sfl_parsed_batch_t *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->buf);
    free(b->docs);
    free(b->lines);
    free(b->msgs);
    free(b->missing);
    free(b->miss);
    free(b->digests);
    free(b);
}

void sfl_batch_digest(sfl_parsed_batch_t *b)
{
    if (b->failed)
        return;
    if (!(b->digests = malloc(SFL_N_COLLECTIONS * sizeof *b->digests))) {
        b->failed = true;
        return;
    }
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
                         "1-22, X, Y, M or MT, with or without 'chr'; --skip-unknown-contigs "
                         "leaves such lines out, counted)",
                         path, (unsigned long long)rec->line, (int)(len > 60 ? 60 : len), chrom);
    return 0;
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
    d->line_idx = line_idx;
    d->key_pos = key_pos;
    d->dropped = false;
    d->digested = false;
    d->coll = 0;
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

/* order_check.c: sorting, across all files of a collection.
 *
 * The design is simple: the state remembers the last accepted position and
 * which contigs have begun, so one comparison per line proves sorting.
 * The uniqueness of _ids is id_check.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_check.h"
#include "swefreq/error.h"

void sfl_order_free(sfl_order_t *o) { (void)o; /* holds nothing today */ }

static const char *contig_label(int code, char buf[8])
{
    if (code == 23)
        return "X";
    if (code == 24)
        return "Y";
    if (code == 25)
        return "MT";
    snprintf(buf, 8, "%d", code);
    return buf;
}

uint32_t sfl_order_check_position(sfl_order_t *o, bool unique_positions,
                                  const sfl_linerec_t *rec, const char *chrom, const char *path,
                                  char *msg, size_t msg_size)
{
    char cb[8];
    if (!o->any || rec->contig != o->contig) {
        if (o->seen[rec->contig]) {
            snprintf(msg, msg_size,
                     "%s: line %llu: unsorted input: contig %s appears again after other "
                     "contigs began (lines of a contig must be together, positions ascending)",
                     path, (unsigned long long)rec->line, contig_label(rec->contig, cb));
            return SFL_E_UNSORTED;
        }
        o->seen[rec->contig] = true;
        snprintf(o->spelling[rec->contig], sizeof o->spelling[rec->contig], "%s", chrom);
        o->spelling_line[rec->contig] = rec->line;
        o->spelling_path[rec->contig] = path;
        o->any = true;
        o->contig = rec->contig;
    } else if (rec->pos < o->pos || (rec->pos == o->pos && unique_positions)) {
        if (rec->pos == o->pos) {
            snprintf(msg, msg_size,
                     "%s: line %llu: duplicate position %s:%lld (also on line %llu of %s)", path,
                     (unsigned long long)rec->line, contig_label(rec->contig, cb),
                     (long long)rec->pos, (unsigned long long)o->line, o->source_path);
            return SFL_E_DUPLICATE;
        }
        snprintf(msg, msg_size,
                 "%s: line %llu: unsorted input: position %lld comes after %lld (line %llu) "
                 "on contig %s",
                 path, (unsigned long long)rec->line, (long long)rec->pos, (long long)o->pos,
                 (unsigned long long)o->line, contig_label(rec->contig, cb));
        return SFL_E_UNSORTED;
    }
    /* One collection spells a contig one way: "1" and "chr1" (or "M" and
     * "MT") would give one place two variant_id spellings. */
    if (strcmp(chrom, o->spelling[rec->contig]) != 0) {
        snprintf(msg, msg_size,
                 "%s: line %llu: contig '%s', but line %llu of %s writes it '%s': one "
                 "collection must spell each contig one way (with or without 'chr')",
                 path, (unsigned long long)rec->line, chrom,
                 (unsigned long long)o->spelling_line[rec->contig],
                 o->spelling_path[rec->contig], o->spelling[rec->contig]);
        return SFL_E_LINE;
    }
    o->pos = rec->pos;
    o->line = rec->line;
    o->source_path = path;
    return SFL_OK;
}

/* The length of the line's first column, cut at 15 bytes as
 * sfl_order_chrom cuts it. */
static size_t chrom_len(const sfl_parsed_batch_t *b, const sfl_linerec_t *rec)
{
    const char *p = b->text + rec->text_off;
    size_t n = 0;
    while (n < rec->text_len && n < 15 && p[n] != '\t')
        n++;
    return n;
}

void sfl_order_chrom(const sfl_parsed_batch_t *b, const sfl_linerec_t *rec, char out[16])
{
    size_t n = chrom_len(b, rec);
    memcpy(out, b->text + rec->text_off, n);
    out[n] = '\0';
}

/* Within the batch, each line against the one before it: the same checks
 * as sfl_order_check_position makes once the line before is recorded
 * (a contig's spelling is its run's first line's, which the in-order
 * stage checks against the collection's). */
void sfl_order_scan_batch(sfl_parsed_batch_t *b)
{
    bool unique = b->collection == SFL_COLL_COVERAGE, seen[32] = {false};
    const sfl_linerec_t *prev = NULL;
    const char *prev_chrom = NULL;
    size_t prev_len = 0;
    b->order_ok = false;
    b->n_runs = 0;
    for (size_t i = 0; i < b->n_lines; i++) {
        const sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK || rec->contig < 0 || rec->contig >= 32)
            return;
        const char *chrom = b->text + rec->text_off;
        size_t len = chrom_len(b, rec);
        if (prev && rec->contig == prev->contig) {
            if (rec->pos < prev->pos || (unique && rec->pos == prev->pos) || len != prev_len ||
                memcmp(chrom, prev_chrom, len) != 0)
                return;
            b->runs[b->n_runs - 1].last = (uint32_t)i;
        } else {
            if (seen[rec->contig] || b->n_runs == SFL_BATCH_MAX_RUNS)
                return;
            seen[rec->contig] = true;
            b->runs[b->n_runs].first = b->runs[b->n_runs].last = (uint32_t)i;
            b->n_runs++;
        }
        prev = rec;
        prev_chrom = chrom;
        prev_len = len;
    }
    b->order_ok = true;
}

bool sfl_order_check_batch(sfl_order_t *o, const sfl_parsed_batch_t *b, const char *path)
{
    if (!b->order_ok)
        return false;
    bool unique = b->collection == SFL_COLL_COVERAGE;
    sfl_order_t next = *o; /* o stays as it is unless every run passes */
    for (uint32_t r = 0; r < b->n_runs; r++) {
        const sfl_linerec_t *first = &b->lines[b->runs[r].first];
        const sfl_linerec_t *last = &b->lines[b->runs[r].last];
        char chrom[16], msg[1024];
        sfl_order_chrom(b, first, chrom);
        if (sfl_order_check_position(&next, unique, first, chrom, path, msg, sizeof msg) != SFL_OK)
            return false;
        next.pos = last->pos;
        next.line = last->line;
    }
    *o = next;
    return true;
}

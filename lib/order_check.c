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

/* order_check.c: sorting and uniqueness, across all files of a collection.
 *
 * The design is simple: the state remembers the last accepted position and
 * which contigs have begun, so one comparison per line proves sorting.
 * Uniqueness of variant ids needs memory, but not much: a later line has
 * POS >= this line's POS, and its variants' positions are >= their POS, so
 * only ids whose (trimmed) position is >= the current POS can still be
 * repeated. The window holds just those, a handful at any time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "order_check.h"
#include "swefreq/error.h"

static void reset_window(sfl_order_t *o)
{
    for (size_t i = 0; i < o->n_win; i++)
        free(o->win[i].id);
    o->n_win = 0;
}

void sfl_order_free(sfl_order_t *o)
{
    reset_window(o);
    free(o->win);
    o->win = NULL;
    o->cap_win = 0;
}

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
        reset_window(o);
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

uint32_t sfl_order_check_unique(sfl_order_t *o, const sfl_parsed_batch_t *b,
                                const sfl_linerec_t *rec, const char *path, char *msg,
                                size_t msg_size)
{
    size_t keep = 0;
    for (size_t i = 0; i < o->n_win; i++) {
        if (o->win[i].key_pos >= rec->pos)
            o->win[keep++] = o->win[i];
        else
            free(o->win[i].id);
    }
    o->n_win = keep;
    /* Each document is checked against the window and then added to it,
     * so two ALTs of one line that reduce to the same id are caught too;
     * a rejected line takes its entries back out. */
    size_t before = o->n_win;
    for (uint32_t d = 0; d < rec->n_docs; d++) {
        const sfl_docrec_t *dr = &b->docs[rec->first_doc + d];
        uint32_t idlen;
        const char *id = sfl_batch_doc_id(b, dr, &idlen);
        for (size_t i = 0; i < o->n_win; i++) {
            if (strlen(o->win[i].id) != idlen || memcmp(o->win[i].id, id, idlen) != 0)
                continue;
            if (i >= before)
                snprintf(msg, msg_size,
                         "%s: line %llu: duplicate variant %.*s: two ALT alleles of this line "
                         "reduce to the same chrom-pos-ref-alt",
                         path, (unsigned long long)rec->line, (int)idlen, id);
            else
                snprintf(msg, msg_size,
                         "%s: line %llu: duplicate variant %.*s: line %llu of %s reduces to "
                         "the same chrom-pos-ref-alt",
                         path, (unsigned long long)rec->line, (int)idlen, id,
                         (unsigned long long)o->win[i].line, o->win[i].source_path);
            for (size_t k = before; k < o->n_win; k++)
                free(o->win[k].id);
            o->n_win = before;
            return SFL_E_DUPLICATE;
        }
        if (!SFL_GROW(o->win, &o->cap_win, o->n_win + 1, 16))
            return SFL_E_NOMEM;
        sfl_order_entry_t *e = &o->win[o->n_win];
        if (!(e->id = strndup(id, idlen)))
            return SFL_E_NOMEM;
        e->key_pos = dr->key_pos;
        e->line = rec->line;
        e->source_path = path;
        o->n_win++;
    }
    return SFL_OK;
}

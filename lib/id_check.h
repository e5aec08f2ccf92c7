/* id_check.h: no two documents of a collection share an _id. Private to
 * the library.
 *
 * The ordered stage (pipeline.c) calls sfl_ids_check for every accepted
 * line, in input order, after the sorting checks (order_check.c), so a
 * duplicate is refused with file and line (SFL_E_DUPLICATE, exit 3) before
 * any sink sees it: the dry run, the dump and MongoDB alike. A dbSNP
 * batch that its parser job found sorted and unique within itself
 * (sfl_ids_scan_batch) is checked by batch instead (sfl_ids_check_batch):
 * the same ids kept, the same first refusal and message.
 *
 * Memory (each id is kept as its 128-bit XXH3 hash with the line that gave
 * it, in a hash table that doubles: 24 to 48 bytes an id):
 *   variants      the ids that a later line can still repeat (a line's
 *                 minimal positions are >= its POS): a handful;
 *   dbsnp         the ids at the current position (the file is sorted);
 *                 a batch found sorted and unique within itself by the
 *                 parser job (sfl_ids_scan_batch) is checked only where
 *                 it meets the lines before it (sfl_ids_check_batch);
 *   genes, transcripts, exons
 *                 every id of the run: about 100 MB for a GENCODE-sized
 *                 GTF (a dry run of a generated one with 57,000 genes,
 *                 143,000 transcripts and 1.8 M exon, CDS and UTR lines:
 *                 141 MB of RSS, 42 MB without this check), which grows
 *                 with the GTF (not bounded by the settings, unlike
 *                 everything else);
 *   base_coverage the position is the _id: order_check.c refuses a repeat;
 *   metrics       computed, one document per metric.
 */
#ifndef SFL_ID_CHECK_H
#define SFL_ID_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

typedef struct sfl_ids sfl_ids_t;

/* NULL when out of memory. Accepts NULL in destroy. */
sfl_ids_t *sfl_ids_new(void);
void sfl_ids_destroy(sfl_ids_t *s);

/* The documents of line `rec` of batch `b` (from the file `path`,
 * borrowed until the job ends) against every earlier id that could
 * repeat. Returns SFL_OK (the ids are recorded), SFL_E_DUPLICATE with a
 * message naming both lines, SFL_E_UNSORTED (a dbSNP file out of order:
 * its duplicates could not be found), or SFL_E_NOMEM. A refused line
 * records nothing. */
uint32_t sfl_ids_check(sfl_ids_t *s, const sfl_parsed_batch_t *b, const sfl_linerec_t *rec,
                       const char *path, char *msg, size_t msg_size);

/* Parser job, for a dbSNP batch: sets b->ids_ok, b->runs, b->ids_head_end
 * and b->ids_tail_first (batch.h) from the batch alone: the sorting and
 * the uniqueness of _ids within the batch, as sfl_ids_check would find
 * them line by line. A batch with more than SFL_IDS_GROUP_MAX documents at
 * one position, or more than SFL_BATCH_MAX_RUNS contigs, is left to the
 * line-by-line check. Thread safety: reads and writes only `b`. */
#define SFL_IDS_GROUP_MAX 64
void sfl_ids_scan_batch(sfl_parsed_batch_t *b);

/* In-order stage, for a dbSNP batch from the file `path`: when b->ids_ok,
 * checks each run's first line against the lines before the batch, and
 * the ids of the batch's first position against the ids kept, as
 * sfl_ids_check would; then records the batch as sfl_ids_check would have
 * recorded every line (the ids of its last position kept), and returns 1:
 * every line of the batch passes sfl_ids_check. Returns 0 with `s`
 * unchanged when the batch is not ids_ok or a check fails (the caller
 * checks the batch line by line, which finds the first refused line and
 * its message), and -1 when out of memory. */
int sfl_ids_check_batch(sfl_ids_t *s, const sfl_parsed_batch_t *b, const char *path);

#endif

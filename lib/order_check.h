/* order_check.h: sorting across all files of a collection (the uniqueness
 * of _ids: id_check.h).
 * Private to the library.
 *
 * The ordered stage (pipeline.c) calls these in input order, with one
 * sfl_order_t per collection: by batch (sfl_order_check_batch, after the
 * parser job's sfl_order_scan_batch proved the batch sorted within
 * itself), else for every parsed line.
 */
#ifndef SFL_ORDER_CHECK_H
#define SFL_ORDER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"

typedef struct {
    int32_t contig;          /* of the last accepted line                 */
    int64_t pos;
    uint64_t line;
    const char *source_path;
    bool seen[32];           /* contigs begun so far                      */
    bool any;
    /* each contig's spelling as first written ("1" or "chr1"), and where */
    char spelling[32][16];
    uint64_t spelling_line[32];
    const char *spelling_path[32];
} sfl_order_t;

/* Frees what the state holds (nothing today); the state may be used again
 * from scratch after a memset to 0. Accepts a zeroed state. */
void sfl_order_free(sfl_order_t *o);

/* Positions never go back on a contig, a contig never comes back after
 * another began, and a contig is spelled one way ("1" or "chr1") in the
 * whole collection. For coverage (`unique_positions`) a repeated position
 * is a duplicate _id. `chrom` is the line's first column as written.
 * Returns SFL_OK and records the line, or SFL_E_UNSORTED / SFL_E_DUPLICATE
 * / SFL_E_LINE with a message naming both lines in `msg`. */
uint32_t sfl_order_check_position(sfl_order_t *o, bool unique_positions,
                                  const sfl_linerec_t *rec, const char *chrom, const char *path,
                                  char *msg, size_t msg_size);

/* The line's contig as written (its first column, at most 15 bytes), as
 * `chrom` of sfl_order_check_position takes it. */
void sfl_order_chrom(const sfl_parsed_batch_t *b, const sfl_linerec_t *rec, char out[16]);

/* Parser job, for a batch of variants or coverage: sets b->order_ok and
 * b->runs (batch.h) from the batch alone. Thread safety: reads and writes
 * only `b`. */
void sfl_order_scan_batch(sfl_parsed_batch_t *b);

/* In-order stage: when b->order_ok, checks each run's first line against
 * the lines before it as sfl_order_check_position would, and records the
 * batch's last line: every line of the batch is then known to pass that
 * check, and true is returned. Otherwise (the batch not order_ok, or a
 * run's first line refused) returns false with `o` unchanged: the caller
 * checks the batch line by line, which finds the first refused line and
 * its message. */
bool sfl_order_check_batch(sfl_order_t *o, const sfl_parsed_batch_t *b, const char *path);

#endif

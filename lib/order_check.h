/* order_check.h: sorting across all files of a collection (the uniqueness
 * of _ids: id_check.h).
 * Private to the library.
 *
 * The ordered stage (pipeline.c) calls these for every parsed line, in
 * input order, with one sfl_order_t per collection.
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

#endif

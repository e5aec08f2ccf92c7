/* order_check.h: sorting and uniqueness across all files of a collection.
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
    int64_t key_pos;         /* the variant's position after trimming     */
    char *id;                /* its _id (owned)                           */
    uint64_t line;
    const char *source_path; /* borrowed: the job's copy of the path      */
} sfl_order_entry_t;

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
    sfl_order_entry_t *win;  /* variant ids that a later line may repeat  */
    size_t n_win, cap_win;
} sfl_order_t;

/* Frees the window; the state may be used again from scratch after a
 * memset to 0. Accepts a zeroed state. */
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

/* No two variant documents share an _id: the documents of line `rec` of
 * batch `b` against the window of earlier ids that could repeat, and
 * against each other. Returns SFL_OK (the ids join the window),
 * SFL_E_DUPLICATE with a message, or SFL_E_NOMEM. */
uint32_t sfl_order_check_unique(sfl_order_t *o, const sfl_parsed_batch_t *b,
                                const sfl_linerec_t *rec, const char *path, char *msg,
                                size_t msg_size);

#endif

/* index_cover.h: does a source's .tbi/.csi index cover the whole file?
 * (index_cover.c). Private to the library; no state, thread-safe.
 *
 * A partitioned load reads only what the index points to, so a stale
 * index (built before records were appended, from an older version of
 * the file, or for another file) would lose the records it does not know.
 * sfl_index_cover() checks, cheaply (the index, a few block frames and
 * one line per contig), that the index's records tile the file's data
 * from the end of its header to the end-of-file block, and returns the
 * index's record count per contig, which a group's finish compares with
 * the records its parts read (group_check.c).
 */
#ifndef SFL_INDEX_COVER_H
#define SFL_INDEX_COVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

typedef struct {
    char *chrom;
    uint64_t records;   /* the index's count of the contig's records  */
    int64_t first, end; /* virtual offsets: its first record, past its last */
} sfl_cover_contig_t;

typedef struct {
    char *index_path;       /* the index file htslib loads (.csi before .tbi) */
    sfl_cover_contig_t *c;  /* in the file's order                           */
    size_t n;
    int64_t header_end;     /* virtual offset of the first record            */
    int64_t data_end;       /* virtual offset past the last record           */
    int64_t first_line_end; /* virtual offset past the first record's line   */
} sfl_cover_t;

/* Checks the index of BGZF file `path` (open as `fd`, read with pread)
 * against the file. Returns 1 with *out filled (sfl_cover_free it) when
 * the index covers the file, 0 when the file has no index (nothing set),
 * -1 with err otherwise: SFL_E_REGION naming the file and what is stale
 * (a record after the index's last one, bytes between two contigs the
 * index does not hold, a contig whose first record is not where the index
 * says), or an index without per-contig record counts (with how to
 * rebuild it). */
int sfl_index_cover(const char *path, int fd, sfl_cover_t *out, sfl_error_t *err);

void sfl_cover_free(sfl_cover_t *c);

/* The part of the check a part repeats cheaply, given the plan's checked
 * index (by its SHA-256): after `data_end` (the plan's sfl_cover_t
 * .data_end) the file open as `fd` has only empty blocks. SFL_E_REGION
 * naming the file and `index` otherwise. */
bool sfl_cover_tail(int fd, const char *path, const char *index, int64_t data_end,
                    sfl_error_t *err);

/* The index file htslib loads for `path`: PATH.csi when it exists, else
 * PATH.tbi (malloc'd; NULL when out of memory). */
char *sfl_cover_index_path(const char *path);

/* The compressed byte just past the BGZF block that holds the byte before
 * virtual offset `voff` (voff >> 16 itself when voff starts a block): the
 * end of the whole blocks a reader needs to read up to `voff`. -1 with
 * SFL_E_COMPRESSION naming `path` when no block is there. */
int64_t sfl_cover_block_end(int fd, const char *path, int64_t voff, sfl_error_t *err);

#endif

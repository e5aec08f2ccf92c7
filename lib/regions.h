/* regions.h: the regions a job reads of its indexed VCF and coverage
 * sources (--region, --regions-file). Private to the library.
 *
 * A region is one contig, or a 0-based half-open interval [beg, end) of
 * one; a record belongs to it iff its POS (a coverage row's pos) lies in
 * it, never by overlap, so disjoint regions partition a file's records.
 * The list is kept sorted by contig name (as text), then start, and the
 * regions in it never overlap: each add refuses a region that overlaps
 * one already there, naming both.
 */
#ifndef SFL_REGIONS_H
#define SFL_REGIONS_H

#include <bson/bson.h>
#include <htslib/tbx.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

/* end of a region that runs to its contig's end */
#define SFL_REGION_TO_END INT64_MAX

typedef struct {
    char *chrom;
    int64_t beg, end; /* 0-based, half-open; end may be SFL_REGION_TO_END */
    char *origin;     /* where it was given: "--region 1:5-10", "FILE line 3" */
    char *label;      /* "1:6-10" (1-based inclusive) or "1", for messages */
} sfl_region_t;

typedef struct {
    sfl_region_t *r;
    size_t n, cap;
} sfl_regions_t;

/* "CHROM" or "CHROM:START-END" (1-based, inclusive, as samtools and
 * bcftools take them; the last ':' splits when what follows is
 * START-END). SFL_E_USAGE for a bad spec or an overlap. */
bool sfl_regions_add_spec(sfl_regions_t *rs, const char *spec, sfl_error_t *err);

/* A BED file (0-based half-open; tab- or space-separated; blank lines,
 * '#' comments and track/browser lines skipped; columns after the third
 * ignored). SFL_E_OPEN if it cannot be read, SFL_E_REGION naming the file
 * and line for a bad line or an overlap; a file with no region is refused
 * too. */
bool sfl_regions_add_bed(sfl_regions_t *rs, const char *path, sfl_error_t *err);

/* [beg, end) of `chrom` (end may be SFL_REGION_TO_END), given at `origin`
 * (copied; for messages). SFL_E_REGION for a bad interval or an overlap. */
bool sfl_regions_add(sfl_regions_t *rs, const char *chrom, int64_t beg, int64_t end,
                     const char *origin, sfl_error_t *err);

void sfl_regions_free(sfl_regions_t *rs);

/* Appends the array `key` of {chrom, start, end} (end left out for a
 * whole contig) to `doc`. */
bool sfl_regions_append_bson(bson_t *doc, const char *key, const sfl_regions_t *rs);

/* The smallest virtual offset of the index's chunks for [beg, end) of
 * contig `tid` (end clipped to HTS_POS_MAX), or -1 when the index has
 * none: where a reader of that region starts. */
int64_t sfl_regions_first_offset(tbx_t *tbx, int tid, int64_t beg, int64_t end);

/* The same, with *last_end the largest virtual offset at which the
 * index's chunks for it end: every record overlapping [beg, end), so
 * every record whose POS lies in it, ends at or before it. False (both
 * -1) when the index has no chunk there. */
bool sfl_regions_span(tbx_t *tbx, int tid, int64_t beg, int64_t end, int64_t *first,
                      int64_t *last_end);

/* One region of one source as it will be read: where its records start
 * (the first virtual offset the index gives for it) and the order. */
typedef struct {
    const sfl_region_t *reg;
    int64_t voffset; /* -1: the index has no record in it */
} sfl_region_read_t;

/* The regions of `rs` as source `path` holds them, in the file's order
 * (the order of its contigs in the file, then start), from its .tbi or
 * .csi index. SFL_E_REGION naming the file when it has no index, or the
 * region and the file when the index does not know a region's contig.
 * Returns a malloc'd array of rs->n entries. */
sfl_region_read_t *sfl_regions_plan(const sfl_regions_t *rs, const char *path,
                                    sfl_error_t *err);

#endif

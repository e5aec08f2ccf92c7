/* group_check.h: a partitioned load's defences against a stale index
 * (group_check.c): the plan records each indexed source's index (its
 * SHA-256 and record count per contig, after sfl_index_cover() found it
 * covering the file), each part checks its index is the plan's, records
 * how many records it read in each region, and the group's finish compares
 * the parts' counts per contig with the index's. Private to the library.
 *
 * The plan's document (`plan` below: sfl_group_plan_doc) gains {indexes:
 * [{source (1-based), file (the source), path (the index file), sha256,
 * size, contigs: [{chrom, records}]}]}; a part's record in
 * swefreq_meta gains {reads: [{source, chrom, start, end (absent: to the
 * contig's end), records}]}.
 */
#ifndef SFL_GROUP_CHECK_H
#define SFL_GROUP_CHECK_H

#include <bson/bson.h>

#include <htslib/tbx.h>

#include "index_cover.h"
#include "job_internal.h"

/* One part's byte range of one source: the whole BGZF blocks its regions'
 * records lie in, by the index (from the first chunk start of its regions
 * to the block that holds their last chunk end), and their SHA-256. */
typedef struct {
    bool set;
    int64_t first, last_end; /* virtual offsets, over the part's regions */
    int64_t from, to;        /* compressed bytes [from, to)              */
    char sha256[65];
} sfl_part_range_t;

/* Plan: widens r by region [beg, end) of `chrom` as `tbx` indexes it. */
void sfl_group_range_add(sfl_part_range_t *r, tbx_t *tbx, const char *chrom, int64_t beg,
                         int64_t end);

/* Plan: r's bytes and their SHA-256, from the source open as `fd`. */
bool sfl_group_range_seal(sfl_part_range_t *r, int fd, const char *path, sfl_error_t *err);

/* Plan: appends {ranges: [{from, to, sha256}]} to a part's source entry
 * (nothing when r is not set). */
void sfl_group_range_append(bson_t *src_doc, const sfl_part_range_t *r);

/* Part, before reading (job.c's hashing): source i of a part is checked
 * by the plan's hashes of what the part reads, not hashed whole: read in
 * regions, its size, its header's blocks and the part's own range must
 * be the plan's; not read, its size. Then its SHA-256 and size are the
 * plan's (those of the whole file, hashed once by the plan). *done false:
 * the caller hashes the source whole (read whole by this part, or not a
 * part). SFL_E_MANIFEST naming the file and the range that differs. */
bool sfl_group_part_hash(sfl_job_t *j, size_t i, bool *done, sfl_error_t *err);

/* Part, after reading source i: every line it kept ended inside its
 * verified range, and every region began inside it. SFL_E_MANIFEST naming
 * the file and both offsets otherwise. */
bool sfl_group_check_read(const sfl_job_t *j, size_t i, sfl_error_t *err);

/* Plan: checks the index of every indexed VCF and coverage source of `j`
 * (hashed and open: j->src_fd) with sfl_index_cover, into covers[i]
 * (covers has j->n_sources entries, zeroed; a source without an index
 * stays zeroed). False with err for a stale index or one without counts. */
bool sfl_group_covers(const sfl_job_t *j, sfl_cover_t *covers, sfl_error_t *err);

/* Plan: appends {indexes: [...]} for the sources i with covers[i] set and
 * regions[i] true (read in regions by the parts), hashing each index
 * file. False with err when an index cannot be read. */
bool sfl_group_append_indexes(bson_t *doc, const sfl_job_t *j, const sfl_cover_t *covers,
                              const bool *regions, sfl_error_t *err);

/* Part: for each source part `part` reads in regions, the index must be
 * the plan's, byte for byte (its SHA-256: the plan checked it covers the
 * file), and the file must end after the index's last record as the
 * plan found (sfl_cover_tail). SFL_E_REGION or SFL_E_MANIFEST naming the
 * file and the index otherwise. */
bool sfl_group_check_part_index(const sfl_job_t *j, const bson_t *plan, const char *group,
                                int part, sfl_error_t *err);

/* Run: records that region `reg` of source `src` gave `records` records
 * (called by the pipeline after each region; nothing for a job that is
 * not a part). */
void sfl_job_region_done(sfl_job_t *j, size_t src, const sfl_region_t *reg, uint64_t records);

/* Run: a part's {reads: [...]} into `doc` (initialised by the caller). */
bool sfl_group_part_reads(const sfl_job_t *j, bson_t *doc);

/* Finish: the records the parts read (part_rec[k]: part k+1's record,
 * with `reads`) per source and contig must equal the plan's index counts.
 * SFL_E_MANIFEST naming the source, the contig and both counts. `db` and
 * `group` are for the message. */
bool sfl_group_check_reads(const bson_t *plan, const bson_t *part_rec, int n, const char *db,
                           const char *group, sfl_error_t *err);

#endif

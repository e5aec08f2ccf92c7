/* job_internal.h: the job's state, shared by job.c (the run loop) and
 * pipeline.c (one source through the parser pool and the in-order stage).
 * Private to the library.
 */
#ifndef SFL_JOB_INTERNAL_H
#define SFL_JOB_INTERNAL_H

#include <htslib/thread_pool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "gene_tables.h"
#include "gtf_doc.h"
#include "manifest_internal.h"
#include "id_check.h"
#include "order_check.h"
#include "regions.h"
#include "report.h"
#include "swefreq/swefreq.h"

struct sfl_job {
    sfl_options_t opt; /* resolved (options.c) */
    char *rejects_path;
    char *csq_field, *csq_format; /* copies of the options' strings */
    char *spill_dir;
    bool warned_v40;
    sfl_source_record_t *sources;
    size_t n_sources, cap_sources;
    int *src_fd; /* [n_sources]: each source open from before its hashing
                    to the end of the run, so the file parsed is the file
                    hashed */
    bool ran;
    struct sfl_src_hasher *hasher; /* during a run: the thread hashing the
                                      sources beside the pipeline (job.c) */
    sfl_regions_t regions; /* of the VCF and coverage sources; none = whole */
    sfl_region_read_t **region_plans; /* [n_sources]: each one's regions in its
                                         file's order (NULL: read whole) */
    /* A part of a partitioned load (sfl_job_use_part, group_plan.c): its
     * number (0: a whole run), and per source whether it is read whole,
     * not at all, or in its own regions. A part writes no metrics (the
     * group's finish computes them from all variants) and may find no
     * record in a source's regions. */
    int part;
    unsigned char *src_mode;    /* [n_sources]: SFL_SRC_*               */
    sfl_regions_t *src_regions; /* [n_sources]: with SFL_SRC_REGIONS    */
    uint64_t **src_records;     /* [n_sources][its regions]: the records
                                   each region gave (group_check.c)    */
    int64_t *src_read_end;      /* [n_sources]: the virtual offset past
                                   the last line kept (group_check.c) */
    bson_t *part_plan;          /* the group's plan document (a copy)  */

    sfl_summary_t summary;
    sfl_report_t report;          /* warnings, missing fields, progress */
    const char **missing_names;   /* summary views of `missing` */
    uint64_t *missing_counts;
    const char **undeclared_names;   /* summary views of `undeclared` */
    uint64_t *undeclared_counts;
    sfl_annotation_used_t *annotations; /* summary view, per VCF source */
    sfl_table_join_t *table_joins;      /* summary view, per gene table */

    sfl_manifest_t *manifest;
    atomic_int cancelled;
    sfl_sink_t *_Atomic running_sink; /* during sfl_job_run: cancel reaches it too */

    /* run state */
    sfl_digest_t digest[SFL_N_COLLECTIONS];
    sfl_order_t order[SFL_N_COLLECTIONS];
    sfl_doc_t *docs; /* the sink's view of a batch */
    size_t cap_docs;
    FILE *rejects;
    char *rejects_partial;
    bool rejects_renamed; /* FILE.partial became FILE */
    sfl_gene_tables_t *gene_tables; /* the tables joined into genes */
    sfl_ids_t *ids;                 /* the _ids that may repeat (id_check.h) */
    struct sfl_metrics *metrics;    /* collects from the variants     */
    struct sfl_batch_pool *batch_pool; /* idle batches (batch.h)      */
    uint32_t last_source;           /* where the last batch written   */
    int64_t last_voffset;           /* ended (the metrics batch's)    */
};

enum { SFL_SRC_WHOLE = 0, SFL_SRC_SKIP = 1, SFL_SRC_REGIONS = 2 };

/* job.c: hashes the sources and builds the run's plan (its options and
 * hashed sources as a manifest with empty collections), as sfl_job_run
 * does before its sink begins; the job cannot run after it. */
sfl_manifest_t *sfl_job_plan_manifest(sfl_job_t *j, sfl_error_t *err);

/* job.c: source `index` is not read by this part (SFL_SRC_SKIP). */
bool sfl_job_source_skipped(const sfl_job_t *j, size_t index);

/* pipeline.c: the regions source `index` reads (the job's, or a part's
 * own). */
const sfl_regions_t *sfl_job_regions_of(const sfl_job_t *j, size_t index);

/* pipeline.c: does source `index` read the job's regions? */
bool sfl_job_source_regional(const sfl_job_t *j, size_t index);

/* pipeline.c: reads source `index` to its end through the parser pool
 * `pool`/`q` and the in-order stage into `sink`; `seq` numbers the chunks
 * across sources. False with err on the first failure. */
bool sfl_pipeline_run_source(sfl_job_t *j, uint32_t index, hts_tpool *pool,
                             hts_tpool_process *q, uint64_t *seq, sfl_sink_t *sink,
                             sfl_error_t *err);

#endif

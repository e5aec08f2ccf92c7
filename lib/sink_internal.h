/* sink_internal.h: how the job drives a sink. Private to the library. */
#ifndef SFL_SINK_INTERNAL_H
#define SFL_SINK_INTERNAL_H

#include <bson/bson.h>

#include "swefreq/sink.h"

bool sfl_sink_begin_int(sfl_sink_t *s, const sfl_run_info_t *run, sfl_error_t *err);
bool sfl_sink_write_int(sfl_sink_t *s, const sfl_batch_t *b, sfl_error_t *err);
bool sfl_sink_commit_int(sfl_sink_t *s, const sfl_manifest_t *m, sfl_error_t *err);
/* `why` (may be NULL) is kept for the implementation to record. */
void sfl_sink_abort_int(sfl_sink_t *s, const sfl_error_t *why);
/* The error the run aborted with, or NULL. */
const sfl_error_t *sfl_sink_abort_reason_int(const sfl_sink_t *s);

/* Cancellation reaches a running sink too (sfl_job_cancel calls this), so
 * that a sink blocked in its own work (a server command) can give up.
 * Async-signal-safe: it only sets an atomic flag. */
void sfl_sink_cancel_int(sfl_sink_t *s);
bool sfl_sink_cancelled_int(sfl_sink_t *s);
/* The implementation's ctx if s was made with this commit function (so a
 * sink's own public functions can reach their state), else NULL. */
void *sfl_sink_ctx_int(const sfl_sink_t *s, const void *commit_fn);

/* The run's plan (its options and hashed sources, as a manifest with empty
 * collection figures), set by the job around begin so that a sink can
 * record or check it there; borrowed, NULL outside begin. */
void sfl_sink_set_plan_int(sfl_sink_t *s, const sfl_manifest_t *plan);
const sfl_manifest_t *sfl_sink_plan_int(const sfl_sink_t *s);

/* A sink whose begin reads the plan (the MongoDB sink: it records the
 * plan, and a resume compares it with its record) says so once, right
 * after sfl_sink_new: the job then hashes every source before begin, as
 * the plan names each source by its SHA-256. For every other sink (which
 * cannot see the plan) the job hashes the sources on a thread of its own
 * while the pipeline reads them, and sets no plan (job.c). */
void sfl_sink_set_reads_plan_int(sfl_sink_t *s);
bool sfl_sink_reads_plan_int(const sfl_sink_t *s);

/* A part of a partitioned load: {reads: [...]}, the records it read per
 * region (group_check.h), set by the job around commit so that the sink
 * records it with the part; borrowed, NULL outside a part's commit. */
void sfl_sink_set_part_reads_int(sfl_sink_t *s, const bson_t *reads);
const bson_t *sfl_sink_part_reads_int(const sfl_sink_t *s);

#endif

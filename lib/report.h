/* report.h: what one run reports while it reads, below both the job (job.c)
 * and the pipeline (pipeline.c). Private to the library.
 *
 * The pipeline adds warnings, counts of lines that lacked a field and
 * progress here; the job owns the report, reads it for the summary and
 * frees it. Neither calls the other for it, so they form no circle.
 *
 * Thread safety: none; a report is used from the thread that runs the job
 * (the pipeline's in-order stage runs there).
 */
#ifndef SFL_REPORT_H
#define SFL_REPORT_H

#include <stdint.h>
#include <time.h>

#include "swefreq/job.h"

typedef struct {
    char *name;
    uint64_t count;
} sfl_missing_count_t;

typedef struct {
    sfl_log_fn log; /* warnings are also logged here (may be NULL) */
    void *log_ud;
    char **warnings; /* run-wide warnings, each message once */
    size_t n_warnings, cap_warnings;
    sfl_missing_count_t *missing; /* expected fields that lines lacked */
    size_t n_missing, cap_missing;
    sfl_missing_count_t *undeclared; /* population codes lines carried that
                                        the header does not declare */
    size_t n_undeclared, cap_undeclared;

    sfl_progress_fn progress; /* may be NULL */
    void *progress_ud;
    struct timespec t0, last_progress; /* CLOCK_MONOTONIC */
    uint64_t bytes_done_before; /* compressed bytes of finished sources */
    uint64_t bytes_total;       /* of all sources                       */
    const char *source;         /* the source being (or last) read      */
} sfl_report_t;

/* Starts the clock; the callbacks may be NULL. */
void sfl_report_init(sfl_report_t *r, sfl_log_fn log, void *log_ud, sfl_progress_fn progress,
                     void *progress_ud);
void sfl_report_free(sfl_report_t *r);

/* Adds a warning (each message once) and logs it. False when out of memory. */
bool sfl_report_warning(sfl_report_t *r, const char *msg);

/* Counts `n` lines that lacked the expected field `name`. False when out of
 * memory. */
bool sfl_report_missing(sfl_report_t *r, const char *name, uint64_t n);

/* One more line carried the population code [name, name+len) that its
 * header does not declare. False when out of memory. */
bool sfl_report_undeclared(sfl_report_t *r, const char *name, size_t len);

/* Calls the progress callback, at most 4 times a second unless `force`:
 * `file_offset` is the compressed position in the current source; the
 * documents written so far are the sum of `docs[0 .. n_docs-1]`. */
void sfl_report_progress(sfl_report_t *r, uint64_t file_offset, const uint64_t *docs,
                         size_t n_docs, bool force);

/* Seconds since sfl_report_init. */
double sfl_report_seconds(const sfl_report_t *r);

#endif

/* coverage_doc.h: per-base coverage rows -> `base_coverage` documents.
 * Private to the library. */
#ifndef SFL_COVERAGE_DOC_H
#define SFL_COVERAGE_DOC_H

#include "batch.h"
#include "swefreq/error.h"

typedef struct {
    int n_columns;   /* including chrom and pos */
    int n_metrics;   /* n_columns - 2 */
    char **names;    /* metric names, as in the header */
    size_t *name_len;
    uint32_t step;   /* keep pos % step == 0 */
} sfl_coverage_schema_t;

/* Parses the header line ("#chrom pos mean median 1 5 ..."; no newline). */
sfl_coverage_schema_t *sfl_coverage_schema_new(const char *header, size_t len, uint32_t step,
                                               const char *path, sfl_error_t *err);
void sfl_coverage_schema_destroy(sfl_coverage_schema_t *s);

typedef struct sfl_coverage_worker sfl_coverage_worker_t;
sfl_coverage_worker_t *sfl_coverage_worker_new(const sfl_coverage_schema_t *s);
void sfl_coverage_worker_destroy(sfl_coverage_worker_t *w);

/* One row -> one document appended to `b` (or a rejected line record).
 * Returns false only when out of memory. */
bool sfl_coverage_line_to_doc(sfl_coverage_worker_t *w, sfl_parsed_batch_t *b, const char *path,
                              uint64_t line_no, const char *line, size_t len, uint32_t text_off);

#endif

/* metrics.h: the `metrics` collection (the ExAC browser's precalculated
 * quality-metric histograms), from the variants of the run.
 * Private to the library. */
#ifndef SFL_METRICS_H
#define SFL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

#define SFL_METRIC_BINS 40

/* numpy.histogram(values, bins=n, range=...) in two steps, for values
 * that stream by: the edges from the range (or, without one, from the
 * values' min and max; 0..1 when there are none), then each value's bin
 * (-1 outside the edges). The last bin is closed. */
void sfl_hist_edges(bool have_range, double lo, double hi, uint64_t n_values, double min,
                    double max, int nbins, double *edges);
int sfl_hist_bin(double x, const double *edges, int nbins);

typedef struct sfl_metrics sfl_metrics_t;

/* Spills to an unlinked file under $TMPDIR (or /tmp). NULL with err. */
sfl_metrics_t *sfl_metrics_new(const char *spill_dir, sfl_error_t *err);
void sfl_metrics_destroy(sfl_metrics_t *m);

/* What precalculate_metrics reads from one variant document, as the
 * document holds it: site_quality, allele_count and allele_num (absent:
 * null), and quality_metrics (qm_set[i]: the key is in the document;
 * a non-finite value is written as null). Values are taken exactly as the
 * encoder writes them (bson_enc.h: NaN and infinities as null, -0.0 as
 * 0.0), so the metrics equal those read back from the documents. */
typedef struct {
    bool has_qual, has_ac, has_an;
    double qual;
    int64_t ac, an;
    const bool *qm_set; /* [SFL_N_QUALITY_METRICS] */
    const double *qm;
} sfl_metrics_values_t;

/* One batch's share of the metrics, taken on the parser thread that built
 * the batch's documents, so that the in-order stage only adds a few
 * counters and writes one block to the spill file per batch. A part keeps
 * each document's values too, for a batch whose in-order stage drops some
 * of its documents. Not thread safe: one part belongs to one batch. */
typedef struct sfl_metrics_part sfl_metrics_part_t;
/* NULL when out of memory; destroy accepts NULL. */
sfl_metrics_part_t *sfl_metrics_part_new(void);
void sfl_metrics_part_destroy(sfl_metrics_part_t *p);
/* Empties the part for the next batch (its buffers stay). */
void sfl_metrics_part_reset(sfl_metrics_part_t *p);
/* The values of the batch's document `doc` (its index among the batch's
 * documents; increasing from call to call). False when out of memory. */
bool sfl_metrics_part_add(sfl_metrics_part_t *p, uint32_t doc, const sfl_metrics_values_t *v);
/* Adds the part to the run's metrics, leaving out the documents for which
 * `dropped(ud, doc)` is true (NULL: none is). False with err when the
 * spill file cannot be written. Called in input order; the result does
 * not depend on the order anyway (counts, minimum and maximum). */
bool sfl_metrics_merge(sfl_metrics_t *m, const sfl_metrics_part_t *p,
                       bool (*dropped)(const void *ud, uint32_t doc), const void *ud,
                       sfl_error_t *err);

/* Adds one variant document read back from a database (a partitioned
 * load's finish scans its staging variants: mongo/group.c), with the same
 * rules as the parser threads' values. False with err when out of memory
 * or the spill file cannot be written. Not thread safe. */
bool sfl_metrics_add_doc(sfl_metrics_t *m, const uint8_t *doc, uint32_t len, sfl_error_t *err);

/* Bytes written to the spill file so far (9 per value without a fixed
 * range). */
uint64_t sfl_metrics_spill_bytes(const sfl_metrics_t *m);

/* Values left out: null, or a DP / site quality <= 0 (no logarithm). */
uint64_t sfl_metrics_left_out(const sfl_metrics_t *m);

/* The metric documents, BSON back to back in *buf (malloc'd), one per
 * metric that had a value: *n of them at offsets (*offs)[i] (malloc'd).
 * Reads the spill file once. False with err. */
bool sfl_metrics_finish(sfl_metrics_t *m, uint8_t **buf, size_t **offs, size_t *n,
                        sfl_error_t *err);

#endif

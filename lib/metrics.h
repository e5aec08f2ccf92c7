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

/* Takes what precalculate_metrics reads from one variant document
 * (quality_metrics, site_quality, allele_count, allele_num). False with
 * err when the spill file cannot be written. */
bool sfl_metrics_add(sfl_metrics_t *m, const uint8_t *doc, uint32_t len, sfl_error_t *err);

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

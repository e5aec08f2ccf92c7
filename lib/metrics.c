/* metrics.c: the ExAC browser's precalculated metrics, without a second
 * read of the database.
 *
 * What precalculate_metrics (exac.py) computes, from the same values and
 * with the same rules: for each quality metric and for site_quality a
 * 40-bin numpy.histogram, DP of log(DP), FS clipped to 0..20, VQSLOD to
 * -20..20 and InbreedingCoeff to 0..1 (with those ranges), the others over
 * their own min..max; `mids` are the left edges. For variants with an
 * allele number, the log of the site quality also goes to
 * binned_singleton (AC 1), binned_doubleton (AC 2) or binned_<af> for the
 * first AF bucket with AC/AN < af; their `mids` are the bins' midpoints.
 *
 * The design is simple: a histogram needs its edges before its first
 * value, and the edges of a metric without a fixed range need the min and
 * max of all its values. So while the pipeline runs, each value with a
 * fixed range is binned at once, and every other value is appended to a
 * spill file (1 byte series + 8 bytes double) while min and max are kept;
 * at the end the edges are computed and the spill file is read once.
 * Memory is a few kilobytes and a 1 MiB buffer whatever the input; the
 * spill file takes 9 bytes per such value (about 9 per variant: DP,
 * site_quality, 6 other metrics and one binned value).
 *
 * Edges are numpy.linspace's (i * step + start, the last one exactly the
 * end) and a value's bin is numpy's (from the scaled offset, then moved by
 * one where the edges say otherwise, the last bin closed). The file is
 * compiled with -ffp-contract=off so that i * step + start is rounded
 * twice, as numpy rounds it.
 */
#include <bson/bson.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bson_enc.h"
#include "metrics.h"
#include "vcf_schema.h"

void sfl_hist_edges(bool have_range, double lo, double hi, uint64_t n_values, double min,
                    double max, int nbins, double *edges)
{
    double first = have_range ? lo : n_values ? min : 0.0;
    double last = have_range ? hi : n_values ? max : 1.0;
    if (first == last) {
        first -= 0.5;
        last += 0.5;
    }
    double delta = last - first, step = delta / nbins;
    for (int i = 0; i < nbins; i++) {
        double y = (double)i;
        y = step == 0 ? y / nbins * delta : y * step;
        edges[i] = y + first;
    }
    edges[nbins] = last;
}

int sfl_hist_bin(double x, const double *edges, int nbins)
{
    double first = edges[0], last = edges[nbins];
    if (!(x >= first && x <= last))
        return -1;
    double norm = nbins / (last - first);
    long i = (long)((x - first) * norm);
    if (i == nbins)
        i--;
    if (x < edges[i])
        i--;
    if (x >= edges[i + 1] && i != nbins - 1)
        i++;
    return (int)i;
}

/* ---- the series ----------------------------------------------------------- */

static const double af_buckets[] = {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01,
                                    0.02,   0.05,   0.1,    0.2,   0.5,   1};
static const char *const af_names[] = {"0.0001", "0.0002", "0.0005", "0.001", "0.002",
                                       "0.005",  "0.01",   "0.02",   "0.05",  "0.1",
                                       "0.2",    "0.5",    "1"};
#define N_AF ((int)(sizeof af_buckets / sizeof af_buckets[0]))
enum {
    S_SITE_QUALITY = SFL_N_QUALITY_METRICS,
    S_SINGLETON,
    S_DOUBLETON,
    S_AF0,
    N_SERIES = S_AF0 + N_AF
};

typedef struct {
    bool fixed; /* a fixed range: binned at once */
    double lo, hi;
    uint64_t n;
    double min, max;
    int64_t counts[SFL_METRIC_BINS];
} series_t;

struct sfl_metrics {
    series_t s[N_SERIES];
    FILE *spill;
    char *iobuf;
    uint64_t left_out;
};

static int qm_index(const char *k)
{
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (strcmp(k, sfl_quality_metrics[i]) == 0)
            return i;
    return -1;
}

sfl_metrics_t *sfl_metrics_new(const char *spill_dir, sfl_error_t *err)
{
    sfl_metrics_t *m = calloc(1, sizeof *m);
    if (!m) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    static const struct {
        const char *name;
        double lo, hi;
    } fixed[] = {{"FS", 0, 20}, {"VQSLOD", -20, 20}, {"InbreedingCoeff", 0, 1}};
    for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++) {
        int i = qm_index(fixed[f].name);
        if (i >= 0) {
            m->s[i].fixed = true;
            m->s[i].lo = fixed[f].lo;
            m->s[i].hi = fixed[f].hi;
        }
    }
    const char *dir = spill_dir && *spill_dir ? spill_dir : getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/swefreq-metrics.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    if (fd < 0 || !(m->spill = fdopen(fd, "w+b"))) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                      "%s: cannot create the metrics spill file: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(m);
        return NULL;
    }
    if ((m->iobuf = malloc(1 << 20)))
        setvbuf(m->spill, m->iobuf, _IOFBF, 1 << 20);
    return m;
}

void sfl_metrics_destroy(sfl_metrics_t *m)
{
    if (!m)
        return;
    if (m->spill)
        fclose(m->spill);
    free(m->iobuf);
    free(m);
}

uint64_t sfl_metrics_left_out(const sfl_metrics_t *m) { return m ? m->left_out : 0; }

uint64_t sfl_metrics_spill_bytes(const sfl_metrics_t *m)
{
    uint64_t n = 0;
    for (int i = 0; m && i < N_SERIES; i++)
        if (!m->s[i].fixed)
            n += 9 * m->s[i].n;
    return n;
}

static bool put(sfl_metrics_t *m, int si, double v, sfl_error_t *err)
{
    series_t *s = &m->s[si];
    if (s->fixed) {
        v = v > s->lo ? v : s->lo; /* clipped as the ExAC loader clips */
        v = v < s->hi ? v : s->hi;
    }
    if (!s->n || v < s->min)
        s->min = v;
    if (!s->n || v > s->max)
        s->max = v;
    s->n++;
    if (s->fixed) {
        double edges[SFL_METRIC_BINS + 1];
        sfl_hist_edges(true, s->lo, s->hi, 0, 0, 0, SFL_METRIC_BINS, edges);
        s->counts[sfl_hist_bin(v, edges, SFL_METRIC_BINS)]++;
        return true;
    }
    uint8_t rec[9];
    rec[0] = (uint8_t)si;
    memcpy(rec + 1, &v, 8);
    if (fwrite(rec, 1, 9, m->spill) != 9)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "cannot write the metrics spill file: %s", strerror(errno));
    return true;
}

/* A number of the document, as Python's float() / int() would take it. */
static bool num_of(const bson_iter_t *it, double *v)
{
    if (BSON_ITER_HOLDS_DOUBLE(it))
        *v = bson_iter_double(it);
    else if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it))
        *v = (double)bson_iter_as_int64(it);
    else
        return false;
    return true;
}

bool sfl_metrics_add(sfl_metrics_t *m, const uint8_t *doc, uint32_t len, sfl_error_t *err)
{
    bson_t b;
    bson_iter_t it, q;
    if (!bson_init_static(&b, doc, len) || !bson_iter_init(&it, &b))
        return true;
    double qual = 0, ac = 0, an = 0, v;
    bool has_qual = false, has_ac = false, has_an = false;
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "site_quality")) {
            has_qual = num_of(&it, &qual);
        } else if (!strcmp(k, "allele_count")) {
            has_ac = num_of(&it, &ac);
        } else if (!strcmp(k, "allele_num")) {
            has_an = num_of(&it, &an);
        } else if (!strcmp(k, "quality_metrics") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                   bson_iter_recurse(&it, &q)) {
            while (bson_iter_next(&q)) {
                int i = qm_index(bson_iter_key(&q));
                if (i < 0)
                    continue;
                bool is_dp = !strcmp(sfl_quality_metrics[i], "DP");
                if (!num_of(&q, &v) || (is_dp && !(v > 0))) {
                    m->left_out++;
                    continue;
                }
                if (!put(m, i, is_dp ? log(v) : v, err))
                    return false;
            }
        }
    }
    if (!has_qual) {
        m->left_out++;
        return true;
    }
    if (!put(m, S_SITE_QUALITY, qual, err))
        return false;
    if (!has_an || an == 0 || !has_ac)
        return true;
    int si = -1;
    if (ac == 1)
        si = S_SINGLETON;
    else if (ac == 2)
        si = S_DOUBLETON;
    else
        for (int b2 = 0; b2 < N_AF && si < 0; b2++)
            if (ac / an < af_buckets[b2])
                si = S_AF0 + b2;
    if (si < 0)
        return true;
    if (!(qual > 0)) {
        m->left_out++;
        return true;
    }
    return put(m, si, log(qual), err);
}

static void series_name(int si, char *out, size_t n)
{
    if (si < SFL_N_QUALITY_METRICS)
        snprintf(out, n, "%s", sfl_quality_metrics[si]);
    else if (si == S_SITE_QUALITY)
        snprintf(out, n, "site_quality");
    else if (si == S_SINGLETON)
        snprintf(out, n, "binned_singleton");
    else if (si == S_DOUBLETON)
        snprintf(out, n, "binned_doubleton");
    else
        snprintf(out, n, "binned_%s", af_names[si - S_AF0]);
}

bool sfl_metrics_finish(sfl_metrics_t *m, uint8_t **buf, size_t **offs, size_t *n,
                        sfl_error_t *err)
{
    double (*e)[SFL_METRIC_BINS + 1] = calloc(N_SERIES, sizeof *e);
    if (!e)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (int si = 0; si < N_SERIES; si++) {
        series_t *s = &m->s[si];
        sfl_hist_edges(s->fixed, s->lo, s->hi, s->n, s->min, s->max, SFL_METRIC_BINS, e[si]);
    }
    bool ok = fflush(m->spill) == 0 && fseek(m->spill, 0, SEEK_SET) == 0;
    uint8_t rec[9];
    while (ok && fread(rec, 1, 9, m->spill) == 9) {
        double v;
        memcpy(&v, rec + 1, 8);
        int si = rec[0];
        int bin = si < N_SERIES ? sfl_hist_bin(v, e[si], SFL_METRIC_BINS) : -1;
        if (bin >= 0)
            m->s[si].counts[bin]++;
    }
    if (!ok || ferror(m->spill)) {
        free(e);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "cannot read back the metrics spill file: %s", strerror(errno));
    }
    sfl_enc_t enc = {NULL, 0, 0, false};
    size_t *o = calloc(N_SERIES, sizeof *o);
    size_t k = 0;
    for (int si = 0; o && si < N_SERIES; si++) {
        const series_t *s = &m->s[si];
        if (!s->n)
            continue;
        char name[64], kb[16];
        series_name(si, name, sizeof name);
        bool binned = si >= S_SINGLETON;
        o[k++] = enc.len;
        size_t doc = sfl_enc_begin(&enc, 0, NULL, 0);
        sfl_enc_str(&enc, "_id", 3, name, strlen(name));
        sfl_enc_str(&enc, "metric", 6, name, strlen(name));
        size_t arr = sfl_enc_begin(&enc, 0x04, "mids", 4);
        uint64_t unused = 0;
        for (int i = 0; i < SFL_METRIC_BINS; i++) {
            size_t kl;
            const char *ik = sfl_enc_idx((uint32_t)i, &kl, kb);
            double mid = binned ? (e[si][i] + e[si][i + 1]) / 2 : e[si][i];
            sfl_enc_num(&enc, ik, kl, mid, &unused);
        }
        sfl_enc_end(&enc, arr);
        arr = sfl_enc_begin(&enc, 0x04, "hist", 4);
        for (int i = 0; i < SFL_METRIC_BINS; i++) {
            size_t kl;
            const char *ik = sfl_enc_idx((uint32_t)i, &kl, kb);
            sfl_enc_int(&enc, ik, kl, s->counts[i]);
        }
        sfl_enc_end(&enc, arr);
        sfl_enc_end(&enc, doc);
    }
    free(e);
    if (!o || enc.oom) {
        free(o);
        free(enc.p);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    *buf = enc.p;
    *offs = o;
    *n = k;
    return true;
}

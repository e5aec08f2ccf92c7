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
#include "grow.h"
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
    double edges[SFL_METRIC_BINS + 1]; /* fixed: the range's edges */
    uint64_t n;
    double min, max;
    int64_t counts[SFL_METRIC_BINS];
} series_t;

struct sfl_metrics {
    series_t s[N_SERIES];
    FILE *spill;
    char *iobuf;
    uint64_t left_out;
    sfl_metrics_part_t *one; /* sfl_metrics_add_doc's, made on first use */
};

/* A value left out (null, or no logarithm), in a part's list of values. */
#define LEFT_OUT N_SERIES

typedef struct {
    uint32_t si; /* series, or LEFT_OUT */
    double v;
} mval_t;

struct sfl_metrics_part {
    series_t s[N_SERIES]; /* the batch's values, counted as the run's are */
    uint64_t left_out;
    uint8_t *spill; /* the spill records of the batch, as the run's file has them */
    size_t spill_len, spill_cap;
    mval_t *vals; /* every value, document by document */
    size_t n_vals, cap_vals;
    struct {
        uint32_t doc, end; /* a document's index, and the end of its values */
    } *docs;
    size_t n_docs, cap_docs;
    int dp; /* the series of DP (its logarithm is taken), or -1 */
};

static int qm_index(const char *k)
{
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (strcmp(k, sfl_quality_metrics[i]) == 0)
            return i;
    return -1;
}

/* Every series empty; FS, VQSLOD and InbreedingCoeff with the ExAC
 * loader's fixed ranges. */
static void series_init(series_t s[N_SERIES])
{
    static const struct {
        const char *name;
        double lo, hi;
    } fixed[] = {{"FS", 0, 20}, {"VQSLOD", -20, 20}, {"InbreedingCoeff", 0, 1}};
    memset(s, 0, N_SERIES * sizeof *s);
    for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++) {
        int i = qm_index(fixed[f].name);
        if (i >= 0) {
            s[i].fixed = true;
            s[i].lo = fixed[f].lo;
            s[i].hi = fixed[f].hi;
            sfl_hist_edges(true, s[i].lo, s[i].hi, 0, 0, 0, SFL_METRIC_BINS, s[i].edges);
        }
    }
}

/* Counts v in s. A series with a fixed range bins it at once (true);
 * false: v goes to the spill file, as its bin needs every value's range. */
static bool series_count(series_t *s, double v)
{
    if (s->fixed) {
        v = v > s->lo ? v : s->lo; /* clipped as the ExAC loader clips */
        v = v < s->hi ? v : s->hi;
    }
    if (!s->n || v < s->min)
        s->min = v;
    if (!s->n || v > s->max)
        s->max = v;
    s->n++;
    if (!s->fixed)
        return false;
    s->counts[sfl_hist_bin(v, s->edges, SFL_METRIC_BINS)]++;
    return true;
}

/* The spill file's record of value v of series si: 1 byte + 8 bytes. */
static void spill_record(uint8_t rec[9], uint32_t si, double v)
{
    rec[0] = (uint8_t)si;
    memcpy(rec + 1, &v, 8);
}

sfl_metrics_t *sfl_metrics_new(const char *spill_dir, sfl_error_t *err)
{
    sfl_metrics_t *m = calloc(1, sizeof *m);
    if (!m) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    series_init(m->s);
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
    sfl_metrics_part_destroy(m->one);
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

static bool spill_write(sfl_metrics_t *m, const void *p, size_t n, sfl_error_t *err)
{
    if (n && fwrite(p, 1, n, m->spill) != n)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "cannot write the metrics spill file: %s", strerror(errno));
    return true;
}

static bool put(sfl_metrics_t *m, uint32_t si, double v, sfl_error_t *err)
{
    if (series_count(&m->s[si], v))
        return true;
    uint8_t rec[9];
    spill_record(rec, si, v);
    return spill_write(m, rec, 9, err);
}

/* ---- a batch's part --------------------------------------------------- */

sfl_metrics_part_t *sfl_metrics_part_new(void)
{
    sfl_metrics_part_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    series_init(p->s);
    p->dp = qm_index("DP");
    return p;
}

void sfl_metrics_part_destroy(sfl_metrics_part_t *p)
{
    if (!p)
        return;
    free(p->spill);
    free(p->vals);
    free(p->docs);
    free(p);
}

void sfl_metrics_part_reset(sfl_metrics_part_t *p)
{
    series_init(p->s);
    p->left_out = 0;
    p->spill_len = p->n_vals = p->n_docs = 0;
}

static bool part_value(sfl_metrics_part_t *p, uint32_t si, double v)
{
    if (!SFL_GROW(p->vals, &p->cap_vals, p->n_vals + 1, 64))
        return false;
    p->vals[p->n_vals++] = (mval_t){si, v};
    return true;
}

/* The values precalculate_metrics takes from the document, in the order
 * it takes them; the rules are its (see the file's comment). */
static bool part_values(sfl_metrics_part_t *p, const sfl_metrics_values_t *v)
{
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++) {
        if (!v->qm_set[i])
            continue; /* not in the document */
        double x = v->qm[i] == 0.0 ? 0.0 : v->qm[i];
        bool is_dp = i == p->dp;
        if (!isfinite(x) || (is_dp && !(x > 0))) { /* null, or no logarithm */
            if (!part_value(p, LEFT_OUT, 0))
                return false;
            continue;
        }
        if (!part_value(p, (uint32_t)i, is_dp ? log(x) : x))
            return false;
    }
    if (!v->has_qual || !isfinite(v->qual))
        return part_value(p, LEFT_OUT, 0);
    double qual = v->qual == 0.0 ? 0.0 : v->qual;
    if (!part_value(p, S_SITE_QUALITY, qual))
        return false;
    if (!v->has_an || v->an == 0 || !v->has_ac)
        return true;
    double ac = (double)v->ac, an = (double)v->an;
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
    if (!(qual > 0))
        return part_value(p, LEFT_OUT, 0);
    return part_value(p, (uint32_t)si, log(qual));
}

bool sfl_metrics_part_add(sfl_metrics_part_t *p, uint32_t doc, const sfl_metrics_values_t *v)
{
    size_t first = p->n_vals;
    if (!SFL_GROW(p->docs, &p->cap_docs, p->n_docs + 1, 64) || !part_values(p, v))
        return false;
    p->docs[p->n_docs].doc = doc;
    p->docs[p->n_docs++].end = (uint32_t)p->n_vals;
    for (size_t i = first; i < p->n_vals; i++) {
        const mval_t *x = &p->vals[i];
        if (x->si == LEFT_OUT) {
            p->left_out++;
        } else if (!series_count(&p->s[x->si], x->v)) {
            if (!SFL_GROW(p->spill, &p->spill_cap, p->spill_len + 9, 1024))
                return false;
            spill_record(p->spill + p->spill_len, x->si, x->v);
            p->spill_len += 9;
        }
    }
    return true;
}

bool sfl_metrics_merge(sfl_metrics_t *m, const sfl_metrics_part_t *p,
                       bool (*dropped)(const void *ud, uint32_t doc), const void *ud,
                       sfl_error_t *err)
{
    if (dropped) { /* value by value, as the documents kept give them */
        size_t at = 0;
        for (size_t d = 0; d < p->n_docs; at = p->docs[d].end, d++) {
            if (dropped(ud, p->docs[d].doc))
                continue;
            for (size_t i = at; i < p->docs[d].end; i++) {
                if (p->vals[i].si == LEFT_OUT)
                    m->left_out++;
                else if (!put(m, p->vals[i].si, p->vals[i].v, err))
                    return false;
            }
        }
        return true;
    }
    for (int si = 0; si < N_SERIES; si++) {
        const series_t *a = &p->s[si];
        series_t *s = &m->s[si];
        if (!a->n)
            continue;
        if (!s->n || a->min < s->min)
            s->min = a->min;
        if (!s->n || a->max > s->max)
            s->max = a->max;
        s->n += a->n;
        for (int i = 0; i < SFL_METRIC_BINS; i++)
            s->counts[i] += a->counts[i];
    }
    m->left_out += p->left_out;
    return spill_write(m, p->spill, p->spill_len, err);
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
    /* the spill's records, 9 bytes each, read 7,281 (64 KB) at a time
     * rather than by one fread a value (a lock and a call each) */
    enum { RECS = 7281 };
    uint8_t *recs = malloc(RECS * 9);
    bool have = recs != NULL;
    bool ok = have && fflush(m->spill) == 0 && fseek(m->spill, 0, SEEK_SET) == 0;
    size_t got;
    while (ok && (got = fread(recs, 9, RECS, m->spill)) > 0) {
        for (const uint8_t *rec = recs, *end = recs + got * 9; rec < end; rec += 9) {
            double v;
            memcpy(&v, rec + 1, 8);
            int si = rec[0];
            int bin = si < N_SERIES ? sfl_hist_bin(v, e[si], SFL_METRIC_BINS) : -1;
            if (bin >= 0)
                m->s[si].counts[bin]++;
        }
    }
    free(recs);
    if (!have) {
        free(e);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
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

/* A number of a document read back, as the encoder wrote it. */
static bool doc_number(const bson_iter_t *it, double *v)
{
    if (BSON_ITER_HOLDS_DOUBLE(it) || BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it)) {
        *v = bson_iter_as_double(it);
        return true;
    }
    return false;
}

bool sfl_metrics_add_doc(sfl_metrics_t *m, const uint8_t *doc, uint32_t len, sfl_error_t *err)
{
    bson_t b;
    bson_iter_t it, q;
    if (!bson_init_static(&b, doc, len) || !bson_iter_init(&it, &b))
        return true;
    bool qm_set[SFL_N_QUALITY_METRICS] = {false};
    double qm[SFL_N_QUALITY_METRICS], x;
    sfl_metrics_values_t v = {.qm_set = qm_set, .qm = qm};
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (!strcmp(k, "site_quality")) {
            v.has_qual = true; /* null: left out, as the parser threads do */
            v.qual = doc_number(&it, &x) ? x : NAN;
        } else if (!strcmp(k, "allele_count") && doc_number(&it, &x)) {
            v.has_ac = true;
            v.ac = (int64_t)x;
        } else if (!strcmp(k, "allele_num") && doc_number(&it, &x)) {
            v.has_an = true;
            v.an = (int64_t)x;
        } else if (!strcmp(k, "quality_metrics") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
                   bson_iter_recurse(&it, &q)) {
            while (bson_iter_next(&q)) {
                int i = qm_index(bson_iter_key(&q));
                if (i >= 0) {
                    qm_set[i] = true;
                    qm[i] = doc_number(&q, &x) ? x : NAN;
                }
            }
        }
    }
    if (!m->one && !(m->one = sfl_metrics_part_new()))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    sfl_metrics_part_reset(m->one);
    if (!sfl_metrics_part_add(m->one, 0, &v))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return sfl_metrics_merge(m, m->one, NULL, NULL, err);
}

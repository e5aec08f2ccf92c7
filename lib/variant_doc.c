/* variant_doc.c: a sites-VCF data line -> one `variants` document per ALT.
 *
 * The design is two passes over one line. The first pass cuts the columns
 * and the INFO key=value pairs (spans into the line, nothing copied), looks
 * each key up in the schema's slot table and checks and parses every value
 * the documents need, one helper a step (cut_columns, parse_site,
 * read_info, parse_counts, parse_quality_metrics, parse_histograms,
 * make_ids, parse_annotations); any problem rejects the whole line with a
 * message naming the field, the value seen and what was expected. Only
 * when the line is valid does the second pass (build_doc) write the
 * documents, so a document is never half written.
 *
 * Annotations are matched to ALTs by ALLELE_NUM or else by VEP's spelling
 * of the ALT in Allele, decided by one rule for the whole line whatever its
 * ALT count (variant_key.c, sfl_vep_strips_first_base).
 *
 * We do not use htslib's vcf_parse here: it stores Type=Float as float32
 * (QD=0.1 would come back as 0.100000001) and spends its time building a
 * BCF record we would throw away. htslib still reads the file (BGZF on its
 * thread pool) and parses the header, which drives everything below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "bson_enc.h"
#include "grow.h"
#include "metrics.h"
#include "numparse.h"
#include "scan.h"
#include "variant_doc.h"
#include "variant_key.h"

typedef struct {
    const char *p;
    uint32_t len;
} span_t;

typedef struct {
    int64_t v;
    bool ok; /* false: missing ('.') */
} ival_t;

/* The histogram pairs [mid, count] of the default encoding: pair i is
 * written as bytes[off[i], off[i+1]) (array element i, its length, then
 * "0": mid as a double) and its count; `ok` only when every mid is finite
 * (else the encoder writes null and counts it, document by document). */
typedef struct {
    uint8_t *bytes;
    uint32_t *off;
    bool ok;
} pair_tpl_t;

/* The element heads of a consequence entry's fields (type 0x02, the
 * field's name, NUL), back to back: field i is bytes[off[i], off[i+1]). */
typedef struct {
    uint8_t *bytes;
    uint32_t *off;
    size_t total;
} head_tpl_t;

struct sfl_vcf_worker {
    const sfl_vcf_schema_t *s;
    /* INFO values of the current line, per slot; stamp == gen means set */
    span_t *val;
    uint32_t *stamp;
    uint32_t gen;
    /* ALT alleles; alt_ptr/alt_lens: the same, as variant_key.h takes them */
    span_t *alts;
    size_t cap_alts;
    const char **alt_ptr;
    size_t *alt_lens;
    sfl_minrep_t *mr;
    char *ids;          /* variant_ids, NUL-separated */
    size_t ids_cap;
    uint32_t *id_off, *id_len;
    char *vep;          /* VEP allele spellings, NUL-separated */
    size_t vep_cap;
    uint32_t *vep_off, *vep_len;
    /* per-allele integer values: ints[slot * cap_alts + i] */
    ival_t *ints;
    size_t ints_cap;
    /* histograms: per entry (0 = all, 1.. = alleles) counts, n_mids each */
    ival_t *dp, *gq;
    size_t dp_cap, gq_cap;
    /* CSQ entries: fields[e * csq_stride + f], allele of entry e (0-based,
     * -1 none); the layout that names the fields of this line's entries */
    const sfl_csq_layout_t *lay;
    size_t csq_stride;
    span_t *csq;
    size_t csq_cap;
    int *csq_allele;
    size_t csq_allele_cap;
    size_t n_csq;
    /* quality metrics of the line */
    double qm[SFL_N_QUALITY_METRICS];
    bool qm_set[SFL_N_QUALITY_METRICS];
    /* dedup of genes / transcripts per allele */
    span_t *seen;
    size_t seen_cap;
    /* DP_HIST and GQ_HIST in pairs: the bytes of each pair up to its
     * count, the same in every document (pair_tpl) */
    pair_tpl_t tpl[2];
    /* the heads of csq[0]'s and csq[1]'s fields (head_tpl_build) */
    head_tpl_t heads[2];
};

/* The pairs' bytes of `n` mids, encoded as enc_hist_side's generic path
 * encodes them. False when out of memory. */
static bool pair_tpl_build(pair_tpl_t *t, const double *mids, int n)
{
    t->ok = n > 0;
    for (int i = 0; i < n; i++)
        t->ok = t->ok && isfinite(mids[i]);
    if (!t->ok)
        return true;
    sfl_enc_t e = {NULL, 0, 0, false};
    if (!(t->off = malloc(sizeof *t->off * ((size_t)n + 1))))
        return false;
    uint64_t unused = 0;
    for (int i = 0; i < n; i++) {
        char kb[16];
        size_t kl;
        const char *k = sfl_enc_idx((uint32_t)i, &kl, kb);
        t->off[i] = (uint32_t)e.len;
        sfl_enc_begin(&e, 0x04, k, kl);
        sfl_enc_num(&e, "0", 1, mids[i], &unused);
    }
    t->off[n] = (uint32_t)e.len;
    t->bytes = e.p;
    return !e.oom;
}

/* The heads of layout l's fields. False when out of memory. */
static bool head_tpl_build(head_tpl_t *h, const sfl_csq_layout_t *l)
{
    size_t n = l->fields ? (size_t)l->n_fields : 0;
    if (!(h->off = malloc(sizeof *h->off * (n + 1))))
        return false;
    h->total = 0;
    for (size_t i = 0; i < n; i++)
        h->total += l->field_len[i] + 2;
    if (!(h->bytes = malloc(h->total + 1)))
        return false;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        h->off[i] = (uint32_t)at;
        h->bytes[at++] = 0x02;
        memcpy(h->bytes + at, l->fields[i], l->field_len[i]);
        at += l->field_len[i];
        h->bytes[at++] = 0;
    }
    h->off[n] = (uint32_t)at;
    return true;
}

sfl_vcf_worker_t *sfl_vcf_worker_new(const sfl_vcf_schema_t *s)
{
    sfl_vcf_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->s = s;
    w->val = calloc((size_t)s->n_slots, sizeof *w->val);
    w->stamp = calloc((size_t)s->n_slots, sizeof *w->stamp);
    if (!w->val || !w->stamp || !pair_tpl_build(&w->tpl[0], s->dp_mids, s->dp_n_mids) ||
        !pair_tpl_build(&w->tpl[1], s->gq_mids, s->gq_n_mids) ||
        !head_tpl_build(&w->heads[0], &s->csq[0]) || !head_tpl_build(&w->heads[1], &s->csq[1])) {
        sfl_vcf_worker_destroy(w);
        return NULL;
    }
    return w;
}

void sfl_vcf_worker_destroy(sfl_vcf_worker_t *w)
{
    if (!w)
        return;
    free(w->val);
    free(w->stamp);
    free(w->alts);
    free(w->alt_ptr);
    free(w->alt_lens);
    free(w->mr);
    free(w->ids);
    free(w->id_off);
    free(w->id_len);
    free(w->vep);
    free(w->vep_off);
    free(w->vep_len);
    free(w->ints);
    free(w->dp);
    free(w->gq);
    free(w->csq);
    free(w->csq_allele);
    free(w->seen);
    for (int i = 0; i < 2; i++) {
        free(w->tpl[i].bytes);
        free(w->tpl[i].off);
        free(w->heads[i].bytes);
        free(w->heads[i].off);
    }
    free(w);
}

/* Per-ALT arrays all sized by cap_alts: each grows from the same capacity
 * to the same need, so each ends with the same capacity. */
static bool reserve_alts(sfl_vcf_worker_t *w, size_t n)
{
    if (n <= w->cap_alts)
        return true;
    size_t c[8] = {w->cap_alts, w->cap_alts, w->cap_alts, w->cap_alts,
                   w->cap_alts, w->cap_alts, w->cap_alts, w->cap_alts};
    if (!SFL_GROW(w->alts, &c[0], n, 8) || !SFL_GROW(w->alt_ptr, &c[1], n, 8) ||
        !SFL_GROW(w->alt_lens, &c[2], n, 8) || !SFL_GROW(w->mr, &c[3], n, 8) ||
        !SFL_GROW(w->id_off, &c[4], n, 8) || !SFL_GROW(w->id_len, &c[5], n, 8) ||
        !SFL_GROW(w->vep_off, &c[6], n, 8) || !SFL_GROW(w->vep_len, &c[7], n, 8))
        return false;
    w->cap_alts = c[0];
    return true;
}

static inline bool has(const sfl_vcf_worker_t *w, int slot) { return w->stamp[slot] == w->gen; }

static void show(char *out, size_t outsz, const char *p, size_t len)
{
    /* A value, shortened for a message. */
    if (len > 60)
        snprintf(out, outsz, "%.57s...", p);
    else
        snprintf(out, outsz, "%.*s", (int)len, p);
}

/* Rejects the line (see sfl_batch_reject) and is false. */
#define REJECT(b, rec, code, ...) (sfl_batch_reject((b), (rec), (code), __VA_ARGS__), false)

/* Parses slot's comma-separated integers into w->ints row `slot`; exactly
 * `want` values. Returns false after rejecting the line. */
static bool parse_int_list(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                           const char *path, int slot, size_t want, ival_t *row)
{
    const char *key = w->s->slot_key[slot];
    span_t v = w->val[slot];
    size_t n = 0;
    const char *p = v.p, *end = v.p + v.len;
    if (v.len == 1 && v.p[0] == '.') {
        for (size_t i = 0; i < want; i++)
            row[i].ok = false;
        return true;
    }
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end;
        if (n < want) {
            if (e - p == 1 && *p == '.') {
                row[n].ok = false;
            } else if (!sfl_parse_int64(p, (size_t)(e - p), &row[n].v)) {
                char shown[64];
                show(shown, sizeof shown, p, (size_t)(e - p));
                sfl_batch_reject(b, rec, SFL_E_LINE,
                                 "%s: line %llu: INFO %s value '%s' is not an integer", path,
                                 (unsigned long long)rec->line, key, shown);
                return false;
            } else if (row[n].v < 0) {
                char shown[64];
                show(shown, sizeof shown, p, (size_t)(e - p));
                sfl_batch_reject(b, rec, SFL_E_LINE,
                                 "%s: line %llu: INFO %s value '%s' is negative; a count cannot "
                                 "be",
                                 path, (unsigned long long)rec->line, key, shown);
                return false;
            } else {
                row[n].ok = true;
            }
        }
        n++;
        if (!c)
            break;
        p = c + 1;
    }
    if (n != want) {
        if (want == 1)
            sfl_batch_reject(b, rec, SFL_E_LINE,
                             "%s: line %llu: INFO %s has %zu values, expected 1", path,
                             (unsigned long long)rec->line, key, n);
        else
            sfl_batch_reject(b, rec, SFL_E_LINE,
                             "%s: line %llu: INFO %s has %zu value%s but the line has %zu ALT "
                             "alleles (one value per ALT expected)",
                             path, (unsigned long long)rec->line, key, n, n == 1 ? "" : "s",
                             want);
        return false;
    }
    return true;
}

/* DP_HIST / GQ_HIST: n_alt+1 entries of n_mids '|'-separated counts. */
static bool parse_hist(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                       const char *path, int slot, size_t n_alt, int n_mids, ival_t **out,
                       size_t *cap)
{
    const char *key = w->s->slot_key[slot];
    size_t want = (n_alt + 1) * (size_t)n_mids;
    if (!SFL_GROW(*out, cap, want, 16)) {
        b->failed = true;
        return false;
    }
    span_t v = w->val[slot];
    sfl_scan_t sc;
    sfl_scan_init(&sc, v.p, v.len, ',', '|');
    size_t entry = 0, q = 0;
    int bin = 0;
    for (;;) { /* bin `bin` of entry `entry` is v.p[q, x) */
        size_t x = sfl_scan_next(&sc);
        if (entry <= n_alt && bin < n_mids) {
            ival_t *iv = &(*out)[entry * (size_t)n_mids + (size_t)bin];
            const char *f = v.p + q;
            if (x - q == 1 && *f == '.') {
                iv->ok = false;
            } else if (!sfl_parse_int64(f, x - q, &iv->v)) {
                char shown[64];
                show(shown, sizeof shown, f, x - q);
                sfl_batch_reject(b, rec, SFL_E_LINE,
                                 "%s: line %llu: INFO %s count '%s' is not an integer", path,
                                 (unsigned long long)rec->line, key, shown);
                return false;
            } else {
                iv->ok = true;
            }
        }
        bin++;
        q = x + 1;
        if (x < v.len && v.p[x] == '|')
            continue;
        if (entry <= n_alt && bin != n_mids) { /* the entry ends */
            sfl_batch_reject(b, rec, SFL_E_LINE,
                             "%s: line %llu: INFO %s entry %zu has %d bins but the header's "
                             "Mids list %d",
                             path, (unsigned long long)rec->line, key, entry + 1, bin, n_mids);
            return false;
        }
        entry++;
        bin = 0;
        if (x == v.len)
            break;
    }
    if (entry != n_alt + 1) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: INFO %s has %zu entries but the line has %zu ALT alleles "
                         "(expected %zu: all genotypes, then one per ALT)",
                         path, (unsigned long long)rec->line, key, entry, n_alt, n_alt + 1);
        return false;
    }
    return true;
}

/* Consequence entries are separated by ',' and their fields by '|'. A
 * piece between two commas that has no '|' is not an entry of its own: it
 * continues the previous entry's last field (gnomAD v4.0 writes raw commas
 * inside LoF_info), so that field's span just runs on over the comma, and
 * the value keeps its comma. csq_allele[e] holds entry e's field count
 * until the layout is known. False when out of memory. */
static bool cut_csq(sfl_vcf_worker_t *w, span_t v)
{
    size_t stride = w->csq_stride;
    sfl_scan_t sc;
    sfl_scan_init(&sc, v.p, v.len, ',', '|');
    size_t q = 0; /* where the current field starts */
    for (;;) {    /* one entry (or continuation piece) a turn */
        size_t ei = w->n_csq;
        if (!SFL_GROW(w->csq, &w->csq_cap, (ei + 1) * stride, 16) ||
            !SFL_GROW(w->csq_allele, &w->csq_allele_cap, ei + 1, 16))
            return false;
        span_t *f = &w->csq[ei * stride];
        size_t k = 0, x;
        for (;;) { /* the entry's fields, up to its ',' or the end */
            x = sfl_scan_next(&sc);
            if (k < stride) {
                f[k].p = v.p + q;
                f[k].len = (uint32_t)(x - q);
            }
            k++;
            q = x + 1;
            if (x == v.len || v.p[x] == ',')
                break;
        }
        if (k == 1 && ei > 0 && stride > 1) {
            int pk = w->csq_allele[ei - 1];
            if (pk >= 1 && (size_t)pk <= stride) {
                span_t *last = &w->csq[(ei - 1) * stride + (size_t)pk - 1];
                last->len = (uint32_t)(v.p + x - last->p);
            }
        } else {
            w->csq_allele[ei] = k > (size_t)INT32_MAX ? INT32_MAX : (int)k;
            w->n_csq++;
        }
        if (x == v.len)
            break;
    }
    return true;
}

/* Field counts: the Format's, or for gnomAD v4.0's header every entry with
 * SIFT|PolyPhen added (then w->lay is that layout). */
static bool check_csq_fields(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                             const char *path)
{
    const sfl_vcf_schema_t *s = w->s;
    const sfl_csq_layout_t *l1 = s->csq_v40_repair ? &s->csq[1] : NULL;
    size_t nf0 = (size_t)s->csq[0].n_fields, nf1 = l1 ? (size_t)l1->n_fields : 0;
    unsigned long long ln = (unsigned long long)rec->line;
    size_t n0 = 0, n1 = 0;
    for (size_t ei = 0; ei < w->n_csq; ei++) {
        size_t k = (size_t)w->csq_allele[ei];
        if (k == nf0)
            n0++;
        else if (l1 && k == nf1)
            n1++;
        else
            return REJECT(b, rec, SFL_E_LINE,
                          "%s: line %llu: %s entry %zu has %zu fields but %s lists %zu%s", path,
                          ln, s->csq_key, ei + 1, k,
                          s->csq_overridden ? "the Format given (sfl_options_t.csq_format)"
                                            : "the header's Format", nf0,
                          l1 ? " (and gnomAD v4.0's entries have 48)" : "");
    }
    if (n0 && n1)
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: %s entries have %zu and %zu fields on one line (the "
                      "header's gnomAD v4.0 Format lists %zu; its entries have %zu)",
                      path, ln, s->csq_key, nf0, nf1, nf0, nf1);
    if (n1) {
        w->lay = l1;
        rec->csq_repaired = 1;
    }
    return true;
}

/* Each entry's allele (csq_allele[e], 0-based, -1 none): by ALLELE_NUM,
 * which must name one of the line's ALTs, or else by VEP's spelling of the
 * ALT in Allele (an entry that matches none is counted, not refused). */
static bool match_csq_alleles(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                              const char *path, size_t n_alt)
{
    const sfl_csq_layout_t *l = w->lay;
    for (size_t ei = 0; ei < w->n_csq; ei++) {
        const span_t *f = &w->csq[ei * w->csq_stride];
        int allele = -1;
        if (l->allele_num >= 0) {
            span_t an = f[l->allele_num];
            int64_t num;
            if (!sfl_parse_int64(an.p, an.len, &num) || num < 1 || (uint64_t)num > n_alt) {
                char shown[64];
                show(shown, sizeof shown, an.p, an.len);
                return REJECT(b, rec, SFL_E_LINE,
                              "%s: line %llu: %s entry %zu has ALLELE_NUM '%s' but the line "
                              "has %zu ALT allele%s",
                              path, (unsigned long long)rec->line, w->s->csq_key, ei + 1, shown,
                              n_alt, n_alt == 1 ? "" : "s");
            }
            allele = (int)num - 1;
        } else {
            span_t a = f[l->allele];
            for (size_t i = 0; i < n_alt; i++) {
                if (a.len == w->vep_len[i] && memcmp(a.p, w->vep + w->vep_off[i], a.len) == 0) {
                    allele = (int)i;
                    break;
                }
            }
            if (allele < 0)
                rec->csq_unmatched++;
        }
        w->csq_allele[ei] = allele;
    }
    return true;
}

/* The line's consequence entries: cut, their field counts checked, each
 * matched to its ALT. Returns false after rejecting the line (or when out
 * of memory). */
static bool parse_csq(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                      const char *path, size_t n_alt)
{
    const sfl_vcf_schema_t *s = w->s;
    size_t nf0 = (size_t)s->csq[0].n_fields;
    size_t nf1 = s->csq_v40_repair ? (size_t)s->csq[1].n_fields : 0;
    span_t v = w->val[SFL_SLOT_CSQ];
    w->n_csq = 0;
    w->lay = &s->csq[0];
    w->csq_stride = nf1 > nf0 ? nf1 : nf0;
    if (v.len == 0 || (v.len == 1 && v.p[0] == '.'))
        return true;
    if (!cut_csq(w, v))
        return !(b->failed = true);
    return check_csq_fields(w, b, rec, path) && match_csq_alleles(w, b, rec, path, n_alt);
}

#define KEY(lit) lit, sizeof(lit) - 1

/* `key: [v...]`: the distinct non-empty values of CSQ field `fi` over
 * allele `ai`'s Transcript annotations, in first-seen order. */
static bool enc_distinct(sfl_vcf_worker_t *w, sfl_enc_t *e, const char *key, size_t klen, int fi,
                         int ai)
{
    const sfl_csq_layout_t *l = w->lay;
    size_t nf = w->csq_stride;
    size_t arr = sfl_enc_begin(e, 0x04, key, klen);
    size_t n_seen = 0;
    if (fi >= 0) {
        if (!SFL_GROW(w->seen, &w->seen_cap, w->n_csq + 1, 16))
            return false;
        for (size_t en = 0; en < w->n_csq; en++) {
            if (w->csq_allele[en] != ai)
                continue;
            const span_t *f = &w->csq[en * nf];
            if (l->feature_type >= 0) {
                span_t ft = f[l->feature_type];
                if (ft.len != 10 || memcmp(ft.p, "Transcript", 10) != 0)
                    continue;
            }
            span_t v = f[fi];
            if (v.len == 0)
                continue;
            bool dup = false;
            for (size_t j = 0; j < n_seen && !dup; j++)
                dup = w->seen[j].len == v.len && memcmp(w->seen[j].p, v.p, v.len) == 0;
            if (dup)
                continue;
            w->seen[n_seen] = v;
            char kb[16];
            size_t kl;
            const char *k = sfl_enc_idx((uint32_t)n_seen, &kl, kb);
            sfl_enc_str(e, k, kl, v.p, v.len);
            n_seen++;
        }
    }
    sfl_enc_end(e, arr);
    return true;
}

static void enc_pop_object(sfl_vcf_worker_t *w, sfl_enc_t *e, const char *key, size_t klen,
                           int which, size_t ai, bool per_allele)
{
    const sfl_vcf_schema_t *s = w->s;
    size_t o = sfl_enc_begin(e, 0x03, key, klen);
    for (int p = 0; p < s->n_pops; p++) {
        int slot = SFL_SLOT_POP0 + 4 * p + which;
        const ival_t *iv = &w->ints[(size_t)slot * w->cap_alts + (per_allele ? ai : 0)];
        if (has(w, slot) && iv->ok)
            sfl_enc_int(e, s->pops[p].name, s->pops[p].name_len, iv->v);
        else
            sfl_enc_null(e, s->pops[p].name, s->pops[p].name_len);
    }
    sfl_enc_end(e, o);
}

/* The pairs of one side from the template: each pair's bytes up to its
 * count, then the count as sfl_enc_int or sfl_enc_null writes it. */
static void enc_pairs_tpl(sfl_enc_t *e, const char *key, size_t klen, const pair_tpl_t *t,
                          int n_mids, const ival_t *counts)
{
    size_t side = sfl_enc_begin(e, 0x04, key, klen);
    if (!SFL_ENC_NEED(e, t->off[n_mids] + (size_t)n_mids * 12 + 1))
        return;
    uint8_t *p = e->p;
    size_t len = e->len;
    for (int i = 0; i < n_mids; i++) {
        size_t pl = t->off[i + 1] - t->off[i];
        memcpy(p + len, t->bytes + t->off[i], pl);
        size_t at = len + pl - 15; /* the pair's length: 4 bytes, then "0": 11 */
        len += pl;
        int64_t v = counts[i].v;
        if (!counts[i].ok) {
            memcpy(p + len, "\x0a" "1", 3);
            len += 3;
        } else if (v < INT32_MIN || v > INT32_MAX) {
            memcpy(p + len, "\x12" "1", 3);
            sfl_enc_u32(p + len + 3, (uint32_t)(uint64_t)v);
            sfl_enc_u32(p + len + 7, (uint32_t)((uint64_t)v >> 32));
            len += 11;
        } else {
            memcpy(p + len, "\x10" "1", 3);
            sfl_enc_u32(p + len + 3, (uint32_t)(int32_t)v);
            len += 7;
        }
        p[len++] = 0;
        sfl_enc_u32(p + at, (uint32_t)(len - at));
    }
    e->len = len;
    sfl_enc_end(e, side);
}

static void enc_hist_side(sfl_enc_t *e, const char *key, size_t klen, sfl_histograms_t mode,
                          const pair_tpl_t *tpl, const double *mids, int n_mids,
                          const ival_t *counts, uint64_t *non_finite)
{
    char kb[16];
    size_t kl;
    if (mode == SFL_HIST_PAIRS && tpl->ok) {
        enc_pairs_tpl(e, key, klen, tpl, n_mids, counts);
        return;
    }
    if (mode == SFL_HIST_PAIRS) {
        size_t side = sfl_enc_begin(e, 0x04, key, klen);
        for (int i = 0; i < n_mids; i++) {
            const char *k = sfl_enc_idx((uint32_t)i, &kl, kb);
            size_t pair = sfl_enc_begin(e, 0x04, k, kl);
            sfl_enc_num(e, "0", 1, mids[i], non_finite);
            if (counts[i].ok)
                sfl_enc_int(e, "1", 1, counts[i].v);
            else
                sfl_enc_null(e, "1", 1);
            sfl_enc_end(e, pair);
        }
        sfl_enc_end(e, side);
        return;
    }
    size_t side = sfl_enc_begin(e, 0x03, key, klen);
    size_t mv = sfl_enc_begin(e, 0x04, KEY("mids"));
    for (int i = 0; i < n_mids; i++) {
        const char *k = sfl_enc_idx((uint32_t)i, &kl, kb);
        sfl_enc_num(e, k, kl, mids[i], non_finite);
    }
    sfl_enc_end(e, mv);
    size_t cv = sfl_enc_begin(e, 0x04, KEY("counts"));
    for (int i = 0; i < n_mids; i++) {
        const char *k = sfl_enc_idx((uint32_t)i, &kl, kb);
        if (counts[i].ok)
            sfl_enc_int(e, k, kl, counts[i].v);
        else
            sfl_enc_null(e, k, kl);
    }
    sfl_enc_end(e, cv);
    sfl_enc_end(e, side);
}

static void enc_hist(sfl_vcf_worker_t *w, sfl_enc_t *e, const char *key, size_t klen, int slot,
                     const pair_tpl_t *tpl, const double *mids, int n_mids,
                     const ival_t *counts, size_t ai, uint64_t *non_finite)
{
    if (!w->s->slot_expected[slot])
        return;
    if (!has(w, slot)) {
        sfl_enc_null(e, key, klen);
        return;
    }
    size_t outer = sfl_enc_begin(e, 0x04, key, klen);
    enc_hist_side(e, "0", 1, w->s->histograms, tpl, mids, n_mids, counts, non_finite);
    enc_hist_side(e, "1", 1, w->s->histograms, tpl, mids, n_mids,
                  counts + (ai + 1) * (size_t)n_mids, non_finite);
    sfl_enc_end(e, outer);
}

typedef struct {
    span_t chrom, pos_text, id, ref, alt, qual, filter, info; /* the columns */
    bool nonpar; /* gnomAD hemizygotes: on X or Y outside the PARs */
    int code;
    int64_t pos;
    size_t n_alt;
    bool qual_null;
    double qual_v;
    const char *text;  /* the line, at b->text + text_off */
    uint32_t text_off;
} line_t;

/* ---- building: one document, written straight into the batch's buffer */

/* _id, position, alleles, rsid, orig_alt_alleles, site_quality. Returns
 * where _id's string went in e->p. */
static size_t enc_site(sfl_vcf_worker_t *w, sfl_enc_t *e, const line_t *L, size_t ai,
                     uint64_t *non_finite)
{
    const sfl_minrep_t *m = &w->mr[ai];
    const char *id = w->ids + w->id_off[ai];
    size_t id_len = w->id_len[ai];
    int64_t xpos = sfl_xpos(L->code, m->pos);
    char kb[16];
    size_t kl;
    size_t id_at = sfl_enc_str(e, KEY("_id"), id, id_len);
    sfl_enc_i64(e, KEY("xpos"), xpos);
    sfl_enc_i64(e, KEY("xstart"), xpos);
    sfl_enc_i64(e, KEY("xstop"), xpos + (int64_t)m->alt_len - (int64_t)m->ref_len);
    sfl_enc_str(e, KEY("chrom"), L->chrom.p, L->chrom.len);
    sfl_enc_int(e, KEY("pos"), m->pos);
    sfl_enc_str(e, KEY("ref"), m->ref, m->ref_len);
    sfl_enc_str(e, KEY("alt"), m->alt, m->alt_len);
    sfl_enc_str(e, KEY("variant_id"), id, id_len);
    sfl_enc_str(e, KEY("rsid"), L->id.p, L->id.len);
    size_t arr = sfl_enc_begin(e, 0x04, KEY("orig_alt_alleles"));
    for (size_t i = 0; i < L->n_alt; i++) {
        const char *k = sfl_enc_idx((uint32_t)i, &kl, kb);
        sfl_enc_str(e, k, kl, w->ids + w->id_off[i], w->id_len[i]);
    }
    sfl_enc_end(e, arr);
    if (L->qual_null)
        sfl_enc_null(e, KEY("site_quality"));
    else
        sfl_enc_num(e, KEY("site_quality"), L->qual_v, non_finite);
    return id_at;
}

/* `key`: the integer of slot `slot` for allele `ai` (or the line's one
 * value), null when absent or '.'. */
static void enc_count(sfl_vcf_worker_t *w, sfl_enc_t *e, const char *key, size_t klen, int slot,
                      size_t ai)
{
    const ival_t *iv = &w->ints[(size_t)slot * w->cap_alts + ai];
    if (has(w, slot) && iv->ok)
        sfl_enc_int(e, key, klen, iv->v);
    else
        sfl_enc_null(e, key, klen);
}

/* filter, allele_count ... pop_hemis. */
static void enc_counts(sfl_vcf_worker_t *w, sfl_enc_t *e, const line_t *L, size_t ai,
                       uint64_t *non_finite)
{
    const sfl_vcf_schema_t *s = w->s;
    const ival_t *ac = &w->ints[(size_t)SFL_SLOT_AC * w->cap_alts + ai];
    const ival_t *an = &w->ints[(size_t)SFL_SLOT_AN * w->cap_alts];
    bool ac_ok = has(w, SFL_SLOT_AC) && ac->ok, an_ok = has(w, SFL_SLOT_AN) && an->ok;
    bool adj0 = s->adj0_filter && ac_ok && ac->v == 0 && L->filter.len == 4 &&
                memcmp(L->filter.p, "PASS", 4) == 0;
    if (adj0)
        sfl_enc_str(e, KEY("filter"), "AC_Adj0", 7);
    else
        sfl_enc_str(e, KEY("filter"), L->filter.p, L->filter.len);
    enc_count(w, e, KEY("allele_count"), SFL_SLOT_AC, ai);
    enc_count(w, e, KEY("allele_num"), SFL_SLOT_AN, 0);
    if (ac_ok && an_ok && an->v != 0)
        sfl_enc_num(e, KEY("allele_freq"), (double)ac->v / (double)an->v, non_finite);
    else
        sfl_enc_null(e, KEY("allele_freq"));
    enc_count(w, e, KEY("hom_count"), SFL_SLOT_HOM, ai);
    if (s->hemi_nonpar ? L->nonpar : has(w, SFL_SLOT_HEMI))
        enc_count(w, e, KEY("hemi_count"), SFL_SLOT_HEMI, ai);
    enc_pop_object(w, e, KEY("pop_acs"), SFL_POP_AC, ai, true);
    enc_pop_object(w, e, KEY("pop_ans"), SFL_POP_AN, ai, false);
    enc_pop_object(w, e, KEY("pop_homs"), SFL_POP_HOM, ai, true);
    if (s->hemi_nonpar) {
        if (L->nonpar)
            enc_pop_object(w, e, KEY("pop_hemis"), SFL_POP_HEMI, ai, true);
    } else if (s->hemi_pops) {
        bool any = false;
        for (int p = 0; p < s->n_pops && !any; p++)
            any = has(w, SFL_SLOT_POP0 + 4 * p + SFL_POP_HEMI);
        if (any)
            enc_pop_object(w, e, KEY("pop_hemis"), SFL_POP_HEMI, ai, true);
    }
}

/* quality_metrics, genotype_depths, genotype_qualities. */
static void enc_metrics(sfl_vcf_worker_t *w, sfl_enc_t *e, size_t ai, uint64_t *non_finite)
{
    const sfl_vcf_schema_t *s = w->s;
    size_t qm = sfl_enc_begin(e, 0x03, KEY("quality_metrics"));
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++)
        if (w->qm_set[i])
            sfl_enc_num(e, sfl_quality_metrics[i], strlen(sfl_quality_metrics[i]), w->qm[i],
                        non_finite);
    sfl_enc_end(e, qm);
    if (s->histograms != SFL_HIST_NONE) {
        enc_hist(w, e, KEY("genotype_depths"), SFL_SLOT_DP_HIST, &w->tpl[0], s->dp_mids,
                 s->dp_n_mids, w->dp, ai, non_finite);
        enc_hist(w, e, KEY("genotype_qualities"), SFL_SLOT_GQ_HIST, &w->tpl[1], s->gq_mids,
                 s->gq_n_mids, w->gq, ai, non_finite);
    }
}

/* The fields of one consequence entry as strings, as sfl_enc_str writes
 * them, under one check of the room: heads from `h`, values from `f`. */
static void enc_entry(sfl_enc_t *e, const head_tpl_t *h, const span_t *f, size_t nf)
{
    size_t need = h->off[nf];
    for (size_t fi = 0; fi < nf; fi++)
        need += f[fi].len + 5;
    if (!SFL_ENC_NEED(e, need))
        return;
    uint8_t *p = e->p;
    size_t len = e->len;
    for (size_t fi = 0; fi < nf; fi++) {
        size_t hl = h->off[fi + 1] - h->off[fi];
        sfl_enc_copy(p + len, h->bytes + h->off[fi], hl);
        len += hl;
        sfl_enc_u32(p + len, f[fi].len + 1);
        len += 4;
        sfl_enc_copy(p + len, f[fi].p, f[fi].len);
        len += f[fi].len;
        p[len++] = 0;
    }
    e->len = len;
}

/* vep_annotations (in the --vep-features scope), then genes and
 * transcripts (from every entry, whatever the scope). False when out of
 * memory. */
static bool enc_annotations(sfl_vcf_worker_t *w, sfl_enc_t *e, size_t ai)
{
    char kb[16];
    size_t kl;
    size_t arr = sfl_enc_begin(e, 0x04, KEY("vep_annotations"));
    uint32_t n = 0;
    const sfl_csq_layout_t *l = w->lay;
    size_t nf = l ? (size_t)l->n_fields : 0;
    bool enst = w->s->vep_features == SFL_VEP_ENST;
    const head_tpl_t *h = &w->heads[l == &w->s->csq[1]];
    for (size_t en = 0; en < w->n_csq; en++) {
        if (w->csq_allele[en] != (int)ai)
            continue;
        const span_t *f = &w->csq[en * w->csq_stride];
        if (enst && (f[l->feature].len < 4 || memcmp(f[l->feature].p, "ENST", 4) != 0))
            continue;
        const char *k = sfl_enc_idx(n++, &kl, kb);
        size_t ann = sfl_enc_begin(e, 0x03, k, kl);
        enc_entry(e, h, f, nf);
        sfl_enc_end(e, ann);
    }
    sfl_enc_end(e, arr);
    return enc_distinct(w, e, KEY("genes"), l ? l->gene : -1, (int)ai) &&
           enc_distinct(w, e, KEY("transcripts"), l ? l->feature : -1, (int)ai);
}

/* What the metrics take from the document of ALT `ai` (just built, the
 * batch's last), from the values it was built from. */
static bool metrics_values(const sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, const line_t *L,
                           size_t ai)
{
    const ival_t *ac = &w->ints[(size_t)SFL_SLOT_AC * w->cap_alts + ai];
    const ival_t *an = &w->ints[(size_t)SFL_SLOT_AN * w->cap_alts];
    bool ac_ok = has(w, SFL_SLOT_AC) && ac->ok, an_ok = has(w, SFL_SLOT_AN) && an->ok;
    sfl_metrics_values_t v = {!L->qual_null, ac_ok,         an_ok,   L->qual_v,
                              ac_ok ? ac->v : 0, an_ok ? an->v : 0, w->qm_set, w->qm};
    if (!sfl_metrics_part_add(b->mpart, (uint32_t)(b->n_docs - 1), &v))
        return !(b->failed = true);
    return true;
}

/* The document of ALT `ai`, appended to the batch. The field order is the
 * browser's (and the golden files'). */
static bool build_doc(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, const line_t *L, size_t ai,
                      uint32_t line_idx)
{
    sfl_enc_t enc = {b->buf, b->buf_len, b->buf_cap, false};
    size_t start = b->buf_len;
    size_t doc = sfl_enc_begin(&enc, 0, NULL, 0);
    size_t id_at = enc_site(w, &enc, L, ai, &b->non_finite);
    enc_counts(w, &enc, L, ai, &b->non_finite);
    enc_metrics(w, &enc, ai, &b->non_finite);
    bool ok = enc_annotations(w, &enc, ai);
    sfl_enc_end(&enc, doc);
    b->buf = enc.p;
    b->buf_cap = enc.cap;
    if (!ok || enc.oom) {
        b->failed = true;
        return false;
    }
    b->buf_len = enc.len;
    if (!sfl_batch_record_doc(b, start, (uint32_t)(enc.len - start), (uint32_t)(id_at - start),
                              w->id_len[ai], line_idx, w->mr[ai].pos))
        return false;
    return !b->mpart || metrics_values(w, b, L, ai);
}

/* ---- checking: each step either accepts its part of the line or rejects
 * the whole line (returning false; the caller then returns !b->failed, as
 * b->failed is set only when out of memory). Nothing is built until every
 * step has passed. */

/* The line's bytes must be UTF-8 (BSON strings are). */
static bool is_utf8(const char *p, size_t len)
{
    return sfl_scan_ascii(p, len) || bson_utf8_validate(p, len, false);
}

/* Cuts the eight fixed columns and counts the rest (samples). */
static bool cut_columns(const sfl_vcf_schema_t *s, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                        const char *path, const char *line, size_t len, line_t *L)
{
    span_t col[8];
    int ncol = 0;
    const char *p = line, *end = line + len;
    while (ncol < 8) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        col[ncol].p = p;
        col[ncol].len = (uint32_t)((t ? t : end) - p);
        ncol++;
        if (!t) {
            p = end;
            break;
        }
        p = t + 1;
        if (ncol == 8)
            p = t; /* rest of the line starts at this tab */
    }
    int total = ncol;
    if (ncol == 8)
        for (const char *q = p; (q = memchr(q, '\t', (size_t)(end - q))) != NULL; q++)
            total++;
    if (total != s->n_columns)
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: found %d tab-separated column%s, expected %d (as in the "
                      "#CHROM header line)",
                      path, (unsigned long long)rec->line, total, total == 1 ? "" : "s",
                      s->n_columns);
    L->chrom = col[0];
    L->pos_text = col[1];
    L->id = col[2];
    L->ref = col[3];
    L->alt = col[4];
    L->qual = col[5];
    L->filter = col[6];
    L->info = col[7];
    return true;
}

/* CHROM, POS, REF, ALT and QUAL. A line whose ALT is '.' has no documents:
 * it is counted (b->no_alt, rec->no_alt) and the rest is not read. */
static bool parse_site(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                       const char *path, line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    unsigned long long ln = (unsigned long long)rec->line;
    char shown[64];
    L->code = sfl_contig_code(L->chrom.p, L->chrom.len);
    if (!L->code) {
        show(shown, sizeof shown, L->chrom.p, L->chrom.len);
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: unknown contig '%s': it has no xpos code (expected "
                      "1-22, X, Y, M or MT, with or without 'chr')",
                      path, ln, shown);
    }
    span_t pos = L->pos_text;
    if (!sfl_parse_int64(pos.p, pos.len, &L->pos) || L->pos < 1 || L->pos >= 1000000000) {
        show(shown, sizeof shown, pos.p, pos.len);
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: POS '%s' is not a position (expected an integer from 1 "
                      "to 999999999)",
                      path, ln, shown);
    }
    rec->contig = L->code;
    rec->pos = L->pos;
    L->nonpar = s->hemi_nonpar && sfl_build_nonpar(&s->build, L->code, L->pos);
    int64_t clen = s->contig_len[L->code];
    if (clen > 0 && L->pos > clen)
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: POS %lld is past the end of contig %.*s (length %lld in "
                      "its ##contig line)",
                      path, ln, (long long)L->pos, (int)(L->chrom.len > 40 ? 40 : L->chrom.len),
                      L->chrom.p, (long long)clen);
    if (L->ref.len == 0)
        return REJECT(b, rec, SFL_E_LINE, "%s: line %llu: REF is empty", path, ln);
    if (L->ref.len == 1 && L->ref.p[0] == '*')
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: REF is '*', which only an ALT can be (a deletion "
                      "spanning the site)",
                      path, ln);
    if (L->alt.len == 1 && L->alt.p[0] == '.') {
        b->no_alt++;
        rec->no_alt = 1;
        return true;
    }
    L->n_alt = 1;
    for (uint32_t i = 0; i < L->alt.len; i++)
        L->n_alt += L->alt.p[i] == ',';
    if (!reserve_alts(w, L->n_alt))
        return !(b->failed = true);
    const char *q = L->alt.p, *qe = L->alt.p + L->alt.len;
    for (size_t i = 0; i < L->n_alt; i++) {
        const char *c = memchr(q, ',', (size_t)(qe - q));
        const char *e = c ? c : qe;
        w->alts[i].p = q;
        w->alts[i].len = (uint32_t)(e - q);
        if (e == q)
            return REJECT(b, rec, SFL_E_LINE, "%s: line %llu: ALT allele %zu is empty", path,
                          ln, i + 1);
        if ((size_t)(e - q) == L->ref.len && memcmp(q, L->ref.p, L->ref.len) == 0) {
            show(shown, sizeof shown, q, (size_t)(e - q));
            return REJECT(b, rec, SFL_E_LINE,
                          "%s: line %llu: ALT allele %zu ('%s') equals REF: it is no variant",
                          path, ln, i + 1, shown);
        }
        q = e + 1;
    }
    if (L->qual.len == 1 && L->qual.p[0] == '.') {
        L->qual_null = true;
    } else if (!sfl_parse_double(L->qual.p, L->qual.len, &L->qual_v)) {
        show(shown, sizeof shown, L->qual.p, L->qual.len);
        return REJECT(b, rec, SFL_E_LINE, "%s: line %llu: QUAL '%s' is not a number or '.'",
                      path, ln, shown);
    }
    return true;
}

/* INFO's key=value pairs into the schema's slots: spans, nothing parsed
 * yet; a key the schema does not use is skipped. */
static bool read_info(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                      const char *path, const line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    if (++w->gen == 0) { /* wrapped: clear stamps */
        memset(w->stamp, 0, sizeof(uint32_t) * (size_t)s->n_slots);
        w->gen = 1;
    }
    span_t info = L->info;
    if (!(info.len == 1 && info.p[0] == '.')) {
        const char *q = info.p, *qe = info.p + info.len;
        while (q < qe) {
            const char *sc = memchr(q, ';', (size_t)(qe - q));
            const char *e = sc ? sc : qe;
            const char *eq = memchr(q, '=', (size_t)(e - q));
            const char *ke = eq ? eq : e;
            if (eq == q) {
                char shown[64];
                show(shown, sizeof shown, q, (size_t)(e - q));
                return REJECT(b, rec, SFL_E_LINE,
                              "%s: line %llu: INFO item '%s' has no key before its '='",
                              path, (unsigned long long)rec->line, shown);
            }
            int slot = sfl_vcf_schema_slot(s, q, (size_t)(ke - q));
            if (slot >= 0 && w->stamp[slot] == w->gen)
                /* Keeping one of two values would lose the other without a
                 * word (a file annotated twice, a bad merge). */
                return REJECT(b, rec, SFL_E_LINE,
                              "%s: line %llu: INFO key %.*s appears twice on the line; "
                              "refusing it rather than keeping only one of its values",
                              path, (unsigned long long)rec->line, (int)(ke - q), q);
            size_t code_off;
            if (slot >= 0) {
                w->val[slot].p = eq ? eq + 1 : e;
                w->val[slot].len = eq ? (uint32_t)(e - eq - 1) : 0;
                w->stamp[slot] = w->gen;
            } else if (s->pop_prefix && *q == *s->pop_prefix &&
                       sfl_vcf_schema_undeclared_pop(s, q, (size_t)(ke - q), &code_off) &&
                       !sfl_batch_undeclared(b, (uint32_t)(b->n_lines - 1),
                                             L->text_off + (uint32_t)(q + code_off - L->text),
                                             (uint32_t)(ke - q - code_off))) {
                return false;
            }
            q = e + 1;
        }
    }
    if (has(w, SFL_SLOT_CSQ) && !s->csq_declared)
        return REJECT(b, rec, SFL_E_LINE,
                      "%s: line %llu: INFO has CSQ values but the header has no "
                      "##INFO=<ID=CSQ,...,Description=\"...Format: ...\"> line (nor another "
                      "field described as \"Consequence annotations from Ensembl VEP. "
                      "Format: ...\") to name their fields",
                      path, (unsigned long long)rec->line);
    return true;
}

/* The integer fields: one value per ALT (AC, hom, hemi and their
 * populations), or one for the line (AN and the populations' AN). */
static bool parse_counts(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                         const char *path, const line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    if (!SFL_GROW(w->ints, &w->ints_cap, (size_t)s->n_slots * w->cap_alts, 16))
        return !(b->failed = true);
    for (int slot = 0; slot < s->n_slots; slot++) {
        bool per_allele, hemi;
        if (slot >= SFL_SLOT_POP0) {
            int which = (slot - SFL_SLOT_POP0) % 4;
            per_allele = which != SFL_POP_AN;
            hemi = which == SFL_POP_HEMI;
        } else if (slot == SFL_SLOT_AC || slot == SFL_SLOT_HOM || slot == SFL_SLOT_HEMI ||
                   slot == SFL_SLOT_AN) {
            per_allele = slot != SFL_SLOT_AN;
            hemi = slot == SFL_SLOT_HEMI;
        } else {
            continue;
        }
        if (!s->slot_key[slot])
            continue;
        bool expected = s->slot_expected[slot];
        if (s->hemi_nonpar && hemi) {
            /* gnomAD's XY counts are hemizygotes only outside the PARs. */
            if (!L->nonpar)
                continue;
            expected = s->slot_declared[slot];
        }
        if (!has(w, slot)) {
            if (expected && !sfl_batch_line_missing(b, rec, slot))
                return false;
            continue;
        }
        ival_t *row = &w->ints[(size_t)slot * w->cap_alts];
        size_t want = per_allele ? L->n_alt : 1;
        if (!parse_int_list(w, b, rec, path, slot, want, row))
            return false;
        /* '.' or '.,.': no value at all, counted like an absent field. */
        bool any = false;
        for (size_t i = 0; i < want && !any; i++)
            any = row[i].ok;
        if (!any && expected && !sfl_batch_line_missing(b, rec, slot))
            return false;
    }
    return true;
}

/* An allele count over its allele number (AC > AN, overall or in a
 * population) cannot be: the line is refused. */
static bool check_ac_an(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                        const char *path, const line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    for (int p = -1; p < s->n_pops; p++) {
        int ac = p < 0 ? SFL_SLOT_AC : SFL_SLOT_POP0 + 4 * p + SFL_POP_AC;
        int an = p < 0 ? SFL_SLOT_AN : SFL_SLOT_POP0 + 4 * p + SFL_POP_AN;
        if (!s->slot_key[ac] || !s->slot_key[an] || !has(w, ac) || !has(w, an))
            continue;
        const ival_t *acv = &w->ints[(size_t)ac * w->cap_alts];
        const ival_t *anv = &w->ints[(size_t)an * w->cap_alts];
        for (size_t i = 0; anv[0].ok && i < L->n_alt; i++)
            if (acv[i].ok && acv[i].v > anv[0].v)
                return REJECT(b, rec, SFL_E_LINE,
                              "%s: line %llu: INFO %s of ALT %zu is %lld, more than %s %lld "
                              "(alleles counted cannot outnumber alleles called)",
                              path, (unsigned long long)rec->line, s->slot_key[ac], i + 1,
                              (long long)acv[i].v, s->slot_key[an], (long long)anv[0].v);
    }
    return true;
}

/* The quality metrics (numbers, '.' = absent). */
static bool parse_quality_metrics(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                                  const char *path)
{
    for (int i = 0; i < SFL_N_QUALITY_METRICS; i++) {
        int slot = SFL_SLOT_QM0 + i;
        w->qm_set[i] = false;
        if (!has(w, slot))
            continue;
        span_t v = w->val[slot];
        if (v.len == 1 && v.p[0] == '.')
            continue;
        if (!sfl_parse_double(v.p, v.len, &w->qm[i])) {
            char shown[64];
            show(shown, sizeof shown, v.p, v.len);
            return REJECT(b, rec, SFL_E_LINE,
                          "%s: line %llu: INFO %s value '%s' is not a number", path,
                          (unsigned long long)rec->line, sfl_quality_metrics[i], shown);
        }
        w->qm_set[i] = true;
    }
    return true;
}

/* DP_HIST and GQ_HIST ('.' is a missing histogram, like an absent one). */
static bool parse_histograms(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                             const char *path, const line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    const struct {
        int slot, n_mids;
        ival_t **counts;
        size_t *cap;
    } hs[2] = {{SFL_SLOT_DP_HIST, s->dp_n_mids, &w->dp, &w->dp_cap},
               {SFL_SLOT_GQ_HIST, s->gq_n_mids, &w->gq, &w->gq_cap}};
    for (int i = 0; i < 2; i++) {
        int slot = hs[i].slot;
        if (has(w, slot) && w->val[slot].len == 1 && w->val[slot].p[0] == '.')
            w->stamp[slot] = 0;
    }
    for (int i = 0; i < 2; i++) {
        int slot = hs[i].slot;
        if (!s->slot_expected[slot])
            continue;
        if (!has(w, slot)) {
            if (!sfl_batch_line_missing(b, rec, slot))
                return false;
        } else if (!parse_hist(w, b, rec, path, slot, L->n_alt, hs[i].n_mids, hs[i].counts,
                               hs[i].cap)) {
            return false;
        }
    }
    return true;
}

/* The minimal representation and variant_id of every ALT, and the bound on
 * the line's documents (each lists every ALT in orig_alt_alleles). */
static bool make_ids(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                     const char *path, const line_t *L)
{
    unsigned long long ln = (unsigned long long)rec->line;
    size_t n_alt = L->n_alt, ids_need = 0;
    for (size_t i = 0; i < n_alt; i++)
        ids_need += L->chrom.len + 24 + L->ref.len + w->alts[i].len;
    if (!SFL_GROW(w->ids, &w->ids_cap, ids_need, 16))
        return !(b->failed = true);
    size_t off = 0;
    for (size_t i = 0; i < n_alt; i++) {
        sfl_minrep_t *m = &w->mr[i];
        sfl_minimal_representation(L->pos, L->ref.p, L->ref.len, w->alts[i].p, w->alts[i].len,
                                   m);
        if (m->pos >= 1000000000)
            return REJECT(b, rec, SFL_E_LINE,
                          "%s: line %llu: ALT %zu's minimal representation starts at %lld, "
                          "past the largest position an xpos can hold (999999999)",
                          path, ln, i + 1, (long long)m->pos);
        int n = snprintf(w->ids + off, w->ids_cap - off, "%.*s-%lld-%.*s-%.*s",
                         (int)L->chrom.len, L->chrom.p, (long long)m->pos, (int)m->ref_len,
                         m->ref, (int)m->alt_len, m->alt);
        w->id_off[i] = (uint32_t)off;
        w->id_len[i] = (uint32_t)n;
        off += (size_t)n + 1;
    }
    if ((uint64_t)n_alt * off > SFL_MAX_LINE_ALT_BYTES)
        return REJECT(b, rec, SFL_E_TOO_LARGE,
                      "%s: line %llu: %zu ALT alleles would make %llu MiB of documents (each "
                      "lists every ALT in orig_alt_alleles), over the bound of %d MiB a line",
                      path, ln, n_alt, (unsigned long long)(((uint64_t)n_alt * off) >> 20),
                      SFL_MAX_LINE_ALT_BYTES >> 20);
    return true;
}

/* VEP's spelling of every ALT, for matching annotations on Allele: one
 * rule (sfl_vep_strips_first_base) over all the line's ALTs, any count. */
static bool vep_alleles(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, const line_t *L)
{
    size_t vneed = 0;
    for (size_t i = 0; i < L->n_alt; i++) {
        w->alt_ptr[i] = w->alts[i].p;
        w->alt_lens[i] = w->alts[i].len;
        vneed += w->alts[i].len + 2;
    }
    if (!SFL_GROW(w->vep, &w->vep_cap, vneed, 16))
        return !(b->failed = true);
    bool strip = sfl_vep_strips_first_base(L->ref.p, L->ref.len, w->alt_ptr, w->alt_lens,
                                           L->n_alt);
    size_t vo = 0;
    for (size_t i = 0; i < L->n_alt; i++) {
        w->vep_off[i] = (uint32_t)vo;
        w->vep_len[i] = (uint32_t)sfl_vep_allele(w->alts[i].p, w->alts[i].len, strip, w->vep + vo);
        vo += w->vep_len[i] + 1;
    }
    return true;
}

/* The consequence annotations: cut, counted and matched to ALTs. */
static bool parse_annotations(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                              const char *path, const line_t *L)
{
    const sfl_vcf_schema_t *s = w->s;
    w->n_csq = 0;
    w->lay = s->csq_declared ? &s->csq[0] : NULL;
    if (!s->csq_declared)
        return true;
    /* Absent, '.' or a bare flag: no annotations, counted as missing. */
    span_t v = w->val[SFL_SLOT_CSQ];
    if (!has(w, SFL_SLOT_CSQ) || v.len == 0 || (v.len == 1 && v.p[0] == '.'))
        return sfl_batch_line_missing(b, rec, SFL_SLOT_CSQ);
    if (s->csq[0].allele_num < 0 && !vep_alleles(w, b, L))
        return false;
    return parse_csq(w, b, rec, path, L->n_alt);
}

bool sfl_vcf_line_to_docs(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, const char *path,
                          uint64_t line_no, const char *line, size_t len, uint32_t text_off)
{
    sfl_linerec_t *rec = sfl_batch_add_line(b, line_no, text_off, len);
    if (!rec)
        return false;
    uint32_t line_idx = (uint32_t)(b->n_lines - 1);
    if (!is_utf8(line, len)) {
        sfl_batch_reject(b, rec, SFL_E_LINE, "%s: line %llu: the line is not valid UTF-8 text",
                         path, (unsigned long long)line_no);
        return !b->failed;
    }
    /* Check the whole line, step by step, before building anything. */
    line_t L;
    memset(&L, 0, sizeof L);
    L.text = line;
    L.text_off = text_off;
    if (!cut_columns(w->s, b, rec, path, line, len, &L) || !parse_site(w, b, rec, path, &L))
        return !b->failed;
    if (rec->no_alt)
        return true;
    if (!read_info(w, b, rec, path, &L) || !parse_counts(w, b, rec, path, &L) ||
        !check_ac_an(w, b, rec, path, &L) ||
        !parse_quality_metrics(w, b, rec, path) || !parse_histograms(w, b, rec, path, &L) ||
        !make_ids(w, b, rec, path, &L) || !parse_annotations(w, b, rec, path, &L))
        return !b->failed;
    /* The line is valid: its documents. */
    b->csq_unmatched += rec->csq_unmatched;
    uint64_t nf0 = b->non_finite;
    for (size_t i = 0; i < L.n_alt; i++)
        if (!build_doc(w, b, &L, i, line_idx))
            return false;
    rec->non_finite = (uint32_t)(b->non_finite - nf0);
    return true;
}

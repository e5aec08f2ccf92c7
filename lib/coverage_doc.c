/* coverage_doc.c: a coverage row -> {_id: xpos, xpos, pos, mean, median,
 * "1", ..., "100"}.
 *
 * The column names come from the file's header line, so a file with other
 * thresholds works unchanged. Numbers go through the exact fast parser in
 * numparse.c: a row is ~13 numbers and this is the whole cost of a row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bson_enc.h"
#include "coverage_doc.h"
#include "numparse.h"
#include "variant_key.h"

struct sfl_coverage_worker {
    const sfl_coverage_schema_t *s;
};

void sfl_coverage_schema_destroy(sfl_coverage_schema_t *s)
{
    if (!s)
        return;
    for (int i = 0; s->names && i < s->n_metrics; i++)
        free(s->names[i]);
    free(s->names);
    free(s->name_len);
    free(s);
}

sfl_coverage_schema_t *sfl_coverage_schema_new(const char *h, size_t len, uint32_t step,
                                               const char *path, sfl_error_t *err)
{
    if (len == 0 || h[0] != '#') {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: line 1: missing header: a coverage file starts with "
                      "'#chrom<TAB>pos<TAB>mean<TAB>median<TAB>1<TAB>5...'",
                      path);
        return NULL;
    }
    sfl_coverage_schema_t *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->step = step ? step : 1;
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += h[i] == '\t';
    if (n < 3) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: line 1: the header has %d column%s; expected chrom, pos and at least "
                      "one metric, tab-separated",
                      path, n, n == 1 ? "" : "s");
        sfl_coverage_schema_destroy(s);
        return NULL;
    }
    s->n_columns = n;
    s->n_metrics = n - 2;
    s->names = calloc((size_t)s->n_metrics, sizeof *s->names);
    s->name_len = calloc((size_t)s->n_metrics, sizeof *s->name_len);
    if (!s->names || !s->name_len)
        goto nomem;
    const char *p = h + 1, *end = h + len;
    for (int c = 0; c < n; c++) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        const char *e = t ? t : end;
        if (e == p) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: line 1: header column %d has no name", path, c + 1);
            sfl_coverage_schema_destroy(s);
            return NULL;
        }
        static const char *const fixed[2] = {"chrom", "pos"};
        if (c < 2 && ((size_t)(e - p) != strlen(fixed[c]) || memcmp(p, fixed[c], (size_t)(e - p)))) {
            /* The parser reads column 1 as the contig and column 2 as the
             * position: a header that names them otherwise is another
             * format (or its columns are in another order). */
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: line 1: header column %d is '%.*s', expected '%s' (a coverage "
                          "header is '#chrom<TAB>pos<TAB>mean<TAB>median<TAB>1...')",
                          path, c + 1, (int)(e - p > 40 ? 40 : e - p), p, fixed[c]);
            sfl_coverage_schema_destroy(s);
            return NULL;
        }
        if (c >= 2) {
            const char *why;
            size_t kl = (size_t)(e - p);
            bool clash = (kl == 3 && (!memcmp(p, "_id", 3) || !memcmp(p, "pos", 3))) ||
                         (kl == 4 && !memcmp(p, "xpos", 4)) ||
                         (kl == 5 && !memcmp(p, "chrom", 5));
            for (int j = 0; j < c - 2 && !clash; j++)
                clash = s->name_len[j] == kl && memcmp(s->names[j], p, kl) == 0;
            if (!sfl_valid_key(p, kl, &why) || clash) {
                sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                              "%s: line 1: header column %d (%.*s) %s", path, c + 1,
                              (int)(kl > 40 ? 40 : kl), p,
                              clash ? "repeats a column or a field the document already has "
                                      "(_id, xpos, pos, chrom)"
                                    : why);
                sfl_coverage_schema_destroy(s);
                return NULL;
            }
            if (!(s->names[c - 2] = strndup(p, kl)))
                goto nomem;
            s->name_len[c - 2] = kl;
        }
        p = e + 1;
    }
    return s;
nomem:
    sfl_coverage_schema_destroy(s);
    sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return NULL;
}

sfl_coverage_worker_t *sfl_coverage_worker_new(const sfl_coverage_schema_t *s)
{
    sfl_coverage_worker_t *w = calloc(1, sizeof *w);
    if (w)
        w->s = s;
    return w;
}

void sfl_coverage_worker_destroy(sfl_coverage_worker_t *w)
{
    if (!w)
        return;
    free(w);
}

bool sfl_coverage_line_to_doc(sfl_coverage_worker_t *w, sfl_parsed_batch_t *b, const char *path,
                              uint64_t line_no, const char *line, size_t len, uint32_t text_off)
{
    const sfl_coverage_schema_t *s = w->s;
    sfl_linerec_t *rec = sfl_batch_add_line(b, line_no, text_off, len);
    if (!rec)
        return false;
    uint32_t line_idx = (uint32_t)(b->n_lines - 1);
    unsigned long long ln = (unsigned long long)line_no;
    const char *p = line, *end = line + len;
    char shown[64];

    const char *t = memchr(p, '\t', len);
    int code = t ? sfl_contig_code(p, (size_t)(t - p)) : 0;
    if (!t) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: found 1 column, expected %d (as in the header line)",
                         path, ln, s->n_columns);
        return !b->failed;
    }
    if (!code) {
        snprintf(shown, sizeof shown, "%.*s", (int)((t - p) > 60 ? 60 : (t - p)), p);
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: unknown contig '%s': it has no xpos code (expected "
                         "1-22, X, Y, M or MT, with or without 'chr')",
                         path, ln, shown);
        return !b->failed;
    }
    p = t + 1;
    t = memchr(p, '\t', (size_t)(end - p));
    const char *pe = t ? t : end;
    int64_t pos;
    if (!sfl_parse_int64(p, (size_t)(pe - p), &pos) || pos < 1 || pos >= 1000000000) {
        snprintf(shown, sizeof shown, "%.*s", (int)((pe - p) > 60 ? 60 : (pe - p)), p);
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: pos '%s' is not a position (expected an integer from 1 "
                         "to 999999999)",
                         path, ln, shown);
        return !b->failed;
    }
    rec->contig = code;
    rec->pos = pos;
    double vals[64];
    double *v = s->n_metrics <= 64 ? vals : malloc(sizeof(double) * (size_t)s->n_metrics);
    if (!v)
        return !(b->failed = true);
    int c = 0;
    p = t ? t + 1 : end;
    bool ok = true;
    while (t && c < s->n_metrics) {
        t = memchr(p, '\t', (size_t)(end - p));
        const char *e = t ? t : end;
        if (!sfl_parse_double(p, (size_t)(e - p), &v[c])) {
            snprintf(shown, sizeof shown, "%.*s", (int)((e - p) > 60 ? 60 : (e - p)), p);
            sfl_batch_reject(b, rec, SFL_E_LINE,
                             "%s: line %llu: column %s value '%s' is not a number", path, ln,
                             s->names[c], shown);
            ok = false;
            break;
        }
        c++;
        p = e + 1;
    }
    if (ok && (c != s->n_metrics || t)) {
        int found = 2 + c;
        if (t)
            for (const char *q = p; q <= end && (q = memchr(q, '\t', (size_t)(end - q))); q++)
                found++;
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: found %d tab-separated columns, expected %d (as in the "
                         "header line)",
                         path, ln, t ? found + 1 : found, s->n_columns);
        ok = false;
    }
    /* Every row is checked; only then are rows off the step left out. */
    if (ok && pos % s->step != 0) {
        b->thinned++;
        rec->thinned = 1;
        ok = !b->failed;
    } else if (ok) {
        sfl_enc_t enc = {b->buf, b->buf_len, b->buf_cap, false};
        size_t start = b->buf_len;
        int64_t xpos = sfl_xpos(code, pos);
        size_t doc = sfl_enc_begin(&enc, 0, NULL, 0);
        sfl_enc_i64(&enc, "_id", 3, xpos);
        sfl_enc_i64(&enc, "xpos", 4, xpos);
        sfl_enc_int(&enc, "pos", 3, pos);
        uint64_t nf0 = b->non_finite;
        for (int i = 0; i < s->n_metrics; i++)
            sfl_enc_num(&enc, s->names[i], s->name_len[i], v[i], &b->non_finite);
        rec->non_finite = (uint32_t)(b->non_finite - nf0);
        sfl_enc_end(&enc, doc);
        b->buf = enc.p;
        b->buf_cap = enc.cap;
        if (enc.oom) {
            b->failed = true;
        } else {
            b->buf_len = enc.len;
            sfl_batch_record_doc(b, start, (uint32_t)(enc.len - start), 0, 0, line_idx, pos);
        }
        ok = !b->failed;
    } else {
        ok = !b->failed;
    }
    if (v != vals)
        free(v);
    return ok;
}

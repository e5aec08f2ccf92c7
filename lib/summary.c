/* summary.c: the end-of-run summary as JSON, for scripts. */
#include <bson/bson.h>
#include <stdlib.h>
#include <string.h>

#include "bson_util.h"
#include "swefreq/swefreq.h"

/* "annotations": the consequence field each VCF was read with;
 * "warnings": the run-wide warnings. */
static bool append_annotations(bson_t *d, const sfl_summary_t *s)
{
    bson_t arr, e;
    char kb[16];
    const char *k;
    bool ok = bson_append_array_begin(d, "annotations", -1, &arr);
    for (size_t i = 0; ok && i < s->n_annotations; i++) {
        const sfl_annotation_used_t *a = &s->annotations[i];
        size_t kl = bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_document_begin(&arr, k, (int)kl, &e) &&
             bson_append_utf8(&e, "source", -1, a->source, -1) &&
             (a->field ? bson_append_utf8(&e, "field", -1, a->field, -1)
                       : bson_append_null(&e, "field", -1)) &&
             (a->format ? bson_append_utf8(&e, "format", -1, a->format, -1)
                        : bson_append_null(&e, "format", -1)) &&
             bson_append_bool(&e, "format_from_option", -1, a->format_overridden) &&
             bson_append_bool(&e, "gnomad_v40_repair", -1, a->gnomad_v40_repair) &&
             bson_append_document_end(&arr, &e);
    }
    ok = ok && bson_append_array_end(d, &arr) && bson_append_array_begin(d, "warnings", -1, &arr);
    for (size_t i = 0; ok && i < s->n_warnings; i++) {
        size_t kl = bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_utf8(&arr, k, (int)kl, s->warnings[i], -1);
    }
    return ok && bson_append_array_end(d, &arr);
}

/* "gene_tables": each table's rows and the rows that joined no GTF gene. */
static bool append_table_joins(bson_t *d, const sfl_summary_t *s)
{
    bson_t arr, e;
    char kb[16];
    const char *k;
    bool ok = bson_append_array_begin(d, "gene_tables", -1, &arr);
    for (size_t i = 0; ok && i < s->n_table_joins; i++) {
        const sfl_table_join_t *t = &s->table_joins[i];
        size_t kl = bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_document_begin(&arr, k, (int)kl, &e) &&
             bson_append_utf8(&e, "source", -1, t->source, -1) &&
             bson_append_utf8(&e, "kind", -1, t->kind, -1) &&
             bson_append_int64(&e, "rows", -1, (int64_t)t->rows) &&
             bson_append_int64(&e, "unjoined_rows", -1, (int64_t)t->unjoined_rows) &&
             bson_append_document_end(&arr, &e);
    }
    return ok && bson_append_array_end(d, &arr);
}

char *sfl_job_summary_json(const sfl_job_t *j)
{
    const sfl_summary_t *s = sfl_job_summary(j);
    if (!s)
        return NULL;
    bson_t d = BSON_INITIALIZER, c, r, m;
    bool ok = bson_append_utf8(&d, "tool", -1, "swefreq-load", -1) &&
              bson_append_utf8(&d, "version", -1, sfl_version(), -1) &&
              bson_append_int64(&d, "sources", -1, (int64_t)s->sources) &&
              bson_append_int64(&d, "records_read", -1, (int64_t)s->records_read) &&
              bson_append_document_begin(&d, "documents", -1, &c);
    for (int i = 0; ok && i < SFL_N_COLLECTIONS; i++)
        if (i <= SFL_COLL_COVERAGE || s->docs[i]) /* the first two always, as before */
            ok = bson_append_int64(&c, sfl_collection_name((sfl_collection_t)i), -1,
                                   (int64_t)s->docs[i]);
    ok = ok && bson_append_document_end(&d, &c) && bson_append_document_begin(&d, "bson_bytes", -1, &c);
    for (int i = 0; ok && i < SFL_N_COLLECTIONS; i++)
        if (i <= SFL_COLL_COVERAGE || s->docs[i])
            ok = bson_append_int64(&c, sfl_collection_name((sfl_collection_t)i), -1,
                                   (int64_t)s->bson_bytes[i]);
    ok = ok && bson_append_document_end(&d, &c) &&
         bson_append_int64(&d, "bytes_read", -1, (int64_t)s->bytes_read) &&
         bson_append_int64(&d, "file_bytes", -1, (int64_t)s->file_bytes) &&
         bson_append_int64(&d, "rejected_lines", -1, (int64_t)s->rejected) &&
         bson_append_document_begin(&d, "rejected_by_reason", -1, &r);
    for (uint32_t i = 0; ok && i < 64; i++)
        if (s->rejected_by_code[i])
            ok = bson_append_int64(&r, sfl_error_code_name(i), -1, (int64_t)s->rejected_by_code[i]);
    ok = ok && bson_append_document_end(&d, &r) &&
         bson_append_int64(&d, "sites_without_alt", -1, (int64_t)s->no_alt_sites) &&
         bson_append_int64(&d, "blank_lines", -1, (int64_t)s->blank_lines) &&
         bson_append_int64(&d, "coverage_rows_thinned", -1, (int64_t)s->coverage_thinned) &&
         bson_append_int64(&d, "csq_entries_unmatched", -1, (int64_t)s->csq_unmatched) &&
         bson_append_int64(&d, "non_finite_numbers", -1, (int64_t)s->non_finite) &&
         bson_append_document_begin(&d, "missing_fields", -1, &m);
    for (size_t i = 0; ok && i < s->n_missing; i++)
        ok = bson_append_int64(&m, s->missing_names[i], -1, (int64_t)s->missing_counts[i]);
    ok = ok && bson_append_document_end(&d, &m) &&
         bson_append_double(&d, "seconds", -1, s->seconds) &&
         bson_append_int32(&d, "threads", -1, s->threads) &&
         bson_append_int64(&d, "unterminated_lines", -1, (int64_t)s->unterminated_lines) &&
         append_annotations(&d, s) &&
         bson_append_int64(&d, "unknown_contig_lines", -1, (int64_t)s->unknown_contig_lines) &&
         bson_append_int64(&d, "dbsnp_par_rows", -1, (int64_t)s->dbsnp_par_rows) &&
         bson_append_int64(&d, "dbsnp_unplaced_rows", -1, (int64_t)s->dbsnp_unplaced_rows) &&
         bson_append_int64(&d, "gtf_other_features", -1, (int64_t)s->gtf_other_features) &&
         bson_append_int64(&d, "metrics_values_left_out", -1,
                           (int64_t)s->metrics_values_left_out) &&
         append_table_joins(&d, s) &&
         bson_append_document_begin(&d, "undeclared_populations", -1, &m);
    for (size_t i = 0; ok && i < s->n_undeclared_pops; i++)
        ok = bson_append_int64(&m, s->undeclared_pop_names[i], -1,
                               (int64_t)s->undeclared_pop_counts[i]);
    ok = ok && bson_append_document_end(&d, &m);
    char *out = ok ? sfl_bson_json_dup(&d) : NULL;
    bson_destroy(&d);
    return out;
}

/* indexes.c: the indexes the browser's queries need.
 *
 * variants: xpos, xstart, xstop, rsid, genes, transcripts, and
 * (xpos, ref, alt); base_coverage: xpos. These are the ExAC browser's.
 */
#include <string.h>

#include "bson_util.h"
#include "indexes.h"

static const sfl_index_def_t variant_indexes[] = {
    {"xpos_1", {"xpos", NULL}},
    {"xstart_1", {"xstart", NULL}},
    {"xstop_1", {"xstop", NULL}},
    {"rsid_1", {"rsid", NULL}},
    {"genes_1", {"genes", NULL}},
    {"transcripts_1", {"transcripts", NULL}},
    {"xpos_1_ref_1_alt_1", {"xpos", "ref", "alt", NULL}},
};

static const sfl_index_def_t coverage_indexes[] = {
    {"xpos_1", {"xpos", NULL}},
};

/* The ExAC loader's load_gene_models, load_dbsnp_file and
 * precalculate_metrics. */
static const sfl_index_def_t gene_indexes[] = {
    {"gene_id_1", {"gene_id", NULL}},         {"gene_name_upper_1", {"gene_name_upper", NULL}},
    {"gene_name_1", {"gene_name", NULL}},     {"other_names_1", {"other_names", NULL}},
    {"xstart_1", {"xstart", NULL}},           {"xstop_1", {"xstop", NULL}},
};
static const sfl_index_def_t transcript_indexes[] = {
    {"transcript_id_1", {"transcript_id", NULL}},
    {"gene_id_1", {"gene_id", NULL}},
};
static const sfl_index_def_t exon_indexes[] = {
    {"exon_id_1", {"exon_id", NULL}},
    {"transcript_id_1", {"transcript_id", NULL}},
    {"gene_id_1", {"gene_id", NULL}},
};
static const sfl_index_def_t dbsnp_indexes[] = {
    {"rsid_1", {"rsid", NULL}},
    {"xpos_1", {"xpos", NULL}},
};
static const sfl_index_def_t metric_indexes[] = {
    {"metric_1", {"metric", NULL}},
};

#define DEFS(a) (*n = sizeof a / sizeof a[0], a)

const sfl_index_def_t *sfl_browser_indexes(sfl_collection_t c, size_t *n)
{
    switch (c) {
    case SFL_COLL_VARIANTS:
        *n = sizeof variant_indexes / sizeof variant_indexes[0];
        return variant_indexes;
    case SFL_COLL_COVERAGE:
        *n = sizeof coverage_indexes / sizeof coverage_indexes[0];
        return coverage_indexes;
    case SFL_COLL_GENES: return DEFS(gene_indexes);
    case SFL_COLL_TRANSCRIPTS: return DEFS(transcript_indexes);
    case SFL_COLL_EXONS: return DEFS(exon_indexes);
    case SFL_COLL_DBSNP: return DEFS(dbsnp_indexes);
    case SFL_COLL_METRICS: return DEFS(metric_indexes);
    default:
        *n = 0;
        return NULL;
    }
}

static bool append_spec(bson_t *arr, uint32_t idx, const char *name, const char *const *fields,
                        bool with_version)
{
    const char *k;
    char kb[16];
    int kl = sfl_index_key(idx, &k, kb);
    bson_t spec, key;
    bool ok = bson_append_document_begin(arr, k, kl, &spec);
    if (ok && with_version)
        ok = bson_append_int32(&spec, "v", 1, 2);
    ok = ok && bson_append_document_begin(&spec, "key", 3, &key);
    for (int f = 0; ok && fields[f]; f++)
        ok = bson_append_int32(&key, fields[f], -1, 1);
    ok = ok && bson_append_document_end(&spec, &key) && bson_append_utf8(&spec, "name", 4, name, -1);
    return ok && bson_append_document_end(arr, &spec);
}

bool sfl_append_index_specs(bson_t *arr, sfl_collection_t c, bool with_id, bool with_version,
                            uint32_t *i)
{
    static const char *const id_fields[] = {"_id", NULL};
    if (with_id && !append_spec(arr, (*i)++, "_id_", id_fields, with_version))
        return false;
    size_t n;
    const sfl_index_def_t *defs = sfl_browser_indexes(c, &n);
    for (size_t j = 0; j < n; j++)
        if (!append_spec(arr, (*i)++, defs[j].name, defs[j].fields, with_version))
            return false;
    return true;
}

/* sources.c: the kinds of source file and the collections each fills.
 *
 * The design is simple: one table, indexed by sfl_source_kind_t, says what
 * a kind is called (command line, manifest) and which collections its
 * documents go to. The job (which collections a run fills), the manifest
 * (which collections a load owns) and the CLI read it; nothing else
 * branches on a kind to decide where documents go.
 */
#include <string.h>

#include "swefreq/job.h"

typedef struct {
    const char *name;
    sfl_collection_t fills[3];
    int n_fills;
} kind_def_t;

static const kind_def_t kinds[SFL_N_SOURCE_KINDS] = {
    [SFL_SOURCE_VCF] = {"vcf", {SFL_COLL_VARIANTS, SFL_COLL_METRICS}, 2},
    [SFL_SOURCE_COVERAGE] = {"coverage", {SFL_COLL_COVERAGE}, 1},
    [SFL_SOURCE_GTF] = {"gtf", {SFL_COLL_GENES, SFL_COLL_TRANSCRIPTS, SFL_COLL_EXONS}, 3},
    [SFL_SOURCE_CANONICAL] = {"canonical_transcripts", {SFL_COLL_GENES}, 0},
    [SFL_SOURCE_OMIM] = {"omim", {SFL_COLL_GENES}, 0},
    [SFL_SOURCE_DBNSFP_GENES] = {"dbnsfp_genes", {SFL_COLL_GENES}, 0},
    [SFL_SOURCE_DBSNP] = {"dbsnp", {SFL_COLL_DBSNP}, 1},
};

const char *sfl_source_kind_name(sfl_source_kind_t k)
{
    return (unsigned)k < SFL_N_SOURCE_KINDS ? kinds[k].name : "unknown";
}

void sfl_source_collections(sfl_source_kind_t k, bool out[SFL_N_COLLECTIONS])
{
    memset(out, 0, sizeof(bool) * SFL_N_COLLECTIONS);
    if ((unsigned)k >= SFL_N_SOURCE_KINDS)
        return;
    for (int i = 0; i < kinds[k].n_fills; i++)
        out[kinds[k].fills[i]] = true;
}

/* convert_opts.c: the shared conversion options and the job they build. */
#include <stdlib.h>
#include <string.h>

#include "convert_opts.h"
#include "server_opts.h"

void cli_convert_init(cli_convert_t *c)
{
    memset(c, 0, sizeof *c);
    sfl_options_init(&c->opt);
}

void cli_convert_free(cli_convert_t *c)
{
    cli_catch_signals(NULL);
    free(c->sources);
    free(c->regions);
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
}

static int add_region(cli_convert_t *c, int is_file, const char *arg)
{
    cli_source_t *q = realloc(c->regions, (c->n_regions + 1) * sizeof *q);
    if (!q) {
        cli_error("out of memory");
        return -1;
    }
    q[c->n_regions].kind = (sfl_source_kind_t)is_file;
    q[c->n_regions++].path = arg;
    c->regions = q;
    return 1;
}

static int add_source(cli_convert_t *c, sfl_source_kind_t kind, const char *path)
{
    cli_source_t *q = realloc(c->sources, (c->n_sources + 1) * sizeof *q);
    if (!q) {
        cli_error("out of memory");
        return -1;
    }
    q[c->n_sources].kind = kind;
    q[c->n_sources++].path = path;
    c->sources = q;
    return 1;
}

bool cli_convert_add_owned_region(cli_convert_t *c, char *spec)
{
    char **q = spec ? realloc(c->owned, (c->n_owned + 1) * sizeof *q) : NULL;
    if (!q) {
        free(spec);
        cli_error("out of memory");
        return false;
    }
    c->owned = q;
    c->owned[c->n_owned++] = spec;
    return add_region(c, 0, spec) > 0;
}

int cli_convert_option(cli_convert_t *c, int id, const char *arg)
{
    unsigned long long v;
    switch (id) {
    case 1000: return add_source(c, SFL_SOURCE_VCF, arg);
    case 1001: return add_source(c, SFL_SOURCE_COVERAGE, arg);
    case 1002:
        if (!sfl_style_parse(arg, &c->opt.style)) {
            cli_error("--style must be auto, exac, swegen, gnomad or gnomad2, not '%s'", arg);
            return -1;
        }
        return 1;
    case 1003:
        if (!sfl_histograms_parse(arg, &c->opt.histograms)) {
            cli_error("--histograms must be pairs, columns or none, not '%s'", arg);
            return -1;
        }
        return 1;
    case 1004:
        if (!cli_parse_u64("--coverage-step", arg, &v))
            return -1;
        if (v < 1 || v > 1000000000ull) {
            cli_error("--coverage-step must be from 1 to 1000000000");
            return -1;
        }
        c->opt.coverage_step = (uint32_t)v;
        return 1;
    case 1005:
        if (!cli_parse_u64("--threads", arg, &v))
            return -1;
        if (v > 256) {
            cli_error("--threads must be from 0 (all cores) to 256");
            return -1;
        }
        c->opt.threads = (int)v;
        return 1;
    case 1006:
        if (!cli_parse_u64("--max-errors", arg, &v))
            return -1;
        c->opt.max_errors = v;
        return 1;
    case 1007: c->opt.rejects_path = arg; return 1;
    case 1008: c->json = true; return 1;
    case 1009: c->quiet = true; return 1;
    case 1011: c->verbose = true; return 1;
    case 1016: c->opt.allow_empty = true; return 1;
    case 1010:
        if (!cli_parse_u64("--chunk-size", arg, &v))
            return -1;
        c->opt.chunk_bytes = (size_t)v;
        return 1;
    case 1012: c->opt.csq_field = arg; return 1;
    case 1013: c->opt.csq_format = arg; return 1;
    case 1014:
        if (!sfl_vep_features_parse(arg, &c->opt.vep_features)) {
            cli_error("--vep-features must be all or enst, not '%s'", arg);
            return -1;
        }
        return 1;
    case 1015:
        if (!sfl_genome_parse(arg, &c->opt.genome)) {
            cli_error("--genome must be GRCh37 or GRCh38, not '%s'", arg);
            return -1;
        }
        return 1;
    case 1100: return add_source(c, SFL_SOURCE_GTF, arg);
    case 1101: return add_source(c, SFL_SOURCE_CANONICAL, arg);
    case 1102: return add_source(c, SFL_SOURCE_OMIM, arg);
    case 1103: return add_source(c, SFL_SOURCE_DBNSFP_GENES, arg);
    case 1104: return add_source(c, SFL_SOURCE_DBSNP, arg);
    case 1105: c->opt.skip_unknown_contigs = true; return 1;
    case 1106: return add_region(c, 0, arg);
    case 1107: return add_region(c, 1, arg);
    default: return 0;
    }
}

bool cli_convert_no_operands(int argc, char **argv)
{
    if (optind >= argc)
        return true;
    cli_error("unexpected argument '%s' (source files need --vcf, --coverage, --gtf, --dbsnp, ...)",
              argv[optind]);
    return false;
}

static void cancel_job(void *job) { sfl_job_cancel(job); }

void cli_catch_signals(sfl_job_t *job)
{
    cli_catch_signals_with(job ? cancel_job : NULL, job);
}

sfl_job_t *cli_convert_job(cli_convert_t *c, int *exit_code)
{
    if (c->n_sources == 0) {
        cli_error("nothing to do: give at least one --vcf, --coverage, --gtf or --dbsnp file");
        *exit_code = EXIT_USAGE;
        return NULL;
    }
    cli_term_init(&c->term, c->quiet);
    c->term.verbose = c->verbose && !c->quiet;
    c->opt.log = cli_log;
    c->opt.log_ud = &c->term;
    c->opt.progress = cli_progress;
    c->opt.progress_ud = &c->term;
    sfl_error_t err;
    sfl_job_t *job = sfl_job_new(&c->opt, &err);
    bool ok = job != NULL;
    for (size_t i = 0; ok && i < c->n_sources; i++)
        ok = sfl_job_add_source(job, c->sources[i].kind, c->sources[i].path, &err);
    for (size_t i = 0; ok && i < c->n_regions; i++)
        ok = c->regions[i].kind ? sfl_job_add_regions_file(job, c->regions[i].path, &err)
                                : sfl_job_add_region(job, c->regions[i].path, &err);
    if (!ok) {
        cli_print_error(&err);
        *exit_code = cli_exit_code(&err);
        sfl_job_destroy(job);
        return NULL;
    }
    cli_catch_signals(job);
    return job;
}

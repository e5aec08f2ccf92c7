/* convert_opts.h: the options every converting command shares (sources,
 * style, histograms, threads, errors) and building a job from them. */
#ifndef SFL_CONVERT_OPTS_H
#define SFL_CONVERT_OPTS_H

#include <getopt.h>

#include "cli.h"

/* A source file as given on the command line. */
typedef struct {
    sfl_source_kind_t kind;
    const char *path;
} cli_source_t;

typedef struct {
    sfl_options_t opt;
    cli_source_t *sources; /* in the order given */
    size_t n_sources;
    cli_source_t *regions; /* --region (kind 0) and --regions-file (1), in order */
    size_t n_regions;
    char **owned; /* strings made here (the regions of a resumed load's plan) */
    size_t n_owned;
    bool json;
    bool quiet;
    bool verbose;
    cli_term_t term;
} cli_convert_t;

/* getopt_long entries for the shared options; ids start at 1000. */
#define CLI_CONVERT_LONGOPTS                                                                      \
    {"vcf", required_argument, NULL, 1000}, {"coverage", required_argument, NULL, 1001},          \
        {"style", required_argument, NULL, 1002}, {"histograms", required_argument, NULL, 1003},  \
        {"coverage-step", required_argument, NULL, 1004},                                         \
        {"threads", required_argument, NULL, 1005}, {"max-errors", required_argument, NULL, 1006}, \
        {"rejects", required_argument, NULL, 1007}, {"json", no_argument, NULL, 1008},            \
        {"quiet", no_argument, NULL, 1009}, {"chunk-size", required_argument, NULL, 1010},  \
        {"verbose", no_argument, NULL, 1011}, {"csq-field", required_argument, NULL, 1012},     \
        {"csq-format", required_argument, NULL, 1013},                                            \
        {"vep-features", required_argument, NULL, 1014}, {"genome", required_argument, NULL, 1015}, \
        {"allow-empty", no_argument, NULL, 1016}, {"gtf", required_argument, NULL, 1100},        \
        {"canonical-transcripts", required_argument, NULL, 1101},                                 \
        {"omim", required_argument, NULL, 1102}, {"dbnsfp-genes", required_argument, NULL, 1103}, \
        {"dbsnp", required_argument, NULL, 1104},                                                 \
        {"skip-unknown-contigs", no_argument, NULL, 1105},                                      \
        {"region", required_argument, NULL, 1106},                                                \
        {"regions-file", required_argument, NULL, 1107}

#define CLI_CONVERT_HELP                                                                          \
    "  --vcf FILE            a sites VCF (bgzipped or plain); repeat for more files\n"            \
    "  --coverage FILE       a coverage file (bgzipped or plain); repeat for more\n"              \
    "                        (sources are read in the order given)\n"                            \
    "  --style S             auto (default), exac, swegen, gnomad or gnomad2: INFO names\n"      \
    "  --histograms H        pairs (default, the browser's), columns or none\n"                   \
    "  --coverage-step N     keep only coverage rows whose pos is a multiple of N (1)\n"          \
    "  --threads N           parser threads (default: number of cores)\n"                         \
    "  --max-errors N        skip up to N bad lines instead of stopping (default 0)\n"            \
    "  --rejects FILE        write skipped lines there, each after a '## reason' line\n"          \
    "  --json                print the summary as JSON on stdout\n"                               \
    "  --quiet               no warnings or progress on stderr\n"                                 \
    "  --verbose             also informational messages (style detected, load phases)\n"      \
    "  --csq-field NAME      the INFO field of the VEP annotations (default: the one\n"          \
    "                        described as VEP's consequence annotations, or CSQ)\n"              \
    "  --csq-format 'A|B|..' its field names, instead of the header's Format list\n"            \
    "  --vep-features F      all (default, SweFreq's browser) or enst (only Feature ENST*,\n"    \
    "                        the ExAC browser's rule): entries kept in vep_annotations\n"        \
    "  --genome G            GRCh37 or GRCh38 (default: from the ##contig lengths), for\n"       \
    "                        gnomAD hemizygotes outside the pseudoautosomal regions\n"      \
    "  --allow-empty         accept a source with a header and no records\n"                           \
    "  --gtf FILE            a GENCODE GTF: genes, transcripts, exons\n"                          \
    "  --canonical-transcripts FILE  gene id, transcript id: canonical_transcript\n"           \
    "  --omim FILE           gene, transcript, accession, description: omim_*\n"              \
    "  --dbnsfp-genes FILE   dbNSFP's gene file: full_gene_name, other_names\n"               \
    "  --dbsnp FILE          rsid, chromosome, 0-based position (the ExAC loader's file)\n"    \
    "  --skip-unknown-contigs  leave GTF/dbSNP lines on contigs without an xpos code out,\n"  \
    "                        counted (default: refused)\n"                                    \
    "  --region CHROM[:START-END]  read only the records whose POS lies there (1-based,\n"      \
    "                        inclusive); repeatable; VCF and coverage files need a .tbi\n"   \
    "                        or .csi index; overlapping regions are refused\n"              \
    "  --regions-file BED    the same from a BED file (0-based, half-open)\n"

void cli_convert_init(cli_convert_t *c);
void cli_convert_free(cli_convert_t *c);
/* Handles a shared option; 1 = handled, 0 = not ours, -1 = bad value. */
int cli_convert_option(cli_convert_t *c, int id, const char *arg);
/* Adds a --region spec made here (the string is taken and freed with
 * `c`); false after a message. */
bool cli_convert_add_owned_region(cli_convert_t *c, char *spec);
/* After getopt: refuses leftover arguments (a source file needs --vcf or
 * --coverage). Returns false after printing a message. */
bool cli_convert_no_operands(int argc, char **argv);

/* SIGINT and SIGTERM cancel `job` (NULL restores the defaults). */
void cli_catch_signals(sfl_job_t *job);

/* A job with every source added, with SIGINT/SIGTERM cancelling it; NULL
 * (message printed) on failure. */
sfl_job_t *cli_convert_job(cli_convert_t *c, int *exit_code);

#endif

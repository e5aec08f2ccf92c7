/* swefreq/job.h: one conversion run, from source files to a sink.
 *
 * A job holds the options and the list of sources. sfl_job_run() reads each
 * source in the order added, converts it on a pool of parser threads, puts
 * the resulting batches back in input order, checks order and uniqueness,
 * digests every document and hands the batches to the sink; at the end it
 * commits the sink with a manifest of exactly what it wrote, or aborts it.
 *
 * The manifest names each source by the SHA-256 of its bytes: for the
 * MongoDB sink (which records the sources' hashes when it begins) they are
 * taken before the sink begins; for every other sink one more thread takes
 * them while the pipeline reads the sources, and sfl_job_run waits for it
 * before it returns.
 *
 * Thread safety: a job is not safe for concurrent use; distinct jobs are.
 * Callbacks are called from the thread that called sfl_job_run().
 */
#ifndef SWEFREQ_JOB_H
#define SWEFREQ_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"
#include "swefreq/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the INFO fields of a dataset are named (see the README). */
typedef enum {
    SFL_STYLE_AUTO = 0, /* detect from the header */
    SFL_STYLE_EXAC = 1,
    SFL_STYLE_SWEGEN = 2,
    SFL_STYLE_GNOMAD = 3,
    SFL_STYLE_GNOMAD2 = 4 /* gnomAD r2.0: Hom, Hom_<POP>, Hemi, Hemi_<POP> */
} sfl_style_t;

/* "auto", "exac", "swegen", "gnomad", "gnomad2"; and the reverse (false if
 * unknown). */
SFL_API const char *sfl_style_name(sfl_style_t s);
SFL_API bool sfl_style_parse(const char *name, sfl_style_t *out);

/* sfl_histograms_t (how DP_HIST / GQ_HIST become genotype_depths /
 * genotype_qualities) is in swefreq/sink.h: a sink learns the shape of
 * its documents from begin's sfl_run_info_t. */
SFL_API const char *sfl_histograms_name(sfl_histograms_t h);
SFL_API bool sfl_histograms_parse(const char *name, sfl_histograms_t *out);

/* Which consequence entries of an allele go into vep_annotations. */
typedef enum {
    SFL_VEP_ALL = 0, /* every entry (SweFreq's browser)                    */
    SFL_VEP_ENST = 1 /* only entries whose Feature starts with ENST (ExAC's) */
} sfl_vep_features_t;

/* "all", "enst"; and the reverse (false if unknown). */
SFL_API const char *sfl_vep_features_name(sfl_vep_features_t v);
SFL_API bool sfl_vep_features_parse(const char *name, sfl_vep_features_t *out);

/* The genome build, for the pseudoautosomal regions (gnomAD hemizygotes). */
typedef enum {
    SFL_GENOME_AUTO = 0, /* from the ##contig lengths of 1, X, Y */
    SFL_GENOME_GRCH37 = 1,
    SFL_GENOME_GRCH38 = 2
} sfl_genome_t;

/* "auto", "GRCh37", "GRCh38"; and the reverse (false if unknown). */
SFL_API const char *sfl_genome_name(sfl_genome_t g);
SFL_API bool sfl_genome_parse(const char *name, sfl_genome_t *out);

/* The kinds of source file. Each fills the collections that
 * sfl_source_collections() names; the gene tables fill none themselves:
 * they are joined into the `genes` documents of the run's GTF. */
typedef enum {
    SFL_SOURCE_VCF = 0,
    SFL_SOURCE_COVERAGE = 1,
    SFL_SOURCE_GTF = 2,        /* genes, transcripts, exons           */
    SFL_SOURCE_CANONICAL = 3,  /* gene id, canonical transcript id    */
    SFL_SOURCE_OMIM = 4,       /* gene, transcript, accession, text   */
    SFL_SOURCE_DBNSFP_GENES = 5, /* dbNSFP's gene file               */
    SFL_SOURCE_DBSNP = 6,      /* rsid, chromosome, 0-based position  */
    SFL_N_SOURCE_KINDS = 7
} sfl_source_kind_t;

/* "vcf", "coverage", "gtf", "canonical_transcripts", "omim",
 * "dbnsfp_genes", "dbsnp"; "unknown" when out of range. Every *_name
 * function of the library follows this rule: a value out of range gives
 * "unknown", never NULL, so a name can go straight into a message. */
SFL_API const char *sfl_source_kind_name(sfl_source_kind_t k);

/* The collections a source of kind `k` fills (false for the others).
 * A VCF fills `variants` and `metrics`; a GTF `genes`, `transcripts` and
 * `exons`; the gene tables none. */
SFL_API void sfl_source_collections(sfl_source_kind_t k, bool out[SFL_N_COLLECTIONS]);

/* DEBUG: details for whoever investigates a run (the resolved settings,
 * timings); the CLI never shows them. A callback should ignore levels it
 * does not know: later versions may add some. */
typedef enum {
    SFL_LOG_ERROR = 0,
    SFL_LOG_WARNING = 1,
    SFL_LOG_INFO = 2,
    SFL_LOG_DEBUG = 3
} sfl_log_level_t;

/* Receives the library's messages; `msg` is valid during the call only. */
typedef void (*sfl_log_fn)(void *ud, sfl_log_level_t level, const char *msg);

typedef struct {
    uint64_t bytes_done;  /* compressed bytes consumed, all sources  */
    uint64_t bytes_total; /* sum of the sources' file sizes          */
    uint64_t docs;        /* documents handed to the sink            */
    double seconds;       /* since sfl_job_run started               */
    const char *source;   /* the source being read (in the last call:
                             the last one read), as given; valid during
                             the call only; NULL before the first     */
} sfl_progress_t;

typedef void (*sfl_progress_fn)(void *ud, const sfl_progress_t *p);

/* A cancel handle for the calls that take an sfl_run_control_t (verify
 * and export; a job has sfl_job_cancel). sfl_cancel_request may be called
 * from any thread and from a signal handler (it only sets an atomic flag);
 * the running call then stops soon and fails with SFL_E_CANCELLED. The
 * handle is the caller's: destroy it after the call returned. */
typedef struct sfl_cancel sfl_cancel_t;
SFL_API sfl_cancel_t *sfl_cancel_new(void) SFL_WUR;
SFL_API void sfl_cancel_request(sfl_cancel_t *c);
SFL_API bool sfl_cancel_requested(const sfl_cancel_t *c);
SFL_API void sfl_cancel_destroy(sfl_cancel_t *c);

/* Progress and cancellation of a verify or an export (the *_ctl
 * functions of verify.h, mongo.h and lifecycle.h). The progress callback
 * is called on the calling thread, about 4 times a second and once at the
 * end: bytes_done/bytes_total count the files or collections read (a
 * database's collections by the BSON bytes its manifest records), docs
 * the documents read, source the file or collection at hand. */
typedef struct {
    size_t struct_size;       /* set by sfl_run_control_init            */
    sfl_progress_fn progress; /* NULL = none                            */
    void *progress_ud;
    sfl_cancel_t *cancel;     /* NULL = not cancellable; borrowed during
                                 the call                               */
} sfl_run_control_t;
SFL_API void sfl_run_control_init(sfl_run_control_t *c);

typedef struct {
    size_t struct_size;         /* set by sfl_options_init              */
    int threads;                /* parser threads; 0 = number of cores  */
    sfl_style_t style;          /* default SFL_STYLE_AUTO               */
    sfl_histograms_t histograms;/* default SFL_HIST_PAIRS               */
    uint32_t coverage_step;     /* keep pos % step == 0; default 1      */
    uint64_t max_errors;        /* bad lines to skip before failing; 0  */
    const char *rejects_path;   /* skipped lines go here; NULL = none   */
    size_t chunk_bytes;         /* text per parser job; default 1 MiB;
                                   4096 to 256 MiB                      */
    int queue_per_thread;       /* jobs in flight per thread; default 2;
                                   1 to 64                              */
    sfl_log_fn log;             /* NULL = messages are dropped          */
    void *log_ud;
    sfl_progress_fn progress;   /* NULL = none; called ~4 times/second  */
    void *progress_ud;
    bool allow_empty;           /* accept a source with a header and no
                                   records (default false: SFL_E_EMPTY) */
    /* Added later; struct_size tells which of these a caller knows. */
    const char *csq_field;      /* consequence INFO field; NULL = found by
                                   its Description (or CSQ); copied       */
    const char *csq_format;     /* "A|B|..." instead of the header's
                                   Format list; NULL = the header's       */
    sfl_vep_features_t vep_features; /* default SFL_VEP_ALL            */
    sfl_genome_t genome;        /* default SFL_GENOME_AUTO              */
    bool skip_unknown_contigs;  /* GTF and dbSNP lines on a contig
                                   without an xpos code are left out and
                                   counted (default false: refused)     */
    const char *spill_dir;      /* the folder of the metrics' spill file
                                   (about 9 bytes per variant, removed
                                   as it is made); NULL = $TMPDIR, else
                                   /tmp; copied                         */
} sfl_options_t;

/* Fills `opt` with the defaults above. */
SFL_API void sfl_options_init(sfl_options_t *opt);

/* Which consequence annotations a VCF source was read with. */
typedef struct {
    const char *source;  /* the path as added                           */
    const char *field;   /* INFO key (CSQ, vep, ...); NULL = none found   */
    const char *format;  /* the Format list used, "A|B|..."; NULL = none  */
    bool format_overridden; /* from sfl_options_t.csq_format            */
    bool gnomad_v40_repair; /* SIFT|PolyPhen inserted after SOURCE      */
} sfl_annotation_used_t;

/* How a gene table joined the GTF's genes (ids without version). */
typedef struct {
    const char *source;     /* the path as added                        */
    const char *kind;       /* canonical_transcripts, omim, dbnsfp_genes */
    uint64_t rows;          /* data rows that name a gene               */
    uint64_t unjoined_rows; /* of those, rows whose gene no GTF gene line
                               has: in no document (a warning too)      */
} sfl_table_join_t;

/* Counts for the end-of-run summary. Plain data, owned by the job. */
typedef struct {
    uint64_t sources;
    uint64_t records_read;            /* data lines read                  */
    uint64_t docs[SFL_N_COLLECTIONS]; /* documents written per collection */
    uint64_t bson_bytes[SFL_N_COLLECTIONS];
    uint64_t bytes_read;              /* uncompressed text bytes          */
    uint64_t file_bytes;              /* compressed bytes on disk         */
    uint64_t rejected;                /* lines skipped under --max-errors */
    uint64_t rejected_by_code[64];    /* indexed by sfl_error_code_t      */
    uint64_t no_alt_sites;            /* lines whose ALT is '.'           */
    uint64_t blank_lines;
    uint64_t coverage_thinned;        /* rows left out by coverage_step   */
    uint64_t csq_unmatched;           /* CSQ entries matching no ALT      */
    uint64_t non_finite;              /* NaN/Inf numbers written as null  */
    size_t n_missing;                 /* expected fields lacking on lines */
    const char *const *missing_names;
    const uint64_t *missing_counts;
    double seconds;
    int threads;
    uint64_t unterminated_lines;      /* sources whose last line had no
                                         newline (read as it is, warned) */
    /* Added later. The consequence field used for each VCF source, in
     * source order (field NULL when the file has none). */
    size_t n_annotations;
    const sfl_annotation_used_t *annotations;
    /* Warnings of the run that concern the whole file, not one line
     * (a VCF without consequence annotations, the gnomAD v4.0 Format
     * repair); each message once. */
    size_t n_warnings;
    const char *const *warnings;
    /* Added later: lines left out on purpose, as the ExAC loader does. */
    uint64_t unknown_contig_lines;    /* --skip-unknown-contigs (GTF, dbSNP) */
    uint64_t dbsnp_par_rows;          /* dbSNP rows on chromosome PAR       */
    uint64_t dbsnp_unplaced_rows;     /* dbSNP rows without a position      */
    uint64_t gtf_other_features;      /* GTF lines other than gene,
                                         transcript, exon, CDS, UTR         */
    uint64_t metrics_values_left_out; /* null values, or DP/site quality
                                         <= 0 (no logarithm)              */
    /* Added later: each gene table's join, in source order (filled after
     * the GTF was read). */
    size_t n_table_joins;
    const sfl_table_join_t *table_joins;
    /* Added later: population codes that accepted VCF lines carried
     * (AC_<code>) but the header does not declare, with the number of
     * lines; their counts are in no document (a warning each). */
    size_t n_undeclared_pops;
    const char *const *undeclared_pop_names;
    const uint64_t *undeclared_pop_counts;
} sfl_summary_t;

typedef struct sfl_job sfl_job_t;

/* Creates a job; `opt` is copied (strings are copied too); NULL = defaults.
 * Returns NULL with err filled (SFL_E_USAGE, naming the option) on an
 * invalid option: a value out of its stated range is refused, never
 * clamped. */
SFL_API sfl_job_t *sfl_job_new(const sfl_options_t *opt, sfl_error_t *err) SFL_WUR;

/* Adds a source file; `path` is copied. Files are read in the order added.
 * Fails only on a bad argument: files are opened by sfl_job_run. */
SFL_API bool sfl_job_add_source(sfl_job_t *job, sfl_source_kind_t kind,
                                const char *path, sfl_error_t *err) SFL_WUR;

/* Regions: every VCF and coverage source of the job is read only where
 * a region holds its records' POS (a coverage row's pos), not by overlap,
 * so regions partition a file's records and an indel that straddles a
 * boundary is read once (README "Regions"). Each such source needs a .tbi
 * or .csi index; its regions are read in the file's order (its contigs'
 * order, then start). The other kinds of source are read whole. The
 * manifest records the regions (docs/manifest.md). `spec` is "CHROM" or
 * "CHROM:START-END", 1-based and inclusive like samtools' and bcftools';
 * a bad spec, or one that overlaps a region already added, is
 * SFL_E_USAGE naming both. A BED file (0-based, half-open) is read at
 * once; a bad line, or a region of it that overlaps one already added, is
 * SFL_E_REGION naming the file and line. A missing index, or a contig the
 * index does not know, is SFL_E_REGION from sfl_job_run, before the sink
 * begins (nothing written). Strings are copied. Not after sfl_job_run. */
SFL_API bool sfl_job_add_region(sfl_job_t *job, const char *spec, sfl_error_t *err) SFL_WUR;
SFL_API bool sfl_job_add_regions_file(sfl_job_t *job, const char *path,
                                      sfl_error_t *err) SFL_WUR;

/* Runs the job into `sink` (borrowed). Returns true when every source was
 * converted and the sink committed. On false, whatever failed (a missing
 * source, the rejects file, a bad line, the sink itself), the sink has been
 * aborted: its abort callback ran if its begin had run, nothing was
 * committed, and the sink cannot be used again; err says why and the
 * summary still holds the counts so far. A job runs once. A job without
 * a source is refused (SFL_E_USAGE) before anything is written: its empty
 * load would otherwise become a manifest that checks nothing. */
SFL_API bool sfl_job_run(sfl_job_t *job, sfl_sink_t *sink, sfl_error_t *err) SFL_WUR;

/* The counts; valid until the job is destroyed. */
SFL_API const sfl_summary_t *sfl_job_summary(const sfl_job_t *job);

/* The manifest of the last successful run, or NULL; owned by the job. */
SFL_API const sfl_manifest_t *sfl_job_manifest(const sfl_job_t *job);

/* The summary as a JSON object (malloc'd; free() it). */
SFL_API char *sfl_job_summary_json(const sfl_job_t *job);

/* Asks a running sfl_job_run() to stop: it finishes the batch at hand,
 * aborts the sink and returns false with SFL_E_CANCELLED. Safe to call from
 * any thread and from a signal handler (it only sets atomic flags). It
 * reaches the running sink too, so a MongoDB load also stops during index
 * builds and the staging check (see swefreq/mongo.h). */
SFL_API void sfl_job_cancel(sfl_job_t *job);

/* Accepts NULL. */
SFL_API void sfl_job_destroy(sfl_job_t *job);

#ifdef __cplusplus
}
#endif
#endif

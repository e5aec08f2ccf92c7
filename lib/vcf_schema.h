/* vcf_schema.h: what a VCF header tells the converter, resolved once per
 * file: the dataset style, which INFO key feeds which document field, the
 * populations, the CSQ field list and the histogram bin mids.
 *
 * Built from htslib's parsed header before any data line is read; read-only
 * afterwards, so every parser thread shares one. Private to the library.
 */
#ifndef SFL_VCF_SCHEMA_H
#define SFL_VCF_SCHEMA_H

#include <htslib/vcf.h>

#include "swefreq/error.h"
#include "swefreq/job.h"

/* Fixed slots; population slots follow at SFL_SLOT_POP0 + 4*p + {0..3}. */
enum {
    SFL_SLOT_AC = 0,
    SFL_SLOT_AN,
    SFL_SLOT_HOM,
    SFL_SLOT_HEMI,
    SFL_SLOT_DP_HIST,
    SFL_SLOT_GQ_HIST,
    SFL_SLOT_CSQ,
    SFL_SLOT_QM0, /* 10 quality metrics */
    SFL_SLOT_POP0 = SFL_SLOT_QM0 + 10
};
enum { SFL_POP_AC = 0, SFL_POP_AN, SFL_POP_HOM, SFL_POP_HEMI };

#define SFL_N_QUALITY_METRICS 10
extern const char *const sfl_quality_metrics[SFL_N_QUALITY_METRICS];

typedef struct {
    char *name;     /* display name: the document key */
    size_t name_len;
    char *code;     /* as in the header */
} sfl_population_t;

/* One way to name the fields of a consequence entry. */
typedef struct {
    int n_fields;
    char **fields;
    size_t *field_len;
    int allele_num, allele, gene, feature, feature_type; /* -1 = absent */
} sfl_csq_layout_t;

/* The genome build and its pseudoautosomal regions. */
typedef struct {
    sfl_genome_t genome; /* SFL_GENOME_AUTO = unknown */
    int64_t x_par[2][2], y_par[2][2]; /* [region][start, end], 1-based, inclusive */
} sfl_build_t;

typedef struct {
    sfl_style_t style;
    sfl_histograms_t histograms;
    int n_columns;  /* 8, or 9 + samples */

    /* slots */
    int n_slots;
    char **slot_key;       /* INFO key per slot (NULL = not used) */
    bool *slot_declared;   /* declared in the header              */
    bool *slot_expected;   /* a line lacking it counts as missing */

    /* key -> slot hash (open addressing, power-of-two size); each entry
     * keeps its key's full hash and length, so that a probe compares
     * bytes only when both match */
    uint32_t hash_mask;
    struct sfl_slot_entry {
        int32_t slot; /* -1 = empty */
        uint32_t hash, len;
    } *hash_slot;

    int n_pops;
    sfl_population_t *pops;
    bool hemi_pops;        /* any Hemi_<POP> declared */

    /* Consequence annotations (CSQ, vep, ...). csq[0] is the Format list
     * used (the header's or --csq-format); csq[1], only for gnomAD
     * v4.0's header (csq_v40_repair), is that list with SIFT|PolyPhen
     * after SOURCE, used for a line whose every entry has that count. */
    bool csq_declared;
    char *csq_key;          /* the INFO key (slot SFL_SLOT_CSQ)           */
    char *csq_format;       /* the list used, '|'-joined              */
    bool csq_overridden;    /* csq_format came from the options       */
    bool csq_v40_repair;
    sfl_csq_layout_t csq[2];
    sfl_vep_features_t vep_features;

    /* gnomAD hemizygotes: the XY/male allele counts outside the PARs
     * (slots SFL_SLOT_HEMI and SFL_POP_HEMI hold AC_XY / AC_<pop>_XY, or the
     * _male ones). */
    bool hemi_nonpar;
    sfl_build_t build;

    /* histograms */
    int dp_n_mids, gq_n_mids;
    double *dp_mids, *gq_mids;

    bool adj0_filter; /* ExAC: PASS with AC 0 becomes AC_Adj0 */

    /* Undeclared populations: the style's AC_ prefix (NULL = none), and
     * the declared INFO ids that start with it. */
    const char *pop_prefix;
    size_t pop_prefix_len;
    bool exclude_underscore;
    char **declared_pop_keys;
    size_t n_declared_pop_keys;
    int32_t *declared_set; /* open addressing over them; -1 = empty */
    uint32_t declared_mask;

    /* ##contig lengths by xpos code (1..25); 0 = unknown, or two contigs
     * of one code (chr1 and 1) with different lengths. */
    int64_t contig_len[26];
} sfl_vcf_schema_t;

/* Builds the schema from the header and the options that shape documents
 * (style, histograms, csq_field, csq_format, vep_features, genome);
 * `path` is only for messages. */
sfl_vcf_schema_t *sfl_vcf_schema_new(const bcf_hdr_t *hdr, const sfl_options_t *opt,
                                     const char *path, sfl_error_t *err);

/* True when (contig code, POS) lies on X or Y outside the build's PARs. */
bool sfl_build_nonpar(const sfl_build_t *b, int contig_code, int64_t pos);

/* gnomAD v4.0's header Format list (46 fields), and the 48 its entries
 * really have. */
extern const char sfl_gnomad_v40_format[];
extern const char sfl_gnomad_v40_entries[];
void sfl_vcf_schema_destroy(sfl_vcf_schema_t *s);

/* Receives a warning about a header line (a line htslib would ignore or
 * guess at), to be counted in the run's summary; false when out of
 * memory. */
typedef bool (*sfl_header_warn_fn)(void *ud, const char *msg);

/* Checks a VCF header's text (`htxt`, `hlen` bytes of the leading '#'
 * lines, `header_lines` of them, as sfl_reader_header read it): it must
 * start with ##fileformat=VCF and end with the #CHROM line, and htslib must
 * parse it. Then builds the schema with the job's options. `path` is only
 * for messages. */
sfl_vcf_schema_t *sfl_vcf_schema_from_header(char *htxt, size_t hlen, uint64_t header_lines,
                                             const sfl_options_t *opt, const char *path,
                                             sfl_header_warn_fn warn, void *warn_ud,
                                             sfl_error_t *err);

/* Is INFO key [k, k+len) (no slot) a population's AC key (AC_<code>, the
 * code not one of the suffixes that are never populations) that the
 * header does not declare? Sets *code_off to where the code starts. */
bool sfl_vcf_schema_undeclared_pop(const sfl_vcf_schema_t *s, const char *k, size_t len,
                                   size_t *code_off);

/* The slot of INFO key [k, k+len), or -1. */
int sfl_vcf_schema_slot(const sfl_vcf_schema_t *s, const char *k, size_t len);

#endif

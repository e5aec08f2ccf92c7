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

/* Fixed slots; population slots follow at SLOT_POP0 + 4*p + {0..3}. */
enum {
    SLOT_AC = 0,
    SLOT_AN,
    SLOT_HOM,
    SLOT_HEMI,
    SLOT_DP_HIST,
    SLOT_GQ_HIST,
    SLOT_CSQ,
    SLOT_QM0, /* 10 quality metrics */
    SLOT_POP0 = SLOT_QM0 + 10
};
enum { POP_AC = 0, POP_AN, POP_HOM, POP_HEMI };

#define SFL_N_QUALITY_METRICS 10
extern const char *const sfl_quality_metrics[SFL_N_QUALITY_METRICS];

typedef struct {
    char *name;     /* display name: the document key */
    size_t name_len;
    char *code;     /* as in the header */
} sfl_population_t;

typedef struct {
    sfl_style_t style;
    sfl_histograms_t histograms;
    int n_columns;  /* 8, or 9 + samples */

    /* slots */
    int n_slots;
    char **slot_key;       /* INFO key per slot (NULL = not used) */
    bool *slot_declared;   /* declared in the header              */
    bool *slot_expected;   /* a line lacking it counts as missing */

    /* key -> slot hash (open addressing, power-of-two size) */
    uint32_t hash_mask;
    int32_t *hash_slot;    /* -1 = empty */

    int n_pops;
    sfl_population_t *pops;
    bool hemi_pops;        /* any Hemi_<POP> declared */

    /* CSQ */
    bool csq_declared;
    int csq_n_fields;
    char **csq_fields;
    size_t *csq_field_len;
    int csq_allele_num, csq_allele, csq_gene, csq_feature, csq_feature_type; /* -1 = absent */

    /* histograms */
    int dp_n_mids, gq_n_mids;
    double *dp_mids, *gq_mids;

    bool adj0_filter; /* ExAC: PASS with AC 0 becomes AC_Adj0 */
} sfl_vcf_schema_t;

/* Builds the schema; `path` is only for messages. */
sfl_vcf_schema_t *sfl_vcf_schema_new(const bcf_hdr_t *hdr, sfl_style_t style,
                                     sfl_histograms_t hist, const char *path, sfl_error_t *err);
void sfl_vcf_schema_destroy(sfl_vcf_schema_t *s);

/* Checks a VCF header's text (`htxt`, `hlen` bytes of the leading '#'
 * lines, `header_lines` of them, as sfl_reader_header read it): it must
 * start with ##fileformat=VCF and end with the #CHROM line, and htslib must
 * parse it. Then builds the schema with the job's options. `path` is only
 * for messages. */
sfl_vcf_schema_t *sfl_vcf_schema_from_header(char *htxt, size_t hlen, uint64_t header_lines,
                                             const sfl_options_t *opt, const char *path,
                                             sfl_error_t *err);

/* The slot of INFO key [k, k+len), or -1. */
int sfl_vcf_schema_slot(const sfl_vcf_schema_t *s, const char *k, size_t len);

#endif

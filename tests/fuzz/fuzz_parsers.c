/* fuzz_parsers.c: libFuzzer target for the parsers of outside input.
 *
 * The first byte picks the parser: even = sites-VCF data lines under an
 * ExAC-style header (INFO styles, CSQ with ALLELE_NUM, histograms) or a
 * gnomAD v4.0-style one (the 46/48-field vep repair, comma continuation,
 * hemizygotes outside the PARs, --vep-features enst), odd = coverage rows. The rest is split into lines and converted. Every
 * document produced must be valid BSON with _id first; every rejected line
 * must carry a message naming the file and line. Build with
 * -DSFL_FUZZ=ON and clang (see tests/fuzz/README.md).
 */
#include <bson/bson.h>
#include <htslib/vcf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coverage_doc.h"
#include "variant_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *hdr =
    "##fileformat=VCFv4.1\n"
    "##INFO=<ID=AC_Adj,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_Adj,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_Hom,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_Hemi,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_AFR,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_AFR,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=Hom_AFR,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=Hemi_AFR,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=QD,Number=1,Type=Float,Description=\"x\">\n"
    "##INFO=<ID=DP_HIST,Number=R,Type=String,Description=\"Mids: 2.5|7.5|12.5\">\n"
    "##INFO=<ID=GQ_HIST,Number=R,Type=String,Description=\"Mids: 5|15\">\n"
    "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Format: Allele|Gene|Feature|Feature_type|ALLELE_NUM\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

/* gnomAD v4.0 shape: vep's 46-field Format is prepended at run time. */
static const char *gnomad_hdr =
    "##INFO=<ID=AC,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=nhomalt,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_XY,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_afr,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_afr,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_afr_XY,Number=A,Type=Integer,Description=\"x\">\n"
    "##contig=<ID=chrX,length=156040895>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

static sfl_vcf_schema_t *vschema[4];
static sfl_coverage_schema_t *cschema;

static void init(void)
{
    if (cschema)
        return;
    for (int h = 0; h < 3; h++) {
        bcf_hdr_t *bh = bcf_hdr_init("r");
        char *copy = strdup(hdr);
        if (bcf_hdr_parse(bh, copy) != 0)
            abort();
        free(copy);
        sfl_options_t o;
        sfl_options_init(&o);
        o.style = SFL_STYLE_EXAC;
        o.histograms = (sfl_histograms_t)h;
        vschema[h] = sfl_vcf_schema_new(bh, &o, "f.vcf", NULL);
        bcf_hdr_destroy(bh);
        if (!vschema[h])
            abort();
    }
    {
        size_t n = strlen(sfl_gnomad_v40_format) + strlen(gnomad_hdr) + 256;
        char *g = malloc(n);
        snprintf(g, n,
                 "##fileformat=VCFv4.2\n##INFO=<ID=vep,Number=.,Type=String,Description=\""
                 "Consequence annotations from Ensembl VEP. Format: %s\">\n%s",
                 sfl_gnomad_v40_format, gnomad_hdr);
        bcf_hdr_t *bh = bcf_hdr_init("r");
        if (bcf_hdr_parse(bh, g) != 0)
            abort();
        free(g);
        sfl_options_t o;
        sfl_options_init(&o);
        o.vep_features = SFL_VEP_ENST;
        vschema[3] = sfl_vcf_schema_new(bh, &o, "f.vcf", NULL);
        bcf_hdr_destroy(bh);
        if (!vschema[3])
            abort();
    }
    const char *ch = "#chrom\tpos\tmean\tmedian\t1";
    cschema = sfl_coverage_schema_new(ch, strlen(ch), 1, "f.tsv", NULL);
    if (!cschema)
        abort();
}

static void check_batch(const sfl_parsed_batch_t *b)
{
    for (size_t i = 0; i < b->n_docs; i++) {
        bson_t d;
        size_t off;
        if (!bson_init_static(&d, b->buf + b->docs[i].off, b->docs[i].len) ||
            !bson_validate(&d, BSON_VALIDATE_UTF8, &off))
            abort();
        bson_iter_t it;
        if (!bson_iter_init(&it, &d) || !bson_iter_next(&it) || strcmp(bson_iter_key(&it), "_id"))
            abort();
    }
    for (size_t i = 0; i < b->n_lines; i++)
        if (b->lines[i].code != 0 && !strstr(sfl_batch_msg(b, &b->lines[i]), ": line "))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    bool vcf = (data[0] & 1) == 0;
    int hist = (data[0] >> 1) % 4; /* 3: the gnomAD schema */
    sfl_parsed_batch_t *b = sfl_batch_new();
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    b->text = text;
    b->text_len = size - 1;
    sfl_vcf_worker_t *vw = NULL;
    sfl_coverage_worker_t *cw = NULL;
    if (vcf) {
        b->n_missing = vschema[hist]->n_slots;
        b->missing = calloc((size_t)b->n_missing, sizeof *b->missing);
        vw = sfl_vcf_worker_new(vschema[hist]);
    } else {
        cw = sfl_coverage_worker_new(cschema);
    }
    const char *p = text, *end = text + size - 1;
    uint64_t ln = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            if (vcf)
                sfl_vcf_line_to_docs(vw, b, "f.vcf", ln, p, (size_t)(le - p), (uint32_t)(p - text));
            else
                sfl_coverage_line_to_doc(cw, b, "f.tsv", ln, p, (size_t)(le - p),
                                         (uint32_t)(p - text));
        }
        ln++;
        p = le + 1;
    }
    if (!b->failed)
        check_batch(b);
    sfl_vcf_worker_destroy(vw);
    sfl_coverage_worker_destroy(cw);
    sfl_batch_destroy(b);
    return 0;
}

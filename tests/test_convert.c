/* Unit tests: INFO mapping per dataset style, CSQ splitting and matching,
 * histograms, missing fields, line errors, coverage rows, BSON types. */
#include <bson/bson.h>
#include <htslib/vcf.h>
#include <math.h>

#include "bson_enc.h"
#include "coverage_doc.h"
#include "testutil.h"
#include "variant_doc.h"

/* A schema under options `o`; NULL with the message in `msg`. */
static sfl_vcf_schema_t *schema_opt(const char *htxt, const sfl_options_t *o, char msg[512])
{
    bcf_hdr_t *h = bcf_hdr_init("r");
    char *copy = strdup(htxt);
    int rc = bcf_hdr_parse(h, copy);
    free(copy);
    CHECK_INT(rc, 0);
    sfl_error_t err;
    sfl_vcf_schema_t *s = sfl_vcf_schema_new(h, o, "t.vcf", &err);
    snprintf(msg, 512, "%.500s", s ? "" : err.message);
    bcf_hdr_destroy(h);
    return s;
}

static sfl_vcf_schema_t *schema_from(const char *htxt, sfl_style_t style, sfl_histograms_t hist)
{
    sfl_options_t o;
    sfl_options_init(&o);
    o.style = style;
    o.histograms = hist;
    char msg[512];
    sfl_vcf_schema_t *s = schema_opt(htxt, &o, msg);
    if (!s)
        fprintf(stderr, "schema: %s\n", msg);
    return s;
}

/* Every level of document `doc` holds each key once (drivers would keep
 * one of two values); counts a failure naming the key otherwise. */
static void check_no_repeated_key(const uint8_t *doc, size_t len)
{
    const char *dup = sfl_enc_repeated_key(doc, len);
    t_checks++;
    if (dup) {
        t_failures++;
        fprintf(stderr, "a document holds the key '%s' twice\n", dup);
        return;
    }
    bson_t d;
    bson_iter_t it;
    if (!bson_init_static(&d, doc, len) || !bson_iter_init(&it, &d))
        return;
    while (bson_iter_next(&it))
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            uint32_t sl;
            const uint8_t *sub;
            if (BSON_ITER_HOLDS_DOCUMENT(&it))
                bson_iter_document(&it, &sl, &sub);
            else
                bson_iter_array(&it, &sl, &sub);
            check_no_repeated_key(sub, sl);
        }
}

static sfl_parsed_batch_t *convert_raw(const sfl_vcf_schema_t *s, const char *line);

/* One line's documents, each walked for repeated keys at every depth. */
static sfl_parsed_batch_t *convert(const sfl_vcf_schema_t *s, const char *line)
{
    sfl_parsed_batch_t *b = convert_raw(s, line);
    for (size_t i = 0; i < b->n_docs; i++)
        check_no_repeated_key(b->buf + b->docs[i].off, b->docs[i].len);
    return b;
}

static sfl_parsed_batch_t *convert_raw(const sfl_vcf_schema_t *s, const char *line)
{
    sfl_parsed_batch_t *b = sfl_batch_new();
    b->n_missing = s->n_slots;
    b->missing = calloc((size_t)s->n_slots, sizeof *b->missing);
    sfl_vcf_worker_t *w = sfl_vcf_worker_new(s);
    b->text = strdup(line);
    b->text_len = strlen(line);
    CHECK(sfl_vcf_line_to_docs(w, b, "t.vcf", 7, line, strlen(line), 0));
    sfl_vcf_worker_destroy(w);
    return b;
}

/* A view of document i (bson_t must not be copied by value: a static
 * bson_t points into itself). */
static void doc_of(const sfl_parsed_batch_t *b, size_t i, bson_t *d)
{
    bson_init_static(d, b->buf + b->docs[i].off, b->docs[i].len);
}

static void check_type(const bson_t *d, const char *path, bson_type_t t)
{
    bson_iter_t it, f;
    t_checks++;
    if (!bson_iter_init(&it, d) || !bson_iter_find_descendant(&it, path, &f) ||
        bson_iter_type(&f) != t) {
        t_failures++;
        fprintf(stderr, "field %s: missing or type %d, expected type %d\n", path,
                bson_iter_init(&it, d) && bson_iter_find_descendant(&it, path, &f)
                    ? (int)bson_iter_type(&f) : -1, (int)t);
    }
}

static long long get_int(const bson_t *d, const char *path)
{
    bson_iter_t it, f;
    if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, path, &f) &&
        (BSON_ITER_HOLDS_INT32(&f) || BSON_ITER_HOLDS_INT64(&f)))
        return bson_iter_as_int64(&f);
    return -999999;
}

static double get_double(const bson_t *d, const char *path)
{
    bson_iter_t it, f;
    if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, path, &f) &&
        BSON_ITER_HOLDS_DOUBLE(&f))
        return bson_iter_double(&f);
    return -999999;
}

static const char *get_str(const bson_t *d, const char *path)
{
    bson_iter_t it, f;
    if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, path, &f) &&
        BSON_ITER_HOLDS_UTF8(&f))
        return bson_iter_utf8(&f, NULL);
    return NULL;
}

static const char *first_key(const bson_t *d)
{
    bson_iter_t it;
    return bson_iter_init(&it, d) && bson_iter_next(&it) ? bson_iter_key(&it) : NULL;
}

#define CSQ_FMT "Allele|Gene|Feature|Feature_type|Consequence|ALLELE_NUM"
static const char *exac_hdr =
    "##fileformat=VCFv4.1\n"
    "##INFO=<ID=AC_Adj,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_Adj,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_Hom,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_Hemi,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_AFR,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_AFR,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=Hom_AFR,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_FOO,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_FOO,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=Hom_FOO,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AC_MALE,Number=A,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=AN_MALE,Number=1,Type=Integer,Description=\"x\">\n"
    "##INFO=<ID=QD,Number=1,Type=Float,Description=\"x\">\n"
    "##INFO=<ID=VQSLOD,Number=1,Type=Float,Description=\"x\">\n"
    "##INFO=<ID=DB,Number=0,Type=Flag,Description=\"x\">\n"
    "##INFO=<ID=DP_HIST,Number=R,Type=String,Description=\"Histogram for DP; Mids: 2.5|7.5|12.5\">\n"
    "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"VEP. Format: " CSQ_FMT "\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

static void test_exac(void)
{
    sfl_vcf_schema_t *s = schema_from(exac_hdr, SFL_STYLE_AUTO, SFL_HIST_PAIRS);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_INT(s->style, SFL_STYLE_EXAC);
    CHECK_INT(s->n_pops, 2); /* AFR and FOO; MALE is not a population */
    CHECK_STR(s->pops[0].name, "African");
    CHECK_STR(s->pops[1].name, "FOO");
    CHECK_INT(s->csq[0].n_fields, 6);
    CHECK_INT(s->dp_n_mids, 3);

    sfl_parsed_batch_t *b = convert(
        s, "X\t1000\trs1\tCTT\tC,CT\t12.5\tPASS\t"
           "AC_Adj=0,3;AN_Adj=100;AC_Hom=0,1;AC_Hemi=0,2;AC_AFR=0,2;AN_AFR=40;Hom_AFR=0,1;"
           "AC_FOO=0,1;AN_FOO=60;QD=0.1;VQSLOD=-1.234e+01;DB;DP_HIST=1|2|3,4|5|6,7|8|9;"
           "CSQ=-|G1|T1|Transcript|x|1,T|G1|T1|Transcript|y|2,T|G2|T2|Transcript|z|2,"
           "T|G1|R1|RegulatoryFeature|w|2");
    CHECK_INT(b->n_docs, 2);
    CHECK_INT(b->lines[0].code, SFL_OK);
    if (b->n_docs == 2) {
        bson_t d0, d1;
        doc_of(b, 0, &d0);
        doc_of(b, 1, &d1);
        CHECK_STR(first_key(&d0), "_id");
        CHECK_STR(get_str(&d0, "_id"), "X-1000-CTT-C");
        CHECK_STR(get_str(&d1, "_id"), "X-1000-CT-C");
        check_type(&d0, "xpos", BSON_TYPE_INT64);
        CHECK_INT(get_int(&d0, "xpos"), 23000001000LL);
        CHECK_INT(get_int(&d0, "xstop"), 23000001000LL - 2);
        check_type(&d0, "pos", BSON_TYPE_INT32);
        CHECK_STR(get_str(&d0, "filter"), "AC_Adj0"); /* PASS with AC_Adj 0 */
        CHECK_STR(get_str(&d1, "filter"), "PASS");
        CHECK_INT(get_int(&d1, "allele_count"), 3);
        CHECK_INT(get_int(&d1, "allele_num"), 100);
        CHECK(get_double(&d1, "allele_freq") == 0.03);
        CHECK_INT(get_int(&d1, "hom_count"), 1);
        CHECK_INT(get_int(&d1, "hemi_count"), 2);
        CHECK_INT(get_int(&d1, "pop_acs.African"), 2);
        CHECK_INT(get_int(&d1, "pop_ans.FOO"), 60);
        check_type(&d1, "pop_homs.FOO", BSON_TYPE_NULL); /* Hom_FOO absent */
        CHECK(get_double(&d1, "quality_metrics.QD") == 0.1);
        CHECK(get_double(&d1, "quality_metrics.VQSLOD") == -12.34);
        CHECK(get_double(&d1, "site_quality") == 12.5);
        CHECK(get_double(&d1, "genotype_depths.0.1.0") == 7.5);
        CHECK_INT(get_int(&d1, "genotype_depths.0.1.1"), 2);
        CHECK_INT(get_int(&d1, "genotype_depths.1.2.1"), 9);
        /* CSQ: allele 2 has 3 entries; genes/transcripts from Transcripts only */
        CHECK_STR(get_str(&d1, "vep_annotations.2.Feature_type"), "RegulatoryFeature");
        CHECK_STR(get_str(&d1, "genes.0"), "G1");
        CHECK_STR(get_str(&d1, "genes.1"), "G2");
        CHECK(get_str(&d1, "genes.2") == NULL);
        CHECK_STR(get_str(&d1, "transcripts.1"), "T2");
        CHECK(get_str(&d1, "transcripts.2") == NULL);
        CHECK_STR(get_str(&d0, "vep_annotations.0.Allele"), "-");
        CHECK(get_str(&d0, "vep_annotations.1.Allele") == NULL);
        CHECK_STR(get_str(&d0, "orig_alt_alleles.1"), "X-1000-CT-C");
    }
    sfl_batch_destroy(b);

    /* Missing fields become null and are counted; QUAL '.' is null. */
    b = convert(s, "1\t5\t.\tA\tG\t.\tLowQual\tAC_Adj=1;AC_AFR=1;AN_AFR=2;DP_HIST=1|1|1,1|1|1");
    CHECK_INT(b->n_docs, 1);
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        check_type(&d, "allele_num", BSON_TYPE_NULL);
        check_type(&d, "allele_freq", BSON_TYPE_NULL);
        check_type(&d, "site_quality", BSON_TYPE_NULL);
        check_type(&d, "hom_count", BSON_TYPE_NULL);
        bson_iter_t it;
        CHECK(!bson_iter_init_find(&it, &d, "hemi_count")); /* only when present */
        check_type(&d, "vep_annotations", BSON_TYPE_ARRAY);
    }
    CHECK_INT(b->missing[SFL_SLOT_AN], 1);
    CHECK_INT(b->missing[SFL_SLOT_HOM], 1);
    CHECK_INT(b->missing[SFL_SLOT_CSQ], 1);
    sfl_batch_destroy(b);

    /* Line errors name the field and the problem. */
    struct {
        const char *line, *msg;
    } bad[] = {
        {"1\t5\t.\tA\tG,T\t1\tPASS\tAC_Adj=1;AN_Adj=2", "AC_Adj has 1 value but the line has 2 ALT"},
        {"1\t5\t.\tA\tG\t1\tPASS\tAC_Adj=x;AN_Adj=2", "AC_Adj value 'x' is not an integer"},
        {"1\tfive\t.\tA\tG\t1\tPASS\tAC_Adj=1", "POS 'five' is not a position"},
        {"1\t5\t.\tA\tG\t1\tPASS", "found 7 tab-separated columns, expected 8"},
        {"chrUn\t5\t.\tA\tG\t1\tPASS\t.", "unknown contig 'chrUn'"},
        {"1\t5\t.\tA\tG\tabc\tPASS\t.", "QUAL 'abc' is not a number"},
        {"1\t5\t.\tA\tG\t1\tPASS\tCSQ=A|B", "CSQ entry 1 has 2 fields but the header's Format lists 6"},
        {"1\t5\t.\tA\tG\t1\tPASS\tCSQ=A|G|T|Transcript|x|3", "ALLELE_NUM '3' but the line has 1 ALT"},
        {"1\t5\t.\tA\tG\t1\tPASS\tDP_HIST=1|2,3|4", "DP_HIST entry 1 has 2 bins but the header's Mids list 3"},
        {"1\t5\t.\tA\tG\t1\tPASS\tQD=fast", "QD value 'fast' is not a number"},
        {"1\t5\t.\tA\tG\t1\tPASS\tAC_Adj=1\xff", "not valid UTF-8"},
        {"1\t5\t.\tA\tG\t0x10\tPASS\t.", "QUAL '0x10' is not a number"},
        {"1\t5\t.\tA\tG\t 5\tPASS\t.", "QUAL ' 5' is not a number"},
        {"1\t999999999\t.\tAAC\tATC\t1\tPASS\t.", "past the largest position"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = convert(s, bad[i].line);
        CHECK_INT(b->n_docs, 0);
        CHECK_INT(b->lines[0].code, SFL_E_LINE);
        CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[0]), bad[i].msg);
        CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[0]), "t.vcf: line 7:");
        sfl_batch_destroy(b);
    }
    /* No ALT: counted, no document. */
    b = convert(s, "1\t5\t.\tA\t.\t1\tPASS\t.");
    CHECK_INT(b->n_docs, 0);
    CHECK_INT(b->no_alt, 1);
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);

    /* --histograms columns / none */
    s = schema_from(exac_hdr, SFL_STYLE_EXAC, SFL_HIST_COLUMNS);
    b = convert(s, "1\t5\t.\tA\tG\t1\tPASS\tAC_Adj=1;AN_Adj=2;DP_HIST=1|2|3,4|5|6");
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        CHECK(get_double(&d, "genotype_depths.1.mids.2") == 12.5);
        CHECK_INT(get_int(&d, "genotype_depths.1.counts.2"), 6);
    }
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);
    s = schema_from(exac_hdr, SFL_STYLE_EXAC, SFL_HIST_NONE);
    b = convert(s, "1\t5\t.\tA\tG\t1\tPASS\tAC_Adj=1;AN_Adj=2;DP_HIST=1|2|3,4|5|6");
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        bson_iter_t it;
        CHECK(!bson_iter_init_find(&it, &d, "genotype_depths"));
    }
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);
}

static void test_swegen_gnomad(void)
{
    const char *sw = "##fileformat=VCFv4.2\n"
                     "##INFO=<ID=AC,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AN,Number=1,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AF,Number=A,Type=Float,Description=\"x\">\n"
                     "##INFO=<ID=AC_Hom,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Format: Allele|Gene|Feature\">\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    sfl_vcf_schema_t *s = schema_from(sw, SFL_STYLE_AUTO, SFL_HIST_PAIRS);
    CHECK_INT(s->style, SFL_STYLE_SWEGEN);
    CHECK_INT(s->n_pops, 0);
    /* Matching on Allele: AT>A,ATT => VEP alleles "-" and "TT". */
    sfl_parsed_batch_t *b =
        convert(s, "chr1\t10\t.\tAT\tA,ATT\t50\tPASS\tAC=0,0;AN=0;AC_Hom=0,0;"
                   "CSQ=TT|G1|T1,-|G2|T2,Q|G3|T3");
    CHECK_INT(b->n_docs, 2);
    CHECK_INT(b->csq_unmatched, 1);
    if (b->n_docs == 2) {
        bson_t d0, d1;
        doc_of(b, 0, &d0);
        doc_of(b, 1, &d1);
        CHECK_STR(get_str(&d0, "_id"), "chr1-10-AT-A");
        CHECK_STR(get_str(&d0, "genes.0"), "G2");
        CHECK_STR(get_str(&d1, "genes.0"), "G1");
        check_type(&d0, "allele_freq", BSON_TYPE_NULL); /* AN 0 */
        check_type(&d0, "pop_acs", BSON_TYPE_DOCUMENT);
    }
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);

    const char *gn = "##fileformat=VCFv4.2\n"
                     "##INFO=<ID=AC,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AN,Number=1,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=nhomalt,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AC_nfe,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AN_nfe,Number=1,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=nhomalt_nfe,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AC_nfe_male,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AN_nfe_male,Number=1,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AC_female,Number=A,Type=Integer,Description=\"x\">\n"
                     "##INFO=<ID=AN_female,Number=1,Type=Integer,Description=\"x\">\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    s = schema_from(gn, SFL_STYLE_AUTO, SFL_HIST_PAIRS);
    CHECK_INT(s->style, SFL_STYLE_GNOMAD);
    CHECK_INT(s->n_pops, 1);
    b = convert(s, "chrX\t10\t.\tA\tG\t50\tPASS\tAC=5;AN=10;nhomalt=2;AC_nfe=4;AN_nfe=8;nhomalt_nfe=1");
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        CHECK_INT(get_int(&d, "hom_count"), 2);
        CHECK_INT(get_int(&d, "pop_acs.European (Non-Finnish)"), 4);
        CHECK_INT(get_int(&d, "pop_homs.European (Non-Finnish)"), 1);
        CHECK(get_double(&d, "allele_freq") == 0.5);
    }
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);
}

static void test_coverage(void)
{
    const char *h = "#chrom\tpos\tmean\tmedian\t1\t5";
    sfl_error_t err;
    sfl_coverage_schema_t *s = sfl_coverage_schema_new(h, strlen(h), 1, "c.tsv", &err);
    CHECK(s != NULL);
    CHECK_INT(s->n_metrics, 4);
    sfl_coverage_worker_t *w = sfl_coverage_worker_new(s);
    sfl_parsed_batch_t *b = sfl_batch_new();
    const char *rows[] = {"1\t100\t31.45\t30\t1\t0.9912", "X\t7\t-0.0\tnan\t0\t1",
                          "1\t101\t1\t2\t3", "1\t102\tNA\t1\t1\t1", "GL1\t5\t1\t1\t1\t1"};
    for (size_t i = 0; i < 5; i++)
        CHECK(sfl_coverage_line_to_doc(w, b, "c.tsv", i + 2, rows[i], strlen(rows[i]), 0));
    CHECK_INT(b->n_docs, 2);
    bson_t d0, d1;
        doc_of(b, 0, &d0);
        doc_of(b, 1, &d1);
    CHECK_STR(first_key(&d0), "_id");
    check_type(&d0, "_id", BSON_TYPE_INT64);
    CHECK_INT(get_int(&d0, "_id"), 1000000100LL);
    CHECK_INT(b->docs[0].id_len, 0); /* no string _id: positions stand for it */
    check_type(&d0, "median", BSON_TYPE_DOUBLE);
    CHECK(get_double(&d0, "mean") == 31.45);
    CHECK(get_double(&d0, "5") == 0.9912);
    double mz = get_double(&d1, "mean");
    CHECK(mz == 0.0 && !signbit(mz)); /* -0.0 written as 0.0 */
    check_type(&d1, "median", BSON_TYPE_NULL); /* nan -> null */
    CHECK_INT(b->non_finite, 1);
    CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[2]), "found 5 tab-separated columns, expected 6");
    CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[3]), "column mean value 'NA' is not a number");
    CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[4]), "unknown contig 'GL1'");
    sfl_batch_destroy(b);
    sfl_coverage_worker_destroy(w);
    sfl_coverage_schema_destroy(s);

    s = sfl_coverage_schema_new(h, strlen(h), 10, "c.tsv", &err);
    w = sfl_coverage_worker_new(s);
    b = sfl_batch_new();
    for (int pos = 1; pos <= 30; pos++) {
        char row[64];
        snprintf(row, sizeof row, "2\t%d\t1\t1\t1\t1", pos);
        CHECK(sfl_coverage_line_to_doc(w, b, "c.tsv", (uint64_t)pos, row, strlen(row), 0));
    }
    CHECK_INT(b->n_docs, 3);
    CHECK_INT(b->thinned, 27);
    sfl_batch_destroy(b);
    sfl_coverage_worker_destroy(w);
    sfl_coverage_schema_destroy(s);

    CHECK(sfl_coverage_schema_new("1\t2\t3", 5, 1, "c.tsv", &err) == NULL);
    CHECK_CONTAINS(err.message, "c.tsv: line 1: missing header");
}


/* ---- gnomAD releases (issue 10) and the annotation scope (issue 15) ---- */

#define HDR_START "##fileformat=VCFv4.2\n"
#define INFO_A(id) "##INFO=<ID=" id ",Number=A,Type=Integer,Description=\"x\">\n"
#define INFO_1(id) "##INFO=<ID=" id ",Number=1,Type=Integer,Description=\"x\">\n"
#define HDR_END "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
#define VEP_LINE(fmt)                                                                              \
    "##INFO=<ID=vep,Number=.,Type=String,Description=\"Consequence annotations from Ensembl "      \
    "VEP. Format: " fmt "\">\n"
#define GRCH38_CONTIGS                                                                             \
    "##contig=<ID=chr1,length=248956422>\n##contig=<ID=chrX,length=156040895>\n"               \
    "##contig=<ID=chrY,length=57227415>\n"

static void test_csq_field_and_entries(void)
{
    char msg[512];
    sfl_options_t o;
    sfl_options_init(&o);
    /* Found by its Description, whatever its name; a piece without '|'
     * continues the previous entry's last field. */
    const char *h = HDR_START INFO_A("AC") INFO_1("AN") VEP_LINE("Allele|Gene|Feature|ALLELE_NUM|LoF_info") HDR_END;
    sfl_vcf_schema_t *s = schema_opt(h, &o, msg);
    CHECK(s && s->csq_declared);
    if (!s)
        return;
    CHECK_STR(s->csq_key, "vep");
    CHECK_STR(s->csq_format, "Allele|Gene|Feature|ALLELE_NUM|LoF_info");
    sfl_parsed_batch_t *b = convert(s, "1\t10\t.\tA\tG\t50\tPASS\tAC=1;AN=2;"
                                    "vep=G|G1|ENST1|1|GERP:-5.1,BP:3,PCT:0.4,G|G1|ENST2|1|");
    CHECK_INT(b->n_docs, 1);
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        CHECK_STR(get_str(&d, "vep_annotations.0.LoF_info"), "GERP:-5.1,BP:3,PCT:0.4");
        CHECK_STR(get_str(&d, "vep_annotations.1.Feature"), "ENST2");
        CHECK_STR(get_str(&d, "transcripts.1"), "ENST2");
    }
    sfl_batch_destroy(b);
    /* Still the wrong count after rejoining: refused, naming field and entry. */
    b = convert(s, "1\t10\t.\tA\tG\t50\tPASS\tAC=1;AN=2;vep=G|G1|ENST1|1,x,G|G1|ENST2");
    CHECK_INT(b->n_docs, 0);
    CHECK(b->n_lines == 1 && b->lines[0].code != 0 &&
          strstr(sfl_batch_msg(b, &b->lines[0]), "vep entry 1 has 4 fields") != NULL);
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);

    /* A period closing the Description's sentence is not part of a name. */
    s = schema_opt(HDR_START INFO_A("AC") INFO_1("AN") VEP_LINE("Allele|ALLELE_NUM|LoF_info.") HDR_END,
                   &o, msg);
    CHECK(s && s->csq[0].n_fields == 3 && strcmp(s->csq[0].fields[2], "LoF_info") == 0);
    sfl_vcf_schema_destroy(s);

    /* --csq-field names it; --csq-format overrides the Format. */
    const char *two = HDR_START INFO_A("AC") INFO_1("AN") VEP_LINE("Allele|Gene|ALLELE_NUM")
        "##INFO=<ID=vep2,Number=.,Type=String,Description=\"Consequence annotations from Ensembl "
        "VEP. Format: Allele|ALLELE_NUM\">\n" HDR_END;
    s = schema_opt(two, &o, msg);
    CHECK(s == NULL && strstr(msg, "(sfl_options_t.csq_field)") != NULL && !strstr(msg, "--"));
    sfl_vcf_schema_destroy(s);
    o.csq_field = "vep2";
    o.csq_format = "Allele|Feature|ALLELE_NUM";
    s = schema_opt(two, &o, msg);
    CHECK(s && strcmp(s->csq_key, "vep2") == 0 && s->csq_overridden && s->csq[0].n_fields == 3);
    sfl_vcf_schema_destroy(s);
    o.csq_field = "ANN";
    s = schema_opt(two, &o, msg);
    CHECK(s == NULL && strstr(msg, "consequence field ANN (sfl_options_t.csq_field)") != NULL);
    sfl_vcf_schema_destroy(s);
}

static void test_gnomad_v40_repair(void)
{
    char msg[512];
    sfl_options_t o;
    sfl_options_init(&o);
    char hdr[4096];
    snprintf(hdr, sizeof hdr,
             HDR_START INFO_A("AC") INFO_1("AN") "##INFO=<ID=vep,Number=.,Type=String,"
             "Description=\"Consequence annotations from Ensembl VEP. Format: %s\">\n" HDR_END,
             sfl_gnomad_v40_format);
    sfl_vcf_schema_t *s = schema_opt(hdr, &o, msg);
    CHECK(s && s->csq_v40_repair && s->csq[0].n_fields == 46 && s->csq[1].n_fields == 48);
    if (!s)
        return;
    CHECK_STR(s->csq[1].fields[33], "SIFT");
    CHECK_STR(s->csq[1].fields[34], "PolyPhen");
    /* An entry of n fields: Allele G, ALLELE_NUM 1, Feature ENSTn, the
     * 33rd field (SOURCE) "Ensembl", and after it: SIFT/PolyPhen when 48,
     * then DOMAINS "dom". */
    char line[8192];
    const char *sizes[] = {"48", "46", "47", "mixed"};
    for (int t = 0; t < 4; t++) {
        char *p = line;
        p += sprintf(p, "1\t10\t.\tA\tG\t50\tPASS\tAC=1;AN=2;vep=");
        for (int e = 0; e < 2; e++) {
            int n = t == 0 ? 48 : t == 1 ? 46 : t == 2 ? (e == 0 ? 47 : 48) : (e == 0 ? 48 : 46);
            if (e)
                *p++ = ',';
            for (int f = 0; f < n; f++) {
                if (f)
                    *p++ = '|';
                if (f == 0)
                    p += sprintf(p, "G");
                else if (f == 6)
                    p += sprintf(p, "ENST%d", e);
                else if (f == 17)
                    p += sprintf(p, "1");
                else if (f == 32)
                    p += sprintf(p, "Ensembl");
                else if (f == (n == 48 ? 35 : 33))
                    p += sprintf(p, "dom");
            }
        }
        *p = '\0';
        sfl_parsed_batch_t *b = convert(s, line);
        if (t < 2) {
            CHECK_INT(b->n_docs, 1);
            CHECK_INT(b->lines[0].csq_repaired, t == 0);
            bson_t d;
            if (b->n_docs == 1) {
                doc_of(b, 0, &d);
                CHECK_STR(get_str(&d, "vep_annotations.1.DOMAINS"), "dom");
                CHECK_STR(get_str(&d, "vep_annotations.1.SOURCE"), "Ensembl");
                CHECK(t == 0 ? get_str(&d, "vep_annotations.1.SIFT") != NULL
                             : get_str(&d, "vep_annotations.1.SIFT") == NULL);
            }
        } else {
            CHECK_INT(b->n_docs, 0);
            const char *m = b->n_lines ? sfl_batch_msg(b, &b->lines[0]) : "";
            CHECK(strstr(m, t == 2 ? "vep entry 1 has 47 fields" : "46 and 48 fields on one") != NULL);
            if (!strstr(m, t == 2 ? "vep entry 1 has 47 fields" : "46 and 48 fields on one"))
                fprintf(stderr, "  %s: %s\n", sizes[t], m);
        }
        sfl_batch_destroy(b);
    }
    sfl_vcf_schema_destroy(s);
    /* --csq-format turns the repair off: the given list is the truth. */
    o.csq_format = sfl_gnomad_v40_entries;
    s = schema_opt(hdr, &o, msg);
    CHECK(s && !s->csq_v40_repair && s->csq[0].n_fields == 48);
    sfl_vcf_schema_destroy(s);
}

static void test_gnomad_hemi_and_pops(void)
{
    char msg[512];
    sfl_options_t o;
    sfl_options_init(&o);
    const char *h = HDR_START INFO_A("AC") INFO_1("AN") INFO_A("nhomalt") INFO_A("AC_XY")
        INFO_1("AN_XY") INFO_A("AC_XX") INFO_1("AN_XX") INFO_A("AC_afr") INFO_1("AN_afr")
        INFO_A("nhomalt_afr") INFO_A("AC_afr_XY") INFO_1("AN_afr_XY") INFO_A("AC_mid")
        INFO_1("AN_mid") INFO_A("AC_grpmax") INFO_1("AN_grpmax") INFO_A("AC_JOINT")
        INFO_1("AN_JOINT") INFO_A("AC_Popmax") INFO_1("AN_Popmax") INFO_A("AC_faf95")
        INFO_1("AN_faf95") INFO_A("AC_Raw") INFO_1("AN_Raw") INFO_A("AC_remaining")
        INFO_1("AN_remaining") INFO_A("AC_ami") INFO_1("AN_ami") GRCH38_CONTIGS HDR_END;
    sfl_vcf_schema_t *s = schema_opt(h, &o, msg);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "  %s\n", msg);
        return;
    }
    CHECK_INT(s->n_pops, 4);
    if (s->n_pops == 4) {
        CHECK_STR(s->pops[0].name, "African");
        CHECK_STR(s->pops[1].name, "Middle Eastern");
        CHECK_STR(s->pops[2].name, "Remaining");
        CHECK_STR(s->pops[3].name, "Amish");
    }
    CHECK(s->hemi_nonpar && s->build.genome == SFL_GENOME_GRCH38);
    /* PAR edges of GRCh38: X 10001-2781479, 155701383-156030895;
     * Y 10001-2781479, 56887903-57217415. */
    struct {
        const char *chrom;
        long long pos;
        bool hemi;
    } cases[] = {{"chrX", 10000, true},      {"chrX", 10001, false},    {"chrX", 2781479, false},
                 {"chrX", 2781480, true},    {"chrX", 155701382, true}, {"chrX", 155701383, false},
                 {"chrX", 156030895, false}, {"chrX", 156030896, true}, {"chrY", 10000, true},
                 {"chrY", 2781479, false},   {"chrY", 56887902, true},  {"chrY", 57217415, false},
                 {"chrY", 57217416, true},   {"chr1", 10000, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[512];
        snprintf(line, sizeof line,
                 "%s\t%lld\t.\tA\tG\t50\tPASS\tAC=5;AN=10;nhomalt=1;AC_XY=3;AN_XY=4;AC_afr=2;"
                 "AN_afr=4;nhomalt_afr=0;AC_afr_XY=1;AN_afr_XY=2;AC_mid=0;AN_mid=2;"
                 "AC_remaining=0;AN_remaining=2;AC_ami=0;AN_ami=2",
                 cases[i].chrom, cases[i].pos);
        sfl_parsed_batch_t *b = convert(s, line);
        CHECK_INT(b->n_docs, 1);
        if (b->n_docs == 1) {
            bson_t d;
            doc_of(b, 0, &d);
            CHECK_INT(get_int(&d, "hemi_count"), cases[i].hemi ? 3 : -999999);
            CHECK_INT(get_int(&d, "pop_hemis.African"), cases[i].hemi ? 1 : -999999);
            if (cases[i].hemi)
                check_type(&d, "pop_hemis.Middle Eastern", BSON_TYPE_NULL);
            /* AC_mid_XY is not declared: no count, the rest are per line */
            if ((get_int(&d, "hemi_count") == 3) != cases[i].hemi)
                fprintf(stderr, "  %s:%lld\n", cases[i].chrom, cases[i].pos);
        }
        sfl_batch_destroy(b);
    }
    /* On a non-PAR line a lacking AC_XY is a counted missing field (and
     * only an accepted line counts). */
    sfl_parsed_batch_t *b = convert(s, "chrX\t5000\t.\tA\tG\t50\tPASS\tAC=5;AN=10;nhomalt=1;AC_afr=2;"
                                    "AN_afr=4;nhomalt_afr=0;AC_mid=0;AN_mid=2;AC_remaining=0;"
                                    "AN_remaining=2;AC_ami=0;AN_ami=2");
    CHECK_INT(b->missing[SFL_SLOT_HEMI], 1);
    /* AC_XY, AC_afr_XY (AC_mid_XY... are not declared); nhomalt_mid,
     * nhomalt_remaining, nhomalt_ami */
    CHECK_INT(b->lines[0].miss_n, 2 + 3);
    sfl_batch_destroy(b);
    b = convert(s, "chrX\t5000\t.\tA\tG\t50\tPASS\tAC=5;AN=10;nhomalt=1;AC_afr=x");
    CHECK_INT(b->missing[SFL_SLOT_HEMI], 0);
    CHECK_INT(b->lines[0].miss_n, 0);
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);

    /* The build must be known: --genome, or refused. */
    const char *nolen = HDR_START INFO_A("AC") INFO_1("AN") INFO_A("nhomalt") INFO_A("AC_male")
        INFO_1("AN_male") HDR_END;
    s = schema_opt(nolen, &o, msg);
    CHECK(s == NULL && strstr(msg, "(sfl_options_t.genome)") != NULL && !strstr(msg, "--"));
    o.genome = SFL_GENOME_GRCH37;
    s = schema_opt(nolen, &o, msg);
    CHECK(s && s->build.x_par[0][0] == 60001 && s->build.x_par[1][1] == 155260560 &&
          s->build.y_par[0][1] == 2649520 && s->build.y_par[1][0] == 59034050);
    sfl_vcf_schema_destroy(s);
    s = schema_opt(h, &o, msg); /* GRCh38 lengths, --genome GRCh37 */
    CHECK(s == NULL && strstr(msg, "GRCh38") != NULL);
    sfl_vcf_schema_destroy(s);
}

static void test_gnomad2(void)
{
    const char *h = HDR_START INFO_A("AC") INFO_1("AN") INFO_A("AC_AFR") INFO_1("AN_AFR")
        INFO_A("Hom_AFR") INFO_A("Hemi_AFR") INFO_A("AC_Male") INFO_1("AN_Male") INFO_A("Hom")
        INFO_A("Hemi") INFO_A("AC_POPMAX") INFO_1("AN_POPMAX") HDR_END;
    sfl_vcf_schema_t *s = schema_from(h, SFL_STYLE_AUTO, SFL_HIST_PAIRS);
    CHECK(s && s->style == SFL_STYLE_GNOMAD2 && s->n_pops == 1);
    if (!s)
        return;
    sfl_parsed_batch_t *b = convert(s, "X\t5000000\t.\tA\tG\t50\tPASS\tAC=5;AN=10;AC_AFR=2;AN_AFR=4;"
                                    "Hom_AFR=1;Hemi_AFR=1;Hom=2;Hemi=3;AC_Male=3;AN_Male=4");
    if (b->n_docs == 1) {
        bson_t d;
        doc_of(b, 0, &d);
        CHECK_INT(get_int(&d, "hom_count"), 2);
        CHECK_INT(get_int(&d, "hemi_count"), 3);
        CHECK_INT(get_int(&d, "pop_homs.African"), 1);
        CHECK_INT(get_int(&d, "pop_hemis.African"), 1);
    }
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);
}

/* Issue 15: an allele with a high-confidence LoF transcript entry and a
 * regulatory entry keeps both under `all`, only the transcript under
 * `enst`; genes and transcripts are the same either way. */
static void test_vep_features(void)
{
    char msg[512];
    const char *h = HDR_START INFO_A("AC") INFO_1("AN")
        VEP_LINE("Allele|Gene|Feature_type|Feature|ALLELE_NUM|LoF|LoF_flags") HDR_END;
    const char *line = "1\t69516\t.\tG\tA\t50\tPASS\tAC=1;AN=2;vep=A|ENSG1|Transcript|ENST00000335137|1|"
                       "HC|SINGLE_EXON,A||RegulatoryFeature|ENSR00000000001|1||";
    for (int scope = 0; scope < 2; scope++) {
        sfl_options_t o;
        sfl_options_init(&o);
        o.vep_features = scope ? SFL_VEP_ENST : SFL_VEP_ALL;
        sfl_vcf_schema_t *s = schema_opt(h, &o, msg);
        CHECK(s != NULL);
        if (!s)
            continue;
        sfl_parsed_batch_t *b = convert(s, line);
        if (b->n_docs == 1) {
            bson_t d;
            doc_of(b, 0, &d);
            CHECK_STR(get_str(&d, "vep_annotations.0.LoF"), "HC");
            CHECK_STR(get_str(&d, "vep_annotations.0.LoF_flags"), "SINGLE_EXON");
            if (scope == 0)
                CHECK_STR(get_str(&d, "vep_annotations.1.Feature"), "ENSR00000000001");
            else
                CHECK(get_str(&d, "vep_annotations.1.Feature") == NULL);
            CHECK_STR(get_str(&d, "genes.0"), "ENSG1");
            CHECK_STR(get_str(&d, "transcripts.0"), "ENST00000335137");
            CHECK(get_str(&d, "transcripts.1") == NULL);
        }
        sfl_batch_destroy(b);
        sfl_vcf_schema_destroy(s);
    }
    /* enst needs a Feature field. */
    sfl_options_t o;
    sfl_options_init(&o);
    o.vep_features = SFL_VEP_ENST;
    sfl_vcf_schema_t *s = schema_opt(HDR_START INFO_A("AC") INFO_1("AN") VEP_LINE("Allele|ALLELE_NUM") HDR_END, &o, msg);
    CHECK(s == NULL && strstr(msg, "Feature") != NULL);
    sfl_vcf_schema_destroy(s);
}

/* VEP's allele spelling is one rule for any ALT count: a line of 65 ALTs
 * (more than the 64 a stack array once held) matches its annotations as a
 * line of 2 does. REF A with every ALT A is the one case where the old
 * shortcut above 64 ALTs (strip when every ALT starts with REF's base)
 * differed from the rule (never strip when every allele is one base). */
static void vep_allele_line(const sfl_vcf_schema_t *s, const char *ref, const char *first_alt,
                            const char *other_alt, size_t n_alt, const char *csq_allele)
{
    char *line = malloc(64 + n_alt * 16), *p = line;
    p += sprintf(p, "1\t10\t.\t%s\t%s", ref, first_alt);
    for (size_t i = 1; i < n_alt; i++) {
        /* other_alt then i in bases (distinct ALTs), or first_alt again */
        p += sprintf(p, ",%s", other_alt ? other_alt : first_alt);
        for (size_t k = i; other_alt && k; k /= 4)
            *p++ = "CGTA"[k % 4];
    }
    p += sprintf(p, "\t50\tPASS\tAC=");
    for (size_t i = 0; i < n_alt; i++)
        p += sprintf(p, "%s1", i ? "," : "");
    sprintf(p, ";AN=200;CSQ=%s|G1|ENST1", csq_allele);
    sfl_parsed_batch_t *b = convert(s, line);
    CHECK_INT(b->lines[0].code, SFL_OK);
    CHECK_INT(b->n_docs, n_alt);
    CHECK_INT(b->lines[0].csq_unmatched, 0);
    if (b->n_docs) {
        bson_t d;
        doc_of(b, 0, &d);
        CHECK_STR(get_str(&d, "vep_annotations.0.Allele"), csq_allele);
        CHECK_STR(get_str(&d, "genes.0"), "G1");
    }
    sfl_batch_destroy(b);
    free(line);
}

static void test_vep_allele_rule(void)
{
    sfl_vcf_schema_t *s = schema_from(HDR_START INFO_A("AC") INFO_1("AN")
                                      "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence "
                                      "annotations from Ensembl VEP. Format: Allele|Gene|Feature\">\n"
                                      HDR_END,
                                      SFL_STYLE_SWEGEN, SFL_HIST_PAIRS);
    CHECK(s != NULL);
    if (!s)
        return;
    size_t counts[] = {2, 64, 65, 200};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        /* REF AT, ALT A, AC1, AC2, ...: the first base goes, A becomes "-" */
        vep_allele_line(s, "AT", "A", "AC", counts[i], "-");
        /* every allele one base: REF A with every ALT A was the case where
         * an old shortcut differed from the rule; such a line (an ALT equal
         * to REF) is refused now (issue 21), whatever its ALT count. */
        char *line = malloc(64 + counts[i] * 2), *p = line;
        p += sprintf(p, "1\t10\t.\tA\tA");
        for (size_t k = 1; k < counts[i]; k++)
            p += sprintf(p, ",A");
        sprintf(p, "\t50\tPASS\tAC=1;AN=200;CSQ=A|G1|ENST1");
        sfl_parsed_batch_t *b = convert(s, line);
        CHECK_INT(b->lines[0].code, SFL_E_LINE);
        CHECK_CONTAINS(sfl_batch_msg(b, &b->lines[0]), "equals REF");
        CHECK_INT(b->n_docs, 0);
        sfl_batch_destroy(b);
        free(line);
    }
    sfl_vcf_schema_destroy(s);
}

/* Each document record says where its _id string is, as the builder wrote
 * it: the uniqueness check and the size message read it from there. */
static void test_doc_id_record(void)
{
    sfl_vcf_schema_t *s = schema_from(exac_hdr, SFL_STYLE_AUTO, SFL_HIST_PAIRS);
    CHECK(s != NULL);
    if (!s)
        return;
    sfl_parsed_batch_t *b = sfl_batch_new();
    b->n_missing = s->n_slots;
    b->missing = calloc((size_t)s->n_slots, sizeof *b->missing);
    sfl_vcf_worker_t *w = sfl_vcf_worker_new(s);
    const char *lines[] = {"1\t13372\trs1\tGTT\tG,GT,C\t608.91\tPASS\tAC_Adj=1,2,3;AN_Adj=10",
                           "chrX\t200\t.\tC\tCAAAA\t.\tPASS\tAC_Adj=0;AN_Adj=10"};
    for (size_t i = 0; i < 2; i++)
        CHECK(sfl_vcf_line_to_docs(w, b, "t.vcf", i + 1, lines[i], strlen(lines[i]), 0));
    CHECK_INT(b->n_docs, 4);
    for (size_t i = 0; i < b->n_docs; i++) {
        bson_t d;
        doc_of(b, i, &d);
        uint32_t len;
        const char *id = sfl_batch_doc_id(b, &b->docs[i], &len);
        const char *want = get_str(&d, "_id");
        CHECK(want && strlen(want) == len && memcmp(id, want, len) == 0);
        CHECK_STR(get_str(&d, "variant_id"), want);
    }
    sfl_vcf_worker_destroy(w);
    sfl_batch_destroy(b);
    sfl_vcf_schema_destroy(s);
}

/* Issue 21 item 2: two populations whose codes map to one display name
 * are refused at the header, naming both INFO ids; the encoder's check
 * finds a repeated key at one level. */
static void test_pop_name_collision(void)
{
    static const char *const pairs[][2] = {
        {"OTH", "oth"}, {"OTH", "Other"}, {"AFR", "African"}, {"afr", "African"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char h[2048];
        snprintf(h, sizeof h,
                 "##fileformat=VCFv4.1\n"
                 "##INFO=<ID=AC_Adj,Number=A,Type=Integer,Description=\"x\">\n"
                 "##INFO=<ID=AN_Adj,Number=1,Type=Integer,Description=\"x\">\n"
                 "##INFO=<ID=AC_%s,Number=A,Type=Integer,Description=\"x\">\n"
                 "##INFO=<ID=AN_%s,Number=1,Type=Integer,Description=\"x\">\n"
                 "##INFO=<ID=AC_%s,Number=A,Type=Integer,Description=\"x\">\n"
                 "##INFO=<ID=AN_%s,Number=1,Type=Integer,Description=\"x\">\n"
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
                 pairs[i][0], pairs[i][0], pairs[i][1], pairs[i][1]);
        sfl_options_t o;
        sfl_options_init(&o);
        o.style = SFL_STYLE_EXAC;
        char msg[512], a[32], b[32];
        sfl_vcf_schema_t *s = schema_opt(h, &o, msg);
        CHECK(s == NULL);
        snprintf(a, sizeof a, "AC_%s", pairs[i][0]);
        snprintf(b, sizeof b, "AC_%s", pairs[i][1]);
        CHECK_CONTAINS(msg, a);
        CHECK_CONTAINS(msg, b);
        CHECK_CONTAINS(msg, "t.vcf: header:");
        sfl_vcf_schema_destroy(s);
    }
    /* The checker itself: {a:1, b:{x:1, x:2}, a:3} repeats 'a'; its
     * sub-document repeats 'x'. */
    sfl_enc_t e = {0};
    size_t top = sfl_enc_begin(&e, 0, NULL, 0);
    sfl_enc_int(&e, "a", 1, 1);
    size_t sub = sfl_enc_begin(&e, 0x03, "b", 1);
    sfl_enc_int(&e, "x", 1, 1);
    size_t sub_at = sub;
    /* End the sub-document by hand (SFL_CHECK_KEYS builds would abort). */
    sfl_enc_int(&e, "y", 1, 2);
    e.p[e.len++] = 0;
    sfl_enc_u32(e.p + sub_at, (uint32_t)(e.len - sub_at));
    CHECK(sfl_enc_repeated_key(e.p + sub_at, e.len - sub_at) == NULL);
    sfl_enc_int(&e, "a", 1, 3);
    e.p[e.len++] = 0;
    sfl_enc_u32(e.p + top, (uint32_t)(e.len - top));
    CHECK_STR(sfl_enc_repeated_key(e.p + top, e.len - top), "a");
    free(e.p);
}

int main(void)
{
    test_pop_name_collision();
    test_exac();
    test_swegen_gnomad();
    test_coverage();
    test_csq_field_and_entries();
    test_gnomad_v40_repair();
    test_gnomad_hemi_and_pops();
    test_gnomad2();
    test_vep_features();
    test_vep_allele_rule();
    test_doc_id_record();
    return t_done("test_convert");
}

/* Integration tests of the pipeline: dumps identical for any thread count
 * and chunk size; documents read back from the .bson with libbson equal
 * the expected documents of the independent reference (testdata/expected);
 * bad lines, --max-errors and the rejects file; nothing left on failure. */
#include <stddef.h>
#include <bson/bson.h>
#include <fcntl.h>
#include <htslib/bgzf.h>
#include <htslib/hts_log.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

static char tmpdir[256];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    *len = got;
    return buf;
}

static bool run_dump(const char *out, int threads, size_t chunk, const char **vcfs, size_t nv,
                     const char **covs, size_t nc, sfl_options_t *extra, sfl_error_t *err,
                     sfl_job_t **job_out)
{
    sfl_options_t o;
    if (extra)
        o = *extra;
    else
        sfl_options_init(&o);
    o.threads = threads;
    o.chunk_bytes = chunk;
    sfl_job_t *job = sfl_job_new(&o, err);
    for (size_t i = 0; i < nv; i++)
        CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, vcfs[i], err));
    for (size_t i = 0; i < nc; i++)
        CHECK(sfl_job_add_source(job, SFL_SOURCE_COVERAGE, covs[i], err));
    sfl_sink_t *sink = sfl_sink_dump_new(out, "db", err);
    bool ok = sfl_job_run(job, sink, err);
    sfl_sink_destroy(sink);
    if (job_out)
        *job_out = job;
    else
        sfl_job_destroy(job);
    return ok;
}

static void write_synthetic(const char *vcf, const char *cov, int n)
{
    FILE *f = fopen(vcf, "w");
    fprintf(f, "##fileformat=VCFv4.2\n"
               "##INFO=<ID=AC,Number=A,Type=Integer,Description=\"x\">\n"
               "##INFO=<ID=AN,Number=1,Type=Integer,Description=\"x\">\n"
               "##INFO=<ID=AC_Hom,Number=A,Type=Integer,Description=\"x\">\n"
               "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Format: Allele|Gene|Feature|Feature_type|ALLELE_NUM\">\n"
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    for (int i = 0; i < n; i++) {
        const char *chrom = i < n / 2 ? "1" : "X";
        int pos = 1000 + (i % (n / 2)) * 7;
        if (i % 5 == 0)
            fprintf(f, "%s\t%d\trs%d\tCTT\tC,CT\t%d.5\tPASS\tAC=%d,%d;AN=1000;AC_Hom=0,1;"
                       "CSQ=-|G%d|T%d|Transcript|1,T|G%d|T%d|Transcript|2\n",
                    chrom, pos, i, i, i % 7, i % 11, i, i, i, i + 1);
        else
            fprintf(f, "%s\t%d\t.\tA\tG\t.\tLowQual\tAC=%d;AN=8000;AC_Hom=%d;"
                       "CSQ=G|G%d|T%d|Transcript|1\n",
                    chrom, pos, i, i % 3, i, i);
    }
    fclose(f);
    f = fopen(cov, "w");
    fprintf(f, "#chrom\tpos\tmean\tmedian\t1\t5\n");
    for (int i = 1; i <= n * 10; i++)
        fprintf(f, "2\t%d\t%d.%02d\t%d\t0.9%d\t0.%d\n", i, i % 90, i % 100, i % 50, i % 10, i % 9);
    fclose(f);
}

static void test_thread_invariance(void)
{
    char vcf[512], cov[512];
    snprintf(vcf, sizeof vcf, "%s/syn.vcf", tmpdir);
    snprintf(cov, sizeof cov, "%s/syn.tsv", tmpdir);
    write_synthetic(vcf, cov, 4000);
    const char *v[] = {vcf}, *c[] = {cov};
    char out1[512], out4[512];
    snprintf(out1, sizeof out1, "%s/t1", tmpdir);
    snprintf(out4, sizeof out4, "%s/t4", tmpdir);
    sfl_error_t err;
    sfl_job_t *j1 = NULL, *j4 = NULL;
    CHECK(run_dump(out1, 1, 1 << 20, v, 1, c, 1, NULL, &err, &j1));
    CHECK(run_dump(out4, 4, 4096, v, 1, c, 1, NULL, &err, &j4));
    CHECK_INT(sfl_job_summary(j1)->docs[SFL_COLL_VARIANTS], 4800);
    CHECK_INT(sfl_job_summary(j1)->docs[SFL_COLL_COVERAGE], 40000);
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "base_coverage.bson" : "variants.bson";
        char p1[600], p4[600];
        snprintf(p1, sizeof p1, "%s/db/%s", out1, name);
        snprintf(p4, sizeof p4, "%s/db/%s", out4, name);
        size_t l1 = 0, l4 = 0;
        char *a = slurp(p1, &l1), *b = slurp(p4, &l4);
        CHECK(a && b && l1 == l4 && l1 > 0 && memcmp(a, b, l1) == 0);
        free(a);
        free(b);
    }
    const sfl_manifest_t *m1 = sfl_job_manifest(j1), *m4 = sfl_job_manifest(j4);
    for (size_t i = 0; i < 2; i++)
        CHECK_STR(sfl_manifest_collection(m1, i)->digest, sfl_manifest_collection(m4, i)->digest);
    sfl_job_destroy(j1);
    sfl_job_destroy(j4);
}

/* JSON has no int32/int64 distinction; the schema stores _id (coverage),
 * xpos, xstart and xstop as int64 always. */
static void widen_xpos(bson_t **doc)
{
    bson_t *o = bson_new();
    bson_iter_t it;
    bson_iter_init(&it, *doc);
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (BSON_ITER_HOLDS_INT32(&it) && (!strcmp(k, "_id") || !strcmp(k, "xpos") ||
                                           !strcmp(k, "xstart") || !strcmp(k, "xstop")))
            bson_append_int64(o, k, -1, bson_iter_int32(&it));
        else
            bson_append_iter(o, k, -1, &it);
    }
    bson_destroy(*doc);
    *doc = o;
}

/* Each document of DIR/db/<coll>.bson equals, byte for byte, the BSON of
 * the expected JSON line (libbson reads JSON integers as int32 when they
 * fit, like our documents). */
static void compare_with_expected(const char *bson_path, const char *expected_path)
{
    bson_error_t be;
    bson_reader_t *rd = bson_reader_new_from_file(bson_path, &be);
    CHECK(rd != NULL);
    FILE *f = fopen(expected_path, "r");
    CHECK(f != NULL);
    if (!rd || !f)
        return;
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    bool eof = false;
    const bson_t *doc;
    while ((doc = bson_reader_read(rd, &eof)) != NULL) {
        ssize_t len = getline(&line, &cap, f);
        CHECK(len > 0);
        if (len <= 0)
            break;
        bson_t *exp = bson_new_from_json((const uint8_t *)line, len, &be);
        CHECK(exp != NULL);
        if (exp)
            widen_xpos(&exp);
        n++;
        if (exp && !bson_equal(exp, doc)) {
            t_failures++;
            char *a = bson_as_relaxed_extended_json(doc, NULL);
            fprintf(stderr, "%s document %d differs:\n  got      %s\n  expected %s", bson_path, n,
                    a, line);
            bson_free(a);
        }
        t_checks++;
        if (exp)
            bson_destroy(exp);
    }
    CHECK(eof);
    CHECK(getline(&line, &cap, f) <= 0); /* no expected document left over */
    CHECK(n > 0);
    free(line);
    fclose(f);
    bson_reader_destroy(rd);
}

static void test_readback(const char *td)
{
    struct {
        const char *vcf, *expected;
        sfl_histograms_t h;
    } cases[] = {{"exac_sample.vcf", "exac_sample.jsonl", SFL_HIST_PAIRS},
                 {"exac_sample.vcf", "exac_sample.columns.jsonl", SFL_HIST_COLUMNS},
                 {"swegen_sample.vcf", "swegen_sample.jsonl", SFL_HIST_PAIRS},
                 {"gnomad_sample.vcf", "gnomad_sample.jsonl", SFL_HIST_PAIRS},
                 {"gnomad_v2.1_sample.vcf", "gnomad_v2.1_sample.jsonl", SFL_HIST_PAIRS},
                 {"gnomad_v3.1_sample.vcf", "gnomad_v3.1_sample.jsonl", SFL_HIST_PAIRS},
                 {"gnomad_v4.0_sample.vcf", "gnomad_v4.0_sample.jsonl", SFL_HIST_PAIRS},
                 {"gnomad_r2.0_sample.vcf", "gnomad_r2.0_sample.jsonl", SFL_HIST_PAIRS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char vcf[512], exp[512], out[512], bs[600];
        snprintf(vcf, sizeof vcf, "%s/%s", td, cases[i].vcf);
        snprintf(exp, sizeof exp, "%s/expected/%s", td, cases[i].expected);
        snprintf(out, sizeof out, "%s/rb%zu", tmpdir, i);
        sfl_options_t o;
        sfl_options_init(&o);
        o.histograms = cases[i].h;
        const char *v[] = {vcf};
        sfl_error_t err;
        CHECK(run_dump(out, 2, 4096, v, 1, NULL, 0, &o, &err, NULL));
        snprintf(bs, sizeof bs, "%s/db/variants.bson", out);
        compare_with_expected(bs, exp);
    }
    for (int step = 1; step <= 10; step += 9) {
        char cov[512], exp[512], out[512], bs[600];
        snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", td);
        snprintf(exp, sizeof exp, "%s/expected/coverage_sample%s.jsonl", td,
                 step == 10 ? ".step10" : "");
        snprintf(out, sizeof out, "%s/cov%d", tmpdir, step);
        sfl_options_t o;
        sfl_options_init(&o);
        o.coverage_step = (uint32_t)step;
        const char *c[] = {cov};
        sfl_error_t err;
        CHECK(run_dump(out, 2, 4096, NULL, 0, c, 1, &o, &err, NULL));
        snprintf(bs, sizeof bs, "%s/db/base_coverage.bson", out);
        compare_with_expected(bs, exp);
    }
}

static void test_errors(const char *td)
{
    char bad[512], out[512], rej[512], path[700];
    snprintf(bad, sizeof bad, "%s/bad/unsorted.vcf", td);
    snprintf(out, sizeof out, "%s/bad", tmpdir);
    const char *v[] = {bad};
    sfl_error_t err;
    /* max_errors 0: the run fails, names file and line, and leaves no dump. */
    CHECK(!run_dump(out, 2, 4096, v, 1, NULL, 0, NULL, &err, NULL));
    CHECK_INT(err.code, SFL_E_UNSORTED);
    CHECK_CONTAINS(err.message, "unsorted.vcf: line 17:");
    struct stat st;
    snprintf(path, sizeof path, "%s/db/variants.bson", out);
    CHECK(stat(path, &st) != 0);
    snprintf(path, sizeof path, "%s/.db.partial.%ld", out, (long)getpid());
    CHECK(stat(path, &st) != 0);
    /* max_errors 1: the line is skipped and written to the rejects file. */
    sfl_options_t o;
    sfl_options_init(&o);
    o.max_errors = 1;
    snprintf(rej, sizeof rej, "%s/rejects.txt", tmpdir);
    o.rejects_path = rej;
    sfl_job_t *job = NULL;
    CHECK(run_dump(out, 2, 4096, v, 1, NULL, 0, &o, &err, &job));
    CHECK_INT(sfl_job_summary(job)->rejected, 1);
    CHECK_INT(sfl_job_summary(job)->rejected_by_code[SFL_E_UNSORTED], 1);
    sfl_job_destroy(job);
    size_t len;
    char *r = slurp(rej, &len);
    CHECK_CONTAINS(r, "## ");
    CHECK_CONTAINS(r, "line 17: unsorted input");
    CHECK_CONTAINS(r, "\t69511\t");
    free(r);
    /* A failed run leaves the previous dump exactly as it was. */
    {
        char good[512], bs[700];
        snprintf(good, sizeof good, "%s/exac_sample.vcf", td);
        const char *gv[] = {good};
        CHECK(run_dump(out, 2, 4096, gv, 1, NULL, 0, NULL, &err, NULL));
        snprintf(bs, sizeof bs, "%s/db/variants.bson", out);
        size_t l1 = 0, l2 = 0;
        char *before = slurp(bs, &l1);
        CHECK(!run_dump(out, 2, 4096, v, 1, NULL, 0, NULL, &err, NULL)); /* unsorted.vcf */
        char *after = slurp(bs, &l2);
        CHECK(before && after && l1 == l2 && memcmp(before, after, l1) == 0);
        free(before);
        free(after);
        snprintf(path, sizeof path, "%s/db/manifest.json", out);
        CHECK(stat(path, &st) == 0);
    }
    /* A missing file. */
    const char *missing[] = {"/nonexistent/x.vcf.gz"};
    CHECK(!run_dump(out, 1, 4096, missing, 1, NULL, 0, NULL, &err, NULL));
    CHECK_INT(err.code, SFL_E_OPEN);
    CHECK_CONTAINS(err.message, "/nonexistent/x.vcf.gz");
}

/* A coverage file of `n` rows on contig 2, positions 10, 20, ..., with
 * one defect at data line `at` (its line number, the header being line
 * 1); writes the message the run must fail with into `want`. */
enum { DEF_DUPLICATE, DEF_BACKWARDS, DEF_SPELLING, DEF_CONTIG_AGAIN, N_DEFECTS };
static void write_defect(const char *path, int n, int kind, int at, char *want, size_t want_size)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "#chrom\tpos\tmean\tmedian\t1\t5\n");
    for (int line = 2; line < n + 2; line++) {
        int pos = line * 10;
        const char *chrom = "2";
        if (kind == DEF_DUPLICATE && line == at)
            pos = (line - 1) * 10;
        if (kind == DEF_BACKWARDS && line == at)
            pos = (line - 1) * 10 - 5;
        if (kind == DEF_SPELLING && line == at)
            chrom = "chr2";
        if (kind == DEF_CONTIG_AGAIN && line >= at - 5 && line < at)
            chrom = "3";
        fprintf(f, "%s\t%d\t%d.5\t%d\t0.9\t0.5\n", chrom, pos, line % 90, line % 50);
    }
    fclose(f);
    if (kind == DEF_DUPLICATE)
        snprintf(want, want_size, "%s: line %d: duplicate position 2:%d (also on line %d of %s)",
                 path, at, (at - 1) * 10, at - 1, path);
    else if (kind == DEF_BACKWARDS)
        snprintf(want, want_size,
                 "%s: line %d: unsorted input: position %d comes after %d (line %d) on contig 2",
                 path, at, (at - 1) * 10 - 5, (at - 1) * 10, at - 1);
    else if (kind == DEF_SPELLING)
        snprintf(want, want_size,
                 "%s: line %d: contig 'chr2', but line 2 of %s writes it '2': one collection "
                 "must spell each contig one way (with or without 'chr')",
                 path, at, path);
    else
        snprintf(want, want_size,
                 "%s: line %d: unsorted input: contig 2 appears again after other contigs "
                 "began (lines of a contig must be together, positions ascending)",
                 path, at);
}

/* Sorting is checked by batch where the parser job found a batch sorted
 * within itself: a defect on any line, the first of a batch included (a
 * 4 KB chunk holds about 150 of these rows, so lines 100-420 cross two
 * batch boundaries), fails the run with the same file, line and message
 * at any thread count; and so does the first line of a second file. */
static void test_order_by_batch(void)
{
    char cov[300], cov2[300], want[1400], out[512];
    snprintf(cov, sizeof cov, "%s/defect.tsv", tmpdir);
    snprintf(cov2, sizeof cov2, "%s/defect2.tsv", tmpdir);
    snprintf(out, sizeof out, "%s/defect_out", tmpdir);
    for (int kind = 0; kind < N_DEFECTS; kind++) {
        for (int at = 100; at <= 420; at++) {
            write_defect(cov, 500, kind, at, want, sizeof want);
            const char *c[] = {cov};
            sfl_error_t err;
            int threads = 1 + at % 3;
            if (run_dump(out, threads, 4096, NULL, 0, c, 1, NULL, &err, NULL)) {
                CHECK(!"a defective file converted");
                return;
            }
            if (strcmp(err.message, want) != 0) {
                fprintf(stderr, "defect %d at line %d, %d threads: got '%s'\n  want '%s'\n",
                        kind, at, threads, err.message, want);
                CHECK(!"the message names the first bad line");
                return;
            }
            CHECK_INT(err.code, kind == DEF_DUPLICATE ? SFL_E_DUPLICATE
                                : kind == DEF_SPELLING ? SFL_E_LINE
                                                       : SFL_E_UNSORTED);
        }
    }
    /* a second file's first row repeats the first file's last position */
    write_defect(cov, 300, -1, 0, want, sizeof want);
    FILE *f = fopen(cov2, "w");
    fprintf(f, "#chrom\tpos\tmean\tmedian\t1\t5\n2\t3010\t1.5\t1\t0.9\t0.5\n2\t3020\t1.5\t1\t0.9\t0.5\n");
    fclose(f);
    const char *c2[] = {cov, cov2};
    sfl_error_t err;
    CHECK(!run_dump(out, 2, 4096, NULL, 0, c2, 2, NULL, &err, NULL));
    snprintf(want, sizeof want, "%s: line 2: duplicate position 2:3010 (also on line 301 of %s)",
             cov2, cov);
    CHECK_STR(err.message, want);
}

/* A dbSNP file of `n` rows (rsid = line number, position 100 + 10 *
 * (line / 3): three rows a position; contig 1 to line 350, then 2; a
 * fourth column pads a row to about 80 bytes, so a 4 KB chunk holds about
 * 50), with one defect at line `at`; the message the run must fail with
 * goes to `want`. */
enum { SNP_DUP_NEXT, SNP_DUP_FAR, SNP_BACKWARDS, SNP_CONTIG_AGAIN, N_SNP_DEFECTS };
static void write_snp_defect(const char *path, int n, int kind, int at, char *want,
                             size_t want_size)
{
    static const char hint[] = "a dbSNP file must be sorted by position within each "
                               "chromosome, a chromosome's rows together, as the ExAC loader's "
                               "recipe (sort -k2,2 -k3,3n) writes it; its repeated rows could "
                               "not be found otherwise";
    int *rs = calloc((size_t)n + 2, sizeof *rs), *pos = calloc((size_t)n + 2, sizeof *pos),
        *chr = calloc((size_t)n + 2, sizeof *chr);
    for (int l = 1; l <= n; l++) {
        rs[l] = l;
        pos[l] = 100 + 10 * (l / 3);
        chr[l] = l <= 350 ? 1 : 2;
    }
    if (kind == SNP_DUP_NEXT) { /* the row before, repeated */
        rs[at] = rs[at - 1], pos[at] = pos[at - 1], chr[at] = chr[at - 1];
    } else if (kind == SNP_DUP_FAR) { /* two rows back, another between */
        pos[at - 1] = pos[at] = pos[at - 2], chr[at - 1] = chr[at] = chr[at - 2];
        rs[at] = rs[at - 2];
    } else if (kind == SNP_BACKWARDS) {
        chr[at] = chr[at - 1], pos[at] = pos[at - 1] - 5;
    } else if (kind == SNP_CONTIG_AGAIN) {
        for (int l = at - 5; l < at; l++)
            chr[l] = 3;
    }
    FILE *f = fopen(path, "w");
    for (int l = 1; l <= n; l++)
        fprintf(f, "%d\t%d\t%d\t%s\n", rs[l], chr[l], pos[l],
                "padding-padding-padding-padding-padding-padding-padding-pad");
    fclose(f);
    int64_t xpos = (int64_t)chr[at] * 1000000000 + pos[at] + 1;
    if (kind == SNP_DUP_NEXT || kind == SNP_DUP_FAR)
        snprintf(want, want_size,
                 "%s: line %d: duplicate dbSNP id %d-%lld: line %d of %s has it too (one "
                 "document per dbSNP)",
                 path, at, rs[at], (long long)xpos, kind == SNP_DUP_NEXT ? at - 1 : at - 2, path);
    else if (kind == SNP_BACKWARDS)
        snprintf(want, want_size,
                 "%s: line %d: unsorted input: position %d comes after %d (line %d of %s): %s",
                 path, at, pos[at], pos[at - 1], at - 1, path, hint);
    else
        snprintf(want, want_size,
                 "%s: line %d: unsorted input: this chromosome's rows appeared before line %d "
                 "of %s, and another chromosome's since: %s",
                 path, at, at - 1, path, hint);
    free(rs);
    free(pos);
    free(chr);
}

static bool run_snp(const char *out, int threads, size_t chunk, const char *path,
                    uint64_t max_errors, sfl_error_t *err, uint64_t *rejected, uint64_t *docs)
{
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = threads;
    o.chunk_bytes = chunk;
    o.max_errors = max_errors;
    sfl_job_t *job = sfl_job_new(&o, err);
    CHECK(job && sfl_job_add_source(job, SFL_SOURCE_DBSNP, path, err));
    sfl_sink_t *sink = sfl_sink_dump_new(out, "db", err);
    bool ok = sfl_job_run(job, sink, err);
    if (rejected)
        *rejected = sfl_job_summary(job)->rejected;
    if (docs)
        *docs = sfl_job_summary(job)->docs[SFL_COLL_DBSNP];
    sfl_sink_destroy(sink);
    sfl_job_destroy(job);
    return ok;
}

/* dbSNP's sorting and uniqueness are checked by batch where the parser
 * job found a batch sorted and unique within itself: a duplicate id (the
 * row before, or two rows back) or a position going back, on any line
 * 100-640 (batch boundaries every 50 rows or so, the contig change at
 * 351), or a contig coming back, fails the run with the same line and
 * message at 1, 2 and 8 threads and 4 and 8 KB chunks. */
static void test_dbsnp_by_batch(void)
{
    char snp[300], want[1400], out[512];
    snprintf(snp, sizeof snp, "%s/snp_defect.tsv", tmpdir);
    snprintf(out, sizeof out, "%s/snp_out", tmpdir);
    static const int threads[] = {1, 2, 8};
    for (int kind = 0; kind < N_SNP_DEFECTS; kind++) {
        for (int at = 100; at <= 640; at++) {
            if (at >= 345 && at <= 362)
                continue; /* near the contig change: no defect of this kind */
            write_snp_defect(snp, 700, kind, at, want, sizeof want);
            sfl_error_t err;
            int t = threads[(at + kind) % 3];
            size_t chunk = (at / 3) % 2 ? 4096 : 8192;
            if (run_snp(out, t, chunk, snp, 0, &err, NULL, NULL)) {
                fprintf(stderr, "dbSNP defect %d at line %d converted\n", kind, at);
                CHECK(!"a defective dbSNP file converted");
                return;
            }
            if (strcmp(err.message, want) != 0) {
                fprintf(stderr, "dbSNP defect %d at line %d, %d threads, %zu: got '%s'\n"
                                "  want '%s'\n", kind, at, t, chunk, err.message, want);
                CHECK(!"the message names the first bad line");
                return;
            }
            CHECK_INT(err.code, kind <= SNP_DUP_FAR ? SFL_E_DUPLICATE : SFL_E_UNSORTED);
        }
    }
    /* 300 rows at one position, over six batches of 4 KB: the last row
     * repeats the first */
    FILE *f = fopen(snp, "w");
    for (int l = 1; l <= 300; l++)
        fprintf(f, "%d\t7\t12345\t%s\n", l < 300 ? l : 1,
                "padding-padding-padding-padding-padding-padding-padding-pad");
    fclose(f);
    snprintf(want, sizeof want,
             "%s: line 300: duplicate dbSNP id 1-7000012346: line 1 of %s has it too (one "
             "document per dbSNP)",
             snp, snp);
    for (int t = 0; t < 3; t++) {
        sfl_error_t err;
        CHECK(!run_snp(out, threads[t], 4096, snp, 0, &err, NULL, NULL));
        CHECK_STR(err.message, want);
    }
}

/* Under --max-errors, duplicates in and across batches (and 100 rows at
 * one position, past the parser's check of a batch) and rows with a bad
 * rsid are skipped alike at any thread count and chunk size: the same
 * count, the same documents and the same dump. */
static void test_dbsnp_skips(void)
{
    char snp[300], out[512], bson[600];
    snprintf(snp, sizeof snp, "%s/snp_dups.tsv", tmpdir);
    FILE *f = fopen(snp, "w");
    int dups = 0, n_bad = 0;
    for (int l = 1; l <= 1500; l++) {
        /* rows 4k..4k+3 at one position to row 599: row 4k+3 repeats row
         * 4k+1 (k % 3 == 0), row 4k moves back to repeat row 4k-1 (k % 5
         * == 0, the row before it unchanged); rows 600-699 at one
         * position, every ninth repeating the row before; then one row a
         * position, contig 4 to row 999, 5 after */
        int k = l / 4, rs = l, p = l < 600 ? 100 + 10 * k : l < 700 ? 5000 : 5000 + 10 * l;
        if (l < 600 && l % 4 == 3 && k % 3 == 0)
            rs = l - 2;
        if (l < 600 && l % 4 == 0 && k % 5 == 0 && (k - 1) % 3 != 0 && k > 0)
            rs = l - 1, p = 100 + 10 * (k - 1);
        if (l >= 600 && l < 700 && l % 9 == 0)
            rs = l - 1;
        dups += rs != l;
        /* and a row whose rsid is not a number, no other row repeating it */
        bool bad = l % 100 == 2 && (l < 600 || l >= 700);
        n_bad += bad;
        fprintf(f, "%s%d\t%d\t%d\tpadding-padding-padding-padding-padding-padding\n",
                bad ? "rs" : "", rs, l < 1000 ? 4 : 5, p);
    }
    fclose(f);
    char *first = NULL;
    size_t first_len = 0;
    static const int threads[] = {1, 2, 8};
    static const size_t chunks[] = {4096, 5000, 1u << 20};
    for (int t = 0; t < 3; t++) {
        for (int c = 0; c < 3; c++) {
            snprintf(out, sizeof out, "%s/snp_skips_%d_%d", tmpdir, t, c);
            sfl_error_t err;
            uint64_t rejected = 0, docs = 0;
            CHECK(run_snp(out, threads[t], chunks[c], snp, 100000, &err, &rejected, &docs));
            CHECK_INT((int)rejected, dups + n_bad);
            CHECK_INT((int)docs, 1500 - dups - n_bad); /* a refused row writes nothing */
            snprintf(bson, sizeof bson, "%s/db/dbsnp.bson", out);
            size_t len, n_docs = 0;
            char *got = slurp(bson, &len);
            CHECK(got != NULL);
            for (size_t off = 0; got && off + 4 <= len; n_docs++) {
                uint32_t dl;
                memcpy(&dl, got + off, 4);
                off += dl ? dl : len;
            }
            CHECK_INT((int)n_docs, 1500 - dups - n_bad);
            if (!first) {
                first = got, first_len = len;
                continue;
            }
            CHECK(len == first_len && memcmp(got, first, len) == 0);
            free(got);
        }
    }
    free(first);
}

/* A damaged BGZF file fails with the block's offset, whatever htslib's
 * log level: nothing reaches stderr, the caller's level is restored. */
static void test_damaged_bgzf_quiet(void)
{
    char vcf[512], cov[512], gz[512], nomark[512], errf[512];
    snprintf(vcf, sizeof vcf, "%s/q.vcf", tmpdir);
    snprintf(cov, sizeof cov, "%s/q.tsv", tmpdir);
    snprintf(gz, sizeof gz, "%s/q.vcf.gz", tmpdir);
    snprintf(nomark, sizeof nomark, "%s/q_nomark.vcf.gz", tmpdir);
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmpdir);
    write_synthetic(vcf, cov, 8000);
    size_t len;
    char *text = slurp(vcf, &len);
    BGZF *w = bgzf_open(gz, "w");
    CHECK(w && bgzf_write(w, text, len) == (ssize_t)len && bgzf_close(w) == 0);
    free(text);
    char *data = slurp(gz, &len);
    CHECK(len > 3 * 28);
    data[len / 2] ^= 0x55; /* inside some middle block's deflate data */
    FILE *f = fopen(gz, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    data[len / 2] ^= 0x55;
    f = fopen(nomark, "wb");
    fwrite(data, 1, len - 28, f); /* intact, but without the EOF marker */
    fclose(f);
    free(data);

    hts_set_log_level(HTS_LOG_DEBUG); /* an application that wants htslib's log */
    fflush(stderr);
    int saved = dup(2), fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
    const char *a[] = {gz}, *b[] = {nomark};
    char out[512];
    snprintf(out, sizeof out, "%s/q_out", tmpdir);
    sfl_error_t e1, e2;
    bool ok1 = run_dump(out, 4, 4096, a, 1, NULL, 0, NULL, &e1, NULL);
    bool ok2 = run_dump(out, 2, 4096, b, 1, NULL, 0, NULL, &e2, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    CHECK(!ok1 && !ok2);
    CHECK_INT(e1.code, SFL_E_COMPRESSION);
    CHECK_CONTAINS(e1.message, "corrupt or truncated BGZF file: the block at compressed byte");
    CHECK_INT(e2.code, SFL_E_COMPRESSION);
    CHECK_CONTAINS(e2.message, "truncated BGZF file: it ends at compressed byte");
    char *printed = slurp(errf, &len);
    CHECK(printed != NULL && len == 0);
    if (printed && len)
        fprintf(stderr, "printed while the library ran: %s\n", printed);
    free(printed);
    CHECK_INT(hts_get_log_level(), HTS_LOG_DEBUG);
    hts_set_log_level(HTS_LOG_OFF);
}

/* Options a caller compiled before csq_field..genome existed (a smaller
 * struct_size) get their defaults, whatever follows in memory; a caller
 * that knows them sees them in the manifest. */
static void test_options_versioning(const char *td)
{
    char vcf[512];
    snprintf(vcf, sizeof vcf, "%s/gnomad_v4.0_sample.vcf", td);
    for (int known = 0; known < 2; known++) {
        sfl_options_t o;
        sfl_options_init(&o);
        o.vep_features = SFL_VEP_ENST;
        o.genome = SFL_GENOME_GRCH38;
        o.csq_field = "vep";
        if (!known)
            o.struct_size = offsetof(sfl_options_t, csq_field);
        sfl_error_t err;
        sfl_job_t *job = sfl_job_new(&o, &err);
        CHECK(job != NULL);
        if (!job)
            continue;
        CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, vcf, &err));
        sfl_sink_t *sink = sfl_sink_null_new(NULL);
        CHECK(sfl_job_run(job, sink, &err));
        const sfl_manifest_t *m = sfl_job_manifest(job);
        CHECK_STR(m ? sfl_manifest_option(m, "vep_features") : NULL, known ? "enst" : "all");
        CHECK_STR(m ? sfl_manifest_option(m, "genome") : NULL, known ? "GRCh38" : "auto");
        CHECK_STR(m ? sfl_manifest_option(m, "csq_field") : NULL, known ? "vep" : "auto");
        const sfl_summary_t *sum = sfl_job_summary(job);
        CHECK_INT(sum->n_annotations, 1);
        if (sum->n_annotations == 1)
            CHECK(sum->annotations[0].gnomad_v40_repair && strcmp(sum->annotations[0].field,
                                                                  "vep") == 0);
        CHECK_INT(sum->n_warnings, 1);
        sfl_sink_destroy(sink);
        sfl_job_destroy(job);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_pipeline TESTDATA_DIR\n");
        return 2;
    }
    sfl_init();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sfl_test_pipeline.XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    test_thread_invariance();
    test_readback(argv[1]);
    test_errors(argv[1]);
    test_order_by_batch();
    test_dbsnp_by_batch();
    test_dbsnp_skips();
    test_damaged_bgzf_quiet();
    test_options_versioning(argv[1]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (t_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    sfl_cleanup();
    return t_done("test_pipeline");
}

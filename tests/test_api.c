/* test_api.c: every public function called with NULL arguments.
 *
 * The promise (swefreq/swefreq.h): a NULL handle or a NULL required
 * argument never crashes. Functions that can fail return false/NULL with
 * SFL_E_USAGE in `err` (when `err` is not NULL); getters return 0 or NULL;
 * every destroy accepts NULL. Each call below would crash (and ASan would
 * report it) if a function broke that promise.
 */
#include <stddef.h>
#include <stdlib.h>

#include <swefreq/swefreq.h>
#include <unistd.h>

#include "testutil.h"

#define CHECK_USAGE(e) CHECK_INT((e).code, SFL_E_USAGE)

static void null_digest(void)
{
    sfl_digest_t d;
    sfl_digest_init(NULL);
    sfl_digest_init_kind(NULL, SFL_DIGEST_XXH3_SUM);
    sfl_digest_init(&d);
    sfl_digest_add(NULL, (const uint8_t *)"", 0);
    sfl_digest_add(&d, NULL, 5);
    sfl_digest_remove(NULL, (const uint8_t *)"", 0);
    sfl_digest_remove(&d, NULL, 5);
    CHECK_INT(d.count, 0);
    sfl_error_t e;
    CHECK(!sfl_digest_add_canonical(NULL, NULL, 0, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_digest_add_canonical(&d, NULL, 5, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_digest_merge(NULL, &d));
    CHECK(!sfl_digest_merge(&d, NULL));
    CHECK(!sfl_digest_equal(NULL, &d));
    CHECK(!sfl_digest_equal(&d, NULL));
    static char text[SFL_DIGEST_TEXT_SIZE] = "x";
    sfl_digest_text(NULL, text);
    CHECK_STR(text, "");
    sfl_digest_text(&d, NULL);
    CHECK(!sfl_digest_from_text(NULL, "00"));
    CHECK(!sfl_digest_from_text(&d, NULL));
    CHECK_INT(sfl_digest_kind_of_text(NULL), 0);
    char fp[SFL_DIGEST_FINGERPRINT_SIZE] = "x";
    sfl_digest_fingerprint(NULL, fp);
    CHECK_STR(fp, "");
    sfl_digest_fingerprint(&d, NULL);
    char hex[65];
    uint64_t size = 7;
    CHECK(!sfl_hash_file(NULL, hex, &size, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_hash_file("/etc/hostname", NULL, &size, &e));
    CHECK_USAGE(e);
}

static void null_error(void)
{
    CHECK(!sfl_error_set(NULL, SFL_DOMAIN_USAGE, SFL_E_USAGE, "x"));
    sfl_error_clear(NULL);
    CHECK_STR(sfl_error_code_name(9999), "unknown");
}

static void null_job(void)
{
    sfl_error_t e;
    sfl_options_init(NULL);
    CHECK(sfl_style_name((sfl_style_t)99) != NULL);
    CHECK(!sfl_style_parse(NULL, NULL));
    sfl_style_t st;
    CHECK(!sfl_style_parse(NULL, &st));
    CHECK(!sfl_style_parse("exac", NULL));
    CHECK(sfl_histograms_name((sfl_histograms_t)99) != NULL);
    sfl_histograms_t h;
    CHECK(!sfl_histograms_parse(NULL, &h));
    CHECK(!sfl_histograms_parse("pairs", NULL));
    CHECK(sfl_vep_features_name((sfl_vep_features_t)99) != NULL);
    sfl_vep_features_t vf;
    CHECK(!sfl_vep_features_parse(NULL, &vf));
    CHECK(!sfl_vep_features_parse("all", NULL));
    CHECK(sfl_genome_name((sfl_genome_t)99) != NULL);
    sfl_genome_t g;
    CHECK(!sfl_genome_parse(NULL, &g));
    CHECK(!sfl_genome_parse("GRCh38", NULL));
    CHECK(!sfl_job_add_source(NULL, SFL_SOURCE_VCF, "x.vcf", &e));
    CHECK_USAGE(e);
    CHECK_CONTAINS(e.message, "job is NULL");
    sfl_job_t *j = sfl_job_new(NULL, &e);
    CHECK(j != NULL);
    /* Each bad argument is named. */
    CHECK(!sfl_job_add_source(j, SFL_SOURCE_VCF, NULL, &e));
    CHECK_USAGE(e);
    CHECK_CONTAINS(e.message, "the vcf source's path is NULL");
    CHECK(!sfl_job_add_source(j, SFL_SOURCE_COVERAGE, "", &e));
    CHECK_CONTAINS(e.message, "the coverage source's path is empty");
    CHECK(!sfl_job_add_source(j, (sfl_source_kind_t)42, "x.vcf", &e));
    CHECK_USAGE(e);
    CHECK_CONTAINS(e.message, "unknown source kind 42");
    CHECK(!sfl_job_run(NULL, NULL, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_job_run(j, NULL, &e));
    CHECK_USAGE(e);
    CHECK(sfl_job_summary(NULL) == NULL);
    CHECK(sfl_job_manifest(NULL) == NULL);
    CHECK(sfl_job_summary_json(NULL) == NULL);
    sfl_job_cancel(NULL);
    sfl_job_destroy(NULL);
    sfl_job_destroy(j);
}

static void null_sink(void)
{
    sfl_error_t e;
    /* One rule for every enum name function: "unknown" out of range. */
    CHECK_STR(sfl_collection_name((sfl_collection_t)99), "unknown");
    CHECK_STR(sfl_style_name((sfl_style_t)99), "unknown");
    CHECK_STR(sfl_histograms_name((sfl_histograms_t)99), "unknown");
    CHECK_STR(sfl_vep_features_name((sfl_vep_features_t)99), "unknown");
    CHECK_STR(sfl_genome_name((sfl_genome_t)99), "unknown");
    CHECK_STR(sfl_role_name((sfl_role_t)99), "unknown");
    CHECK_STR(sfl_verify_status_name((sfl_verify_status_t)99), "unknown");
    CHECK_STR(sfl_error_code_name(9999), "unknown");
    CHECK(sfl_sink_new(NULL, NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_sink_jsonl_new(NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_sink_dump_new(NULL, "db", &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_sink_dump_new("/tmp", NULL, &e) == NULL);
    CHECK_USAGE(e);
    sfl_sink_destroy(NULL);
}

static void null_manifest(void)
{
    sfl_error_t e;
    CHECK(sfl_manifest_parse(NULL, 10, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_manifest_read_file(NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_manifest_to_json(NULL) == NULL);
    CHECK(!sfl_manifest_write_file(NULL, "/tmp/x.json", &e));
    CHECK_USAGE(e);
    CHECK_INT(sfl_manifest_n_sources(NULL), 0);
    CHECK(sfl_manifest_source(NULL, 0) == NULL);
    CHECK_INT(sfl_manifest_n_collections(NULL), 0);
    CHECK(sfl_manifest_collection(NULL, 0) == NULL);
    CHECK(sfl_manifest_find_collection(NULL, "variants") == NULL);
    CHECK(sfl_manifest_option(NULL, "style") == NULL);
    CHECK_INT(sfl_manifest_format_version(NULL), 0);
    CHECK(sfl_manifest_warning(NULL) == NULL);
    sfl_manifest_destroy(NULL);

    static const char json[] =
        "{\"format\":\"swefreq-load-manifest\",\"format_version\":1,\"sources\":[{"
        "\"path\":\"x.vcf\",\"kind\":\"vcf\",\"size\":1,"
        "\"xxh3_128\":\"0123456789abcdef0123456789abcdef\"}],\"collections\":["
        "{\"name\":\"variants\",\"count\":0,\"digest\":\"00000000000000000000000000000000\"},"
        "{\"name\":\"metrics\",\"count\":0,\"digest\":\"00000000000000000000000000000000\"}]}";
    sfl_manifest_t *m = sfl_manifest_parse(json, sizeof json - 1, &e);
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "manifest: %s\n", e.message);
        return;
    }
    CHECK(!sfl_manifest_write_file(m, NULL, &e));
    CHECK_USAGE(e);
    CHECK(sfl_manifest_find_collection(m, NULL) == NULL);
    CHECK(sfl_manifest_option(m, NULL) == NULL);
    CHECK(sfl_manifest_source(m, 5) == NULL);
    CHECK(sfl_manifest_collection(m, 5) == NULL);
    CHECK(sfl_verify_dump(m, NULL, NULL, false, &e) == NULL);
    CHECK_USAGE(e);
    sfl_manifest_destroy(m);
}

static void null_verify(void)
{
    sfl_error_t e;
    CHECK(sfl_verify_status_name((sfl_verify_status_t)99) != NULL);
    CHECK(sfl_verify_dump(NULL, NULL, "db", false, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(!sfl_verify_report_ok(NULL));
    CHECK_INT(sfl_verify_report_n_collections(NULL), 0);
    CHECK(sfl_verify_report_collection(NULL, 0) == NULL);
    CHECK_INT(sfl_verify_report_n_sources(NULL), 0);
    CHECK(sfl_verify_report_source(NULL, 0) == NULL);
    CHECK(sfl_verify_report_json(NULL) == NULL);
    CHECK_INT(sfl_verify_report_format(NULL), 0);
    CHECK(sfl_verify_report_warning(NULL, 0) == NULL);
    sfl_verify_report_destroy(NULL);
}

static void null_sign(void)
{
    sfl_error_t e;
    CHECK(sfl_signing_key_read(NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_signing_key_id(NULL) == NULL);
    sfl_signing_key_destroy(NULL);
    CHECK(!sfl_sign_file(NULL, "/tmp/x", NULL, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_trusted_keys_add_file(NULL, "/tmp/x.pub", &e));
    CHECK_USAGE(e);
    CHECK_INT(sfl_trusted_keys_count(NULL), 0);
    CHECK(sfl_trusted_keys_id(NULL, 0) == NULL);
    sfl_trusted_keys_destroy(NULL);
    sfl_trusted_keys_t *t = sfl_trusted_keys_new();
    CHECK(t != NULL);
    CHECK(!sfl_trusted_keys_add_file(t, NULL, &e));
    CHECK_USAGE(e);
    CHECK(sfl_trusted_keys_id(t, 0) == NULL);
    char id[SFL_SHA256_HEX];
    /* An empty key set refuses everything; so do NULL arguments. */
    CHECK(!sfl_verify_signature("x", 1, "x", "/tmp/x.sig", t, id, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_verify_signature(NULL, 1, "x", "/tmp/x.sig", t, id, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_trusted_keys_add_file(t, "/nonexistent/release.pub", &e));
    CHECK(e.code == SFL_E_KEY && strstr(e.message, "/nonexistent/release.pub"));
    sfl_trusted_keys_destroy(t);
    sfl_signature_info_t si;
    CHECK(sfl_manifest_read_signed(NULL, NULL, &si, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_dump_manifest_path(NULL, NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(!sfl_verify_report_release(NULL, NULL));
    CHECK(strcmp(sfl_error_code_name(SFL_E_SIGNATURE), "signature") == 0);
    CHECK(strcmp(sfl_error_code_name(SFL_E_KEY), "key") == 0);
}

static void null_mongo(void)
{
    sfl_error_t e;
    sfl_mongo_options_init(NULL);
    CHECK(sfl_sink_mongo_new(NULL, &e) == NULL);
    CHECK_USAGE(e);
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    CHECK(sfl_sink_mongo_new(&o, &e) == NULL); /* no uri, no db */
    CHECK_USAGE(e);
    CHECK(sfl_verify_mongo(NULL, NULL, "db", false, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_verify_mongo(NULL, "mongodb://127.0.0.1:1", NULL, false, &e) == NULL);
    CHECK_USAGE(e);
    CHECK_INT(sfl_sink_mongo_outcome(NULL), SFL_MONGO_UNCHANGED);
    sfl_mongo_recovery_t rec = {.struct_size = sizeof rec};
    CHECK(!sfl_mongo_recover(NULL, &rec, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_mongo_recover(&o, &rec, &e)); /* no uri, no db */
    CHECK_USAGE(e);
    /* partitioned loads (swefreq/group.h) */
    CHECK(sfl_group_plan_make(NULL, "g", 2, &e) == NULL);
    CHECK_USAGE(e);
    sfl_group_plan_destroy(NULL);
    CHECK_INT(sfl_group_plan_parts(NULL), 0);
    CHECK(sfl_group_plan_group(NULL) == NULL);
    CHECK(sfl_group_plan_id(NULL) == NULL);
    CHECK(sfl_group_plan_part_bytes(NULL, 1) == 0);
    CHECK(sfl_group_plan_json(NULL, NULL, 0) == NULL);
    CHECK(sfl_group_plan_sources(NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(!sfl_job_use_part(NULL, NULL, 1, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_mongo_group_record(NULL, NULL, 0, &e));
    CHECK_USAGE(e);
    CHECK(sfl_mongo_group_fetch(NULL, "g", &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_mongo_group_fetch(&o, NULL, &e) == NULL);
    CHECK_USAGE(e);
    sfl_group_finish_t gf = {.struct_size = sizeof gf};
    CHECK(!sfl_mongo_group_finish(NULL, "g", &gf, NULL, &e));
    CHECK_USAGE(e);
    CHECK(!sfl_mongo_group_finish(&o, NULL, NULL, NULL, &e));
    CHECK_USAGE(e);
    o.group = "g"; /* a part needs a part number */
    o.uri = "mongodb://127.0.0.1:1/";
    o.db = "db";
    CHECK(sfl_sink_mongo_new(&o, &e) == NULL);
    CHECK_USAGE(e);
    sfl_mongo_options_init(&o);
    sfl_mongo_resume_stats_t rs = {.struct_size = sizeof rs};
    CHECK(!sfl_sink_mongo_resume_stats(NULL, &rs));
    CHECK(sfl_mongo_resume_plan(NULL, NULL, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(sfl_mongo_resume_plan(&o, NULL, &e) == NULL); /* no uri, no db */
    CHECK_USAGE(e);
    /* struct_size versioning: a caller that knows the fields before
     * `resume` is accepted (here it fails only to connect); an unknown
     * larger size, or a load id too long, is a usage error. */
    o.uri = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100&connectTimeoutMS=100";
    o.db = "db";
    o.struct_size = offsetof(sfl_mongo_options_t, resume);
    CHECK(sfl_sink_mongo_new(&o, &e) == NULL);
    CHECK(e.code != SFL_E_USAGE);
    CHECK(!sfl_mongo_recover(&o, &rec, &e));
    CHECK(e.code != SFL_E_USAGE);
    o.struct_size = sizeof o + 8;
    CHECK(sfl_sink_mongo_new(&o, &e) == NULL);
    CHECK_USAGE(e);
    CHECK(!sfl_mongo_recover(&o, &rec, &e));
    CHECK_USAGE(e);
    o.struct_size = sizeof o;
    o.resume = true;
    o.resume_load_id = "0123456789012345678901234567890123456789012345678";
    CHECK(sfl_sink_mongo_new(&o, &e) == NULL);
    CHECK_USAGE(e);
    char *r = sfl_uri_redact(NULL); /* documented: NULL only when out of memory */
    CHECK_STR(r, "");
    free(r);
}

/* sfl_progress_t.source names the source being read. */
typedef struct {
    int calls;
    char last[512];
} progress_seen_t;

static void on_progress(void *ud, const sfl_progress_t *p)
{
    progress_seen_t *s = ud;
    s->calls++;
    snprintf(s->last, sizeof s->last, "%s", p->source ? p->source : "(null)");
}

static void progress_source(const char *testdata)
{
    char path[512], cov[512];
    snprintf(path, sizeof path, "%s/exac_sample.vcf", testdata);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", testdata);
    progress_seen_t seen = {0, ""};
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = 1;
    o.progress = on_progress;
    o.progress_ud = &seen;
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(&o, &e);
    sfl_sink_t *s = sfl_sink_null_new(&e);
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_VCF, path, &e));
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, &e));
    CHECK(j && s && sfl_job_run(j, s, &e));
    CHECK(seen.calls > 0);
    CHECK_STR(seen.last, cov); /* the second source, not stuck on the first */
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
}

/* sfl_job_run's promise: on false the sink has been aborted, whatever
 * failed. A counting sink shows which callbacks ran. */
typedef struct {
    int begin, write, commit, abort;
    bool fail_commit; /* commit returns false */
    sfl_run_info_t run; /* as begin saw it */
} counts_t;

static bool c_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    (void)err;
    counts_t *n = ctx;
    n->begin++;
    n->run = *run;
    return true;
}
static bool c_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    (void)b;
    (void)err;
    ((counts_t *)ctx)->write++;
    return true;
}
static bool c_commit(void *ctx, const sfl_manifest_t *m, sfl_error_t *err)
{
    (void)m;
    counts_t *n = ctx;
    n->commit++;
    if (n->fail_commit)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "commit refused (test)");
    return true;
}
static void c_abort(void *ctx) { ((counts_t *)ctx)->abort++; }

static sfl_sink_t *counting_sink(counts_t *n)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), c_begin, c_write, c_commit,
                                       c_abort, NULL};
    memset(n, 0, sizeof *n);
    return sfl_sink_new(&ops, n, NULL);
}

/* Runs one job over `path` into a counting sink; returns its error code
 * and checks that the sink is finished (a second job cannot use it). */
static const char *good_vcf;

static uint32_t failing_run(const char *path, const char *rejects, counts_t *n)
{
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = 1;
    o.rejects_path = rejects;
    sfl_error_t e;
    sfl_sink_t *s = counting_sink(n);
    sfl_job_t *j = sfl_job_new(&o, &e);
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_VCF, path, &e));
    bool ok = j && s && sfl_job_run(j, s, &e);
    CHECK(!ok);
    CHECK_INT(n->commit, 0);
    CHECK_INT(n->abort, n->begin); /* abort ran exactly when begin had */
    sfl_job_t *again = sfl_job_new(NULL, NULL);
    sfl_error_t e2;
    CHECK(again && sfl_job_add_source(again, SFL_SOURCE_VCF, good_vcf, &e2));
    CHECK(!sfl_job_run(again, s, &e2));
    CHECK_CONTAINS(e2.message, "one run only");
    sfl_job_destroy(again);
    sfl_job_destroy(j);
    sfl_sink_destroy(s);
    return e.code;
}

static void run_aborts_sink(const char *testdata)
{
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/exac_sample.vcf", testdata);
    snprintf(bad, sizeof bad, "%s/bad/ac_short.vcf", testdata);
    good_vcf = path;
    counts_t n;
    /* a missing source: fails while hashing, before begin */
    CHECK_INT(failing_run("/nonexistent/x.vcf", NULL, &n), SFL_E_OPEN);
    CHECK_INT(n.begin, 0);
    /* the rejects file cannot be created: before begin */
    CHECK_INT(failing_run(path, "/nonexistent/rejects.txt", &n), SFL_E_WRITE);
    CHECK_INT(n.begin, 0);
    /* a bad line: after begin, so abort ran */
    CHECK_INT(failing_run(bad, NULL, &n), SFL_E_LINE);
    CHECK_INT(n.begin, 1);
    CHECK_INT(n.abort, 1);
    /* a job that already ran: the new sink is finished too */
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(NULL, &e);
    sfl_sink_t *s1 = counting_sink(&n), *s2 = NULL;
    counts_t n2;
    CHECK(j && sfl_job_add_source(j, SFL_SOURCE_VCF, path, &e) && sfl_job_run(j, s1, &e));
    CHECK_INT(n.commit, 1);
    s2 = counting_sink(&n2);
    CHECK(!sfl_job_run(j, s2, &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    sfl_job_t *j2 = sfl_job_new(NULL, &e);
    CHECK(j2 && sfl_job_add_source(j2, SFL_SOURCE_VCF, path, &e));
    CHECK(!sfl_job_run(j2, s2, &e));
    CHECK_INT(n2.begin, 0);
    sfl_job_destroy(j2);
    sfl_job_destroy(j);
    sfl_sink_destroy(s1);
    sfl_sink_destroy(s2);
}

/* A job without a source is refused (SFL_E_USAGE) before its sink begins:
 * nothing is committed, and a dump sink leaves no folder behind (before,
 * it committed an empty load whose manifest checked nothing). */
static void zero_sources(void)
{
    counts_t n;
    sfl_error_t e;
    sfl_sink_t *s = counting_sink(&n);
    sfl_job_t *j = sfl_job_new(NULL, &e);
    CHECK(j && s);
    CHECK(!sfl_job_run(j, s, &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "at least one source");
    CHECK_INT(n.begin, 0);
    CHECK_INT(n.commit, 0);
    CHECK(sfl_job_manifest(j) == NULL);
    sfl_job_destroy(j);
    sfl_sink_destroy(s);

    char out[] = "/tmp/sfl_test_api.XXXXXX", db[64];
    CHECK(mkdtemp(out) != NULL);
    s = sfl_sink_dump_new(out, "db", &e);
    j = sfl_job_new(NULL, &e);
    CHECK(j && s && !sfl_job_run(j, s, &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    snprintf(db, sizeof db, "%s/db", out);
    CHECK(access(db, F_OK) != 0);
    sfl_job_destroy(j);
    sfl_sink_destroy(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
}

/* A cancelled job stops with its own domain and code, and aborts the sink. */
static void cancel_domain(void)
{
    counts_t n;
    sfl_error_t e;
    sfl_sink_t *s = counting_sink(&n);
    sfl_job_t *j = sfl_job_new(NULL, &e);
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_VCF, good_vcf, &e));
    sfl_job_cancel(j);
    CHECK(!sfl_job_run(j, s, &e));
    CHECK_INT(e.domain, SFL_DOMAIN_CANCEL);
    CHECK_INT(e.code, SFL_E_CANCELLED);
    CHECK_INT(n.commit, 0);
    CHECK_INT(n.abort, 1);
    sfl_job_destroy(j);
    sfl_sink_destroy(s);
}

/* begin tells the sink what the run writes: the collections and the
 * histogram shape of the job's options, so that a sink has no setting of
 * its own that could disagree (sfl_mongo_options_t has no histograms). */
static void begin_run_info(const char *testdata)
{
    char vcf[512], cov[512];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", testdata);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", testdata);
    const sfl_histograms_t shapes[] = {SFL_HIST_PAIRS, SFL_HIST_COLUMNS, SFL_HIST_NONE};
    for (int i = 0; i < 3; i++) {
        sfl_options_t o;
        sfl_options_init(&o);
        o.threads = 1;
        o.histograms = shapes[i];
        sfl_error_t e;
        counts_t n;
        sfl_sink_t *s = counting_sink(&n);
        sfl_job_t *j = sfl_job_new(&o, &e);
        CHECK(j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e));
        if (i == 1)
            CHECK(j && sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, &e));
        CHECK(j && s && sfl_job_run(j, s, &e));
        CHECK_INT(n.begin, 1);
        CHECK_INT(n.run.struct_size, sizeof(sfl_run_info_t));
        CHECK(SFL_RUN_INFO_HAS(&n.run, histograms));
        CHECK_INT(n.run.histograms, shapes[i]);
        CHECK(n.run.collections[SFL_COLL_VARIANTS]);
        CHECK_INT(n.run.collections[SFL_COLL_COVERAGE], i == 1);
        sfl_job_destroy(j);
        sfl_sink_destroy(s);
    }
    /* A sink built against a later header sees which fields are filled. */
    sfl_run_info_t old = {offsetof(sfl_run_info_t, histograms), {true, false}, SFL_HIST_NONE};
    CHECK(SFL_RUN_INFO_HAS(&old, collections));
    CHECK(!SFL_RUN_INFO_HAS(&old, histograms));
}

/* The source kinds: their names, the collections each fills, and a kind
 * out of range refused. */
static void source_kinds(void)
{
    static const char *const names[] = {"vcf", "coverage", "gtf", "canonical_transcripts",
                                        "omim", "dbnsfp_genes", "dbsnp"};
    for (int k = 0; k < SFL_N_SOURCE_KINDS; k++)
        CHECK(sfl_source_kind_name((sfl_source_kind_t)k) &&
              strcmp(sfl_source_kind_name((sfl_source_kind_t)k), names[k]) == 0);
    CHECK_STR(sfl_source_kind_name(SFL_N_SOURCE_KINDS), "unknown");
    bool c[SFL_N_COLLECTIONS];
    sfl_source_collections(SFL_SOURCE_VCF, c);
    CHECK(c[SFL_COLL_VARIANTS] && c[SFL_COLL_METRICS] && !c[SFL_COLL_COVERAGE] && !c[SFL_COLL_GENES]);
    sfl_source_collections(SFL_SOURCE_GTF, c);
    CHECK(c[SFL_COLL_GENES] && c[SFL_COLL_TRANSCRIPTS] && c[SFL_COLL_EXONS] && !c[SFL_COLL_VARIANTS]);
    sfl_source_collections(SFL_SOURCE_OMIM, c);
    for (int i = 0; i < SFL_N_COLLECTIONS; i++)
        CHECK(!c[i]);
    sfl_source_collections(SFL_SOURCE_DBSNP, c);
    CHECK(c[SFL_COLL_DBSNP] && !c[SFL_COLL_METRICS]);
    static const char *const colls[] = {"variants", "base_coverage", "genes", "transcripts",
                                        "exons", "dbsnp", "metrics"};
    for (int i = 0; i < SFL_N_COLLECTIONS; i++)
        CHECK(strcmp(sfl_collection_name((sfl_collection_t)i), colls[i]) == 0);
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(NULL, &e);
    CHECK(j && !sfl_job_add_source(j, SFL_N_SOURCE_KINDS, "x", &e));
    CHECK(j && sfl_job_add_source(j, SFL_SOURCE_DBSNP, "x.tsv", &e));
    sfl_job_destroy(j);
}

/* A sink whose commit fails: the run fails with its error, the sink is
 * aborted after the failed commit, and no rejects file is left. */
static void commit_failure(const char *testdata)
{
    char path[512], rej[64];
    snprintf(path, sizeof path, "%s/exac_sample.vcf", testdata);
    snprintf(rej, sizeof rej, "/tmp/sfl_test_api_rejects.%ld", (long)getpid());
    counts_t n;
    sfl_sink_t *s = counting_sink(&n);
    n.fail_commit = true;
    sfl_options_t o;
    sfl_options_init(&o);
    o.rejects_path = rej;
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(&o, &e);
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_VCF, path, &e));
    CHECK(j && s && !sfl_job_run(j, s, &e));
    CHECK_CONTAINS(e.message, "commit refused (test)");
    CHECK_INT(n.commit, 1);
    CHECK_INT(n.abort, 1);
    CHECK(access(rej, F_OK) != 0);
    CHECK(sfl_job_manifest(j) == NULL);
    sfl_job_destroy(j);
    sfl_sink_destroy(s);
}

int main(int argc, char **argv)
{
    sfl_init();
    if (argc > 1) {
        progress_source(argv[1]);
        run_aborts_sink(argv[1]);
        cancel_domain();
        zero_sources();
        commit_failure(argv[1]);
        begin_run_info(argv[1]);
    }
    null_error();
    null_digest();
    null_job();
    null_sink();
    null_manifest();
    null_verify();
    null_mongo();
    null_sign();
    source_kinds();
    sfl_cleanup();
    return t_done("test_api");
}

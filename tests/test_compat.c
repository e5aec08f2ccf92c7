/* Growing structs (issue 22, item 3), as a program built against older or
 * newer headers would see them, linked with the shared library:
 *   - a custom sink whose ops struct is the first published one (only the
 *     ops it had), with the optional ops left NULL, runs a real job;
 *   - sink ops with a struct_size below the first published size, or above
 *     what this library knows, are refused with a message, and ctx stays
 *     the caller's;
 *   - sfl_options_t as a caller of the first published version built it
 *     (struct_size before csq_field) runs, with the later fields at their
 *     defaults; so does sfl_mongo_options_t of 0.1.0 (before `resume`) in
 *     every entry point that takes it;
 *   - structs the library fills take the caller's struct_size: a newer,
 *     larger caller struct gets the library's part and struct_size set to
 *     it (the rest untouched); a too small one is refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

typedef struct {
    int writes;
    uint64_t docs;
    int freed;
} ctx_t;

static bool w_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    (void)err;
    ctx_t *c = ctx;
    c->writes++;
    c->docs += b->n_docs;
    return true;
}

/* The sink ops as the first published headers declared them. */
typedef struct {
    size_t struct_size;
    bool (*begin)(void *ctx, const sfl_run_info_t *run, sfl_error_t *err);
    bool (*write)(void *ctx, const sfl_batch_t *batch, sfl_error_t *err);
    bool (*commit)(void *ctx, const sfl_manifest_t *manifest, sfl_error_t *err);
    void (*abort)(void *ctx);
    void (*destroy)(void *ctx);
} ops_v1_t;

/* ...and as a newer header might, with one op this library does not know. */
typedef struct {
    ops_v1_t v1;
    void (*future_op)(void *ctx);
} ops_future_t;

static void run_vcf(const char *td, const sfl_options_t *opt, sfl_sink_t *s, bool expect_ok)
{
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(opt, &e);
    CHECK(j != NULL);
    char vcf[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    bool ok = j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) && sfl_job_run(j, s, &e);
    if (ok != expect_ok)
        fprintf(stderr, "run: %s\n", ok ? "succeeded" : e.message);
    CHECK(ok == expect_ok);
    sfl_job_destroy(j);
}

static void sink_ops(const char *td)
{
    sfl_error_t e;
    ctx_t c = {0};
    ops_v1_t v1 = {sizeof v1, NULL, w_write, NULL, NULL, NULL};
    sfl_sink_t *s = sfl_sink_new((const sfl_sink_ops_t *)(const void *)&v1, &c, &e);
    CHECK(s != NULL);
    run_vcf(td, NULL, s, true);
    CHECK(c.writes > 0 && c.docs > 0);
    sfl_sink_destroy(s); /* destroy is NULL: ctx stays ours, untouched */

    /* Below the first published size: refused, ctx still the caller's. */
    ops_v1_t small = {offsetof(ops_v1_t, commit), NULL, w_write, NULL, NULL, NULL};
    CHECK(sfl_sink_new((const sfl_sink_ops_t *)(const void *)&small, &c, &e) == NULL);
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "struct_size");
    /* Newer than this library: refused (its new op would never be called). */
    ops_future_t future = {{sizeof future, NULL, w_write, NULL, NULL, NULL}, NULL};
    CHECK(sfl_sink_new((const sfl_sink_ops_t *)(const void *)&future, &c, &e) == NULL);
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "struct_size");
    /* No write op: refused, saying so. */
    ops_v1_t nowrite = {sizeof nowrite, NULL, NULL, NULL, NULL, NULL};
    CHECK(sfl_sink_new((const sfl_sink_ops_t *)(const void *)&nowrite, &c, &e) == NULL);
    CHECK_CONTAINS(e.message, "write");
}

static void old_options(const char *td)
{
    /* A caller built before csq_field and the later fields existed. */
    sfl_options_t o;
    memset(&o, 0x5a, sizeof o); /* what an old caller never wrote */
    sfl_options_t d;
    sfl_options_init(&d);
    memcpy(&o, &d, offsetof(sfl_options_t, csq_field));
    o.struct_size = offsetof(sfl_options_t, csq_field);
    o.threads = 1;
    ctx_t c = {0};
    static const sfl_sink_ops_t ops = {.struct_size = sizeof ops, .write = w_write};
    sfl_sink_t *s = sfl_sink_new(&ops, &c, NULL);
    run_vcf(td, &o, s, true);
    CHECK(c.docs > 0);
    sfl_sink_destroy(s);
}

static void filled_structs(void)
{
    sfl_error_t e;
    sfl_mongo_options_t mo;
    sfl_mongo_options_init(&mo);
    mo.uri = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100&connectTimeoutMS=100";
    mo.db = "x";

    /* A newer caller's struct, larger than the library's. */
    struct {
        sfl_role_info_t known;
        char later[64];
    } big;
    memset(&big, 0xab, sizeof big);
    big.known.struct_size = sizeof big;
    CHECK(!sfl_mongo_role_get(&mo, &big.known, &e)); /* nothing listens there */
    CHECK_INT(e.code, SFL_E_SERVER_UNREACHABLE);
    CHECK_INT(big.known.struct_size, sizeof(sfl_role_info_t));
    CHECK_INT(big.known.role, SFL_ROLE_NONE);
    CHECK(SFL_FILLED_HAS(&big.known, sfl_role_info_t, manifest_digest));
    CHECK_INT((unsigned char)big.later[0], 0xab);
    CHECK_INT((unsigned char)big.later[63], 0xab);

    /* Too small, or never set: refused before anything is done. */
    sfl_role_info_t small;
    memset(&small, 0, sizeof small);
    small.struct_size = offsetof(sfl_role_info_t, sealed);
    CHECK(!sfl_mongo_role_get(&mo, &small, &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "struct_size");
    sfl_mongo_recovery_t rec;
    memset(&rec, 0, sizeof rec);
    CHECK(!sfl_mongo_recover(&mo, &rec, &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "struct_size");
    rec.struct_size = sizeof rec;
    CHECK(!sfl_mongo_recover(&mo, &rec, &e));
    CHECK_INT(e.code, SFL_E_SERVER_UNREACHABLE);
    CHECK_INT(rec.struct_size, sizeof rec);
    sfl_mongo_resume_stats_t rs;
    memset(&rs, 0, sizeof rs);
    CHECK(!sfl_sink_mongo_resume_stats(NULL, &rs));
}

/* Out-of-range values are refused, naming the option, never clamped. */
static void refusals(void)
{
    sfl_error_t e;
    sfl_options_t o;
    struct {
        size_t chunk;
        int queue;
        const char *says;
    } jobs[] = {{100, 2, "chunk size"}, {(256u << 20) + 1, 2, "chunk size"},
                {1u << 20, 0, "queue per thread"}, {1u << 20, 65, "queue per thread"}};
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        sfl_options_init(&o);
        o.chunk_bytes = jobs[i].chunk;
        o.queue_per_thread = jobs[i].queue;
        sfl_job_t *j = sfl_job_new(&o, &e);
        CHECK(j == NULL);
        CHECK_INT(e.code, SFL_E_USAGE);
        CHECK_CONTAINS(e.message, jobs[i].says);
        sfl_job_destroy(j);
    }
    for (int i = 0; i < 9; i++) {
        sfl_mongo_options_t mo;
        sfl_mongo_options_init(&mo);
        mo.uri = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100";
        mo.db = "x";
        const char *says = NULL;
        switch (i) {
        case 0: mo.insert_threads = 0, says = "inserter threads"; break;
        case 1: mo.insert_threads = 65, says = "inserter threads"; break;
        case 2: mo.batch_docs = 0, says = "documents per insert batch"; break;
        case 3: mo.queue_batches = 9, says = "batches waiting"; break;
        case 4: mo.max_retries = -1, says = "retries"; break;
        case 5: mo.lock_stale_seconds = 0, says = "stale-lock timeout"; break;
        case 6: mo.record_ms = 0, says = "recorded position"; break;
        case 7: mo.batch_bytes = 10, says = "bytes per insert batch"; break;
        case 8: mo.manifest_path = "", says = "manifest path"; break;
        }
        sfl_sink_t *s = sfl_sink_mongo_new(&mo, &e);
        CHECK(s == NULL);
        CHECK_INT(e.code, SFL_E_USAGE);
        CHECK_CONTAINS(e.message, says);
        sfl_sink_destroy(s);
        if (i == 5) { /* the same rule in recover and the lifecycle calls */
            sfl_mongo_recovery_t rec = {.struct_size = sizeof rec};
            CHECK(!sfl_mongo_recover(&mo, &rec, &e));
            CHECK_CONTAINS(e.message, says);
            CHECK(!sfl_mongo_role_get(&mo, NULL, &e));
            CHECK_CONTAINS(e.message, says);
        }
    }
}

/* A function a later major version would remove: declaring it so must
 * compile (it is never called, which would warn). */
SFL_DEPRECATED("use versions() instead") void old_versions(void);

static void versions(void)
{
    CHECK_INT(SFL_VERSION_HEX, ((unsigned long)SFL_VERSION_MAJOR << 24) |
                                   ((unsigned long)SFL_VERSION_MINOR << 16) |
                                   ((unsigned long)SFL_VERSION_PATCH << 8));
    CHECK_INT(SFL_VERSION_ENCODE(0, 1, 0), 0x00010000);
    CHECK(SFL_CHECK_VERSION(0, 0, 1));
    CHECK(SFL_CHECK_VERSION(SFL_VERSION_MAJOR, SFL_VERSION_MINOR, SFL_VERSION_PATCH));
    CHECK(!SFL_CHECK_VERSION(SFL_VERSION_MAJOR, SFL_VERSION_MINOR, SFL_VERSION_PATCH + 1));
    CHECK(!SFL_CHECK_VERSION(SFL_VERSION_MAJOR + 1, 0, 0));
#if !SFL_CHECK_VERSION(0, 1, 0)
    CHECK(!"SFL_CHECK_VERSION works in #if");
#endif
    CHECK_INT(sfl_version_hex(), SFL_VERSION_HEX);
    CHECK_STR(sfl_version(), SFL_VERSION_STRING);
    CHECK(sfl_version_check(SFL_VERSION_MAJOR, SFL_VERSION_MINOR, SFL_VERSION_PATCH));
    CHECK(sfl_version_check(SFL_VERSION_MAJOR, 0, 0));
    CHECK(!sfl_version_check(SFL_VERSION_MAJOR, SFL_VERSION_MINOR, SFL_VERSION_PATCH + 1));
    CHECK(!sfl_version_check(SFL_VERSION_MAJOR, SFL_VERSION_MINOR + 1, 0));
    CHECK(!sfl_version_check(SFL_VERSION_MAJOR + 1, 0, 0));
}

typedef struct {
    int debug, info;
    char first_debug[300];
} levels_t;

static void count_levels(void *ud, sfl_log_level_t level, const char *msg)
{
    levels_t *l = ud;
    if (level == SFL_LOG_DEBUG && l->debug++ == 0)
        snprintf(l->first_debug, sizeof l->first_debug, "%s", msg);
    if (level == SFL_LOG_INFO)
        l->info++;
}

/* A DEBUG level below INFO, with the run's resolved settings. */
static void debug_level(const char *td)
{
    levels_t l = {0};
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = 3;
    o.log = count_levels;
    o.log_ud = &l;
    ctx_t c = {0};
    static const sfl_sink_ops_t ops = {.struct_size = sizeof ops, .write = w_write};
    sfl_sink_t *s = sfl_sink_new(&ops, &c, NULL);
    run_vcf(td, &o, s, true);
    sfl_sink_destroy(s);
    CHECK(SFL_LOG_DEBUG > SFL_LOG_INFO);
    CHECK(l.debug >= 2 && l.info >= 1);
    CHECK_CONTAINS(l.first_debug, "3 parser thread(s)");
}

typedef struct {
    uint64_t docs[SFL_N_COLLECTIONS];
    int bad, batches, stop_after;
} seen_t;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool on_batch(void *ud, const sfl_batch_t *b, sfl_error_t *err)
{
    seen_t *s = ud;
    for (size_t i = 0; i < b->n_docs; i++) {
        const uint8_t *d = b->docs[i].data;
        /* a whole BSON document whose first field is _id */
        if (b->docs[i].len < 10 || le32(d) != b->docs[i].len || memcmp(d + 5, "_id", 4) != 0)
            s->bad++;
    }
    s->docs[b->collection] += b->n_docs;
    if (s->stop_after && ++s->batches >= s->stop_after) {
        if (s->stop_after == 2)
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "no room (test)");
        return false;
    }
    return true;
}

/* The converter's BSON through a per-batch callback, no sink written. */
static void batch_callback(const char *td)
{
    seen_t s = {{0}, 0, 0, 0};
    sfl_error_t e;
    CHECK(sfl_sink_callback_new(NULL, NULL, &e) == NULL && e.code == SFL_E_USAGE);
    sfl_options_t o;
    sfl_options_init(&o);
    o.chunk_bytes = 4096;
    sfl_job_t *j = sfl_job_new(&o, &e);
    sfl_sink_t *sink = sfl_sink_callback_new(on_batch, &s, &e);
    char vcf[1024], cov[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", td);
    CHECK(j && sink && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) &&
          sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, &e) && sfl_job_run(j, sink, &e));
    const sfl_summary_t *sum = sfl_job_summary(j);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        CHECK_INT(s.docs[c], sum->docs[c]);
    CHECK(s.docs[SFL_COLL_VARIANTS] > 0 && s.docs[SFL_COLL_COVERAGE] > 0);
    CHECK_INT(s.bad, 0);
    sfl_sink_destroy(sink);
    sfl_job_destroy(j);
    /* Stopping: with the callback's error, or SFL_E_CANCELLED. */
    for (int stop = 1; stop <= 2; stop++) {
        seen_t t = {{0}, 0, 0, stop};
        j = sfl_job_new(&o, &e);
        sink = sfl_sink_callback_new(on_batch, &t, &e);
        CHECK(j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) &&
              sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, &e));
        CHECK(!sfl_job_run(j, sink, &e));
        CHECK_INT(t.batches, stop);
        CHECK_INT(e.code, stop == 2 ? SFL_E_WRITE : SFL_E_CANCELLED);
        CHECK_CONTAINS(e.message, stop == 2 ? "no room (test)" : "batch callback stopped");
        CHECK(sfl_job_manifest(j) == NULL);
        sfl_sink_destroy(sink);
        sfl_job_destroy(j);
    }
}

/* The metrics' spill file goes where sfl_options_t.spill_dir says. */
static void spill_dir(const char *td)
{
    ctx_t c = {0};
    static const sfl_sink_ops_t ops = {.struct_size = sizeof ops, .write = w_write};
    sfl_options_t o;
    sfl_options_init(&o);
    char bad[] = "/nonexistent/sfl_spill";
    o.spill_dir = bad;
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(&o, &e);
    bad[1] = 'X'; /* copied by sfl_job_new */
    sfl_sink_t *s = sfl_sink_new(&ops, &c, NULL);
    char vcf[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    CHECK(j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e));
    CHECK(!sfl_job_run(j, s, &e));
    CHECK_INT(e.code, SFL_E_WRITE);
    CHECK_CONTAINS(e.message, "/nonexistent/sfl_spill/swefreq-metrics");
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
    char dir[] = "/tmp/sfl_spill_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    o.spill_dir = dir;
    j = sfl_job_new(&o, &e);
    s = sfl_sink_new(&ops, &c, NULL);
    CHECK(j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) && sfl_job_run(j, s, &e));
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
    CHECK(rmdir(dir) == 0); /* empty again: the spill file is removed */
}

typedef struct {
    int calls;
    sfl_progress_t last;
} prog_t;

static void on_prog(void *ud, const sfl_progress_t *p)
{
    prog_t *g = ud;
    g->calls++;
    g->last = *p;
    g->last.source = NULL;
}

/* verify with progress and cancellation. */
static void verify_control(const char *dir, uint64_t docs)
{
    sfl_error_t e;
    prog_t g = {0};
    sfl_run_control_t ctl;
    sfl_run_control_init(&ctl);
    ctl.progress = on_prog;
    ctl.progress_ud = &g;
    sfl_verify_report_t *r = sfl_verify_dump_ctl(NULL, dir, "db", true, &ctl, &e);
    CHECK(r && sfl_verify_report_ok(r));
    sfl_verify_report_destroy(r);
    CHECK(g.calls >= 1);
    CHECK_INT(g.last.docs, docs);
    CHECK(g.last.bytes_total > 0 && g.last.bytes_done == g.last.bytes_total);
    /* Cancelled: NULL with SFL_E_CANCELLED, never a report. */
    ctl.cancel = sfl_cancel_new();
    sfl_cancel_request(ctl.cancel);
    CHECK(sfl_cancel_requested(ctl.cancel));
    r = sfl_verify_dump_ctl(NULL, dir, "db", false, &ctl, &e);
    CHECK(r == NULL);
    CHECK_INT(e.code, SFL_E_CANCELLED);
    sfl_cancel_destroy(ctl.cancel);
    /* A control from other headers: a bad struct_size is refused. */
    ctl.cancel = NULL;
    ctl.struct_size = sizeof ctl + 8;
    CHECK(sfl_verify_dump_ctl(NULL, dir, "db", false, &ctl, &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(!sfl_cancel_requested(NULL));
    sfl_cancel_request(NULL);
    sfl_cancel_destroy(NULL);
}

/* The manifest's header and index definitions, through accessors. */
static void manifest_accessors(const char *td)
{
    char dir[] = "/tmp/sfl_compat_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(NULL, &e);
    sfl_sink_t *s = sfl_sink_dump_new(dir, "db", &e);
    char vcf[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    CHECK(j && s && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) && sfl_job_run(j, s, &e));
    const sfl_manifest_t *m = sfl_job_manifest(j);
    const char *created = sfl_manifest_created(m);
    CHECK(created && strlen(created) == 20 && created[4] == '-' && created[10] == 'T' &&
          created[19] == 'Z');
    CHECK_STR(sfl_manifest_tool_name(m), "swefreq-load");
    CHECK_STR(sfl_manifest_tool_version(m), sfl_version());
    char *ix = sfl_manifest_indexes_json(m, "variants");
    CHECK_CONTAINS(ix, "\"xpos_1\"");
    CHECK_CONTAINS(ix, "\"xpos\": 1");
    free(ix);
    CHECK(sfl_manifest_indexes_json(m, "no_such_collection") == NULL);
    CHECK(sfl_manifest_indexes_json(NULL, "variants") == NULL);
    CHECK(sfl_manifest_created(NULL) == NULL);
    /* The same from the file the dump wrote. */
    char path[1200];
    snprintf(path, sizeof path, "%s/db/manifest.json", dir);
    sfl_manifest_t *f = sfl_manifest_read_file(path, &e);
    CHECK(f != NULL);
    CHECK_STR(sfl_manifest_created(f), created);
    sfl_manifest_destroy(f);
    uint64_t docs = 0;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        docs += sfl_job_summary(j)->docs[c];
    verify_control(dir, docs);
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* sfl_mongo_options_t as a caller of 0.1.0 built it (struct_size before
 * `resume`, in a block of exactly that size, so that ASan sees a read past
 * it): every entry point takes it, the later fields at their defaults.
 * Nothing listens at the URI, so each gets as far as connecting (or, for
 * restore, reading the dump) and fails there, never with SFL_E_USAGE. */
static void old_mongo_options(void)
{
    const size_t v1 = offsetof(sfl_mongo_options_t, resume);
    sfl_mongo_options_t full;
    sfl_mongo_options_init(&full);
    full.uri = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100&connectTimeoutMS=100";
    full.db = "x";
    full.struct_size = v1;
    sfl_mongo_options_t *old = malloc(v1);
    CHECK(old != NULL);
    if (!old)
        return;
    memcpy(old, &full, v1);
    sfl_error_t e;
    sfl_restore_t *r = sfl_mongo_restore_new(old, "/nonexistent/dump", &e);
    CHECK(r == NULL);
    CHECK(e.code != SFL_E_USAGE);
    sfl_mongo_restore_destroy(r);
    CHECK(!sfl_mongo_export(old, "/nonexistent/out", &e));
    CHECK(e.code != SFL_E_USAGE);
    char *st = sfl_mongo_status_json(old, &e);
    CHECK(st == NULL);
    CHECK(e.code != SFL_E_USAGE);
    free(st);
    CHECK(!sfl_mongo_demote(old, "test", &e));
    CHECK(e.code != SFL_E_USAGE);
    sfl_mongo_recovery_t rec = {.struct_size = sizeof rec};
    CHECK(!sfl_mongo_recover(old, &rec, &e));
    CHECK(e.code != SFL_E_USAGE);
    /* and sfl_group_finish_t as a caller built it before scan_mode, in a
     * block of that size: taken, filled to that size only */
    size_t gv1 = SFL_GROUP_FINISH_V1, got = 0; /* struct_size comes first */
    unsigned char *gf = malloc(gv1);
    CHECK(gf != NULL);
    if (gf) {
        memset(gf, 0, gv1);
        memcpy(gf, &gv1, sizeof gv1);
        CHECK(!sfl_mongo_group_finish(old, "g", (sfl_group_finish_t *)(void *)gf, NULL, &e));
        CHECK(e.code != SFL_E_USAGE);
        memcpy(&got, gf, sizeof got);
        CHECK_INT(got, gv1);
        free(gf);
    }
    sfl_sink_t *s = sfl_sink_mongo_new(old, &e);
    CHECK(s != NULL || e.code != SFL_E_USAGE);
    sfl_sink_destroy(s);
    /* Too small (before `db`'s end) or larger than this library's: refused. */
    size_t small = offsetof(sfl_mongo_options_t, db); /* struct_size comes first */
    memcpy((char *)old + offsetof(sfl_mongo_options_t, struct_size), &small, sizeof small);
    CHECK(!sfl_mongo_demote(old, "test", &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    free(old);
}

int main(int argc, char **argv)
{
    const char *td = argc > 1 ? argv[1] : "testdata";
    sfl_init();
    sink_ops(td);
    old_options(td);
    filled_structs();
    old_mongo_options();
    refusals();
    versions();
    manifest_accessors(td);
    spill_dir(td);
    debug_level(td);
    batch_callback(td);
    sfl_cleanup();
    printf("test_compat: %d checks, %d failed\n", t_checks, t_failures);
    return t_failures ? 1 : 0;
}

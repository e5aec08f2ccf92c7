/* test_group_files.c: a partitioned load's plan file and parts' manifest
 * files against the database's records of them (lib/group_files.c): the
 * plan file with or without its commands, numbers of either integer width,
 * is the recorded plan; any other field, a region, the id, an extra field,
 * a file that is not JSON or not there, is refused naming it. Each part's
 * recorded manifest must be in exactly one of the files, in any order.
 * The journal's manifest of a finish killed in its swap must be the parts'
 * merged but for `created` and the metrics' count, bytes and digest; a
 * collection's, source's or option's field that differs is named. */
#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group_files.h"
#include "group_plan.h"
#include "swefreq/swefreq.h"
#include "testutil.h"

static char dir[] = "/tmp/sfl_test_group_files_XXXXXX";

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A plan of two parts recorded as `plan` records it (int64 bytes and
 * starts), source 1 cut in contig 1 at `cut`. */
static sfl_group_plan_t *recorded_plan(int64_t cut)
{
    bson_t d = BSON_INITIALIZER, parts, one, srcs, s, regs, r, plan;
    BSON_APPEND_UTF8(&d, "format", "swefreq-load-plan");
    BSON_APPEND_INT32(&d, "format_version", 1);
    BSON_APPEND_UTF8(&d, "group", "r1");
    BSON_APPEND_UTF8(&d, "created", "2026-12-07T00:00:00Z");
    BSON_APPEND_INT32(&d, "parts_n", 2);
    BSON_APPEND_BOOL(&d, "allow_empty", false);
    BSON_APPEND_INT64(&d, "bytes", 6000000000LL);
    BSON_APPEND_DOCUMENT_BEGIN(&d, "plan", &plan);
    BSON_APPEND_UTF8(&plan, "format", "swefreq-load-manifest");
    bson_append_document_end(&d, &plan);
    BSON_APPEND_ARRAY_BEGIN(&d, "parts", &parts);
    for (int k = 1; k <= 2; k++) {
        BSON_APPEND_DOCUMENT_BEGIN(&parts, k == 1 ? "0" : "1", &one);
        BSON_APPEND_INT32(&one, "part", k);
        BSON_APPEND_INT64(&one, "bytes", 3000000000LL);
        BSON_APPEND_ARRAY_BEGIN(&one, "sources", &srcs);
        BSON_APPEND_DOCUMENT_BEGIN(&srcs, "0", &s);
        BSON_APPEND_INT32(&s, "source", 1);
        BSON_APPEND_UTF8(&s, "path", "a.vcf.gz");
        BSON_APPEND_UTF8(&s, "read", "regions");
        BSON_APPEND_ARRAY_BEGIN(&s, "regions", &regs);
        BSON_APPEND_DOCUMENT_BEGIN(&regs, "0", &r);
        BSON_APPEND_UTF8(&r, "chrom", "1");
        BSON_APPEND_INT64(&r, "start", k == 1 ? 0 : cut);
        if (k == 1)
            BSON_APPEND_INT64(&r, "end", cut);
        bson_append_document_end(&regs, &r);
        bson_append_array_end(&s, &regs);
        bson_append_document_end(&srcs, &s);
        bson_append_array_end(&one, &srcs);
        bson_append_document_end(&parts, &one);
    }
    bson_append_array_end(&d, &parts);
    sfl_error_t err;
    sfl_group_plan_t *p = sfl_group_plan_from_doc(&d, "6b15f998040cc00", &err);
    CHECK(p != NULL);
    bson_destroy(&d);
    return p;
}

/* Checks plan file `name` against p: the expected error code (0: none) and
 * a piece of its message. */
static void plan_case(const sfl_group_plan_t *p, const char *name, uint32_t code,
                      const char *says)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    bool ok = sfl_group_plan_file_check(p, path_of(name), &err);
    CHECK_INT(ok, code == 0);
    CHECK_INT(err.code, code);
    if (says && !strstr(err.message, says))
        fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", name, err.message, says);
    CHECK(!says || strstr(err.message, says) != NULL);
}

/* `text` with the first `from` replaced by `to` (malloc'd). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CHECK(at != NULL);
    if (!at)
        return strdup(text);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void test_plan_file(void)
{
    sfl_group_plan_t *p = recorded_plan(1500000);
    const char *cmds[] = {"swefreq-load load --group r1 --part 1", "swefreq-load load --group r1 --part 2"};
    char *with = sfl_group_plan_json(p, cmds, 2), *bare = sfl_group_plan_json(p, NULL, 0);
    write_text("with.json", with);
    write_text("bare.json", bare);
    plan_case(p, "with.json", 0, NULL); /* the commands are not the plan's */
    plan_case(p, "bare.json", 0, NULL);

    /* numbers small enough for int32 in the file: the same plan */
    sfl_group_plan_t *small = recorded_plan(1000);
    char *small_json = sfl_group_plan_json(small, NULL, 0);
    write_text("small.json", small_json);
    plan_case(small, "small.json", 0, NULL);
    /* ... but not another cut */
    plan_case(p, "small.json", SFL_E_MISMATCH, "\"parts\"");

    char *t = replaced(with, "6b15f998040cc00", "6b15f998040cc01");
    write_text("id.json", t);
    plan_case(p, "id.json", SFL_E_MISMATCH, "\"id\"");
    free(t);
    t = replaced(with, "\"allow_empty\"", "\"extra\" : 1, \"allow_empty\"");
    write_text("extra.json", t);
    plan_case(p, "extra.json", SFL_E_MISMATCH, "\"extra\"");
    free(t);
    t = replaced(with, "\"a.vcf.gz\"", "\"b.vcf.gz\"");
    write_text("path.json", t);
    plan_case(p, "path.json", SFL_E_MISMATCH, "\"parts\"");
    free(t);
    t = replaced(with, "\"r1\"", "\"r2\"");
    write_text("group.json", t);
    plan_case(p, "group.json", SFL_E_MISMATCH, "\"group\"");
    free(t);
    write_text("notjson.json", "{ \"format\" : ");
    plan_case(p, "notjson.json", SFL_E_MANIFEST, "not a plan file");
    plan_case(p, "absent.json", SFL_E_MANIFEST, "absent.json");

    free(with);
    free(bare);
    free(small_json);
    sfl_group_plan_destroy(p);
    sfl_group_plan_destroy(small);
}

/* A manifest: testdata's format-1 one with its count set to `count`. */
static sfl_manifest_t *manifest(const char *testdata, int count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/format1_dump/swefreq/manifest.json", testdata);
    sfl_error_t err;
    sfl_manifest_t *base = sfl_manifest_read_file(path, &err);
    CHECK(base != NULL);
    if (!base)
        return NULL;
    char *json = sfl_manifest_to_json(base);
    char want[32];
    snprintf(want, sizeof want, "\"count\": %d", count);
    char *t = strstr(json, "\"count\": 40") ? replaced(json, "\"count\": 40", want)
                                             : replaced(json, "\"count\" : 40", want);
    sfl_manifest_t *m = sfl_manifest_parse(t, strlen(t), &err);
    CHECK(m != NULL);
    free(json);
    free(t);
    sfl_manifest_destroy(base);
    return m;
}

static void parts_case(sfl_manifest_t *const *parts, const char *const *names, size_t n,
                       uint32_t code, const char *says)
{
    const char *paths[4];
    for (size_t i = 0; i < n; i++)
        paths[i] = strdup(path_of(names[i]));
    sfl_error_t err;
    sfl_error_clear(&err);
    bool ok = sfl_group_part_files_check(parts, 2, paths, n, "r1", &err);
    CHECK_INT(ok, code == 0);
    CHECK_INT(err.code, code);
    if (says && !strstr(err.message, says))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.message, says);
    CHECK(!says || strstr(err.message, says) != NULL);
    for (size_t i = 0; i < n; i++)
        free((char *)paths[i]);
}

static void test_part_files(const char *testdata)
{
    sfl_manifest_t *parts[2] = {manifest(testdata, 40), manifest(testdata, 41)};
    sfl_manifest_t *forged = manifest(testdata, 39);
    if (!parts[0] || !parts[1] || !forged)
        return;
    sfl_error_t err;
    CHECK(sfl_manifest_write_file(parts[0], path_of("p1.json"), &err));
    CHECK(sfl_manifest_write_file(parts[1], path_of("p2.json"), &err));
    CHECK(sfl_manifest_write_file(forged, path_of("p9.json"), &err));

    parts_case(parts, (const char *[]){"p1.json", "p2.json"}, 2, 0, NULL);
    parts_case(parts, (const char *[]){"p2.json", "p1.json"}, 2, 0, NULL); /* any order */
    parts_case(parts, (const char *[]){"p1.json", "p1.json"}, 2, SFL_E_MISMATCH, "part 2's");
    parts_case(parts, (const char *[]){"p1.json"}, 1, SFL_E_USAGE, "2 parts");
    parts_case(parts, (const char *[]){"p1.json", "p2.json", "p9.json"}, 3, SFL_E_USAGE, NULL);
    parts_case(parts, (const char *[]){"p1.json", "nothere.json"}, 2, SFL_E_MANIFEST,
               "nothere.json");
    /* the record forged, the files honest: the part is named */
    sfl_manifest_t *recorded[2] = {parts[0], forged};
    parts_case(recorded, (const char *[]){"p1.json", "p2.json"}, 2, SFL_E_MISMATCH, "part 2's");
    /* a file that is no part's */
    parts_case(parts, (const char *[]){"p9.json", "p2.json"}, 2, SFL_E_MISMATCH, "part 1's");

    sfl_manifest_destroy(parts[0]);
    sfl_manifest_destroy(parts[1]);
    sfl_manifest_destroy(forged);
}

/* m's JSON with `from` (with ": " or " : " between key and value)
 * replaced by `to`, parsed again. */
static sfl_manifest_t *edit(const sfl_manifest_t *m, const char *key, const char *from,
                            const char *to)
{
    char *json = sfl_manifest_to_json(m), a[128], b[128];
    snprintf(a, sizeof a, "\"%s\": %s", key, from);
    snprintf(b, sizeof b, "\"%s\": %s", key, to);
    if (!strstr(json, a)) {
        snprintf(a, sizeof a, "\"%s\" : %s", key, from);
        snprintf(b, sizeof b, "\"%s\" : %s", key, to);
    }
    char *t = replaced(json, a, b);
    sfl_error_t err;
    sfl_manifest_t *out = sfl_manifest_parse(t, strlen(t), &err);
    if (!out)
        fprintf(stderr, "%s -> %s: %s\n", a, b, err.message);
    CHECK(out != NULL);
    free(json);
    free(t);
    return out;
}

static void journal_case(const sfl_manifest_t *merged, sfl_manifest_t *journal, uint32_t code,
                         const char *says)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    bool ok = journal && sfl_group_journal_check(merged, journal, "r1", &err);
    CHECK_INT(ok, code == 0);
    CHECK_INT(err.code, code);
    if (says && !strstr(err.message, says))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.message, says);
    CHECK(!says || strstr(err.message, says) != NULL);
    sfl_manifest_destroy(journal);
}

/* A finish killed in its swap: the journal's manifest against the parts'
 * merged. `created` may differ, and the metrics' count, bytes and digest;
 * nothing else. */
static void test_journal(const char *testdata)
{
    sfl_manifest_t *m = manifest(testdata, 40);
    if (!m)
        return;
    journal_case(m, edit(m, "created", "\"2026-12-06T18:26:34Z\"", "\"2027-01-01T00:00:00Z\""),
                 0, NULL);
    journal_case(m, manifest(testdata, 41), SFL_E_MISMATCH,
                 "collection base_coverage's field \"count\"");
    journal_case(m, edit(m, "records", "40", "41"), SFL_E_MISMATCH,
                 "source 1's field \"records\"");
    journal_case(m, edit(m, "histograms", "\"pairs\"", "\"columns\""), SFL_E_MISMATCH,
                 "option \"histograms\"");
    /* the metrics: computed by the finish's scan, not by the parts (a VCF
     * source filling variants and metrics) */
    char *js = sfl_manifest_to_json(m);
    char *t1 = replaced(js, "\"kind\": \"coverage\"", "\"kind\": \"vcf\"");
    char *t2 = replaced(t1, "\"name\": \"base_coverage\"", "\"name\": \"variants\"");
    char *t3 = replaced(t2, "\"collections\": [",
                        "\"collections\": [{\"name\": \"metrics\", \"count\": 40, "
                        "\"bytes\": 7120, \"digest\": \"a54c4c3e412c5fc75b583f20613fc755\"}, ");
    sfl_error_t err;
    sfl_manifest_t *mm = sfl_manifest_parse(t3, strlen(t3), &err);
    CHECK(mm != NULL);
    free(js);
    free(t1);
    free(t2);
    free(t3);
    if (mm) {
        journal_case(mm, edit(mm, "count", "40", "7"), 0, NULL);
        journal_case(mm, edit(mm, "bytes", "7120", "9"), 0, NULL);
        journal_case(mm, edit(mm, "size", "2812", "2813"), SFL_E_MISMATCH,
                     "source 1's field \"size\"");
    }
    sfl_manifest_destroy(mm);
    sfl_manifest_destroy(m);
}

int main(int argc, char **argv)
{
    const char *testdata = argc > 1 ? argv[1] : "testdata";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_plan_file();
    test_part_files(testdata);
    test_journal(testdata);
    const char *names[] = {"with.json", "bare.json", "small.json", "id.json", "extra.json",
                           "path.json", "group.json", "notjson.json", "p1.json", "p2.json",
                           "p9.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(path_of(names[i]));
    rmdir(dir);
    return t_done("test_group_files");
}

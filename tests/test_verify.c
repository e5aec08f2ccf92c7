/* Tests of the manifest and verification: an untouched dump verifies
 * clean; one changed byte, a deleted document, an added document, two
 * values swapped between documents, a changed and a missing source file
 * are each caught; the digest ignores document order and canonicalises
 * (_id first, every value byte for byte). */
#include <bson/bson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest_internal.h"
#include "swefreq/swefreq.h"
#include "testutil.h"

static char tmp[256];

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0)
        CHECK(fwrite(buf, 1, n, b) == n);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

/* Reads all documents of a .bson file. */
static size_t read_docs(const char *path, bson_t ***out)
{
    bson_error_t be;
    bson_reader_t *rd = bson_reader_new_from_file(path, &be);
    size_t n = 0;
    bson_t **docs = NULL;
    const bson_t *d;
    bool eof;
    while (rd && (d = bson_reader_read(rd, &eof)) != NULL) {
        docs = realloc(docs, (n + 1) * sizeof *docs);
        docs[n++] = bson_copy(d);
    }
    if (rd)
        bson_reader_destroy(rd);
    *out = docs;
    return n;
}

static void write_docs(const char *path, bson_t **docs, size_t n)
{
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; i < n; i++)
        if (docs[i])
            CHECK(fwrite(bson_get_data(docs[i]), 1, docs[i]->len, f) == docs[i]->len);
    fclose(f);
}

static void free_docs(bson_t **docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (docs[i])
            bson_destroy(docs[i]);
    free(docs);
}

/* Copy of `d` with field `key` (an int) set to `v`. */
static bson_t *with_int(const bson_t *d, const char *key, int32_t v)
{
    bson_t *o = bson_new();
    bson_iter_t it;
    bson_iter_init(&it, d);
    while (bson_iter_next(&it)) {
        if (!strcmp(bson_iter_key(&it), key))
            bson_append_int32(o, key, -1, v);
        else
            bson_append_iter(o, bson_iter_key(&it), -1, &it);
    }
    return o;
}

static int32_t int_of(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) ? bson_iter_int32(&it) : -1;
}

static sfl_verify_status_t coll_status(const sfl_manifest_t *m, const char *dir, bool sources,
                                       sfl_verify_status_t *src_status)
{
    sfl_error_t err;
    sfl_verify_report_t *r = sfl_verify_dump(m, dir, NULL, sources, &err);
    CHECK(r != NULL);
    if (!r)
        return SFL_VERIFY_ABSENT;
    sfl_verify_status_t s = sfl_verify_report_collection(r, 0)->status;
    if (src_status)
        *src_status = sfl_verify_report_n_sources(r) ? sfl_verify_report_source(r, 0)->status
                                                     : SFL_VERIFY_OK;
    char *js = sfl_verify_report_json(r);
    CHECK_CONTAINS(js, "\"collections\"");
    free(js);
    sfl_verify_report_destroy(r);
    return s;
}

/* A manifest of one VCF source up to its variants entry's fields, and an
 * empty metrics entry (with empty_digest()). */
#define MANIFEST_HEAD                                                                             \
    "{\"format\": \"swefreq-load-manifest\", \"format_version\": 2, "                              \
    "\"tool\": {\"name\": \"t\", \"version\": \"0\"}, \"created\": \"x\", \"options\": {}, "        \
    "\"sources\": [{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 1, "                         \
    "\"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}], "     \
    "\"collections\": [{\"name\": \"variants\", "
#define EMPTY_METRICS "{\"name\": \"metrics\", \"count\": 0, \"bytes\": 0, \"digest\": \"%s\"}"

/* The digest of no documents, as text (format 2). */
static const char *empty_digest(void)
{
    static char text[SFL_DIGEST_TEXT_SIZE];
    sfl_digest_t d;
    sfl_digest_init(&d);
    sfl_digest_text(&d, text);
    return text;
}

/* verify reads back exactly the documents the writer may write: one of
 * 16 MiB verifies, one of 16 MiB + 1 byte is a damaged file. */
static void test_document_bound(void)
{
    char dir[600], bs[700];
    snprintf(dir, sizeof dir, "%s/bound", tmp);
    CHECK(mkdir(dir, 0777) == 0);
    snprintf(bs, sizeof bs, "%s/variants.bson", dir);
    for (int extra = 0; extra <= 1; extra++) {
        size_t pad = (16u << 20) - 26 + (size_t)extra; /* the document's size - 26 */
        char *s = malloc(pad + 1);
        memset(s, 'x', pad);
        s[pad] = '\0';
        bson_t *d = bson_new();
        CHECK(BSON_APPEND_UTF8(d, "_id", "x") && BSON_APPEND_UTF8(d, "pad", s));
        free(s);
        CHECK_INT(d->len, (16u << 20) + (unsigned)extra);
        sfl_digest_t dg;
        sfl_digest_init(&dg);
        sfl_error_t err;
        CHECK(sfl_digest_add_canonical(&dg, bson_get_data(d), d->len, &err));
        static char hex[SFL_DIGEST_TEXT_SIZE], json[8192];
        sfl_digest_text(&dg, hex);
        snprintf(json, sizeof json, MANIFEST_HEAD "\"count\": 1, \"bytes\": %u, \"digest\": \"%s\", "
                 "\"indexes\": []}, " EMPTY_METRICS "]}",
                 d->len, hex, empty_digest());
        sfl_manifest_t *m = sfl_manifest_parse(json, strlen(json), &err);
        CHECK(m != NULL);
        write_docs(bs, &d, 1);
        snprintf(json, sizeof json, "%s/metrics.bson", dir);
        write_docs(json, NULL, 0);
        if (m && extra)
            CHECK(coll_status(m, dir, false, NULL) != SFL_VERIFY_OK);
        else if (m)
            CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_OK);
        sfl_manifest_destroy(m);
        bson_destroy(d);
    }
}

/* A manifest of `sources` and `colls` (JSON array bodies) is refused with
 * SFL_E_MANIFEST, the message containing `want` and `want2`. */
static void refused(const char *sources, const char *colls, const char *want, const char *want2)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, \"options\": {}, "
             "\"sources\": [%s], \"collections\": [%s]}",
             sources, colls);
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_manifest_t *m = sfl_manifest_parse(json, strlen(json), &err);
    CHECK(m == NULL);
    if (m)
        fprintf(stderr, "accepted: %s\n", json);
    CHECK_INT(err.code, SFL_E_MANIFEST);
    CHECK_CONTAINS(err.message, want);
    if (want2)
        CHECK_CONTAINS(err.message, want2);
    sfl_manifest_destroy(m);
}

#define VCF_SOURCE \
    "{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 1, " \
    "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}"
#define VCF_SOURCE2 \
    "{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 1, " \
    "\"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}"
#define ENTRY(name, count) \
    "{\"name\": \"" name "\", \"count\": " count ", \"bytes\": 1, " \
    "\"digest\": \"0123456789abcdef0123456789abcdef\"}"

/* Every count is an exact whole number that fits in int64, every
 * collection one of the browser's, listed once, and exactly those the
 * sources fill; the message names the field and the collection. */
static void test_manifest_rules(const char *dump_dir, const char *tmpdir)
{
    const char *metrics = ENTRY("metrics", "3");
    char colls[1024];
    /* the baseline is accepted: a VCF fills variants and metrics */
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "24"), metrics);
    static char json[16384]; /* three format-2 digests below */
    snprintf(json, sizeof json,
             "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, "
             "\"sources\": [%s], \"collections\": [%s]}", VCF_SOURCE, colls);
    sfl_error_t err;
    sfl_manifest_t *ok = sfl_manifest_parse(json, strlen(json), &err);
    CHECK(ok != NULL);
    if (ok)
        CHECK_INT(sfl_manifest_find_collection(ok, "variants")->count, 24);
    sfl_manifest_destroy(ok);
    /* the largest int64 is a count; one more is not */
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "9223372036854775807"), metrics);
    snprintf(json, sizeof json,
             "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, "
             "\"sources\": [%s], \"collections\": [%s]}", VCF_SOURCE, colls);
    ok = sfl_manifest_parse(json, strlen(json), &err);
    CHECK(ok && sfl_manifest_collection(ok, 0)->count == 9223372036854775807ull);
    sfl_manifest_destroy(ok);
    static const char *const bad_counts[] = {"9223372036854775808", "18446744073709551640",
                                             "24.5", "-1", "1e3", "\"24\"", "null",
                                             "-9223372036854775809", "24.0"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++) {
        snprintf(colls, sizeof colls,
                 "{\"name\": \"variants\", \"count\": %s, \"bytes\": 1, "
                 "\"digest\": \"0123456789abcdef0123456789abcdef\"}, %s",
                 bad_counts[i], metrics);
        refused(VCF_SOURCE, colls, "collection \"variants\": \"count\" is", "not a whole number");
    }
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "24"),
             "{\"name\": \"metrics\", \"count\": 3, \"bytes\": 24.5, "
             "\"digest\": \"0123456789abcdef0123456789abcdef\"}");
    refused(VCF_SOURCE, colls, "collection \"metrics\": \"bytes\" is 24.5", NULL);
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "24"), metrics);
    refused("{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 18446744073709551640, "
            "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}",
            colls, "source \"x.vcf\": \"size\" is", NULL);
    refused("{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 1, \"records\": -3, "
            "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}",
            colls, "source \"x.vcf\": \"records\" is -3", NULL);
    /* names: the browser's only, once, never a path */
    static const char *const bad_names[] = {"genez", "../../outside", "variants/x", "",
                                            "variants\\u0000x", ".."};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        snprintf(colls, sizeof colls,
                 "%s, %s, {\"name\": \"%s\", \"count\": 1, \"bytes\": 1, "
                 "\"digest\": \"0123456789abcdef0123456789abcdef\"}",
                 ENTRY("variants", "24"), metrics, bad_names[i]);
        refused(VCF_SOURCE, colls, "collection 3 is named", "not one of the browser's");
    }
    snprintf(colls, sizeof colls, "%s, %s, %s", ENTRY("variants", "24"), metrics,
             ENTRY("variants", "24"));
    refused(VCF_SOURCE, colls, "collection \"variants\" is listed twice", NULL);
    /* the collections are exactly those the sources fill */
    refused(VCF_SOURCE, "", "\"collections\" lacks variants, metrics", "partial");
    refused(VCF_SOURCE, metrics, "\"collections\" lacks variants", NULL);
    snprintf(colls, sizeof colls, "%s, %s, %s", ENTRY("variants", "24"), metrics,
             ENTRY("genes", "2"));
    refused(VCF_SOURCE, colls, "\"collections\" lists genes, which none of its sources fills",
            NULL);
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "24"), metrics);
    refused("", colls, "it lists no sources", NULL);
    refused("{\"path\": \"x.vcf\", \"kind\": \"bam\", \"size\": 1, "
            "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}",
            colls, "source \"x.vcf\": \"kind\" is the string \"bam\"", NULL);
    refused("{\"path\": \"x.tsv\", \"kind\": \"omim\", \"size\": 1, "
            "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}",
            "", "fill no collection", NULL);
    const char *no_sources = "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, "
                             "\"collections\": []}";
    CHECK(sfl_manifest_parse(no_sources, strlen(no_sources), &err) == NULL);
    CHECK_CONTAINS(err.message, "\"sources\" is not an array");

    /* A key twice in one object, at any depth, is refused (readers
     * disagree on which value counts: a lookup takes the first, an
     * overwrite the last), naming the key and the object. */
    snprintf(colls, sizeof colls,
             "{\"name\": \"variants\", \"count\": 999, \"count\": 24, \"bytes\": 1, "
             "\"digest\": \"0123456789abcdef0123456789abcdef\"}, %s", metrics);
    refused(VCF_SOURCE, colls, "the key \"count\" appears more than once in collections[0]",
            NULL);
    snprintf(colls, sizeof colls, "%s, %s", ENTRY("variants", "24"), metrics);
    refused("{\"path\": \"x.vcf\", \"kind\": \"vcf\", \"size\": 1, \"size\": 1, "
            "\"xxh3_128\": \"0123456789abcdef0123456789abcdef\"}",
            colls, "the key \"size\" appears more than once in sources[0]", NULL);
    static const char *const dup_head[] = {"\"format_version\": 9, ",
                                           "\"options\": {\"a\": {\"b\": 1, \"b\": 2}}, ", ""};
    static const char *const dup_tail[] = {"", "", ", \"collections\": []"};
    static const char *const dup_want[] = {
        "the key \"format_version\" appears more than once in the top-level object",
        "the key \"b\" appears more than once in options.a",
        "the key \"collections\" appears more than once in the top-level object"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(json, sizeof json,
                 "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, %s"
                 "\"sources\": [%s], \"collections\": [%s]%s}",
                 dup_head[i], VCF_SOURCE, colls, dup_tail[i]);
        sfl_error_clear(&err);
        ok = sfl_manifest_parse(json, strlen(json), &err);
        CHECK(ok == NULL);
        CHECK_INT(err.code, SFL_E_MANIFEST);
        CHECK_CONTAINS(err.message, dup_want[i]);
        sfl_manifest_destroy(ok);
    }
    snprintf(json, sizeof json,
             "{\"format\": \"swefreq-load-manifest\", \"format_version\": 1, "
             "\"sources\": [%s], \"collections\": [%s]}", VCF_SOURCE, colls);

    /* The copy in the database is BSON: a double count is refused there too. */
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, NULL);
    bson_t *dbl = bson_new();
    bson_iter_t it;
    CHECK(doc && bson_iter_init(&it, doc));
    while (doc && bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), "collections") != 0) {
            bson_append_iter(dbl, bson_iter_key(&it), -1, &it);
            continue;
        }
        bson_t arr, e;
        bson_append_array_begin(dbl, "collections", -1, &arr);
        for (int i = 0; i < 2; i++) {
            bson_append_document_begin(&arr, i ? "1" : "0", -1, &e);
            BSON_APPEND_UTF8(&e, "name", i ? "metrics" : "variants");
            BSON_APPEND_DOUBLE(&e, "count", 24.0);
            BSON_APPEND_UTF8(&e, "digest", "0123456789abcdef0123456789abcdef");
            bson_append_document_end(&arr, &e);
        }
        bson_append_array_end(dbl, &arr);
    }
    char *dj = bson_as_relaxed_extended_json(dbl, NULL);
    bson_error_t be;
    bson_t *back = bson_new_from_json((const uint8_t *)dj, -1, &be);
    CHECK(sfl_manifest_from_bson(back, &err) == NULL);
    CHECK_CONTAINS(err.message, "collection \"variants\": \"count\" is 24");
    bson_free(dj);
    bson_destroy(back);
    bson_destroy(dbl);
    bson_destroy(doc);

    /* "../../outside": a file planted outside the dump, whose count and
     * digest the manifest gives, is never read: verify refuses the
     * manifest (before, it reported the collection ok). */
    char path[900], cmd[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dump_dir);
    sfl_manifest_t *real = sfl_manifest_read_file(path, &err);
    CHECK(real != NULL);
    if (!real)
        return;
    const sfl_manifest_collection_t *v = sfl_manifest_find_collection(real, "variants");
    const sfl_manifest_collection_t *mt = sfl_manifest_find_collection(real, "metrics");
    snprintf(json, sizeof json,
             "{\"format\": \"swefreq-load-manifest\", \"format_version\": 2, \"sources\": [%s], "
             "\"collections\": [{\"name\": \"variants\", \"count\": %llu, \"digest\": \"%s\"}, "
             "{\"name\": \"metrics\", \"count\": %llu, \"digest\": \"%s\"}, "
             "{\"name\": \"../../outside\", \"count\": %llu, \"digest\": \"%s\"}]}",
             VCF_SOURCE2, (unsigned long long)v->count, v->digest,
             (unsigned long long)mt->count, mt->digest, (unsigned long long)v->count, v->digest);
    sfl_manifest_destroy(real);
    char bad_dir[700];
    snprintf(bad_dir, sizeof bad_dir, "%s/p/planted", tmpdir); /* ../../ is tmpdir */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/*.bson '%s/'", bad_dir, dump_dir, bad_dir);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/manifest.json", bad_dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(json, f) >= 0);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof cmd, "cp '%s/variants.bson' '%s/../../outside.bson'", bad_dir, bad_dir);
    CHECK(system(cmd) == 0);
    sfl_verify_report_t *r = sfl_verify_dump(NULL, bad_dir, NULL, false, &err);
    CHECK(r == NULL);
    CHECK_INT(err.code, SFL_E_MANIFEST);
    CHECK_CONTAINS(err.message, "\"../../outside\", which is not one of the browser's");
    CHECK_CONTAINS(err.message, path);
    sfl_verify_report_destroy(r);
}

/* A dump is named as the sink names it, (OUT, DB); without DB it is found. */
static void test_find_dump(const sfl_manifest_t *m, const char *out, const char *tmpdir)
{
    sfl_error_t err;
    /* (OUT, DB), the dump's own manifest */
    sfl_verify_report_t *r = sfl_verify_dump(NULL, out, "db", true, &err);
    CHECK(r && sfl_verify_report_ok(r));
    if (r) {
        const sfl_verify_item_t *s = sfl_verify_report_source(r, 0);
        CHECK(s && s->expected_size > 0 && s->actual_size == s->expected_size);
        CHECK(s && s->expected_count == 0);
        char *js = sfl_verify_report_json(r);
        CHECK_CONTAINS(js, "\"expected_size\"");
        /* verify.h: a source's name and digests, as the JSON names them */
        char want[200];
        if (s) {
            snprintf(want, sizeof want, "\"expected_sha256\" : \"%s\"", s->expected_digest);
            CHECK_CONTAINS(js, want);
            snprintf(want, sizeof want, "\"actual_sha256\" : \"%s\"", s->actual_digest);
            CHECK_CONTAINS(js, want);
            snprintf(want, sizeof want, "\"path\" : \"%s\"", s->name);
            CHECK_CONTAINS(js, want);
        }
        free(js);
    }
    sfl_verify_report_destroy(r);
    /* OUT holds exactly one database folder: that one */
    r = sfl_verify_dump(NULL, out, NULL, false, &err);
    CHECK(r && sfl_verify_report_ok(r));
    sfl_verify_report_destroy(r);
    /* a folder with no dump: bad input, naming it */
    char empty[600], other[700], cmd[2000];
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    CHECK(mkdir(empty, 0700) == 0);
    CHECK(sfl_verify_dump(m, empty, NULL, false, &err) == NULL);
    CHECK_INT(err.code, SFL_E_MANIFEST);
    CHECK_CONTAINS(err.message, "holds no dump");
    /* the dump of another database (no variants.bson): bad input, naming
     * the folders found, not "absent" */
    snprintf(other, sizeof other, "%s/other", empty);
    CHECK(mkdir(other, 0700) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s/db/manifest.json' '%s/' && : > '%s/base_coverage.bson'", out,
             other, other);
    CHECK(system(cmd) == 0);
    CHECK(sfl_verify_dump(m, empty, NULL, false, &err) == NULL);
    CHECK_INT(err.code, SFL_E_MANIFEST);
    CHECK_CONTAINS(err.message, "another database");
    CHECK_CONTAINS(err.message, "other");
    /* two database folders: the caller must name one */
    snprintf(cmd, sizeof cmd, "cp -r '%s/db' '%s/db2'", out, out);
    CHECK(system(cmd) == 0);
    CHECK(sfl_verify_dump(NULL, out, NULL, false, &err) == NULL);
    CHECK_INT(err.code, SFL_E_USAGE);
    CHECK_CONTAINS(err.message, "db2");
    snprintf(cmd, sizeof cmd, "rm -rf '%s/db2' '%s'", out, empty);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    sfl_init();
    snprintf(tmp, sizeof tmp, "/tmp/sfl_test_verify.XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    char src[512], out[512], dir[600], bs[700], mpath[700], saved[700];
    snprintf(src, sizeof src, "%s/exac.vcf", tmp);
    char orig[512];
    snprintf(orig, sizeof orig, "%s/exac_sample.vcf", argv[1]);
    copy_file(orig, src);
    snprintf(out, sizeof out, "%s/dump", tmp);
    snprintf(dir, sizeof dir, "%s/db", out);
    snprintf(bs, sizeof bs, "%s/variants.bson", dir);
    snprintf(saved, sizeof saved, "%s/variants.saved", tmp);
    snprintf(mpath, sizeof mpath, "%s/manifest.json", dir);

    sfl_error_t err;
    sfl_job_t *job = sfl_job_new(NULL, &err);
    CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, src, &err));
    sfl_sink_t *sink = sfl_sink_dump_new(out, "db", &err);
    CHECK(sfl_job_run(job, sink, &err));
    sfl_sink_destroy(sink);
    sfl_job_destroy(job);
    copy_file(bs, saved);

    /* The manifest on disk parses and says what was written. */
    sfl_manifest_t *m = sfl_manifest_read_file(mpath, &err);
    CHECK(m != NULL);
    if (!m)
        return t_done("test_verify");
    CHECK_INT(sfl_manifest_n_sources(m), 1);
    CHECK_INT(sfl_manifest_source(m, 0)->records, 18);
    CHECK_INT(sfl_manifest_collection(m, 0)->count, 24);
    CHECK_STR(sfl_manifest_option(m, "style"), "auto");
    CHECK_STR(sfl_manifest_option(m, "histograms"), "pairs");

    sfl_verify_status_t ss;
    CHECK_INT(coll_status(m, dir, true, &ss), SFL_VERIFY_OK);
    CHECK_INT(ss, SFL_VERIFY_OK);
    test_find_dump(m, out, tmp);
    test_manifest_rules(dir, tmp);

    bson_t **docs;
    size_t n = read_docs(saved, &docs);
    CHECK_INT(n, 24);

    /* One changed byte inside a document (a letter of a string value). */
    {
        size_t len;
        FILE *f = fopen(saved, "rb");
        char *buf = malloc(1 << 20);
        len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        char *p = memmem(buf, len, "Transcript", 10);
        CHECK(p != NULL);
        if (p)
            p[0] = 't';
        f = fopen(bs, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        free(buf);
        CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_DIGEST_DIFFERS);
    }
    /* A deleted document. */
    {
        bson_t *keep = docs[5];
        docs[5] = NULL;
        write_docs(bs, docs, n);
        docs[5] = keep;
        CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_COUNT_DIFFERS);
    }
    /* An added document. */
    {
        bson_t **more = malloc((n + 1) * sizeof *more);
        memcpy(more, docs, n * sizeof *more);
        more[n] = bson_new();
        BSON_APPEND_UTF8(more[n], "_id", "1-1-A-T");
        write_docs(bs, more, n + 1);
        bson_destroy(more[n]);
        free(more);
        CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_COUNT_DIFFERS);
    }
    /* Two values swapped between documents (allele_num differs). */
    {
        size_t a = 0, b = 0;
        for (size_t i = 1; i < n && !b; i++)
            if (int_of(docs[i], "allele_num") != int_of(docs[0], "allele_num") &&
                int_of(docs[i], "allele_num") >= 0 && int_of(docs[0], "allele_num") >= 0)
                b = i;
        CHECK(b > 0);
        bson_t *x = with_int(docs[a], "allele_num", int_of(docs[b], "allele_num"));
        bson_t *y = with_int(docs[b], "allele_num", int_of(docs[a], "allele_num"));
        bson_t *oa = docs[a], *ob = docs[b];
        docs[a] = x;
        docs[b] = y;
        write_docs(bs, docs, n);
        docs[a] = oa;
        docs[b] = ob;
        bson_destroy(x);
        bson_destroy(y);
        CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_DIGEST_DIFFERS);
    }
    /* A truncated file (half of the last document gone). */
    {
        write_docs(bs, docs, n);
        FILE *f = fopen(bs, "r+b");
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        CHECK(truncate(bs, size - 100) == 0);
        CHECK(coll_status(m, dir, false, NULL) != SFL_VERIFY_OK);
    }
    /* Reordered documents verify clean (order-independent digest). */
    {
        bson_t *t = docs[0];
        docs[0] = docs[n - 1];
        docs[n - 1] = t;
        write_docs(bs, docs, n);
        CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_OK);
    }
    /* Canonicalisation: _id moved last, verify clean; a -0.0 where the
     * document held 0.0 (the encoder never writes -0.0) is a change. */
    {
        sfl_digest_t d1, d2;
        sfl_digest_init(&d1);
        sfl_digest_init(&d2);
        bson_t *a = bson_new();
        BSON_APPEND_UTF8(a, "_id", "k");
        BSON_APPEND_DOUBLE(a, "x", 0.0);
        bson_t *b = bson_new();
        BSON_APPEND_DOUBLE(b, "x", 0.0);
        BSON_APPEND_UTF8(b, "_id", "k");
        sfl_digest_add(&d1, bson_get_data(a), a->len);
        CHECK(sfl_digest_add_canonical(&d2, bson_get_data(b), b->len, &err));
        CHECK(sfl_digest_equal(&d1, &d2));
        static char text[SFL_DIGEST_TEXT_SIZE];
        sfl_digest_text(&d1, text);
        sfl_digest_t d3;
        CHECK(sfl_digest_from_text(&d3, text) && sfl_digest_equal(&d3, &d1));
        /* -0.0 at the top, after a moved _id, and inside an array with
         * _id first: each hashes apart from the 0.0 it replaced. */
        bson_t *nb = bson_new();
        BSON_APPEND_DOUBLE(nb, "x", -0.0);
        BSON_APPEND_UTF8(nb, "_id", "k");
        sfl_digest_t d4;
        sfl_digest_init(&d4);
        CHECK(sfl_digest_add_canonical(&d4, bson_get_data(nb), nb->len, &err));
        CHECK(!sfl_digest_equal(&d1, &d4));
        bson_destroy(nb);
        bson_t *c1 = bson_new(), *c2 = bson_new(), arr;
        BSON_APPEND_UTF8(c1, "_id", "k");
        BSON_APPEND_ARRAY_BEGIN(c1, "a", &arr);
        BSON_APPEND_DOUBLE(&arr, "0", 0.0);
        bson_append_array_end(c1, &arr);
        BSON_APPEND_UTF8(c2, "_id", "k");
        BSON_APPEND_ARRAY_BEGIN(c2, "a", &arr);
        BSON_APPEND_DOUBLE(&arr, "0", -0.0);
        bson_append_array_end(c2, &arr);
        sfl_digest_t e1, e2;
        sfl_digest_init(&e1);
        sfl_digest_init(&e2);
        sfl_digest_add(&e1, bson_get_data(c1), c1->len);
        CHECK(sfl_digest_add_canonical(&e2, bson_get_data(c2), c2->len, &err));
        CHECK(!sfl_digest_equal(&e1, &e2));
        bson_destroy(c1);
        bson_destroy(c2);
        uint8_t junk[8] = {8, 0, 0, 0, 99, 0, 0, 0};
        CHECK(!sfl_digest_add_canonical(&d2, junk, sizeof junk, &err));
        bson_destroy(a);
        bson_destroy(b);
    }
    /* Source files: changed, then missing. */
    copy_file(saved, bs);
    {
        FILE *f = fopen(src, "ab");
        fputs("\n", f);
        fclose(f);
        CHECK_INT(coll_status(m, dir, true, &ss), SFL_VERIFY_OK);
        CHECK_INT(ss, SFL_VERIFY_CHANGED);
        unlink(src);
        coll_status(m, dir, true, &ss);
        CHECK_INT(ss, SFL_VERIFY_MISSING);
    }
    /* Manifest errors. */
    CHECK(sfl_manifest_parse("{\"format\": \"other\"}", 19, &err) == NULL);
    CHECK_CONTAINS(err.message, "invalid manifest");
    CHECK(sfl_manifest_parse("not json", 8, &err) == NULL);
    CHECK(sfl_manifest_read_file("/nonexistent/manifest.json", &err) == NULL);
    CHECK_INT(err.code, SFL_E_MANIFEST);

    free_docs(docs, n);
    sfl_manifest_destroy(m);
    test_document_bound();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (t_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    sfl_cleanup();
    return t_done("test_verify");
}

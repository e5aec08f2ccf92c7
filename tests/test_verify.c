/* Tests of the manifest and verification: an untouched dump verifies
 * clean; one changed byte, a deleted document, an added document, two
 * values swapped between documents, a changed and a missing source file
 * are each caught; the digest ignores document order and canonicalises
 * (_id first, -0.0 as 0.0). */
#include <bson/bson.h>
#include <sys/stat.h>
#include <unistd.h>

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
        static char hex[SFL_DIGEST_TEXT_SIZE], json[4096];
        sfl_digest_text(&dg, hex);
        snprintf(json, sizeof json,
                 "{\"format\": \"swefreq-load-manifest\", \"format_version\": 2, "
                 "\"tool\": {\"name\": \"t\", \"version\": \"0\"}, \"created\": \"x\", "
                 "\"options\": {}, \"sources\": [], \"collections\": [{\"name\": \"variants\", "
                 "\"count\": 1, \"bytes\": %u, \"digest\": \"%s\", \"indexes\": []}]}",
                 d->len, hex);
        sfl_manifest_t *m = sfl_manifest_parse(json, strlen(json), &err);
        CHECK(m != NULL);
        write_docs(bs, &d, 1);
        if (m && extra)
            CHECK(coll_status(m, dir, false, NULL) != SFL_VERIFY_OK);
        else if (m)
            CHECK_INT(coll_status(m, dir, false, NULL), SFL_VERIFY_OK);
        sfl_manifest_destroy(m);
        bson_destroy(d);
    }
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
    /* Canonicalisation: _id moved last, and a -0.0 for a 0.0, verify clean. */
    {
        sfl_digest_t d1, d2;
        sfl_digest_init(&d1);
        sfl_digest_init(&d2);
        bson_t *a = bson_new();
        BSON_APPEND_UTF8(a, "_id", "k");
        BSON_APPEND_DOUBLE(a, "x", 0.0);
        bson_t *b = bson_new();
        BSON_APPEND_DOUBLE(b, "x", -0.0);
        BSON_APPEND_UTF8(b, "_id", "k");
        sfl_digest_add(&d1, bson_get_data(a), a->len);
        CHECK(sfl_digest_add_canonical(&d2, bson_get_data(b), b->len, &err));
        CHECK(sfl_digest_equal(&d1, &d2));
        static char text[SFL_DIGEST_TEXT_SIZE];
        sfl_digest_text(&d1, text);
        sfl_digest_t d3;
        CHECK(sfl_digest_from_text(&d3, text) && sfl_digest_equal(&d3, &d1));
        /* _id already first, but a -0.0 inside an array: still rewritten. */
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
        CHECK(sfl_digest_equal(&e1, &e2));
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

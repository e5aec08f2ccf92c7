/* test_group.c: the manifest merge of a partitioned load
 * (lib/manifest_merge.c): counts, bytes and digests add up to the digest
 * of all documents; records and rejected lines are summed; parts that
 * disagree on an option or on how a source was read are refused, as is a
 * source no part read or found a record in. */
#include <bson/bson.h>
#include <stdio.h>
#include <string.h>

#include "manifest_internal.h"
#include "swefreq/swefreq.h"
#include "testutil.h"

/* One variant-like document, different for each i. */
static void doc(int i, bson_t *b)
{
    bson_init(b);
    char id[32];
    snprintf(id, sizeof id, "1-%d-A-G", 1000 + i);
    BSON_APPEND_UTF8(b, "_id", id);
    BSON_APPEND_INT64(b, "xpos", 1000000000 + i);
}

/* A part's manifest: documents [from, to) in variants, `records` records
 * of source 0, option style `style`, source 0 read with `csq`. */
static sfl_manifest_t *part(int from, int to, int records, int rejected, const char *style,
                            const char *csq)
{
    sfl_digest_t d, empty;
    sfl_digest_init(&d);
    sfl_digest_init(&empty);
    for (int i = from; i < to; i++) {
        bson_t b;
        doc(i, &b);
        sfl_digest_add(&d, bson_get_data(&b), b.len);
        bson_destroy(&b);
    }
    char dt[SFL_DIGEST_TEXT_SIZE], et[SFL_DIGEST_TEXT_SIZE];
    sfl_digest_text(&d, dt);
    sfl_digest_text(&empty, et);
    static char json[16384];
    snprintf(json, sizeof json,
             "{\"format\":\"swefreq-load-manifest\",\"format_version\":2,"
             "\"tool\":{\"name\":\"swefreq-load\",\"version\":\"0\"},\"created\":\"x\","
             "\"options\":{\"style\":\"%s\",\"max_errors\":0,\"rejected_lines\":%d},"
             "\"sources\":[{\"path\":\"a.vcf.gz\",\"kind\":\"vcf\",\"size\":10,"
             "\"sha256\":\"%064d\",\"records\":%d,\"style\":\"exac\"%s%s%s}],"
             "\"collections\":[{\"name\":\"variants\",\"count\":%d,\"bytes\":%llu,"
             "\"digest\":\"%s\",\"indexes\":[]},{\"name\":\"metrics\",\"count\":0,"
             "\"bytes\":0,\"digest\":\"%s\",\"indexes\":[]}]}",
             style, rejected, 0, records, csq ? ",\"csq_field\":\"" : "", csq ? csq : "",
             csq ? "\"" : "", to - from, (unsigned long long)d.bytes, dt, et);
    sfl_error_t err;
    sfl_manifest_t *m = sfl_manifest_parse(json, strlen(json), &err);
    if (!m)
        fprintf(stderr, "manifest: %s\n", err.message);
    return m;
}

int main(void)
{
    sfl_error_t err;
    /* three parts, each reading the source: the sum is the whole */
    sfl_manifest_t *p[3] = {part(0, 4, 4, 1, "auto", "CSQ"), part(4, 9, 5, 0, "auto", "CSQ"),
                            part(9, 10, 1, 2, "auto", "CSQ")};
    CHECK(p[0] && p[1] && p[2]);
    bool reads[3] = {true, true, true};
    sfl_manifest_t *m = sfl_manifest_merge((const sfl_manifest_t *const *)p, 3, reads, NULL,
                                           false, &err);
    CHECK(m != NULL);
    sfl_manifest_t *whole = part(0, 10, 10, 3, "auto", "CSQ");
    const sfl_manifest_collection_t *a = m ? sfl_manifest_find_collection(m, "variants") : NULL;
    const sfl_manifest_collection_t *b = sfl_manifest_find_collection(whole, "variants");
    CHECK(a && b && a->count == 10 && a->bytes == b->bytes && !strcmp(a->digest, b->digest));
    CHECK(m && sfl_manifest_source(m, 0)->records == 10);
    CHECK_STR(m ? sfl_manifest_option(m, "rejected_lines") : NULL, "3");
    /* the merged document equals the whole's but for created */
    char *jm = m ? sfl_manifest_to_json(m) : NULL, *jw = sfl_manifest_to_json(whole);
    char *cm = jm ? strstr(jm, "\"options\"") : NULL, *cw = jw ? strstr(jw, "\"options\"") : NULL;
    CHECK(cm && cw && !strcmp(cm, cw));
    free(jm);
    free(jw);
    sfl_manifest_destroy(m);
    sfl_manifest_destroy(whole);

    /* a part that did not read the source takes nothing of its reading */
    sfl_manifest_t *q[2] = {part(0, 4, 4, 0, "auto", "CSQ"), part(4, 4, 0, 0, "auto", NULL)};
    bool r2[2] = {true, false};
    m = sfl_manifest_merge((const sfl_manifest_t *const *)q, 2, r2, NULL, false, &err);
    CHECK(m != NULL);
    sfl_manifest_destroy(m);
    /* ... but two readers that disagree are refused, naming the field */
    bool r3[2] = {true, true};
    m = sfl_manifest_merge((const sfl_manifest_t *const *)q, 2, r3, NULL, false, &err);
    CHECK(m == NULL && err.code == SFL_E_MANIFEST && strstr(err.message, "csq_field"));
    sfl_manifest_destroy(q[1]);
    /* an option that differs is refused */
    q[1] = part(4, 6, 2, 0, "exac", "CSQ");
    m = sfl_manifest_merge((const sfl_manifest_t *const *)q, 2, r3, NULL, false, &err);
    CHECK(m == NULL && err.code == SFL_E_MANIFEST && strstr(err.message, "style"));
    /* a source no part read, or in which no part found a record */
    bool none[2] = {false, false};
    m = sfl_manifest_merge((const sfl_manifest_t *const *)p, 2, none, NULL, false, &err);
    CHECK(m == NULL && err.code == SFL_E_MANIFEST && strstr(err.message, "no part read"));
    sfl_manifest_t *e[2] = {part(0, 0, 0, 0, "auto", "CSQ"), part(0, 0, 0, 0, "auto", "CSQ")};
    m = sfl_manifest_merge((const sfl_manifest_t *const *)e, 2, r3, NULL, false, &err);
    CHECK(m == NULL && err.code == SFL_E_EMPTY);
    m = sfl_manifest_merge((const sfl_manifest_t *const *)e, 2, r3, NULL, true, &err);
    CHECK(m != NULL);
    sfl_manifest_destroy(m);
    for (int i = 0; i < 3; i++)
        sfl_manifest_destroy(p[i]);
    for (int i = 0; i < 2; i++) {
        sfl_manifest_destroy(q[i]);
        sfl_manifest_destroy(e[i]);
    }
    return t_done("test_group");
}

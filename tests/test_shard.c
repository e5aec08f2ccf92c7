/* Unit tests (no server): the exact commands a sharded load sends to a
 * mongos (docs/scale.md lists them), the split points of range sharding
 * (a group's at its plan's cut points),
 * and the server version rule. The commands are compared as canonical
 * extended JSON, so that a type (int32 1 for a range key, int64 xpos)
 * counts as much as a value. */
#include <mongoc/mongoc.h>

#include "group_plan.h"
#include "mongo/shard.h"
#include "testutil.h"

static void same_json(bson_t *cmd, const char *want)
{
    char *got = bson_as_canonical_extended_json(cmd, NULL);
    CHECK_STR(got, want);
    bson_free(got);
    bson_destroy(cmd);
}

static void commands(void)
{
    bson_t c;
    sfl_shard_cmd_enable(&c, "swefreq");
    same_json(&c, "{ \"enableSharding\" : \"swefreq\" }");
    sfl_shard_cmd_collection(&c, "swefreq", "swefreq_staging_x_variants", SFL_SHARD_HASHED);
    same_json(&c, "{ \"shardCollection\" : \"swefreq.swefreq_staging_x_variants\", "
                  "\"key\" : { \"_id\" : \"hashed\" } }");
    sfl_shard_cmd_collection(&c, "swefreq", "swefreq_staging_x_variants", SFL_SHARD_RANGE);
    same_json(&c, "{ \"shardCollection\" : \"swefreq.swefreq_staging_x_variants\", "
                  "\"key\" : { \"xpos\" : { \"$numberInt\" : \"1\" } } }");
    sfl_shard_cmd_split(&c, "swefreq", "s_dbsnp", 1000069001LL);
    same_json(&c, "{ \"split\" : \"swefreq.s_dbsnp\", \"middle\" : { \"xpos\" : "
                  "{ \"$numberLong\" : \"1000069001\" } } }");
    sfl_shard_cmd_move(&c, "swefreq", "s_dbsnp", 23000000000LL, "shard02");
    same_json(&c, "{ \"moveChunk\" : \"swefreq.s_dbsnp\", \"find\" : { \"xpos\" : "
                  "{ \"$numberLong\" : \"23000000000\" } }, \"to\" : \"shard02\" }");
    sfl_shard_zones_filter(&c, "swefreq", "variants");
    same_json(&c, "{ \"ns\" : \"swefreq.variants\" }");
}

static void split_points(void)
{
    int64_t *at;
    size_t n;
    /* no regions: each contig's start */
    CHECK(sfl_shard_split_points(NULL, 0, &at, &n));
    CHECK_INT(n, 25);
    CHECK_INT(at[0], 1000000000LL);
    CHECK_INT(at[22], 23000000000LL);
    CHECK_INT(at[24], 25000000000LL);
    free(at);
    /* half-open 0-based regions: a record belongs to [start, end) by its
     * POS - 1, so the chunk bounds are the xpos of POS start+1 and end+1;
     * neighbouring regions share a bound; a whole contig runs to the next
     * code; chrX is code 23 with or without "chr"; unknown contigs are
     * skipped; the result is sorted without repeats */
    sfl_manifest_region_t r[] = {
        {"chr1", 69000, 70000},
        {"chr1", 70000, 80000},
        {"chrX", 0, -1},
        {"GL000192.1", 0, 100},
        {"1", 0, 10}, /* the same contig code as chr1 */
    };
    CHECK(sfl_shard_split_points(r, 5, &at, &n));
    int64_t want[] = {1000000001LL, 1000000011LL, 1000069001LL, 1000070001LL, 1000080001LL,
                      23000000000LL, 24000000000LL};
    CHECK_INT(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++)
        CHECK_INT(at[i], want[i]);
    free(at);
    /* only unknown contigs: nothing to split at */
    sfl_manifest_region_t u[] = {{"GL000192.1", 0, 100}};
    CHECK(sfl_shard_split_points(u, 1, &at, &n));
    CHECK_INT(n, 0);
    CHECK(at == NULL);
}

/* A group's range-sharded staging is split where its plan cuts: the
 * regions of every part (sfl_group_plan_regions, what mongo/group.c hands
 * sfl_shard_staging_regions) give a split at each cut inside a contig,
 * not only at the contigs' starts. */
static void group_split(void)
{
    const char *js =
        "{\"format\": \"swefreq-load-plan\", \"format_version\": 1, \"group\": \"g\", "
        "\"parts_n\": 3, \"parts\": ["
        "{\"part\": 1, \"sources\": [{\"source\": 1, \"read\": \"regions\", "
        "  \"regions\": [{\"chrom\": \"1\", \"start\": 0, \"end\": 100000}]}, "
        "  {\"source\": 2, \"read\": \"none\"}]}, "
        "{\"part\": 2, \"sources\": [{\"source\": 1, \"read\": \"regions\", "
        "  \"regions\": [{\"chrom\": \"1\", \"start\": 100000}, "
        "                {\"chrom\": \"2\", \"start\": 0, \"end\": 5000}]}, "
        "  {\"source\": 2, \"read\": \"none\"}]}, "
        "{\"part\": 3, \"sources\": [{\"source\": 1, \"read\": \"regions\", "
        "  \"regions\": [{\"chrom\": \"2\", \"start\": 5000}]}, "
        "  {\"source\": 2, \"read\": \"regions\", "
        "  \"regions\": [{\"chrom\": \"X\", \"start\": 0}]}]}]}";
    bson_error_t be;
    bson_t *doc = bson_new_from_json((const uint8_t *)js, -1, &be);
    CHECK(doc != NULL);
    sfl_error_t err;
    sfl_group_plan_t *p = doc ? sfl_group_plan_from_doc(doc, "id", &err) : NULL;
    CHECK(p != NULL);
    size_t nr = 0, n = 0;
    sfl_manifest_region_t *regs = sfl_group_plan_regions(p, &nr);
    CHECK_INT(nr, 5);
    int64_t *at = NULL;
    CHECK(sfl_shard_split_points(regs, nr, &at, &n));
    int64_t want[] = {1000000001LL, 1000100001LL, 2000000000LL, 2000000001LL, 2000005001LL,
                      3000000000LL, 23000000000LL, 24000000000LL};
    CHECK_INT(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++)
        CHECK_INT(at[i], want[i]);
    /* the command for the cut inside contig 1 */
    bson_t c;
    sfl_shard_cmd_split(&c, "exac", "swefreq_staging_g_variants", at && n > 1 ? at[1] : 0);
    same_json(&c, "{ \"split\" : \"exac.swefreq_staging_g_variants\", \"middle\" : "
                  "{ \"xpos\" : { \"$numberLong\" : \"1000100001\" } } }");
    free(at);
    /* a region from a cut to its contig's end splits at the cut */
    sfl_manifest_region_t tail[] = {{"3", 700, -1}};
    CHECK(sfl_shard_split_points(tail, 1, &at, &n));
    CHECK_INT(n, 2);
    CHECK_INT(n ? at[0] : 0, 3000000701LL);
    free(at);
    free(regs);
    sfl_group_plan_destroy(p);
    bson_destroy(doc);
}

static void versions(void)
{
    CHECK(sfl_shard_version_ok("5.0.0"));
    CHECK(sfl_shard_version_ok("7.0.42"));
    CHECK(sfl_shard_version_ok("10.1.0-rc0"));
    CHECK(!sfl_shard_version_ok("4.4.29"));
    CHECK(!sfl_shard_version_ok("3.6"));
    CHECK(!sfl_shard_version_ok(""));
    CHECK(!sfl_shard_version_ok(NULL));
    CHECK(!sfl_shard_version_ok("v5"));
}

static void which(void)
{
    CHECK(sfl_shard_sharded(SFL_COLL_VARIANTS));
    CHECK(sfl_shard_sharded(SFL_COLL_COVERAGE));
    CHECK(sfl_shard_sharded(SFL_COLL_DBSNP));
    CHECK(!sfl_shard_sharded(SFL_COLL_GENES));
    CHECK(!sfl_shard_sharded(SFL_COLL_TRANSCRIPTS));
    CHECK(!sfl_shard_sharded(SFL_COLL_EXONS));
    CHECK(!sfl_shard_sharded(SFL_COLL_METRICS));
}

int main(void)
{
    commands();
    split_points();
    group_split();
    versions();
    which();
    return t_done("test_shard");
}

/* Unit tests (no server): finish's choice of a scan by ranges from the
 * server's `explain` of one range's find (sfl_explain_uses_index,
 * lib/mongo/range_scan.c). The replies are shaped as MongoDB's explain
 * output is documented (MongoDB Manual, "Explain Results": a tree of
 * stages under queryPlanner.winningPlan, inputStage / inputStages, the
 * slot-based engine's queryPlan, a mongos's shards[].winningPlan), cut
 * to the fields the choice reads plus a few that it must ignore; the
 * FerretDB one is what the test server (FerretDB 1.24, SQLite) answered. */
#include <mongoc/mongoc.h>

#include "mongo/range_scan.h"
#include "testutil.h"

/* The decision on reply `json`, and that its reason contains `want`. */
static void decide(const char *json, bool uses, const char *want)
{
    bson_error_t be;
    bson_t *reply = bson_new_from_json((const uint8_t *)json, -1, &be);
    if (!reply) {
        fprintf(stderr, "bad test JSON: %s\n", be.message);
        CHECK(false);
        return;
    }
    char why[200];
    CHECK(sfl_explain_uses_index(reply, "xpos", why, sizeof why) == uses);
    CHECK_CONTAINS(why, want);
    bson_destroy(reply);
}

#define IXSCAN_XPOS                                                                                \
    "{\"stage\": \"IXSCAN\", \"keyPattern\": {\"xpos\": 1}, \"indexName\": \"xpos_1\", "        \
    "\"isMultiKey\": false, \"direction\": \"forward\", \"indexBounds\": {\"xpos\": "           \
    "[\"[1000069001, 2000000000)\"]}}"

int main(void)
{
    /* a replica set member (or a lone mongod): FETCH over the xpos index */
    decide("{\"explainVersion\": \"1\", \"queryPlanner\": {\"namespace\": \"swefreq.s_variants\", "
           "\"winningPlan\": {\"stage\": \"FETCH\", \"inputStage\": " IXSCAN_XPOS "}, "
           "\"rejectedPlans\": []}, \"ok\": 1}",
           true, "IXSCAN of an index on xpos");
    /* the same under the slot-based engine (winningPlan.queryPlan) */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"queryPlan\": {\"stage\": \"FETCH\", "
           "\"inputStage\": " IXSCAN_XPOS "}, \"slotBasedPlan\": {\"slots\": \"...\"}}}, \"ok\": 1}",
           true, "IXSCAN");
    /* a collection scan */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"COLLSCAN\", \"filter\": {\"xpos\": "
           "{\"$lt\": 2000000000}}, \"direction\": \"forward\"}}, \"ok\": 1}",
           false, "reads by COLLSCAN");
    /* an index scan of another index (rsid) */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"FETCH\", \"filter\": {}, "
           "\"inputStage\": {\"stage\": \"IXSCAN\", \"keyPattern\": {\"rsid\": 1, \"xpos\": 1}, "
           "\"indexName\": \"rsid_1\"}}}, \"ok\": 1}",
           false, "index on 'rsid', not on xpos");
    /* a mongos: SHARD_MERGE over each shard's FETCH, SHARDING_FILTER, IXSCAN */
    decide("{\"queryPlanner\": {\"mongosPlannerVersion\": 1, \"winningPlan\": {\"stage\": "
           "\"SHARD_MERGE\", \"shards\": [{\"shardName\": \"shard01\", \"connectionString\": "
           "\"rs1/h1:27018\", \"winningPlan\": {\"stage\": \"FETCH\", \"inputStage\": {\"stage\": "
           "\"SHARDING_FILTER\", \"inputStage\": " IXSCAN_XPOS "}}}, {\"shardName\": \"shard02\", "
           "\"winningPlan\": {\"stage\": \"SHARDING_FILTER\", \"inputStage\": {\"stage\": "
           "\"FETCH\", \"inputStage\": " IXSCAN_XPOS "}}}]}}, \"ok\": 1}",
           true, "IXSCAN");
    /* a mongos where one shard scans its collection: not by ranges */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"SHARD_MERGE\", \"shards\": ["
           "{\"shardName\": \"shard01\", \"winningPlan\": {\"stage\": \"FETCH\", \"inputStage\": "
           IXSCAN_XPOS "}}, {\"shardName\": \"shard02\", \"winningPlan\": {\"stage\": "
           "\"SHARDING_FILTER\", \"inputStage\": {\"stage\": \"COLLSCAN\"}}}]}}, \"ok\": 1}",
           false, "COLLSCAN");
    /* a mongos with no shard listed, or a shard without its plan */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"SHARD_MERGE\", \"shards\": []}}}",
           false, "empty");
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"SINGLE_SHARD\", \"shards\": "
           "[{\"shardName\": \"shard01\"}]}}}",
           false, "no winningPlan");
    /* an OR of two index scans: every branch must be on xpos */
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"FETCH\", \"inputStage\": {\"stage\": "
           "\"OR\", \"inputStages\": [" IXSCAN_XPOS ", {\"stage\": \"COLLSCAN\"}]}}}}",
           false, "COLLSCAN");
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"OR\", \"inputStages\": ["
           IXSCAN_XPOS ", " IXSCAN_XPOS "]}}}",
           true, "IXSCAN");
    /* FerretDB 1.24 on SQLite: its own plan, no winningPlan */
    decide("{\"queryPlanner\": {\"Plan\": [\"id=2 parent=0 notused=0 detail=SCAN v_f30c40c9\"]}, "
           "\"explainVersion\": \"1\", \"serverInfo\": {\"version\": \"7.0.42\", "
           "\"ferretdbVersion\": \"unknown\"}, \"filterPushdown\": false, \"sortPushdown\": false, "
           "\"ok\": 1.0}",
           false, "no queryPlanner.winningPlan (filterPushdown: false");
    /* replies not understood */
    decide("{\"ok\": 1}", false, "no queryPlanner.winningPlan");
    decide("{\"queryPlanner\": {\"winningPlan\": {\"inputStage\": " IXSCAN_XPOS "}}}", false,
           "without a stage name");
    decide("{\"queryPlanner\": {\"winningPlan\": {\"stage\": \"IXSCAN\", \"keyPattern\": 5}}}",
           false, "index on ''");
    decide("{\"queryPlanner\": {\"winningPlan\": \"IXSCAN\"}}", false, "no queryPlanner.winningPlan");
    /* a plan nested deeper than 32 stages */
    char deep[4096];
    size_t o = 0;
    o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"queryPlanner\": {\"winningPlan\": ");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"stage\": \"FETCH\", \"inputStage\": ");
    o += (size_t)snprintf(deep + o, sizeof deep - o, "%s", IXSCAN_XPOS);
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "}");
    snprintf(deep + o, sizeof deep - o, "}}");
    decide(deep, false, "deeper than 32");
    return t_done("test_explain");
}

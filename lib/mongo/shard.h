/* mongo/shard.h: staging collections on a sharded cluster
 * (sfl_mongo_options_t.shard_key; docs/scale.md lists every command).
 * Private to lib/mongo.
 *
 * The command builders are pure (no server) so that the exact commands
 * can be tested; the rest talk to a mongos through the caller's client,
 * on the caller's thread. Nothing here prints: messages go to the log
 * callback given, errors to `err`.
 */
#ifndef SFL_MONGO_SHARD_H
#define SFL_MONGO_SHARD_H

#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

/* The collections that are sharded: variants, base_coverage and dbsnp
 * (the ones keyed by position, and large). */
bool sfl_shard_sharded(int collection);

/* true when `version` (buildInfo's "5.0.3", "7.0.12-rc1") is 5.0 or later. */
bool sfl_shard_version_ok(const char *version);

/* The xpos values at which a range-sharded collection is split, sorted,
 * without repeats: each region's first and one-past-last position
 * (contig code * 10^9 + 1-based POS; a region without an end, end < 0,
 * runs to the next code's start: a whole contig when its start is 0); with no region, every contig's start (codes 1..25).
 * Regions on a contig without a code are skipped. *out is malloc'd (NULL
 * when *n is 0); false only when out of memory. */
bool sfl_shard_split_points(const sfl_manifest_region_t *regions, size_t n_regions,
                            int64_t **out, size_t *n);

/* The commands (each into an uninitialised `cmd`; bson_destroy it):
 *   {enableSharding: db}
 *   {shardCollection: "db.coll", key: {_id: "hashed"} or {xpos: 1}}
 *   {split: "db.coll", middle: {xpos: at}}
 *   {moveChunk: "db.coll", find: {xpos: at}, to: shard}
 * and the filter of a target's zones in config.tags: {ns: "db.coll"}. */
void sfl_shard_cmd_enable(bson_t *cmd, const char *db);
void sfl_shard_cmd_collection(bson_t *cmd, const char *db, const char *coll, int shard_key);
void sfl_shard_cmd_split(bson_t *cmd, const char *db, const char *coll, int64_t at);
void sfl_shard_cmd_move(bson_t *cmd, const char *db, const char *coll, int64_t at,
                        const char *shard);
void sfl_shard_zones_filter(bson_t *filter, const char *db, const char *coll);

/* Before anything is written (no lock taken yet): for shard_key
 * SFL_SHARD_NONE nothing; else the server must be a mongos of MongoDB 5.0
 * or later, and no browser collection in `used` may have zones.
 * SFL_E_SHARDING (SFL_DOMAIN_STATE) naming what is wrong otherwise;
 * a server error as such. Reads only. */
bool sfl_shard_precheck(mongoc_client_t *c, const char *db, int shard_key,
                        const bool used[SFL_N_COLLECTIONS], sfl_error_t *err);

/* Right after staging collection `staging` (of browser collection
 * `collection`) was created and before any insert: nothing for shard_key
 * SFL_SHARD_NONE or an unsharded collection; else enableSharding (needed
 * before MongoDB 6.0), shardCollection, and for range the splits at the
 * plan's region boundaries (sfl_shard_split_points) and a round-robin
 * moveChunk of the chunks over the shards (listShards). A failed move
 * only costs balance: it is logged as a warning and the load goes on.
 * `plan` may be NULL (no regions). */
bool sfl_shard_staging(mongoc_client_t *c, const char *db, const char *staging, int collection,
                       int shard_key, const sfl_manifest_t *plan, sfl_log_fn log, void *log_ud,
                       sfl_error_t *err);

/* The same, split at the boundaries of `regs` (nr of them; none: every
 * contig's start): a group's staging at its parts' regions
 * (sfl_group_plan_regions), so that each part writes its own chunks. */
bool sfl_shard_staging_regions(mongoc_client_t *c, const char *db, const char *staging,
                               int collection, int shard_key,
                               const sfl_manifest_region_t *regs, size_t nr, sfl_log_fn log,
                               void *log_ud, sfl_error_t *err);

/* 1 when the index `key` on db.coll is the key the collection is sharded
 * on (config.collections), so that a verification does not report the
 * index shardCollection made ({_id: "hashed"}) as unlisted; 0 when not or
 * when the server has no such record (not a mongos). */
int sfl_shard_key_index(mongoc_client_t *c, const char *db, const char *coll,
                        const bson_value_t *key);

#endif

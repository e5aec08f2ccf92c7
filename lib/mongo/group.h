/* mongo/group.h: what the MongoDB sink asks of a partitioned load's group
 * when it loads one part (mongo/group.c). Private to lib/mongo.
 *
 * The documents of a group in swefreq_meta, next to the lock (whose
 * `group` and `lease_seconds` say that a group holds it):
 *   {_id: <group id>, kind: "group", group, status ("loading", then as a
 *    load's: "swapping", "complete"; "interrupted" when another load took
 *    its lock over), plan (the run's plan), group_plan (the parts), parts_n,
 *    started, updated, manifest, swap, ...}
 *       The group's record; the finish journals its swap here as a load
 *       does, so recover and the next load finish it the same way.
 *   {_id: <group id>-p<K>, kind: "part", group, group_id, part, part_spec
 *    (the part's entry of the plan), status, acknowledged, sent, plan,
 *    attempts, manifest (the part's)}
 *       A part's record, written by the sink as a load's record.
 */
#ifndef SFL_MONGO_GROUP_H
#define SFL_MONGO_GROUP_H

#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

/* What a part's begin found. */
typedef struct {
    char group_id[48]; /* the group's id: its staging is swefreq_staging_<id>_* */
    char part_id[48];  /* the part's record                                  */
    bool resume;       /* an earlier attempt left a record: continue it     */
    bson_t record;     /* with resume: that record (bson_destroy it)        */
    bson_t spec;       /* the part's entry of the plan (bson_destroy it)    */
} sfl_part_entry_t;

/* Checks that group `group` holds db's lock (with id `group_id` when not
 * NULL), that `plan` (the run's options and hashed sources) is the group's,
 * and what part `part` has done: SFL_E_NOT_READY (no such group yet),
 * SFL_E_PART_DONE (the part or the group is complete), SFL_E_LOCKED (the
 * lock is another's, or a live attempt loads the part: its record was
 * updated within `stale_seconds`), SFL_E_MANIFEST naming the difference.
 * On success *out is filled (both bsons initialised). */
bool sfl_group_part_enter(mongoc_client_t *c, const char *db, const char *group, int part,
                          const char *group_id, const sfl_manifest_t *plan, int stale_seconds,
                          sfl_part_entry_t *out, sfl_error_t *err);

#endif

/* swefreq/group.h: partitioned loads. One release is loaded by N parts
 * (processes on any hosts) into one database, then finished as one load
 * (README "Partitioned loads").
 *
 *   plan    sfl_group_plan_make() splits the job's sources into N parts,
 *           balanced by the compressed bytes their tabix/CSI indexes give
 *           (a contig larger than a part is cut at index boundaries;
 *           sources without an index, and GTF, dbSNP and gene tables, go
 *           whole into one part); sfl_mongo_group_record() records the
 *           group and its plan in swefreq_meta under the database's load
 *           lock, which the group holds until its finish.
 *   part    sfl_mongo_group_fetch() reads the recorded plan;
 *           sfl_job_use_part() restricts a job with the same sources and
 *           options to part K; a MongoDB sink with sfl_mongo_options_t.group
 *           and .part inserts it into the group's shared staging
 *           collections and records the part (state, acknowledged
 *           position, its manifest).
 *   finish  sfl_mongo_group_finish() checks that every part is complete
 *           and that the parts cover the plan exactly, merges their
 *           manifests by adding digests and counts, computes the metrics
 *           from all variants, builds the indexes, verifies the staging,
 *           swaps it in through the journal and releases the lock.
 *
 * A plan is immutable once made (but for the id recording gives it); it
 * may be read from several threads at once. Every function here may be
 * called from any thread; none prints.
 */
#ifndef SWEFREQ_GROUP_H
#define SWEFREQ_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"
#include "swefreq/export.h"
#include "swefreq/job.h"
#include "swefreq/manifest.h"
#include "swefreq/mongo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sfl_group_plan sfl_group_plan_t;

/* The most parts a plan may have. */
#define SFL_GROUP_MAX_PARTS 10000
/* How long a group holds the lock without a sign of life (a part's
 * heartbeat) before another load may take it over: the default lease. */
#define SFL_GROUP_LEASE_SECONDS 86400

/* Splits job `j`'s sources into `parts` parts (1 to SFL_GROUP_MAX_PARTS)
 * for group `group` (1 to 64 of [A-Za-z0-9._-]). Hashes every source (the
 * plan names them by SHA-256) and reads each indexed VCF and coverage
 * file's index, which must cover the file (else SFL_E_REGION naming the
 * file: a stale index, or one without record counts per contig); the plan
 * records each index's SHA-256 and counts, and each part's byte range of
 * each file with its SHA-256. The job is used up (it cannot run
 * afterwards). Refused (SFL_E_USAGE) when the indexes offer fewer pieces
 * than parts, or when the job has regions of its own. The caller owns the
 * plan (sfl_group_plan_destroy). */
SFL_API sfl_group_plan_t *sfl_group_plan_make(sfl_job_t *j, const char *group, int parts,
                                              sfl_error_t *err) SFL_WUR;
SFL_API void sfl_group_plan_destroy(sfl_group_plan_t *p);

/* The number of parts; 0 for NULL. */
SFL_API int sfl_group_plan_parts(const sfl_group_plan_t *p);
/* The group's name; NULL for NULL. */
SFL_API const char *sfl_group_plan_group(const sfl_group_plan_t *p);
/* The group's id in the database (its staging collections are
 * swefreq_staging_<id>_*): "" until recorded. */
SFL_API const char *sfl_group_plan_id(const sfl_group_plan_t *p);
/* The plan's sources (each with its path as given, absolute path, kind,
 * size and SHA-256) and document options, as a manifest without figures,
 * for a part given no sources of its own (the CLI's `load --group G
 * --part K` alone). NULL with err. The caller owns it. */
SFL_API sfl_manifest_t *sfl_group_plan_sources(const sfl_group_plan_t *p,
                                               sfl_error_t *err) SFL_WUR;

/* Part `part`'s (1..N) share of the compressed bytes; 0 out of range. */
SFL_API uint64_t sfl_group_plan_part_bytes(const sfl_group_plan_t *p, int part);

/* The plan as JSON (README "Partitioned loads"): group, id, sources with
 * their SHA-256, options, and each part with its regions per source and,
 * when `commands` is not NULL, commands[K-1] as its command (n_commands
 * of them). Malloc'd (free() it); NULL when out of memory. */
SFL_API char *sfl_group_plan_json(const sfl_group_plan_t *p, const char *const *commands,
                                  size_t n_commands);

/* Restricts job `j` (the same sources, in the same order, as the plan's)
 * to part `part` (1..N): each source is read in the part's regions, whole,
 * or not at all; no metrics are written (the finish computes them). The
 * job must not have regions of its own. SFL_E_USAGE for a part out of
 * range, SFL_E_MANIFEST naming the difference when the job's sources are
 * not the plan's (their hashes are compared when the part's sink begins:
 * a source the part reads in regions by the plan's hashes of its header's
 * blocks and of the part's own byte range). SFL_E_MANIFEST or
 * SFL_E_REGION when a source's index is not the plan's. */
SFL_API bool sfl_job_use_part(sfl_job_t *j, const sfl_group_plan_t *p, int part,
                              sfl_error_t *err) SFL_WUR;

/* Records plan `p` in database o->db: takes the load lock for the group
 * (SFL_E_LOCKED naming the holder when another load or group holds it;
 * o->lock_stale_seconds, o->break_lock as for a load), settles the
 * database as a load does, creates the group's staging collections and
 * records the group ("loading") with its plan. The lock stays the group's
 * until its finish; it is stale after `lease_seconds` (0: the default,
 * SFL_GROUP_LEASE_SECONDS) without a part's heartbeat. Sets the plan's id. */
SFL_API bool sfl_mongo_group_record(const sfl_mongo_options_t *o, sfl_group_plan_t *p,
                                    int lease_seconds, sfl_error_t *err) SFL_WUR;

/* The plan recorded for group `group` in o->db, whose lock it must hold:
 * SFL_E_NOT_READY when no such group is recorded (yet), SFL_E_PART_DONE
 * when it is finished, SFL_E_LOCKED when the lock is another's. Takes no
 * lock. The caller owns the plan. */
SFL_API sfl_group_plan_t *sfl_mongo_group_fetch(const sfl_mongo_options_t *o, const char *group,
                                                sfl_error_t *err) SFL_WUR;

/* What sfl_mongo_group_finish did. */
typedef struct {
    size_t struct_size;   /* sizeof(sfl_group_finish_t): SFL_FILLED_HAS */
    char group_id[48];    /* the group's id (its load record in swefreq_meta) */
    int parts;            /* parts merged                                 */
    bool swapped;         /* the new data is live                         */
    /* Added later (SFL_FILLED_HAS): the files the finish checked the
     * records against (sfl_mongo_group_finish_files): */
    bool plan_file_checked;  /* the recorded plan was the plan file's       */
    bool part_files_checked; /* each part's recorded manifest was its file's */
    /* Added later (SFL_FILLED_HAS): how each staging collection
     * (sfl_collection_t) was scanned to verify it, also when the finish
     * failed: SFL_SCAN_RANGED or SFL_SCAN_SINGLE, and why (the option, or
     * what the server's explain said); 0 (SFL_SCAN_AUTO) and "" when it
     * was not scanned (not loaded, or the finish stopped before it). */
    int scan_mode[SFL_N_COLLECTIONS];
    char scan_reason[SFL_N_COLLECTIONS][200];
    /* Added later (SFL_FILLED_HAS): the group's record said "swapping"
     * (a finish killed in its swap): this finish rolled that swap forward,
     * its journal checked only when the files were given
     * (plan_file_checked, part_files_checked). */
    bool resumed;
} sfl_group_finish_t;
/* The size of sfl_group_finish_t before the fields added later: the
 * smallest struct_size sfl_mongo_group_finish takes. */
#define SFL_GROUP_FINISH_V1 offsetof(sfl_group_finish_t, plan_file_checked)

/* The files a finish checks the database's records against before it
 * merges anything: the plan file that `plan` wrote (sfl_group_plan_json)
 * and each part's manifest file (the part's o->manifest_path, written
 * before its record says complete). Without them the finish has only the
 * database's word for what the parts read and computed: a writer to the
 * database could change staging documents and a part's recorded manifest
 * together, or a part's regions in the recorded plan (README "Partitioned
 * loads"). The caller owns the strings. */
typedef struct {
    size_t struct_size;                /* sizeof(sfl_group_finish_files_t) */
    const char *plan_path;             /* NULL: the plan is not checked   */
    const char *const *part_manifests; /* n_part_manifests paths, any order;
                                          NULL: the parts are not checked */
    size_t n_part_manifests;
} sfl_group_finish_files_t;

/* Finishes group `group` in o->db (see above). Refused before anything
 * changes: SFL_E_NOT_READY naming the parts that are not complete;
 * SFL_E_MANIFEST naming the part whose regions, sources or options do
 * not match the plan, or the regions missing or covered twice, or the
 * source and contig whose records the parts read differ in number from
 * its index's count;
 * SFL_E_PART_DONE when the group is finished already. A staging
 * collection that differs from the merged manifest is SFL_E_MISMATCH;
 * the browser's collections are then unchanged. Writes the merged manifest
 * to o->manifest_path (as PATH.partial, renamed after the swap) when set;
 * `*manifest` (may be NULL) receives it (sfl_manifest_destroy). `out` may
 * be NULL. */
SFL_API bool sfl_mongo_group_finish(const sfl_mongo_options_t *o, const char *group,
                                    sfl_group_finish_t *out, sfl_manifest_t **manifest,
                                    sfl_error_t *err) SFL_WUR;

/* sfl_mongo_group_finish, checking the database's records against `files`
 * (may be NULL: then it is sfl_mongo_group_finish) before anything changes:
 * a recorded plan that is not the plan file's, a part's recorded manifest
 * that no file holds, or a file that holds no part's: SFL_E_MISMATCH,
 * naming it; a file that cannot be read or is not a plan or a manifest:
 * SFL_E_MANIFEST; as many files as parts are needed, else SFL_E_USAGE.
 * A finish killed in its swap (the group's record says "swapping") and run
 * again rolls the swap forward as its journal says; given files, it first
 * checks the records against them as above, merges the parts' manifests
 * and compares the result with the journal's manifest (every collection's
 * count, bytes and digest but the metrics', which the scan computed; the
 * sources and options), and the journal's renames with the group's staging
 * collections, then scans every collection the journal renames (in staging,
 * or in the browser when renamed already) against the journal's manifest,
 * computing the metrics again from the variants: a difference is
 * SFL_E_MISMATCH naming the collection, source or option and the field,
 * before anything more is renamed; o->manifest_path and `*manifest` then
 * get the journal's manifest. Without files it checks
 * nothing and writes no manifest file. Thread safety as
 * sfl_mongo_group_finish. */
SFL_API bool sfl_mongo_group_finish_files(const sfl_mongo_options_t *o, const char *group,
                                          const sfl_group_finish_files_t *files,
                                          sfl_group_finish_t *out, sfl_manifest_t **manifest,
                                          sfl_error_t *err) SFL_WUR;

#ifdef __cplusplus
}
#endif

#endif

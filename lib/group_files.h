/* group_files.h: a partitioned load's files against the database's
 * records of it, for the finish (mongo/group.c). Private to the library.
 *
 * Why: the parts of a group hand their manifests to the finish through the
 * database (each part's record), and the parts read their regions from the
 * plan recorded there. Someone who can write to the database between the
 * parts and the finish could change staging documents and the recorded
 * part manifest together (the digest is public: anyone can add and remove
 * documents from it), or drop a region from the recorded plan, and the
 * finish would merge, verify and swap what they wrote. The files that
 * `plan --out` and each part's `--manifest` write never pass through the
 * database: checked against them, the finish proves what the parts read
 * and computed themselves.
 */
#ifndef SFL_GROUP_FILES_H
#define SFL_GROUP_FILES_H

#include <stddef.h>

#include "swefreq/group.h"
#include "swefreq/manifest.h"

/* The plan file `path` (the JSON sfl_group_plan_json wrote, with or
 * without the parts' commands) holds plan `p` exactly: the same group, id,
 * sources, options, parts and regions. SFL_E_MISMATCH naming the file and
 * the first field that differs; SFL_E_MANIFEST when the file cannot be read
 * or is not a plan. */
bool sfl_group_plan_file_check(const sfl_group_plan_t *p, const char *path, sfl_error_t *err);

/* Each of the `n` parts' manifests (parts[k] is part k+1's, as recorded in
 * the database) equals the manifest in one of the `n_paths` files, each file
 * used once, and every file is used: SFL_E_MISMATCH naming a part no file
 * holds, or a file that holds no part's manifest; SFL_E_MANIFEST when a
 * file cannot be read or is not a manifest; SFL_E_USAGE when n_paths != n.
 * Equal means the same JSON text (sfl_manifest_to_json) of both. */
bool sfl_group_part_files_check(sfl_manifest_t *const *parts, int n, const char *const *paths,
                                size_t n_paths, const char *group, sfl_error_t *err);

/* The manifest in the swap journal of a finish killed in its swap
 * (`journal`) is the parts' manifests merged (`merged`, from the records
 * checked against the files): the same collections with the same count,
 * bytes and digest (but the metrics' count, bytes and digest, which the
 * finish computed from the variants), the same sources and options and
 * every other field but `created`. SFL_E_MISMATCH naming the collection,
 * source or option and the field that differs. */
bool sfl_group_journal_check(const sfl_manifest_t *merged, const sfl_manifest_t *journal,
                             const char *group, sfl_error_t *err);

#endif

/* index_check.h: the indexes found on a server or in a dump's
 * <collection>.metadata.json, judged against a manifest's index
 * definitions: name, key and every option (index_check.c). Private to the
 * library; no state, thread-safe. */
#ifndef SFL_INDEX_CHECK_H
#define SFL_INDEX_CHECK_H

#include <bson/bson.h>

#include "indexes.h"
#include "manifest_internal.h"
#include "swefreq/verify.h"

/* Called for each judged index: `index` its name, `what` a short reason
 * for a difference ("option hidden: true, the definition has none"; ""
 * otherwise). Returns false to stop (out of memory). */
typedef bool (*sfl_index_result_fn)(void *ud, const char *index, sfl_verify_status_t st,
                                    const char *what);

/* `found`: an array of index specs as listIndexes or a metadata.json gives
 * them; `want`: the definitions (an array of {key, name}). Reports, in this
 * order: an _id_ index whose key is not {_id: 1} or that carries an option
 * (INDEX_DIFFERS, INDEX_OPTIONS), each other found index the definitions
 * do not name (INDEX_UNLISTED), then each definition: INDEX_MISSING,
 * INDEX_DIFFERS (another key), INDEX_OPTIONS (an option it does not have,
 * or with another value; `v` and `ns` are not options), or OK (only with
 * `with_ok`). False when fn returned false. */
bool sfl_index_specs_compare(const bson_t *found, const bson_t *want, bool with_ok,
                             sfl_index_result_fn fn, void *ud);

/* Whether the spec `found` carries an option that `want` does not, with
 * another value, or lacks one `want` has; the first such into `what`. */
bool sfl_index_options_differ(const bson_t *found, const bson_t *want, char *what, size_t n);

/* The index definitions the manifest names for collection `name`, as an
 * array in *out (a view into the manifest, or the browser's own when the
 * manifest lists none); bson_destroy(out) after. */
void sfl_expected_indexes(const sfl_manifest_t *m, const char *name, bson_t *out);

#endif

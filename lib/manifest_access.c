/* manifest_access.c: the manifest's header fields and index definitions
 * for C callers (swefreq/manifest.h), read from its document. */
#include <bson/bson.h>
#include <stdlib.h>
#include <string.h>

#include "json_pretty.h"
#include "manifest_internal.h"
#include "swefreq/swefreq.h"

/* The string at a dotted path of the manifest's document, or NULL. */
static const char *str_at(const sfl_manifest_t *m, const char *path)
{
    const bson_t *d = m ? sfl_manifest_bson(m) : NULL;
    bson_iter_t it, f;
    if (!d || !bson_iter_init(&it, d) || !bson_iter_find_descendant(&it, path, &f) ||
        !BSON_ITER_HOLDS_UTF8(&f))
        return NULL;
    return bson_iter_utf8(&f, NULL);
}

const char *sfl_manifest_created(const sfl_manifest_t *m) { return str_at(m, "created"); }

const char *sfl_manifest_tool_name(const sfl_manifest_t *m) { return str_at(m, "tool.name"); }

const char *sfl_manifest_tool_version(const sfl_manifest_t *m)
{
    return str_at(m, "tool.version");
}

char *sfl_manifest_indexes_json(const sfl_manifest_t *m, const char *collection)
{
    const bson_t *d = m && collection ? sfl_manifest_bson(m) : NULL;
    bson_iter_t it, colls;
    if (!d || !bson_iter_init_find(&it, d, "collections") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &colls))
        return NULL;
    while (bson_iter_next(&colls)) {
        bson_iter_t c, idx;
        if (!BSON_ITER_HOLDS_DOCUMENT(&colls) || !bson_iter_recurse(&colls, &c) ||
            !bson_iter_find(&c, "name") || !BSON_ITER_HOLDS_UTF8(&c) ||
            strcmp(bson_iter_utf8(&c, NULL), collection) != 0)
            continue;
        bson_iter_recurse(&colls, &idx);
        uint32_t len = 0;
        const uint8_t *data = NULL;
        if (!bson_iter_find(&idx, "indexes") || !BSON_ITER_HOLDS_ARRAY(&idx))
            return strdup("[]\n");
        bson_iter_array(&idx, &len, &data);
        bson_t arr;
        if (!bson_init_static(&arr, data, len))
            return NULL;
        size_t n = 0;
        char *js = bson_array_as_json(&arr, &n);
        if (!js)
            return NULL;
        char *pretty = sfl_json_pretty(js);
        bson_free(js);
        return pretty;
    }
    return NULL;
}

bool sfl_manifest_release(const sfl_manifest_t *m, uint64_t *number, const char **database)
{
    const bson_t *d = m ? sfl_manifest_bson(m) : NULL;
    bson_iter_t it, f;
    const char *db = str_at(m, "release.database");
    bool has = d && db && bson_iter_init(&it, d) &&
               bson_iter_find_descendant(&it, "release.number", &f) &&
               (BSON_ITER_HOLDS_INT32(&f) || BSON_ITER_HOLDS_INT64(&f));
    if (number)
        *number = has ? (uint64_t)(BSON_ITER_HOLDS_INT32(&f) ? bson_iter_int32(&f)
                                                             : bson_iter_int64(&f))
                      : 0;
    if (database)
        *database = has ? db : NULL;
    return has;
}

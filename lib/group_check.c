/* group_check.c: a partitioned load's defences against a stale index.
 *
 * The design: a part reads only what its source's .tbi/.csi index points
 * to, so the index must describe the very file. Three checks, each cheap:
 *   1. plan: sfl_index_cover() (index_cover.c) proves that the index's
 *      records tile the file from its header to its end-of-file block (no
 *      record after the last one it knows, none between its contigs, each
 *      contig's first record where it says) and that the index counts its
 *      records per contig; the plan records the index's SHA-256 and those
 *      counts. A stale index or one without counts refuses the plan.
 *   2. part: the same check again, and the index must be the plan's (its
 *      SHA-256); the source itself is the plan's by its own hashes.
 *   3. finish: the records the parts read, per source and contig (each
 *      part records its count per region), must equal the index's counts.
 *      With 1, every record of the file lies in a contig span the index
 *      knows; with 3, every record the index counts there was read by
 *      exactly one part. A difference refuses the finish (nothing is
 *      swapped), naming the source, the contig and both counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group_check.h"
#include "safe_fs.h"

bool sfl_group_covers(const sfl_job_t *j, sfl_cover_t *covers, sfl_error_t *err)
{
    for (size_t i = 0; i < j->n_sources; i++) {
        sfl_source_kind_t k = j->sources[i].kind;
        if ((k != SFL_SOURCE_VCF && k != SFL_SOURCE_COVERAGE) || !j->src_fd ||
            j->src_fd[i] < 0)
            continue;
        if (sfl_index_cover(j->sources[i].path, j->src_fd[i], &covers[i], err) < 0)
            return false;
    }
    return true;
}

bool sfl_group_append_indexes(bson_t *doc, const sfl_job_t *j, const sfl_cover_t *covers,
                              const bool *regions, sfl_error_t *err)
{
    bson_t arr, e, cs, c;
    uint32_t n = 0;
    bool ok = true;
    BSON_APPEND_ARRAY_BEGIN(doc, "indexes", &arr);
    for (size_t i = 0; ok && i < j->n_sources; i++) {
        const sfl_cover_t *cv = &covers[i];
        if (!cv->index_path || !regions[i])
            continue;
        char hex[65], key[24];
        uint64_t size = 0;
        if (!(ok = sfl_hash_file(cv->index_path, hex, &size, err)))
            break;
        snprintf(key, sizeof key, "%u", n++);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &e);
        BSON_APPEND_INT32(&e, "source", (int32_t)i + 1);
        BSON_APPEND_UTF8(&e, "file", j->sources[i].path);
        BSON_APPEND_UTF8(&e, "path", cv->index_path);
        BSON_APPEND_UTF8(&e, "sha256", hex);
        BSON_APPEND_INT64(&e, "size", (int64_t)size);
        BSON_APPEND_ARRAY_BEGIN(&e, "contigs", &cs);
        for (size_t k = 0; k < cv->n; k++) {
            snprintf(key, sizeof key, "%zu", k);
            BSON_APPEND_DOCUMENT_BEGIN(&cs, key, &c);
            BSON_APPEND_UTF8(&c, "chrom", cv->c[k].chrom);
            BSON_APPEND_INT64(&c, "records", (int64_t)cv->c[k].records);
            bson_append_document_end(&cs, &c);
        }
        bson_append_array_end(&e, &cs);
        bson_append_document_end(&arr, &e);
    }
    bson_append_array_end(doc, &arr);
    return ok;
}

static const char *str_in(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

static int64_t int_in(const bson_t *d, const char *key, int64_t dflt)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it)
               ? bson_iter_as_int64(&it)
               : dflt;
}

static bool sub_in(const bson_iter_t *it, bson_t *out)
{
    const uint8_t *data;
    uint32_t len;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else if (BSON_ITER_HOLDS_ARRAY(it))
        bson_iter_array(it, &len, &data);
    else
        return false;
    return bson_init_static(out, data, len);
}

/* The plan's entry of indexes[] for source `src` (1-based); false if none. */
static bool index_entry(const bson_t *plan, int src, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, plan, "indexes") ||
        !bson_iter_recurse(&it, &arr))
        return false;
    while (bson_iter_next(&arr))
        if (sub_in(&arr, out) && int_in(out, "source", 0) == src)
            return true;
    return false;
}

/* Source i (read in regions by the part): its index still covers it and
 * is the plan's. */
static bool part_index(const sfl_job_t *j, size_t i, const bson_t *entry, const char *group,
                       sfl_error_t *err)
{
    const char *path = j->sources[i].path;
    int fd = sfl_open_regular(path, NULL, err);
    if (fd < 0)
        return false;
    sfl_cover_t cv;
    int rc = sfl_index_cover(path, fd, &cv, err);
    close(fd);
    if (rc < 0)
        return false;
    const char *want = str_in(entry, "sha256"), *was = str_in(entry, "path");
    char hex[65] = "";
    bool ok = rc > 0 && sfl_hash_file(cv.index_path, hex, NULL, err);
    if (rc == 0)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                           "%s: its index (%s when group %s was planned) is gone; a part reads "
                           "its regions through it",
                           path, was ? was : "?", group);
    else if (ok && (!want || strcmp(want, hex) != 0))
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                           "%s: its index %s is not the one group %s was planned with (SHA-256 "
                           "%.16s... now, %.16s... in the plan): the index or the file changed "
                           "since the plan; plan the group again",
                           path, cv.index_path, group, hex, want ? want : "?");
    sfl_cover_free(&cv);
    return ok;
}

bool sfl_group_check_part_index(const sfl_job_t *j, const bson_t *plan, const char *group,
                                int part, sfl_error_t *err)
{
    for (size_t i = 0; i < j->n_sources; i++) {
        bson_t e;
        if (!j->src_mode || j->src_mode[i] != SFL_SRC_REGIONS)
            continue;
        if (!index_entry(plan, (int)i + 1, &e))
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "part %d of group %s reads %s in regions, but the plan "
                                 "records no index for it (a plan of an older version?); plan "
                                 "the group again",
                                 part, group, j->sources[i].path);
        if (!part_index(j, i, &e, group, err))
            return false;
    }
    return true;
}

void sfl_job_region_done(sfl_job_t *j, size_t src, const sfl_region_t *reg, uint64_t records)
{
    if (!j->part || !j->src_records || src >= j->n_sources || !j->src_records[src])
        return;
    const sfl_regions_t *rs = &j->src_regions[src];
    size_t k = (size_t)(reg - rs->r);
    if (k < rs->n)
        j->src_records[src][k] = records;
}

bool sfl_group_part_reads(const sfl_job_t *j, bson_t *doc)
{
    bson_t arr, e;
    uint32_t n = 0;
    BSON_APPEND_ARRAY_BEGIN(doc, "reads", &arr);
    for (size_t i = 0; j->src_records && i < j->n_sources; i++) {
        const sfl_regions_t *rs = &j->src_regions[i];
        for (size_t k = 0; j->src_records[i] && k < rs->n; k++) {
            char key[24];
            snprintf(key, sizeof key, "%u", n++);
            BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &e);
            BSON_APPEND_INT32(&e, "source", (int32_t)i + 1);
            BSON_APPEND_UTF8(&e, "chrom", rs->r[k].chrom);
            BSON_APPEND_INT64(&e, "start", rs->r[k].beg);
            if (rs->r[k].end != SFL_REGION_TO_END)
                BSON_APPEND_INT64(&e, "end", rs->r[k].end);
            BSON_APPEND_INT64(&e, "records", (int64_t)j->src_records[i][k]);
            bson_append_document_end(&arr, &e);
        }
    }
    return bson_append_array_end(doc, &arr);
}

/* The records the parts read of source `src` (1-based) on `chrom`; -1
 * when a part that reads it in regions recorded no counts (*which). */
static int64_t read_of(const bson_t *part_rec, int n, int src, const char *chrom, int *which)
{
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
        bson_iter_t it, arr;
        bson_t e;
        if (part_rec[k].len <= 5 || !bson_iter_init_find(&it, &part_rec[k], "reads") ||
            !bson_iter_recurse(&it, &arr)) {
            *which = k + 1;
            return -1;
        }
        while (bson_iter_next(&arr)) {
            const char *c;
            if (sub_in(&arr, &e) && int_in(&e, "source", 0) == src && (c = str_in(&e, "chrom")) &&
                !strcmp(c, chrom))
                sum += int_in(&e, "records", 0);
        }
    }
    return sum;
}

/* The records the parts read of source `src` on contigs the index does not
 * name: the first such contig into *chrom, its count returned. */
static int64_t read_elsewhere(const bson_t *part_rec, int n, int src, const bson_t *contigs,
                              const char **chrom)
{
    for (int k = 0; k < n; k++) {
        bson_iter_t it, arr, ci;
        bson_t e, c;
        if (!bson_iter_init_find(&it, &part_rec[k], "reads") || !bson_iter_recurse(&it, &arr))
            continue;
        while (bson_iter_next(&arr)) {
            const char *name;
            if (!sub_in(&arr, &e) || int_in(&e, "source", 0) != src ||
                !(name = str_in(&e, "chrom")) || int_in(&e, "records", 0) == 0)
                continue;
            bool known = false;
            if (bson_iter_init(&ci, contigs))
                while (!known && bson_iter_next(&ci))
                    known = sub_in(&ci, &c) && str_in(&c, "chrom") &&
                            !strcmp(str_in(&c, "chrom"), name);
            if (!known) {
                *chrom = name;
                return int_in(&e, "records", 0);
            }
        }
    }
    return 0;
}

static bool check_source(const bson_t *entry, const bson_t *part_rec, int n, const char *db,
                         const char *group, const char *path, sfl_error_t *err)
{
    int src = (int)int_in(entry, "source", 0), which = 0;
    bson_iter_t it, ci;
    bson_t contigs, c;
    if (!bson_iter_init_find(&it, entry, "contigs") || !sub_in(&it, &contigs))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "%s: group %s's plan records no contigs for %s", db, group, path);
    bson_iter_init(&ci, &contigs);
    while (bson_iter_next(&ci)) {
        const char *chrom;
        if (!sub_in(&ci, &c) || !(chrom = str_in(&c, "chrom")))
            continue;
        int64_t want = int_in(&c, "records", 0), got = read_of(part_rec, n, src, chrom, &which);
        if (got < 0)
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "%s: group %s cannot be finished: part %d's record has no "
                                 "record counts (reads), so its reading cannot be checked "
                                 "against the index of %s (source %d); nothing was swapped",
                                 db, group, which, path, src);
        if (got != want)
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "%s: group %s cannot be finished: %s (source %d), contig %s: "
                                 "its index counts %lld records, the parts read %lld; the "
                                 "index is stale or the file changed, and the release would "
                                 "lack or repeat records. Rebuild the index and plan again; "
                                 "nothing was swapped",
                                 db, group, path, src, chrom, (long long)want, (long long)got);
    }
    const char *other = NULL;
    int64_t extra = read_elsewhere(part_rec, n, src, &contigs, &other);
    if (extra)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "%s: group %s cannot be finished: %s (source %d), contig %s: its "
                             "index counts 0 records, the parts read %lld; nothing was swapped",
                             db, group, path, src, other, (long long)extra);
    return true;
}

bool sfl_group_check_reads(const bson_t *plan, const bson_t *part_rec, int n, const char *db,
                           const char *group, sfl_error_t *err)
{
    bson_iter_t it, arr;
    bson_t e;
    if (!bson_iter_init_find(&it, plan, "indexes") || !bson_iter_recurse(&it, &arr))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "%s: group %s's plan records no indexes (a plan of an older "
                             "version?): its parts' reading cannot be checked; plan it again",
                             db, group);
    bool ok = true;
    while (ok && bson_iter_next(&arr)) {
        const char *file;
        if (sub_in(&arr, &e))
            ok = check_source(&e, part_rec, n, db, group, (file = str_in(&e, "file")) ? file : "?",
                              err);
    }
    return ok;
}

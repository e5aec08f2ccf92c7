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
 *
 * And each part hashes only what it reads: the plan records, per part and
 * source read in regions, the range of whole BGZF blocks from the first
 * chunk start of its regions to the block holding their last chunk end,
 * and the header's blocks (through the first record's line), with their
 * SHA-256, computed from the file it hashed whole. The part checks those
 * (sfl_group_part_hash) and takes the plan's whole-file hash. This is as
 * strong as the whole-file check for what the part loads: its reader
 * starts each region at an offset of the plan's index (same SHA-256) and
 * reads forward; every line it keeps ends at or before the last chunk end
 * (the index's chunks bound every record overlapping a region), which is
 * checked after reading, not assumed (sfl_group_check_read); so every byte
 * of every line it loads lies in bytes whose SHA-256 is the plan's. The
 * bytes it does not read are checked by the part that reads them. The
 * argument in full: docs/scale.md, "What a part reads".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bson_util.h"
#include "digest_internal.h"
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
        BSON_APPEND_INT64(&e, "data_end", cv->data_end);
        /* the header's blocks, with the first record's line (what every
         * part's reader reads of the file's start) */
        int64_t to = sfl_cover_block_end(j->src_fd[i], j->sources[i].path, cv->first_line_end,
                                         err);
        if (!(ok = to >= 0 && sfl_hash_fd_range(j->src_fd[i], j->sources[i].path, 0,
                                                (uint64_t)to, hex, err))) {
            bson_append_document_end(&arr, &e);
            break;
        }
        BSON_APPEND_DOCUMENT_BEGIN(&e, "header", &c);
        BSON_APPEND_INT64(&c, "to", to);
        BSON_APPEND_UTF8(&c, "sha256", hex);
        bson_append_document_end(&e, &c);
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

/* The plan's entry of indexes[] for source `src` (1-based); false if none. */
static bool index_entry(const bson_t *plan, int src, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, plan, "indexes") ||
        !bson_iter_recurse(&it, &arr))
        return false;
    while (bson_iter_next(&arr))
        if (sfl_bson_sub(&arr, out) && int_in(out, "source", 0) == src)
            return true;
    return false;
}

/* Source i (read in regions by the part): its index is the plan's (by
 * its SHA-256), so it covers the plan's file as the plan found, and the
 * file still ends after the index's last record. The plan's full check
 * (sfl_index_cover) is not repeated: its index queries are the costly
 * part, and the index is the same bytes. */
static bool part_index(const sfl_job_t *j, size_t i, const bson_t *entry, const char *group,
                       sfl_error_t *err)
{
    const char *path = j->sources[i].path;
    const char *want = str_in(entry, "sha256"), *was = str_in(entry, "path");
    char *index = sfl_cover_index_path(path);
    char hex[65] = "";
    if (!index)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bool ok = true;
    if (access(index, F_OK) != 0)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                           "%s: its index (%s when group %s was planned) is gone; a part reads "
                           "its regions through it",
                           path, was ? was : "?", group);
    else if (!sfl_hash_file(index, hex, NULL, err))
        ok = false;
    else if (!want || strcmp(want, hex) != 0)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                           "%s: its index %s is not the one group %s was planned with (SHA-256 "
                           "%.16s... now, %.16s... in the plan): the index or the file changed "
                           "since the plan; plan the group again",
                           path, index, group, hex, want ? want : "?");
    if (ok) {
        int fd = sfl_open_regular(path, NULL, err);
        ok = fd >= 0 && sfl_cover_tail(fd, path, index, int_in(entry, "data_end", 0), err);
        if (fd >= 0)
            close(fd);
    }
    free(index);
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
    /* the in-order stage has written every batch of the region: the last
     * one written of this source ended past its last line kept */
    if (j->src_read_end && j->last_source == src && j->last_voffset > j->src_read_end[src])
        j->src_read_end[src] = j->last_voffset;
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
            if (sfl_bson_sub(&arr, &e) && int_in(&e, "source", 0) == src && (c = str_in(&e, "chrom")) &&
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
            if (!sfl_bson_sub(&arr, &e) || int_in(&e, "source", 0) != src ||
                !(name = str_in(&e, "chrom")) || int_in(&e, "records", 0) == 0)
                continue;
            bool known = false;
            if (bson_iter_init(&ci, contigs))
                while (!known && bson_iter_next(&ci))
                    known = sfl_bson_sub(&ci, &c) && str_in(&c, "chrom") &&
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
    if (!bson_iter_init_find(&it, entry, "contigs") || !sfl_bson_sub(&it, &contigs))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "%s: group %s's plan records no contigs for %s", db, group, path);
    bson_iter_init(&ci, &contigs);
    while (bson_iter_next(&ci)) {
        const char *chrom;
        if (!sfl_bson_sub(&ci, &c) || !(chrom = str_in(&c, "chrom")))
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
        if (sfl_bson_sub(&arr, &e))
            ok = check_source(&e, part_rec, n, db, group, (file = str_in(&e, "file")) ? file : "?",
                              err);
    }
    return ok;
}

/* ---- a part's byte ranges (task: each part hashes only what it reads) ---- */

void sfl_group_range_add(sfl_part_range_t *r, tbx_t *tbx, const char *chrom, int64_t beg,
                         int64_t end)
{
    int64_t first, last;
    int tid = tbx_name2id(tbx, chrom);
    if (tid < 0 || !sfl_regions_span(tbx, tid, beg, end, &first, &last))
        return; /* nothing of it in the file: nothing read */
    if (!r->set || first < r->first)
        r->first = first;
    if (!r->set || last > r->last_end)
        r->last_end = last;
    r->set = true;
}

bool sfl_group_range_seal(sfl_part_range_t *r, int fd, const char *path, sfl_error_t *err)
{
    if (!r->set)
        return true;
    r->from = r->first >> 16;
    r->to = sfl_cover_block_end(fd, path, r->last_end, err);
    return r->to >= 0 &&
           sfl_hash_fd_range(fd, path, (uint64_t)r->from, (uint64_t)r->to, r->sha256, err);
}

void sfl_group_range_append(bson_t *src_doc, const sfl_part_range_t *r)
{
    bson_t arr, e;
    if (!r->set)
        return;
    BSON_APPEND_ARRAY_BEGIN(src_doc, "ranges", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &e);
    BSON_APPEND_INT64(&e, "from", r->from);
    BSON_APPEND_INT64(&e, "to", r->to);
    BSON_APPEND_UTF8(&e, "sha256", r->sha256);
    bson_append_document_end(&arr, &e);
    bson_append_array_end(src_doc, &arr);
}

/* Entry `index` of array `key` of `d`, or the document `key` (index -1). */
static bool entry_in(const bson_t *d, const char *key, long index, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, d, key))
        return false;
    if (index < 0)
        return sfl_bson_sub(&it, out);
    if (!bson_iter_recurse(&it, &arr))
        return false;
    for (long k = 0; bson_iter_next(&arr); k++)
        if (k == index)
            return sfl_bson_sub(&arr, out);
    return false;
}

/* Part j->part's entry of the plan for source i, and its range. */
static bool plan_range(const sfl_job_t *j, size_t i, int64_t *from, int64_t *to,
                       const char **sha)
{
    bson_t part, src, r;
    if (!j->part_plan || !entry_in(j->part_plan, "parts", j->part - 1, &part) ||
        !entry_in(&part, "sources", (long)i, &src) || !entry_in(&src, "ranges", 0, &r))
        return false;
    *from = int_in(&r, "from", -1);
    *to = int_in(&r, "to", -1);
    *sha = str_in(&r, "sha256");
    return *from >= 0 && *to >= *from && *sha;
}

/* The bytes [from, to) of source i must hash to `want`. */
static bool same_bytes(const sfl_job_t *j, size_t i, int64_t from, int64_t to, const char *want,
                       const char *what, sfl_error_t *err)
{
    char hex[65];
    const char *path = j->sources[i].path;
    if (!sfl_hash_fd_range(j->src_fd[i], path, (uint64_t)from, (uint64_t)to, hex, err))
        return false;
    if (strcmp(hex, want) != 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                             "%s: %s, compressed bytes %lld to %lld, differs from the plan's "
                             "(SHA-256 %.16s... here, %.16s... in the plan): the file changed "
                             "since group %s was planned; nothing was written",
                             path, what, (long long)from, (long long)to, hex, want,
                             str_in(j->part_plan, "group"));
    return true;
}

bool sfl_group_part_hash(sfl_job_t *j, size_t i, bool *done, sfl_error_t *err)
{
    *done = false;
    bson_t man, src, idx, hdr;
    if (!j->part || !j->part_plan || !j->src_mode || j->src_mode[i] == SFL_SRC_WHOLE)
        return true;
    sfl_source_record_t *s = &j->sources[i];
    const char *sha;
    int64_t size;
    struct stat st;
    if (!entry_in(j->part_plan, "plan", -1, &man) || !entry_in(&man, "sources", (long)i, &src) ||
        !(sha = str_in(&src, "sha256")) || strlen(sha) != 64 ||
        (size = int_in(&src, "size", -1)) < 0)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "the group's plan has no SHA-256 and size for source %zu (%s)",
                             i + 1, s->path);
    if (fstat(j->src_fd[i], &st) != 0 || (int64_t)st.st_size != size)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                             "%s: %lld bytes, the plan's file had %lld: the file changed since "
                             "group %s was planned; nothing was written",
                             s->path, (long long)st.st_size, (long long)size,
                             str_in(j->part_plan, "group"));
    if (j->src_mode[i] == SFL_SRC_REGIONS) {
        int64_t from, to;
        const char *rsha, *hsha;
        char what[64];
        if (!index_entry(j->part_plan, (int)i + 1, &idx) || !entry_in(&idx, "header", -1, &hdr) ||
            !(hsha = str_in(&hdr, "sha256")))
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                 "the group's plan has no header range for %s (a plan of an "
                                 "older version?); plan the group again",
                                 s->path);
        if (!same_bytes(j, i, 0, int_in(&hdr, "to", 0), hsha, "its header", err))
            return false;
        snprintf(what, sizeof what, "part %d's range", j->part);
        if (plan_range(j, i, &from, &to, &rsha) && !same_bytes(j, i, from, to, rsha, what, err))
            return false;
    }
    memcpy(s->hash, sha, 65);
    s->size = (uint64_t)size;
    *done = true;
    return true;
}

bool sfl_group_check_read(const sfl_job_t *j, size_t i, sfl_error_t *err)
{
    int64_t from, to;
    const char *sha;
    if (!j->part || !j->src_mode || j->src_mode[i] != SFL_SRC_REGIONS ||
        !plan_range(j, i, &from, &to, &sha))
        return true;
    const char *path = j->sources[i].path;
    const sfl_regions_t *rs = &j->src_regions[i];
    for (size_t k = 0; j->region_plans && j->region_plans[i] && k < rs->n; k++) {
        int64_t v = j->region_plans[i][k].voffset;
        if (v >= 0 && (v >> 16) < from)
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                                 "%s: part %d began a region at compressed byte %lld, before "
                                 "its verified range (%lld to %lld)",
                                 path, j->part, (long long)(v >> 16), (long long)from,
                                 (long long)to);
    }
    int64_t end = j->src_read_end ? j->src_read_end[i] : -1;
    if (end > to << 16)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                             "%s: part %d kept a line that ends at compressed byte %lld, past "
                             "its verified range (%lld to %lld): the file changed after it "
                             "(the index's chunks end inside the range); plan the group again",
                             path, j->part, (long long)(end >> 16), (long long)from,
                             (long long)to);
    return true;
}

/* group_plan.c: the plan of a partitioned load: N parts balanced by the
 * compressed bytes of the sources, read from their indexes.
 *
 * The design: each source is cut into pieces. An indexed VCF or coverage
 * file gives one piece per contig, whose compressed size is the distance
 * between the first BGZF block of the contig and that of the next contig
 * in the file (the last one ends at the end of the file); these first
 * blocks are what htslib's index gives for a query of the whole contig. A
 * contig larger than a part's share is cut where the index says a query
 * starts at a later block: for a cut at a wanted compressed offset, a
 * binary search over positions finds the first position whose query
 * starts at or after it, which is an index boundary (a linear-index window
 * of a .tbi, a bin of a .csi). Nothing is estimated. A source without an
 * index, and every GTF, dbSNP file and gene table, is one piece of its
 * file size; the gene tables go with the GTF (they are joined into its
 * genes). The pieces, in source order and each file's order, are dealt to
 * the parts in order by their cumulative midpoints, so each part is a run
 * of consecutive pieces of about total/N bytes. A record belongs to the
 * region that holds its POS, so the parts' regions partition the records.
 */
#include <bson/bson.h>
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bson_util.h"
#include "grow.h"
#include "group_check.h"
#include "group_plan.h"
#include "job_internal.h"
#include "log.h"
#include "regions.h"

struct sfl_group_plan {
    bson_t doc;
    char id[48];
    int n_parts;
};

typedef struct {
    size_t src;      /* 0-based source index                          */
    char *chrom;     /* NULL: the whole source                        */
    int64_t beg, end; /* 0-based, half-open; end SFL_REGION_TO_END     */
    int64_t off;     /* compressed offset of its first block          */
    uint64_t bytes;
    int part;        /* 0-based                                       */
} piece_t;

typedef struct {
    piece_t *p;
    size_t n, cap;
} pieces_t;

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

/* A zeroed plan, aligned as its bson_t needs (libbson aligns bson_t to 128
 * bytes, more than calloc promises: UBSan reports a misaligned access). */
static sfl_group_plan_t *plan_alloc(void)
{
    size_t a = _Alignof(sfl_group_plan_t);
    size_t n = (sizeof(sfl_group_plan_t) + a - 1) / a * a;
    sfl_group_plan_t *p = aligned_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

static bool add_piece(pieces_t *ps, piece_t pc, sfl_error_t *err)
{
    if (!SFL_GROW(ps->p, &ps->cap, ps->n + 1, 16)) {
        free(pc.chrom);
        return nomem(err);
    }
    ps->p[ps->n++] = pc;
    return true;
}

typedef struct {
    int tid;
    int64_t voff;
} contig_t;

static int cmp_contig(const void *a, const void *b)
{
    const contig_t *x = a, *y = b;
    return x->voff < y->voff ? -1 : x->voff > y->voff;
}

/* One piece per contig of an indexed source, in the file's order; false
 * (no error) when the file has no index. */
static bool contig_pieces(pieces_t *ps, size_t src, const char *path, uint64_t size,
                          bool *indexed, sfl_error_t *err)
{
    sfl_hts_quiet_begin();
    tbx_t *tbx = tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
    sfl_hts_quiet_end();
    *indexed = tbx != NULL;
    if (!tbx)
        return true;
    int n = 0;
    const char **names = tbx_seqnames(tbx, &n);
    contig_t *cs = calloc((size_t)n + 1, sizeof *cs);
    bool ok = names && cs;
    if (!ok)
        nomem(err);
    size_t m = 0;
    for (int t = 0; ok && t < n; t++) {
        int64_t v = sfl_regions_first_offset(tbx, t, 0, HTS_POS_MAX);
        if (v >= 0)
            cs[m++] = (contig_t){t, v};
    }
    if (ok)
        qsort(cs, m, sizeof *cs, cmp_contig);
    for (size_t i = 0; ok && i < m; i++) {
        int64_t beg = cs[i].voff >> 16;
        int64_t end = i + 1 < m ? cs[i + 1].voff >> 16 : (int64_t)size;
        char *chrom = strdup(names[cs[i].tid]);
        ok = chrom && add_piece(ps, (piece_t){src, chrom, 0, SFL_REGION_TO_END, beg,
                                              (uint64_t)(end > beg ? end - beg : 0), 0},
                                err);
        if (!chrom)
            nomem(err);
    }
    free(cs);
    free(names);
    tbx_destroy(tbx);
    return ok;
}

/* The first position of contig `tid`, from `lo` on, whose query starts at
 * a compressed offset >= want; -1 when none does. */
static int64_t cut_at(tbx_t *tbx, int tid, int64_t lo, int64_t want)
{
    int64_t hi = (int64_t)1 << 44, found = -1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t v = sfl_regions_first_offset(tbx, tid, mid, HTS_POS_MAX);
        if (v < 0 || (v >> 16) >= want) {
            if (v >= 0)
                found = mid;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return found;
}

/* Cuts piece `i` (a contig) into about bytes/target pieces at index
 * boundaries; the new pieces follow it in `ps`. */
static bool split_contig(pieces_t *ps, size_t i, const char *path, uint64_t target,
                         sfl_error_t *err)
{
    piece_t pc = ps->p[i];
    uint64_t k = (pc.bytes + target - 1) / target;
    sfl_hts_quiet_begin();
    tbx_t *tbx = tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
    sfl_hts_quiet_end();
    if (!tbx)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                             "%s: its index could not be read again", path);
    int tid = tbx_name2id(tbx, pc.chrom);
    pieces_t cut = {0};
    int64_t beg = 0, prev_off = pc.off;
    bool ok = true;
    for (uint64_t c = 1; ok && c < k; c++) {
        int64_t want = pc.off + (int64_t)(pc.bytes * c / k);
        int64_t at = want > prev_off ? cut_at(tbx, tid, beg + 1, want) : -1;
        if (at <= beg)
            continue;
        int64_t off = sfl_regions_first_offset(tbx, tid, at, HTS_POS_MAX) >> 16;
        if (off <= prev_off || off >= pc.off + (int64_t)pc.bytes)
            continue;
        char *chrom = strdup(pc.chrom);
        ok = chrom ? add_piece(&cut, (piece_t){pc.src, chrom, beg, at, prev_off,
                                               (uint64_t)(off - prev_off), 0},
                               err)
                   : nomem(err);
        beg = at;
        prev_off = off;
    }
    tbx_destroy(tbx);
    if (ok && cut.n) {
        ps->p[i].beg = beg;
        ps->p[i].off = prev_off;
        ps->p[i].bytes = pc.off + pc.bytes - (uint64_t)prev_off;
        ok = SFL_GROW(ps->p, &ps->cap, ps->n + cut.n, 16) || nomem(err);
        if (ok) {
            memmove(&ps->p[i + cut.n], &ps->p[i], (ps->n - i) * sizeof *ps->p);
            memcpy(&ps->p[i], cut.p, cut.n * sizeof *cut.p);
            ps->n += cut.n;
            cut.n = 0;
        }
    }
    for (size_t c = 0; c < cut.n; c++)
        free(cut.p[c].chrom);
    free(cut.p);
    return ok;
}

static bool regional_kind(sfl_source_kind_t k)
{
    return k == SFL_SOURCE_VCF || k == SFL_SOURCE_COVERAGE;
}

static bool gene_table(sfl_source_kind_t k)
{
    return k == SFL_SOURCE_CANONICAL || k == SFL_SOURCE_OMIM || k == SFL_SOURCE_DBNSFP_GENES;
}

/* Every source's pieces, big contigs cut to about total/parts. */
static bool make_pieces(const sfl_job_t *j, int parts, pieces_t *ps, uint64_t *total,
                        sfl_error_t *err)
{
    *total = 0;
    for (size_t i = 0; i < j->n_sources; i++) {
        const sfl_source_record_t *s = &j->sources[i];
        bool indexed = false;
        size_t n0 = ps->n;
        if (regional_kind(s->kind) && !contig_pieces(ps, i, s->path, s->size, &indexed, err))
            return false;
        if (!indexed || ps->n == n0) {
            if (!add_piece(ps, (piece_t){i, NULL, 0, 0, 0, gene_table(s->kind) ? 0 : s->size, 0},
                           err))
                return false;
            if (regional_kind(s->kind))
                sfl_logf(j->opt.log, j->opt.log_ud, SFL_LOG_WARNING,
                         "%s: no .tbi or .csi index: the whole file goes into one part",
                         s->path);
        }
        for (size_t k = n0; k < ps->n; k++)
            *total += ps->p[k].bytes;
    }
    uint64_t target = *total / (uint64_t)parts;
    for (size_t k = 0; target && k < ps->n; k++) {
        if (!ps->p[k].chrom || ps->p[k].bytes <= target + target / 4)
            continue;
        size_t n0 = ps->n;
        if (!split_contig(ps, k, j->sources[ps->p[k].src].path, target, err))
            return false;
        k += ps->n - n0;
    }
    return true;
}

/* Deals the pieces to the parts by their cumulative midpoints; the gene
 * tables follow the GTF. Refuses a plan with an empty part. */
static bool deal(const sfl_job_t *j, pieces_t *ps, int parts, uint64_t total, uint64_t *bytes,
                 sfl_error_t *err)
{
    uint64_t cum = 0;
    int gtf_part = -1;
    for (size_t k = 0; k < ps->n; k++) {
        piece_t *pc = &ps->p[k];
        double mid = (double)cum + (double)pc->bytes / 2.0;
        int part = total ? (int)(mid * parts / (double)total) : 0;
        pc->part = part >= parts ? parts - 1 : part;
        cum += pc->bytes;
        if (j->sources[pc->src].kind == SFL_SOURCE_GTF)
            gtf_part = pc->part;
    }
    for (size_t k = 0; k < ps->n; k++) {
        if (gene_table(j->sources[ps->p[k].src].kind) && gtf_part >= 0)
            ps->p[k].part = gtf_part;
        bytes[ps->p[k].part] += ps->p[k].bytes;
    }
    int have = 0;
    bool *used = calloc((size_t)parts, sizeof *used);
    if (!used)
        return nomem(err);
    for (size_t k = 0; k < ps->n; k++)
        if (!used[ps->p[k].part]) {
            used[ps->p[k].part] = true;
            have++;
        }
    free(used);
    if (have < parts)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "cannot make %d parts of %llu compressed bytes: the sources and "
                             "their indexes offer only %zu pieces (contigs, and index "
                             "boundaries inside large contigs), which fill %d parts; plan "
                             "fewer parts",
                             parts, (unsigned long long)total, ps->n, have);
    return true;
}

static void append_regions_of(bson_t *src_doc, const pieces_t *ps, int part, size_t src)
{
    bson_t arr, r;
    uint32_t i = 0;
    BSON_APPEND_ARRAY_BEGIN(src_doc, "regions", &arr);
    for (size_t k = 0; k < ps->n; k++) {
        const piece_t *pc = &ps->p[k];
        if (pc->part != part || pc->src != src)
            continue;
        int64_t end = pc->end;
        /* consecutive pieces of one contig in one part are one region */
        while (k + 1 < ps->n && ps->p[k + 1].part == part && ps->p[k + 1].src == src &&
               !strcmp(ps->p[k + 1].chrom, pc->chrom) && ps->p[k + 1].beg == end)
            end = ps->p[++k].end;
        char key[24];
        snprintf(key, sizeof key, "%u", i++);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &r);
        BSON_APPEND_UTF8(&r, "chrom", pc->chrom);
        BSON_APPEND_INT64(&r, "start", pc->beg);
        if (end != SFL_REGION_TO_END)
            BSON_APPEND_INT64(&r, "end", end);
        bson_append_document_end(&arr, &r);
    }
    bson_append_array_end(src_doc, &arr);
}

/* parts: [{part, bytes, sources: [{source, path, read, regions}]}] */
static void append_parts(bson_t *doc, const sfl_job_t *j, const pieces_t *ps, int parts,
                         const uint64_t *bytes, const sfl_part_range_t *ranges)
{
    bson_t arr, one, srcs, s;
    BSON_APPEND_ARRAY_BEGIN(doc, "parts", &arr);
    for (int p = 0; p < parts; p++) {
        char key[24];
        snprintf(key, sizeof key, "%d", p);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &one);
        BSON_APPEND_INT32(&one, "part", p + 1);
        BSON_APPEND_INT64(&one, "bytes", (int64_t)bytes[p]);
        BSON_APPEND_ARRAY_BEGIN(&one, "sources", &srcs);
        for (size_t i = 0; i < j->n_sources; i++) {
            const char *read = "none";
            for (size_t k = 0; k < ps->n; k++)
                if (ps->p[k].part == p && ps->p[k].src == i)
                    read = ps->p[k].chrom ? "regions" : "whole";
            snprintf(key, sizeof key, "%zu", i);
            BSON_APPEND_DOCUMENT_BEGIN(&srcs, key, &s);
            BSON_APPEND_INT32(&s, "source", (int32_t)i + 1);
            BSON_APPEND_UTF8(&s, "path", j->sources[i].path);
            BSON_APPEND_UTF8(&s, "read", read);
            if (!strcmp(read, "regions")) {
                append_regions_of(&s, ps, p, i);
                sfl_group_range_append(&s, &ranges[(size_t)p * j->n_sources + i]);
            }
            bson_append_document_end(&srcs, &s);
        }
        bson_append_array_end(&one, &srcs);
        bson_append_document_end(&arr, &one);
    }
    bson_append_array_end(doc, &arr);
}

/* Each part's byte range of each source it reads in regions, from the
 * index, hashed (group_check.c): a part then hashes only those bytes. */
static bool part_ranges(const sfl_job_t *j, const pieces_t *ps, const sfl_cover_t *covers,
                        int parts, sfl_part_range_t *ranges, sfl_error_t *err)
{
    bool ok = true;
    for (size_t i = 0; ok && i < j->n_sources; i++) {
        if (!covers[i].index_path)
            continue;
        sfl_hts_quiet_begin();
        tbx_t *tbx = tbx_index_load3(j->sources[i].path, NULL, HTS_IDX_SILENT_FAIL);
        sfl_hts_quiet_end();
        if (!tbx)
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                                 "%s: its index could not be read again", j->sources[i].path);
        for (size_t k = 0; k < ps->n; k++)
            if (ps->p[k].src == i && ps->p[k].chrom)
                sfl_group_range_add(&ranges[(size_t)ps->p[k].part * j->n_sources + i], tbx,
                                    ps->p[k].chrom, ps->p[k].beg, ps->p[k].end);
        tbx_destroy(tbx);
        for (int p = 0; ok && p < parts; p++)
            ok = sfl_group_range_seal(&ranges[(size_t)p * j->n_sources + i], j->src_fd[i],
                                      j->sources[i].path, err);
    }
    return ok;
}

static bool good_group(const char *g)
{
    size_t n = g ? strlen(g) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= 'A' && g[i] <= 'Z') ||
              (g[i] >= '0' && g[i] <= '9') || g[i] == '.' || g[i] == '_' || g[i] == '-'))
            return false;
    return true;
}

static sfl_group_plan_t *build(sfl_job_t *j, const char *group, int parts,
                               const sfl_manifest_t *run_plan, sfl_error_t *err)
{
    pieces_t ps = {0};
    uint64_t total = 0;
    uint64_t *bytes = calloc((size_t)parts, sizeof *bytes);
    sfl_group_plan_t *p = plan_alloc();
    /* each index must cover its file before the plan trusts it (group_check.c) */
    sfl_cover_t *covers = calloc(j->n_sources + 1, sizeof *covers);
    bool *regional = calloc(j->n_sources + 1, sizeof *regional);
    sfl_part_range_t *ranges = calloc((size_t)parts * j->n_sources + 1, sizeof *ranges);
    bool ok = (bytes && p && covers && regional && ranges) || nomem(err);
    ok = ok && sfl_group_covers(j, covers, err) && make_pieces(j, parts, &ps, &total, err) &&
         deal(j, &ps, parts, total, bytes, err) && part_ranges(j, &ps, covers, parts, ranges, err);
    for (size_t k = 0; ok && k < ps.n; k++)
        regional[ps.p[k].src] = regional[ps.p[k].src] || ps.p[k].chrom;
    if (ok) {
        char created[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
        bson_init(&p->doc);
        BSON_APPEND_UTF8(&p->doc, "format", "swefreq-load-plan");
        BSON_APPEND_INT32(&p->doc, "format_version", 1);
        BSON_APPEND_UTF8(&p->doc, "group", group);
        BSON_APPEND_UTF8(&p->doc, "created", created);
        BSON_APPEND_INT32(&p->doc, "parts_n", parts);
        BSON_APPEND_BOOL(&p->doc, "allow_empty", j->opt.allow_empty);
        BSON_APPEND_INT64(&p->doc, "bytes", (int64_t)total);
        BSON_APPEND_DOCUMENT(&p->doc, "plan", sfl_manifest_bson(run_plan));
        append_parts(&p->doc, j, &ps, parts, bytes, ranges);
        ok = sfl_group_append_indexes(&p->doc, j, covers, regional, err);
        p->n_parts = parts;
    }
    for (size_t k = 0; k < ps.n; k++)
        free(ps.p[k].chrom);
    for (size_t i = 0; covers && i < j->n_sources; i++)
        sfl_cover_free(&covers[i]);
    free(covers);
    free(regional);
    free(ranges);
    free(ps.p);
    free(bytes);
    if (!ok) {
        if (p && p->n_parts)
            bson_destroy(&p->doc);
        free(p);
        return NULL;
    }
    return p;
}

sfl_group_plan_t *sfl_group_plan_make(sfl_job_t *j, const char *group, int parts,
                                      sfl_error_t *err)
{
    if (!j || !good_group(group) || parts < 1 || parts > SFL_GROUP_MAX_PARTS) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a plan needs a job, a group name of 1 to 64 letters, digits, '.', '_' "
                      "or '-', and 1 to %d parts",
                      SFL_GROUP_MAX_PARTS);
        return NULL;
    }
    if (j->regions.n || j->part) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a plan splits whole sources: the job must not have regions of its own "
                      "(sfl_job_add_region, sfl_job_add_regions_file)");
        return NULL;
    }
    sfl_manifest_t *run_plan = sfl_job_plan_manifest(j, err);
    if (!run_plan)
        return NULL;
    sfl_group_plan_t *p = build(j, group, parts, run_plan, err);
    sfl_manifest_destroy(run_plan);
    return p;
}

void sfl_group_plan_destroy(sfl_group_plan_t *p)
{
    if (!p)
        return;
    bson_destroy(&p->doc);
    free(p);
}

int sfl_group_plan_parts(const sfl_group_plan_t *p) { return p ? p->n_parts : 0; }

static const char *doc_str(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_UTF8(&it)
               ? bson_iter_utf8(&it, NULL)
               : NULL;
}

const char *sfl_group_plan_group(const sfl_group_plan_t *p)
{
    return p ? doc_str(&p->doc, "group") : NULL;
}

const char *sfl_group_plan_id(const sfl_group_plan_t *p) { return p ? p->id : NULL; }

const bson_t *sfl_group_plan_doc(const sfl_group_plan_t *p) { return &p->doc; }

void sfl_group_plan_set_id(sfl_group_plan_t *p, const char *id)
{
    snprintf(p->id, sizeof p->id, "%s", id);
}

bool sfl_group_plan_allow_empty(const sfl_group_plan_t *p)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, &p->doc, "allow_empty") && BSON_ITER_HOLDS_BOOL(&it) &&
           bson_iter_bool(&it);
}

static bool sub_doc(const bson_iter_t *it, bson_t *out)
{
    const uint8_t *data;
    uint32_t len;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    return bson_init_static(out, data, len);
}

bool sfl_group_plan_part_doc(const sfl_group_plan_t *p, int part, bson_t *out)
{
    bson_iter_t it, arr;
    if (!p || part < 1 || part > p->n_parts || !bson_iter_init_find(&it, &p->doc, "parts") ||
        !bson_iter_recurse(&it, &arr))
        return false;
    for (int i = 1; bson_iter_next(&arr); i++)
        if (i == part)
            return sub_doc(&arr, out);
    return false;
}

uint64_t sfl_group_plan_part_bytes(const sfl_group_plan_t *p, int part)
{
    bson_t d;
    bson_iter_t it;
    if (!sfl_group_plan_part_doc(p, part, &d) || !bson_iter_init_find(&it, &d, "bytes"))
        return 0;
    return (uint64_t)bson_iter_as_int64(&it);
}

/* Source `source`'s (0-based) entry of a part's document. */
static bool part_source(const bson_t *part, size_t source, bson_t *out)
{
    bson_iter_t it, arr;
    if (!bson_iter_init_find(&it, part, "sources") || !bson_iter_recurse(&it, &arr))
        return false;
    for (size_t i = 0; bson_iter_next(&arr); i++)
        if (i == source)
            return sub_doc(&arr, out);
    return false;
}

/* Appends the regions of one part's source entry `s` to *out. */
static bool regions_of_entry(const bson_t *s, sfl_manifest_region_t **out, size_t *n, size_t *cap)
{
    bson_iter_t it, arr, f;
    if (!bson_iter_init_find(&it, s, "regions") || !bson_iter_recurse(&it, &arr))
        return true;
    while (bson_iter_next(&arr)) {
        sfl_manifest_region_t r = {NULL, 0, -1};
        if (!bson_iter_recurse(&arr, &f))
            continue;
        while (bson_iter_next(&f)) {
            if (!strcmp(bson_iter_key(&f), "chrom") && BSON_ITER_HOLDS_UTF8(&f))
                r.chrom = bson_iter_utf8(&f, NULL);
            else if (!strcmp(bson_iter_key(&f), "start"))
                r.start = bson_iter_as_int64(&f);
            else if (!strcmp(bson_iter_key(&f), "end"))
                r.end = bson_iter_as_int64(&f);
        }
        if (!r.chrom)
            continue;
        if (!SFL_GROW(*out, cap, *n + 1, 16))
            return false;
        (*out)[(*n)++] = r;
    }
    return true;
}

sfl_manifest_region_t *sfl_group_plan_regions(const sfl_group_plan_t *p, size_t *n)
{
    sfl_manifest_region_t *out = NULL;
    size_t cap = 0;
    bool ok = true;
    *n = 0;
    for (int k = 1; ok && p && k <= p->n_parts; k++) {
        bson_t pd, s;
        for (size_t i = 0; ok && sfl_group_plan_part_doc(p, k, &pd) && part_source(&pd, i, &s);
             i++)
            ok = regions_of_entry(&s, &out, n, &cap);
    }
    if (!ok || !*n) {
        free(out);
        *n = 0;
        return NULL;
    }
    return out;
}

bool sfl_group_plan_part_reads(const sfl_group_plan_t *p, int part, size_t source)
{
    bson_t d, s;
    const char *read;
    return sfl_group_plan_part_doc(p, part, &d) && part_source(&d, source, &s) &&
           (read = doc_str(&s, "read")) && strcmp(read, "none") != 0;
}

sfl_manifest_t *sfl_group_plan_manifest(const sfl_group_plan_t *p, sfl_error_t *err)
{
    bson_iter_t it;
    bson_t m;
    if (!bson_iter_init_find(&it, &p->doc, "plan") || !sub_doc(&it, &m)) {
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST, "the group's plan has no sources");
        return NULL;
    }
    return sfl_manifest_from_bson(&m, err);
}

sfl_manifest_t *sfl_group_plan_sources(const sfl_group_plan_t *p, sfl_error_t *err)
{
    if (!p) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "no plan");
        return NULL;
    }
    return sfl_group_plan_manifest(p, err);
}

sfl_group_plan_t *sfl_group_plan_from_doc(const bson_t *doc, const char *id, sfl_error_t *err)
{
    bson_iter_t it;
    const char *fmt = doc_str(doc, "format");
    int n = bson_iter_init_find(&it, doc, "parts_n") && BSON_ITER_HOLDS_INT32(&it)
                ? bson_iter_int32(&it)
                : 0;
    if (!fmt || strcmp(fmt, "swefreq-load-plan") != 0 || n < 1 || n > SFL_GROUP_MAX_PARTS) {
        sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                      "group %s: its recorded plan is not a plan of this version", id);
        return NULL;
    }
    sfl_group_plan_t *p = plan_alloc();
    if (!p) {
        nomem(err);
        return NULL;
    }
    bson_copy_to(doc, &p->doc);
    p->n_parts = n;
    sfl_group_plan_set_id(p, id);
    return p;
}

char *sfl_group_plan_json(const sfl_group_plan_t *p, const char *const *commands,
                          size_t n_commands)
{
    if (!p)
        return NULL;
    bson_t out = BSON_INITIALIZER, arr, one;
    bson_iter_t it, parts;
    if (bson_iter_init(&it, &p->doc))
        while (bson_iter_next(&it)) {
            if (strcmp(bson_iter_key(&it), "parts") != 0) {
                bson_append_iter(&out, NULL, 0, &it);
                if (!strcmp(bson_iter_key(&it), "group"))
                    BSON_APPEND_UTF8(&out, "id", p->id);
                continue;
            }
            BSON_APPEND_ARRAY_BEGIN(&out, "parts", &arr);
            bson_iter_recurse(&it, &parts);
            for (size_t k = 0; bson_iter_next(&parts); k++) {
                bson_t d;
                if (!sub_doc(&parts, &d))
                    continue;
                BSON_APPEND_DOCUMENT_BEGIN(&arr, bson_iter_key(&parts), &one);
                bson_concat(&one, &d);
                if (commands && k < n_commands && commands[k])
                    BSON_APPEND_UTF8(&one, "command", commands[k]);
                bson_append_document_end(&arr, &one);
            }
            bson_append_array_end(&out, &arr);
        }
    char *copy = sfl_bson_json_dup(&out);
    bson_destroy(&out);
    return copy;
}

/* ---- a job restricted to one part ------------------------------------- */

/* Source i's mode and regions from its entry of the part. */
static bool use_source(sfl_job_t *j, size_t i, const bson_t *s, int part, sfl_error_t *err)
{
    const char *read = doc_str(s, "read");
    char origin[64];
    snprintf(origin, sizeof origin, "plan part %d", part);
    if (!read || !strcmp(read, "none")) {
        j->src_mode[i] = SFL_SRC_SKIP;
        return true;
    }
    if (!strcmp(read, "whole")) {
        j->src_mode[i] = SFL_SRC_WHOLE;
        return true;
    }
    j->src_mode[i] = SFL_SRC_REGIONS;
    bson_iter_t it, arr, f;
    if (!bson_iter_init_find(&it, s, "regions") || !bson_iter_recurse(&it, &arr))
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                             "part %d of the plan has no regions for source %zu", part, i + 1);
    while (bson_iter_next(&arr)) {
        const char *chrom = NULL;
        int64_t beg = 0, end = SFL_REGION_TO_END;
        if (!bson_iter_recurse(&arr, &f))
            continue;
        while (bson_iter_next(&f)) {
            if (!strcmp(bson_iter_key(&f), "chrom") && BSON_ITER_HOLDS_UTF8(&f))
                chrom = bson_iter_utf8(&f, NULL);
            else if (!strcmp(bson_iter_key(&f), "start"))
                beg = bson_iter_as_int64(&f);
            else if (!strcmp(bson_iter_key(&f), "end"))
                end = bson_iter_as_int64(&f);
        }
        if (!sfl_regions_add(&j->src_regions[i], chrom, beg, end, origin, err))
            return false;
    }
    return true;
}

bool sfl_job_use_part(sfl_job_t *j, const sfl_group_plan_t *p, int part, sfl_error_t *err)
{
    bson_t pd;
    if (!j || !p || j->ran || j->part)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_job_use_part needs a plan and a job that has not run");
    if (part < 1 || part > p->n_parts || !sfl_group_plan_part_doc(p, part, &pd))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "group %s has parts 1 to %d; there is no part %d",
                             sfl_group_plan_group(p), p->n_parts, part);
    if (j->regions.n)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "a part reads the regions of its plan; the job must have none of "
                             "its own (sfl_job_add_region, sfl_job_add_regions_file)");
    sfl_manifest_t *m = sfl_group_plan_manifest(p, err);
    if (!m)
        return false;
    size_t n = sfl_manifest_n_sources(m);
    bool ok = true;
    if (n != j->n_sources)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                           "group %s was planned with %zu source file(s); this part gives %zu",
                           sfl_group_plan_group(p), n, j->n_sources);
    for (size_t i = 0; ok && i < n; i++) {
        const sfl_manifest_source_t *s = sfl_manifest_source(m, i);
        if (strcmp(s->kind, sfl_source_kind_name(j->sources[i].kind)) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                               "group %s: source %zu was a %s file (%s) in the plan, this part "
                               "gives a %s file (%s)",
                               sfl_group_plan_group(p), i + 1, s->kind, s->path,
                               sfl_source_kind_name(j->sources[i].kind), j->sources[i].path);
    }
    sfl_manifest_destroy(m);
    j->src_mode = ok ? calloc(j->n_sources + 1, 1) : NULL;
    j->src_regions = ok ? calloc(j->n_sources + 1, sizeof *j->src_regions) : NULL;
    if (ok && (!j->src_mode || !j->src_regions))
        ok = nomem(err);
    for (size_t i = 0; ok && i < j->n_sources; i++) {
        bson_t s;
        ok = part_source(&pd, i, &s) ? use_source(j, i, &s, part, err)
                                     : sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_MANIFEST,
                                                     "part %d of the plan lacks source %zu",
                                                     part, i + 1);
    }
    /* each region's records are counted for the finish's check, where the
     * reading ended is checked against the plan's ranges (group_check.c) */
    j->src_records = ok ? calloc(j->n_sources + 1, sizeof *j->src_records) : NULL;
    j->src_read_end = ok ? calloc(j->n_sources + 1, sizeof *j->src_read_end) : NULL;
    j->part_plan = ok ? bson_copy(&p->doc) : NULL;
    if (ok && (!j->src_records || !j->src_read_end || !j->part_plan))
        ok = nomem(err);
    for (size_t i = 0; ok && i < j->n_sources; i++)
        if (j->src_mode[i] == SFL_SRC_REGIONS &&
            !(j->src_records[i] = calloc(j->src_regions[i].n + 1, sizeof **j->src_records)))
            ok = nomem(err);
    if (ok)
        j->part = part;
    return ok && sfl_group_check_part_index(j, &p->doc, sfl_group_plan_group(p), part, err);
}

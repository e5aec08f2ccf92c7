/* regions.c: parsing, normalising and locating regions (regions.h).
 *
 * The design is simple: every region, from the command line (1-based
 * inclusive) or a BED file (0-based half-open), becomes one 0-based
 * half-open interval and goes into a list sorted by (contig as text,
 * start); an overlap can then only be with a neighbour, and is refused
 * naming both regions and where each was given. Locating reads the
 * source's .tbi or .csi index through htslib and takes, for each region,
 * the smallest virtual offset of the index's chunks that may hold records
 * in it; the reader starts there and keeps exactly the lines whose POS
 * lies in the region (reader.c).
 */
#include <errno.h>
#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "regions.h"
#include "safe_fs.h"

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

void sfl_regions_free(sfl_regions_t *rs)
{
    for (size_t i = 0; rs && i < rs->n; i++) {
        free(rs->r[i].chrom);
        free(rs->r[i].origin);
        free(rs->r[i].label);
    }
    if (rs) {
        free(rs->r);
        memset(rs, 0, sizeof *rs);
    }
}

static int cmp_region(const sfl_region_t *a, const char *chrom, int64_t beg)
{
    int c = strcmp(a->chrom, chrom);
    return c ? c : (a->beg < beg ? -1 : a->beg > beg);
}

/* Inserts [beg, end) of `chrom` in order; refuses an overlap with
 * `code` naming both regions. Takes `origin`. */
static bool insert(sfl_regions_t *rs, const char *chrom, size_t chrom_len, int64_t beg,
                   int64_t end, char *origin, sfl_error_code_t code, sfl_error_t *err)
{
    char *c = strndup(chrom, chrom_len), *label = malloc(chrom_len + 48);
    if (!c || !label || !SFL_GROW(rs->r, &rs->cap, rs->n + 1, 8)) {
        free(c), free(label), free(origin);
        return nomem(err);
    }
    if (end == SFL_REGION_TO_END && beg == 0)
        snprintf(label, chrom_len + 48, "%s", c);
    else if (end == SFL_REGION_TO_END)
        snprintf(label, chrom_len + 48, "%s:%lld-", c, (long long)beg + 1);
    else
        snprintf(label, chrom_len + 48, "%s:%lld-%lld", c, (long long)beg + 1, (long long)end);
    size_t at = 0, hi = rs->n; /* the first region not before (c, beg) */
    while (at < hi) {
        size_t mid = at + (hi - at) / 2;
        if (cmp_region(&rs->r[mid], c, beg) < 0)
            at = mid + 1;
        else
            hi = mid;
    }
    const sfl_region_t *prev = at ? &rs->r[at - 1] : NULL, *next = at < rs->n ? &rs->r[at] : NULL;
    const sfl_region_t *hit = prev && !strcmp(prev->chrom, c) && prev->end > beg   ? prev
                              : next && !strcmp(next->chrom, c) && next->beg < end ? next
                                                                                   : NULL;
    if (hit) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, code,
                      "%s: region %s overlaps region %s (%s); regions must not overlap, so "
                      "that each record is read once",
                      origin, label, hit->label, hit->origin);
        free(c), free(label), free(origin);
        return false;
    }
    memmove(&rs->r[at + 1], &rs->r[at], (rs->n - at) * sizeof *rs->r);
    rs->r[at] = (sfl_region_t){c, beg, end, origin, label};
    rs->n++;
    return true;
}

bool sfl_regions_add(sfl_regions_t *rs, const char *chrom, int64_t beg, int64_t end,
                     const char *origin, sfl_error_t *err)
{
    if (!rs || !chrom || !*chrom || beg < 0 || end <= beg)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION, "%s: bad region %s:%lld-%lld",
                             origin ? origin : "?", chrom ? chrom : "", (long long)beg,
                             (long long)end);
    char *o = strdup(origin ? origin : "plan");
    if (!o)
        return nomem(err);
    return insert(rs, chrom, strlen(chrom), beg, end, o, SFL_E_REGION, err);
}

/* A whole number of at most 18 digits at s[0..n). */
static bool parse_pos(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool sfl_regions_add_spec(sfl_regions_t *rs, const char *spec, sfl_error_t *err)
{
    if (!rs || !spec)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "bad region argument");
    size_t len = strlen(spec), clen = len;
    int64_t beg = 0, end = SFL_REGION_TO_END;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        const char *r = colon + 1, *dash = strchr(r, '-');
        int64_t s1, e1;
        if (dash && parse_pos(r, (size_t)(dash - r), &s1) &&
            parse_pos(dash + 1, strlen(dash + 1), &e1)) {
            if (s1 < 1 || e1 < s1)
                return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                     "sfl_job_add_region %s: START must be at least 1 and END at least "
                                     "START (1-based, inclusive: CHROM:START-END)",
                                     spec);
            beg = s1 - 1;
            end = e1;
            clen = (size_t)(colon - spec);
        } else if (strspn(r, "0123456789-,") == strlen(r) && *r) {
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                 "sfl_job_add_region %s: not CHROM or CHROM:START-END (1-based, "
                                 "inclusive, digits only)",
                                 spec);
        }
    }
    if (clen == 0 || memchr(spec, '\t', clen) || memchr(spec, ' ', clen))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_job_add_region '%s': not CHROM or CHROM:START-END", spec);
    char *origin = malloc(len + 32);
    if (!origin)
        return nomem(err);
    snprintf(origin, len + 32, "sfl_job_add_region %s", spec);
    return insert(rs, spec, clen, beg, end, origin, SFL_E_USAGE, err);
}

/* One BED line (without its '\n'); false with err naming file and line. */
static bool bed_line(sfl_regions_t *rs, const char *path, unsigned long long no, char *line,
                     sfl_error_t *err)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = '\0';
    const char *p = line + strspn(line, " \t");
    if (!*p || *p == '#' || !strncmp(p, "track", 5) || !strncmp(p, "browser", 7))
        return true;
    const char *f[3];
    size_t fl[3];
    int k = 0;
    while (k < 3 && *p) {
        f[k] = p;
        fl[k] = strcspn(p, " \t");
        p += fl[k];
        p += strspn(p, " \t");
        k++;
    }
    int64_t beg, end;
    if (k < 3)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                             "%s: line %llu: a BED line needs CHROM, START and END separated "
                             "by tabs",
                             path, no);
    if (!parse_pos(f[1], fl[1], &beg) || !parse_pos(f[2], fl[2], &end))
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                             "%s: line %llu: START and END must be whole numbers (0-based, "
                             "half-open), not '%.*s' and '%.*s'",
                             path, no, (int)(fl[1] > 40 ? 40 : fl[1]), f[1],
                             (int)(fl[2] > 40 ? 40 : fl[2]), f[2]);
    if (end <= beg)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                             "%s: line %llu: END (%lld) must be greater than START (%lld): "
                             "the region would hold no position",
                             path, no, (long long)end, (long long)beg);
    char *origin = malloc(strlen(path) + 32);
    if (!origin)
        return nomem(err);
    snprintf(origin, strlen(path) + 32, "%s: line %llu", path, no);
    return insert(rs, f[0], fl[0], beg, end, origin, SFL_E_REGION, err);
}

bool sfl_regions_add_bed(sfl_regions_t *rs, const char *path, sfl_error_t *err)
{
    if (!rs || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "bad regions file argument");
    FILE *f = sfl_fopen_regular(path, "regions file", err);
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0, before = rs->n;
    unsigned long long no = 0;
    bool ok = true;
    errno = 0;
    while (ok && getline(&line, &cap, f) >= 0) {
        no++;
        line[strcspn(line, "\n")] = '\0';
        ok = bed_line(rs, path, no, line, err);
    }
    if (ok && ferror(f))
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot read: %s", path,
                           strerror(errno ? errno : EIO));
    if (ok && rs->n == before)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                           "%s: line %llu: the regions file holds no region", path, no);
    free(line);
    fclose(f);
    return ok;
}

bool sfl_regions_append_bson(bson_t *doc, const char *key, const sfl_regions_t *rs)
{
    bson_t arr, e;
    bool ok = bson_append_array_begin(doc, key, -1, &arr);
    for (size_t i = 0; ok && i < rs->n; i++) {
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        const sfl_region_t *r = &rs->r[i];
        ok = bson_append_document_begin(&arr, k, kl, &e) &&
             bson_append_utf8(&e, "chrom", -1, r->chrom, -1) &&
             bson_append_int64(&e, "start", -1, r->beg) &&
             (r->end == SFL_REGION_TO_END || bson_append_int64(&e, "end", -1, r->end)) &&
             bson_append_document_end(&arr, &e);
    }
    return ok && bson_append_array_end(doc, &arr);
}

/* ---- locating regions in an indexed file -------------------------------- */

typedef struct {
    int64_t contig_off; /* where the contig's first records are; order key */
    int64_t beg;
    size_t i;
} order_t;

static int cmp_order(const void *pa, const void *pb)
{
    const order_t *a = pa, *b = pb;
    if (a->contig_off != b->contig_off)
        return a->contig_off < b->contig_off ? -1 : 1;
    return a->beg < b->beg ? -1 : a->beg > b->beg;
}

int64_t sfl_regions_first_offset(tbx_t *tbx, int tid, int64_t beg, int64_t end)
{
    int64_t off, last;
    return sfl_regions_span(tbx, tid, beg, end, &off, &last) ? off : -1;
}

bool sfl_regions_span(tbx_t *tbx, int tid, int64_t beg, int64_t end, int64_t *first,
                      int64_t *last_end)
{
    if (end > HTS_POS_MAX)
        end = HTS_POS_MAX;
    hts_itr_t *it = tbx_itr_queryi(tbx, tid, beg, end);
    *first = *last_end = -1;
    for (int k = 0; it && k < it->n_off; k++) {
        if (*first < 0 || (int64_t)it->off[k].u < *first)
            *first = (int64_t)it->off[k].u;
        if ((int64_t)it->off[k].v > *last_end)
            *last_end = (int64_t)it->off[k].v;
    }
    hts_itr_destroy(it);
    return *first >= 0;
}

sfl_region_read_t *sfl_regions_plan(const sfl_regions_t *rs, const char *path,
                                    sfl_error_t *err)
{
    sfl_hts_quiet_begin();
    tbx_t *tbx = tbx_index_load3(path, NULL, HTS_IDX_SILENT_FAIL);
    sfl_hts_quiet_end();
    if (!tbx) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                      "%s: reading regions (sfl_job_add_region, sfl_job_add_regions_file) needs a .tbi or .csi "
                      "index of the file (bgzip it and run 'tabix -p vcf FILE', or 'tabix -s1 "
                      "-b2 -e2 FILE' for coverage); none was found or it cannot be read",
                      path);
        return NULL;
    }
    order_t *ord = calloc(rs->n + 1, sizeof *ord);
    sfl_region_read_t *out = calloc(rs->n + 1, sizeof *out);
    bool ok = ord && out;
    if (!ok)
        nomem(err);
    int n_names = 0;
    free(tbx_seqnames(tbx, &n_names));
    int64_t *contig_off = malloc(((size_t)n_names + 1) * sizeof *contig_off);
    ok = ok && contig_off;
    if (ord && out && !contig_off)
        nomem(err);
    for (int t = 0; ok && t < n_names; t++)
        contig_off[t] = -2; /* not looked up yet */
    for (size_t i = 0; ok && i < rs->n; i++) {
        const sfl_region_t *r = &rs->r[i];
        int tid = tbx_name2id(tbx, r->chrom);
        if (tid < 0) {
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_REGION,
                               "%s: region %s (%s): the file's index knows no contig '%s'",
                               path, r->label, r->origin, r->chrom);
            break;
        }
        if (tid < n_names && contig_off[tid] == -2)
            contig_off[tid] = sfl_regions_first_offset(tbx, tid, 0, HTS_POS_MAX);
        ord[i] = (order_t){tid < n_names ? contig_off[tid] : -1, r->beg, i};
        out[i].voffset = sfl_regions_first_offset(tbx, tid, r->beg, r->end);
    }
    tbx_destroy(tbx);
    free(contig_off);
    if (!ok) {
        free(ord);
        free(out);
        return NULL;
    }
    qsort(ord, rs->n, sizeof *ord, cmp_order);
    sfl_region_read_t *sorted = calloc(rs->n + 1, sizeof *sorted);
    for (size_t i = 0; sorted && i < rs->n; i++)
        sorted[i] = (sfl_region_read_t){&rs->r[ord[i].i], out[ord[i].i].voffset};
    if (!sorted)
        nomem(err);
    free(ord);
    free(out);
    return sorted;
}

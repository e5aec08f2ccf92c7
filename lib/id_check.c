/* id_check.c: no two documents of a collection share an _id, at O(1) a
 * line.
 *
 * The design: an id is kept as its 128-bit XXH3 hash (two different ids
 * share one by accident with a probability of about n^2 / 2^129: never in
 * practice), mapped to where it was first seen, the line number and the
 * index of the source file packed in 64 bits. A lookup and an insert are
 * one hash-table probe each, whatever the number of ids; what differs per
 * collection is how long an id is kept (id_check.h):
 *
 * - variants: a later line has POS >= this line's, and its ids' minimal
 *   positions are >= their POS, so an id whose minimal position is below
 *   the current POS can never repeat. The table is swept when the
 *   position moves past the lowest minimal position it holds (the sweep
 *   touches only what the table holds: the ids of the last position or
 *   so), and emptied when the contig changes.
 * - dbsnp: the _id holds the position, so only rows at the same position
 *   can repeat one; the table holds the current position's ids. That
 *   needs the file sorted by position within a chromosome, a chromosome's
 *   rows together (the ExAC loader's recipe sorts, and tabix needs it),
 *   which is checked here: an unsorted file is refused, never checked
 *   partly.
 * - genes, transcripts, exons: a GTF need not keep a transcript's lines
 *   together, so every id of the run is kept.
 */
#include <htslib/khash.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "id_check.h"
#include "swefreq/error.h"

typedef struct {
    uint64_t lo, hi;
} idkey_t;

typedef struct {
    uint64_t where;  /* source index << 40 | line */
    int64_t key_pos; /* variants: the id's minimal position */
} idval_t;

#define IDKEY_HASH(k) ((khint32_t)((k).lo ^ ((k).lo >> 32)))
#define IDKEY_EQ(a, b) ((a).lo == (b).lo && (a).hi == (b).hi)
KHASH_INIT(idw, idkey_t, idval_t, 1, IDKEY_HASH, IDKEY_EQ) /* variants' window */
KHASH_INIT(ida, idkey_t, uint64_t, 1, IDKEY_HASH, IDKEY_EQ) /* all of a run: where */

enum { MAX_PATHS = 1 << 16 };
#define LINE_BITS 40

struct sfl_ids {
    khash_t(idw) *variants;
    int32_t v_contig;
    int64_t v_pos, v_min_key; /* current POS; lowest minimal position held */
    khash_t(ida) *dbsnp;      /* the ids of the current position */
    int32_t d_contig;
    int64_t d_pos;
    uint64_t d_line;
    const char *d_path;
    bool d_seen[32];
    khash_t(ida) *all[3]; /* genes, transcripts, exons */
    const char **paths;   /* the distinct source paths, by index */
    size_t n_paths;
};

sfl_ids_t *sfl_ids_new(void)
{
    sfl_ids_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    bool ok = (s->variants = kh_init(idw)) && (s->dbsnp = kh_init(ida));
    for (int i = 0; ok && i < 3; i++)
        ok = (s->all[i] = kh_init(ida)) != NULL;
    if (!ok) {
        sfl_ids_destroy(s);
        return NULL;
    }
    s->v_contig = s->d_contig = -1;
    return s;
}

void sfl_ids_destroy(sfl_ids_t *s)
{
    if (!s)
        return;
    kh_destroy(idw, s->variants);
    kh_destroy(ida, s->dbsnp);
    for (int i = 0; i < 3; i++)
        kh_destroy(ida, s->all[i]);
    free(s->paths);
    free(s);
}

static idkey_t key_of(const sfl_parsed_batch_t *b, const sfl_docrec_t *dr, const char **id,
                      uint32_t *len)
{
    *id = sfl_batch_doc_id(b, dr, len);
    idkey_t k = {dr->id_hash_lo, dr->id_hash_hi}; /* XXH3-128 of the id (batch.c) */
    return k;
}

/* `path`'s index among the paths seen (a run has a few sources); packs it
 * with `line`. False when out of memory or past MAX_PATHS. */
static bool pack_where(sfl_ids_t *s, const char *path, uint64_t line, uint64_t *out)
{
    size_t i = 0;
    while (i < s->n_paths && s->paths[i] != path)
        i++;
    if (i == s->n_paths) {
        const char **p = i < MAX_PATHS ? realloc(s->paths, (i + 1) * sizeof *p) : NULL;
        if (!p)
            return false;
        s->paths = p;
        s->paths[s->n_paths++] = path;
    }
    *out = (uint64_t)i << LINE_BITS | (line & ((1ull << LINE_BITS) - 1));
    return true;
}

static uint64_t where_line(uint64_t w) { return w & ((1ull << LINE_BITS) - 1); }
static const char *where_path(const sfl_ids_t *s, uint64_t w) { return s->paths[w >> LINE_BITS]; }

/* ---- variants ------------------------------------------------------------ */

/* Drops the ids whose minimal position is below `pos`: no later line can
 * repeat them. */
static void sweep_variants(sfl_ids_t *s, int64_t pos)
{
    int64_t min = INT64_MAX;
    khash_t(idw) *h = s->variants;
    for (khint_t k = kh_begin(h); k != kh_end(h); k++) {
        if (!kh_exist(h, k))
            continue;
        if (kh_val(h, k).key_pos < pos)
            kh_del(idw, h, k);
        else if (kh_val(h, k).key_pos < min)
            min = kh_val(h, k).key_pos;
    }
    s->v_min_key = min;
}

static uint32_t check_variants(sfl_ids_t *s, const sfl_parsed_batch_t *b, const sfl_linerec_t *rec,
                               const char *path, char *msg, size_t msg_size)
{
    if (rec->contig != s->v_contig) {
        kh_clear(idw, s->variants);
        s->v_contig = rec->contig;
        s->v_min_key = INT64_MAX;
    } else if (rec->pos != s->v_pos && s->v_min_key < rec->pos) {
        sweep_variants(s, rec->pos);
    }
    s->v_pos = rec->pos;
    uint64_t where;
    if (!pack_where(s, path, rec->line, &where))
        return SFL_E_NOMEM;
    for (uint32_t d = 0; d < rec->n_docs; d++) {
        const sfl_docrec_t *dr = &b->docs[rec->first_doc + d];
        const char *id;
        uint32_t idlen;
        int ret;
        khint_t k = kh_put(idw, s->variants, key_of(b, dr, &id, &idlen), &ret);
        if (ret < 0)
            return SFL_E_NOMEM;
        if (ret > 0) {
            kh_val(s->variants, k).where = where;
            kh_val(s->variants, k).key_pos = dr->key_pos;
            if (dr->key_pos < s->v_min_key)
                s->v_min_key = dr->key_pos;
            continue;
        }
        uint64_t first = kh_val(s->variants, k).where;
        if (first == where)
            snprintf(msg, msg_size,
                     "%s: line %llu: duplicate variant %.*s: two ALT alleles of this line "
                     "reduce to the same chrom-pos-ref-alt",
                     path, (unsigned long long)rec->line, (int)idlen, id);
        else
            snprintf(msg, msg_size,
                     "%s: line %llu: duplicate variant %.*s: line %llu of %s reduces to the "
                     "same chrom-pos-ref-alt",
                     path, (unsigned long long)rec->line, (int)idlen, id,
                     (unsigned long long)where_line(first), where_path(s, first));
        /* take this line's ids back out: a refused line records nothing */
        for (uint32_t e = 0; e < d; e++) {
            khint_t j = kh_get(idw, s->variants, key_of(b, &b->docs[rec->first_doc + e], &id,
                                                        &idlen));
            if (j != kh_end(s->variants) && kh_val(s->variants, j).where == where)
                kh_del(idw, s->variants, j);
        }
        return SFL_E_DUPLICATE;
    }
    return SFL_OK;
}

/* ---- dbSNP --------------------------------------------------------------- */

static uint32_t dbsnp_order(sfl_ids_t *s, const sfl_linerec_t *rec, const char *path, char *msg,
                            size_t msg_size)
{
    static const char hint[] = "a dbSNP file must be sorted by position within each "
                               "chromosome, a chromosome's rows together, as the ExAC loader's "
                               "recipe (sort -k2,2 -k3,3n) writes it; its repeated rows could "
                               "not be found otherwise";
    if (rec->contig != s->d_contig) {
        if (rec->contig >= 0 && rec->contig < 32 && s->d_seen[rec->contig]) {
            snprintf(msg, msg_size,
                     "%s: line %llu: unsorted input: this chromosome's rows appeared before "
                     "line %llu of %s, and another chromosome's since: %s",
                     path, (unsigned long long)rec->line, (unsigned long long)s->d_line,
                     s->d_path, hint);
            return SFL_E_UNSORTED;
        }
        if (rec->contig >= 0 && rec->contig < 32)
            s->d_seen[rec->contig] = true;
        s->d_contig = rec->contig;
        kh_clear(ida, s->dbsnp);
    } else if (rec->pos < s->d_pos) {
        snprintf(msg, msg_size,
                 "%s: line %llu: unsorted input: position %lld comes after %lld (line %llu of "
                 "%s): %s",
                 path, (unsigned long long)rec->line, (long long)rec->pos - 1,
                 (long long)s->d_pos - 1, (unsigned long long)s->d_line, s->d_path, hint);
        return SFL_E_UNSORTED;
    } else if (rec->pos != s->d_pos) {
        kh_clear(ida, s->dbsnp);
    }
    s->d_pos = rec->pos;
    s->d_line = rec->line;
    s->d_path = path;
    return SFL_OK;
}

/* ---- one id kept for the run, or for a position -------------------------- */

static uint32_t check_one(sfl_ids_t *s, khash_t(ida) *h, const char *what,
                          const sfl_parsed_batch_t *b, const sfl_docrec_t *dr,
                          const sfl_linerec_t *rec, const char *path, char *msg, size_t msg_size)
{
    uint64_t where;
    if (!pack_where(s, path, rec->line, &where))
        return SFL_E_NOMEM;
    const char *id;
    uint32_t idlen;
    int ret;
    khint_t k = kh_put(ida, h, key_of(b, dr, &id, &idlen), &ret);
    if (ret < 0)
        return SFL_E_NOMEM;
    if (ret > 0) {
        kh_val(h, k) = where;
        return SFL_OK;
    }
    uint64_t first = kh_val(h, k);
    snprintf(msg, msg_size,
             "%s: line %llu: duplicate %s id %.*s: line %llu of %s has it too (one document "
             "per %s)",
             path, (unsigned long long)rec->line, what, (int)idlen, id,
             (unsigned long long)where_line(first), where_path(s, first), what);
    return SFL_E_DUPLICATE;
}

uint32_t sfl_ids_check(sfl_ids_t *s, const sfl_parsed_batch_t *b, const sfl_linerec_t *rec,
                       const char *path, char *msg, size_t msg_size)
{
    static const char *const gtf_what[] = {"gene", "transcript", "exon"};
    if (!rec->n_docs)
        return SFL_OK;
    if (!b->multi && b->collection == SFL_COLL_VARIANTS)
        return check_variants(s, b, rec, path, msg, msg_size);
    if (!b->multi && b->collection == SFL_COLL_DBSNP) {
        uint32_t code = dbsnp_order(s, rec, path, msg, msg_size);
        for (uint32_t d = 0; code == SFL_OK && d < rec->n_docs; d++)
            code = check_one(s, s->dbsnp, "dbSNP", b, &b->docs[rec->first_doc + d], rec, path,
                             msg, msg_size);
        return code;
    }
    if (!b->multi)
        return SFL_OK; /* coverage: order_check.c; metrics are not lines */
    for (uint32_t d = 0; d < rec->n_docs; d++) {
        const sfl_docrec_t *dr = &b->docs[rec->first_doc + d];
        int which = dr->coll - SFL_COLL_GENES;
        if (which < 0 || which > 2)
            continue;
        uint32_t code = check_one(s, s->all[which], gtf_what[which], b, dr, rec, path, msg,
                                  msg_size);
        if (code != SFL_OK)
            return code; /* a GTF line gives one document: nothing to take back */
    }
    return SFL_OK;
}

/* ---- dbSNP by batch -------------------------------------------------------- */

/* Whether document `dr` shares its _id with one of the `n` documents of
 * `group` (the batch's documents at one position). */
static bool in_group(const sfl_docrec_t *const *group, size_t n, const sfl_docrec_t *dr)
{
    for (size_t i = 0; i < n; i++)
        if (group[i]->id_hash_lo == dr->id_hash_lo && group[i]->id_hash_hi == dr->id_hash_hi)
            return true;
    return false;
}

void sfl_ids_scan_batch(sfl_parsed_batch_t *b)
{
    const sfl_docrec_t *group[SFL_IDS_GROUP_MAX];
    size_t n_group = 0;
    bool seen[32] = {false}, head = true;
    const sfl_linerec_t *prev = NULL;
    b->ids_ok = false;
    b->n_runs = 0;
    b->ids_head_end = b->ids_tail_first = 0;
    for (size_t i = 0; i < b->n_lines; i++) {
        const sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK || !rec->n_docs)
            continue; /* sfl_ids_check never sees it */
        const sfl_docrec_t *dr = &b->docs[rec->first_doc];
        if (rec->n_docs != 1 || rec->contig < 0 || rec->contig >= 32 ||
            dr->len > SFL_MAX_DOC_BYTES)
            return;
        if (prev && rec->contig == prev->contig && rec->pos == prev->pos) {
            if (n_group == SFL_IDS_GROUP_MAX || in_group(group, n_group, dr))
                return;
        } else if (prev && rec->contig == prev->contig) {
            if (rec->pos < prev->pos)
                return;
            n_group = 0;
            head = false;
            b->ids_tail_first = (uint32_t)i;
        } else {
            if (seen[rec->contig] || b->n_runs == SFL_BATCH_MAX_RUNS)
                return;
            seen[rec->contig] = true;
            b->runs[b->n_runs].first = (uint32_t)i;
            b->n_runs++;
            n_group = 0;
            head = !prev;
            b->ids_tail_first = (uint32_t)i;
        }
        group[n_group++] = dr;
        b->runs[b->n_runs - 1].last = (uint32_t)i;
        if (head)
            b->ids_head_end = (uint32_t)i + 1;
        prev = rec;
    }
    b->ids_ok = true;
}

/* The order checks of dbsnp_order for each run's first line, and the
 * uniqueness of the ids at the batch's first position against those kept:
 * true when all pass. Changes nothing. */
static bool batch_meets(const sfl_ids_t *s, const sfl_parsed_batch_t *b, bool *continues)
{
    const sfl_linerec_t *first = &b->lines[b->runs[0].first];
    *continues = first->contig == s->d_contig;
    if (*continues ? first->pos < s->d_pos : s->d_seen[first->contig])
        return false;
    for (uint32_t r = 1; r < b->n_runs; r++)
        if (s->d_seen[b->lines[b->runs[r].first].contig])
            return false;
    if (!*continues || first->pos != s->d_pos)
        return true;
    for (uint32_t i = b->runs[0].first; i < b->ids_head_end; i++) {
        const sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK || !rec->n_docs)
            continue;
        const sfl_docrec_t *dr = &b->docs[rec->first_doc];
        idkey_t k = {dr->id_hash_lo, dr->id_hash_hi};
        if (kh_get(ida, s->dbsnp, k) != kh_end(s->dbsnp))
            return false;
    }
    return true;
}

int sfl_ids_check_batch(sfl_ids_t *s, const sfl_parsed_batch_t *b, const char *path)
{
    if (!b->ids_ok)
        return 0;
    if (!b->n_runs)
        return 1; /* no line with a document: nothing to check or record */
    bool continues;
    uint64_t base;
    if (!batch_meets(s, b, &continues) || !pack_where(s, path, 0, &base))
        return 0;
    const sfl_linerec_t *first = &b->lines[b->runs[0].first];
    const sfl_linerec_t *last = &b->lines[b->runs[b->n_runs - 1].last];
    for (uint32_t r = 0; r < b->n_runs; r++)
        s->d_seen[b->lines[b->runs[r].first].contig] = true;
    /* the ids kept are those of the last position: the ones before the
     * batch too when the whole batch continues their position */
    if (!(continues && first->pos == s->d_pos && b->n_runs == 1 && last->pos == first->pos))
        kh_clear(ida, s->dbsnp);
    for (uint32_t i = b->ids_tail_first; i <= b->runs[b->n_runs - 1].last; i++) {
        const sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK || !rec->n_docs)
            continue;
        const sfl_docrec_t *dr = &b->docs[rec->first_doc];
        idkey_t k = {dr->id_hash_lo, dr->id_hash_hi};
        int ret;
        khint_t h = kh_put(ida, s->dbsnp, k, &ret);
        if (ret < 0)
            return -1;
        kh_val(s->dbsnp, h) = base | (rec->line & ((1ull << LINE_BITS) - 1));
    }
    s->d_contig = last->contig;
    s->d_pos = last->pos;
    s->d_line = last->line;
    s->d_path = path;
    return 1;
}

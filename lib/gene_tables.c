/* gene_tables.c: the canonical-transcript, OMIM and dbNSFP gene tables.
 *
 * The design is simple: one hash from gene id to an entry that holds what
 * each table says about the gene and the line that said it. The rows are
 * read the way the ExAC loader reads them (exac.py load_gene_models,
 * parsing.py get_canonical_transcripts / get_omim_associations /
 * get_dbnsfp_info), except that a gene the same table gives twice with
 * different values is refused, naming both lines, where the ExAC loader
 * would silently keep the last (rows that repeat the same values, such as
 * one OMIM row per transcript of a gene, are one fact and are accepted).
 */
#include <bson/bson.h>
#include <ctype.h>
#include <htslib/bgzf.h>
#include <htslib/khash.h>
#include <htslib/kstring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gene_tables.h"
#include "grow.h"

typedef struct {
    char *canonical;
    uint64_t canonical_line;
    char *omim_acc, *omim_desc;
    uint64_t omim_line;
    char *full_name;
    char **other;
    size_t n_other;
    uint64_t dbnsfp_line;
    uint32_t rows[3];     /* rows per table: canonical, OMIM, dbNSFP */
    atomic_bool joined;   /* a GTF gene looked it up (parser threads) */
} entry_t;

KHASH_MAP_INIT_STR(gt, uint32_t)

struct sfl_gene_tables {
    khash_t(gt) *ids;
    entry_t *e;
    size_t n, cap;
};

sfl_gene_tables_t *sfl_gene_tables_new(void)
{
    sfl_gene_tables_t *t = calloc(1, sizeof *t);
    if (t && !(t->ids = kh_init(gt))) {
        free(t);
        return NULL;
    }
    return t;
}

void sfl_gene_tables_destroy(sfl_gene_tables_t *t)
{
    if (!t)
        return;
    for (khint_t k = kh_begin(t->ids); k != kh_end(t->ids); k++)
        if (kh_exist(t->ids, k))
            free((char *)kh_key(t->ids, k));
    kh_destroy(gt, t->ids);
    for (size_t i = 0; i < t->n; i++) {
        entry_t *e = &t->e[i];
        free(e->canonical);
        free(e->omim_acc);
        free(e->omim_desc);
        free(e->full_name);
        for (size_t j = 0; j < e->n_other; j++)
            free(e->other[j]);
        free(e->other);
    }
    free(t->e);
    free(t);
}

static entry_t *entry_find(sfl_gene_tables_t *t, const char *id);

/* Cuts a versioned Ensembl id in place (ENSG00000223972.7 ->
 * ENSG00000223972), as the GTF's ids are cut: the join is on the id
 * without version on both sides. */
static char *unversioned(char *id)
{
    char *dot = strchr(id, '.');
    if (dot)
        *dot = '\0';
    return id;
}

/* The entry of gene `id` (its version cut), created empty when new; NULL
 * when out of memory. `table` (0 canonical, 1 OMIM, 2 dbNSFP) counts the
 * row. */
static entry_t *entry_of(sfl_gene_tables_t *t, char *id, int table)
{
    entry_t *e = entry_find(t, unversioned(id));
    if (e)
        e->rows[table]++;
    return e;
}

static entry_t *entry_find(sfl_gene_tables_t *t, const char *id)
{
    khint_t k = kh_get(gt, t->ids, id);
    if (k != kh_end(t->ids))
        return &t->e[kh_val(t->ids, k)];
    if (!SFL_GROW(t->e, &t->cap, t->n + 1, 1024))
        return NULL;
    char *key = strdup(id);
    int ret;
    if (!key)
        return NULL;
    k = kh_put(gt, t->ids, key, &ret);
    if (ret < 0) {
        free(key);
        return NULL;
    }
    memset(&t->e[t->n], 0, sizeof t->e[t->n]);
    atomic_init(&t->e[t->n].joined, false);
    kh_val(t->ids, k) = (uint32_t)t->n;
    return &t->e[t->n++];
}

bool sfl_gene_tables_lookup(sfl_gene_tables_t *t, const char *id, size_t len,
                            sfl_gene_annot_t *a)
{
    memset(a, 0, sizeof *a);
    char buf[128];
    if (!t || len >= sizeof buf)
        return false;
    memcpy(buf, id, len);
    buf[len] = '\0';
    khint_t k = kh_get(gt, t->ids, buf);
    if (k == kh_end(t->ids))
        return false;
    entry_t *e = &t->e[kh_val(t->ids, k)];
    if (!atomic_load_explicit(&e->joined, memory_order_relaxed))
        atomic_store_explicit(&e->joined, true, memory_order_relaxed);
    a->canonical_transcript = e->canonical;
    a->omim_accession = e->omim_acc;
    a->omim_description = e->omim_desc;
    a->full_gene_name = e->full_name;
    a->other_names = (const char *const *)e->other;
    a->n_other_names = e->n_other;
    return true;
}

/* Splits `s` in place at `sep` (or, with sep == 0, at runs of
 * whitespace, as Python's str.split()). Returns the number of fields
 * (up to `max`; *more says whether there were more). */
static int split(char *s, char sep, char **f, int max, bool *more)
{
    int n = 0;
    *more = false;
    if (!sep) {
        for (char *p = s;;) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            if (n == max) {
                *more = true;
                break;
            }
            f[n++] = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            if (*p)
                *p++ = '\0';
        }
        return n;
    }
    for (char *p = s;;) {
        if (n == max) {
            *more = true;
            break;
        }
        f[n++] = p;
        char *q = strchr(p, sep);
        if (!q)
            break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

/* Python's str.strip(): whitespace off both ends, in place. */
static char *strip(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

static bool dup_error(sfl_error_t *err, const char *path, uint64_t line, const char *id,
                      uint64_t first, const char *what)
{
    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_DUPLICATE,
                         "%s: line %llu: gene %s again, with another %s than on line %llu: "
                         "one row per gene",
                         path, (unsigned long long)line, id, what, (unsigned long long)first);
}

typedef struct {
    int name, full, old_names, other_names, n; /* column indexes; n = needed */
} dbnsfp_cols_t;

static bool dbnsfp_header(char *line, const char *path, dbnsfp_cols_t *c, sfl_error_t *err)
{
    static const char *const want[] = {"Ensembl_gene", "Gene_full_name", "Gene_old_names",
                                       "Gene_other_names"};
    int *slot[] = {&c->name, &c->full, &c->old_names, &c->other_names};
    for (int i = 0; i < 4; i++)
        *slot[i] = -1;
    if (line[0] == '#')
        line++;
    int col = 0;
    for (char *p = line;; col++) {
        char *q = strchr(p, '\t');
        if (q)
            *q = '\0';
        for (int i = 0; i < 4; i++)
            if (strcmp(p, want[i]) == 0 && *slot[i] < 0)
                *slot[i] = col;
        if (!q)
            break;
        p = q + 1;
    }
    c->n = 0;
    for (int i = 0; i < 4; i++) {
        if (*slot[i] < 0)
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                                 "%s: line 1: the header has no %s column (a dbNSFP gene file "
                                 "names Ensembl_gene, Gene_full_name, Gene_old_names and "
                                 "Gene_other_names in its first line)",
                                 path, want[i]);
        if (*slot[i] + 1 > c->n)
            c->n = *slot[i] + 1;
    }
    return true;
}

/* Appends the names of a ';'-separated list ('.' = none), upper-cased. */
static bool add_names(char ***names, size_t *n, size_t *cap, const char *list)
{
    if (strcmp(list, ".") == 0)
        return true;
    for (const char *p = list;;) {
        const char *q = strchr(p, ';');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (!SFL_GROW(*names, cap, *n + 1, 4))
            return false;
        char *s = strndup(p, len);
        if (!s)
            return false;
        for (size_t i = 0; i < len; i++)
            s[i] = (char)toupper((unsigned char)s[i]);
        (*names)[(*n)++] = s;
        if (!q)
            return true;
        p = q + 1;
    }
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static bool dbnsfp_row(sfl_gene_tables_t *t, char *line, uint64_t ln, const char *path,
                       const dbnsfp_cols_t *c, sfl_error_t *err)
{
    char *f[512];
    bool more;
    int n = split(line, '\t', f, 512, &more);
    if (n < c->n)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                             "%s: line %llu: found %d tab-separated columns, expected at least "
                             "%d (as in the header line)",
                             path, (unsigned long long)ln, n, c->n);
    char *id = f[c->name];
    if (strcmp(id, ".") == 0)
        return true; /* no Ensembl gene: it can match no GTF gene */
    char **names = NULL;
    size_t n_names = 0, cap = 0;
    if (!add_names(&names, &n_names, &cap, f[c->old_names]) ||
        !add_names(&names, &n_names, &cap, f[c->other_names])) {
        free_names(names, n_names);
        return nomem(err);
    }
    entry_t *e = entry_of(t, id, 2);
    if (!e) {
        free_names(names, n_names);
        return nomem(err);
    }
    if (e->dbnsfp_line) {
        bool eq = same(e->full_name, f[c->full]) && e->n_other == n_names;
        for (size_t i = 0; eq && i < n_names; i++)
            eq = strcmp(e->other[i], names[i]) == 0;
        free_names(names, n_names);
        return eq || dup_error(err, path, ln, id, e->dbnsfp_line, "full name or other names");
    }
    if (!(e->full_name = strdup(f[c->full]))) {
        free_names(names, n_names);
        return nomem(err);
    }
    e->other = names;
    e->n_other = n_names;
    e->dbnsfp_line = ln;
    return true;
}

static bool canonical_row(sfl_gene_tables_t *t, char *line, uint64_t ln, const char *path,
                          sfl_error_t *err)
{
    char *f[2];
    bool more;
    int n = split(line, 0, f, 2, &more);
    if (n != 2 || more)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                             "%s: line %llu: found %s columns, expected 2 (gene id, transcript "
                             "id)",
                             path, (unsigned long long)ln, more ? "more than 2" : n ? "1" : "0");
    entry_t *e = entry_of(t, f[0], 0);
    if (!e)
        return nomem(err);
    unversioned(f[1]); /* the transcripts' _ids have no version either */
    if (e->canonical_line)
        return same(e->canonical, f[1]) ||
               dup_error(err, path, ln, f[0], e->canonical_line, "canonical transcript");
    if (!(e->canonical = strdup(f[1])))
        return nomem(err);
    e->canonical_line = ln;
    return true;
}

static bool omim_row(sfl_gene_tables_t *t, char *line, uint64_t ln, const char *path,
                     uint64_t *short_rows, sfl_error_t *err)
{
    char *f[4];
    bool more;
    int n = split(strip(line), '\t', f, 4, &more);
    if (more)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                             "%s: line %llu: more than 4 tab-separated columns (expected gene, "
                             "transcript, accession, description)",
                             path, (unsigned long long)ln);
    if (n < 4) {
        (*short_rows)++;
        return true;
    }
    entry_t *e = entry_of(t, f[0], 1);
    if (!e)
        return nomem(err);
    if (e->omim_line)
        return (same(e->omim_acc, f[2]) && same(e->omim_desc, f[3])) ||
               dup_error(err, path, ln, f[0], e->omim_line, "OMIM accession or description");
    if (!(e->omim_acc = strdup(f[2])) || !(e->omim_desc = strdup(f[3])))
        return nomem(err);
    e->omim_line = ln;
    return true;
}

bool sfl_gene_tables_load(sfl_gene_tables_t *t, sfl_source_kind_t kind, const char *path,
                          uint64_t *records, uint64_t *short_rows, sfl_error_t *err)
{
    BGZF *fp = bgzf_open(path, "r");
    if (!fp)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open", path);
    kstring_t ks = {0, 0, NULL};
    uint64_t ln = 0;
    bool ok = true;
    dbnsfp_cols_t cols = {0, 0, 0, 0, 0};
    int rc;
    while (ok && (rc = bgzf_getline(fp, '\n', &ks)) >= 0) {
        ln++;
        if (ks.l && ks.s[ks.l - 1] == '\r')
            ks.s[--ks.l] = '\0';
        if (kind == SFL_SOURCE_DBNSFP_GENES && ln == 1) {
            ok = dbnsfp_header(ks.s, path, &cols, err);
            continue;
        }
        const char *q = ks.s;
        while (*q && isspace((unsigned char)*q))
            q++;
        if (!*q)
            continue; /* a blank line */
        if (!bson_utf8_validate(ks.s, ks.l, false)) { /* its text goes into genes */
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                               "%s: line %llu: the line is not valid UTF-8 text", path,
                               (unsigned long long)ln);
            break;
        }
        (*records)++;
        if (kind == SFL_SOURCE_CANONICAL)
            ok = canonical_row(t, ks.s, ln, path, err);
        else if (kind == SFL_SOURCE_OMIM)
            ok = omim_row(t, ks.s, ln, path, short_rows, err);
        else
            ok = dbnsfp_row(t, ks.s, ln, path, &cols, err);
    }
    if (ok && rc < -1)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_COMPRESSION,
                           "%s: line %llu: the file cannot be read past this line (truncated "
                           "or corrupt compression)",
                           path, (unsigned long long)ln);
    if (ok && kind == SFL_SOURCE_DBNSFP_GENES && ln == 0)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                           "%s: line 1: missing header: a dbNSFP gene file starts with its "
                           "column names",
                           path);
    free(ks.s);
    bgzf_close(fp);
    return ok;
}

void sfl_gene_tables_joined(const sfl_gene_tables_t *t, sfl_source_kind_t kind, uint64_t *rows,
                            uint64_t *unjoined)
{
    int table = kind == SFL_SOURCE_CANONICAL ? 0 : kind == SFL_SOURCE_OMIM ? 1 : 2;
    *rows = *unjoined = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        const entry_t *e = &t->e[i];
        *rows += e->rows[table];
        if (!atomic_load_explicit(&e->joined, memory_order_relaxed))
            *unjoined += e->rows[table];
    }
}

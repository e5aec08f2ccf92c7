/* gtf_doc.c: a GENCODE GTF line -> a gene, transcript or exon document.
 *
 * The documents are the ExAC loader's (parsing.py
 * get_genes/get_transcripts/get_exons_from_gencode_gtf, exac.py
 * load_gene_models), field for field:
 *
 *   genes:       gene_id, gene_name, gene_name_upper, chrom, start, stop,
 *                strand, xstart, xstop [, canonical_transcript,
 *                omim_accession, omim_description, full_gene_name,
 *                other_names from the gene tables]
 *   transcripts: transcript_id, gene_id, chrom, start, stop, strand,
 *                xstart, xstop
 *   exons:       feature_type, transcript_id, gene_id, chrom, start, stop,
 *                strand, xstart, xstop   (exon, CDS and UTR lines)
 *
 * Ids lose their version (ENSG00000223972.4 -> ENSG00000223972), the
 * chromosome its "chr", and start and stop gain 1: the ExAC loader adds 1
 * believing GTF 0-based, and the browser's queries were written against
 * those values, so we keep them (docs/schema.md). Each document's _id is
 * deterministic: the gene id, the transcript id, and for an exon
 * "<transcript id>-<feature type>-<start>-<stop>" with the GTF's own
 * coordinates. GENCODE gives the pseudoautosomal genes of chrY the ids of
 * their chrX copies (GRCh37), or the same ids with "_PAR_Y" (GRCh38):
 * their _id keeps "_PAR_Y" so both copies load; gene_id stays the ExAC
 * loader's. Other features (start_codon, Selenocysteine, ...) are counted
 * and left out, as the ExAC loader leaves them out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bson_enc.h"
#include "gtf_doc.h"
#include "numparse.h"
#include "scan.h"
#include "variant_key.h"

enum { F_GENE, F_TRANSCRIPT, F_EXON, F_OTHER };

typedef struct {
    const char *p;
    size_t n;
} span_t;

/* Column 9 as GENCODE's GTF defines it: `key value;` pairs separated by
 * ';' and spaces, a value either "quoted" (where ';' is text, not a
 * separator) or bare (`level 2`). The values of gene_id, transcript_id and
 * gene_name, quotes stripped; the last one when repeated, as the ExAC
 * loader's dict keeps. Returns NULL, or what is wrong (an unterminated
 * quote, text after a value) with *at its offset in the column. */
typedef struct {
    span_t gid, tid, gname;
    bool has_gid, has_tid, has_gname;
} gtf_attrs_t;

static const char *scan_attributes(span_t attrs, gtf_attrs_t *a, size_t *at)
{
    memset(a, 0, sizeof *a);
    const char *p = attrs.p, *end = attrs.p + attrs.n;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (p == end)
            return NULL;
        const char *k = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != ';' && *p != '"')
            p++;
        size_t kl = (size_t)(p - k);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        span_t v;
        if (p < end && *p == '"') {
            const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (!q) {
                *at = (size_t)(p - attrs.p);
                return "a quoted value has no closing '\"'";
            }
            v.p = p + 1;
            v.n = (size_t)(q - p - 1);
            p = q + 1;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p != ';') {
                *at = (size_t)(p - attrs.p);
                return "text follows a quoted value before the ';'";
            }
        } else {
            v.p = p;
            while (p < end && *p != ';')
                p++;
            v.n = (size_t)(p - v.p);
            while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
                v.n--;
        }
        if (kl == 7 && memcmp(k, "gene_id", 7) == 0)
            a->gid = v, a->has_gid = true;
        else if (kl == 13 && memcmp(k, "transcript_id", 13) == 0)
            a->tid = v, a->has_tid = true;
        else if (kl == 9 && memcmp(k, "gene_name", 9) == 0)
            a->gname = v, a->has_gname = true;
    }
}

static size_t unversioned(span_t id)
{
    const char *dot = memchr(id.p, '.', id.n);
    return dot ? (size_t)(dot - id.p) : id.n;
}

static bool contains(span_t s, const char *what)
{
    size_t n = strlen(what);
    for (size_t i = 0; i + n <= s.n; i++)
        if (memcmp(s.p + i, what, n) == 0)
            return true;
    return false;
}

/* A chrY feature inside GRCh37's pseudoautosomal regions (GRCh38's
 * GENCODE marks its PAR ids "_PAR_Y"; GRCh37's first PAR lies inside
 * GRCh38's, its second past GRCh38's chrY). */
static bool in_par_y(int code, int64_t start, int64_t stop)
{
    return code == 24 && ((start >= 10001 && stop <= 2649520) ||
                          (start >= 59034050 && stop <= 59373566));
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

static void enc_strs(sfl_enc_t *e, const char *k, const char *const *v, size_t n)
{
    size_t arr = sfl_enc_begin(e, 0x04, k, strlen(k));
    for (size_t i = 0; i < n; i++) {
        char kb[16];
        size_t kl;
        const char *ik = sfl_enc_idx((uint32_t)i, &kl, kb);
        sfl_enc_str(e, ik, kl, v[i], strlen(v[i]));
    }
    sfl_enc_end(e, arr);
}

#define ENC_S(e, k, s, n) sfl_enc_str((e), k, sizeof k - 1, (s), (n))
#define ENC_Z(e, k, s) sfl_enc_str((e), k, sizeof k - 1, (s), strlen(s))

/* One GTF line, taken apart. */
typedef struct {
    span_t col[9];
    int kind, code;
    int64_t start, stop; /* as in the GTF */
    span_t gid, tid, gname;
    size_t gl, tl; /* the ids' lengths without version */
    bool par;
} gtf_line_t;

/* Splits the line into its 9 columns; the number of columns found. */
static int split_columns(const char *line, size_t len, span_t col[9])
{
    int n = 0;
    for (const char *p = line, *end = line + len;; n++) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        if (n < 9) {
            col[n].p = p;
            col[n].n = (size_t)((t ? t : end) - p);
        }
        if (!t)
            return n + 1;
        p = t + 1;
    }
}

static int feature_kind(span_t ft)
{
    if (ft.n == 4 && !memcmp(ft.p, "gene", 4))
        return F_GENE;
    if (ft.n == 10 && !memcmp(ft.p, "transcript", 10))
        return F_TRANSCRIPT;
    if ((ft.n == 4 && !memcmp(ft.p, "exon", 4)) || (ft.n == 3 && !memcmp(ft.p, "CDS", 3)) ||
        (ft.n == 3 && !memcmp(ft.p, "UTR", 3)))
        return F_EXON;
    return F_OTHER;
}

/* Checks and takes apart line `rec`. True when it makes a document; false
 * when it was rejected or is left out (counted). */
static bool parse_line(const sfl_gtf_ctx_t *c, sfl_parsed_batch_t *b, sfl_linerec_t *rec,
                       const char *path, const char *line, size_t len, gtf_line_t *g)
{
    unsigned long long ln = (unsigned long long)rec->line;
    /* its text goes into the documents: UTF-8 (ASCII checked 16 bytes a step) */
    if (!sfl_scan_ascii(line, len) && !bson_utf8_validate(line, len, false)) {
        sfl_batch_reject(b, rec, SFL_E_LINE, "%s: line %llu: the line is not valid UTF-8 text",
                         path, ln);
        return false;
    }
    int n = split_columns(line, len, g->col);
    if (n != 9) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: found %d tab-separated columns, expected 9 (a GTF line: "
                         "seqname, source, feature, start, end, score, strand, frame, "
                         "attributes)",
                         path, ln, n);
        return false;
    }
    for (int i = 3; i <= 4; i++) {
        int64_t *v = i == 3 ? &g->start : &g->stop;
        const span_t *f = &g->col[i];
        if (!sfl_parse_int64(f->p, f->n, v) || *v < 1 || *v >= 999999999) {
            sfl_batch_reject(b, rec, SFL_E_LINE,
                             "%s: line %llu: %s '%.*s' is not a position (expected an integer "
                             "from 1 to 999999998)",
                             path, ln, i == 3 ? "start" : "end", (int)(f->n > 60 ? 60 : f->n),
                             f->p);
            return false;
        }
    }
    if (g->stop < g->start) {
        sfl_batch_reject(b, rec, SFL_E_LINE, "%s: line %llu: end %lld is before start %lld", path,
                         ln, (long long)g->stop, (long long)g->start);
        return false;
    }
    span_t ft = g->col[2], at = g->col[8];
    if ((g->kind = feature_kind(ft)) == F_OTHER) {
        b->other_features++;
        return false;
    }
    if (!(g->code = sfl_batch_contig(b, rec, c->skip_unknown_contigs, path, g->col[0].p,
                                     g->col[0].n)))
        return false;
    gtf_attrs_t a;
    size_t bad_at = 0;
    const char *bad = scan_attributes(at, &a, &bad_at);
    if (bad) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: column 9 (attributes), at character %zu: %s (expected "
                         "'key \"value\";' pairs)",
                         path, ln, bad_at + 1, bad);
        return false;
    }
    g->gid = a.gid;
    g->tid = g->kind != F_GENE ? a.tid : (span_t){NULL, 0};
    g->gname = a.gname;
    const char *missing = !a.has_gid || !g->gid.n                              ? "gene_id"
                          : g->kind != F_GENE && (!a.has_tid || !g->tid.n)     ? "transcript_id"
                          : g->kind == F_GENE && !a.has_gname                  ? "gene_name"
                                                                                : NULL;
    if (missing) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: the %.*s line has no %s attribute (column 9)", path, ln,
                         (int)ft.n, ft.p, missing);
        return false;
    }
    if (g->gid.n > 200 || g->tid.n > 200) {
        sfl_batch_reject(b, rec, SFL_E_TOO_LARGE,
                         "%s: line %llu: a gene_id or transcript_id longer than 200 characters",
                         path, ln);
        return false;
    }
    g->par = in_par_y(g->code, g->start, g->stop) || (g->code == 24 && contains(g->gid, "_PAR_Y"));
    g->gl = unversioned(g->gid);
    g->tl = g->tid.n ? unversioned(g->tid) : 0;
    return true;
}

/* The document's fields after _id (and feature_type), in the ExAC
 * loader's order. */
static void encode_fields(const sfl_gtf_ctx_t *c, const gtf_line_t *g, sfl_enc_t *e)
{
    if (g->kind == F_GENE) {
        ENC_S(e, "gene_id", g->gid.p, g->gl);
        ENC_S(e, "gene_name", g->gname.p, g->gname.n);
        ENC_S(e, "gene_name_upper", g->gname.p, g->gname.n);
        if (!e->oom) /* upper-case the copy just written (ASCII, as Python 2) */
            for (size_t i = e->len - 1 - g->gname.n; i < e->len - 1; i++)
                if (e->p[i] >= 'a' && e->p[i] <= 'z')
                    e->p[i] = (uint8_t)(e->p[i] - 32);
    } else {
        ENC_S(e, "transcript_id", g->tid.p, g->tl);
        ENC_S(e, "gene_id", g->gid.p, g->gl);
    }
    span_t chrom = g->col[0];
    if (chrom.n > 3 && (chrom.p[0] | 0x20) == 'c' && (chrom.p[1] | 0x20) == 'h' &&
        (chrom.p[2] | 0x20) == 'r') {
        chrom.p += 3;
        chrom.n -= 3;
    }
    int64_t start = g->start + 1, stop = g->stop + 1; /* the ExAC loader's +1 */
    ENC_S(e, "chrom", chrom.p, chrom.n);
    sfl_enc_int(e, "start", 5, start);
    sfl_enc_int(e, "stop", 4, stop);
    ENC_S(e, "strand", g->col[6].p, g->col[6].n);
    sfl_enc_int(e, "xstart", 6, sfl_xpos(g->code, start));
    sfl_enc_int(e, "xstop", 5, sfl_xpos(g->code, stop));
    sfl_gene_annot_t a;
    if (g->kind != F_GENE || !sfl_gene_tables_lookup(c->tables, g->gid.p, g->gl, &a))
        return;
    if (a.canonical_transcript)
        ENC_Z(e, "canonical_transcript", a.canonical_transcript);
    if (a.omim_accession) {
        ENC_Z(e, "omim_accession", a.omim_accession);
        ENC_Z(e, "omim_description", a.omim_description);
    }
    if (a.full_gene_name) {
        ENC_Z(e, "full_gene_name", a.full_gene_name);
        enc_strs(e, "other_names", a.other_names, a.n_other_names);
    }
}

bool sfl_gtf_line_to_docs(const sfl_gtf_ctx_t *c, sfl_parsed_batch_t *b, const char *path,
                          uint64_t line_no, const char *line, size_t len, uint32_t text_off)
{
    sfl_linerec_t *rec = sfl_batch_add_line(b, line_no, text_off, len);
    if (!rec)
        return false;
    uint32_t line_idx = (uint32_t)(b->n_lines - 1);
    gtf_line_t g;
    if (!parse_line(c, b, rec, path, line, len, &g))
        return !b->failed;
    const char *suffix = g.par ? "_PAR_Y" : "";
    char id[512];
    int idl;
    if (g.kind == F_GENE)
        idl = snprintf(id, sizeof id, "%.*s%s", (int)g.gl, g.gid.p, suffix);
    else if (g.kind == F_TRANSCRIPT)
        idl = snprintf(id, sizeof id, "%.*s%s", (int)g.tl, g.tid.p, suffix);
    else
        idl = snprintf(id, sizeof id, "%.*s%s-%.*s-%lld-%lld", (int)g.tl, g.tid.p, suffix,
                       (int)g.col[2].n, g.col[2].p, (long long)g.start, (long long)g.stop);
    rec->contig = g.code;
    rec->pos = g.kind == F_EXON ? (int64_t)(fnv1a(g.tid.p, g.tl) >> 1) : 0;

    sfl_enc_t e = {b->buf, b->buf_len, b->buf_cap, false};
    size_t off = b->buf_len;
    size_t doc = sfl_enc_begin(&e, 0, NULL, 0);
    ENC_S(&e, "_id", id, (size_t)idl);
    if (g.kind == F_EXON)
        ENC_S(&e, "feature_type", g.col[2].p, g.col[2].n);
    encode_fields(c, &g, &e);
    sfl_enc_end(&e, doc);
    b->buf = e.p;
    b->buf_cap = e.cap;
    if (e.oom)
        return !(b->failed = true);
    b->buf_len = e.len;
    /* _id is first: after the length, its type byte, "_id\0" and its length */
    if (!sfl_batch_record_doc(b, off, (uint32_t)(e.len - off), 13, (uint32_t)idl, line_idx, 0))
        return false;
    b->docs[b->n_docs - 1].coll = (uint8_t)(g.kind == F_GENE         ? SFL_COLL_GENES
                                            : g.kind == F_TRANSCRIPT ? SFL_COLL_TRANSCRIPTS
                                                                     : SFL_COLL_EXONS);
    return true;
}

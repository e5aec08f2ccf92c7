/* dbsnp_doc.c: a dbSNP row -> {_id, xpos, rsid}.
 *
 * The file is the one the ExAC loader takes (exac.py load_dbsnp_file,
 * parsing.py get_snp_from_dbsnp_file): tab-separated rsid number,
 * chromosome, 0-based position, then any columns. We read it the same
 * way: trailing 'T's leave the chromosome ("MT" -> "M"), rows on "PAR"
 * and rows without a position are left out (both counted in the summary),
 * and xpos is built from position + 1. Where the ExAC loader would
 * silently drop a short row or crash (a non-numeric rsid, a contig
 * without an xpos code), the row is refused naming file and line;
 * --skip-unknown-contigs leaves unknown contigs out, counted.
 *
 * _id is "<rsid>-<xpos>": deterministic, and unique for a file that maps
 * each rsid once per position (an rsid may map to several places). A row
 * is a handful of bytes, so this is a tight loop with the fast integer
 * parser and the direct BSON encoder.
 */
#include <stdio.h>
#include <string.h>

#include "bson_enc.h"
#include "dbsnp_doc.h"
#include "numparse.h"
#include "variant_key.h"

/* Writes v >= 0 in decimal; returns the length (snprintf costs more than
 * the rest of a row). */
static size_t put_dec(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

bool sfl_dbsnp_line_to_doc(const sfl_dbsnp_ctx_t *c, sfl_parsed_batch_t *b, const char *path,
                           uint64_t line_no, const char *line, size_t len, uint32_t text_off)
{
    sfl_linerec_t *rec = sfl_batch_add_line(b, line_no, text_off, len);
    if (!rec)
        return false;
    uint32_t line_idx = (uint32_t)(b->n_lines - 1);
    unsigned long long ln = (unsigned long long)line_no;
    const char *end = line + len;
    const char *t1 = memchr(line, '\t', len);
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
    if (!t2) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: found %d tab-separated column%s, expected at least 3 "
                         "(rsid, chromosome, 0-based position)",
                         path, ln, t1 ? 2 : 1, t1 ? "s" : "");
        return !b->failed;
    }
    const char *t3 = memchr(t2 + 1, '\t', (size_t)(end - t2 - 1));
    const char *pe = t3 ? t3 : end;
    int64_t rsid, pos;
    if (!sfl_parse_int64(line, (size_t)(t1 - line), &rsid) || rsid < 0) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: rsid '%.*s' is not a number (expected dbSNP's integer "
                         "id, without 'rs')",
                         path, ln, (int)((t1 - line) > 60 ? 60 : (t1 - line)), line);
        return !b->failed;
    }
    const char *ch = t1 + 1;
    size_t cl = (size_t)(t2 - ch);
    while (cl && ch[cl - 1] == 'T')
        cl--;
    if (cl == 3 && memcmp(ch, "PAR", 3) == 0) {
        b->par_rows++;
        return !b->failed;
    }
    if (pe == t2 + 1) {
        b->unplaced++;
        return !b->failed;
    }
    if (!sfl_parse_int64(t2 + 1, (size_t)(pe - t2 - 1), &pos) || pos < 0 || pos >= 999999999) {
        sfl_batch_reject(b, rec, SFL_E_LINE,
                         "%s: line %llu: position '%.*s' is not a position (expected an integer "
                         "from 0 to 999999998)",
                         path, ln, (int)((pe - t2 - 1) > 60 ? 60 : (pe - t2 - 1)), t2 + 1);
        return !b->failed;
    }
    int code = sfl_batch_contig(b, rec, c->skip_unknown_contigs, path, ch, cl);
    if (!code)
        return !b->failed;
    int64_t xpos = sfl_xpos(code, pos + 1);
    rec->contig = code;
    rec->pos = pos + 1;
    char id[48];
    size_t idl = put_dec(id, rsid);
    id[idl++] = '-';
    idl += put_dec(id + idl, xpos);
    sfl_enc_t e = {b->buf, b->buf_len, b->buf_cap, false};
    size_t off = b->buf_len;
    size_t doc = sfl_enc_begin(&e, 0, NULL, 0);
    sfl_enc_str(&e, "_id", 3, id, idl);
    sfl_enc_i64(&e, "xpos", 4, xpos);
    sfl_enc_int(&e, "rsid", 4, rsid);
    sfl_enc_end(&e, doc);
    b->buf = e.p;
    b->buf_cap = e.cap;
    if (e.oom)
        return !(b->failed = true);
    b->buf_len = e.len;
    return sfl_batch_record_doc(b, off, (uint32_t)(e.len - off), 13, (uint32_t)idl, line_idx,
                                pos + 1); /* _id first: after len, type and "_id\0" and strlen */
}

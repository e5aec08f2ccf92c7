/* fuzz_header.c: libFuzzer target for the header parsers and what they
 * resolve: a VCF header (the checks of every '##' line, ##fileformat, the
 * lines handed to htslib, the style, populations and their display names,
 * the consequence Format, contig lengths, conflicting ##INFO definitions)
 * and a coverage header (column names).
 *
 * The first byte picks the parser and options: bit 0 clear = VCF, set =
 * coverage; for a VCF, bits 1-2 pick the style (auto, exac, gnomad,
 * swegen). The rest is the file: its leading '#' lines are the header, the
 * lines after it data, converted under the schema when the header is
 * accepted. A refused header must say why naming the file; every document
 * must be valid BSON with _id first (and, since fuzz builds define
 * SFL_CHECK_KEYS, no key twice); every refused line must name file and
 * line. Build with -DSFL_FUZZ=ON and clang (see tests/fuzz/README.md).
 */
#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coverage_doc.h"
#include "fuzz_check.h"
#include "variant_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count_warning(void *ud, const char *msg)
{
    if (!strstr(msg, "f.vcf"))
        abort();
    (*(int *)ud)++;
    return true;
}

/* The data lines text[from, len) through the VCF or coverage parser. */
static void convert_lines(const sfl_vcf_schema_t *vs, const sfl_coverage_schema_t *cs,
                          char *text, size_t from, size_t len, uint64_t first_line)
{
    sfl_parsed_batch_t *b = sfl_batch_new();
    if (!b)
        return;
    b->text = text; /* borrowed: cleared before the batch is destroyed */
    b->text_len = len;
    sfl_vcf_worker_t *vw = NULL;
    sfl_coverage_worker_t *cw = NULL;
    if (vs) {
        b->n_missing = vs->n_slots;
        b->missing = calloc((size_t)b->n_missing + 1, sizeof *b->missing);
        vw = sfl_vcf_worker_new(vs);
    } else {
        cw = sfl_coverage_worker_new(cs);
    }
    const char *p = text + from, *end = text + len;
    for (uint64_t ln = first_line; p < end && (vw || cw); ln++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            if (vw)
                sfl_vcf_line_to_docs(vw, b, "f.vcf", ln, p, (size_t)(le - p), (uint32_t)(p - text));
            else
                sfl_coverage_line_to_doc(cw, b, "f.tsv", ln, p, (size_t)(le - p),
                                         (uint32_t)(p - text));
        }
        p = le + 1;
    }
    if (!b->failed)
        sfl_fuzz_check_batch(b);
    sfl_vcf_worker_destroy(vw);
    sfl_coverage_worker_destroy(cw);
    b->text = NULL;
    sfl_batch_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 20))
        return 0;
    bool coverage = data[0] & 1;
    static const sfl_style_t styles[] = {SFL_STYLE_AUTO, SFL_STYLE_EXAC, SFL_STYLE_GNOMAD,
                                         SFL_STYLE_SWEGEN};
    size_t len = size - 1;
    char *text = malloc(len + 1);
    memcpy(text, data + 1, len);
    text[len] = '\0';
    /* The header: the leading lines starting with '#' (coverage: line 1). */
    size_t hlen = 0;
    uint64_t lines = 0;
    while (hlen < len && text[hlen] == '#') {
        const char *nl = memchr(text + hlen, '\n', len - hlen);
        hlen = nl ? (size_t)(nl - text) + 1 : len;
        lines++;
        if (coverage)
            break;
    }
    /* A copy of exactly hlen bytes (the input may hold NUL bytes, which
     * strndup would stop at) and a terminating NUL. */
    char *htxt = malloc(hlen + 1);
    if (!htxt)
        return 0;
    memcpy(htxt, text, hlen);
    htxt[hlen] = '\0';
    sfl_error_t err;
    memset(&err, 0, sizeof err);
    if (coverage) {
        size_t n = hlen && htxt[hlen - 1] == '\n' ? hlen - 1 : hlen;
        sfl_coverage_schema_t *cs = sfl_coverage_schema_new(htxt, n, 1, "f.tsv", &err);
        if (!cs && !strstr(err.message, "f.tsv"))
            abort();
        if (cs)
            convert_lines(NULL, cs, text, hlen, len, lines + 1);
        sfl_coverage_schema_destroy(cs);
    } else {
        sfl_options_t o;
        sfl_options_init(&o);
        o.style = styles[(data[0] >> 1) & 3];
        int warnings = 0;
        sfl_vcf_schema_t *vs = sfl_vcf_schema_from_header(htxt, hlen, lines, &o, "f.vcf",
                                                          count_warning, &warnings, &err);
        if (!vs && err.code != SFL_E_NOMEM && !strstr(err.message, "f.vcf"))
            abort();
        if (vs) {
            /* Population names are document keys: none twice. */
            for (int i = 0; i < vs->n_pops; i++)
                for (int k = 0; k < i; k++)
                    if (strcmp(vs->pops[i].name, vs->pops[k].name) == 0)
                        abort();
            convert_lines(vs, NULL, text, hlen, len, lines + 1);
        }
        sfl_vcf_schema_destroy(vs);
    }
    free(htxt);
    free(text);
    return 0;
}

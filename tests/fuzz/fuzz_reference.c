/* fuzz_reference.c: libFuzzer target for the reference-data parsers: GTF
 * lines (with and without --skip-unknown-contigs, with the gene tables
 * joined), dbSNP rows, and the three gene tables themselves.
 *
 * The first byte picks the parser: 0-1 GTF, 2 dbSNP, 3 canonical
 * transcripts, 4 OMIM, 5 dbNSFP genes; bit 3 sets skip_unknown_contigs.
 * Every document must be valid BSON with _id first, every rejected line
 * must carry a message naming the file and line, and the in-order id check
 * runs over the GTF documents. A table file that loads (or fails) must
 * never crash. Build with -DSFL_FUZZ=ON and clang (tests/fuzz/README.md).
 */
#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbsnp_doc.h"
#include "gene_tables.h"
#include "gtf_doc.h"
#include "id_check.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sfl_gene_tables_t *tables;

static void init(void)
{
    if (tables)
        return;
    tables = sfl_gene_tables_new();
    char path[] = "/tmp/fuzz_canon.XXXXXX";
    int fd = mkstemp(path);
    const char *t = "ENSG00000223972\tENST00000456328\n";
    if (fd < 0 || write(fd, t, strlen(t)) < 0)
        abort();
    close(fd);
    uint64_t recs = 0, short_rows = 0;
    if (!sfl_gene_tables_load(tables, SFL_SOURCE_CANONICAL, path, &recs, &short_rows, NULL))
        abort();
    unlink(path);
}

static void fuzz_table(int which, const uint8_t *data, size_t size)
{
    static const sfl_source_kind_t kinds[] = {SFL_SOURCE_CANONICAL, SFL_SOURCE_OMIM,
                                              SFL_SOURCE_DBNSFP_GENES};
    char path[] = "/tmp/fuzz_table.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) < 0)
        abort();
    close(fd);
    sfl_gene_tables_t *t = sfl_gene_tables_new();
    uint64_t recs = 0, short_rows = 0;
    sfl_error_t err;
    sfl_error_clear(&err);
    if (!sfl_gene_tables_load(t, kinds[which], path, &recs, &short_rows, &err) &&
        err.code != SFL_E_NOMEM && !strstr(err.message, path))
        abort(); /* an error names the file */
    sfl_gene_annot_t a;
    (void)sfl_gene_tables_lookup(t, "ENSG00000223972", 15, &a);
    sfl_gene_tables_destroy(t);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    int which = (data[0] & 7) % 6;
    bool skip = (data[0] & 8) != 0;
    if (which >= 3) {
        fuzz_table(which - 3, data + 1, size - 1);
        return 0;
    }
    sfl_parsed_batch_t *b = sfl_batch_new();
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    b->text = text;
    b->text_len = size - 1;
    b->multi = which < 2;
    sfl_gtf_ctx_t g = {which == 1 ? tables : NULL, skip};
    sfl_dbsnp_ctx_t d = {skip};
    const char *p = text, *end = text + size - 1;
    uint64_t ln = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            if (which < 2)
                sfl_gtf_line_to_docs(&g, b, "f.gtf", ln, p, (size_t)(le - p), (uint32_t)(p - text));
            else
                sfl_dbsnp_line_to_doc(&d, b, "f.tsv", ln, p, (size_t)(le - p), (uint32_t)(p - text));
        }
        ln++;
        p = le + 1;
    }
    if (!b->failed)
        sfl_fuzz_check_batch(b);
    if (!b->failed) {
        /* every refusal of the id check names a line */
        sfl_ids_t *ids = sfl_ids_new();
        char msg[1024];
        for (size_t i = 0; ids && i < b->n_lines; i++) {
            uint32_t code = b->lines[i].code == 0
                                ? sfl_ids_check(ids, b, &b->lines[i], "f", msg, sizeof msg)
                                : 0;
            if ((code == SFL_E_DUPLICATE || code == SFL_E_UNSORTED) && !strstr(msg, ": line "))
                abort();
        }
        sfl_ids_destroy(ids);
    }
    sfl_batch_destroy(b);
    return 0;
}

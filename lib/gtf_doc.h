/* gtf_doc.h: GENCODE GTF lines -> `genes`, `transcripts` and `exons`
 * documents (their ids' uniqueness: id_check.h). Private to the library. */
#ifndef SFL_GTF_DOC_H
#define SFL_GTF_DOC_H

#include "batch.h"
#include "gene_tables.h"

typedef struct {
    sfl_gene_tables_t *tables; /* NULL = no annotation tables; lookups mark rows joined */
    bool skip_unknown_contigs;
} sfl_gtf_ctx_t;

/* One GTF line -> zero or one document appended to `b` (docs[i].coll
 * names its collection), or a rejected line record. Safe on many threads
 * with one shared ctx. Returns false only when out of memory. */
bool sfl_gtf_line_to_docs(const sfl_gtf_ctx_t *c, sfl_parsed_batch_t *b, const char *path,
                          uint64_t line_no, const char *line, size_t len, uint32_t text_off);

#endif

/* gtf_doc.h: GENCODE GTF lines -> `genes`, `transcripts` and `exons`
 * documents, and the in-order check that their ids are unique.
 * Private to the library. */
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

/* The ids seen so far, in input order (the ordered stage): every gene and
 * transcript id of the run, and the exon ids of the current transcript.
 * About 100 bytes per gene and transcript (GENCODE: ~60,000 genes,
 * ~200,000 transcripts: ~25 MB), whatever the number of exons. */
typedef struct sfl_gtf_ids sfl_gtf_ids_t;
sfl_gtf_ids_t *sfl_gtf_ids_new(void);
void sfl_gtf_ids_destroy(sfl_gtf_ids_t *s);

/* SFL_OK (the line's ids are recorded), SFL_E_DUPLICATE with a message
 * naming both lines, or SFL_E_NOMEM. */
uint32_t sfl_gtf_ids_check(sfl_gtf_ids_t *s, const sfl_parsed_batch_t *b, const sfl_linerec_t *rec,
                           const char *path, char *msg, size_t msg_size);

#endif

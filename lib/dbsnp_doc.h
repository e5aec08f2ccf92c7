/* dbsnp_doc.h: rows of the ExAC loader's dbSNP file -> `dbsnp` documents.
 * Private to the library. */
#ifndef SFL_DBSNP_DOC_H
#define SFL_DBSNP_DOC_H

#include "batch.h"

typedef struct {
    bool skip_unknown_contigs;
} sfl_dbsnp_ctx_t;

/* One row -> zero or one document appended to `b`, or a rejected line
 * record. Safe on many threads with one shared ctx. Returns false only
 * when out of memory. */
bool sfl_dbsnp_line_to_doc(const sfl_dbsnp_ctx_t *c, sfl_parsed_batch_t *b, const char *path,
                           uint64_t line_no, const char *line, size_t len, uint32_t text_off);

#endif

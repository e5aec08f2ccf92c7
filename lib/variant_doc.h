/* variant_doc.h: one sites-VCF data line -> one BSON document per ALT.
 *
 * A worker holds the scratch state of one parser thread; the schema it
 * reads is shared and read-only. Private to the library.
 */
#ifndef SFL_VARIANT_DOC_H
#define SFL_VARIANT_DOC_H

#include "batch.h"
#include "vcf_schema.h"

typedef struct sfl_vcf_worker sfl_vcf_worker_t;

sfl_vcf_worker_t *sfl_vcf_worker_new(const sfl_vcf_schema_t *schema);
void sfl_vcf_worker_destroy(sfl_vcf_worker_t *w);

/* Converts one line (no trailing newline) into documents appended to `b`,
 * or records why it is rejected. `path` and `line_no` are for messages.
 * Returns false only when out of memory. */
bool sfl_vcf_line_to_docs(sfl_vcf_worker_t *w, sfl_parsed_batch_t *b, const char *path,
                          uint64_t line_no, const char *line, size_t len, uint32_t text_off);

#endif

/* gene_tables.h: the small gene annotation tables joined into `genes`.
 * Private to the library.
 *
 * Loaded whole before the GTF streams (tens of thousands of rows), then
 * read by every parser thread without locks (read-only after loading).
 */
#ifndef SFL_GENE_TABLES_H
#define SFL_GENE_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"
#include "swefreq/job.h"

typedef struct sfl_gene_tables sfl_gene_tables_t;

/* What the tables say about one gene; strings borrowed from the tables,
 * NULL when the table has no row for the gene. */
typedef struct {
    const char *canonical_transcript;
    const char *omim_accession, *omim_description;
    const char *full_gene_name;
    const char *const *other_names; /* valid when full_gene_name is set */
    size_t n_other_names;
} sfl_gene_annot_t;

sfl_gene_tables_t *sfl_gene_tables_new(void);
void sfl_gene_tables_destroy(sfl_gene_tables_t *t);

/* Reads one table file (plain, gzip or bgzip) of kind
 * SFL_SOURCE_CANONICAL, SFL_SOURCE_OMIM or SFL_SOURCE_DBNSFP_GENES.
 * *records gets its data rows; *short_rows the OMIM rows with fewer than 4
 * columns (genes without an OMIM entry, left out as the ExAC loader does).
 * A gene id given twice with different values is SFL_E_DUPLICATE naming
 * both lines; a malformed row SFL_E_LINE naming file and line. */
bool sfl_gene_tables_load(sfl_gene_tables_t *t, sfl_source_kind_t kind, const char *path,
                          uint64_t *records, uint64_t *short_rows, sfl_error_t *err);

/* Fills `a` for gene `id` (without version); false when no table names it.
 * Marks the tables' rows for the gene joined (an atomic flag: safe on many
 * threads, the only write after loading). Gene ids of the tables lose
 * their version when loaded, and so does a canonical transcript id. */
bool sfl_gene_tables_lookup(sfl_gene_tables_t *t, const char *id, size_t len,
                            sfl_gene_annot_t *a);

/* After the GTF: the data rows the table of `kind` gave (*rows, OMIM rows
 * with fewer than 4 columns not included) and those whose gene no GTF
 * gene line looked up (*unjoined). */
void sfl_gene_tables_joined(const sfl_gene_tables_t *t, sfl_source_kind_t kind, uint64_t *rows,
                            uint64_t *unjoined);

#endif

/* variant_key.h: contig codes, xpos, minimal representation and VEP's
 * allele spelling: the pure functions behind a variant's identity.
 * Private to the library. */
#ifndef SFL_VARIANT_KEY_H
#define SFL_VARIANT_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1..22, X=23, Y=24, M/MT=25, with or without a "chr" prefix; 0 when the
 * contig has no code. */
int sfl_contig_code(const char *chrom, size_t len);

/* code * 10^9 + pos. */
static inline int64_t sfl_xpos(int code, int64_t pos) { return (int64_t)code * 1000000000LL + pos; }

/* Minimal representation of (pos, ref, alt): strip the common suffix, then
 * the common prefix, while both alleles are longer than one base. Outputs
 * point into the inputs. */
typedef struct {
    int64_t pos;
    const char *ref, *alt;
    size_t ref_len, alt_len;
} sfl_minrep_t;

void sfl_minimal_representation(int64_t pos, const char *ref, size_t ref_len,
                                const char *alt, size_t alt_len, sfl_minrep_t *out);

/* VEP's spelling of allele `alt`: when REF and every ALT share their first
 * base (and not every allele is one base long), VEP drops that base and
 * writes an empty allele as "-". `strip` is that decision for the line,
 * from sfl_vep_strips_first_base(). Writes into `out` (>= alt_len+2 bytes)
 * and returns its length. */
bool sfl_vep_strips_first_base(const char *ref, size_t ref_len, const char *const *alts,
                               const size_t *alt_lens, size_t n_alts);
size_t sfl_vep_allele(const char *alt, size_t alt_len, bool strip, char *out);

#endif

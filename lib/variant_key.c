/* variant_key.c: contig codes, minimal representation, VEP alleles.
 *
 * These are the rules that decide a variant's _id, so they are small pure
 * functions with their own unit tests (tests/test_variant_key.c).
 */
#include <string.h>

#include "variant_key.h"

int sfl_contig_code(const char *c, size_t len)
{
    if (len >= 3 && (c[0] == 'c' || c[0] == 'C') && (c[1] == 'h' || c[1] == 'H') &&
        (c[2] == 'r' || c[2] == 'R')) {
        c += 3;
        len -= 3;
    }
    if (len == 1) {
        switch (c[0]) {
        case 'X': case 'x': return 23;
        case 'Y': case 'y': return 24;
        case 'M': case 'm': return 25;
        default: break;
        }
    }
    if (len == 2 && (c[0] == 'M' || c[0] == 'm') && (c[1] == 'T' || c[1] == 't'))
        return 25;
    if (len == 0 || len > 2 || c[0] == '0')
        return 0;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (c[i] < '0' || c[i] > '9')
            return 0;
        v = v * 10 + (c[i] - '0');
    }
    return v >= 1 && v <= 22 ? v : 0;
}

void sfl_minimal_representation(int64_t pos, const char *ref, size_t ref_len, const char *alt,
                                size_t alt_len, sfl_minrep_t *out)
{
    /* Common suffix first, then common prefix, as the ExAC loader does. */
    while (ref_len > 1 && alt_len > 1 && ref[ref_len - 1] == alt[alt_len - 1]) {
        ref_len--;
        alt_len--;
    }
    while (ref_len > 1 && alt_len > 1 && ref[0] == alt[0]) {
        ref++;
        alt++;
        ref_len--;
        alt_len--;
        pos++;
    }
    out->pos = pos;
    out->ref = ref;
    out->alt = alt;
    out->ref_len = ref_len;
    out->alt_len = alt_len;
}

bool sfl_vep_strips_first_base(const char *ref, size_t ref_len, const char *const *alts,
                               const size_t *alt_lens, size_t n_alts)
{
    if (ref_len == 0)
        return false;
    bool all_single = ref_len == 1;
    for (size_t i = 0; i < n_alts; i++) {
        if (alt_lens[i] == 0 || alts[i][0] != ref[0])
            return false;
        if (alt_lens[i] != 1)
            all_single = false;
    }
    return !all_single;
}

size_t sfl_vep_allele(const char *alt, size_t alt_len, bool strip, char *out)
{
    if (strip) {
        alt++;
        alt_len--;
    }
    if (alt_len == 0) {
        out[0] = '-';
        out[1] = '\0';
        return 1;
    }
    memcpy(out, alt, alt_len);
    out[alt_len] = '\0';
    return alt_len;
}

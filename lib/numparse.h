/* numparse.h: exact, locale-free number parsing for VCF and coverage text.
 * Private to the library. */
#ifndef SFL_NUMPARSE_H
#define SFL_NUMPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses all of [s, s+len) as a decimal integer (optional sign). */
bool sfl_parse_int64_any(const char *s, size_t len, int64_t *out);

/* The same, with the common case inline: 1 to 18 digits without a sign
 * cannot overflow, so they need no check but the digits'. */
static inline bool sfl_parse_int64(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return sfl_parse_int64_any(s, len, out);
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return sfl_parse_int64_any(s, len, out); /* a sign, or not a number */
        v = v * 10 + (int64_t)d;
    }
    *out = v;
    return true;
}

/* Parses all of [s, s+len) as a number, exactly as strtod would (correctly
 * rounded), with a fast path for plain decimals. Accepts nan/inf spellings
 * (the caller decides what to do with them). */
bool sfl_parse_double(const char *s, size_t len, double *out);

#endif

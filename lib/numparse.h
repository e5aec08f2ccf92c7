/* numparse.h: exact, locale-free number parsing for VCF and coverage text.
 * Private to the library. */
#ifndef SFL_NUMPARSE_H
#define SFL_NUMPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses all of [s, s+len) as a decimal integer (optional sign). */
bool sfl_parse_int64(const char *s, size_t len, int64_t *out);

/* Parses all of [s, s+len) as a number, exactly as strtod would (correctly
 * rounded), with a fast path for plain decimals. Accepts nan/inf spellings
 * (the caller decides what to do with them). */
bool sfl_parse_double(const char *s, size_t len, double *out);

#endif

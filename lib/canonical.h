/* canonical.h: a BSON document in the form the digest is defined on.
 * Private to the library. */
#ifndef SFL_CANONICAL_H
#define SFL_CANONICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

/* If the document is already canonical (`_id` first; every value is kept byte for byte, a -0.0 too),
 * sets *out to NULL; otherwise *out is a malloc'd canonical copy. Fails on
 * bytes that are not a valid BSON document. */
bool sfl_canonicalize(const uint8_t *doc, size_t len, uint8_t **out, size_t *out_len,
                      sfl_error_t *err);

#endif

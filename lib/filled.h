/* filled.h: handing a struct the library filled to a caller whose struct
 * may be older (smaller) or newer (larger) than the library's; see
 * SFL_FILLED_HAS in swefreq/export.h. Private. */
#ifndef SFL_FILLED_H
#define SFL_FILLED_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "swefreq/error.h"

/* True when a caller's struct_size can take a struct whose first
 * published size was `v1` (else err: SFL_E_USAGE naming `what`). */
static inline bool sfl_filled_size_ok(size_t caller, size_t v1, const char *what, sfl_error_t *err)
{
    if (caller >= v1)
        return true;
    return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                         "%s: struct_size is %zu; set it to sizeof the struct (at least %zu)", what,
                         caller, v1);
}

/* Copies the library's `full` (size `size`, struct_size first) into `out`,
 * as much as out->struct_size holds, and sets out->struct_size to the
 * bytes copied. */
static inline void sfl_filled_copy(void *out, const void *full, size_t size)
{
    size_t cap;
    memcpy(&cap, out, sizeof cap);
    size_t n = cap < size ? cap : size;
    memcpy(out, full, n);
    memcpy(out, &n, sizeof n);
}

#endif

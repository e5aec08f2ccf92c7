/* fuzz_check.h: what every parser fuzz target checks of a batch: each
 * document is valid BSON with _id first, each rejected line's message
 * names the file and line. */
#ifndef SFL_FUZZ_CHECK_H
#define SFL_FUZZ_CHECK_H

#include <bson/bson.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

static inline void sfl_fuzz_check_batch(const sfl_parsed_batch_t *b)
{
    for (size_t i = 0; i < b->n_docs; i++) {
        bson_t d;
        size_t off;
        if (!bson_init_static(&d, b->buf + b->docs[i].off, b->docs[i].len) ||
            !bson_validate(&d, BSON_VALIDATE_UTF8, &off))
            abort();
        bson_iter_t it;
        if (!bson_iter_init(&it, &d) || !bson_iter_next(&it) || strcmp(bson_iter_key(&it), "_id"))
            abort();
    }
    for (size_t i = 0; i < b->n_lines; i++)
        if (b->lines[i].code != 0 && !strstr(sfl_batch_msg(b, &b->lines[i]), ": line "))
            abort();
}

#endif

/* bson_enc_check.c: the encoder's repeated-key check (see bson_enc.h).
 *
 * The design is simple: the keys of one level are collected and compared
 * pairwise after a sort, so a document of n keys costs O(n log n). Only
 * debug and sanitizer builds (SFL_CHECK_KEYS) and the tests call it; a
 * release build's hot path never does.
 */
#include <bson/bson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bson_enc.h"

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *sfl_enc_repeated_key(const uint8_t *doc, size_t len)
{
    bson_t b;
    bson_iter_t it;
    if (!bson_init_static(&b, doc, len) || !bson_iter_init(&it, &b))
        return NULL;
    size_t n = 0, cap = 0;
    const char **keys = NULL;
    const char *dup = NULL;
    while (bson_iter_next(&it)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            const char **k = realloc(keys, cap * sizeof *keys);
            if (!k) {
                free(keys);
                return NULL;
            }
            keys = k;
        }
        keys[n++] = bson_iter_key(&it); /* points into `doc` */
    }
    if (n > 1)
        qsort(keys, n, sizeof *keys, cmp_keys);
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    free(keys);
    return dup;
}

void sfl_enc_repeated_key_abort(const char *key)
{
    /* An assertion: the only output of the library outside its log
     * callback, in builds made to catch bugs. */
    fprintf(stderr, "swefreq-load: internal error: a document was built with the key '%s' "
                    "twice (SFL_CHECK_KEYS)\n", key);
    abort();
}

/* swefreq/digest.h: the order-independent content digest of a collection.
 *
 * The digest of a set of documents is the sum, modulo 2^128, of XXH3-128
 * over each document's BSON bytes, with `_id` as the first field. Addition
 * commutes, so the result does not depend on thread count, batch size or the
 * order in which a server returns documents. It detects accidental or
 * unsanctioned change (a changed byte, a lost, added or swapped value); it
 * is not a signature and does not resist a deliberate forgery by someone who
 * can also rewrite the manifest.
 *
 * Thread safety: an sfl_digest_t is plain data; use one per thread and
 * combine with sfl_digest_merge().
 */
#ifndef SWEFREQ_DIGEST_H
#define SWEFREQ_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t lo, hi; /* the 128-bit sum */
    uint64_t count;  /* documents added */
    uint64_t bytes;  /* BSON bytes added */
} sfl_digest_t;

SFL_API void sfl_digest_init(sfl_digest_t *d);

/* Adds one document's exact bytes (already canonical: what we wrote). */
SFL_API void sfl_digest_add(sfl_digest_t *d, const uint8_t *bson, size_t len);

/* Adds a document read back from a server or a file, after putting it in
 * canonical form: `_id` moved to the front and every double -0.0 written as
 * 0.0, at any depth. Returns false (and fills err) when the bytes are not a
 * valid BSON document. */
SFL_API bool sfl_digest_add_canonical(sfl_digest_t *d, const uint8_t *bson,
                                      size_t len, sfl_error_t *err) SFL_WUR;

/* into += from. */
SFL_API void sfl_digest_merge(sfl_digest_t *into, const sfl_digest_t *from);

/* 32 lowercase hex digits, high half first, and a NUL. */
SFL_API void sfl_digest_hex(const sfl_digest_t *d, char out[33]);

/* Parses what sfl_digest_hex wrote into d->hi/d->lo; count/bytes untouched. */
SFL_API bool sfl_digest_from_hex(sfl_digest_t *d, const char *hex);

/* XXH3-128 of a whole file, as 32 hex digits; also its size in bytes.
 * Only a regular file is read (after links in the path): a FIFO, a device
 * or a pipe is refused at once, without blocking, with SFL_E_OPEN ("not a
 * regular file"). */
SFL_API bool sfl_hash_file(const char *path, char out_hex[33],
                           uint64_t *out_size, sfl_error_t *err) SFL_WUR;

#ifdef __cplusplus
}
#endif
#endif

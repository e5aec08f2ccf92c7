/* digest_internal.h: hashing helpers shared inside the library (digest.c). */
#ifndef SFL_DIGEST_INTERNAL_H
#define SFL_DIGEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/digest.h"

/* SHA-256 of `len` bytes, with this thread's OpenSSL context. False when
 * the context cannot be set up. */
bool sfl_sha256(const void *data, size_t len, unsigned char out[32]);

/* SHA-256 (64 hex digits) of the bytes [from, to) of the file open as
 * `fd` (pread: its offset stays); SFL_E_OPEN naming `path` and the range
 * when they cannot all be read. */
bool sfl_hash_fd_range(int fd, const char *path, uint64_t from, uint64_t to, char out_hex[65],
                       sfl_error_t *err);

/* `n` bytes as 2n lowercase hex digits and a NUL. */
void sfl_hex(const unsigned char *bytes, size_t n, char *out);

/* The fingerprint (sfl_digest_fingerprint) of a digest's text form; false
 * (and "") when the text is not a digest. */
bool sfl_digest_text_fingerprint(const char *text, char out[SFL_DIGEST_FINGERPRINT_SIZE]);

/* XXH3-128 of a whole file, as 32 hex digits, high half first: the source
 * hash of format-1 manifests, kept to verify them. */
bool sfl_hash_file_xxh3(const char *path, char out_hex[33], uint64_t *out_size,
                        sfl_error_t *err);

#endif

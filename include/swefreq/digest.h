/* swefreq/digest.h: the order-independent content digest of a collection.
 *
 * Manifest format 2 (docs/manifest.md) digests a set of documents with
 * LtHash16 over 1024 lanes (Bellare and Micciancio's lattice hash, as Lewi,
 * Kim, Maykov and Weis analyse it in "Securing Update Propagation with
 * Homomorphic Hashing", IACR ePrint 2019/227, and as Meta's folly ships it
 * as LtHash<16, 1024>): the state is 1024 lanes of 16 bits; a document adds
 * E(doc) lane by lane modulo 2^16, where E(doc) is the first 2048 bytes of
 * the ChaCha20 keystream keyed by SHA-256 of the document's exact BSON bytes
 * (`_id` first), read as 1024 little-endian 16-bit lanes (the element map of
 * Bitcoin Core's MuHash3072). The empty set is all zeros. Addition
 * commutes, so the digest does not depend on thread count, batch size or
 * the order in which a server returns documents, and two digests of
 * disjoint parts add up to the digest of the whole (a resume, a load in
 * parts). About 200-bit security against finding two different sets with
 * the same digest (Lewi et al.), E modelled as a random oracle.
 *
 * Format 1 (manifests written before) used the sum modulo 2^128 of XXH3-128
 * of each document. It is kept only to verify old manifests: it is not
 * forgery-resistant (a generalised birthday attack forges it in seconds).
 *
 * Neither is a signature: whoever can rewrite the manifest can write the
 * digest of any data.
 *
 * Thread safety: an sfl_digest_t is plain data of about 2 KB, meant one per
 * thread (or per batch); combine them with sfl_digest_merge(). The add
 * functions use OpenSSL hashing contexts of the calling thread, created on
 * its first use and freed when the thread exits; they may be called from
 * any number of threads at once on distinct digests.
 */
#ifndef SWEFREQ_DIGEST_H
#define SWEFREQ_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SFL_DIGEST_LANES 1024
/* The algorithm's name, the prefix of a format-2 digest's text form. */
#define SFL_DIGEST_ALGORITHM "lthash16-1024/sha256-chacha20"
/* Room for any digest's text form and its NUL (format 2: the name, ':'
 * and 2732 characters of base64). */
#define SFL_DIGEST_TEXT_SIZE 2800
/* A fingerprint: 32 hex digits and a NUL. */
#define SFL_DIGEST_FINGERPRINT_SIZE 33

typedef enum {
    SFL_DIGEST_XXH3_SUM = 1, /* format 1: sum mod 2^128 of XXH3-128 */
    SFL_DIGEST_LTHASH16 = 2  /* format 2: LtHash16-1024, SHA-256 + ChaCha20 */
} sfl_digest_kind_t;

typedef struct {
    uint16_t lanes[SFL_DIGEST_LANES]; /* LtHash16 state (kind 2)          */
    uint64_t lo, hi;                  /* the 128-bit sum (kind 1)         */
    uint64_t count;                   /* documents added (minus removed)  */
    uint64_t bytes;                   /* BSON bytes added (minus removed) */
    int kind;                         /* sfl_digest_kind_t                */
    int failed; /* the hashing contexts could not be set up (out of memory,
                   or a libcrypto without SHA-256 or ChaCha20): the digest
                   is unusable, equals nothing, and merging keeps this */
} sfl_digest_t;

/* The empty set, format 2 (LtHash16). */
SFL_API void sfl_digest_init(sfl_digest_t *d);
/* The empty set of the given kind (SFL_DIGEST_XXH3_SUM to check a format-1
 * manifest). */
SFL_API void sfl_digest_init_kind(sfl_digest_t *d, sfl_digest_kind_t kind);

/* Adds one document's exact bytes (already canonical: what we wrote). */
SFL_API void sfl_digest_add(sfl_digest_t *d, const uint8_t *bson, size_t len);

/* Removes a document added before: the digest is then that of the set
 * without it (the inverse of sfl_digest_add). */
SFL_API void sfl_digest_remove(sfl_digest_t *d, const uint8_t *bson, size_t len);

/* Adds a document read back from a server or a file, after putting it in
 * canonical form: `_id` moved to the front and every double -0.0 written as
 * 0.0, at any depth. Returns false (and fills err) when the bytes are not a
 * valid BSON document, or when the hashing contexts cannot be set up. */
SFL_API bool sfl_digest_add_canonical(sfl_digest_t *d, const uint8_t *bson,
                                      size_t len, sfl_error_t *err) SFL_WUR;

/* into += from: the digest of the union of two disjoint sets. False (and
 * nothing changed) when the two are of different kinds. */
SFL_API bool sfl_digest_merge(sfl_digest_t *into, const sfl_digest_t *from);

/* Same kind and same state (count and bytes are not compared); a failed
 * digest equals nothing. */
SFL_API bool sfl_digest_equal(const sfl_digest_t *a, const sfl_digest_t *b);

/* The text form written in manifests: format 2
 * "lthash16-1024/sha256-chacha20:" then the 2048-byte state (lanes
 * little-endian) in standard base64 with padding and no line breaks;
 * format 1 the 128-bit sum as 32 lowercase hex digits, high half first.
 * "" for NULL or a failed digest. */
SFL_API void sfl_digest_text(const sfl_digest_t *d, char out[SFL_DIGEST_TEXT_SIZE]);

/* Parses what sfl_digest_text wrote, exactly (the canonical form only),
 * into d's kind and state; count and bytes are set to 0. False for any
 * other text. */
SFL_API bool sfl_digest_from_text(sfl_digest_t *d, const char *text);

/* The kind a text form names (format-2 prefix, or 32 lowercase hex digits
 * for format 1), without checking the rest; 0 when neither. */
SFL_API int sfl_digest_kind_of_text(const char *text);

/* A short name of a digest for messages: format 2, the first 16 bytes of
 * SHA-256 over the 2048-byte state, as 32 hex digits; format 1, the digest
 * itself. "" for NULL or a failed digest. */
SFL_API void sfl_digest_fingerprint(const sfl_digest_t *d, char out[SFL_DIGEST_FINGERPRINT_SIZE]);

/* SHA-256 of a whole file, as 64 lowercase hex digits; also its size in
 * bytes. False with err when it cannot be read. Only a regular file is
 * read (after links in the path): a FIFO, a device or a pipe is refused at
 * once, without blocking, with SFL_E_OPEN ("not a regular file"). */
SFL_API bool sfl_hash_file(const char *path, char out_hex[65],
                           uint64_t *out_size, sfl_error_t *err) SFL_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* digest.c: the order-independent collection digest and file hashing.
 *
 * Format 2 is LtHash16 with 1024 lanes (Bellare and Micciancio 1997; Lewi,
 * Kim, Maykov and Weis, IACR ePrint 2019/227; Meta folly's LtHash<16,1024>)
 * with the element map of Bitcoin Core's MuHash3072: E(doc) is the first
 * 2048 bytes of the ChaCha20 keystream (RFC 8439 block function, counter 0,
 * the 96-bit nonce "sfl-lthash16" for domain separation) keyed by SHA-256 of
 * the document's bytes, read as 1024 little-endian uint16 lanes. Adding a
 * document adds E(doc) lane by lane modulo 2^16; removing subtracts it.
 * Both primitives come from OpenSSL's libcrypto through EVP, with one
 * digest and one cipher context per thread (fetched algorithms shared), so
 * nothing is looked up per document.
 *
 * Format 1 (sum mod 2^128 of XXH3-128) is kept to check old manifests.
 *
 * Documents read back from a server are first re-canonicalised
 * (canonical.c) so that the digest of what a server returns equals the
 * digest of what we sent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <bson/bson.h>
#include <openssl/evp.h>

#include "canonical.h"
#include "digest_internal.h"
#include "swefreq/digest.h"
#include "safe_fs.h"

#define STATE_BYTES (2 * SFL_DIGEST_LANES)

/* The nonce: a 32-bit block counter (0, little-endian) then the 96-bit
 * nonce of RFC 8439, as OpenSSL's EVP ChaCha20 takes its 16-byte IV. */
static const unsigned char chacha_iv[16] = {0,   0,   0,   0,   's', 'f', 'l', '-',
                                            'l', 't', 'h', 'a', 's', 'h', '1', '6'};

/* ---- the per-thread hashing contexts ------------------------------------ */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t hasher_key;
static EVP_MD *md_sha256;       /* fetched once, never freed */
static EVP_CIPHER *cipher_chacha;

typedef struct {
    EVP_MD_CTX *md;
    EVP_CIPHER_CTX *cc;
    bool keyed; /* cc holds ChaCha20: a new key and IV reuse it */
} hasher_t;

static void hasher_free(void *p)
{
    hasher_t *h = p;
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    EVP_CIPHER_CTX_free(h->cc);
    free(h);
}

static void fetch_algorithms(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    cipher_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
    if (pthread_key_create(&hasher_key, hasher_free) != 0) {
        EVP_MD_free(md_sha256);
        EVP_CIPHER_free(cipher_chacha);
        md_sha256 = NULL;
        cipher_chacha = NULL;
    }
}

/* This thread's contexts, made on its first call; NULL when they cannot
 * be (out of memory, or a libcrypto without the two algorithms). */
static hasher_t *hasher(void)
{
    static _Thread_local hasher_t *mine;
    if (mine)
        return mine;
    pthread_once(&fetch_once, fetch_algorithms);
    if (!md_sha256 || !cipher_chacha)
        return NULL;
    hasher_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->md = EVP_MD_CTX_new();
    h->cc = EVP_CIPHER_CTX_new();
    if (!h->md || !h->cc || pthread_setspecific(hasher_key, h) != 0) {
        hasher_free(h);
        return NULL;
    }
    return mine = h;
}

bool sfl_sha256(const void *data, size_t len, unsigned char out[32])
{
    hasher_t *h = hasher();
    unsigned int n = 0;
    return h && EVP_DigestInit_ex2(h->md, md_sha256, NULL) &&
           EVP_DigestUpdate(h->md, data, len) && EVP_DigestFinal_ex(h->md, out, &n) && n == 32;
}

void sfl_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* E(doc) into lanes: SHA-256 of the bytes keys the ChaCha20 keystream,
 * written straight into the lanes (little-endian: swapped on a big-endian
 * host). */
static bool element(hasher_t *h, const uint8_t *bson, size_t len, uint16_t lanes[SFL_DIGEST_LANES])
{
    static const unsigned char zeros[STATE_BYTES];
    unsigned char key[32];
    unsigned int kn = 0;
    int outl = 0;
    if (!EVP_DigestInit_ex2(h->md, md_sha256, NULL) || !EVP_DigestUpdate(h->md, bson, len) ||
        !EVP_DigestFinal_ex(h->md, key, &kn) || kn != 32)
        return false;
    if (!EVP_EncryptInit_ex2(h->cc, h->keyed ? NULL : cipher_chacha, key, chacha_iv, NULL) ||
        !EVP_EncryptUpdate(h->cc, (unsigned char *)lanes, &outl, zeros, STATE_BYTES) ||
        outl != STATE_BYTES)
        return false;
    h->keyed = true;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (int i = 0; i < SFL_DIGEST_LANES; i++)
        lanes[i] = (uint16_t)(lanes[i] << 8 | lanes[i] >> 8);
#endif
    return true;
}

/* ---- the digest ---------------------------------------------------------- */

void sfl_digest_init_kind(sfl_digest_t *d, sfl_digest_kind_t kind)
{
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->kind = kind == SFL_DIGEST_XXH3_SUM ? SFL_DIGEST_XXH3_SUM : SFL_DIGEST_LTHASH16;
}

void sfl_digest_init(sfl_digest_t *d) { sfl_digest_init_kind(d, SFL_DIGEST_LTHASH16); }

static void add128(sfl_digest_t *d, uint64_t lo, uint64_t hi)
{
    uint64_t old = d->lo;
    d->lo += lo;
    d->hi += hi + (d->lo < old ? 1 : 0);
}

/* Plain loops over uint16: the compiler vectorises them. */
static void lanes_add(uint16_t *restrict a, const uint16_t *restrict b)
{
    for (int i = 0; i < SFL_DIGEST_LANES; i++)
        a[i] = (uint16_t)(a[i] + b[i]);
}

static void lanes_sub(uint16_t *restrict a, const uint16_t *restrict b)
{
    for (int i = 0; i < SFL_DIGEST_LANES; i++)
        a[i] = (uint16_t)(a[i] - b[i]);
}

/* sign +1 adds the document, -1 removes it. */
static void update(sfl_digest_t *d, const uint8_t *bson, size_t len, int sign)
{
    if (d->kind == SFL_DIGEST_XXH3_SUM) {
        XXH128_hash_t h = XXH3_128bits(bson, len);
        if (sign > 0) {
            add128(d, h.low64, h.high64);
        } else { /* adding the two's complement subtracts */
            uint64_t lo = ~h.low64 + 1, hi = ~h.high64 + (h.low64 == 0 ? 1 : 0);
            add128(d, lo, hi);
        }
    } else {
        uint16_t e[SFL_DIGEST_LANES];
        hasher_t *h = hasher();
        if (!h || !element(h, bson, len, e)) {
            d->failed = 1;
            return;
        }
        if (sign > 0)
            lanes_add(d->lanes, e);
        else
            lanes_sub(d->lanes, e);
    }
    d->count += (uint64_t)(int64_t)sign;
    d->bytes += sign > 0 ? (uint64_t)len : -(uint64_t)len;
}

void sfl_digest_add(sfl_digest_t *d, const uint8_t *bson, size_t len)
{
    if (d && bson)
        update(d, bson, len, +1);
}

void sfl_digest_remove(sfl_digest_t *d, const uint8_t *bson, size_t len)
{
    if (d && bson)
        update(d, bson, len, -1);
}

bool sfl_digest_add_canonical(sfl_digest_t *d, const uint8_t *bson, size_t len, sfl_error_t *err)
{
    if (!d || !bson)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_digest_add_canonical: digest and document are required");
    uint8_t *canon = NULL;
    size_t clen = 0;
    if (!sfl_canonicalize(bson, len, &canon, &clen, err))
        return false;
    sfl_digest_add(d, canon ? canon : bson, canon ? clen : len);
    bson_free(canon);
    if (d->failed)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "cannot compute the digest: out of memory, or OpenSSL's libcrypto "
                             "offers no SHA-256 or ChaCha20");
    return true;
}

bool sfl_digest_merge(sfl_digest_t *into, const sfl_digest_t *from)
{
    if (!into || !from || into->kind != from->kind)
        return false;
    if (into->kind == SFL_DIGEST_XXH3_SUM)
        add128(into, from->lo, from->hi);
    else
        lanes_add(into->lanes, from->lanes);
    into->count += from->count;
    into->bytes += from->bytes;
    into->failed |= from->failed;
    return true;
}

bool sfl_digest_equal(const sfl_digest_t *a, const sfl_digest_t *b)
{
    if (!a || !b || a->failed || b->failed || a->kind != b->kind)
        return false;
    if (a->kind == SFL_DIGEST_XXH3_SUM)
        return a->lo == b->lo && a->hi == b->hi;
    return memcmp(a->lanes, b->lanes, sizeof a->lanes) == 0;
}

/* ---- text forms ---------------------------------------------------------- */

static void state_bytes(const sfl_digest_t *d, unsigned char out[STATE_BYTES])
{
    for (int i = 0; i < SFL_DIGEST_LANES; i++) {
        out[2 * i] = (unsigned char)(d->lanes[i] & 0xff);
        out[2 * i + 1] = (unsigned char)(d->lanes[i] >> 8);
    }
}

void sfl_digest_text(const sfl_digest_t *d, char out[SFL_DIGEST_TEXT_SIZE])
{
    if (!out)
        return;
    out[0] = '\0';
    if (!d || d->failed)
        return;
    if (d->kind == SFL_DIGEST_XXH3_SUM) {
        snprintf(out, 33, "%016llx%016llx", (unsigned long long)d->hi,
                 (unsigned long long)d->lo);
        return;
    }
    unsigned char st[STATE_BYTES];
    state_bytes(d, st);
    size_t n = strlen(SFL_DIGEST_ALGORITHM);
    memcpy(out, SFL_DIGEST_ALGORITHM ":", n + 1);
    EVP_EncodeBlock((unsigned char *)out + n + 1, st, STATE_BYTES); /* NUL-terminates */
}

static bool hex32(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

int sfl_digest_kind_of_text(const char *text)
{
    if (!text)
        return 0;
    size_t n = strlen(SFL_DIGEST_ALGORITHM);
    if (strncmp(text, SFL_DIGEST_ALGORITHM, n) == 0 && text[n] == ':')
        return SFL_DIGEST_LTHASH16;
    return hex32(text) ? SFL_DIGEST_XXH3_SUM : 0;
}

bool sfl_digest_from_text(sfl_digest_t *d, const char *text)
{
    if (!d || !text)
        return false;
    int kind = sfl_digest_kind_of_text(text);
    sfl_digest_t t;
    sfl_digest_init_kind(&t, kind == SFL_DIGEST_XXH3_SUM ? SFL_DIGEST_XXH3_SUM
                                                         : SFL_DIGEST_LTHASH16);
    if (kind == SFL_DIGEST_XXH3_SUM) {
        unsigned long long hi, lo;
        if (sscanf(text, "%16llx%16llx", &hi, &lo) != 2)
            return false;
        t.hi = hi;
        t.lo = lo;
    } else if (kind == SFL_DIGEST_LTHASH16) {
        const char *b64 = text + strlen(SFL_DIGEST_ALGORITHM) + 1;
        size_t n = strlen(b64);
        enum { B64 = 4 * ((STATE_BYTES + 2) / 3) };
        unsigned char st[STATE_BYTES + 3];
        if (n != B64 || EVP_DecodeBlock(st, (const unsigned char *)b64, (int)n) < STATE_BYTES)
            return false;
        for (int i = 0; i < SFL_DIGEST_LANES; i++)
            t.lanes[i] = (uint16_t)(st[2 * i] | st[2 * i + 1] << 8);
        /* only the canonical form: what encoding the state gives back */
        char again[SFL_DIGEST_TEXT_SIZE];
        sfl_digest_text(&t, again);
        if (strcmp(again, text) != 0)
            return false;
    } else {
        return false;
    }
    *d = t;
    return true;
}

void sfl_digest_fingerprint(const sfl_digest_t *d, char out[SFL_DIGEST_FINGERPRINT_SIZE])
{
    if (!out)
        return;
    out[0] = '\0';
    if (!d || d->failed)
        return;
    if (d->kind == SFL_DIGEST_XXH3_SUM) {
        snprintf(out, SFL_DIGEST_FINGERPRINT_SIZE, "%016llx%016llx", (unsigned long long)d->hi,
                 (unsigned long long)d->lo);
        return;
    }
    unsigned char st[STATE_BYTES], h[32];
    state_bytes(d, st);
    if (sfl_sha256(st, sizeof st, h))
        sfl_hex(h, 16, out);
}

bool sfl_digest_text_fingerprint(const char *text, char out[SFL_DIGEST_FINGERPRINT_SIZE])
{
    sfl_digest_t d;
    out[0] = '\0';
    if (!sfl_digest_from_text(&d, text))
        return false;
    sfl_digest_fingerprint(&d, out);
    return out[0] != '\0';
}

/* ---- files --------------------------------------------------------------- */

/* Streams the open file `fd` (read with pread from offset 0, so that its
 * offset stays where it was, for the parser) through SHA-256 (`sha`) or
 * XXH3-128; hex into out. `path` names it in messages. */
static bool hash_fd_range(int fd, const char *path, bool sha, uint64_t from, uint64_t to,
                          const atomic_int *stop, char *out_hex, uint64_t *out_size,
                          sfl_error_t *err);

static bool hash_fd(int fd, const char *path, bool sha, char *out_hex, uint64_t *out_size,
                    sfl_error_t *err)
{
    return hash_fd_range(fd, path, sha, 0, UINT64_MAX, NULL, out_hex, out_size, err);
}

/* The same for the bytes [from, to) of the file (to: at most its end);
 * *out_size gets the count hashed. Stops between reads once *stop (if
 * not NULL) is set: false with SFL_E_CANCELLED. */
static bool hash_fd_range(int fd, const char *path, bool sha, uint64_t from, uint64_t to,
                          const atomic_int *stop, char *out_hex, uint64_t *out_size,
                          sfl_error_t *err)
{
    hasher_t *h = sha ? hasher() : NULL;
    if (sha && !h)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "cannot hash %s: out of memory, or OpenSSL's libcrypto offers no "
                             "SHA-256", path);
    XXH3_state_t *st = sha ? NULL : XXH3_createState();
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    bool ok = buf && (sha ? EVP_DigestInit_ex2(h->md, md_sha256, NULL) == 1
                          : st && XXH3_128bits_reset(st) == XXH_OK);
    if (!ok) {
        free(buf);
        XXH3_freeState(st);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    uint64_t size = 0;
    ssize_t n = 0;
    bool stopped = false;
    while (ok && from + size < to && !(stopped = stop && atomic_load(stop)) &&
           ((n = pread(fd, buf, to - from - size < BUF ? (size_t)(to - from - size) : BUF,
                       (off_t)(from + size))) > 0 ||
            (n < 0 && errno == EINTR))) {
        if (n < 0)
            continue;
        ok = sha ? EVP_DigestUpdate(h->md, buf, (size_t)n) == 1
                 : XXH3_128bits_update(st, buf, (size_t)n) == XXH_OK;
        size += (uint64_t)n;
    }
    bool read_ok = !ok || n >= 0;
    int e = errno;
    free(buf);
    if (ok && read_ok && !stopped) {
        if (sha) {
            unsigned char md[32];
            unsigned int mn = 0;
            ok = EVP_DigestFinal_ex(h->md, md, &mn) == 1 && mn == 32;
            if (ok)
                sfl_hex(md, 32, out_hex);
        } else {
            XXH128_hash_t x = XXH3_128bits_digest(st);
            snprintf(out_hex, 33, "%016llx%016llx", (unsigned long long)x.high64,
                     (unsigned long long)x.low64);
        }
        if (out_size)
            *out_size = size;
    }
    XXH3_freeState(st);
    if (stopped)
        return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                             "%s: interrupted while taking its SHA-256; nothing was committed",
                             path);
    if (!read_ok)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: read error: %s", path,
                             strerror(e));
    if (!ok)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "%s: hashing failed", path);
    return true;
}

bool sfl_hash_fd(int fd, const char *path, char out_hex[65], uint64_t *out_size,
                 sfl_error_t *err)
{
    return hash_fd(fd, path, true, out_hex, out_size, err);
}

bool sfl_hash_fd_until(int fd, const char *path, const atomic_int *stop, char out_hex[65],
                       uint64_t *out_size, sfl_error_t *err)
{
    return hash_fd_range(fd, path, true, 0, UINT64_MAX, stop, out_hex, out_size, err);
}

bool sfl_hash_fd_range(int fd, const char *path, uint64_t from, uint64_t to, char out_hex[65],
                       sfl_error_t *err)
{
    uint64_t got = 0;
    if (!hash_fd_range(fd, path, true, from, to, NULL, out_hex, &got, err))
        return false;
    if (got != to - from)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                             "%s: bytes %llu to %llu cannot be read: the file has only %llu",
                             path, (unsigned long long)from, (unsigned long long)to,
                             (unsigned long long)(from + got));
    return true;
}

/* Opens `path` as a regular file only (never a FIFO, device or pipe). */
static bool hash_path(const char *path, bool sha, char *out_hex, uint64_t *out_size,
                      sfl_error_t *err)
{
    if (!path || !out_hex)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_hash_file: path and output are required");
    int fd = sfl_open_regular(path, NULL, err);
    if (fd < 0)
        return false;
    bool ok = hash_fd(fd, path, sha, out_hex, out_size, err);
    close(fd);
    return ok;
}

bool sfl_hash_file(const char *path, char out_hex[65], uint64_t *out_size, sfl_error_t *err)
{
    return hash_path(path, true, out_hex, out_size, err);
}

bool sfl_hash_file_xxh3(const char *path, char out_hex[33], uint64_t *out_size, sfl_error_t *err)
{
    return hash_path(path, false, out_hex, out_size, err);
}

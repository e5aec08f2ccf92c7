/* digest.c: the order-independent collection digest and file hashing.
 *
 * sum mod 2^128 of XXH3-128(document bytes). Documents read back from a
 * server are first re-canonicalised (canonical.c) so that the digest of
 * what a server returns equals the digest of what we sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <bson/bson.h>

#include "canonical.h"
#include "swefreq/digest.h"
#include "safe_fs.h"

void sfl_digest_init(sfl_digest_t *d)
{
    if (d)
        memset(d, 0, sizeof *d);
}

static void add128(sfl_digest_t *d, uint64_t lo, uint64_t hi)
{
    uint64_t old = d->lo;
    d->lo += lo;
    d->hi += hi + (d->lo < old ? 1 : 0);
}

void sfl_digest_add(sfl_digest_t *d, const uint8_t *bson, size_t len)
{
    if (!d || !bson)
        return;
    XXH128_hash_t h = XXH3_128bits(bson, len);
    add128(d, h.low64, h.high64);
    d->count++;
    d->bytes += len;
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
    return true;
}

void sfl_digest_merge(sfl_digest_t *into, const sfl_digest_t *from)
{
    if (!into || !from)
        return;
    add128(into, from->lo, from->hi);
    into->count += from->count;
    into->bytes += from->bytes;
}

void sfl_digest_hex(const sfl_digest_t *d, char out[33])
{
    if (!out)
        return;
    if (!d) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)d->hi, (unsigned long long)d->lo);
}

bool sfl_digest_from_hex(sfl_digest_t *d, const char *hex)
{
    if (!d || !hex || strlen(hex) != 32)
        return false;
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < 32; i++) {
        char c = hex[i];
        unsigned x;
        if (c >= '0' && c <= '9')
            x = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x = (unsigned)(c - 'A' + 10);
        else
            return false;
        v[i / 16] = (v[i / 16] << 4) | x;
    }
    d->hi = v[0];
    d->lo = v[1];
    return true;
}

bool sfl_hash_fd(int fd, const char *path, char out_hex[33], uint64_t *out_size,
                 sfl_error_t *err)
{
    XXH3_state_t *st = XXH3_createState();
    enum { BUF = 1 << 20 };
    char *buf = malloc(BUF);
    if (!st || !buf) {
        free(buf);
        XXH3_freeState(st);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    XXH3_128bits_reset(st);
    uint64_t size = 0;
    ssize_t n;
    /* pread: the descriptor's offset stays where it was, for the parser */
    while ((n = pread(fd, buf, BUF, (off_t)size)) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        XXH3_128bits_update(st, buf, (size_t)n);
        size += (uint64_t)n;
    }
    int e = errno;
    free(buf);
    if (n == 0) {
        XXH128_hash_t h = XXH3_128bits_digest(st);
        snprintf(out_hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
                 (unsigned long long)h.low64);
        if (out_size)
            *out_size = size;
    }
    XXH3_freeState(st);
    if (n != 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: read error: %s", path,
                             strerror(e));
    return true;
}

bool sfl_hash_file(const char *path, char out_hex[33], uint64_t *out_size, sfl_error_t *err)
{
    if (!path || !out_hex)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_hash_file: path and output are required");
    int fd = sfl_open_regular(path, NULL, err); /* never a FIFO, device or pipe */
    if (fd < 0)
        return false;
    bool ok = sfl_hash_fd(fd, path, out_hex, out_size, err);
    close(fd);
    return ok;
}

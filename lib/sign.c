/* sign.c: detached Ed25519 signatures of manifest files (swefreq/sign.h).
 *
 * The design is simple: the signature covers a file's exact bytes, and
 * the signature file is nothing but the 64 bytes of the Ed25519 signature
 * (RFC 8032, "pure" Ed25519: no pre-hash), so `openssl pkeyutl -verify
 * -rawin` checks it without this library. Everything cryptographic is
 * OpenSSL's libcrypto: EVP_DigestSign/EVP_DigestVerify with a NULL digest
 * (Ed25519 hashes internally with SHA-512), SHA-256 for key ids and file
 * digests. A key id is the SHA-256 of the public key's DER
 * SubjectPublicKeyInfo, as `openssl pkey -pubin -outform DER | sha256sum`
 * prints it.
 *
 * A manifest is read once into memory: its SHA-256 and its signature are
 * computed on those bytes, and those same bytes are parsed, so nothing can
 * change the file between the check and the use.
 *
 * Key files are read whole (they are small, at most 64 KiB) and handed to
 * PEM_read_bio_*; a private key file whose mode lets group or others read
 * or write it is refused, as ssh refuses one. An encrypted private key is
 * refused too: the passphrase callback declines, so OpenSSL never prompts.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "manifest_internal.h"
#include "safe_fs.h"
#include "swefreq/sign.h"
#include "verify_internal.h"

#define ED25519_SIG_BYTES 64
#define KEY_FILE_MAX (64u << 10)
#define MANIFEST_FILE_MAX (64u << 20) /* as sfl_manifest_read_file */

struct sfl_signing_key {
    EVP_PKEY *pk;
    char id[SFL_SHA256_HEX];
};

struct sfl_trusted_keys {
    EVP_PKEY **pk;
    char (*id)[SFL_SHA256_HEX];
    size_t n;
};

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool sha256_hex(const void *data, size_t len, char out[SFL_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        out[0] = '\0';
        return false;
    }
    hex(md, 32, out);
    return true;
}

/* The key id: SHA-256 of the DER SubjectPublicKeyInfo of pk's public part. */
static bool key_id(EVP_PKEY *pk, char out[SFL_SHA256_HEX])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    bool ok = n > 0 && sha256_hex(der, (size_t)n, out);
    OPENSSL_free(der);
    return ok;
}

/* OpenSSL's reason for the last failure, for a message; clears the queue. */
static const char *ossl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "no further detail");
    ERR_clear_error();
    return buf;
}

/* Reads a whole file of at most `max` bytes. With `private_key`, refuses
 * a file that group or others may read or write. *out is malloc'd. */
static bool read_whole(const char *path, size_t max, bool private_key, uint32_t code,
                       const char *what, char **out, size_t *len, sfl_error_t *err)
{
    *out = NULL;
    *len = 0;
    /* Never blocks on a FIFO, never reads a device: the descriptor is
     * opened non-blocking and kept only for a regular file. A key file the
     * user named may be a link to the key; a manifest or its signature
     * (inside a dump folder) must be the file itself. */
    char label[64];
    snprintf(label, sizeof label, "the %s", what);
    bool key = private_key || code == SFL_E_KEY;
    int fd = key ? sfl_open_regular(path, label, err) : sfl_open_regular_nofollow(path, label, err);
    if (fd < 0) { /* an input error, exit 3; a signature's stays SFL_E_OPEN, not "refused" */
        if (err && code != SFL_E_SIGNATURE)
            err->code = code;
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sfl_error_set(err, SFL_DOMAIN_INPUT, code, "%s: cannot open the %s: %s", path,
                             what, strerror(e));
    }
    if (private_key && (st.st_mode & 077)) {
        close(fd);
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY,
                             "%s: the private key file has mode %04o: it must not be readable "
                             "or writable by group or others (as ssh requires of its keys); "
                             "run `chmod 600 %s`",
                             path, (unsigned)(st.st_mode & 07777), path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return sfl_error_set(err, SFL_DOMAIN_INPUT, code, "%s: too large for a %s (%lld bytes)",
                             path, what, (long long)st.st_size);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sfl_error_set(err, SFL_DOMAIN_INPUT, code, "%s: cannot read the %s: %s",
                                 path, what, strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > (size_t)st.st_size) { /* grew while read: a file in flux */
            free(buf);
            close(fd);
            return sfl_error_set(err, SFL_DOMAIN_INPUT, code,
                                 "%s: the %s changed while it was read", path, what);
        }
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return true;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1; /* never prompt */
}

/* Parses a PEM key of `path` (private or public) and checks it is Ed25519. */
static EVP_PKEY *pem_key(const char *path, bool private_key, sfl_error_t *err)
{
    char *text;
    size_t len;
    if (!read_whole(path, KEY_FILE_MAX, private_key, SFL_E_KEY,
                    private_key ? "private key file" : "public key file", &text, &len, err))
        return NULL;
    /* One key a file: OpenSSL reads the first PEM block of the kind asked
     * for and skips the rest, so of two public keys only the first would
     * be trusted, and a private key pasted into a public key file would
     * go unnoticed. */
    size_t blocks = 0;
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), "-----BEGIN ", 11));
         p += 11)
        blocks++;
    if (blocks > 1) {
        OPENSSL_cleanse(text, len);
        free(text);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY,
                      "%s: holds %zu PEM blocks; a key file holds exactly one key (give each "
                      "trusted key as its own file)",
                      path, blocks);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pk = NULL;
    if (bio)
        pk = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                         : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    char why[256];
    if (!pk) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY,
                      "%s: not a PEM %s (%s); make one with %s", path,
                      private_key ? "private key (unencrypted)" : "public key",
                      ossl_reason(why, sizeof why),
                      private_key ? "`openssl genpkey -algorithm ed25519 -out release.key`"
                                  : "`openssl pkey -in release.key -pubout -out release.pub`");
        return NULL;
    }
    ERR_clear_error();
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY,
                      "%s: a %s key, not Ed25519; make one with `openssl genpkey -algorithm "
                      "ed25519`",
                      path, OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
        EVP_PKEY_free(pk);
        return NULL;
    }
    return pk;
}

/* ---- signing ----------------------------------------------------------------- */

sfl_signing_key_t *sfl_signing_key_read(const char *path, sfl_error_t *err)
{
    if (!path) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_signing_key_read: no path");
        return NULL;
    }
    sfl_signing_key_t *k = calloc(1, sizeof *k);
    if (!k) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!(k->pk = pem_key(path, true, err))) {
        free(k);
        return NULL;
    }
    if (!key_id(k->pk, k->id)) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY, "%s: cannot encode the public key",
                      path);
        sfl_signing_key_destroy(k);
        return NULL;
    }
    return k;
}

const char *sfl_signing_key_id(const sfl_signing_key_t *k) { return k ? k->id : NULL; }

void sfl_signing_key_destroy(sfl_signing_key_t *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pk);
    free(k);
}

/* The 64-byte Ed25519 signature of data[0..len) into sig; `what` names
 * the data in a message. */
static bool sign_bytes(const sfl_signing_key_t *k, const void *data, size_t len,
                       unsigned char sig[ED25519_SIG_BYTES], const char *what, sfl_error_t *err)
{
    size_t siglen = ED25519_SIG_BYTES;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk) == 1 &&
              EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, len) == 1 &&
              siglen == ED25519_SIG_BYTES;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        char why[256];
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "%s: signing failed: %s", what,
                             ossl_reason(why, sizeof why));
    }
    return true;
}

bool sfl_sign_buffer_at(const sfl_signing_key_t *k, const void *data, size_t len, int dirfd,
                        const char *name, const char *shown, sfl_error_t *err)
{
    if (!k || (!data && len) || !name || !shown)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_sign_buffer_at needs a key, the bytes, a folder and a name");
    unsigned char sig[ED25519_SIG_BYTES];
    char sig_name[512];
    if (snprintf(sig_name, sizeof sig_name, "%s.sig", name) >= (int)sizeof sig_name)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "%s: name too long", name);
    return sign_bytes(k, data, len, sig, name, err) &&
           sfl_write_new_at(dirfd, sig_name, sig, sizeof sig, shown, err);
}

bool sfl_manifest_write_at(const sfl_manifest_t *m, int dirfd, const char *shown,
                           const sfl_signing_key_t *k, sfl_error_t *err)
{
    char *json = sfl_manifest_to_json(m);
    if (!json)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    size_t len = strlen(json);
    bool ok = sfl_write_new_at(dirfd, "manifest.json", json, len, shown, err) &&
              (!k || sfl_sign_buffer_at(k, json, len, dirfd, "manifest.json", shown, err));
    free(json);
    return ok;
}

bool sfl_manifest_write_file_signed(const sfl_manifest_t *m, const char *path,
                                    const sfl_signing_key_t *k, sfl_error_t *err)
{
    if (!m || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_manifest_write_file_signed: manifest and path are required");
    char *json = sfl_manifest_to_json(m);
    char *sig_path = NULL;
    if (!json || asprintf(&sig_path, "%s.sig", path) < 0) {
        free(json);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    /* The signature is made over the buffer, not over what the path
     * holds afterwards, and both files are written from memory. */
    size_t len = strlen(json);
    unsigned char sig[ED25519_SIG_BYTES];
    bool ok = (!k || sign_bytes(k, json, len, sig, path, err)) &&
              sfl_write_replace(path, json, len, "the manifest", err) &&
              (!k || sfl_write_replace(sig_path, sig, sizeof sig, "the signature", err));
    free(json);
    free(sig_path);
    return ok;
}

bool sfl_sign_file(const sfl_signing_key_t *k, const char *path, const char *sig_path,
                   sfl_error_t *err)
{
    if (!k || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_sign_file needs a key and a file");
    char *data;
    size_t len;
    if (!read_whole(path, MANIFEST_FILE_MAX, false, SFL_E_MANIFEST, "file to sign", &data, &len,
                    err))
        return false;
    unsigned char sig[ED25519_SIG_BYTES];
    bool ok = sign_bytes(k, data, len, sig, path, err);
    free(data);
    if (!ok)
        return false;
    char *def = NULL;
    if (!sig_path) {
        if (asprintf(&def, "%s.sig", path) < 0)
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        sig_path = def;
    }
    ok = sfl_write_replace(sig_path, sig, sizeof sig, "the signature", err);
    free(def);
    return ok;
}

/* ---- checking ------------------------------------------------------------------ */

sfl_trusted_keys_t *sfl_trusted_keys_new(void) { return calloc(1, sizeof(sfl_trusted_keys_t)); }

bool sfl_trusted_keys_add_file(sfl_trusted_keys_t *t, const char *path, sfl_error_t *err)
{
    if (!t || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_trusted_keys_add_file needs a key set and a path");
    EVP_PKEY *pk = pem_key(path, false, err);
    if (!pk)
        return false;
    char id[SFL_SHA256_HEX];
    if (!key_id(pk, id)) {
        EVP_PKEY_free(pk);
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_KEY, "%s: cannot encode the key", path);
    }
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->id[i], id)) {
            EVP_PKEY_free(pk);
            return true;
        }
    EVP_PKEY **npk = realloc(t->pk, (t->n + 1) * sizeof *npk);
    if (npk)
        t->pk = npk;
    char(*nid)[SFL_SHA256_HEX] = npk ? realloc(t->id, (t->n + 1) * sizeof *nid) : NULL;
    if (!nid) {
        EVP_PKEY_free(pk);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    t->id = nid;
    t->pk[t->n] = pk;
    memcpy(t->id[t->n], id, sizeof id);
    t->n++;
    return true;
}

size_t sfl_trusted_keys_count(const sfl_trusted_keys_t *t) { return t ? t->n : 0; }

const char *sfl_trusted_keys_id(const sfl_trusted_keys_t *t, size_t i)
{
    return t && i < t->n ? t->id[i] : NULL;
}

void sfl_trusted_keys_destroy(sfl_trusted_keys_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        EVP_PKEY_free(t->pk[i]);
    free(t->pk);
    free(t->id);
    free(t);
}

/* "id1, id2" into buf. */
static const char *ids_tried(const sfl_trusted_keys_t *t, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? ", " : "", t->id[i]);
    return buf;
}

bool sfl_verify_signature(const void *data, size_t len, const char *name, const char *sig_path,
                          const sfl_trusted_keys_t *t, char key_id_out[SFL_SHA256_HEX],
                          sfl_error_t *err)
{
    if (key_id_out)
        key_id_out[0] = '\0';
    if (!data || !sig_path || !name)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_verify_signature needs data, a name and a signature path");
    if (!t || !t->n)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s: no trusted key to check its signature with", name);
    char tried[1024];
    ids_tried(t, tried, sizeof tried);
    struct stat st;
    if (lstat(sig_path, &st) != 0 && errno == ENOENT)
        return sfl_error_set(err, SFL_DOMAIN_SIGNATURE, SFL_E_SIGNATURE,
                             "signature refused: %s is unsigned (no %s); trusted key id(s): %s",
                             name, sig_path, tried);
    char *sig;
    size_t slen;
    sfl_error_t e;
    if (!read_whole(sig_path, 4096, false, SFL_E_SIGNATURE, "signature file", &sig, &slen, &e)) {
        if (e.code == SFL_E_OPEN) /* not a regular file, a link, unreadable: bad input */
            return sfl_error_set(err, e.domain, e.code, "%s", e.message);
        return sfl_error_set(err, SFL_DOMAIN_SIGNATURE, SFL_E_SIGNATURE,
                             "signature refused for %s: %s", name, e.message);
    }
    if (slen != ED25519_SIG_BYTES) {
        free(sig);
        return sfl_error_set(err, SFL_DOMAIN_SIGNATURE, SFL_E_SIGNATURE,
                             "signature refused: %s is not an Ed25519 signature of %s (%zu "
                             "bytes, expected %d); trusted key id(s): %s",
                             sig_path, name, slen, ED25519_SIG_BYTES, tried);
    }
    bool ok = false;
    for (size_t i = 0; i < t->n && !ok; i++) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, t->pk[i]) == 1 &&
             EVP_DigestVerify(ctx, (const unsigned char *)sig, slen, data, len) == 1;
        EVP_MD_CTX_free(ctx);
        if (ok && key_id_out)
            memcpy(key_id_out, t->id[i], SFL_SHA256_HEX);
    }
    ERR_clear_error();
    free(sig);
    return ok || sfl_error_set(err, SFL_DOMAIN_SIGNATURE, SFL_E_SIGNATURE,
                               "signature refused: the signature %s of %s matches none of the "
                               "trusted keys (key id(s) tried: %s): %s was changed after it "
                               "was signed, or was signed with a key that is not trusted",
                               sig_path, name, tried, name);
}

sfl_manifest_t *sfl_manifest_read_signed(const char *path, const sfl_trusted_keys_t *t,
                                         sfl_signature_info_t *info, sfl_error_t *err)
{
    return sfl_manifest_read_signed_bytes(path, t, info, NULL, NULL, err);
}

sfl_manifest_t *sfl_manifest_read_signed_bytes(const char *path, const sfl_trusted_keys_t *t,
                                               sfl_signature_info_t *info, char **bytes,
                                               size_t *n_bytes, sfl_error_t *err)
{
    if (bytes)
        *bytes = NULL;
    if (n_bytes)
        *n_bytes = 0;
    sfl_signature_info_t local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    if (!path) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_manifest_read_signed: no path");
        return NULL;
    }
    char *data;
    size_t len;
    if (!read_whole(path, MANIFEST_FILE_MAX, false, SFL_E_MANIFEST, "manifest", &data, &len, err))
        return NULL;
    sfl_manifest_t *m = NULL;
    bool ok = sha256_hex(data, len, info->manifest_sha256) ||
              sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "SHA-256 failed");
    if (ok && sfl_trusted_keys_count(t)) {
        char *sig = NULL;
        if (asprintf(&sig, "%s.sig", path) < 0)
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        else
            ok = info->verified = sfl_verify_signature(data, len, path, sig, t, info->key_id, err);
        free(sig);
    }
    if (ok) {
        sfl_error_t e;
        m = sfl_manifest_parse(data, len, &e);
        if (!m)
            sfl_error_set(err, e.domain, e.code, "%s: %s", path, e.message);
        else if (!sfl_manifest_set_origin(m, path) ||
                 !sfl_manifest_set_signer(m, info->verified ? info->key_id : NULL)) {
            sfl_manifest_destroy(m);
            m = NULL;
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        }
    }
    if (m && bytes && n_bytes) {
        *bytes = data; /* the very bytes checked and parsed */
        *n_bytes = len;
    } else
        free(data);
    return m;
}

bool sfl_manifest_file_same(const char *path, const char *data, size_t len, const char *against,
                            sfl_error_t *err)
{
    char *got;
    size_t n;
    if (!read_whole(path, MANIFEST_FILE_MAX, false, SFL_E_MANIFEST, "manifest", &got, &n, err))
        return false;
    bool same = n == len && memcmp(got, data, len) == 0;
    free(got);
    if (!same)
        sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                      "%s differs from %s (%zu bytes against %zu): the dump is not the one whose "
                      "manifest was checked (changed or replaced since); nothing was written",
                      path, against, n, len);
    return same;
}

char *sfl_dump_manifest_path(const char *out_dir, const char *db, sfl_error_t *err)
{
    if (!out_dir) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_dump_manifest_path: no folder");
        return NULL;
    }
    char *dir = sfl_dump_folder(out_dir, db, err), *p = NULL;
    if (dir && asprintf(&p, "%s/manifest.json", dir) < 0) {
        p = NULL;
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    free(dir);
    return p;
}

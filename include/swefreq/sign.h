/* swefreq/sign.h: signed releases. A detached Ed25519 signature of a
 * manifest file's exact bytes, so that a dump carried from development to
 * live cannot be altered (its .bson files, and the counts and digests of
 * its manifest.json) without the change being refused.
 *
 * Keys are ordinary PEM files made with a standard tool:
 *   openssl genpkey -algorithm ed25519 -out release.key      (private, mode 0600)
 *   openssl pkey -in release.key -pubout -out release.pub    (public)
 * The signature of FILE is FILE.sig: the raw 64-byte Ed25519 signature
 * (RFC 8032, "pure" Ed25519 over the file's bytes), which openssl checks
 * without swefreq-load:
 *   openssl pkeyutl -verify -pubin -inkey release.pub -rawin -in FILE -sigfile FILE.sig
 * A key id is the SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo:
 *   openssl pkey -pubin -in release.pub -outform DER | sha256sum
 *
 * The cryptography is OpenSSL's libcrypto (EVP_DigestSign/EVP_DigestVerify
 * with Ed25519). Errors: SFL_E_SIGNATURE (domain SFL_DOMAIN_SIGNATURE) when
 * a signature is refused (missing, wrong, or made by a key not trusted),
 * SFL_E_KEY (domain SFL_DOMAIN_INPUT) for a key file that cannot be used
 * (missing, not an Ed25519 PEM key, a private key readable by group or
 * others).
 *
 * Thread safety: a signing key and a trusted key set are immutable once
 * read and may be used from several threads at once; destroy them once,
 * after every use.
 */
#ifndef SWEFREQ_SIGN_H
#define SWEFREQ_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "swefreq/error.h"
#include "swefreq/manifest.h"
#include "swefreq/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A key id or a SHA-256 as hex, with its NUL. */
#define SFL_SHA256_HEX 65

/* ---- signing (the development side) -------------------------------------- */

typedef struct sfl_signing_key sfl_signing_key_t;

/* Reads an Ed25519 private key (PEM, unencrypted: PKCS#8 as openssl
 * genpkey writes it). Refused (SFL_E_KEY, naming the file and its mode)
 * when the file is readable or writable by group or others, as ssh
 * refuses such a key; also when it is missing, not a regular file, or not
 * an Ed25519 key. NULL with err. The caller destroys it. */
SFL_API sfl_signing_key_t *sfl_signing_key_read(const char *path, sfl_error_t *err) SFL_WUR;
/* The key id (hex, 64 characters); valid while the key lives. NULL for NULL. */
SFL_API const char *sfl_signing_key_id(const sfl_signing_key_t *k);
/* Accepts NULL. */
SFL_API void sfl_signing_key_destroy(sfl_signing_key_t *k);

/* Signs the exact bytes of the file `path` and writes the 64-byte
 * signature to `sig_path` (NULL: path + ".sig"), atomically: a temporary
 * file in the same folder, then a rename (never through a symbolic link
 * at the temporary name). False with err (SFL_E_MANIFEST when `path`
 * cannot be read, SFL_E_WRITE when the signature cannot be written). */
SFL_API bool sfl_sign_file(const sfl_signing_key_t *k, const char *path, const char *sig_path,
                           sfl_error_t *err) SFL_WUR;

/* Writes the manifest as `path` and, with `k` (NULL: unsigned, as
 * sfl_manifest_write_file), its signature as `path`.sig, both from the one
 * buffer in memory: the signature covers exactly the bytes written, never
 * what the path holds later. Each file is replaced in one step, as
 * sfl_manifest_write_file does: a new file in the same folder created with
 * O_EXCL|O_NOFOLLOW (a link planted at the temporary name is refused, not
 * followed), fsynced, renamed over the name (a link there is replaced, its
 * target untouched). False with SFL_E_WRITE naming the file. Thread-safe
 * for distinct paths; `m` and `k` are borrowed. */
SFL_API bool sfl_manifest_write_file_signed(const sfl_manifest_t *m, const char *path,
                                            const sfl_signing_key_t *k, sfl_error_t *err);

/* Signs the bytes data[0..len) and writes the 64-byte signature as the
 * new file `name`.sig of the open folder `dirfd` (created with
 * O_EXCL|O_NOFOLLOW: never through a link, never over an existing file;
 * mode 0644 before the umask; fsynced). For signing a file one has just
 * written from those same bytes, so that nothing can change it between
 * the write and the signature. `shown` names the folder in messages.
 * False with err (SFL_E_WRITE when the signature cannot be written). */
SFL_API bool sfl_sign_buffer_at(const sfl_signing_key_t *k, const void *data, size_t len,
                                int dirfd, const char *name, const char *shown,
                                sfl_error_t *err) SFL_WUR;

/* ---- checking (the live side) --------------------------------------------- */

typedef struct sfl_trusted_keys sfl_trusted_keys_t;

/* An empty set; NULL when out of memory. The caller destroys it. */
SFL_API sfl_trusted_keys_t *sfl_trusted_keys_new(void);
/* Adds the Ed25519 public key (PEM SubjectPublicKeyInfo, as openssl pkey
 * -pubout writes it) of the file `path`. A key already in the set is not
 * added twice. False with err (SFL_E_KEY naming the file). */
SFL_API bool sfl_trusted_keys_add_file(sfl_trusted_keys_t *t, const char *path,
                                       sfl_error_t *err) SFL_WUR;
/* The number of keys; 0 for NULL. */
SFL_API size_t sfl_trusted_keys_count(const sfl_trusted_keys_t *t);
/* The id (hex) of key i, in the order added; NULL when out of range. */
SFL_API const char *sfl_trusted_keys_id(const sfl_trusted_keys_t *t, size_t i);
/* Accepts NULL. */
SFL_API void sfl_trusted_keys_destroy(sfl_trusted_keys_t *t);

/* Checks the signature file `sig_path` of `len` bytes at `data` (named
 * `name` in messages) against every key of `t`. True when one verifies it:
 * its id goes to key_id (may be NULL). False with SFL_E_SIGNATURE when the
 * signature file is missing (the data is unsigned), is not a 64-byte
 * Ed25519 signature, or matches none of the keys (the data was changed
 * after signing, or a key that is not trusted signed it); the message
 * names the file and every key id tried. An empty set (or NULL) refuses
 * everything (SFL_E_USAGE). */
SFL_API bool sfl_verify_signature(const void *data, size_t len, const char *name,
                                  const char *sig_path, const sfl_trusted_keys_t *t,
                                  char key_id[SFL_SHA256_HEX], sfl_error_t *err) SFL_WUR;

/* What was learnt of a manifest file as it was read. */
typedef struct {
    bool verified;                         /* a trusted key verified FILE.sig   */
    char key_id[SFL_SHA256_HEX];           /* that key's id; "" when !verified  */
    char manifest_sha256[SFL_SHA256_HEX];  /* SHA-256 of the file's bytes, hex  */
} sfl_signature_info_t;

/* Reads the manifest file `path` once, into memory: computes the SHA-256
 * of its bytes and, when `t` holds keys, checks PATH.sig against them
 * (sfl_verify_signature: SFL_E_SIGNATURE, nothing parsed) before it parses
 * those same bytes as sfl_manifest_read_file does. With `t` NULL or empty
 * no signature is checked (info->verified false). `info` may be NULL. NULL
 * with err; the caller destroys the manifest. */
SFL_API sfl_manifest_t *sfl_manifest_read_signed(const char *path, const sfl_trusted_keys_t *t,
                                                 sfl_signature_info_t *info,
                                                 sfl_error_t *err) SFL_WUR;

/* A database verified against a signed manifest (sfl_verify_mongo_signed,
 * swefreq/lifecycle.h): the manifest's signer and SHA-256, and the release
 * the database recorded when promote sealed it. */
typedef struct {
    char key_id[SFL_SHA256_HEX];                   /* the manifest's signer       */
    char manifest_sha256[SFL_SHA256_HEX];          /* of the manifest's bytes     */
    char recorded_key_id[SFL_SHA256_HEX];          /* recorded by promote; ""     */
    char recorded_manifest_sha256[SFL_SHA256_HEX]; /* recorded by promote; ""     */
    const char *problem; /* why they differ (the report then fails); NULL when
                            they are equal. Valid as long as the report. */
} sfl_release_check_t;

/* The release check of a report, into *out (may be NULL); false when the
 * report has none (no trusted key, or a dump's report). */
SFL_API bool sfl_verify_report_release(const sfl_verify_report_t *r, sfl_release_check_t *out);

/* The path of a dump's manifest.json, the dump found in `out_dir` (and
 * `db`, may be NULL) as sfl_verify_dump finds it. malloc'd (free() it);
 * NULL with err. */
SFL_API char *sfl_dump_manifest_path(const char *out_dir, const char *db,
                                     sfl_error_t *err) SFL_WUR;

#ifdef __cplusplus
}
#endif
#endif

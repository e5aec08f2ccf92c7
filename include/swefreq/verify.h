/* swefreq/verify.h: proving that a dump, a database or the source files
 * still equal a manifest.
 *
 * Verification recomputes what the manifest (swefreq/manifest.h) records:
 * every collection is read back, each document re-canonicalised and
 * digested with the same accumulator the load used, and compared by count
 * and digest; with `check_sources`, every source file is re-hashed and its
 * size compared. Each entry is checked with the hashes of its own format
 * (swefreq/digest.h): LtHash16 and SHA-256 for format 2, XXH3 for
 * format 1, and a report on a format-1 manifest carries the warning that
 * it is not forgery-resistant (among sfl_verify_report_warning's).
 * Differences are reported item by item in a report; an
 * error (NULL with err) means that verification could not run at all.
 * sfl_verify_mongo() (swefreq/mongo.h) does the same for a database.
 *
 * Thread safety: reports are immutable after creation and may be read from
 * several threads; distinct verifications may run concurrently.
 */
#ifndef SWEFREQ_VERIFY_H
#define SWEFREQ_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"
#include "swefreq/job.h"
#include "swefreq/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SFL_VERIFY_OK = 0,
    SFL_VERIFY_COUNT_DIFFERS = 1,  /* collection: document count differs */
    SFL_VERIFY_DIGEST_DIFFERS = 2, /* collection: same count, other data */
    SFL_VERIFY_ABSENT = 3,         /* collection: not in the dump / db   */
    SFL_VERIFY_CHANGED = 4,        /* source: size or hash differs       */
    SFL_VERIFY_MISSING = 5,        /* source: file cannot be opened      */
    SFL_VERIFY_INDEX_MISSING = 6,  /* index: not on the database         */
    SFL_VERIFY_INDEX_DIFFERS = 7,  /* index: same name, another key      */
    SFL_VERIFY_UNLISTED = 8,       /* collection (database) or .bson /
                                      .metadata.json file (dump) that the
                                      manifest does not list             */
    SFL_VERIFY_INDEX_UNLISTED = 9, /* index: on the database (or in a
                                      dump's metadata.json), not in the
                                      manifest                           */
    SFL_VERIFY_INDEX_OPTIONS = 10  /* index: same name and key, but an
                                      option (hidden, partialFilterExpression,
                                      sparse, unique, expireAfterSeconds,
                                      collation, weights...) the manifest's
                                      definition does not have            */
} sfl_verify_status_t;

/* "ok", "count differs", "digest differs", "absent", "changed", "missing",
 * "index missing", "index differs", "unlisted", "index unlisted". */
SFL_API const char *sfl_verify_status_name(sfl_verify_status_t s);

/* One collection or one source file, as in the JSON report
 * (sfl_verify_report_json). A collection's item has the same field names
 * there (name, status, expected_count, actual_count, expected_digest,
 * actual_digest). A source's item uses the sizes, and the JSON names two
 * fields after what they hold: `name` is "path", and expected_digest and
 * actual_digest are "expected_sha256" and "actual_sha256" (the file's
 * SHA-256), or "expected_xxh3_128" and "actual_xxh3_128" for an entry of a
 * format-1 manifest (XXH3-128). */
typedef struct {
    const char *name;                        /* collection name or source path  */
    sfl_verify_status_t status;
    uint64_t expected_count, actual_count;   /* collection: documents; else 0   */
    uint64_t expected_size, actual_size;     /* source: bytes on disk; else 0   */
    /* collection: the digest's fingerprint (sfl_digest_fingerprint; format
     * 1: the digest itself); source: SHA-256 (format 2) or XXH3-128
     * (format 1) of the file, hex; "" when unknown */
    char expected_digest[65], actual_digest[65];
    int format;                              /* 2, or 1 for a format-1 entry    */
} sfl_verify_item_t;

typedef struct sfl_verify_report sfl_verify_report_t;

/* Verifies a dump, named as the dump sink names it (sfl_sink_dump_new):
 * the folder OUT_DIR/DB. With `db` NULL, the dump is found in `out_dir`:
 * `out_dir` itself when it holds a manifest.json or .bson files, else its
 * only subfolder that holds a manifest.json (more than one: SFL_E_USAGE,
 * naming them). With `m` NULL, the manifest is that folder's
 * manifest.json. Every collection of the manifest is read back; a folder
 * that holds none of the manifest's collection files is not a dump of it
 * (SFL_E_MANIFEST, naming the folders found), while one that lacks only
 * some reports them `absent`. Every `.bson` and `.metadata.json` file in
 * the folder must belong to a collection of the manifest: any other is
 * reported `unlisted` (by its file name). Collection files are opened in
 * the folder itself, never through a symbolic link: a link, or anything
 * but a regular file, in the place of one is refused (SFL_E_OPEN). With
 * `check_sources`, every source file is re-hashed too. Returns NULL only when verification could not run (err
 * says why); differences are reported, not errors. The report is the
 * caller's (sfl_verify_report_destroy). */
SFL_API sfl_verify_report_t *sfl_verify_dump(const sfl_manifest_t *m, const char *out_dir,
                                             const char *db, bool check_sources,
                                             sfl_error_t *err) SFL_WUR;

/* The manifest's format_version (2, or 1); 0 for NULL. A report on a
 * format-1 manifest carries sfl_manifest_warning's text (it is not
 * forgery-resistant) among its warnings (sfl_verify_report_warning). */
SFL_API int sfl_verify_report_format(const sfl_verify_report_t *r);

/* The same with progress and cancellation (`ctl` may be NULL): a
 * cancelled verification returns NULL with SFL_E_CANCELLED. */
SFL_API sfl_verify_report_t *sfl_verify_dump_ctl(const sfl_manifest_t *m, const char *out_dir,
                                                 const char *db, bool check_sources,
                                                 const sfl_run_control_t *ctl,
                                                 sfl_error_t *err) SFL_WUR;

/* true when every item is SFL_VERIFY_OK; false for NULL. */
SFL_API bool sfl_verify_report_ok(const sfl_verify_report_t *r);
SFL_API size_t sfl_verify_report_n_collections(const sfl_verify_report_t *r);
SFL_API const sfl_verify_item_t *sfl_verify_report_collection(const sfl_verify_report_t *r,
                                                              size_t i);
SFL_API size_t sfl_verify_report_n_sources(const sfl_verify_report_t *r);
SFL_API const sfl_verify_item_t *sfl_verify_report_source(const sfl_verify_report_t *r,
                                                          size_t i);
/* A database's verify (sfl_verify_mongo) also checks every index the
 * manifest names: one item per index, named "collection.index", status
 * ok, index missing or index differs. None for a dump. */
SFL_API size_t sfl_verify_report_n_indexes(const sfl_verify_report_t *r);
SFL_API const sfl_verify_item_t *sfl_verify_report_index(const sfl_verify_report_t *r, size_t i);
/* What the verify checked against: the report's "manifest" object. All
 * pointers are valid while the report lives. */
typedef struct {
    const char *source;     /* "database": the database's own copy (its
                               manifest in force); "dump": the dump's own
                               manifest.json; "file": a manifest file the
                               caller read; "caller": one it parsed       */
    const char *path;       /* the manifest file, or NULL                 */
    const char *const *load_ids; /* "database": the loads the manifest in
                               force draws on (current first); else NULL  */
    size_t n_load_ids;
    const char *signer;     /* who signed the manifest; NULL when unsigned
                               or not checked                            */
} sfl_verify_reference_t;

/* Fills *out; false (and *out untouched) for NULL arguments. */
SFL_API bool sfl_verify_report_reference(const sfl_verify_report_t *r,
                                         sfl_verify_reference_t *out);
/* Warnings that do not fail the report (a format-1 manifest, which is not
 * forgery-resistant; a sealed live database checked only against its own
 * copy of the manifest). */
SFL_API size_t sfl_verify_report_n_warnings(const sfl_verify_report_t *r);
SFL_API const char *sfl_verify_report_warning(const sfl_verify_report_t *r, size_t i);
/* The report as a JSON object (docs/manifest.md), malloc'd (free() it). */
SFL_API char *sfl_verify_report_json(const sfl_verify_report_t *r);
/* Accepts NULL. */
SFL_API void sfl_verify_report_destroy(sfl_verify_report_t *r);

#ifdef __cplusplus
}
#endif
#endif

/* swefreq/manifest.h: what was loaded from which files.
 *
 * A manifest is a small versioned JSON document (format in
 * docs/manifest.md): the tool and version, the options that shape the
 * documents, each source file (path as given, size, SHA-256 of its bytes,
 * record count) and each collection (document count, BSON bytes,
 * order-independent digest, index definitions). A job builds one as it runs;
 * verification (swefreq/verify.h) recomputes the same figures from a dump
 * or a database and from the source files and reports each difference.
 *
 * This version writes format 2 (LtHash16 collection digests, SHA-256
 * source hashes: swefreq/digest.h) and still reads format 1 (XXH3-based,
 * not forgery-resistant), which it checks with format 1's own hashes and
 * reports as such (sfl_manifest_warning).
 *
 * Thread safety: manifests and reports are immutable after creation and
 * may be read from several threads.
 */
#ifndef SWEFREQ_MANIFEST_H
#define SWEFREQ_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "swefreq/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SFL_MANIFEST_FORMAT "swefreq-load-manifest"
#define SFL_MANIFEST_VERSION 2     /* the format this version writes */
#define SFL_MANIFEST_VERSION_MIN 1 /* the oldest format it reads    */

/* A manifest: immutable once built or read. */
typedef struct sfl_manifest sfl_manifest_t;

typedef struct {
    const char *path;   /* as given to sfl_job_add_source         */
    const char *kind;   /* sfl_source_kind_name(): "vcf",
                           "coverage", "gtf", "dbsnp", ...        */
    uint64_t size;      /* bytes on disk                          */
    char sha256[65];    /* SHA-256 of the file's bytes, 64 hex
                           digits; "" in a format-1 entry         */
    char xxh3_128[33];  /* format 1 only: XXH3-128 of the bytes,
                           32 hex digits; "" in a format-2 entry  */
    uint64_t records;   /* data lines read                        */
    const char *abs_path; /* absolute path when written; NULL in
                             manifests written before it was recorded */
} sfl_manifest_source_t;

typedef struct {
    const char *name;   /* sfl_collection_name(): "variants",
                           "base_coverage", "genes", ...          */
    uint64_t count;     /* documents                              */
    uint64_t bytes;     /* sum of BSON document sizes             */
    const char *digest; /* the digest's text form (swefreq/digest.h):
                           "lthash16-1024/sha256-chacha20:<base64>"
                           (format 2, 2.7 KB) or 32 hex digits
                           (format 1); valid while the manifest lives */
    char fingerprint[33]; /* sfl_digest_fingerprint of it: the short
                             name that messages print          */
} sfl_manifest_collection_t;

/* Parses a manifest from JSON text / a file. NULL with err on failure
 * (SFL_E_MANIFEST naming the problem). */
SFL_API sfl_manifest_t *sfl_manifest_parse(const char *json, size_t len,
                                           sfl_error_t *err) SFL_WUR;
SFL_API sfl_manifest_t *sfl_manifest_read_file(const char *path,
                                               sfl_error_t *err) SFL_WUR;

/* Pretty JSON, malloc'd (free() it); NULL only when out of memory. */
SFL_API char *sfl_manifest_to_json(const sfl_manifest_t *m);

/* Writes the JSON to `path` in one step: a new file `.NAME.tmp.PID` in
 * the same folder, created with O_EXCL|O_NOFOLLOW (a link or file planted
 * at that name is refused with SFL_E_WRITE, never followed), fsynced, then
 * renamed over NAME (a symbolic link at NAME is replaced, its target never
 * written). To sign it too, sfl_manifest_write_file_signed (sign.h). */
SFL_API bool sfl_manifest_write_file(const sfl_manifest_t *m, const char *path,
                                     sfl_error_t *err) SFL_WUR;

SFL_API size_t sfl_manifest_n_sources(const sfl_manifest_t *m);
SFL_API const sfl_manifest_source_t *sfl_manifest_source(const sfl_manifest_t *m, size_t i);
SFL_API size_t sfl_manifest_n_collections(const sfl_manifest_t *m);
SFL_API const sfl_manifest_collection_t *sfl_manifest_collection(const sfl_manifest_t *m, size_t i);
/* NULL when the manifest has no such collection. */
SFL_API const sfl_manifest_collection_t *sfl_manifest_find_collection(const sfl_manifest_t *m,
                                                                      const char *name);
/* An option as recorded ("style", "histograms", "coverage_step", ...), as
 * text; NULL when absent. Valid while the manifest lives. */
SFL_API const char *sfl_manifest_option(const sfl_manifest_t *m, const char *name);

/* The manifest's "format_version": 2, or 1 for a manifest written before
 * format 2 (or a manifest in force that draws on such a load); 0 for
 * NULL. */
SFL_API int sfl_manifest_format_version(const sfl_manifest_t *m);
/* NULL for a format-2 manifest; for format 1 the warning every report
 * gives, which says "not forgery-resistant (format 1)". Static text. */
SFL_API const char *sfl_manifest_warning(const sfl_manifest_t *m);
/* The header of the manifest: when it was created (UTC, ISO 8601, e.g.
 * "2026-01-31T12:00:00Z"), and the name and version of the tool that wrote
 * it. NULL when absent (or m is NULL); valid while the manifest lives. */
SFL_API const char *sfl_manifest_created(const sfl_manifest_t *m);
SFL_API const char *sfl_manifest_tool_name(const sfl_manifest_t *m);
SFL_API const char *sfl_manifest_tool_version(const sfl_manifest_t *m);
/* The release a manifest names ("release": {number, database}, written
 * by an export given sfl_mongo_options_t.release_number; docs/manifest.md,
 * Releases): true with *number (from 1) and *database (valid while the
 * manifest lives); false, with 0 and NULL, when it names none (a load's
 * manifest, or one written before releases were numbered). Either output
 * may be NULL. Thread-safe on a manifest nobody modifies. */
SFL_API bool sfl_manifest_release(const sfl_manifest_t *m, uint64_t *number,
                                  const char **database);

/* The index definitions recorded for `collection`, as a JSON array of
 * {"key": {...}, "name": "..."} objects (docs/manifest.md), malloc'd
 * (free() it); "[]" when the collection records none; NULL when the
 * manifest has no such collection (or out of memory). */
SFL_API char *sfl_manifest_indexes_json(const sfl_manifest_t *m, const char *collection);

/* The regions a run read (--region, --regions-file; docs/manifest.md),
 * sorted by contig name as text, then start: 0-based, half-open; `end` is
 * -1 for a whole contig. None for a run that read whole files. `chrom` is
 * valid while the manifest lives. */
typedef struct {
    const char *chrom;
    int64_t start, end;
} sfl_manifest_region_t;
SFL_API size_t sfl_manifest_n_regions(const sfl_manifest_t *m);
SFL_API const sfl_manifest_region_t *sfl_manifest_region(const sfl_manifest_t *m, size_t i);

/* Accepts NULL. */
SFL_API void sfl_manifest_destroy(sfl_manifest_t *m);

#ifdef __cplusplus
}
#endif
#endif

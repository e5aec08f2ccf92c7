/* verify_internal.h: building verification reports (dump and database share
 * the comparison). Private to the library. */
#ifndef SFL_VERIFY_INTERNAL_H
#define SFL_VERIFY_INTERNAL_H

#include <stdio.h>

#include "swefreq/digest.h"
#include "swefreq/manifest.h"
#include "swefreq/verify.h"
#include "swefreq/sign.h"

sfl_verify_report_t *sfl_verify_report_new(void);
/* The manifest checked against: its format goes in the report, and a
 * format-1 manifest's warning among its warnings (sfl_verify_add_warning).
 * False when out of memory. */
bool sfl_verify_set_manifest(sfl_verify_report_t *r, const sfl_manifest_t *m);
/* Records collection `name`: `found` false = absent; else its recomputed
 * digest (count inside), compared with the manifest's entry. */
bool sfl_verify_add_collection(sfl_verify_report_t *r, const sfl_manifest_collection_t *expected,
                               bool found, const sfl_digest_t *actual);
/* A database's index `coll`.`index`: ok, missing or differing. */
bool sfl_verify_add_index(sfl_verify_report_t *r, const char *coll, const char *index,
                          sfl_verify_status_t status);

/* sfl_verify_add_index, and for a difference with a reason (`what`, from
 * index_check.c) a warning naming the index, `where` it was found (the
 * database, or a dump's metadata file) and why. */
bool sfl_verify_add_index_found(sfl_verify_report_t *r, const char *coll, const char *index,
                                sfl_verify_status_t status, const char *what, const char *where);
/* A database's role and seal; `problem` (copied; NULL if none) makes the
 * report fail. */
bool sfl_verify_set_state(sfl_verify_report_t *r, int role, bool sealed, const char *problem);
/* The release check of a verify against a signed manifest (copied; a
 * `problem` makes the report fail). False when out of memory. */
bool sfl_verify_set_release(sfl_verify_report_t *r, const sfl_release_check_t *c);
/* The dump folder: OUT/DB, or with db NULL, OUT itself when it holds a
 * dump, else its one subfolder that does (swefreq/verify.h). malloc'd. */
char *sfl_dump_folder(const char *out, const char *db, sfl_error_t *err);

/* sfl_manifest_read_signed (sign.c) that also hands back, with bytes and
 * n_bytes both non-NULL, the very bytes it checked and parsed: malloc'd
 * and NUL-terminated, the caller frees them (NULL/0 on failure). */
sfl_manifest_t *sfl_manifest_read_signed_bytes(const char *path, const sfl_trusted_keys_t *t,
                                               sfl_signature_info_t *info, char **bytes,
                                               size_t *n_bytes, sfl_error_t *err);

/* Reads the manifest file `path` once, as sfl_manifest_read_signed reads
 * one (a regular file, never through a symbolic link, at most the size of
 * a manifest) and compares its bytes with data[0..len) (those of the file
 * `against`, named in the message): true when byte-identical. False with
 * SFL_E_MISMATCH (SFL_DOMAIN_VERIFY) when they differ, or with the read's
 * error (SFL_E_MANIFEST) when it cannot be read (sign.c). */
bool sfl_manifest_file_same(const char *path, const char *data, size_t len, const char *against,
                            sfl_error_t *err);
/* A browser collection (database) or a dump file (by file name) that the
 * manifest does not list, with its document count (0 for a file). */
bool sfl_verify_add_unlisted(sfl_verify_report_t *r, const char *name, uint64_t count);
/* What the report checked against (sfl_verify_reference_t); all copied. */
bool sfl_verify_set_reference(sfl_verify_report_t *r, const char *source, const char *path,
                              const char *const *load_ids, size_t n_load_ids);
/* The same for a manifest the caller gave: "file" and its path when it was
 * read from a file, else "caller". */
bool sfl_verify_set_given(sfl_verify_report_t *r, const sfl_manifest_t *m);
/* A warning that does not fail the report (copied). */
bool sfl_verify_add_warning(sfl_verify_report_t *r, const char *msg);
/* Opens `file` (a bare name) in the dump folder open as `dfd` (named `dir`
 * in messages) for reading: a regular file only, never through a symbolic
 * link, so that nothing outside the folder is read. NULL with *absent true
 * when there is no such file; NULL with err (SFL_E_OPEN) when it is a
 * link, not a regular file, or unreadable. */
FILE *sfl_dump_open(int dfd, const char *dir, const char *file, bool *absent, sfl_error_t *err);
/* Re-hashes every source of the manifest. */
bool sfl_verify_sources(sfl_verify_report_t *r, const sfl_manifest_t *m, sfl_error_t *err);

#endif

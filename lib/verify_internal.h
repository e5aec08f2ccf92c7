/* verify_internal.h: building verification reports (dump and database share
 * the comparison). Private to the library. */
#ifndef SFL_VERIFY_INTERNAL_H
#define SFL_VERIFY_INTERNAL_H

#include "swefreq/digest.h"
#include "swefreq/manifest.h"
#include "swefreq/verify.h"

sfl_verify_report_t *sfl_verify_report_new(void);
/* The manifest checked against: its format and warning go in the report. */
void sfl_verify_set_manifest(sfl_verify_report_t *r, const sfl_manifest_t *m);
/* Records collection `name`: `found` false = absent; else its recomputed
 * digest (count inside), compared with the manifest's entry. */
bool sfl_verify_add_collection(sfl_verify_report_t *r, const sfl_manifest_collection_t *expected,
                               bool found, const sfl_digest_t *actual);
/* A database's index `coll`.`index`: ok, missing or differing. */
bool sfl_verify_add_index(sfl_verify_report_t *r, const char *coll, const char *index,
                          sfl_verify_status_t status);
/* A database's role and seal; `problem` (copied; NULL if none) makes the
 * report fail. */
bool sfl_verify_set_state(sfl_verify_report_t *r, int role, bool sealed, const char *problem);
/* The dump folder: OUT/DB, or with db NULL, OUT itself when it holds a
 * dump, else its one subfolder that does (swefreq/verify.h). malloc'd. */
char *sfl_dump_folder(const char *out, const char *db, sfl_error_t *err);
/* Re-hashes every source of the manifest. */
bool sfl_verify_sources(sfl_verify_report_t *r, const sfl_manifest_t *m);

#endif

/* lifecycle_internal.h: the role record, for the commands that write
 * (load, restore, recover, promote, unseal) and for verify. Private to the
 * library; see lifecycle.c. */
#ifndef SFL_LIFECYCLE_INTERNAL_H
#define SFL_LIFECYCLE_INTERNAL_H

#include <mongoc/mongoc.h>

#include "swefreq/swefreq.h"

#define SFL_ROLE_ID "role" /* _id of the role record in swefreq_meta */

/* Reads the role record ({_id: "role"}); role NONE when there is none. */
bool sfl_role_read(mongoc_client_t *c, const char *db, sfl_role_info_t *out, sfl_error_t *err);

/* The check every command makes first: the role record is read; a role
 * other than `expect` (when not NONE) is SFL_E_ROLE; with `writes`, a
 * sealed database is SFL_E_SEALED (naming the database, its role, and
 * when and how it was sealed). `command` names the refused command. The
 * record read goes to *out (may be NULL). */
bool sfl_role_gate(mongoc_client_t *c, const char *db, sfl_role_t expect, bool writes,
                   const char *command, sfl_role_info_t *out, sfl_error_t *err);

/* What a manifest claims to be (docs/deploy.md, Replays): its release
 * (number 0 = names none, database) and its manifest digest. */
typedef struct {
    uint64_t number;
    char database[64];
    char digest[65];
} sfl_release_claim_t;

void sfl_release_claim_of(const sfl_manifest_t *m, sfl_release_claim_t *out);

/* restore's and promote's check of a release against the role record `r`
 * of `db`: SFL_E_RELEASE, naming both releases, when the claim is for
 * another database, older than the release r records, the same number
 * with another manifest digest, or names no release while r records one.
 * `command` names the refused command. */
bool sfl_release_check(const sfl_role_info_t *r, const char *db, const sfl_release_claim_t *c,
                       const char *command, sfl_error_t *err);

/* Gives a database without a role record its first role (`role`, else
 * `expect`, else development), recorded in the history with `command`.
 * A database that has one keeps it; an explicit `role` that differs from
 * it is SFL_E_ROLE. */
bool sfl_role_ensure(mongoc_client_t *c, const char *db, sfl_role_t role, sfl_role_t expect,
                     const char *command, sfl_error_t *err);

/* recover's check: the expected role; on a sealed database, recover runs
 * only when it has nothing to write (*skip true), and is refused
 * (SFL_E_SEALED) when there is an unfinished swap, staging or a load
 * still marked loading. */
bool sfl_recover_gate(mongoc_client_t *c, const char *db, sfl_role_t expect, bool *skip,
                      sfl_error_t *err);

/* Names what a MongoDB sink does in its lock and load record ("restore")
 * and where its documents come from (`origin`, copied; may be NULL). */
bool sfl_sink_mongo_set_command(sfl_sink_t *sink, const char *command, const char *origin);

/* Records in a MongoDB sink's load record the release it restores:
 * `release: {signer_key_id (NULL/"" = unsigned), manifest_sha256}`. */
bool sfl_sink_mongo_set_release(sfl_sink_t *sink, const char *key_id, const char *sha256);

/* Makes a MongoDB sink check, under the load lock and before it writes,
 * the release `c` against the role record (sfl_release_check); `c` is
 * copied. */
void sfl_sink_mongo_set_claim(sfl_sink_t *sink, const sfl_release_claim_t *c);

/* The verify of a database on a connected client (mongo/verify.c):
 * swap check, collections, indexes; with m NULL, the load in force. */
sfl_verify_report_t *sfl_verify_mongo_client(mongoc_client_t *c, const sfl_manifest_t *m,
                                             const char *db, bool check_sources,
                                             sfl_error_t *err);

#endif

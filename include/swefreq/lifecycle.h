/* swefreq/lifecycle.h: the deployment lifecycle of a database: its role
 * (development or live) and seal, promote, unseal, status, export and
 * restore.
 *
 * SweFreq runs two systems that never talk to each other, each with its
 * own MongoDB server. A database is loaded and tested as `development`,
 * moved to the other system as files (sfl_mongo_export, then
 * sfl_mongo_restore there; or the server's volume is cloned), and becomes
 * `live` by sfl_mongo_promote: a full verify against a manifest file kept
 * outside the database, then the role `live` and the seal. A sealed
 * database refuses every command that writes (load, restore, recover when
 * it would write, promote) with SFL_E_SEALED before it writes anything;
 * only sfl_mongo_unseal, with a reason, lifts the seal.
 *
 * The role record is {_id: "role"} in the database's swefreq_meta:
 *   {role: "development"|"live", sealed, changed, changed_by, sealed_at,
 *    sealed_by: {command, version, host}, manifest_digest,
 *    signer_key_id, manifest_sha256,
 *    history: [{when, command, version, host, role, sealed,
 *               manifest_digest, signer_key_id, manifest_sha256, reason}]}
 * A database gets it at its first load or restore (options.role, else
 * options.expect_role, else development).
 *
 * options.expect_role (every function here, loads and sfl_verify_mongo_opts)
 * is checked first: the role record is the first thing read, and a
 * database of another role is refused with SFL_E_ROLE before any other
 * read or write. A database without a role record (new, or loaded by an
 * older version) matches any expected role.
 *
 * All functions connect with options.uri for the call and disconnect
 * before they return; they never print (messages go to options.log).
 * Distinct calls may run concurrently; the ones that write take the
 * database's load lock (swefreq/mongo.h), so they never overlap a load.
 */
#ifndef SWEFREQ_LIFECYCLE_H
#define SWEFREQ_LIFECYCLE_H

#include "swefreq/mongo.h"
#include "swefreq/sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SFL_ROLE_NONE = 0,        /* no role record (a new database)  */
    SFL_ROLE_DEVELOPMENT = 1,
    SFL_ROLE_LIVE = 2
} sfl_role_t;

/* "none", "development", "live"; "unknown" for an out-of-range value (the
 * rule of every enum name function: never NULL). */
SFL_API const char *sfl_role_name(sfl_role_t r);
/* "development" or "live" (also "dev"); false for anything else. */
SFL_API bool sfl_role_parse(const char *name, sfl_role_t *out);

/* The role record, as read. Times are ms since the epoch; 0 = never. */
typedef struct {
    size_t struct_size;        /* sizeof(sfl_role_info_t): see export.h  */
    sfl_role_t role;
    bool sealed;
    int64_t changed_ms;        /* the last role change                  */
    char changed_by[32];       /* its command: load, restore, promote... */
    int64_t sealed_ms;         /* when sealed; 0 when not sealed        */
    char sealed_by[32];        /* the command that sealed it            */
    char sealed_version[32];   /* and its version                       */
    char sealed_host[128];     /* and where it ran                      */
    char manifest_digest[65];  /* recorded by the last promote; ""      */
    /* The release the last promote was given (sfl_mongo_promote_signed):
     * the id of the trusted key that signed the manifest file, and the
     * SHA-256 of that file's bytes; "" when it was not signed/known. */
    char signer_key_id[65];
    char manifest_sha256[65];
    /* The newest release promoted (the manifest's "release"; 0 and "" when
     * none named one). unseal and demote keep it; restore and promote
     * refuse (SFL_E_RELEASE) an older one, the same number with other
     * data, a manifest naming no release, or one for another database. */
    uint64_t release_number;
    char release_database[64];
} sfl_role_info_t;

/* Reads the role record of o->db into *out (role NONE when there is
 * none); out->struct_size must be set (SFL_FILLED_HAS in export.h); out
 * may be NULL. Checks o->expect_role like every other function. */
SFL_API bool sfl_mongo_role_get(const sfl_mongo_options_t *o, sfl_role_info_t *out,
                                sfl_error_t *err) SFL_WUR;

/* The digest of a manifest's data, the one recorded by promote: SHA-256,
 * as 64 hex digits, of its canonical rendering: the line
 * "swefreq-load-manifest <format_version>\n", then for each collection, in
 * the manifest's order, "<name> <count> <bytes> <digest>\n" (the digest's
 * full text form). Sources and times do not enter it: a dump, a restore
 * and an export of the same data have the same manifest digest. ("" only
 * when out of memory.) */
SFL_API void sfl_manifest_digest(const sfl_manifest_t *m, char out[65]);

/* The birth of a live database: takes the lock, verifies o->db fully
 * against `m` (a manifest file, never the copy inside the database):
 * counts, digests and indexes, with `check_sources` the source files too;
 * then records the role live, sealed, with the manifest's digest, in the
 * role record and its history. A difference: SFL_E_MISMATCH and nothing
 * changed. A sealed database: SFL_E_SEALED. *report (may be NULL) receives
 * the verify report when verification ran (the caller destroys it). */
SFL_API bool sfl_mongo_promote(const sfl_mongo_options_t *o, const sfl_manifest_t *m,
                               bool check_sources, sfl_verify_report_t **report,
                               sfl_error_t *err) SFL_WUR;

/* sfl_mongo_promote for a manifest read with sfl_manifest_read_signed:
 * `sig` (may be NULL: nothing known) is recorded with the seal, in the
 * role record (signer_key_id, manifest_sha256: null when unknown) and its
 * history, so that the nightly verify (sfl_verify_mongo_signed) can prove
 * that the manifest it is given is the one released. The role and seal
 * read are set in *report (sfl_verify_report_role). */
SFL_API bool sfl_mongo_promote_signed(const sfl_mongo_options_t *o, const sfl_manifest_t *m,
                                      const sfl_signature_info_t *sig, bool check_sources,
                                      sfl_verify_report_t **report, sfl_error_t *err) SFL_WUR;

/* Returns a live database to development, unsealed (a database promoted
 * by mistake), recording `reason` (required, non-empty: SFL_E_USAGE) in
 * the history with the command "demote". Takes the lock. SFL_E_USAGE on a
 * database that is not live. Never called implicitly. */
SFL_API bool sfl_mongo_demote(const sfl_mongo_options_t *o, const char *reason,
                              sfl_error_t *err) SFL_WUR;

/* Lifts the seal (the role stays), recording `reason` (required,
 * non-empty) in the history. SFL_E_USAGE on a database that is not
 * sealed. Never called implicitly. */
SFL_API bool sfl_mongo_unseal(const sfl_mongo_options_t *o, const char *reason,
                              sfl_error_t *err) SFL_WUR;

/* The database's state as one JSON object (docs/deploy.md): role and seal,
 * role history, every load record (state, times, sources, digests), the
 * load in force and its manifest, the lock. Never writes. malloc'd; free()
 * it. NULL with err. */
SFL_API char *sfl_mongo_status_json(const sfl_mongo_options_t *o, sfl_error_t *err) SFL_WUR;
/* The same for a person: role and seal, the load in force, the lock, the
 * role history and one entry per load. malloc'd; free() it. */
SFL_API char *sfl_mongo_status_text(const sfl_mongo_options_t *o, sfl_error_t *err) SFL_WUR;

/* sfl_verify_mongo with options: o->expect_role is checked first (a
 * database of another role: SFL_E_ROLE, nothing read), the role and seal
 * are reported (sfl_verify_report_role), and with expect_role live a
 * database that is not sealed makes the report fail. Indexes and
 * collections are checked as in sfl_verify_mongo. A live or sealed
 * database checked (m NULL) only against its own copy of the manifest
 * gets a warning in the report (sfl_verify_report_warning): whoever can
 * rewrite its data can rewrite that copy too. */
SFL_API sfl_verify_report_t *sfl_verify_mongo_opts(const sfl_mongo_options_t *o,
                                                   const sfl_manifest_t *m, bool check_sources,
                                                   sfl_error_t *err) SFL_WUR;

/* sfl_verify_mongo_opts against a manifest read with
 * sfl_manifest_read_signed. When `sig` says a trusted key verified it,
 * the report also compares (sfl_verify_report_release) its signer and
 * SHA-256 with the release the database recorded at promote: on a sealed
 * database, or one that recorded a release, any difference (another
 * manifest, another signer, nothing recorded) makes the report fail.
 * sig NULL or not verified: as sfl_verify_mongo_opts. */
SFL_API sfl_verify_report_t *sfl_verify_mongo_signed(const sfl_mongo_options_t *o,
                                                     const sfl_manifest_t *m,
                                                     const sfl_signature_info_t *sig,
                                                     bool check_sources,
                                                     sfl_error_t *err) SFL_WUR;

/* The role and seal a database verify read; `problem` (may be NULL)
 * receives the reason the role or seal failed the report, or NULL (valid
 * as long as the report). False for a dump's report. */
SFL_API bool sfl_verify_report_role(const sfl_verify_report_t *r, sfl_role_t *role,
                                    bool *sealed, const char **problem);

/* Loads a dump (of `dump` or `export`) into o->db through the same path
 * as a load (swefreq/mongo.h): the role check, the lock, staging
 * collections filled by o->insert_threads acknowledged batches, the
 * browser's indexes, a verifying scan of the staging against the dump's
 * manifest.json, the journalled swap and a load record (command
 * "restore"). With o->trusted_keys holding keys, the dump's
 * manifest.json must carry a valid signature of one of them
 * (manifest.json.sig): else SFL_E_SIGNATURE before anything is written;
 * the signer and the manifest's SHA-256 go into the load record
 * (`release: {signer_key_id, manifest_sha256}`). `dump_dir` is the folder holding manifest.json and the
 * .bson files, or its parent when that holds exactly one such folder. A
 * dump that differs from its manifest is refused (SFL_E_MISMATCH) before
 * the swap; the browser's collections are then unchanged. The manifest is
 * read once, into memory, before anything connects: the signature, the
 * release, the prescan of every document and the staging check before
 * the swap all use that one reading. With o->restore_manifest it is that
 * file (its signature FILE.sig), read in place of the dump's
 * manifest.json, which must then be FILE byte for byte (read once too,
 * never through a link): else SFL_E_MISMATCH (SFL_DOMAIN_VERIFY) before
 * anything is written, so a dump replaced after the caller checked FILE
 * is not installed. */
SFL_API bool sfl_mongo_restore(const sfl_mongo_options_t *o, const char *dump_dir,
                               sfl_error_t *err) SFL_WUR;

/* The same in steps, for a caller that must be able to stop it (a signal
 * handler): _new finds the dump, reads its manifest and connects (NULL
 * with err; o's strings are copied, o->log_ud is kept until _destroy); _run restores (once); _cancel, async-signal-safe and callable
 * from any thread, makes a running restore stop as a cancelled load does
 * (SFL_E_CANCELLED; before the swap the staging is dropped, the record
 * says "interrupted" and the browser's collections are unchanged; once
 * the swap has begun it finishes first); _outcome says what happened to
 * the browser's collections; _manifest is the dump's manifest (valid until
 * _destroy; its sfl_manifest_warning is also logged as a warning by _run);
 * _destroy accepts NULL. */
typedef struct sfl_restore sfl_restore_t;
SFL_API sfl_restore_t *sfl_mongo_restore_new(const sfl_mongo_options_t *o, const char *dump_dir,
                                             sfl_error_t *err) SFL_WUR;
SFL_API bool sfl_mongo_restore_run(sfl_restore_t *r, sfl_error_t *err) SFL_WUR;
SFL_API void sfl_mongo_restore_cancel(sfl_restore_t *r);
SFL_API sfl_mongo_outcome_t sfl_mongo_restore_outcome(const sfl_restore_t *r);
SFL_API const sfl_manifest_t *sfl_mongo_restore_manifest(const sfl_restore_t *r);
SFL_API void sfl_mongo_restore_destroy(sfl_restore_t *r);

/* Writes o->db's browser collections as a mongorestore-compatible dump
 * into OUT_DIR/DB (as sfl_sink_dump_new names it): <coll>.bson (one cursor
 * per collection, in parallel), <coll>.metadata.json with the indexes on
 * the server, and manifest.json (the manifest of the load in force). The
 * files are written into a hidden folder OUT_DIR/.DB.export-PID and
 * digested as they are written; only when every collection's count and
 * digest equal the manifest is it renamed to OUT_DIR/DB (replacing an
 * earlier export), else it is removed and SFL_E_MISMATCH says which
 * collection changed (a write before or during the export). Never writes
 * to the database. A manifest in force of format 1 is logged as a warning
 * (sfl_manifest_warning). */
SFL_API bool sfl_mongo_export(const sfl_mongo_options_t *o, const char *out_dir,
                              sfl_error_t *err) SFL_WUR;
/* The same with progress and cancellation (`ctl` may be NULL; see
 * sfl_run_control_t in job.h): a cancelled export fails with
 * SFL_E_CANCELLED and leaves no dump under the final names (an earlier
 * one stays). */
SFL_API bool sfl_mongo_export_ctl(const sfl_mongo_options_t *o, const char *out_dir,
                                  const sfl_run_control_t *ctl, sfl_error_t *err) SFL_WUR;
/* The same, and manifest.json is signed with `key` (swefreq/sign.h; NULL:
 * unsigned, as sfl_mongo_export_ctl): the signature over the exact bytes
 * written is manifest.json.sig, written into the hidden folder beside the
 * manifest, so the two are published together by the one rename and
 * nothing is signed by path afterwards. Every file of the hidden folder
 * (created 0700, opened once) is created with O_EXCL|O_NOFOLLOW relative
 * to it, and the export refuses (SFL_E_WRITE) to publish when the entry at
 * the hidden name is no longer that folder. `key` is borrowed. */
struct sfl_signing_key;
SFL_API bool sfl_mongo_export_signed(const sfl_mongo_options_t *o, const char *out_dir,
                                     const sfl_run_control_t *ctl,
                                     const struct sfl_signing_key *key, sfl_error_t *err) SFL_WUR;

#ifdef __cplusplus
}
#endif
#endif

/* lifecycle.c: a database's role and seal, promote, unseal and status.
 *
 * The design: one document, {_id: "role"} in swefreq_meta, holds the role
 * (development or live), the seal and the history of every change (see
 * swefreq/lifecycle.h for its shape). Every command that touches a server
 * reads it first (sfl_role_gate): the expected role is checked before any
 * other read or write, and a command that writes is refused on a sealed
 * database before it writes anything. The commands that change it
 * (promote, unseal) hold the database's load lock (mongo/state.c) while
 * they do, so a role change never overlaps a load; and a load re-checks
 * the seal once it holds the lock, so a promote that sealed the database
 * in between is not overrun.
 *
 * Status only reads: the role record, the load records, the pointer to the
 * load in force and the lock, as one JSON object.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest_internal.h"
#include "filled.h"
#include "grow.h"
#include "mongo/lifecycle_internal.h"
#include "log.h"
#include "mongo/in_force.h"
#include "manifest_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"
#include "verify_internal.h"

/* SHA-256 of the manifest's canonical rendering (docs/deploy.md):
 *   "swefreq-load-manifest <format_version>\n", then for each collection,
 *   in the manifest's order, "<name> <count> <bytes> <digest text>\n". */
void sfl_manifest_digest(const sfl_manifest_t *m, char out[65])
{
    out[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    fprintf(f, "%s %d\n", SFL_MANIFEST_FORMAT, sfl_manifest_format_version(m));
    for (size_t i = 0; m && i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *e = sfl_manifest_collection(m, i);
        fprintf(f, "%s %llu %llu %s\n", e->name, (unsigned long long)e->count,
                (unsigned long long)e->bytes, e->digest);
    }
    unsigned char h[32];
    if (fclose(f) == 0 && sfl_sha256(text, len, h))
        sfl_hex(h, 32, out);
    free(text);
}

/* ---- the role record ------------------------------------------------------ */

static void copy_str(const bson_t *d, const char *path, char *out, size_t n)
{
    bson_iter_t it, f;
    out[0] = '\0';
    if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, path, &f) &&
        BSON_ITER_HOLDS_UTF8(&f))
        snprintf(out, n, "%s", bson_iter_utf8(&f, NULL));
}

static int64_t get_time(const bson_t *d, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_DATE_TIME(&it))
        return bson_iter_date_time(&it);
    return 0;
}

bool sfl_role_read(mongoc_client_t *c, const char *db, sfl_role_info_t *out, sfl_error_t *err)
{
    memset(out, 0, sizeof *out);
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", SFL_ROLE_ID);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, &filter, NULL, NULL);
    const bson_t *doc;
    bson_error_t be;
    bool ok = true;
    if (mongoc_cursor_next(cur, &doc)) {
        char role[32];
        copy_str(doc, "role", role, sizeof role);
        if (!sfl_role_parse(role, &out->role))
            ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_ROLE,
                               "%s.%s: the role record names an unknown role '%s'", db,
                               SFL_META_COLLECTION, role);
        bson_iter_t it;
        out->sealed = bson_iter_init_find(&it, doc, "sealed") && BSON_ITER_HOLDS_BOOL(&it) &&
                      bson_iter_bool(&it);
        out->changed_ms = get_time(doc, "changed");
        copy_str(doc, "changed_by", out->changed_by, sizeof out->changed_by);
        if (out->sealed) {
            out->sealed_ms = get_time(doc, "sealed_at");
            copy_str(doc, "sealed_by.command", out->sealed_by, sizeof out->sealed_by);
            copy_str(doc, "sealed_by.version", out->sealed_version, sizeof out->sealed_version);
            copy_str(doc, "sealed_by.host", out->sealed_host, sizeof out->sealed_host);
        }
        copy_str(doc, "manifest_digest", out->manifest_digest, sizeof out->manifest_digest);
        copy_str(doc, "signer_key_id", out->signer_key_id, sizeof out->signer_key_id);
        copy_str(doc, "manifest_sha256", out->manifest_sha256, sizeof out->manifest_sha256);
        copy_str(doc, "release_database", out->release_database, sizeof out->release_database);
        if (bson_iter_init_find(&it, doc, "release_number") && BSON_ITER_HOLDS_INT64(&it) &&
            bson_iter_int64(&it) > 0)
            out->release_number = (uint64_t)bson_iter_int64(&it);
    } else if (mongoc_cursor_error(cur, &be)) {
        ok = sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    mongoc_collection_destroy(m);
    return ok;
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!ms || !gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "?");
}

bool sfl_role_gate(mongoc_client_t *c, const char *db, sfl_role_t expect, bool writes,
                   const char *command, sfl_role_info_t *out, sfl_error_t *err)
{
    sfl_role_info_t local;
    sfl_role_info_t *r = out ? out : &local;
    if (!sfl_role_read(c, db, r, err))
        return false;
    if (expect != SFL_ROLE_NONE && r->role != SFL_ROLE_NONE && r->role != expect)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_ROLE,
                             "%s is a %s database%s, not %s as expected "
                             "(sfl_mongo_options_t.expect_role): %s refused before reading or writing "
                             "anything. Is this the other system's server?",
                             db, sfl_role_name(r->role), r->sealed ? " (sealed)" : "",
                             sfl_role_name(expect), command);
    if (writes && r->sealed) {
        char when[32];
        fmt_time(r->sealed_ms, when, sizeof when);
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SEALED,
                             "%s is sealed: role %s, sealed at %s by `%s` (swefreq-load %s on "
                             "host %s, manifest digest %s); %s refused before writing anything. "
                             "A sealed database changes only after it is unsealed, with a "
                             "reason (sfl_mongo_unseal)",
                             db, sfl_role_name(r->role), when,
                             r->sealed_by[0] ? r->sealed_by : "?",
                             r->sealed_version[0] ? r->sealed_version : "?",
                             r->sealed_host[0] ? r->sealed_host : "?",
                             r->manifest_digest[0] ? r->manifest_digest : "?", command);
    }
    return true;
}

static void append_or_null(bson_t *d, const char *key, const char *v)
{
    if (v && *v)
        BSON_APPEND_UTF8(d, key, v);
    else
        BSON_APPEND_NULL(d, key);
}

/* A history entry; `digest`, `sig` and `reason` may be NULL. */
static void history_entry(bson_t *e, int64_t now, const char *command, sfl_role_t role,
                          bool sealed, const char *digest, const sfl_signature_info_t *sig,
                          const char *reason)
{
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "?");
    BSON_APPEND_DATE_TIME(e, "when", now);
    BSON_APPEND_UTF8(e, "command", command);
    BSON_APPEND_UTF8(e, "tool", "swefreq-load");
    BSON_APPEND_UTF8(e, "version", sfl_version());
    BSON_APPEND_UTF8(e, "host", host);
    BSON_APPEND_UTF8(e, "role", sfl_role_name(role));
    BSON_APPEND_BOOL(e, "sealed", sealed);
    if (digest && *digest)
        BSON_APPEND_UTF8(e, "manifest_digest", digest);
    else
        BSON_APPEND_NULL(e, "manifest_digest");
    if (sig) {
        append_or_null(e, "signer_key_id", sig->verified ? sig->key_id : NULL);
        append_or_null(e, "manifest_sha256", sig->manifest_sha256);
    }
    if (reason)
        BSON_APPEND_UTF8(e, "reason", reason);
}

/* The role, seal and last change of a role record update. */
static void role_fields(bson_t *set, const char *command, sfl_role_t role, bool sealed,
                        int64_t now)
{
    BSON_APPEND_UTF8(set, "role", sfl_role_name(role));
    BSON_APPEND_BOOL(set, "sealed", sealed);
    BSON_APPEND_DATE_TIME(set, "changed", now);
    BSON_APPEND_UTF8(set, "changed_by", command);
    if (sealed) {
        char host[128] = "";
        if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "?");
        bson_t by;
        BSON_APPEND_DATE_TIME(set, "sealed_at", now);
        BSON_APPEND_DOCUMENT_BEGIN(set, "sealed_by", &by);
        BSON_APPEND_UTF8(&by, "command", command);
        BSON_APPEND_UTF8(&by, "version", sfl_version());
        BSON_APPEND_UTF8(&by, "host", host);
        bson_append_document_end(set, &by);
    }
}

/* Sets the role and seal, and appends to the history. With `sig` (a
 * promote), the release is recorded: signer_key_id and manifest_sha256
 * (null when unknown); without, they stay as they were. A `claim` naming
 * a release (promote) records release_number and release_database; they
 * are never cleared (unseal and demote keep them). */
static bool role_set_release(mongoc_client_t *c, const char *db, const char *command,
                             sfl_role_t role, bool sealed, const char *digest,
                             const sfl_signature_info_t *sig, const sfl_release_claim_t *claim,
                             const char *reason, sfl_error_t *err)
{
    int64_t now = sfl_now_ms();
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, push, e, opts = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&sel, "_id", SFL_ROLE_ID);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
    role_fields(&set, command, role, sealed, now);
    if (digest && *digest)
        BSON_APPEND_UTF8(&set, "manifest_digest", digest);
    if (sig) {
        append_or_null(&set, "signer_key_id", sig->verified ? sig->key_id : NULL);
        append_or_null(&set, "manifest_sha256", sig->manifest_sha256);
    }
    if (claim && claim->number) {
        BSON_APPEND_INT64(&set, "release_number", (int64_t)claim->number);
        BSON_APPEND_UTF8(&set, "release_database", claim->database);
    }
    bson_append_document_end(&upd, &set);
    BSON_APPEND_DOCUMENT_BEGIN(&upd, "$push", &push);
    BSON_APPEND_DOCUMENT_BEGIN(&push, "history", &e);
    history_entry(&e, now, command, role, sealed, digest, sig, reason);
    if (claim && claim->number)
        BSON_APPEND_INT64(&e, "release_number", (int64_t)claim->number);
    bson_append_document_end(&push, &e);
    bson_append_document_end(&upd, &push);
    BSON_APPEND_BOOL(&opts, "upsert", true);
    bson_error_t be;
    bool ok = mongoc_collection_update_one(m, &sel, &upd, &opts, NULL, &be);
    bson_destroy(&sel);
    bson_destroy(&upd);
    bson_destroy(&opts);
    mongoc_collection_destroy(m);
    return ok || sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
}

/* Without a release (unseal, demote). */
static bool role_set(mongoc_client_t *c, const char *db, const char *command, sfl_role_t role,
                     bool sealed, const char *digest, const sfl_signature_info_t *sig,
                     const char *reason, sfl_error_t *err)
{
    return role_set_release(c, db, command, role, sealed, digest, sig, NULL, reason, err);
}

void sfl_release_claim_of(const sfl_manifest_t *m, sfl_release_claim_t *out)
{
    memset(out, 0, sizeof *out);
    const char *db = NULL;
    if (sfl_manifest_release(m, &out->number, &db))
        snprintf(out->database, sizeof out->database, "%s", db);
    sfl_manifest_digest(m, out->digest);
}

bool sfl_release_check(const sfl_role_info_t *r, const char *db, const sfl_release_claim_t *c,
                       const char *command, sfl_error_t *err)
{
    if (c->number && strcmp(c->database, db) != 0)
        return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_RELEASE,
                             "the manifest is release %llu of database %s, not of %s: %s "
                             "refused before writing anything",
                             (unsigned long long)c->number, c->database, db, command);
    if (!r->release_number)
        return true;
    const char *why = NULL;
    if (!c->number)
        why = "names no release number";
    else if (c->number < r->release_number)
        why = "is an older release";
    else if (c->number == r->release_number && strcmp(c->digest, r->manifest_digest) != 0)
        why = "has the same release number but other data (another manifest digest)";
    if (!why)
        return true;
    char mine[32] = "none";
    if (c->number)
        snprintf(mine, sizeof mine, "%llu", (unsigned long long)c->number);
    return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_RELEASE,
                         "the manifest (release %s, manifest digest %s) %s, while %s records "
                         "release %llu of %s (manifest digest %s): %s refused before writing "
                         "anything; only a newer release replaces it (a replay of an older "
                         "signed release is refused)",
                         mine, c->digest, why, db, (unsigned long long)r->release_number,
                         r->release_database[0] ? r->release_database : "?",
                         r->manifest_digest[0] ? r->manifest_digest : "?", command);
}

bool sfl_role_ensure(mongoc_client_t *c, const char *db, sfl_role_t role, sfl_role_t expect,
                     const char *command, sfl_error_t *err)
{
    sfl_role_info_t r;
    if (!sfl_role_read(c, db, &r, err))
        return false;
    if (r.role != SFL_ROLE_NONE) {
        if (role != SFL_ROLE_NONE && role != r.role)
            return sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_ROLE,
                                 "%s is already a %s database; the role %s "
                                 "(sfl_mongo_options_t.role) only names the role of a new "
                                 "database (promote makes a database live)",
                                 db, sfl_role_name(r.role), sfl_role_name(role));
        return true;
    }
    sfl_role_t first = role != SFL_ROLE_NONE     ? role
                       : expect != SFL_ROLE_NONE ? expect
                                                 : SFL_ROLE_DEVELOPMENT;
    /* Insert, so that two first loads cannot both write a history: the
     * loser of the race finds the record on its next read. Under the lock
     * there is no race; this is belt and braces. */
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t doc = BSON_INITIALIZER, arr, e;
    int64_t now = sfl_now_ms();
    BSON_APPEND_UTF8(&doc, "_id", SFL_ROLE_ID);
    BSON_APPEND_UTF8(&doc, "role", sfl_role_name(first));
    BSON_APPEND_BOOL(&doc, "sealed", false);
    BSON_APPEND_DATE_TIME(&doc, "changed", now);
    BSON_APPEND_UTF8(&doc, "changed_by", command);
    BSON_APPEND_ARRAY_BEGIN(&doc, "history", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &e);
    history_entry(&e, now, command, first, false, NULL, NULL, NULL);
    bson_append_document_end(&arr, &e);
    bson_append_array_end(&doc, &arr);
    bson_error_t be;
    bool ok = mongoc_collection_insert_one(m, &doc, NULL, NULL, &be);
    bson_destroy(&doc);
    mongoc_collection_destroy(m);
    if (!ok && be.code != 11000 && !strstr(be.message, "duplicate key"))
        return sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    return true;
}

bool sfl_recover_gate(mongoc_client_t *c, const char *db, sfl_role_t expect, bool *skip,
                      sfl_error_t *err)
{
    sfl_role_info_t r;
    *skip = false;
    if (!sfl_role_gate(c, db, expect, false, "recover", &r, err))
        return false;
    if (!r.sealed)
        return true;
    char id[48];
    int pending = sfl_swap_pending(c, db, id, err);
    if (pending < 0)
        return false;
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    bson_error_t be;
    char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &be);
    mongoc_database_destroy(d);
    if (!names)
        return sfl_mongo_error(err, &be, NULL, "listCollections");
    bool staging = false;
    for (char **n = names; *n; n++)
        staging = staging || !strncmp(*n, SFL_STAGING_PREFIX, strlen(SFL_STAGING_PREFIX));
    bson_strfreev(names);
    mongoc_collection_t *m = mongoc_client_get_collection(c, db, SFL_META_COLLECTION);
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "status", "loading");
    int64_t loading = mongoc_collection_count_documents(m, &filter, NULL, NULL, NULL, &be);
    bson_destroy(&filter);
    mongoc_collection_destroy(m);
    if (loading < 0)
        return sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    if (!pending && !staging && loading == 0) {
        *skip = true;
        return true;
    }
    /* There is something to write: refused like any write. */
    return sfl_role_gate(c, db, expect, true, "recover", NULL, err);
}

/* ---- the public operations ------------------------------------------------- */

typedef struct {
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    char lock_id[48];
    bool locked;
} conn_t;

/* Checks the caller's options and points *o at *full, their copy at this
 * library's size (sfl_mongo_options_full): only the copy is read after. */
static bool opts_ok(const sfl_mongo_options_t **op, sfl_mongo_options_t *full, const char *what,
                    sfl_error_t *err)
{
    if (!sfl_mongo_options_full(*op, full))
        *op = NULL;
    else
        *op = full;
    const sfl_mongo_options_t *o = *op;
    if (!o || !o->uri || !o->db || !*o->db)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s needs options from sfl_mongo_options_init with a URI and a "
                             "database",
                             what);
    if (o->expect_role < SFL_ROLE_NONE || o->expect_role > SFL_ROLE_LIVE || o->role < 0 ||
        o->role > SFL_ROLE_LIVE)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "%s: unknown role", what);
    return sfl_mongo_options_check(o, err);
}

static bool open_conn(const sfl_mongo_options_t *o, conn_t *k, sfl_error_t *err)
{
    memset(k, 0, sizeof *k);
    return sfl_mongo_connect(o->uri, 1, &k->pool, &k->c, err);
}

/* Takes the load lock for `command`, then checks the role and seal again:
 * the state cannot change under us from here. */
static bool lock_conn(const sfl_mongo_options_t *o, conn_t *k, const char *command,
                      sfl_role_info_t *r, sfl_error_t *err)
{
    sfl_mongo_load_id(k->lock_id);
    sfl_lock_request_t rq = {k->lock_id, command,
                             o->lock_stale_seconds > 0 ? o->lock_stale_seconds
                                                       : SFL_LOCK_STALE_SECONDS,
                             o->break_lock, o->log, o->log_ud};
    bool took;
    sfl_lock_holder_t prev;
    if (!sfl_lock_acquire(k->c, o->db, &rq, &took, &prev, err))
        return false;
    k->locked = true;
    return sfl_role_gate(k->c, o->db, (sfl_role_t)o->expect_role, true, command, r, err);
}

static void close_conn(const sfl_mongo_options_t *o, conn_t *k)
{
    if (k->locked)
        sfl_lock_release(k->c, o->db, k->lock_id);
    if (k->c)
        mongoc_client_pool_push(k->pool, k->c);
    if (k->pool)
        mongoc_client_pool_destroy(k->pool);
    memset(k, 0, sizeof *k);
}

/* The first published sfl_role_info_t ended after manifest_digest, which
 * manifest format 2 widened from 33 to 65 bytes (SHA-256): a caller built
 * with the 33-byte field is refused (SFL_E_USAGE) rather than handed a
 * digest cut off before its end and its NUL. */
#define ROLE_INFO_V1 (offsetof(sfl_role_info_t, manifest_digest) + sizeof(((sfl_role_info_t *)0)->manifest_digest))

bool sfl_mongo_role_get(const sfl_mongo_options_t *o, sfl_role_info_t *out, sfl_error_t *err)
{
    sfl_role_info_t r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    if (out && !sfl_filled_size_ok(out->struct_size, ROLE_INFO_V1, "sfl_mongo_role_get", err))
        return false;
    if (out)
        sfl_filled_copy(out, &r, sizeof r);
    conn_t k;
    sfl_mongo_options_t full_opts;
    if (!opts_ok(&o, &full_opts, "sfl_mongo_role_get", err) || !open_conn(o, &k, err))
        return false;
    bool ok = sfl_role_gate(k.c, o->db, (sfl_role_t)o->expect_role, false, "role", &r, err);
    close_conn(o, &k);
    r.struct_size = sizeof r;
    if (out)
        sfl_filled_copy(out, &r, sizeof r);
    return ok;
}

bool sfl_mongo_promote(const sfl_mongo_options_t *o, const sfl_manifest_t *m, bool check_sources,
                       sfl_verify_report_t **report, sfl_error_t *err)
{
    return sfl_mongo_promote_signed(o, m, NULL, check_sources, report, err);
}

bool sfl_mongo_promote_signed(const sfl_mongo_options_t *o, const sfl_manifest_t *m,
                              const sfl_signature_info_t *sig, bool check_sources,
                              sfl_verify_report_t **report, sfl_error_t *err)
{
    if (report)
        *report = NULL;
    sfl_mongo_options_t full_opts;
    if (!opts_ok(&o, &full_opts, "promote", err))
        return false;
    if (!m)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "promote needs a manifest file: the database is verified against "
                             "it, never only against its own copy");
    conn_t k;
    if (!open_conn(o, &k, err))
        return false;
    sfl_role_info_t r;
    sfl_release_claim_t claim;
    sfl_release_claim_of(m, &claim);
    /* the release against the record read again under the lock */
    bool ok = sfl_role_gate(k.c, o->db, (sfl_role_t)o->expect_role, true, "promote", &r, err) &&
              lock_conn(o, &k, "promote", &r, err) &&
              sfl_release_check(&r, o->db, &claim, "promote", err);
    if (ok && !claim.number && sig && sig->verified)
        sfl_logf(o->log, o->log_ud, SFL_LOG_WARNING,
                 "%s: the manifest names no release number (exported without "
                 "sfl_mongo_options_t.release_number, or older): a replay of an older release "
                 "cannot be told from it",
                 o->db);
    sfl_verify_report_t *rep = NULL;
    if (ok) {
        rep = sfl_verify_mongo_client(k.c, m, o->db, check_sources, err);
        /* The role and seal as read, for the report a failed promote prints
         * (without them it said "role none" of any database). */
        ok = rep && (sfl_verify_set_state(rep, (int)r.role, r.sealed, NULL) ||
                     sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory"));
    }
    if (ok && !sfl_verify_report_ok(rep)) {
        char what[512] = "";
        size_t n = 0;
        for (size_t i = 0; i < sfl_verify_report_n_collections(rep); i++) {
            const sfl_verify_item_t *it = sfl_verify_report_collection(rep, i);
            if (it->status != SFL_VERIFY_OK && n < sizeof what)
                n += (size_t)snprintf(what + n, sizeof what - n, "%s%s %s", n ? ", " : "",
                                      it->name, sfl_verify_status_name(it->status));
        }
        for (size_t i = 0; i < sfl_verify_report_n_indexes(rep); i++) {
            const sfl_verify_item_t *it = sfl_verify_report_index(rep, i);
            if (it->status != SFL_VERIFY_OK && n < sizeof what)
                n += (size_t)snprintf(what + n, sizeof what - n, "%s%s %s", n ? ", " : "",
                                      it->name, sfl_verify_status_name(it->status));
        }
        for (size_t i = 0; i < sfl_verify_report_n_sources(rep); i++) {
            const sfl_verify_item_t *it = sfl_verify_report_source(rep, i);
            if (it->status != SFL_VERIFY_OK && n < sizeof what)
                n += (size_t)snprintf(what + n, sizeof what - n, "%ssource %s %s",
                                      n ? ", " : "", it->name,
                                      sfl_verify_status_name(it->status));
        }
        ok = sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                           "promote: %s differs from the manifest (%s); nothing was changed",
                           o->db, what[0] ? what : "see the report");
    }
    if (ok) {
        const char *digest = claim.digest;
        static const sfl_signature_info_t unknown;
        ok = role_set_release(k.c, o->db, "promote", SFL_ROLE_LIVE, true, digest,
                              sig ? sig : &unknown, &claim, NULL, err);
        if (ok)
            sfl_logf(o->log, o->log_ud, SFL_LOG_INFO,
                     "%s verified against the manifest and sealed live (was %s); manifest "
                     "digest %s",
                     o->db, sfl_role_name(r.role), digest);
    }
    close_conn(o, &k);
    if (report)
        *report = rep;
    else
        sfl_verify_report_destroy(rep);
    return ok;
}

/* The lock, without the seal check of lock_conn (unseal, demote). */
static bool lock_plain(const sfl_mongo_options_t *o, conn_t *k, const char *command,
                       sfl_error_t *err)
{
    sfl_mongo_load_id(k->lock_id);
    sfl_lock_request_t rq = {k->lock_id, command,
                             o->lock_stale_seconds > 0 ? o->lock_stale_seconds
                                                       : SFL_LOCK_STALE_SECONDS,
                             o->break_lock, o->log, o->log_ud};
    bool took;
    sfl_lock_holder_t prev;
    k->locked = sfl_lock_acquire(k->c, o->db, &rq, &took, &prev, err);
    return k->locked;
}

/* The common start of demote and unseal: the options, a reason, the role
 * gate, the load lock, and the role record read again under the lock (a
 * promote, demote or unseal may have run in between) into *r. On false
 * with the connection open, the caller still closes it. */
static bool reasoned_change(const sfl_mongo_options_t *o, const char *what, const char *reason,
                            conn_t *k, sfl_role_info_t *r, sfl_error_t *err)
{
    memset(k, 0, sizeof *k);
    sfl_mongo_options_t full_opts;
    if (!opts_ok(&o, &full_opts, what, err))
        return false;
    if (!reason || !*reason)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s needs a reason (the reason argument); it is recorded in the "
                             "role history",
                             what);
    return open_conn(o, k, err) &&
           sfl_role_gate(k->c, o->db, (sfl_role_t)o->expect_role, false, what, r, err) &&
           lock_plain(o, k, what, err) &&
           sfl_role_gate(k->c, o->db, (sfl_role_t)o->expect_role, false, what, r, err);
}

bool sfl_mongo_demote(const sfl_mongo_options_t *o, const char *reason, sfl_error_t *err)
{
    conn_t k;
    sfl_role_info_t r;
    bool ok = reasoned_change(o, "demote", reason, &k, &r, err);
    if (ok && r.role != SFL_ROLE_LIVE)
        ok = sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                           "%s is not live (role %s); nothing to demote", o->db,
                           sfl_role_name(r.role));
    if (ok)
        ok = role_set(k.c, o->db, "demote", SFL_ROLE_DEVELOPMENT, false, r.manifest_digest, NULL,
                      reason, err);
    if (ok)
        sfl_logf(o->log, o->log_ud, SFL_LOG_WARNING,
                 "%s demoted: live%s -> development, not sealed: %s", o->db,
                 r.sealed ? " (sealed)" : "", reason);
    close_conn(o, &k);
    return ok;
}

bool sfl_mongo_unseal(const sfl_mongo_options_t *o, const char *reason, sfl_error_t *err)
{
    conn_t k;
    sfl_role_info_t r;
    bool ok = reasoned_change(o, "unseal", reason, &k, &r, err);
    if (ok && !r.sealed)
        ok = sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                           "%s is not sealed (role %s); nothing to unseal", o->db,
                           sfl_role_name(r.role));
    if (ok)
        ok = role_set(k.c, o->db, "unseal", r.role, false, r.manifest_digest, NULL, reason, err);
    if (ok)
        sfl_logf(o->log, o->log_ud, SFL_LOG_WARNING, "%s (%s) unsealed: %s", o->db,
                 sfl_role_name(r.role), reason);
    close_conn(o, &k);
    return ok;
}

/* ---- status -------------------------------------------------------------- */

/* Appends the documents of swefreq_meta matching filter, sorted, as an
 * array `key` of d, each passed through `pick`. */
static bool append_found(mongoc_collection_t *m, const bson_t *filter, const bson_t *opts,
                         bson_t *d, const char *key, void (*pick)(const bson_t *, bson_t *),
                         sfl_error_t *err)
{
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(d, key, &arr);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, filter, opts, NULL);
    const bson_t *doc;
    uint32_t i = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        char k[16];
        snprintf(k, sizeof k, "%u", i++);
        bson_t e;
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &e);
        pick(doc, &e);
        bson_append_document_end(&arr, &e);
    }
    bson_error_t be;
    bool ok = !mongoc_cursor_error(cur, &be) || sfl_mongo_error(err, &be, NULL, SFL_META_COLLECTION);
    mongoc_cursor_destroy(cur);
    bson_append_array_end(d, &arr);
    return ok;
}

static void copy_field(const bson_t *from, const char *key, bson_t *to, const char *as)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, from, key))
        bson_append_value(to, as ? as : key, -1, bson_iter_value(&it));
    else
        bson_append_null(to, as ? as : key, -1);
}

/* A field of a load's manifest entry: a digest by its fingerprint (the
 * 2.7 KB text stays in the manifest), a hash absent from the entry's
 * format left out. */
static void copy_cut(const bson_t *from, const char *key, bson_t *to)
{
    bson_iter_t it;
    bool present = bson_iter_init_find(&it, from, key);
    if (!strcmp(key, "digest") && present && BSON_ITER_HOLDS_UTF8(&it)) {
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_text_fingerprint(bson_iter_utf8(&it, NULL), fp);
        bson_append_utf8(to, "digest", -1, fp, -1);
    } else if (present || (strcmp(key, "sha256") && strcmp(key, "xxh3_128"))) {
        copy_field(from, key, to, NULL);
    }
}

/* The documents of the array at `path` of rec, each cut to `fields`, as
 * the array `key` of e. */
static void append_cut(const bson_t *rec, const char *path, const char *const *fields,
                       bson_t *e, const char *key)
{
    bson_iter_t it, sub;
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(e, key, &arr);
    uint32_t i = 0;
    if (bson_iter_init(&it, rec) && bson_iter_find_descendant(&it, path, &sub) &&
        BSON_ITER_HOLDS_ARRAY(&sub) && bson_iter_recurse(&sub, &it)) {
        while (bson_iter_next(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t one, s;
            if (!BSON_ITER_HOLDS_DOCUMENT(&it))
                continue;
            bson_iter_document(&it, &len, &data);
            if (!bson_init_static(&one, data, len))
                continue;
            char k[16];
            snprintf(k, sizeof k, "%u", i++);
            BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &s);
            for (const char *const *f = fields; *f; f++)
                copy_cut(&one, *f, &s);
            bson_append_document_end(&arr, &s);
        }
    }
    bson_append_array_end(e, &arr);
}

/* A load record, without the bulky parts of its manifest. */
static void pick_load(const bson_t *rec, bson_t *e)
{
    static const char *const src_fields[] = {"path", "size", "sha256", "xxh3_128", NULL};
    static const char *const coll_fields[] = {"name", "count", "digest", NULL};
    copy_field(rec, "_id", e, "load_id");
    copy_field(rec, "status", e, NULL);
    copy_field(rec, "command", e, NULL);
    copy_field(rec, "started", e, NULL);
    copy_field(rec, "finished", e, NULL);
    copy_field(rec, "version", e, NULL);
    copy_field(rec, "dump", e, NULL);
    copy_field(rec, "kind", e, NULL);  /* a partitioned load's "group" or "part" */
    copy_field(rec, "group", e, NULL);
    copy_field(rec, "part", e, NULL);
    copy_field(rec, "parts_n", e, NULL);
    append_cut(rec, "manifest.sources", src_fields, e, "sources");
    append_cut(rec, "manifest.collections", coll_fields, e, "collections");
    bson_iter_t it;
    if (bson_iter_init_find(&it, rec, "error"))
        copy_field(rec, "error", e, NULL);
}

static void append_record(mongoc_collection_t *m, const char *id, bson_t *d, const char *key)
{
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "_id", id);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(m, &filter, NULL, NULL);
    const bson_t *doc;
    if (mongoc_cursor_next(cur, &doc)) {
        bson_t e;
        bson_iter_t it;
        BSON_APPEND_DOCUMENT_BEGIN(d, key, &e);
        if (bson_iter_init(&it, doc))
            while (bson_iter_next(&it))
                if (strcmp(bson_iter_key(&it), "_id") != 0)
                    bson_append_iter(&e, NULL, 0, &it);
        bson_append_document_end(d, &e);
    } else {
        BSON_APPEND_NULL(d, key);
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
}

/* The status document (docs/deploy.md) into *d (initialised on success). */
static bool status_doc(const sfl_mongo_options_t *o, bson_t *d, sfl_error_t *err)
{
    conn_t k;
    sfl_mongo_options_t full_opts;
    if (!opts_ok(&o, &full_opts, "status", err) || !open_conn(o, &k, err))
        return false;
    sfl_role_info_t r;
    if (!sfl_role_gate(k.c, o->db, (sfl_role_t)o->expect_role, false, "status", &r, err)) {
        close_conn(o, &k);
        return false;
    }
    mongoc_collection_t *m = mongoc_client_get_collection(k.c, o->db, SFL_META_COLLECTION);
    bson_init(d);
    BSON_APPEND_UTF8(d, "database", o->db);
    BSON_APPEND_UTF8(d, "role", sfl_role_name(r.role));
    BSON_APPEND_BOOL(d, "sealed", r.sealed);
    append_record(m, SFL_ROLE_ID, d, "role_record");
    append_record(m, SFL_CURRENT_ID, d, "current");
    append_record(m, SFL_LOCK_ID, d, "lock");
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, nin, sort, ids;
    BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &nin);
    BSON_APPEND_ARRAY_BEGIN(&nin, "$nin", &ids);
    BSON_APPEND_UTF8(&ids, "0", SFL_ROLE_ID);
    BSON_APPEND_UTF8(&ids, "1", SFL_CURRENT_ID);
    BSON_APPEND_UTF8(&ids, "2", SFL_LOCK_ID);
    bson_append_array_end(&nin, &ids);
    bson_append_document_end(&filter, &nin);
    BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
    BSON_APPEND_INT32(&sort, "started", 1);
    bson_append_document_end(&opts, &sort);
    bool ok = append_found(m, &filter, &opts, d, "loads", pick_load, err);
    bson_destroy(&filter);
    bson_destroy(&opts);
    if (ok) {
        /* The manifest in force; none yet is not an error for status. */
        sfl_error_t e2;
        sfl_manifest_t *man = sfl_manifest_in_force(k.c, o->db, NULL, NULL, &e2);
        bson_t w;
        if (man) {
            char digest[65];
            sfl_manifest_digest(man, digest);
            BSON_APPEND_UTF8(d, "manifest_digest", digest);
            BSON_APPEND_DOCUMENT(d, "manifest", sfl_manifest_bson(man));
            BSON_APPEND_INT32(d, "manifest_format_version", sfl_manifest_format_version(man));
        } else {
            BSON_APPEND_NULL(d, "manifest_digest");
            BSON_APPEND_NULL(d, "manifest");
            BSON_APPEND_NULL(d, "manifest_format_version");
        }
        BSON_APPEND_ARRAY_BEGIN(d, "warnings", &w);
        if (sfl_manifest_warning(man))
            BSON_APPEND_UTF8(&w, "0", sfl_manifest_warning(man));
        bson_append_array_end(d, &w);
        sfl_manifest_destroy(man);
    } else {
        bson_destroy(d);
    }
    mongoc_collection_destroy(m);
    close_conn(o, &k);
    return ok;
}

char *sfl_mongo_status_json(const sfl_mongo_options_t *o, sfl_error_t *err)
{
    bson_t d;
    if (!status_doc(o, &d, err))
        return NULL;
    char *js = bson_as_relaxed_extended_json(&d, NULL);
    char *out = js ? strdup(js) : NULL;
    bson_free(js);
    bson_destroy(&d);
    if (!out)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return out;
}

/* ---- status as text ------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool nomem;
} text_t;

static void SFL_PRINTF(2, 3) tprintf(text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0 || !SFL_GROW(t->buf, &t->cap, t->len + (size_t)n + 1, 1024)) {
        t->nomem = true;
        free(n < 0 ? NULL : s);
        return;
    }
    memcpy(t->buf + t->len, s, (size_t)n + 1);
    t->len += (size_t)n;
    free(s);
}

/* The UTF-8 (or date, or number) at `path` of d, as text in out. */
static const char *field_text(const bson_t *d, const char *path, char *out, size_t n)
{
    bson_iter_t it, f;
    snprintf(out, n, "-");
    if (!bson_iter_init(&it, d) || !bson_iter_find_descendant(&it, path, &f))
        return out;
    if (BSON_ITER_HOLDS_UTF8(&f)) { /* the database writer's text: no control character */
        const unsigned char *v = (const unsigned char *)bson_iter_utf8(&f, NULL);
        size_t o = 0;
        for (; *v && o + 5 < n; v++)
            if (*v < 0x20 || *v == 0x7f || (*v == 0xc2 && v[1] >= 0x80 && v[1] <= 0x9f))
                o += (size_t)snprintf(out + o, n - o, "\\x%02x", *v == 0xc2 ? *++v : *v);
            else
                out[o++] = (char)*v;
        out[o] = '\0';
    } else if (BSON_ITER_HOLDS_DATE_TIME(&f))
        fmt_time(bson_iter_date_time(&f), out, n);
    else if (BSON_ITER_HOLDS_NUMBER(&f))
        snprintf(out, n, "%lld", (long long)bson_iter_as_int64(&f));
    else if (BSON_ITER_HOLDS_BOOL(&f))
        snprintf(out, n, "%s", bson_iter_bool(&f) ? "yes" : "no");
    return out;
}

/* Calls fn for each document of the array at `path` of d. */
static void each(const bson_t *d, const char *path, text_t *t,
                 void (*fn)(text_t *, const bson_t *))
{
    bson_iter_t it, arr;
    if (!bson_iter_init(&it, d) || !bson_iter_find_descendant(&it, path, &arr) ||
        !BSON_ITER_HOLDS_ARRAY(&arr) || !bson_iter_recurse(&arr, &it))
        return;
    while (bson_iter_next(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_t one;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it))
            continue;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&one, data, len))
            fn(t, &one);
    }
}

static void history_line(text_t *t, const bson_t *h)
{
    char when[32], cmd[32], role[32], sealed[8], dg[72], why[512], key[80];
    bool has_why = strcmp(field_text(h, "reason", why, sizeof why), "-") != 0;
    bool has_key = strcmp(field_text(h, "signer_key_id", key, sizeof key), "-") != 0;
    tprintf(t, "  %s  %-8s %-12s sealed %-3s  digest %s%s%s%s%s\n",
            field_text(h, "when", when, sizeof when), field_text(h, "command", cmd, sizeof cmd),
            field_text(h, "role", role, sizeof role), field_text(h, "sealed", sealed, sizeof sealed),
            field_text(h, "manifest_digest", dg, sizeof dg), has_key ? "  signed by key " : "",
            has_key ? key : "", has_why ? "  reason: " : "", has_why ? why : "");
}

static void coll_part(text_t *t, const bson_t *c)
{
    char name[64], count[32], dg[40];
    tprintf(t, " %s %s (%s)", field_text(c, "name", name, sizeof name),
            field_text(c, "count", count, sizeof count), field_text(c, "digest", dg, sizeof dg));
}

static void source_part(text_t *t, const bson_t *s)
{
    char path[1024];
    tprintf(t, " %s", field_text(s, "path", path, sizeof path));
}

static void load_line(text_t *t, const bson_t *l)
{
    char id[48], cmd[32], st[32], a[32], b[32], err[512];
    tprintf(t, "  %s  %-8s %-11s %s .. %s\n", field_text(l, "load_id", id, sizeof id),
            field_text(l, "command", cmd, sizeof cmd), field_text(l, "status", st, sizeof st),
            field_text(l, "started", a, sizeof a), field_text(l, "finished", b, sizeof b));
    char kind[16], g[72], n[24];
    if (!strcmp(field_text(l, "kind", kind, sizeof kind), "group"))
        tprintf(t, "      group %s of %s parts\n", field_text(l, "group", g, sizeof g),
                field_text(l, "parts_n", n, sizeof n));
    else if (!strcmp(kind, "part"))
        tprintf(t, "      part %s of group %s\n", field_text(l, "part", n, sizeof n),
                field_text(l, "group", g, sizeof g));
    tprintf(t, "      collections:");
    each(l, "collections", t, coll_part);
    tprintf(t, "\n      sources:");
    each(l, "sources", t, source_part);
    tprintf(t, "\n");
    if (strcmp(field_text(l, "error.message", err, sizeof err), "-") != 0)
        tprintf(t, "      error: %s\n", err);
}

char *sfl_mongo_status_text(const sfl_mongo_options_t *o, sfl_error_t *err)
{
    bson_t d;
    if (!status_doc(o, &d, err))
        return NULL;
    text_t t = {0};
    char a[64], b[72], c[64], e[160];
    tprintf(&t, "database %s\n", o->db);
    tprintf(&t, "role     %s\n", field_text(&d, "role", a, sizeof a));
    if (strcmp(field_text(&d, "role_record.sealed", a, sizeof a), "yes") == 0)
        tprintf(&t, "sealed   yes, at %s by %s (swefreq-load %s on %s)\n",
                field_text(&d, "role_record.sealed_at", a, sizeof a),
                field_text(&d, "role_record.sealed_by.command", b, sizeof b),
                field_text(&d, "role_record.sealed_by.version", c, sizeof c),
                field_text(&d, "role_record.sealed_by.host", e, sizeof e));
    else
        tprintf(&t, "sealed   no\n");
    char sha[80], key[80];
    if (strcmp(field_text(&d, "role_record.manifest_sha256", sha, sizeof sha), "-") != 0 ||
        strcmp(field_text(&d, "role_record.signer_key_id", key, sizeof key), "-") != 0)
        tprintf(&t, "release  manifest sha256 %s, signed by key %s (recorded by promote)\n",
                field_text(&d, "role_record.manifest_sha256", sha, sizeof sha),
                strcmp(field_text(&d, "role_record.signer_key_id", key, sizeof key), "-")
                    ? key
                    : "none (not signed)");
    if (strcmp(field_text(&d, "role_record.release_number", sha, sizeof sha), "-") != 0)
        tprintf(&t, "release  number %s of database %s (the newest promoted)\n", sha,
                field_text(&d, "role_record.release_database", key, sizeof key));
    tprintf(&t, "in force load %s, manifest digest %s\n",
            field_text(&d, "current.load_id", a, sizeof a),
            field_text(&d, "manifest_digest", b, sizeof b));
    char warning[512];
    if (strcmp(field_text(&d, "warnings.0", warning, sizeof warning), "-") != 0)
        tprintf(&t, "warning: %s\n", warning);
    char hb[64];
    char grp[72];
    if (strcmp(field_text(&d, "lock.group", grp, sizeof grp), "-") != 0)
        tprintf(&t, "lock     held by group %s (partitioned load %s, %s; lease %s s after the "
                    "last heartbeat of a part, %s)\n",
                grp, field_text(&d, "lock.load_id", a, sizeof a),
                field_text(&d, "lock.command", b, sizeof b),
                field_text(&d, "lock.lease_seconds", c, sizeof c),
                field_text(&d, "lock.heartbeat", hb, sizeof hb));
    else if (strcmp(field_text(&d, "lock.load_id", a, sizeof a), "-") != 0)
        tprintf(&t, "lock     held by %s %s (host %s, pid %s, last heartbeat %s)\n",
                field_text(&d, "lock.command", b, sizeof b), a,
                field_text(&d, "lock.host", c, sizeof c), field_text(&d, "lock.pid", e, sizeof e),
                field_text(&d, "lock.heartbeat", hb, sizeof hb));
    tprintf(&t, "role history:\n");
    each(&d, "role_record.history", &t, history_line);
    tprintf(&t, "loads:\n");
    each(&d, "loads", &t, load_line);
    bson_destroy(&d);
    if (t.nomem || !t.buf) {
        free(t.buf);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    return t.buf;
}

/* ---- verify with the role -------------------------------------------------- */

/* The nightly proof that the manifest given is the one released: its
 * signer and SHA-256 against what promote recorded. */
static bool release_check(sfl_verify_report_t *rep, const sfl_role_info_t *r,
                          const sfl_signature_info_t *sig, sfl_error_t *err)
{
    sfl_release_check_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.key_id, sig->key_id, sizeof c.key_id);
    memcpy(c.manifest_sha256, sig->manifest_sha256, sizeof c.manifest_sha256);
    memcpy(c.recorded_key_id, r->signer_key_id, sizeof c.recorded_key_id);
    memcpy(c.recorded_manifest_sha256, r->manifest_sha256, sizeof c.recorded_manifest_sha256);
    char problem[512] = "";
    bool recorded = r->manifest_sha256[0] || r->signer_key_id[0];
    if (!r->sealed && !recorded)
        ; /* a database never promoted: nothing to compare with */
    else if (!r->signer_key_id[0])
        snprintf(problem, sizeof problem,
                 "the database recorded no signed release: it was promoted without a trusted "
                 "key (manifest sha256 %s); promote it again with a manifest a trusted key "
                 "verified (sfl_mongo_promote_signed)",
                 r->manifest_sha256[0] ? r->manifest_sha256 : "not recorded");
    else if (strcmp(r->manifest_sha256, sig->manifest_sha256) != 0)
        snprintf(problem, sizeof problem,
                 "the manifest checked against (sha256 %s) is not the one the database was "
                 "promoted with (sha256 %s)",
                 sig->manifest_sha256, r->manifest_sha256);
    else if (strcmp(r->signer_key_id, sig->key_id) != 0)
        snprintf(problem, sizeof problem,
                 "the manifest is signed by key %s, the release the database was promoted "
                 "with by key %s",
                 sig->key_id, r->signer_key_id);
    c.problem = problem[0] ? problem : NULL;
    return sfl_verify_set_release(rep, &c) ||
           sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

sfl_verify_report_t *sfl_verify_mongo_opts(const sfl_mongo_options_t *o, const sfl_manifest_t *m,
                                           bool check_sources, sfl_error_t *err)
{
    return sfl_verify_mongo_signed(o, m, NULL, check_sources, err);
}

sfl_verify_report_t *sfl_verify_mongo_signed(const sfl_mongo_options_t *o,
                                             const sfl_manifest_t *m,
                                             const sfl_signature_info_t *sig, bool check_sources,
                                             sfl_error_t *err)
{
    conn_t k;
    sfl_mongo_options_t full_opts;
    if (!opts_ok(&o, &full_opts, "verify", err) || !open_conn(o, &k, err))
        return NULL;
    sfl_role_info_t r;
    sfl_verify_report_t *rep = NULL;
    if (sfl_role_gate(k.c, o->db, (sfl_role_t)o->expect_role, false, "verify", &r, err))
        rep = sfl_verify_mongo_client(k.c, m, o->db, check_sources, err);
    if (rep) {
        char problem[256] = "";
        if (o->expect_role == SFL_ROLE_LIVE && !r.sealed)
            snprintf(problem, sizeof problem,
                     "%s is %s but not sealed (last change: %s); a live database is sealed by "
                     "promote",
                     o->db, r.role == SFL_ROLE_NONE ? "without a role" : sfl_role_name(r.role),
                     r.changed_by[0] ? r.changed_by : "none");
        char warning[512] = "";
        if (!m && (r.role == SFL_ROLE_LIVE || r.sealed))
            snprintf(warning, sizeof warning,
                     "%s is a live database (%s), checked only against its own copy of the "
                     "manifest: whoever can rewrite its data can rewrite that copy too; check "
                     "it against the released manifest kept elsewhere (the manifest argument)",
                     o->db, r.sealed ? "sealed" : "not sealed");
        bool ok = (sfl_verify_set_state(rep, (int)r.role, r.sealed, problem[0] ? problem : NULL) &&
                   (!warning[0] || sfl_verify_add_warning(rep, warning))) ||
                  sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        if (ok && sig && sig->verified)
            ok = release_check(rep, &r, sig, err);
        if (!ok) {
            sfl_verify_report_destroy(rep);
            rep = NULL;
        }
    }
    close_conn(o, &k);
    return rep;
}

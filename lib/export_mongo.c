/* export_mongo.c: write a database's browser collections as a
 * mongorestore-compatible dump that proves itself.
 *
 * The design: the role is checked first (lifecycle.c), an unfinished swap
 * is refused, and the manifest of the load in force is read. Then one
 * thread per collection, each with its own client and cursor, streams the
 * documents into <coll>.bson of a hidden folder OUT/.DB.export-PID exactly
 * as the server sends them, digesting each (re-canonicalised, as verify
 * does) on the way; the indexes actually on the server go to
 * <coll>.metadata.json and the manifest to manifest.json there. Only when
 * every collection's count and digest equal the manifest is the folder
 * renamed to OUT/DB (an older OUT/DB is first moved aside, then removed:
 * a crash in between leaves no OUT/DB, never a mixed one); otherwise (a
 * write to the database during or before the export, a tampered document)
 * the folder is removed, and the error says which collection differs. A
 * dump under the final name therefore always equals its manifest.json.
 * What a killed export left is cleaned up by the next one
 * (clean_dead_exports). Nothing is written to the database.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_pretty.h"
#include "lifecycle_internal.h"
#include "log.h"
#include "manifest_in_force.h"
#include "manifest_internal.h"
#include "mongo_state.h"
#include "mongo_util.h"

/* The files of one collection and what its thread found. */
typedef struct {
    const sfl_manifest_collection_t *want;
    mongoc_client_pool_t *pool;
    const char *db;
    char *bson_path, *meta_path; /* in the hidden folder */
    sfl_digest_t digest;
    bool ok;
    sfl_error_t err;
} export_part_t;

static bool write_text(const char *path, const char *text, sfl_error_t *err)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    return ok || sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write: %s",
                               path, strerror(errno));
}

/* <coll>.metadata.json with the indexes on the server, as mongodump. */
static bool write_metadata(mongoc_client_t *c, export_part_t *p, const char *path)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(c, p->db, p->want->name);
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    bson_t doc = BSON_INITIALIZER, opts, idx;
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "options", &opts);
    bson_append_document_end(&doc, &opts);
    BSON_APPEND_ARRAY_BEGIN(&doc, "indexes", &idx);
    const bson_t *spec;
    uint32_t i = 0;
    while (mongoc_cursor_next(cur, &spec)) {
        char k[16];
        snprintf(k, sizeof k, "%u", i++);
        BSON_APPEND_DOCUMENT(&idx, k, spec);
    }
    bson_append_array_end(&doc, &idx);
    BSON_APPEND_UTF8(&doc, "collectionName", p->want->name);
    BSON_APPEND_UTF8(&doc, "type", "collection");
    bson_error_t be;
    bool ok = !mongoc_cursor_error(cur, &be) || sfl_mongo_error(&p->err, &be, NULL, p->want->name);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    char *json = ok ? bson_as_relaxed_extended_json(&doc, NULL) : NULL;
    char *pretty = json ? sfl_json_pretty(json) : NULL;
    bson_free(json);
    bson_destroy(&doc);
    if (ok && !pretty)
        ok = sfl_error_set(&p->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    ok = ok && write_text(path, pretty, &p->err);
    free(pretty);
    return ok;
}

static void *export_main(void *arg)
{
    export_part_t *p = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(p->pool);
    const char *bp = p->bson_path, *mp = p->meta_path;
    sfl_digest_init_kind(&p->digest, sfl_manifest_digest_kind(p->want));
    FILE *f = fopen(bp, "wb");
    bool ok = f != NULL;
    if (!f)
        ok = sfl_error_set(&p->err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create: %s", bp,
                           strerror(errno));
    if (ok) {
        mongoc_collection_t *coll = mongoc_client_get_collection(c, p->db, p->want->name);
        bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
        BSON_APPEND_INT32(&opts, "batchSize", 1000);
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
        const bson_t *doc;
        while (ok && mongoc_cursor_next(cur, &doc)) {
            if (fwrite(bson_get_data(doc), 1, doc->len, f) != doc->len)
                ok = sfl_error_set(&p->err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                   "%s: cannot write: %s", bp, strerror(errno));
            else
                ok = sfl_digest_add_canonical(&p->digest, bson_get_data(doc), doc->len, &p->err);
        }
        bson_error_t be;
        if (ok && mongoc_cursor_error(cur, &be))
            ok = sfl_mongo_error(&p->err, &be, NULL, p->want->name);
        mongoc_cursor_destroy(cur);
        bson_destroy(&filter);
        bson_destroy(&opts);
        mongoc_collection_destroy(coll);
    }
    if (f && (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) && ok)
        ok = sfl_error_set(&p->err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write: %s", bp,
                           strerror(errno));
    ok = ok && write_metadata(c, p, mp);
    if (ok && !sfl_manifest_collection_matches(p->want, &p->digest)) {
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_fingerprint(&p->digest, fp);
        ok = sfl_error_set(&p->err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                           "%s.%s differs from the manifest of the load in force while it "
                           "was exported: %llu documents (digest %s), the manifest says "
                           "%llu (digest %s). The database was changed (during the export, "
                           "or before it: verify --uri tells); no dump was left under the "
                           "final names",
                           p->db, p->want->name, (unsigned long long)p->digest.count, fp,
                           (unsigned long long)p->want->count, p->want->fingerprint);
    }
    mongoc_client_pool_push(p->pool, c);
    p->ok = ok;
    return NULL;
}

/* Removes the dump files of folder `dir` (NULL-terminated `paths` are in
 * it; other names that an export writes are tried too), then the folder. */
static void remove_dump(const char *dir, char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (paths[i])
            unlink(paths[i]);
    /* manifest.json, then <collection>.bson and .metadata.json of each */
    for (int i = -1; i < 2 * SFL_N_COLLECTIONS; i++) {
        char *p = NULL;
        if (asprintf(&p, "%s/%s%s", dir,
                     i < 0 ? "manifest" : sfl_collection_name((sfl_collection_t)(i / 2)),
                     i < 0 ? ".json" : i % 2 ? ".metadata.json" : ".bson") >= 0) {
            unlink(p);
            free(p);
        }
    }
    rmdir(dir);
}

/* What an export killed earlier left in out_dir: its hidden folder
 * (.DB.export-PID, removed) and, if it died between its two renames, the
 * earlier dump moved aside (.DB.old-PID: put back when DB is missing, else
 * removed). Only folders of processes that are gone are touched. */
static void clean_dead_exports(const char *out_dir, const char *db, const char *final,
                               sfl_log_fn log, void *log_ud)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return;
    size_t n = strlen(db);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name, *rest;
        if (nm[0] != '.' || strncmp(nm + 1, db, n) != 0)
            continue;
        bool is_export = !strncmp(nm + 1 + n, ".export-", 8);
        bool is_old = !strncmp(nm + 1 + n, ".old-", 5);
        if (!is_export && !is_old)
            continue;
        rest = nm + 1 + n + (is_export ? 8 : 5);
        char *end;
        long pid = strtol(rest, &end, 10);
        if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 ? errno != ESRCH : true))
            continue; /* not ours, or its process still runs */
        char *path = NULL;
        if (asprintf(&path, "%s/%s", out_dir, nm) < 0)
            continue;
        struct stat st;
        if (is_old && stat(final, &st) != 0 && rename(path, final) == 0) {
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "%s: put back the earlier dump that a killed export (pid %ld) had moved "
                     "aside",
                     final, pid);
        } else {
            remove_dump(path, NULL, 0);
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "removed %s, left by a killed export (pid %ld)", path, pid);
        }
        free(path);
    }
    closedir(d);
}

/* The verified folder `dir` becomes `final`: an earlier dump there is moved
 * aside to `old` first and removed once the new one is in place (put back
 * if the rename fails). False with err when `dir` stayed where it was. */
static bool publish(const char *final, const char *dir, const char *old, sfl_error_t *err)
{
    struct stat st;
    bool had = stat(final, &st) == 0;
    if (had && rename(final, old) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot move the earlier dump aside: %s", final, strerror(errno));
    if (rename(dir, final) != 0) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot rename %s into place: %s",
                      final, dir, strerror(errno));
        if (had)
            rename(old, final); /* the earlier dump back */
        return false;
    }
    if (had)
        remove_dump(old, NULL, 0);
    return true;
}

bool sfl_mongo_export(const sfl_mongo_options_t *o, const char *out_dir, sfl_error_t *err)
{
    if (!o || o->struct_size != sizeof *o || !o->uri || !o->db || !*o->db || !out_dir ||
        strpbrk(o->db, "/\\"))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "export needs options from sfl_mongo_options_init with a URI and "
                             "a database, and an output folder");
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    if (!sfl_mongo_connect(o->uri, SFL_N_COLLECTIONS + 1, &pool, &c, err))
        return false;
    sfl_manifest_t *m = NULL;
    char pending[48];
    int rc = -1;
    bool ok = sfl_role_gate(c, o->db, (sfl_role_t)o->expect_role, false, "export", NULL, err) &&
              (rc = sfl_swap_pending(c, o->db, pending, err)) == 0;
    if (rc > 0)
        ok = sfl_error_set(err, SFL_DOMAIN_STATE, SFL_E_SWAP_PENDING,
                           "%s: the swap of load %s was cut short; run `swefreq-load recover` "
                           "first. Nothing was exported",
                           o->db, pending);
    ok = ok && (m = sfl_manifest_in_force(c, o->db, err)) != NULL;
    if (ok && sfl_manifest_warning(m))
        sfl_logf(o->log, o->log_ud, SFL_LOG_WARNING, "%s: the manifest in force: %s", o->db,
                 sfl_manifest_warning(m));
    char *final = NULL, *dir = NULL, *old = NULL;
    int pid = (int)getpid();
    if (ok && (asprintf(&final, "%s/%s", out_dir, o->db) < 0 ||
               asprintf(&dir, "%s/.%s.export-%d", out_dir, o->db, pid) < 0 ||
               asprintf(&old, "%s/.%s.old-%d", out_dir, o->db, pid) < 0))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (ok && mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create the folder: %s",
                           out_dir, strerror(errno));
    if (ok)
        clean_dead_exports(out_dir, o->db, final, o->log, o->log_ud);
    bool made = false;
    if (ok && !(made = mkdir(dir, 0777) == 0))
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create the folder: %s",
                           dir, strerror(errno));
    size_t n = ok ? sfl_manifest_n_collections(m) : 0;
    export_part_t *parts = n ? calloc(n, sizeof *parts) : NULL;
    pthread_t *th = n ? calloc(n, sizeof *th) : NULL;
    char **paths = calloc(2 * n + 1, sizeof *paths);
    if (ok && (!paths || (n && (!parts || !th))))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    size_t started = 0;
    for (size_t i = 0; ok && i < n; i++) {
        export_part_t *p = &parts[i];
        p->want = sfl_manifest_collection(m, i);
        p->pool = pool;
        p->db = o->db;
        if (asprintf(&p->bson_path, "%s/%s.bson", dir, p->want->name) < 0 ||
            asprintf(&p->meta_path, "%s/%s.metadata.json", dir, p->want->name) < 0) {
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            break;
        }
        paths[2 * i] = p->bson_path;
        paths[2 * i + 1] = p->meta_path;
        if (pthread_create(&th[i], NULL, export_main, p) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
        else
            started++;
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (ok && !parts[i].ok) {
            ok = false;
            if (err)
                *err = parts[i].err;
        }
    }
    if (paths && ok && asprintf(&paths[2 * n], "%s/manifest.json", dir) < 0)
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    ok = ok && sfl_manifest_write_file(m, paths[2 * n], err);
    if (ok && (ok = publish(final, dir, old, err)))
        made = false;
    if (made)
        remove_dump(dir, paths, paths ? 2 * n + 1 : 0);
    if (ok)
        sfl_logf(o->log, o->log_ud, SFL_LOG_INFO,
                 "exported %s to %s: every collection equals the manifest of the load in force",
                 o->db, final);
    for (size_t i = 0; i < n && parts; i++) {
        free(parts[i].bson_path);
        free(parts[i].meta_path);
    }
    if (paths)
        free(paths[2 * n]);
    free(paths);
    free(parts);
    free(th);
    free(dir);
    free(final);
    free(old);
    sfl_manifest_destroy(m);
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    return ok;
}

/* mongo/export.c: write a database's browser collections as a
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
 *
 * Files below OUT are never reached through a link: OUT is opened once,
 * and every entry in it is created, renamed and removed relative to that
 * descriptor (safe_fs.c). A link at OUT/DB, or an OUT/DB holding a file
 * that is not a dump's, is refused before anything is exported, and again
 * when the folder is published.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "json_pretty.h"
#include "mongo/lifecycle_internal.h"
#include "log.h"
#include "mongo/in_force.h"
#include "manifest_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"
#include "safe_fs.h"

/* The files of one collection and what its thread found. */
typedef struct {
    const sfl_manifest_collection_t *want;
    mongoc_client_pool_t *pool;
    const char *db;
    char *bson_path, *meta_path; /* in the hidden folder, for messages */
    int dir_fd;                  /* the hidden folder */
    const char *dir;             /* its path, for messages */
    sfl_digest_t digest;
    bool ok;
    sfl_error_t err;
    sfl_cancel_t *cancel;      /* the caller's, or NULL (control.h) */
    atomic_ullong docs, bytes; /* read by the waiting thread: progress */
    atomic_bool done;
} export_part_t;

/* The last component of a path. */
static const char *base(const char *path) { return strrchr(path, '/') + 1; }

/* <coll>.metadata.json with the indexes on the server, as mongodump. */
static bool write_metadata(mongoc_client_t *c, export_part_t *p)
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
    ok = ok && sfl_write_new_at(p->dir_fd, base(p->meta_path), pretty, strlen(pretty), p->dir,
                                &p->err);
    free(pretty);
    return ok;
}

static void *export_main(void *arg)
{
    export_part_t *p = arg;
    mongoc_client_t *c = mongoc_client_pool_pop(p->pool);
    const char *bp = p->bson_path;
    sfl_digest_init_kind(&p->digest, sfl_manifest_digest_kind(p->want));
    int fd = openat(p->dir_fd, base(bp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
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
            atomic_fetch_add_explicit(&p->docs, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->bytes, doc->len, memory_order_relaxed);
            if (sfl_cancel_requested(p->cancel))
                ok = sfl_error_set(&p->err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                                   "interrupted while exporting; no dump was left under the "
                                   "final names");
            else if (fwrite(bson_get_data(doc), 1, doc->len, f) != doc->len)
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
    ok = ok && write_metadata(c, p);
    if (ok && !sfl_manifest_collection_matches(p->want, &p->digest)) {
        char fp[SFL_DIGEST_FINGERPRINT_SIZE];
        sfl_digest_fingerprint(&p->digest, fp);
        ok = sfl_error_set(&p->err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                           "%s.%s differs from the manifest of the load in force while it "
                           "was exported: %llu documents (digest %s), the manifest says "
                           "%llu (digest %s). The database was changed (during the export, "
                           "or before it: verifying the database tells); no dump was left under the "
                           "final names",
                           p->db, p->want->name, (unsigned long long)p->digest.count, fp,
                           (unsigned long long)p->want->count, p->want->fingerprint);
    }
    mongoc_client_pool_push(p->pool, c);
    p->ok = ok;
    atomic_store(&p->done, true);
    return NULL;
}

/* Waits for the export threads, reporting their progress (control.h). */
static void wait_parts(export_part_t *parts, pthread_t *th, size_t started)
{
    for (;;) {
        uint64_t docs = 0, bytes = 0;
        size_t running = 0;
        const char *at = NULL;
        for (size_t i = 0; i < started; i++) {
            docs += atomic_load_explicit(&parts[i].docs, memory_order_relaxed);
            bytes += atomic_load_explicit(&parts[i].bytes, memory_order_relaxed);
            if (!atomic_load(&parts[i].done)) {
                running++;
                at = at ? at : parts[i].want->name;
            }
        }
        sfl_ctl_report(bytes, docs, at);
        if (!running)
            break;
        usleep(250000);
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* What an export killed earlier left in the folder `out_fd`: its hidden
 * folder (.DB.export-PID, its dump files removed) and, if it died between
 * its two renames, the earlier dump moved aside (.DB.old-PID: put back
 * when DB is missing, else its dump files removed). Only entries of
 * processes that are gone are touched, each as itself: a link is removed
 * as a link, never followed. */
static void clean_dead_exports(int out_fd, const char *out_dir, const char *db,
                               const char *final, sfl_log_fn log, void *log_ud)
{
    int fd = dup(out_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
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
        if (is_old && sfl_entry_kind(out_fd, db) == 0 && sfl_entry_kind(out_fd, nm) == S_IFDIR &&
            renameat(out_fd, nm, out_fd, db) == 0) {
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "%s: put back the earlier dump that a killed export (pid %ld) had moved "
                     "aside",
                     final, pid);
        } else {
            sfl_remove_dump_dir_at(out_fd, nm);
            sfl_logf(log, log_ud, SFL_LOG_WARNING,
                     "removed %s/%s, left by a killed export (pid %ld)", out_dir, nm, pid);
        }
    }
    closedir(d);
}

/* The verified folder `dir` of `out_fd` becomes `db`: an earlier dump
 * there (a folder itself, never a link: refused) is moved aside to `old`
 * first and its dump files removed once the new one is in place (put back
 * if the rename fails). False with err when `dir` stayed where it was. */
static bool publish(int out_fd, const char *final, const char *db, const char *dir,
                    int dir_fd, const char *old, sfl_error_t *err)
{
    if (!sfl_dump_target_ok(out_fd, db, final, "the out_dir argument", err))
        return false;
    if (!sfl_is_same_dir_at(out_fd, dir, dir_fd) || fchmod(dir_fd, 0755) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: the hidden folder %s is no longer the one this export created "
                             "(replaced while it was written); nothing was replaced",
                             final, dir);
    bool had = sfl_entry_kind(out_fd, db) == S_IFDIR;
    if (had && renameat(out_fd, db, out_fd, old) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot move the earlier dump aside: %s", final, strerror(errno));
    if (had && sfl_entry_kind(out_fd, old) != S_IFDIR) {
        renameat(out_fd, old, out_fd, db);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s changed while the export was published; nothing was replaced",
                             final);
    }
    if (renameat(out_fd, dir, out_fd, db) != 0) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot rename %s into place: %s",
                      final, dir, strerror(errno));
        if (had)
            renameat(out_fd, old, out_fd, db); /* the earlier dump back */
        return false;
    }
    if (had)
        sfl_remove_dump_dir_at(out_fd, old);
    return true;
}

static bool export_body(const sfl_mongo_options_t *o, const char *out_dir,
                        const sfl_signing_key_t *key, sfl_error_t *err);

bool sfl_mongo_export(const sfl_mongo_options_t *o, const char *out_dir, sfl_error_t *err)
{
    return sfl_mongo_export_ctl(o, out_dir, NULL, err);
}

bool sfl_mongo_export_ctl(const sfl_mongo_options_t *o, const char *out_dir,
                          const sfl_run_control_t *ctl, sfl_error_t *err)
{
    return sfl_mongo_export_signed(o, out_dir, ctl, NULL, err);
}

/* Replaces *m by the same manifest naming the release o->release_number
 * of o->release_db (else o->db). */
static bool with_release(sfl_manifest_t **m, const sfl_mongo_options_t *o, sfl_error_t *err)
{
    sfl_manifest_t *r =
        sfl_manifest_with_release(*m, o->release_number, o->release_db ? o->release_db : o->db,
                                  err);
    if (!r)
        return false;
    sfl_manifest_destroy(*m);
    *m = r;
    return true;
}

bool sfl_mongo_export_signed(const sfl_mongo_options_t *o, const char *out_dir,
                             const sfl_run_control_t *ctl, const sfl_signing_key_t *key,
                             sfl_error_t *err)
{
    sfl_ctl_t k;
    if (!sfl_ctl_begin(&k, ctl, err))
        return false;
    bool ok = export_body(o, out_dir, key, err);
    sfl_ctl_end(&k);
    return ok;
}

static bool export_body(const sfl_mongo_options_t *o, const char *out_dir,
                        const sfl_signing_key_t *key, sfl_error_t *err)
{
    sfl_mongo_options_t full;
    if (!sfl_mongo_options_full(o, &full))
        o = NULL;
    else
        o = &full;
    if (!o || !o->uri || !o->db || !*o->db || !out_dir || strpbrk(o->db, "/\\"))
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
    ok = ok && (m = sfl_manifest_in_force(c, o->db, NULL, NULL, err)) != NULL;
    if (ok && o->release_number) /* the release, inside the signed bytes */
        ok = with_release(&m, o, err);
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
    /* out_dir is the folder the user named: followed once, here; every
     * entry in it is reached through this descriptor, never a link. */
    int out_fd = ok ? open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (ok && out_fd < 0)
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot open the folder: %s",
                           out_dir, strerror(errno));
    const char *dname = dir ? strrchr(dir, '/') + 1 : NULL;
    const char *oname = old ? strrchr(old, '/') + 1 : NULL;
    ok = ok && sfl_dump_target_ok(out_fd, o->db, final, "the out_dir argument", err);
    if (ok)
        clean_dead_exports(out_fd, out_dir, o->db, final, o->log, o->log_ud);
    bool made = false;
    int dir_fd = -1;
    if (ok && (!(made = mkdirat(out_fd, dname, 0700) == 0) ||
               (dir_fd = sfl_open_dir_at(out_fd, dname)) < 0))
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create the folder: %s",
                           dir, strerror(errno));
    size_t n = ok ? sfl_manifest_n_collections(m) : 0;
    export_part_t *parts = n ? calloc(n, sizeof *parts) : NULL;
    pthread_t *th = n ? calloc(n, sizeof *th) : NULL;
    if (ok && n && (!parts || !th))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    size_t started = 0;
    for (size_t i = 0; ok && i < n; i++) {
        export_part_t *p = &parts[i];
        p->want = sfl_manifest_collection(m, i);
        p->pool = pool;
        p->db = o->db;
        p->dir_fd = dir_fd;
        p->dir = dir;
        p->cancel = sfl_ctl_cancel_handle();
        sfl_ctl_add_total(p->want->bytes);
        if (asprintf(&p->bson_path, "%s/%s.bson", dir, p->want->name) < 0 ||
            asprintf(&p->meta_path, "%s/%s.metadata.json", dir, p->want->name) < 0) {
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            break;
        }
        if (pthread_create(&th[i], NULL, export_main, p) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start a thread");
        else
            started++;
    }
    wait_parts(parts, th, started);
    for (size_t i = 0; i < started; i++) {
        if (ok && !parts[i].ok) {
            ok = false;
            if (err)
                *err = parts[i].err;
        }
    }
    /* The manifest and its signature over those exact bytes, in the hidden
     * folder: published together by the one rename. */
    ok = ok && sfl_manifest_write_at(m, dir_fd, dir, key, err);
    if (ok && (ok = publish(out_fd, final, o->db, dname, dir_fd, oname, err)))
        made = false;
    if (dir_fd >= 0)
        close(dir_fd);
    if (made)
        sfl_remove_dump_dir_at(out_fd, dname);
    if (out_fd >= 0)
        close(out_fd);
    if (ok)
        sfl_logf(o->log, o->log_ud, SFL_LOG_INFO,
                 "exported %s to %s: every collection equals the manifest of the load in force",
                 o->db, final);
    for (size_t i = 0; i < n && parts; i++) {
        free(parts[i].bson_path);
        free(parts[i].meta_path);
    }
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

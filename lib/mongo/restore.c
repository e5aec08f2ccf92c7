/* restore.c: load a dump (of `dump` or `export`) into MongoDB.
 *
 * The design: a restore is a load whose documents come from a dump's .bson
 * files instead of the conversion pipeline, fed to the very same MongoDB
 * sink (mongo/sink.c and its steps, the mongo/sink_*.c files): the role
 * check, the lock, staging collections filled by parallel acknowledged
 * batches, the browser's indexes, a
 * verifying scan of the staging against the dump's manifest.json, the
 * journalled swap and a load record (command "restore", the dump's
 * folder). Going through the sink rather than a source kind keeps the
 * documents byte for byte as the dump holds them (no re-conversion) while
 * every guarantee of a load holds: a dump that differs from its manifest
 * (a cut or altered .bson) is refused before the swap, and a restore that
 * dies leaves the browser's collections as they were.
 *
 * The .bson files are read with a bounded buffer: one batch of at most
 * o->batch_docs documents and o->batch_bytes bytes at a time.
 * sfl_mongo_restore_cancel (async-signal-safe) reaches the sink as
 * sfl_job_cancel does for a load: the restore stops, the staging is
 * dropped and the record says "interrupted".
 */
#include <bson/bson.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "grow.h"
#include "mongo/client.h"
#include "mongo/lifecycle_internal.h"
#include "log.h"
#include "manifest_internal.h"
#include "safe_fs.h"
#include "../sink_internal.h"
#include "verify_internal.h"

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    sfl_doc_t *docs;
    size_t n, cap_docs;
} restore_batch_t;

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Streams one collection's .bson file `f` (named `path`; closed here) into
 * the sink. */
static bool restore_file(sfl_sink_t *sink, const sfl_mongo_options_t *o, sfl_collection_t c,
                         FILE *f, const char *path, restore_batch_t *b, atomic_int *cancelled,
                         sfl_error_t *err)
{
    size_t max_docs = o->batch_docs ? o->batch_docs : 2000;
    size_t max_bytes = o->batch_bytes ? o->batch_bytes : 4u << 20;
    uint64_t ndoc = 0, offset = 0;
    bool ok = true, eof = false;
    while (ok && !eof) {
        if (atomic_load(cancelled)) {
            ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                               "interrupted while reading %s; the browser's collections were "
                               "not changed",
                               path);
            break;
        }
        b->len = b->n = 0;
        while (ok && b->n < max_docs && b->len < max_bytes) {
            uint8_t hdr[4];
            size_t got = fread(hdr, 1, 4, f);
            if (got == 0 && !ferror(f)) {
                eof = true;
                break;
            }
            uint32_t dl = got == 4 ? le32(hdr) : 0;
            if (got != 4 || dl < 5 || dl > SFL_MAX_DOC_BYTES) {
                ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                                   "%s: document %llu at byte %llu is %s; the dump is damaged",
                                   path, (unsigned long long)ndoc + 1,
                                   (unsigned long long)offset,
                                   got != 4 ? "cut short" : "of an impossible length");
                break;
            }
            if (!SFL_GROW(b->buf, &b->cap, b->len + dl, 1 << 16) ||
                !SFL_GROW(b->docs, &b->cap_docs, b->n + 1, 256)) {
                ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
                break;
            }
            memcpy(b->buf + b->len, hdr, 4);
            if (fread(b->buf + b->len + 4, 1, dl - 4, f) != dl - 4) {
                ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                                   "%s: document %llu at byte %llu is cut short; the dump is "
                                   "damaged",
                                   path, (unsigned long long)ndoc + 1, (unsigned long long)offset);
                break;
            }
            b->len += dl;
            b->n++;
            ndoc++;
            offset += dl;
        }
        if (!ok || b->n == 0)
            break;
        /* Pointers into buf are taken now: buf may have moved while growing. */
        size_t at = 0;
        for (size_t i = 0; i < b->n; i++) {
            b->docs[i].data = b->buf + at;
            b->docs[i].len = le32(b->buf + at);
            at += b->docs[i].len;
        }
        sfl_batch_t batch = {c, b->docs, b->n, b->len, 0, path, ndoc - b->n + 1, ndoc, 0};
        ok = sfl_sink_write_int(sink, &batch, err);
    }
    if (ok && ferror(f))
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: read error", path);
    fclose(f);
    return ok;
}

/* Reads one document of `f` at `offset` into *buf (grown as needed):
 * 1 = a document of *len bytes, 0 = the end of the file, -1 = damaged
 * (err says where). */
static int read_doc(FILE *f, const char *path, uint64_t ndoc, uint64_t offset, uint8_t **buf,
                    size_t *cap, uint32_t *len, sfl_error_t *err)
{
    uint8_t hdr[4];
    size_t got = fread(hdr, 1, 4, f);
    if (got == 0 && !ferror(f))
        return 0;
    uint32_t dl = got == 4 ? le32(hdr) : 0;
    const char *why = got != 4 ? "cut short" : dl < 5 || dl > SFL_MAX_DOC_BYTES ? "of an impossible length" : NULL;
    if (!why && !SFL_GROW(*buf, cap, dl, 1 << 16))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory"), -1;
    if (!why) {
        memcpy(*buf, hdr, 4);
        if (fread(*buf + 4, 1, dl - 4, f) != dl - 4)
            why = "cut short";
    }
    if (why) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                      "%s: document %llu at byte %llu is %s; the dump is damaged. Nothing was "
                      "sent to the server",
                      path, (unsigned long long)ndoc, (unsigned long long)offset, why);
        return -1;
    }
    *len = dl;
    return 1;
}

/* Checks one collection's .bson file before anything is sent: every
 * document valid BSON (structure and UTF-8, as bson_validate checks it),
 * and the count and digest (re-canonicalised, as verify does) equal to
 * the manifest's. A malformed document would otherwise reach the server,
 * which drops the connection, and a different file would be found only
 * after the staging was filled. */
static bool prescan_file(FILE *f, const char *path, const sfl_manifest_collection_t *want,
                         atomic_int *cancelled, sfl_error_t *err)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint32_t len = 0;
    uint64_t ndoc = 0, offset = 0;
    sfl_digest_t d; /* the kind the manifest's format uses (1 or 2) */
    sfl_digest_init_kind(&d, sfl_manifest_digest_kind(want));
    int rc;
    bool ok = true;
    while (ok && (rc = read_doc(f, path, ndoc + 1, offset, &buf, &cap, &len, err)) == 1) {
        bson_t doc;
        bson_error_t be;
        sfl_error_t ce;
        ndoc++;
        if (!bson_init_static(&doc, buf, len) ||
            !bson_validate_with_error(&doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL,
                                      &be) ||
            !sfl_digest_add_canonical(&d, buf, len, &ce))
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_LINE,
                               "%s: document %llu at byte %llu is not valid BSON; the dump is "
                               "damaged. Nothing was sent to the server",
                               path, (unsigned long long)ndoc, (unsigned long long)offset);
        else if ((ndoc & 4095) == 0 && atomic_load(cancelled))
            ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                               "interrupted while checking %s; nothing was sent", path);
        offset += len;
    }
    ok = ok && rc == 0;
    if (ok && (ferror(f) || fseeko(f, 0, SEEK_SET) != 0))
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: read error", path);
    free(buf);
    char fp[SFL_DIGEST_FINGERPRINT_SIZE];
    sfl_digest_fingerprint(&d, fp);
    if (ok && !sfl_manifest_collection_matches(want, &d))
        ok = sfl_error_set(err, SFL_DOMAIN_VERIFY, SFL_E_MISMATCH,
                           "%s: %llu documents (digest %s), but the dump's manifest.json says "
                           "%llu (digest %s): the dump does not match its manifest (altered "
                           "or damaged). Nothing was sent to the server",
                           path, (unsigned long long)d.count, fp,
                           (unsigned long long)want->count, want->fingerprint);
    return ok;
}

struct sfl_restore {
    sfl_mongo_options_t o; /* uri not kept */
    char *dir;             /* the dump folder */
    char *db;              /* o.db, copied */
    sfl_manifest_t *m;     /* its manifest.json */
    sfl_run_info_t run; /* the collections and the shape, for the sink */
    sfl_sink_t *sink;
    atomic_int cancelled;
    bool ran;
};

/* The manifest a restore holds the dump to, read once into memory before
 * anything connects or writes: the signature (with trusted keys), its
 * SHA-256, the release and every count and digest come from those same
 * bytes, and nothing reads a manifest again. Without
 * o->restore_manifest it is the dump's manifest.json; with it, that file,
 * and the dump's manifest.json must then be byte for byte the same, so
 * that nothing can differ between what the caller checked and what is
 * installed (a dump swapped after the caller's checks is refused). */
static sfl_manifest_t *read_manifest(const char *dir, const sfl_mongo_options_t *o,
                                     sfl_signature_info_t *sig, sfl_error_t *err)
{
    char *mpath = NULL, *bytes = NULL;
    size_t len = 0;
    if (asprintf(&mpath, "%s/manifest.json", dir) < 0) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    const char *given = o->restore_manifest;
    sfl_manifest_t *m =
        given ? sfl_manifest_read_signed_bytes(given, o->trusted_keys, sig, &bytes, &len, err)
              : sfl_manifest_read_signed(mpath, o->trusted_keys, sig, err);
    if (m && given && !sfl_manifest_file_same(mpath, bytes, len, given, err)) {
        sfl_manifest_destroy(m);
        m = NULL;
    }
    free(bytes);
    free(mpath);
    return m;
}

void sfl_mongo_restore_destroy(sfl_restore_t *r)
{
    if (!r)
        return;
    sfl_sink_destroy(r->sink);
    sfl_manifest_destroy(r->m);
    free(r->dir);
    free(r->db);
    free(r);
}

sfl_restore_t *sfl_mongo_restore_new(const sfl_mongo_options_t *o, const char *dump_dir,
                                     sfl_error_t *err)
{
    sfl_mongo_options_t full;
    if (!sfl_mongo_options_full(o, &full) || !full.uri || !full.db || !*full.db || !dump_dir) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "restore needs options from sfl_mongo_options_init with a URI and a "
                      "database, and a dump folder");
        return NULL;
    }
    sfl_restore_t *r = calloc(1, sizeof *r);
    if (!r) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    /* Nothing of the caller's is kept past this call: the database name is
     * copied, the URI and the other strings are used here only. */
    o = &full;
    r->o = *o;
    r->o.uri = NULL;
    r->o.write_concern = NULL;
    r->o.manifest_path = NULL;
    r->o.resume_load_id = NULL;
    r->db = strdup(o->db);
    r->o.db = r->db;
    r->o.restore_manifest = NULL;
    bool ok = r->db ? true : sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    ok = ok && (r->dir = sfl_dump_folder(dump_dir, NULL, err)) != NULL;
    sfl_signature_info_t sig;
    ok = ok && (r->m = read_manifest(r->dir, o, &sig, err)) != NULL;
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(r->m); i++) {
        const char *name = sfl_manifest_collection(r->m, i)->name;
        bool known = false;
        for (int c = 0; c < SFL_N_COLLECTIONS; c++)
            if (!strcmp(name, sfl_collection_name((sfl_collection_t)c)))
                known = r->run.collections[c] = true;
        if (!known)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                               "%s/manifest.json names a collection '%s' that is not one of "
                               "the browser's",
                               r->dir, name);
    }
    /* The shape of the dump's documents, as its manifest names it. */
    r->run.struct_size = sizeof r->run;
    r->run.histograms = SFL_HIST_PAIRS;
    sfl_histograms_t h;
    const char *hv = ok ? sfl_manifest_option(r->m, "histograms") : NULL;
    if (hv && sfl_histograms_parse(hv, &h))
        r->run.histograms = h;
    if (ok) {
        sfl_mongo_options_t so = r->o;
        so.uri = o->uri;
        so.write_concern = o->write_concern;
        so.manifest_path = o->manifest_path;
        so.resume_load_id = o->resume_load_id;
        ok = (r->sink = sfl_sink_mongo_new(&so, err)) != NULL;
    }
    if (ok) { /* the release is checked under the lock, before any write */
        sfl_release_claim_t claim;
        sfl_release_claim_of(r->m, &claim);
        sfl_sink_mongo_set_claim(r->sink, &claim);
        if (!claim.number && sfl_trusted_keys_count(o->trusted_keys))
            sfl_logf(o->log, o->log_ud, SFL_LOG_WARNING,
                     "%s/manifest.json names no release number (exported without "
                     "sfl_mongo_options_t.release_number, or older): a replay of an older "
                     "release cannot be told from it",
                     r->dir);
    }
    if (ok && (!sfl_sink_mongo_set_command(r->sink, "restore", r->dir) ||
               !sfl_sink_mongo_set_release(r->sink, sig.verified ? sig.key_id : NULL,
                                           sig.manifest_sha256)))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (!ok) {
        sfl_mongo_restore_destroy(r);
        return NULL;
    }
    return r;
}

/* Opens every collection file of the dump into f[] before anything is
 * written: in the dump folder itself, never through a symbolic link, so
 * that a link or a missing file leaves the database untouched. */
static bool open_files(const sfl_restore_t *r, FILE *f[SFL_N_COLLECTIONS], sfl_error_t *err)
{
    int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", r->dir,
                             strerror(errno));
    bool ok = true;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!r->run.collections[c])
            continue;
        char file[64];
        snprintf(file, sizeof file, "%s.bson", sfl_collection_name((sfl_collection_t)c));
        bool absent;
        f[c] = sfl_dump_open(dfd, r->dir, file, &absent, err);
        if (!f[c] && absent)
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                          "%s/%s: cannot open: no such file (the manifest lists %s)", r->dir,
                          file, sfl_collection_name((sfl_collection_t)c));
        ok = f[c] != NULL;
    }
    close(dfd);
    return ok;
}

bool sfl_mongo_restore_run(sfl_restore_t *r, sfl_error_t *err)
{
    if (!r || r->ran)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_mongo_restore_run: a restore runs once");
    r->ran = true;
    sfl_logf(r->o.log, r->o.log_ud, SFL_LOG_INFO, "restoring %s into %s", r->dir, r->o.db);
    if (sfl_manifest_warning(r->m))
        sfl_logf(r->o.log, r->o.log_ud, SFL_LOG_WARNING, "%s/manifest.json: %s", r->dir,
                 sfl_manifest_warning(r->m));
    /* Every file is opened (never through a link) and read whole before
     * anything is begun: a damaged or altered dump leaves the database
     * untouched. */
    FILE *files[SFL_N_COLLECTIONS] = {NULL};
    bool ok = open_files(r, files, err);
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!files[c])
            continue;
        const char *name = sfl_collection_name((sfl_collection_t)c);
        const sfl_manifest_collection_t *want = sfl_manifest_find_collection(r->m, name);
        char *path = NULL;
        if (!want || asprintf(&path, "%s/%s.bson", r->dir, name) < 0)
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        else
            ok = prescan_file(files[c], path, want, &r->cancelled, err);
        free(path);
    }
    if (ok)
        sfl_logf(r->o.log, r->o.log_ud, SFL_LOG_INFO,
                 "%s: every document is valid BSON, and every collection equals manifest.json",
                 r->dir);
    ok = ok && sfl_sink_begin_int(r->sink, &r->run, err);
    restore_batch_t b = {0};
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!files[c])
            continue;
        char *path = NULL;
        FILE *f = files[c];
        files[c] = NULL; /* restore_file closes it */
        if (asprintf(&path, "%s/%s.bson", r->dir, sfl_collection_name((sfl_collection_t)c)) < 0) {
            fclose(f);
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        } else
            ok = restore_file(r->sink, &r->o, (sfl_collection_t)c, f, path, &b, &r->cancelled,
                              err);
        free(path);
    }
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (files[c])
            fclose(files[c]);
    free(b.buf);
    free(b.docs);
    if (ok && atomic_load(&r->cancelled))
        ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                           "interrupted before the staging check; the browser's collections "
                           "were not changed");
    ok = ok && sfl_sink_commit_int(r->sink, r->m, err);
    if (!ok)
        sfl_sink_abort_int(r->sink, err);
    return ok;
}

void sfl_mongo_restore_cancel(sfl_restore_t *r)
{
    if (!r)
        return;
    atomic_store(&r->cancelled, 1);
    if (r->sink)
        sfl_sink_cancel_int(r->sink);
}

const sfl_manifest_t *sfl_mongo_restore_manifest(const sfl_restore_t *r)
{
    return r ? r->m : NULL;
}

sfl_mongo_outcome_t sfl_mongo_restore_outcome(const sfl_restore_t *r)
{
    return r ? sfl_sink_mongo_outcome(r->sink) : SFL_MONGO_UNCHANGED;
}

bool sfl_mongo_restore(const sfl_mongo_options_t *o, const char *dump_dir, sfl_error_t *err)
{
    sfl_restore_t *r = sfl_mongo_restore_new(o, dump_dir, err);
    bool ok = r && sfl_mongo_restore_run(r, err);
    sfl_mongo_restore_destroy(r);
    return ok;
}

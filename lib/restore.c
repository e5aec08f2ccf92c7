/* restore.c: load a dump (of `dump` or `export`) into MongoDB.
 *
 * The design: a restore is a load whose documents come from a dump's .bson
 * files instead of the conversion pipeline, fed to the very same MongoDB
 * sink (sink_mongo.c): the role check, the lock, staging collections
 * filled by parallel acknowledged batches, the browser's indexes, a
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
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "grow.h"
#include "lifecycle_internal.h"
#include "log.h"
#include "sink_internal.h"
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

/* Streams one collection's .bson file into the sink. */
static bool restore_file(sfl_sink_t *sink, const sfl_mongo_options_t *o, sfl_collection_t c,
                         const char *path, restore_batch_t *b, atomic_int *cancelled,
                         sfl_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                             strerror(errno));
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

struct sfl_restore {
    sfl_mongo_options_t o; /* uri not kept */
    char *dir;             /* the dump folder */
    sfl_manifest_t *m;     /* its manifest.json */
    sfl_run_info_t run; /* the collections and the shape, for the sink */
    sfl_sink_t *sink;
    atomic_int cancelled;
    bool ran;
};

void sfl_mongo_restore_destroy(sfl_restore_t *r)
{
    if (!r)
        return;
    sfl_sink_destroy(r->sink);
    sfl_manifest_destroy(r->m);
    free(r->dir);
    free(r);
}

sfl_restore_t *sfl_mongo_restore_new(const sfl_mongo_options_t *o, const char *dump_dir,
                                     sfl_error_t *err)
{
    if (!o || o->struct_size != sizeof *o || !o->uri || !o->db || !*o->db || !dump_dir) {
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
    r->o = *o;
    r->o.uri = NULL;
    char *mpath = NULL;
    bool ok = (r->dir = sfl_dump_folder(dump_dir, NULL, err)) != NULL;
    if (ok && asprintf(&mpath, "%s/manifest.json", r->dir) < 0)
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    ok = ok && (r->m = sfl_manifest_read_file(mpath, err)) != NULL;
    free(mpath);
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
        ok = (r->sink = sfl_sink_mongo_new(&so, err)) != NULL;
    }
    if (ok && !sfl_sink_mongo_set_command(r->sink, "restore", r->dir))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (!ok) {
        sfl_mongo_restore_destroy(r);
        return NULL;
    }
    return r;
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
    bool ok = sfl_sink_begin_int(r->sink, &r->run, err);
    restore_batch_t b = {0};
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!r->run.collections[c])
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s.bson", r->dir, sfl_collection_name((sfl_collection_t)c)) < 0)
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        else
            ok = restore_file(r->sink, &r->o, (sfl_collection_t)c, path, &b, &r->cancelled, err);
        free(path);
    }
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

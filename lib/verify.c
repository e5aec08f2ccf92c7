/* verify.c: checking a dump (and the source files) against a manifest.
 *
 * Each collection of the manifest is read back document by document,
 * re-canonicalised and digested with the same accumulator the load used
 * (of the kind the entry holds: LtHash16 in format 2, the XXH3 sum in
 * format 1); the count and the digest must both match. Each source file is
 * re-hashed (SHA-256; XXH3-128 for a format-1 entry) and its size
 * compared. Differences are reported per item, never as errors: an error
 * means verification could not run. Reports name digests by their
 * fingerprints, never by the 2.7 KB text.
 */
#include <bson/bson.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bounds.h"
#include "digest_internal.h"
#include "swefreq/lifecycle.h"
#include "manifest_internal.h"
#include "verify_internal.h"

struct sfl_verify_report {
    sfl_verify_item_t *colls, *srcs, *idx;
    size_t n_colls, n_srcs, cap_colls, cap_srcs, n_idx, cap_idx;
    /* a database's verify: its indexes were checked, its role read */
    bool db_checked;
    int role;
    bool sealed;
    char *problem; /* the role or seal differs from what was expected */
    int format;          /* the manifest's format_version      */
    const char *warning; /* static text (sfl_manifest_warning) */
};

const char *sfl_verify_status_name(sfl_verify_status_t s)
{
    switch (s) {
    case SFL_VERIFY_OK: return "ok";
    case SFL_VERIFY_COUNT_DIFFERS: return "count differs";
    case SFL_VERIFY_DIGEST_DIFFERS: return "digest differs";
    case SFL_VERIFY_ABSENT: return "absent";
    case SFL_VERIFY_CHANGED: return "changed";
    case SFL_VERIFY_MISSING: return "missing";
    case SFL_VERIFY_INDEX_MISSING: return "index missing";
    case SFL_VERIFY_INDEX_DIFFERS: return "index differs";
    default: return "unknown";
    }
}

sfl_verify_report_t *sfl_verify_report_new(void) { return calloc(1, sizeof(sfl_verify_report_t)); }

void sfl_verify_set_manifest(sfl_verify_report_t *r, const sfl_manifest_t *m)
{
    r->format = sfl_manifest_format_version(m);
    r->warning = sfl_manifest_warning(m);
}

int sfl_verify_report_format(const sfl_verify_report_t *r) { return r ? r->format : 0; }
const char *sfl_verify_report_warning(const sfl_verify_report_t *r)
{
    return r ? r->warning : NULL;
}

void sfl_verify_report_destroy(sfl_verify_report_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_colls; i++)
        free((char *)r->colls[i].name);
    for (size_t i = 0; i < r->n_srcs; i++)
        free((char *)r->srcs[i].name);
    for (size_t i = 0; i < r->n_idx; i++)
        free((char *)r->idx[i].name);
    free(r->colls);
    free(r->srcs);
    free(r->idx);
    free(r->problem);
    free(r);
}

static sfl_verify_item_t *push(sfl_verify_item_t **a, size_t *n, size_t *cap, const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        sfl_verify_item_t *q = realloc(*a, c * sizeof *q);
        if (!q)
            return NULL;
        *a = q;
        *cap = c;
    }
    sfl_verify_item_t *it = &(*a)[*n];
    memset(it, 0, sizeof *it);
    if (!(it->name = strdup(name)))
        return NULL;
    (*n)++;
    return it;
}

bool sfl_verify_add_collection(sfl_verify_report_t *r, const sfl_manifest_collection_t *e,
                               bool found, const sfl_digest_t *actual)
{
    sfl_verify_item_t *it = push(&r->colls, &r->n_colls, &r->cap_colls, e->name);
    if (!it)
        return false;
    it->expected_count = e->count;
    it->format = sfl_manifest_digest_kind(e) == SFL_DIGEST_XXH3_SUM ? 1 : 2;
    snprintf(it->expected_digest, sizeof it->expected_digest, "%s", e->fingerprint);
    if (!found) {
        it->status = SFL_VERIFY_ABSENT;
        return true;
    }
    it->actual_count = actual->count;
    sfl_digest_fingerprint(actual, it->actual_digest);
    if (actual->count != e->count)
        it->status = SFL_VERIFY_COUNT_DIFFERS;
    else if (!sfl_manifest_collection_matches(e, actual))
        it->status = SFL_VERIFY_DIGEST_DIFFERS;
    else
        it->status = SFL_VERIFY_OK;
    return true;
}

/* A source is looked up where it can be: the path as given (relative to
 * the current folder), the same relative to the manifest's folder, then
 * the absolute path recorded at load time. The first file that matches is
 * ok; else the first one found is changed; else the source is missing. */
bool sfl_verify_sources(sfl_verify_report_t *r, const sfl_manifest_t *m)
{
    const char *dir = sfl_manifest_dir(m);
    for (size_t i = 0; i < sfl_manifest_n_sources(m); i++) {
        const sfl_manifest_source_t *s = sfl_manifest_source(m, i);
        sfl_verify_item_t *it = push(&r->srcs, &r->n_srcs, &r->cap_srcs, s->path);
        if (!it)
            return false;
        /* a format-2 entry has a SHA-256; a format-1 entry only XXH3-128 */
        bool sha = s->sha256[0] != '\0';
        const char *want = sha ? s->sha256 : s->xxh3_128;
        it->expected_size = s->size;
        it->format = sha ? 2 : 1;
        snprintf(it->expected_digest, sizeof it->expected_digest, "%s", want);
        it->status = SFL_VERIFY_MISSING;
        it->actual_digest[0] = '\0';
        char *in_dir = NULL;
        if (dir && s->path[0] != '/' && asprintf(&in_dir, "%s%s", dir, s->path) < 0)
            return false;
        const char *where[3] = {s->path, in_dir, s->abs_path};
        for (int w = 0; w < 3 && it->status != SFL_VERIFY_OK; w++) {
            char hex[65];
            uint64_t size = 0;
            if (!where[w] || !(sha ? sfl_hash_file(where[w], hex, &size, NULL)
                                   : sfl_hash_file_xxh3(where[w], hex, &size, NULL)))
                continue;
            bool same = size == s->size && strcmp(hex, want) == 0;
            if (!same && it->status == SFL_VERIFY_CHANGED)
                continue; /* keep the first changed file found */
            it->actual_size = size;
            snprintf(it->actual_digest, sizeof it->actual_digest, "%s", hex);
            it->status = same ? SFL_VERIFY_OK : SFL_VERIFY_CHANGED;
        }
        free(in_dir);
    }
    return true;
}

/* Digests the documents of a .bson stream, read in large blocks and cut by
 * their length prefixes. A truncated or damaged file is made to differ
 * (count + 1, digest changed) rather than to stop verification. */
static bool digest_stream(FILE *f, const char *path, sfl_digest_t *d, sfl_error_t *err)
{
    enum { BLOCK = 4 << 20 };
    size_t cap = BLOCK, len = 0, pos = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bool damaged = false, eof = false;
    for (;;) {
        if (len - pos < 4 || (len - pos) < (size_t)(buf[pos] | buf[pos + 1] << 8 |
                                                     buf[pos + 2] << 16 |
                                                     (uint32_t)buf[pos + 3] << 24)) {
            if (eof) {
                damaged = len > pos;
                break;
            }
            memmove(buf, buf + pos, len - pos);
            len -= pos;
            pos = 0;
            if (len >= 4) {
                uint32_t need = buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24;
                if (need > SFL_MAX_DOC_BYTES || need < 5) {
                    damaged = true;
                    break;
                }
                if (need > cap) {
                    uint8_t *q = realloc(buf, need);
                    if (!q) {
                        free(buf);
                        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
                    }
                    buf = q;
                    cap = need;
                }
            }
            size_t n = fread(buf + len, 1, cap - len, f);
            if (n == 0) {
                if (ferror(f)) {
                    free(buf);
                    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: read error",
                                         path);
                }
                eof = true;
            }
            len += n;
            continue;
        }
        uint32_t dl = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16 |
                      (uint32_t)buf[pos + 3] << 24;
        if (dl < 5) {
            damaged = true;
            break;
        }
        sfl_error_t e;
        if (!sfl_digest_add_canonical(d, buf + pos, dl, &e)) {
            damaged = true;
            break;
        }
        pos += dl;
    }
    free(buf);
    if (damaged) {
        d->count++;
        d->hi ^= 0x8000000000000000ull;
        d->lanes[0] ^= 0x8000u;
    }
    if (d->failed)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "%s: cannot compute the digest: out of memory, or OpenSSL's "
                             "libcrypto offers no SHA-256 or ChaCha20", path);
    return true;
}

/* ---- finding the dump ------------------------------------------------------ */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static bool is_file(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat st;
    bool yes = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return yes;
}

/* Does `dir` hold a manifest.json or any .bson file? */
static bool holds_dump(const char *dir)
{
    if (is_file(dir, "manifest.json"))
        return true;
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        found = n > 5 && strcmp(e->d_name + n - 5, ".bson") == 0;
    }
    closedir(d);
    return found;
}

/* The names of the subfolders of `dir` (hidden ones left out), as
 * "a, b, c" into buf, and how many of them hold a manifest.json (the
 * first such is copied to *only). */
static int list_folders(const char *dir, char *buf, size_t size, char **only)
{
    buf[0] = '\0';
    *only = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int with_manifest = 0;
    size_t used = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = join(dir, e->d_name);
        struct stat st;
        if (sub && stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (used < size)
                used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                         e->d_name);
            if (is_file(sub, "manifest.json") && with_manifest++ == 0) {
                *only = sub;
                sub = NULL;
            }
        }
        free(sub);
    }
    closedir(d);
    if (with_manifest != 1) {
        free(*only);
        *only = NULL;
    }
    return with_manifest;
}

/* The dump folder: OUT/DB, or found in OUT (see swefreq/verify.h). */
char *sfl_dump_folder(const char *out, const char *db, sfl_error_t *err)
{
    if (db) {
        char *p = join(out, db);
        if (!p)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return p;
    }
    if (holds_dump(out)) {
        char *p = strdup(out);
        if (!p)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return p;
    }
    char names[1024], *only;
    int n = list_folders(out, names, sizeof names, &only);
    if (n == 1)
        return only;
    if (n > 1)
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "%s holds the dumps of several databases (%s): name one with --db", out,
                      names);
    else
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                      "%s holds no dump: no manifest.json or .bson files there%s%s%s", out,
                      names[0] ? ", nor in its folders (" : "", names, names[0] ? ")" : "");
    return NULL;
}

sfl_verify_report_t *sfl_verify_dump(const sfl_manifest_t *m, const char *out_dir,
                                     const char *db, bool check_sources, sfl_error_t *err)
{
    if (!out_dir) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_verify_dump: a folder is required");
        return NULL;
    }
    char *dir = sfl_dump_folder(out_dir, db, err);
    if (!dir)
        return NULL;
    sfl_manifest_t *own = NULL;
    if (!m) {
        char *mp = join(dir, "manifest.json");
        m = own = mp ? sfl_manifest_read_file(mp, err) : NULL;
        if (!mp)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        free(mp);
        if (!m) {
            free(dir);
            return NULL;
        }
    }
    /* A folder with none of the manifest's collections is not its dump. */
    size_t present = 0;
    char name[512];
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        snprintf(name, sizeof name, "%s.bson", sfl_manifest_collection(m, i)->name);
        present += is_file(dir, name);
    }
    if (present == 0 && sfl_manifest_n_collections(m) > 0) {
        char names[1024], *only;
        list_folders(out_dir, names, sizeof names, &only);
        free(only);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                      "%s: none of the manifest's collection files (%s.bson, ...) is there: is "
                      "it the dump of another database? (folders in %s: %s)",
                      dir, sfl_manifest_collection(m, 0)->name, out_dir,
                      names[0] ? names : "none");
        sfl_manifest_destroy(own);
        free(dir);
        return NULL;
    }
    sfl_verify_report_t *r = sfl_verify_report_new();
    if (!r)
        goto nomem;
    sfl_verify_set_manifest(r, m);
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *c = sfl_manifest_collection(m, i);
        snprintf(name, sizeof name, "%s.bson", c->name);
        char *path = join(dir, name);
        if (!path)
            goto nomem;
        sfl_digest_t d;
        sfl_digest_init_kind(&d, sfl_manifest_digest_kind(c));
        FILE *f = fopen(path, "rb");
        if (!f && errno != ENOENT) {
            /* there but unreadable: not "absent", and not a difference */
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot read: %s", path,
                          strerror(errno));
            free(path);
            sfl_verify_report_destroy(r);
            sfl_manifest_destroy(own);
            free(dir);
            return NULL;
        }
        if (!f) {
            free(path);
            if (!sfl_verify_add_collection(r, c, false, &d))
                goto nomem;
            continue;
        }
        bool ok = digest_stream(f, path, &d, err);
        fclose(f);
        free(path);
        if (!ok) {
            sfl_verify_report_destroy(r);
            sfl_manifest_destroy(own);
            free(dir);
            return NULL;
        }
        if (!sfl_verify_add_collection(r, c, true, &d))
            goto nomem;
    }
    if (check_sources && !sfl_verify_sources(r, m))
        goto nomem;
    sfl_manifest_destroy(own);
    free(dir);
    return r;
nomem:
    sfl_verify_report_destroy(r);
    sfl_manifest_destroy(own);
    free(dir);
    sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return NULL;
}

bool sfl_verify_report_ok(const sfl_verify_report_t *r)
{
    if (!r)
        return false;
    for (size_t i = 0; i < r->n_colls; i++)
        if (r->colls[i].status != SFL_VERIFY_OK)
            return false;
    for (size_t i = 0; i < r->n_srcs; i++)
        if (r->srcs[i].status != SFL_VERIFY_OK)
            return false;
    for (size_t i = 0; i < r->n_idx; i++)
        if (r->idx[i].status != SFL_VERIFY_OK)
            return false;
    return !r->problem;
}

bool sfl_verify_add_index(sfl_verify_report_t *r, const char *coll, const char *index,
                          sfl_verify_status_t status)
{
    char name[256];
    snprintf(name, sizeof name, "%s.%s", coll, index);
    sfl_verify_item_t *it = push(&r->idx, &r->n_idx, &r->cap_idx, name);
    if (!it)
        return false;
    it->status = status;
    r->db_checked = true;
    return true;
}

bool sfl_verify_set_state(sfl_verify_report_t *r, int role, bool sealed, const char *problem)
{
    r->db_checked = true;
    r->role = role;
    r->sealed = sealed;
    free(r->problem);
    r->problem = problem ? strdup(problem) : NULL;
    return !problem || r->problem;
}

size_t sfl_verify_report_n_indexes(const sfl_verify_report_t *r) { return r ? r->n_idx : 0; }
const sfl_verify_item_t *sfl_verify_report_index(const sfl_verify_report_t *r, size_t i)
{
    return r && i < r->n_idx ? &r->idx[i] : NULL;
}

bool sfl_verify_report_role(const sfl_verify_report_t *r, sfl_role_t *role, bool *sealed,
                            const char **problem)
{
    if (!r || !r->db_checked)
        return false;
    if (role)
        *role = (sfl_role_t)r->role;
    if (sealed)
        *sealed = r->sealed;
    if (problem)
        *problem = r->problem;
    return true;
}

size_t sfl_verify_report_n_collections(const sfl_verify_report_t *r)
{
    return r ? r->n_colls : 0;
}
const sfl_verify_item_t *sfl_verify_report_collection(const sfl_verify_report_t *r, size_t i)
{
    return r && i < r->n_colls ? &r->colls[i] : NULL;
}
size_t sfl_verify_report_n_sources(const sfl_verify_report_t *r) { return r ? r->n_srcs : 0; }
const sfl_verify_item_t *sfl_verify_report_source(const sfl_verify_report_t *r, size_t i)
{
    return r && i < r->n_srcs ? &r->srcs[i] : NULL;
}

static bool append_items(bson_t *d, const char *key, const sfl_verify_item_t *it, size_t n,
                         bool is_source)
{
    bson_t arr;
    if (!bson_append_array_begin(d, key, -1, &arr))
        return false;
    for (size_t i = 0; i < n; i++) {
        bson_t e;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        /* a source's hash is named by its kind; a collection's digest is
         * its fingerprint (format 1: the digest itself) */
        bool sha = it[i].format >= 2;
        const char *ek = !is_source ? "expected_digest"
                         : sha      ? "expected_sha256"
                                    : "expected_xxh3_128";
        const char *ak = !is_source ? "actual_digest" : sha ? "actual_sha256" : "actual_xxh3_128";
        bool ok = bson_append_document_begin(&arr, k, kl, &e) &&
                  bson_append_utf8(&e, is_source ? "path" : "name", -1, it[i].name, -1) &&
                  bson_append_utf8(&e, "status", -1, sfl_verify_status_name(it[i].status), -1) &&
                  bson_append_int64(&e, is_source ? "expected_size" : "expected_count", -1,
                                    (int64_t)(is_source ? it[i].expected_size
                                                        : it[i].expected_count)) &&
                  bson_append_int64(&e, is_source ? "actual_size" : "actual_count", -1,
                                    (int64_t)(is_source ? it[i].actual_size
                                                        : it[i].actual_count)) &&
                  bson_append_utf8(&e, ek, -1, it[i].expected_digest, -1) &&
                  bson_append_utf8(&e, ak, -1, it[i].actual_digest, -1) &&
                  bson_append_int32(&e, "format", -1, it[i].format) &&
                  bson_append_document_end(&arr, &e);
        if (!ok)
            return false;
    }
    return bson_append_array_end(d, &arr);
}

/* Indexes: {name: "collection.index", status}. */
static bool append_index_items(bson_t *d, const sfl_verify_item_t *it, size_t n)
{
    bson_t arr;
    if (!bson_append_array_begin(d, "indexes", -1, &arr))
        return false;
    for (size_t i = 0; i < n; i++) {
        bson_t e;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        if (!bson_append_document_begin(&arr, k, kl, &e) ||
            !bson_append_utf8(&e, "name", -1, it[i].name, -1) ||
            !bson_append_utf8(&e, "status", -1, sfl_verify_status_name(it[i].status), -1) ||
            !bson_append_document_end(&arr, &e))
            return false;
    }
    return bson_append_array_end(d, &arr);
}

char *sfl_verify_report_json(const sfl_verify_report_t *r)
{
    if (!r)
        return NULL;
    bson_t d = BSON_INITIALIZER, w;
    bool ok = bson_append_bool(&d, "ok", -1, sfl_verify_report_ok(r)) &&
              bson_append_int32(&d, "manifest_format_version", -1, r->format) &&
              bson_append_bool(&d, "forgery_resistant", -1, r->format >= 2) &&
              bson_append_array_begin(&d, "warnings", -1, &w) &&
              (!r->warning || bson_append_utf8(&w, "0", -1, r->warning, -1)) &&
              bson_append_array_end(&d, &w) &&
              append_items(&d, "collections", r->colls, r->n_colls, false) &&
              append_items(&d, "sources", r->srcs, r->n_srcs, true);
    if (ok && r->db_checked) {
        bson_t db;
        ok = append_index_items(&d, r->idx, r->n_idx) &&
             bson_append_document_begin(&d, "database", -1, &db) &&
             bson_append_utf8(&db, "role", -1, sfl_role_name((sfl_role_t)r->role), -1) &&
             bson_append_bool(&db, "sealed", -1, r->sealed) &&
             (r->problem ? bson_append_utf8(&db, "problem", -1, r->problem, -1)
                         : bson_append_null(&db, "problem", -1)) &&
             bson_append_document_end(&d, &db);
    }
    char *out = NULL;
    if (ok) {
        char *json = bson_as_relaxed_extended_json(&d, NULL);
        if (json) {
            out = strdup(json);
            bson_free(json);
        }
    }
    bson_destroy(&d);
    return out;
}

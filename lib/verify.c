/* verify.c: checking a dump (and the source files) against a manifest.
 *
 * Each collection of the manifest is read back document by document,
 * re-canonicalised and digested with the same accumulator the load used
 * (of the kind the entry holds: LtHash16 in format 2, the XXH3 sum in
 * format 1); the count and the digest must both match. Each source file is
 * re-hashed (SHA-256; XXH3-128 for a format-1 entry) and its size
 * compared. Every other .bson or .metadata.json file of a dump is
 * `unlisted`. A dump's files are opened relative to the folder's
 * descriptor with O_NOFOLLOW (sfl_dump_open), so a link cannot lead a read
 * out of the folder. Differences are reported per item, never as errors:
 * an error means verification could not run. Reports name digests by
 * their fingerprints, never by the 2.7 KB text. The report also names the
 * manifest it checked against and carries warnings that do not fail it
 * (a format-1 manifest's among them).
 */
#include <bson/bson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bson_util.h"
#include "control.h"
#include "bounds.h"
#include "digest_internal.h"
#include "index_check.h"
#include "swefreq/lifecycle.h"
#include "manifest_internal.h"
#include "safe_fs.h"
#include "verify_internal.h"

struct sfl_verify_report {
    sfl_verify_item_t *colls, *srcs, *idx;
    size_t n_colls, n_srcs, cap_colls, cap_srcs, n_idx, cap_idx;
    /* a database's verify: its indexes were checked, its role read */
    bool db_checked;
    int role;
    bool sealed;
    char *problem; /* the role or seal differs from what was expected */
    int format; /* the manifest's format_version */
    sfl_release_check_t *release; /* the signed manifest against the
                                     release the database recorded */
    char *release_problem;
    /* what it checked against (sfl_verify_reference_t) */
    char *ref_source, *ref_path, *ref_signer;
    char **load_ids;
    size_t n_load_ids;
    char **warnings;
    size_t n_warnings;
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
    case SFL_VERIFY_UNLISTED: return "unlisted";
    case SFL_VERIFY_INDEX_UNLISTED: return "index unlisted";
    case SFL_VERIFY_INDEX_OPTIONS: return "index options differ";
    default: return "unknown";
    }
}

sfl_verify_report_t *sfl_verify_report_new(void) { return calloc(1, sizeof(sfl_verify_report_t)); }

bool sfl_verify_set_manifest(sfl_verify_report_t *r, const sfl_manifest_t *m)
{
    r->format = sfl_manifest_format_version(m);
    const char *w = sfl_manifest_warning(m);
    return !w || sfl_verify_add_warning(r, w);
}

int sfl_verify_report_format(const sfl_verify_report_t *r) { return r ? r->format : 0; }

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
    free(r->release);
    free(r->release_problem);
    free(r->problem);
    free(r->ref_source);
    free(r->ref_path);
    free(r->ref_signer);
    for (size_t i = 0; i < r->n_load_ids; i++)
        free(r->load_ids[i]);
    free(r->load_ids);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r);
}

/* A copy of the n strings of `a` (NULL-safe); false when out of memory. */
static bool copy_strings(char ***out, size_t *n_out, const char *const *a, size_t n)
{
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && !*out)
        return false;
    for (*n_out = 0; *n_out < n; (*n_out)++)
        if (!((*out)[*n_out] = strdup(a[*n_out])))
            return false;
    return true;
}

bool sfl_verify_set_reference(sfl_verify_report_t *r, const char *source, const char *path,
                              const char *const *load_ids, size_t n_load_ids)
{
    free(r->ref_source);
    free(r->ref_path);
    r->ref_source = strdup(source);
    r->ref_path = path ? strdup(path) : NULL;
    for (size_t i = 0; i < r->n_load_ids; i++)
        free(r->load_ids[i]);
    free(r->load_ids);
    r->load_ids = NULL;
    r->n_load_ids = 0;
    return r->ref_source && (!path || r->ref_path) &&
           copy_strings(&r->load_ids, &r->n_load_ids, load_ids, n_load_ids);
}

bool sfl_verify_set_given(sfl_verify_report_t *r, const sfl_manifest_t *m)
{
    const char *file = sfl_manifest_file(m), *signer = sfl_manifest_signer(m);
    free(r->ref_signer);
    r->ref_signer = signer ? strdup(signer) : NULL;
    return sfl_verify_set_reference(r, file ? "file" : "caller", file, NULL, 0) &&
           (!signer || r->ref_signer);
}

bool sfl_verify_add_warning(sfl_verify_report_t *r, const char *msg)
{
    char **w = realloc(r->warnings, (r->n_warnings + 1) * sizeof *w);
    if (!w)
        return false;
    r->warnings = w;
    return (w[r->n_warnings] = strdup(msg)) && ++r->n_warnings;
}

bool sfl_verify_report_reference(const sfl_verify_report_t *r, sfl_verify_reference_t *out)
{
    if (!r || !out)
        return false;
    out->source = r->ref_source;
    out->path = r->ref_path;
    out->load_ids = (const char *const *)r->load_ids;
    out->n_load_ids = r->n_load_ids;
    out->signer = r->ref_signer;
    return true;
}

size_t sfl_verify_report_n_warnings(const sfl_verify_report_t *r) { return r ? r->n_warnings : 0; }
const char *sfl_verify_report_warning(const sfl_verify_report_t *r, size_t i)
{
    return r && i < r->n_warnings ? r->warnings[i] : NULL;
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

bool sfl_verify_add_unlisted(sfl_verify_report_t *r, const char *name, uint64_t count)
{
    sfl_verify_item_t *it = push(&r->colls, &r->n_colls, &r->cap_colls, name);
    if (!it)
        return false;
    it->status = SFL_VERIFY_UNLISTED;
    it->actual_count = count;
    return true;
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
bool sfl_verify_sources(sfl_verify_report_t *r, const sfl_manifest_t *m, sfl_error_t *err)
{
    const char *dir = sfl_manifest_dir(m);
    for (size_t i = 0; i < sfl_manifest_n_sources(m); i++)
        sfl_ctl_add_total(sfl_manifest_source(m, i)->size);
    for (size_t i = 0; i < sfl_manifest_n_sources(m); i++) {
        const sfl_manifest_source_t *s = sfl_manifest_source(m, i);
        if (sfl_cancel_requested(sfl_ctl_cancel_handle()))
            return true; /* the caller sees the cancellation (sfl_ctl_tick) */
        sfl_verify_item_t *it = push(&r->srcs, &r->n_srcs, &r->cap_srcs, s->path);
        if (!it)
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
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
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        const char *where[3] = {s->path, in_dir, s->abs_path};
        sfl_error_t not_file = {0};
        for (int w = 0; w < 3 && it->status != SFL_VERIFY_OK; w++) {
            char hex[65];
            uint64_t size = 0;
            sfl_error_t e;
            if (!where[w])
                continue;
            if (!(sha ? sfl_hash_file(where[w], hex, &size, &e)
                      : sfl_hash_file_xxh3(where[w], hex, &size, &e))) {
                if (strstr(e.message, "not a regular file") && !not_file.message[0])
                    not_file = e; /* a FIFO or device: never read, never "missing" */
                continue;
            }
            bool same = size == s->size && strcmp(hex, want) == 0;
            if (!same && it->status == SFL_VERIFY_CHANGED)
                continue; /* keep the first changed file found */
            it->actual_size = size;
            snprintf(it->actual_digest, sizeof it->actual_digest, "%s", hex);
            it->status = same ? SFL_VERIFY_OK : SFL_VERIFY_CHANGED;
        }
        free(in_dir);
        if (it->status != SFL_VERIFY_OK && not_file.message[0]) {
            if (err)
                *err = not_file;
            return false;
        }
        sfl_error_t ignore; /* a cancellation is seen by the caller */
        (void)sfl_ctl_tick(s->size, 0, s->path, "while verifying", &ignore);
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
    uint64_t ticked = d->count;
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
            if (!sfl_ctl_tick(n, d->count - ticked, path, "while verifying", err)) {
                free(buf);
                return false;
            }
            ticked = d->count;
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
                      "%s holds the dumps of several databases (%s): name one (the db "
                      "argument)", out,
                      names);
    else
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                      "%s holds no dump: no manifest.json or .bson files there%s%s%s", out,
                      names[0] ? ", nor in its folders (" : "", names, names[0] ? ")" : "");
    return NULL;
}

/* ---- reading the dump's own files ------------------------------------------ */

FILE *sfl_dump_open(int dfd, const char *dir, const char *file, bool *absent, sfl_error_t *err)
{
    *absent = false;
    if (!*file || strchr(file, '/') || !strcmp(file, ".") || !strcmp(file, "..")) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                      "%s: '%s' is not a file name inside the dump folder", dir, file);
        return NULL;
    }
    int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            *absent = true;
        else if (errno == ELOOP)
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                          "%s/%s is a symbolic link: only the dump folder's own files are "
                          "read, never through a link",
                          dir, file);
        else
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s/%s: cannot read: %s", dir,
                          file, strerror(errno));
        return NULL;
    }
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s/%s is not a regular file", dir,
                      file);
    else if (fcntl(fd, F_SETFL, 0) != 0 || !(f = fdopen(fd, "rb")))
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s/%s: cannot read: %s", dir, file,
                      strerror(errno));
    if (!f)
        close(fd);
    return f;
}

/* Each collection of the manifest, digested from its file in the folder. */
static bool digest_collections(sfl_verify_report_t *r, const sfl_manifest_t *m, int dfd,
                               const char *dir, sfl_error_t *err)
{
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        char name[512];
        struct stat st;
        snprintf(name, sizeof name, "%s.bson", sfl_manifest_collection(m, i)->name);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            sfl_ctl_add_total((uint64_t)st.st_size); /* progress (control.h) */
    }
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *c = sfl_manifest_collection(m, i);
        char name[512];
        snprintf(name, sizeof name, "%s.bson", c->name);
        sfl_digest_t d;
        sfl_digest_init_kind(&d, sfl_manifest_digest_kind(c));
        bool absent;
        FILE *f = sfl_dump_open(dfd, dir, name, &absent, err);
        if (!f && !absent)
            return false; /* there but unreadable: not "absent", and not a difference */
        char *path = f ? join(dir, name) : NULL;
        bool ok = !f || (path && digest_stream(f, path, &d, err));
        if (f && !path)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        if (f)
            fclose(f);
        free(path);
        if (!ok)
            return false;
        if (!sfl_verify_add_collection(r, c, f != NULL, &d))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The collection a dump file name belongs to ("genes" of "genes.bson" or
 * "genes.metadata.json") into stem; false for any other file. */
static bool collection_file(const char *file, char *stem, size_t size)
{
    static const char *const ext[] = {".bson", ".metadata.json"};
    size_t n = strlen(file);
    for (int i = 0; i < 2; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(file + n - e, ext[i]) == 0 && n - e < size) {
            memcpy(stem, file, n - e);
            stem[n - e] = '\0';
            return true;
        }
    }
    return false;
}

/* Every .bson and .metadata.json file of the folder that belongs to no
 * collection of the manifest: `unlisted`, by file name, in name order. */
static bool report_unlisted_files(sfl_verify_report_t *r, const sfl_manifest_t *m, int dfd,
                                  const char *dir, sfl_error_t *err)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot list: %s", dir,
                             strerror(errno));
    }
    char **names = NULL, stem[512];
    size_t n = 0;
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        if (!collection_file(e->d_name, stem, sizeof stem) || sfl_manifest_find_collection(m, stem))
            continue;
        char **q = realloc(names, (n + 1) * sizeof *q);
        ok = q && (q[n] = strdup(e->d_name)) != NULL;
        names = q ? q : names;
        n += ok;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; ok && i < n; i++)
        ok = sfl_verify_add_unlisted(r, names[i], 0);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ok || sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

/* ---- a dump's <collection>.metadata.json ------------------------------------ */

typedef struct {
    sfl_verify_report_t *r;
    const char *coll, *where;
} found_ctx_t;

static bool add_found(void *ud, const char *index, sfl_verify_status_t st, const char *what)
{
    const found_ctx_t *c = ud;
    return sfl_verify_add_index_found(c->r, c->coll, index, st, what, c->where);
}

/* The whole of a small JSON file open as f, as BSON; NULL with err. */
static bson_t *read_json_file(FILE *f, const char *shown, sfl_error_t *err)
{
    enum { MAX = 16 << 20 };
    char *buf = malloc(MAX + 1);
    size_t n = buf ? fread(buf, 1, MAX + 1, f) : 0;
    bson_error_t be;
    bson_t *doc = NULL;
    if (!buf)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    else if (ferror(f) || n > MAX)
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: %s", shown,
                      n > MAX ? "larger than 16 MiB: not a metadata file" : strerror(errno));
    else if (!(doc = bson_new_from_json((const uint8_t *)buf, (ssize_t)n, &be)))
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: not valid JSON: %s", shown,
                      be.message);
    free(buf);
    return doc;
}

/* One metadata document: its collection options must be {} and its index
 * definitions those of the manifest (only the differences are reported). */
static bool judge_metadata(sfl_verify_report_t *r, const sfl_manifest_t *m, const char *coll,
                           const bson_t *doc, const char *shown, sfl_error_t *err)
{
    bson_iter_t it;
    const uint8_t *data;
    uint32_t len;
    bson_t found, want;
    if (!bson_iter_init_find(&it, doc, "indexes") || !BSON_ITER_HOLDS_ARRAY(&it))
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                             "%s: no \"indexes\" array: not a collection's metadata file", shown);
    bson_iter_array(&it, &len, &data);
    if (!bson_init_static(&found, data, len))
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: damaged", shown);
    found_ctx_t c = {r, coll, shown};
    bool ok = true;
    if (bson_iter_init_find(&it, doc, "options") &&
        (!BSON_ITER_HOLDS_DOCUMENT(&it) || (bson_iter_document(&it, &len, &data), len > 5)))
        ok = add_found(&c, "(collection options)", SFL_VERIFY_INDEX_OPTIONS,
                       "collection options other than {} (mongorestore would create the "
                       "collection with them)");
    sfl_expected_indexes(m, coll, &want);
    ok = ok && sfl_index_specs_compare(&found, &want, false, add_found, &c);
    bson_destroy(&want);
    return ok || sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

/* Each listed collection's <collection>.metadata.json, when there is one
 * (mongorestore builds the collection and its indexes from it; restore
 * builds the browser's own definitions): judged against the manifest's
 * definitions. */
static bool check_metadata(sfl_verify_report_t *r, const sfl_manifest_t *m, int dfd,
                           const char *dir, sfl_error_t *err)
{
    bool was = r->db_checked, ok = true;
    for (size_t i = 0; ok && i < sfl_manifest_n_collections(m); i++) {
        const char *coll = sfl_manifest_collection(m, i)->name;
        char file[300], shown[4400];
        snprintf(file, sizeof file, "%s.metadata.json", coll);
        snprintf(shown, sizeof shown, "%s/%s", dir, file);
        bool absent;
        FILE *f = sfl_dump_open(dfd, dir, file, &absent, err);
        if (!f) {
            ok = absent;
            continue;
        }
        bson_t *doc = read_json_file(f, shown, err);
        fclose(f);
        ok = doc && judge_metadata(r, m, coll, doc, shown, err);
        if (doc)
            bson_destroy(doc);
    }
    r->db_checked = was; /* a dump: no database role to report */
    return ok;
}

/* A folder with none of the manifest's collection files is not its dump:
 * false with err naming the folders found. */
static bool holds_this_dump(const sfl_manifest_t *m, int dfd, const char *dir,
                            const char *out_dir, sfl_error_t *err)
{
    size_t present = 0;
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        char name[512];
        struct stat st;
        snprintf(name, sizeof name, "%s.bson", sfl_manifest_collection(m, i)->name);
        present += fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    }
    if (present > 0)
        return true;
    char names[1024], *only;
    list_folders(out_dir, names, sizeof names, &only);
    free(only);
    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                         "%s: none of the manifest's collection files (%s.bson, ...) is there: "
                         "is it the dump of another database? (folders in %s: %s)",
                         dir, sfl_manifest_collection(m, 0)->name, out_dir,
                         names[0] ? names : "none");
}
static sfl_verify_report_t *verify_dump_body(const sfl_manifest_t *m, const char *out_dir,
                                             const char *db, bool check_sources,
                                             sfl_error_t *err);

sfl_verify_report_t *sfl_verify_dump(const sfl_manifest_t *m, const char *out_dir,
                                     const char *db, bool check_sources, sfl_error_t *err)
{
    return sfl_verify_dump_ctl(m, out_dir, db, check_sources, NULL, err);
}

sfl_verify_report_t *sfl_verify_dump_ctl(const sfl_manifest_t *m, const char *out_dir,
                                         const char *db, bool check_sources,
                                         const sfl_run_control_t *ctl, sfl_error_t *err)
{
    sfl_ctl_t k;
    if (!sfl_ctl_begin(&k, ctl, err))
        return NULL;
    sfl_verify_report_t *r = verify_dump_body(m, out_dir, db, check_sources, err);
    if (r && sfl_cancel_requested(k.c.cancel)) {
        sfl_verify_report_destroy(r);
        r = NULL;
        sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED, "interrupted while verifying");
    }
    sfl_ctl_end(&k);
    return r;
}

static sfl_verify_report_t *verify_dump_body(const sfl_manifest_t *m, const char *out_dir,
                                             const char *db, bool check_sources,
                                             sfl_error_t *err)
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
        m = own = mp ? sfl_manifest_read_file_ex(mp, true, err) : NULL;
        if (!mp)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        free(mp);
        if (!m) {
            free(dir);
            return NULL;
        }
    }
    sfl_verify_report_t *r = NULL;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 || sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                                        "%s: cannot open the dump folder: %s", dir,
                                        strerror(errno));
    ok = ok && holds_this_dump(m, dfd, dir, out_dir, err);
    if (ok && (!(r = sfl_verify_report_new()) || !sfl_verify_set_manifest(r, m) ||
               !(own ? sfl_verify_set_reference(r, "dump", sfl_manifest_file(own), NULL, 0)
                     : sfl_verify_set_given(r, m))))
        ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    ok = ok && digest_collections(r, m, dfd, dir, err) &&
         report_unlisted_files(r, m, dfd, dir, err) && check_metadata(r, m, dfd, dir, err);
    if (ok && check_sources && !sfl_verify_sources(r, m, err))
        ok = false;
    if (dfd >= 0)
        close(dfd);
    sfl_manifest_destroy(own);
    free(dir);
    if (!ok) {
        sfl_verify_report_destroy(r);
        return NULL;
    }
    return r;
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
    return !r->problem && !r->release_problem;
}

bool sfl_verify_set_release(sfl_verify_report_t *r, const sfl_release_check_t *c)
{
    free(r->release);
    free(r->release_problem);
    r->release_problem = NULL;
    r->release = malloc(sizeof *r->release);
    if (!r->release)
        return false;
    *r->release = *c;
    r->release->problem = NULL;
    if (c->problem && !(r->release->problem = r->release_problem = strdup(c->problem)))
        return false;
    return true;
}

bool sfl_verify_report_release(const sfl_verify_report_t *r, sfl_release_check_t *out)
{
    if (!r || !r->release)
        return false;
    if (out)
        *out = *r->release;
    return true;
}

static bool append_release(bson_t *d, const sfl_release_check_t *c)
{
    bson_t e;
    return bson_append_document_begin(d, "release", -1, &e) &&
           bson_append_utf8(&e, "status", -1, c->problem ? "differs" : "ok", -1) &&
           bson_append_utf8(&e, "key_id", -1, c->key_id, -1) &&
           bson_append_utf8(&e, "manifest_sha256", -1, c->manifest_sha256, -1) &&
           bson_append_utf8(&e, "recorded_key_id", -1, c->recorded_key_id, -1) &&
           bson_append_utf8(&e, "recorded_manifest_sha256", -1, c->recorded_manifest_sha256,
                            -1) &&
           (c->problem ? bson_append_utf8(&e, "problem", -1, c->problem, -1)
                       : bson_append_null(&e, "problem", -1)) &&
           bson_append_document_end(d, &e);
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

bool sfl_verify_add_index_found(sfl_verify_report_t *r, const char *coll, const char *index,
                                sfl_verify_status_t status, const char *what, const char *where)
{
    if (!sfl_verify_add_index(r, coll, index, status))
        return false;
    if (status == SFL_VERIFY_OK || !what || !*what)
        return true;
    char msg[1200];
    snprintf(msg, sizeof msg, "index %s.%s in %s: %s: %s", coll, index, where,
             sfl_verify_status_name(status), what);
    return sfl_verify_add_warning(r, msg);
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

static bool append_str_or_null(bson_t *d, const char *key, const char *v)
{
    return v ? bson_append_utf8(d, key, -1, v, -1) : bson_append_null(d, key, -1);
}

static bool append_strings(bson_t *d, const char *key, char *const *v, size_t n)
{
    bson_t arr;
    bool ok = bson_append_array_begin(d, key, -1, &arr);
    for (size_t i = 0; ok && i < n; i++) {
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_utf8(&arr, k, kl, v[i], -1);
    }
    return ok && bson_append_array_end(d, &arr);
}

/* "manifest": {source, path, load_ids, signer}, and "warnings". */
static bool append_reference(bson_t *d, const sfl_verify_report_t *r)
{
    bson_t ref;
    bool ok = bson_append_document_begin(d, "manifest", -1, &ref) &&
              append_str_or_null(&ref, "source", r->ref_source) &&
              append_str_or_null(&ref, "path", r->ref_path);
    if (ok && r->ref_source && !strcmp(r->ref_source, "database"))
        ok = append_strings(&ref, "load_ids", r->load_ids, r->n_load_ids);
    else if (ok)
        ok = bson_append_null(&ref, "load_ids", -1);
    return ok && append_str_or_null(&ref, "signer", r->ref_signer) &&
           bson_append_document_end(d, &ref) &&
           append_strings(d, "warnings", r->warnings, r->n_warnings);
}

char *sfl_verify_report_json(const sfl_verify_report_t *r)
{
    if (!r)
        return NULL;
    bson_t d = BSON_INITIALIZER;
    bool ok = bson_append_bool(&d, "ok", -1, sfl_verify_report_ok(r)) &&
              bson_append_int32(&d, "manifest_format_version", -1, r->format) &&
              bson_append_bool(&d, "forgery_resistant", -1, r->format >= 2) &&
              append_reference(&d, r) &&
              append_items(&d, "collections", r->colls, r->n_colls, false) &&
              append_items(&d, "sources", r->srcs, r->n_srcs, true);
    /* a dump's indexes: the differences its metadata files show */
    if (ok && (r->db_checked || r->n_idx))
        ok = append_index_items(&d, r->idx, r->n_idx);
    if (ok && r->db_checked) {
        bson_t db;
        ok = bson_append_document_begin(&d, "database", -1, &db) &&
             bson_append_utf8(&db, "role", -1, sfl_role_name((sfl_role_t)r->role), -1) &&
             bson_append_bool(&db, "sealed", -1, r->sealed) &&
             (r->problem ? bson_append_utf8(&db, "problem", -1, r->problem, -1)
                         : bson_append_null(&db, "problem", -1)) &&
             bson_append_document_end(&d, &db);
    }
    if (ok && r->release)
        ok = append_release(&d, r->release);
    char *out = ok ? sfl_bson_json_dup(&d) : NULL;
    bson_destroy(&d);
    return out;
}

/* manifest.c: the manifest document and its accessors.
 *
 * A manifest is kept as the BSON form of its JSON (docs/manifest.md), so
 * one validator serves both a manifest the job just built and one read from
 * a file or from the database's metadata collection. Accessor views
 * (sources, collections, options) point into that document.
 *
 * Format 2 is written; format 1 is still read. In format 2 every source
 * has a "sha256" and every collection an LtHash16 digest. A format-1
 * manifest may hold either kind per entry (written by an older version it
 * holds only XXH3-128 hashes; a manifest in force that draws on loads of
 * both formats holds both), and each entry is checked with its own kind.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest_internal.h"
#include "indexes.h"
#include "json_pretty.h"
#include "manifest_internal.h"
#include "regions.h"
#include "swefreq/swefreq.h"
#include "safe_fs.h"

typedef struct {
    char *name;
    char *value;
} option_t;

struct sfl_manifest {
    bson_t *doc;
    sfl_manifest_source_t *sources;
    size_t n_sources;
    sfl_manifest_collection_t *colls;
    size_t n_colls;
    option_t *options;
    size_t n_options;
    sfl_manifest_region_t *regions;
    size_t n_regions;
    char *dir; /* the folder of the file it was read from, or NULL */
    int version; /* format_version */
    char *path; /* that file, as named, or NULL */
    char *signer; /* key id of the trusted key whose signature was checked */
};

void sfl_manifest_destroy(sfl_manifest_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_options; i++) {
        free(m->options[i].name);
        free(m->options[i].value);
    }
    free(m->options);
    free(m->regions);
    free(m->dir);
    free(m->path);
    free(m->signer);
    free(m->sources);
    free(m->colls);
    if (m->doc)
        bson_destroy(m->doc);
    free(m);
}

/* A whole number from 0 to 2^63 - 1, stored as an integer (never a double:
 * 24.5 or 1e3 is not a count; manifest_check.c names the field). */
static bool get_u64(const bson_iter_t *it, uint64_t *out)
{
    if (BSON_ITER_HOLDS_INT32(it) && bson_iter_int32(it) >= 0)
        *out = (uint64_t)bson_iter_int32(it);
    else if (BSON_ITER_HOLDS_INT64(it) && bson_iter_int64(it) >= 0)
        *out = (uint64_t)bson_iter_int64(it);
    else
        return false;
    return true;
}

static bool get_field(const bson_t *d, const char *key, bson_iter_t *it)
{
    return bson_iter_init_find(it, d, key);
}

static bool bad(sfl_error_t *err, const char *what)
{
    return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "invalid manifest: %s", what);
}

static bool hexn(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static bool nomem(sfl_error_t *err)
{
    return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
}

/* "format" and "format_version": a manifest this version reads. */
static bool check_format(const bson_t *d, int *version, sfl_error_t *err)
{
    bson_iter_t it;
    if (!get_field(d, "format", &it) || !BSON_ITER_HOLDS_UTF8(&it) ||
        strcmp(bson_iter_utf8(&it, NULL), SFL_MANIFEST_FORMAT) != 0)
        return bad(err, "\"format\" is not \"" SFL_MANIFEST_FORMAT "\"");
    uint64_t ver;
    if (!get_field(d, "format_version", &it) || !get_u64(&it, &ver))
        return bad(err, "\"format_version\" is missing");
    if (ver < SFL_MANIFEST_VERSION_MIN || ver > SFL_MANIFEST_VERSION)
        return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                             "manifest format_version %llu is not supported by this "
                             "swefreq-load (it reads versions %d to %d)",
                             (unsigned long long)ver, SFL_MANIFEST_VERSION_MIN,
                             SFL_MANIFEST_VERSION);
    *version = (int)ver;
    return true;
}

/* Array `key` of `d`: `*arr` iterates it, `*n` is its length. False with
 * "invalid manifest: \"key\" is not an array". */
static bool array_field(const bson_t *d, const char *key, bson_iter_t *arr, size_t *n,
                        sfl_error_t *err)
{
    bson_iter_t it;
    if (!get_field(d, key, &it) || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, arr)) {
        char what[64];
        snprintf(what, sizeof what, "\"%s\" is not an array", key);
        return bad(err, what);
    }
    bson_iter_t cnt = *arr;
    for (*n = 0; bson_iter_next(&cnt);)
        (*n)++;
    return true;
}

/* An n-digit lower-case hex string into out[n + 1]; false otherwise. */
static bool get_hex(const bson_iter_t *it, char *out, size_t n)
{
    if (!BSON_ITER_HOLDS_UTF8(it) || !hexn(bson_iter_utf8(it, NULL), n))
        return false;
    memcpy(out, bson_iter_utf8(it, NULL), n + 1);
    return true;
}

/* One entry of "sources": path, abs_path (optional), kind (default "vcf"),
 * size, records, and the SHA-256 (format 2) or XXH3-128 (format 1). */
static bool read_source(bson_iter_t *el, sfl_manifest_source_t *s, int version,
                        sfl_error_t *err)
{
    bool got_path = false, got_size = false, got_sha = false, got_xxh = false;
    s->kind = "vcf";
    while (bson_iter_next(el)) {
        const char *k = bson_iter_key(el);
        if (!strcmp(k, "path") && BSON_ITER_HOLDS_UTF8(el)) {
            s->path = bson_iter_utf8(el, NULL);
            got_path = true;
        } else if (!strcmp(k, "abs_path") && BSON_ITER_HOLDS_UTF8(el)) {
            s->abs_path = bson_iter_utf8(el, NULL);
        } else if (!strcmp(k, "kind") && BSON_ITER_HOLDS_UTF8(el)) {
            s->kind = bson_iter_utf8(el, NULL);
        } else if (!strcmp(k, "size")) {
            got_size = get_u64(el, &s->size);
        } else if (!strcmp(k, "records")) {
            get_u64(el, &s->records);
        } else if (!strcmp(k, "sha256")) {
            got_sha = get_hex(el, s->sha256, 64) || got_sha;
        } else if (!strcmp(k, "xxh3_128")) {
            got_xxh = get_hex(el, s->xxh3_128, 32) || got_xxh;
        }
    }
    if (!got_path || !got_size)
        return bad(err, "a source lacks \"path\" or \"size\"");
    if (version >= 2 && !got_sha)
        return bad(err, "a source lacks a 64-digit \"sha256\" (format 2)");
    if (!got_sha && !got_xxh)
        return bad(err, "a source lacks a 64-digit \"sha256\" or a 32-digit \"xxh3_128\"");
    if (got_sha) /* each source is checked with one hash: the strong one */
        s->xxh3_128[0] = '\0';
    return true;
}

/* One entry of "collections": name, count, bytes and the digest (format
 * 2: LtHash16 only; format 1: either kind). */
static bool read_collection(bson_iter_t *el, sfl_manifest_collection_t *c, int version,
                            sfl_error_t *err)
{
    bool got_name = false, got_count = false, got_digest = false;
    while (bson_iter_next(el)) {
        const char *k = bson_iter_key(el);
        if (!strcmp(k, "name") && BSON_ITER_HOLDS_UTF8(el)) {
            c->name = bson_iter_utf8(el, NULL);
            got_name = true;
        } else if (!strcmp(k, "count")) {
            got_count = get_u64(el, &c->count);
        } else if (!strcmp(k, "bytes")) {
            get_u64(el, &c->bytes);
        } else if (!strcmp(k, "digest") && BSON_ITER_HOLDS_UTF8(el)) {
            const char *t = bson_iter_utf8(el, NULL);
            int kind = sfl_digest_kind_of_text(t);
            if ((kind == SFL_DIGEST_LTHASH16 || (kind && version < 2)) &&
                sfl_digest_text_fingerprint(t, c->fingerprint)) {
                c->digest = t;
                got_digest = true;
            }
        }
    }
    if (!got_name || !got_count)
        return bad(err, "a collection lacks \"name\" or \"count\"");
    if (!got_digest)
        return bad(err, version >= 2 ? "a collection lacks a \"digest\" of the form \""
                                       SFL_DIGEST_ALGORITHM ":<base64 of 2048 bytes>\" "
                                       "(format 2)"
                                     : "a collection lacks a 32-digit \"digest\"");
    return true;
}

/* The views of "sources" and "collections": each entry an object. */
static bool read_entries(sfl_manifest_t *m, sfl_error_t *err)
{
    bson_iter_t arr, el;
    size_t n;
    if (!array_field(m->doc, "sources", &arr, &n, err))
        return false;
    if (!(m->sources = calloc(n + 1, sizeof *m->sources)))
        return nomem(err);
    while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &el))
            return bad(err, "a source is not an object");
        if (!read_source(&el, &m->sources[m->n_sources], m->version, err))
            return false;
        m->n_sources++;
    }
    if (!array_field(m->doc, "collections", &arr, &n, err))
        return false;
    if (!(m->colls = calloc(n + 1, sizeof *m->colls)))
        return nomem(err);
    while (bson_iter_next(&arr)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &el))
            return bad(err, "a collection is not an object");
        if (!read_collection(&el, &m->colls[m->n_colls], m->version, err))
            return false;
        m->n_colls++;
    }
    return true;
}

/* "options", each as text (strings, non-negative integers, booleans;
 * other values are skipped). */
static bool read_options(sfl_manifest_t *m, sfl_error_t *err)
{
    bson_iter_t it, f;
    if (!get_field(m->doc, "options", &it) || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &f))
        return true;
    size_t cap = 0;
    bson_iter_t cnt = f;
    while (bson_iter_next(&cnt))
        cap++;
    if (!(m->options = calloc(cap + 1, sizeof *m->options)))
        return nomem(err);
    while (bson_iter_next(&f)) {
        char buf[64];
        const char *v = NULL;
        uint64_t u;
        if (BSON_ITER_HOLDS_UTF8(&f))
            v = bson_iter_utf8(&f, NULL);
        else if (get_u64(&f, &u)) {
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
            v = buf;
        } else if (BSON_ITER_HOLDS_BOOL(&f))
            v = bson_iter_bool(&f) ? "true" : "false";
        else
            continue;
        option_t *o = &m->options[m->n_options];
        o->name = strdup(bson_iter_key(&f));
        o->value = strdup(v);
        if (!o->name || !o->value) {
            free(o->name);
            free(o->value);
            return nomem(err);
        }
        m->n_options++;
    }
    return true;
}

/* "regions" (optional): {chrom, start[, end]} each, start < end. */
static bool read_regions(sfl_manifest_t *m, sfl_error_t *err)
{
    bson_iter_t it, arr, f;
    if (!get_field(m->doc, "regions", &it))
        return true;
    size_t n;
    if (!array_field(m->doc, "regions", &arr, &n, err))
        return false;
    if (!(m->regions = calloc(n + 1, sizeof *m->regions)))
        return nomem(err);
    while (bson_iter_next(&arr)) {
        sfl_manifest_region_t *r = &m->regions[m->n_regions];
        uint64_t beg = 0, end = 0;
        bool has_beg = false, has_end = false;
        r->chrom = NULL;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &f))
            return bad(err, "a region is not an object");
        while (bson_iter_next(&f)) {
            const char *k = bson_iter_key(&f);
            if (!strcmp(k, "chrom") && BSON_ITER_HOLDS_UTF8(&f))
                r->chrom = bson_iter_utf8(&f, NULL);
            else if (!strcmp(k, "start"))
                has_beg = get_u64(&f, &beg);
            else if (!strcmp(k, "end"))
                has_end = get_u64(&f, &end);
        }
        if (!r->chrom || !*r->chrom || !has_beg || (has_end && end <= beg))
            return bad(err, "a region needs \"chrom\", a whole \"start\" and an \"end\" "
                            "past it (or none)");
        r->start = (int64_t)beg;
        r->end = has_end ? (int64_t)end : -1;
        m->n_regions++;
    }
    return true;
}

size_t sfl_manifest_n_regions(const sfl_manifest_t *m) { return m ? m->n_regions : 0; }

const sfl_manifest_region_t *sfl_manifest_region(const sfl_manifest_t *m, size_t i)
{
    return m && i < m->n_regions ? &m->regions[i] : NULL;
}

sfl_manifest_t *sfl_manifest_from_bson(const bson_t *doc, sfl_error_t *err)
{
    sfl_manifest_t *m = calloc(1, sizeof *m);
    if (!m || !(m->doc = bson_copy(doc))) {
        free(m);
        nomem(err);
        return NULL;
    }
    if (!sfl_manifest_check_keys(m->doc, err) || !check_format(m->doc, &m->version, err) ||
        !sfl_manifest_check(m->doc, err) ||
        !read_entries(m, err) || !read_options(m, err) || !read_regions(m, err)) {
        sfl_manifest_destroy(m);
        return NULL;
    }
    return m;
}

const bson_t *sfl_manifest_bson(const sfl_manifest_t *m) { return m->doc; }

sfl_manifest_t *sfl_manifest_with_release(const sfl_manifest_t *m, uint64_t number,
                                          const char *database, sfl_error_t *err)
{
    if (!m || number < 1 || number > INT64_MAX || !sfl_db_name_ok(database)) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a release needs a number from 1 (sfl_mongo_options_t.release_number) "
                      "and a database name of 1 to 63 bytes without / \\ . space \" $ "
                      "(sfl_mongo_options_t.release_db)");
        return NULL;
    }
    bson_t doc = BSON_INITIALIZER, rel;
    bson_copy_to_excluding_noinit(m->doc, &doc, "release", NULL);
    BSON_APPEND_DOCUMENT_BEGIN(&doc, "release", &rel);
    BSON_APPEND_INT64(&rel, "number", (int64_t)number);
    BSON_APPEND_UTF8(&rel, "database", database);
    bson_append_document_end(&doc, &rel);
    sfl_manifest_t *out = sfl_manifest_from_bson(&doc, err);
    bson_destroy(&doc);
    return out;
}

sfl_manifest_t *sfl_manifest_parse(const char *json, size_t len, sfl_error_t *err)
{
    if (!json) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_manifest_parse: no text");
        return NULL;
    }
    char *wide;
    size_t wide_len;
    if (!sfl_manifest_widen_integers(json, len, &wide, &wide_len)) {
        nomem(err);
        return NULL;
    }
    bson_error_t be;
    bson_t *doc = wide ? bson_new_from_json((const uint8_t *)wide, (ssize_t)wide_len, &be)
                       : bson_new_from_json((const uint8_t *)json, (ssize_t)len, &be);
    free(wide);
    if (!doc) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "invalid manifest: not JSON: %s",
                      be.message);
        return NULL;
    }
    sfl_manifest_t *m = sfl_manifest_from_bson(doc, err);
    bson_destroy(doc);
    return m;
}

sfl_manifest_t *sfl_manifest_read_file(const char *path, sfl_error_t *err)
{
    return sfl_manifest_read_file_ex(path, false, err);
}

sfl_manifest_t *sfl_manifest_read_file_ex(const char *path, bool nofollow, sfl_error_t *err)
{
    if (!path) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_manifest_read_file: no path");
        return NULL;
    }
    sfl_error_t oe;
    /* never a FIFO or a device; inside a dump folder, never a link */
    int fd = nofollow ? sfl_open_regular_nofollow(path, "the manifest", &oe)
                      : sfl_open_regular(path, "the manifest", &oe);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    if (!f) {
        if (!strstr(oe.message, "not a regular file") && !strstr(oe.message, "symbolic link"))
            snprintf(oe.message, sizeof oe.message, "%s: cannot read the manifest: %s", path,
                     strerror(errno));
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "%s", oe.message);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            if (cap > (64u << 20)) {
                free(buf);
                fclose(f);
                sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST,
                              "%s: too large for a manifest", path);
                return NULL;
            }
            char *q = realloc(buf, cap);
            if (!q) {
                free(buf);
                fclose(f);
                sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
                return NULL;
            }
            buf = q;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_MANIFEST, "%s: cannot read the manifest: %s",
                      path, strerror(e));
        return NULL;
    }
    fclose(f);
    sfl_error_t e;
    sfl_manifest_t *m = sfl_manifest_parse(buf ? buf : "", len, &e);
    free(buf);
    if (!m) {
        sfl_error_set(err, e.domain, e.code, "%s: %s", path, e.message);
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    m->dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup("./");
    m->path = strdup(path);
    if (!m->dir || !m->path) {
        sfl_manifest_destroy(m);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    return m;
}

const char *sfl_manifest_dir(const sfl_manifest_t *m) { return m->dir; }
const char *sfl_manifest_file(const sfl_manifest_t *m) { return m->path; }
const char *sfl_manifest_signer(const sfl_manifest_t *m) { return m->signer; }

bool sfl_manifest_set_signer(sfl_manifest_t *m, const char *key_id)
{
    free(m->signer);
    m->signer = key_id ? strdup(key_id) : NULL;
    return !key_id || m->signer;
}

char *sfl_manifest_to_json(const sfl_manifest_t *m)
{
    if (!m)
        return NULL;
    char *compact = bson_as_relaxed_extended_json(m->doc, NULL);
    if (!compact)
        return NULL;
    char *pretty = sfl_json_pretty(compact);
    bson_free(compact);
    return pretty;
}

bool sfl_manifest_write_file(const sfl_manifest_t *m, const char *path, sfl_error_t *err)
{
    if (!m || !path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_manifest_write_file: manifest and path are required");
    char *json = sfl_manifest_to_json(m);
    if (!json)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    /* one buffer, through a new file in the same folder, renamed */
    bool ok = sfl_write_replace(path, json, strlen(json), "the manifest", err);
    free(json);
    return ok;
}

size_t sfl_manifest_n_sources(const sfl_manifest_t *m) { return m ? m->n_sources : 0; }
const sfl_manifest_source_t *sfl_manifest_source(const sfl_manifest_t *m, size_t i)
{
    return m && i < m->n_sources ? &m->sources[i] : NULL;
}
size_t sfl_manifest_n_collections(const sfl_manifest_t *m) { return m ? m->n_colls : 0; }
const sfl_manifest_collection_t *sfl_manifest_collection(const sfl_manifest_t *m, size_t i)
{
    return m && i < m->n_colls ? &m->colls[i] : NULL;
}
const sfl_manifest_collection_t *sfl_manifest_find_collection(const sfl_manifest_t *m,
                                                              const char *name)
{
    for (size_t i = 0; m && name && i < m->n_colls; i++)
        if (strcmp(m->colls[i].name, name) == 0)
            return &m->colls[i];
    return NULL;
}
int sfl_manifest_format_version(const sfl_manifest_t *m) { return m ? m->version : 0; }

sfl_digest_kind_t sfl_manifest_digest_kind(const sfl_manifest_collection_t *c)
{
    return sfl_digest_kind_of_text(c->digest) == SFL_DIGEST_XXH3_SUM ? SFL_DIGEST_XXH3_SUM
                                                                      : SFL_DIGEST_LTHASH16;
}

bool sfl_manifest_collection_matches(const sfl_manifest_collection_t *c, const sfl_digest_t *d)
{
    sfl_digest_t want;
    return d->count == c->count && sfl_digest_from_text(&want, c->digest) &&
           sfl_digest_equal(d, &want);
}

const char *sfl_manifest_warning(const sfl_manifest_t *m)
{
    if (!m || m->version >= 2)
        return NULL;
    return "the manifest is not forgery-resistant (format 1): its collection digests (a sum of "
           "XXH3-128) can be forged by whoever can change the data; dump or load again with "
           "this version to get a format-2 manifest";
}

const char *sfl_manifest_option(const sfl_manifest_t *m, const char *name)
{
    for (size_t i = 0; m && name && i < m->n_options; i++)
        if (strcmp(m->options[i].name, name) == 0)
            return m->options[i].value;
    return NULL;
}

char *sfl_manifest_regions_text(const sfl_manifest_t *m)
{
    char *out = strdup("");
    size_t len = 0;
    for (size_t i = 0; out && m && i < m->n_regions; i++) {
        const sfl_manifest_region_t *r = &m->regions[i];
        size_t need = len + strlen(r->chrom) + 48;
        char *grown = realloc(out, need);
        if (!grown) {
            free(out);
            return NULL;
        }
        out = grown;
        if (r->end < 0)
            len += (size_t)snprintf(out + len, need - len, "%s%s:%lld-end", len ? " " : "",
                                    r->chrom, (long long)r->start);
        else
            len += (size_t)snprintf(out + len, need - len, "%s%s:%lld-%lld", len ? " " : "",
                                    r->chrom, (long long)r->start, (long long)r->end);
    }
    return out;
}

/* ---- assembling the manifest of a run ---------------------------------- */

/* A VCF source's consequence field, Format and repair; its genome build
 * when hemizygotes were computed. */
static bool append_annotations(bson_t *e, const sfl_source_record_t *s)
{
    bool ok = true;
    if (s->csq_key)
        ok = bson_append_utf8(e, "csq_field", -1, s->csq_key, -1) &&
             bson_append_utf8(e, "csq_format", -1, s->csq_format, -1) &&
             bson_append_bool(e, "csq_format_from_option", -1, s->csq_overridden) &&
             bson_append_bool(e, "csq_gnomad_v40_repair", -1, s->v40_repaired);
    if (ok && s->genome != SFL_GENOME_AUTO)
        ok = bson_append_utf8(e, "genome", -1, sfl_genome_name(s->genome), -1);
    return ok;
}

sfl_manifest_t *sfl_manifest_build(const sfl_manifest_input_t *in, sfl_error_t *err)
{
    bson_t doc = BSON_INITIALIZER, tool, opts, arr;
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bool ok = bson_append_utf8(&doc, "format", -1, SFL_MANIFEST_FORMAT, -1) &&
              bson_append_int32(&doc, "format_version", -1, SFL_MANIFEST_VERSION) &&
              bson_append_document_begin(&doc, "tool", -1, &tool) &&
              bson_append_utf8(&tool, "name", -1, "swefreq-load", -1) &&
              bson_append_utf8(&tool, "version", -1, sfl_version(), -1) &&
              bson_append_document_end(&doc, &tool) &&
              bson_append_utf8(&doc, "created", -1, created, -1) &&
              bson_append_document_begin(&doc, "options", -1, &opts) &&
              bson_append_utf8(&opts, "style", -1, sfl_style_name(in->opt->style), -1) &&
              bson_append_utf8(&opts, "histograms", -1, sfl_histograms_name(in->opt->histograms),
                               -1) &&
              bson_append_int64(&opts, "coverage_step", -1, in->opt->coverage_step) &&
              bson_append_int64(&opts, "max_errors", -1, (int64_t)in->opt->max_errors) &&
              bson_append_int64(&opts, "rejected_lines", -1, (int64_t)in->rejected_lines) &&
              bson_append_utf8(&opts, "csq_field", -1,
                               in->opt->csq_field ? in->opt->csq_field : "auto", -1) &&
              bson_append_utf8(&opts, "csq_format", -1,
                               in->opt->csq_format ? in->opt->csq_format : "header", -1) &&
              bson_append_utf8(&opts, "vep_features", -1,
                               sfl_vep_features_name(in->opt->vep_features), -1) &&
              bson_append_utf8(&opts, "genome", -1, sfl_genome_name(in->opt->genome), -1) &&
              bson_append_bool(&opts, "skip_unknown_contigs", -1,
                               in->opt->skip_unknown_contigs) &&
              bson_append_int64(&opts, "unknown_contig_lines", -1,
                                (int64_t)in->unknown_contig_lines) &&
              bson_append_document_end(&doc, &opts) &&
              (!in->regions || !in->regions->n ||
               sfl_regions_append_bson(&doc, "regions", in->regions)) &&
              bson_append_array_begin(&doc, "sources", -1, &arr);
    for (size_t i = 0; ok && i < in->n_sources; i++) {
        const sfl_source_record_t *s = &in->sources[i];
        bson_t e;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_document_begin(&arr, k, kl, &e) &&
             bson_append_utf8(&e, "path", -1, s->path, -1) &&
             (!s->abs_path || bson_append_utf8(&e, "abs_path", -1, s->abs_path, -1)) &&
             bson_append_utf8(&e, "kind", -1, sfl_source_kind_name(s->kind), -1) &&
             bson_append_int64(&e, "size", -1, (int64_t)s->size) &&
             bson_append_utf8(&e, "sha256", -1, s->hash, -1) &&
             bson_append_int64(&e, "records", -1, (int64_t)s->records) &&
             (s->kind != SFL_SOURCE_VCF ||
              bson_append_utf8(&e, "style", -1, sfl_style_name(s->style), -1)) &&
             (s->kind != SFL_SOURCE_VCF || append_annotations(&e, s)) &&
             (!s->join_counted ||
              bson_append_int64(&e, "unjoined_rows", -1, (int64_t)s->unjoined_rows)) &&
             bson_append_document_end(&arr, &e);
    }
    ok = ok && bson_append_array_end(&doc, &arr) &&
         bson_append_array_begin(&doc, "collections", -1, &arr);
    uint32_t ci = 0;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!in->used[c])
            continue;
        char text[SFL_DIGEST_TEXT_SIZE];
        sfl_digest_text(&in->digests[c], text);
        bson_t e, idx;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string(ci++, &k, kb, sizeof kb);
        uint32_t ii = 0;
        ok = bson_append_document_begin(&arr, k, kl, &e) &&
             bson_append_utf8(&e, "name", -1, sfl_collection_name((sfl_collection_t)c), -1) &&
             bson_append_int64(&e, "count", -1, (int64_t)in->digests[c].count) &&
             bson_append_int64(&e, "bytes", -1, (int64_t)in->digests[c].bytes) &&
             bson_append_utf8(&e, "digest", -1, text, -1) &&
             bson_append_array_begin(&e, "indexes", -1, &idx) &&
             sfl_append_index_specs(&idx, (sfl_collection_t)c, false, false, &ii) &&
             bson_append_array_end(&e, &idx) && bson_append_document_end(&arr, &e);
    }
    ok = ok && bson_append_array_end(&doc, &arr);
    if (!ok) {
        bson_destroy(&doc);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    sfl_manifest_t *m = sfl_manifest_from_bson(&doc, err);
    bson_destroy(&doc);
    return m;
}

bool sfl_manifest_set_origin(sfl_manifest_t *m, const char *path)
{
    const char *slash = strrchr(path, '/');
    free(m->dir);
    free(m->path);
    m->dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup("./");
    m->path = strdup(path);
    return m->dir != NULL && m->path != NULL;
}

/* fuzz_manifest.c: libFuzzer target for the manifest reader.
 *
 * The input is a manifest's JSON text. When it parses, every accessor is
 * walked (each string must be NUL-terminated and readable, each source
 * hash 64 hex digits (SHA-256) or, in format 1, 32 (XXH3-128), each
 * collection digest of its format with a 32-digit fingerprint), the
 * manifest is written back as JSON, and that JSON must
 * parse again to the same sources, collections and options. A refusal
 * must carry a message. Nothing may crash or leak.
 */
#include <stdlib.h>
#include <string.h>

#include "swefreq/swefreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const sfl_manifest_t *m)
{
    size_t sum = 0;
    for (size_t i = 0; i < sfl_manifest_n_sources(m); i++) {
        const sfl_manifest_source_t *s = sfl_manifest_source(m, i);
        if (!s || !s->path || !s->kind ||
            (strlen(s->sha256) != 64 &&
             (sfl_manifest_format_version(m) >= 2 || strlen(s->xxh3_128) != 32)))
            abort();
        sum += strlen(s->path) + strlen(s->kind) + (s->abs_path ? strlen(s->abs_path) : 0) +
               (size_t)(s->size + s->records);
    }
    for (size_t i = 0; i < sfl_manifest_n_collections(m); i++) {
        const sfl_manifest_collection_t *c = sfl_manifest_collection(m, i);
        if (!c || !c->name || sfl_manifest_find_collection(m, c->name) == NULL || !c->digest ||
            strlen(c->fingerprint) != 32 ||
            (sfl_manifest_format_version(m) >= 2 &&
             sfl_digest_kind_of_text(c->digest) != SFL_DIGEST_LTHASH16))
            abort();
        sfl_digest_t d; /* what the manifest holds is a digest this version reads */
        if (!sfl_digest_from_text(&d, c->digest))
            abort();
        sum += strlen(c->name) + (size_t)c->count;
    }
    static const char *const opts[] = {"style", "histograms", "coverage_step", "max_errors",
                                       "rejected_lines"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = sfl_manifest_option(m, opts[i]);
        sum += v ? strlen(v) : 0;
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfl_error_t err;
    sfl_manifest_t *m = sfl_manifest_parse((const char *)data, size, &err);
    if (!m) {
        if (!err.code || !err.message[0])
            abort();
        return 0;
    }
    size_t before = walk(m);
    char *json = sfl_manifest_to_json(m);
    if (!json)
        abort();
    sfl_manifest_t *again = sfl_manifest_parse(json, strlen(json), &err);
    if (!again || walk(again) != before ||
        sfl_manifest_n_sources(again) != sfl_manifest_n_sources(m) ||
        sfl_manifest_n_collections(again) != sfl_manifest_n_collections(m))
        abort(); /* what we write, we read back the same */
    free(json);
    sfl_manifest_destroy(again);
    sfl_manifest_destroy(m);
    return 0;
}

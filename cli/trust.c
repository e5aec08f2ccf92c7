/* trust.c: the trusted keys of restore, promote and verify. */
#include <stdlib.h>
#include <string.h>

#include "trust.h"

bool cli_trust_add(cli_trust_t *t, const char *path)
{
    if (t->n >= CLI_TRUST_MAX) {
        cli_error("at most %d --trusted-key options", CLI_TRUST_MAX);
        return false;
    }
    t->paths[t->n++] = path;
    return true;
}

int cli_trust_load(const cli_trust_t *t, sfl_trusted_keys_t **out)
{
    *out = NULL;
    const char *env = getenv("SWEFREQ_TRUSTED_KEYS");
    if (!t->n && (!env || !*env))
        return -1;
    sfl_trusted_keys_t *keys = sfl_trusted_keys_new();
    char *copy = t->n ? NULL : strdup(env);
    if (!keys || (!t->n && !copy)) {
        sfl_trusted_keys_destroy(keys);
        free(copy);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    sfl_error_t err;
    sfl_error_clear(&err);
    bool ok = true;
    for (int i = 0; ok && i < t->n; i++)
        ok = sfl_trusted_keys_add_file(keys, t->paths[i], &err);
    char *save = NULL;
    for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; ok && p;
         p = strtok_r(NULL, ":", &save))
        ok = sfl_trusted_keys_add_file(keys, p, &err);
    free(copy);
    if (ok && !sfl_trusted_keys_count(keys)) {
        cli_error("SWEFREQ_TRUSTED_KEYS names no key file");
        sfl_trusted_keys_destroy(keys);
        return EXIT_USAGE;
    }
    if (!ok) {
        cli_print_error(&err);
        sfl_trusted_keys_destroy(keys);
        return cli_exit_code(&err);
    }
    *out = keys;
    return -1;
}

void cli_trust_describe(const sfl_signature_info_t *si, char *buf, size_t n)
{
    if (si->verified)
        snprintf(buf, n, "signed by trusted key %s", si->key_id);
    else
        snprintf(buf, n, "signature not checked (no trusted key configured)");
}

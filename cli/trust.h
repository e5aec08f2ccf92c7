/* trust.h: --trusted-key FILE (repeatable) and SWEFREQ_TRUSTED_KEYS, and
 * --signing-key, for the commands that check or write signatures. */
#ifndef SFL_CLI_TRUST_H
#define SFL_CLI_TRUST_H

#include "cli.h"

#define CLI_TRUST_MAX 16

#define CLI_TRUST_HELP                                                                            \
    "  --trusted-key FILE    an Ed25519 public key (PEM) that may sign the manifest; repeat\n"   \
    "                        for more (default: $SWEFREQ_TRUSTED_KEYS, colon-separated).\n"      \
    "                        With one, a manifest whose FILE.sig is missing, wrong or made\n"    \
    "                        by another key is refused (exit 10) before anything is written.\n"

typedef struct {
    const char *paths[CLI_TRUST_MAX];
    int n;
} cli_trust_t;

/* Adds one --trusted-key; false (message printed) past CLI_TRUST_MAX. */
bool cli_trust_add(cli_trust_t *t, const char *path);

/* The key set: the --trusted-key files, else those of
 * $SWEFREQ_TRUSTED_KEYS; *out NULL when none is configured. Returns -1
 * when the keys are ready, else the exit code (a key file that cannot be
 * read: message printed, exit 3). */
int cli_trust_load(const cli_trust_t *t, sfl_trusted_keys_t **out);

/* "signed by key ID" or "not signed (no trusted key configured)". */
void cli_trust_describe(const sfl_signature_info_t *si, char *buf, size_t n);

#endif

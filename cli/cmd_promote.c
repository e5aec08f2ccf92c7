/* cmd_promote.c: `swefreq-load promote`: verify a database against a
 * manifest file and seal it live. */
#include <stdlib.h>
#include <string.h>

#include "server_opts.h"
#include "trust.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s promote --uri-file FILE --db NAME --manifest FILE [--sources]\n"
            "                  [--trusted-key KEY]... [options]\n"
            "\n"
            "The birth of a live database. Verifies the database fully against the manifest\n"
            "FILE (kept outside the database, e.g. the manifest.json of the dump it was\n"
            "restored from): each collection's count and digest, every index, and with\n"
            "--sources the source files. Only when everything matches does the role become\n"
            "live and the database sealed, with the manifest's digest recorded in the role\n"
            "history. If anything differs it exits 5 and changes nothing. Works the same on\n"
            "a database cloned at the volume or container level (its role is then still\n"
            "development: use --expect-role development, or none). With a trusted key\n"
            "(--trusted-key, SWEFREQ_TRUSTED_KEYS) FILE.sig must be its valid signature of\n"
            "FILE (else exit 10, nothing read from the server); the signer's key id and the\n"
            "SHA-256 of FILE are recorded with the seal, for the nightly verify.\n"
            "\n"
            "  --manifest FILE       the manifest to verify against (required)\n"
            "  --sources             also re-hash the source files the manifest names\n"
            CLI_TRUST_HELP
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

typedef struct {
    const char *manifest;
    bool sources;
    cli_trust_t trust;
} promote_args_t;

static int own(void *ud, int ch, const char *arg)
{
    promote_args_t *a = ud;
    switch (ch) {
    case 'm': a->manifest = arg; return 1;
    case 's': a->sources = true; return 1;
    case 't': return cli_trust_add(&a->trust, arg) ? 1 : -1;
    default: return 0;
    }
}

int cmd_promote(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"sources", no_argument, NULL, 's'},
                                             {"trusted-key", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    promote_args_t a;
    memset(&a, 0, sizeof a);
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &a, usage, "promote");
    if (rc >= 0)
        return rc;
    if (!a.manifest) {
        cli_error("promote needs --manifest FILE: the database is verified against a manifest "
                  "kept outside it");
        return EXIT_USAGE;
    }
    sfl_trusted_keys_t *keys;
    if ((rc = cli_trust_load(&a.trust, &keys)) >= 0)
        return rc;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_signature_info_t sig;
    sfl_manifest_t *m = sfl_manifest_read_signed(a.manifest, keys, &sig, &err);
    sfl_trusted_keys_destroy(keys);
    if (!m)
        return cli_server_fail(&s, &err);
    sfl_verify_report_t *rep = NULL;
    bool ok = sfl_mongo_promote_signed(&s.mo, m, &sig, a.sources, &rep, &err);
    rc = ok ? EXIT_OK : cli_exit_code(&err);
    if (!ok && !s.quiet)
        cli_print_error(&err);
    if (s.json) {
        char *js = rep ? sfl_verify_report_json(rep) : NULL;
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", \"promoted\" : %s, \"exit_code\" : %d, \"error\" : ", ok ? "true" : "false",
               rc);
        if (ok)
            printf("null");
        else
            cli_json_string(stdout, cli_flags(err.message));
        cli_json_manifest_fields(stdout, m);
        printf(", \"release\" : { \"signer_key_id\" : ");
        if (sig.verified)
            cli_json_string(stdout, sig.key_id);
        else
            printf("null");
        printf(", \"manifest_sha256\" : \"%s\" }", sig.manifest_sha256);
        printf(", \"verify\" : %s }\n", js ? js : "null");
        free(js);
    } else {
        if (rep && !s.quiet && !ok)
            cli_print_verify(rep);
        if (ok && !s.quiet) {
            char digest[65];
            sfl_manifest_digest(m, digest);
            char who[160];
            cli_trust_describe(&sig, who, sizeof who);
            fprintf(stderr, "promote: %s verified against %s and sealed live (manifest digest "
                            "%s; manifest sha256 %s, %s)\n", s.mo.db, a.manifest, digest,
                    sig.manifest_sha256, who);
            if (sfl_manifest_warning(m))
                fprintf(stderr, "%s: warning: %s: %s\n", cli_prog, a.manifest,
                        sfl_manifest_warning(m));
        }
    }
    sfl_verify_report_destroy(rep);
    sfl_manifest_destroy(m);
    return rc;
}

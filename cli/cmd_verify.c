/* cmd_verify.c: `swefreq-load verify`: check a dump (or database) and the
 * source files against a manifest. */
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <sys/stat.h>

#include "server_opts.h"
#include "trust.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s verify --dump DIR [--db NAME] [--manifest FILE] [--sources] [--json]\n"
            "                 [--trusted-key KEY]...\n"
            "       %s verify --uri-file FILE --db NAME [--manifest FILE] [--sources] [--json]\n"
            "                 [--expect-role ROLE] [--trusted-key KEY]...\n"
            "\n"
            "Recomputes each collection's document count and digest from the dump folder\n"
            "(DIR/NAME; without --db, DIR itself when it holds the dump, else the one folder\n"
            "in DIR that does) and compares them with the manifest (default: manifest.json\n"
            "in that folder). Every .bson and .metadata.json file there must belong to a\n"
            "collection of the manifest (else: unlisted, exit 5). With --sources, re-hashes\n"
            "every source file too. Exits 0 only when everything matches; 3 when DIR holds\n"
            "no dump of that manifest, or the manifest is invalid (a count that is not a\n"
            "whole number, a name that is not a browser collection, a collection its sources\n"
            "fill left out). The report says which manifest it checked against.\n"
            "\n"
            "  --dump DIR            the dump (the --out folder of `dump`)\n"
            "  --db NAME             the database name inside DIR\n"
            "  --manifest FILE       the manifest to check against\n"
            "  --sources             also check the source files\n"
            "  --uri URI             verify a MongoDB database instead (see `load --help`):\n"
            "                        also every index the manifest names and no other, and\n"
            "                        every browser collection in the database must be in the\n"
            "                        manifest (else exit 5); the role and seal are reported.\n"
            "                        Without --manifest, against the database's own copy of\n"
            "                        its manifest (a warning on a live database)\n"
            "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE): exit\n"
            "                        9 before reading on another role; live also fails (5)\n"
            "                        when the database is not sealed\n"
            CLI_URI_HELP
            "                        (the environment is read only without --dump)\n"
            "  --json                print the report as one JSON object on stdout, also\n"
            "                        when verify cannot run ({\"ok\": false, \"exit_code\": N,\n"
            "                        \"error\": ...})\n"
            CLI_TRUST_HELP
            "                        With --uri, --manifest FILE is then needed, and FILE's\n"
            "                        signer and SHA-256 must equal the release the database\n"
            "                        recorded at promote (else a difference, exit 5)\n"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_prog, cli_exit_codes_help);
}

int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json, int expect_role, const sfl_trusted_keys_t *keys);

/* Was --json given (or an abbreviation getopt_long takes for it)? Read
 * before the options are parsed, so that a bad command line also gets its
 * JSON object. */
static bool wants_json(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        size_t n = strlen(argv[i]);
        if (n >= 3 && strncmp(argv[i], "--json", n) == 0)
            return true;
    }
    return false;
}

/* Verify could not run: the message on stderr (unless already printed)
 * and, with --json, the one JSON object on stdout. Returns rc. */
static int refuse(bool json, int rc, const char *msg, bool printed)
{
    sfl_error_t e;
    sfl_error_set(&e, SFL_DOMAIN_USAGE, SFL_E_USAGE, "%s", msg);
    if (!printed)
        cli_print_error(&e);
    if (json)
        cli_print_verify_failure(rc, &e, false);
    return rc;
}

/* The same for a library error. */
static int refuse_err(bool json, const sfl_error_t *err)
{
    cli_print_error(err);
    if (json)
        cli_print_verify_failure(cli_exit_code(err), err, false);
    return cli_exit_code(err);
}

static int verify_dump(const char *dump, const char *db, const char *manifest, bool sources,
                       bool json, const sfl_trusted_keys_t *keys)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_manifest_t *m = NULL; /* NULL: the dump's own manifest.json */
    sfl_signature_info_t sig;
    memset(&sig, 0, sizeof sig);
    if (keys) {
        char *own = manifest ? NULL : sfl_dump_manifest_path(dump, db, &err);
        if (manifest || own)
            m = sfl_manifest_read_signed(manifest ? manifest : own, keys, &sig, &err);
        free(own);
        if (!m)
            return refuse_err(json, &err);
    } else if (manifest && !(m = sfl_manifest_read_file(manifest, &err))) {
        return refuse_err(json, &err);
    }
    sfl_verify_report_t *r = sfl_verify_dump(m, dump, db, sources, &err);
    sfl_manifest_destroy(m);
    if (!r)
        return refuse_err(json, &err);
    if (sig.verified && !json)
        printf("manifest   signed by trusted key %s (sha256 %s)\n", sig.key_id,
               sig.manifest_sha256);
    return cli_finish_verify(r, json);
}

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {{"dump", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"sources", no_argument, NULL, 's'},
                                             CLI_URI_LONGOPTS,
                                             {"json", no_argument, NULL, 'j'},
                                             {"expect-role", required_argument, NULL, 2002},
                                             {"trusted-key", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dump = NULL, *db = NULL, *manifest = NULL, *uri = NULL;
    cli_uri_t src = {NULL, NULL};
    bool sources = false, json = wants_json(argc, argv);
    int expect_role = 0;
    cli_trust_t trust;
    memset(&trust, 0, sizeof trust);
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_uri_option(&src, ch, optarg))
            continue;
        switch (ch) {
        case 'd': dump = optarg; break;
        case 'b': db = optarg; break;
        case 'm': manifest = optarg; break;
        case 's': sources = true; break;
        case 'j': json = true; break;
        case 2002:
            if (!cli_parse_role("--expect-role", optarg, &expect_role))
                return refuse(json, EXIT_USAGE, "--expect-role must be development or live",
                              true);
            break;
        case 't':
            if (!cli_trust_add(&trust, optarg))
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default:
            fprintf(stderr, "Try '%s verify --help'.\n", cli_prog);
            return refuse(json, EXIT_USAGE, "bad command line (see verify --help)", true);
        }
    }
    if (optind < argc) {
        char msg[512];
        snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[optind]);
        return refuse(json, EXIT_USAGE, msg, false);
    }
    if (!dump) {
        int rc = cli_uri_resolve(&src, false, &uri);
        if (rc != -1)
            return refuse(json, rc, "no usable MongoDB URI (see above)", true);
    }
    if (uri && !dump && !db)
        return refuse(json, EXIT_USAGE, "verify --uri needs --db NAME", false);
    if (uri && !dump && !cli_expect_role_env(&expect_role))
        return refuse(json, EXIT_USAGE, "SWEFREQ_EXPECT_ROLE must be development or live", true);
    if (!dump && !uri)
        return refuse(json, EXIT_USAGE,
                      "give --dump DIR (or --uri-file FILE --db NAME; or SWEFREQ_MONGO_URI_FILE "
                      "or SWEFREQ_MONGO_URI and --db NAME)",
                      false);
    sfl_trusted_keys_t *keys;
    int rc = cli_trust_load(&trust, &keys);
    if (rc >= 0)
        return refuse(json, rc, "the trusted keys cannot be used (see above)", true);
    if (uri && !dump && keys && !manifest) {
        sfl_trusted_keys_destroy(keys);
        return refuse(json, EXIT_USAGE,
                      "verify --uri with a trusted key (--trusted-key, SWEFREQ_TRUSTED_KEYS) "
                      "needs --manifest FILE: the database's own copy of its manifest carries "
                      "no signature",
                      false);
    }
    if (uri && !dump)
        rc = cmd_verify_mongo(uri, db, manifest, sources, json, expect_role, keys);
    else
        rc = verify_dump(dump, db, manifest, sources, json, keys);
    sfl_trusted_keys_destroy(keys);
    return rc;
}

/* cmd_verify.c: `swefreq-load verify`: check a dump (or database) and the
 * source files against a manifest. */
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <sys/stat.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s verify --dump DIR [--db NAME] [--manifest FILE] [--sources] [--json]\n"
            "       %s verify --uri-file FILE --db NAME [--manifest FILE] [--sources] [--json]\n"
            "                 [--expect-role ROLE]\n"
            "\n"
            "Recomputes each collection's document count and digest from the dump folder\n"
            "(DIR/NAME; without --db, DIR itself when it holds the dump, else the one folder\n"
            "in DIR that does) and compares them with the manifest (default: manifest.json\n"
            "in that folder). With --sources, re-hashes every source file too. Exits 0 only\n"
            "when everything matches; 3 when DIR holds no dump of that manifest.\n"
            "\n"
            "  --dump DIR            the dump (the --out folder of `dump`)\n"
            "  --db NAME             the database name inside DIR\n"
            "  --manifest FILE       the manifest to check against\n"
            "  --sources             also check the source files\n"
            "  --uri URI             verify a MongoDB database instead (see `load --help`):\n"
            "                        also every index the manifest names (missing: exit 5),\n"
            "                        and the database's role and seal are reported\n"
            CLI_URI_HELP
            "                        (the environment is read only without --dump)\n"
            "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE): exit\n"
            "                        9 before reading on another role; live also fails (5)\n"
            "                        when the database is not sealed\n"
            "  --json                print the report as JSON on stdout\n"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_prog, cli_exit_codes_help);
}

int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json, int expect_role);

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {{"dump", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"sources", no_argument, NULL, 's'},
                                             CLI_URI_LONGOPTS,
                                             {"json", no_argument, NULL, 'j'},
                                             {"expect-role", required_argument, NULL, 2002},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dump = NULL, *db = NULL, *manifest = NULL, *uri = NULL;
    cli_uri_t src = {NULL, NULL};
    bool sources = false, json = false;
    int expect_role = 0;
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
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: fprintf(stderr, "Try '%s verify --help'.\n", cli_prog); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!dump) {
        int rc = cli_uri_resolve(&src, false, &uri);
        if (rc != -1)
            return rc;
    }
    if (uri && !dump) {
        if (!db) {
            cli_error("verify --uri needs --db NAME");
            return EXIT_USAGE;
        }
        if (!cli_expect_role_env(&expect_role))
            return EXIT_USAGE;
        return cmd_verify_mongo(uri, db, manifest, sources, json, expect_role);
    }
    if (!dump) {
        cli_error("give --dump DIR (or --uri-file FILE --db NAME; or SWEFREQ_MONGO_URI_FILE or "
                  "SWEFREQ_MONGO_URI and --db NAME)");
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_manifest_t *m = NULL; /* NULL: the dump's own manifest.json */
    if (manifest && !(m = sfl_manifest_read_file(manifest, &err))) {
        cli_print_error(&err);
        return cli_exit_code(&err);
    }
    sfl_verify_report_t *r = sfl_verify_dump(m, dump, db, sources, &err);
    if (!r) {
        cli_print_error(&err);
        sfl_manifest_destroy(m);
        return cli_exit_code(&err);
    }
    sfl_manifest_destroy(m);
    return cli_finish_verify(r, json);
}

/* cmd_recover.c: `swefreq-load recover`: settle a database on demand, as
 * every load does first: finish a journalled swap, drop leftover staging,
 * mark dead loads interrupted. */
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s recover --uri-file FILE --db NAME [--expect-role ROLE] [--lock-timeout S] [--break-lock] [--json]\n"
            "\n"
            "Takes the database's load lock and does what the next load would do first: a\n"
            "swap that a crash or kill -9 cut short (journalled in swefreq_meta) is finished,\n"
            "since its staging collections were verified before the swap began; leftover\n"
            "staging collections of dead loads are dropped and their records marked\n"
            "interrupted. Refused (exit 9) while a live load holds the lock.\n"
            "\n"
            "  --uri URI             a MongoDB URI (see --uri-file for one with a password)\n"
            CLI_URI_HELP
            "  --db NAME             the database\n"
            "  --lock-timeout S      a lock whose heartbeat is older than S seconds is stale\n"
            "                        (default 60)\n"
            "  --break-lock          take the lock even from a live holder\n"
            "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE): stop\n"
            "                        with exit 9 on a database of another role. A sealed\n"
            "                        database is refused (9) when there is anything to do\n"
            "  --json                print the outcome as one JSON object on stdout\n"
            "  --quiet               no messages on stderr\n"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_exit_codes_help);
}

int cmd_recover(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_URI_LONGOPTS,
                                             {"db", required_argument, NULL, 'd'},
                                             {"lock-timeout", required_argument, NULL, 't'},
                                             {"break-lock", no_argument, NULL, 'B'},
                                             {"expect-role", required_argument, NULL, 2002},
                                             {"json", no_argument, NULL, 'j'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    sfl_mongo_options_t mo;
    sfl_mongo_options_init(&mo);
    bool json = false, quiet = false;
    cli_uri_t uri = {NULL, NULL};
    unsigned long long v;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_uri_option(&uri, ch, optarg))
            continue;
        switch (ch) {
        case 'd': mo.db = optarg; break;
        case 't':
            if (!cli_parse_u64("--lock-timeout", optarg, &v) || v < 1 || v > 86400) {
                cli_error("--lock-timeout must be from 1 to 86400 seconds");
                return EXIT_USAGE;
            }
            mo.lock_stale_seconds = (int)v;
            break;
        case 'B': mo.break_lock = true; break;
        case 2002:
            if (!cli_parse_role("--expect-role", optarg, &mo.expect_role))
                return EXIT_USAGE;
            break;
        case 'j': json = true; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: fprintf(stderr, "Try '%s recover --help'.\n", cli_prog); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    int urc = cli_uri_resolve(&uri, quiet, &mo.uri);
    if (urc != -1)
        return urc;
    if (!cli_expect_role_env(&mo.expect_role))
        return EXIT_USAGE;
    if (!mo.uri || !mo.db) {
        cli_error("recover needs --uri-file FILE (or SWEFREQ_MONGO_URI_FILE, SWEFREQ_MONGO_URI, "
                  "--uri URI) and --db NAME");
        return EXIT_USAGE;
    }
    cli_term_t term;
    cli_term_init(&term, quiet);
    mo.log = cli_log;
    mo.log_ud = &term;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_mongo_recovery_t rec = {.struct_size = sizeof rec};
    bool ok = sfl_mongo_recover(&mo, &rec, &err);
    int rc = ok ? EXIT_OK : cli_exit_code(&err);
    if (!ok)
        cli_print_error(&err);
    if (json) {
        printf("{ \"database\" : ");
        cli_json_string(stdout, mo.db);
        printf(", \"finished_load\" : ");
        if (ok && rec.finished_load[0])
            cli_json_string(stdout, rec.finished_load);
        else
            printf("null");
        printf(", \"renamed\" : ");
        cli_json_string(stdout, ok ? rec.renamed : "");
        printf(", \"staging_dropped\" : %u, \"interrupted\" : %u, \"took_over_lock\" : %s, "
               "\"ok\" : %s, \"exit_code\" : %d, \"error\" : ",
               ok ? rec.staging_dropped : 0, ok ? rec.interrupted : 0,
               ok && rec.took_over ? "true" : "false", ok ? "true" : "false", rc);
        if (ok)
            printf("null");
        else
            cli_json_string(stdout, cli_flags(err.message));
        printf(" }\n");
    } else if (ok && !quiet) {
        if (rec.finished_load[0])
            fprintf(stderr, "recover: %s: finished the swap of load %s (renamed: %s); it is the "
                            "load in force\n",
                    mo.db, rec.finished_load, rec.renamed[0] ? rec.renamed : "nothing left");
        else
            fprintf(stderr, "recover: %s: no unfinished swap\n", mo.db);
        fprintf(stderr, "recover: %s: %u leftover staging collection(s) dropped, %u load(s) "
                        "marked interrupted\n",
                mo.db, rec.staging_dropped, rec.interrupted);
    }
    return rc;
}

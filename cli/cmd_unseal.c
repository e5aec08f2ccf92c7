/* cmd_unseal.c: `swefreq-load unseal --reason TEXT`: the one deliberate
 * exception to the seal. */
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s unseal --uri-file FILE --db NAME --reason TEXT [options]\n"
            "\n"
            "Lifts the seal of a database (its role stays), so that a load or restore may\n"
            "change it, and records the reason, time, tool version and host in its role\n"
            "history. Never done implicitly by any other command. A database that is not\n"
            "sealed: exit 2. Seal it again with `promote`.\n"
            "\n"
            "  --reason TEXT         why (required; recorded)\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

static int own(void *ud, int ch, const char *arg)
{
    if (ch != 'r')
        return 0;
    *(const char **)ud = arg;
    return 1;
}

int cmd_unseal(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"reason", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    const char *reason = NULL;
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &reason, usage, "unseal");
    if (rc >= 0)
        return rc;
    if (!reason || !*reason) {
        cli_error("unseal needs --reason TEXT (recorded in the role history)");
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_error_clear(&err);
    if (!sfl_mongo_unseal(&s.mo, reason, &err))
        return cli_server_fail(&s, &err);
    if (s.json) {
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", \"unsealed\" : true, \"exit_code\" : 0, \"error\" : null }\n");
    } else if (!s.quiet) {
        fprintf(stderr, "unseal: %s is no longer sealed; the reason is recorded\n", s.mo.db);
    }
    return EXIT_OK;
}

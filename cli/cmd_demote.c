/* cmd_demote.c: `swefreq-load demote --reason TEXT`: a live database
 * (promoted by mistake) back to development, unsealed, recorded. */
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s demote --uri URI --db NAME --reason TEXT [options]\n"
            "\n"
            "Returns a live database (sealed or not) to the role development, unsealed: for a\n"
            "database promoted by mistake, or a retired live database. The reason, time,\n"
            "tool version and host are recorded in its role history. Never done implicitly\n"
            "by any other command. Without --reason: exit 2; a database that is not live:\n"
            "exit 2. `promote` makes it live again.\n"
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

int cmd_demote(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"reason", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    const char *reason = NULL;
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &reason, usage, "demote");
    if (rc >= 0)
        return rc;
    if (!reason || !*reason) {
        cli_error("demote needs --reason TEXT (recorded in the role history)");
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_error_clear(&err);
    if (!sfl_mongo_demote(&s.mo, reason, &err))
        return cli_server_fail(&s, &err);
    if (s.json) {
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", \"demoted\" : true, \"role\" : \"development\", \"exit_code\" : 0, "
               "\"error\" : null }\n");
    } else if (!s.quiet) {
        fprintf(stderr, "demote: %s is now development and not sealed; the reason is "
                        "recorded\n", s.mo.db);
    }
    return EXIT_OK;
}

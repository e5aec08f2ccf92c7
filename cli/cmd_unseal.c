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

int cmd_unseal(int argc, char **argv)
{
    return cli_reason_command(argc, argv, "unseal", usage, sfl_mongo_unseal, "\"unsealed\" : true",
                              "is no longer sealed; the reason is recorded");
}

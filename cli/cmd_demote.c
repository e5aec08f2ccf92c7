/* cmd_demote.c: `swefreq-load demote --reason TEXT`: a live database
 * (promoted by mistake) back to development, unsealed, recorded. */
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s demote --uri-file FILE --db NAME --reason TEXT [options]\n"
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

int cmd_demote(int argc, char **argv)
{
    return cli_reason_command(argc, argv, "demote", usage, sfl_mongo_demote, "\"demoted\" : true, \"role\" : \"development\"",
                              "is now development and not sealed; the reason is recorded");
}

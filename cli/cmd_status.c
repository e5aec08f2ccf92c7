/* cmd_status.c: `swefreq-load status`: role, seal, history, loads and the
 * manifest in force. Never writes. */
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s status --uri-file FILE --db NAME [--json] [options]\n"
            "\n"
            "Shows the database's role and seal, the role history, every load and restore\n"
            "with its state (loading, swapping, complete, failed, interrupted), times,\n"
            "sources and digests, the load in force and its manifest digest, and the lock;\n"
            "with --json as one object (docs/deploy.md) that also holds the manifest in\n"
            "force. Never writes.\n"
            "\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

int cmd_status(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    int rc = cli_server_parse(&s, argc, argv, longopts, NULL, NULL, usage, "status");
    if (rc >= 0)
        return rc;
    sfl_error_t err;
    sfl_error_clear(&err);
    if (s.json) {
        char *js = sfl_mongo_status_json(&s.mo, &err);
        if (!js)
            return cli_server_fail(&s, &err);
        printf("%s\n", js);
        free(js);
        return EXIT_OK;
    }
    char *text = sfl_mongo_status_text(&s.mo, &err);
    if (!text)
        return cli_server_fail(&s, &err);
    fputs(text, stdout);
    free(text);
    return EXIT_OK;
}

/* main.c: `swefreq-load COMMAND ...`: dispatch to one file per command. */
#include <errno.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s COMMAND [options]\n"
            "\n"
            "Loads SweFreq browser data (sites VCFs, coverage files) into MongoDB, or into a\n"
            "mongorestore-compatible dump, and proves later that it still equals its sources.\n"
            "\n"
            "Commands:\n"
            "  dump      convert to a dump folder (or --dry-run, or --format jsonl)\n"
            "  load      load into MongoDB: staging collections, verified, then swapped in\n"
            "  verify    check a dump or a database and the source files against a manifest\n"
            "  recover   finish a swap a crash cut short, drop leftover staging (MongoDB)\n"
            "\n"
            "  %s COMMAND --help    options of a command\n"
            "  %s --version         the version\n"
            "\n%s",
            cli_prog, cli_prog, cli_prog, cli_exit_codes_help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("swefreq-load %s\n", sfl_version());
        return EXIT_OK;
    }
    sfl_init();
    int rc;
    if (!strcmp(cmd, "dump"))
        rc = cmd_dump(argc - 1, argv + 1);
    else if (!strcmp(cmd, "verify"))
        rc = cmd_verify(argc - 1, argv + 1);
    else if (!strcmp(cmd, "load"))
        rc = cmd_load(argc - 1, argv + 1);
    else if (!strcmp(cmd, "recover"))
        rc = cmd_recover(argc - 1, argv + 1);
    else {
        cli_error("unknown command '%s'", cmd);
        usage(stderr);
        rc = EXIT_USAGE;
    }
    sfl_cleanup();
    /* A summary or report that never reached stdout (a full disk, a closed
     * pipe) is a failure a script must see, not exit 0. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        if (rc == EXIT_OK || rc == EXIT_MISMATCH)
            rc = EXIT_OUTPUT;
    }
    return rc;
}

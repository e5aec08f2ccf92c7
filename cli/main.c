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
            "  status    a database's role, seal, history, loads and manifest in force\n"
            "  promote   verify a database against a manifest file, then seal it live\n"
            "  unseal    lift the seal, with --reason (recorded)\n"
            "  demote    return a live database to development, unsealed, with --reason\n"
            "  export    a database as a dump that equals its manifest (to carry across)\n"
            "  restore   load a dump or export the way load loads files\n"
            "  sign      a detached Ed25519 signature of a manifest (checked with --trusted-key)\n"
            "  plan      split a load into N parts (load --group G --part K), recorded in MongoDB\n"
            "  finish    merge and verify a partitioned load's parts, then swap them in\n"
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
    /* The CLI is the whole process: it owns libmongoc and keeps it quiet
     * (every condition comes back as an error or through the log callback). */
    sfl_init_ex(SFL_INIT_OWN_MONGOC | SFL_INIT_QUIET_MONGOC, NULL);
    int rc;
    if (!strcmp(cmd, "dump"))
        rc = cmd_dump(argc - 1, argv + 1);
    else if (!strcmp(cmd, "verify"))
        rc = cmd_verify(argc - 1, argv + 1);
    else if (!strcmp(cmd, "load"))
        rc = cmd_load(argc - 1, argv + 1);
    else if (!strcmp(cmd, "recover"))
        rc = cmd_recover(argc - 1, argv + 1);
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(argc - 1, argv + 1);
    else if (!strcmp(cmd, "promote"))
        rc = cmd_promote(argc - 1, argv + 1);
    else if (!strcmp(cmd, "unseal"))
        rc = cmd_unseal(argc - 1, argv + 1);
    else if (!strcmp(cmd, "export"))
        rc = cmd_export(argc - 1, argv + 1);
    else if (!strcmp(cmd, "restore"))
        rc = cmd_restore(argc - 1, argv + 1);
    else if (!strcmp(cmd, "sign"))
        rc = cmd_sign(argc - 1, argv + 1);
    else if (!strcmp(cmd, "demote"))
        rc = cmd_demote(argc - 1, argv + 1);
    else if (!strcmp(cmd, "plan"))
        rc = cmd_plan(argc - 1, argv + 1);
    else if (!strcmp(cmd, "finish"))
        rc = cmd_finish(argc - 1, argv + 1);
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

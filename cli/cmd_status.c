/* cmd_status.c: `swefreq-load status`: role, seal, history, loads and the
 * manifest in force. Never writes. */
#include <stdlib.h>
#include <time.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s status --uri URI --db NAME [--json] [options]\n"
            "\n"
            "Shows the database's role and seal; with --json (docs/deploy.md) also the role\n"
            "history, every load and restore with its state (loading, swapping, complete,\n"
            "failed, interrupted), times, sources and digests, the load in force with its\n"
            "manifest, and the lock. Never writes.\n"
            "\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

static void when(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!ms || !gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "-");
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
    sfl_role_info_t r;
    if (!sfl_mongo_role_get(&s.mo, &r, &err))
        return cli_server_fail(&s, &err);
    char t1[32], t2[32];
    when(r.changed_ms, t1, sizeof t1);
    when(r.sealed_ms, t2, sizeof t2);
    printf("database %s\n", s.mo.db);
    printf("role     %s (last change %s by %s)\n", sfl_role_name(r.role), t1,
           r.changed_by[0] ? r.changed_by : "-");
    if (r.sealed)
        printf("sealed   yes, at %s by %s (swefreq-load %s on %s)\n", t2, r.sealed_by,
               r.sealed_version, r.sealed_host);
    else
        printf("sealed   no\n");
    printf("manifest digest at the last promote: %s\n",
           r.manifest_digest[0] ? r.manifest_digest : "-");
    printf("(history, loads and the manifest in force: %s status --json)\n", cli_prog);
    return EXIT_OK;
}

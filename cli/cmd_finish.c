/* cmd_finish.c: `swefreq-load finish --group G`: the end of a partitioned
 * load (swefreq/group.h): every part complete and covering the plan, the
 * manifests merged, indexes, the verifying scan, the swap. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s finish --group G [--uri-file FILE] [--db NAME] [--manifest FILE]\n"
            "       [--scan-mode auto|ranged|single] [--scan-threads N] [--json]\n"
            "\n"
            "Finishes partitioned load G (README \"Partitioned loads\"): checks that every\n"
            "part is complete and that the parts' regions cover the plan exactly (a part\n"
            "missing, a region covered twice or missing: refused, nothing swapped), merges\n"
            "the parts' manifests by adding their digests and counts, builds the browser's\n"
            "indexes, verifies every staging collection against the merged manifest by a\n"
            "full scan (computing the metrics from all variants on the way; variants,\n"
            "base_coverage and dbsnp by ranges of their xpos index when the server's\n"
            "explain says it serves a range from that index, see --scan-mode; a document\n"
            "outside every range, or in two, refuses the finish, exit 5), swaps the\n"
            "staging in through the journal (as a load does; a finish killed in the swap is\n"
            "finished by `recover` or the next load) and releases the database's lock.\n"
            "Parts still running or not complete: exit 12 (retry later), naming them.\n"
            "A group already finished: exit 11.\n"
            "\n"
            "  --group G             the group named at `plan`\n"
            "  --manifest FILE       also write the merged manifest to FILE (as FILE.partial\n"
            "                        before the swap, renamed after it)\n"
            "  --scan-mode MODE      auto (default): per collection, by ranges of xpos if the\n"
            "                        server's explain of one range shows an index scan on\n"
            "                        xpos, else in one pass; ranged, single: always so\n"
            "  --scan-threads N      threads (each with its own connection) of the scan by\n"
            "                        ranges; 1 to 64, default 2\n"
            "%s"
            "                        (default database for --db: swefreq)\n"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

typedef struct {
    const char *group, *manifest;
    int scan_threads, scan_mode;
} finish_args_t;

static const char *const scan_modes[] = {"auto", "ranged", "single"}; /* sfl_scan_mode_t */

static int own(void *ud, int ch, const char *arg)
{
    finish_args_t *a = ud;
    if (ch == 'g')
        a->group = arg;
    else if (ch == 'm')
        a->manifest = arg;
    else if (ch == 's') {
        unsigned long long v;
        if (!cli_parse_u64("--scan-threads", arg, &v) || v < 1 || v > 64) {
            cli_error("--scan-threads must be from 1 to 64");
            return -1;
        }
        a->scan_threads = (int)v;
    } else if (ch == 'S') {
        int m = 0;
        while (m < 3 && strcmp(arg, scan_modes[m]))
            m++;
        if (m == 3) {
            cli_error("--scan-mode must be auto, ranged or single, not '%s'", arg);
            return -1;
        }
        a->scan_mode = m;
    }
    else
        return 0;
    return 1;
}

/* `, "scan" : {COLLECTION: {"mode": M, "reason": R}, ...}` for the
 * collections the finish scanned. */
static void print_scan(const sfl_group_finish_t *out)
{
    printf(", \"scan\" : {");
    const char *sep = " ";
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        int m = out->scan_mode[c];
        if (m <= SFL_SCAN_AUTO || m > SFL_SCAN_SINGLE)
            continue;
        printf("%s\"%s\" : { \"mode\" : \"%s\", \"reason\" : ", sep,
               sfl_collection_name((sfl_collection_t)c), scan_modes[m]);
        cli_json_string(stdout, cli_flags(out->scan_reason[c]));
        printf(" }");
        sep = ", ";
    }
    printf(" }");
}

int cmd_finish(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"group", required_argument, NULL, 'g'},
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"scan-threads", required_argument, NULL, 's'},
                                             {"scan-mode", required_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    s.mo.db = "swefreq";
    finish_args_t a = {NULL, NULL, 2, SFL_SCAN_AUTO};
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &a, usage, "finish");
    if (rc != -1)
        return rc;
    if (!a.group) {
        cli_error("finish needs --group G");
        return EXIT_USAGE;
    }
    s.mo.manifest_path = a.manifest;
    s.mo.scan_threads = a.scan_threads;
    s.mo.scan_mode = a.scan_mode;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_group_finish_t out = {.struct_size = sizeof out};
    sfl_manifest_t *m = NULL;
    if (!sfl_mongo_group_finish(&s.mo, a.group, &out, &m, &err)) {
        rc = cli_exit_code(&err);
        if (!s.quiet)
            cli_print_error(&err);
        if (s.json) {
            printf("{ \"group\" : ");
            cli_json_string(stdout, a.group);
            print_scan(&out);
            printf(", \"ok\" : false, \"exit_code\" : %d, \"swapped\" : false, \"error\" : ", rc);
            cli_json_string(stdout, cli_flags(err.message));
            printf(" }\n");
        }
        return rc;
    }
    if (s.json) {
        printf("{ \"group\" : ");
        cli_json_string(stdout, a.group);
        printf(", \"group_id\" : ");
        cli_json_string(stdout, out.group_id);
        printf(", \"parts\" : %d", out.parts);
        print_scan(&out);
        printf(", \"ok\" : true, \"exit_code\" : 0, \"swapped\" : true, \"error\" : null }\n");
    } else if (!s.quiet) {
        fprintf(stderr, "finish: group %s (load %s) of %d part(s): staging verified, swapped "
                        "in, recorded in %s.swefreq_meta; the lock is released\n",
                a.group, out.group_id, out.parts, s.mo.db);
    }
    sfl_manifest_destroy(m);
    return EXIT_OK;
}

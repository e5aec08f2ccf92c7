/* cmd_finish.c: `swefreq-load finish --group G`: the end of a partitioned
 * load (swefreq/group.h): every part complete and covering the plan, the
 * records checked against the plan file and the parts' manifest files, the
 * manifests merged, indexes, the verifying scan, the swap. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s finish --group G [--plan PLAN.json --part-manifest FILE...]\n"
            "       [--uri-file FILE] [--db NAME] [--manifest FILE]\n"
            "       [--scan-mode auto|ranged|single] [--scan-threads N] [--json]\n"
            "\n"
            "Finishes partitioned load G (README \"Partitioned loads\"): checks that every\n"
            "part is complete and that the parts' regions cover the plan exactly (a part\n"
            "missing, a region covered twice or missing: refused, nothing swapped), checks\n"
            "the database's records against the plan file and the parts' manifest files,\n"
            "merges the parts' manifests by adding their digests and counts, builds the\n"
            "browser's indexes, verifies every staging collection against the merged\n"
            "manifest by a full scan (computing the metrics from all variants on the way;\n"
            "variants, base_coverage and dbsnp by ranges of their xpos index when the\n"
            "server's explain says it serves a range from that index, see --scan-mode; a\n"
            "document outside every range, or in two, refuses the finish, exit 5), swaps the\n"
            "staging in through the journal (as a load does; a finish killed in the swap is\n"
            "finished by `recover`, the next load or `finish` run again) and releases the\n"
            "database's lock. Run again with --plan and --part-manifest, a finish killed in\n"
            "its swap checks the files as above, compares the journal's manifest and renames\n"
            "with the parts' manifests merged and scans every collection it renames (in\n"
            "staging, or in the browser if renamed already) against it, computing the\n"
            "metrics again: a difference is exit 5, before anything more is renamed.\n"
            "Parts still running or not complete: exit 12 (retry later), naming them.\n"
            "A group already finished: exit 11.\n"
            "\n"
            "  --group G             the group named at `plan`\n"
            "  --plan PLAN.json      the plan file `plan --out` wrote: the plan recorded in the\n"
            "                        database must be the same (else exit 5, nothing swapped)\n"
            "  --part-manifest FILE  a part's manifest file (`load --group G --part K\n"
            "                        --manifest FILE`); give every part's, in any order: each\n"
            "                        part's recorded manifest must be in one of them (else\n"
            "                        exit 5, nothing swapped). Without --plan and\n"
            "                        --part-manifest, the finish has only the database's word\n"
            "                        for what the parts read and computed (and for the\n"
            "                        journal of a finish killed in its swap): a warning says so\n"
            "  --manifest FILE       also write the merged manifest to FILE (as FILE.partial\n"
            "                        before the swap, renamed after it); a finish killed in\n"
            "                        its swap and run again writes the journal's, only when\n"
            "                        given --plan and --part-manifest\n"
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
    const char *group, *manifest, *plan;
    const char **parts; /* --part-manifest, in the order given */
    size_t n_parts, cap;
    int scan_threads, scan_mode;
} finish_args_t;

static const char *const scan_modes[] = {"auto", "ranged", "single"}; /* sfl_scan_mode_t */

static int add_part_file(finish_args_t *a, const char *arg)
{
    if (a->n_parts == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        const char **q = cap <= 2 * SFL_GROUP_MAX_PARTS ? realloc(a->parts, cap * sizeof *q) : NULL;
        if (!q) {
            cli_error("--part-manifest: more files than a group has parts");
            return -1;
        }
        a->parts = q;
        a->cap = cap;
    }
    a->parts[a->n_parts++] = arg;
    return 1;
}

static int scan_option(finish_args_t *a, int ch, const char *arg)
{
    if (ch == 's') {
        unsigned long long v;
        if (!cli_parse_u64("--scan-threads", arg, &v) || v < 1 || v > 64) {
            cli_error("--scan-threads must be from 1 to 64");
            return -1;
        }
        a->scan_threads = (int)v;
        return 1;
    }
    int m = 0;
    while (m < 3 && strcmp(arg, scan_modes[m]))
        m++;
    if (m == 3) {
        cli_error("--scan-mode must be auto, ranged or single, not '%s'", arg);
        return -1;
    }
    a->scan_mode = m;
    return 1;
}

static int own(void *ud, int ch, const char *arg)
{
    finish_args_t *a = ud;
    switch (ch) {
    case 'g': a->group = arg; return 1;
    case 'm': a->manifest = arg; return 1;
    case 'p': a->plan = arg; return 1;
    case 'P': return add_part_file(a, arg);
    case 's':
    case 'S': return scan_option(a, ch, arg);
    default: return 0;
    }
}

static void print_scan(const sfl_group_finish_t *out);

static void print_json_ok(const finish_args_t *a, const sfl_group_finish_t *out)
{
    printf("{ \"group\" : ");
    cli_json_string(stdout, a->group);
    printf(", \"group_id\" : ");
    cli_json_string(stdout, out->group_id);
    printf(", \"parts\" : %d", out->parts);
    print_scan(out);
    printf(", \"ok\" : true, \"exit_code\" : 0, \"swapped\" : true, \"resumed\" : %s, "
           "\"plan_file_checked\" : %s, \"part_files_checked\" : %s, \"error\" : null }\n",
           out->resumed ? "true" : "false", out->plan_file_checked ? "true" : "false",
           out->part_files_checked ? "true" : "false");
}

/* The finish proper, the records checked against the files given. */
static int finish(cli_server_t *s, const finish_args_t *a)
{
    s->mo.manifest_path = a->manifest;
    s->mo.scan_threads = a->scan_threads;
    s->mo.scan_mode = a->scan_mode;
    if ((!a->plan || !a->n_parts) && !s->quiet)
        fprintf(stderr,
                "%s: warning: finish without %s: what the parts read and computed (and the "
                "journal of a finish killed in its swap) is taken from the database's records "
                "alone (README \"Partitioned loads\")\n",
                cli_prog,
                !a->plan && !a->n_parts ? "--plan and --part-manifest"
                : !a->plan              ? "--plan"
                                        : "--part-manifest");
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_group_finish_t out = {.struct_size = sizeof out};
    sfl_group_finish_files_t files = {sizeof files, a->plan, a->n_parts ? a->parts : NULL,
                                      a->n_parts};
    sfl_manifest_t *m = NULL;
    if (!sfl_mongo_group_finish_files(&s->mo, a->group, &files, &out, &m, &err)) {
        int rc = cli_exit_code(&err);
        if (!s->quiet)
            cli_print_error(&err);
        if (s->json) {
            printf("{ \"group\" : ");
            cli_json_string(stdout, a->group);
            print_scan(&out);
            printf(", \"ok\" : false, \"exit_code\" : %d, \"swapped\" : false, \"error\" : ", rc);
            cli_json_string(stdout, cli_flags(err.message));
            printf(" }\n");
        }
        return rc;
    }
    if (out.resumed && !out.part_files_checked && !s->quiet)
        fprintf(stderr,
                "%s: warning: group %s: the swap of a finish killed in it was rolled forward as "
                "its journal in the database says, not checked against the parts' manifest "
                "files (--plan and --part-manifest check it: README \"Partitioned loads\")\n",
                cli_prog, a->group);
    if (s->json)
        print_json_ok(a, &out);
    else if (!s->quiet)
        fprintf(stderr, "finish: group %s (load %s) of %d part(s): %s, swapped in, recorded in "
                        "%s.swefreq_meta; the lock is released\n",
                a->group, out.group_id, out.parts,
                !out.resumed                ? "staging verified"
                : out.part_files_checked ? "a finish killed in its swap: its journal checked "
                                           "against the files and every collection scanned again"
                                         : "a finish killed in its swap: its journal not "
                                           "checked against the files",
                s->mo.db);
    sfl_manifest_destroy(m);
    return EXIT_OK;
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
                                             {"plan", required_argument, NULL, 'p'},
                                             {"part-manifest", required_argument, NULL, 'P'},
                                             {"scan-threads", required_argument, NULL, 's'},
                                             {"scan-mode", required_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    s.mo.db = "swefreq";
    finish_args_t a = {.scan_threads = 2, .scan_mode = SFL_SCAN_AUTO};
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &a, usage, "finish");
    if (rc == -1 && !a.group) {
        cli_error("finish needs --group G");
        rc = EXIT_USAGE;
    }
    if (rc == -1)
        rc = finish(&s, &a);
    free(a.parts);
    return rc;
}

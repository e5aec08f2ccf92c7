/* cmd_plan.c: `swefreq-load plan --parts N --group G`: the parts of a
 * partitioned load (swefreq/group.h), recorded in the database under its
 * lock, written as a plan file with the exact command of each part. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert_opts.h"
#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s plan --parts N --group G [--vcf FILE]... [--coverage FILE]... [options]\n"
            "                (--uri-file FILE | SWEFREQ_MONGO_URI[_FILE]) [--db NAME] [--out PLAN.json] [--json]\n"
            "\n"
            "Plans a partitioned load (README \"Partitioned loads\"): splits the sources into N\n"
            "parts balanced by the compressed bytes their .tbi/.csi indexes give (a contig\n"
            "larger than a part is cut at index boundaries; a file without an index, and\n"
            "every GTF, dbSNP file and gene table, goes whole into one part), records group\n"
            "G and its plan in the database's swefreq_meta under the load lock, which the\n"
            "group holds until `finish --group G` (a single load, recover or another group\n"
            "is refused meanwhile with exit 9, naming the group), and writes the plan: the\n"
            "sources with their SHA-256, the options, each part's regions per source and the\n"
            "exact command of each part:\n"
            "  %s load --group G --part K <the same sources and options>\n"
            "Run the parts in any order, on any hosts, then `finish --group G`.\n"
            "\n"
            "  --parts N             the number of parts (1 to 10000)\n"
            "  --group G             the group's name: 1 to 64 of A-Z a-z 0-9 . _ -\n"
            "  --out PLAN.json       write the plan there (as PLAN.json.partial, renamed)\n"
            "  --lease S             the group's lock is stale after S seconds without a part\n"
            "                        running (default 86400)\n"
            "  --uri URI             a MongoDB URI (see --uri-file for one with a password)\n"
            CLI_URI_HELP
            "  --db NAME             the database (default swefreq)\n"
            "  --lock-timeout S      a load lock whose heartbeat is older than S seconds is\n"
            "                        stale and taken over (default 60)\n"
            "  --break-lock          take the database's load lock even from a live holder\n"
            "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE)\n"
            "  --role ROLE           the role a new database gets\n"
            CLI_SHARD_HELP
            "                        (the group's staging, which plan creates)\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_prog, CLI_CONVERT_HELP, cli_exit_codes_help);
}

typedef struct {
    cli_convert_t c;
    sfl_mongo_options_t mo;
    cli_uri_t uri;
    const char *group, *out;
    int parts, lease;
} plan_args_t;

static int plan_option(plan_args_t *a, int ch)
{
    unsigned long long v;
    switch (ch) {
    case 'd': a->mo.db = optarg; return -1;
    case 'g': a->group = optarg; return -1;
    case 'o': a->out = optarg; return -1;
    case 'n':
    case 'L':
    case 't':
        if (!cli_parse_u64(ch == 'n' ? "--parts" : ch == 'L' ? "--lease" : "--lock-timeout",
                           optarg, &v) ||
            v < 1 || v > (ch == 'n' ? SFL_GROUP_MAX_PARTS : ch == 'L' ? 30 * 86400 : 86400)) {
            cli_error("%s is out of range",
                      ch == 'n' ? "--parts" : ch == 'L' ? "--lease" : "--lock-timeout");
            return EXIT_USAGE;
        }
        *(ch == 'n' ? &a->parts : ch == 'L' ? &a->lease : &a->mo.lock_stale_seconds) = (int)v;
        return -1;
    case 'B': a->mo.break_lock = true; return -1;
    case CLI_OPT_SHARD_KEY:
        return cli_parse_shard_key("--shard-key", optarg, &a->mo.shard_key) ? -1 : EXIT_USAGE;
    case 2002:
    case 2005:
        return cli_parse_role(ch == 2002 ? "--expect-role" : "--role", optarg,
                              ch == 2002 ? &a->mo.expect_role : &a->mo.role)
                   ? -1
                   : EXIT_USAGE;
    case 'h': usage(stdout); return EXIT_OK;
    default: fprintf(stderr, "Try '%s plan --help'.\n", cli_prog); return EXIT_USAGE;
    }
}

static int plan_args(plan_args_t *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_CONVERT_LONGOPTS,
        CLI_URI_LONGOPTS,
        {"db", required_argument, NULL, 'd'},
        {"group", required_argument, NULL, 'g'},
        {"parts", required_argument, NULL, 'n'},
        {"out", required_argument, NULL, 'o'},
        {"lease", required_argument, NULL, 'L'},
        {"lock-timeout", required_argument, NULL, 't'},
        {"break-lock", no_argument, NULL, 'B'},
        {"expect-role", required_argument, NULL, 2002},
        {"role", required_argument, NULL, 2005},
        CLI_SHARD_LONGOPT,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch, rc;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = cli_convert_option(&a->c, ch, optarg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0 || cli_uri_option(&a->uri, ch, optarg))
            continue;
        if ((rc = plan_option(a, ch)) != -1)
            return rc;
    }
    if (!cli_convert_no_operands(argc, argv))
        return EXIT_USAGE;
    if (!a->parts || !a->group) {
        cli_error("plan needs --parts N and --group G");
        return EXIT_USAGE;
    }
    if (a->c.n_regions || a->c.opt.rejects_path) {
        cli_error("%s", a->c.n_regions
                            ? "plan splits whole sources: --region and --regions-file are not "
                              "taken"
                            : "--rejects is not taken by a partitioned load: its parts run the "
                              "same command and would write the same file");
        return EXIT_USAGE;
    }
    if ((rc = cli_uri_resolve(&a->uri, a->c.quiet, &a->mo.uri)) != -1)
        return rc;
    if (!a->mo.uri) {
        cli_error("plan needs --uri-file FILE (or SWEFREQ_MONGO_URI_FILE, SWEFREQ_MONGO_URI, "
                  "--uri URI)");
        return EXIT_USAGE;
    }
    return cli_expect_role_env(&a->mo.expect_role) ? -1 : EXIT_USAGE;
}

/* Options of `plan` that a part does not take, and whether they have a
 * value. */
static int plan_only(const char *arg)
{
    static const char *const with[] = {"--parts", "--out", "--lease", "--lock-timeout",
                                       "--uri", "--group", "--role", "--shard-key"};
    static const char *const without[] = {"--json", "--break-lock"};
    for (size_t i = 0; i < sizeof with / sizeof *with; i++) {
        size_t n = strlen(with[i]);
        if (!strncmp(arg, with[i], n) && (arg[n] == '\0' || arg[n] == '='))
            return arg[n] == '=' ? 1 : 2;
    }
    for (size_t i = 0; i < sizeof without / sizeof *without; i++)
        if (!strcmp(arg, without[i]))
            return 1;
    return 0;
}

static void append(char **s, size_t *len, size_t *cap, const char *t, bool quote)
{
    bool plain = !quote || (*t && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789-_./=:,+@%") == strlen(t));
    size_t need = *len + 4 * strlen(t) + 4;
    if (need > *cap) {
        char *n = realloc(*s, need * 2);
        if (!n)
            return;
        *s = n;
        *cap = need * 2;
    }
    if (*len)
        (*s)[(*len)++] = ' ';
    if (!plain)
        (*s)[(*len)++] = '\'';
    for (const char *p = t; *p; p++) {
        if (!plain && *p == '\'') {
            memcpy(*s + *len, "'\\''", 4);
            *len += 4;
        } else {
            (*s)[(*len)++] = *p;
        }
    }
    if (!plain)
        (*s)[(*len)++] = '\'';
    (*s)[*len] = '\0';
}

/* Part k's command: `load --group G --part K` and every argument of this
 * command line but plan's own (and --uri, which may hold a password). */
static char *part_command(const plan_args_t *a, int argc, char **argv, int k)
{
    char *s = NULL, num[16];
    size_t len = 0, cap = 0;
    snprintf(num, sizeof num, "%d", k);
    append(&s, &len, &cap, "swefreq-load", false);
    append(&s, &len, &cap, "load", false);
    append(&s, &len, &cap, "--group", false);
    append(&s, &len, &cap, a->group, true);
    append(&s, &len, &cap, "--part", false);
    append(&s, &len, &cap, num, false);
    bool db = false;
    for (int i = 1; i < argc; i++) {
        int skip = plan_only(argv[i]);
        if (skip) {
            i += skip - 1;
            continue;
        }
        db = db || !strncmp(argv[i], "--db", 4);
        append(&s, &len, &cap, argv[i], true);
    }
    if (!db) {
        append(&s, &len, &cap, "--db", false);
        append(&s, &len, &cap, a->mo.db, true);
    }
    return s;
}

/* The plan file, as FILE.partial renamed into place. */
static int write_plan(const char *path, const char *json)
{
    size_t n = strlen(path) + 16;
    char *partial = malloc(n);
    if (!partial)
        return EXIT_INTERNAL;
    snprintf(partial, n, "%s.partial", path);
    FILE *f = fopen(partial, "w");
    bool ok = f && fputs(json, f) >= 0;
    ok = f && fclose(f) == 0 && ok;
    ok = ok && rename(partial, path) == 0;
    if (!ok) {
        cli_error("%s: cannot write the plan file (the group is recorded in the database: "
                  "finish or break it before planning again)", path);
        unlink(partial);
    }
    free(partial);
    return ok ? EXIT_OK : EXIT_OUTPUT;
}

static void plan_report(const plan_args_t *a, const sfl_group_plan_t *p, char **cmds,
                        const char *json)
{
    int n = sfl_group_plan_parts(p);
    if (a->c.json) {
        printf("{ \"ok\" : true, \"exit_code\" : 0, \"error\" : null, \"group\" : ");
        cli_json_string(stdout, a->group);
        printf(", \"group_id\" : ");
        cli_json_string(stdout, sfl_group_plan_id(p));
        printf(", \"parts\" : %d, \"plan_file\" : ", n);
        if (a->out)
            cli_json_string(stdout, a->out);
        else
            printf("null");
        printf(", \"plan\" : %s }\n", json);
        return;
    }
    if (a->c.quiet)
        return;
    fprintf(stderr, "plan: group %s (id %s) recorded in %s: %d part(s)\n", a->group,
            sfl_group_plan_id(p), a->mo.db, n);
    for (int k = 1; k <= n; k++)
        fprintf(stderr, "  part %d: %llu compressed bytes: %s\n", k,
                (unsigned long long)sfl_group_plan_part_bytes(p, k), cmds[k - 1] ? cmds[k - 1] : "");
    fprintf(stderr,
            "give each part --manifest FILE ({part} in FILE is replaced by K), then:\n"
            "  swefreq-load finish --group %s --db %s --plan %s --part-manifest FILE...\n",
            a->group, a->mo.db, a->out ? a->out : "PLAN.json");
    if (!a->out)
        fprintf(stderr, "%s: warning: no --out: finish cannot check the plan recorded in the "
                        "database against a plan file (README \"Partitioned loads\")\n",
                cli_prog);
}

static int plan_fail(const plan_args_t *a, const sfl_error_t *err)
{
    int rc = cli_exit_code(err);
    cli_print_error(err);
    if (a->c.json) {
        printf("{ \"ok\" : false, \"exit_code\" : %d, \"error\" : ", rc);
        cli_json_string(stdout, cli_flags(err->message));
        printf(", \"group\" : ");
        cli_json_string(stdout, a->group);
        printf(" }\n");
    }
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    plan_args_t a;
    memset(&a, 0, sizeof a);
    cli_convert_init(&a.c);
    sfl_mongo_options_init(&a.mo);
    a.mo.db = "swefreq";
    int rc = plan_args(&a, argc, argv);
    sfl_job_t *job = NULL;
    if (rc == -1) {
        rc = EXIT_OK;
        job = cli_convert_job(&a.c, &rc);
    }
    if (!job) {
        cli_convert_free(&a.c);
        return rc;
    }
    a.mo.log = cli_log;
    a.mo.log_ud = &a.c.term;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_group_plan_t *p = sfl_group_plan_make(job, a.group, a.parts, &err);
    if (!p || !sfl_mongo_group_record(&a.mo, p, a.lease, &err)) {
        rc = plan_fail(&a, &err);
    } else {
        int n = sfl_group_plan_parts(p);
        char **cmds = calloc((size_t)n + 1, sizeof *cmds);
        for (int k = 1; cmds && k <= n; k++)
            cmds[k - 1] = part_command(&a, argc, argv, k);
        char *json = sfl_group_plan_json(p, (const char *const *)cmds, cmds ? (size_t)n : 0);
        rc = !json ? EXIT_INTERNAL : a.out ? write_plan(a.out, json) : EXIT_OK;
        if (rc == EXIT_OK)
            plan_report(&a, p, cmds, json);
        for (int k = 0; cmds && k < n; k++)
            free(cmds[k]);
        free(cmds);
        free(json);
    }
    sfl_group_plan_destroy(p);
    cli_catch_signals(NULL);
    sfl_job_destroy(job);
    cli_convert_free(&a.c);
    return rc;
}

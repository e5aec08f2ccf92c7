/* cmd_load.c: `swefreq-load load` (into MongoDB) and `verify --uri`. */
#include <stdlib.h>
#include <string.h>

#include "convert_opts.h"
#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s load --uri-file FILE --db NAME [--vcf FILE]... [--coverage FILE]... [options]\n"
            "\n"
            "Converts the files and loads them into MongoDB: staging collections first, then\n"
            "the browser's indexes, then a verification of the staging data against the\n"
            "manifest, and only then a rename over the browser's collections. A failed or\n"
            "interrupted load leaves the browser's collections as they were; a signal once\n"
            "the swap has begun lets the swap finish (exit 130, the new data is live). One\n"
            "load per database at a time: a second one is refused (exit 9). Each load is\n"
            "recorded in the swefreq_meta collection with its manifest.\n"
            "\n"
            "  --uri URI             a MongoDB URI (credentials, authSource, TLS, replica sets\n"
            "                        and mongos lists all work)\n"
            CLI_URI_HELP
            "  --db NAME             the database\n"
            "  --insert-threads K    parallel inserters (default 2)\n"
            "  --write-concern W     1 (default), majority, or a number; never unacknowledged\n"
            "  --manifest FILE       also write the manifest to FILE (written as FILE.partial\n"
            "                        before the swap, renamed after it). With --group: the\n"
            "                        part's manifest, written before its record says\n"
            "                        complete, \"{part}\" in FILE replaced by K; give the files\n"
            "                        to `finish --part-manifest`\n"
            "  --lock-timeout S      a load lock whose heartbeat is older than S seconds is\n"
            "                        stale and taken over (default 60)\n"
            "  --break-lock          take the database's load lock even from a live holder\n"
            "                        (for operators; recorded in the load record)\n"
            "  --resume [LOAD_ID]    continue the newest loading or interrupted load (or the\n"
            "                        one named) where it stopped, keeping its staging; the\n"
            "                        same source files and document options are required\n"
            "                        (refused with exit 3 otherwise); with no --vcf or\n"
            "                        --coverage, the sources and options are taken from the\n"
            "                        load record\n"
            "  --record-interval MS  record the acknowledged position this often (10000)\n"
            "  --batch-docs N        documents per insert (2000; the server's limit caps it)\n"
            "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE): stop\n"
            "                        with exit 9, before any read or write, on a database of\n"
            "                        another role. A sealed database is always refused (9)\n"
            "  --role ROLE           the role a new database gets (default: the expected role,\n"
            "                        else development)\n"
            "  --group G --part K    load part K (1..N) of partitioned load G, planned with\n"
            "                        `plan` (README \"Partitioned loads\"): the same sources and\n"
            "                        options as the plan (else exit 3, naming the difference);\n"
            "                        the part's regions come from the plan; its documents go\n"
            "                        to the group's staging and the part is recorded, the\n"
            "                        swap is `finish --group G`'s. Without --part, K is taken\n"
            "                        from SLURM_ARRAY_TASK_ID (a Slurm array --array=1-N).\n"
            "                        A part already complete: exit 11; a group not planned\n"
            "                        yet: exit 12; --resume (or the same command again)\n"
            "                        continues a part that was killed. --db defaults to\n"
            "                        swefreq with --group\n"
            CLI_SHARD_HELP
            "%s"
            "  -h, --help            this help\n"
            "\n"
            "A server without arrays of arrays (FerretDB) needs --histograms columns or none.\n"
            "\n%s",
            cli_prog, CLI_CONVERT_HELP, cli_exit_codes_help);
}

/* The options that shape documents (the shared option ids of
 * convert_opts.h) and their names in a manifest. */
#define SHAPING_N 7
static const int shaping_ids[SHAPING_N] = {1002, 1003, 1004, 1012, 1013, 1014, 1015};
static const char *const shaping_names[SHAPING_N] = {
    "style", "histograms", "coverage_step", "csq_field", "csq_format", "vep_features", "genome"};

/* The sources of a plan (a load record's, a group's), each by its
 * absolute path when recorded, and the document options not given. False
 * after a message (*rc set). */
static bool sources_from_plan(cli_convert_t *c, const sfl_manifest_t *plan,
                              const bool given[SHAPING_N], int *rc)
{
    static const struct {
        const char *kind;
        int id;
    } kinds[] = {{"vcf", 1000},   {"coverage", 1001},    {"gtf", 1100},
                 {"canonical_transcripts", 1101}, {"omim", 1102}, {"dbnsfp_genes", 1103},
                 {"dbsnp", 1104}};
    for (size_t i = 0; i < sfl_manifest_n_sources(plan); i++) {
        const sfl_manifest_source_t *s = sfl_manifest_source(plan, i);
        const char *path = s->abs_path ? s->abs_path : s->path;
        int id = 1000;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (!strcmp(s->kind, kinds[k].kind))
                id = kinds[k].id;
        if (cli_convert_option(c, id, path) < 0) {
            *rc = EXIT_INTERNAL;
            return false;
        }
    }
    for (int i = 0; i < SHAPING_N; i++) {
        const char *v = sfl_manifest_option(plan, shaping_names[i]);
        if (given[i] || !v || (i == 3 && !strcmp(v, "auto")) || (i == 4 && !strcmp(v, "header")))
            continue;
        if (cli_convert_option(c, shaping_ids[i], v) < 0) {
            *rc = EXIT_INPUT;
            return false;
        }
    }
    return true;
}

/* --resume without sources: the sources, and the document options not
 * given, from the record of the load to continue (which is then pinned).
 * Returns the plan, which the sources point into; NULL after a message. */
static sfl_manifest_t *resume_from_record(cli_convert_t *c, sfl_mongo_options_t *mo,
                                          const bool given[SHAPING_N], int *rc)
{
    static char id[48];
    sfl_error_t err;
    sfl_manifest_t *plan = sfl_mongo_resume_plan(mo, id, &err);
    if (!plan) {
        cli_print_error(&err);
        *rc = cli_exit_code(&err);
        return NULL;
    }
    if (!sources_from_plan(c, plan, given, rc)) {
        sfl_manifest_destroy(plan);
        return NULL;
    }
    size_t regions_given = c->n_regions;
    for (size_t i = 0; !regions_given && i < sfl_manifest_n_regions(plan); i++) {
        const sfl_manifest_region_t *g = sfl_manifest_region(plan, i);
        size_t n = strlen(g->chrom) + 48;
        char *spec = malloc(n);
        if (spec && g->end < 0)
            snprintf(spec, n, "%s", g->chrom);
        else if (spec)
            snprintf(spec, n, "%s:%lld-%lld", g->chrom, (long long)g->start + 1,
                     (long long)g->end);
        if (!cli_convert_add_owned_region(c, spec)) {
            *rc = EXIT_INTERNAL;
            sfl_manifest_destroy(plan);
            return NULL;
        }
    }
    if (!mo->resume_load_id)
        mo->resume_load_id = id;
    return plan;
}

/* What `load`'s command line gives. */
typedef struct {
    cli_convert_t c;
    sfl_mongo_options_t mo;
    cli_uri_t uri;
    const char *manifest;
    bool shaping_given[SHAPING_N];
    const char *group;
    int part;
    char *part_manifest; /* --manifest with "{part}" replaced (a part's) */
} load_args_t;

static bool parse_range(const char *flag, const char *arg, unsigned long long lo,
                        unsigned long long hi, const char *unit, unsigned long long *v)
{
    if (cli_parse_u64(flag, arg, v) && *v >= lo && *v <= hi)
        return true;
    cli_error("%s must be from %llu to %llu%s", flag, lo, hi, unit);
    return false;
}

/* One option of `load` that is neither a conversion nor a URI option.
 * Returns -1 to go on, else the exit code to stop with. */
static int load_option(load_args_t *a, int ch, int argc, char **argv)
{
    sfl_mongo_options_t *mo = &a->mo;
    unsigned long long v;
    switch (ch) {
    case 'd': mo->db = optarg; return -1;
    case 'k':
        if (!parse_range("--insert-threads", optarg, 1, 64, "", &v))
            return EXIT_USAGE;
        mo->insert_threads = (int)v;
        return -1;
    case 'w': mo->write_concern = optarg; return -1;
    case 'm': a->manifest = optarg; return -1;
    case 't':
        if (!parse_range("--lock-timeout", optarg, 1, 86400, " seconds", &v))
            return EXIT_USAGE;
        mo->lock_stale_seconds = (int)v;
        return -1;
    case 'B': mo->break_lock = true; return -1;
    case 'R':
        mo->resume = true;
        /* --resume ID as well as --resume=ID */
        if (!optarg && optind < argc && argv[optind][0] != '-')
            optarg = argv[optind++];
        mo->resume_load_id = optarg;
        return -1;
    case 'I':
        if (!parse_range("--record-interval", optarg, 1, 3600000, " ms", &v))
            return EXIT_USAGE;
        mo->record_ms = (int)v;
        return -1;
    case 'b':
        if (!parse_range("--batch-docs", optarg, 1, 100000, "", &v))
            return EXIT_USAGE;
        mo->batch_docs = (uint32_t)v;
        return -1;
    case 2002:
    case 2005:
        return cli_parse_role(ch == 2002 ? "--expect-role" : "--role", optarg,
                              ch == 2002 ? &mo->expect_role : &mo->role)
                   ? -1
                   : EXIT_USAGE;
    case 'G': a->group = optarg; return -1;
    case 'P':
        if (!parse_range("--part", optarg, 1, SFL_GROUP_MAX_PARTS, "", &v))
            return EXIT_USAGE;
        a->part = (int)v;
        return -1;
    case CLI_OPT_SHARD_KEY: return cli_parse_shard_key("--shard-key", optarg, &mo->shard_key) ? -1 : EXIT_USAGE;
    case 'h': usage(stdout); return EXIT_OK;
    default: fprintf(stderr, "Try '%s load --help'.\n", cli_prog); return EXIT_USAGE;
    }
}

/* A part's --manifest FILE with each "{part}" replaced by K (malloc'd), so
 * that one command line serves every part. */
static char *part_path(const char *path, int part)
{
    char k[16];
    snprintf(k, sizeof k, "%d", part);
    size_t n = strlen(path) + 1;
    for (const char *p = strstr(path, "{part}"); p; p = strstr(p + 6, "{part}"))
        n += strlen(k);
    char *out = malloc(n), *o = out;
    if (!out) {
        cli_error("out of memory");
        return NULL;
    }
    for (const char *p = path; *p;) {
        if (!strncmp(p, "{part}", 6)) {
            o += sprintf(o, "%s", k);
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* --group G [--part K]: K from SLURM_ARRAY_TASK_ID when not given; the
 * part's regions are the plan's. Returns -1 to go on, else the exit code. */
static int group_args(load_args_t *a)
{
    const char *env = getenv("SLURM_ARRAY_TASK_ID");
    unsigned long long v;
    if (!a->part && env && *env) {
        if (!cli_parse_u64("SLURM_ARRAY_TASK_ID", env, &v) || v < 1 || v > SFL_GROUP_MAX_PARTS) {
            cli_error("SLURM_ARRAY_TASK_ID is '%s': parts are numbered from 1 (--array=1-N)",
                      env);
            return EXIT_USAGE;
        }
        a->part = (int)v;
    }
    if (!a->part) {
        cli_error("--group needs --part K (or SLURM_ARRAY_TASK_ID)");
        return EXIT_USAGE;
    }
    if (a->c.n_regions) {
        cli_error("a part reads the regions of its plan: --region and --regions-file are not "
                  "taken with --group");
        return EXIT_USAGE;
    }
    if (a->mo.resume_load_id) {
        cli_error("--resume of a part continues that part: no load id is taken");
        return EXIT_USAGE;
    }
    if (a->c.opt.rejects_path) {
        cli_error("--rejects is not taken with --group: the parts run the same command, so they "
                  "would write the same file");
        return EXIT_USAGE;
    }
    if (a->manifest && (a->manifest = a->part_manifest = part_path(a->manifest, a->part)) == NULL)
        return EXIT_INTERNAL;
    if (!a->mo.db)
        a->mo.db = "swefreq";
    a->mo.group = a->group;
    a->mo.part = a->part;
    return -1;
}

/* The command line into `a`. Returns -1 to go on, else the exit code. */
static int load_args(load_args_t *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_CONVERT_LONGOPTS,
        CLI_URI_LONGOPTS,
        {"db", required_argument, NULL, 'd'},
        {"insert-threads", required_argument, NULL, 'k'},
        {"write-concern", required_argument, NULL, 'w'},
        {"manifest", required_argument, NULL, 'm'},
        {"lock-timeout", required_argument, NULL, 't'},
        {"break-lock", no_argument, NULL, 'B'},
        {"resume", optional_argument, NULL, 'R'},
        {"record-interval", required_argument, NULL, 'I'},
        {"batch-docs", required_argument, NULL, 'b'},
        {"expect-role", required_argument, NULL, 2002},
        {"role", required_argument, NULL, 2005},
        {"group", required_argument, NULL, 'G'},
        {"part", required_argument, NULL, 'P'},
        CLI_SHARD_LONGOPT,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch, rc;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        for (int i = 0; i < SHAPING_N; i++)
            a->shaping_given[i] |= ch == shaping_ids[i];
        int r = cli_convert_option(&a->c, ch, optarg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0 || cli_uri_option(&a->uri, ch, optarg))
            continue;
        if ((rc = load_option(a, ch, argc, argv)) != -1)
            return rc;
    }
    if (!cli_convert_no_operands(argc, argv))
        return EXIT_USAGE;
    if (a->group && (rc = group_args(a)) != -1)
        return rc;
    if ((rc = cli_uri_resolve(&a->uri, a->c.quiet, &a->mo.uri)) != -1)
        return rc;
    if (!a->mo.uri || !a->mo.db) {
        cli_error("load needs --uri-file FILE (or SWEFREQ_MONGO_URI_FILE, SWEFREQ_MONGO_URI, "
                  "--uri URI) and --db NAME");
        return EXIT_USAGE;
    }
    return cli_expect_role_env(&a->mo.expect_role) ? -1 : EXIT_USAGE;
}

/* The outcome: --json, or the summary and what happened to the database. */
static void load_report(const load_args_t *a, sfl_job_t *job, const sfl_sink_t *sink, bool ok,
                        int rc, const sfl_error_t *err)
{
    sfl_mongo_outcome_t outcome = sfl_sink_mongo_outcome(sink);
    sfl_mongo_resume_stats_t rs = {.struct_size = sizeof rs};
    bool resumed = sfl_sink_mongo_resume_stats(sink, &rs) && rs.resumed;
    const char *db = a->mo.db;
    if (a->c.json) {
        char extra[768] = "";
        if (a->group)
            snprintf(extra, sizeof extra, "\"group\" : { \"part\" : %d, \"part_complete\" : %s }%s",
                     a->part, ok ? "true" : "false", resumed ? ", " : "");
        if (resumed)
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                     "\"resume\" : { \"load_id\" : \"%s\", \"attempt\" : %d, "
                     "\"swap_finished\" : %s, \"skipped\" : %llu, \"sent\" : %llu, "
                     "\"resent\" : %llu, \"duplicates_absorbed\" : %llu }",
                     rs.load_id, rs.attempt, rs.swap_finished ? "true" : "false",
                     (unsigned long long)rs.skipped, (unsigned long long)rs.sent,
                     (unsigned long long)rs.resent, (unsigned long long)rs.absorbed);
        cli_print_json_outcome_with(job, rc, err, extra[0] ? extra : NULL);
        return;
    }
    if (a->c.quiet)
        return;
    cli_print_summary(job, ok ? "loaded" : "load failed");
    if (resumed && rs.swap_finished)
        fprintf(stderr, "  resumed load %s: its journalled swap was finished; nothing was "
                        "sent\n", rs.load_id);
    else if (resumed)
        fprintf(stderr, "  resumed load %s (attempt %d): %llu documents skipped "
                        "(acknowledged before), %llu sent (%llu of them sent before), "
                        "%llu duplicates absorbed\n", rs.load_id, rs.attempt,
                (unsigned long long)rs.skipped, (unsigned long long)rs.sent,
                (unsigned long long)rs.resent, (unsigned long long)rs.absorbed);
    if (ok && a->group)
        fprintf(stderr, "  database %s: part %d of group %s is in the group's staging and "
                        "recorded complete; when every part is, run `%s finish --group %s`\n",
                db, a->part, a->group, cli_prog, a->group);
    else if (ok)
        fprintf(stderr, "  database %s: collections swapped in, staging verified, load "
                        "recorded in swefreq_meta\n", db);
    else if (outcome == SFL_MONGO_SWAPPED)
        fprintf(stderr, "  database %s: the swap was finished; the new data is live and "
                        "recorded in swefreq_meta\n", db);
    else if (outcome == SFL_MONGO_SWAP_PENDING)
        fprintf(stderr, "  database %s: the swap was cut short and is journalled; run `%s "
                        "recover` (or load again) to finish it\n", db, cli_prog);
    else
        fprintf(stderr, "  the browser's collections in %s were not changed\n", db);
}

static void part_failed(const load_args_t *a, const sfl_error_t *err, int *rc)
{
    cli_print_error(err);
    *rc = cli_exit_code(err);
    if (a->c.json) {
        printf("{ \"ok\" : false, \"exit_code\" : %d, \"error\" : ", *rc);
        cli_json_string(stdout, cli_flags(err->message));
        printf(", \"group\" : { \"part\" : %d, \"part_complete\" : false } }\n", a->part);
    }
}

/* A part: the group's plan from the database; given no sources, the part
 * takes the plan's (by their absolute paths) and its document options
 * (*sources, which the paths point into). NULL after a message. */
static sfl_group_plan_t *group_plan(load_args_t *a, sfl_manifest_t **sources, int *rc)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    cli_term_init(&a->c.term, a->c.quiet);
    a->mo.log = cli_log;
    a->mo.log_ud = &a->c.term;
    sfl_group_plan_t *gp = sfl_mongo_group_fetch(&a->mo, a->group, &err);
    if (gp && a->c.n_sources == 0 && (*sources = sfl_group_plan_sources(gp, &err))) {
        const char *me = sfl_manifest_option(*sources, "max_errors");
        const char *sk = sfl_manifest_option(*sources, "skip_unknown_contigs");
        if (!sources_from_plan(&a->c, *sources, a->shaping_given, rc) ||
            (me && !a->c.opt.max_errors && cli_convert_option(&a->c, 1006, me) < 0) ||
            (sk && !strcmp(sk, "true") && cli_convert_option(&a->c, 1105, NULL) < 0)) {
            sfl_group_plan_destroy(gp);
            if (*rc == EXIT_OK)
                *rc = EXIT_INPUT;
            return NULL;
        }
        return gp;
    }
    if (gp && a->c.n_sources)
        return gp;
    sfl_group_plan_destroy(gp);
    part_failed(a, &err, rc);
    return NULL;
}

/* The job restricted to the part's regions. False after a message, with
 * the exit code in *rc. */
static bool use_part(load_args_t *a, sfl_job_t *job, sfl_group_plan_t *gp, int *rc)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    if (sfl_job_use_part(job, gp, a->part, &err)) {
        a->mo.group_id = sfl_group_plan_id(gp);
        return true;
    }
    part_failed(a, &err, rc);
    return false;
}

/* `load`: the command line, the sources (from the load record for a bare
 * --resume), the job into the MongoDB sink, the report. */
int cmd_load(int argc, char **argv)
{
    load_args_t a;
    memset(&a, 0, sizeof a);
    cli_convert_init(&a.c);
    sfl_mongo_options_init(&a.mo);
    int rc = load_args(&a, argc, argv);
    sfl_manifest_t *plan = NULL;
    sfl_group_plan_t *gplan = NULL;
    sfl_job_t *job = NULL;
    if (rc == -1) {
        rc = EXIT_OK;
        if (a.group && !(gplan = group_plan(&a, &plan, &rc)) && rc == EXIT_OK)
            rc = EXIT_INTERNAL;
        else if (!a.group && a.mo.resume && a.c.n_sources == 0)
            plan = resume_from_record(&a.c, &a.mo, a.shaping_given, &rc);
        if (rc == EXIT_OK)
            job = cli_convert_job(&a.c, &rc);
        if (job && a.group && !use_part(&a, job, gplan, &rc)) {
            sfl_job_destroy(job);
            job = NULL;
        }
    }
    if (!job) {
        cli_convert_free(&a.c);
        sfl_manifest_destroy(plan);
        sfl_group_plan_destroy(gplan);
        free(a.part_manifest);
        return rc;
    }
    a.mo.log = cli_log;
    a.mo.log_ud = &a.c.term;
    a.mo.manifest_path = a.manifest;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_sink_t *sink = sfl_sink_mongo_new(&a.mo, &err);
    bool ok = sink && sfl_job_run(job, sink, &err);
    cli_progress_done(&a.c.term);
    if (!ok) {
        cli_print_error(&err);
        rc = cli_exit_code(&err);
    }
    load_report(&a, job, sink, ok, rc, &err);
    sfl_sink_destroy(sink);
    cli_catch_signals(NULL);
    sfl_job_destroy(job);
    cli_convert_free(&a.c);
    sfl_manifest_destroy(plan);
    sfl_group_plan_destroy(gplan);
    free(a.part_manifest);
    return rc;
}

int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json, int expect_role, const sfl_trusted_keys_t *keys);
int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json, int expect_role, const sfl_trusted_keys_t *keys)
{
    sfl_error_t err;
    sfl_manifest_t *m = NULL;
    sfl_signature_info_t sig;
    memset(&sig, 0, sizeof sig);
    if (manifest && !(m = sfl_manifest_read_signed(manifest, keys, &sig, &err))) {
        int rc = cli_exit_code(&err);
        cli_print_error(&err);
        if (json)
            cli_print_verify_failure(rc, &err, false);
        return rc;
    }
    sfl_mongo_options_t mo;
    sfl_mongo_options_init(&mo);
    mo.uri = uri;
    mo.db = db;
    mo.expect_role = expect_role;
    sfl_verify_report_t *r = sfl_verify_mongo_signed(&mo, m, &sig, sources, &err);
    sfl_manifest_destroy(m);
    if (!r) {
        cli_print_error(&err);
        /* An unfinished swap is a difference to report, not a refusal. */
        int rc = err.code == SFL_E_SWAP_PENDING ? EXIT_MISMATCH : cli_exit_code(&err);
        if (json)
            cli_print_verify_failure(rc, &err, err.code == SFL_E_SWAP_PENDING);
        return rc;
    }
    return cli_finish_verify(r, json);
}

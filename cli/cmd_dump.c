/* cmd_dump.c: `swefreq-load dump`: convert to a mongorestore-compatible
 * dump, or parse only (--dry-run), or print documents (--format jsonl). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert_opts.h"

/* A dump is one release, replaced whole: the collections of the earlier
 * dump in OUT/DB that the new one does not have are said to be gone. */
static void say_replaced(const sfl_manifest_t *before, const sfl_manifest_t *now,
                         const char *out, const char *db)
{
    char gone[256] = "";
    for (size_t i = 0; before && now && i < sfl_manifest_n_collections(before); i++) {
        const char *name = sfl_manifest_collection(before, i)->name;
        if (!sfl_manifest_find_collection(now, name) &&
            strlen(gone) + strlen(name) + 3 < sizeof gone)
            snprintf(gone + strlen(gone), sizeof gone - strlen(gone), "%s%s", *gone ? ", " : "",
                     name);
    }
    if (*gone)
        fprintf(stderr,
                "%s: warning: %s/%s: the earlier dump there also held %s, which this run did "
                "not write: a dump is one release and replaces the folder whole\n",
                cli_prog, out, db, gone);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s dump --out DIR [--db NAME] [--vcf FILE]... [--coverage FILE]... [options]\n"
            "       %s dump --dry-run [--vcf FILE]... [--coverage FILE]...\n"
            "       %s dump --format jsonl [--vcf FILE]... [--coverage FILE]...\n"
            "\n"
            "Converts sites VCFs and coverage files into the SweFreq browser's documents and\n"
            "writes DIR/NAME/variants.bson, base_coverage.bson, their .metadata.json (with the\n"
            "browser's indexes) and manifest.json, so that `mongorestore DIR` loads them.\n"
            "A dump is one release: DIR/NAME is replaced whole (collections of an earlier\n"
            "dump there that this run does not write are gone). A symbolic link at DIR/NAME,\n"
            "or a DIR/NAME holding files a dump does not write, is refused (exit 4).\n"
            "\n"
            "  --out DIR             the dump folder\n"
            "  --db NAME             database name (default: swefreq)\n"
            "  --dry-run             parse and encode everything, write nothing\n"
            "  --format F            bson (default) or jsonl: documents as relaxed extended\n"
            "                        JSON lines on stdout, nothing else written\n"
            "  --manifest FILE       also write the manifest to FILE\n"
            "  --signing-key KEY     sign DIR/NAME/manifest.json (and FILE of --manifest) with\n"
            "                        this Ed25519 private key: manifest.json.sig (see `sign\n"
            "                        --help`); the key is read first (exit 3 if unusable)\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_prog, cli_prog, CLI_CONVERT_HELP, cli_exit_codes_help);
}

/* What `dump`'s command line gives. */
typedef struct {
    cli_convert_t c;
    const char *out, *db, *format, *manifest, *keyfile;
    bool dry, jsonl;
} dump_args_t;

/* The command line into `a`. Returns -1 to go on, else the exit code. */
static int dump_args(dump_args_t *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_CONVERT_LONGOPTS,
        {"out", required_argument, NULL, 'o'},
        {"db", required_argument, NULL, 'd'},
        {"dry-run", no_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"manifest", required_argument, NULL, 'm'},
        {"signing-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = cli_convert_option(&a->c, ch, optarg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        switch (ch) {
        case 'o': a->out = optarg; break;
        case 'd': a->db = optarg; break;
        case 'n': a->dry = true; break;
        case 'f': a->format = optarg; break;
        case 'm': a->manifest = optarg; break;
        case 'k': a->keyfile = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: fprintf(stderr, "Try '%s dump --help'.\n", cli_prog); return EXIT_USAGE;
        }
    }
    if (!cli_convert_no_operands(argc, argv))
        return EXIT_USAGE;
    a->jsonl = strcmp(a->format, "jsonl") == 0;
    if (!a->jsonl && strcmp(a->format, "bson") != 0)
        cli_error("--format must be bson or jsonl, not '%s'", a->format);
    else if (a->jsonl && a->c.json)
        cli_error("--format jsonl prints documents on stdout; it cannot be combined with --json");
    else if (!a->dry && !a->jsonl && !a->out)
        cli_error("--out DIR is required (or --dry-run, or --format jsonl)");
    else if (a->keyfile && (a->dry || a->jsonl))
        cli_error("--signing-key signs a dump's manifest: it needs --out DIR");
    else
        return -1;
    return EXIT_USAGE;
}

/* The manifest of the dump that OUT/DB holds now, if any (to say what the
 * new dump replaces); NULL for none or for a dry run. */
static sfl_manifest_t *dump_before(const dump_args_t *a)
{
    if (a->dry || a->jsonl)
        return NULL;
    char *mp = NULL;
    sfl_error_t ignored;
    sfl_manifest_t *m = NULL;
    if (asprintf(&mp, "%s/%s/manifest.json", a->out, a->db) >= 0 && access(mp, F_OK) == 0)
        m = sfl_manifest_read_file(mp, &ignored);
    free(mp);
    return m;
}

/* The dump sink signed the dump's manifest.json in its hidden folder,
 * before publishing it, and the --manifest copy was signed from the same
 * buffer it was written from; this says so. Returns the exit code. */
static int dump_sign(const dump_args_t *a, const sfl_signing_key_t *key, sfl_error_t *err)
{
    char *own = NULL;
    if (asprintf(&own, "%s/%s/manifest.json", a->out, a->db) < 0)
        own = NULL;
    int rc = EXIT_OK;
    if (!own) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        cli_print_error(err);
        rc = cli_exit_code(err);
    } else if (!a->c.quiet && !a->c.json) {
        fprintf(stderr, "%s: %s signed with key %s\n", cli_prog, own, sfl_signing_key_id(key));
    }
    free(own);
    return rc;
}

/* The job into `sink`; the manifest copy and the signature after it.
 * Returns the exit code; *ok whether the job ran to its end. */
static int dump_run(dump_args_t *a, sfl_job_t *job, sfl_sink_t *sink,
                    const sfl_signing_key_t *key, bool *ok, sfl_error_t *err)
{
    sfl_manifest_t *before = dump_before(a);
    int rc = EXIT_OK;
    *ok = sfl_job_run(job, sink, err);
    cli_progress_done(&a->c.term);
    if (*ok && !a->c.quiet)
        say_replaced(before, sfl_job_manifest(job), a->out, a->db);
    sfl_manifest_destroy(before);
    if (!*ok ||
        (a->manifest && !sfl_manifest_write_file_signed(sfl_job_manifest(job), a->manifest, key, err))) {
        cli_print_error(err);
        rc = cli_exit_code(err);
    }
    if (*ok && rc == EXIT_OK && key)
        rc = dump_sign(a, key, err);
    return rc;
}

/* `dump`: the command line, the signing key (read before anything is
 * written), the job into the null, JSON lines or dump sink, the report. */
int cmd_dump(int argc, char **argv)
{
    dump_args_t a = {.db = "swefreq", .format = "bson"};
    cli_convert_init(&a.c);
    int rc = dump_args(&a, argc, argv);
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_signing_key_t *key = NULL;
    sfl_job_t *job = NULL;
    if (rc == -1 && a.keyfile && !(key = sfl_signing_key_read(a.keyfile, &err))) {
        cli_print_error(&err);
        rc = cli_exit_code(&err);
    }
    if (rc == -1 && !(job = cli_convert_job(&a.c, &rc)))
        rc = rc == -1 ? EXIT_INTERNAL : rc;
    sfl_sink_t *sink = NULL;
    if (job && !(sink = a.dry     ? sfl_sink_null_new(&err)
                        : a.jsonl ? sfl_sink_jsonl_new(stdout, &err)
                                  : sfl_sink_dump_new_signed(a.out, a.db, key, &err))) {
        cli_print_error(&err);
        rc = a.dry || a.jsonl ? EXIT_INTERNAL : cli_exit_code(&err);
    }
    if (sink) {
        bool ok;
        rc = dump_run(&a, job, sink, key, &ok, &err);
        if (a.c.json) {
            cli_print_json_outcome(job, rc, &err);
        } else if (!a.c.quiet) {
            cli_print_summary(job, ok ? (a.dry ? "dry run" : a.jsonl ? "converted" : "dump written")
                                      : "stopped");
            if (ok && !a.dry && !a.jsonl)
                fprintf(stderr, "  dump: %s/%s (manifest.json beside the data)\n", a.out, a.db);
        }
        sfl_sink_destroy(sink);
    }
    sfl_signing_key_destroy(key);
    if (job) {
        cli_catch_signals(NULL);
        sfl_job_destroy(job);
    }
    cli_convert_free(&a.c);
    return rc;
}

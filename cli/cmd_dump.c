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

int cmd_dump(int argc, char **argv)
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
    cli_convert_t c;
    cli_convert_init(&c);
    const char *out = NULL, *db = "swefreq", *format = "bson", *manifest = NULL, *keyfile = NULL;
    bool dry = false;
    int ch, rc = EXIT_OK;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = cli_convert_option(&c, ch, optarg);
        if (r < 0) {
            cli_convert_free(&c);
            return EXIT_USAGE;
        }
        if (r > 0)
            continue;
        switch (ch) {
        case 'o': out = optarg; break;
        case 'd': db = optarg; break;
        case 'n': dry = true; break;
        case 'f': format = optarg; break;
        case 'm': manifest = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'h': usage(stdout); cli_convert_free(&c); return EXIT_OK;
        default:
            fprintf(stderr, "Try '%s dump --help'.\n", cli_prog);
            cli_convert_free(&c);
            return EXIT_USAGE;
        }
    }
    if (!cli_convert_no_operands(argc, argv)) {
        cli_convert_free(&c);
        return EXIT_USAGE;
    }
    bool jsonl = strcmp(format, "jsonl") == 0;
    if (!jsonl && strcmp(format, "bson") != 0) {
        cli_error("--format must be bson or jsonl, not '%s'", format);
        cli_convert_free(&c);
        return EXIT_USAGE;
    }
    if (jsonl && c.json) {
        cli_error("--format jsonl prints documents on stdout; it cannot be combined with --json");
        cli_convert_free(&c);
        return EXIT_USAGE;
    }
    if (!dry && !jsonl && !out) {
        cli_error("--out DIR is required (or --dry-run, or --format jsonl)");
        cli_convert_free(&c);
        return EXIT_USAGE;
    }
    if (keyfile && (dry || jsonl)) {
        cli_error("--signing-key signs a dump's manifest: it needs --out DIR");
        cli_convert_free(&c);
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_signing_key_t *key = NULL;
    if (keyfile && !(key = sfl_signing_key_read(keyfile, &err))) {
        cli_print_error(&err);
        cli_convert_free(&c);
        return cli_exit_code(&err);
    }
    sfl_job_t *job = cli_convert_job(&c, &rc);
    if (!job) {
        sfl_signing_key_destroy(key);
        cli_convert_free(&c);
        return rc;
    }
    sfl_sink_t *sink = dry     ? sfl_sink_null_new(&err)
                       : jsonl ? sfl_sink_jsonl_new(stdout, &err)
                               : sfl_sink_dump_new(out, db, &err);
    if (!sink) {
        cli_print_error(&err);
        sfl_signing_key_destroy(key);
        cli_catch_signals(NULL);
        sfl_job_destroy(job);
        cli_convert_free(&c);
        return dry || jsonl ? EXIT_INTERNAL : cli_exit_code(&err);
    }
    sfl_manifest_t *before = NULL;
    if (!dry && !jsonl) {
        char *mp = malloc(strlen(out) + strlen(db) + 32);
        sfl_error_t ignored;
        if (mp) {
            sprintf(mp, "%s/%s/manifest.json", out, db);
            before = access(mp, F_OK) == 0 ? sfl_manifest_read_file(mp, &ignored) : NULL;
        }
        free(mp);
    }
    bool ok = sfl_job_run(job, sink, &err);
    cli_progress_done(&c.term);
    if (ok && !c.quiet)
        say_replaced(before, sfl_job_manifest(job), out, db);
    sfl_manifest_destroy(before);
    if (!ok) {
        cli_print_error(&err);
        rc = cli_exit_code(&err);
    } else if (manifest && !sfl_manifest_write_file(sfl_job_manifest(job), manifest, &err)) {
        cli_print_error(&err);
        rc = cli_exit_code(&err);
    }
    if (ok && rc == EXIT_OK && key) {
        char *own = NULL;
        if (asprintf(&own, "%s/%s/manifest.json", out, db) < 0)
            own = NULL;
        if (!own || !sfl_sign_file(key, own, NULL, &err) ||
            (manifest && !sfl_sign_file(key, manifest, NULL, &err))) {
            if (!own)
                sfl_error_set(&err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            cli_print_error(&err);
            rc = cli_exit_code(&err);
        } else if (!c.quiet && !c.json) {
            fprintf(stderr, "%s: %s signed with key %s\n", cli_prog, own,
                    sfl_signing_key_id(key));
        }
        free(own);
    }
    sfl_signing_key_destroy(key);
    if (c.json) {
        cli_print_json_outcome(job, rc, &err);
    } else if (!c.quiet) {
        cli_print_summary(job, ok ? (dry ? "dry run" : jsonl ? "converted" : "dump written")
                                  : "stopped");
        if (ok && !dry && !jsonl)
            fprintf(stderr, "  dump: %s/%s (manifest.json beside the data)\n", out, db);
    }
    sfl_sink_destroy(sink);
    cli_catch_signals(NULL);
    sfl_job_destroy(job);
    cli_convert_free(&c);
    return rc;
}

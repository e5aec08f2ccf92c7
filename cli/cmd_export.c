/* cmd_export.c: `swefreq-load export`: a database as a dump that equals
 * its manifest. */
#include <stdint.h>
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s export --uri-file FILE --db NAME --out DIR [--signing-key KEY]\n"
            "       [--release N [--release-db NAME]] [options]\n"
            "\n"
            "Writes the database's browser collections as a mongorestore-compatible dump in\n"
            "DIR/NAME: <collection>.bson (one cursor per collection, in parallel),\n"
            "<collection>.metadata.json with the indexes on the server, and manifest.json (the\n"
            "manifest of the load in force). The files are written into a hidden folder in\n"
            "DIR and checked against that manifest as they are written; only when every\n"
            "count and digest match is the folder renamed to DIR/NAME (replacing an earlier\n"
            "export). A database changed before or during the export exits 5 and leaves no\n"
            "new dump. Never writes to the database. Carry DIR/NAME to the other system\n"
            "and `restore` it there.\n"
            "\n"
            "  --out DIR             the output folder (DIR/NAME is written)\n"
            "  --signing-key KEY     sign DIR/NAME/manifest.json with this Ed25519 private key\n"
            "                        (manifest.json.sig; see `sign --help`); the key is read\n"
            "                        first (exit 3 if unusable, nothing exported)\n"
            "  --release N           number this release (from 1, higher for each newer one):\n"
            "                        manifest.json gets \"release\": {number, database}, inside\n"
            "                        the signed bytes; restore and promote refuse (exit 9) a\n"
            "                        release not newer than the one the database records\n"
            "  --release-db NAME     with --release: the database the release is for on the\n"
            "                        other system (default: --db); restore and promote into\n"
            "                        another database refuse it (exit 9)\n"
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

typedef struct {
    cli_server_t *s;
    const char *out, *keyfile;
} export_args_t;

static int own(void *ud, int ch, const char *arg)
{
    export_args_t *a = ud;
    unsigned long long v;
    switch (ch) {
    case 'o': a->out = arg; return 1;
    case 'k': a->keyfile = arg; return 1;
    case 'r':
        if (!cli_parse_u64("--release", arg, &v) || v < 1 || v > INT64_MAX) {
            cli_error("--release needs the release's number, from 1");
            return -1;
        }
        a->s->mo.release_number = v;
        return 1;
    case 'D': a->s->mo.release_db = arg; return 1;
    default: return 0;
    }
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"out", required_argument, NULL, 'o'},
                                             {"signing-key", required_argument, NULL, 'k'},
                                             {"release", required_argument, NULL, 'r'},
                                             {"release-db", required_argument, NULL, 'D'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    export_args_t a = {&s, NULL, NULL};
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &a, usage, "export");
    const char *out = a.out, *keyfile = a.keyfile;
    if (rc >= 0)
        return rc;
    if (s.mo.release_db && !s.mo.release_number) {
        cli_error("--release-db needs --release N");
        return EXIT_USAGE;
    }
    if (!out) {
        cli_error("export needs --out DIR");
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_signing_key_t *key = NULL;
    if (keyfile && !(key = sfl_signing_key_read(keyfile, &err)))
        return cli_server_fail(&s, &err);
    char *mpath = NULL;
    /* signed in the hidden folder, published with the manifest */
    bool ok = sfl_mongo_export_signed(&s.mo, out, NULL, key, &err);
    if (ok && key && asprintf(&mpath, "%s/%s/manifest.json", out, s.mo.db) < 0)
        mpath = NULL;
    if (ok && key && mpath && !s.quiet && !s.json)
        fprintf(stderr, "export: %s signed with key %s (%s.sig)\n", mpath,
                sfl_signing_key_id(key), mpath);
    free(mpath);
    sfl_signing_key_destroy(key);
    if (!ok)
        return cli_server_fail(&s, &err);
    if (s.json) {
        /* the manifest written (a format-1 one gets its warning) */
        char *mp = NULL;
        sfl_manifest_t *m = asprintf(&mp, "%s/%s/manifest.json", out, s.mo.db) >= 0
                                ? sfl_manifest_read_file(mp, NULL)
                                : NULL;
        free(mp);
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", \"exported\" : true, \"out\" : ");
        cli_json_string(stdout, out);
        printf(", \"exit_code\" : 0, \"error\" : null");
        cli_json_manifest_fields(stdout, m);
        printf(" }\n");
        sfl_manifest_destroy(m);
    } else if (!s.quiet) {
        fprintf(stderr, "export: %s written to %s/%s; every collection equals the manifest\n",
                s.mo.db, out, s.mo.db);
    }
    return EXIT_OK;
}

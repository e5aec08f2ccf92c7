/* cmd_export.c: `swefreq-load export`: a database as a dump that equals
 * its manifest. */
#include <stdlib.h>

#include "server_opts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s export --uri-file FILE --db NAME --out DIR [--signing-key KEY] [options]\n"
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
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

static int own(void *ud, int ch, const char *arg)
{
    const char **a = ud; /* [0] --out, [1] --signing-key */
    if (ch != 'o' && ch != 'k')
        return 0;
    a[ch == 'k'] = arg;
    return 1;
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"out", required_argument, NULL, 'o'},
                                             {"signing-key", required_argument, NULL, 'k'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    const char *args[2] = {NULL, NULL};
    int rc = cli_server_parse(&s, argc, argv, longopts, own, args, usage, "export");
    const char *out = args[0], *keyfile = args[1];
    if (rc >= 0)
        return rc;
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

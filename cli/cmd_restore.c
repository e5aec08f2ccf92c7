/* cmd_restore.c: `swefreq-load restore`: load a dump or export into a
 * database through the same path as `load`. */
#include <stdlib.h>

#include "server_opts.h"
#include "trust.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s restore --uri-file FILE --db NAME --dump DIR [options]\n"
            "\n"
            "Loads a dump (of `dump` or `export`: DIR holds manifest.json and the .bson files,\n"
            "or is their parent) the way `load` loads files: the role check, the load lock,\n"
            "staging collections filled by parallel acknowledged batches, the browser's\n"
            "indexes, a verifying scan of the staging against the dump's manifest.json, then\n"
            "the swap and a load record (command restore). A dump that differs from its\n"
            "manifest exits 5 and a damaged .bson exits 3, both before the swap; the\n"
            "browser's collections are then as they were. SIGINT or SIGTERM stops it the same\n"
            "way (exit 130: staging dropped, record interrupted; once the swap has begun it\n"
            "finishes first); after kill -9, the next load, or `recover` once the lock is\n"
            "stale or with --break-lock, drops its staging. A sealed database is refused\n"
            "(exit 9) before anything is written. With a trusted key (--trusted-key,\n"
            "SWEFREQ_TRUSTED_KEYS), a manifest.json without a valid signature of one\n"
            "(manifest.json.sig) is refused (exit 10) before anything is written.\n"
            "With --manifest FILE (a copy of the dump's manifest.json you have checked, with\n"
            "FILE.sig beside it), FILE is read once and takes the place of the dump's: its\n"
            "signature, its release and every count and digest are checked from it, and the\n"
            "dump's manifest.json must be byte for byte the same, else exit 5 before anything\n"
            "is written (the dump was changed or replaced after your checks).\n"
            "\n"
            "  --dump DIR            the dump folder\n"
            "  --manifest FILE       hold the dump to FILE (see above)\n"
            "  --role ROLE           the role a new database gets (default: the expected role,\n"
            "                        else development)\n"
            "  --insert-threads K    parallel inserters (default 2)\n"
            "  --write-concern W     1 (default), majority, or a number\n"
            CLI_TRUST_HELP
            "%s"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, CLI_SERVER_HELP, cli_exit_codes_help);
}

typedef struct {
    cli_server_t *s;
    const char *dump;
    cli_trust_t trust;
} restore_args_t;

static int own(void *ud, int ch, const char *arg)
{
    restore_args_t *a = ud;
    unsigned long long v;
    switch (ch) {
    case 'd': a->dump = arg; return 1;
    case 'm': a->s->mo.restore_manifest = arg; return 1;
    case 'r': return cli_parse_role("--role", arg, &a->s->mo.role) ? 1 : -1;
    case 'k':
        if (!cli_parse_u64("--insert-threads", arg, &v) || v < 1 || v > 64) {
            cli_error("--insert-threads must be from 1 to 64");
            return -1;
        }
        a->s->mo.insert_threads = (int)v;
        return 1;
    case 'w': a->s->mo.write_concern = arg; return 1;
    case 't': return cli_trust_add(&a->trust, arg) ? 1 : -1;
    default: return 0;
    }
}

static void cancel(void *ud) { sfl_mongo_restore_cancel(ud); }

int cmd_restore(int argc, char **argv)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"dump", required_argument, NULL, 'd'},
                                             {"manifest", required_argument, NULL, 'm'},
                                             {"role", required_argument, NULL, 'r'},
                                             {"insert-threads", required_argument, NULL, 'k'},
                                             {"write-concern", required_argument, NULL, 'w'},
                                             {"trusted-key", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    restore_args_t a = {&s, NULL, {{0}, 0}};
    int rc = cli_server_parse(&s, argc, argv, longopts, own, &a, usage, "restore");
    if (rc >= 0)
        return rc;
    if (!a.dump) {
        cli_error("restore needs --dump DIR");
        return EXIT_USAGE;
    }
    sfl_trusted_keys_t *keys;
    if ((rc = cli_trust_load(&a.trust, &keys)) >= 0)
        return rc;
    s.mo.trusted_keys = keys;
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_restore_t *r = sfl_mongo_restore_new(&s.mo, a.dump, &err);
    sfl_trusted_keys_destroy(keys); /* only _new reads them */
    s.mo.trusted_keys = NULL;
    if (!r)
        return cli_server_fail(&s, &err);
    cli_catch_signals_with(cancel, r);
    bool ok = sfl_mongo_restore_run(r, &err);
    cli_catch_signals_with(NULL, NULL);
    sfl_mongo_outcome_t outcome = sfl_mongo_restore_outcome(r);
    if (!ok) {
        sfl_mongo_restore_destroy(r);
        rc = cli_server_fail(&s, &err);
        if (!s.quiet && !s.json)
            fprintf(stderr, "  %s\n",
                    outcome == SFL_MONGO_SWAPPED
                        ? "the swap was finished: the restored data is live"
                    : outcome == SFL_MONGO_SWAP_PENDING
                        ? "the swap was cut short and is journalled: run `swefreq-load recover`"
                        : "the browser's collections were not changed");
        return rc;
    }
    if (s.json) {
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", \"restored\" : true, \"exit_code\" : 0, \"error\" : null");
        cli_json_manifest_fields(stdout, sfl_mongo_restore_manifest(r));
        printf(" }\n");
    } else if (!s.quiet) {
        /* a format-1 manifest's warning came through the log */
        fprintf(stderr, "restore: %s restored from %s: staging verified against the dump's "
                        "manifest, swapped in, recorded in swefreq_meta\n", s.mo.db, a.dump);
    }
    sfl_mongo_restore_destroy(r);
    return EXIT_OK;
}

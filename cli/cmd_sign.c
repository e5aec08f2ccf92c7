/* cmd_sign.c: `swefreq-load sign`: a detached Ed25519 signature of a
 * manifest file (swefreq/sign.h). */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s sign --manifest FILE --key KEY [--out SIG]\n"
            "\n"
            "Signs the exact bytes of the manifest FILE with the Ed25519 private key KEY and\n"
            "writes the raw 64-byte signature to FILE.sig (or SIG). Make the key pair with\n"
            "  openssl genpkey -algorithm ed25519 -out release.key   (chmod 600; development only)\n"
            "  openssl pkey -in release.key -pubout -out release.pub (for the live system)\n"
            "KEY must not be readable by group or others (exit 3 naming its mode). The\n"
            "signature is checked without swefreq-load by\n"
            "  openssl pkeyutl -verify -pubin -inkey release.pub -rawin -in FILE -sigfile FILE.sig\n"
            "and by restore, promote and verify given --trusted-key release.pub. The key id\n"
            "printed is `openssl pkey -pubin -in release.pub -outform DER | sha256sum`.\n"
            "\n"
            "  --manifest FILE       the manifest to sign (e.g. DUMP/manifest.json)\n"
            "  --key KEY             the private key (PEM)\n"
            "  --out SIG             where the signature goes (default FILE.sig)\n"
            "  --quiet               no message on stderr\n"
            "  -h, --help            this help\n"
            "\n%s",
            cli_prog, cli_exit_codes_help);
}

int cmd_sign(int argc, char **argv)
{
    static const struct option longopts[] = {{"manifest", required_argument, NULL, 'm'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *manifest = NULL, *key = NULL, *out = NULL;
    bool quiet = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm': manifest = optarg; break;
        case 'k': key = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: fprintf(stderr, "Try '%s sign --help'.\n", cli_prog); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!manifest || !key) {
        cli_error("sign needs --manifest FILE and --key KEY");
        return EXIT_USAGE;
    }
    return cli_sign_manifest(key, manifest, out, quiet);
}

int cli_sign_manifest(const char *key, const char *manifest, const char *out, bool quiet)
{
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_signing_key_t *k = sfl_signing_key_read(key, &err);
    if (!k || !sfl_sign_file(k, manifest, out, &err)) {
        cli_print_error(&err);
        sfl_signing_key_destroy(k);
        return cli_exit_code(&err);
    }
    if (!quiet)
        fprintf(stderr, "sign: %s signed with key %s: %s%s\n", manifest, sfl_signing_key_id(k),
                out ? out : manifest, out ? "" : ".sig");
    sfl_signing_key_destroy(k);
    return EXIT_OK;
}

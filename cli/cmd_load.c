/* cmd_load.c: `swefreq-load load` (MongoDB): not built yet. */
#include "cli.h"

int cmd_load(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("load: the MongoDB sink is not available in this build yet");
    return EXIT_USAGE;
}

int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json);
int cmd_verify_mongo(const char *uri, const char *db, const char *manifest, bool sources,
                     bool json)
{
    (void)uri;
    (void)db;
    (void)manifest;
    (void)sources;
    (void)json;
    cli_error("verify --uri: the MongoDB verifier is not available in this build yet");
    return EXIT_USAGE;
}

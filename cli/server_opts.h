/* server_opts.h: the options every command that touches a MongoDB server
 * shares (--uri, --db, --expect-role, the lock, --json, --quiet), parsed
 * the same way everywhere. */
#ifndef SFL_CLI_SERVER_OPTS_H
#define SFL_CLI_SERVER_OPTS_H

#include <getopt.h>

#include "cli.h"
#include "uri_source.h"

#define CLI_SERVER_LONGOPTS                                                                       \
    CLI_URI_LONGOPTS, {"db", required_argument, NULL, 2001},                                      \
        {"expect-role", required_argument, NULL, 2002},                                           \
        {"lock-timeout", required_argument, NULL, 2003}, {"break-lock", no_argument, NULL, 2004}, \
        {"json", no_argument, NULL, 2006}, {"quiet", no_argument, NULL, 2007},                    \
        {"verbose", no_argument, NULL, 2008}

#define CLI_SERVER_HELP                                                                           \
    "  --uri URI             a MongoDB URI (see --uri-file for one with a password)\n"            \
    CLI_URI_HELP                                                                                  \
    "  --db NAME             the database\n"                                                      \
    "  --expect-role ROLE    development or live (default: $SWEFREQ_EXPECT_ROLE): stop with\n"   \
    "                        exit 9, before any read or write, on a database of another role\n" \
    "  --lock-timeout S      a load lock whose heartbeat is older than S s is stale (60)\n"       \
    "  --break-lock          take the database's load lock even from a live holder\n"             \
    "  --json                print the outcome as JSON on stdout\n"                               \
    "  --quiet               no messages on stderr\n"                                             \
    "  --verbose             progress messages on stderr\n"

/* --shard-key: for the commands that create staging collections (load,
 * and plan); not part of CLI_SERVER_LONGOPTS, so that commands which
 * create nothing do not take it. cli_server_option parses it. */
#define CLI_OPT_SHARD_KEY 2030
#define CLI_SHARD_LONGOPT {"shard-key", required_argument, NULL, CLI_OPT_SHARD_KEY}
#define CLI_SHARD_HELP                                                                            \
    "  --shard-key KEY       hashed or range: on a sharded cluster (a mongos of MongoDB >= 5.0)\n" \
    "                        create the staging collections of variants, base_coverage and\n"  \
    "                        dbsnp sharded before any insert: on {_id: \"hashed\"}, or on\n"     \
    "                        {xpos: 1} split at the regions' bounds (docs/scale.md); refused\n" \
    "                        with exit 9, before anything is written, on any other server\n"

typedef struct {
    sfl_mongo_options_t mo;
    cli_uri_t uri;
    bool json, quiet, verbose;
    cli_term_t term;
} cli_server_t;

void cli_server_init(cli_server_t *s);
/* 1: `ch` was a server option (handled); 0: not one; -1: bad value
 * (message printed). */
int cli_server_option(cli_server_t *s, int ch, const char *arg);
/* After parsing: the URI (cli_uri_resolve) and expected role from the
 * environment when not given, the log callback; -1 when the command can
 * run, else its exit code (message printed): 2 when no URI or --db is
 * given or SWEFREQ_EXPECT_ROLE is bad, 3 for a URI file refused. */
int cli_server_ready(cli_server_t *s, const char *command);

/* Parses argv with `longopts` (CLI_SERVER_LONGOPTS, the command's own,
 * {"help", no_argument, NULL, 'h'}); `own` (may be NULL) handles the
 * command's options like cli_server_option. Returns -1 when the command
 * should run, else its exit code (0 after --help, 2 on a usage error). */
int cli_server_parse(cli_server_t *s, int argc, char **argv, const struct option *longopts,
                     int (*own)(void *ud, int ch, const char *arg), void *ud,
                     void (*usage)(FILE *f), const char *command);

/* SIGINT and SIGTERM call cancel(ud) (async-signal-safe) from here on;
 * NULL restores the default action. */
void cli_catch_signals_with(void (*cancel)(void *ud), void *ud);

/* --role/--expect-role values: "development" (or "dev") or "live". */
bool cli_parse_role(const char *opt, const char *arg, int *out);
/* --shard-key's value, "hashed" or "range", into *out (sfl_shard_key_t);
 * false after a message naming `opt`. */
bool cli_parse_shard_key(const char *opt, const char *arg, int *out);
/* $SWEFREQ_EXPECT_ROLE into *out when *out is still 0; false if bad. */
bool cli_expect_role_env(int *out);

/* An error, and with --json one object {ok, exit_code, error}; returns
 * the exit code. */
int cli_server_fail(const cli_server_t *s, const sfl_error_t *err);

/* A command whose one own option is a required --reason TEXT (unseal,
 * demote): parses the command line, calls `op`, and reports. `json` is
 * what the JSON outcome says besides the database (e.g. "\"unsealed\" :
 * true"); `done` the text line's words after the database's name. Returns the exit
 * code. */
int cli_reason_command(int argc, char **argv, const char *name, void (*usage)(FILE *),
                       bool (*op)(const sfl_mongo_options_t *, const char *, sfl_error_t *),
                       const char *json, const char *done);

#endif

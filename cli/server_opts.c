/* server_opts.c: the options shared by the commands that touch a server. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "server_opts.h"

void cli_server_init(cli_server_t *s)
{
    memset(s, 0, sizeof *s);
    sfl_mongo_options_init(&s->mo);
}

bool cli_parse_role(const char *opt, const char *arg, int *out)
{
    sfl_role_t r;
    if (!sfl_role_parse(arg, &r)) {
        cli_error("%s must be development or live, not '%s'", opt, arg ? arg : "");
        return false;
    }
    *out = (int)r;
    return true;
}

bool cli_parse_shard_key(const char *opt, const char *arg, int *out)
{
    if (arg && strcmp(arg, "hashed") == 0)
        *out = SFL_SHARD_HASHED;
    else if (arg && strcmp(arg, "range") == 0)
        *out = SFL_SHARD_RANGE;
    else {
        cli_error("%s must be hashed or range, not '%s'", opt, arg ? arg : "");
        return false;
    }
    return true;
}

bool cli_expect_role_env(int *out)
{
    const char *e = getenv("SWEFREQ_EXPECT_ROLE");
    if (*out || !e || !*e)
        return true;
    return cli_parse_role("SWEFREQ_EXPECT_ROLE", e, out);
}

int cli_server_option(cli_server_t *s, int ch, const char *arg)
{
    unsigned long long v;
    if (cli_uri_option(&s->uri, ch, (char *)arg))
        return 1;
    switch (ch) {
    case 2001: s->mo.db = arg; return 1;
    case 2002: return cli_parse_role("--expect-role", arg, &s->mo.expect_role) ? 1 : -1;
    case 2003:
        if (!cli_parse_u64("--lock-timeout", arg, &v) || v < 1 || v > 86400) {
            cli_error("--lock-timeout must be from 1 to 86400 seconds");
            return -1;
        }
        s->mo.lock_stale_seconds = (int)v;
        return 1;
    case 2004: s->mo.break_lock = true; return 1;
    case 2006: s->json = true; return 1;
    case 2007: s->quiet = true; return 1;
    case 2008: s->verbose = true; return 1;
    case CLI_OPT_SHARD_KEY: return cli_parse_shard_key("--shard-key", arg, &s->mo.shard_key) ? 1 : -1;
    default: return 0;
    }
}

int cli_server_ready(cli_server_t *s, const char *command)
{
    int rc = cli_uri_resolve(&s->uri, s->quiet, &s->mo.uri);
    if (rc != -1)
        return rc;
    if (!s->mo.uri || !s->mo.db) {
        cli_error("%s needs --uri-file FILE (or SWEFREQ_MONGO_URI_FILE, SWEFREQ_MONGO_URI, --uri "
                  "URI) and --db NAME", command);
        return EXIT_USAGE;
    }
    if (!cli_expect_role_env(&s->mo.expect_role))
        return EXIT_USAGE;
    cli_term_init(&s->term, s->quiet);
    s->term.verbose = s->verbose;
    s->mo.log = cli_log;
    s->mo.log_ud = &s->term;
    return -1;
}

int cli_server_fail(const cli_server_t *s, const sfl_error_t *err)
{
    int rc = cli_exit_code(err);
    if (!s->quiet)
        cli_print_error(err);
    if (s->json) {
        printf("{ \"ok\" : false, \"exit_code\" : %d, \"error\" : ", rc);
        cli_json_string(stdout, cli_flags(err->message));
        printf(" }\n");
    }
    return rc;
}

int cli_server_parse(cli_server_t *s, int argc, char **argv, const struct option *longopts,
                     int (*own)(void *ud, int ch, const char *arg), void *ud,
                     void (*usage)(FILE *f), const char *command)
{
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int r = cli_server_option(s, ch, optarg);
        if (r == 0 && ch != 'h' && own)
            r = own(ud, ch, optarg);
        if (r < 0)
            return EXIT_USAGE;
        if (r > 0)
            continue;
        if (ch == 'h') {
            usage(stdout);
            return EXIT_OK;
        }
        fprintf(stderr, "Try '%s %s --help'.\n", cli_prog, command);
        return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    return cli_server_ready(s, command);
}

static void (*volatile cancel_fn)(void *);
static void *volatile cancel_ud;

static void on_signal(int sig)
{
    (void)sig;
    if (cancel_fn)
        cancel_fn(cancel_ud);
}

void cli_catch_signals_with(void (*cancel)(void *ud), void *ud)
{
    cancel_ud = ud;
    cancel_fn = cancel;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cancel ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int reason_option(void *ud, int ch, const char *arg)
{
    if (ch != 'r')
        return 0;
    *(const char **)ud = arg;
    return 1;
}

int cli_reason_command(int argc, char **argv, const char *name, void (*usage)(FILE *),
                       bool (*op)(const sfl_mongo_options_t *, const char *, sfl_error_t *),
                       const char *json, const char *done)
{
    static const struct option longopts[] = {CLI_SERVER_LONGOPTS,
                                             {"reason", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cli_server_t s;
    cli_server_init(&s);
    const char *reason = NULL;
    int rc = cli_server_parse(&s, argc, argv, longopts, reason_option, &reason, usage, name);
    if (rc >= 0)
        return rc;
    if (!reason || !*reason) {
        cli_error("%s needs --reason TEXT (recorded in the role history)", name);
        return EXIT_USAGE;
    }
    sfl_error_t err;
    sfl_error_clear(&err);
    if (!op(&s.mo, reason, &err))
        return cli_server_fail(&s, &err);
    if (s.json) {
        printf("{ \"database\" : ");
        cli_json_string(stdout, s.mo.db);
        printf(", %s, \"exit_code\" : 0, \"error\" : null }\n", json);
    } else if (!s.quiet) {
        fprintf(stderr, "%s: %s %s\n", name, s.mo.db, done);
    }
    return EXIT_OK;
}

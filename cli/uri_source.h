/* uri_source.h: where a command's MongoDB URI comes from: --uri,
 * --uri-file FILE, or the environment (SWEFREQ_MONGO_URI_FILE,
 * SWEFREQ_MONGO_URI). A password belongs in the environment or in a file
 * only its owner can read, never on the command line, where every user of
 * the host sees it (ps, /proc/PID/cmdline). */
#ifndef SFL_CLI_URI_SOURCE_H
#define SFL_CLI_URI_SOURCE_H

#include "cli.h"

/* The option ids of --uri and --uri-file, shared by every command. */
#define CLI_OPT_URI 2000
#define CLI_OPT_URI_FILE 2009
#define CLI_URI_LONGOPTS                                                                         \
    {"uri", required_argument, NULL, CLI_OPT_URI},                                              \
        {"uri-file", required_argument, NULL, CLI_OPT_URI_FILE}

#define CLI_URI_HELP                                                                             \
    "  --uri-file FILE       read the URI from FILE (one line; mode 0600 or stricter, owned by\n" \
    "                        you or root, else exit 3). Default: $SWEFREQ_MONGO_URI_FILE,\n"     \
    "                        then $SWEFREQ_MONGO_URI. A password given with --uri is visible\n"  \
    "                        to every user of the host (ps): a warning says so\n"

typedef struct {
    char *arg;        /* --uri: points into argv, masked once read */
    const char *file; /* --uri-file */
} cli_uri_t;

/* Records --uri or --uri-file: 1 when ch is one of them, else 0. */
int cli_uri_option(cli_uri_t *u, int ch, char *arg);

/* The URI: from --uri or --uri-file (both given: exit 2), else from
 * SWEFREQ_MONGO_URI_FILE or SWEFREQ_MONGO_URI (both set: exit 2); *out is
 * NULL when none is given. A URI file that cannot be read, is not a regular
 * file, is accessible by group or others, is owned by another user than
 * this one or root, or holds no URI or more than one line: exit 3, the
 * message naming the file and its mode, never its content. A --uri that
 * carries a password gets a warning (unless quiet), and its characters
 * after "://" are overwritten in argv, so that ps shows it masked from
 * then on. Returns -1 when *out is set (or NULL), else the exit code; the
 * URI stays valid until exit. */
int cli_uri_resolve(cli_uri_t *u, bool quiet, const char **out);

#endif

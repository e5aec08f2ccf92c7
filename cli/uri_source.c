/* uri_source.c: --uri, --uri-file and the environment, and the checks of a
 * URI file (modelled on ssh's for private keys: a regular file, no access
 * for group or others, owned by the user or root). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uri_source.h"

#define URI_FILE_MAX 65536

static char *owned; /* the URI read from a file or copied from argv */

static void free_owned(void)
{
    free(owned);
    owned = NULL;
}

static const char *keep(char *s)
{
    static bool registered;
    if (!registered) {
        atexit(free_owned);
        registered = true;
    }
    free(owned);
    owned = s;
    return s;
}

int cli_uri_option(cli_uri_t *u, int ch, char *arg)
{
    if (ch == CLI_OPT_URI)
        u->arg = arg;
    else if (ch == CLI_OPT_URI_FILE)
        u->file = arg;
    else
        return 0;
    return 1;
}

/* The file's content, whitespace around it stripped, into *out (malloc'd);
 * an exit code and a message naming `what` and `path` when it is refused. */
static int read_uri_file(const char *what, const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s %s: cannot open it: %s", what, path, strerror(errno));
        return EXIT_INPUT;
    }
    struct stat st;
    int rc = EXIT_INPUT;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        cli_error("%s %s: cannot stat it: %s", what, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        cli_error("%s %s: not a regular file", what, path);
    else if (st.st_mode & 077)
        cli_error("%s %s: its permissions %04o are too open: it holds the database's "
                  "credentials, so group and others must have no access (chmod 600 %s)",
                  what, path, (unsigned)(st.st_mode & 07777), path);
    else if (st.st_uid != geteuid() && st.st_uid != 0)
        cli_error("%s %s: owned by uid %u, neither this user (uid %u) nor root: whoever owns "
                  "it could point this command at another server",
                  what, path, (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_size > URI_FILE_MAX)
        cli_error("%s %s: %lld bytes, more than a URI (at most %d)", what, path,
                  (long long)st.st_size, URI_FILE_MAX);
    else if (!(buf = malloc(URI_FILE_MAX + 1)))
        rc = EXIT_INTERNAL;
    else
        rc = -1;
    size_t n = 0;
    while (rc == -1 && n < URI_FILE_MAX) {
        ssize_t r = read(fd, buf + n, URI_FILE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_error("%s %s: cannot read it: %s", what, path, strerror(errno));
            rc = EXIT_INPUT;
        }
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc != -1) {
        free(buf);
        return rc;
    }
    while (n > 0 && strchr(" \t\r\n\v\f", buf[n - 1]))
        n--;
    size_t s = 0;
    while (s < n && strchr(" \t\r\n\v\f", buf[s]))
        s++;
    bool bad = false;
    for (size_t i = s; i < n; i++)
        bad |= (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f;
    if (s == n || bad) {
        cli_error("%s %s: %s", what, path,
                  s == n ? "holds no URI" : "holds more than one line or a control character "
                                            "(the file holds one URI)");
        free(buf);
        return EXIT_INPUT;
    }
    memmove(buf, buf + s, n - s);
    buf[n - s] = '\0';
    *out = buf;
    return -1;
}

int cli_uri_resolve(cli_uri_t *u, bool quiet, const char **out)
{
    *out = NULL;
    if (u->arg && u->file) {
        cli_error("give --uri or --uri-file, not both");
        return EXIT_USAGE;
    }
    const char *env_file = getenv("SWEFREQ_MONGO_URI_FILE");
    const char *env_uri = getenv("SWEFREQ_MONGO_URI");
    if (env_file && !*env_file)
        env_file = NULL;
    if (env_uri && !*env_uri)
        env_uri = NULL;
    if (!u->arg && !u->file && env_file && env_uri) {
        cli_error("both SWEFREQ_MONGO_URI_FILE and SWEFREQ_MONGO_URI are set: unset one");
        return EXIT_USAGE;
    }
    char *text = NULL;
    int rc = -1;
    if (u->file)
        rc = read_uri_file("--uri-file", u->file, &text);
    else if (!u->arg && env_file)
        rc = read_uri_file("SWEFREQ_MONGO_URI_FILE", env_file, &text);
    if (rc != -1)
        return rc;
    if (text) {
        *out = keep(text);
        return -1;
    }
    if (!u->arg) {
        *out = env_uri;
        return -1;
    }
    char *copy = strdup(u->arg);
    if (!copy)
        return EXIT_INTERNAL;
    if (sfl_uri_has_secret(copy)) {
        if (!quiet)
            fprintf(stderr,
                    "%s: warning: the password in --uri is visible to every user of this host "
                    "(ps, /proc/PID/cmdline) while the command starts; pass the URI in "
                    "SWEFREQ_MONGO_URI or in a file only you can read (--uri-file FILE, mode "
                    "0600)\n",
                    cli_prog);
        char *p = strstr(u->arg, "://");
        for (p = p ? p + 3 : u->arg; *p; p++)
            *p = '*';
    }
    *out = keep(copy);
    return -1;
}

/* uri.c: what a MongoDB URI holds that must never be printed.
 *
 * The design is simple: one scanner finds the secret spans of a URI (the
 * password, and the values of options that carry credentials, such as
 * authMechanismProperties with an AWS session token, or
 * tlsCertificateKeyFilePassword), and everything else is built on it:
 * the redacted form for messages (the password and every option value but
 * a few harmless ones become ***), the registration of the secrets with
 * secrets.c (raw and percent-decoded), so that whatever the driver echoes
 * is scrubbed too, and the check that refuses a raw '@' in the user or
 * password before the driver sees it (libmongoc splits the credentials at
 * the first '@' and takes the rest of the password for a host name, which
 * it then prints in every "cannot resolve" message).
 *
 * The credentials' end follows libmongoc: the last '@' before the first
 * '/' after the scheme (or in the whole string when there is no '/').
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mongo_util.h"
#include "secrets.h"

typedef enum { SPAN_PASSWORD, SPAN_SECRET_OPTION, SPAN_OTHER_VALUE } span_kind_t;
typedef void (*span_fn)(void *ud, const char *s, size_t n, span_kind_t kind);

/* Option values shown as they are in messages; every other value is ***. */
static const char *const harmless[] = {
    "authSource", "authMechanism", "replicaSet", "tls", "ssl", "tlsInsecure",
    "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames", "tlsCAFile",
    "tlsCertificateKeyFile", "directConnection", "loadBalanced", "serverSelectionTimeoutMS",
    "serverSelectionTryOnce", "connectTimeoutMS", "socketTimeoutMS", "heartbeatFrequencyMS",
    "localThresholdMS", "maxPoolSize", "minPoolSize", "appname", "readPreference",
    "readConcernLevel", "w", "wtimeoutMS", "journal", "retryWrites", "retryReads",
    "compressors", "zlibCompressionLevel", "srvServiceName", "srvMaxHosts"};

/* Options whose values are credentials: registered as secrets. */
static bool secret_option(const char *name, size_t n)
{
    static const char *const words[] = {"password", "properties", "token", "secret"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= n; i++)
            if (strncasecmp(name + i, words[w], wl) == 0)
                return true;
    }
    return false;
}

static bool harmless_option(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof harmless / sizeof *harmless; i++)
        if (strlen(harmless[i]) == n && strncasecmp(harmless[i], name, n) == 0)
            return true;
    return false;
}

/* The start of what follows "scheme://", or NULL. */
static const char *after_scheme(const char *uri)
{
    const char *p = uri ? strstr(uri, "://") : NULL;
    return p ? p + 3 : NULL;
}

/* The '@' that ends the credentials, or NULL. */
static const char *cred_end(const char *start)
{
    const char *slash = strchr(start, '/');
    const char *end = slash ? slash : start + strlen(start);
    const char *at = NULL;
    for (const char *q = start; q < end; q++)
        if (*q == '@')
            at = q;
    return at;
}

static void scan(const char *uri, span_fn fn, void *ud)
{
    const char *start = after_scheme(uri);
    if (!start)
        return;
    const char *at = cred_end(start);
    if (at) {
        const char *colon = memchr(start, ':', (size_t)(at - start));
        if (colon && at > colon + 1)
            fn(ud, colon + 1, (size_t)(at - colon - 1), SPAN_PASSWORD);
    }
    const char *q = strchr(at ? at + 1 : start, '?');
    if (!q)
        return;
    for (const char *o = q + 1; *o;) {
        size_t len = strcspn(o, "&;");
        const char *eq = memchr(o, '=', len);
        if (eq) {
            size_t name_len = (size_t)(eq - o), vlen = len - name_len - 1;
            if (secret_option(o, name_len))
                fn(ud, eq + 1, vlen, SPAN_SECRET_OPTION);
            else if (!harmless_option(o, name_len))
                fn(ud, eq + 1, vlen, SPAN_OTHER_VALUE);
        }
        o += len + (o[len] ? 1 : 0);
    }
}

typedef struct {
    const char *base;
    char *out;
    size_t w, r;
} redact_t;

static void redact_span(void *ud, const char *s, size_t n, span_kind_t kind)
{
    (void)kind;
    redact_t *x = ud;
    size_t from = (size_t)(s - x->base);
    memcpy(x->out + x->w, x->base + x->r, from - x->r);
    x->w += from - x->r;
    memcpy(x->out + x->w, "***", 3);
    x->w += 3;
    x->r = from + n;
}

char *sfl_uri_redact(const char *uri)
{
    if (!uri)
        return strdup("");
    size_t n = strlen(uri);
    /* Each span becomes 3 bytes: at most 3 more per byte of the URI. */
    redact_t x = {uri, malloc(4 * n + 4), 0, 0};
    if (!x.out)
        return NULL;
    scan(uri, redact_span, &x);
    memcpy(x.out + x.w, uri + x.r, n - x.r + 1);
    return x.out;
}

static void any_secret(void *ud, const char *s, size_t n, span_kind_t kind)
{
    (void)s;
    if (n > 0 && kind != SPAN_OTHER_VALUE)
        *(bool *)ud = true;
}

bool sfl_uri_has_secret(const char *uri)
{
    bool found = false;
    scan(uri, any_secret, &found);
    return found;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* s and its percent-decoded form, as secrets. */
static void add_both(const char *s, size_t n)
{
    sfl_secret_add(s, n);
    char *d = malloc(n + 1);
    if (!d)
        return;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            d[w++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            d[w++] = s[i];
        }
    }
    sfl_secret_add(d, w);
    free(d);
}

static void register_span(void *ud, const char *s, size_t n, span_kind_t kind)
{
    (void)ud;
    if (kind == SPAN_OTHER_VALUE)
        return;
    add_both(s, n);
    /* authMechanismProperties=K1:V1,K2:V2: each value on its own too. */
    for (const char *p = s; kind == SPAN_SECRET_OPTION && p < s + n;) {
        const char *e = memchr(p, ',', (size_t)(s + n - p));
        if (!e)
            e = s + n;
        const char *c = memchr(p, ':', (size_t)(e - p));
        if (c)
            add_both(c + 1, (size_t)(e - c - 1));
        p = e + 1;
    }
}

void sfl_uri_register_secrets(const char *uri)
{
    scan(uri, register_span, NULL);
}

bool sfl_uri_check(const char *uri, sfl_error_t *err)
{
    const char *start = after_scheme(uri);
    const char *at = start ? cred_end(start) : NULL;
    if (!at)
        return true;
    for (const char *q = start; q < at; q++)
        if (*q == '@')
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                 "invalid MongoDB URI: its user name or password holds a raw '@' "
                                 "(only the '@' before the host may be raw): percent-encode it as "
                                 "%%40, and ':' '/' '%%' as %%3A %%2F %%25");
    return true;
}

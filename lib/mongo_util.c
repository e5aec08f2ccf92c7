/* mongo_util.c: connecting to MongoDB, classifying its errors, scanning.
 *
 * Error messages say what to do and never carry credentials: the URI is
 * only ever shown redacted, and driver messages are used as they are (they
 * do not include the password).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_util.h"

char *sfl_uri_redact(const char *uri)
{
    if (!uri)
        return strdup("");
    char *out = strdup(uri);
    if (!out)
        return NULL;
    /* scheme://user:password@hosts -> scheme://user:***@hosts */
    char *scheme = strstr(out, "://");
    if (!scheme)
        return out;
    char *start = scheme + 3;
    /* The userinfo ends at the last '@' of the authority, which ends at
     * the first '/', '?' or '#' (an '@' may appear later, in options). */
    size_t auth_len = strcspn(start, "/?#");
    char *at = NULL;
    for (char *q = start; q < start + auth_len; q++)
        if (*q == '@')
            at = q;
    if (!at)
        return out;
    char *colon = memchr(start, ':', (size_t)(at - start));
    if (!colon)
        return out;
    size_t tail = strlen(at);
    char *r = malloc((size_t)(colon - out) + 4 + tail + 1);
    if (!r) {
        free(out);
        return NULL;
    }
    memcpy(r, out, (size_t)(colon - out) + 1);
    memcpy(r + (colon - out) + 1, "***", 3);
    memcpy(r + (colon - out) + 4, at, tail + 1);
    free(out);
    return r;
}

void sfl_redact_quoted(char *msg)
{
    /* In place: "***" is never longer than the span it replaces (an empty
     * span, two quotes, stays as it is). */
    char *w = msg;
    for (const char *r = msg; *r;) {
        const char *close = (*r == '"' || *r == '\'') ? strchr(r + 1, *r) : NULL;
        if (close && close - r >= 2) {
            memcpy(w, "***", 3);
            w += 3;
            r = close + 1;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

bool sfl_mongo_transient(const bson_error_t *be)
{
    if (be->domain == MONGOC_ERROR_STREAM || be->domain == MONGOC_ERROR_SERVER_SELECTION)
        return true;
    /* Server-side transient codes: HostUnreachable, HostNotFound,
     * NetworkTimeout, ShutdownInProgress, PrimarySteppedDown,
     * NotWritablePrimary, InterruptedAtShutdown, ... */
    switch (be->code) {
    case 6: case 7: case 89: case 91: case 189: case 10107: case 11600: case 11602: case 13435:
    case 13436:
        return be->domain == MONGOC_ERROR_SERVER || be->domain == MONGOC_ERROR_WRITE_CONCERN;
    default:
        return false;
    }
}

bool sfl_mongo_error(sfl_error_t *err, const bson_error_t *be, const bson_t *reply,
                     const char *what)
{
    char detail[600] = "";
    bson_iter_t it, e, f;
    if (reply && bson_iter_init_find(&it, reply, "writeErrors") && bson_iter_recurse(&it, &e) &&
        bson_iter_next(&e) && bson_iter_recurse(&e, &f) && bson_iter_find(&f, "errmsg"))
        snprintf(detail, sizeof detail, "%s", bson_iter_utf8(&f, NULL));
    const char *msg = detail[0] ? detail : be->message;
    if (be->code == 11000 || strstr(msg, "E11000") || strstr(msg, "duplicate key"))
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_WRITE,
                             "%s: duplicate key, which means a duplicate variant: %s", what, msg);
    if (be->domain == MONGOC_ERROR_CLIENT && be->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_AUTH,
                             "authentication failed: %s. Check the user, password and "
                             "authSource in the URI",
                             be->message);
    bool server = be->domain == MONGOC_ERROR_SERVER || be->domain == MONGOC_ERROR_WRITE_CONCERN ||
                  be->domain == MONGOC_ERROR_QUERY || be->domain == MONGOC_ERROR_COLLECTION ||
                  be->domain == MONGOC_ERROR_COMMAND;
    if ((server && (be->code == 18 || be->code == 13)) || strstr(be->message, "uthentication failed"))
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_AUTH,
                             "authentication or authorization failed: %s. Check the user, "
                             "password, authSource and the user's roles",
                             be->message);
    if (be->domain == MONGOC_ERROR_SERVER_SELECTION)
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_UNREACHABLE,
                             "the MongoDB server is unreachable (%s): %s. Check that it runs and "
                             "that the URI's hosts and ports are right",
                             what, be->message);
    if (be->domain == MONGOC_ERROR_STREAM)
        return sfl_error_set(err, SFL_DOMAIN_SERVER,
                             strstr(be->message, "timed out") || strstr(be->message, "timeout")
                                 ? SFL_E_SERVER_TIMEOUT
                                 : SFL_E_SERVER_UNREACHABLE,
                             "lost the connection to the MongoDB server (%s): %s", what,
                             be->message);
    if (server && (be->code == 50 || be->code == 262))
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_TIMEOUT,
                             "%s: the server timed out: %s", what, msg);
    if ((server && be->code == 10334) || strstr(msg, "too large"))
        return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_WRITE,
                             "%s: a document is too large for the server: %s", what, msg);
    return sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER, "%s: the server refused: %s", what,
                         msg);
}

bool sfl_mongo_connect(const char *uri_s, int pool_size, mongoc_client_pool_t **pool,
                       mongoc_client_t **client, sfl_error_t *err)
{
    bson_error_t be;
    *pool = NULL;
    *client = NULL;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &be);
    if (!uri) {
        /* The driver quotes the parts it rejects, the password included
         * ('Password "pa:ss" must not have unescaped chars'). */
        sfl_redact_quoted(be.message);
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "invalid MongoDB URI: %s",
                             be.message);
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_APPNAME))
        mongoc_uri_set_appname(uri, "swefreq-load");
    *pool = mongoc_client_pool_new(uri);
    mongoc_uri_destroy(uri);
    if (!*pool)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "cannot use this MongoDB URI (TLS options?)");
    mongoc_client_pool_set_error_api(*pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_max_size(*pool, (uint32_t)(pool_size > 0 ? pool_size : 1) + 1);
    *client = mongoc_client_pool_pop(*pool);
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bool ok = mongoc_client_command_simple(*client, "admin", &cmd, NULL, &reply, &be);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    if (!ok) {
        sfl_mongo_error(err, &be, NULL, "connecting");
        mongoc_client_pool_push(*pool, *client);
        mongoc_client_pool_destroy(*pool);
        *pool = NULL;
        *client = NULL;
        return false;
    }
    return true;
}

static int64_t get_i64(const bson_t *d, const char *key, int64_t dflt)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return dflt;
}

bool sfl_mongo_hello(mongoc_client_t *c, sfl_mongo_server_t *out, sfl_error_t *err)
{
    memset(out, 0, sizeof *out);
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t be;
    BSON_APPEND_INT32(&cmd, "hello", 1);
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &be);
    bson_destroy(&cmd);
    if (!ok) {
        bson_destroy(&reply);
        return sfl_mongo_error(err, &be, NULL, "hello");
    }
    out->max_bson_size = get_i64(&reply, "maxBsonObjectSize", 16 * 1024 * 1024);
    out->max_message_size = get_i64(&reply, "maxMessageSizeBytes", 48000000);
    out->max_write_batch_size = get_i64(&reply, "maxWriteBatchSize", 100000);
    bson_destroy(&reply);
    bson_t bi = BSON_INITIALIZER;
    BSON_APPEND_INT32(&bi, "buildInfo", 1);
    if (mongoc_client_command_simple(c, "admin", &bi, NULL, &reply, &be)) {
        bson_iter_t it;
        out->ferretdb = bson_iter_init_find(&it, &reply, "ferretdbVersion");
        if (bson_iter_init_find(&it, &reply, "version") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(out->version, sizeof out->version, "%s", bson_iter_utf8(&it, NULL));
    }
    bson_destroy(&reply);
    bson_destroy(&bi);
    return true;
}

mongoc_write_concern_t *sfl_mongo_write_concern(const char *spec, sfl_error_t *err)
{
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    if (!spec || !*spec || !strcmp(spec, "1")) {
        mongoc_write_concern_set_w(wc, 1);
    } else if (!strcmp(spec, "majority")) {
        mongoc_write_concern_set_w(wc, MONGOC_WRITE_CONCERN_W_MAJORITY);
    } else {
        char *end;
        long w = strtol(spec, &end, 10);
        if (*end || w < 1 || w > 50) {
            mongoc_write_concern_destroy(wc);
            sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                          "--write-concern must be majority or a number from 1 to 50, not '%s' "
                          "(w:0 is never used: every write is acknowledged)",
                          spec);
            return NULL;
        }
        mongoc_write_concern_set_w(wc, (int32_t)w);
    }
    return wc;
}

bool sfl_mongo_scan_digest(mongoc_client_t *c, const char *db, const char *coll,
                           sfl_digest_kind_t kind, sfl_digest_t *d, sfl_error_t *err)
{
    sfl_digest_init_kind(d, kind);
    mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    BSON_APPEND_INT32(&opts, "batchSize", 1000);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &filter, &opts, NULL);
    const bson_t *doc;
    bool ok = true;
    while (ok && mongoc_cursor_next(cur, &doc))
        ok = sfl_digest_add_canonical(d, bson_get_data(doc), doc->len, err);
    bson_error_t be;
    if (ok && mongoc_cursor_error(cur, &be))
        ok = sfl_mongo_error(err, &be, NULL, coll);
    mongoc_cursor_destroy(cur);
    bson_destroy(&filter);
    bson_destroy(&opts);
    mongoc_collection_destroy(col);
    return ok;
}

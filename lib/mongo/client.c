/* mongo/client.c: connecting to MongoDB, classifying its errors, scanning.
 *
 * Error messages say what to do and never carry credentials: the URI is
 * only ever shown redacted (uri.c), a URI the driver cannot parse is
 * reported with every quoted or bracketed part of its message blanked, and
 * the URI's secrets are registered (secrets.c) before the driver sees it,
 * so that anything it echoes later is scrubbed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "indexes.h"
#include "init.h"
#include "mongo/client.h"

/* Quoted words of the driver's own vocabulary, never a user's secret: kept,
 * so that "expecting 'mongodb://' or 'mongodb+srv://'" still says what it
 * expects. */
static bool driver_word(const char *open, const char *close)
{
    static const char *const words[] = {"mongodb://", "mongodb+srv://"};
    size_t n = (size_t)(close - open - 1);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && !memcmp(open + 1, words[i], n))
            return true;
    return false;
}

void sfl_redact_quoted(char *msg)
{
    /* In place: "***" is never longer than the span it replaces (an empty
     * span, two quotes, stays as it is). */
    char *w = msg;
    for (const char *r = msg; *r;) {
        char closer = *r == '[' ? ']' : *r;
        const char *close = (*r == '"' || *r == '\'' || *r == '[') ? strchr(r + 1, closer) : NULL;
        if (close && driver_word(r, close)) {
            size_t n = (size_t)(close - r) + 1;
            memmove(w, r, n);
            w += n;
            r = close + 1;
        } else if (close && close - r >= 2) {
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

/* The _id of a duplicate key, as relaxed extended JSON (bson_free it):
 * the reply's writeErrors[0].keyValue._id, else that of the batch's
 * document at writeErrors[0].index; NULL when neither is there. */
static char *dup_id(const bson_t *reply, const uint8_t *buf, const uint32_t *off, size_t n,
                    size_t len)
{
    bson_iter_t it, e, f, k;
    if (!reply || !bson_iter_init_find(&it, reply, "writeErrors") ||
        !bson_iter_recurse(&it, &e) || !bson_iter_next(&e) || !BSON_ITER_HOLDS_DOCUMENT(&e))
        return NULL;
    bson_t doc, one = BSON_INITIALIZER;
    bool have = false;
    if (bson_iter_recurse(&e, &f) && bson_iter_find(&f, "keyValue") &&
        bson_iter_recurse(&f, &k) && bson_iter_find(&k, "_id"))
        have = bson_append_iter(&one, "_id", 3, &k);
    if (!have && buf && bson_iter_recurse(&e, &f) && bson_iter_find(&f, "index") &&
        BSON_ITER_HOLDS_INT(&f)) {
        int64_t i = bson_iter_as_int64(&f);
        if (i >= 0 && (size_t)i < n) {
            size_t end = (size_t)i + 1 < n ? off[i + 1] : len;
            if (bson_init_static(&doc, buf + off[i], end - off[i]) &&
                bson_iter_init_find(&k, &doc, "_id"))
                have = bson_append_iter(&one, "_id", 3, &k);
        }
    }
    char *json = have ? bson_as_relaxed_extended_json(&one, NULL) : NULL;
    bson_destroy(&one);
    return json;
}

bool sfl_mongo_insert_error(sfl_error_t *err, const bson_error_t *be, const bson_t *reply,
                            const char *staging, const uint8_t *buf, const uint32_t *off,
                            size_t n, size_t len)
{
    sfl_mongo_error(err, be, reply, staging);
    if (!err || !strstr(err->message, "duplicate key"))
        return false;
    const char *coll = staging;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        const char *name = sfl_collection_name((sfl_collection_t)c);
        size_t sl = strlen(staging), nl = strlen(name);
        if (sl > nl && staging[sl - nl - 1] == '_' && !strcmp(staging + sl - nl, name))
            coll = name;
    }
    char *id = dup_id(reply, buf, off, n, len);
    sfl_error_set(err, SFL_DOMAIN_SERVER, SFL_E_SERVER_WRITE,
                  "collection %s: duplicate key: two documents of the data have the _id %s "
                  "(the server refused the second one in the staging collection %s)",
                  coll, id ? id : "(the server did not say which)", staging);
    bson_free(id);
    return false;
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
                             "%s: duplicate key: two documents have one _id: %s", what, msg);
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

#define RANGE(v, lo, hi, what)                                                                     \
    do {                                                                                           \
        if ((v) < (lo) || (v) > (hi))                                                              \
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,                               \
                                 what " must be %lld to %lld, not %lld", (long long)(lo),          \
                                 (long long)(hi), (long long)(v));                                 \
    } while (0)

/* Whether db.coll has an index of that name already. */
static bool has_index(mongoc_collection_t *coll, const char *name)
{
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    const bson_t *doc;
    bson_iter_t it;
    bool found = false;
    while (!found && mongoc_cursor_next(cur, &doc))
        found = bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
                !strcmp(bson_iter_utf8(&it, NULL), name);
    mongoc_cursor_destroy(cur);
    return found;
}

bool sfl_mongo_create_indexes(mongoc_client_t *c, const char *db, const char *coll_name,
                              int collection, bool keep_existing,
                              const mongoc_write_concern_t *wc, sfl_error_t *err)
{
    bson_t cmd = BSON_INITIALIZER, all = BSON_INITIALIZER, arr, reply;
    uint32_t i = 0, n = 0;
    sfl_append_index_specs(&all, (sfl_collection_t)collection, false, false, &i);
    mongoc_collection_t *coll =
        keep_existing ? mongoc_client_get_collection(c, db, coll_name) : NULL;
    BSON_APPEND_UTF8(&cmd, "createIndexes", coll_name);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    bson_iter_t it, f;
    if (bson_iter_init(&it, &all))
        while (bson_iter_next(&it)) {
            if (coll && bson_iter_recurse(&it, &f) && bson_iter_find(&f, "name") &&
                BSON_ITER_HOLDS_UTF8(&f) && has_index(coll, bson_iter_utf8(&f, NULL)))
                continue;
            char key[16];
            snprintf(key, sizeof key, "%u", n++);
            bson_append_iter(&arr, key, -1, &it);
        }
    bson_append_array_end(&cmd, &arr);
    bson_destroy(&all);
    if (coll)
        mongoc_collection_destroy(coll);
    bool ok = true;
    if (n) {
        if (wc)
            mongoc_write_concern_append((mongoc_write_concern_t *)wc, &cmd);
        bson_error_t be;
        ok = mongoc_client_write_command_with_opts(c, db, &cmd, NULL, &reply, &be) ||
             sfl_mongo_error(err, &be, &reply, coll_name);
        bson_destroy(&reply);
    }
    bson_destroy(&cmd);
    return ok;
}

void sfl_mongo_options_init(sfl_mongo_options_t *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->insert_threads = 2;
    o->write_concern = "1";
    o->batch_bytes = 4u << 20;
    o->batch_docs = 2000;
    o->queue_batches = 2;
    o->max_retries = 3;
    o->lock_stale_seconds = SFL_LOCK_STALE_SECONDS;
    o->record_ms = 10000;
    o->scan_threads = 2;
    o->scan_mode = SFL_SCAN_AUTO;
}

bool sfl_mongo_options_full(const sfl_mongo_options_t *o, sfl_mongo_options_t *full)
{
    if (!o || o->struct_size < SFL_MONGO_OPTIONS_V1 || o->struct_size > sizeof *full)
        return false;
    sfl_mongo_options_init(full);
    memcpy(full, o, o->struct_size);
    full->struct_size = sizeof *full;
    return true;
}

bool sfl_mongo_options_check(const sfl_mongo_options_t *o, sfl_error_t *err)
{
    RANGE(o->insert_threads, 1, 64, "the inserter threads (sfl_mongo_options_t.insert_threads)");
    RANGE(o->queue_batches, 1, 8, "the batches waiting per inserter thread");
    RANGE(o->batch_docs, 1, 1000000, "the documents per insert batch (sfl_mongo_options_t.batch_docs)");
    RANGE(o->batch_bytes, 1024, 1u << 30, "the bytes per insert batch");
    RANGE(o->max_retries, 0, 20, "the retries of a transient network error");
    RANGE(o->lock_stale_seconds, 1, 7 * 86400, "the stale-lock timeout in seconds (sfl_mongo_options_t.lock_stale_seconds)");
    RANGE(o->record_ms, 1, 86400000, "the interval of the recorded position in ms (sfl_mongo_options_t.record_ms)");
    RANGE(o->scan_threads, 1, 64, "the scan threads of a finish (sfl_mongo_options_t.scan_threads)");
    RANGE(o->scan_mode, SFL_SCAN_AUTO, SFL_SCAN_SINGLE, "the scan mode of a finish (sfl_mongo_options_t.scan_mode)");
    RANGE(o->shard_key, SFL_SHARD_NONE, SFL_SHARD_RANGE, "the shard key (sfl_mongo_options_t.shard_key)");
    return true;
}

bool sfl_mongo_connect(const char *uri_s, int pool_size, mongoc_client_pool_t **pool,
                       mongoc_client_t **client, sfl_error_t *err)
{
    bson_error_t be;
    *pool = NULL;
    *client = NULL;
    sfl_uri_register_secrets(uri_s);
    if (!sfl_mongoc_ready(err) || !sfl_uri_check(uri_s, err))
        return false;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &be);
    if (!uri) {
        /* The driver quotes the parts it rejects, the password included
         * ('Password "pa:ss" must not have unescaped chars'), and brackets
         * an option it rejects ("[readPreference=...]"). */
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
                          "the write concern (sfl_mongo_options_t.write_concern) must be "
                          "majority or a number from 1 to 50, not '%s' "
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
    return sfl_mongo_scan_digest_each(c, db, coll, kind, d, NULL, NULL, err);
}

bool sfl_mongo_scan_digest_each(mongoc_client_t *c, const char *db, const char *coll,
                                sfl_digest_kind_t kind, sfl_digest_t *d,
                                bool (*each)(void *ud, const bson_t *doc, sfl_error_t *err),
                                void *ud, sfl_error_t *err)
{
    bson_t filter = BSON_INITIALIZER;
    bool ok = sfl_mongo_scan_digest_filter(c, db, coll, &filter, kind, d, each, ud, err);
    bson_destroy(&filter);
    return ok;
}

bool sfl_mongo_scan_digest_filter(mongoc_client_t *c, const char *db, const char *coll,
                                  const bson_t *filter, sfl_digest_kind_t kind, sfl_digest_t *d,
                                  bool (*each)(void *ud, const bson_t *doc, sfl_error_t *err),
                                  void *ud, sfl_error_t *err)
{
    sfl_digest_init_kind(d, kind);
    mongoc_collection_t *col = mongoc_client_get_collection(c, db, coll);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_INT32(&opts, "batchSize", 1000);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, filter, &opts, NULL);
    const bson_t *doc;
    bool ok = true;
    uint64_t bytes = 0, docs = 0;
    while (ok && mongoc_cursor_next(cur, &doc)) {
        ok = sfl_digest_add_canonical(d, bson_get_data(doc), doc->len, err) &&
             (!each || each(ud, doc, err));
        bytes += doc->len;
        if (ok && ++docs == 1000) { /* progress and cancellation (control.h) */
            ok = sfl_ctl_tick(bytes, docs, coll, "while verifying", err);
            bytes = docs = 0;
        }
    }
    if (ok)
        ok = sfl_ctl_tick(bytes, docs, coll, "while verifying", err);
    bson_error_t be;
    if (ok && mongoc_cursor_error(cur, &be))
        ok = sfl_mongo_error(err, &be, NULL, coll);
    mongoc_cursor_destroy(cur);
    bson_destroy(&opts);
    mongoc_collection_destroy(col);
    return ok;
}

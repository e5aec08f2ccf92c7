/* mongo_util.h: what the MongoDB sink and the database verifier share:
 * connecting, the server's abilities, error classification, scanning a
 * collection into a digest. Private to the library. */
#ifndef SFL_MONGO_UTIL_H
#define SFL_MONGO_UTIL_H

#include <mongoc/mongoc.h>
#include <stddef.h>

#include "swefreq/swefreq.h"

#define SFL_STAGING_PREFIX "swefreq_staging_"
#define SFL_META_COLLECTION "swefreq_meta"

typedef struct {
    int64_t max_bson_size, max_message_size, max_write_batch_size;
    bool ferretdb;
    char version[64];
} sfl_mongo_server_t;

/* Checks the numeric options of a sfl_mongo_options_t already resolved
 * (defaults past the caller's struct_size): a value out of its range is
 * refused with SFL_E_USAGE naming it, never clamped. */
bool sfl_mongo_options_check(const sfl_mongo_options_t *o, sfl_error_t *err);

/* Builds the browser's indexes of `collection` (sfl_collection_t) on
 * db.coll_name in one createIndexes, with write concern wc (NULL: the
 * server's). keep_existing leaves out the indexes already there (a resumed
 * load, a finish run again; FerretDB fails on a createIndexes of an index
 * that exists). False with err naming coll_name when the server refuses. */
bool sfl_mongo_create_indexes(mongoc_client_t *c, const char *db, const char *coll_name,
                              int collection, bool keep_existing,
                              const mongoc_write_concern_t *wc, sfl_error_t *err);

/* The options of 0.1.0 end before `resume`: a caller built against those
 * headers passes that struct_size (docs/api.md, "Compatibility"). */
#define SFL_MONGO_OPTIONS_V1 offsetof(sfl_mongo_options_t, resume)

/* Copies a caller's options of any size from SFL_MONGO_OPTIONS_V1 up into
 * *full, the fields it does not know at their defaults
 * (sfl_mongo_options_init), struct_size set to this library's. False, with
 * *full untouched, when o is NULL or its struct_size is out of that range.
 * Every entry point that takes sfl_mongo_options_t reads the copy only:
 * reading a field past the caller's struct_size would read past its
 * struct. */
bool sfl_mongo_options_full(const sfl_mongo_options_t *o, sfl_mongo_options_t *full);

/* A pool for `uri` and one client popped from it, after a hello that
 * proves the server answers and the credentials work. */
bool sfl_mongo_connect(const char *uri, int pool_size, mongoc_client_pool_t **pool,
                       mongoc_client_t **client, sfl_error_t *err);
bool sfl_mongo_hello(mongoc_client_t *c, sfl_mongo_server_t *out, sfl_error_t *err);
mongoc_write_concern_t *sfl_mongo_write_concern(const char *spec, sfl_error_t *err);

/* An insert into the staging collection `staging` of a batch (`n`
 * documents back to back in `buf`, the i-th at `off[i]`) failed: like
 * sfl_mongo_error, but a duplicate key names the browser's collection and
 * the _id (the server's keyValue, else the batch's document at the
 * reply's writeErrors[0].index). Returns false. */
bool sfl_mongo_insert_error(sfl_error_t *err, const bson_error_t *be, const bson_t *reply,
                            const char *staging, const uint8_t *buf, const uint32_t *off,
                            size_t n, size_t len);

/* Fills err from a driver error (and reply, if any) with a message that
 * says what to do; `what` names the collection or step. Returns false. */
bool sfl_mongo_error(sfl_error_t *err, const bson_error_t *be, const bson_t *reply,
                     const char *what);
/* Replaces every '...', "..." or [...] span of msg (in place) by ***: for
 * the driver's URI parse errors, which quote what they reject, credentials
 * included. */
void sfl_redact_quoted(char *msg);

/* uri.c. Registers the URI's password and credential option values (raw
 * and percent-decoded) with secrets.c, so that no message of the library
 * carries them from now on. */
void sfl_uri_register_secrets(const char *uri);
/* false (SFL_E_USAGE, a message without the URI) when the URI's user or
 * password holds a raw '@', which libmongoc would take for part of a host
 * name and print. */
bool sfl_uri_check(const char *uri, sfl_error_t *err);

/* A network error worth retrying. */
bool sfl_mongo_transient(const bson_error_t *be);


/* Digest (of `kind`: the kind of the manifest entry it is checked
 * against) of every document of db.coll, re-canonicalised. */
bool sfl_mongo_scan_digest(mongoc_client_t *c, const char *db, const char *coll,
                           sfl_digest_kind_t kind, sfl_digest_t *d, sfl_error_t *err);
/* The same, handing each document (as the server returned it) to `each`
 * too; a false from it stops the scan with its err. */
bool sfl_mongo_scan_digest_each(mongoc_client_t *c, const char *db, const char *coll,
                                sfl_digest_kind_t kind, sfl_digest_t *d,
                                bool (*each)(void *ud, const bson_t *doc, sfl_error_t *err),
                                void *ud, sfl_error_t *err);
/* The same over the documents `filter` matches (a find's filter, borrowed);
 * d->count is how many. Progress and cancellation (control.h) only on the
 * thread that opened the control. Thread safe with one client per thread. */
bool sfl_mongo_scan_digest_filter(mongoc_client_t *c, const char *db, const char *coll,
                                  const bson_t *filter, sfl_digest_kind_t kind, sfl_digest_t *d,
                                  bool (*each)(void *ud, const bson_t *doc, sfl_error_t *err),
                                  void *ud, sfl_error_t *err);

#endif

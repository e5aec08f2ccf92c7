//go:build ignore

// (The constraint above keeps `go build` in this folder from rejecting this C file.)

/*
 * mongo_ping: check that a MongoDB-compatible server answers {hello: 1}.
 *
 * Usage: mongo_ping MONGODB_URI
 *
 * Runs {hello: 1} on the "admin" database. serverSelectionTimeoutMS,
 * connectTimeoutMS and socketTimeoutMS default to 2000 ms unless the URI
 * sets them. Exits 0 if the command succeeded with ok: 1, 1 otherwise
 * (the error goes to stderr), 2 on usage errors.
 */
/* libmongoc's headers use struct addrinfo (POSIX); strict -std=c11 hides it. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <mongoc/mongoc.h>

#include <stdio.h>
#include <stdlib.h>

#define PING_TIMEOUT_MS 2000

/* Set a timeout option to PING_TIMEOUT_MS unless the URI already has it. */
static bool set_default_timeout(mongoc_uri_t *uri, const char *option)
{
    if (bson_has_field(mongoc_uri_get_options(uri), option)) {
        return true;
    }
    if (!mongoc_uri_set_option_as_int32(uri, option, PING_TIMEOUT_MS)) {
        fprintf(stderr, "mongo_ping: cannot set URI option %s\n", option);
        return false;
    }
    return true;
}

/*
 * Drop libmongoc's warnings: FerretDB 1.x does not implement endSessions, so
 * every client destroy would print "Couldn't send endSessions". Errors are
 * reported by main() itself.
 */
static void quiet_log_handler(mongoc_log_level_t level, const char *domain, const char *message,
                              void *user_data)
{
    if (level <= MONGOC_LOG_LEVEL_ERROR) {
        mongoc_log_default_handler(level, domain, message, user_data);
    }
}

int main(int argc, char **argv)
{
    bson_error_t error;
    mongoc_uri_t *uri = NULL;
    mongoc_client_t *client = NULL;
    bson_t *cmd = NULL;
    bson_t reply = BSON_INITIALIZER;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s MONGODB_URI\n", argc > 0 ? argv[0] : "mongo_ping");
        return 2;
    }

    mongoc_log_set_handler(quiet_log_handler, NULL);
    mongoc_init();

    uri = mongoc_uri_new_with_error(argv[1], &error);
    if (uri == NULL) {
        fprintf(stderr, "mongo_ping: invalid URI '%s': %s\n", argv[1], error.message);
        goto out;
    }

    /* Only apply our defaults where the caller did not choose a timeout. */
    if (!set_default_timeout(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) ||
        !set_default_timeout(uri, MONGOC_URI_CONNECTTIMEOUTMS) ||
        !set_default_timeout(uri, MONGOC_URI_SOCKETTIMEOUTMS)) {
        goto out;
    }

    client = mongoc_client_new_from_uri_with_error(uri, &error);
    if (client == NULL) {
        fprintf(stderr, "mongo_ping: cannot create client: %s\n", error.message);
        goto out;
    }
    (void) mongoc_client_set_appname(client, "swefreq-mongo-ping");
    if (!mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2)) {
        fprintf(stderr, "mongo_ping: cannot set error API version\n");
        goto out;
    }

    cmd = BCON_NEW("hello", BCON_INT32(1));
    if (!mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &error)) {
        fprintf(stderr, "mongo_ping: hello failed: %s (domain %u, code %u)\n", error.message,
                (unsigned) error.domain, (unsigned) error.code);
        goto out;
    }

    rc = 0;

out:
    bson_destroy(&reply);
    if (cmd != NULL) {
        bson_destroy(cmd);
    }
    if (client != NULL) {
        mongoc_client_destroy(client);
    }
    if (uri != NULL) {
        mongoc_uri_destroy(uri);
    }
    mongoc_cleanup();
    return rc;
}

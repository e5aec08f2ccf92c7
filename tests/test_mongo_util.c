/* Unit tests (no server): URI redaction and the classification of driver
 * errors into the documented exit classes. */
#include <mongoc/mongoc.h>

#include "mongo_util.h"
#include "testutil.h"

static void redacts(const char *uri, const char *want)
{
    char *r = sfl_uri_redact(uri);
    CHECK_STR(r, want);
    free(r);
}

static uint32_t classify(uint32_t domain, uint32_t code, const char *msg)
{
    bson_error_t be;
    memset(&be, 0, sizeof be);
    be.domain = domain;
    be.code = code;
    snprintf(be.message, sizeof be.message, "%s", msg);
    sfl_error_t err;
    CHECK(!sfl_mongo_error(&err, &be, NULL, "t"));
    return err.code;
}

int main(void)
{
    redacts("mongodb://host/", "mongodb://host/");
    redacts("mongodb://u:secret@host/db", "mongodb://u:***@host/db");
    redacts("mongodb://u:secret@h1,h2/?replicaSet=rs&appname=a@b",
            "mongodb://u:***@h1,h2/?replicaSet=rs&appname=a@b");
    redacts("mongodb://u:p@ss@host/", "mongodb://u:***@host/");
    redacts("mongodb://host/?tlsCertificateKeyFile=/x@y/k.pem",
            "mongodb://host/?tlsCertificateKeyFile=/x@y/k.pem");
    redacts("mongodb://user@host/", "mongodb://user@host/");

    char msg[] = "Password \"pa:S3cretPW\" must not have 'x=secret' or \"\" or 'a'";
    sfl_redact_quoted(msg);
    CHECK_STR(msg, "Password *** must not have *** or \"\" or ***");
    /* The driver's own words stay readable (libmongoc's text for a bad
     * scheme); anything else quoted is still hidden. */
    char scheme[] = "Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://', not "
                    "'mongodb://u:pw@h'";
    sfl_redact_quoted(scheme);
    CHECK_STR(scheme, "Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://', not ***");

    CHECK_INT(classify(MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE, "bad"),
              SFL_E_SERVER_AUTH);
    CHECK_INT(classify(MONGOC_ERROR_SERVER, 18, "Authentication failed."), SFL_E_SERVER_AUTH);
    CHECK_INT(classify(MONGOC_ERROR_BSON, 18, "invalid document"), SFL_E_SERVER);
    CHECK_INT(classify(MONGOC_ERROR_SERVER_SELECTION, 13053, "No suitable servers"),
              SFL_E_SERVER_UNREACHABLE);
    CHECK_INT(classify(MONGOC_ERROR_STREAM, 2, "socket timed out"), SFL_E_SERVER_TIMEOUT);
    CHECK_INT(classify(MONGOC_ERROR_SERVER, 11000, "E11000 duplicate key"), SFL_E_SERVER_WRITE);
    CHECK_INT(classify(MONGOC_ERROR_SERVER, 50, "operation exceeded time limit"),
              SFL_E_SERVER_TIMEOUT);
    bson_error_t be;
    memset(&be, 0, sizeof be);
    be.domain = MONGOC_ERROR_STREAM;
    CHECK(sfl_mongo_transient(&be));
    be.domain = MONGOC_ERROR_SERVER;
    be.code = 11000;
    CHECK(!sfl_mongo_transient(&be));
    be.code = 91; /* ShutdownInProgress */
    CHECK(sfl_mongo_transient(&be));
    return t_done("test_mongo_util");
}

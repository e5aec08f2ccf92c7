/* Unit tests (no server): URI redaction and the classification of driver
 * errors into the documented exit classes. */
#include <mongoc/mongoc.h>

#include "log.h"
#include "mongo_util.h"
#include "secrets.h"
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

static void capture(void *ud, sfl_log_level_t level, const char *msg)
{
    (void)level;
    snprintf(ud, 200, "%s", msg);
}

int main(void)
{
    redacts("mongodb://host/", "mongodb://host/");
    redacts("mongodb://u:secret@host/db", "mongodb://u:***@host/db");
    redacts("mongodb://u:secret@h1,h2/?replicaSet=rs&appname=a@b",
            "mongodb://u:***@h1,h2/?replicaSet=rs&appname=a@b");
    redacts("mongodb://u:p@ss@host/", "mongodb://u:***@host/");
    /* A raw '?' in the password: libmongoc takes it as part of the password
     * (the credentials end at the last '@' before the first '/'). */
    redacts("mongodb://u:p?SECRET@host/?authSource=admin", "mongodb://u:***@host/?authSource=admin");
    /* Option values: names shown, values only for harmless options. */
    redacts("mongodb://u:pw@host/?authMechanism=MONGODB-AWS&authMechanismProperties="
            "AWS_SESSION_TOKEN:TOK3N&tlsCertificateKeyFilePassword=K3YPW&unknownOpt=x;w=1",
            "mongodb://u:***@host/?authMechanism=MONGODB-AWS&authMechanismProperties=***"
            "&tlsCertificateKeyFilePassword=***&unknownOpt=***;w=1");
    redacts("mongodb://host/?authmechanismproperties=A:B", "mongodb://host/?authmechanismproperties=***");
    redacts("not a uri", "not a uri");
    redacts("mongodb://host/?tlsCertificateKeyFile=/x@y/k.pem",
            "mongodb://host/?tlsCertificateKeyFile=/x@y/k.pem");
    redacts("mongodb://user@host/", "mongodb://user@host/");

    char msg[] = "Password \"pa:S3cretPW\" must not have 'x=secret' or \"\" or 'a' [w=TOK]";
    sfl_redact_quoted(msg);
    CHECK_STR(msg, "Password *** must not have *** or \"\" or *** ***");
    /* The driver's own words stay readable (libmongoc's text for a bad
     * scheme); anything else quoted is still hidden. */
    char scheme[] = "Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://', not "
                    "'mongodb://u:pw@h'";
    sfl_redact_quoted(scheme);
    CHECK_STR(scheme, "Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://', not ***");

    CHECK(sfl_uri_has_secret("mongodb://u:pw@host/"));
    CHECK(sfl_uri_has_secret("mongodb://host/?authMechanismProperties=AWS_SESSION_TOKEN:x"));
    CHECK(sfl_uri_has_secret("mongodb+srv://host/?tlsCertificateKeyFilePassword=x"));
    CHECK(!sfl_uri_has_secret("mongodb://u@host/?replicaSet=rs&appname=x"));
    CHECK(!sfl_uri_has_secret("mongodb://host/?w=1"));
    CHECK(!sfl_uri_has_secret(NULL));

    /* A raw '@' in the credentials is refused without echoing them. */
    sfl_error_t e;
    CHECK(!sfl_uri_check("mongodb://u:p@SS@host/", &e));
    CHECK_INT(e.code, SFL_E_USAGE);
    CHECK(strstr(e.message, "%40") && !strstr(e.message, "SS@"));
    CHECK(!sfl_uri_check("mongodb://u@X:p@host/", &e));
    CHECK(sfl_uri_check("mongodb://u:p%40ss@host/?appname=a@b", &e));
    CHECK(sfl_uri_check("mongodb://host?appname=a@b", &e));

    /* Registered secrets leave no message, raw, decoded, in another case,
     * or one authMechanismProperties value on its own. */
    sfl_uri_register_secrets("mongodb://u:Pa%40Word9@host/?authMechanismProperties="
                             "SERVICE_NAME:svc,AWS_SESSION_TOKEN:Tok%2Fen42");
    sfl_error_set(&e, SFL_DOMAIN_SERVER, SFL_E_SERVER,
                  "echo Pa%%40Word9 pa@word9 Tok/en42 tok%%2Fen42 SERVICE_NAME:svc,AWS_SESSION_TOKEN:"
                  "Tok%%2Fen42 and svc stays");
    CHECK_STR(e.message, "echo *** *** *** *** *** and svc stays");
    char logged[200] = "";
    sfl_logf(capture, logged, SFL_LOG_INFO, "connect to x@Pa@Word9");
    CHECK_STR(logged, "connect to x@***");
    sfl_secrets_clear();
    sfl_error_set(&e, SFL_DOMAIN_SERVER, SFL_E_SERVER, "Pa@Word9");
    CHECK_STR(e.message, "Pa@Word9");
    /* A password shorter than SFL_SECRET_MIN is not searched for. */
    sfl_uri_register_secrets("mongodb://u:abc@host/");
    sfl_error_set(&e, SFL_DOMAIN_SERVER, SFL_E_SERVER, "abc");
    CHECK_STR(e.message, "abc");
    sfl_secrets_clear();

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

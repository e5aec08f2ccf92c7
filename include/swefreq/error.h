/* swefreq/error.h: the error struct every fallible call fills in.
 *
 * The shape is libbson's: functions return bool (or NULL, or a negative
 * int) and take an optional `sfl_error_t *` last. On failure the struct
 * holds a domain, a code from the enum below and a message that names what
 * a person needs to act on: the file, the line, the field, the value seen
 * and what was expected. Codes have explicit numbers that never change.
 */
#ifndef SWEFREQ_ERROR_H
#define SWEFREQ_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#include "swefreq/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where an error came from. */
typedef enum {
    SFL_DOMAIN_NONE = 0,
    SFL_DOMAIN_USAGE = 1,  /* the caller's options or arguments          */
    SFL_DOMAIN_INPUT = 2,  /* a source file: missing, corrupt or invalid  */
    SFL_DOMAIN_OUTPUT = 3, /* writing a dump, manifest or rejects file    */
    SFL_DOMAIN_SERVER = 4, /* the MongoDB server or the connection to it  */
    SFL_DOMAIN_VERIFY = 5, /* a verification found a difference           */
    SFL_DOMAIN_SYSTEM = 6, /* memory, threads                             */
    SFL_DOMAIN_STATE = 7,  /* the database's state refused the command:
                              a held load lock, a seal, another role, a
                              server that cannot take a sharded load     */
    SFL_DOMAIN_CANCEL = 8, /* the caller asked to stop (sfl_job_cancel)   */
    SFL_DOMAIN_SIGNATURE = 9 /* a manifest's signature was refused
                                (swefreq/sign.h)                        */
} sfl_error_domain_t;

/* What went wrong. The numbers are part of the ABI. */
typedef enum {
    SFL_OK = 0,
    SFL_E_USAGE = 1,           /* bad option or argument                   */
    SFL_E_NOMEM = 2,           /* out of memory                            */
    SFL_E_THREAD = 3,          /* could not start a thread                 */
    SFL_E_OPEN = 10,           /* a source file is missing or unreadable   */
    SFL_E_COMPRESSION = 11,    /* .gz that is not BGZF, truncated BGZF     */
    SFL_E_HEADER = 12,         /* missing or invalid header                */
    SFL_E_LINE = 13,           /* a malformed data line                    */
    SFL_E_UNSORTED = 14,       /* positions out of order                   */
    SFL_E_DUPLICATE = 15,      /* two lines give the same _id              */
    SFL_E_TOO_MANY_ERRORS = 16,/* more bad lines than --max-errors allows  */
    SFL_E_EMPTY = 17,          /* a source has no records                  */
    SFL_E_TOO_LARGE = 18,      /* a document, header or line over a bound  */
    SFL_E_REGION = 19,         /* a bad, overlapping or unknown region, or
                                  a region of a file without an index     */
    SFL_E_WRITE = 20,          /* could not write an output file           */
    SFL_E_MANIFEST = 21,       /* a manifest is missing or invalid         */
    SFL_E_SERVER_UNREACHABLE = 30,
    SFL_E_SERVER_AUTH = 31,
    SFL_E_SERVER_TIMEOUT = 32,
    SFL_E_SERVER_WRITE = 33,   /* a write was refused                      */
    SFL_E_SERVER_CAPABILITY = 34, /* the server cannot store this shape    */
    SFL_E_SERVER = 35,         /* any other server error                   */
    SFL_E_MISMATCH = 40,       /* verify found a difference                */
    SFL_E_CANCELLED = 50,      /* the caller asked to stop                 */
    SFL_E_LOCKED = 60,         /* another load holds the database's lock   */
    SFL_E_SEALED = 61,         /* the database is sealed                   */
    SFL_E_ROLE = 62,           /* the database's role is not the expected  */
    SFL_E_SWAP_PENDING = 63,   /* an unfinished swap must be rolled forward */
    SFL_E_SHARDING = 64,       /* a sharded load (sfl_mongo_options_t.
                                  shard_key) refused by the server: not a
                                  mongos, older than MongoDB 5.0, or a
                                  target collection with zones           */
    SFL_E_RELEASE = 65,        /* a release not newer than the one the
                                  database records, or for another database */
    SFL_E_PART_DONE = 66,      /* a partitioned load's part (or group) is
                                  already complete: nothing was done     */
    SFL_E_NOT_READY = 67,      /* not ready yet, retry later: a group's plan
                                  not recorded, or parts still running    */
    SFL_E_SIGNATURE = 70,      /* a manifest is unsigned, its signature is
                                  wrong, or its signer is not trusted      */
    SFL_E_KEY = 71             /* a key file is missing, not an Ed25519 key,
                                  or a private key readable by others      */
} sfl_error_code_t;

#define SFL_ERROR_MESSAGE_MAX 1024

typedef struct {
    uint32_t domain;                     /* sfl_error_domain_t */
    uint32_t code;                       /* sfl_error_code_t   */
    char message[SFL_ERROR_MESSAGE_MAX]; /* NUL-terminated     */
} sfl_error_t;

/* Fills `err` (if not NULL). Always returns false, so that
 * `return sfl_error_set(...)` reads naturally. */
SFL_API bool sfl_error_set(sfl_error_t *err, uint32_t domain, uint32_t code,
                           const char *fmt, ...) SFL_PRINTF(4, 5);

/* Clears `err` (if not NULL) to SFL_OK and an empty message. */
SFL_API void sfl_error_clear(sfl_error_t *err);

/* A short, stable name for a code, e.g. "duplicate"; never NULL. */
SFL_API const char *sfl_error_code_name(uint32_t code);

#ifdef __cplusplus
}
#endif
#endif

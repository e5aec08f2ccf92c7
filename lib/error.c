/* error.c: filling sfl_error_t, and the stable names of error codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "secrets.h"
#include "swefreq/error.h"

bool sfl_error_set(sfl_error_t *err, uint32_t domain, uint32_t code, const char *fmt, ...)
{
    if (!err)
        return false;
    err->domain = domain;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    sfl_secrets_scrub(err->message);
    return false;
}

void sfl_error_clear(sfl_error_t *err)
{
    if (!err)
        return;
    err->domain = SFL_DOMAIN_NONE;
    err->code = SFL_OK;
    err->message[0] = '\0';
}

const char *sfl_error_code_name(uint32_t code)
{
    switch (code) {
    case SFL_OK: return "ok";
    case SFL_E_USAGE: return "usage";
    case SFL_E_NOMEM: return "out_of_memory";
    case SFL_E_THREAD: return "thread";
    case SFL_E_OPEN: return "open";
    case SFL_E_COMPRESSION: return "compression";
    case SFL_E_HEADER: return "header";
    case SFL_E_LINE: return "bad_line";
    case SFL_E_UNSORTED: return "unsorted";
    case SFL_E_DUPLICATE: return "duplicate";
    case SFL_E_TOO_MANY_ERRORS: return "too_many_errors";
    case SFL_E_EMPTY: return "empty";
    case SFL_E_TOO_LARGE: return "too_large";
    case SFL_E_REGION: return "region";
    case SFL_E_WRITE: return "write";
    case SFL_E_MANIFEST: return "manifest";
    case SFL_E_SERVER_UNREACHABLE: return "server_unreachable";
    case SFL_E_SERVER_AUTH: return "server_auth";
    case SFL_E_SERVER_TIMEOUT: return "server_timeout";
    case SFL_E_SERVER_WRITE: return "server_write";
    case SFL_E_SERVER_CAPABILITY: return "server_capability";
    case SFL_E_SERVER: return "server";
    case SFL_E_MISMATCH: return "mismatch";
    case SFL_E_CANCELLED: return "cancelled";
    case SFL_E_LOCKED: return "locked";
    case SFL_E_SEALED: return "sealed";
    case SFL_E_ROLE: return "role";
    case SFL_E_SWAP_PENDING: return "swap_pending";
    case SFL_E_SHARDING: return "sharding";
    case SFL_E_RELEASE: return "release";
    case SFL_E_PART_DONE: return "part_done";
    case SFL_E_NOT_READY: return "not_ready";
    case SFL_E_SIGNATURE: return "signature";
    case SFL_E_KEY: return "key";
    default: return "unknown";
    }
}

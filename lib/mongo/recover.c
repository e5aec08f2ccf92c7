/* recover.c: `recover`, the public operation (sfl_mongo_recover).
 *
 * Connects, checks the role record (lifecycle.c's recover gate: a sealed
 * database with nothing to recover is left alone, one with something to
 * write is refused), takes the load lock and lets mongo/state.c finish a
 * journalled swap, drop leftover staging and mark dead loads interrupted.
 * It sits above both, so neither calls back up into the other.
 */
#include <stddef.h>
#include <string.h>

#include "filled.h"
#include "mongo/lifecycle_internal.h"
#include "mongo/state.h"
#include "mongo/client.h"

/* The first published sfl_mongo_recovery_t ended after took_over. */
#define RECOVERY_V1 (offsetof(sfl_mongo_recovery_t, took_over) + sizeof(bool))

static bool recover_body(const sfl_mongo_options_t *o, sfl_mongo_recovery_t *out,
                         sfl_error_t *err);

bool sfl_mongo_recover(const sfl_mongo_options_t *o, sfl_mongo_recovery_t *out, sfl_error_t *err)
{
    if (out && !sfl_filled_size_ok(out->struct_size, RECOVERY_V1, "sfl_mongo_recover", err))
        return false;
    sfl_mongo_recovery_t r;
    memset(&r, 0, sizeof r);
    bool ok = recover_body(o, &r, err);
    r.struct_size = sizeof r;
    if (out)
        sfl_filled_copy(out, &r, sizeof r);
    return ok;
}

static bool recover_body(const sfl_mongo_options_t *o, sfl_mongo_recovery_t *out,
                         sfl_error_t *err)
{
    sfl_mongo_options_t full;
    if (!sfl_mongo_options_full(o, &full) || !full.uri || !full.db || !*full.db)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "recover needs options from sfl_mongo_options_init with a URI and "
                             "a database");
    if (!sfl_mongo_options_check(&full, err))
        return false;
    mongoc_client_pool_t *pool;
    mongoc_client_t *c;
    if (!sfl_mongo_connect(o->uri, 1, &pool, &c, err))
        return false;
    sfl_mongo_server_t info;
    char id[48];
    sfl_mongo_load_id(id);
    sfl_lock_holder_t prev;
    sfl_lock_request_t rq = {id, "recover",
                             o->lock_stale_seconds > 0 ? o->lock_stale_seconds
                                                       : SFL_LOCK_STALE_SECONDS,
                             o->break_lock, o->log, o->log_ud};
    bool skip = false; /* sealed, with nothing to do (lifecycle.c) */
    bool ok = sfl_mongo_hello(c, &info, err) &&
              sfl_recover_gate(c, o->db, (sfl_role_t)o->expect_role, &skip, err) &&
              (skip || sfl_lock_acquire(c, o->db, &rq, &out->took_over, &prev, err));
    if (ok && !skip) {
        ok = sfl_state_recover(c, o->db, info.ferretdb, o->log, o->log_ud, out, err);
        sfl_lock_release(c, o->db, id);
    }
    mongoc_client_pool_push(pool, c);
    mongoc_client_pool_destroy(pool);
    return ok;
}

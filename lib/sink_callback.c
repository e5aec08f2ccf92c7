/* sink_callback.c: the converter's documents handed to a function, batch
 * by batch, for a program that wants the BSON without writing a sink
 * (swefreq/sink.h, sfl_sink_callback_new). */
#include <stdlib.h>

#include "swefreq/sink.h"

typedef struct {
    sfl_batch_fn fn;
    void *ud;
} callback_t;

static bool callback_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    callback_t *c = ctx;
    sfl_error_clear(err);
    if (c->fn(c->ud, b, err))
        return true;
    if (!err || err->code == SFL_OK)
        return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                             "the batch callback stopped the run (at %s, lines %llu to %llu)",
                             b->source_path ? b->source_path : "?",
                             (unsigned long long)b->first_line,
                             (unsigned long long)b->last_line);
    return false;
}

static void callback_destroy(void *ctx) { free(ctx); }

sfl_sink_t *sfl_sink_callback_new(sfl_batch_fn fn, void *ud, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {.struct_size = sizeof ops,
                                       .write = callback_write,
                                       .destroy = callback_destroy};
    if (!fn) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_sink_callback_new: fn is NULL");
        return NULL;
    }
    callback_t *c = malloc(sizeof *c);
    if (!c) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    c->fn = fn;
    c->ud = ud;
    sfl_sink_t *s = sfl_sink_new(&ops, c, err);
    if (!s)
        free(c);
    return s;
}

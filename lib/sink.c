/* sink.c: the sink wrapper, and the two sinks that keep nothing: the dry
 * run (discard) and the JSON-lines printer (for inspection and diffs).
 *
 * The wrapper enforces the call order (begin, write*, commit | abort) so
 * that an implementation never sees a write after an abort or a second
 * commit.
 */
#include <bson/bson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sink_internal.h"

typedef enum { ST_NEW, ST_OPEN, ST_DONE } state_t;

struct sfl_sink {
    sfl_sink_ops_t ops;
    void *ctx;
    state_t state;
    atomic_int cancelled; /* set by sfl_job_cancel, from any thread or a signal handler */
    sfl_error_t why;      /* the error that made the run abort */
    const sfl_manifest_t *plan; /* during begin: the run's options and sources */
    const bson_t *part_reads;   /* during a part's commit: its records per region */
    bool reads_plan;            /* begin reads the plan's source hashes */
};

const char *sfl_collection_name(sfl_collection_t c)
{
    switch (c) {
    case SFL_COLL_VARIANTS: return "variants";
    case SFL_COLL_COVERAGE: return "base_coverage";
    case SFL_COLL_GENES: return "genes";
    case SFL_COLL_TRANSCRIPTS: return "transcripts";
    case SFL_COLL_EXONS: return "exons";
    case SFL_COLL_DBSNP: return "dbsnp";
    case SFL_COLL_METRICS: return "metrics";
    default: return "unknown";
    }
}

/* The first sfl_sink_ops_t ended after destroy; a caller built against
 * any later, longer one is accepted as long as this library knows every op
 * it sets (struct_size up to sizeof(sfl_sink_ops_t)). */
#define SFL_SINK_OPS_V1_SIZE (offsetof(sfl_sink_ops_t, destroy) + sizeof(void (*)(void *)))

sfl_sink_t *sfl_sink_new(const sfl_sink_ops_t *ops, void *ctx, sfl_error_t *err)
{
    if (!ops) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_sink_new: ops is NULL");
        return NULL;
    }
    if (ops->struct_size < SFL_SINK_OPS_V1_SIZE || ops->struct_size > sizeof(sfl_sink_ops_t)) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "sfl_sink_new: ops->struct_size is %zu; set it to sizeof(sfl_sink_ops_t) "
                      "(this library accepts %zu to %zu)",
                      ops->struct_size, (size_t)SFL_SINK_OPS_V1_SIZE, sizeof(sfl_sink_ops_t));
        return NULL;
    }
    if (!ops->write) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "sfl_sink_new: ops->write is NULL (the one op a sink must have)");
        return NULL;
    }
    sfl_sink_t *s = calloc(1, sizeof *s);
    if (!s) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    /* Ops past the caller's struct_size stay NULL. */
    memcpy(&s->ops, ops, ops->struct_size);
    s->ops.struct_size = sizeof s->ops;
    s->ctx = ctx;
    return s;
}

void sfl_sink_destroy(sfl_sink_t *s)
{
    if (!s)
        return;
    if (s->state == ST_OPEN && s->ops.abort)
        s->ops.abort(s->ctx);
    if (s->ops.destroy)
        s->ops.destroy(s->ctx);
    free(s);
}

bool sfl_sink_begin_int(sfl_sink_t *s, const sfl_run_info_t *run, sfl_error_t *err)
{
    if (s->state != ST_NEW)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "a sink is used for one run only");
    s->state = ST_OPEN;
    return !s->ops.begin || s->ops.begin(s->ctx, run, err);
}

bool sfl_sink_write_int(sfl_sink_t *s, const sfl_batch_t *b, sfl_error_t *err)
{
    if (s->state != ST_OPEN)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sink is not open");
    return s->ops.write(s->ctx, b, err);
}

bool sfl_sink_commit_int(sfl_sink_t *s, const sfl_manifest_t *m, sfl_error_t *err)
{
    if (s->state != ST_OPEN)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sink is not open");
    bool ok = !s->ops.commit || s->ops.commit(s->ctx, m, err);
    if (ok)
        s->state = ST_DONE;
    return ok;
}

void sfl_sink_abort_int(sfl_sink_t *s, const sfl_error_t *why)
{
    if (why)
        s->why = *why;
    if (s->state == ST_OPEN && s->ops.abort)
        s->ops.abort(s->ctx);
    s->state = ST_DONE;
}

void sfl_sink_cancel_int(sfl_sink_t *s)
{
    atomic_store(&s->cancelled, 1);
}

bool sfl_sink_cancelled_int(sfl_sink_t *s)
{
    return s && atomic_load(&s->cancelled);
}

const sfl_error_t *sfl_sink_abort_reason_int(const sfl_sink_t *s)
{
    return s && s->why.code != SFL_OK ? &s->why : NULL;
}

void sfl_sink_set_plan_int(sfl_sink_t *s, const sfl_manifest_t *plan)
{
    s->plan = plan;
}

void sfl_sink_set_reads_plan_int(sfl_sink_t *s)
{
    s->reads_plan = true;
}

bool sfl_sink_reads_plan_int(const sfl_sink_t *s)
{
    return s && s->reads_plan;
}

const sfl_manifest_t *sfl_sink_plan_int(const sfl_sink_t *s)
{
    return s ? s->plan : NULL;
}

void *sfl_sink_ctx_int(const sfl_sink_t *s, const void *commit_fn)
{
    return s && (const void *)s->ops.commit == commit_fn ? s->ctx : NULL;
}

/* ---- the dry run ---- */

static bool null_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    (void)ctx;
    (void)b;
    (void)err;
    return true;
}

sfl_sink_t *sfl_sink_null_new(sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), NULL, null_write, NULL, NULL, NULL};
    return sfl_sink_new(&ops, NULL, err);
}

/* ---- JSON lines ---- */

static bool jsonl_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    FILE *out = ctx;
    for (size_t i = 0; i < b->n_docs; i++) {
        bson_t doc;
        if (!bson_init_static(&doc, b->docs[i].data, b->docs[i].len))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "invalid document");
        size_t len = 0;
        char *json = bson_as_relaxed_extended_json(&doc, &len);
        if (!json)
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        bool ok = fwrite(json, 1, len, out) == len && fputc('\n', out) != EOF;
        bson_free(json);
        if (!ok)
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                 "cannot write JSON lines to the output");
    }
    return true;
}

static bool jsonl_commit(void *ctx, const sfl_manifest_t *m, sfl_error_t *err)
{
    (void)m;
    if (fflush((FILE *)ctx) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "cannot write JSON lines to the output");
    return true;
}

sfl_sink_t *sfl_sink_jsonl_new(FILE *out, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), NULL, jsonl_write, jsonl_commit,
                                       NULL, NULL};
    if (!out) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "a JSON-lines sink needs a stream");
        return NULL;
    }
    return sfl_sink_new(&ops, out, err);
}

void sfl_sink_set_part_reads_int(sfl_sink_t *s, const bson_t *reads)
{
    s->part_reads = reads;
}

const bson_t *sfl_sink_part_reads_int(const sfl_sink_t *s)
{
    return s ? s->part_reads : NULL;
}

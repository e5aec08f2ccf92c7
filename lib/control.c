/* control.c: cancel handles, and the progress and cancellation of verify
 * and export (control.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

struct sfl_cancel {
    atomic_int requested;
};

sfl_cancel_t *sfl_cancel_new(void) { return calloc(1, sizeof(sfl_cancel_t)); }

void sfl_cancel_request(sfl_cancel_t *c)
{
    if (c)
        atomic_store(&c->requested, 1);
}

bool sfl_cancel_requested(const sfl_cancel_t *c)
{
    return c && atomic_load(&((sfl_cancel_t *)c)->requested);
}

void sfl_cancel_destroy(sfl_cancel_t *c) { free(c); }

void sfl_run_control_init(sfl_run_control_t *c)
{
    if (!c)
        return;
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
}

static _Thread_local sfl_ctl_t *cur;

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

bool sfl_ctl_begin(sfl_ctl_t *k, const sfl_run_control_t *ctl, sfl_error_t *err)
{
    memset(k, 0, sizeof *k);
    sfl_run_control_init(&k->c);
    if (ctl) {
        if (ctl->struct_size < sizeof(size_t) || ctl->struct_size > sizeof k->c)
            return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                 "sfl_run_control_t.struct_size is %zu; call "
                                 "sfl_run_control_init()",
                                 ctl->struct_size);
        memcpy(&k->c, ctl, ctl->struct_size);
        k->c.struct_size = sizeof k->c;
    }
    clock_gettime(CLOCK_MONOTONIC, &k->t0);
    k->last = k->t0;
    cur = k;
    return true;
}

static void report(sfl_ctl_t *k, const struct timespec *now)
{
    if (!k->c.progress)
        return;
    sfl_progress_t p = {k->done, k->total, k->docs, since(&k->t0, now), k->what};
    k->c.progress(k->c.progress_ud, &p);
    k->last = *now;
}

void sfl_ctl_end(sfl_ctl_t *k)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (k->total < k->done)
        k->total = k->done;
    report(k, &now);
    if (cur == k)
        cur = NULL;
}

void sfl_ctl_add_total(uint64_t bytes)
{
    if (cur)
        cur->total += bytes;
}

bool sfl_ctl_tick(uint64_t bytes, uint64_t docs, const char *what, const char *when,
                  sfl_error_t *err)
{
    sfl_ctl_t *k = cur;
    if (!k)
        return true;
    k->done += bytes;
    k->docs += docs;
    k->what = what;
    if (sfl_cancel_requested(k->c.cancel))
        return sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED, "interrupted %s", when);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (since(&k->last, &now) >= 0.25)
        report(k, &now);
    return true;
}

sfl_cancel_t *sfl_ctl_cancel_handle(void) { return cur ? cur->c.cancel : NULL; }

void sfl_ctl_report(uint64_t done, uint64_t docs, const char *what)
{
    sfl_ctl_t *k = cur;
    if (!k)
        return;
    k->done = done;
    k->docs = docs;
    k->what = what;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    report(k, &now);
}

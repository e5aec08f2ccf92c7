/* report.c: a run's warnings, missing-field counts and progress (report.h). */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "log.h"
#include "report.h"

static double elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void sfl_report_init(sfl_report_t *r, sfl_log_fn log, void *log_ud, sfl_progress_fn progress,
                     void *progress_ud)
{
    memset(r, 0, sizeof *r);
    r->log = log;
    r->log_ud = log_ud;
    r->progress = progress;
    r->progress_ud = progress_ud;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    r->last_progress = r->t0;
}

void sfl_report_free(sfl_report_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->n_missing; i++)
        free(r->missing[i].name);
    free(r->missing);
    for (size_t i = 0; i < r->n_undeclared; i++)
        free(r->undeclared[i].name);
    free(r->undeclared);
    r->warnings = NULL;
    r->missing = r->undeclared = NULL;
    r->n_warnings = r->cap_warnings = r->n_missing = r->cap_missing = 0;
    r->n_undeclared = r->cap_undeclared = 0;
}

bool sfl_report_warning(sfl_report_t *r, const char *msg)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (strcmp(r->warnings[i], msg) == 0)
            return true;
    if (!SFL_GROW(r->warnings, &r->cap_warnings, r->n_warnings + 1, 4) ||
        !(r->warnings[r->n_warnings] = strdup(msg)))
        return false;
    r->n_warnings++;
    sfl_logf(r->log, r->log_ud, SFL_LOG_WARNING, "%s", msg);
    return true;
}

bool sfl_report_missing(sfl_report_t *r, const char *name, uint64_t n)
{
    for (size_t i = 0; i < r->n_missing; i++)
        if (strcmp(r->missing[i].name, name) == 0) {
            r->missing[i].count += n;
            return true;
        }
    if (!SFL_GROW(r->missing, &r->cap_missing, r->n_missing + 1, 16))
        return false;
    if (!(r->missing[r->n_missing].name = strdup(name)))
        return false;
    r->missing[r->n_missing++].count = n;
    return true;
}

bool sfl_report_undeclared(sfl_report_t *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->n_undeclared; i++)
        if (strncmp(r->undeclared[i].name, name, len) == 0 && !r->undeclared[i].name[len]) {
            r->undeclared[i].count++;
            return true;
        }
    if (!SFL_GROW(r->undeclared, &r->cap_undeclared, r->n_undeclared + 1, 8))
        return false;
    if (!(r->undeclared[r->n_undeclared].name = strndup(name, len)))
        return false;
    r->undeclared[r->n_undeclared++].count = 1;
    return true;
}

void sfl_report_progress(sfl_report_t *r, uint64_t file_offset, const uint64_t *docs,
                         size_t n_docs, bool force)
{
    if (!r->progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && elapsed(&r->last_progress, &now) < 0.25)
        return;
    r->last_progress = now;
    sfl_progress_t p;
    p.bytes_done = r->bytes_done_before + file_offset;
    p.bytes_total = r->bytes_total;
    p.docs = 0;
    for (size_t i = 0; i < n_docs; i++)
        p.docs += docs[i];
    p.seconds = elapsed(&r->t0, &now);
    p.source = r->source;
    r->progress(r->progress_ud, &p);
}

double sfl_report_seconds(const sfl_report_t *r)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return elapsed(&r->t0, &now);
}

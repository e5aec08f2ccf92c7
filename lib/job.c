/* job.c: a conversion run, start to end.
 *
 * The design is simple: a job is the resolved options (options.c) and a
 * list of sources. sfl_job_run() opens every source and hashes it (the
 * manifest names the exact bytes converted: first for a sink that records
 * the plan at begin, else on a thread beside the pipeline, joined before
 * the manifest is built), begins the sink, sends each source in
 * turn through the pipeline (pipeline.c: reader, parser pool, in-order
 * stage with order_check.c, digest, sink), then assembles the manifest
 * (manifest.c) and commits the sink, or aborts it on any failure. It also
 * owns what outlives one source: the digests, the order state per
 * collection, the rejects file, the summary and progress.
 */
#include <errno.h>
#include <htslib/thread_pool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "grow.h"
#include "group_check.h"
#include "job_internal.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "safe_fs.h"
#include "sink_internal.h"

sfl_job_t *sfl_job_new(const sfl_options_t *opt, sfl_error_t *err)
{
    sfl_options_t o;
    if (!sfl_options_resolve(opt, &o, err))
        return NULL;
    sfl_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    j->opt = o;
    sfl_report_init(&j->report, o.log, o.log_ud, o.progress, o.progress_ud);
    if ((o.rejects_path && !(j->rejects_path = strdup(o.rejects_path))) ||
        (o.csq_field && !(j->csq_field = strdup(o.csq_field))) ||
        (o.csq_format && !(j->csq_format = strdup(o.csq_format))) ||
        (o.spill_dir && !(j->spill_dir = strdup(o.spill_dir)))) {
        free(j->rejects_path);
        free(j->csq_field);
        free(j->csq_format);
        free(j);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    j->opt.rejects_path = j->rejects_path;
    j->opt.csq_field = j->csq_field;
    j->opt.csq_format = j->csq_format;
    j->opt.spill_dir = j->spill_dir;
    j->summary.threads = o.threads;
    return j;
}

bool sfl_job_add_source(sfl_job_t *j, sfl_source_kind_t kind, const char *path, sfl_error_t *err)
{
    if (!j)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "sfl_job_add_source: job is NULL");
    if ((unsigned)kind >= SFL_N_SOURCE_KINDS)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_job_add_source: unknown source kind %d (sfl_source_kind_t: 0 to "
                             "%d)",
                             (int)kind, SFL_N_SOURCE_KINDS - 1);
    if (!path || !*path)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "sfl_job_add_source: the %s source's path is %s",
                             sfl_source_kind_name(kind), path ? "empty" : "NULL");
    if (!SFL_GROW(j->sources, &j->cap_sources, j->n_sources + 1, 4))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    sfl_source_record_t *s = &j->sources[j->n_sources];
    memset(s, 0, sizeof *s);
    if (!(s->path = strdup(path)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    s->kind = kind;
    j->n_sources++;
    return true;
}

bool sfl_job_add_region(sfl_job_t *j, const char *spec, sfl_error_t *err)
{
    if (!j || j->ran)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "bad region argument");
    return sfl_regions_add_spec(&j->regions, spec, err);
}

bool sfl_job_add_regions_file(sfl_job_t *j, const char *path, sfl_error_t *err)
{
    if (!j || j->ran)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "bad regions file argument");
    return sfl_regions_add_bed(&j->regions, path, err);
}

/* Every regional source's regions, from its index, before the sink
 * begins: a missing index or an unknown contig writes nothing. */
static bool plan_regions(sfl_job_t *j, sfl_error_t *err)
{
    if (!j->regions.n && !j->src_mode)
        return true;
    if (!(j->region_plans = calloc(j->n_sources + 1, sizeof *j->region_plans)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_sources; i++)
        if (sfl_job_source_regional(j, i) &&
            !(j->region_plans[i] =
                  sfl_regions_plan(sfl_job_regions_of(j, i), j->sources[i].path, err)))
            return false;
    return true;
}

bool sfl_job_source_skipped(const sfl_job_t *j, size_t i)
{
    return j->src_mode && j->src_mode[i] == SFL_SRC_SKIP;
}

const sfl_summary_t *sfl_job_summary(const sfl_job_t *j) { return j ? &j->summary : NULL; }

void sfl_job_cancel(sfl_job_t *j)
{
    if (!j)
        return;
    atomic_store(&j->cancelled, 1);
    sfl_sink_t *s = atomic_load(&j->running_sink);
    if (s)
        sfl_sink_cancel_int(s);
}
const sfl_manifest_t *sfl_job_manifest(const sfl_job_t *j) { return j ? j->manifest : NULL; }

void sfl_job_destroy(sfl_job_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n_sources; i++) {
        free(j->sources[i].path);
        free(j->sources[i].abs_path);
        free(j->sources[i].csq_key);
        free(j->sources[i].csq_format);
    }
    free(j->sources);
    for (size_t i = 0; j->region_plans && i < j->n_sources; i++)
        free(j->region_plans[i]);
    free(j->region_plans);
    sfl_regions_free(&j->regions);
    for (size_t i = 0; j->src_regions && i < j->n_sources; i++)
        sfl_regions_free(&j->src_regions[i]);
    free(j->src_regions);
    for (size_t i = 0; j->src_records && i < j->n_sources; i++)
        free(j->src_records[i]);
    free(j->src_records);
    free(j->src_read_end);
    if (j->part_plan)
        bson_destroy(j->part_plan);
    free(j->src_mode);
    free(j->annotations);
    free(j->csq_field);
    free(j->csq_format);
    free(j->spill_dir);
    sfl_report_free(&j->report);
    free(j->missing_names);
    free(j->missing_counts);
    free(j->table_joins);
    free(j->undeclared_names);
    free(j->undeclared_counts);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_order_free(&j->order[c]);
    free(j->docs);
    free(j->rejects_path);
    free(j->rejects_partial);
    sfl_manifest_destroy(j->manifest);
    sfl_gene_tables_destroy(j->gene_tables);
    sfl_ids_destroy(j->ids);
    for (size_t i = 0; j->src_fd && i < j->n_sources; i++)
        if (j->src_fd[i] >= 0)
            close(j->src_fd[i]);
    free(j->src_fd);
    sfl_metrics_destroy(j->metrics);
    free(j);
}

/* sfl_job_run's promise: on false the sink has been aborted (told why),
 * on every path, even one that fails before the sink began. Returns
 * `ret`. */
static bool abort_sink(sfl_sink_t *sink, const sfl_error_t *why, bool ret)
{
    sfl_sink_abort_int(sink, why);
    return ret;
}

/* ---- the sources' SHA-256 beside the pipeline (issue 25) ----
 *
 * The manifest names the exact bytes converted by each source's SHA-256.
 * A sink that reads the plan at begin (the MongoDB sink records it, and a
 * resume compares it with its record before anything is sent: see
 * sfl_sink_set_reads_plan_int) needs the hashes before begin, so they are
 * taken first, on the calling thread. Every other sink sees the hashes
 * only in the manifest at commit: there one thread hashes the sources,
 * one after the other, while the pipeline reads them, and the run joins
 * it before the manifest is built. It reads the descriptor the parser
 * reads, with pread (its own offsets: digest.c), so it hashes the same
 * bytes with the same result. It is one thread beside the `threads`
 * parser threads, as the calling thread is: mostly waiting on the page
 * cache and libcrypto at 1.35 GB/s, a fifth of the calling thread's work
 * before (bench/README.md, issue 25). */
typedef struct {
    const char *path; /* the job's copy, not freed while the run lasts */
    int fd;
    uint64_t size;    /* at open (fstat), as the pipeline checks it */
    time_t mtime;
    char hex[65];
} hash_item_t;

struct sfl_src_hasher {
    hash_item_t *items; /* [n]: the thread's own, read by the job after the join */
    size_t n;
    const atomic_int *stop; /* the job's cancel flag: stop between reads */
    sfl_error_t err;    /* the thread's error, read after the join */
    bool defer;         /* the error does not hide the pipeline's: a file
                           found changed, or a cancel (read after the join) */
    atomic_int failed;  /* set on an error: the run stops at the next source */
    pthread_t tid;
};

/* Hashes each item in turn; the file must not have changed between its
 * open and the end of its hash (size and modification time), as the
 * pipeline checks between the open and the end of its read. */
static void *hasher_main(void *arg)
{
    struct sfl_src_hasher *h = arg;
    for (size_t i = 0; i < h->n; i++) {
        hash_item_t *it = &h->items[i];
        uint64_t got = 0;
        struct stat st;
        bool ok = sfl_hash_fd_until(it->fd, it->path, h->stop, it->hex, &got, &h->err);
        h->defer = !ok && h->err.code == SFL_E_CANCELLED;
        if (ok && (got != it->size || fstat(it->fd, &st) != 0 ||
                   (uint64_t)st.st_size != it->size || st.st_mtime != it->mtime)) {
            h->defer = true;
            ok = sfl_error_set(&h->err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                               "%s: the file changed while it was being read", it->path);
        }
        if (!ok) {
            atomic_store(&h->failed, 1);
            break;
        }
    }
    return NULL;
}

/* Starts the hashing thread for every source (open, sized and dated by
 * hash_sources). */
static bool hasher_start(sfl_job_t *j, sfl_error_t *err)
{
    struct sfl_src_hasher *h = calloc(1, sizeof *h);
    if (!h || !(h->items = calloc(j->n_sources + 1, sizeof *h->items))) {
        free(h);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    h->n = j->n_sources;
    h->stop = &j->cancelled;
    for (size_t i = 0; i < h->n; i++)
        h->items[i] = (hash_item_t){j->sources[i].path, j->src_fd[i], j->sources[i].size,
                                    j->sources[i].mtime, {0}};
    sigset_t all, old; /* signals reach the caller's threads, not this one */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    bool started = pthread_create(&h->tid, NULL, hasher_main, h) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        free(h->items);
        free(h);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                             "could not start the thread that hashes the sources");
    }
    j->hasher = h;
    return true;
}

/* Has the hashing thread failed? (The run then stops at the next
 * source; the join reports why.) */
static bool hasher_failed(const sfl_job_t *j)
{
    return j->hasher && atomic_load(&j->hasher->failed);
}

/* Waits for the hashing thread; its hashes go to the sources. False with
 * its error (in err, and *defer when it found a file changed or was
 * cancelled) when it failed. Without a thread, true. */
static bool hasher_join(sfl_job_t *j, sfl_error_t *err, bool *defer)
{
    struct sfl_src_hasher *h = j->hasher;
    if (!h)
        return true;
    j->hasher = NULL;
    pthread_join(h->tid, NULL);
    bool ok = !atomic_load(&h->failed);
    if (ok)
        for (size_t i = 0; i < h->n; i++)
            memcpy(j->sources[i].hash, h->items[i].hex, sizeof h->items[i].hex);
    else
        *err = h->err;
    *defer = h->defer;
    free(h->items);
    free(h);
    return ok;
}

/* Opens each source (a regular file only: a pipe could not be read
 * twice; kept open, so the parser reads the very file hashed) and hashes
 * it now, or with `later` only sizes and dates it for the hashing thread
 * (hasher_start); notes which collections the run fills. */
static bool hash_sources(sfl_job_t *j, bool used[SFL_N_COLLECTIONS], bool later,
                         sfl_error_t *err)
{
    if (!(j->src_fd = malloc((j->n_sources + 1) * sizeof *j->src_fd)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_sources; i++)
        j->src_fd[i] = -1;
    for (size_t i = 0; i < j->n_sources; i++) {
        sfl_source_record_t *s = &j->sources[i];
        bool fills[SFL_N_COLLECTIONS];
        sfl_source_collections(s->kind, fills);
        for (int c = 0; c < SFL_N_COLLECTIONS; c++)
            used[c] = used[c] || fills[c];
        bool done = later; /* a part checks only what it reads (group_check.c) */
        if ((j->src_fd[i] = sfl_open_regular(s->path, NULL, err)) < 0 ||
            (!later && !sfl_group_part_hash(j, i, &done, err)) ||
            (!done && !sfl_hash_fd(j->src_fd[i], s->path, s->hash, &s->size, err)))
            return false;
        free(s->abs_path);
        s->abs_path = realpath(s->path, NULL);
        struct stat st;
        if (fstat(j->src_fd[i], &st) == 0) {
            s->mtime = st.st_mtime;
            if (later)
                s->size = (uint64_t)st.st_size;
        } else if (later) {
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot read: %s",
                                 s->path, strerror(errno));
        }
        j->report.bytes_total += s->size;
    }
    j->summary.sources = j->n_sources;
    j->summary.file_bytes = j->report.bytes_total;
    return true;
}

sfl_manifest_t *sfl_job_plan_manifest(sfl_job_t *j, sfl_error_t *err)
{
    bool used[SFL_N_COLLECTIONS] = {false};
    if (j->ran || j->n_sources == 0) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a plan needs a job with sources that has not run");
        return NULL;
    }
    j->ran = true;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_digest_init(&j->digest[c]);
    if (!hash_sources(j, used, false, err))
        return NULL;
    sfl_manifest_input_t in = {&j->opt, 0, j->sources, j->n_sources, j->digest, used, 0,
                               &j->regions};
    return sfl_manifest_build(&in, err);
}

/* The rejects file, like every output, appears under its name only when
 * the run succeeds: it is written as FILE.partial. */
static bool open_rejects(sfl_job_t *j, sfl_error_t *err)
{
    if (!j->rejects_path)
        return true;
    size_t n = strlen(j->rejects_path) + 16;
    if (!(j->rejects_partial = malloc(n)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    snprintf(j->rejects_partial, n, "%s.partial", j->rejects_path);
    if (!(j->rejects = fopen(j->rejects_partial, "w")))
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot create the rejects file: %s", j->rejects_partial,
                             strerror(errno));
    return true;
}

static bool is_gene_table(sfl_source_kind_t k)
{
    return k == SFL_SOURCE_CANONICAL || k == SFL_SOURCE_OMIM || k == SFL_SOURCE_DBNSFP_GENES;
}

/* The gene tables are read whole before any source streams, so that each
 * GTF gene line finds its annotations; a table without a GTF to join it
 * to would be read for nothing, and is refused. */
static bool load_gene_tables(sfl_job_t *j, sfl_error_t *err)
{
    bool any_gtf = false, any_table = false;
    for (size_t i = 0; i < j->n_sources; i++) {
        any_gtf = any_gtf || j->sources[i].kind == SFL_SOURCE_GTF;
        any_table = any_table || is_gene_table(j->sources[i].kind);
    }
    if (any_table && !any_gtf)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "the gene tables (canonical transcripts, OMIM, dbNSFP genes) are "
                             "joined into the genes of a GTF: give the GTF too");
    if (!(j->ids = sfl_ids_new()))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (any_table && !(j->gene_tables = sfl_gene_tables_new()))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_sources; i++) {
        sfl_source_record_t *s = &j->sources[i];
        if (!is_gene_table(s->kind) || sfl_job_source_skipped(j, i))
            continue;
        j->report.source = s->path;
        uint64_t short_rows = 0;
        if (!sfl_gene_tables_load(j->gene_tables, s->kind, s->path, &s->records, &short_rows,
                                  err))
            return false;
        j->summary.records_read += s->records;
        j->report.bytes_done_before += s->size;
        if (short_rows) {
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "%s: %llu row%s with fewer than 4 columns (a gene without an OMIM "
                     "accession) left out, as the ExAC loader leaves them out",
                     s->path, (unsigned long long)short_rows, short_rows == 1 ? "" : "s");
            if (!sfl_report_warning(&j->report, msg))
                return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        }
    }
    return true;
}

/* After the GTF: each gene table's rows that joined no GTF gene (ids
 * compared without version) are counted in the summary and the manifest
 * with a warning; a table none of whose rows joins is refused (it belongs
 * to another release or another kind of id, and would add nothing). */
static bool check_gene_tables_joined(sfl_job_t *j, sfl_error_t *err)
{
    size_t n = 0;
    free(j->table_joins);
    j->table_joins = calloc(j->n_sources + 1, sizeof *j->table_joins);
    if (!j->table_joins)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_sources; i++) {
        sfl_source_record_t *s = &j->sources[i];
        if (!is_gene_table(s->kind) || sfl_job_source_skipped(j, i))
            continue;
        sfl_gene_tables_joined(j->gene_tables, s->kind, &s->table_rows, &s->unjoined_rows);
        s->join_counted = true;
        sfl_table_join_t *tj = &j->table_joins[n++];
        tj->source = s->path;
        tj->kind = sfl_source_kind_name(s->kind);
        tj->rows = s->table_rows;
        tj->unjoined_rows = s->unjoined_rows;
        if (s->table_rows && s->unjoined_rows == s->table_rows)
            return sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_EMPTY,
                                 "%s: none of its %llu rows names a gene of the GTF (gene ids "
                                 "compared without version): is it for another release?",
                                 s->path, (unsigned long long)s->table_rows);
        if (s->unjoined_rows) {
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "%s: %llu of %llu rows name a gene the GTF does not have (gene ids "
                     "compared without version); they are in no document",
                     s->path, (unsigned long long)s->unjoined_rows,
                     (unsigned long long)s->table_rows);
            if (!sfl_report_warning(&j->report, msg))
                return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        }
    }
    j->summary.n_table_joins = n;
    j->summary.table_joins = j->table_joins;
    return true;
}

/* The metrics of the run's variants: digested and written like any batch,
 * after the last source. */
static bool write_metrics(sfl_job_t *j, sfl_sink_t *sink, sfl_error_t *err)
{
    if (!j->metrics)
        return true;
    uint8_t *buf = NULL;
    size_t *offs = NULL, n = 0;
    if (!sfl_metrics_finish(j->metrics, &buf, &offs, &n, err))
        return false;
    j->summary.metrics_values_left_out = sfl_metrics_left_out(j->metrics);
    uint64_t nv = j->summary.docs[SFL_COLL_VARIANTS];
    sfl_logf(j->opt.log, j->opt.log_ud, SFL_LOG_INFO,
             "metrics: %zu documents; spill file %llu bytes (%.1f per variant), %llu values left "
             "out",
             n, (unsigned long long)sfl_metrics_spill_bytes(j->metrics),
             nv ? (double)sfl_metrics_spill_bytes(j->metrics) / (double)nv : 0.0,
             (unsigned long long)j->summary.metrics_values_left_out);
    sfl_doc_t *docs = calloc(n + 1, sizeof *docs);
    size_t bytes = 0;
    for (size_t i = 0; docs && i < n; i++) {
        docs[i].data = buf + offs[i];
        memcpy(&docs[i].len, buf + offs[i], 4); /* little-endian, as BSON */
        sfl_digest_add(&j->digest[SFL_COLL_METRICS], docs[i].data, docs[i].len);
        bytes += docs[i].len;
    }
    bool ok = docs != NULL;
    if (!ok)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (ok && n) {
        /* it ends where the last batch of the sources ended */
        sfl_batch_t b = {SFL_COLL_METRICS, docs, n, bytes, j->last_source, "metrics",
                         0, 0, j->last_voffset};
        j->summary.docs[SFL_COLL_METRICS] += n;
        j->summary.bson_bytes[SFL_COLL_METRICS] += bytes;
        ok = sfl_sink_write_int(sink, &b, err);
    }
    free(docs);
    free(offs);
    free(buf);
    return ok;
}

/* Begins the sink and runs every source through one parser pool. */
static bool run_sources(sfl_job_t *j, sfl_sink_t *sink, const bool used[SFL_N_COLLECTIONS],
                        sfl_error_t *err)
{
    hts_tpool *pool = hts_tpool_init(j->opt.threads);
    hts_tpool_process *q =
        pool ? hts_tpool_process_init(pool, j->opt.threads * j->opt.queue_per_thread, 0) : NULL;
    /* as many idle batches as can be in flight (queued, running, drained) */
    j->batch_pool = sfl_batch_pool_new((size_t)(j->opt.threads * (j->opt.queue_per_thread + 1)) + 2);
    bool ok = q != NULL && j->batch_pool;
    if (!ok)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start %d threads",
                      j->opt.threads);
    atomic_store(&j->running_sink, sink);
    if (atomic_load(&j->cancelled))
        sfl_sink_cancel_int(sink);
    /* The plan: what the manifest will say of options and sources, before
     * any document (a resuming sink compares it with its record). */
    ok = ok && load_gene_tables(j, err); /* first: gene tables alone are refused by name */
    ok = ok && plan_regions(j, err);
    sfl_manifest_input_t in = {&j->opt, 0, j->sources, j->n_sources, j->digest, used, 0,
                               &j->regions};
    bool reads_plan = sfl_sink_reads_plan_int(sink); /* else the hashes are not taken yet */
    sfl_manifest_t *plan = ok && reads_plan ? sfl_manifest_build(&in, err) : NULL;
    ok = ok && (plan || !reads_plan);
    sfl_run_info_t run = {sizeof run, {false}, j->opt.histograms};
    memcpy(run.collections, used, sizeof run.collections);
    sfl_sink_set_plan_int(sink, plan);
    ok = ok && sfl_sink_begin_int(sink, &run, err);
    sfl_sink_set_plan_int(sink, NULL);
    sfl_manifest_destroy(plan);
    if (ok && used[SFL_COLL_METRICS] && !j->part) /* a group's finish writes them */
        ok = (j->metrics = sfl_metrics_new(j->opt.spill_dir, err)) != NULL;
    uint64_t seq = 0;
    for (size_t i = 0; ok && i < j->n_sources && !hasher_failed(j); i++) {
        if (is_gene_table(j->sources[i].kind) || sfl_job_source_skipped(j, i))
            continue;
        uint64_t genes0 = j->summary.docs[SFL_COLL_GENES];
        ok = sfl_pipeline_run_source(j, (uint32_t)i, pool, q, &seq, sink, err) &&
             sfl_group_check_read(j, i, err);
        /* A GTF whose lines are all features the loader leaves out
         * (start_codon, ...) is as empty as a file without lines. */
        if (ok && j->sources[i].kind == SFL_SOURCE_GTF && j->sources[i].records &&
            j->summary.docs[SFL_COLL_GENES] == genes0 && !j->opt.allow_empty)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_EMPTY,
                               "%s: no records: none of its %llu lines is a gene line (the "
                               "other features are left out); refusing to load an empty "
                               "genes collection (sfl_options_t.allow_empty accepts it)",
                               j->sources[i].path, (unsigned long long)j->sources[i].records);
    }
    ok = ok && (!j->gene_tables || check_gene_tables_joined(j, err)) &&
         write_metrics(j, sink, err);
    if (q)
        hts_tpool_process_destroy(q);
    if (pool)
        hts_tpool_destroy(pool);
    sfl_batch_pool_destroy(j->batch_pool); /* every batch is back by now */
    j->batch_pool = NULL;
    if (j->rejects) {
        if (fclose(j->rejects) != 0 && ok)
            ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                               "%s: cannot write the rejects file", j->rejects_path);
        j->rejects = NULL;
    }
    if (ok && atomic_load(&j->cancelled))
        ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                           "interrupted before the commit; nothing was committed");
    return ok;
}

/* Builds the manifest, puts the rejects file under its name and commits
 * the sink. */
static bool commit(sfl_job_t *j, sfl_sink_t *sink, const bool used[SFL_N_COLLECTIONS],
                   sfl_error_t *err)
{
    sfl_manifest_input_t in = {&j->opt, j->summary.rejected, j->sources, j->n_sources,
                               j->digest, used, j->summary.unknown_contig_lines,
                               &j->regions};
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (j->digest[c].failed)
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                                 "cannot compute the digest of %s: out of memory, or OpenSSL's "
                                 "libcrypto offers no SHA-256 or ChaCha20",
                                 sfl_collection_name((sfl_collection_t)c));
    bool ok = (j->manifest = sfl_manifest_build(&in, err)) != NULL;
    if (ok && j->rejects_partial) {
        if (rename(j->rejects_partial, j->rejects_path) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                               "%s: cannot write the rejects file: %s", j->rejects_path,
                               strerror(errno));
        else
            j->rejects_renamed = true;
    }
    if (!ok || !j->part)
        return ok && sfl_sink_commit_int(sink, j->manifest, err);
    bson_t reads = BSON_INITIALIZER; /* a part records its records per region */
    ok = sfl_group_part_reads(j, &reads) ||
         sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    sfl_sink_set_part_reads_int(sink, &reads);
    ok = ok && sfl_sink_commit_int(sink, j->manifest, err);
    sfl_sink_set_part_reads_int(sink, NULL);
    bson_destroy(&reads);
    return ok;
}

/* Summary views of the consequence fields and the warnings. */
static void summary_annotations(sfl_job_t *j)
{
    free(j->annotations);
    j->annotations = calloc(j->n_sources + 1, sizeof *j->annotations);
    size_t n = 0;
    for (size_t i = 0; j->annotations && i < j->n_sources; i++) {
        const sfl_source_record_t *s = &j->sources[i];
        if (s->kind != SFL_SOURCE_VCF)
            continue;
        sfl_annotation_used_t *a = &j->annotations[n++];
        a->source = s->path;
        a->field = s->csq_key;
        a->format = s->csq_format;
        a->format_overridden = s->csq_overridden;
        a->gnomad_v40_repair = s->v40_repaired;
    }
    j->summary.n_annotations = j->annotations ? n : 0;
    j->summary.annotations = j->annotations;
    j->summary.n_warnings = j->report.n_warnings;
    j->summary.warnings = (const char *const *)j->report.warnings;
}

/* The summary's views of the undeclared populations, each with a warning
 * (once per run: finish_summary runs once). */
static void summary_undeclared(sfl_job_t *j)
{
    free(j->undeclared_names);
    free(j->undeclared_counts);
    j->undeclared_names = calloc(j->report.n_undeclared + 1, sizeof *j->undeclared_names);
    j->undeclared_counts = calloc(j->report.n_undeclared + 1, sizeof *j->undeclared_counts);
    if (!j->undeclared_names || !j->undeclared_counts)
        return;
    for (size_t i = 0; i < j->report.n_undeclared; i++) {
        j->undeclared_names[i] = j->report.undeclared[i].name;
        j->undeclared_counts[i] = j->report.undeclared[i].count;
        char msg[512];
        snprintf(msg, sizeof msg,
                 "%llu line%s carry population '%.100s' (INFO AC_%.100s...), which the header "
                 "does not declare: its counts are in no document",
                 (unsigned long long)j->report.undeclared[i].count,
                 j->report.undeclared[i].count == 1 ? "" : "s", j->report.undeclared[i].name,
                 j->report.undeclared[i].name);
        (void)sfl_report_warning(&j->report, msg); /* out of memory: the count still shows it */
    }
    j->summary.n_undeclared_pops = j->report.n_undeclared;
    j->summary.undeclared_pop_names = j->undeclared_names;
    j->summary.undeclared_pop_counts = j->undeclared_counts;
}

/* The summary's views of the missing-field counts, and the run's time. */
static void finish_summary(sfl_job_t *j)
{
    free(j->missing_names);
    free(j->missing_counts);
    const sfl_report_t *r = &j->report;
    j->missing_names = calloc(r->n_missing + 1, sizeof *j->missing_names);
    j->missing_counts = calloc(r->n_missing + 1, sizeof *j->missing_counts);
    if (j->missing_names && j->missing_counts) {
        for (size_t i = 0; i < r->n_missing; i++) {
            j->missing_names[i] = r->missing[i].name;
            j->missing_counts[i] = r->missing[i].count;
        }
        j->summary.n_missing = r->n_missing;
        j->summary.missing_names = j->missing_names;
        j->summary.missing_counts = j->missing_counts;
    }
    summary_undeclared(j);
    summary_annotations(j);
    j->summary.seconds = sfl_report_seconds(&j->report);
}

bool sfl_job_run(sfl_job_t *j, sfl_sink_t *sink, sfl_error_t *err)
{
    sfl_error_t local;
    if (!err)
        err = &local;
    sfl_error_clear(err);
    if (!j || !sink)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "job and sink are required");
    if (j->ran)
        return abort_sink(sink, err, sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                              "a job runs only once"));
    j->ran = true;
    if (j->n_sources == 0)
        /* It would commit an empty load, whose manifest then checks nothing. */
        return abort_sink(sink, err, sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                                                   "a job needs at least one source "
                                                   "(sfl_job_add_source); nothing was written"));
    clock_gettime(CLOCK_MONOTONIC, &j->report.t0);
    j->report.last_progress = j->report.t0;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_digest_init(&j->digest[c]);
    bool used[SFL_N_COLLECTIONS] = {false};
    sfl_logf(j->opt.log, j->opt.log_ud, SFL_LOG_DEBUG,
             "job: %zu source(s), %d parser thread(s), chunks of %zu bytes, %d chunk(s) in "
             "flight per thread, spill folder %s",
             j->n_sources, j->opt.threads, j->opt.chunk_bytes, j->opt.queue_per_thread,
             j->opt.spill_dir ? j->opt.spill_dir : "$TMPDIR");
    /* The hashes beside the pipeline, unless the sink needs them at begin
     * or this is a part, which checks its plan's ranges (see hasher_main). */
    bool later = !j->part && !sfl_sink_reads_plan_int(sink);
    if (!hash_sources(j, used, later, err) || !open_rejects(j, err) ||
        (later && !hasher_start(j, err)))
        return abort_sink(sink, err, false);
    sfl_hts_quiet_begin();
    bool ok = run_sources(j, sink, used, err);
    /* Joined before the manifest is built, and on a failure too. A file
     * the hash could not read fails the run with that error, whatever the
     * pipeline made of it, as when the hashes came before everything else.
     * A file found changed since its open (size or time: the hash checks
     * it as the pipeline does) does not hide the pipeline's own error,
     * which the hash taken first would have left to come; nor does a
     * cancel, which stops the hash too (between two reads of 1 MiB). */
    sfl_error_t hash_err;
    bool defer = false;
    if (!hasher_join(j, &hash_err, &defer)) {
        if (ok || !defer)
            *err = hash_err;
        ok = false;
    }
    ok = ok && commit(j, sink, used, err);
    sfl_hts_quiet_end();
    sfl_logf(j->opt.log, j->opt.log_ud, SFL_LOG_DEBUG, "job: %s after %.3f s",
             ok ? "sink committed" : "sink aborted", sfl_report_seconds(&j->report));
    if (!ok) {
        sfl_sink_abort_int(sink, err);
        sfl_manifest_destroy(j->manifest);
        j->manifest = NULL;
        if (j->rejects_partial) /* no rejects file after a failed run */
            unlink(j->rejects_renamed ? j->rejects_path : j->rejects_partial);
    }
    atomic_store(&j->running_sink, NULL);
    finish_summary(j);
    sfl_report_progress(&j->report, 0, j->summary.docs, SFL_N_COLLECTIONS, true);
    return ok;
}

/* job.c: the conversion pipeline, from source files to a sink.
 *
 * The design is simple:
 *
 *   reader (this thread) --chunks--> parser jobs (htslib thread pool)
 *        --batches, in input order--> ordered stage (this thread)
 *        --> digest --> sink
 *
 * The calling thread reads whole-line chunks (reader.c; BGZF blocks are
 * decompressed on the same htslib pool) and dispatches one parser job per
 * chunk. htslib's process queue returns results strictly in dispatch order
 * and bounds both its input and output queues, so at most
 * threads * queue_per_thread chunks are in flight and memory stays flat
 * whatever the input size. The ordered stage sees every line in file
 * order: it applies --max-errors, checks sorting and uniqueness (which need
 * the previous chunk), writes rejected lines, digests each surviving
 * document and hands the batch to the sink. Because everything after the
 * parsers runs in input order on one thread, the output is byte-for-byte
 * the same for any thread count.
 */
#include <errno.h>
#include <stdarg.h>
#include <htslib/hts.h>
#include <htslib/thread_pool.h>
#include <htslib/vcf.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "coverage_doc.h"
#include "grow.h"
#include "indexes.h"
#include "log.h"
#include "manifest_int.h"
#include "reader.h"
#include "sink_int.h"
#include "swefreq/swefreq.h"
#include "variant_doc.h"

/* ---- sources and their per-thread workers ----------------------------- */

typedef struct source_ctx {
    sfl_source_kind_t kind;
    const char *path;
    uint32_t index;
    sfl_vcf_schema_t *vschema;
    sfl_coverage_schema_t *cschema;
    pthread_mutex_t lock;
    void **free_workers; /* a stack of idle workers */
    size_t n_free, n_all, cap;
    void **all;
} source_ctx_t;

static void *worker_acquire(source_ctx_t *s)
{
    void *w = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->n_free > 0)
        w = s->free_workers[--s->n_free];
    pthread_mutex_unlock(&s->lock);
    if (w)
        return w;
    w = s->kind == SFL_SOURCE_VCF ? (void *)sfl_vcf_worker_new(s->vschema)
                                  : (void *)sfl_coverage_worker_new(s->cschema);
    if (!w)
        return NULL;
    pthread_mutex_lock(&s->lock);
    if (s->n_all == s->cap) {
        size_t n = s->cap ? s->cap * 2 : 8;
        void **a = realloc(s->all, n * sizeof *a);
        void **f = a ? realloc(s->free_workers, n * sizeof *f) : NULL;
        if (a)
            s->all = a;
        if (f)
            s->free_workers = f;
        if (!a || !f) {
            pthread_mutex_unlock(&s->lock);
            if (s->kind == SFL_SOURCE_VCF)
                sfl_vcf_worker_destroy(w);
            else
                sfl_coverage_worker_destroy(w);
            return NULL;
        }
        s->cap = n;
    }
    s->all[s->n_all++] = w;
    pthread_mutex_unlock(&s->lock);
    return w;
}

static void worker_release(source_ctx_t *s, void *w)
{
    pthread_mutex_lock(&s->lock);
    s->free_workers[s->n_free++] = w;
    pthread_mutex_unlock(&s->lock);
}

static void source_ctx_destroy(source_ctx_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_all; i++) {
        if (s->kind == SFL_SOURCE_VCF)
            sfl_vcf_worker_destroy(s->all[i]);
        else
            sfl_coverage_worker_destroy(s->all[i]);
    }
    free(s->all);
    free(s->free_workers);
    sfl_vcf_schema_destroy(s->vschema);
    sfl_coverage_schema_destroy(s->cschema);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- parser jobs (run on the pool) ------------------------------------ */

typedef struct {
    source_ctx_t *src;
    sfl_chunk_t chunk;
    uint64_t seq;
} parse_job_t;

static void parse_job_free(void *arg)
{
    parse_job_t *j = arg;
    free(j->chunk.text);
    free(j);
}

static void batch_free(void *data) { sfl_batch_destroy(data); }

static void *parse_chunk(void *arg)
{
    parse_job_t *j = arg;
    source_ctx_t *src = j->src;
    sfl_batch_int_t *b = sfl_batch_new();
    if (!b) {
        parse_job_free(j);
        return NULL;
    }
    b->seq = j->seq;
    b->source_index = src->index;
    b->collection = src->kind == SFL_SOURCE_VCF ? SFL_COLL_VARIANTS : SFL_COLL_COVERAGE;
    b->text = j->chunk.text;
    b->text_len = j->chunk.len;
    b->first_line = j->chunk.first_line;
    b->end_voffset = j->chunk.end_voffset;
    b->file_offset = j->chunk.file_offset;
    free(j);
    if (src->kind == SFL_SOURCE_VCF) {
        b->n_missing = src->vschema->n_slots;
        b->missing = calloc((size_t)b->n_missing, sizeof *b->missing);
        if (!b->missing) {
            b->failed = true;
            return b;
        }
    }
    void *w = worker_acquire(src);
    if (!w) {
        b->failed = true;
        return b;
    }
    const char *p = b->text, *end = b->text + b->text_len;
    uint64_t line_no = b->first_line;
    while (p < end && !b->failed) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p); /* every line ends in '\n' (reader.c) */
        uint32_t off = (uint32_t)(p - b->text);
        if (len == 0) {
            b->blank++;
        } else if (p[0] == '#') {
            sfl_linerec_t *rec = sfl_batch_add_line(b);
            if (rec) {
                rec->line = line_no;
                rec->text_off = off;
                rec->text_len = (uint32_t)len;
                b->records++;
                sfl_batch_reject(b, rec, SFL_E_LINE,
                                 "%s: line %llu: a header line ('#...') after the first data line",
                                 src->path, (unsigned long long)line_no);
            }
        } else if (src->kind == SFL_SOURCE_VCF) {
            sfl_vcf_line_to_docs(w, b, src->path, line_no, p, len, off);
        } else {
            sfl_coverage_line_to_doc(w, b, src->path, line_no, p, len, off);
        }
        line_no++;
        p = nl + 1;
    }
    worker_release(src, w);
    return b;
}

/* ---- the job ------------------------------------------------------------ */

typedef struct {
    char *path;
    sfl_source_kind_t kind;
    uint64_t size;
    char hash[33];
    uint64_t records;
    time_t mtime;
    sfl_style_t style; /* resolved from the header (VCF) */
} source_t;

typedef struct {
    int64_t key_pos;
    char *id;
    uint64_t line;
    uint32_t source;
} window_entry_t;

typedef struct {
    int32_t contig;
    int64_t pos;
    uint64_t line;
    uint32_t source;
    bool seen[32];
    bool any;
    window_entry_t *win;
    size_t n_win, cap_win;
} order_state_t;

typedef struct {
    char *name;
    uint64_t count;
} missing_t;

struct sfl_job {
    sfl_options_t opt;
    char *rejects_path;
    source_t *sources;
    size_t n_sources, cap_sources;
    bool ran;

    sfl_summary_t summary;
    missing_t *missing;
    size_t n_missing, cap_missing;
    const char **missing_names;
    uint64_t *missing_counts;

    sfl_manifest_t *manifest;
    atomic_int cancelled;
    sfl_sink_t *_Atomic running_sink; /* during sfl_job_run: cancel reaches it too */

    /* run state */
    sfl_digest_t digest[SFL_N_COLLECTIONS];
    order_state_t order[SFL_N_COLLECTIONS];
    sfl_doc_t *docs;
    size_t cap_docs;
    FILE *rejects;
    char *rejects_partial;
    struct timespec t0, last_progress;
    uint64_t bytes_done_before; /* compressed bytes of finished sources */
    uint64_t bytes_total;
};

void sfl_options_init(sfl_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->threads = 0;
    o->style = SFL_STYLE_AUTO;
    o->histograms = SFL_HIST_PAIRS;
    o->coverage_step = 1;
    o->max_errors = 0;
    o->chunk_bytes = 1u << 20;
    o->queue_per_thread = 2;
}

static const char *const style_names[] = {"auto", "exac", "swegen", "gnomad"};
static const char *const hist_names[] = {"pairs", "columns", "none"};

const char *sfl_style_name(sfl_style_t s)
{
    return (unsigned)s < 4 ? style_names[s] : "unknown";
}

bool sfl_style_parse(const char *name, sfl_style_t *out)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, style_names[i]) == 0) {
            *out = (sfl_style_t)i;
            return true;
        }
    return false;
}

const char *sfl_histograms_name(sfl_histograms_t h)
{
    return (unsigned)h < 3 ? hist_names[h] : "unknown";
}

bool sfl_histograms_parse(const char *name, sfl_histograms_t *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, hist_names[i]) == 0) {
            *out = (sfl_histograms_t)i;
            return true;
        }
    return false;
}

sfl_job_t *sfl_job_new(const sfl_options_t *opt, sfl_error_t *err)
{
    sfl_options_t o;
    sfl_options_init(&o);
    if (opt) {
        if (opt->struct_size < sizeof(size_t) || opt->struct_size > sizeof o) {
            sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                          "sfl_options_t.struct_size is %zu; call sfl_options_init()",
                          opt->struct_size);
            return NULL;
        }
        memcpy(&o, opt, opt->struct_size);
        o.struct_size = sizeof o;
    }
    if (o.threads < 0 || o.threads > 256) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "threads must be 0 to 256, not %d",
                      o.threads);
        return NULL;
    }
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if ((unsigned)o.style > SFL_STYLE_GNOMAD || (unsigned)o.histograms > SFL_HIST_NONE) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "unknown style or histograms value");
        return NULL;
    }
    if (o.coverage_step == 0) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "coverage step must be at least 1");
        return NULL;
    }
    if (o.chunk_bytes < 4096)
        o.chunk_bytes = 4096;
    if (o.chunk_bytes > (256u << 20))
        o.chunk_bytes = 256u << 20;
    if (o.queue_per_thread < 1)
        o.queue_per_thread = 1;
    sfl_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    j->opt = o;
    if (o.rejects_path && !(j->rejects_path = strdup(o.rejects_path))) {
        free(j);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    j->opt.rejects_path = j->rejects_path;
    j->summary.threads = o.threads;
    return j;
}

bool sfl_job_add_source(sfl_job_t *j, sfl_source_kind_t kind, const char *path, sfl_error_t *err)
{
    if (!j || !path || !*path || (kind != SFL_SOURCE_VCF && kind != SFL_SOURCE_COVERAGE))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "bad source argument");
    if (!sfl_grow((void **)&j->sources, &j->cap_sources, j->n_sources + 1, sizeof *j->sources, 4))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    source_t *s = &j->sources[j->n_sources];
    memset(s, 0, sizeof *s);
    if (!(s->path = strdup(path)))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    s->kind = kind;
    j->n_sources++;
    return true;
}

const sfl_summary_t *sfl_job_summary(const sfl_job_t *j) { return &j->summary; }

void sfl_job_cancel(sfl_job_t *j)
{
    if (!j)
        return;
    atomic_store(&j->cancelled, 1);
    sfl_sink_t *s = atomic_load(&j->running_sink);
    if (s)
        sfl_sink_cancel_int(s);
}
const sfl_manifest_t *sfl_job_manifest(const sfl_job_t *j) { return j->manifest; }

static void order_reset_window(order_state_t *o)
{
    for (size_t i = 0; i < o->n_win; i++)
        free(o->win[i].id);
    o->n_win = 0;
}

void sfl_job_destroy(sfl_job_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n_sources; i++)
        free(j->sources[i].path);
    free(j->sources);
    for (size_t i = 0; i < j->n_missing; i++)
        free(j->missing[i].name);
    free(j->missing);
    free(j->missing_names);
    free(j->missing_counts);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        order_reset_window(&j->order[c]);
        free(j->order[c].win);
    }
    free(j->docs);
    free(j->rejects_path);
    free(j->rejects_partial);
    sfl_manifest_destroy(j->manifest);
    free(j);
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

#define job_log(j, lvl, ...) sfl_logf((j)->opt.log, (j)->opt.log_ud, (lvl), __VA_ARGS__)

static bool add_missing(sfl_job_t *j, const char *name, uint64_t n)
{
    for (size_t i = 0; i < j->n_missing; i++)
        if (strcmp(j->missing[i].name, name) == 0) {
            j->missing[i].count += n;
            return true;
        }
    if (!sfl_grow((void **)&j->missing, &j->cap_missing, j->n_missing + 1, sizeof *j->missing, 16))
        return false;
    if (!(j->missing[j->n_missing].name = strdup(name)))
        return false;
    j->missing[j->n_missing++].count = n;
    return true;
}

/* ---- the ordered stage --------------------------------------------------- */

typedef struct {
    sfl_job_t *job;
    source_ctx_t *src;
    sfl_sink_t *sink;
    sfl_error_t *err;
    bool failed;
} run_t;

/* A line failed: skip it under --max-errors, or fail the run. */
static bool reject_line(run_t *r, sfl_batch_int_t *b, sfl_linerec_t *rec, uint32_t code,
                        const char *msg)
{
    sfl_job_t *j = r->job;
    rec->code = code;
    for (uint32_t d = 0; d < rec->n_docs; d++)
        b->docs[rec->first_doc + d].dropped = true;
    j->summary.rejected++;
    if (code < 64)
        j->summary.rejected_by_code[code]++;
    if (j->summary.rejected > j->opt.max_errors) {
        if (j->opt.max_errors == 0)
            return sfl_error_set(r->err, SFL_DOMAIN_INPUT, code, "%s", msg);
        return sfl_error_set(r->err, SFL_DOMAIN_INPUT, SFL_E_TOO_MANY_ERRORS,
                             "more than %llu bad lines (--max-errors); the last: %s",
                             (unsigned long long)j->opt.max_errors, msg);
    }
    job_log(j, SFL_LOG_WARNING, "skipped: %s", msg);
    if (j->rejects) {
        fprintf(j->rejects, "## %s\n", msg);
        fwrite(b->text + rec->text_off, 1, rec->text_len, j->rejects);
        fputc('\n', j->rejects);
        if (ferror(j->rejects))
            return sfl_error_set(r->err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                 "%s: cannot write the rejects file: %s", j->rejects_path,
                                 strerror(errno));
    }
    return true;
}

static const char *contig_label(int code, char buf[8])
{
    if (code == 23)
        return "X";
    if (code == 24)
        return "Y";
    if (code == 25)
        return "MT";
    snprintf(buf, 8, "%d", code);
    return buf;
}

/* Sorting: positions never go back on a contig, and a contig never comes
 * back after another began (across all files of a collection). For
 * coverage a repeated position is a duplicate _id. */
static bool check_order(run_t *r, sfl_batch_int_t *b, sfl_linerec_t *rec, bool *line_ok)
{
    sfl_job_t *j = r->job;
    order_state_t *o = &j->order[b->collection];
    const char *path = r->src->path;
    char msg[1024], cb[8];
    *line_ok = true;
    if (!o->any || rec->contig != o->contig) {
        if (o->seen[rec->contig]) {
            snprintf(msg, sizeof msg,
                     "%s: line %llu: unsorted input: contig %s appears again after other "
                     "contigs began (lines of a contig must be together, positions ascending)",
                     path, (unsigned long long)rec->line, contig_label(rec->contig, cb));
            *line_ok = false;
            return reject_line(r, b, rec, SFL_E_UNSORTED, msg);
        }
        o->seen[rec->contig] = true;
        o->any = true;
        o->contig = rec->contig;
        order_reset_window(o);
    } else if (rec->pos < o->pos ||
               (rec->pos == o->pos && b->collection == SFL_COLL_COVERAGE)) {
        bool dup = rec->pos == o->pos;
        if (dup)
            snprintf(msg, sizeof msg,
                     "%s: line %llu: duplicate position %s:%lld (also on line %llu of %s)", path,
                     (unsigned long long)rec->line, contig_label(rec->contig, cb),
                     (long long)rec->pos, (unsigned long long)o->line,
                     j->sources[o->source].path);
        else
            snprintf(msg, sizeof msg,
                     "%s: line %llu: unsorted input: position %lld comes after %lld (line %llu) "
                     "on contig %s",
                     path, (unsigned long long)rec->line, (long long)rec->pos, (long long)o->pos,
                     (unsigned long long)o->line, contig_label(rec->contig, cb));
        *line_ok = false;
        return reject_line(r, b, rec, dup ? SFL_E_DUPLICATE : SFL_E_UNSORTED, msg);
    }
    o->pos = rec->pos;
    o->line = rec->line;
    o->source = b->source_index;
    return true;
}

static const char *doc_id(const uint8_t *doc, uint32_t *len)
{
    /* Our documents start with _id as a string: len(4) type(1) "_id\0"(4)
     * strlen(4) bytes. */
    uint32_t n;
    memcpy(&n, doc + 9, 4);
    *len = n - 1;
    return (const char *)doc + 13;
}

/* Uniqueness of variant _ids: any later line has POS >= this line's POS and
 * its variant's position >= its POS, so only ids whose position is >= the
 * current POS can still be repeated. The window holds just those. */
static bool check_unique(run_t *r, sfl_batch_int_t *b, sfl_linerec_t *rec)
{
    sfl_job_t *j = r->job;
    order_state_t *o = &j->order[SFL_COLL_VARIANTS];
    size_t keep = 0;
    for (size_t i = 0; i < o->n_win; i++) {
        if (o->win[i].key_pos >= rec->pos)
            o->win[keep++] = o->win[i];
        else
            free(o->win[i].id);
    }
    o->n_win = keep;
    /* Each document is checked against the window and then added to it,
     * so two ALTs of one line that reduce to the same id are caught too;
     * a rejected line takes its entries back out. */
    size_t before = o->n_win;
    for (uint32_t d = 0; d < rec->n_docs; d++) {
        sfl_docrec_t *dr = &b->docs[rec->first_doc + d];
        uint32_t idlen;
        const char *id = doc_id(b->buf + dr->off, &idlen);
        for (size_t i = 0; i < o->n_win; i++) {
            if (strlen(o->win[i].id) == idlen && memcmp(o->win[i].id, id, idlen) == 0) {
                char msg[1024];
                if (i >= before)
                    snprintf(msg, sizeof msg,
                             "%s: line %llu: duplicate variant %.*s: two ALT alleles of this line "
                             "reduce to the same chrom-pos-ref-alt",
                             r->src->path, (unsigned long long)rec->line, (int)idlen, id);
                else
                    snprintf(msg, sizeof msg,
                             "%s: line %llu: duplicate variant %.*s: line %llu of %s reduces to "
                             "the same chrom-pos-ref-alt",
                             r->src->path, (unsigned long long)rec->line, (int)idlen, id,
                             (unsigned long long)o->win[i].line,
                             j->sources[o->win[i].source].path);
                for (size_t k = before; k < o->n_win; k++)
                    free(o->win[k].id);
                o->n_win = before;
                return reject_line(r, b, rec, SFL_E_DUPLICATE, msg);
            }
        }
        if (!sfl_grow((void **)&o->win, &o->cap_win, o->n_win + 1, sizeof *o->win, 16))
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        window_entry_t *e = &o->win[o->n_win];
        if (!(e->id = strndup(id, idlen)))
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        e->key_pos = dr->key_pos;
        e->line = rec->line;
        e->source = b->source_index;
        o->n_win++;
    }
    return true;
}

static void maybe_progress(sfl_job_t *j, uint64_t file_offset, bool force)
{
    if (!j->opt.progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && elapsed(&j->last_progress, &now) < 0.25)
        return;
    j->last_progress = now;
    sfl_progress_t p;
    p.bytes_done = j->bytes_done_before + file_offset;
    p.bytes_total = j->bytes_total;
    p.docs = j->summary.docs[0] + j->summary.docs[1];
    p.seconds = elapsed(&j->t0, &now);
    p.source = NULL;
    j->opt.progress(j->opt.progress_ud, &p);
}

static bool consume(run_t *r, sfl_batch_int_t *b)
{
    sfl_job_t *j = r->job;
    if (!b || b->failed)
        return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "out of memory while converting %s", r->src->path);
    sfl_summary_t *s = &j->summary;
    s->records_read += b->records;
    s->no_alt_sites += b->no_alt;
    s->blank_lines += b->blank;
    s->coverage_thinned += b->thinned;
    s->csq_unmatched += b->csq_unmatched;
    s->non_finite += b->non_finite;
    j->sources[r->src->index].records += b->records;
    for (int i = 0; b->missing && i < b->n_missing; i++)
        if (b->missing[i] && !add_missing(j, r->src->vschema->slot_key[i], b->missing[i]))
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");

    for (size_t i = 0; i < b->n_lines; i++) {
        sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK) {
            if (!reject_line(r, b, rec, rec->code, sfl_batch_msg(b, rec)))
                return false;
            continue;
        }
        bool ok;
        if (!check_order(r, b, rec, &ok))
            return false;
        if (ok && b->collection == SFL_COLL_VARIANTS && rec->n_docs && !check_unique(r, b, rec))
            return false;
    }
    if (b->n_docs > j->cap_docs) {
        sfl_doc_t *d = realloc(j->docs, b->n_docs * sizeof *d);
        if (!d)
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        j->docs = d;
        j->cap_docs = b->n_docs;
    }
    size_t n = 0, bytes = 0;
    sfl_digest_t *dg = &j->digest[b->collection];
    for (size_t i = 0; i < b->n_docs; i++) {
        const sfl_docrec_t *dr = &b->docs[i];
        if (dr->dropped)
            continue;
        j->docs[n].data = b->buf + dr->off;
        j->docs[n].len = dr->len;
        sfl_digest_add(dg, j->docs[n].data, dr->len);
        bytes += dr->len;
        n++;
    }
    s->docs[b->collection] += n;
    s->bson_bytes[b->collection] += bytes;
    if (n > 0) {
        sfl_batch_t out;
        out.collection = b->collection;
        out.docs = j->docs;
        out.n_docs = n;
        out.n_bytes = bytes;
        out.source_index = b->source_index;
        out.source_path = r->src->path;
        out.first_line = b->first_line;
        out.last_line = b->n_lines ? b->lines[b->n_lines - 1].line : b->first_line;
        out.end_voffset = b->end_voffset;
        if (!sfl_sink_write_int(r->sink, &out, r->err))
            return false;
    }
    maybe_progress(j, b->file_offset, false);
    return true;
}

/* ---- opening a source ---------------------------------------------------- */

static source_ctx_t *open_source(sfl_job_t *j, uint32_t index, sfl_reader_t *rd, sfl_error_t *err)
{
    source_t *src = &j->sources[index];
    source_ctx_t *s = calloc(1, sizeof *s);
    if (!s) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->kind = src->kind;
    s->path = src->path;
    s->index = index;
    char *htxt = NULL;
    size_t hlen = 0;
    if (!sfl_reader_header(rd, src->kind == SFL_SOURCE_COVERAGE, &htxt, &hlen, err)) {
        source_ctx_destroy(s);
        return NULL;
    }
    if (src->kind == SFL_SOURCE_COVERAGE) {
        if (hlen && htxt[hlen - 1] == '\n')
            htxt[--hlen] = '\0';
        s->cschema = sfl_coverage_schema_new(htxt, hlen, j->opt.coverage_step, src->path, err);
        free(htxt);
        if (!s->cschema) {
            source_ctx_destroy(s);
            return NULL;
        }
        return s;
    }
    /* VCF: the header must start with ##fileformat=VCF and end with #CHROM. */
    bool ok = true;
    if (hlen == 0 || strncmp(htxt, "##fileformat=VCF", 16) != 0) {
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                      "%s: line 1: missing VCF header: the file must start with "
                      "'##fileformat=VCFv4.x'",
                      src->path);
        ok = false;
    } else {
        const char *last = hlen >= 2 ? htxt + hlen - 2 : htxt;
        while (last > htxt && last[-1] != '\n')
            last--;
        if (strncmp(last, "#CHROM", 6) != 0) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: line %llu: the VCF header does not end with the '#CHROM\\tPOS...' "
                          "line",
                          src->path, (unsigned long long)sfl_reader_lines(rd));
            ok = false;
        }
    }
    bcf_hdr_t *h = NULL;
    if (ok) {
        h = bcf_hdr_init("r");
        if (!h || bcf_hdr_parse(h, htxt) != 0) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_HEADER,
                          "%s: the VCF header could not be parsed by htslib (check the ##INFO "
                          "and #CHROM lines)",
                          src->path);
            ok = false;
        }
    }
    free(htxt);
    if (ok) {
        s->vschema = sfl_vcf_schema_new(h, j->opt.style, j->opt.histograms, src->path, err);
        ok = s->vschema != NULL;
    }
    if (h)
        bcf_hdr_destroy(h);
    if (!ok) {
        source_ctx_destroy(s);
        return NULL;
    }
    src->style = s->vschema->style;
    job_log(j, SFL_LOG_INFO, "%s: dataset style %s, %d population%s%s", src->path,
            sfl_style_name(s->vschema->style), s->vschema->n_pops,
            s->vschema->n_pops == 1 ? "" : "s", s->vschema->csq_declared ? ", CSQ" : "");
    return s;
}

/* ---- the manifest ---------------------------------------------------------- */

static bool build_manifest(sfl_job_t *j, const bool used[SFL_N_COLLECTIONS], sfl_error_t *err)
{
    bson_t doc = BSON_INITIALIZER, tool, opts, arr;
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bool ok = bson_append_utf8(&doc, "format", -1, SFL_MANIFEST_FORMAT, -1) &&
              bson_append_int32(&doc, "format_version", -1, SFL_MANIFEST_VERSION) &&
              bson_append_document_begin(&doc, "tool", -1, &tool) &&
              bson_append_utf8(&tool, "name", -1, "swefreq-load", -1) &&
              bson_append_utf8(&tool, "version", -1, sfl_version(), -1) &&
              bson_append_document_end(&doc, &tool) &&
              bson_append_utf8(&doc, "created", -1, created, -1) &&
              bson_append_document_begin(&doc, "options", -1, &opts) &&
              bson_append_utf8(&opts, "style", -1, sfl_style_name(j->opt.style), -1) &&
              bson_append_utf8(&opts, "histograms", -1, sfl_histograms_name(j->opt.histograms),
                               -1) &&
              bson_append_int64(&opts, "coverage_step", -1, j->opt.coverage_step) &&
              bson_append_int64(&opts, "max_errors", -1, (int64_t)j->opt.max_errors) &&
              bson_append_int64(&opts, "rejected_lines", -1, (int64_t)j->summary.rejected) &&
              bson_append_document_end(&doc, &opts) &&
              bson_append_array_begin(&doc, "sources", -1, &arr);
    for (size_t i = 0; ok && i < j->n_sources; i++) {
        const source_t *s = &j->sources[i];
        bson_t e;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string((uint32_t)i, &k, kb, sizeof kb);
        ok = bson_append_document_begin(&arr, k, kl, &e) &&
             bson_append_utf8(&e, "path", -1, s->path, -1) &&
             bson_append_utf8(&e, "kind", -1, s->kind == SFL_SOURCE_VCF ? "vcf" : "coverage",
                              -1) &&
             bson_append_int64(&e, "size", -1, (int64_t)s->size) &&
             bson_append_utf8(&e, "xxh3_128", -1, s->hash, -1) &&
             bson_append_int64(&e, "records", -1, (int64_t)s->records) &&
             (s->kind != SFL_SOURCE_VCF ||
              bson_append_utf8(&e, "style", -1, sfl_style_name(s->style), -1)) &&
             bson_append_document_end(&arr, &e);
    }
    ok = ok && bson_append_array_end(&doc, &arr) &&
         bson_append_array_begin(&doc, "collections", -1, &arr);
    uint32_t ci = 0;
    for (int c = 0; ok && c < SFL_N_COLLECTIONS; c++) {
        if (!used[c])
            continue;
        char hex[33];
        sfl_digest_hex(&j->digest[c], hex);
        bson_t e, idx;
        const char *k;
        char kb[16];
        int kl = (int)bson_uint32_to_string(ci++, &k, kb, sizeof kb);
        uint32_t ii = 0;
        ok = bson_append_document_begin(&arr, k, kl, &e) &&
             bson_append_utf8(&e, "name", -1, sfl_collection_name((sfl_collection_t)c), -1) &&
             bson_append_int64(&e, "count", -1, (int64_t)j->digest[c].count) &&
             bson_append_int64(&e, "bytes", -1, (int64_t)j->digest[c].bytes) &&
             bson_append_utf8(&e, "digest", -1, hex, -1) &&
             bson_append_array_begin(&e, "indexes", -1, &idx) &&
             sfl_append_index_specs(&idx, (sfl_collection_t)c, false, false, &ii) &&
             bson_append_array_end(&e, &idx) && bson_append_document_end(&arr, &e);
    }
    ok = ok && bson_append_array_end(&doc, &arr);
    if (!ok) {
        bson_destroy(&doc);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    j->manifest = sfl_manifest_from_bson(&doc, err);
    bson_destroy(&doc);
    return j->manifest != NULL;
}

/* ---- running ---------------------------------------------------------------- */

static bool run_source(sfl_job_t *j, uint32_t index, hts_tpool *pool, hts_tpool_process *q,
                       uint64_t *seq, sfl_sink_t *sink, sfl_error_t *err)
{
    source_t *src = &j->sources[index];
    sfl_reader_t *rd = sfl_reader_open(src->path, pool, err);
    if (!rd)
        return false;
    source_ctx_t *sc = open_source(j, index, rd, err);
    if (!sc) {
        sfl_reader_close(rd);
        return false;
    }
    run_t r = {j, sc, sink, err, false};
    bool ok = true;
    for (;;) {
        if (atomic_load(&j->cancelled)) {
            ok = sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_CANCELLED,
                               "interrupted at line %llu of %s; nothing was committed",
                               (unsigned long long)sfl_reader_lines(rd), src->path);
            break;
        }
        sfl_chunk_t ch;
        int rc = sfl_reader_next_chunk(rd, j->opt.chunk_bytes, &ch, err);
        if (rc < 0) {
            ok = false;
            break;
        }
        if (rc == 0)
            break;
        parse_job_t *pj = malloc(sizeof *pj);
        if (!pj) {
            free(ch.text);
            ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            break;
        }
        pj->src = sc;
        pj->chunk = ch;
        pj->seq = (*seq)++;
        /* Dispatch without blocking; while the queue is full, consume
         * results in order, which is what frees room. */
        while (hts_tpool_dispatch3(pool, q, parse_chunk, pj, parse_job_free, batch_free, 1) != 0) {
            if (errno != EAGAIN) {
                parse_job_free(pj);
                ok = sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                                   "could not queue a parser job");
                break;
            }
            hts_tpool_result *res = hts_tpool_next_result_wait(q);
            sfl_batch_int_t *b = res ? hts_tpool_result_data(res) : NULL;
            ok = consume(&r, b);
            if (res)
                hts_tpool_delete_result(res, 0);
            sfl_batch_destroy(b);
            if (!ok) {
                parse_job_free(pj);
                break;
            }
        }
        if (!ok)
            break;
        hts_tpool_result *res;
        while (ok && (res = hts_tpool_next_result(q)) != NULL) {
            sfl_batch_int_t *b = hts_tpool_result_data(res);
            ok = consume(&r, b);
            hts_tpool_delete_result(res, 0);
            sfl_batch_destroy(b);
        }
        if (!ok)
            break;
    }
    /* Drain this source's jobs before its schema goes away. */
    while (ok && !hts_tpool_process_empty(q)) {
        hts_tpool_result *res = hts_tpool_next_result_wait(q);
        if (!res)
            break;
        sfl_batch_int_t *b = hts_tpool_result_data(res);
        ok = consume(&r, b);
        hts_tpool_delete_result(res, 0);
        sfl_batch_destroy(b);
    }
    if (!ok)
        hts_tpool_process_reset(q, 1);
    j->summary.bytes_read += sfl_reader_bytes(rd);
    sfl_reader_close(rd);
    source_ctx_destroy(sc);
    if (ok) {
        /* The file must not have changed while we read it. */
        struct stat st;
        if (stat(src->path, &st) != 0 || (uint64_t)st.st_size != src->size ||
            st.st_mtime != src->mtime)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                               "%s: the file changed while it was being read", src->path);
    }
    j->bytes_done_before += src->size;
    return ok;
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
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "a job runs only once");
    j->ran = true;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    j->last_progress = j->t0;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        sfl_digest_init(&j->digest[c]);

    bool used[SFL_N_COLLECTIONS] = {false, false};
    for (size_t i = 0; i < j->n_sources; i++) {
        source_t *s = &j->sources[i];
        used[s->kind == SFL_SOURCE_VCF ? SFL_COLL_VARIANTS : SFL_COLL_COVERAGE] = true;
        /* Hash each source before reading it: the manifest names the exact
         * bytes that were converted. */
        if (!sfl_hash_file(s->path, s->hash, &s->size, err))
            return false;
        struct stat st;
        if (stat(s->path, &st) == 0)
            s->mtime = st.st_mtime;
        j->bytes_total += s->size;
    }
    j->summary.sources = j->n_sources;
    j->summary.file_bytes = j->bytes_total;

    /* The rejects file, like every output, appears under its name only
     * when the run succeeds. */
    if (j->rejects_path) {
        size_t n = strlen(j->rejects_path) + 16;
        if (!(j->rejects_partial = malloc(n)))
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        snprintf(j->rejects_partial, n, "%s.partial", j->rejects_path);
        if (!(j->rejects = fopen(j->rejects_partial, "w")))
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                 "%s: cannot create the rejects file: %s", j->rejects_partial,
                                 strerror(errno));
    }

    hts_tpool *pool = hts_tpool_init(j->opt.threads);
    hts_tpool_process *q =
        pool ? hts_tpool_process_init(pool, j->opt.threads * j->opt.queue_per_thread, 0) : NULL;
    bool ok = q != NULL;
    if (!ok)
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD, "could not start %d threads",
                      j->opt.threads);
    atomic_store(&j->running_sink, sink);
    if (atomic_load(&j->cancelled))
        sfl_sink_cancel_int(sink);
    ok = ok && sfl_sink_begin_int(sink, used, err);
    uint64_t seq = 0;
    for (size_t i = 0; ok && i < j->n_sources; i++)
        ok = run_source(j, (uint32_t)i, pool, q, &seq, sink, err);
    if (q)
        hts_tpool_process_destroy(q);
    if (pool)
        hts_tpool_destroy(pool);
    if (j->rejects) {
        if (fclose(j->rejects) != 0 && ok)
            ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                               "%s: cannot write the rejects file", j->rejects_path);
        j->rejects = NULL;
    }
    if (ok && atomic_load(&j->cancelled))
        ok = sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_CANCELLED,
                           "interrupted before the commit; nothing was committed");
    ok = ok && build_manifest(j, used, err);
    bool rejects_renamed = false;
    if (ok && j->rejects_partial) {
        if (rename(j->rejects_partial, j->rejects_path) != 0)
            ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                               "%s: cannot write the rejects file: %s", j->rejects_path,
                               strerror(errno));
        else
            rejects_renamed = true;
    }
    ok = ok && sfl_sink_commit_int(sink, j->manifest, err);
    if (!ok && j->rejects_partial)
        unlink(rejects_renamed ? j->rejects_path : j->rejects_partial);
    if (!ok) {
        sfl_sink_abort_int(sink, err);
        sfl_manifest_destroy(j->manifest);
        j->manifest = NULL;
    }
    atomic_store(&j->running_sink, NULL);
    /* Summary views of the missing-field counts. */
    free(j->missing_names);
    free(j->missing_counts);
    j->missing_names = calloc(j->n_missing + 1, sizeof *j->missing_names);
    j->missing_counts = calloc(j->n_missing + 1, sizeof *j->missing_counts);
    if (j->missing_names && j->missing_counts) {
        for (size_t i = 0; i < j->n_missing; i++) {
            j->missing_names[i] = j->missing[i].name;
            j->missing_counts[i] = j->missing[i].count;
        }
        j->summary.n_missing = j->n_missing;
        j->summary.missing_names = j->missing_names;
        j->summary.missing_counts = j->missing_counts;
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    j->summary.seconds = elapsed(&j->t0, &t1);
    maybe_progress(j, 0, true);
    return ok;
}

/* pipeline.c: one source through the parser pool and the in-order stage.
 *
 * The design is simple:
 *
 *   reader (this thread) --chunks--> parser jobs (htslib thread pool)
 *        --> digest of each batch (same job) --batches, in input order-->
 *        in-order stage (this thread) --> run's digest += batch's --> sink
 *
 * The calling thread reads chunks of whole lines (reader.c: whole
 * decompressed blocks, one memcpy each and a newline count, cut after a
 * newline; BGZF blocks are decompressed on the same htslib pool) and
 * dispatches one parser job per chunk; the job finds the line ends and
 * drops a '\r' before a '\n'. htslib's process queue returns results strictly in dispatch order
 * and bounds both its input and output queues, so at most
 * threads * queue_per_thread chunks are in flight and memory stays flat
 * whatever the input size. The in-order stage (consume) sees every line in
 * file order: it applies --max-errors, checks sorting and uniqueness
 * (order_check.c, which need the previous chunk; a batch that the parser
 * job found sorted within itself is checked only where its runs of one
 * contig begin), writes rejected lines,
 * and hands the surviving documents to the sink. The digest's costly part
 * (SHA-256 and ChaCha20 of every document, digest.c) runs in the parser
 * jobs, each of which digests its batch into the batch's own accumulator;
 * the in-order stage only takes back the documents it drops (rare) and adds
 * the batch's digest to the run's. With a single parser thread the calling
 * thread inflates the BGZF blocks and digests the batches as it takes
 * them, so that the two threads share the work; while it lags (finished
 * batches wait for it), the parser digests its batches itself. The
 * metrics' values (metrics.c) and the _id hashes of the uniqueness check
 * are taken by the parser jobs too: the in-order stage does a few
 * comparisons a line and a few additions a batch. For dbSNP the parser
 * job also proves the batch sorted and its ids unique within itself
 * (id_check.c), and for every source of one collection it lists the
 * documents as the sink takes them: a dbSNP or coverage batch with no
 * line refused then costs the in-order stage a few checks where it meets
 * the batch before, and no work per line or per document. The digest is a sum, so the result is exact either way and
 * for any thread count; and because everything after the parsers runs in
 * input order on one thread, the output is byte-for-byte the same for any
 * thread count.
 *
 * Each parser thread takes a worker (a per-thread copy of the line
 * parser's scratch state) from the source's stack of idle workers.
 */
#include <errno.h>
#include <htslib/thread_pool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch.h"
#include "bounds.h"
#include "coverage_doc.h"
#include "dbsnp_doc.h"
#include "group_check.h"
#include "gtf_doc.h"
#include "job_internal.h"
#include "log.h"
#include "metrics.h"
#include "reader.h"
#include "regions.h"
#include "sink_internal.h"
#include "variant_doc.h"
#include "vcf_schema.h"

#define job_log(j, lvl, ...) sfl_logf((j)->opt.log, (j)->opt.log_ud, (lvl), __VA_ARGS__)

/* ---- sources and their per-thread workers ----------------------------- */

typedef struct source_ctx {
    sfl_source_kind_t kind;
    bool digest_in_parser; /* else the in-order stage digests (1 thread) */
    /* One parser thread: batches it finished that the in-order stage has
     * not taken yet. While there are any, that stage is the slower one,
     * and the parser digests its next batch itself. */
    atomic_int backlog;
    bool metrics;          /* a VCF of a run with the metrics collection */
    sfl_batch_pool_t *pool; /* the run's idle batches */
    const char *path;
    uint32_t index;
    sfl_vcf_schema_t *vschema;
    sfl_coverage_schema_t *cschema;
    sfl_gtf_ctx_t gtf;     /* GTF and dbSNP lines need no per-thread */
    sfl_dbsnp_ctx_t dbsnp; /* state: their workers are these         */
    pthread_mutex_t lock;
    void **free_workers; /* a stack of idle workers */
    size_t n_free, n_all, cap;
    void **all;
} source_ctx_t;

static bool shared_worker(const source_ctx_t *s)
{
    return s->kind == SFL_SOURCE_GTF || s->kind == SFL_SOURCE_DBSNP;
}

static void *worker_acquire(source_ctx_t *s)
{
    if (shared_worker(s))
        return s->kind == SFL_SOURCE_GTF ? (void *)&s->gtf : (void *)&s->dbsnp;
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
    if (shared_worker(s))
        return;
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
    sfl_parsed_batch_t *b = sfl_batch_take(src->pool);
    if (!b) {
        parse_job_free(j);
        return NULL;
    }
    b->seq = j->seq;
    b->source_index = src->index;
    b->collection = src->kind == SFL_SOURCE_VCF        ? SFL_COLL_VARIANTS
                    : src->kind == SFL_SOURCE_COVERAGE ? SFL_COLL_COVERAGE
                    : src->kind == SFL_SOURCE_GTF      ? SFL_COLL_GENES
                                                       : SFL_COLL_DBSNP;
    b->multi = src->kind == SFL_SOURCE_GTF;
    b->text = j->chunk.text;
    b->text_len = j->chunk.len;
    b->text_cap = j->chunk.cap;
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
    if (!src->metrics && b->mpart) { /* the batch served a VCF before */
        sfl_metrics_part_destroy(b->mpart);
        b->mpart = NULL;
    }
    if (src->metrics && !b->mpart && !(b->mpart = sfl_metrics_part_new())) {
        b->failed = true;
        return b;
    }
    void *w = worker_acquire(src);
    if (!w) {
        b->failed = true;
        return b;
    }
    char *p = b->text, *end = b->text + b->text_len;
    uint64_t line_no = b->first_line;
    while (p < end && !b->failed) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p); /* every line ends in '\n' (reader.c) */
        uint32_t off = (uint32_t)(p - b->text);
        if (len > 0 && p[len - 1] == '\r') {
            /* dropped: the line is read as it is without it, and the
             * parsers find the '\n' they expect right after it */
            nl[-1] = '\n';
            len--;
            b->cr_dropped++;
        }
        if (len == 0) {
            b->blank++;
        } else if (p[0] == '#') {
            sfl_linerec_t *rec = sfl_batch_add_line(b, line_no, off, len);
            if (rec)
                sfl_batch_reject(b, rec, SFL_E_LINE,
                                 "%s: line %llu: a header line ('#...') after the first data line",
                                 src->path, (unsigned long long)line_no);
        } else if (src->kind == SFL_SOURCE_VCF) {
            sfl_vcf_line_to_docs(w, b, src->path, line_no, p, len, off);
        } else if (src->kind == SFL_SOURCE_GTF) {
            sfl_gtf_line_to_docs(w, b, src->path, line_no, p, len, off);
        } else if (src->kind == SFL_SOURCE_DBSNP) {
            sfl_dbsnp_line_to_doc(w, b, src->path, line_no, p, len, off);
        } else {
            sfl_coverage_line_to_doc(w, b, src->path, line_no, p, len, off);
        }
        line_no++;
        p = nl + 1;
    }
    worker_release(src, w);
    if (src->kind == SFL_SOURCE_VCF || src->kind == SFL_SOURCE_COVERAGE)
        sfl_order_scan_batch(b); /* the in-order stage then checks its runs */
    else if (src->kind == SFL_SOURCE_DBSNP)
        sfl_ids_scan_batch(b); /* sorting and uniqueness within the batch */
    sfl_batch_list_docs(b); /* what the sink takes, while none is dropped */
    if (src->digest_in_parser || atomic_load(&src->backlog) > 0)
        sfl_batch_digest(b);
    atomic_fetch_add(&src->backlog, 1);
    return b;
}

/* ---- the ordered stage --------------------------------------------------- */

typedef struct {
    sfl_job_t *job;
    source_ctx_t *src;
    sfl_sink_t *sink;
    sfl_error_t *err;
    bool failed;
    uint64_t cr_dropped; /* the batches' '\r's: not counted as bytes read */
} run_t;

/* A line failed: skip it under --max-errors, or fail the run. */
static bool reject_line(run_t *r, sfl_parsed_batch_t *b, sfl_linerec_t *rec, uint32_t code,
                        const char *msg)
{
    sfl_job_t *j = r->job;
    rec->code = code;
    for (uint32_t d = 0; d < rec->n_docs; d++)
        b->docs[rec->first_doc + d].dropped = true;
    b->any_dropped |= rec->n_docs > 0;
    j->summary.rejected++;
    if (code < 64)
        j->summary.rejected_by_code[code]++;
    if (j->summary.rejected > j->opt.max_errors) {
        if (j->opt.max_errors == 0)
            return sfl_error_set(r->err, SFL_DOMAIN_INPUT, code, "%s", msg);
        return sfl_error_set(r->err, SFL_DOMAIN_INPUT, SFL_E_TOO_MANY_ERRORS,
                             "more than %llu bad lines (sfl_options_t.max_errors); the last: %s",
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

/* The line's first column as written (a contig with a code is short). */
/* Every sink gets only documents MongoDB can store: one over its 16 MiB
 * limit is bad input, naming the variant and the size. SFL_OK or
 * SFL_E_TOO_LARGE with `msg`. */
static uint32_t check_doc_size(const run_t *r, const sfl_parsed_batch_t *b,
                               const sfl_linerec_t *rec, char *msg, size_t msg_size)
{
    for (uint32_t d = 0; d < rec->n_docs; d++) {
        const sfl_docrec_t *dr = &b->docs[rec->first_doc + d];
        if (dr->len <= SFL_MAX_DOC_BYTES)
            continue;
        if (b->collection == SFL_COLL_VARIANTS) {
            uint32_t idlen;
            const char *id = sfl_batch_doc_id(b, dr, &idlen);
            snprintf(msg, msg_size,
                     "%s: line %llu: variant %.*s makes a document of %u bytes, over MongoDB's "
                     "limit of %d bytes (16 MiB)",
                     r->src->path, (unsigned long long)rec->line, (int)(idlen > 200 ? 200 : idlen),
                     id, dr->len, SFL_MAX_DOC_BYTES);
        } else {
            snprintf(msg, msg_size,
                     "%s: line %llu: a document of %u bytes, over MongoDB's limit of %d bytes "
                     "(16 MiB)",
                     r->src->path, (unsigned long long)rec->line, dr->len, SFL_MAX_DOC_BYTES);
        }
        return SFL_E_TOO_LARGE;
    }
    return SFL_OK;
}

/* The summary counts what the accepted lines hold: the batch's totals
 * cover every line the parser accepted, so take back what the lines that
 * the ordered stage refused added (a line the parser refused holds none).
 * `clean`: no line of the batch was refused. */
static bool count_accepted(run_t *r, sfl_parsed_batch_t *b, bool clean)
{
    sfl_job_t *j = r->job;
    sfl_summary_t *s = &j->summary;
    uint64_t no_alt = b->no_alt, thinned = b->thinned, unmatched = b->csq_unmatched,
             non_finite = b->non_finite;
    /* `clean`: every line accepted; only a VCF's lines may be repaired */
    size_t n = clean && b->collection != SFL_COLL_VARIANTS ? 0 : b->n_lines;
    for (size_t i = 0; i < n; i++) {
        const sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK) {
            no_alt -= rec->no_alt;
            thinned -= rec->thinned;
            unmatched -= rec->csq_unmatched;
            non_finite -= rec->non_finite;
            for (uint32_t m = 0; b->missing && m < rec->miss_n; m++)
                b->missing[b->miss[rec->miss_off + m]]--;
            continue;
        }
        if (rec->csq_repaired) {
            sfl_source_record_t *src = &j->sources[r->src->index];
            src->v40_repaired = true;
            if (!j->warned_v40) {
                char msg[1024];
                snprintf(msg, sizeof msg,
                         "%s: line %llu: the header's %s Format is gnomAD v4.0's (46 fields) "
                         "but the entries have 48: read with SIFT|PolyPhen after SOURCE, as "
                         "gnomAD v4.1 names them (recorded in the manifest)",
                         src->path, (unsigned long long)rec->line, r->src->vschema->csq_key);
                j->warned_v40 = true;
                if (!sfl_report_warning(&j->report, msg))
                    return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            }
        }
    }
    s->no_alt_sites += no_alt;
    s->coverage_thinned += thinned;
    s->csq_unmatched += unmatched;
    s->non_finite += non_finite;
    for (int i = 0; b->missing && i < b->n_missing; i++)
        if (b->missing[i] && !sfl_report_missing(&j->report, r->src->vschema->slot_key[i], b->missing[i]))
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < b->n_undeclared; i++) /* lines still accepted only */
        if (b->lines[b->undeclared[i].line_idx].code == SFL_OK &&
            !sfl_report_undeclared(&j->report, b->text + b->undeclared[i].off, b->undeclared[i].len))
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return true;
}

static bool write_docs(run_t *r, sfl_parsed_batch_t *b, int coll);

static bool consume(run_t *r, sfl_parsed_batch_t *b)
{
    sfl_job_t *j = r->job;
    if (b)
        atomic_fetch_sub(&r->src->backlog, 1);
    if (b && !b->has_digests)
        sfl_batch_digest(b); /* one parser thread, not behind: this one digests */
    if (!b || b->failed)
        return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "out of memory while converting %s", r->src->path);
    sfl_summary_t *s = &j->summary;
    s->records_read += b->records;
    s->blank_lines += b->blank;
    r->cr_dropped += b->cr_dropped;
    j->sources[r->src->index].records += b->records;

    /* sorting by batch when the parser job proved it within the batch,
     * else line by line (the same first refusal, the same message) */
    sfl_order_t *o = &j->order[b->collection];
    bool by_line = !b->multi && b->collection != SFL_COLL_DBSNP &&
                   !sfl_order_check_batch(o, b, r->src->path);
    /* dbSNP's uniqueness (and sorting) by batch likewise */
    int ids_batch = !b->multi && b->collection == SFL_COLL_DBSNP
                        ? sfl_ids_check_batch(j->ids, b, r->src->path)
                        : 0;
    if (ids_batch < 0)
        return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    /* Nothing left to look at line by line: no line refused by the
     * parser, no document too large, sorting and uniqueness proven (a
     * coverage position is its _id: the sorting check covers it). */
    bool ids_done = ids_batch > 0 || (!b->multi && b->collection == SFL_COLL_COVERAGE);
    bool clean = !by_line && ids_done && !b->any_refused && b->max_doc_len <= SFL_MAX_DOC_BYTES;
    for (size_t i = 0; !clean && i < b->n_lines; i++) {
        sfl_linerec_t *rec = &b->lines[i];
        if (rec->code != SFL_OK) {
            if (!reject_line(r, b, rec, rec->code, sfl_batch_msg(b, rec)))
                return false;
            continue;
        }
        char msg[1024], chrom[16];
        uint32_t code = SFL_OK;
        if (by_line) {
            sfl_order_chrom(b, rec, chrom);
            code = sfl_order_check_position(o, b->collection == SFL_COLL_COVERAGE, rec, chrom,
                                            r->src->path, msg, sizeof msg);
        }
        if (code == SFL_OK)
            code = check_doc_size(r, b, rec, msg, sizeof msg);
        if (code == SFL_OK && rec->n_docs && !ids_done)
            code = sfl_ids_check(j->ids, b, rec, r->src->path, msg, sizeof msg);
        if (code == SFL_E_NOMEM)
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        if (code != SFL_OK && !reject_line(r, b, rec, code, msg))
            return false;
    }
    if (!count_accepted(r, b, clean))
        return false;
    s->unknown_contig_lines += b->unknown_contig;
    s->dbsnp_par_rows += b->par_rows;
    s->dbsnp_unplaced_rows += b->unplaced;
    s->gtf_other_features += b->other_features;
    if (b->multi) {
        for (int c = 0; c < SFL_N_COLLECTIONS; c++)
            if (!write_docs(r, b, c))
                return false;
    } else if (!write_docs(r, b, -1)) {
        return false;
    }
    sfl_report_progress(&j->report, b->file_offset, j->summary.docs, SFL_N_COLLECTIONS, false);
    return true;
}

static bool doc_dropped(const void *ud, uint32_t doc)
{
    return ((const sfl_parsed_batch_t *)ud)->docs[doc].dropped;
}

/* The documents `docs[0..n)` of collection `c` that batch `b` keeps
 * (`bytes` in all; `dropped` dropped): the run's digest and summary take
 * them, and the sink. */
static bool hand_on(run_t *r, sfl_parsed_batch_t *b, sfl_collection_t c, const sfl_doc_t *docs,
                    size_t n, size_t bytes, size_t dropped)
{
    sfl_job_t *j = r->job;
    sfl_summary_t *s = &j->summary;
    sfl_digest_t *dg = &b->digests[c];
    /* the metrics of the documents kept: the parser took their values */
    if (c == SFL_COLL_VARIANTS && j->metrics && b->mpart &&
        !sfl_metrics_merge(j->metrics, b->mpart, dropped ? doc_dropped : NULL, b, r->err))
        return false;
    if (dg->failed)
        return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM,
                             "%s: cannot compute the digest: out of memory, or OpenSSL's "
                             "libcrypto offers no SHA-256 or ChaCha20", r->src->path);
    /* every document written is in the digest, and nothing else */
    if (dg->count != n || !sfl_digest_merge(&j->digest[c], dg))
        return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_THREAD,
                             "%s: line %llu: internal error: the batch's digest holds %llu "
                             "documents, %zu are written", r->src->path,
                             (unsigned long long)b->first_line, (unsigned long long)dg->count, n);
    s->docs[c] += n;
    s->bson_bytes[c] += bytes;
    if (n > 0) {
        sfl_batch_t out;
        out.collection = c;
        out.docs = docs;
        out.n_docs = n;
        out.n_bytes = bytes;
        out.source_index = b->source_index;
        out.source_path = r->src->path;
        out.first_line = b->first_line;
        out.last_line = b->n_lines ? b->lines[b->n_lines - 1].line : b->first_line;
        out.end_voffset = b->end_voffset;
        j->last_source = b->source_index;
        j->last_voffset = b->end_voffset;
        if (!sfl_sink_write_int(r->sink, &out, r->err))
            return false;
    }
    return true;
}

/* Adds the batch's digest of collection `coll` (-1: the batch's
 * collection), less the documents dropped here, to the run's, and hands
 * the surviving documents to the sink. */
static bool write_docs(run_t *r, sfl_parsed_batch_t *b, int coll)
{
    sfl_job_t *j = r->job;
    sfl_collection_t c = coll < 0 ? b->collection : (sfl_collection_t)coll;
    size_t n = 0, bytes = 0, dropped = 0;
    sfl_digest_t *dg = &b->digests[c];
    if (coll < 0 && b->has_out && !b->any_dropped) /* the parser's list, as it is */
        return hand_on(r, b, c, b->out, b->n_docs, b->out_bytes, 0);
    if (b->n_docs > j->cap_docs) {
        sfl_doc_t *d = realloc(j->docs, b->n_docs * sizeof *d);
        if (!d)
            return sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        j->docs = d;
        j->cap_docs = b->n_docs;
    }
    for (size_t i = 0; i < b->n_docs; i++) {
        const sfl_docrec_t *dr = &b->docs[i];
        if (coll >= 0 && dr->coll != coll)
            continue;
        if (dr->dropped) {
            if (dr->digested)
                sfl_digest_remove(dg, b->buf + dr->off, dr->len);
            dropped++;
            continue;
        }
        j->docs[n].data = b->buf + dr->off;
        j->docs[n].len = dr->len;
        bytes += dr->len;
        n++;
    }
    return hand_on(r, b, c, j->docs, n, bytes, dropped);
}

/* ---- handing finished batches to the in-order stage --------------------- */

typedef enum {
    DRAIN_ONE,   /* wait for the next batch: frees room in a full queue */
    DRAIN_READY, /* take the batches already finished, without waiting  */
    DRAIN_ALL    /* wait for every job queued (the end of a source)     */
} drain_t;

/* htslib's process queue returns results in dispatch order, so the
 * batches reach consume() in input order whatever the thread count. A wait
 * that returns nothing while jobs are queued is an error, never an end. */
static bool drain(run_t *r, hts_tpool_process *q, drain_t how)
{
    for (;;) {
        if (how == DRAIN_ALL && hts_tpool_process_empty(q))
            return true;
        hts_tpool_result *res =
            how == DRAIN_READY ? hts_tpool_next_result(q) : hts_tpool_next_result_wait(q);
        if (!res && how == DRAIN_READY)
            return true;
        sfl_parsed_batch_t *b = res ? hts_tpool_result_data(res) : NULL;
        bool ok = consume(r, b);
        if (res)
            hts_tpool_delete_result(res, 0);
        sfl_batch_destroy(b);
        if (!ok)
            return false;
        if (how == DRAIN_ONE)
            return true;
    }
}

/* ---- opening a source ---------------------------------------------------- */

/* Which consequence field a VCF is read with, for the summary and the
 * manifest; a VCF without one is a warning, not silence. */
static bool note_annotations(sfl_job_t *j, sfl_source_record_t *src, const sfl_vcf_schema_t *vs,
                             sfl_error_t *err)
{
    src->csq_overridden = vs->csq_overridden;
    src->genome = vs->hemi_nonpar ? vs->build.genome : SFL_GENOME_AUTO;
    if ((vs->csq_key && !(src->csq_key = strdup(vs->csq_key))) ||
        (vs->csq_format && !(src->csq_format = strdup(vs->csq_format))))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    if (vs->csq_declared) {
        job_log(j, SFL_LOG_INFO, "%s: consequence annotations from INFO %s (%d fields%s)",
                src->path, vs->csq_key, vs->csq[0].n_fields,
                vs->csq_overridden ? ", Format as given (sfl_options_t.csq_format)" : "");
        return true;
    }
    if (j->opt.csq_format)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s: a consequence Format was given (sfl_options_t.csq_format) "
                             "but the header declares no consequence field (CSQ, or one "
                             "described as \"Consequence annotations from Ensembl VEP\"); "
                             "name it (sfl_options_t.csq_field)",
                             src->path);
    char msg[1024];
    snprintf(msg, sizeof msg,
             "%s: the header declares no consequence annotations (no INFO CSQ and none "
             "described as \"Consequence annotations from Ensembl VEP. Format: ...\"): "
             "vep_annotations, genes and transcripts will be empty (a field of another "
             "description can be named: sfl_options_t.csq_field)",
             src->path);
    if (!sfl_report_warning(&j->report, msg))
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    return true;
}


/* A header warning counts in the run's summary like any other. */
static bool header_warning(void *ud, const char *msg) { return sfl_report_warning(ud, msg); }

static source_ctx_t *open_source(sfl_job_t *j, uint32_t index, sfl_reader_t *rd, sfl_error_t *err)
{
    sfl_source_record_t *src = &j->sources[index];
    source_ctx_t *s = calloc(1, sizeof *s);
    if (!s) {
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->backlog, 0);
    s->kind = src->kind;
    s->digest_in_parser = j->opt.threads > 1;
    s->metrics = j->metrics != NULL && src->kind == SFL_SOURCE_VCF;
    s->pool = j->batch_pool;
    s->path = src->path;
    s->index = index;
    char *htxt = NULL;
    size_t hlen = 0;
    if (!sfl_reader_header(rd, src->kind == SFL_SOURCE_COVERAGE, &htxt, &hlen, err)) {
        source_ctx_destroy(s);
        return NULL;
    }
    if (shared_worker(s)) { /* a GTF's '#!' lines, if any, say nothing we use */
        free(htxt);
        s->gtf.tables = j->gene_tables;
        s->gtf.skip_unknown_contigs = j->opt.skip_unknown_contigs;
        s->dbsnp.skip_unknown_contigs = j->opt.skip_unknown_contigs;
        return s;
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
    s->vschema = sfl_vcf_schema_from_header(htxt, hlen, sfl_reader_lines(rd), &j->opt, src->path,
                                            header_warning, &j->report, err);
    free(htxt);
    if (!s->vschema) {
        source_ctx_destroy(s);
        return NULL;
    }
    src->style = s->vschema->style;
    if (!note_annotations(j, src, s->vschema, err)) {
        source_ctx_destroy(s);
        return NULL;
    }
    job_log(j, SFL_LOG_INFO, "%s: dataset style %s, %d population%s%s", src->path,
            sfl_style_name(s->vschema->style), s->vschema->n_pops,
            s->vschema->n_pops == 1 ? "" : "s", s->vschema->csq_declared ? ", CSQ" : "");
    return s;
}

const sfl_regions_t *sfl_job_regions_of(const sfl_job_t *j, size_t i)
{
    return j->src_mode && j->src_mode[i] == SFL_SRC_REGIONS ? &j->src_regions[i] : &j->regions;
}

bool sfl_job_source_regional(const sfl_job_t *j, size_t i)
{
    if (j->src_mode)
        return j->src_mode[i] == SFL_SRC_REGIONS;
    return j->regions.n &&
           (j->sources[i].kind == SFL_SOURCE_VCF || j->sources[i].kind == SFL_SOURCE_COVERAGE);
}

/* Reads the chunks of `rd` (the whole file, or one region) into the
 * parser pool until its end, an error or a cancel. */
static bool read_chunks(run_t *rp, sfl_reader_t *rd, hts_tpool *pool, hts_tpool_process *q,
                        uint64_t *seq)
{
    sfl_job_t *j = rp->job;
    source_ctx_t *sc = rp->src;
    sfl_error_t *err = rp->err;
    bool ok = true;
    for (;;) {
        if (atomic_load(&j->cancelled)) {
            ok = sfl_error_set(err, SFL_DOMAIN_CANCEL, SFL_E_CANCELLED,
                               "interrupted at line %llu of %s; nothing was committed",
                               (unsigned long long)sfl_reader_lines(rd), sc->path);
            break;
        }
        sfl_chunk_t ch = {0};
        ch.text = sfl_batch_pool_take_text(sc->pool, &ch.cap); /* reused, or NULL */
        int rc = sfl_reader_next_chunk(rd, j->opt.chunk_bytes, &ch, err);
        if (rc < 0) {
            /* A read error comes after every line already dispatched: an
             * error on one of those comes first, whatever the thread
             * count, so finish them before reporting it. */
            sfl_error_t read_err = *err;
            if (drain(rp, q, DRAIN_ALL))
                *err = read_err;
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
            if (!(ok = drain(rp, q, DRAIN_ONE))) {
                parse_job_free(pj);
                break;
            }
        }
        if (!ok)
            break;
        if (!(ok = drain(rp, q, DRAIN_READY)))
            break;
    }
    return ok;
}

/* Reads the job's regions of the source in the file's order (regions.c),
 * each under its own name in messages ("FILE region 1:101-200"). Each
 * region's parser jobs are finished before the next begins, so that the
 * name they use is the region's. */
static bool read_regions(run_t *r, sfl_reader_t *rd, hts_tpool *pool, hts_tpool_process *q,
                         uint64_t *seq)
{
    sfl_job_t *j = r->job;
    source_ctx_t *sc = r->src;
    const char *path = sc->path;
    const sfl_region_read_t *plan = j->region_plans[sc->index];
    bool ok = true;
    char *label = NULL;
    const sfl_regions_t *regions = sfl_job_regions_of(j, sc->index);
    for (size_t i = 0; ok && i < regions->n; i++) {
        const sfl_region_t *g = plan[i].reg;
        size_t n = strlen(path) + strlen(g->label) + 16;
        free(label);
        if (!(label = malloc(n))) {
            ok = sfl_error_set(r->err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            break;
        }
        snprintf(label, n, "%s region %s", path, g->label);
        sc->path = label;
        uint64_t before = j->sources[sc->index].records;
        ok = sfl_reader_region(rd, plan[i].voffset, g->chrom, g->beg, g->end, r->err) &&
             read_chunks(r, rd, pool, q, seq) && drain(r, q, DRAIN_ALL);
        sfl_job_region_done(j, sc->index, g, j->sources[sc->index].records - before);
    }
    if (!ok) /* a failed region's jobs go before its name */
        hts_tpool_process_reset(q, 1);
    sc->path = path;
    free(label);
    return ok;
}

/* ---- one source, start to end ------------------------------------------- */

bool sfl_pipeline_run_source(sfl_job_t *j, uint32_t index, hts_tpool *pool,
                             hts_tpool_process *q, uint64_t *seq, sfl_sink_t *sink,
                             sfl_error_t *err)
{
    sfl_source_record_t *src = &j->sources[index];
    j->report.source = src->path;
    /* With one parser thread, this thread inflates the BGZF blocks itself:
     * it has the time (it only reads, digests and hands on), and the
     * parser thread, the slower of the two, then only parses. */
    hts_tpool *inflate = j->opt.threads > 1 ? pool : NULL;
    sfl_reader_t *rd = j->src_fd ? sfl_reader_open_fd(src->path, j->src_fd[index], inflate, err)
                                 : sfl_reader_open(src->path, inflate, err);
    if (!rd)
        return false;
    source_ctx_t *sc = open_source(j, index, rd, err);
    if (!sc) {
        sfl_reader_close(rd);
        return false;
    }
    run_t r = {j, sc, sink, err, false, 0};
    bool ok;
    if (sfl_job_source_regional(j, index))
        ok = read_regions(&r, rd, pool, q, seq);
    else
        ok = read_chunks(&r, rd, pool, q, seq);
    /* Drain this source's jobs before its schema goes away. */
    ok = ok && drain(&r, q, DRAIN_ALL);
    if (!ok)
        hts_tpool_process_reset(q, 1);
    /* A part's regions may hold no record; the group's finish checks the
     * whole source. */
    bool may_be_empty = j->opt.allow_empty || j->part;
    if (ok && src->records == 0 && !may_be_empty && sfl_job_source_regional(j, index))
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_EMPTY,
                           "%s: no record lies in the regions given; refusing to load an empty "
                           "collection (sfl_options_t.allow_empty accepts it)",
                           src->path);
    else if (ok && src->records == 0 && !may_be_empty)
        ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_EMPTY,
                           "%s: line %llu: the file has a header and no records; refusing to "
                           "load an empty collection unless empty sources are allowed "
                           "(sfl_options_t.allow_empty)",
                           src->path, (unsigned long long)sfl_reader_lines(rd));
    if (ok && sfl_reader_unterminated(rd)) {
        j->summary.unterminated_lines++;
        job_log(j, SFL_LOG_WARNING,
                "%s: line %llu: the last line has no newline (was the file cut?); it was read "
                "as it is",
                src->path, (unsigned long long)sfl_reader_lines(rd));
    }
    j->summary.bytes_read += sfl_reader_bytes(rd) - r.cr_dropped;
    sfl_reader_close(rd);
    source_ctx_destroy(sc);
    if (ok) {
        /* The file must not have changed while we read it. */
        struct stat st;
        if ((j->src_fd ? fstat(j->src_fd[index], &st) : stat(src->path, &st)) != 0 ||
            (uint64_t)st.st_size != src->size ||
            st.st_mtime != src->mtime)
            ok = sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                               "%s: the file changed while it was being read", src->path);
    }
    j->report.bytes_done_before += src->size;
    return ok;
}

/* batch.h: what a parser job produces from one chunk of whole lines.
 *
 * A batch owns the chunk's text (so a rejected line can be written out
 * verbatim), the finished BSON documents back to back in one buffer, one
 * record per data line (position, status) and one per document (where it
 * is, and where the builder wrote its _id, so nothing reads BSON back). The
 * ordered stage (pipeline.c) walks the line records in input order to check
 * sorting and uniqueness and to apply --max-errors, then hands the surviving
 * documents to the sink, as the public sfl_batch_t (a view of the
 * surviving documents). The parser job also digests the batch's documents
 * (the costly part of the digest runs on the parser threads); the ordered
 * stage takes back the ones it drops and adds the batch's digest to the
 * run's. Private to the library.
 */
#ifndef SFL_BATCH_H
#define SFL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swefreq/digest.h"
#include "swefreq/sink.h"

typedef struct {
    uint64_t line;       /* 1-based line number in the source */
    int64_t pos;         /* POS as written (coverage: pos)    */
    int32_t contig;      /* contig code, 1..25                */
    uint32_t text_off, text_len;
    uint32_t first_doc, n_docs;
    uint32_t code;       /* SFL_OK, or why the parser rejected the line */
    uint32_t msg_off;    /* into batch->msgs when code != SFL_OK        */
    /* What this line adds to the summary; counted only when the line is
     * accepted (the ordered stage may still refuse it). */
    uint32_t miss_off, miss_n; /* schema slots lacking: batch->miss[off..] */
    uint32_t csq_unmatched, non_finite;
    uint8_t no_alt, thinned, csq_repaired;
} sfl_linerec_t;

typedef struct {
    uint32_t off, len;   /* into batch->buf */
    /* The _id's string, buf[off + id_off, + id_len), as the builder wrote
     * it (variants); id_len 0 for a document whose _id is not a string
     * (coverage: xpos, whose uniqueness is its position's). */
    uint32_t id_off, id_len;
    /* XXH3-128 of the _id string (id_len > 0), taken on the parser thread
     * for the uniqueness check of the in-order stage (id_check.c) */
    uint64_t id_hash_lo, id_hash_hi;
    uint32_t line_idx;
    int64_t key_pos;     /* pos after minimal representation */
    bool dropped;
    bool digested;       /* in batch->digests (the parser accepted it) */
    uint8_t coll;        /* its collection, when the batch's source fills
                            several (batch->multi: a GTF)  */
} sfl_docrec_t;

/* At most this many runs of one contig in a batch take the fast path of
 * the sorting check (sfl_parsed_batch_t.runs) */
#define SFL_BATCH_MAX_RUNS 8

typedef struct sfl_parsed_batch {
    uint64_t seq;
    uint32_t source_index;
    sfl_collection_t collection;

    char *text;          /* the chunk: whole lines, '\n'-terminated */
    size_t text_len, text_cap;
    uint64_t first_line;
    int64_t end_voffset;
    uint64_t file_offset; /* compressed bytes consumed so far (progress) */

    uint8_t *buf;
    size_t buf_len, buf_cap;
    sfl_docrec_t *docs;
    size_t n_docs, cap_docs;
    sfl_linerec_t *lines;
    size_t n_lines, cap_lines;
    char *msgs;          /* NUL-separated messages for rejected lines */
    size_t msgs_len, msgs_cap;

    /* counters */
    uint64_t records, no_alt, blank, thinned, csq_unmatched, non_finite;
    /* the '\r's before a '\n' that the parser job dropped (reader.c hands
     * out whole blocks; they are not text read) */
    uint64_t cr_dropped;
    uint64_t *missing;   /* per schema slot (VCF); NULL for coverage */
    int n_missing;
    uint32_t *miss;      /* slots lacking, per line (sfl_linerec_t.miss_off) */
    size_t n_miss, cap_miss;
    /* VCF: population keys a line carries that the header does not
     * declare (AC_<code>): the line and the code's place in `text`. */
    struct sfl_undeclared { uint32_t line_idx, off, len; } *undeclared;
    size_t n_undeclared, cap_undeclared;

    /* [SFL_N_COLLECTIONS]: the digest of the documents marked `digested`,
     * per collection, once `has_digests` */
    sfl_digest_t *digests;
    bool has_digests;
    /* VCF with the metrics collection: the metrics' values of the batch's
     * documents, taken as they are built (metrics.h); else NULL */
    struct sfl_metrics_part *mpart;
    struct sfl_batch_pool *pool; /* where sfl_batch_destroy returns it */

    /* The sorting pre-check of the parser job (sfl_order_scan_batch,
     * order_check.h): `order_ok` when every line passed the parser and,
     * within each run of lines on one contig, positions ascend (strictly
     * for coverage) under one spelling of the contig, no contig making
     * two runs; the runs as line indexes. The in-order stage then checks
     * only each run's first line against the lines before the batch. */
    bool order_ok;
    uint32_t n_runs;
    struct sfl_order_run {
        uint32_t first, last;
    } runs[SFL_BATCH_MAX_RUNS];

    /* dbSNP: the uniqueness pre-check of the parser job
     * (sfl_ids_scan_batch, id_check.h). `ids_ok` when, over the lines
     * that have a document (one each), the batch is sorted by position
     * within each contig, no contig making two runs, and no two lines at
     * one position share an _id; `runs` (above) then holds the runs of
     * one contig as line indexes, first and last line with a document;
     * [runs[0].first, ids_head_end) are the lines of the batch's first
     * position, [ids_tail_first, last run's last] those of its last. The
     * in-order stage then checks only those two groups and each run's
     * first line. */
    bool ids_ok;
    uint32_t ids_head_end, ids_tail_first;
    /* Set while parsing: a line the parser refused (sfl_batch_reject),
     * and the largest document built (sfl_batch_record_doc). When the
     * first is false and the second within MongoDB's limit, the in-order
     * stage need not look at each line for them. */
    bool any_refused;
    uint32_t max_doc_len;
    /* A batch of one collection: its documents as the sink takes them
     * (sfl_batch_list_docs), `out_bytes` in all, once `has_out`; the
     * in-order stage hands this list on as it is while it drops none.
     * `any_dropped`: the in-order stage dropped a document. */
    sfl_doc_t *out;
    size_t cap_out, out_bytes;
    bool has_out, any_dropped;

    bool failed;         /* out of memory while parsing */
    /* GTF and dbSNP: documents go to docs[i].coll; lines left out on
     * purpose (never rejected later: they have no documents). */
    bool multi;
    uint64_t unknown_contig, par_rows, unplaced, other_features;
} sfl_parsed_batch_t;

sfl_parsed_batch_t *sfl_batch_new(void);
/* Frees the batch, or gives it back to its pool. Accepts NULL. */
void sfl_batch_destroy(sfl_parsed_batch_t *b);

/* A stack of idle batches that keep their buffers, so that a run's batches
 * stop allocating (and page-faulting) fresh memory and growing it by
 * realloc after the first few. At most `max_idle` batches wait in it; a
 * batch grown past 64 MiB is freed instead. Safe for concurrent take and
 * destroy. */
typedef struct sfl_batch_pool sfl_batch_pool_t;
sfl_batch_pool_t *sfl_batch_pool_new(size_t max_idle);
/* Frees the idle batches: every batch taken must have been destroyed
 * before. Accepts NULL. */
void sfl_batch_pool_destroy(sfl_batch_pool_t *p);
/* An empty batch: an idle one of the pool (buffers kept, contents reset),
 * else a new one that will return to the pool. NULL when out of memory. */
sfl_parsed_batch_t *sfl_batch_take(sfl_batch_pool_t *p);
/* A chunk buffer that a destroyed batch of the pool gave back (its size in
 * *cap), for the reader to fill again; NULL (and 0) when there is none. */
char *sfl_batch_pool_take_text(sfl_batch_pool_t *p, size_t *cap);

/* Digests every document of an accepted line into b->digests (allocated
 * here), marking each `digested`; sets b->failed when out of memory. Runs
 * in the parser job, after the lines are parsed. */
void sfl_batch_digest(sfl_parsed_batch_t *b);

/* A batch of one collection (not `multi`): lists its documents in b->out
 * for the sink, in order, and sets `has_out`; leaves it unset when out of
 * memory (the in-order stage then lists them itself). Runs in the parser
 * job, after the lines are parsed. */
void sfl_batch_list_docs(sfl_parsed_batch_t *b);

/* Appends the record of data line `line` (text at text[off, off+len)) and
 * counts it as read; NULL when out of memory. */
sfl_linerec_t *sfl_batch_add_line(sfl_parsed_batch_t *b, uint64_t line, uint32_t off, size_t len);
/* Records a document already written at buf[off, off+len), its _id string
 * at buf[off + id_off, + id_len) (id_len 0: not a string), and hashes that
 * string for the in-order stage's uniqueness check. False when out of
 * memory or past the batch's 32-bit offsets. */
bool sfl_batch_record_doc(sfl_parsed_batch_t *b, size_t off, uint32_t len, uint32_t id_off,
                          uint32_t id_len, uint32_t line_idx, int64_t key_pos);
/* The _id string of document `d` (not NUL-terminated), `*len` bytes. */
static inline const char *sfl_batch_doc_id(const sfl_parsed_batch_t *b, const sfl_docrec_t *d,
                                           uint32_t *len)
{
    *len = d->id_len;
    return (const char *)b->buf + d->off + d->id_off;
}
/* The xpos code of the contig `chrom` of line `rec` (GTF, dbSNP): 1..25;
 * or 0 when it has none, the line then counted in b->unknown_contig
 * (`skip`) or rejected with a message naming file, line and contig. */
int sfl_batch_contig(sfl_parsed_batch_t *b, sfl_linerec_t *rec, bool skip, const char *path,
                     const char *chrom, size_t len);
/* Line `rec` lacks the field of schema slot `slot`: counted in
 * b->missing and in the line's own list. False when out of memory. */
bool sfl_batch_line_missing(sfl_parsed_batch_t *b, sfl_linerec_t *rec, int slot);
/* Line `line_idx` carries INFO population key of code text[off, off+len)
 * that the header does not declare. False when out of memory. */
bool sfl_batch_undeclared(sfl_parsed_batch_t *b, uint32_t line_idx, uint32_t off, uint32_t len);
/* Marks line `rec` as rejected with a printf-style message. */
void sfl_batch_reject(sfl_parsed_batch_t *b, sfl_linerec_t *rec, uint32_t code,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline const char *sfl_batch_msg(const sfl_parsed_batch_t *b, const sfl_linerec_t *r)
{
    return b->msgs + r->msg_off;
}

#endif

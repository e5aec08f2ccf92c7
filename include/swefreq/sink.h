/* swefreq/sink.h: where finished documents go.
 *
 * A sink is a small vtable (begin, write, commit, abort, destroy). The
 * conversion pipeline hands it batches of finished BSON documents in input
 * order, and does not know which sink it feeds: the dry run, the dump, the
 * JSON-lines printer and MongoDB are implementations of the same interface,
 * and a program that links the library can add its own.
 *
 * Call order made by sfl_job_run(): begin once, write zero or more times,
 * then exactly one of commit (everything converted and checked) or abort
 * (anything failed). destroy is called by sfl_sink_destroy().
 *
 * Thread safety: a sink is driven from one thread at a time (the thread
 * that calls sfl_job_run); an implementation may use threads inside.
 */
#ifndef SWEFREQ_SINK_H
#define SWEFREQ_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swefreq/error.h"
#include "swefreq/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The browser's collections. */
typedef enum {
    SFL_COLL_VARIANTS = 0, /* "variants"      */
    SFL_COLL_COVERAGE = 1, /* "base_coverage" */
    SFL_COLL_GENES = 2,       /* "genes"       (from a GTF)          */
    SFL_COLL_TRANSCRIPTS = 3, /* "transcripts" (from a GTF)          */
    SFL_COLL_EXONS = 4,       /* "exons"       (from a GTF)          */
    SFL_COLL_DBSNP = 5,       /* "dbsnp"                             */
    SFL_COLL_METRICS = 6,     /* "metrics"     (from the variants)   */
    SFL_N_COLLECTIONS = 7
} sfl_collection_t;

/* "variants", "base_coverage", "genes", ...; "unknown" for an
 * out-of-range value (the rule of every enum name function: never NULL). */
SFL_API const char *sfl_collection_name(sfl_collection_t c);

/* One BSON document: `len` bytes at `data`, `_id` its first field. */
typedef struct {
    const uint8_t *data;
    uint32_t len;
} sfl_doc_t;

/* A batch of documents for one collection, from consecutive lines of one
 * source file. Everything it points to is borrowed: valid only during the
 * write call. */
typedef struct {
    sfl_collection_t collection;
    const sfl_doc_t *docs;
    size_t n_docs;
    size_t n_bytes;          /* sum of docs[i].len                        */
    uint32_t source_index;   /* order in which the source was added       */
    const char *source_path; /* the path as given                         */
    uint64_t first_line;     /* 1-based line numbers in the source        */
    uint64_t last_line;
    int64_t end_voffset;     /* BGZF virtual offset just after last_line  */
} sfl_batch_t;

/* How DP_HIST / GQ_HIST become genotype_depths / genotype_qualities
 * (sfl_options_t.histograms). */
typedef enum {
    SFL_HIST_PAIRS = 0,   /* [[[mid, count], ...], [...]]: the browser's   */
    SFL_HIST_COLUMNS = 1, /* [{mids: [...], counts: [...]}, {...}]         */
    SFL_HIST_NONE = 2     /* left out                                      */
} sfl_histograms_t;

/* What a run will write, handed to the sink's begin: the one place a sink
 * learns the collections and the shape of the documents, so that no
 * setting of the sink can disagree with the job's. Fields are only ever
 * added at the end; struct_size is the size the library filled in, and a
 * sink reads a field only when SFL_RUN_INFO_HAS says it is there. */
typedef struct {
    size_t struct_size;                  /* sizeof(sfl_run_info_t) of the library */
    bool collections[SFL_N_COLLECTIONS]; /* true for each collection the job fills */
    sfl_histograms_t histograms;         /* the shape of the variants' histograms */
} sfl_run_info_t;

#define SFL_RUN_INFO_HAS(run, field)                                                               \
    ((run)->struct_size >= offsetof(sfl_run_info_t, field) + sizeof((run)->field))

/* A sink's operations. Only `write` is required; begin, commit, abort and
 * destroy may be NULL (then: begin and commit succeed doing nothing, abort
 * and destroy do nothing). Ops are only ever added at the end: set
 * struct_size = sizeof(sfl_sink_ops_t) of the headers you build with, and
 * a later library treats the ops your struct does not have as NULL. A
 * struct_size larger than the running library's sfl_sink_ops_t (built
 * against newer headers) is refused, since its new ops would never be
 * called. */
typedef struct {
    size_t struct_size; /* sizeof(sfl_sink_ops_t) */
    /* `run` describes the run (borrowed, valid during the call). */
    bool (*begin)(void *ctx, const sfl_run_info_t *run, sfl_error_t *err);
    bool (*write)(void *ctx, const sfl_batch_t *batch, sfl_error_t *err);
    /* `manifest` describes exactly what was written; borrowed. */
    bool (*commit)(void *ctx, const sfl_manifest_t *manifest,
                   sfl_error_t *err);
    void (*abort)(void *ctx);
    void (*destroy)(void *ctx);
    /* New ops go here. */
} sfl_sink_ops_t;

typedef struct sfl_sink sfl_sink_t;

/* Wraps an implementation. `ops` is copied. On success `ctx` is owned by
 * the sink from here on and released through ops->destroy (by
 * sfl_sink_destroy). On failure (NULL ops, a bad struct_size, no write op,
 * out of memory) NULL is returned with err filled, ops->destroy is not
 * called, and `ctx` is still the caller's to free. */
SFL_API sfl_sink_t *sfl_sink_new(const sfl_sink_ops_t *ops, void *ctx,
                                 sfl_error_t *err) SFL_WUR;

/* NULL arguments: a NULL handle or required pointer never crashes;
 * constructors then return NULL with SFL_E_USAGE in err. */

/* Accepts and discards everything: the dry run. */
SFL_API sfl_sink_t *sfl_sink_null_new(sfl_error_t *err) SFL_WUR;

/* Prints each document as one line of relaxed extended JSON to `out`
 * (borrowed; must outlive the sink). */
SFL_API sfl_sink_t *sfl_sink_jsonl_new(FILE *out, sfl_error_t *err) SFL_WUR;

/* A mongorestore-compatible dump: OUT_DIR/DB/<collection>.bson and
 * <collection>.metadata.json (with the browser's indexes), and
 * OUT_DIR/DB/manifest.json.
 *
 * A dump is one release: on commit the folder OUT_DIR/DB is replaced
 * whole, holding exactly the collections of this run. Collections of an
 * earlier dump there that this run does not write are gone (a
 * coverage-only dump leaves no variants.bson): the folder and its
 * manifest.json always describe one run.
 *
 * Files: everything is written into the hidden folder
 * OUT_DIR/.DB.partial.<pid>, renamed to OUT_DIR/DB on commit (an earlier
 * OUT_DIR/DB is first renamed to OUT_DIR/.DB.old.<pid>, then its dump files
 * are removed); abort removes the hidden folder. OUT_DIR is created if
 * needed and may itself be a symbolic link; nothing below it is ever
 * reached through one: a link at OUT_DIR/DB, an OUT_DIR/DB that is not a
 * folder, or one holding a file a dump does not write is refused
 * (SFL_E_WRITE), before anything is written and again on commit.
 *
 * Lock: begin takes an flock() on OUT_DIR/.DB.lock (created with
 * O_NOFOLLOW, holding the pid; removed on commit or abort). A second dump
 * into the same OUT_DIR and DB, from any process, fails at begin with
 * SFL_E_LOCKED naming the holder; it does not wait. Dumps of other DB
 * names into one OUT_DIR do not block each other.
 *
 * Leftovers: holding the lock, begin removes what dumps of DB killed hard
 * left in OUT_DIR, only for processes that no longer exist: their
 * .DB.partial.<pid> (with every file in it) and the dump files of their
 * .DB.old.<pid>; a link under such a name is removed as a link, never
 * followed.
 *
 * `out_dir` and `db` are copied; `db` must not contain '/' or '.', and is
 * at most 200 bytes. */
SFL_API sfl_sink_t *sfl_sink_dump_new(const char *out_dir, const char *db,
                                      sfl_error_t *err) SFL_WUR;

/* The same, and manifest.json is signed with `key` (swefreq/sign.h, may
 * be NULL: unsigned): the signature over the exact bytes written is
 * manifest.json.sig, written into the hidden folder beside the manifest,
 * so the two are published together by the one rename; nothing is signed
 * by path after the folder is in place. Every file of the hidden folder
 * (created 0700, opened once) is created with O_EXCL|O_NOFOLLOW relative
 * to it, and commit refuses (SFL_E_WRITE) when the entry at the hidden
 * name is no longer that folder. `key` is borrowed: it must outlive the
 * sink. */
struct sfl_signing_key;
SFL_API sfl_sink_t *sfl_sink_dump_new_signed(const char *out_dir, const char *db,
                                             const struct sfl_signing_key *key,
                                             sfl_error_t *err) SFL_WUR;

/* The converter's documents without a sink of your own: `fn` gets each
 * batch (finished BSON documents, `_id` first, in input order, borrowed
 * during the call) on the thread that runs sfl_job_run. Returning false
 * stops the run: the job aborts and sfl_job_run returns false with the
 * error `fn` set, or SFL_E_CANCELLED if it set none. Nothing is kept or
 * written; the job's manifest still records the digests of what `fn` got. */
typedef bool (*sfl_batch_fn)(void *ud, const sfl_batch_t *batch, sfl_error_t *err);
SFL_API sfl_sink_t *sfl_sink_callback_new(sfl_batch_fn fn, void *ud, sfl_error_t *err) SFL_WUR;

/* Destroys a sink; accepts NULL. */
SFL_API void sfl_sink_destroy(sfl_sink_t *sink);

#ifdef __cplusplus
}
#endif
#endif

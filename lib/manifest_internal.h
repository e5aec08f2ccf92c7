/* manifest_internal.h: building a manifest from inside the library. */
#ifndef SFL_MANIFEST_INTERNAL_H
#define SFL_MANIFEST_INTERNAL_H

#include <bson/bson.h>

#include <time.h>

#include "swefreq/digest.h"
#include "swefreq/job.h"
#include "swefreq/manifest.h"
#include "regions.h"

/* A source file of a run, as the manifest records it. */
typedef struct {
    char *path;
    char *abs_path;    /* realpath() when the run began, or NULL */
    sfl_source_kind_t kind;
    uint64_t size;
    char hash[65];     /* SHA-256, hex */
    uint64_t records;  /* data lines read */
    time_t mtime;
    sfl_style_t style; /* resolved from the header (VCF) */
    /* VCF: the consequence field read (summary and manifest) */
    char *csq_key, *csq_format;
    bool csq_overridden, v40_repaired;
    sfl_genome_t genome; /* when hemizygotes were computed */
    /* A gene table, after the GTF: its rows and those that joined no GTF
     * gene (manifest `unjoined_rows`, only once counted). */
    bool join_counted;
    uint64_t table_rows, unjoined_rows;
} sfl_source_record_t;

/* Everything a run's manifest says. All borrowed. */
typedef struct {
    const sfl_options_t *opt;            /* the resolved options            */
    uint64_t rejected_lines;             /* skipped under --max-errors      */
    const sfl_source_record_t *sources;  /* in the order read               */
    size_t n_sources;
    const sfl_digest_t *digests;         /* [SFL_N_COLLECTIONS]             */
    const bool *used;                    /* [SFL_N_COLLECTIONS]: written?   */
    uint64_t unknown_contig_lines;       /* left out by skip_unknown_contigs */
    const sfl_regions_t *regions;           /* NULL or none: whole files */
} sfl_manifest_input_t;

/* Assembles the manifest of a finished run (docs/manifest.md): the tool,
 * the document-shaping options, each source and each collection written
 * with its count, digest and indexes. NULL with err when out of memory. */
sfl_manifest_t *sfl_manifest_build(const sfl_manifest_input_t *in, sfl_error_t *err);

/* The manifest of a partitioned load from its n parts' manifests
 * (manifest_merge.c): counts, bytes and digests added, sources' records
 * summed, everything else equal in every part (else SFL_E_MANIFEST naming
 * the part and the field). reads[k * n_sources + i] says whether part k
 * read source i. `metrics` (may be NULL) replaces the metrics collection's
 * figures. A source no part found a record in is refused (SFL_E_EMPTY)
 * unless allow_empty. */
sfl_manifest_t *sfl_manifest_merge(const sfl_manifest_t *const *parts, size_t n,
                                   const bool *reads, const sfl_digest_t *metrics,
                                   bool allow_empty, sfl_error_t *err);
/* The same, each source's path and abs_path taken from `names` (the
 * group's plan: the paths as given to plan, whatever paths the parts were
 * given). */
sfl_manifest_t *sfl_manifest_merge_named(const sfl_manifest_t *const *parts, size_t n,
                                         const bool *reads, const sfl_digest_t *metrics,
                                         bool allow_empty, const sfl_manifest_t *names,
                                         sfl_error_t *err);

/* Takes a complete manifest document (the JSON shape of docs/manifest.md
 * as BSON), validates it and builds the accessor views. `doc` is copied. */
sfl_manifest_t *sfl_manifest_from_bson(const bson_t *doc, sfl_error_t *err);

/* The rules a manifest document must meet before it is used (see
 * manifest_check.c): whole numbers, the browser's collection names, at
 * least one source, and exactly the collections its sources fill. False
 * with SFL_E_MANIFEST naming the field and the collection or source. */
bool sfl_manifest_check(const bson_t *doc, sfl_error_t *err);

/* No object in `doc`, at any depth, holds a key twice ("count" twice, or
 * "format_version" twice): false with SFL_E_MANIFEST naming the key and
 * the object (such as collections[1]). Checked before anything is read
 * from the document. */
bool sfl_manifest_check_keys(const bson_t *doc, sfl_error_t *err);

/* JSON text with every integer literal outside int64 rewritten as a double
 * (libbson would wrap it around), so that sfl_manifest_check refuses it by
 * name. *out is NULL when nothing needed rewriting, else malloc'd
 * (NUL-terminated, *out_len bytes). False only when out of memory. */
bool sfl_manifest_widen_integers(const char *json, size_t len, char **out, size_t *out_len);
/* Is json[0..len) plain JSON that every reader reads alike: no object key
 * starting with '$' (MongoDB Extended JSON, which libbson turns into a
 * typed value: {"$numberLong": "24"} reads as 24), and nothing but
 * whitespace after the first value? false with err (SFL_E_MANIFEST). */
bool sfl_manifest_plain_json(const char *json, size_t len, sfl_error_t *err);

/* A database name that a release may name (1 to 63 bytes, none of
 * / \ . space " $ or a control byte). */
bool sfl_db_name_ok(const char *s);

/* A new manifest: m's document with "release": {number, database} set
 * (replacing any), validated again (docs/manifest.md, Releases). NULL with
 * err when number is 0, database is not a valid name, or out of memory. */
sfl_manifest_t *sfl_manifest_with_release(const sfl_manifest_t *m, uint64_t number,
                                          const char *database, sfl_error_t *err);

/* The folder (ending in '/') of the file the manifest was read from, or
 * NULL when it was not read from a file; borrowed. */
const char *sfl_manifest_dir(const sfl_manifest_t *m);

/* Records `path` as the file m was read from (its folder is where
 * relative source paths are looked up); false when out of memory. */
bool sfl_manifest_set_origin(sfl_manifest_t *m, const char *path);

/* The file the manifest was read from, as named, or NULL; borrowed. */
const char *sfl_manifest_file(const sfl_manifest_t *m);

/* The key id of the trusted key whose signature of the file was checked
 * when it was read (sfl_manifest_read_signed), or NULL; borrowed. */
const char *sfl_manifest_signer(const sfl_manifest_t *m);
bool sfl_manifest_set_signer(sfl_manifest_t *m, const char *key_id);

/* The manifest's document; borrowed. */
const bson_t *sfl_manifest_bson(const sfl_manifest_t *m);

/* The manifest's regions as text, "CHROM:START-END ..." (0-based,
 * half-open; "-end" for a whole contig), "" when it has none; malloc'd,
 * NULL when out of memory. */
char *sfl_manifest_regions_text(const sfl_manifest_t *m);

/* The kind of digest that collection entry `c` holds: a digest to check it
 * starts as sfl_digest_init_kind(&d, sfl_manifest_digest_kind(c)). */
sfl_digest_kind_t sfl_manifest_digest_kind(const sfl_manifest_collection_t *c);

/* `d` gives exactly entry `c`: the same count and the same digest. */
bool sfl_manifest_collection_matches(const sfl_manifest_collection_t *c, const sfl_digest_t *d);

/* Writes m as the new file manifest.json of the open folder `dirfd`
 * (O_EXCL|O_NOFOLLOW, fsynced) and, with a key `k`, its signature over
 * those exact bytes as manifest.json.sig beside it (sign.c). `shown`
 * names the folder in messages. */
struct sfl_signing_key;
bool sfl_manifest_write_at(const sfl_manifest_t *m, int dirfd, const char *shown,
                           const struct sfl_signing_key *k, sfl_error_t *err);
/* sfl_manifest_read_file; with `nofollow`, a symbolic link at `path` is
 * refused (SFL_E_MANIFEST) rather than followed: for the manifest.json
 * inside a dump folder. */
sfl_manifest_t *sfl_manifest_read_file_ex(const char *path, bool nofollow, sfl_error_t *err);

#endif

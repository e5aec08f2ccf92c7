/* common.c: exit codes, messages, progress and summaries for every command.
 *
 * The CLI owns the terminal: errors and warnings go to stderr, progress is
 * drawn only when stderr is a terminal, and results (JSON summaries,
 * verify reports) go to stdout.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_prog = "swefreq-load";

const char *cli_exit_codes_help =
    "Exit codes:\n"
    "  0    success (verify: everything matches)\n"
    "  1    internal error (out of memory, threads)\n"
    "  2    usage error (bad command line)\n"
    "  3    bad input: a source file, manifest, key file or URI file is missing, corrupt or\n"
    "       invalid (a URI file also when group or others may read it); a region file's\n"
    "       bad or overlapping region, a region's unknown contig, or no .tbi/.csi index;\n"
    "       a partitioned load's stale index (plan, part) or parts whose record counts\n"
    "       differ from the index's (finish: nothing swapped)\n"
    "  4    cannot write output (dump, manifest, rejects file, stdout)\n"
    "  5    verify found a difference\n"
    "  6    server unreachable or timed out\n"
    "  7    server authentication failed\n"
    "  8    server refused a write, or cannot store the document shape\n"
    "  9    refused by the database's state (a load lock held, sealed, another role, or\n"
    "       a release not newer than the one it records, or released for another\n"
    "       database), or --shard-key on a server that is not a mongos of MongoDB >= 5.0,\n"
    "       or onto a collection with zones\n"
    "  10   signature refused: the manifest is unsigned, the signature is wrong, or the\n"
    "       key is not trusted (--trusted-key, SWEFREQ_TRUSTED_KEYS)\n"
    "  11   a part of a partitioned load (or its group) is already complete: nothing\n"
    "       was done (load --group --part, finish)\n"
    "  12   not ready, retry later: the group's plan is not recorded yet, or parts are\n"
    "       still running or unfinished (load --group --part, finish)\n"
    "  130  interrupted\n";

int cli_exit_code(const sfl_error_t *e)
{
    switch (e->code) {
    case SFL_OK: return EXIT_OK;
    case SFL_E_USAGE: return EXIT_USAGE;
    case SFL_E_OPEN: case SFL_E_COMPRESSION: case SFL_E_HEADER: case SFL_E_LINE:
    case SFL_E_UNSORTED: case SFL_E_DUPLICATE: case SFL_E_TOO_MANY_ERRORS: case SFL_E_MANIFEST:
    case SFL_E_EMPTY: case SFL_E_TOO_LARGE: case SFL_E_KEY: case SFL_E_REGION:
        return EXIT_INPUT;
    case SFL_E_SIGNATURE: return EXIT_SIGNATURE;
    case SFL_E_WRITE: return EXIT_OUTPUT;
    case SFL_E_MISMATCH: return EXIT_MISMATCH;
    case SFL_E_SERVER_UNREACHABLE: case SFL_E_SERVER_TIMEOUT: return EXIT_UNREACHABLE;
    case SFL_E_SERVER_AUTH: return EXIT_AUTH;
    case SFL_E_SERVER_WRITE: case SFL_E_SERVER_CAPABILITY: case SFL_E_SERVER: return EXIT_SERVER;
    case SFL_E_CANCELLED: return EXIT_INTERRUPTED;
    case SFL_E_PART_DONE: return EXIT_PART_DONE;
    case SFL_E_NOT_READY: return EXIT_NOT_READY;
    case SFL_E_LOCKED: case SFL_E_SEALED: case SFL_E_ROLE: case SFL_E_SWAP_PENDING:
    case SFL_E_SHARDING:
    case SFL_E_RELEASE:
        return EXIT_STATE;
    default: return EXIT_INTERNAL;
    }
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const struct {
    const char *lib, *cli;
} flag_map[] = {
    {"sfl_options_t.skip_unknown_contigs", "--skip-unknown-contigs"},
    {"sfl_options_t.max_errors", "--max-errors"},
    {"sfl_options_t.allow_empty", "--allow-empty"},
    {"sfl_options_t.csq_field", "--csq-field"},
    {"sfl_options_t.csq_format", "--csq-format"},
    {"sfl_options_t.genome", "--genome"},
    {"sfl_options_t.vep_features", "--vep-features"},
    {"sfl_options_t.histograms", "--histograms"},
    {"sfl_options_t.chunk_bytes", "--chunk-size"},
    {"sfl_options_t.threads", "--threads"},
    {"sfl_options_t.coverage_step", "--coverage-step"},
    {"sfl_mongo_options_t.expect_role", "--expect-role or SWEFREQ_EXPECT_ROLE"},
    {"sfl_mongo_options_t.release_number", "--release"},
    {"sfl_mongo_options_t.release_db", "--release-db"},
    {"sfl_mongo_options_t.role", "--role"},
    {"sfl_mongo_options_t.break_lock", "--break-lock"},
    {"sfl_mongo_options_t.write_concern", "--write-concern"},
    {"sfl_mongo_options_t.resume", "--resume"},
    {"sfl_mongo_options_t.insert_threads", "--insert-threads"},
    {"sfl_mongo_options_t.scan_threads", "--scan-threads"},
    {"sfl_mongo_options_t.scan_mode", "--scan-mode"},
    {"sfl_mongo_options_t.batch_docs", "--batch-docs"},
    {"sfl_mongo_options_t.lock_stale_seconds", "--lock-timeout"},
    {"sfl_mongo_options_t.record_ms", "--record-interval"},
    {"sfl_mongo_options_t.shard_key", "--shard-key"},
    {"sfl_mongo_options_t.restore_manifest", "--manifest"},
    {"sfl_mongo_unseal", "swefreq-load unseal --reason TEXT"},
    {"the reason argument", "--reason TEXT"},
    {"the manifest argument", "--manifest FILE"},
    {"the db argument", "--db"},
    {"the out_dir argument", "--out"},
    {"sfl_mongo_promote_signed", "--trusted-key"},
    {"sfl_job_add_region", "--region"},
    {"sfl_job_add_regions_file", "--regions-file"},
};

/* The replacement at s, if any (the longest name that matches, so that
 * ".role" does not take ".role_x"); its length in *n. */
static const char *flag_at(const char *s, size_t *n)
{
    const char *best = NULL;
    size_t best_n = 0;
    if (*s != 's' && *s != 't')
        return NULL;
    for (size_t i = 0; i < sizeof flag_map / sizeof flag_map[0]; i++) {
        size_t l = strlen(flag_map[i].lib);
        if (l <= best_n || strncmp(s, flag_map[i].lib, l) != 0)
            continue;
        char after = s[l]; /* s holds all l bytes: never past its end */
        if (after != '_' && !(after >= 'a' && after <= 'z')) {
            best = flag_map[i].cli;
            best_n = l;
        }
    }
    *n = best_n;
    return best;
}

char *cli_flags_dup(const char *msg)
{
    size_t cap = strlen(msg) * 2 + 64, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = msg; *p;) {
        size_t n;
        const char *flag = flag_at(p, &n);
        const char *add = flag ? flag : p;
        size_t k = flag ? strlen(flag) : 1;
        if (len + k + 1 > cap) {
            char *bigger = realloc(out, cap = (len + k + 1) * 2);
            if (!bigger) {
                free(out);
                return NULL;
            }
            out = bigger;
        }
        memcpy(out + len, add, k);
        len += k;
        p += flag ? n : 1;
    }
    out[len] = '\0';
    return out;
}

const char *cli_flags(const char *msg)
{
    static char *last;
    free(last);
    last = cli_flags_dup(msg);
    return last ? last : msg;
}

const char *cli_visible(const char *s, bool keep_newline)
{
    /* A few buffers in turn, so that one printf can show several. */
    static char *bufs[8];
    static unsigned next;
    if (!s)
        return "";
    size_t n = strlen(s);
    char *out = malloc(4 * n + 1);
    if (!out)
        return "(out of memory)";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool c1 = c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f;
        if ((c < 0x20 && !(keep_newline && c == '\n')) || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\x%02x", c);
        } else if (c1) { /* U+0080..U+009F: C1 controls (CSI is U+009B) */
            o += (size_t)sprintf(out + o, "\\u%04x", (unsigned char)s[++i]);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    unsigned k = next++ % (sizeof bufs / sizeof *bufs);
    free(bufs[k]);
    bufs[k] = out;
    return out;
}

void cli_print_error(const sfl_error_t *err)
{
    cli_error("%s", err->message[0] ? cli_visible(cli_flags(err->message), true)
                                    : sfl_error_code_name(err->code));
}

void cli_term_init(cli_term_t *t, bool quiet)
{
    memset(t, 0, sizeof *t);
    t->quiet = quiet;
    t->tty = !quiet && isatty(STDERR_FILENO);
}

void cli_progress_done(cli_term_t *t)
{
    if (t->progress_shown) {
        fputs("\r\033[K", stderr);
        t->progress_shown = false;
    }
}

void cli_log(void *ud, sfl_log_level_t level, const char *msg)
{
    cli_term_t *t = ud;
    if (t->quiet || level == SFL_LOG_DEBUG || (level == SFL_LOG_INFO && !t->verbose))
        return;
    cli_progress_done(t);
    if (level == SFL_LOG_WARNING && ++t->warnings > 20) {
        if (t->warnings == 21)
            fprintf(stderr, "%s: warning: further warnings are not shown (see the summary and "
                            "the rejects file)\n", cli_prog);
        return;
    }
    fprintf(stderr, "%s: %s: %s\n", cli_prog,
            level == SFL_LOG_ERROR ? "error" : level == SFL_LOG_WARNING ? "warning" : "info",
            cli_visible(cli_flags(msg), true));
}

void cli_progress(void *ud, const sfl_progress_t *p)
{
    cli_term_t *t = ud;
    if (!t->tty)
        return;
    double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total : 0;
    double rate = p->seconds > 0 ? (double)p->docs / p->seconds : 0;
    double eta = frac > 0.001 ? p->seconds * (1 - frac) / frac : 0;
    fprintf(stderr, "\r\033[K%5.1f%%  %llu documents  %.0f docs/s  ETA %d:%02d", frac * 100,
            (unsigned long long)p->docs, rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
    t->progress_shown = true;
}

bool cli_parse_u64(const char *opt, const char *s, unsigned long long *out)
{
    char *end = NULL;
    if (!s || !isdigit((unsigned char)*s)) {
        cli_error("%s needs a non-negative integer, not '%s'", opt, s ? s : "");
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) {
        cli_error("%s needs a non-negative integer, not '%s'", opt, s);
        return false;
    }
    if (errno == ERANGE) {
        cli_error("%s: '%s' is too large (at most %llu)", opt, s, ULLONG_MAX);
        return false;
    }
    *out = v;
    return true;
}

void cli_print_summary(const sfl_job_t *job, const char *what)
{
    const sfl_summary_t *s = sfl_job_summary(job);
    fprintf(stderr, "%s: %s: %llu records read from %llu file%s in %.2f s (%d thread%s)\n",
            cli_prog, what, (unsigned long long)s->records_read, (unsigned long long)s->sources,
            s->sources == 1 ? "" : "s", s->seconds, s->threads, s->threads == 1 ? "" : "s");
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (s->docs[c])
            fprintf(stderr, "  %-14s %llu documents, %.1f MB of BSON\n",
                    sfl_collection_name((sfl_collection_t)c), (unsigned long long)s->docs[c],
                    (double)s->bson_bytes[c] / 1e6);
    if (s->rejected) {
        fprintf(stderr, "  rejected lines: %llu (", (unsigned long long)s->rejected);
        bool first = true;
        for (uint32_t i = 0; i < 64; i++)
            if (s->rejected_by_code[i]) {
                fprintf(stderr, "%s%s %llu", first ? "" : ", ", sfl_error_code_name(i),
                        (unsigned long long)s->rejected_by_code[i]);
                first = false;
            }
        fprintf(stderr, ")\n");
    }
    if (s->no_alt_sites)
        fprintf(stderr, "  sites without ALT: %llu\n", (unsigned long long)s->no_alt_sites);
    if (s->blank_lines)
        fprintf(stderr, "  blank lines skipped: %llu\n", (unsigned long long)s->blank_lines);
    if (s->coverage_thinned)
        fprintf(stderr, "  coverage rows left out by --coverage-step: %llu\n",
                (unsigned long long)s->coverage_thinned);
    if (s->unknown_contig_lines)
        fprintf(stderr, "  lines on contigs without an xpos code left out: %llu\n",
                (unsigned long long)s->unknown_contig_lines);
    if (s->gtf_other_features)
        fprintf(stderr, "  GTF lines of other features (start_codon, ...) left out: %llu\n",
                (unsigned long long)s->gtf_other_features);
    if (s->dbsnp_par_rows || s->dbsnp_unplaced_rows)
        fprintf(stderr, "  dbSNP rows left out: %llu on PAR, %llu without a position\n",
                (unsigned long long)s->dbsnp_par_rows, (unsigned long long)s->dbsnp_unplaced_rows);
    if (s->csq_unmatched)
        fprintf(stderr, "  CSQ entries matching no ALT: %llu\n",
                (unsigned long long)s->csq_unmatched);
    if (s->non_finite)
        fprintf(stderr, "  NaN/Inf numbers stored as null: %llu\n",
                (unsigned long long)s->non_finite);
    for (size_t i = 0; i < s->n_missing; i++)
        fprintf(stderr, "  lines lacking %s: %llu (stored as null)\n", s->missing_names[i],
                (unsigned long long)s->missing_counts[i]);
    if (s->unterminated_lines)
        fprintf(stderr, "  last lines without a newline (file cut?): %llu\n",
                (unsigned long long)s->unterminated_lines);
    for (size_t i = 0; i < s->n_annotations; i++) {
        const sfl_annotation_used_t *a = &s->annotations[i];
        if (a->field) {
            /* The Format itself is in --json and the manifest: here its size. */
            unsigned fields = 1;
            for (const char *p = a->format; p && *p; p++)
                fields += *p == '|';
            fprintf(stderr, "  consequence field of %s: %s, %u fields%s%s\n", a->source, a->field,
                    fields, a->format_overridden ? " (Format from --csq-format)" : "",
                    a->gnomad_v40_repair ? " (gnomAD v4.0 entries: SIFT|PolyPhen added)" : "");
        } else
            fprintf(stderr, "  consequence field of %s: none\n", a->source);
    }
    for (size_t i = 0; i < s->n_undeclared_pops; i++)
        fprintf(stderr, "  lines carrying undeclared population %s: %llu (left out)\n",
                s->undeclared_pop_names[i], (unsigned long long)s->undeclared_pop_counts[i]);
    for (size_t i = 0; i < s->n_table_joins; i++)
        fprintf(stderr, "  %s (%s): %llu rows, %llu joining no GTF gene\n",
                s->table_joins[i].source, s->table_joins[i].kind,
                (unsigned long long)s->table_joins[i].rows,
                (unsigned long long)s->table_joins[i].unjoined_rows);
    for (size_t i = 0; i < s->n_warnings; i++)
        fprintf(stderr, "  warning: %s\n", cli_flags(s->warnings[i]));
}

/* Text from a report shown to a person: no control character of it
 * reaches the terminal (a collection name is the database writer's). */
#define V(s) cli_visible((s), false)

/* The manifest a verify checked against, for a person. */
static void print_reference(const sfl_verify_report_t *r)
{
    sfl_verify_reference_t ref;
    if (!sfl_verify_report_reference(r, &ref) || !ref.source)
        return;
    if (!strcmp(ref.source, "database")) {
        printf("manifest   the database's own copy (manifest in force, load id%s ",
               ref.n_load_ids == 1 ? "" : "s");
        for (size_t i = 0; i < ref.n_load_ids; i++)
            printf("%s%s", i ? ", " : "", V(ref.load_ids[i]));
        printf("%s)\n", ref.n_load_ids ? "" : "unknown");
    } else if (!strcmp(ref.source, "dump")) {
        printf("manifest   the dump's own %s\n", ref.path ? V(ref.path) : "manifest.json");
    } else if (ref.path) {
        printf("manifest   file %s\n", V(ref.path));
    } else {
        printf("manifest   given by the caller\n");
    }
    if (ref.signer)
        printf("           signed by %s\n", V(ref.signer));
}

void cli_print_verify(const sfl_verify_report_t *r)
{
    print_reference(r);
    for (size_t i = 0; i < sfl_verify_report_n_collections(r); i++) {
        const sfl_verify_item_t *it = sfl_verify_report_collection(r, i);
        if (it->status == SFL_VERIFY_UNLISTED) {
            printf("collection %-14s %-15s not in the manifest", V(it->name),
                   sfl_verify_status_name(it->status));
            if (!strchr(it->name, '.')) /* a database's collection, not a dump's file */
                printf(" (%llu documents)", (unsigned long long)it->actual_count);
            printf("\n");
            continue;
        }
        printf("collection %-14s %-15s expected %llu documents, digest %s", V(it->name),
               sfl_verify_status_name(it->status), (unsigned long long)it->expected_count,
               it->expected_digest);
        if (it->status != SFL_VERIFY_OK && it->status != SFL_VERIFY_ABSENT)
            printf("; found %llu, digest %s", (unsigned long long)it->actual_count,
                   it->actual_digest);
        printf("\n");
    }
    for (size_t i = 0; i < sfl_verify_report_n_sources(r); i++) {
        const sfl_verify_item_t *it = sfl_verify_report_source(r, i);
        const char *hash = it->format >= 2 ? "sha256" : "xxh3";
        printf("source     %s: %s", V(it->name), sfl_verify_status_name(it->status));
        if (it->status == SFL_VERIFY_CHANGED)
            printf(" (expected %llu bytes %s %s, found %llu bytes %s %s)",
                   (unsigned long long)it->expected_size, hash, it->expected_digest,
                   (unsigned long long)it->actual_size, hash, it->actual_digest);
        printf("\n");
    }
    for (size_t i = 0; i < sfl_verify_report_n_indexes(r); i++) {
        const sfl_verify_item_t *it = sfl_verify_report_index(r, i);
        printf("index      %s: %s\n", V(it->name), sfl_verify_status_name(it->status));
    }
    sfl_role_t role;
    bool sealed;
    const char *problem;
    if (sfl_verify_report_role(r, &role, &sealed, &problem))
        printf("database   role %s, %s%s%s\n", sfl_role_name(role), sealed ? "sealed" : "not sealed",
               problem ? ": " : "", problem ? V(cli_flags(problem)) : "");
    sfl_release_check_t rel;
    if (sfl_verify_report_release(r, &rel)) {
        printf("release    manifest sha256 %s signed by key %s: ", V(rel.manifest_sha256),
               V(rel.key_id));
        if (rel.problem)
            printf("differs: %s\n", V(cli_flags(rel.problem)));
        else if (rel.recorded_manifest_sha256[0])
            printf("the release promote recorded\n");
        else
            printf("nothing recorded to compare with (the database was never promoted)\n");
    }
    for (size_t i = 0; i < sfl_verify_report_n_warnings(r); i++)
        printf("warning    %s\n", V(cli_flags(sfl_verify_report_warning(r, i))));
    printf("%s\n", sfl_verify_report_ok(r) ? "verify: OK" : "verify: FAILED");
}

void cli_print_json_outcome(const sfl_job_t *job, int rc, const sfl_error_t *err)
{
    cli_print_json_outcome_with(job, rc, err, NULL);
}

void cli_print_json_outcome_with(const sfl_job_t *job, int rc, const sfl_error_t *err,
                                 const char *extra)
{
    char *raw = sfl_job_summary_json(job);
    char *js = raw ? cli_flags_dup(raw) : NULL; /* the warnings name flags */
    free(raw);
    if (!js)
        return;
    size_t n = strlen(js);
    if (n && js[n - 1] == '}')
        js[n - 1] = '\0';
    printf("%s, \"ok\" : %s, \"exit_code\" : %d, \"error\" : ", js, rc ? "false" : "true", rc);
    if (rc) {
        cli_json_string(stdout, cli_flags(err->message));
    } else {
        printf("null");
    }
    if (extra)
        printf(", %s", extra);
    printf(" }\n");
    free(js);
}

int cli_finish_verify(sfl_verify_report_t *r, bool json)
{
    int rc = sfl_verify_report_ok(r) ? EXIT_OK : EXIT_MISMATCH;
    if (json) {
        /* the report, with "exit_code" and "error" as every verify object;
         * its warnings and problems name flags */
        char *raw = sfl_verify_report_json(r);
        char *js = raw ? cli_flags_dup(raw) : NULL;
        free(raw);
        size_t n = js ? strlen(js) : 0;
        while (n && js[n - 1] != '}')
            n--;
        if (n) {
            js[n - 1] = '\0';
            printf("%s, \"exit_code\" : %d, \"error\" : null }\n", js, rc);
        } else {
            sfl_error_t e;
            sfl_error_set(&e, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
            rc = EXIT_INTERNAL;
            cli_print_verify_failure(rc, &e, false);
        }
        free(js);
    } else {
        cli_print_verify(r);
    }
    sfl_verify_report_destroy(r);
    return rc;
}

void cli_json_manifest_fields(FILE *f, const sfl_manifest_t *m)
{
    if (m)
        fprintf(f, ", \"manifest_format_version\" : %d, \"warnings\" : [",
                sfl_manifest_format_version(m));
    else
        fprintf(f, ", \"manifest_format_version\" : null, \"warnings\" : [");
    if (sfl_manifest_warning(m))
        cli_json_string(f, sfl_manifest_warning(m));
    fprintf(f, "]");
}

void cli_print_verify_failure(int rc, const sfl_error_t *err, bool swap_pending)
{
    printf("{ \"ok\" : false, \"exit_code\" : %d, \"swap_pending\" : %s, \"error\" : ", rc,
           swap_pending ? "true" : "false");
    cli_json_string(stdout, err->message[0] ? cli_flags(err->message) : sfl_error_code_name(err->code));
    printf(" }\n");
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

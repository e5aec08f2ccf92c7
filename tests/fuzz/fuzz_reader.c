/* fuzz_reader.c: libFuzzer target for whole source files through the
 * reader and the pipeline (BGZF block checks, header, lines) into a null
 * sink.
 *
 * The first byte is the setting: bit 0 = a coverage file (else a VCF),
 * bit 1 = the rest is wrapped in BGZF here (so the fuzzer reaches the
 * header and line parsers through valid blocks; else the rest is the file
 * as it is: raw BGZF, plain text or garbage). The file goes to a memfd and
 * is converted twice, with 1 and with 3 threads: the outcome (success,
 * error code and message, counts) must be the same, every failure must
 * carry a message naming the file, and nothing may crash or leak.
 */
#include <htslib/bgzf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "swefreq/swefreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    bool ok;
    sfl_error_t err;
    uint64_t records, docs[SFL_N_COLLECTIONS], rejected, unterminated;
} outcome_t;

static void convert(const char *path, bool coverage, int threads, outcome_t *o)
{
    sfl_options_t opt;
    sfl_options_init(&opt);
    opt.threads = threads;
    opt.chunk_bytes = 4096;
    opt.max_errors = 3;
    opt.allow_empty = true;
    memset(o, 0, sizeof *o);
    sfl_job_t *job = sfl_job_new(&opt, &o->err);
    sfl_sink_t *sink = sfl_sink_null_new(&o->err);
    if (!job || !sink ||
        !sfl_job_add_source(job, coverage ? SFL_SOURCE_COVERAGE : SFL_SOURCE_VCF, path, &o->err))
        abort();
    o->ok = sfl_job_run(job, sink, &o->err);
    const sfl_summary_t *s = sfl_job_summary(job);
    o->records = s->records_read;
    memcpy(o->docs, s->docs, sizeof o->docs);
    o->rejected = s->rejected;
    o->unterminated = s->unterminated_lines;
    sfl_sink_destroy(sink);
    sfl_job_destroy(job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool inited = false;
    if (!inited) {
        sfl_init();
        inited = true;
    }
    if (size < 1 || size > (1u << 20))
        return 0;
    bool coverage = data[0] & 1, wrap = data[0] & 2;
    int fd = memfd_create("fuzz_reader", 0);
    if (fd < 0)
        abort();
    if (wrap) {
        BGZF *w = bgzf_dopen(dup(fd), "w");
        if (!w || bgzf_write(w, data + 1, size - 1) != (ssize_t)(size - 1) || bgzf_close(w) != 0)
            abort();
    } else if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        abort();
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    outcome_t a, b;
    convert(path, coverage, 1, &a);
    convert(path, coverage, 3, &b);
    close(fd);
    if (!a.ok && (!a.err.code || !strstr(a.err.message, path)))
        abort(); /* a failure names the file */
    if (a.ok != b.ok || a.err.code != b.err.code || strcmp(a.err.message, b.err.message) != 0 ||
        a.records != b.records || a.rejected != b.rejected || a.unterminated != b.unterminated ||
        memcmp(a.docs, b.docs, sizeof a.docs) != 0) {
        fprintf(stderr, "threads change the outcome:\n  1: %d %s\n  3: %d %s\n", a.ok,
                a.err.message, b.ok, b.err.message);
        abort();
    }
    return 0;
}

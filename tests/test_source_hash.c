/* The sources' SHA-256 taken beside the pipeline (issue 25): the manifest
 * names each source by the hash of the bytes converted, for every sink
 * that hashes late (null, callback, dump); a source the hash cannot read
 * fails the run with the hash's own message, whatever the sink and even
 * when the pipeline fails too; a source changed after the pipeline read
 * it, before its hash, fails the run instead of naming other bytes; a
 * cancel stops a slow hash at once.
 *
 * Faults are forced on the hash's reads only: this test is linked with
 * -Wl,--wrap=pread, and __wrap_pread fails or holds the library's 1 MiB
 * reads (digest.c's hash; the reader's own preads are block frames of at
 * most 64 KiB, and htslib, a shared library, is not wrapped) of the one
 * file chosen by inode. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

enum { FAULT_NONE, FAULT_EIO, FAULT_CHANGE_AFTER_READ, FAULT_SLOW };

static atomic_int fault = FAULT_NONE;
static ino_t fault_ino;
static const char *fault_path;
static atomic_int fault_hits;     /* reads of the chosen file the fault met */
static atomic_int second_started; /* a batch of source 1 reached the sink */

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
    struct stat st;
    int f = atomic_load(&fault);
    if (f == FAULT_NONE || n != (size_t)1 << 20 || fstat(fd, &st) != 0 || st.st_ino != fault_ino)
        return __real_pread(fd, buf, n, off);
    if (atomic_fetch_add(&fault_hits, 1) == 0 && f == FAULT_CHANGE_AFTER_READ) {
        /* Hold the hash until the pipeline has read the whole file (its
         * own check at the end passed: the next source is being sent), then
         * change the file (at most 10 s: a hash taken before the pipeline
         * would wait forever). */
        for (int i = 0; i < 1000 && !atomic_load(&second_started); i++)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        int afd = open(fault_path, O_WRONLY | O_APPEND);
        if (afd >= 0) {
            if (write(afd, "\n", 1) != 1)
                perror("append");
            close(afd);
        }
    }
    if (f == FAULT_EIO) {
        errno = EIO;
        return -1;
    }
    if (f == FAULT_SLOW) { /* 64 bytes every 20 ms: a 38 KB file takes 12 s */
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        return __real_pread(fd, buf, 64, off);
    }
    return __real_pread(fd, buf, n, off);
}

static char tmpdir[256];

static bool on_batch(void *ud, const sfl_batch_t *b, sfl_error_t *err)
{
    (void)err;
    (*(uint64_t *)ud) += b->n_docs;
    if (b->source_index == 1)
        atomic_store(&second_started, 1);
    return true;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK(fwrite(buf, 1, n, out) == n);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

typedef enum { SINK_CALLBACK, SINK_NULL, SINK_DUMP } sink_kind_t;

/* Runs the job (VCF `vcf`, then coverage `cov`) into a sink of `kind`;
 * the manifest's sources into `sha`/`size` on success. */
static bool run(sink_kind_t kind, const char *vcf, const char *cov, int threads,
                char sha[2][65], uint64_t size[2], uint64_t *docs, sfl_error_t *err)
{
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = threads;
    o.chunk_bytes = 4096; /* many batches: the pipeline runs while the hash does */
    sfl_job_t *job = sfl_job_new(&o, err);
    CHECK(job != NULL);
    CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, vcf, err));
    CHECK(sfl_job_add_source(job, SFL_SOURCE_COVERAGE, cov, err));
    char out[512];
    snprintf(out, sizeof out, "%s/dump", tmpdir);
    sfl_sink_t *sink = kind == SINK_CALLBACK ? sfl_sink_callback_new(on_batch, docs, err)
                       : kind == SINK_NULL   ? sfl_sink_null_new(err)
                                             : sfl_sink_dump_new(out, "db", err);
    CHECK(sink != NULL);
    bool ok = sfl_job_run(job, sink, err);
    sfl_sink_destroy(sink);
    const sfl_manifest_t *m = sfl_job_manifest(job);
    CHECK(ok == (m != NULL));
    for (size_t i = 0; m && i < 2 && i < sfl_manifest_n_sources(m); i++) {
        memcpy(sha[i], sfl_manifest_source(m, i)->sha256, 65);
        size[i] = sfl_manifest_source(m, i)->size;
    }
    sfl_job_destroy(job);
    if (kind == SINK_DUMP) {
        struct stat st;
        char db[600];
        snprintf(db, sizeof db, "%s/db", out);
        CHECK(ok == (stat(db, &st) == 0)); /* a failed dump leaves no folder */
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
        CHECK(system(cmd) == 0);
    }
    return ok;
}

static void expect_hashes(const char *vcf, const char *cov, char sha[2][65], uint64_t size[2])
{
    const char *paths[2] = {vcf, cov};
    for (int i = 0; i < 2; i++) {
        char want[65];
        uint64_t want_size = 0;
        sfl_error_t err;
        CHECK(sfl_hash_file(paths[i], want, &want_size, &err));
        CHECK_STR(sha[i], want);
        CHECK_INT(size[i], want_size);
    }
}

/* Every sink that hashes beside the pipeline names the bytes converted. */
static void test_hashes(const char *vcf, const char *cov)
{
    for (int kind = SINK_CALLBACK; kind <= SINK_DUMP; kind++)
        for (int threads = 1; threads <= 3; threads++) {
            char sha[2][65] = {"", ""};
            uint64_t size[2] = {0, 0}, docs = 0;
            sfl_error_t err;
            sfl_error_clear(&err);
            bool ok = run((sink_kind_t)kind, vcf, cov, threads, sha, size, &docs, &err);
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "sink %d, %d threads: %s\n", kind, threads, err.message);
            expect_hashes(vcf, cov, sha, size);
            if (kind == SINK_CALLBACK)
                CHECK(docs > 0);
        }
}

/* A read error in the hash (EIO on the coverage file's hash, or on the
 * VCF's while its pipeline fails too) fails the run with the hash's
 * message and code, as when the hash came first. */
static void test_read_error(const char *vcf, const char *cov, const char *bad_vcf)
{
    struct {
        const char *vcf, *faulty;
    } cases[] = {{vcf, cov}, {bad_vcf, bad_vcf}};
    for (size_t c = 0; c < 2; c++)
        for (int kind = SINK_CALLBACK; kind <= SINK_DUMP; kind++) {
            struct stat st;
            CHECK(stat(cases[c].faulty, &st) == 0);
            fault_ino = st.st_ino;
            atomic_store(&fault_hits, 0);
            atomic_store(&fault, FAULT_EIO);
            char sha[2][65];
            uint64_t size[2], docs = 0;
            sfl_error_t err;
            sfl_error_clear(&err);
            CHECK(!run((sink_kind_t)kind, cases[c].vcf, cov, 2, sha, size, &docs, &err));
            atomic_store(&fault, FAULT_NONE);
            CHECK(atomic_load(&fault_hits) >= 1);
            char want[600];
            snprintf(want, sizeof want, "%s: read error: %s", cases[c].faulty, strerror(EIO));
            CHECK_STR(err.message, want);
            CHECK_INT(err.code, SFL_E_OPEN);
            CHECK_INT(err.domain, SFL_DOMAIN_INPUT);
        }
}

/* The VCF changes (a byte appended) after the pipeline read it whole and
 * before its hash: the run fails naming it, rather than writing a
 * manifest whose hash names bytes that were not converted. The callback
 * sink shows when the pipeline has gone on to the next source; with the
 * null and dump sinks the byte is appended as the hash starts, whether
 * or not the pipeline has read the file yet: the run fails naming it, by
 * the hash's check or by the pipeline's own. */
static void test_changed_after_read(const char *vcf, const char *cov)
{
    for (int kind = SINK_CALLBACK; kind <= SINK_DUMP; kind++) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s/changing.vcf", tmpdir);
        copy_file(vcf, copy);
        struct stat st;
        CHECK(stat(copy, &st) == 0);
        fault_ino = st.st_ino;
        fault_path = copy;
        atomic_store(&fault_hits, 0);
        atomic_store(&second_started, kind != SINK_CALLBACK);
        atomic_store(&fault, FAULT_CHANGE_AFTER_READ);
        char sha[2][65];
        uint64_t size[2], docs = 0;
        sfl_error_t err;
        sfl_error_clear(&err);
        CHECK(!run((sink_kind_t)kind, copy, cov, 2, sha, size, &docs, &err));
        atomic_store(&fault, FAULT_NONE);
        CHECK(atomic_load(&fault_hits) >= 1);
        char want[600], pipeline_saw[600];
        snprintf(want, sizeof want, "%s: the file changed while it was being read", copy);
        snprintf(pipeline_saw, sizeof pipeline_saw, "%s: read error after ", copy);
        if (kind == SINK_CALLBACK)
            CHECK_STR(err.message, want);
        else
            CHECK(strcmp(err.message, want) == 0 ||
                  strncmp(err.message, pipeline_saw, strlen(pipeline_saw)) == 0);
        CHECK_INT(err.code, SFL_E_OPEN);
        unlink(copy);
    }
}

static bool cancel_on_batch(void *ud, const sfl_batch_t *b, sfl_error_t *err)
{
    (void)b;
    (void)err;
    sfl_job_cancel(ud);
    return true;
}

/* A cancel stops the hash too, between two reads: the run ends at once
 * (SFL_E_CANCELLED), not after the slow hash's 12 s. */
static void test_cancel(const char *vcf)
{
    struct stat st;
    CHECK(stat(vcf, &st) == 0);
    fault_ino = st.st_ino;
    atomic_store(&fault_hits, 0);
    atomic_store(&fault, FAULT_SLOW);
    sfl_error_t err;
    sfl_error_clear(&err);
    sfl_options_t o;
    sfl_options_init(&o);
    o.threads = 2;
    o.chunk_bytes = 4096;
    sfl_job_t *job = sfl_job_new(&o, &err);
    CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, vcf, &err));
    sfl_sink_t *sink = sfl_sink_callback_new(cancel_on_batch, job, &err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(!sfl_job_run(job, sink, &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    atomic_store(&fault, FAULT_NONE);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* (the hash may have stopped before its first read) */
    CHECK_INT(err.code, SFL_E_CANCELLED);
    CHECK_INT(err.domain, SFL_DOMAIN_CANCEL);
    CHECK(secs < 6.0);
    if (secs >= 6.0)
        fprintf(stderr, "the cancelled run took %.1f s\n", secs);
    CHECK(sfl_job_manifest(job) == NULL);
    sfl_sink_destroy(sink);
    sfl_job_destroy(job);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_source_hash TESTDATA_DIR\n");
        return 2;
    }
    sfl_init();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sfl_test_source_hash.XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    char vcf[512], cov[512], bad[512];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", argv[1]);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", argv[1]);
    snprintf(bad, sizeof bad, "%s/bad/duplicate_variant.vcf", argv[1]);
    test_hashes(vcf, cov);
    test_read_error(vcf, cov, bad);
    test_changed_after_read(vcf, cov);
    test_cancel(vcf);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
    sfl_cleanup();
    return t_done("test_source_hash");
}

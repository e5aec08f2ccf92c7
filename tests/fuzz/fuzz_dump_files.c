/* fuzz_dump_files.c: libFuzzer target for the dump sink's file handling.
 *
 * Each input builds a folder OUT beside a folder KEEP (a dump's files and
 * an unrelated file, known contents) and then runs a dump of a tiny
 * coverage file into OUT/swefreq. The input's bytes choose what stands
 * under each name the sink creates, replaces or cleans up: OUT/swefreq,
 * OUT/.swefreq.lock, the leftovers .swefreq.partial.<pid> and
 * .swefreq.old.<pid> of a dead process and .swefreq.partial.<own pid>:
 * absent, a file, a folder of dump files, a folder with a foreign file, a
 * folder holding links into KEEP, a link to KEEP or to a file in it, a
 * dangling link, a FIFO. A last byte chooses a good or a bad source (the
 * sink's commit or its abort).
 *
 * Whatever the state: KEEP must stay byte for byte as it was, nothing may
 * block (a FIFO is never opened), the lock file must be gone at the end,
 * and a run that succeeded must have left a folder OUT/swefreq (not a
 * link) with a manifest.json, and no leftover of this process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swefreq/swefreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keep_files[] = {"manifest.json", "variants.bson", "notes.txt"};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* KEEP's files still hold their names as contents, and nothing else is
 * there. */
static void check_keep(const char *keep)
{
    char p[2048], buf[64];
    size_t n = 0;
    DIR *d = opendir(keep);
    if (!d)
        abort();
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    if (n != sizeof keep_files / sizeof keep_files[0])
        abort();
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%.1024s/%s", keep, keep_files[i]);
        FILE *f = fopen(p, "r");
        if (!f)
            abort();
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        if (strcmp(buf, keep_files[i]) != 0)
            abort();
    }
}

/* What stands under `name` in OUT, chosen by `how`. */
static void plant(const char *out, const char *name, int how, const char *keep)
{
    char p[2048], q[4096];
    snprintf(p, sizeof p, "%.1024s/%.512s", out, name);
    switch (how % 9) {
    case 0: break;
    case 1: write_file(p, "x"); break;
    case 2:
    case 3:
    case 4:
        if (mkdir(p, 0777) != 0)
            abort();
        snprintf(q, sizeof q, "%s/manifest.json", p);
        write_file(q, "{}");
        snprintf(q, sizeof q, "%s/%s", p, how % 9 == 3 ? "mine.txt" : "variants.bson");
        if (how % 9 == 4) {
            if (symlink(keep, q) != 0)
                abort();
            snprintf(q, sizeof q, "%s/base_coverage.bson", p);
            char t[2048];
            snprintf(t, sizeof t, "%.1024s/notes.txt", keep);
            if (symlink(t, q) != 0)
                abort();
        } else {
            write_file(q, "x");
        }
        break;
    case 5:
        if (symlink(keep, p) != 0)
            abort();
        break;
    case 6:
        snprintf(q, sizeof q, "%s/manifest.json", keep);
        if (symlink(q, p) != 0)
            abort();
        break;
    case 7:
        if (symlink("/nonexistent/swefreq-fuzz", p) != 0)
            abort();
        break;
    case 8:
        if (mkfifo(p, 0666) != 0)
            abort();
        break;
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char root[] = "/tmp/sfl_fuzz_dump_XXXXXX";
    if (!mkdtemp(root))
        abort();
    char keep[1024], out[1024], src[1024], p[4096];
    snprintf(keep, sizeof keep, "%s/keep", root);
    snprintf(out, sizeof out, "%s/out", root);
    snprintf(src, sizeof src, "%s/cov.tsv", root);
    if (mkdir(keep, 0777) != 0 || mkdir(out, 0777) != 0)
        abort();
    for (size_t i = 0; i < sizeof keep_files / sizeof keep_files[0]; i++) {
        snprintf(p, sizeof p, "%.1024s/%s", keep, keep_files[i]);
        write_file(p, keep_files[i]);
    }
    char own[64];
    snprintf(own, sizeof own, ".swefreq.partial.%ld", (long)getpid());
    const char *names[] = {"swefreq", ".swefreq.lock", ".swefreq.partial.999999999",
                           ".swefreq.old.999999999", own};
    size_t n_names = sizeof names / sizeof names[0];
    for (size_t i = 0; i < n_names; i++)
        plant(out, names[i], i < size ? data[i] : 0, keep);
    bool bad = size > n_names && (data[n_names] & 1);
    write_file(src, bad ? "#chrom\tpos\tmean\n1\t100\tx\n" : "#chrom\tpos\tmean\n1\t100\t3.5\n");

    sfl_options_t opt;
    sfl_options_init(&opt);
    opt.threads = 1;
    sfl_error_t err;
    sfl_job_t *job = sfl_job_new(&opt, &err);
    sfl_sink_t *sink = sfl_sink_dump_new(out, "swefreq", &err);
    if (!job || !sink || !sfl_job_add_source(job, SFL_SOURCE_COVERAGE, src, &err))
        abort();
    bool ok = sfl_job_run(job, sink, &err);
    if (!ok && !err.message[0])
        abort();
    sfl_sink_destroy(sink);
    sfl_job_destroy(job);

    check_keep(keep);
    struct stat st;
    snprintf(p, sizeof p, "%s/.swefreq.lock", out);
    bool lock_planted = size > 1 && data[1] % 9 != 0;
    if (!lock_planted && lstat(p, &st) == 0)
        abort(); /* our own lock file is removed at the end */
    if (ok) {
        snprintf(p, sizeof p, "%s/swefreq/manifest.json", out);
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
            abort();
        snprintf(p, sizeof p, "%s/swefreq", out);
        if (lstat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            abort();
        snprintf(p, sizeof p, "%s/%s", out, own);
        if (lstat(p, &st) == 0)
            abort();
    }
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

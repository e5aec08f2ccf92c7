/* A manifest written to a named file (sfl_manifest_write_file, a load's
 * and a dump's --manifest FILE; sfl_manifest_write_file_signed): one
 * buffer, a new O_EXCL|O_NOFOLLOW file in the same folder renamed over the
 * name, the signature made over that buffer; a link at the name is
 * replaced (its target untouched), one at the temporary name refused.
 *
 * The dump sink's hidden folder (sink_dump.c): a signed manifest is
 * written and signed inside the hidden folder, so manifest.json and its
 * .sig are published together by the one rename; files there are created
 * with O_EXCL|O_NOFOLLOW (a link planted there is never followed); commit
 * refuses when the hidden folder was replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink_internal.h"
#include "swefreq/swefreq.h"
#include "testutil.h"

static char tmp[256];

static bool exists(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static bool openssl_verifies(const char *pub, const char *file)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s.sig' "
             ">/dev/null 2>&1",
             pub, file, file);
    return system(cmd) == 0;
}

/* A manifest to commit: that of a real dump of exac_sample.vcf. */
static sfl_job_t *made_job(const char *testdata)
{
    sfl_error_t e;
    sfl_options_t o;
    sfl_options_init(&o);
    sfl_job_t *job = sfl_job_new(&o, &e);
    char vcf[600], out[600];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", testdata);
    snprintf(out, sizeof out, "%s/first", tmp);
    CHECK(sfl_job_add_source(job, SFL_SOURCE_VCF, vcf, &e));
    sfl_sink_t *s = sfl_sink_dump_new(out, "db", &e);
    CHECK(sfl_job_run(job, s, &e));
    sfl_sink_destroy(s);
    return job;
}

static void test_signed(const sfl_manifest_t *m, const char *key_path, const char *pub)
{
    sfl_error_t e;
    sfl_signing_key_t *key = sfl_signing_key_read(key_path, &e);
    CHECK(key != NULL);
    char out[600], stage[700], db[700], man[800];
    snprintf(out, sizeof out, "%s/signed", tmp);
    snprintf(db, sizeof db, "%s/db", out);
    snprintf(stage, sizeof stage, "%s/.db.partial.%ld", out, (long)getpid());
    sfl_run_info_t run = {.struct_size = sizeof run};

    /* The final rename refused (a plain file took OUT/DB meanwhile): the
     * manifest and its signature are already in the hidden folder, and
     * nothing was signed or written anywhere else. */
    sfl_sink_t *s = sfl_sink_dump_new_signed(out, "db", key, &e);
    CHECK(sfl_sink_begin_int(s, &run, &e));
    FILE *f = fopen(db, "w");
    CHECK(f != NULL);
    fclose(f);
    CHECK(!sfl_sink_commit_int(s, m, &e));
    CHECK_INT(e.code, SFL_E_WRITE);
    CHECK(exists(stage, "manifest.json") && exists(stage, "manifest.json.sig"));
    snprintf(man, sizeof man, "%s/manifest.json", stage);
    CHECK(openssl_verifies(pub, man));
    CHECK(!exists(out, "db.sig") && !exists(out, "manifest.json.sig"));
    sfl_sink_destroy(s);
    CHECK(!exists(out, strrchr(stage, '/') + 1));
    CHECK(unlink(db) == 0);

    /* Published: the pair verifies in OUT/DB. */
    s = sfl_sink_dump_new_signed(out, "db", key, &e);
    CHECK(sfl_sink_begin_int(s, &run, &e));
    CHECK(sfl_sink_commit_int(s, m, &e));
    sfl_sink_destroy(s);
    snprintf(man, sizeof man, "%s/manifest.json", db);
    CHECK(openssl_verifies(pub, man));
    struct stat st;
    CHECK(stat(db, &st) == 0 && (st.st_mode & 0777) == 0755);

    /* A second signed dump replaces the first (its .sig is a dump file). */
    s = sfl_sink_dump_new_signed(out, "db", key, &e);
    CHECK(sfl_sink_begin_int(s, &run, &e));
    CHECK(sfl_sink_commit_int(s, m, &e));
    sfl_sink_destroy(s);
    CHECK(openssl_verifies(pub, man));
    sfl_signing_key_destroy(key);
}

/* Links planted in the hidden folder are never followed: the file they
 * point to is untouched and the commit fails. */
static void test_planted_links(const sfl_manifest_t *m)
{
    sfl_error_t e;
    char out[600], stage[700], victim[700], p[900];
    snprintf(out, sizeof out, "%s/links", tmp);
    snprintf(stage, sizeof stage, "%s/.db.partial.%ld", out, (long)getpid());
    snprintf(victim, sizeof victim, "%s/victim.txt", tmp);
    FILE *f = fopen(victim, "w");
    CHECK(f != NULL);
    fputs("precious\n", f);
    fclose(f);
    sfl_run_info_t run = {.struct_size = sizeof run};
    sfl_sink_t *s = sfl_sink_dump_new(out, "db", &e);
    CHECK(sfl_sink_begin_int(s, &run, &e));
    struct stat st;
    CHECK(stat(stage, &st) == 0 && (st.st_mode & 0777) == 0700);
    char tmpname[100];
    snprintf(tmpname, sizeof tmpname, "manifest.json.tmp.%ld", (long)getpid());
    const char *names[] = {"manifest.json", "manifest.json.partial", tmpname};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", stage, names[i]);
        CHECK(symlink(victim, p) == 0);
    }
    CHECK(!sfl_sink_commit_int(s, m, &e));
    CHECK_INT(e.code, SFL_E_WRITE);
    sfl_sink_destroy(s);
    char buf[64] = "";
    f = fopen(victim, "r");
    CHECK(f && fgets(buf, sizeof buf, f));
    if (f)
        fclose(f);
    CHECK_STR(buf, "precious\n");
    CHECK(!exists(out, "db"));
}

/* The hidden folder swapped for another one: commit refuses. */
static void test_replaced_stage(const sfl_manifest_t *m)
{
    sfl_error_t e;
    char out[600], stage[700], aside[700];
    snprintf(out, sizeof out, "%s/swapped", tmp);
    snprintf(stage, sizeof stage, "%s/.db.partial.%ld", out, (long)getpid());
    snprintf(aside, sizeof aside, "%s/aside", tmp);
    sfl_run_info_t run = {.struct_size = sizeof run};
    sfl_sink_t *s = sfl_sink_dump_new(out, "db", &e);
    CHECK(sfl_sink_begin_int(s, &run, &e));
    CHECK(rename(stage, aside) == 0);
    CHECK(mkdir(stage, 0755) == 0);
    CHECK(!sfl_sink_commit_int(s, m, &e));
    CHECK_INT(e.code, SFL_E_WRITE);
    CHECK_CONTAINS(e.message, "no longer the staging folder");
    CHECK(!exists(out, "db"));
    sfl_sink_destroy(s);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    if (buf)
        buf[*len] = '\0';
    fclose(f);
    return buf;
}

static bool victim_intact(const char *victim)
{
    size_t n;
    char *v = slurp(victim, &n);
    bool ok = v && !strcmp(v, "victim\n");
    free(v);
    return ok;
}

static void test_manifest_file(const sfl_manifest_t *m, const char *key_path, const char *pub)
{
    sfl_error_t e;
    sfl_signing_key_t *key = sfl_signing_key_read(key_path, &e);
    CHECK(key != NULL);
    char dir[400], victim[500], p[600], link[700], sig[700];
    snprintf(dir, sizeof dir, "%s/mfile", tmp);
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(victim, sizeof victim, "%s/victim", tmp);
    FILE *f = fopen(victim, "w");
    CHECK(f && fputs("victim\n", f) >= 0 && fclose(f) == 0);
    char *json = sfl_manifest_to_json(m);
    CHECK(json != NULL);

    /* A link at the name: replaced, its target untouched; the file holds
     * the manifest and the signature (also planted as a link) is over it. */
    snprintf(p, sizeof p, "%s/release.json", dir);
    snprintf(sig, sizeof sig, "%s.sig", p);
    CHECK(symlink(victim, p) == 0 && symlink(victim, sig) == 0);
    CHECK(sfl_manifest_write_file_signed(m, p, key, &e));
    struct stat st;
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(lstat(sig, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 64);
    CHECK(victim_intact(victim));
    size_t n;
    char *got = slurp(p, &n);
    CHECK(got && n == strlen(json) && !memcmp(got, json, n));
    free(got);
    CHECK(openssl_verifies(pub, p));
    snprintf(link, sizeof link, ".release.json.tmp.%ld", (long)getpid());
    CHECK(!exists(dir, link));

    /* A link planted at the temporary name (and at the name the earlier
     * version used, NAME.tmp.PID): refused, never followed, left alone. */
    snprintf(p, sizeof p, "%s/load.json", dir);
    snprintf(link, sizeof link, "%s/.load.json.tmp.%ld", dir, (long)getpid());
    CHECK(symlink(victim, link) == 0);
    snprintf(link, sizeof link, "%s/load.json.tmp.%ld", dir, (long)getpid());
    CHECK(symlink(victim, link) == 0);
    sfl_error_clear(&e);
    CHECK(!sfl_manifest_write_file(m, p, &e));
    CHECK(e.code == SFL_E_WRITE && strstr(e.message, "load.json") != NULL);
    CHECK(!exists(dir, "load.json") && victim_intact(victim));
    snprintf(link, sizeof link, ".load.json.tmp.%ld", (long)getpid());
    CHECK(lstat(victim, &st) == 0 && exists(dir, link));
    sfl_error_clear(&e);
    CHECK(!sfl_manifest_write_file_signed(m, p, key, &e) && e.code == SFL_E_WRITE);
    CHECK(!exists(dir, "load.json") && !exists(dir, "load.json.sig") && victim_intact(victim));

    /* The same at the signature's temporary name. */
    snprintf(p, sizeof p, "%s/s.json", dir);
    snprintf(link, sizeof link, "%s/.s.json.sig.tmp.%ld", dir, (long)getpid());
    CHECK(symlink(victim, link) == 0);
    sfl_error_clear(&e);
    CHECK(!sfl_manifest_write_file_signed(m, p, key, &e) && e.code == SFL_E_WRITE);
    CHECK(!exists(dir, "s.json.sig") && victim_intact(victim));
    free(json);
    sfl_signing_key_destroy(key);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_dump_safety TESTDATA_DIR\n");
        return 2;
    }
    sfl_init();
    snprintf(tmp, sizeof tmp, "/tmp/sfl_test_dump_safety.XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    char key[400], pub[400], cmd[4000];
    snprintf(key, sizeof key, "%s/release.key", tmp);
    snprintf(pub, sizeof pub, "%s/release.pub", tmp);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm ed25519 -out '%s' 2>/dev/null && chmod 600 '%s' && "
             "openssl pkey -in '%s' -pubout -out '%s' 2>/dev/null",
             key, key, key, pub);
    CHECK(system(cmd) == 0);
    sfl_job_t *job = made_job(argv[1]);
    const sfl_manifest_t *m = sfl_job_manifest(job);
    CHECK(m != NULL);
    test_signed(m, key, pub);
    test_manifest_file(m, key, pub);
    test_planted_links(m);
    test_replaced_stage(m);
    sfl_job_destroy(job);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return t_done("test_dump_safety");
}

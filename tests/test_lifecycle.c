/* The public lifecycle API (swefreq/lifecycle.h), each function called as
 * a C deployment program would, without the CLI.
 *
 * Without a server (label unit): role names, the manifest digest, and the
 * refusals of bad arguments. With one (SWEFREQ_TEST_URI or
 * SWEFREQ_TEST_URI_FILE, label mongo): load through the API, role_get,
 * verify_mongo_opts and verify_report_role, export, restore, promote,
 * status_json, unseal, and the role and seal refusals with their error
 * codes. */
#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

static const char *td;

static void offline(void)
{
    CHECK_STR(sfl_role_name(SFL_ROLE_NONE), "none");
    CHECK_STR(sfl_role_name(SFL_ROLE_DEVELOPMENT), "development");
    CHECK_STR(sfl_role_name(SFL_ROLE_LIVE), "live");
    CHECK_STR(sfl_role_name((sfl_role_t)9), "unknown");
    sfl_role_t r = SFL_ROLE_NONE;
    CHECK(sfl_role_parse("live", &r) && r == SFL_ROLE_LIVE);
    CHECK(sfl_role_parse("dev", &r) && r == SFL_ROLE_DEVELOPMENT);
    CHECK(!sfl_role_parse("production", &r));
    CHECK(!sfl_role_parse(NULL, &r));
    CHECK(!sfl_role_parse("live", NULL));

    /* The manifest digest depends on the data only, not on sources or time. */
    const char *a = "{\"format\":\"swefreq-load-manifest\",\"format_version\":1,"
                    "\"tool\":{\"name\":\"swefreq-load\",\"version\":\"0\"},"
                    "\"created\":\"2020-01-01T00:00:00Z\",\"options\":{},\"sources\":[{"
                    "\"path\":\"x.vcf\",\"kind\":\"vcf\",\"size\":1,"
                    "\"xxh3_128\":\"0123456789abcdef0123456789abcdef\"}],"
                    "\"collections\":[{\"name\":\"variants\",\"count\":2,\"bytes\":10,"
                    "\"digest\":\"0123456789abcdef0123456789abcdef\"},{\"name\":\"metrics\","
                    "\"count\":0,\"bytes\":0,\"digest\":\"00000000000000000000000000000000\"}]}";
    sfl_error_t e;
    sfl_manifest_t *m = sfl_manifest_parse(a, strlen(a), &e);
    CHECK(m != NULL);
    if (!m)
        fprintf(stderr, "manifest: %s\n", e.message);
    char d1[65], d2[65];
    sfl_manifest_digest(m, d1);
    CHECK_INT(strlen(d1), 64);
    sfl_manifest_digest(m, d2);
    CHECK_STR(d1, d2);
    sfl_manifest_destroy(m);
    {
        /* SHA-256 of the canonical rendering that lifecycle.h documents */
        char path[] = "/tmp/sfl_test_lc_XXXXXX", hex[65];
        int fd = mkstemp(path);
        const char *canon = "swefreq-load-manifest 1\n"
                            "variants 2 10 0123456789abcdef0123456789abcdef\n"
                            "metrics 0 0 00000000000000000000000000000000\n";
        CHECK(fd >= 0 && write(fd, canon, strlen(canon)) == (ssize_t)strlen(canon));
        close(fd);
        CHECK(sfl_hash_file(path, hex, NULL, &e));
        CHECK_STR(d1, hex);
        unlink(path);
    }
    char *b = strdup(a);
    char *p = strstr(b, "\"count\":2");
    p[8] = '3';
    m = sfl_manifest_parse(b, strlen(b), &e);
    sfl_manifest_digest(m, d2);
    CHECK(strcmp(d1, d2) != 0);
    sfl_manifest_destroy(m);
    free(b);

    /* Bad arguments: SFL_E_USAGE, never a crash. */
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    sfl_role_info_t info = {.struct_size = sizeof info};
    CHECK(!sfl_mongo_role_get(NULL, &info, &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_role_get(&o, &info, &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_promote(&o, NULL, false, NULL, &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_unseal(&o, "why", &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_demote(&o, "why", &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_demote(NULL, "why", &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_promote_signed(&o, NULL, NULL, false, NULL, &e) && e.code == SFL_E_USAGE);
    CHECK(sfl_verify_mongo_signed(&o, NULL, NULL, false, &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(sfl_mongo_status_json(&o, &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(sfl_mongo_status_text(&o, &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(sfl_verify_mongo_opts(&o, NULL, false, &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_restore(&o, "x", &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_export(&o, "x", &e) && e.code == SFL_E_USAGE);
    CHECK(sfl_mongo_restore_new(&o, "x", &e) == NULL && e.code == SFL_E_USAGE);
    CHECK(!sfl_mongo_restore_run(NULL, &e) && e.code == SFL_E_USAGE);
    sfl_mongo_restore_cancel(NULL);
    CHECK(sfl_mongo_restore_outcome(NULL) == SFL_MONGO_UNCHANGED);
    sfl_mongo_restore_destroy(NULL);
    o.uri = "mongodb://127.0.0.1:1/";
    o.db = "x";
    o.expect_role = 7;
    CHECK(!sfl_mongo_role_get(&o, &info, &e) && e.code == SFL_E_USAGE);
    o.expect_role = 0;
    CHECK(!sfl_mongo_unseal(&o, "", &e) && e.code == SFL_E_USAGE);
    CHECK(!sfl_verify_report_role(NULL, NULL, NULL, NULL));
    CHECK_INT(sfl_verify_report_n_indexes(NULL), 0);
    CHECK(sfl_verify_report_index(NULL, 0) == NULL);
}

static char *read_uri(void)
{
    const char *u = getenv("SWEFREQ_TEST_URI");
    if (u && *u)
        return strdup(u);
    const char *f = getenv("SWEFREQ_TEST_URI_FILE");
    FILE *fp = f ? fopen(f, "r") : NULL;
    if (!fp)
        return NULL;
    char buf[512] = "";
    if (!fgets(buf, sizeof buf, fp))
        buf[0] = '\0';
    fclose(fp);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? strdup(buf) : NULL;
}

/* Loads the ExAC and coverage samples into db through the public API. */
static bool load(const char *uri, const char *db, sfl_manifest_t **man)
{
    sfl_options_t opt;
    sfl_options_init(&opt);
    opt.histograms = SFL_HIST_COLUMNS; /* FerretDB has no arrays of arrays */
    sfl_error_t e;
    sfl_job_t *j = sfl_job_new(&opt, &e);
    char vcf[1024], cov[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", td);
    bool ok = j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, &e) &&
              sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, &e);
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    o.uri = uri;
    o.db = db;
    o.expect_role = SFL_ROLE_DEVELOPMENT;
    sfl_sink_t *s = ok ? sfl_sink_mongo_new(&o, &e) : NULL;
    ok = s && sfl_job_run(j, s, &e);
    if (!ok)
        fprintf(stderr, "load: %s\n", e.message);
    if (ok && man) {
        char *js = sfl_manifest_to_json(sfl_job_manifest(j));
        *man = js ? sfl_manifest_parse(js, strlen(js), &e) : NULL;
        free(js);
    }
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
    return ok;
}

static void online(const char *uri)
{
    const char *dev = "sfl_api_lc_dev", *live = "sfl_api_lc_live";
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    o.uri = uri;
    sfl_error_t e;
    sfl_manifest_t *loaded = NULL;
    /* The names carry the pid so that reruns never meet old state. */
    char devdb[64], livedb[64];
    snprintf(devdb, sizeof devdb, "%s_%d", dev, (int)getpid());
    snprintf(livedb, sizeof livedb, "%s_%d", live, (int)getpid());
    CHECK(load(uri, devdb, &loaded));

    o.db = devdb;
    sfl_role_info_t info = {.struct_size = sizeof info};
    CHECK(sfl_mongo_role_get(&o, &info, &e));
    CHECK_INT(info.role, SFL_ROLE_DEVELOPMENT);
    CHECK(!info.sealed);
    CHECK_STR(info.changed_by, "load");

    o.expect_role = SFL_ROLE_DEVELOPMENT;
    sfl_verify_report_t *r = sfl_verify_mongo_opts(&o, NULL, false, &e);
    CHECK(r && sfl_verify_report_ok(r));
    CHECK_INT(sfl_verify_report_n_indexes(r), 9); /* variants 7, base_coverage 1, metrics 1 */
    sfl_role_t role = SFL_ROLE_NONE;
    bool sealed = true;
    const char *problem = "x";
    CHECK(sfl_verify_report_role(r, &role, &sealed, &problem));
    CHECK(role == SFL_ROLE_DEVELOPMENT && !sealed && problem == NULL);
    sfl_verify_report_destroy(r);
    o.expect_role = SFL_ROLE_LIVE;
    CHECK(sfl_verify_mongo_opts(&o, NULL, false, &e) == NULL && e.code == SFL_E_ROLE &&
          e.domain == SFL_DOMAIN_STATE);
    o.expect_role = SFL_ROLE_NONE;

    char out[] = "/tmp/sfl_api_lc_XXXXXX";
    CHECK(mkdtemp(out) != NULL);
    CHECK(sfl_mongo_export(&o, out, &e));
    char mpath[512];
    snprintf(mpath, sizeof mpath, "%s/%s/manifest.json", out, devdb);
    sfl_manifest_t *m = sfl_manifest_read_file(mpath, &e);
    CHECK(m != NULL);
    char d1[65] = "", d2[65] = "";
    sfl_manifest_digest(m, d1);
    sfl_manifest_digest(loaded, d2);
    CHECK_STR(d1, d2);

    /* A restore cancelled before it runs stops as a cancelled load: the
     * browser's collections are never created, no staging is left. */
    char canceldb[80];
    snprintf(canceldb, sizeof canceldb, "%s_cancel", devdb);
    o.db = canceldb;
    sfl_restore_t *rs = sfl_mongo_restore_new(&o, out, &e);
    CHECK(rs != NULL);
    sfl_mongo_restore_cancel(rs);
    CHECK(!sfl_mongo_restore_run(rs, &e) && e.code == SFL_E_CANCELLED);
    CHECK(sfl_mongo_restore_outcome(rs) == SFL_MONGO_UNCHANGED);
    CHECK(!sfl_mongo_restore_run(rs, &e) && e.code == SFL_E_USAGE);
    sfl_mongo_restore_destroy(rs);
    {
        mongoc_client_t *mc = mongoc_client_new(uri);
        mongoc_database_t *d = mongoc_client_get_database(mc, canceldb);
        char **names = mongoc_database_get_collection_names_with_opts(d, NULL, NULL);
        bool clean = names != NULL;
        for (char **n = names; n && *n; n++)
            clean = clean && strcmp(*n, "swefreq_meta") == 0;
        CHECK(clean);
        bson_strfreev(names);
        mongoc_database_drop(d, NULL);
        mongoc_database_destroy(d);
        mongoc_client_destroy(mc);
    }

    o.db = livedb;
    o.role = SFL_ROLE_LIVE;
    CHECK(sfl_mongo_restore(&o, out, &e));
    o.role = SFL_ROLE_NONE;
    CHECK(sfl_mongo_role_get(&o, &info, &e) && info.role == SFL_ROLE_LIVE && !info.sealed);
    sfl_verify_report_t *rep = NULL;
    o.expect_role = SFL_ROLE_DEVELOPMENT;
    CHECK(!sfl_mongo_promote(&o, m, false, &rep, &e) && e.code == SFL_E_ROLE && rep == NULL);
    o.expect_role = SFL_ROLE_LIVE;
    CHECK(sfl_mongo_promote(&o, m, false, &rep, &e));
    CHECK(rep && sfl_verify_report_ok(rep));
    sfl_verify_report_destroy(rep);
    CHECK(sfl_mongo_role_get(&o, &info, &e) && info.role == SFL_ROLE_LIVE && info.sealed);
    CHECK_STR(info.manifest_digest, d1);
    CHECK_STR(info.sealed_by, "promote");
    CHECK(!sfl_mongo_restore(&o, out, &e) && e.code == SFL_E_SEALED &&
          e.domain == SFL_DOMAIN_STATE);
    CHECK_CONTAINS(e.message, livedb);
    CHECK(!sfl_mongo_promote(&o, m, false, NULL, &e) && e.code == SFL_E_SEALED);

    char *st = sfl_mongo_status_json(&o, &e);
    CHECK_CONTAINS(st, "\"role\" : \"live\"");
    CHECK_CONTAINS(st, "\"command\" : \"restore\"");
    CHECK_CONTAINS(st, d1);
    free(st);

    CHECK(!sfl_mongo_unseal(&o, NULL, &e) && e.code == SFL_E_USAGE);
    CHECK(sfl_mongo_unseal(&o, "API test", &e));
    st = sfl_mongo_status_text(&o, &e);
    CHECK_CONTAINS(st, "reason: API test");
    CHECK_CONTAINS(st, "restore  complete");
    free(st);
    CHECK(sfl_mongo_role_get(&o, &info, &e) && !info.sealed && info.role == SFL_ROLE_LIVE);
    CHECK(!sfl_mongo_unseal(&o, "again", &e) && e.code == SFL_E_USAGE);
    r = sfl_verify_mongo_opts(&o, m, false, &e);
    CHECK(r && !sfl_verify_report_ok(r));
    CHECK(sfl_verify_report_role(r, &role, &sealed, &problem) && problem != NULL);
    sfl_verify_report_destroy(r);

    sfl_manifest_destroy(m);
    sfl_manifest_destroy(loaded);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
    mongoc_client_t *c = mongoc_client_new(uri);
    for (int i = 0; c && i < 2; i++) {
        mongoc_database_t *d = mongoc_client_get_database(c, i ? livedb : devdb);
        mongoc_database_drop(d, NULL);
        mongoc_database_destroy(d);
    }
    mongoc_client_destroy(c);
}

int main(int argc, char **argv)
{
    td = argc > 1 ? argv[1] : "testdata";
    sfl_init();
    offline();
    char *uri = read_uri();
    bool server = uri != NULL;
    if (server)
        online(uri);
    free(uri);
    sfl_cleanup();
    printf("test_lifecycle: %d checks, %d failed%s\n", t_checks, t_failures,
           server ? "" : " (no server: offline part only)");
    return t_failures ? 1 : 0;
}

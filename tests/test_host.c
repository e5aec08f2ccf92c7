/* The library embedded in a host program that uses libmongoc itself
 * (issue 22, items 1, 2 and 9): the host installs its own libmongoc log
 * handler and keeps its own client to the server before, during and after
 * the library's work, and sfl_init/sfl_cleanup come in both orders around
 * the host's mongoc_init/mongoc_cleanup.
 *
 *   test_host TESTDATA MODE
 *     host-first  host: mongoc_init, handler, client; then sfl_init, load,
 *                 sfl_cleanup, sfl_init again, load again, sfl_cleanup;
 *                 the host's client works throughout; mongoc_cleanup last.
 *     lib-first   sfl_init before the host's mongoc_init; the host calls
 *                 mongoc_cleanup before the library's sfl_cleanup.
 *     own         the host does not use libmongoc: SFL_INIT_OWN_MONGOC;
 *                 the balancing sfl_cleanup shuts libmongoc down and later
 *                 calls are refused with SFL_E_USAGE, not a use-after-free.
 *
 * Without a server (label unit) the log-handler, counting and refusal
 * checks run; with one (SWEFREQ_TEST_URI[_FILE], label mongo) the loads
 * and the host's client run too, and every log and progress callback of
 * the library must arrive on the thread that called sfl_job_run. Built
 * against the public headers and libmongoc only, as a host would be. */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "swefreq/swefreq.h"
#include "testutil.h"

static const char *td;
static char *uri;
static atomic_int host_msgs, other_msgs;

static void host_handler(mongoc_log_level_t level, const char *domain, const char *message,
                         void *ud)
{
    (void)ud;
    if (!strcmp(domain, "host"))
        atomic_fetch_add(&host_msgs, 1);
    else if (strstr(message, "\"endSessions\"")) {
        /* libmongoc's own warning when a client or pool is destroyed and the
         * server refuses endSessions (FerretDB has no such command): the
         * host's handler gets it, as documented in swefreq.h. */
    } else {
        atomic_fetch_add(&other_msgs, 1);
        fprintf(stderr, "libmongoc said (%s, %s): %s\n", mongoc_log_level_str(level), domain,
                message);
    }
}

/* The host's handler sees every message it logs. */
static void host_logs(int expect_total)
{
    mongoc_log(MONGOC_LOG_LEVEL_WARNING, "host", "a host message");
    CHECK_INT(atomic_load(&host_msgs), expect_total);
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

static bool host_ping(mongoc_client_t *c)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t be;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &be);
    if (!ok)
        fprintf(stderr, "host ping: %s\n", be.message);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    return ok;
}

/* The host's own client, used from another thread while a load runs. */
typedef struct {
    atomic_bool stop;
    int pings, failures;
} pinger_t;

static void *pinger_main(void *arg)
{
    pinger_t *p = arg;
    mongoc_client_t *c = mongoc_client_new(uri);
    while (c && !atomic_load(&p->stop)) {
        if (host_ping(c))
            p->pings++;
        else
            p->failures++;
        usleep(20000);
    }
    mongoc_client_destroy(c);
    return NULL;
}

static void drop(mongoc_client_t *c, const char *db)
{
    mongoc_database_t *d = mongoc_client_get_database(c, db);
    mongoc_database_drop(d, NULL);
    mongoc_database_destroy(d);
}

/* Where the library's callbacks came from. */
typedef struct {
    pthread_t runner;
    int calls, foreign;
    char first_foreign[300];
    const char *db;        /* steal: the lock of this database is deleted */
    bool stolen, told;     /* ... at the first progress; the sink said so */
} where_t;

static void note(where_t *w, const char *what)
{
    w->calls++;
    if (strstr(what, "no longer held"))
        w->told = true;
    if (!pthread_equal(pthread_self(), w->runner) && w->foreign++ == 0)
        snprintf(w->first_foreign, sizeof w->first_foreign, "%s", what);
}

/* With w->db: when the sink says it starts building indexes (on the job's
 * thread, with the lock held), the host deletes the load's lock and holds
 * the job's thread for longer than a heartbeat, so that the sink's
 * heartbeat thread finds the lock gone and has something to say while the
 * job's thread is busy. */
static void steal_lock(where_t *w)
{
    w->stolen = true;
    mongoc_client_t *c = mongoc_client_new(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, w->db, "swefreq_meta");
    bson_t q = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&q, "_id", "lock");
    bson_error_t be;
    CHECK(mongoc_collection_delete_one(coll, &q, NULL, NULL, &be));
    bson_destroy(&q);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
    sleep(SFL_LOCK_HEARTBEAT_SECONDS + 2);
}

static void on_log(void *ud, sfl_log_level_t level, const char *msg)
{
    (void)level;
    where_t *w = ud;
    note(w, msg);
    if (w->db && !w->stolen && strstr(msg, "building indexes"))
        steal_lock(w);
}

static void on_progress(void *ud, const sfl_progress_t *p)
{
    (void)p;
    note(ud, "(progress)");
}

/* Loads the ExAC and coverage samples into `db` through the public API;
 * every callback must come from this thread. */
static bool load_ex(const char *db, bool steal, sfl_error_t *e)
{
    where_t w = {.runner = pthread_self(), .db = steal ? db : NULL};
    sfl_options_t opt;
    sfl_options_init(&opt);
    opt.histograms = SFL_HIST_COLUMNS; /* FerretDB has no arrays of arrays */
    opt.chunk_bytes = 4096;            /* many batches: inserters busy */
    opt.log = on_log;
    opt.log_ud = &w;
    opt.progress = on_progress;
    opt.progress_ud = &w;
    sfl_job_t *j = sfl_job_new(&opt, e);
    char vcf[1024], cov[1024];
    snprintf(vcf, sizeof vcf, "%s/exac_sample.vcf", td);
    snprintf(cov, sizeof cov, "%s/coverage_sample.tsv", td);
    bool ok = j && sfl_job_add_source(j, SFL_SOURCE_VCF, vcf, e) &&
              sfl_job_add_source(j, SFL_SOURCE_COVERAGE, cov, e);
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    o.uri = uri;
    o.db = db;
    o.log = on_log;
    o.log_ud = &w;
    o.batch_docs = 7; /* many small inserts, from every inserter thread */
    /* The caller's strings may go as soon as _new returns. */
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char man[512];
    snprintf(man, sizeof man, "%s/sfl_host_test_%ld_%s.json", tmp, (long)getpid(), db);
    if (!strcmp(db, "sfl_host_test_noman")) /* a manifest that cannot be written */
        snprintf(man, sizeof man, "/nonexistent/sfl_host_test.json");
    char *db_copy = strdup(db), *man_copy = strdup(man);
    o.db = db_copy;
    o.manifest_path = man_copy;
    sfl_sink_t *s = ok ? sfl_sink_mongo_new(&o, e) : NULL;
    memset(db_copy, 'x', strlen(db_copy));
    memset(man_copy, 'x', strlen(man_copy));
    free(db_copy);
    free(man_copy);
    ok = s && sfl_job_run(j, s, e);
    if (ok)
        CHECK(unlink(man) == 0); /* the manifest went where it was asked to */
    if (!ok)
        fprintf(stderr, "load into %s: %s\n", db, e->message);
    sfl_sink_destroy(s);
    sfl_job_destroy(j);
    CHECK(w.calls > 0);
    if (steal)
        CHECK(w.told); /* the heartbeat's warning arrived, on this thread */
    CHECK_INT(w.foreign, 0);
    if (w.foreign)
        fprintf(stderr, "%d of %d callbacks came from another thread, first: %s\n", w.foreign,
                w.calls, w.first_foreign);
    return ok;
}

static bool load(const char *db, sfl_error_t *e) { return load_ex(db, false, e); }

/* A load whose lock is taken away: the heartbeat thread notices, and its
 * warning must still reach the log callback on the job's thread; the load
 * then stops before its swap. */
static void load_losing_lock(mongoc_client_t *c)
{
    sfl_error_t e;
    CHECK(!load_ex("sfl_host_test_lock", true, &e));
    CHECK_INT(e.code, SFL_E_LOCKED);
    drop(c, "sfl_host_test_lock");
}

typedef struct {
    int calls, foreign;
    pthread_t runner;
    sfl_progress_t last;
} prog_t;

static void on_prog(void *ud, const sfl_progress_t *p)
{
    prog_t *g = ud;
    g->calls++;
    if (!pthread_equal(pthread_self(), g->runner))
        g->foreign++;
    g->last = *p;
}

/* verify and export of a database, with progress (on this thread) and
 * cancellation. */
static void verify_export_control(const char *db)
{
    sfl_error_t e;
    prog_t g = {.runner = pthread_self()};
    sfl_run_control_t ctl;
    sfl_run_control_init(&ctl);
    ctl.progress = on_prog;
    ctl.progress_ud = &g;
    sfl_verify_report_t *r = sfl_verify_mongo_ctl(NULL, uri, db, false, &ctl, &e);
    CHECK(r && sfl_verify_report_ok(r));
    uint64_t want = 0;
    for (size_t i = 0; r && i < sfl_verify_report_n_collections(r); i++)
        want += sfl_verify_report_collection(r, i)->expected_count;
    sfl_verify_report_destroy(r);
    CHECK(g.calls >= 1 && g.foreign == 0);
    CHECK_INT(g.last.docs, want);
    CHECK(g.last.bytes_done > 0 && g.last.bytes_done == g.last.bytes_total);
    ctl.cancel = sfl_cancel_new();
    sfl_cancel_request(ctl.cancel);
    CHECK(sfl_verify_mongo_ctl(NULL, uri, db, false, &ctl, &e) == NULL);
    CHECK_INT(e.code, SFL_E_CANCELLED);

    char out[] = "/tmp/sfl_host_export_XXXXXX";
    CHECK(mkdtemp(out) != NULL);
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    o.uri = uri;
    o.db = db;
    CHECK(!sfl_mongo_export_ctl(&o, out, &ctl, &e)); /* still cancelled */
    CHECK_INT(e.code, SFL_E_CANCELLED);
    char final[300];
    snprintf(final, sizeof final, "%s/%s", out, db);
    CHECK(access(final, F_OK) != 0); /* nothing under the final name */
    sfl_cancel_destroy(ctl.cancel);
    ctl.cancel = NULL;
    g = (prog_t){.runner = pthread_self()};
    CHECK(sfl_mongo_export_ctl(&o, out, &ctl, &e));
    CHECK(access(final, F_OK) == 0);
    CHECK(g.calls >= 1 && g.foreign == 0);
    CHECK_INT(g.last.docs, want);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK(system(cmd) == 0);
}

/* A load while the host's client pings from another thread. */
static void load_during_host_use(const char *db)
{
    pinger_t p = {.pings = 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, pinger_main, &p) == 0);
    sfl_error_t e;
    CHECK(load(db, &e));
    atomic_store(&p.stop, true);
    pthread_join(t, NULL);
    CHECK(p.pings > 0);
    CHECK_INT(p.failures, 0);
}

static void host_first(void)
{
    mongoc_log_set_handler(host_handler, NULL);
    mongoc_init();
    host_logs(1);
    mongoc_client_t *c = uri ? mongoc_client_new(uri) : NULL;
    if (c)
        CHECK(host_ping(c));
    sfl_init();
    host_logs(2); /* sfl_init left the host's handler alone */
    if (c)
        load_during_host_use("sfl_host_test_a");
    sfl_cleanup();
    host_logs(3);
    if (c)
        CHECK(host_ping(c)); /* libmongoc still up after sfl_cleanup */
    /* sfl_init; sfl_cleanup; sfl_init; sfl_sink_mongo_new: works. */
    sfl_error_t e;
    CHECK(sfl_init_ex(0, &e));
    if (c) {
        load_during_host_use("sfl_host_test_a");
        CHECK(host_ping(c));
        verify_export_control("sfl_host_test_a");
        drop(c, "sfl_host_test_a");
        load_losing_lock(c);
    }
    sfl_cleanup();
    sfl_cleanup(); /* unbalanced: harmless */
    host_logs(4);
    if (c)
        CHECK(host_ping(c));
    mongoc_client_destroy(c);
    mongoc_cleanup();
}

static void lib_first(void)
{
    sfl_init();
    mongoc_log_set_handler(host_handler, NULL);
    mongoc_init();
    host_logs(1);
    mongoc_client_t *c = uri ? mongoc_client_new(uri) : NULL;
    if (c) {
        CHECK(host_ping(c));
        load_during_host_use("sfl_host_test_b");
        CHECK(host_ping(c));
        drop(c, "sfl_host_test_b");
    }
    host_logs(2);
    mongoc_client_destroy(c);
    mongoc_cleanup(); /* the host is done with libmongoc first */
    sfl_cleanup();    /* must not clean up again */
}

static void own(void)
{
    sfl_error_t e;
    CHECK(!sfl_init_ex(0x100, &e) && e.code == SFL_E_USAGE);
    CHECK(sfl_init_ex(SFL_INIT_OWN_MONGOC, &e));
    CHECK(sfl_init_ex(SFL_INIT_OWN_MONGOC, &e));
    sfl_cleanup(); /* one left: libmongoc stays */
    if (uri) {
        CHECK(load("sfl_host_test_c", &e));
        mongoc_client_t *c = mongoc_client_new(uri);
        drop(c, "sfl_host_test_c");
        mongoc_client_destroy(c);
    }
    if (uri) { /* the manifest cannot be written: refused before the swap */
        CHECK(!load("sfl_host_test_noman", &e));
        CHECK_INT(e.code, SFL_E_WRITE);
        CHECK_CONTAINS(e.message, "/nonexistent/sfl_host_test.json.partial");
        mongoc_client_t *c = mongoc_client_new(uri);
        drop(c, "sfl_host_test_noman");
        mongoc_client_destroy(c);
    }
    sfl_cleanup(); /* the last one: mongoc_cleanup() */
    /* libmongoc cannot come back: refused, never touched. */
    CHECK(!sfl_init_ex(0, &e) && e.code == SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "shut down");
    sfl_mongo_options_t o;
    sfl_mongo_options_init(&o);
    o.uri = uri ? uri : "mongodb://127.0.0.1:1/";
    o.db = "sfl_host_test_c";
    sfl_sink_t *s = sfl_sink_mongo_new(&o, &e);
    CHECK(s == NULL && e.code == SFL_E_USAGE);
    CHECK_CONTAINS(e.message, "shut down");
    sfl_sink_destroy(s);
}

int main(int argc, char **argv)
{
    td = argc > 1 ? argv[1] : "testdata";
    const char *mode = argc > 2 ? argv[2] : "host-first";
    uri = read_uri();
    if (!strcmp(mode, "host-first"))
        host_first();
    else if (!strcmp(mode, "lib-first"))
        lib_first();
    else if (!strcmp(mode, "own"))
        own();
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    CHECK_INT(atomic_load(&other_msgs), 0); /* libmongoc itself said nothing */
    printf("test_host %s: %d checks, %d failed%s\n", mode, t_checks, t_failures,
           uri ? "" : " (no server: without loads)");
    free(uri);
    return t_failures ? 1 : 0;
}

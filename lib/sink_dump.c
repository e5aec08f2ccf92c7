/* sink_dump.c: a mongorestore-compatible dump.
 *
 * OUT/DB/<collection>.bson holds the documents back to back (the format
 * mongodump writes), <collection>.metadata.json the browser's indexes, and
 * manifest.json what the dump holds and where it came from.
 *
 * The design: everything is written into a hidden staging folder beside
 * the dump, OUT/.DB.partial.<pid>, and the folder is swapped in as a whole
 * on commit (the old OUT/DB moved aside, the new one renamed into place,
 * the old one removed). A reader of OUT/DB sees the complete old dump, the
 * complete new one, or, for the time of one rename, none; never a mix.
 * Abort removes the staging folder.
 *
 * One dump at a time into OUT/DB: begin takes an flock() on OUT/.DB.lock
 * (holding the holder's pid; kept until commit or abort, then removed) and
 * a second dump is refused (SFL_E_LOCKED) naming the holder. A lock taken
 * on a file that was removed meanwhile is no lock: the path must still
 * name the locked file, else it is taken again. Holding the lock, begin removes the staging and moved-aside
 * folders (.DB.partial.<pid>, .DB.old.<pid>) of dumps killed hard, whose
 * process is gone. A plain file at OUT/DB is refused, never moved aside.
 */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "indexes.h"
#include "json_pretty.h"
#include "manifest_internal.h"
#include "sink_internal.h"

typedef struct {
    char *out; /* OUT */
    char *dir; /* OUT/DB */
    char *stage; /* OUT/.DB.partial.<pid> */
    char *db;
    bool staged; /* the staging folder exists */
    int lock_fd; /* OUT/.DB.lock, flock()ed from begin to commit/abort; -1 */
    char *lock_path;
    FILE *f[SFL_N_COLLECTIONS];
    char *path[SFL_N_COLLECTIONS]; /* stage/<collection>.bson */
    char *iobuf[SFL_N_COLLECTIONS];
} dump_t;

/* Removes a dump folder: its dump files, then the folder (which stays if
 * it holds anything else). Returns true when the folder is gone. */
static bool remove_dump_dir(const char *dir)
{
    /* manifest.json, then <collection>.bson and .metadata.json of each */
    for (int i = -1; i < 2 * SFL_N_COLLECTIONS; i++) {
        const char *name = i < 0 ? "manifest" : sfl_collection_name((sfl_collection_t)(i / 2));
        const char *ext = i < 0 ? ".json" : i % 2 ? ".metadata.json" : ".bson";
        size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
        char *p = malloc(n);
        if (!p)
            return false;
        snprintf(p, n, "%s/%s%s", dir, name, ext);
        unlink(p);
        free(p);
    }
    return rmdir(dir) == 0;
}

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", a, b, c ? c : "");
    return p;
}

static bool mkdirs(const char *path, sfl_error_t *err)
{
    char *tmp = strdup(path);
    if (!tmp)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char save = *p;
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                free(tmp);
                return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                     "%s: cannot create the folder: %s", path, strerror(e));
            }
            *p = save;
            if (!save)
                break;
        }
    }
    free(tmp);
    return true;
}

/* Removes a hidden folder of ours: the files in it, then the folder. */
static void remove_flat_dir(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = path_join(dir, e->d_name, NULL);
        if (p)
            unlink(p);
        free(p);
    }
    closedir(dh);
    rmdir(dir);
}

/* With the lock held: removes OUT/.DB.partial.<pid> and OUT/.DB.old.<pid>
 * left by dumps of DB killed hard (their process no longer exists). */
static void remove_dead_leftovers(dump_t *d)
{
    DIR *dh = opendir(d->out);
    if (!dh)
        return;
    size_t dbl = strlen(d->db);
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        const char *n = e->d_name, *rest;
        if (n[0] != '.' || strncmp(n + 1, d->db, dbl) != 0)
            continue;
        rest = n + 1 + dbl;
        if (!strncmp(rest, ".partial.", 9))
            rest += 9;
        else if (!strncmp(rest, ".old.", 5))
            rest += 5;
        else
            continue;
        if (!*rest || strspn(rest, "0123456789") != strlen(rest) || strlen(rest) > 9)
            continue;
        long pid = strtol(rest, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *p = path_join(d->out, n, NULL);
        if (p)
            remove_flat_dir(p);
        free(p);
    }
    closedir(dh);
}

static void dump_unlock(dump_t *d)
{
    if (d->lock_fd >= 0) {
        unlink(d->lock_path); /* while still holding it */
        close(d->lock_fd);    /* releases the flock */
    }
    d->lock_fd = -1;
}

/* Takes OUT/.DB.lock, or says who holds it. */
static bool dump_lock(dump_t *d, sfl_error_t *err)
{
    char name[300];
    snprintf(name, sizeof name, ".%s.lock", d->db);
    char *path = path_join(d->out, name, NULL);
    if (!path)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    int fd = -1, locked = -1, e = 0;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            break;
        locked = flock(fd, LOCK_EX | LOCK_NB);
        e = errno;
        struct stat a, b;
        if (locked != 0 || (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
                            a.st_dev == b.st_dev))
            break;
        close(fd); /* the holder removed it as we locked it: again */
        fd = -1;
    }
    if (fd < 0) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create the lock file: %s",
                      path, strerror(errno));
        free(path);
        return false;
    }
    if (locked != 0) {
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_LOCKED,
                          "%s: another dump into this folder is running (process %s holds %s); "
                          "nothing was written",
                          d->dir, *holder ? holder : "?", path);
        else
            sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot lock: %s", path,
                          strerror(e));
        free(path);
        return false;
    }
    d->lock_path = path;
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the pid is only for the message of a dump refused */
    }
    d->lock_fd = fd;
    return true;
}

/* OUT/DB must be absent or a folder: a plain file there is not ours. */
static bool dir_is_free_or_folder(const dump_t *d, sfl_error_t *err)
{
    struct stat st;
    if (lstat(d->dir, &st) == 0 && !S_ISDIR(st.st_mode) &&
        !(S_ISLNK(st.st_mode) && stat(d->dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s exists and is not a folder; move it away or choose another "
                             "output folder or database name",
                             d->dir);
    return true;
}

static void dump_close_files(dump_t *d, bool remove)
{
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (d->f[c])
            fclose(d->f[c]);
        d->f[c] = NULL;
        free(d->path[c]);
        d->path[c] = NULL;
        free(d->iobuf[c]);
        d->iobuf[c] = NULL;
    }
    if (remove && d->staged) {
        remove_flat_dir(d->stage);
        d->staged = false;
    }
    dump_unlock(d);
}

static bool dump_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    dump_t *d = ctx;
    if (!mkdirs(d->out, err) || !dump_lock(d, err))
        return false;
    if (!dir_is_free_or_folder(d, err)) {
        dump_unlock(d);
        return false;
    }
    remove_dead_leftovers(d);
    remove_flat_dir(d->stage); /* a leftover of this pid */
    if (mkdir(d->stage, 0777) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create: %s",
                             d->stage, strerror(errno));
    d->staged = true;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!run->collections[c])
            continue;
        d->path[c] = path_join(d->stage, sfl_collection_name((sfl_collection_t)c), ".bson");
        if (!d->path[c])
            return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        d->f[c] = fopen(d->path[c], "wb");
        if (!d->f[c])
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create: %s",
                                 d->path[c], strerror(errno));
        d->iobuf[c] = malloc(1 << 20);
        if (d->iobuf[c])
            setvbuf(d->f[c], d->iobuf[c], _IOFBF, 1 << 20);
    }
    return true;
}

static bool dump_write(void *ctx, const sfl_batch_t *b, sfl_error_t *err)
{
    dump_t *d = ctx;
    FILE *f = d->f[b->collection];
    if (!f)
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE, "collection not begun");
    for (size_t i = 0; i < b->n_docs; i++)
        if (fwrite(b->docs[i].data, 1, b->docs[i].len, f) != b->docs[i].len)
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write: %s",
                                 d->path[b->collection], strerror(errno));
    return true;
}

static bool write_text_atomic(const char *path, const char *text, sfl_error_t *err)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.partial", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fputs(text, f) >= 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write: %s", path,
                      strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

static char *metadata_json(const char *db, sfl_collection_t c)
{
    (void)db;
    bson_t doc = BSON_INITIALIZER, opts, idx;
    uint32_t i = 0;
    bool ok = bson_append_document_begin(&doc, "options", -1, &opts) &&
              bson_append_document_end(&doc, &opts) &&
              bson_append_array_begin(&doc, "indexes", -1, &idx) &&
              sfl_append_index_specs(&idx, c, true, true, &i) && bson_append_array_end(&doc, &idx) &&
              bson_append_utf8(&doc, "collectionName", -1, sfl_collection_name(c), -1) &&
              bson_append_utf8(&doc, "type", -1, "collection", -1);
    char *json = ok ? bson_as_relaxed_extended_json(&doc, NULL) : NULL;
    bson_destroy(&doc);
    if (!json)
        return NULL;
    char *pretty = sfl_json_pretty(json);
    bson_free(json);
    return pretty;
}

static bool dump_commit(void *ctx, const sfl_manifest_t *m, sfl_error_t *err)
{
    dump_t *d = ctx;
    /* 1. Data, metadata and manifest, all inside the staging folder. */
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        if (!d->f[c])
            continue;
        FILE *f = d->f[c];
        d->f[c] = NULL;
        bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
        if (!ok)
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write: %s",
                                 d->path[c], strerror(errno));
        const char *name = sfl_collection_name((sfl_collection_t)c);
        char *meta = path_join(d->stage, name, ".metadata.json");
        char *json = metadata_json(d->db, (sfl_collection_t)c);
        ok = meta && json;
        if (!ok)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        ok = ok && write_text_atomic(meta, json, err);
        free(meta);
        free(json);
        if (!ok)
            return false;
    }
    char *mpath = path_join(d->stage, "manifest.json", NULL);
    if (!mpath)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    bool ok = sfl_manifest_write_file(m, mpath, err);
    free(mpath);
    if (!ok)
        return false;
    /* 2. Swap the folder in: old one aside, new one in place, old removed. */
    size_t n = strlen(d->out) + strlen(d->db) + 48;
    char *old = malloc(n);
    if (!old)
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    snprintf(old, n, "%s/.%s.old.%ld", d->out, d->db, (long)getpid());
    struct stat st;
    if (!dir_is_free_or_folder(d, err)) {
        free(old);
        return false;
    }
    bool had_old = stat(d->dir, &st) == 0;
    if (had_old && rename(d->dir, old) != 0) {
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                      "%s: cannot move the previous dump aside: %s", d->dir, strerror(errno));
        free(old);
        return false;
    }
    if (rename(d->stage, d->dir) != 0) {
        int e = errno;
        if (had_old)
            rename(old, d->dir); /* put the previous dump back */
        free(old);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot rename into place: %s",
                             d->dir, strerror(e));
    }
    d->staged = false;
    if (had_old)
        remove_dump_dir(old); /* holding other files too, it stays, hidden */
    free(old);
    dump_close_files(d, false);
    return true;
}

static void dump_abort(void *ctx) { dump_close_files(ctx, true); }

static void dump_destroy(void *ctx)
{
    dump_t *d = ctx;
    if (!d)
        return;
    dump_close_files(d, true);
    free(d->out);
    free(d->dir);
    free(d->stage);
    free(d->db);
    free(d->lock_path);
    free(d);
}

sfl_sink_t *sfl_sink_dump_new(const char *out_dir, const char *db, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), dump_begin, dump_write,
                                       dump_commit, dump_abort, dump_destroy};
    if (!out_dir || !*out_dir || !db || !*db || strchr(db, '/') || strchr(db, '.')) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a dump needs an output folder and a database name without '/' or '.'");
        return NULL;
    }
    dump_t *d = calloc(1, sizeof *d);
    if (d)
        d->lock_fd = -1;
    char stage_name[300];
    snprintf(stage_name, sizeof stage_name, ".%s.partial.%ld", db, (long)getpid());
    if (!d || !(d->out = strdup(out_dir)) || !(d->dir = path_join(out_dir, db, NULL)) ||
        !(d->stage = path_join(out_dir, stage_name, NULL)) || !(d->db = strdup(db))) {
        if (d) {
            free(d->out);
            free(d->dir);
            free(d->stage);
        }
        free(d);
        sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        return NULL;
    }
    sfl_sink_t *s = sfl_sink_new(&ops, d, err);
    if (!s)
        dump_destroy(d);
    return s;
}

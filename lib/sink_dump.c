/* sink_dump.c: a mongorestore-compatible dump.
 *
 * OUT/DB/<collection>.bson holds the documents back to back (the format
 * mongodump writes), <collection>.metadata.json the browser's indexes, and
 * manifest.json what the dump holds and where it came from.
 *
 * The design: a dump is one release, and OUT/DB is replaced whole.
 * Everything is written into a hidden staging folder beside the dump,
 * OUT/.DB.partial.<pid>, and the folder is swapped in as a whole on commit
 * (the old OUT/DB moved aside to OUT/.DB.old.<pid>, the new one renamed
 * into place, the old one's dump files removed). A reader of OUT/DB sees
 * the complete old dump, the complete new one, or, for the time of one
 * rename, none; never a mix, and never collections of two runs. Abort
 * removes the staging folder.
 *
 * Files are never reached through a link below OUT: OUT is opened once
 * (the folder the user named), and every entry in it is created, renamed
 * and removed relative to that descriptor (safe_fs.c). A link at OUT/DB is
 * refused (a dump would otherwise replace the link, or, worse, empty the
 * folder it points to), and so is an OUT/DB that holds anything but dump
 * files: replacing it whole would take the user's file with it.
 *
 * One dump at a time into OUT/DB: begin takes an flock() on OUT/.DB.lock
 * (opened with O_NOFOLLOW, holding the holder's pid; kept until commit or
 * abort, then removed) and a second dump is refused (SFL_E_LOCKED) naming
 * the holder. A lock taken on a file that was removed meanwhile is no
 * lock: the name must still be the locked file, else it is taken again.
 * Holding the lock, begin removes the staging folders (.DB.partial.<pid>,
 * all their files) and the dump files of moved-aside folders
 * (.DB.old.<pid>) of dumps killed hard, whose process is gone; a link under
 * such a name is removed as a link.
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
#include "safe_fs.h"
#include "sink_internal.h"
#include "swefreq/sign.h"

typedef struct {
    char *out; /* OUT */
    char *dir; /* OUT/DB, for messages */
    char *stage; /* OUT/.DB.partial.<pid>, for messages */
    char *db;
    char stage_name[300], old_name[300], lock_name[300];
    int out_fd; /* OUT, from begin to the end; -1 */
    int stage_fd; /* the staging folder; -1 */
    bool staged; /* the staging folder exists */
    int lock_fd; /* OUT/.DB.lock, flock()ed from begin to commit/abort; -1 */
    FILE *f[SFL_N_COLLECTIONS];
    char *path[SFL_N_COLLECTIONS]; /* stage/<collection>.bson */
    char *iobuf[SFL_N_COLLECTIONS];
    const sfl_signing_key_t *key; /* signs manifest.json in the staging folder; or NULL */
} dump_t;

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

/* With the lock held: removes OUT/.DB.partial.<pid> (a staging folder:
 * all of it) and OUT/.DB.old.<pid> (an earlier dump moved aside: its dump
 * files only) left by dumps of DB killed hard (their process no longer
 * exists). A link under one of those names is removed as a link. */
static void remove_dead_leftovers(dump_t *d)
{
    int fd = dup(d->out_fd);
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dh) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t dbl = strlen(d->db);
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        const char *n = e->d_name, *rest;
        if (n[0] != '.' || strncmp(n + 1, d->db, dbl) != 0)
            continue;
        rest = n + 1 + dbl;
        bool partial = !strncmp(rest, ".partial.", 9);
        if (partial)
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
        if (partial)
            sfl_remove_flat_dir_at(d->out_fd, n);
        else
            sfl_remove_dump_dir_at(d->out_fd, n);
    }
    closedir(dh);
}

static void dump_unlock(dump_t *d)
{
    if (d->lock_fd >= 0) {
        unlinkat(d->out_fd, d->lock_name, 0); /* while still holding it */
        close(d->lock_fd);                     /* releases the flock */
    }
    d->lock_fd = -1;
}

/* Opens OUT/.DB.lock itself (never through a link, never blocking on a
 * FIFO) and flock()s it; a file that was removed meanwhile is opened
 * again. -1 with errno, -2 for something that is not a regular file, or
 * the descriptor with *locked = 0 (ours) or -1 (*e: why not). */
static int open_lock(dump_t *d, int *locked, int *e)
{
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        fd = openat(d->out_fd, d->lock_name,
                    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
        if (fd < 0)
            return -1;
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(fd);
            return -2;
        }
        *locked = flock(fd, LOCK_EX | LOCK_NB);
        *e = errno;
        struct stat a, b;
        if (*locked != 0 ||
            (fstat(fd, &a) == 0 &&
             fstatat(d->out_fd, d->lock_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
             a.st_ino == b.st_ino && a.st_dev == b.st_dev))
            break;
        close(fd); /* the holder removed it as we locked it: again */
        fd = -1;
    }
    return fd;
}

/* Takes OUT/.DB.lock, or says who holds it. */
static bool dump_lock(dump_t *d, sfl_error_t *err)
{
    int locked = -1, e = 0;
    int fd = open_lock(d, &locked, &e);
    if (fd == -2)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s/%s: the lock file is not a regular file; remove it", d->out,
                             d->lock_name);
    if (fd < 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s/%s: cannot create the lock file: %s%s", d->out, d->lock_name,
                             strerror(errno),
                             errno == ELOOP ? " (it is a symbolic link, which a dump never "
                                              "follows: remove the link)"
                                            : "");
    if (locked != 0) {
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_LOCKED,
                                 "%s: another dump into this folder is running (process %s "
                                 "holds %s/%s); nothing was written",
                                 d->dir, *holder ? holder : "?", d->out, d->lock_name);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s/%s: cannot lock: %s",
                             d->out, d->lock_name, strerror(e));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the pid is only for the message of a dump refused */
    }
    d->lock_fd = fd;
    return true;
}

static bool dir_is_free_or_folder(const dump_t *d, sfl_error_t *err)
{
    return sfl_dump_target_ok(d->out_fd, d->db, d->dir, "the out_dir argument", err);
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
    if (d->stage_fd >= 0)
        close(d->stage_fd);
    d->stage_fd = -1;
    if (remove && d->staged) {
        sfl_remove_flat_dir_at(d->out_fd, d->stage_name);
        d->staged = false;
    }
    dump_unlock(d);
    if (d->out_fd >= 0)
        close(d->out_fd);
    d->out_fd = -1;
}

/* Creates stage/<collection>.bson, never through a link. */
static bool create_bson(dump_t *d, int c, sfl_error_t *err)
{
    const char *name = sfl_collection_name((sfl_collection_t)c);
    char file[64];
    snprintf(file, sizeof file, "%s.bson", name);
    d->path[c] = path_join(d->stage, name, ".bson");
    if (!d->path[c])
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    int fd = openat(d->stage_fd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 || !(d->f[c] = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create: %s",
                             d->path[c], strerror(e));
    }
    d->iobuf[c] = malloc(1 << 20);
    if (d->iobuf[c])
        setvbuf(d->f[c], d->iobuf[c], _IOFBF, 1 << 20);
    return true;
}

static bool dump_begin(void *ctx, const sfl_run_info_t *run, sfl_error_t *err)
{
    dump_t *d = ctx;
    if (!mkdirs(d->out, err))
        return false;
    /* OUT is the folder the user named: a link there is followed once,
     * here; everything below it is reached through this descriptor. */
    if ((d->out_fd = open(d->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot open the folder: %s",
                             d->out, strerror(errno));
    if (!dump_lock(d, err))
        return false;
    if (!dir_is_free_or_folder(d, err)) {
        dump_unlock(d);
        return false;
    }
    remove_dead_leftovers(d);
    sfl_remove_flat_dir_at(d->out_fd, d->stage_name); /* a leftover of this pid */
    if (mkdirat(d->out_fd, d->stage_name, 0700) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot create: %s",
                             d->stage, strerror(errno));
    d->staged = true;
    if ((d->stage_fd = sfl_open_dir_at(d->out_fd, d->stage_name)) < 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot open: %s",
                             d->stage, strerror(errno));
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        if (run->collections[c] && !create_bson(d, c, err))
            return false;
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

/* Swaps the staging folder in: an earlier OUT/DB (a folder, itself) is
 * renamed aside to OUT/.DB.old.<pid>, the staging folder renamed to
 * OUT/DB, and the earlier one's dump files removed. Every step names an
 * entry of OUT through its descriptor; a link at OUT/DB is refused. */
static bool swap_in(dump_t *d, sfl_error_t *err)
{
    if (!dir_is_free_or_folder(d, err))
        return false;
    if (!sfl_is_same_dir_at(d->out_fd, d->stage_name, d->stage_fd))
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s is no longer the staging folder this dump created (replaced "
                             "while it was written); nothing was replaced",
                             d->stage);
    if (fchmod(d->stage_fd, 0755) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot chmod: %s",
                             d->stage, strerror(errno));
    bool had_old = sfl_entry_kind(d->out_fd, d->db) == S_IFDIR;
    if (had_old && renameat(d->out_fd, d->db, d->out_fd, d->old_name) != 0)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot move the previous dump aside: %s", d->dir,
                             strerror(errno));
    if (had_old && sfl_entry_kind(d->out_fd, d->old_name) != S_IFDIR) {
        /* replaced by something else between the check and the rename */
        renameat(d->out_fd, d->old_name, d->out_fd, d->db);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s changed while the dump was committed; nothing was replaced",
                             d->dir);
    }
    if (renameat(d->out_fd, d->stage_name, d->out_fd, d->db) != 0) {
        int e = errno;
        if (had_old)
            renameat(d->out_fd, d->old_name, d->out_fd, d->db); /* the previous dump back */
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s: cannot rename into place: %s", d->dir, strerror(e));
    }
    d->staged = false;
    if (had_old)
        sfl_remove_dump_dir_at(d->out_fd, d->old_name);
    dump_close_files(d, false);
    return true;
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
        char meta[128];
        snprintf(meta, sizeof meta, "%s.metadata.json", sfl_collection_name((sfl_collection_t)c));
        char *json = metadata_json(d->db, (sfl_collection_t)c);
        ok = json != NULL;
        if (!ok)
            sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
        ok = ok && sfl_write_new_at(d->stage_fd, meta, json, strlen(json), d->stage, err);
        free(json);
        if (!ok)
            return false;
    }
    /* 2. The manifest and its signature over those same bytes, inside the
     * staging folder too: they are published together, by one rename. */
    if (!sfl_manifest_write_at(m, d->stage_fd, d->stage, d->key, err))
        return false;
    return swap_in(d, err);
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
    free(d);
}

sfl_sink_t *sfl_sink_dump_new(const char *out_dir, const char *db, sfl_error_t *err)
{
    return sfl_sink_dump_new_signed(out_dir, db, NULL, err);
}

sfl_sink_t *sfl_sink_dump_new_signed(const char *out_dir, const char *db,
                                     const sfl_signing_key_t *key, sfl_error_t *err)
{
    static const sfl_sink_ops_t ops = {sizeof(sfl_sink_ops_t), dump_begin, dump_write,
                                       dump_commit, dump_abort, dump_destroy};
    if (!out_dir || !*out_dir || !db || !*db || strchr(db, '/') || strchr(db, '.') ||
        strlen(db) > 200) {
        sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                      "a dump needs an output folder and a database name without '/' or '.' "
                      "(at most 200 bytes)");
        return NULL;
    }
    dump_t *d = calloc(1, sizeof *d);
    if (d) {
        d->lock_fd = d->out_fd = d->stage_fd = -1;
        d->key = key;
        snprintf(d->stage_name, sizeof d->stage_name, ".%s.partial.%ld", db, (long)getpid());
        snprintf(d->old_name, sizeof d->old_name, ".%s.old.%ld", db, (long)getpid());
        snprintf(d->lock_name, sizeof d->lock_name, ".%s.lock", db);
    }
    if (!d || !(d->out = strdup(out_dir)) || !(d->dir = path_join(out_dir, db, NULL)) ||
        !(d->stage = path_join(out_dir, d->stage_name, NULL)) || !(d->db = strdup(db))) {
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

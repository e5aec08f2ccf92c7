/* safe_fs.c: inputs opened only as regular files, and our own files
 * removed without following a symbolic link.
 *
 * The design is git's and rsync's care: an input is opened with
 * O_NONBLOCK (a FIFO without a writer does not block the open) and
 * checked with fstat on the descriptor it will be read through, so the
 * check and the read see the same file. Every removal names a directory
 * entry relative to a directory descriptor: fstatat(AT_SYMLINK_NOFOLLOW)
 * tells what the entry itself is, a folder is entered with
 * O_DIRECTORY|O_NOFOLLOW (a link put there meanwhile makes the open fail,
 * never redirects it), and unlinkat removes a link as a link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_fs.h"
#include "swefreq/sink.h"

const char *sfl_kind_name(int kind)
{
    switch (kind) {
    case S_IFIFO: return "a FIFO or pipe";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFDIR: return "a folder";
    case S_IFLNK: return "a symbolic link";
    case S_IFREG: return "a regular file";
    default: return "not a file";
    }
}

static int open_regular(const char *path, const char *what, int extra, sfl_error_t *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | extra);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        struct stat lst;
        if ((extra & O_NOFOLLOW) && e == ELOOP && lstat(path, &lst) == 0 &&
            S_ISLNK(lst.st_mode)) {
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                          "%s: cannot read %s: a symbolic link, which is not followed here "
                          "(put the file itself there)",
                          path, what ? what : "it");
            return -1;
        }
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      strerror(e));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (what)
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                          "%s: cannot read %s: not a regular file (%s)", path, what,
                          sfl_kind_name((int)(st.st_mode & S_IFMT)));
        else
            sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN,
                          "%s: not a regular file (%s): inputs are read only from regular "
                          "files (a source is read twice, hashed and parsed); write it to a "
                          "file first",
                          path, sfl_kind_name((int)(st.st_mode & S_IFMT)));
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      strerror(e));
        return -1;
    }
    return fd;
}

int sfl_open_regular(const char *path, const char *what, sfl_error_t *err)
{
    return open_regular(path, what, 0, err);
}

int sfl_open_regular_nofollow(const char *path, const char *what, sfl_error_t *err)
{
    return open_regular(path, what, O_NOFOLLOW, err);
}

FILE *sfl_fopen_regular(const char *path, const char *what, sfl_error_t *err)
{
    int fd = sfl_open_regular(path, what, err);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        sfl_error_set(err, SFL_DOMAIN_INPUT, SFL_E_OPEN, "%s: cannot open: %s", path,
                      strerror(e));
    }
    return f;
}

int sfl_entry_kind(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return (int)(st.st_mode & S_IFMT);
    return errno == ENOENT ? 0 : -1;
}

int sfl_open_dir_at(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void sfl_remove_flat_dir_at(int dirfd, const char *name)
{
    int kind = sfl_entry_kind(dirfd, name);
    if (kind <= 0)
        return;
    if (kind != S_IFDIR) {
        unlinkat(dirfd, name, 0); /* a link (or a file) as itself */
        return;
    }
    int fd = sfl_open_dir_at(dirfd, name);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            unlinkat(dirfd, name, 0); /* became a link meanwhile */
        return;
    }
    DIR *dh = fdopendir(fd);
    if (!dh) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (sfl_entry_kind(fd, e->d_name) != S_IFDIR)
            unlinkat(fd, e->d_name, 0);
    }
    closedir(dh); /* closes fd */
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

bool sfl_remove_dump_dir_at(int dirfd, const char *name)
{
    int kind = sfl_entry_kind(dirfd, name);
    if (kind == 0)
        return true;
    if (kind != S_IFDIR)
        return kind == S_IFLNK && unlinkat(dirfd, name, 0) == 0;
    int fd = sfl_open_dir_at(dirfd, name);
    if (fd < 0)
        return (errno == ELOOP || errno == ENOTDIR) && unlinkat(dirfd, name, 0) == 0;
    static const char *const ext[] = {".bson", ".metadata.json", ".metadata.json.partial"};
    char file[128];
    unlinkat(fd, "manifest.json", 0);
    unlinkat(fd, "manifest.json.partial", 0);
    unlinkat(fd, "manifest.json.sig", 0);
    for (int c = 0; c < SFL_N_COLLECTIONS; c++)
        for (int x = 0; x < 3; x++) {
            snprintf(file, sizeof file, "%s%s", sfl_collection_name((sfl_collection_t)c), ext[x]);
            if (sfl_entry_kind(fd, file) != S_IFDIR)
                unlinkat(fd, file, 0);
        }
    close(fd);
    return unlinkat(dirfd, name, AT_REMOVEDIR) == 0;
}

/* True for the names a dump writes into its folder. */
static bool is_dump_file(const char *n)
{
    if (!strcmp(n, "manifest.json") || !strcmp(n, "manifest.json.sig"))
        return true;
    for (int c = 0; c < SFL_N_COLLECTIONS; c++) {
        const char *cn = sfl_collection_name((sfl_collection_t)c);
        size_t l = strlen(cn);
        if (!strncmp(n, cn, l) && (!strcmp(n + l, ".bson") || !strcmp(n + l, ".metadata.json")))
            return true;
    }
    return false;
}

bool sfl_dump_target_ok(int dirfd, const char *name, const char *shown, const char *out_flag,
                        sfl_error_t *err)
{
    int kind = sfl_entry_kind(dirfd, name);
    if (kind == S_IFLNK)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s is a symbolic link: a dump replaces its folder whole and never "
                             "follows a link there (nor removes what it points to); give the "
                             "link's target folder as the output folder (%s), or remove the "
                             "link. Nothing was written",
                             shown, out_flag);
    if (kind != 0 && kind != S_IFDIR)
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                             "%s exists and is not a folder (%s); move it away or choose another "
                             "output folder (%s) or database name (the db argument)",
                             shown, kind < 0 ? "unreadable" : sfl_kind_name(kind), out_flag);
    int fd = kind == S_IFDIR ? sfl_open_dir_at(dirfd, name) : -1;
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (kind == S_IFDIR && !dh) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot read: %s", shown,
                             strerror(e));
    }
    struct dirent *e;
    while (dh && (e = readdir(dh)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || is_dump_file(e->d_name))
            continue;
        sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                      "%s holds '%s', which is not a file of a dump: a dump replaces the "
                      "folder whole, so move it away first, or choose another output "
                      "folder (%s) or database name (the db argument). Nothing was written",
                      shown, e->d_name, out_flag);
        closedir(dh);
        return false;
    }
    if (dh)
        closedir(dh);
    return true;
}

bool sfl_write_new_at(int dirfd, const char *name, const void *data, size_t len,
                      const char *shown, sfl_error_t *err)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    const char *p = data;
    while (ok && len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok) {
            p += w;
            len -= (size_t)w;
        }
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        e = errno;
        ok = false;
    }
    if (!ok && fd >= 0) /* ours (O_EXCL): not left half-written */
        unlinkat(dirfd, name, 0);
    return ok || sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s/%s: cannot create: %s",
                               shown, name, strerror(e));
}

bool sfl_write_replace(const char *path, const void *data, size_t len, const char *what,
                       sfl_error_t *err)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    const char *base = slash ? slash + 1 : path;
    if (!path || !*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return sfl_error_set(err, SFL_DOMAIN_USAGE, SFL_E_USAGE,
                             "%s: not a file name to write %s to", path ? path : "(null)", what);
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    char *tmp = NULL;
    if (!dir || asprintf(&tmp, ".%s.tmp.%ld", base, (long)getpid()) < 0) {
        free(dir);
        return sfl_error_set(err, SFL_DOMAIN_SYSTEM, SFL_E_NOMEM, "out of memory");
    }
    /* The folder is followed once, here; the entries in it never are. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 || sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                                        "%s: cannot write %s: the folder %s: %s", path, what,
                                        dir, strerror(errno));
    ok = ok && sfl_write_new_at(dfd, tmp, data, len, dir, err);
    if (ok && renameat(dfd, tmp, dfd, base) != 0) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE, "%s: cannot write %s: %s", path,
                           what, strerror(e));
    }
    if (ok && fsync(dfd) != 0 && errno != EINVAL)
        ok = sfl_error_set(err, SFL_DOMAIN_OUTPUT, SFL_E_WRITE,
                           "%s: cannot write %s: fsync of the folder: %s", path, what,
                           strerror(errno));
    if (dfd >= 0)
        close(dfd);
    free(dir);
    free(tmp);
    return ok;
}

bool sfl_is_same_dir_at(int dirfd, const char *name, int fd)
{
    struct stat a, b;
    return fd >= 0 && fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool sfl_pread_all(int fd, void *buf, size_t n, int64_t at)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = pread(fd, p, n, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
        at += k;
    }
    return true;
}

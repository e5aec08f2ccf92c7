/* safe_fs.h: opening inputs and removing our own files without following
 * a symbolic link. Private to the library.
 *
 * Inputs (sources, manifests, dump files) are opened only as regular
 * files: a FIFO would block the open or the read, a device would be read
 * forever, and a pipe cannot be read twice (a source is hashed, then
 * parsed). Removals and replacements work on directory entries relative
 * to a directory descriptor (fstatat with AT_SYMLINK_NOFOLLOW, unlinkat,
 * renameat, openat with O_NOFOLLOW), so a link is removed as a link and
 * its target is never touched.
 */
#ifndef SFL_SAFE_FS_H
#define SFL_SAFE_FS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "swefreq/error.h"

/* Opens `path` for reading, without blocking, and only when it is a
 * regular file (after following links in the path: a link to a file is
 * that file). Returns a blocking, close-on-exec descriptor, or -1 with
 * err: SFL_E_OPEN ("cannot open: ...", or "not a regular file (a FIFO or
 * pipe): ..."; `what`, such as "the manifest", names the file in the
 * message, NULL for a source). */
int sfl_open_regular(const char *path, const char *what, sfl_error_t *err);

/* Like sfl_open_regular, but the last component of `path` must not be a
 * symbolic link (O_NOFOLLOW): for files inside a dump folder (its
 * manifest.json and signature), where a link would make us read, and
 * describe in messages, a file the dump does not hold. */
int sfl_open_regular_nofollow(const char *path, const char *what, sfl_error_t *err);

/* SHA-256 (64 lowercase hex digits) and size of the file open as `fd`,
 * read with pread from byte 0, so the descriptor's offset is left as it
 * was (digest.c); `path` names it in messages. */
bool sfl_hash_fd(int fd, const char *path, char out_hex[65], uint64_t *out_size,
                 sfl_error_t *err);

/* sfl_hash_fd that stops between two reads of 1 MiB once *stop is set
 * (from any thread): false with SFL_E_CANCELLED ("PATH: interrupted while
 * taking its SHA-256; nothing was committed"). */
bool sfl_hash_fd_until(int fd, const char *path, const atomic_int *stop, char out_hex[65],
                       uint64_t *out_size, sfl_error_t *err);

/* Like sfl_open_regular, as a FILE* opened "rb"; NULL with err. */
FILE *sfl_fopen_regular(const char *path, const char *what, sfl_error_t *err);

/* The kind of the entry `name` in the folder `dirfd` itself (a link is a
 * link): S_IFDIR, S_IFLNK, S_IFREG, ...; 0 when there is none; -1 on
 * another error (errno set). */
int sfl_entry_kind(int dirfd, const char *name);

/* "a FIFO", "a symbolic link", ... for a kind of sfl_entry_kind. */
const char *sfl_kind_name(int kind);

/* Opens the folder `name` in `dirfd` (never through a link at `name`);
 * -1 with errno (ELOOP or ENOTDIR for a link). */
int sfl_open_dir_at(int dirfd, const char *name);

/* Removes the entry `name` of `dirfd` that is a hidden folder of ours: a
 * link there is removed as a link; a folder loses every entry that is not
 * a folder (links as links), then goes if empty. */
void sfl_remove_flat_dir_at(int dirfd, const char *name);

/* Removes the dump files (manifest.json, <collection>.bson and
 * .metadata.json, and their .partial) from the folder `name` of `dirfd`,
 * then the folder when empty; a link at `name` is removed as a link.
 * True when `name` is gone. */
bool sfl_remove_dump_dir_at(int dirfd, const char *name);

/* Whether the entry `name` of `dirfd` (`shown` in messages) may be
 * replaced whole by a dump: absent, or a folder (itself, not a link) that
 * holds nothing but dump files. Else false with SFL_E_WRITE saying why
 * (`out_flag`, "the out_dir argument", names the option to change). */
bool sfl_dump_target_ok(int dirfd, const char *name, const char *shown, const char *out_flag,
                        sfl_error_t *err);

/* Creates the file `name` of the folder `dirfd` (never through a link,
 * never over an existing entry: O_EXCL|O_NOFOLLOW, mode 0644 before the
 * umask), writes `len` bytes and fsyncs it. False with SFL_E_WRITE naming
 * shown/name. */
bool sfl_write_new_at(int dirfd, const char *name, const void *data, size_t len,
                      const char *shown, sfl_error_t *err);

/* Replaces the file `path` by `len` bytes of `data` in one step: a new
 * file `.NAME.tmp.PID` created in the same folder with O_EXCL|O_NOFOLLOW
 * (an entry already there, a link included, is refused, never followed or
 * removed), written, fsynced, renamed over NAME with renameat (a link at
 * NAME is replaced as a link, its target untouched), and the folder
 * fsynced. The folder part of `path` is followed once. False with
 * SFL_E_WRITE naming `path` and `what` ("the manifest"); nothing is left
 * at the temporary name on failure unless something else was there. */
bool sfl_write_replace(const char *path, const void *data, size_t len, const char *what,
                       sfl_error_t *err);

/* True when the entry `name` of `dirfd` is, itself (not through a link),
 * the folder open as `fd` (same st_dev and st_ino). */
bool sfl_is_same_dir_at(int dirfd, const char *name, int fd);

/* Reads exactly n bytes at offset `at` of fd (pread, retried on EINTR and
 * short reads); false at the end of the file or on an error (errno). */
bool sfl_pread_all(int fd, void *buf, size_t n, int64_t at);

#endif

/* reader.h: a source file as chunks of whole lines.
 *
 * The reader opens a file through htslib's BGZF layer (plain text works
 * too), decompresses on the shared htslib thread pool, and hands out
 * chunks of whole '\n'-terminated lines with their first line number and
 * the BGZF virtual offset just after their last line (where a resumed load
 * would restart). Private to the library; one thread uses a reader.
 */
#ifndef SFL_READER_H
#define SFL_READER_H

#include <htslib/thread_pool.h>
#include <stdint.h>

#include "swefreq/error.h"

typedef struct sfl_reader sfl_reader_t;

/* Opens `path`: refuses a gzip file that is not BGZF. Every later read
 * checks the BGZF blocks' continuity (see reader.c): a damaged, short,
 * dropped or missing block (the end-of-file marker included) is an
 * SFL_E_COMPRESSION error naming the block's compressed offset and the
 * last complete line, never an end of file. */
sfl_reader_t *sfl_reader_open(const char *path, hts_tpool *pool, sfl_error_t *err);

/* The same for the regular file open as `fd` (borrowed: the reader reads
 * through its own copies of it, from byte 0), so that the file hashed
 * through `fd` is the very file parsed; `path` names it in messages. */
sfl_reader_t *sfl_reader_open_fd(const char *path, int fd, hts_tpool *pool, sfl_error_t *err);
void sfl_reader_close(sfl_reader_t *r);

/* Reads the header: every leading line that starts with '#' (or, with
 * `first_only`, just the first line whatever it is; a second line that
 * starts with '#' is then SFL_E_HEADER naming line 2). The text (lines
 * joined with '\n', NUL-terminated, malloc'd) goes to *out. Header lines
 * over 64 MiB in all are SFL_E_TOO_LARGE; the first data line, kept for
 * the first chunk, is bound only as any line is (SFL_MAX_LINE). */
bool sfl_reader_header(sfl_reader_t *r, bool first_only, char **out, size_t *out_len,
                       sfl_error_t *err);

/* Region mode, after the header: reading goes on from `voffset` (the
 * first virtual offset the file's index gives for the region; -1 = none:
 * the region is empty) and hands out only the data lines whose first
 * column is `chrom` and whose second (POS, 1-based) lies in [beg, end)
 * (0-based, half-open): the lines before it are skipped, the first line
 * past it (or of another contig) ends the region, like an end of file. A
 * line without a readable POS is handed out, for its parser to report.
 * Every block read is checked as from the start of the file. Line
 * numbers start again at 1 with the region's first record; a chunk's
 * end_voffset is just after its last line. Call it again for the next
 * region, in file order. */
bool sfl_reader_region(sfl_reader_t *r, int64_t voffset, const char *chrom, int64_t beg,
                       int64_t end, sfl_error_t *err);

/* Lines read so far (header included). */
uint64_t sfl_reader_lines(const sfl_reader_t *r);

/* The next chunk of about `target` bytes of whole lines (at least one
 * line), ending with the first line that reaches `target`; every line ends
 * in '\n' (one is added to a last line without it). A whole-file read hands
 * out the decompressed blocks as they are, a '\r' before a '\n' included
 * (the parser drops it, and it is not counted in sfl_reader_bytes: the
 * caller takes those back); the header's lines and a region's have it
 * dropped here. The calling thread copies each block once and counts its
 * newlines, never looking at a line. Returns 1
 * with a malloc'd chunk, 0 at the end of the file, -1 on a read error. On
 * entry c->text may be a malloc'd buffer of c->cap bytes to reuse (NULL: a
 * new one); it becomes (or is grown into) the chunk's text, or is freed
 * when the call returns 0 or -1 (c->text is then NULL). */
typedef struct {
    char *text;
    size_t cap;  /* bytes allocated at text */
    size_t len;
    uint64_t first_line; /* 1-based */
    uint64_t n_lines;
    int64_t end_voffset;
    uint64_t file_offset; /* compressed bytes consumed */
} sfl_chunk_t;
int sfl_reader_next_chunk(sfl_reader_t *r, size_t target, sfl_chunk_t *c, sfl_error_t *err);

/* True once the file's last line was read and had no '\n' (it is handed
 * out with one added). */
bool sfl_reader_unterminated(const sfl_reader_t *r);

/* Uncompressed bytes read so far ('\r's in chunks of a whole-file read
 * included, see sfl_reader_next_chunk). */
uint64_t sfl_reader_bytes(const sfl_reader_t *r);

#endif

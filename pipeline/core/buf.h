/* Growable byte buffer (malloc-backed), for encoders and file I/O. */
#ifndef PG_BUF_H
#define PG_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pg_buf {
    uint8_t *data;
    size_t len, cap;
    int failed; /* 0, or the status of the first failed append (PG_ENOMEM, or the flush's
                 * status: PG_EIO when it gave none); later appends are no-ops */
    /* Optional sink: when set, a reserve that does not fit first hands the bytes so far to
     * flush(flush_ctx, data, len) (non-zero = failure) and empties the buffer, so the
     * buffer stays small while a large message streams out. `flushed` counts them. */
    int (*flush)(void *ctx, const uint8_t *p, size_t n);
    void *flush_ctx;
    size_t flushed;
    /* data is a private mapping of a file (pg_buf_map_file, file_map.h), cap bytes long:
     * pg_buf_free unmaps it, and growing it first copies it to the heap */
    int mapped;
} pg_buf;

/* Appends n bytes; returns 0 or b->failed (PG_ENOMEM when memory runs out, the flush's
 * status when it fails). */
int pg_buf_append(pg_buf *b, const void *p, size_t n);

/* Ensures room for n more bytes; returns 0 or b->failed (see pg_buf_append). */
int pg_buf_reserve(pg_buf *b, size_t n);
/* Like pg_buf_reserve, but to exactly n more bytes (no doubling), for sizes known up front.
 * Not for buffers with a flush sink. */
int pg_buf_reserve_exact(pg_buf *b, size_t n);

/* Frees the data and resets the buffer to empty. */
void pg_buf_free(pg_buf *b);

/* Reads a whole file ("-" = stdin) into b, at most max bytes (0 = no cap). Returns 0, or a
 * negative status with a message in err. */
int pg_buf_read_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen);

/* A file written through a temporary name and renamed into place on commit ("-" writes
 * stdout). A path that exists and is not a regular file (a device like /dev/null, a FIFO)
 * is written in place, never replaced; a symlink to a regular file keeps being a link: its
 * target is replaced. Use pg_file_sink_attach to stream a pg_buf into it. */
typedef struct pg_file_sink {
    FILE *f;
    char *tmp;    /* NULL when written in place */
    char *target; /* a symlink's resolved target, replaced instead of the link */
    const char *path;
} pg_file_sink;

int pg_file_sink_open(pg_file_sink *s, const char *path, char *err, size_t errlen);
/* Makes b flush into s (b must be empty). */
void pg_file_sink_attach(pg_file_sink *s, pg_buf *b);
/* Flushes what b still holds, closes and renames. Returns 0 or PG_EIO. */
int pg_file_sink_commit(pg_file_sink *s, pg_buf *b, char *err, size_t errlen);
/* Closes and removes the temporary file. */
void pg_file_sink_abort(pg_file_sink *s);

/* Writes b to path ("-" = stdout) through a temporary file renamed into place. */
int pg_buf_write_file(const pg_buf *b, const char *path, char *err, size_t errlen);

#endif

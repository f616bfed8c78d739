/* Growable byte buffer (malloc-backed), for encoders and file I/O. */
#ifndef PG_BUF_H
#define PG_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_buf {
    uint8_t *data;
    size_t len, cap;
    int failed; /* set once an append could not allocate; later appends are no-ops */
} pg_buf;

/* Appends n bytes; returns 0 or -1 (and sets failed) when memory runs out. */
int pg_buf_append(pg_buf *b, const void *p, size_t n);

/* Ensures room for n more bytes; returns 0 or -1. */
int pg_buf_reserve(pg_buf *b, size_t n);

/* Frees the data and resets the buffer to empty. */
void pg_buf_free(pg_buf *b);

/* Reads a whole file ("-" = stdin) into b, at most max bytes (0 = no cap). Returns 0, or a
 * negative status with a message in err. */
int pg_buf_read_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen);

/* Writes b to path ("-" = stdout) through a temporary file renamed into place. */
int pg_buf_write_file(const pg_buf *b, const char *path, char *err, size_t errlen);

#endif

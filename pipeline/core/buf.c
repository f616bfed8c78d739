#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Grows the buffer's storage; the buffer keeps owning it. */
int pg_buf_reserve(pg_buf *b, size_t n)
{
    if (b->failed) return -1;
    if (b->cap - b->len >= n) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) { b->failed = 1; return -1; }
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) { b->failed = 1; return -1; }
    b->data = d;
    b->cap = cap;
    return 0;
}

/* Copies n bytes of p to the end of b. */
int pg_buf_append(pg_buf *b, const void *p, size_t n)
{
    if (n == 0) return b->failed ? -1 : 0;
    if (pg_buf_reserve(b, n)) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Releases b's storage. */
void pg_buf_free(pg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Reads path into b (appending); b owns the bytes. */
int pg_buf_read_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return pg_err(err, errlen, PG_EIO, "cannot open %s: %s", path, strerror(errno));
    int rc = 0;
    for (;;) {
        if (pg_buf_reserve(b, 65536)) { rc = pg_err(err, errlen, PG_ENOMEM, "out of memory reading %s", path); break; }
        size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
        b->len += n;
        if (max && b->len > max) {
            rc = pg_err(err, errlen, PG_ELIMIT, "%s is larger than the limit of %zu bytes", path, max);
            break;
        }
        if (n == 0) {
            if (ferror(f)) rc = pg_err(err, errlen, PG_EIO, "read error on %s", path);
            break;
        }
    }
    if (!is_stdin) fclose(f);
    return rc;
}

/* Writes b to path atomically (temporary file + rename), or to stdout for "-". */
int pg_buf_write_file(const pg_buf *b, const char *path, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0) {
        if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
            return pg_err(err, errlen, PG_EIO, "write error on stdout");
        return fflush(stdout) ? pg_err(err, errlen, PG_EIO, "write error on stdout") : 0;
    }
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = pg_err(err, errlen, PG_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int ok = (b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int rc = pg_err(err, errlen, PG_EIO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return 0;
}

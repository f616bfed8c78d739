#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Moves a mapped buffer's bytes to the heap (before it grows). Returns 0 or PG_ENOMEM. */
static int unmap_to_heap(pg_buf *b)
{
    uint8_t *d = malloc(b->len ? b->len : 1);
    if (!d) return PG_ENOMEM;
    memcpy(d, b->data, b->len);
    munmap(b->data, b->cap);
    b->data = d;
    b->cap = b->len;
    b->mapped = 0;
    return 0;
}

/* Grows the buffer's storage; the buffer keeps owning it. */
int pg_buf_reserve(pg_buf *b, size_t n)
{
    if (b->failed) return b->failed;
    if (b->cap - b->len >= n) return 0;
    if (b->mapped && unmap_to_heap(b)) return b->failed = PG_ENOMEM;
    if (b->flush && b->len) {
        int rc = b->flush(b->flush_ctx, b->data, b->len);
        if (rc) return b->failed = rc < 0 ? rc : PG_EIO;
        b->flushed += b->len;
        b->len = 0;
        if (b->cap >= n) return 0;
    }
    if (n > SIZE_MAX - b->len) return b->failed = PG_ENOMEM;
    int rc = pg_vec_grow((void **)&b->data, &b->cap, b->len + n, 1, 256);
    return rc ? (b->failed = rc) : 0;
}

/* Copies n bytes of p to the end of b. */
int pg_buf_append(pg_buf *b, const void *p, size_t n)
{
    if (n == 0) return b->failed;
    int rc = pg_buf_reserve(b, n);
    if (rc) return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Releases b's storage. */
void pg_buf_free(pg_buf *b)
{
    if (b->mapped)
        munmap(b->data, b->cap);
    else
        free(b->data);
    memset(b, 0, sizeof *b);
}

/* Grows b's storage to exactly len + n bytes when it has less room (no doubling); the
 * buffer keeps owning it. For sizes known up front. */
int pg_buf_reserve_exact(pg_buf *b, size_t n)
{
    if (b->failed) return b->failed;
    if (b->cap - b->len >= n) return 0;
    if (n > SIZE_MAX - b->len) return b->failed = PG_ENOMEM;
    if (b->mapped && unmap_to_heap(b)) return b->failed = PG_ENOMEM;
    uint8_t *d = realloc(b->data, b->len + n);
    if (!d) return b->failed = PG_ENOMEM;
    b->data = d;
    b->cap = b->len + n;
    return 0;
}

/* Reads path into b (appending); b owns the bytes. A regular file's size is reserved once
 * (plus one byte to see the end); stdin, pipes and files that grow while read take 64 KiB
 * reads into a doubling buffer. */
int pg_buf_read_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return pg_err(err, errlen, PG_EIO, "cannot open %s: %s", path, strerror(errno));
    int rc = 0;
    int sized = 0; /* storage reserved from the file's size: read into it as it is */
    struct stat st;
    if (!is_stdin && !b->flush && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX) {
        size_t size = (size_t)st.st_size;
        if (max && size > max)
            rc = pg_err(err, errlen, PG_ELIMIT, "%s is larger than the limit of %zu bytes", path,
                        max);
        else if (pg_buf_reserve_exact(b, size + 1))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory reading %s", path);
        else {
            sized = 1;
            pg_pages_populate(b->data + b->len, size); /* read in full next */
        }
    }
    while (!rc) {
        size_t room = b->cap - b->len;
        if ((room == 0 || (!sized && room < 65536)) && pg_buf_reserve(b, 65536)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory reading %s", path);
            break;
        }
        size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
        b->len += n;
        if (max && b->len > max) {
            rc = pg_err(err, errlen, PG_ELIMIT, "%s is larger than the limit of %zu bytes", path,
                        max);
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

static int sink_write(void *ctx, const uint8_t *p, size_t n)
{
    return fwrite(p, 1, n, ((pg_file_sink *)ctx)->f) == n ? 0 : PG_EIO;
}

/* Where a sink writes path (see pg_file_sink_open): 1 when path exists and is not a regular
 * file, nor a symlink to one (device, FIFO, socket, dangling link): written in place. Else
 * 0, and *target is the file to replace (malloc'd, the link's resolved target) or NULL
 * (path itself). Returns -1 with errno when it cannot tell. */
static int sink_in_place(const char *path, char **target)
{
    struct stat st;
    *target = NULL;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISREG(st.st_mode)) return 0;
    if (!S_ISLNK(st.st_mode)) return 1;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 1;
    *target = realpath(path, NULL);
    return *target ? 0 : -1;
}

/* Opens the sink: stdout for "-"; path itself when it exists and is not a regular file
 * (a device such as /dev/null, a FIFO: never replaced); else a temporary file beside the
 * file to replace (path, or a symlink's target: the link stays a link). s owns the names
 * until commit or abort. */
int pg_file_sink_open(pg_file_sink *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    if (strcmp(path, "-") == 0) {
        s->f = stdout;
        return 0;
    }
    int direct = sink_in_place(path, &s->target);
    if (direct < 0)
        return pg_err(err, errlen, PG_EIO, "cannot write %s: %s", path, strerror(errno));
    if (direct) {
        if (!(s->f = fopen(path, "wb")))
            return pg_err(err, errlen, PG_EIO, "cannot open %s: %s", path, strerror(errno));
        return 0;
    }
    const char *dest = s->target ? s->target : path;
    size_t n = strlen(dest) + 32;
    if (!(s->tmp = malloc(n))) {
        pg_file_sink_abort(s);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    snprintf(s->tmp, n, "%s.tmp.%ld", dest, (long)getpid());
    if (!(s->f = fopen(s->tmp, "wb"))) {
        int rc = pg_err(err, errlen, PG_EIO, "cannot create %s: %s", s->tmp, strerror(errno));
        pg_file_sink_abort(s);
        return rc;
    }
    return 0;
}

void pg_file_sink_attach(pg_file_sink *s, pg_buf *b)
{
    b->flush = sink_write;
    b->flush_ctx = s;
    if (pg_buf_reserve(b, 64 << 10) == 0) return; /* a 64 KiB window */
}

/* Writes the rest, closes, renames into place (a sink written in place is only closed). */
int pg_file_sink_commit(pg_file_sink *s, pg_buf *b, char *err, size_t errlen)
{
    int ok = !b->failed && (b->len == 0 || fwrite(b->data, 1, b->len, s->f) == b->len);
    b->flushed += b->len;
    b->len = 0;
    if (s->f == stdout)
        return (fflush(stdout) == 0 && ok) ? 0
                                           : pg_err(err, errlen, PG_EIO, "write error on stdout");
    ok = (fclose(s->f) == 0) && ok;
    s->f = NULL;
    if (!ok || (s->tmp && rename(s->tmp, s->target ? s->target : s->path) != 0)) {
        int rc = pg_err(err, errlen, PG_EIO, "cannot write %s: %s", s->path, strerror(errno));
        pg_file_sink_abort(s);
        return rc;
    }
    free(s->tmp); /* renamed: nothing to remove */
    s->tmp = NULL;
    pg_file_sink_abort(s); /* frees the rest */
    return 0;
}

void pg_file_sink_abort(pg_file_sink *s)
{
    if (s->f && s->f != stdout) fclose(s->f);
    s->f = NULL;
    if (s->tmp) unlink(s->tmp);
    free(s->tmp);
    s->tmp = NULL;
    free(s->target);
    s->target = NULL;
}

/* Writes b in one go through a sink. */
int pg_buf_write_file(const pg_buf *b, const char *path, char *err, size_t errlen)
{
    pg_file_sink s;
    int rc = pg_file_sink_open(&s, path, err, errlen);
    if (rc) return rc;
    pg_buf view = *b;
    view.flush = NULL;
    return pg_file_sink_commit(&s, &view, err, errlen);
}

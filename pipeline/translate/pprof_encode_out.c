/* The pprof encoder's output stream: bytes reach the caller's buffer as they are produced,
 * plain, or gzipped as one gzip member the way Go's runtime/pprof writes it (deflate at
 * level 1, zlib's streaming deflate), a chunk at a time, so neither the whole uncompressed
 * profile nor a second copy of it is ever held. */
#include "pipeline/translate/pprof_encode_int.h"

#include "pipeline/core/err.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Uncompressed bytes handed to deflate at a time. */
#define CHUNK ((size_t)1 << 20)

/* Runs deflate over p[0..n) (flush = Z_NO_FLUSH or Z_FINISH), appending to out. */
static int deflate_into(pg_pprof_out *s, const uint8_t *p, size_t n, int flush)
{
    z_stream *z = s->z;
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    for (;;) {
        size_t room = deflateBound(z, z->avail_in) + 64;
        int rc = pg_buf_reserve(s->out, room);
        if (rc) return rc;
        z->next_out = s->out->data + s->out->len;
        z->avail_out = (uInt)(s->out->cap - s->out->len);
        rc = deflate(z, flush);
        s->out->len = s->out->cap - z->avail_out;
        if (rc == Z_STREAM_END) return 0;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return PG_EINTERNAL; /* zlib state broken */
        if (z->avail_in == 0 && flush == Z_NO_FLUSH) return 0;
    }
}

/* pg_buf flush hook of the chunk buffer. */
static int flush_chunk(void *ctx, const uint8_t *p, size_t n)
{
    return deflate_into(ctx, p, n, Z_NO_FLUSH);
}

/* Plain output is written straight into out; gzip output goes through a chunk buffer. */
int pg_pprof_out_open(pg_pprof_out *s, pg_buf *out, int gzip)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    s->start = out->len;
    s->start_flushed = out->flushed;
    if (!gzip) return 0;
    z_stream *z = calloc(1, sizeof *z);
    if (!z) return PG_ENOMEM;
    if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(z);
        return PG_ENOMEM;
    }
    s->z = z;
    s->buf.flush = flush_chunk;
    s->buf.flush_ctx = s;
    return pg_buf_reserve(&s->buf, CHUNK);
}

/* Where the encoder writes. */
pg_buf *pg_pprof_out_sink(pg_pprof_out *s)
{
    return s->z ? &s->buf : s->out;
}

/* Compresses what the chunk buffer still holds and ends the gzip stream. */
int pg_pprof_out_close(pg_pprof_out *s)
{
    if (!s->z) return s->out->failed;
    if (s->buf.failed) return s->buf.failed;
    int rc = deflate_into(s, s->buf.data ? s->buf.data : (const uint8_t *)"", s->buf.len, Z_FINISH);
    if (rc) return rc;
    s->buf.len = 0;
    return s->out->failed;
}

/* Frees the stream; after a failure, what it appended to out is taken back when out has
 * not handed it on. */
void pg_pprof_out_free(pg_pprof_out *s, int failed)
{
    if (failed && s->out->flushed == s->start_flushed && s->out->len > s->start)
        s->out->len = s->start;
    if (s->z) {
        deflateEnd(s->z);
        free(s->z);
    }
    pg_buf_free(&s->buf);
    memset(s, 0, sizeof *s);
}

/* The pprof encoder's output stream: bytes reach the caller's buffer as they are produced,
 * plain, or gzipped as one gzip member the way Go's runtime/pprof writes it (some readers
 * stop after the first member, so there is never more than one).
 *
 * Gzip: the encoding is gathered in a buffer of 16 MiB (allocated, but its pages are
 * touched only as they are written) and compressed at close at level 1 by pg_gzip_member:
 * libdeflate, about twice as fast as zlib, with zlib taking the head on a second thread
 * when the encoding is large. An encoding that outgrows the buffer switches to
 * zlib's streaming deflate (level 1) and goes on a buffer at a time, so a huge profile is
 * never held twice. */
#include "pipeline/translate/pprof_encode_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/gzip_member.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Uncompressed bytes compressed in one call; beyond it, streaming. */
static size_t whole_limit = (size_t)16 << 20;

/* Tests set a small limit to exercise the streaming path; 0 restores the default. */
void pg_pprof_out_set_whole_limit(size_t n)
{
    whole_limit = n ? n : (size_t)16 << 20;
}

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

/* pg_buf flush hook: the buffer is full, so the output goes on streaming through zlib. */
static int flush_streaming(void *ctx, const uint8_t *p, size_t n)
{
    pg_pprof_out *s = ctx;
    if (!s->z) {
        z_stream *z = calloc(1, sizeof *z);
        if (!z) return PG_ENOMEM;
        if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(z);
            return PG_ENOMEM;
        }
        s->z = z;
    }
    return deflate_into(s, p, n, Z_NO_FLUSH);
}

/* Compresses s->buf's bytes as one gzip member (libdeflate, and zlib on a second thread for
 * a large encoding: gzip_member.h), appending to out. */
static int compress_whole(pg_pprof_out *s)
{
    /* the bound is the most it takes: no doubling slack (a flushing buffer grows its way) */
    return pg_gzip_member(s->buf.data, s->buf.len, 1, s->out, !s->out->flush);
}

/* Plain output is written straight into out; gzip output goes through s->buf. */
int pg_pprof_out_open(pg_pprof_out *s, pg_buf *out, int gzip)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    s->start = out->len;
    s->start_flushed = out->flushed;
    if (!gzip) return 0;
    s->gzip = 1;
    s->buf.flush = flush_streaming;
    s->buf.flush_ctx = s;
    return pg_buf_reserve(&s->buf, whole_limit);
}

/* Where the encoder writes. */
pg_buf *pg_pprof_out_sink(pg_pprof_out *s)
{
    return s->gzip ? &s->buf : s->out;
}

/* Compresses what the buffer holds and ends the gzip member. */
int pg_pprof_out_close(pg_pprof_out *s)
{
    if (!s->gzip) return s->out->failed;
    if (s->buf.failed) return s->buf.failed;
    int rc = s->z ? deflate_into(s, s->buf.data, s->buf.len, Z_FINISH) : compress_whole(s);
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

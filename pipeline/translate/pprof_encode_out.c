/* The pprof encoder's output stream: bytes reach the caller's buffer as they are produced,
 * plain, or gzipped as one gzip member the way Go's runtime/pprof writes it (some readers
 * stop after the first member, so there is never more than one).
 *
 * Gzip: the encoding is gathered in a buffer of 16 MiB (allocated, but its pages are
 * touched only as they are written) and compressed at close at level 1 by libdeflate,
 * about twice as fast as zlib. Once the encoding is large (pg_gzip_member_splits), a
 * helper thread deflates its head with ISA-L while the encoder goes on writing
 * (pg_gzip_pipe, which also faults the buffer's pages in ahead of the encoder): the head is the
 * whole encoding (the helper keeps up), libdeflate ends the member at close, and the head's pages
 * go back to the OS as they are deflated. An encoding that outgrows the buffer switches to zlib's
 * raw streaming deflate (level 1) after the head, a buffer at a time, so a huge profile is never
 * held twice. */
#include "pipeline/translate/pprof_encode_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/gzip_member.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Uncompressed bytes compressed in one call; beyond it, streaming. */
static size_t whole_limit = (size_t)16 << 20;

/* How much more the encoder writes before the helper is told (a lock and a wake-up). */
#define TELL_STEP ((size_t)64 << 10)

/* The level, as Go's runtime/pprof writes (gzip.BestSpeed). */
#define LEVEL 1

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

/* Starts streaming: the member's header, or the helper's head (which ends at *from of the
 * bytes p holds now), then a raw zlib stream for the rest. */
static int start_streaming(pg_pprof_out *s, size_t *from)
{
    *from = 0;
    int rc;
    if (s->pipe) {
        rc = pg_gzip_pipe_head(s->pipe, s->out, &s->crc, from);
        s->pipe = NULL;
        s->total = *from;
    } else {
        rc = pg_gzip_header(s->out, LEVEL);
        s->crc = 0; /* the CRC-32 of nothing */
    }
    if (rc) return rc;
    z_stream *z = calloc(1, sizeof *z);
    if (!z) return PG_ENOMEM;
    if (deflateInit2(z, LEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(z);
        return PG_ENOMEM;
    }
    s->z = z;
    return 0;
}

/* Deflates p[0..n) into the stream, keeping the CRC and the length. */
static int stream_bytes(pg_pprof_out *s, const uint8_t *p, size_t n, int flush)
{
    s->crc = libdeflate_crc32(s->crc, p, n);
    s->total += n;
    return deflate_into(s, p, n, flush);
}

/* pg_buf flush hook: the buffer is full, so the output goes on streaming through zlib. */
static int flush_streaming(void *ctx, const uint8_t *p, size_t n)
{
    pg_pprof_out *s = ctx;
    if (!s->z) {
        size_t from;
        int rc = start_streaming(s, &from);
        if (rc) return rc;
        p += from;
        n -= from;
    }
    return stream_bytes(s, p, n, Z_NO_FLUSH);
}

/* Compresses s->buf's bytes as one gzip member (libdeflate, and ISA-L on a second thread for
 * a large encoding: gzip_member.h), appending to out. */
static int compress_whole(pg_pprof_out *s)
{
    /* the bound is the most it takes: no doubling slack (a flushing buffer grows its way) */
    return pg_gzip_member(s->buf.data, s->buf.len, LEVEL, s->out, !s->out->flush);
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

/* Every TELL_STEP bytes: starts the helper once the encoding is large enough (before the
 * cut only: the head's end must come from the data; asked no more often, as the answer may
 * take a system call), or tells it what is written. */
void pg_pprof_out_progress(pg_pprof_out *s)
{
    if (!s->gzip || s->z || s->buf.failed || s->buf.len - s->told < TELL_STEP) return;
    s->told = s->buf.len;
    if (!s->pipe) {
        if (s->cut || !pg_gzip_member_splits(s->buf.len)) return;
        s->pipe = pg_gzip_pipe_start(s->buf.data, s->buf.cap, LEVEL);
        if (!s->pipe) {
            s->cut = 1; /* no helper: compressed whole at close */
            return;
        }
    }
    pg_gzip_pipe_written(s->pipe, s->buf.len);
}

/* Ends the head at the bytes written so far. */
static void cut_here(pg_pprof_out *s)
{
    if (s->pipe && !s->cut && !s->z) pg_gzip_pipe_cut(s->pipe, s->buf.len);
    s->cut = 1;
}

/* Where the head ends, in sixteenths of the samples; 0: at the end of the encoding. ISA-L on
 * the helper deflates faster than the encoder writes, so by default the head is all of it:
 * the tables and strings are deflated while they are written too, and close waits for the
 * last slice only (on the 5.6 MB busy profile, close went from 13 ms, libdeflate deflating
 * the tables and strings after they were written, to about 1 ms). */
static unsigned head_share;

void pg_pprof_out_set_head_share(unsigned sixteenths)
{
    head_share = sixteenths < 16 ? sixteenths : 0;
}

/* Progress, and the cut once a test's share of the samples is written. */
void pg_pprof_out_sample_written(pg_pprof_out *s, size_t i, size_t n)
{
    pg_pprof_out_progress(s);
    if (head_share && i + 1 == n / 16 * head_share + n % 16 * head_share / 16) cut_here(s);
}

/* Compresses what the buffer holds and ends the gzip member. */
int pg_pprof_out_close(pg_pprof_out *s)
{
    if (!s->gzip) return s->out->failed;
    if (s->buf.failed) return s->buf.failed;
    int rc;
    if (s->z) {
        rc = stream_bytes(s, s->buf.data, s->buf.len, Z_FINISH);
        if (!rc) rc = pg_gzip_trailer(s->out, s->crc, s->total);
    } else if (s->pipe) {
        cut_here(s); /* the head runs to the end, unless a test cut it earlier */
        rc = pg_gzip_pipe_finish(s->pipe, s->buf.len, s->out);
        s->pipe = NULL;
    } else {
        rc = compress_whole(s);
    }
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
    pg_gzip_pipe_abort(s->pipe);
    if (s->z) {
        deflateEnd(s->z);
        free(s->z);
    }
    pg_buf_free(&s->buf);
    memset(s, 0, sizeof *s);
}

/* The pprof encoder's output stream: bytes reach the caller's buffer as they are produced,
 * plain, or gzipped one chunk at a time (libdeflate level 1, like Go's runtime/pprof),
 * each chunk a gzip member of its own. A multi-member gzip file is one valid gzip stream
 * (RFC 1952 §2.2; Go, zlib, Python and Node read all members), and at 1 MiB per chunk
 * it compresses as well as one member, so neither the whole uncompressed profile nor a
 * second copy of it is ever held. */
#include "pipeline/translate/pprof_enc_internal.h"

#include <libdeflate.h>
#include <string.h>

/* Uncompressed bytes per gzip member. */
#define CHUNK ((size_t)1 << 20)

/* Compresses one chunk as a gzip member appended to the caller's buffer. */
static int put_member(pg_pprof_out *s, const uint8_t *p, size_t n)
{
    size_t bound = libdeflate_gzip_compress_bound(s->z, n);
    if (pg_buf_reserve(s->out, bound)) return -1;
    size_t got = libdeflate_gzip_compress(s->z, p, n, s->out->data + s->out->len, bound);
    if (!got) return -1;
    s->out->len += got;
    s->members++;
    return 0;
}

/* pg_buf flush hook of the chunk buffer. */
static int flush_chunk(void *ctx, const uint8_t *p, size_t n)
{
    return put_member(ctx, p, n);
}

/* Plain output is written straight into out; gzip output goes through a chunk buffer. */
int pg_pprof_out_open(pg_pprof_out *s, pg_buf *out, int gzip)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    s->start = out->len;
    s->start_flushed = out->flushed;
    if (!gzip) return 0;
    if (!(s->z = libdeflate_alloc_compressor(1))) return -1;
    s->buf.flush = flush_chunk;
    s->buf.flush_ctx = s;
    return pg_buf_reserve(&s->buf, CHUNK);
}

/* Where the encoder writes. */
pg_buf *pg_pprof_out_sink(pg_pprof_out *s)
{
    return s->z ? &s->buf : s->out;
}

/* Compresses what the chunk buffer still holds (an empty profile is one empty member). */
int pg_pprof_out_close(pg_pprof_out *s)
{
    if (!s->z) return s->out->failed ? -1 : 0;
    if (s->buf.failed) return -1;
    if (s->buf.len || !s->members) {
        if (put_member(s, s->buf.data ? s->buf.data : (const uint8_t *)"", s->buf.len)) return -1;
        s->buf.len = 0;
    }
    return s->out->failed ? -1 : 0;
}

/* Frees the stream; after a failure, what it appended to out is taken back when out has
 * not handed it on. */
void pg_pprof_out_free(pg_pprof_out *s, int failed)
{
    if (failed && s->out->flushed == s->start_flushed && s->out->len > s->start)
        s->out->len = s->start;
    if (s->z) libdeflate_free_compressor(s->z);
    pg_buf_free(&s->buf);
    memset(s, 0, sizeof *s);
}

/* One gzip member from a buffer, split over two threads when large (gzip_member.h).
 *
 * Deflate blocks are bit-packed, and a raw stream that ends on an empty stored block
 * (a sync flush) ends byte-aligned without the final bit: another raw stream can follow it
 * directly, as long as it does not refer back into the first one's bytes (a stream
 * compressed on its own never does). The member is the gzip header, ISA-L's stream of the
 * head, libdeflate's stream of the tail (the final block), then the CRC of the whole input
 * (both halves' CRCs combined) and its length. ISA-L (igzip) streams, which libdeflate
 * cannot, and at its level 1 deflates about 2.3 times as fast as libdeflate's level 1 and 6
 * times as fast as zlib's, to within 3% of zlib's size on the busy profiles' pprof
 * encoding (17% more than libdeflate's on the large heap profile's, 10% less than zlib's). */
#include "pipeline/core/gzip_member.h"

#include "pipeline/core/cpus.h"
#include "pipeline/core/err.h"
#include "pipeline/core/isal_load.h"
#include "pipeline/core/pages.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_SPLIT_MIN ((size_t)256 << 10)
/* Above this the whole input goes through libdeflate in one call (ISA-L counts in 32 bits). */
#define SPLIT_MAX ((size_t)1 << 30)
/* ISA-L deflates about 2.3 times as fast per byte as libdeflate, which compresses smaller:
 * the helper takes five eighths of the input (its thread also has to start), and the tail
 * keeps libdeflate's ratio for the rest. */
#define HEAD_SIXTEENTHS 10
#define GZIP_HEADER 10
#define GZIP_TRAILER 8

static pg_two_threads split = {DEFAULT_SPLIT_MIN, DEFAULT_SPLIT_MIN, 0};

/* Test hook: see gzip_member.h. */
void pg_gzip_member_set_split(size_t min_bytes, int force)
{
    pg_two_threads_set(&split, min_bytes, force);
}

/* Writes the 10-byte header libdeflate writes: no name, no time, the level's XFL hint. */
static void put_header(uint8_t *p, int level)
{
    static const uint8_t fixed[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0};
    memcpy(p, fixed, sizeof fixed);
    p[8] = level < 2 ? 4 : level >= 8 ? 2 : 0;
    p[9] = 0xff; /* OS: unknown */
}

/* Writes v little-endian in 4 bytes. */
static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A libdeflate compressor builds its tables when it is made, about 40 us on this project's
 * machines, as long as compressing 7 KB: for the small profiles a gateway converts most, a
 * tenth of the conversion. A few made ones are kept for reuse (with their level); a caller
 * that finds none makes one, and one that finds no room frees its own. */
#define POOL_SIZE 2
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct libdeflate_compressor *pool[POOL_SIZE];
static int pool_level[POOL_SIZE];

/* A compressor for level, from the pool or new (the caller owns it; give it back). */
static struct libdeflate_compressor *compressor_take(int level)
{
    struct libdeflate_compressor *c = NULL;
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < POOL_SIZE && !c; i++)
        if (pool[i] && pool_level[i] == level) {
            c = pool[i];
            pool[i] = NULL;
        }
    pthread_mutex_unlock(&pool_mu);
    return c ? c : libdeflate_alloc_compressor(level);
}

/* Keeps c for reuse when the pool has room; else frees it. NULL is a no-op. */
static void compressor_give(struct libdeflate_compressor *c, int level)
{
    if (!c) return;
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < POOL_SIZE && c; i++)
        if (!pool[i]) {
            pool[i] = c;
            pool_level[i] = level;
            c = NULL;
        }
    pthread_mutex_unlock(&pool_mu);
    libdeflate_free_compressor(c);
}

/* Whether n bytes are worth a second thread. */
static int split_wanted(size_t n)
{
    return n <= SPLIT_MAX && pg_two_threads_worth(&split, n) && pg_isal_get();
}

/* The whole input in one libdeflate call. */
static int member_whole(struct libdeflate_compressor *c, const uint8_t *in, size_t n, pg_buf *out,
                        int exact)
{
    size_t room = libdeflate_gzip_compress_bound(c, n);
    int rc = exact ? pg_buf_reserve_exact(out, room) : pg_buf_reserve(out, room);
    if (rc) return rc;
    size_t got =
        libdeflate_gzip_compress(c, n ? in : (const uint8_t *)"", n, out->data + out->len, room);
    if (!got) return PG_EINTERNAL; /* the bound was not enough: cannot happen */
    out->len += got;
    return 0;
}

static pg_gzip_pipe *pipe_start(const uint8_t *buf, size_t cap, int level, int release);
static int pipe_finish(pg_gzip_pipe *p, struct libdeflate_compressor *c, size_t n, pg_buf *out,
                       int exact);

/* The head on a helper thread (a pipe over the input, cut at five eighths, the input's pages
 * left alone: they are the caller's), the tail here; all of it here when no thread can be
 * started. */
static int member_split(struct libdeflate_compressor *c, const uint8_t *in, size_t n, int level,
                        pg_buf *out, int exact)
{
    size_t cut = n / 16 * HEAD_SIXTEENTHS;
    pg_gzip_pipe *p = pipe_start(in, cut, level, 0);
    if (!p) return member_whole(c, in, n, out, exact);
    pg_gzip_pipe_cut(p, cut);
    return pipe_finish(p, c, n, out, exact);
}

/* See gzip_member.h; the compressor comes from the pool and goes back to it. */
int pg_gzip_member(const uint8_t *in, size_t n, int level, pg_buf *out, int exact)
{
    struct libdeflate_compressor *c = compressor_take(level);
    if (!c) return PG_ENOMEM;
    int rc = split_wanted(n) ? member_split(c, in, n, level, out, exact)
                             : member_whole(c, in, n, out, exact);
    compressor_give(c, level);
    return rc;
}

/* Whether n bytes are worth the pipe's helper thread (the split's threshold). */
int pg_gzip_member_splits(size_t n)
{
    return split_wanted(n);
}

/* Input the pipe's helper deflates per call: small enough that its pages go back soon
 * after the writer wrote them, large enough that the lock is taken rarely. The helper
 * deflates whole slices from the start of the buffer, and the last one up to the cut, never
 * what happens to be written: the calls, and so the bytes, depend on the input alone. */
#define PIPE_SLICE ((size_t)128 << 10)

/* The most a head of n bytes deflates to, the empty stored block that ends it included:
 * ISA-L writes a block that would not be smaller than its input as stored blocks (5 bytes
 * each per 64 KiB), and the margin covers a Huffman-coded block of incompressible bytes
 * too. Address space: the pages are touched only as they are written. */
static size_t head_bound(size_t n)
{
    return n + (n >> 6) + 1024;
}

/* ISA-L's level for a zlib-style level 1..9. */
static int isal_level(int level)
{
    return level <= 1 ? 1 : level <= 5 ? 2 : 3;
}

/* The level buffer ISA-L's level `l` wants. */
static size_t isal_level_buf(int l)
{
    return l == 1 ? ISAL_DEF_LVL1_DEFAULT : l == 2 ? ISAL_DEF_LVL2_DEFAULT : ISAL_DEF_LVL3_DEFAULT;
}

struct pg_gzip_pipe {
    const uint8_t *buf;
    int level;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t written;  /* guarded by mu: buf[0..written) is final */
    size_t cut;      /* guarded by mu: where the head ends, SIZE_MAX until the writer says */
    atomic_int stop; /* abort: set under mu, also read between slices */
    /* the helper's own until it is joined (the stream and its level buffer are made on the
     * helper thread, so they live in its heap arena, not under the writer's growing one) */
    const pg_isal *isal; /* loaded before the pipe starts (pg_gzip_member_splits) */
    struct isal_zstream *z;
    uint8_t *level_buf;
    pg_buf out; /* room for the gzip header, then the head's raw deflate stream */
    uint32_t crc;
    size_t done;             /* buf[0..done) deflated */
    const uint8_t *released; /* with release: pages before it handed back */
    int release;
    pg_pages_front ahead; /* with release: buf's pages faulted in ahead of the writer */
    int rc;
};

/* With release (the writer is still writing), how far ahead of its written mark the helper
 * faults the buffer's pages in: the writer then stores into present pages, and the faults
 * (several microseconds each on a VM whose host backs guest memory lazily, one per 4 KiB)
 * are paid on the helper, which mostly waits for the writer. What is faulted in and never
 * written is at most this much, until the buffer is freed. */
#define PIPE_AHEAD ((size_t)256 << 10)

/* Whether the writer's mark w leaves the helper pages to fault in ahead. */
static int pipe_ahead_wanted(const pg_gzip_pipe *p, size_t w)
{
    return p->release && pg_pages_front_due(&p->ahead, w);
}

/* One ISA-L call over the input the stream holds (with `flush`), into the head's output;
 * `fed` is how much of buf the stream has been given, this call's input included. Returns 0,
 * PG_ENOMEM or PG_EINTERNAL. */
static int pipe_call(pg_gzip_pipe *p, uint16_t flush, size_t fed)
{
    struct isal_zstream *z = p->z;
    /* the stream so far (pending blocks included) fits the bound of the input so far: never
     * more than reserved at the start, unless the writer passed its cap */
    size_t need = GZIP_HEADER + head_bound(fed);
    if (need > p->out.len && pg_buf_reserve(&p->out, need - p->out.len)) return PG_ENOMEM;
    size_t room = p->out.cap - p->out.len;
    if (room > UINT32_MAX) room = UINT32_MAX;
    z->next_out = p->out.data + p->out.len;
    z->avail_out = (uint32_t)room;
    z->flush = flush;
    int rc = p->isal->deflate(z);
    p->out.len += room - z->avail_out;
    return rc == COMP_OK ? 0 : PG_EINTERNAL;
}

/* Deflates buf[done..upto) a slice at a time: CRC first, then ISA-L, then the slice's
 * whole pages go back to the OS (ISA-L keeps the history it needs in its own state). */
static int pipe_deflate(pg_gzip_pipe *p, size_t upto)
{
    while (p->done < upto) {
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return 0; /* abort: leave */
        size_t n = upto - p->done < PIPE_SLICE ? upto - p->done : PIPE_SLICE;
        const uint8_t *in = p->buf + p->done;
        p->crc = libdeflate_crc32(p->crc, in, n);
        p->z->next_in = (uint8_t *)(uintptr_t)in;
        p->z->avail_in = (uint32_t)n;
        while (p->z->avail_in) {
            uint32_t before = p->z->avail_in;
            int rc = pipe_call(p, NO_FLUSH, p->done + n);
            if (rc) return rc;
            if (p->z->avail_in == before) return PG_EINTERNAL; /* room was given: a bug */
        }
        p->done += n;
        if (p->release)
            pg_pages_release_consumed(&p->released, p->buf + p->done, NULL, NULL, PIPE_SLICE);
    }
    return 0;
}

/* Ends the head's stream on an empty stored block (a sync flush): byte-aligned, not
 * final. Pending blocks come out first; the call repeats while it fills the room given. */
static int pipe_sync(pg_gzip_pipe *p)
{
    p->z->avail_in = 0;
    int rc;
    do {
        size_t len = p->out.len;
        if ((rc = pipe_call(p, SYNC_FLUSH, p->done))) return rc;
        if (p->out.len == len && p->z->internal_state.state != ZSTATE_NEW_HDR)
            return PG_EINTERNAL; /* no progress and not done */
    } while (p->z->internal_state.state != ZSTATE_NEW_HDR);
    return 0;
}

/* Makes the helper's ISA-L stream (on the helper thread). Returns 0, PG_ENOMEM or
 * PG_EINTERNAL (ISA-L not loadable, which pg_gzip_member_splits would have said). */
static int pipe_stream_new(pg_gzip_pipe *p)
{
    int l = isal_level(p->level);
    if (!(p->isal = pg_isal_get())) return PG_EINTERNAL; /* the caller asked splits first */
    if (!(p->z = malloc(sizeof *p->z)) || !(p->level_buf = malloc(isal_level_buf(l))))
        return PG_ENOMEM;
    p->isal->deflate_init(p->z);
    p->z->level = (uint32_t)l;
    p->z->level_buf = p->level_buf;
    p->z->level_buf_size = (uint32_t)isal_level_buf(l);
    p->z->end_of_stream = 0;
    p->z->gzip_flag = IGZIP_DEFLATE;
    return 0;
}

/* Where the helper may deflate to next: the cut once it is known (everything before it is
 * written), else the last whole slice written; `done` when there is nothing yet. */
static size_t pipe_ready(const pg_gzip_pipe *p)
{
    if (p->cut != SIZE_MAX) return p->cut;
    size_t whole = (p->written - p->done) / PIPE_SLICE * PIPE_SLICE;
    return p->done + whole;
}

/* Helper thread: deflates what the writer has written, up to the cut, then syncs; while
 * the writer writes (release), faults pages in ahead of it first. */
static void *pipe_main(void *arg)
{
    pg_gzip_pipe *p = arg;
    if ((p->rc = pipe_stream_new(p))) return NULL;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t upto;
        for (;;) {
            upto = pipe_ready(p);
            if (p->stop || upto > p->done || p->cut == p->done) break;
            if (p->cut == SIZE_MAX && pipe_ahead_wanted(p, p->written)) break;
            pthread_cond_wait(&p->cv, &p->mu);
        }
        int last = upto == p->cut;
        size_t written = p->written;
        int writing = p->cut == SIZE_MAX;
        pthread_mutex_unlock(&p->mu);
        if (p->stop) return NULL;
        if (writing && p->release)
            pg_pages_front_fault(&p->ahead, (uint8_t *)(uintptr_t)p->buf, written);
        if ((p->rc = pipe_deflate(p, upto)) || p->stop) return NULL;
        if (last) {
            p->rc = pipe_sync(p);
            return NULL;
        }
    }
}

/* Frees a joined (or never started) pipe. */
static void pipe_free(pg_gzip_pipe *p)
{
    free(p->z);
    free(p->level_buf);
    pg_buf_free(&p->out);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Starts a pipe; with release, the head's input pages go back to the OS as they are
 * deflated. The caller owns the pipe until head, finish or abort. */
static pg_gzip_pipe *pipe_start(const uint8_t *buf, size_t cap, int level, int release)
{
    pg_gzip_pipe *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    /* grown by doubling instead, each copy would leave the old block resident */
    if (pg_buf_reserve_exact(&p->out, GZIP_HEADER + head_bound(cap))) {
        free(p);
        return NULL;
    }
    p->out.len = GZIP_HEADER; /* written at the end */
    p->buf = p->released = buf;
    p->release = release;
    p->ahead = (pg_pages_front){cap, 0, PIPE_AHEAD, PIPE_SLICE};
    p->level = level;
    p->cut = SIZE_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pg_thread_create_apart(&p->thread, "profgate-gzip", pipe_main, p) != 0) {
        pipe_free(p);
        return NULL;
    }
    return p;
}

/* See gzip_member.h: a pipe whose head's pages are handed back. */
pg_gzip_pipe *pg_gzip_pipe_start(const uint8_t *buf, size_t cap, int level)
{
    return pipe_start(buf, cap, level, 1);
}

/* Raises the written mark and wakes the helper. */
void pg_gzip_pipe_written(pg_gzip_pipe *p, size_t n)
{
    pthread_mutex_lock(&p->mu);
    if (n > p->written) p->written = n;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Sets the cut (everything before it is written, by the contract). */
void pg_gzip_pipe_cut(pg_gzip_pipe *p, size_t cut)
{
    pthread_mutex_lock(&p->mu);
    if (p->cut == SIZE_MAX) p->cut = cut < p->written ? p->written : cut;
    if (p->cut > p->written) p->written = p->cut;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Settles the cut (the last written mark when the writer made none) and returns it. */
static size_t pipe_settle(pg_gzip_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->cut == SIZE_MAX) p->cut = p->written;
    size_t cut = p->cut;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return cut;
}

/* Joins the helper; the header and the head's stream go to out: the helper's buffer itself
 * when out is empty (no copy of the head), else appended, reserved exactly with `exact`.
 * Frees p. */
static int pipe_head(pg_gzip_pipe *p, pg_buf *out, uint32_t *crc, size_t *cut, int exact)
{
    *cut = pipe_settle(p);
    pthread_join(p->thread, NULL);
    int rc = p->rc;
    if (!rc) {
        put_header(p->out.data, p->level);
        *crc = p->crc;
    }
    if (!rc && !out->len && !out->flush && !out->mapped) {
        free(out->data);
        out->data = p->out.data;
        out->len = p->out.len;
        out->cap = p->out.cap;
        p->out = (pg_buf){0};
    } else if (!rc) {
        rc = exact ? pg_buf_reserve_exact(out, p->out.len) : pg_buf_reserve(out, p->out.len);
        if (!rc) {
            memcpy(out->data + out->len, p->out.data, p->out.len);
            out->len += p->out.len;
        }
    }
    pipe_free(p);
    return rc;
}

/* See gzip_member.h. */
int pg_gzip_pipe_head(pg_gzip_pipe *p, pg_buf *out, uint32_t *crc, size_t *cut)
{
    return pipe_head(p, out, crc, cut, 0);
}

/* The tail is deflated here with c, into a buffer of its own, while the helper ends the
 * head; then the head, the tail and the trailer go to out. With `exact`, out grows by what
 * they take only (see pg_gzip_member). Frees p. */
static int pipe_finish(pg_gzip_pipe *p, struct libdeflate_compressor *c, size_t n, pg_buf *out,
                       int exact)
{
    size_t cut = pipe_settle(p), tail_n = n - cut, at = out->len, head_cut;
    pg_buf tail = {0};
    size_t tail_room = libdeflate_deflate_compress_bound(c, tail_n);
    int rc = pg_buf_reserve_exact(&tail, tail_room);
    uint32_t tail_crc = 0, head_crc = 0;
    if (!rc) {
        tail.len = libdeflate_deflate_compress(c, p->buf + cut, tail_n, tail.data, tail_room);
        tail_crc = libdeflate_crc32(0, p->buf + cut, tail_n);
        if (!tail.len) rc = PG_EINTERNAL; /* the bound was not enough: cannot happen */
    }
    if (rc)
        pg_gzip_pipe_abort(p);
    else
        rc = pipe_head(p, out, &head_crc, &head_cut, exact); /* frees p */
    if (!rc)
        rc = exact ? pg_buf_reserve_exact(out, tail.len + GZIP_TRAILER)
                   : pg_buf_reserve(out, tail.len + GZIP_TRAILER);
    if (!rc) {
        memcpy(out->data + out->len, tail.data, tail.len);
        out->len += tail.len;
        rc = pg_gzip_trailer(out, (uint32_t)crc32_combine(head_crc, tail_crc, (z_off_t)tail_n), n);
    }
    pg_buf_free(&tail);
    if (rc && out->len > at) out->len = at;
    return rc;
}

/* See gzip_member.h; the compressor comes from the pool. */
int pg_gzip_pipe_finish(pg_gzip_pipe *p, size_t n, pg_buf *out)
{
    int level = p->level;
    struct libdeflate_compressor *c = compressor_take(level);
    if (!c) {
        pg_gzip_pipe_abort(p);
        return PG_ENOMEM;
    }
    int rc = pipe_finish(p, c, n, out, 0);
    compressor_give(c, level);
    return rc;
}

/* Tells the helper to leave, joins it, frees p. */
void pg_gzip_pipe_abort(pg_gzip_pipe *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pipe_free(p);
}

/* CRC and length, little-endian. */
int pg_gzip_trailer(pg_buf *out, uint32_t crc, uint64_t n)
{
    int rc = pg_buf_reserve(out, GZIP_TRAILER);
    if (rc) return rc;
    put_le32(out->data + out->len, crc);
    put_le32(out->data + out->len + 4, (uint32_t)n);
    out->len += GZIP_TRAILER;
    return 0;
}

/* Appends the 10-byte header. */
int pg_gzip_header(pg_buf *out, int level)
{
    int rc = pg_buf_reserve(out, GZIP_HEADER);
    if (rc) return rc;
    put_header(out->data + out->len, level);
    out->len += GZIP_HEADER;
    return 0;
}

/* One gzip member from a buffer, split over two threads when large (gzip_member.h).
 *
 * Deflate blocks are bit-packed, and a raw stream that ends on an empty stored block
 * (zlib's Z_SYNC_FLUSH) ends byte-aligned without the final bit: another raw stream can
 * follow it directly, as long as it does not refer back into the first one's bytes (a
 * stream compressed on its own never does). The member is the gzip header, zlib's stream
 * of the head, libdeflate's stream of the tail (the final block), then the CRC of the
 * whole input (both halves' CRCs combined) and its length. */
#include "pipeline/core/gzip_member.h"

#include "pipeline/core/cpus.h"
#include "pipeline/core/err.h"

#include <libdeflate.h>
#include <pthread.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_SPLIT_MIN ((size_t)256 << 10)
/* Above this the whole input goes through libdeflate in one call (zlib counts in uInt). */
#define SPLIT_MAX ((size_t)1 << 30)
/* zlib deflates about 2.5 to 3 times slower per byte than libdeflate at the same level, so
 * the helper takes a quarter of the input and both halves end at about the same time. */
#define HEAD_SIXTEENTHS 4
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

/* The head's share of the work: its bytes, where its stream goes, what came of it. The
 * z_stream is initialised by the caller (a failure there needs no thread) and ended here. */
typedef struct head_job {
    z_stream z;
    const uint8_t *in;
    size_t n;
    uint8_t *out;
    size_t room, got;
    uint32_t crc;
    int rc;
} head_job;

/* Thread body: deflates the head into its room, ending byte-aligned and not final. */
static void *deflate_head(void *arg)
{
    head_job *j = arg;
    j->crc = libdeflate_crc32(0, j->in, j->n);
    j->z.next_in = (Bytef *)(uintptr_t)j->in;
    j->z.avail_in = (uInt)j->n;
    j->z.next_out = j->out;
    j->z.avail_out = (uInt)j->room;
    int zrc = deflate(&j->z, Z_SYNC_FLUSH);
    /* the room is deflateBound plus a flush's worth: all of it fits in one call */
    j->rc = zrc == Z_OK && j->z.avail_in == 0 && j->z.avail_out > 0 ? 0 : PG_EINTERNAL;
    j->got = j->room - j->z.avail_out;
    deflateEnd(&j->z);
    return NULL;
}

/* Whether n bytes are worth a second thread. */
static int split_wanted(size_t n)
{
    return n <= SPLIT_MAX && pg_two_threads_worth(&split, n);
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

/* Head on a helper thread (or here, when no thread can be started), tail here. */
static int member_split(struct libdeflate_compressor *c, const uint8_t *in, size_t n, int level,
                        pg_buf *out, int exact)
{
    head_job j = {.in = in, .n = n / 16 * HEAD_SIXTEENTHS};
    if (deflateInit2(&j.z, level > 9 ? 9 : level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return PG_ENOMEM;
    const uint8_t *tail = in + j.n;
    size_t tail_n = n - j.n;
    j.room = deflateBound(&j.z, j.n) + 16; /* + the empty stored block of the flush */
    size_t tail_room = libdeflate_deflate_compress_bound(c, tail_n);
    size_t need = GZIP_HEADER + j.room + tail_room + GZIP_TRAILER;
    int rc = exact ? pg_buf_reserve_exact(out, need) : pg_buf_reserve(out, need);
    if (rc) {
        deflateEnd(&j.z);
        return rc;
    }
    uint8_t *base = out->data + out->len;
    put_header(base, level);
    j.out = base + GZIP_HEADER;
    pthread_t t;
    int threaded = pthread_create(&t, NULL, deflate_head, &j) == 0;
    if (!threaded) deflate_head(&j);
    uint8_t *tail_out = j.out + j.room;
    size_t tail_got = libdeflate_deflate_compress(c, tail, tail_n, tail_out, tail_room);
    uint32_t tail_crc = libdeflate_crc32(0, tail, tail_n);
    if (threaded) pthread_join(t, NULL);
    if (j.rc || !tail_got) return PG_EINTERNAL;
    memmove(j.out + j.got, tail_out, tail_got);
    uint8_t *end = j.out + j.got + tail_got;
    put_le32(end, (uint32_t)crc32_combine(j.crc, tail_crc, (z_off_t)tail_n));
    put_le32(end + 4, (uint32_t)n);
    out->len += GZIP_HEADER + j.got + tail_got + GZIP_TRAILER;
    return 0;
}

/* See gzip_member.h; the compressor is this call's own. */
int pg_gzip_member(const uint8_t *in, size_t n, int level, pg_buf *out, int exact)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c) return PG_ENOMEM;
    int rc = split_wanted(n) ? member_split(c, in, n, level, out, exact)
                             : member_whole(c, in, n, out, exact);
    libdeflate_free_compressor(c);
    return rc;
}

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/gzip_member.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/pages_ahead.h"

#include <libdeflate.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* Identifies the compression from magic bytes (borrowed). */
pg_encoding pg_sniff_encoding(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return PG_ENC_GZIP;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return PG_ENC_ZSTD;
    return PG_ENC_NONE;
}

/* Maps a Content-Encoding token to an encoding. */
int pg_encoding_from_name(const char *name)
{
    if (!name || !*name || strcmp(name, "identity") == 0) return PG_ENC_NONE;
    if (strcmp(name, "gzip") == 0 || strcmp(name, "x-gzip") == 0) return PG_ENC_GZIP;
    if (strcmp(name, "zstd") == 0) return PG_ENC_ZSTD;
    if (strcmp(name, "deflate") == 0) return PG_ENC_DEFLATE;
    return PG_EUNSUP;
}

/* The last gzip trailer's ISIZE: the uncompressed size mod 2^32 of the member that ends
 * in[0..n) (n >= 4; untrusted). */
static size_t gzip_isize(const uint8_t *in, size_t n)
{
    return (size_t)in[n - 4] | (size_t)in[n - 3] << 8 | (size_t)in[n - 2] << 16 |
           (size_t)in[n - 1] << 24;
}

/* See decompress.h. */
size_t pg_decompressed_size_hint(pg_encoding enc, const uint8_t *in, size_t n)
{
    if (enc == PG_ENC_GZIP) return n >= 18 ? gzip_isize(in, n) : 0;
    if (enc != PG_ENC_ZSTD) return 0;
    unsigned long long z = ZSTD_getFrameContentSize(in, n);
    return z == ZSTD_CONTENTSIZE_UNKNOWN || z == ZSTD_CONTENTSIZE_ERROR || z > SIZE_MAX ? 0
                                                                                        : (size_t)z;
}

/* Inflates one or more gzip members with libdeflate into out. The first guess at the size
 * is the trailer's ISIZE (untrusted), bounded by max_out (and reserved exactly for a first
 * member, so a profile's inflated bytes take no doubling slack); the output grows on
 * demand. */
static int gunzip(const uint8_t *in, size_t n, size_t max_out, pg_buf *out, char *err,
                  size_t errlen)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
    int rc = 0;
    size_t used = 0;
    size_t produced = 0;
    while (used < n) {
        const uint8_t *m = in + used;
        size_t mn = n - used;
        if (mn < 18) {
            rc = pg_err(err, errlen, PG_EINVAL, "truncated gzip stream");
            break;
        }
        /* Guess the member size from the final trailer (exact for one member). */
        size_t guess = gzip_isize(in, n);
        /* the first member with a plausible ISIZE is reserved exactly, without doubling */
        int sized = guess >= mn && out->len == 0;
        if (!sized) guess = mn * 4;
        size_t room = max_out - produced;
        if (guess > room) guess = room;
        for (;;) {
            if (sized ? pg_buf_reserve_exact(out, guess + 1) : pg_buf_reserve(out, guess + 1)) {
                rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate %zu bytes)", guess);
                break;
            }
            pg_pages_hint_large(out->data + out->len, guess);
            /* faulted in at once, but no more than 32x the compressed bytes: what profiles
             * inflate to, not what a lying trailer may claim */
            size_t likely = mn <= SIZE_MAX / 32 && guess > mn * 32 ? mn * 32 : guess;
            pg_pages_ahead *ahead =
                sized ? pg_pages_ahead_start(out->data + out->len, likely) : NULL;
            if (sized && !ahead) pg_pages_populate(out->data + out->len, likely);
            size_t in_used = 0, got = 0;
            enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, m, mn, out->data + out->len,
                                                                     guess, &in_used, &got);
            pg_pages_ahead_stop(ahead);
            if (r == LIBDEFLATE_SUCCESS) {
                out->len += got;
                produced += got;
                used += in_used;
                break;
            }
            if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
                if (guess >= room) {
                    rc = pg_err(err, errlen, PG_ELIMIT,
                                "decompressed size exceeds the limit of %zu bytes", max_out);
                    break;
                }
                guess = guess > room / 2 ? room : guess * 2;
                sized = 0;
                continue;
            }
            rc = pg_err(err, errlen, PG_EINVAL, "corrupt gzip data");
            break;
        }
        if (rc) break;
    }
    libdeflate_free_decompressor(d);
    return rc;
}

/* Decompresses a zstd stream (one or more frames) into out with a cap. */
static int unzstd(const uint8_t *in, size_t n, size_t max_out, pg_buf *out, char *err,
                  size_t errlen)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds) return pg_err(err, errlen, PG_ENOMEM, "out of memory (zstd)");
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in, n, 0};
    size_t start = out->len;
    int rc = 0;
    size_t last = 1;
    while (ib.pos < ib.size || last != 0) {
        if (pg_buf_reserve(out, 65536)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (zstd)");
            break;
        }
        size_t room = out->cap - out->len;
        size_t allowed = max_out - (out->len - start);
        if (room > allowed + 1) room = allowed + 1;
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            rc = pg_err(err, errlen, PG_EINVAL, "corrupt zstd data: %s", ZSTD_getErrorName(last));
            break;
        }
        out->len += ob.pos;
        if (out->len - start > max_out) {
            rc = pg_err(err, errlen, PG_ELIMIT, "decompressed size exceeds the limit of %zu bytes",
                        max_out);
            break;
        }
        if (ib.pos == ib.size && ob.pos == 0 && last != 0) {
            rc = pg_err(err, errlen, PG_EINVAL, "truncated zstd stream");
            break;
        }
    }
    ZSTD_freeDStream(ds);
    return rc;
}

/* Inflates HTTP "deflate" (a zlib stream, RFC 1950; raw RFC 1951 data as some senders
 * write it is accepted too) into out with a cap, streaming so the cap stops a bomb early. */
static int inflate_deflate(const uint8_t *in, size_t n, size_t max_out, pg_buf *out, char *err,
                           size_t errlen)
{
    /* zlib header: CMF/FLG with CM 8 and a check multiple of 31; otherwise raw deflate */
    int raw = !(n >= 2 && (in[0] & 0x0f) == 8 && ((in[0] << 8) | in[1]) % 31 == 0);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, raw ? -MAX_WBITS : MAX_WBITS) != Z_OK)
        return pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
    size_t start = out->len;
    int rc = 0, zr = Z_OK;
    z.next_in = (Bytef *)(uintptr_t)in;
    while (zr != Z_STREAM_END) {
        if (pg_buf_reserve(out, 65536)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
            break;
        }
        size_t room = out->cap - out->len, allowed = max_out - (out->len - start);
        if (room > allowed + 1) room = allowed + 1;
        if (room > UINT_MAX) room = UINT_MAX;
        size_t in_left = n - (size_t)((const uint8_t *)z.next_in - in);
        z.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        z.next_out = out->data + out->len;
        z.avail_out = (uInt)room;
        zr = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (out->len - start > max_out) {
            rc = pg_err(err, errlen, PG_ELIMIT, "decompressed size exceeds the limit of %zu bytes",
                        max_out);
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = pg_err(err, errlen, PG_EINVAL, "truncated deflate stream");
            break;
        }
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            rc = pg_err(err, errlen, PG_EINVAL, "corrupt deflate data");
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* Dispatches on enc; out is appended to and stays caller-owned. */
int pg_decompress(pg_encoding enc, const uint8_t *in, size_t n, size_t max_out, pg_buf *out,
                  char *err, size_t errlen)
{
    if (max_out == 0) max_out = SIZE_MAX / 4;
    switch (enc) {
    case PG_ENC_GZIP:
        return gunzip(in, n, max_out, out, err, errlen);
    case PG_ENC_ZSTD:
        return unzstd(in, n, max_out, out, err, errlen);
    case PG_ENC_DEFLATE:
        return inflate_deflate(in, n, max_out, out, err, errlen);
    default:
        if (n > max_out)
            return pg_err(err, errlen, PG_ELIMIT, "size exceeds the limit of %zu bytes", max_out);
        return pg_buf_append(out, in, n) ? pg_err(err, errlen, PG_ENOMEM, "out of memory") : 0;
    }
}

/* Makes room in out for the next piece of a prefix (at most `left` bytes, 64 KiB at a time)
 * and returns how many bytes may be written, 0 when out cannot grow. */
static size_t prefix_room(pg_buf *out, size_t left)
{
    size_t want = left < 65536 ? left : 65536;
    if (out->cap - out->len < want && pg_buf_reserve(out, want)) return 0;
    size_t room = out->cap - out->len;
    return room < left ? room : left;
}

/* The prefix of a small input at libdeflate's speed (about three times zlib's): when the
 * input is one gzip member whose trailer says it inflates to at most max_out bytes, inflates
 * it whole into out and returns 1; else returns 0 with out as it was, for the streaming way. */
static int gunzip_whole_small(const uint8_t *in, size_t n, size_t max_out, pg_buf *out)
{
    if (n < 18) return 0;
    size_t isize = gzip_isize(in, n);
    if (isize > max_out || pg_buf_reserve(out, isize + 1)) return 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return 0;
    size_t in_used = 0, got = 0;
    enum libdeflate_result r =
        libdeflate_gzip_decompress_ex(d, in, n, out->data + out->len, isize, &in_used, &got);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || in_used != n || got != isize) return 0;
    out->len += got;
    return 1;
}

/* Inflates the first bytes of one or more gzip members with zlib's streaming inflate into
 * out (appending, out stays caller-owned); the contract is pg_decompress_prefix's. */
static int gunzip_prefix(const uint8_t *in, size_t n, size_t max_out, pg_buf *out, int *complete,
                         char *err, size_t errlen)
{
    if (gunzip_whole_small(in, n, max_out, out)) {
        if (complete) *complete = 1;
        return 0;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
    size_t start = out->len, used = 0;
    int rc = 0, ended = 0;
    const char *why = "truncated gzip stream";
    while (out->len - start < max_out) {
        size_t room = prefix_room(out, max_out - (out->len - start));
        if (!room) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
            break;
        }
        if (room > UINT_MAX) room = UINT_MAX;
        size_t avail = n - used < UINT_MAX ? n - used : UINT_MAX;
        zs.next_in = (Bytef *)(uintptr_t)(in + used);
        zs.avail_in = (uInt)avail;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        used += avail - zs.avail_in;
        out->len += room - zs.avail_out;
        if (zr == Z_STREAM_END) {
            if (used == n) {
                ended = 1;
                break;
            }
            if (inflateReset(&zs) != Z_OK) {
                why = "corrupt gzip data";
                break;
            }
            continue; /* another member (or trailing bytes) follows */
        }
        if (zr == Z_OK) continue;
        if (zr == Z_MEM_ERROR) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (inflate)");
            break;
        }
        if (zr != Z_BUF_ERROR) why = "corrupt gzip data"; /* Z_DATA_ERROR, Z_NEED_DICT */
        break; /* Z_BUF_ERROR: the input ended inside a member */
    }
    inflateEnd(&zs);
    if (!rc && out->len == start && !ended) rc = pg_err(err, errlen, PG_EINVAL, "%s", why);
    if (rc) out->len = start;
    if (complete) *complete = !rc && ended;
    return rc;
}

/* Decompresses the first bytes of one or more zstd frames into out (appending); the
 * contract is pg_decompress_prefix's. */
static int unzstd_prefix(const uint8_t *in, size_t n, size_t max_out, pg_buf *out, int *complete,
                         char *err, size_t errlen)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds) return pg_err(err, errlen, PG_ENOMEM, "out of memory (zstd)");
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in, n, 0};
    size_t start = out->len;
    size_t last = 1; /* 0 once a frame is complete */
    int rc = 0, ended = 0;
    const char *why = "truncated zstd stream";
    while (out->len - start < max_out) {
        if (last == 0 && ib.pos == ib.size) {
            ended = 1;
            break;
        }
        size_t room = prefix_room(out, max_out - (out->len - start));
        if (!room) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory (zstd)");
            break;
        }
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        size_t before = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            why = "corrupt zstd data";
            break;
        }
        out->len += ob.pos;
        if (ob.pos == 0 && ib.pos == before) break; /* no progress: the input ended */
    }
    if (!rc && !ended && last == 0 && ib.pos == ib.size) ended = 1; /* ended at the cap */
    ZSTD_freeDStream(ds);
    if (!rc && out->len == start && !ended) rc = pg_err(err, errlen, PG_EINVAL, "%s", why);
    if (rc) out->len = start;
    if (complete) *complete = !rc && ended;
    return rc;
}

/* Dispatches a prefix decompression on enc; out is appended to and stays caller-owned. */
int pg_decompress_prefix(pg_encoding enc, const uint8_t *in, size_t n, size_t max_out, pg_buf *out,
                         int *complete, char *err, size_t errlen)
{
    if (complete) *complete = 0;
    if (max_out == 0) return 0;
    switch (enc) {
    case PG_ENC_GZIP:
        return gunzip_prefix(in, n, max_out, out, complete, err, errlen);
    case PG_ENC_ZSTD:
        return unzstd_prefix(in, n, max_out, out, complete, err, errlen);
    default:
        if (pg_buf_append(out, in, n < max_out ? n : max_out))
            return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        if (complete) *complete = n <= max_out;
        return 0;
    }
}

/* Inflates a compressed input, or checks a plain one's size. */
int pg_decompress_input(const uint8_t **data, size_t *len, size_t max_out, pg_buf *raw,
                        const char *what, char *err, size_t errlen)
{
    pg_encoding enc = pg_sniff_encoding(*data, *len);
    if (enc == PG_ENC_NONE) {
        if (max_out && *len > max_out)
            return pg_err(err, errlen, PG_ELIMIT, "%s: %zu bytes exceed the limit of %zu", what,
                          *len, max_out);
        return 0;
    }
    int rc = pg_decompress(enc, *data, *len, max_out, raw, err, errlen);
    if (rc) {
        pg_err_prefix(err, errlen, what);
        return rc;
    }
    *data = raw->data;
    *len = raw->len;
    return 0;
}

/* One gzip member into out (gzip_member.c: two threads for a large input). */
int pg_gzip_compress(const uint8_t *in, size_t n, int level, pg_buf *out, char *err, size_t errlen)
{
    int rc = pg_gzip_member(in, n, level, out, 0);
    if (rc == PG_ENOMEM) return pg_err(err, errlen, rc, "out of memory (deflate)");
    if (rc) return pg_err(err, errlen, PG_EIO, "gzip compression failed");
    return 0;
}

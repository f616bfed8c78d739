/* Protocol-buffers wire format: a bounds-checked reader and a writer into pg_buf. Used by
 * the pprof codec; the OTLP codec goes through protobuf-c. */
#ifndef PG_WIRE_H
#define PG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"

enum { PG_WT_VARINT = 0, PG_WT_I64 = 1, PG_WT_LEN = 2, PG_WT_I32 = 5 };

/* A read cursor over borrowed bytes [p, end). */
typedef struct pg_wire {
    const uint8_t *p, *end;
} pg_wire;

static inline pg_wire pg_wire_of(const void *data, size_t len)
{
    pg_wire w = {(const uint8_t *)data, (const uint8_t *)data + len};
    return w;
}

/* The multi-byte part of pg_wire_varint. */
int pg_wire_varint_slow(pg_wire *r, uint64_t *v);

/* Reads a varint; returns 0, or PG_EINVAL when truncated or longer than 10 bytes. Ids,
 * lengths and most values of a profile take one to three bytes: those are read here. */
static inline int pg_wire_varint(pg_wire *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) {
        *v = *p;
        r->p = p + 1;
        return 0;
    }
    if (r->end - p >= 3) {
        uint64_t b0 = p[0] & 0x7fu, b1 = p[1];
        if (b1 < 0x80) {
            *v = b0 | b1 << 7;
            r->p = p + 2;
            return 0;
        }
        uint64_t b2 = p[2];
        if (b2 < 0x80) {
            *v = b0 | (b1 & 0x7fu) << 7 | b2 << 14;
            r->p = p + 3;
            return 0;
        }
    }
    return pg_wire_varint_slow(r, v);
}

/* pg_wire_varint for loops that keep their position in a register: reads a varint at p
 * (before end) and returns the byte after it, or NULL when it is cut or too long. (A loop
 * calling pg_wire_varint keeps its cursor in memory, reloaded after every store.) */
static inline const uint8_t *pg_wire_varint_at(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && *p < 0x80) {
        *v = *p;
        return p + 1;
    }
    pg_wire w = {p, end};
    return pg_wire_varint(&w, v) ? NULL : w.p;
}

/* The general case of pg_wire_tag. */
int pg_wire_tag_slow(pg_wire *r, uint32_t *field, int *wtype);

/* Reads the next tag. Returns 1 with field/wire type set, 0 at the end, PG_EINVAL when malformed
 * (bad varint, field 0, field > 2^29-1, wire types 3/4/6/7). */
static inline int pg_wire_tag(pg_wire *r, uint32_t *field, int *wtype)
{
    if (r->p >= r->end) return 0;
    uint8_t t = *r->p;
    /* one-byte tags of fields 1..15 with wire types 0, 1, 2 or 5 */
    if (t < 0x80 && t >= 8 && ((0x27u >> (t & 7)) & 1)) {
        r->p++;
        *field = t >> 3;
        *wtype = t & 7;
        return 1;
    }
    return pg_wire_tag_slow(r, field, wtype);
}

/* Reads a length-delimited payload into sub (borrowing r's bytes); PG_EINVAL when the length
 * runs past the end. */
static inline int pg_wire_len(pg_wire *r, pg_wire *sub)
{
    uint64_t n;
    if (pg_wire_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return PG_EINVAL;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

/* Skips a value of the given wire type; PG_EINVAL when malformed. */
int pg_wire_skip(pg_wire *r, int wtype);

/* Calls fn(ctx, v) for each varint of a repeated scalar field, packed (wtype LEN) or not
 * (wtype VARINT). Returns 0, PG_EINVAL when malformed, or fn's non-zero result. */
int pg_wire_each_varint(pg_wire *r, int wtype, int (*fn)(void *ctx, uint64_t v), void *ctx);

/* Number of bytes the varint encoding of v takes. */
static inline size_t pg_wire_varint_size(uint64_t v)
{
    return (size_t)(((63 - __builtin_clzll(v | 1)) * 9 + 73) / 64);
}

/* Writes v as a varint at p, into room the caller made (up to 10 bytes); returns the end. */
static inline uint8_t *pg_wire_raw_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Writers append to b; failures are latched in b->failed. */
static inline void pg_wire_put_varint(pg_buf *b, uint64_t v)
{
    if (b->cap - b->len < 10 && pg_buf_reserve(b, 10)) return;
    b->len = (size_t)(pg_wire_raw_varint(b->data + b->len, v) - b->data);
}
void pg_wire_put_tag(pg_buf *b, uint32_t field, int wtype);
/* Writes field as a varint, skipping zero values (proto3 default). */
void pg_wire_put_uint(pg_buf *b, uint32_t field, uint64_t v);
/* Writes field as a fixed64 (wire type I64), little-endian, zero included. */
void pg_wire_put_fixed64(pg_buf *b, uint32_t field, uint64_t v);
/* The little-endian 64-bit value at p (8 readable bytes; the caller checks). */
static inline uint64_t pg_wire_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}
/* Writes a length-delimited field holding bytes p[0..n). */
void pg_wire_put_bytes(pg_buf *b, uint32_t field, const void *p, size_t n);
/* Writes a packed repeated varint field (nothing when n == 0). */
void pg_wire_put_packed_u64(pg_buf *b, uint32_t field, const uint64_t *v, size_t n);
void pg_wire_put_packed_i64(pg_buf *b, uint32_t field, const int64_t *v, size_t n);
#endif

#include "pipeline/core/wire.h"

#include "pipeline/core/err.h"

/* Decodes one varint from r (borrowed bytes). */
int pg_wire_varint_slow(pg_wire *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) { /* fast path: one byte */
        *v = *p;
        r->p = p + 1;
        return 0;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= r->end) return PG_EINVAL;
        uint8_t c = *p++;
        if (shift == 63 && c > 1) return PG_EINVAL;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = x;
            r->p = p;
            return 0;
        }
    }
    return PG_EINVAL;
}

/* Reads one tag from r. */
int pg_wire_tag_slow(pg_wire *r, uint32_t *field, int *wtype)
{
    if (r->p >= r->end) return 0;
    uint64_t t;
    if (pg_wire_varint(r, &t)) return PG_EINVAL;
    uint64_t f = t >> 3;
    int wt = (int)(t & 7);
    if (f == 0 || f > 0x1fffffff) return PG_EINVAL;
    if (wt != PG_WT_VARINT && wt != PG_WT_I64 && wt != PG_WT_LEN && wt != PG_WT_I32)
        return PG_EINVAL;
    *field = (uint32_t)f;
    *wtype = wt;
    return 1;
}

/* Advances r past one value of type wtype. */
int pg_wire_skip(pg_wire *r, int wtype)
{
    uint64_t v;
    pg_wire sub;
    switch (wtype) {
    case PG_WT_VARINT:
        return pg_wire_varint(r, &v);
    case PG_WT_LEN:
        return pg_wire_len(r, &sub);
    case PG_WT_I64:
        if (r->end - r->p < 8) return PG_EINVAL;
        r->p += 8;
        return 0;
    case PG_WT_I32:
        if (r->end - r->p < 4) return PG_EINVAL;
        r->p += 4;
        return 0;
    default:
        return PG_EINVAL;
    }
}

/* Visits each element of a repeated varint field. */
int pg_wire_each_varint(pg_wire *r, int wtype, int (*fn)(void *ctx, uint64_t v), void *ctx)
{
    uint64_t v;
    if (wtype == PG_WT_VARINT) {
        if (pg_wire_varint(r, &v)) return PG_EINVAL;
        return fn(ctx, v);
    }
    if (wtype != PG_WT_LEN) return PG_EINVAL;
    pg_wire sub;
    if (pg_wire_len(r, &sub)) return PG_EINVAL;
    while (sub.p < sub.end) {
        if (pg_wire_varint(&sub, &v)) return PG_EINVAL;
        int rc = fn(ctx, v);
        if (rc) return rc;
    }
    return 0;
}

/* Appends a tag. */
void pg_wire_put_tag(pg_buf *b, uint32_t field, int wtype)
{
    pg_wire_put_varint(b, ((uint64_t)field << 3) | (uint64_t)wtype);
}

/* Appends a non-zero varint field. */
void pg_wire_put_uint(pg_buf *b, uint32_t field, uint64_t v)
{
    if (!v) return;
    pg_wire_put_tag(b, field, PG_WT_VARINT);
    pg_wire_put_varint(b, v);
}

/* Appends a fixed64 field. */
void pg_wire_put_fixed64(pg_buf *b, uint32_t field, uint64_t v)
{
    uint8_t le[8];
    for (int k = 0; k < 8; k++)
        le[k] = (uint8_t)(v >> (8 * k));
    pg_wire_put_tag(b, field, PG_WT_I64);
    pg_buf_append(b, le, sizeof le);
}

/* Appends a length-delimited field. */
void pg_wire_put_bytes(pg_buf *b, uint32_t field, const void *p, size_t n)
{
    pg_wire_put_tag(b, field, PG_WT_LEN);
    pg_wire_put_varint(b, n);
    pg_buf_append(b, p, n);
}

/* Appends a packed repeated uint64 field. */
void pg_wire_put_packed_u64(pg_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (!n) return;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += pg_wire_varint_size(v[i]);
    pg_wire_put_tag(b, field, PG_WT_LEN);
    pg_wire_put_varint(b, len);
    if (pg_buf_reserve(b, len)) return;
    for (size_t i = 0; i < n; i++)
        pg_wire_put_varint(b, v[i]);
}

/* Appends a packed repeated int64 field (two's complement varints, as protobuf int64). */
void pg_wire_put_packed_i64(pg_buf *b, uint32_t field, const int64_t *v, size_t n)
{
    pg_wire_put_packed_u64(b, field, (const uint64_t *)(const void *)v, n);
}

#include "pipeline/exporterhelper/persist.h"
#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t MAGIC[4] = {'P', 'G', 'Q', '1'};

static int put_u32(pg_buf *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return pg_buf_append(o, b, 4);
}

static int put_u64(pg_buf *o, uint64_t v)
{
    return put_u32(o, (uint32_t)v) | put_u32(o, (uint32_t)(v >> 32));
}

static int put_str(pg_buf *o, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return put_u32(o, (uint32_t)n) | pg_buf_append(o, s ? s : "", n);
}

/* Appends the image; the payload is encoded in place, then the CRC is patched in. */
int pg_persist_encode(const pg_batch *b, pg_buf *out, char *err, size_t errlen)
{
    size_t start = out->len;
    int rc = pg_buf_append(out, MAGIC, 4) | put_u32(out, 0) | put_u64(out, pg_batch_received(b)) |
             put_str(out, pg_batch_origin(b)) | put_u32(out, (uint32_t)pg_batch_meta_count(b));
    for (size_t i = 0; i < pg_batch_meta_count(b); i++) {
        const pg_meta_entry *m = pg_batch_meta_at(b, i);
        rc |= put_str(out, m->key) | put_str(out, m->value);
    }
    size_t len_at = out->len;
    rc |= put_u64(out, 0);
    if (rc || out->failed) return pg_err(err, errlen, PG_ENOMEM, "persist: out of memory");
    size_t payload_at = out->len;
    if ((rc = pg_otlp_encode(b, out, err, errlen))) return rc;
    uint64_t plen = out->len - payload_at;
    for (int i = 0; i < 8; i++)
        out->data[len_at + i] = (uint8_t)(plen >> (8 * i));
    uLong crc = crc32(0L, Z_NULL, 0);
    const uint8_t *p = out->data + start + 8;
    size_t left = out->len - start - 8;
    while (left) {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        crc = crc32(crc, p, chunk);
        p += chunk;
        left -= chunk;
    }
    for (int i = 0; i < 4; i++)
        out->data[start + 4 + i] = (uint8_t)(crc >> (8 * i));
    return 0;
}

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static int get_u32(rd *r, uint32_t *v)
{
    if (r->end - r->p < 4) return PG_EINVAL;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

static int get_u64(rd *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (get_u32(r, &lo) || get_u32(r, &hi)) return PG_EINVAL;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* Reads a length-prefixed string as a NUL-terminated copy in the batch arena; PG_EINVAL
 * when truncated or holding a NUL, PG_ENOMEM. */
static int get_str(rd *r, pg_batch *b, char **s)
{
    uint32_t n;
    if (get_u32(r, &n) || (size_t)(r->end - r->p) < n) return PG_EINVAL;
    if (memchr(r->p, 0, n)) return PG_EINVAL;
    *s = pg_arena_strndup(pg_batch_arena(b), (const char *)r->p, n);
    r->p += n;
    return *s ? 0 : PG_ENOMEM;
}

/* Checks magic and CRC, then rebuilds metadata, origin and tree into a new batch. */
int pg_persist_decode(const uint8_t *data, size_t len, pg_batch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (len < 8 || memcmp(data, MAGIC, 4))
        return pg_err(err, errlen, PG_EINVAL, "not a persistent queue file (bad magic)");
    uint32_t want = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                    (uint32_t)data[7] << 24;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 8; off < len;) {
        uInt chunk = len - off > (1u << 30) ? (1u << 30) : (uInt)(len - off);
        crc = crc32(crc, data + off, chunk);
        off += chunk;
    }
    if ((uint32_t)crc != want)
        return pg_err(err, errlen, PG_EINVAL, "checksum mismatch (torn or damaged file)");
    pg_batch *b = pg_batch_new(0);
    if (!b) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    rd r = {data + 8, data + len};
    uint64_t received, plen;
    uint32_t nmeta;
    char *origin, *k, *v;
    int rc;
    if ((rc = get_u64(&r, &received)) || (rc = get_str(&r, b, &origin)) ||
        (rc = get_u32(&r, &nmeta)))
        goto bad;
    for (uint32_t i = 0; i < nmeta; i++) {
        if ((rc = get_str(&r, b, &k)) || (rc = get_str(&r, b, &v))) goto bad;
        if (pg_batch_meta_set(b, k, v)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (get_u64(&r, &plen) || plen != (uint64_t)(r.end - r.p)) {
        rc = PG_EINVAL;
        goto bad;
    }
    pg_decode_limits lim;
    pg_decode_limits_readmit(&lim); /* admitted once: never refused for its size now */
    if ((rc = pg_otlp_decode(b, r.p, (size_t)plen, &lim, err, errlen))) {
        pg_err_prefix(err, errlen, "payload");
        goto fail;
    }
    pg_batch_set_origin(b, *origin ? origin : NULL, received);
    *out = b;
    return 0;
bad:
    rc = pg_err(err, errlen, rc, "%s",
                rc == PG_ENOMEM ? "out of memory" : "truncated or malformed header");
fail:
    pg_batch_free(b);
    return rc;
}

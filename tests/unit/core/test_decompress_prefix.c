/* pg_decompress_prefix: gzip and zstd streams inflated only up to a cap, truncated and
 * damaged streams giving what they can, errors only when nothing valid comes out. A gzip
 * member that fits under the cap is inflated whole by libdeflate, anything else streams
 * through zlib: the cases below go both ways (caps above and below the size, a damaged
 * CRC, trailing bytes, two members, an empty member) and must read the same. Also
 * pg_decompressed_size_hint, what a stream says it inflates to. */
#include "testlib.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"

#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#define PREFIX ((size_t)64 << 10)

/* A deterministic, compressible payload of n bytes (text-like, not one repeated run). */
static uint8_t *payload(size_t n)
{
    uint8_t *p = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)("abcdefgh ijklmnop\n"[(x >> 16) % 18]);
    }
    return p;
}

/* A heap copy of p[0..n) so that ASan sees any read past n. */
static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

/* One gzip member of p[0..n) (zlib's deflate, as gzip(1) writes it). */
static void gzip_member(const uint8_t *p, size_t n, pg_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 32;
    CHECK(pg_buf_reserve(out, bound) == 0);
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out->data + out->len;
    zs.avail_out = (uInt)bound;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
}

/* One zstd frame of p[0..n). */
static void zstd_frame(const uint8_t *p, size_t n, pg_buf *out)
{
    size_t bound = ZSTD_compressBound(n);
    CHECK(pg_buf_reserve(out, bound) == 0);
    size_t got = ZSTD_compress(out->data + out->len, bound, p, n, 3);
    CHECK(!ZSTD_isError(got));
    out->len += got;
}

/* Runs the prefix decompression on a heap copy of in[0..n); returns rc, fills out. */
static int prefix(pg_encoding enc, const uint8_t *in, size_t n, size_t max, pg_buf *out,
                  int *complete, char *err, size_t errlen)
{
    uint8_t *copy = dup_bytes(in, n);
    int rc = pg_decompress_prefix(enc, copy, n, max, out, complete, err, errlen);
    free(copy);
    return rc;
}

/* The checks both encodings share, on one stream c of the payload p[0..n). */
static void common(pg_encoding enc, const char *name, const pg_buf *c, const uint8_t *p, size_t n)
{
    char err[256];
    int complete = -1;

    /* Output larger than the prefix: exactly the first PREFIX bytes, not complete. */
    pg_buf out = {0};
    CHECK(prefix(enc, c->data, c->len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK_MSG(out.len == PREFIX, "%s: got %zu bytes", name, out.len);
    CHECK(out.len == PREFIX && memcmp(out.data, p, PREFIX) == 0);
    CHECK(complete == 0);
    CHECK(out.cap < 2 * PREFIX); /* never the whole output */
    pg_buf_free(&out);

    /* A cap of one byte. */
    CHECK(prefix(enc, c->data, c->len, 1, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == 1 && out.data[0] == p[0]);
    pg_buf_free(&out);

    /* A cap above the size: everything, complete. */
    CHECK(prefix(enc, c->data, c->len, n + 100, &out, &complete, err, sizeof err) == 0);
    CHECK_MSG(out.len == n, "%s: got %zu of %zu bytes", name, out.len, n);
    CHECK(out.len == n && memcmp(out.data, p, n) == 0);
    CHECK(complete == 1);
    pg_buf_free(&out);

    /* A cap equal to the size. */
    CHECK(prefix(enc, c->data, c->len, n, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == n && memcmp(out.data, p, n) == 0);
    pg_buf_free(&out);

    /* Appends after what out holds. */
    CHECK(pg_buf_append(&out, "xyz", 3) == 0);
    CHECK(prefix(enc, c->data, c->len, 100, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == 103 && memcmp(out.data, "xyz", 3) == 0 && memcmp(out.data + 3, p, 100) == 0);
    pg_buf_free(&out);

    /* Truncated streams: what the data held (a correct prefix), no error; never complete. */
    size_t cuts[] = {c->len * 3 / 4, c->len - 1, c->len - 8};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        complete = -1;
        int rc = prefix(enc, c->data, cuts[i], n, &out, &complete, err, sizeof err);
        CHECK_MSG(rc == 0 && out.len > 0, "%s cut at %zu: rc=%d len=%zu %s", name, cuts[i], rc,
                  out.len, rc ? err : "");
        CHECK(out.len <= n && memcmp(out.data, p, out.len) == 0);
        CHECK(complete == 0);
        pg_buf_free(&out);
    }

    /* Cut inside the header: nothing valid, an error, out untouched. */
    for (size_t cut = 0; cut < 6; cut++) {
        CHECK(pg_buf_append(&out, "q", 1) == 0);
        err[0] = 0;
        complete = -1;
        int rc = prefix(enc, c->data, cut, PREFIX, &out, &complete, err, sizeof err);
        CHECK_MSG(rc == PG_EINVAL, "%s cut at %zu: rc=%d", name, cut, rc);
        CHECK(out.len == 1 && err[0] != 0 && complete == 0);
        pg_buf_free(&out);
    }

    /* Damage after a good start: bytes before it come out, no error (whether the damage is
     * seen at all depends on the format: zstd without a checksum may decode it). */
    uint8_t *bad = dup_bytes(c->data, c->len);
    for (size_t i = c->len / 2; i < c->len / 2 + 64; i++)
        bad[i] ^= 0x5a;
    CHECK(prefix(enc, bad, c->len, n, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len >= PREFIX / 4 && memcmp(out.data, p, PREFIX / 4) == 0);
    pg_buf_free(&out);

    /* Damage right after the magic: nothing valid, an error. */
    memcpy(bad, c->data, c->len);
    memset(bad + 4, 0xff, c->len < 64 ? c->len - 4 : 60);
    CHECK(prefix(enc, bad, c->len, PREFIX, &out, &complete, err, sizeof err) == PG_EINVAL);
    CHECK(out.len == 0);
    pg_buf_free(&out);
    free(bad);

    /* A cap of zero asks for nothing. */
    CHECK(prefix(enc, c->data, c->len, 0, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == 0 && complete == 0);
    pg_buf_free(&out);

    /* Trailing garbage after a complete stream: everything, no error, not complete. */
    pg_buf t = {0};
    CHECK(pg_buf_append(&t, c->data, c->len) == 0);
    CHECK(pg_buf_append(&t, "garbage!garbage!garbage!", 24) == 0);
    CHECK(prefix(enc, t.data, t.len, n + 1, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == n && memcmp(out.data, p, n) == 0);
    CHECK(complete == 0);
    pg_buf_free(&out);
    pg_buf_free(&t);
}

static void test_gzip(const uint8_t *p, size_t n)
{
    char err[256];
    int complete = -1;
    pg_buf c = {0};
    gzip_member(p, n, &c);
    common(PG_ENC_GZIP, "gzip", &c, p, n);

    /* Deflate yields bytes as they come: a cut early in the stream still gives some. */
    pg_buf out = {0};
    CHECK(prefix(PG_ENC_GZIP, c.data, c.len / 8, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len > 0 && memcmp(out.data, p, out.len) == 0 && complete == 0);
    pg_buf_free(&out);

    /* The CRC is checked at the member's end: damage there after all the data shows as an
     * incomplete (not failed) stream. */
    uint8_t *bad = dup_bytes(c.data, c.len);
    bad[c.len - 6] ^= 1;
    CHECK(prefix(PG_ENC_GZIP, bad, c.len, n + 1, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == n && complete == 0);
    pg_buf_free(&out);
    free(bad);

    /* libdeflate's gzip (what the pprof encoder writes) reads the same. */
    pg_buf l = {0};
    CHECK(pg_gzip_compress(p, n, 6, &l, err, sizeof err) == 0);
    CHECK(prefix(PG_ENC_GZIP, l.data, l.len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == PREFIX && memcmp(out.data, p, PREFIX) == 0);
    pg_buf_free(&out);
    pg_buf_free(&l);

    /* Two members: the prefix crosses into the second; the whole is complete. */
    pg_buf two = {0};
    size_t half = 40000;
    gzip_member(p, half, &two);
    gzip_member(p + half, n - half, &two);
    CHECK(prefix(PG_ENC_GZIP, two.data, two.len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == PREFIX && memcmp(out.data, p, PREFIX) == 0 && complete == 0);
    pg_buf_free(&out);
    CHECK(prefix(PG_ENC_GZIP, two.data, two.len, n, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == n && memcmp(out.data, p, n) == 0 && complete == 1);
    pg_buf_free(&out);
    pg_buf_free(&two);

    /* An empty member is a valid empty stream: no bytes, no error, complete. */
    pg_buf e = {0};
    gzip_member(p, 0, &e);
    complete = -1;
    CHECK(prefix(PG_ENC_GZIP, e.data, e.len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == 0 && complete == 1);
    pg_buf_free(&out);
    /* ... but cut short, it is an error. */
    CHECK(prefix(PG_ENC_GZIP, e.data, e.len - 1, PREFIX, &out, &complete, err, sizeof err) ==
          PG_EINVAL);
    CHECK(strstr(err, "gzip") != NULL && out.len == 0);
    pg_buf_free(&out); /* the storage stays the caller's */
    pg_buf_free(&e);
    pg_buf_free(&c);
}

static void test_zstd(const uint8_t *p, size_t n)
{
    char err[256];
    int complete = -1;
    pg_buf c = {0}, out = {0};
    zstd_frame(p, n, &c);
    common(PG_ENC_ZSTD, "zstd", &c, p, n);

    /* zstd yields whole blocks (up to 128 KiB): a cut inside the first gives nothing, an
     * error (the cuts of common() past it give blocks). */
    CHECK(prefix(PG_ENC_ZSTD, c.data, 100, PREFIX, &out, &complete, err, sizeof err) == PG_EINVAL);
    CHECK(out.len == 0 && strstr(err, "truncated zstd") != NULL);
    pg_buf_free(&out);

    /* Two frames. */
    pg_buf two = {0};
    size_t half = 40000;
    zstd_frame(p, half, &two);
    zstd_frame(p + half, n - half, &two);
    CHECK(prefix(PG_ENC_ZSTD, two.data, two.len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == PREFIX && memcmp(out.data, p, PREFIX) == 0 && complete == 0);
    pg_buf_free(&out);
    CHECK(prefix(PG_ENC_ZSTD, two.data, two.len, n, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == n && memcmp(out.data, p, n) == 0 && complete == 1);
    pg_buf_free(&out);
    pg_buf_free(&two);

    /* An empty frame: no bytes, no error, complete; cut short, an error. */
    pg_buf e = {0};
    zstd_frame(p, 0, &e);
    complete = -1;
    CHECK(prefix(PG_ENC_ZSTD, e.data, e.len, PREFIX, &out, &complete, err, sizeof err) == 0);
    CHECK(out.len == 0 && complete == 1);
    pg_buf_free(&out);
    CHECK(prefix(PG_ENC_ZSTD, e.data, e.len - 1, PREFIX, &out, &complete, err, sizeof err) ==
          PG_EINVAL);
    CHECK(strstr(err, "zstd") != NULL && out.len == 0);
    pg_buf_free(&out); /* the storage stays the caller's */
    pg_buf_free(&e);
    pg_buf_free(&c);
}

/* NONE copies the first bytes. */
static void test_none(const uint8_t *p, size_t n)
{
    pg_buf out = {0};
    int complete = -1;
    CHECK(pg_decompress_prefix(PG_ENC_NONE, p, n, PREFIX, &out, &complete, NULL, 0) == 0);
    CHECK(out.len == PREFIX && memcmp(out.data, p, PREFIX) == 0 && complete == 0);
    pg_buf_free(&out);
    CHECK(pg_decompress_prefix(PG_ENC_NONE, p, 100, PREFIX, &out, &complete, NULL, 0) == 0);
    CHECK(out.len == 100 && complete == 1);
    pg_buf_free(&out);
}

/* pg_decompressed_size_hint: what a stream says it inflates to (gzip: the last member's
 * trailer; zstd: the first frame's header), 0 for plain bytes or a stream too short to say. */
static void test_size_hint(const uint8_t *p, size_t n)
{
    pg_buf gz = {0}, two = {0}, z = {0};
    gzip_member(p, n, &gz);
    CHECK(pg_decompressed_size_hint(PG_ENC_GZIP, gz.data, gz.len) == n);
    gzip_member(p, 1000, &two);
    gzip_member(p, 3000, &two);
    CHECK(pg_decompressed_size_hint(PG_ENC_GZIP, two.data, two.len) == 3000);
    CHECK(pg_decompressed_size_hint(PG_ENC_GZIP, gz.data, 17) == 0);
    zstd_frame(p, n, &z);
    CHECK(pg_decompressed_size_hint(PG_ENC_ZSTD, z.data, z.len) == n);
    CHECK(pg_decompressed_size_hint(PG_ENC_ZSTD, z.data, 3) == 0);
    CHECK(pg_decompressed_size_hint(PG_ENC_NONE, p, n) == 0);
    pg_buf_free(&gz);
    pg_buf_free(&two);
    pg_buf_free(&z);
}

int main(void)
{
    size_t n = 300000; /* several times the prefix */
    uint8_t *p = payload(n);
    test_gzip(p, n);
    test_zstd(p, n);
    test_none(p, n);
    test_size_hint(p, n);
    free(p);
    TEST_MAIN_END();
}

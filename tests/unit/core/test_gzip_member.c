/* pg_gzip_member: whole or split over two threads, the output is one gzip member (zlib's
 * multi-member reader counts exactly one) that inflates to the input, passes libdeflate's
 * strict check of CRC and length, carries the same header either way, and lands after what
 * the buffer held; an exact reservation leaves no doubling slack. Inputs: empty, tiny,
 * at and around the split threshold (odd lengths, so the head/tail cut falls anywhere),
 * incompressible, highly compressible, and several MiB. ISA-L, which deflates a split
 * member's head, is loaded on first use: where it cannot be loaded nothing is split and
 * the members are the same whole ones; it loads again once its name is right. */
#include "testlib.h"
#include "gzip_members.h"

#include "pipeline/core/gzip_member.h"
#include "pipeline/core/isal_load.h"

#include <libdeflate.h>
#include <stdlib.h>

/* n bytes of one of three kinds: 0 text-like (compressible), 1 random, 2 one repeated byte. */
static uint8_t *make_input(size_t n, int kind)
{
    uint8_t *p = malloc(n ? n : 1);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = kind == 0   ? (uint8_t)("profile sample location "[i % 24] + (x % 97 == 0))
               : kind == 1 ? (uint8_t)x
                           : 'z';
    }
    return p;
}

/* Compresses n bytes of `kind` after a 3-byte prefix and checks the output. */
static void check(size_t n, int kind, int exact, const char *what)
{
    uint8_t *in = make_input(n, kind);
    pg_buf out = {0}, back = {0};
    pg_buf_append(&out, "abc", 3);
    int rc = pg_gzip_member(in, n, 1, &out, exact);
    CHECK_MSG(rc == 0, "%s: rc %d", what, rc);
    CHECK_MSG(out.len > 3 + 18 && !memcmp(out.data, "abc\x1f\x8b", 5), "%s: not appended", what);
    const uint8_t *gz = out.data + 3;
    size_t gz_n = out.len - 3;
    int m = tg_gunzip_members(gz, gz_n, &back);
    CHECK_MSG(m == 1, "%s: %d members", what, m);
    CHECK_MSG(back.len == n && (!n || !memcmp(back.data, in, n)), "%s: inflates to %zu of %zu",
              what, back.len, n);
    /* libdeflate checks the trailer's CRC and length */
    uint8_t *strict = malloc(n ? n : 1);
    size_t got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    enum libdeflate_result r = libdeflate_gzip_decompress(d, gz, gz_n, strict, n, &got);
    CHECK_MSG(r == LIBDEFLATE_SUCCESS && got == n, "%s: libdeflate says %d", what, (int)r);
    libdeflate_free_decompressor(d);
    /* the header is libdeflate's own */
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
    uint8_t ref[64];
    size_t ref_n = libdeflate_gzip_compress(c, "", 0, ref, sizeof ref);
    CHECK_MSG(ref_n >= 10 && !memcmp(ref, gz, 10), "%s: header differs from libdeflate's", what);
    if (exact)
        CHECK_MSG(out.cap <= 3 + n + n / 8 + 4096, /* a bound, not a doubling */
                  "%s: exact reservation holds %zu bytes for %zu", what, out.cap, out.len);
    libdeflate_free_compressor(c);
    free(strict);
    free(in);
    pg_buf_free(&out);
    pg_buf_free(&back);
}

/* Every size and kind, exact and not. */
static void check_all(const char *mode)
{
    static const size_t sizes[] = {0, 1, 100, 4095, 65536 + 3, 300001, (3u << 20) + 17};
    char what[96];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int kind = 0; kind < 3; kind++)
            for (int exact = 0; exact < 2; exact++) {
                snprintf(what, sizeof what, "%s, %zu bytes, kind %d%s", mode, sizes[i], kind,
                         exact ? ", exact" : "");
                check(sizes[i], kind, exact, what);
            }
}

int main(void)
{
    pg_gzip_member_set_split(SIZE_MAX, 0); /* never split */
    check_all("whole");
    pg_gzip_member_set_split(64, 1); /* split everything of 64 bytes and more, even on one CPU */
    check_all("split");
    pg_gzip_member_set_split(0, 0);
    check_all("default");
    /* the executable links no ISA-L: it is found by its soname when first wanted */
    CHECK(pg_isal_get() != NULL && pg_isal_get()->deflate && pg_isal_get()->deflate_init);
    pg_isal_set_library("libprofgate-no-such-isal.so.0");
    CHECK(pg_isal_get() == NULL);
    pg_gzip_member_set_split(64, 1);
    CHECK_MSG(!pg_gzip_member_splits(1u << 20), "split without ISA-L");
    check_all("split asked, ISA-L missing");
    pg_isal_set_library(NULL);
    CHECK(pg_isal_get() != NULL);
    CHECK(pg_gzip_member_splits(1u << 20));
    pg_gzip_member_set_split(0, 0);
    TEST_MAIN_END();
}

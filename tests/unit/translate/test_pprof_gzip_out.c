/* The pprof encoder's gzip output (pipeline/translate/pprof_encode_out.c), compressed whole,
 * with its head compressed on a helper thread while the encoder writes, or streamed (with or
 * without such a head), always one gzip member as Go writes it, the same bytes each time:
 * any size, from empty to several MiB, is a single member that inflates to exactly the
 * plain encoding; the output is appended after
 * what the buffer held; and the gzip bytes decode to the same profile, borrowed or handed
 * over with pg_pprof_decode_owned (which frees them, on errors too); a batch whose samples
 * are handed over (consume_samples) gives the same bytes. */
#include "testlib.h"
#include "gzip_members.h"
#include "pprof_builder.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/gzip_member.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"
#include "pipeline/translate/pprof_encode_int.h"

#include <stdlib.h>

/* A pprof of n samples over 64 locations (every stack its own up to 262144 samples), with
 * a string and a numeric label each. */
static void make_pprof(pg_buf *b, size_t n)
{
    /* strings: "", samples, count, cpu, ns, fn, k, n, v0..v31 */
    static const char *const s[] = {"", "samples", "count", "cpu", "ns", "fn", "k", "n"};
    tb_value_type(b, 1, 1, 2);
    tb_value_type(b, 1, 3, 4);
    pg_buf smp = {0}, lab = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t locs[8];
        for (size_t j = 0; j < 6; j++)
            locs[j] = (i * 31 + j * 7) % 64 + 1;
        locs[6] = i / 64 % 64 + 1;
        locs[7] = i / 4096 % 64 + 1;
        int64_t vals[2] = {(int64_t)(i % 5) + 1, (int64_t)(i * 1000003 % 99991)};
        pg_wire_put_packed_u64(&smp, 1, locs, 8);
        pg_wire_put_packed_i64(&smp, 2, vals, 2);
        pg_wire_put_uint(&lab, 1, 6);
        pg_wire_put_uint(&lab, 2, 8 + i % 32);
        tb_sub(&smp, 3, &lab);
        pg_wire_put_uint(&lab, 1, 7);
        pg_wire_put_uint(&lab, 3, i % 1000);
        tb_sub(&smp, 3, &lab);
        tb_sub(b, 2, &smp);
    }
    for (uint64_t id = 1; id <= 64; id++) {
        uint64_t fn = 1;
        int64_t line = (int64_t)id;
        tb_location(b, id, 0, 0x1000 + id, &fn, &line, 1);
    }
    tb_function(b, 1, 5, 5, 0, 0);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        tb_str(b, s[i]);
    for (int i = 0; i < 32; i++) {
        char t[8];
        snprintf(t, sizeof t, "v%d", i);
        tb_str(b, t);
    }
    pg_buf_free(&smp);
    pg_buf_free(&lab);
}

/* Encodes the one group of b into out (appending) with options o. */
static int encode_with(const pg_batch *b, const pg_pprof_encode_opts *o, pg_buf *out)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    int rc = pg_pprof_plan(b, &g, &ng, err, sizeof err);
    if (!rc && ng == 1) {
        rc = pg_pprof_encode(b, &g[0], o, out, err, sizeof err);
    } else if (!rc) {
        rc = -1;
    }
    CHECK_MSG(rc == 0, "encode: %s", err);
    pg_pprof_groups_free(g, ng);
    return rc;
}

/* Encodes the one group of b into out (appending), gzipped or not. */
static int encode(const pg_batch *b, int gzip, pg_buf *out)
{
    pg_pprof_encode_opts o = {.gzip = gzip, .links_as_labels = 1};
    return encode_with(b, &o, out);
}

static char *render(const uint8_t *p, size_t n)
{
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = pg_pprof_decode(b, p, n, NULL, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "decode: %s", err);
    pg_buf o = {0};
    if (rc == 0) pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    pg_batch_free(b);
    return (char *)o.data;
}

/* The same, handing a copy of p over with pg_pprof_decode_owned. */
static char *render_owned(const uint8_t *p, size_t n)
{
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    pg_buf in = {0};
    pg_buf_append(&in, p, n);
    int rc = pg_pprof_decode_owned(b, &in, NULL, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "decode owned: %s", err);
    CHECK_MSG(in.data == NULL && in.len == 0, "the owned input is left empty");
    pg_buf o = {0};
    if (rc == 0) pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    pg_batch_free(b);
    return (char *)o.data;
}

/* Owned input that does not decode is freed all the same (LeakSanitizer watches). */
static void check_owned_errors(void)
{
    static const uint8_t gz_bad[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0,  3,  1,
                                     2,    3,    4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t plain_bad[] = {0x0a, 0x7f, 1, 2}; /* a field longer than the input */
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{gz_bad, sizeof gz_bad}, {plain_bad, sizeof plain_bad}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pg_batch *b = pg_batch_new(0);
        pg_buf in = {0};
        pg_buf_append(&in, bad[i].p, bad[i].n);
        char err[256] = "";
        int rc = pg_pprof_decode_owned(b, &in, NULL, NULL, err, sizeof err);
        CHECK_MSG(rc != 0 && err[0], "bad input %zu decodes", i);
        CHECK_MSG(in.data == NULL && in.len == 0, "bad input %zu: the owned input is kept", i);
        pg_batch_free(b);
    }
}

/* n samples: gzip output has `members` members and means the same. */
static void check(size_t n, int members, const char *what)
{
    pg_buf src = {0};
    make_pprof(&src, n);
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = pg_pprof_decode(b, src.data, src.len, NULL, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: decode source: %s", what, err);
    pg_buf plain = {0}, gz = {0}, back = {0};
    pg_buf_append(&gz, "xyz", 3);
    if (rc == 0 && encode(b, 0, &plain) == 0 && encode(b, 1, &gz) == 0) {
        CHECK_MSG(gz.len > 5 && !memcmp(gz.data, "xyz\x1f\x8b", 5), "%s: not appended gzip", what);
        pg_buf tail = {0};
        pg_buf_append(&tail, gz.data + 3, gz.len - 3);
        int m = tg_gunzip_members(tail.data, tail.len, &back);
        CHECK_MSG(m == members, "%s: %d gzip members", what, m);
        CHECK_MSG(back.len == plain.len &&
                      (!plain.len || !memcmp(back.data, plain.data, plain.len)),
                  "%s: inflates to %zu bytes, plain is %zu", what, back.len, plain.len);
        char *x = render(plain.data, plain.len), *y = render(tail.data, tail.len);
        CHECK_MSG(x && y && !strcmp(x, y), "%s: gzip and plain decode differently", what);
        char *xo = render_owned(plain.data, plain.len), *yo = render_owned(tail.data, tail.len);
        CHECK_MSG(xo && !strcmp(x, xo), "%s: plain decodes differently when owned", what);
        CHECK_MSG(yo && !strcmp(x, yo), "%s: gzip decodes differently when owned", what);
        free(x);
        free(y);
        free(xo);
        free(yo);
        pg_buf_free(&tail);
    }
    pg_batch_free(b);
    pg_buf_free(&src);
    pg_buf_free(&plain);
    pg_buf_free(&gz);
    pg_buf_free(&back);
}

/* A new batch holding make_pprof's profile of n samples (caller frees). */
static pg_batch *decoded_pprof(size_t n, const char *what)
{
    pg_buf src = {0};
    make_pprof(&src, n);
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_pprof_decode(b, src.data, src.len, NULL, NULL, err, sizeof err) == 0,
              "%s: decode source: %s", what, err);
    pg_buf_free(&src);
    return b;
}

/* n samples encoded twice: the gzip bytes are the same (where the helper thread's head ends
 * comes from the data, not from how far it got). */
static void check_same_bytes(size_t n, const char *what)
{
    pg_buf a = {0}, b2 = {0};
    pg_batch *b = decoded_pprof(n, what);
    if (encode(b, 1, &a) == 0 && encode(b, 1, &b2) == 0)
        CHECK_MSG(a.len == b2.len && !memcmp(a.data, b2.data, a.len),
                  "%s: two encodings differ (%zu and %zu bytes)", what, a.len, b2.len);
    pg_batch_free(b);
    pg_buf_free(&a);
    pg_buf_free(&b2);
}

/* n samples encoded from a batch handed over (consume_samples: its sample and stack pages
 * go as they are written) and from one only read: the same bytes, and the batch handed
 * over is left without samples. */
static void check_consumed(size_t n, const char *what)
{
    pg_buf a = {0}, c = {0};
    pg_batch *kept = decoded_pprof(n, what), *given = decoded_pprof(n, what);
    pg_pprof_encode_opts o = {.gzip = 0, .links_as_labels = 1, .consume_samples = given};
    if (encode(kept, 0, &a) == 0 && encode_with(given, &o, &c) == 0)
        CHECK_MSG(a.len == c.len && !memcmp(a.data, c.data, a.len),
                  "%s: the consuming encoding differs (%zu and %zu bytes)", what, a.len, c.len);
    CHECK_MSG(pg_batch_sample_count(given) == 0, "%s: %zu samples left", what,
              pg_batch_sample_count(given));
    pg_batch_free(kept);
    pg_batch_free(given);
    pg_buf_free(&a);
    pg_buf_free(&c);
}

/* A pprof with tables of many pages (5000 locations over 50 functions and 2 mappings, 800
 * samples) laid out as `order` says: its letters are the parts in wire order, V value types,
 * S samples (s: their first half, z: the second), M mappings, F functions, L locations,
 * T strings. */
static void make_layout(pg_buf *b, const char *order)
{
    pg_buf part[26] = {{0}};
    tb_value_type(&part['V' - 'A'], 1, 1, 2);
    for (size_t i = 0; i < 800; i++) {
        uint64_t locs[6];
        for (size_t j = 0; j < 6; j++)
            locs[j] = (i * 977 + j * 131) % 5000 + 1;
        int64_t v = (int64_t)i + 1;
        tb_sample(&part[(i < 400 ? 's' : 'z') - 'a'], locs, 6, &v, 1);
    }
    tb_mapping(&part['M' - 'A'], 1, 0x1000, 0x900000, 3);
    tb_mapping(&part['M' - 'A'], 2, 0x900000, 0x990000, 4);
    for (uint64_t f = 1; f <= 50; f++)
        tb_function(&part['F' - 'A'], f, 5 + f % 7, 5 + f % 7, 3, (int64_t)f);
    for (uint64_t id = 1; id <= 5000; id++) {
        uint64_t fn[2] = {id % 50 + 1, (id * 7) % 50 + 1};
        int64_t line[2] = {(int64_t)id, (int64_t)id * 3};
        tb_location(&part['L' - 'A'], id, id % 2 + 1, 0x1000 + id * 16, fn, line, 1 + id % 2);
    }
    static const char *const strs[] = {"",   "samples", "count", "main", "libc.so", "f0",
                                       "f1", "f2",      "f3",    "f4",   "f5",      "f6"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        tb_str(&part['T' - 'A'], strs[i]);
    /* S is s then z; the rest by letter */
    for (const char *c = order; *c; c++) {
        const char *seq = *c == 'S' ? "sz" : (const char[]){*c, 0};
        for (const char *k = seq; *k; k++) {
            const pg_buf *pp = &part[(*k >= 'a' ? *k - 'a' : *k - 'A')];
            pg_buf_append(b, pp->data, pp->len);
        }
    }
    for (size_t i = 0; i < 26; i++)
        pg_buf_free(&part[i]);
}

/* Whatever the layout, the tables' input pages the decoder hands back (only when they lie
 * together) never held anything it reads later: owned plain and owned gzip input decode as
 * borrowed input does. */
static void check_layouts(void)
{
    static const char *const orders[] = {"VSMFLT", "VMFLST", "VFsLzMT",
                                         "VSMFTL", "VTMFLS", "VMsFLzT"};
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        pg_buf src = {0}, gz = {0};
        make_layout(&src, orders[i]);
        CHECK(pg_gzip_compress(src.data, src.len, 1, &gz, NULL, 0) == 0);
        char *x = render(src.data, src.len), *xo = render_owned(src.data, src.len),
             *yo = render_owned(gz.data, gz.len);
        CHECK_MSG(x && strstr(x, "0x4e30"), "layout %s: the last location is missing", orders[i]);
        CHECK_MSG(xo && !strcmp(x, xo), "layout %s: owned plain input decodes differently",
                  orders[i]);
        CHECK_MSG(yo && !strcmp(x, yo), "layout %s: owned gzip input decodes differently",
                  orders[i]);
        free(x);
        free(xo);
        free(yo);
        pg_buf_free(&src);
        pg_buf_free(&gz);
    }
}

int main(void)
{
    check_layouts();
    check_owned_errors();
    check(0, 1, "no samples");
    check(3, 1, "small");
    check(100000, 1, "several MiB");
    check_consumed(3, "consumed, small");
    check_consumed(60000, "consumed, every column of many pages");
    pg_pprof_out_set_whole_limit(64 << 10); /* the streaming path: still one member */
    check(3, 1, "small, streaming limit");
    check(100000, 1, "several MiB, streamed");
    /* the head on a helper thread from 4 KiB on (one CPU or not): the whole encoding, or
     * half the samples and a libdeflate tail, inside the whole-output buffer; half the
     * samples and then streamed; or the buffer full (streaming) before the cut */
    pg_gzip_member_set_split(4096, 1);
    pg_pprof_out_set_whole_limit(0);
    check(20000, 1, "helper, whole");
    check_same_bytes(20000, "helper, whole");
    pg_pprof_out_set_head_share(8); /* a head of half the samples, a libdeflate tail */
    check(20000, 1, "helper cut at half, tail");
    check_same_bytes(20000, "helper cut at half, tail");
    pg_pprof_out_set_head_share(0);
    pg_pprof_out_set_whole_limit(256 << 10); /* ~30 bytes a sample */
    pg_pprof_out_set_head_share(8); /* the cut at half the samples, before the buffer fills */
    check(12000, 1, "helper cut, then streamed");
    check_same_bytes(12000, "helper cut, then streamed");
    pg_pprof_out_set_head_share(0);
    check(30000, 1, "helper streamed before its cut");
    check_same_bytes(30000, "helper streamed before its cut");
    pg_gzip_member_set_split(0, 0);
    pg_pprof_out_set_whole_limit(0);
    TEST_MAIN_END();
}

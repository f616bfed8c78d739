/* The OTLP encoder on two threads (pipeline/translate/otlp_encode.c, pipeline/core/duo.c)
 * writes exactly the bytes it writes on one: for a pprof with four sample types (identity
 * columns shared, built once), for a batch whose profiles each have their own identity
 * columns (built in halves by both threads), attributes, links, values of every width,
 * deep stacks with wide location indices, empty stacks, a profile with timestamps (the
 * per-sample path) and a profile without samples; into memory and into a buffer that
 * flushes as it goes. */
#include "testlib.h"
#include "core/edit_fixture.h"
#include "translate/pprof_builder.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdlib.h>

/* A flush sink that collects what it is given. */
static int collect(void *ctx, const uint8_t *p, size_t n)
{
    return pg_buf_append(ctx, p, n);
}

/* Encodes b into *mem (in memory) and *streamed (through a flushing buffer). */
static void encode_both(const pg_batch *b, pg_buf *mem, pg_buf *streamed)
{
    char err[256] = "";
    CHECK_MSG(pg_otlp_encode(b, mem, err, sizeof err) == 0, "%s", err);
    pg_buf win = {0};
    win.flush = collect;
    win.flush_ctx = streamed;
    CHECK_MSG(pg_otlp_encode(b, &win, err, sizeof err) == 0, "%s", err);
    CHECK(win.flush(win.flush_ctx, win.data, win.len) == 0);
    pg_buf_free(&win);
}

/* Encodes b with one thread, then with two (forced), and compares every output. */
static void check_same(const pg_batch *b, const char *what)
{
    pg_buf one = {0}, one_s = {0}, two = {0}, two_s = {0};
    pg_otlp_encode_set_threads(SIZE_MAX, 0);
    encode_both(b, &one, &one_s);
    pg_otlp_encode_set_threads(1, 1);
    encode_both(b, &two, &two_s);
    pg_otlp_encode_set_threads(0, 0);
    CHECK_MSG(one.len > 0 && one.len == one_s.len && !memcmp(one.data, one_s.data, one.len),
              "%s: streamed output differs on one thread", what);
    CHECK_MSG(two.len == one.len && !memcmp(two.data, one.data, one.len),
              "%s: two threads wrote %zu bytes, one thread %zu, or other bytes", what, two.len,
              one.len);
    CHECK_MSG(two_s.len == one.len && !memcmp(two_s.data, one.data, one.len),
              "%s: two threads streamed other bytes", what);
    pg_batch *back = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_otlp_decode(back, two.data, two.len, NULL, err, sizeof err) == 0, "%s: %s", what,
              err);
    pg_batch_free(back);
    pg_buf_free(&one);
    pg_buf_free(&one_s);
    pg_buf_free(&two);
    pg_buf_free(&two_s);
}

/* A pprof of n samples with four sample types, a numeric label on every third sample and
 * 300 locations (two-byte stack indices), decoded into a batch. */
static pg_batch *pprof_batch(size_t n)
{
    pg_buf p = {0};
    for (uint64_t t = 0; t < 4; t++)
        tb_value_type(&p, 1, 1 + t % 2, 2);
    for (size_t i = 0; i < n; i++) {
        uint64_t locs[40];
        size_t depth = 1 + i % 40;
        for (size_t j = 0; j < depth; j++)
            locs[j] = (i * 7 + j * 13) % 300 + 1;
        int64_t vals[4] = {(int64_t)i, -(int64_t)i, (int64_t)i << 20, (int64_t)i << 40};
        pg_buf smp = {0};
        pg_wire_put_packed_u64(&smp, 1, locs, depth);
        pg_wire_put_packed_i64(&smp, 2, vals, 4);
        if (i % 3 == 0) {
            pg_buf lab = {0};
            pg_wire_put_uint(&lab, 1, 3);
            pg_wire_put_uint(&lab, 3, i % 1000);
            tb_sub(&smp, 3, &lab);
            pg_buf_free(&lab);
        }
        tb_sub(&p, 2, &smp);
        pg_buf_free(&smp);
    }
    for (uint64_t k = 1; k <= 300; k++) {
        uint64_t fn[1] = {k % 50 + 1};
        int64_t line[1] = {(int64_t)k};
        tb_location(&p, k, 0, 0x1000 + k * 4, fn, line, 1);
    }
    for (uint64_t f = 1; f <= 50; f++)
        tb_function(&p, f, 4, 4, 0, 0);
    static const char *const s[] = {"", "samples", "count", "bytes", "fn"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        tb_str(&p, s[i]);
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_pprof_decode(b, p.data, p.len, NULL, NULL, err, sizeof err) == 0, "%s", err);
    pg_buf_free(&p);
    return b;
}

/* Two resources of two scopes each; every profile has its own identity columns. */
static pg_batch *edited_batch(size_t n)
{
    pg_batch *b = pg_batch_new(0);
    int32_t locs[400];
    for (int i = 0; i < 400; i++)
        locs[i] = fx_loc(b, i);
    uint8_t trace[16], span[8];
    for (int i = 0; i < 16; i++)
        trace[i] = (uint8_t)(i + 1);
    for (int i = 0; i < 8; i++)
        span[i] = (uint8_t)(i + 100);
    int32_t link = pg_dict_link(b, trace, 16, span, 8);
    int32_t attrs[3] = {pg_dict_attr_str(b, "thread", "main", 4),
                        pg_dict_attr_int(b, "bytes", 4096, "bytes"), pg_dict_attr_bool(b, "gc", 1)};
    CHECK(link > 0 && attrs[0] > 0 && attrs[1] > 0 && attrs[2] > 0);
    pg_otlp_rprofiles *rp = NULL;
    pg_arena *a = pg_batch_arena(b);
    for (int s = 0; s < 4; s++) {
        pg_otlp_sprofiles *sp = pg_batch_add_scope(b, s % 2 ? &rp : NULL);
        for (int k = 0; k < 2; k++) {
            size_t count = s == 3 && k == 1 ? 0 : n + (size_t)(s * 7 + k);
            pg_samples_builder sb = {0};
            for (size_t i = 0; i < count; i++) {
                size_t depth = (i + (size_t)k) % 30;
                int64_t v = i % 7 == 0 ? -(int64_t)i : (int64_t)((uint64_t)i << (i % 50));
                uint64_t ts = 1700000000000000000ull + i;
                pg_sample_ref r = {
                    .stack = pg_dict_stack(b, locs + (i * 11 + (size_t)s) % 370, depth),
                    .link = i % 5 == (size_t)k ? link : 0,
                    .attrs = attrs,
                    .n_attrs = (i + (size_t)s) % 4,
                    .values = &v,
                    .n_values = 1,
                    .ts = &ts,
                    .n_ts = s == 2 && k == 0 && i % 4 == 0,
                };
                CHECK(r.stack >= 0 && pg_samples_builder_add(&sb, &r) == 0);
            }
            pg_otlp_profile *p = pg_otlp_profile_new(a);
            CHECK(p && pg_samples_builder_finish(&sb, a, p, NULL) == 0);
            pg_samples_builder_free(&sb);
            CHECK(pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p) == 0);
        }
    }
    return b;
}

int main(void)
{
    size_t sizes[] = {1, 100, 3000, 20000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char what[64];
        pg_batch *b = pprof_batch(sizes[k]);
        snprintf(what, sizeof what, "pprof of %zu samples", sizes[k]);
        check_same(b, what);
        pg_batch_free(b);
        b = edited_batch(sizes[k]);
        snprintf(what, sizeof what, "edited batch of %zu samples a profile", sizes[k]);
        check_same(b, what);
        pg_batch_free(b);
    }
    TEST_MAIN_END();
}

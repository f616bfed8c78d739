/* Limits mean the same on every path: a sample limit counts OTLP samples (a pprof sample
 * per sample type) in the pprof decoder as in the OTLP decoder, so whatever the pprof
 * decoder admits, the OTLP decoder admits once it is encoded; the limits for re-reading
 * admitted data (persistent queue replay) refuse nothing for its size. */
#include "pprof_builder.h"
#include "testlib.h"

#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

/* A pprof of n samples over `types` sample types (values 1..types). */
static void profile(pg_buf *b, size_t n, size_t types)
{
    for (size_t t = 0; t < types; t++)
        tb_value_type(b, 1, 1, 2);
    int64_t vals[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < n; i++) {
        uint64_t loc = 1 + i % 2;
        tb_sample(b, &loc, 1, vals, types);
    }
    uint64_t f1 = 1, f2 = 2;
    int64_t l1 = 10, l2 = 20;
    tb_location(b, 1, 0, 0x1000, &f1, &l1, 1);
    tb_location(b, 2, 0, 0x2000, &f2, &l2, 1);
    tb_function(b, 1, 3, 3, 4, 1);
    tb_function(b, 2, 5, 5, 4, 1);
    const char *strs[] = {"", "samples", "count", "main", "main.go", "helper"};
    for (size_t i = 0; i < 6; i++)
        tb_str(b, strs[i]);
}

/* pprof -> batch -> OTLP bytes -> batch, under the same limit; returns the pprof status and
 * the OTLP status through *otlp_rc (0 when the pprof was refused). */
static int through(size_t n, size_t types, size_t limit, int *otlp_rc)
{
    pg_buf in = {0}, otlp = {0};
    profile(&in, n, types);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_samples = limit;
    char err[256] = "";
    pg_batch *b = pg_batch_new(0), *back = pg_batch_new(0);
    int rc = pg_pprof_decode(b, in.data, in.len, &lim, NULL, err, sizeof err);
    *otlp_rc = 0;
    if (rc == 0) {
        CHECK_MSG(pg_batch_sample_count(b) == n * (types ? types : 1), "%zu samples",
                  pg_batch_sample_count(b));
        CHECK(pg_otlp_encode(b, &otlp, err, sizeof err) == 0);
        *otlp_rc = pg_otlp_decode(back, otlp.data, otlp.len, &lim, err, sizeof err);
        CHECK_MSG(*otlp_rc == 0, "OTLP refused what pprof admitted: %s", err);
    } else {
        CHECK_MSG(rc == PG_ELIMIT && strstr(err, "sample types exceed the limit"), "rc %d: %s", rc,
                  err);
    }
    pg_batch_free(b);
    pg_batch_free(back);
    pg_buf_free(&in);
    pg_buf_free(&otlp);
    return rc;
}

static void test_samples_counted_alike(void)
{
    int orc;
    CHECK(through(60, 2, 120, &orc) == 0 && orc == 0); /* exactly at the limit */
    CHECK(through(60, 2, 100, &orc) == PG_ELIMIT);     /* 60 pprof samples, 120 OTLP ones */
    CHECK(through(100, 1, 100, &orc) == 0 && orc == 0);
    CHECK(through(101, 1, 100, &orc) == PG_ELIMIT);
    CHECK(through(30, 4, 119, &orc) == PG_ELIMIT);
    CHECK(through(30, 0, 30, &orc) == 0 && orc == 0); /* no sample type: one profile */
}

static void test_readmit_has_no_size_limits(void)
{
    pg_decode_limits def, re;
    pg_decode_limits_default(&def);
    pg_decode_limits_readmit(&re);
    CHECK(re.max_decompressed == 0 && re.max_arena == 0 && re.max_samples == 0);
    CHECK(re.max_stack_depth == 0 && re.max_labels == 0);
    CHECK(re.max_nesting >= def.max_nesting);
}

int main(void)
{
    test_samples_counted_alike();
    test_readmit_has_no_size_limits();
    TEST_MAIN_END();
}

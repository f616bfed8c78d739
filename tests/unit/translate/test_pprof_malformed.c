/* Malformed pprof input: each class gets a clear error, never a crash (run under ASan). */
#include "testlib.h"
#include "pprof_builder.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/translate/pprof.h"

#include <stdlib.h>

/* A small valid profile: 1 sample type, 2 functions, 2 locations, 1 sample. */
static void valid_profile(pg_buf *b)
{
    tb_value_type(b, 1, 1, 2);
    uint64_t locs[2] = {1, 2};
    int64_t vals[1] = {7};
    tb_sample(b, locs, 2, vals, 1);
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

/* Decodes bytes and returns the status, printing the message. */
static int decode(const pg_buf *b, const char *expect)
{
    pg_batch *batch = pg_batch_new(0);
    char err[256] = "";
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_decompressed = 1 << 20;
    int rc = pg_pprof_decode(batch, b->data, b->len, &lim, NULL, err, sizeof err);
    if (expect)
        CHECK_MSG(rc != 0 && strstr(err, expect), "expected \"%s\", got rc=%d \"%s\"", expect, rc,
                  err);
    pg_batch_free(batch);
    return rc;
}

int main(void)
{
    pg_buf ok = {0};
    valid_profile(&ok);
    CHECK(decode(&ok, NULL) == 0);

    /* Truncated at every length: never a crash; most prefixes are errors. */
    int errors = 0;
    for (size_t n = 1; n < ok.len; n++) {
        pg_buf t = {.data = ok.data, .len = n, .cap = n};
        errors += decode(&t, NULL) != 0;
    }
    CHECK(errors > 0);
    {
        pg_buf t = {.data = ok.data, .len = ok.len - 1, .cap = ok.len - 1};
        decode(&t, "truncated");
    }

    /* Wrong wire type for a known field: sample_type as a varint. */
    pg_buf b = {0};
    pg_wire_put_uint(&b, 1, 5);
    decode(&b, "wire type");
    pg_buf_free(&b);

    /* A length running past the end (a "negative" length as a huge varint). */
    b = (pg_buf){0};
    pg_wire_put_tag(&b, 2, PG_WT_LEN);
    pg_wire_put_varint(&b, (uint64_t)-5);
    decode(&b, "truncated");
    pg_buf_free(&b);

    /* Out-of-range string index. */
    b = (pg_buf){0};
    tb_value_type(&b, 1, 99, 2);
    tb_str(&b, "");
    tb_str(&b, "x");
    tb_str(&b, "y");
    decode(&b, "string index 99 out of range");
    pg_buf_free(&b);

    /* Missing zero element: string_table[0] is not "". */
    b = (pg_buf){0};
    tb_str(&b, "oops");
    decode(&b, "string_table[0]");
    pg_buf_free(&b);

    /* Unknown location id in a sample, and id 0. */
    b = (pg_buf){0};
    valid_profile(&b);
    {
        uint64_t bad = 77;
        int64_t v = 1;
        tb_sample(&b, &bad, 1, &v, 1);
    }
    decode(&b, "unknown location id 77");
    pg_buf_free(&b);

    /* Duplicate ids ("id cycles": two locations claiming one id). */
    b = (pg_buf){0};
    valid_profile(&b);
    {
        uint64_t f = 1;
        int64_t l = 1;
        tb_location(&b, 1, 0, 0x3000, &f, &l, 1);
    }
    decode(&b, "duplicate location id 1");
    pg_buf_free(&b);

    /* A line naming an unknown function. */
    b = (pg_buf){0};
    tb_str(&b, "");
    {
        uint64_t f = 9;
        int64_t l = 1;
        tb_location(&b, 1, 0, 0, &f, &l, 1);
    }
    decode(&b, "unknown function id 9");
    pg_buf_free(&b);

    /* Value count not matching the sample types. */
    b = (pg_buf){0};
    valid_profile(&b);
    {
        uint64_t loc = 1;
        int64_t v[2] = {1, 2};
        tb_sample(&b, &loc, 1, v, 2);
    }
    decode(&b, "2 values for 1 sample types");
    pg_buf_free(&b);

    /* Reserved wire type / field number 0. */
    {
        uint8_t bad1[] = {0x0b};       /* field 1, wire type 3 (start group) */
        uint8_t bad2[] = {0x00, 0x01}; /* field 0 */
        pg_buf t1 = {.data = bad1, .len = 1, .cap = 1}, t2 = {.data = bad2, .len = 2, .cap = 2};
        decode(&t1, "malformed");
        decode(&t2, "malformed");
    }

    /* A gzip bomb: 64 MiB of zeros compressed; the cap is 1 MiB. */
    {
        size_t n = 64u << 20;
        uint8_t *zeros = calloc(1, n);
        pg_buf gz = {0};
        CHECK(pg_gzip_compress(zeros, n, 6, &gz, NULL, 0) == 0);
        free(zeros);
        decode(&gz, "exceeds the limit");
        pg_buf_free(&gz);
    }

    /* Corrupt gzip. */
    {
        uint8_t bad[32] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff};
        pg_buf t = {.data = bad, .len = sizeof bad, .cap = sizeof bad};
        decode(&t, "gzip");
    }

    /* Limits: too many samples, too deep a stack. */
    {
        pg_batch *batch = pg_batch_new(0);
        char err[256] = "";
        pg_decode_limits lim;
        pg_decode_limits_default(&lim);
        lim.max_stack_depth = 1;
        int rc = pg_pprof_decode(batch, ok.data, ok.len, &lim, NULL, err, sizeof err);
        CHECK_MSG(rc == PG_ELIMIT && strstr(err, "deeper"), "%s", err);
        pg_batch_free(batch);
        batch = pg_batch_new(0);
        pg_decode_limits_default(&lim);
        lim.max_samples = 0 + 1;
        pg_buf two = {0};
        valid_profile(&two);
        uint64_t loc = 1;
        int64_t v = 1;
        tb_sample(&two, &loc, 1, &v, 1);
        rc = pg_pprof_decode(batch, two.data, two.len, &lim, NULL, err, sizeof err);
        CHECK_MSG(rc == PG_ELIMIT && strstr(err, "sample types exceed the limit of 1 samples"),
                  "%s", err);
        pg_buf_free(&two);
        pg_batch_free(batch);
        batch = pg_batch_new(4096); /* arena cap far below what the profile needs */
        CHECK(batch != NULL);
        pg_decode_limits_default(&lim);
        pg_buf big = {0};
        valid_profile(&big);
        for (int i = 0; i < 2000; i++)
            tb_sample(&big, &loc, 1, &v, 1);
        rc = pg_pprof_decode(batch, big.data, big.len, &lim, NULL, err, sizeof err);
        CHECK_MSG(rc == PG_ELIMIT, "arena cap: rc=%d %s", rc, err);
        pg_buf_free(&big);
        pg_batch_free(batch);
    }

    /* A NUL inside a string is refused (the batch keeps C strings). */
    b = (pg_buf){0};
    tb_str(&b, "");
    pg_wire_put_bytes(&b, 6, "a\0b", 3);
    decode(&b, "NUL");
    pg_buf_free(&b);

    pg_buf_free(&ok);
    TEST_MAIN_END();
}

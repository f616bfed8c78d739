/* The pprof decoder's sample reader on a helper thread (pipeline/translate/pprof_decode_reader.c)
 * decodes every profile exactly as the one-thread loop does: the same canonical dump and the
 * same OTLP bytes, for sample counts around the chunk size, labels (single, repeated keys,
 * numeric with units), several sample types and none, sparse location ids, deep stacks, and
 * owned gzip input whose pages are handed back as it is read; with more than 1.5 labels per
 * sample (labels 1 and 2) the helper interns the stacks as well, otherwise it faults in the
 * pages of the reserved stack pool ahead of the committer. A failure anywhere (a sample
 * that is malformed, too deep or has too many labels, read by the helper; the batch's memory
 * cap, hit by the committer; both early and late) gives the same status and message and
 * leaves nothing behind (LeakSanitizer watches the helper's chunks). */
#include "testlib.h"
#include "pprof_builder.h"

#include "pipeline/core/decompress.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"
#include "pipeline/translate/pprof_decode_int.h"

#include <stdlib.h>

/* How a test pprof looks. */
typedef struct shape {
    size_t samples, types, depth;
    int labels; /* 0 none, 1 a trace-like string and a numeric label with a unit, 2 a key twice */
    int sparse_ids; /* location ids far apart (the hash map path) */
    size_t bad_at;  /* sample with one value too many (SIZE_MAX: none) */
    size_t deep_at; /* sample 10 locations deeper than the rest (SIZE_MAX: none) */
} shape;

/* Builds the pprof (caller frees). Strings: "", samples, count, cpu, ns, fn, trace, n, ms,
 * then 64 trace-like values. */
static void make(pg_buf *b, const shape *sh)
{
    for (size_t t = 0; t < sh->types; t++)
        tb_value_type(b, 1, t % 2 ? 3 : 1, t % 2 ? 4 : 2);
    const size_t n_loc = 600;
    uint64_t *locs = malloc((sh->depth + 10) * sizeof *locs);
    int64_t vals[8];
    for (size_t i = 0; i < sh->samples; i++) {
        size_t depth = sh->depth + (i == sh->deep_at ? 10 : 0);
        for (size_t j = 0; j < depth; j++) {
            uint64_t k = (i * 7 + j * 13 + i / 3) % n_loc + 1;
            locs[j] = sh->sparse_ids ? k * 1000003 : k;
        }
        size_t nv = sh->types + (i == sh->bad_at);
        for (size_t v = 0; v < nv; v++)
            vals[v] = (int64_t)(i * 31 + v) - 50;
        pg_buf smp = {0};
        pg_wire_put_packed_u64(&smp, 1, locs, depth);
        pg_wire_put_packed_i64(&smp, 2, vals, nv);
        if (sh->labels) { /* a third of the samples: the second label first, or alone */
            pg_buf one = {0}, two = {0};
            pg_wire_put_uint(&one, 1, 6);
            pg_wire_put_uint(&one, 2, 9 + (i / 2) % 64);
            pg_wire_put_uint(&two, 1, sh->labels == 2 ? 6 : 7);
            if (sh->labels == 2) {
                pg_wire_put_uint(&two, 2, 9 + i % 5);
            } else {
                pg_wire_put_uint(&two, 3, i % 9);
                pg_wire_put_uint(&two, 4, 8);
            }
            if (i % 3 == 0) {
                tb_sub(&smp, 3, &two);
                if (i % 2) tb_sub(&smp, 3, &one);
            } else {
                tb_sub(&smp, 3, &one);
                tb_sub(&smp, 3, &two);
            }
            pg_buf_free(&one);
            pg_buf_free(&two);
        }
        tb_sub(b, 2, &smp);
        pg_buf_free(&smp);
    }
    for (uint64_t k = 1; k <= n_loc; k++) {
        uint64_t fn[2] = {k % 40 + 1, (k * 3) % 40 + 1};
        int64_t line[2] = {(int64_t)k, (int64_t)k + 7};
        tb_location(b, sh->sparse_ids ? k * 1000003 : k, 0, 0x4000 + k * 8, fn, line, 1 + k % 2);
    }
    for (uint64_t f = 1; f <= 40; f++)
        tb_function(b, f, 5, 5, 0, (int64_t)f);
    static const char *const s[] = {"", "samples", "count", "cpu", "ns", "fn", "trace", "n", "ms"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        tb_str(b, s[i]);
    for (int i = 0; i < 64; i++) {
        char t[40];
        snprintf(t, sizeof t, "4bf92f3577b34da6a3ce929d0e0e%04d", i);
        tb_str(b, t);
    }
    free(locs);
}

/* What one decode gave: status, message, dump and OTLP bytes. */
typedef struct result {
    int rc;
    char err[512];
    pg_buf dump, otlp;
} result;

/* Decodes p (owned copy when `owned`) with the reader on a thread or not. */
static void decode(const pg_buf *p, int owned, int threaded, const pg_decode_limits *lim, result *r)
{
    memset(r, 0, sizeof *r);
    pg_pprof_reader_set_thread(threaded ? 1 : SIZE_MAX, threaded);
    pg_batch *b = pg_batch_new(lim ? lim->max_arena : 0);
    if (owned) {
        pg_buf in = {0};
        pg_buf_append(&in, p->data, p->len);
        r->rc = pg_pprof_decode_owned(b, &in, lim, NULL, r->err, sizeof r->err);
    } else {
        r->rc = pg_pprof_decode(b, p->data, p->len, lim, NULL, r->err, sizeof r->err);
    }
    if (r->rc == 0) {
        pg_otlp_dump(b, PG_DUMP_CANONICAL, &r->dump);
        char e[256];
        CHECK(pg_otlp_encode(b, &r->otlp, e, sizeof e) == 0);
    }
    pg_batch_free(b);
    pg_pprof_reader_set_thread(0, 0);
}

static void result_free(result *r)
{
    pg_buf_free(&r->dump);
    pg_buf_free(&r->otlp);
}

/* Decodes the shape both ways, plain and owned gzip; expects success or failure. */
static void check(const shape *sh, const pg_decode_limits *lim, int expect_ok, const char *what)
{
    pg_buf plain = {0}, gz = {0};
    make(&plain, sh);
    CHECK(pg_gzip_compress(plain.data, plain.len, 1, &gz, NULL, 0) == 0);
    const pg_buf *inputs[2] = {&plain, &gz};
    for (int k = 0; k < 2; k++) {
        result one, two;
        const char *form = k ? "owned gzip" : "plain";
        decode(inputs[k], k == 1, 0, lim, &one);
        decode(inputs[k], k == 1, 1, lim, &two);
        /* the helper interns stacks from the second chunk on when labels are many and the
         * pool could be sized ahead (not under the small caps below) */
        size_t chunks = (sh->samples + 255) / 256, helper = pg_pprof_reader_helper_chunks();
        if (sh->labels && chunks > 1 && (!lim || !lim->max_arena) && sh->bad_at > 256 &&
            sh->deep_at > 256)
            CHECK_MSG(helper > 0, "%s, %s: the helper interned no stacks", what, form);
        if (!sh->labels) CHECK_MSG(helper == 0, "%s, %s: the helper interned stacks", what, form);
        /* the helper faults in the reserved pool ahead of the committer, 64 KiB or more at
         * a time (5000 samples reserve more than that); not when the pool could not be
         * reserved (the small caps below) */
        size_t faulted = pg_pprof_reader_pool_faulted();
        if (sh->samples >= 5000 && !sh->labels && (!lim || !lim->max_arena) && expect_ok)
            CHECK_MSG(faulted > 0, "%s, %s: nothing of the pool faulted in ahead", what, form);
        if (lim && lim->max_arena && lim->max_arena <= ((size_t)1 << 20))
            CHECK_MSG(faulted == 0, "%s, %s: %zu bytes faulted in of a pool not reserved", what,
                      form, faulted);
        CHECK_MSG((one.rc == 0) == expect_ok, "%s, %s: one thread rc %d (%s)", what, form, one.rc,
                  one.err);
        CHECK_MSG(two.rc == one.rc, "%s, %s: rc %d threaded, %d not", what, form, two.rc, one.rc);
        CHECK_MSG(!strcmp(one.err, two.err), "%s, %s: '%s' threaded, '%s' not", what, form, two.err,
                  one.err);
        CHECK_MSG(one.dump.len == two.dump.len &&
                      (!one.dump.len || !memcmp(one.dump.data, two.dump.data, one.dump.len)),
                  "%s, %s: dumps differ", what, form);
        CHECK_MSG(one.otlp.len == two.otlp.len &&
                      (!one.otlp.len || !memcmp(one.otlp.data, two.otlp.data, one.otlp.len)),
                  "%s, %s: OTLP bytes differ", what, form);
        if (expect_ok) CHECK_MSG(one.dump.len > 100, "%s, %s: nothing decoded", what, form);
        result_free(&one);
        result_free(&two);
    }
    pg_buf_free(&plain);
    pg_buf_free(&gz);
}

int main(void)
{
    static const size_t counts[] = {1, 127, 128, 129, 256, 384, 1000, 5000};
    char what[96];
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (int labels = 0; labels < 3; labels++) {
            shape sh = {counts[c], 2, 12, labels, 0, SIZE_MAX, SIZE_MAX};
            snprintf(what, sizeof what, "%zu samples, labels %d", counts[c], labels);
            check(&sh, NULL, 1, what);
        }
    check(&(shape){3000, 0, 8, 1, 0, SIZE_MAX, SIZE_MAX}, NULL, 1, "no sample types");
    check(&(shape){3000, 5, 8, 1, 0, SIZE_MAX, SIZE_MAX}, NULL, 1, "five sample types");
    check(&(shape){3000, 1, 8, 1, 1, SIZE_MAX, SIZE_MAX}, NULL, 1, "sparse location ids");
    check(&(shape){700, 1, 300, 1, 0, SIZE_MAX, SIZE_MAX}, NULL, 1, "deep stacks");

    /* failures read by the helper: early, on a chunk edge, late */
    static const size_t at[] = {0, 128, 2999};
    for (size_t k = 0; k < 3; k++) {
        snprintf(what, sizeof what, "malformed sample %zu", at[k]);
        check(&(shape){3000, 2, 8, 1, 0, at[k], SIZE_MAX}, NULL, 0, what);
        pg_decode_limits lim;
        pg_decode_limits_default(&lim);
        lim.max_stack_depth = 12;
        snprintf(what, sizeof what, "sample %zu too deep", at[k]);
        check(&(shape){3000, 2, 8, 1, 0, SIZE_MAX, at[k]}, &lim, 0, what);
    }
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_labels = 1;
    check(&(shape){3000, 2, 8, 1, 0, SIZE_MAX, SIZE_MAX}, &lim, 0, "too many labels");
    /* failures of the committer: the batch's memory cap, early and late */
    static const size_t caps[] = {64 << 10, 700 << 10};
    for (size_t k = 0; k < 2; k++) {
        pg_decode_limits_default(&lim);
        lim.max_arena = caps[k];
        snprintf(what, sizeof what, "memory cap %zu KiB", caps[k] >> 10);
        check(&(shape){20000, 2, 16, 1, 0, SIZE_MAX, SIZE_MAX}, &lim, 0, what);
    }
    TEST_MAIN_END();
}

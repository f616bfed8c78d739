/* downscale: config; over 400 seeded batches the kept count x period is an unbiased
 * estimate of the input total (z-score bound) with the right variance; the nanoseconds
 * value stays count x period; period updated; zero samples removed and the dictionary
 * compacted; reproducible with a seed; heap and rate-less profiles untouched; trim keeps
 * the total exactly and folds into prefixes; timestamped samples thinned per timestamp. */
#include "processors/downscale/binomial.h"
#include "processors/downscale/downscale.h"
#include "component_harness.h"
#include "core/edit_fixture.h"

#include <math.h>

static const pg_component_factory *F = &pg_downscale_processor_factory;

/* A consumer that keeps the last batch it got. */
static int keep_last(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    pg_batch **slot = ctx;
    pg_batch_free(*slot);
    *slot = b;
    return 0;
}

typedef struct proc {
    pg_config *cfg;
    void *self;
    pg_host *host;
    pg_batch *out;
} proc;

static int proc_open(proc *p, const char *body)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [/nonexistent]\nprocessors:\n  downscale:\n%s"
             "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      processors: [downscale]\n      exporters: [nop]\n",
             body);
    memset(p, 0, sizeof *p);
    const void *c = NULL;
    p->cfg = hx_load(yaml, PG_CFG_PROCESSOR, "downscale", &c);
    CHECK(c != NULL);
    if (!c) return PG_EINVAL;
    p->host = pg_host_new();
    pg_component_settings s = {.id = "downscale", .kind = PG_CFG_PROCESSOR, .host = p->host};
    char err[256] = "";
    int rc = F->create(&s, c, (pg_consumer){keep_last, &p->out}, &p->self, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc;
}

static void proc_close(proc *p)
{
    hx_stop(F, &p->self, &p->cfg);
    pg_batch_free(p->out);
    pg_host_free(p->host);
}

/* Runs b through; returns the output (owned by p) or NULL. */
static pg_batch *run(proc *p, pg_batch *b)
{
    char err[256] = "";
    int rc = F->consume(p->self, b, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc ? NULL : p->out;
}

static const int64_t COUNTS[] = {1, 1, 2, 3, 5, 8, 40, 100, 150, 700, 5000, 1, 1, 1, 20000};
#define NC (sizeof COUNTS / sizeof COUNTS[0])
#define PERIOD 10000000LL

/* A Go-CPU-shaped batch decoded from pprof: samples/count and cpu/nanoseconds (count x
 * 10ms) over NC stacks, period 10ms. */
static pg_batch *cpu_batch(void)
{
    pg_batch *src = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(src, NULL);
    pg_profile *a = fx_profile(src, sp, "samples", "count", NC, 0);
    pg_profile *c = fx_profile(src, sp, "cpu", "nanoseconds", NC, 0);
    for (size_t i = 0; i < NC; i++) {
        pg_sample_set_value(src, a, i, 0, COUNTS[i]);
        pg_sample_set_value(src, c, i, 0, COUNTS[i] * PERIOD);
    }
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    pg_batch *out = pg_batch_new(0);
    pg_buf buf = {0};
    pg_pprof_encode_opts o = {.links_as_labels = 1};
    CHECK(pg_pprof_plan(src, &g, &ng, err, sizeof err) == 0 && ng == 1);
    CHECK(pg_pprof_encode(src, &g[0], &o, &buf, err, sizeof err) == 0);
    CHECK_MSG(pg_pprof_decode(out, buf.data, buf.len, NULL, NULL, err, sizeof err) == 0, "%s", err);
    pg_buf_free(&buf);
    pg_pprof_groups_free(g, ng);
    pg_batch_free(src);
    return out;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_STR(F->type, "downscale");
    CHECK(F->kind == PG_CFG_PROCESSOR && F->consume && F->mutates);
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    pg_downscale_config c = {0};
    CHECK(F->config.validate(&c, err, sizeof err) == PG_EINVAL && strstr(err, "target_period"));
    c.factor = 0.5;
    CHECK(F->config.validate(&c, err, sizeof err) == PG_EINVAL && strstr(err, "at least 1"));
    c.factor = 5;
    CHECK(F->config.validate(&c, err, sizeof err) == 0);
}

/* Unbiasedness: the mean over 400 batches of count x period is within 4.5 standard errors
 * of the input total, and the variance is near the binomial one. */
static void test_unbiased(void)
{
    proc p;
    if (proc_open(&p, "    target_period: 50ms\n    seed: 42\n")) return;
    const double q = 0.2, np = 50e6;
    double want = 0, var1 = 0;
    for (size_t i = 0; i < NC; i++) {
        want += (double)COUNTS[i] * PERIOD;
        var1 += (double)COUNTS[i] * q * (1 - q) * np * np;
    }
    const int N = 400;
    double sum = 0, sum2 = 0;
    int bad_period = 0, bad_ns = 0, zeros = 0;
    for (int r = 0; r < N; r++) {
        pg_batch *out = run(&p, cpu_batch());
        if (!out) break;
        pg_profile *cnt = fx_nth(out, 0), *ns = fx_nth(out, 1);
        if (!cnt || !ns) break;
        bad_period += cnt->msg.period != 50000000 || ns->msg.period != 50000000;
        double t = 0;
        for (size_t i = 0; i < cnt->samples.n; i++) {
            int64_t k = pg_sample_value(cnt, i, 0);
            zeros += k == 0;
            bad_ns += pg_sample_value(ns, i, 0) != k * 50000000;
            t += (double)k * (double)cnt->msg.period;
        }
        sum += t;
        sum2 += t * t;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    double z = (mean - want) / sqrt(var1 / N);
    CHECK_MSG(fabs(z) < 4.5, "mean %.6g want %.6g: z = %.2f", mean, want, z);
    CHECK_MSG(var > 0.6 * var1 && var < 1.5 * var1, "variance %.4g, binomial %.4g", var, var1);
    CHECK_MSG(bad_period == 0, "%d batches without the new period", bad_period);
    CHECK_MSG(bad_ns == 0, "%d nanosecond values not count x period", bad_ns);
    CHECK_MSG(zeros == 0, "%d zero samples left", zeros);
    proc_close(&p);
}

/* The sampler alone, on sizes of each method: mean within 4.5 standard errors. */
static void test_binomial(void)
{
    const int64_t ns[] = {10, 63, 64, 100, 1000, 100000};
    const double ps[] = {0.01, 0.2, 0.5, 0.9};
    pg_ds_rng r;
    pg_ds_rng_seed(&r, 7);
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t c = 0; c < sizeof ps / sizeof ps[0]; c++) {
            const int N = 4000;
            double s = 0;
            int out_of_range = 0;
            for (int i = 0; i < N; i++) {
                int64_t k = pg_ds_binomial(&r, ns[a], ps[c]);
                out_of_range += k < 0 || k > ns[a];
                s += (double)k;
            }
            double m = s / N, want = (double)ns[a] * ps[c];
            double se = sqrt((double)ns[a] * ps[c] * (1 - ps[c]) / N);
            CHECK_MSG(fabs(m - want) < 4.5 * se, "n=%lld p=%g: mean %g want %g", (long long)ns[a],
                      ps[c], m, want);
            CHECK(out_of_range == 0);
        }
}

/* Removed samples, compaction and reproducibility. */
static void test_removed_and_seed(void)
{
    proc p1, p2;
    if (proc_open(&p1, "    factor: 100\n    seed: 9\n")) return;
    if (proc_open(&p2, "    factor: 100\n    seed: 9\n")) return;
    pg_batch *in = cpu_batch();
    size_t stacks_before = pg_dict_stack_count(pg_batch_dict(in));
    pg_batch *a = run(&p1, in), *b = run(&p2, cpu_batch());
    if (!a || !b) return;
    char *da = hx_dump(a), *db = hx_dump(b);
    CHECK_MSG(strcmp(da, db) == 0, "same seed, different output");
    free(da);
    free(db);
    pg_profile *cnt = fx_nth(a, 0);
    CHECK(cnt->msg.period == PERIOD * 100);
    CHECK_MSG(cnt->samples.n < NC, "%zu samples left of %zu", cnt->samples.n, (size_t)NC);
    for (size_t i = 0; i < cnt->samples.n; i++)
        CHECK(pg_sample_value(cnt, i, 0) > 0);
    CHECK_MSG(pg_dict_stack_count(pg_batch_dict(a)) == cnt->samples.n + 1,
              "stacks %zu (before %zu) for %zu samples", pg_dict_stack_count(pg_batch_dict(a)),
              stacks_before, cnt->samples.n);
    /* still one pprof */
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    CHECK(pg_pprof_plan(a, &g, &ng, err, sizeof err) == 0 && ng == 1 && g[0].positional);
    pg_pprof_groups_free(g, ng);
    proc_close(&p1);
    proc_close(&p2);
}

/* A profile of type t/u, period_type pt/pu and period. */
static pg_batch *typed_batch(const char *t, const char *u, const char *pt, const char *pu,
                             int64_t period)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *x = fx_profile(b, sp, t, u, 6, 1000);
    x->msg.period_type = pt ? fx_vt(b, pt, pu) : NULL;
    x->msg.period = period;
    return b;
}

static void test_untouched(void)
{
    proc p;
    if (proc_open(&p, "    factor: 10\n")) return;
    pg_batch *cases[] = {typed_batch("alloc_space", "bytes", "space", "bytes", 524288),
                         typed_batch("inuse_objects", "count", "space", "bytes", 524288),
                         typed_batch("samples", "count", NULL, NULL, 0),
                         typed_batch("samples", "count", "cpu", "nanoseconds", 0)};
    for (size_t i = 0; i < 4; i++) {
        char *before = hx_dump(cases[i]);
        pg_batch *out = run(&p, cases[i]);
        char *after = out ? hx_dump(out) : NULL;
        CHECK_MSG(after && strcmp(before, after) == 0, "case %zu changed", i);
        free(before);
        free(after);
    }
    proc_close(&p);
    /* configured otherwise: scaled (kept with 1/factor, values x factor) */
    if (proc_open(&p, "    factor: 2\n    estimates: scale\n    seed: 3\n")) return;
    pg_batch *out = run(&p, typed_batch("alloc_space", "bytes", "space", "bytes", 524288));
    pg_profile *x = out ? fx_nth(out, 0) : NULL;
    CHECK(x && x->samples.n <= 6 && x->msg.period == 524288);
    for (size_t i = 0; x && i < x->samples.n; i++)
        CHECK(pg_sample_value(x, i, 0) % 2 == 0 && pg_sample_value(x, i, 0) >= 2000);
    proc_close(&p);
}

/* trim: stacks r<-a<-x (weight 80), r<-a<-y (3), r<-b (2), r<-a<-z (15) with trim 0.05
 * of 100: y folds into r<-a, b into r; totals equal. */
static void test_trim(void)
{
    proc p;
    if (proc_open(&p, "    factor: 1\n    trim: 0.05\n")) return;
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *x = fx_profile(b, sp, "samples", "count", 4, 0);
    int32_t r = fx_loc(b, 1), la = fx_loc(b, 2), lx = fx_loc(b, 3), ly = fx_loc(b, 4),
            lb = fx_loc(b, 5), lz = fx_loc(b, 6);
    int32_t s1[] = {lx, la, r}, s2[] = {ly, la, r}, s3[] = {lb, r}, s4[] = {lz, la, r};
    int32_t st[4] = {pg_dict_stack(b, s1, 3), pg_dict_stack(b, s2, 3), pg_dict_stack(b, s3, 2),
                     pg_dict_stack(b, s4, 3)};
    int64_t w[4] = {80, 3, 2, 15};
    for (int i = 0; i < 4; i++) {
        pg_sample_set_stack(b, x, (size_t)i, st[i]);
        pg_sample_set_value(b, x, (size_t)i, 0, w[i]);
    }
    pg_batch *out = run(&p, b);
    pg_profile *y = out ? fx_nth(out, 0) : NULL;
    if (!y) return;
    const pg_otlp_dict *d = pg_batch_dict(out);
    int64_t total = 0;
    size_t lens[4] = {0};
    for (size_t i = 0; i < y->samples.n && i < 4; i++) {
        total += pg_sample_value(y, i, 0);
        pg_stack_ref sr;
        pg_dict_stack_at(d, (size_t)y->samples.stack[i], &sr);
        lens[i] = sr.n;
    }
    CHECK(y->samples.n == 4 && total == 100);
    CHECK_MSG(lens[0] == 3 && lens[1] == 2 && lens[2] == 1 && lens[3] == 3, "%zu %zu %zu %zu",
              lens[0], lens[1], lens[2], lens[3]);
    proc_close(&p);
}

/* One event per timestamp: each kept with p; value = timestamps kept. */
static void test_timestamps(void)
{
    proc p;
    if (proc_open(&p, "    factor: 4\n    seed: 5\n")) return;
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *x = fx_profile(b, sp, "samples", "count", 2, 0);
    uint64_t ts[400];
    for (int i = 0; i < 400; i++)
        ts[i] = 1700000000000000000ull + (uint64_t)i;
    for (size_t i = 0; i < 2; i++) {
        pg_sample_set_value(b, x, i, 0, 400);
        pg_sample_set_timestamps(b, x, i, ts, 400);
    }
    pg_batch *out = run(&p, b);
    pg_profile *y = out ? fx_nth(out, 0) : NULL;
    if (!y) return;
    size_t kept = 0;
    for (size_t i = 0; i < y->samples.n; i++) {
        pg_sample_ref s;
        pg_samples_at(&y->samples, i, &s);
        CHECK(s.n_values == 1 && s.values[0] == (int64_t)s.n_ts);
        kept += s.n_ts;
    }
    /* 800 events at p = 1/4: 200 expected, sd 12.2 */
    CHECK_MSG(kept > 140 && kept < 260, "%zu of 800 timestamps kept", kept);
    CHECK(y->msg.period == PERIOD * 4);
    proc_close(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pg_log_configure(PG_LOG_ERROR, 0);
    test_config();
    test_binomial();
    test_unbiased();
    test_removed_and_seed();
    test_untouched();
    test_trim();
    test_timestamps();
    TEST_MAIN_END();
}

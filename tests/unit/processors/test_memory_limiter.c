/* memory_limiter: config table and validation, refusing profiles and trace requests with a
 * limit below the real RSS and accepting once the limit is raised, hysteresis (limit / limit -
 * spike), consume-side checks, the timer, the host flag as the OR of several limiters, counters,
 * log once. */
#include "processors/memory_limiter/memory_limiter.h"
#include "extensions/http_client.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/traces/spans.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#define MIB (1024ull * 1024ull)

static const pg_component_factory *F = &pg_memory_limiter_factory;

/* A downstream step that counts and frees what it gets. */
static int sink_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    (*(int *)ctx)++;
    pg_batch_free(b);
    return 0;
}

/* A batch with `np` profiles of 3 samples each. */
static pg_batch *make_batch(size_t np)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    for (size_t i = 0; i < np; i++)
        pg_profile_add(b, sp, 3);
    return b;
}

static void *create(pg_host *h, const char *id, pg_memory_limiter_config c, int *sink)
{
    pg_component_settings s = {.id = id, .kind = PG_CFG_PROCESSOR, .host = h};
    void *self = NULL;
    char err[256] = "";
    pg_consumer next = {sink_consume, sink};
    int rc = F->create(&s, &c, next, &self, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc == 0 ? self : NULL;
}

static int validate(pg_memory_limiter_config c, const char *want)
{
    char err[256] = "";
    int rc = F->config.validate(&c, err, sizeof err);
    if (want && !strstr(err, want)) {
        fprintf(stderr, "validate: \"%s\" lacks \"%s\"\n", err, want);
        return 99;
    }
    return rc;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_STR(F->type, "memory_limiter");
    CHECK(F->kind == PG_CFG_PROCESSOR && F->consume && !F->mutates);
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    const int64_t S = 1000000000;
    CHECK(validate((pg_memory_limiter_config){.check_interval = S, .limit_mib = 100}, NULL) == 0);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_mib = 100,
                                              .spike_limit_mib = 30},
                   NULL) == 0);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_percentage = 80,
                                              .spike_limit_percentage = 20},
                   NULL) == 0);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S}, "limit_mib must be set") ==
          PG_EINVAL);
    CHECK(validate((pg_memory_limiter_config){.check_interval = 0, .limit_mib = 1},
                   "check_interval") == PG_EINVAL);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_mib = 100,
                                              .spike_limit_mib = 100},
                   "smaller than limit_mib") == PG_EINVAL);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_mib = 100,
                                              .limit_percentage = 50},
                   "not both") == PG_EINVAL);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_percentage = 50,
                                              .spike_limit_percentage = 60},
                   "smaller") == PG_EINVAL);
    CHECK(validate((pg_memory_limiter_config){.check_interval = S,
                                              .limit_mib = 100,
                                              .spike_limit_percentage = 10},
                   "spike_limit_mib") == PG_EINVAL);
    CHECK(pg_memory_limiter_total_memory() > 16 * MIB);
    /* what the process holds counts, and stops counting once freed */
    size_t ballast_n = 8 * MIB;
    char *ballast = malloc(ballast_n);
    memset(ballast, 1, ballast_n);
    uint64_t with = pg_memory_limiter_memory_in_use();
    CHECK_MSG(with > ballast_n, "in use %llu", (unsigned long long)with);
    free(ballast);
    uint64_t without = pg_memory_limiter_memory_in_use();
    CHECK_MSG(without + ballast_n / 2 < with, "in use %llu after freeing 8 MiB (was %llu)",
              (unsigned long long)without, (unsigned long long)with);
}

/* The real reading: with 8 MiB held, limit_mib 1 refuses at start; a raised limit
 * accepts again. */
static void test_real_usage(void)
{
    size_t ballast_n = 8 * MIB;
    char *ballast = malloc(ballast_n);
    memset(ballast, 1, ballast_n);
    pg_host *h = pg_host_new();
    int sunk = 0;
    char err[256] = "";
    void *m = create(h, "memory_limiter",
                     (pg_memory_limiter_config){.check_interval = 3600000000000LL, .limit_mib = 1},
                     &sunk);
    CHECK(!pg_host_memory_refusing(h));
    CHECK(F->start(m, err, sizeof err) == 0); /* evaluates at once */
    CHECK(pg_host_memory_refusing(h));
    err[0] = 0;
    CHECK(F->consume(m, make_batch(2), err, sizeof err) == PG_EAGAIN); /* freed: ASan checks */
    CHECK_STR(err, "memory limit exceeded");
    CHECK(F->consume(m, make_batch(1), err, sizeof err) == PG_EAGAIN);
    CHECK(sunk == 0);
    pg_counter *refused =
        pg_metrics_counter(pg_host_metrics(h), "profgate_processor_refused_profiles_total", NULL,
                           "processor=\"memory_limiter\"");
    pg_counter *refused_s =
        pg_metrics_counter(pg_host_metrics(h), "profgate_processor_refused_samples_total", NULL,
                           "processor=\"memory_limiter\"");
    CHECK(pg_counter_get(refused) == 3);
    CHECK(pg_counter_get(refused_s) == 9);
    /* trace requests are refused too (a span index after it would grow), and counted */
    pg_spans spans = {0};
    uint8_t tid[16] = {1}, sid[8] = {2};
    CHECK(pg_spans_push(&spans, tid, sid, 0) == 0 && pg_spans_push(&spans, tid, sid, 0) == 0);
    err[0] = 0;
    CHECK(F->consume_traces(m, &spans, err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "memory limit exceeded");
    pg_counter *refused_spans =
        pg_metrics_counter(pg_host_metrics(h), "profgate_processor_refused_spans_total", NULL,
                           "processor=\"memory_limiter\"");
    CHECK(pg_counter_get(refused_spans) == 2);
    pg_gauge *g = pg_metrics_gauge(pg_host_metrics(h), "profgate_memory_limiter_refusing", NULL,
                                   "processor=\"memory_limiter\"");
    CHECK(pg_gauge_get(g) == 1);

    pg_memory_limiter_set_limits(m, 1ull << 40, 0); /* 1 TiB */
    CHECK(pg_memory_limiter_check(m) == 0);
    CHECK(!pg_host_memory_refusing(h));
    CHECK(pg_gauge_get(g) == 0);
    CHECK(F->consume(m, make_batch(1), err, sizeof err) == 0);
    CHECK(sunk == 1);
    CHECK(F->consume_traces(m, &spans, err, sizeof err) == 0);
    CHECK(pg_counter_get(refused_spans) == 2);
    pg_spans_free(&spans);
    F->shutdown(m, pg_now_mono_ns() + 1000000000);
    F->destroy(m);
    pg_host_free(h);
    free(ballast);
}

static _Atomic uint64_t fake_usage;

static uint64_t fake_probe(void *ctx)
{
    (void)ctx;
    return fake_usage;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *drain(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    return s;
}

/* Refuse above limit, keep refusing between limit - spike and limit, accept below. */
static void test_hysteresis_and_log_once(void)
{
    FILE *log = tmpfile();
    pg_log_set_output(log);
    pg_host *h = pg_host_new();
    int sunk = 0;
    void *m =
        create(h, "memory_limiter/h",
               (pg_memory_limiter_config){
                   .check_interval = 3600000000000LL, .limit_mib = 100, .spike_limit_mib = 20},
               &sunk);
    pg_memory_limiter_set_probe(m, fake_probe, NULL);
    fake_usage = 90 * MIB;
    CHECK(pg_memory_limiter_check(m) == 0);
    fake_usage = 100 * MIB; /* at the limit: not above */
    CHECK(pg_memory_limiter_check(m) == 0);
    fake_usage = 101 * MIB;
    CHECK(pg_memory_limiter_check(m) == 1);
    CHECK(pg_memory_limiter_check(m) == 1);
    CHECK(pg_memory_limiter_check(m) == 1);
    fake_usage = 90 * MIB; /* below the limit but above limit - spike (80) */
    CHECK(pg_memory_limiter_check(m) == 1);
    CHECK(pg_host_memory_refusing(h));
    fake_usage = 80 * MIB;
    CHECK(pg_memory_limiter_check(m) == 1);
    fake_usage = 79 * MIB;
    CHECK(pg_memory_limiter_check(m) == 0);
    CHECK(pg_memory_limiter_check(m) == 0);
    CHECK(!pg_host_memory_refusing(h));
    char *text = drain(log);
    CHECK_MSG(count(text, "memory_limiter/h: memory in use 101.0 MiB is above the limit of 100.0 "
                          "MiB: refusing data") == 1,
              "%s", text);
    CHECK_MSG(count(text, "memory_limiter/h: memory in use 79.0 MiB is below 80.0 MiB (limit - "
                          "spike): accepting data again") == 1,
              "%s", text);
    CHECK(count(text, "refusing data") == 1);
    free(text);
    pg_log_set_output(NULL);
    fclose(log);
    F->destroy(m);

    /* default spike: 20% of the limit */
    m = create(h, "memory_limiter/d",
               (pg_memory_limiter_config){.check_interval = 3600000000000LL, .limit_mib = 10},
               &sunk);
    pg_memory_limiter_set_probe(m, fake_probe, NULL);
    fake_usage = 11 * MIB;
    CHECK(pg_memory_limiter_check(m) == 1);
    fake_usage = 8 * MIB + 1; /* limit - 2 MiB = 8 MiB */
    CHECK(pg_memory_limiter_check(m) == 1);
    fake_usage = 8 * MIB - 1;
    CHECK(pg_memory_limiter_check(m) == 0);
    F->destroy(m);
    pg_host_free(h);
}

/* consume notices a jump above the limit without waiting for the timer (within 100 ms). */
static void test_consume_checks(void)
{
    pg_host *h = pg_host_new();
    int sunk = 0;
    char err[256];
    void *m = create(
        h, "memory_limiter",
        (pg_memory_limiter_config){.check_interval = 3600000000000LL, .limit_mib = 100}, &sunk);
    pg_memory_limiter_set_probe(m, fake_probe, NULL);
    fake_usage = 50 * MIB;
    CHECK(F->start(m, err, sizeof err) == 0);
    CHECK(F->consume(m, make_batch(1), err, sizeof err) == 0);
    fake_usage = 200 * MIB;
    usleep(120000);
    CHECK(F->consume(m, make_batch(1), err, sizeof err) == PG_EAGAIN);
    CHECK(pg_host_memory_refusing(h));
    fake_usage = 10 * MIB;
    usleep(120000);
    CHECK(F->consume(m, make_batch(1), err, sizeof err) == 0);
    CHECK(!pg_host_memory_refusing(h));
    CHECK(sunk == 2);
    F->shutdown(m, 0);
    F->destroy(m);
    pg_host_free(h);
}

/* The check timer on the host loop flips the state by itself. */
static void test_timer(void)
{
    pg_host *h = pg_host_new();
    int sunk = 0;
    char err[256];
    void *m =
        create(h, "memory_limiter",
               (pg_memory_limiter_config){.check_interval = 10000000, .limit_mib = 100}, &sunk);
    pg_memory_limiter_set_probe(m, fake_probe, NULL);
    fake_usage = 50 * MIB;
    CHECK(F->start(m, err, sizeof err) == 0);
    loop_thread lt;
    loop_thread_start(&lt, h);
    fake_usage = 150 * MIB;
    int i = 0;
    while (!pg_host_memory_refusing(h) && i++ < 200)
        usleep(5000);
    CHECK(pg_host_memory_refusing(h));
    fake_usage = 10 * MIB;
    i = 0;
    while (pg_host_memory_refusing(h) && i++ < 200)
        usleep(5000);
    CHECK(!pg_host_memory_refusing(h));
    F->shutdown(m, 0);
    loop_thread_stop(&lt);
    F->destroy(m);
    pg_host_free(h);
}

static _Atomic uint64_t fake_usage2;

static uint64_t fake_probe2(void *ctx)
{
    (void)ctx;
    return fake_usage2;
}

/* Two limiters (two pipelines) on one host: the flag is their OR; destroy clears it. */
static void test_two_limiters(void)
{
    pg_host *h = pg_host_new();
    int sunk = 0;
    void *a = create(
        h, "memory_limiter",
        (pg_memory_limiter_config){.check_interval = 3600000000000LL, .limit_mib = 100}, &sunk);
    void *b = create(
        h, "memory_limiter/big",
        (pg_memory_limiter_config){.check_interval = 3600000000000LL, .limit_mib = 1000}, &sunk);
    pg_memory_limiter_set_probe(a, fake_probe, NULL);
    pg_memory_limiter_set_probe(b, fake_probe2, NULL);
    fake_usage = 200 * MIB;
    fake_usage2 = 200 * MIB;
    CHECK(pg_memory_limiter_check(a) == 1);
    CHECK(pg_memory_limiter_check(b) == 0); /* b accepting must not clear a's refusal */
    CHECK(pg_host_memory_refusing(h));
    F->destroy(a);
    CHECK(!pg_host_memory_refusing(h));
    fake_usage2 = 2000 * MIB;
    CHECK(pg_memory_limiter_check(b) == 1);
    CHECK(pg_host_memory_refusing(h));
    F->destroy(b);
    CHECK(!pg_host_memory_refusing(h));
    pg_host_free(h);
}

static void test_percentage(void)
{
    pg_host *h = pg_host_new();
    int sunk = 0;
    void *m = create(h, "memory_limiter/p",
                     (pg_memory_limiter_config){.check_interval = 1000000000,
                                                .limit_percentage = 50,
                                                .spike_limit_percentage = 10},
                     &sunk);
    uint64_t total = pg_memory_limiter_total_memory();
    pg_gauge *limit = pg_metrics_gauge(pg_host_metrics(h), "profgate_memory_limiter_limit_bytes",
                                       NULL, "processor=\"memory_limiter/p\"");
    pg_gauge *spike =
        pg_metrics_gauge(pg_host_metrics(h), "profgate_memory_limiter_spike_limit_bytes", NULL,
                         "processor=\"memory_limiter/p\"");
    CHECK((uint64_t)pg_gauge_get(limit) == total / 100 * 50);
    CHECK((uint64_t)pg_gauge_get(spike) == total / 100 * 10);
    CHECK(pg_memory_limiter_check(m) == 0); /* this test uses far less than half the memory */
    F->destroy(m);
    pg_host_free(h);
}

int main(void)
{
    test_config();
    test_real_usage();
    test_hysteresis_and_log_once();
    test_consume_checks();
    test_timer();
    test_two_limiters();
    test_percentage();
    TEST_MAIN_END();
}

/* bench_processors_volume PPROF [SMALL_PPROF] — ns per input sample of the downscale (factor 5,
 * trim off and 0.001) and aggregate (5 copies of one series) processors on PPROF (the
 * 5 MB busy-service profile), and the memory the aggregate window holds for 1,000
 * services of SMALL_PPROF each (RSS growth and the processor's own bytes gauge). Decoding
 * is outside the timed part; times are process CPU time (the machine may be shared).
 * Prints one line per measurement. */
#include "pipeline/component.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/edit.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/pprof.h"
#include "processors/aggregate/aggregate.h"
#include "processors/downscale/downscale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int sink(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    pg_batch_free(b);
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A batch decoded from buf with resource service.name = svc (NULL: none). */
static pg_batch *decode(const pg_buf *buf, const char *svc)
{
    char err[256] = "";
    pg_batch *b = pg_batch_new(0);
    if (pg_pprof_decode(b, buf->data, buf->len, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "decode: %s\n", err);
        exit(1);
    }
    if (svc) {
        pg_arena *a = pg_batch_arena(b);
        pg_otlp_rprofiles *rp = pg_batch_data(b)->resource_profiles[0];
        if (!rp->resource) rp->resource = pg_otlp_resource_new(a);
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        kv->key = pg_arena_strndup(a, "service.name", 12);
        kv->value = pg_otlp_any_new(a);
        kv->value->value_case = PG_ANY_STRING;
        kv->value->string_value = pg_arena_strndup(a, svc, strlen(svc));
        pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
    }
    return b;
}

static void *make(const pg_component_factory *f, pg_host *h, const void *cfg)
{
    pg_component_settings s = {.id = f->type, .kind = PG_CFG_PROCESSOR, .host = h};
    void *self = NULL;
    char err[256] = "";
    if (f->create(&s, cfg, (pg_consumer){sink, NULL}, &self, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", f->type, err);
        exit(1);
    }
    return self;
}

/* Best of 5: ns per input sample of consuming one decoded copy. */
static void bench_downscale(pg_host *h, const pg_buf *buf, double trim)
{
    pg_downscale_config c = {.factor = 5, .seed = 1, .trim = trim};
    const pg_component_factory *f = &pg_downscale_processor_factory;
    void *self = make(f, h, &c);
    double best = 1e30;
    size_t n = 0;
    for (int r = 0; r < 5; r++) {
        pg_batch *b = decode(buf, NULL);
        n = pg_batch_sample_count(b);
        char err[256];
        double t0 = now_s();
        f->consume(self, b, err, sizeof err);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    printf(
        "downscale factor 5 trim %g: %.1f ns/sample (%zu samples over all profiles, best of 5)\n",
        trim, best * 1e9 / (double)n, n);
    f->shutdown(self, 0);
    f->destroy(self);
}

static void bench_aggregate(pg_host *h, const pg_buf *buf)
{
    pg_aggregate_config c = {
        .window = 3600000000000LL, .max_series = 100000, .max_bytes = 1ull << 36};
    const pg_component_factory *f = &pg_aggregate_processor_factory;
    void *self = make(f, h, &c);
    double t = 0;
    size_t n = 0;
    for (int r = 0; r < 5; r++) {
        pg_batch *b = decode(buf, "checkout");
        n += pg_batch_sample_count(b);
        char err[256];
        double t0 = now_s();
        f->consume(self, b, err, sizeof err);
        t += now_s() - t0;
    }
    double t0 = now_s();
    pg_aggregate_flush_now(self);
    double tf = now_s() - t0;
    printf(
        "aggregate, 5 copies of one series: %.1f ns/sample merging, flush %.1f ms (%zu samples)\n",
        t * 1e9 / (double)n, tf * 1e3, n);
    f->shutdown(self, 0);
    f->destroy(self);
}

/* The value of the processor's bytes gauge in the registry's text. */
static double gauge(pg_host *h, const char *name)
{
    pg_buf t = {0};
    pg_metrics_write(pg_host_metrics(h), &t);
    pg_buf_append(&t, "", 1);
    const char *p = strstr((char *)t.data, name);
    double v = -1;
    if (p && (p = strchr(p, ' '))) v = atof(p + 1);
    pg_buf_free(&t);
    return v;
}

static void bench_services(pg_host *h, const pg_buf *buf)
{
    pg_aggregate_config c = {
        .window = 3600000000000LL, .max_series = 100000, .max_bytes = 1ull << 36};
    const pg_component_factory *f = &pg_aggregate_processor_factory;
    void *self = make(f, h, &c);
    uint64_t rss0 = pg_process_rss_bytes();
    size_t n = 0, in_bytes = 0;
    for (int i = 0; i < 1000; i++) {
        char svc[32];
        snprintf(svc, sizeof svc, "svc-%04d", i);
        pg_batch *b = decode(buf, svc);
        n += pg_batch_sample_count(b);
        in_bytes += buf->len;
        char err[256];
        f->consume(self, b, err, sizeof err);
    }
    uint64_t rss1 = pg_process_rss_bytes();
    double held = gauge(h, "profgate_aggregate_bytes{");
    printf("aggregate, 1,000 services x %zu-byte pprof (%zu samples): RSS +%.1f MiB, window "
           "holds %.1f MiB (%.1f KiB per service)\n",
           buf->len, n, (double)(rss1 - rss0) / 1048576.0, held / 1048576.0, held / 1024.0 / 1000);
    pg_aggregate_flush_now(self);
    f->shutdown(self, 0);
    f->destroy(self);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_processors_volume PPROF [SMALL_PPROF]\n");
        return 2;
    }
    pg_log_configure(PG_LOG_ERROR, 0);
    pg_buf big = {0}, small = {0};
    char err[256] = "";
    if (pg_buf_read_file(&big, argv[1], 0, err, sizeof err) ||
        (argc > 2 && pg_buf_read_file(&small, argv[2], 0, err, sizeof err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    pg_host *h = pg_host_new();
    bench_downscale(h, &big, 0);
    bench_downscale(h, &big, 0.001);
    bench_aggregate(h, &big);
    if (argc > 2) bench_services(h, &small);
    pg_host_free(h);
    pg_buf_free(&big);
    pg_buf_free(&small);
    return 0;
}

/* bench_processors PROFILE — the resource, filter and tracelink processors' cost per sample
 * on one profile (a pprof or OTLP file; `make bench` uses the 5 MB busy-service profile),
 * each processor alone through its factory (config from YAML, as profgate builds it), then
 * the three chained as in a pipeline (profiles/s and samples/s). Each timing is the best of
 * RUNS consume calls on fresh copies of the batch (copying is not timed). In-process: no
 * receiver, exporter or queue. */
#include "pipeline/component.h"
#include "pipeline/config/config.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/host.h"
#include "pipeline/registry/registry.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 7

static const char *const CONFIGS[][2] = {
    {"resource", "    detectors: [env, system]\n"
                 "    attributes:\n"
                 "      - {key: service.version, action: upsert, value: '1.2.3'}\n"
                 "      - {key: host.name, action: hash}\n"
                 "    sample_attributes:\n"
                 "      - {key: goroutine, action: delete}\n"
                 "      - {key: http.route, action: rename, new_key: http.route.template}\n"},
    {"filter", "    exclude:\n"
               "      - {on: frame, regex: 'helper[0-9]\\.func2$'}\n"
               "      - {on: sample_attribute, key: http.route, equals: /healthz}\n"},
    {"tracelink", "    remove_labels: true\n"},
};
#define NPROC 3

/* A processor built from processors.<type> body; next is where it sends. */
typedef struct proc {
    const pg_component_factory *f;
    pg_config *cfg;
    void *self;
} proc;

static int open_proc(proc *p, pg_host *h, const char *type, const char *body, pg_consumer next)
{
    char yaml[4096], err[512] = "";
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [a]\nexporters:\n  nop:\nprocessors:\n  %s:\n%s"
             "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      processors: [%s]\n      exporters: [nop]\n",
             type, body, type);
    pg_cfg_source src = {"bench.yaml", yaml, strlen(yaml)};
    pg_cfg_diags *d = pg_cfg_diags_new();
    int rc = pg_config_load(&src, 1, pg_registry_for_config(), &p->cfg, d);
    if (rc) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    pg_cfg_diags_free(d);
    if (rc) return rc;
    p->f = pg_registry_lookup(PG_CFG_PROCESSOR, type);
    const pg_cfg_component *c = pg_config_find(p->cfg, PG_CFG_PROCESSOR, type);
    pg_component_settings s = {.id = type, .kind = PG_CFG_PROCESSOR, .host = h};
    rc = p->f->create(&s, c->cfg, next, &p->self, err, sizeof err);
    if (!rc && p->f->start) rc = p->f->start(p->self, err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", type, err);
    return rc;
}

static void close_proc(proc *p)
{
    if (p->self) {
        if (p->f->shutdown) p->f->shutdown(p->self, pg_now_mono_ns() + 1000000000);
        p->f->destroy(p->self);
    }
    pg_config_free(p->cfg);
}

static int sink(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    pg_batch_free(b);
    return 0;
}

static int forward(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    proc *p = ctx;
    return p->f->consume(p->self, b, err, errlen);
}

/* Best wall time (ns) of RUNS consume calls of p on copies of src. */
static int64_t best_of(proc *p, const pg_batch *src)
{
    int64_t best = INT64_MAX;
    char err[512];
    for (int r = 0; r < RUNS; r++) {
        pg_batch *b = pg_batch_clone(src, 0);
        int64_t t0 = pg_now_mono_ns();
        int rc = p->f->consume(p->self, b, err, sizeof err);
        int64_t t = pg_now_mono_ns() - t0;
        if (rc) fprintf(stderr, "consume: %s\n", err);
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_processors PROFILE\n");
        return 2;
    }
    pg_log_set_output(fopen("/dev/null", "w"));
    char err[512];
    pg_buf in = {0};
    pg_batch *src = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    if (pg_buf_read_file(&in, argv[1], 0, err, sizeof err) ||
        pg_format_decode_owned(src, &in, PG_FORMAT_UNKNOWN, &lim, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_processors: %s: %s\n", argv[1], err);
        return 1;
    }
    size_t samples = pg_batch_sample_count(src), profiles = pg_batch_profile_count(src);
    printf("  %s: %zu profiles, %zu samples\n", argv[1], profiles, samples);
    pg_host *h = pg_host_new();
    int64_t best = INT64_MAX; /* the floor every processor that removes things pays */
    for (int r = 0; r < RUNS; r++) {
        pg_batch *b = pg_batch_clone(src, 0);
        int64_t t0 = pg_now_mono_ns();
        pg_batch_compact(b, NULL, err, sizeof err);
        int64_t t = pg_now_mono_ns() - t0;
        if (t < best) best = t;
        pg_batch_free(b);
    }
    printf("  (compaction alone: %.1f ns/sample)\n", (double)best / (double)samples);
    for (int i = 0; i < NPROC; i++) {
        proc p = {0};
        if (open_proc(&p, h, CONFIGS[i][0], CONFIGS[i][1], (pg_consumer){sink, NULL}) == 0) {
            int64_t t = best_of(&p, src);
            printf("  %-10s %8.1f ns/sample  (%.2f ms per batch)\n", CONFIGS[i][0],
                   (double)t / (double)samples, (double)t / 1e6);
        }
        close_proc(&p);
    }
    /* the three in a chain: resource -> filter -> tracelink -> sink */
    proc chain[NPROC] = {{0}};
    int ok = 1;
    for (int i = NPROC - 1; i >= 0 && ok; i--) {
        pg_consumer next =
            i == NPROC - 1 ? (pg_consumer){sink, NULL} : (pg_consumer){forward, &chain[i + 1]};
        ok = open_proc(&chain[i], h, CONFIGS[i][0], CONFIGS[i][1], next) == 0;
    }
    if (ok) {
        int64_t t = best_of(&chain[0], src);
        printf("  all three  %8.1f ns/sample, %.0f profiles/s, %.2f M samples/s\n",
               (double)t / (double)samples, (double)profiles * 1e9 / (double)t,
               (double)samples * 1e3 / (double)t);
    }
    for (int i = 0; i < NPROC; i++)
        close_proc(&chain[i]);
    pg_batch_free(src);
    pg_host_free(h);
    return 0;
}

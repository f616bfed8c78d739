/* profiler_overhead: config (bad patterns refused); the ratio of a CPU profile's samples
 * whose stacks hold profiler frames (leaf or caller, inlined lines too), per service,
 * with the cumulative counters; the profile attribute; non-CPU profiles ignored;
 * max_services bounds the series. */
#include "processors/profiler_overhead/profiler_overhead.h"
#include "component_harness.h"
#include "core/edit_fixture.h"

#include "pipeline/telemetry/metrics.h"

static const pg_component_factory *F = &pg_profiler_overhead_processor_factory;

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
             "receivers:\n  file:\n    include: [/nonexistent]\nprocessors:\n"
             "  profiler_overhead:\n%s"
             "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      processors: [profiler_overhead]\n      exporters: [nop]\n",
             body);
    memset(p, 0, sizeof *p);
    const void *c = NULL;
    p->cfg = hx_load(yaml, PG_CFG_PROCESSOR, "profiler_overhead", &c);
    CHECK(c != NULL);
    if (!c) return PG_EINVAL;
    p->host = pg_host_new();
    pg_component_settings s = {.id = "po", .kind = PG_CFG_PROCESSOR, .host = p->host};
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

/* A location whose lines call the named functions (inlined callee first). */
static int32_t loc(pg_batch *b, const char *f1, const char *f2)
{
    pg_otlp_line l1 = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, l2 = l1;
    pg_otlp_line *lp[2] = {&l1, &l2};
    l1.function_index = pg_dict_function(b, fx_str(b, f1), fx_str(b, f1), fx_str(b, "x.go"), 0);
    if (f2)
        l2.function_index = pg_dict_function(b, fx_str(b, f2), fx_str(b, f2), fx_str(b, "x.go"), 0);
    pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    l.address = (uint64_t)(uintptr_t)f1 & 0xffff;
    l.lines = lp;
    l.n_lines = f2 ? 2 : 1;
    return pg_dict_location(b, &l);
}

/* A CPU scope (samples/count + heap-like alloc profile) for service svc: weights 10
 * main.work, 3 runtime/pprof.(*profileBuilder).addCPUData under main, 2 with
 * runtime.sigprof inlined in the leaf, 5 main.other: ratio 5/20. */
static pg_batch *batch(const char *svc)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    pg_profile *p = fx_profile(b, sp, "samples", "count", 4, 0);
    pg_profile *h = fx_profile(b, sp, "alloc_space", "bytes", 4, 0);
    h->msg.period_type = fx_vt(b, "space", "bytes");
    int32_t m = loc(b, "main.main", NULL);
    int32_t s0[] = {loc(b, "main.work", NULL), m};
    int32_t s1[] = {loc(b, "runtime/pprof.(*profileBuilder).addCPUData", NULL),
                    loc(b, "runtime/pprof.profileWriter", NULL), m};
    int32_t s2[] = {loc(b, "runtime.sigprof", "main.leaf"), m};
    int32_t s3[] = {loc(b, "main.other", NULL), m};
    int32_t st[4] = {pg_dict_stack(b, s0, 2), pg_dict_stack(b, s1, 3), pg_dict_stack(b, s2, 2),
                     pg_dict_stack(b, s3, 2)};
    int64_t w[4] = {10, 3, 2, 5};
    for (size_t i = 0; i < 4; i++) {
        pg_sample_set_stack(b, p, i, st[i]);
        pg_sample_set_value(b, p, i, 0, w[i]);
        pg_sample_set_stack(b, h, i, st[i]);
        pg_sample_set_value(b, h, i, 0, 1000);
    }
    if (svc) {
        pg_arena *a = pg_batch_arena(b);
        rp->resource = pg_otlp_resource_new(a);
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        kv->key = pg_arena_strndup(a, "service.name", 12);
        kv->value = pg_otlp_any_new(a);
        kv->value->value_case = PG_ANY_STRING;
        kv->value->string_value = pg_arena_strndup(a, svc, strlen(svc));
        pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
    }
    return b;
}

static char *metrics_text(pg_host *h)
{
    pg_buf t = {0};
    pg_metrics_write(pg_host_metrics(h), &t);
    pg_buf_append(&t, "", 1);
    return (char *)t.data;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_STR(F->type, "profiler_overhead");
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    char *e = hx_load_error("processors:\n  profiler_overhead:\n    frames: ['(unclosed']\n"
                            "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n"
                            "      receivers: [file]\n      processors: [profiler_overhead]\n"
                            "      exporters: [nop]\nreceivers:\n  file:\n    include: [/x]\n");
    CHECK_MSG(e && strstr(e, "frames[0]"), "%s", e ? e : "(loaded)");
    free(e);
}

static void test_ratio(void)
{
    proc p;
    if (proc_open(&p, "    add_attribute: true\n    max_services: 2\n")) return;
    char err[256] = "";
    CHECK(F->consume(p.self, batch("checkout"), err, sizeof err) == 0);
    CHECK(F->consume(p.self, batch(NULL), err, sizeof err) == 0);
    CHECK(F->consume(p.self, batch("third"), err, sizeof err) == 0); /* past max_services */
    char *t = metrics_text(p.host);
    CHECK_MSG(
        strstr(t,
               "profgate_profiler_overhead_ratio{processor=\"po\",service_name=\"checkout\"} 0.25"),
        "%s", t);
    CHECK(strstr(t, "profgate_profiler_overhead_ratio{processor=\"po\",service_name=\"unknown_"
                    "service\"} 0.25"));
    CHECK(strstr(
        t,
        "profgate_profiler_overhead_samples_total{processor=\"po\",service_name=\"checkout\"} 5"));
    CHECK(strstr(
        t, "profgate_profiler_cpu_samples_total{processor=\"po\",service_name=\"checkout\"} 20"));
    CHECK(strstr(t, "profgate_profiler_overhead_untracked_profiles_total{processor=\"po\"} 1"));
    CHECK(!strstr(t, "service_name=\"third\""));
    free(t);
    /* the attribute, on the CPU profile only */
    pg_batch *b = p.out;
    const pg_otlp_dict *d = pg_batch_dict(b);
    pg_profile *cpu = fx_nth(b, 0), *heap = fx_nth(b, 1);
    CHECK(cpu->msg.n_attribute_indices == 1 && heap->msg.n_attribute_indices == 0);
    if (cpu->msg.n_attribute_indices == 1) {
        const pg_otlp_attr *a = d->attribute_table[cpu->msg.attribute_indices[0]];
        CHECK_STR(d->string_table[a->key_strindex], "profiler.overhead.ratio");
        CHECK(a->value->value_case == PG_ANY_DOUBLE && a->value->double_value == 0.25);
    }
    proc_close(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pg_log_configure(PG_LOG_ERROR, 0);
    test_config();
    test_ratio();
    TEST_MAIN_END();
}

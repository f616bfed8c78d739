/* The tracelink processor on a hand-built batch with exact expected links: hex trace and
 * span id labels in every default spelling, Datadog decimal span ids resolved through the
 * span index (or counted unresolved without it), unparsable and all-zero ids refused,
 * remove_labels, an existing link with a missing trace id completed, a valid dictionary
 * after each, the counters, waiting for spans, and config errors. */
#include "proc_fixture.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/traces/span_index.h"
#include "processors/tracelink/tracelink_int.h"
#include "processors/tracelink/tracelink_processor.h"

#include <pthread.h>

static hx_host H;

#define T1 "0af7651916cd43dd8448eb211c80319c"
#define S1 "b7ad6b7169203331"

/* One profile of 6 samples (values 1..6) labelled:
 * 1: trace_id=T1 span_id=S1 · 2: "span id"=12345 (decimal) · 3: span_id=zz (bad) ·
 * 4: otel.trace_id / otel.span_id in upper case · 5: nothing · 6: span_id all zero. */
static pg_batch *labelled(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = fx_profile(b, sp, "cpu", "nanoseconds", 6, 1);
    struct {
        const char *k1, *v1, *k2, *v2;
    } L[6] = {
        {"trace_id", T1, "span_id", S1},
        {"span id", "12345", NULL, NULL},
        {"span_id", "zz", NULL, NULL},
        {"otel.trace_id", "0AF7651916CD43DD8448EB211C80319D", "otel.span_id", "00000000000000FF"},
        {NULL, NULL, NULL, NULL},
        {"span_id", "0000000000000000", NULL, NULL},
    };
    for (size_t i = 0; i < 6; i++) {
        int32_t a[2];
        size_t n = 0;
        if (L[i].k1) a[n++] = pg_dict_attr_str(b, L[i].k1, L[i].v1, strlen(L[i].v1));
        if (L[i].k2) a[n++] = pg_dict_attr_str(b, L[i].k2, L[i].v2, strlen(L[i].v2));
        CHECK(pg_sample_set_attrs(b, p, i, a, n) == 0);
    }
    char err[256];
    CHECK(pg_batch_compact(b, NULL, err, sizeof err) == 0); /* thread=main went */
    return b;
}

static uint64_t counter(const char *id, const char *name)
{
    char labels[256] = "";
    pg_metrics_label(labels, sizeof labels, "processor", id);
    return pg_counter_get(pg_metrics_counter(pg_host_metrics(H.host), name, "", labels));
}

static void test_labels(void)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "tracelink/a", "    {}\n") == 0);
    if (!p.self) return;
    CHECK(pf_run(&p, labelled()) == 0);
    CHECK(pf_is(p.out.last, "[] cpu:nanoseconds: 1{trace_id=" T1 ",span_id=" S1 "}|" T1 "/" S1
                            " 2{span id=12345} 3{span_id=zz} "
                            "4{otel.trace_id=0AF7651916CD43DD8448EB211C80319D,otel.span_id="
                            "00000000000000FF}|0af7651916cd43dd8448eb211c80319d/00000000000000ff"
                            " 5 6{span_id=0000000000000000}\n"));
    CHECK(p.out.last && dc_valid(p.out.last));
    CHECK(counter("tracelink/a", "profgate_tracelink_samples_linked_total") == 2);
    CHECK(counter("tracelink/a", "profgate_tracelink_ids_unparsable_total") == 2);
    CHECK(counter("tracelink/a", "profgate_tracelink_unresolved_total") == 1);
    CHECK(counter("tracelink/a", "profgate_tracelink_links_resolved_total") == 0);
    pf_close(&p);
}

static void test_index_and_remove(void)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "tracelink/b",
                  "    remove_labels: true\n    span_index:\n      enabled: true\n"
                  "      endpoint: 127.0.0.1:0\n") == 0);
    if (!p.self) return;
    pg_span_index *ix = pg_tracelink_span_index(p.self);
    CHECK(ix != NULL && pg_tracelink_port(p.self) > 0);
    uint8_t span[8] = {0, 0, 0, 0, 0, 0, 0x30, 0x39}, trace[16];
    memset(trace, 0x11, 16);
    pg_span_index_put(ix, span, trace, pg_now_mono_ns());
    CHECK(pf_run(&p, labelled()) == 0);
    CHECK(pf_is(p.out.last, "[] cpu:nanoseconds: 1|" T1 "/" S1
                            " 2|11111111111111111111111111111111/0000000000003039 3{span_id=zz} "
                            "4|0af7651916cd43dd8448eb211c80319d/00000000000000ff 5 "
                            "6{span_id=0000000000000000}\n"));
    CHECK(p.out.last && dc_valid(p.out.last));
    CHECK(counter("tracelink/b", "profgate_tracelink_samples_linked_total") == 3);
    CHECK(counter("tracelink/b", "profgate_tracelink_links_resolved_total") == 1);
    /* an existing link without trace id is completed from the index */
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *pr = fx_profile(b, sp, "cpu", "nanoseconds", 1, 7);
    uint8_t zero[16] = {0};
    int32_t half = pg_dict_link(b, zero, 16, span, 8);
    CHECK(pg_sample_set_link(b, pr, 0, half) == 0);
    CHECK(pf_run(&p, b) == 0);
    CHECK(pf_is(p.out.last,
                "[] cpu:nanoseconds: 7|11111111111111111111111111111111/0000000000003039\n"));
    CHECK(p.out.last && dc_valid(p.out.last));
    pf_close(&p);
}

/* Two profiles sharing their identity columns (as decoded from one pprof): linked once,
 * the result shared, counted for each. */
static void test_shared_columns(void)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "tracelink/s", "    remove_labels: true\n") == 0);
    if (!p.self) return;
    pg_batch *b = labelled();
    pg_profile *p0 = fx_nth(b, 0);
    pg_otlp_sprofiles *sp = pg_batch_data(b)->resource_profiles[0]->scope_profiles[0];
    pg_profile *p1 = pg_profile_new(pg_batch_arena(b));
    p1->msg.sample_type = fx_vt(b, "samples", "count");
    pg_samples cols = p0->samples;
    cols.owned = 0;
    p0->samples.owned = 0;
    pg_profile_set_samples(&p1->msg, &cols);
    pg_otlp_push(pg_batch_arena(b), (void ***)&sp->profiles, &sp->n_profiles, &p1->msg);
    CHECK(pf_run(&p, b) == 0);
    const char *line = "1|" T1 "/" S1 " 2{span id=12345} 3{span_id=zz} "
                       "4|0af7651916cd43dd8448eb211c80319d/00000000000000ff 5 "
                       "6{span_id=0000000000000000}\n";
    char want[1024];
    snprintf(want, sizeof want, "[] cpu:nanoseconds: %s[] samples:count: %s", line, line);
    CHECK(pf_is(p.out.last, want));
    pg_profile *q0 = p.out.last ? fx_nth(p.out.last, 0) : NULL,
               *q1 = q0 ? fx_nth(p.out.last, 1) : NULL;
    CHECK(q0 && q1 && q0->samples.link == q1->samples.link &&
          q0->samples.attrs == q1->samples.attrs);
    CHECK(q0 && !(q0->samples.owned & PG_COL_LINK) && !(q1->samples.owned & PG_COL_LINK));
    CHECK(p.out.last && dc_valid(p.out.last));
    CHECK(counter("tracelink/s", "profgate_tracelink_samples_linked_total") == 4);
    pf_close(&p);
}

typedef struct later {
    pg_span_index *ix;
} later;

/* Adds span 12345 after 100 ms. */
static void *add_later(void *arg)
{
    later *l = arg;
    hx_sleep_ms(100);
    uint8_t span[8] = {0, 0, 0, 0, 0, 0, 0x30, 0x39}, trace[16];
    memset(trace, 0x22, 16);
    pg_span_index_put(l->ix, span, trace, pg_now_mono_ns());
    return NULL;
}

static void test_wait(void)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "tracelink/w",
                  "    span_index:\n      enabled: true\n      endpoint: 127.0.0.1:0\n"
                  "      wait: 5s\n") == 0);
    if (!p.self) return;
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *pr = fx_profile(b, sp, "cpu", "nanoseconds", 1, 3);
    int32_t a = pg_dict_attr_str(b, "span id", "12345", 5);
    pg_sample_set_attrs(b, pr, 0, &a, 1);
    later l = {pg_tracelink_span_index(p.self)};
    pthread_t th;
    pthread_create(&th, NULL, add_later, &l);
    int64_t t0 = pg_now_mono_ns();
    CHECK(pf_run(&p, b) == 0);
    int64_t took = pg_now_mono_ns() - t0;
    pthread_join(th, NULL);
    CHECK_MSG(took >= 50000000 && took < 3000000000LL, "waited %lld ns", (long long)took);
    CHECK(pf_is(p.out.last, "[] cpu:nanoseconds: 3{span id=12345}|"
                            "22222222222222222222222222222222/0000000000003039\n"));
    pf_close(&p);
}

static void test_parse(void)
{
    uint8_t id[16];
    CHECK(tl_parse_id("00000000000000ff", 0, id, 8) == 1 && id[7] == 0xff);
    CHECK(tl_parse_id("00000000000000f", 0, id, 8) == 0);
    CHECK(tl_parse_id("00000000000000fg", 0, id, 8) == 0);
    CHECK(tl_parse_id("18446744073709551615", 1, id, 8) == 1 && id[0] == 0xff && id[7] == 0xff);
    CHECK(tl_parse_id("18446744073709551616", 1, id, 8) == 0);
    CHECK(tl_parse_id("12a", 1, id, 8) == 0 && tl_parse_id("", 1, id, 8) == 0);
    CHECK(tl_parse_id("0", 1, id, 8) == 0);
}

static void test_config_errors(void)
{
    char err[256];
    CHECK(pg_cfg_table_check(pg_tracelink_processor_factory.config.table, err, sizeof err) == 0);
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"    span_index:\n      enabled: true\n",
         "test.yaml:7:3: processor tracelink: span_index: nothing feeds the index"},
        {"    span_index:\n      ttl: 5x\n", "test.yaml:9:12: processor tracelink: span_index.ttl"},
        {"    span_index:\n      wait: 1m\n", "span_index.wait: \"1m\" is out of range"},
        {"    remove_label: true\n",
         "unknown key \"remove_label\" (did you mean \"remove_labels\"?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "receivers:\n  file:\n    include: [a]\nexporters:\n  nop:\nprocessors:\n"
                 "  tracelink:\n%sservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                 "      processors: [tracelink]\n      exporters: [nop]\n",
                 cases[i].body);
        char *e = hx_load_error(yaml);
        CHECK_MSG(e && strstr(e, cases[i].want), "case %zu: %s", i, e ? e : "(loaded)");
        free(e);
    }
}

int main(void)
{
    pg_log_set_output(tmpfile());
    hx_host_start(&H);
    test_parse();
    test_labels();
    test_index_and_remove();
    test_shared_columns();
    test_wait();
    test_config_errors();
    hx_host_stop(&H);
    TEST_MAIN_END();
}

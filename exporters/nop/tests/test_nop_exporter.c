/* The nop exporter through its factory and the real registry and config loader: no config
 * keys (an unknown key is refused), every batch accepted and freed (ASan checks the
 * freeing), and what it took counted in the standard exporter series. argv[1] is the test
 * data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "exporters/nop/nop_exporter.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/otlp_codec.h"

static const pg_component_factory *F = &pg_nop_exporter_factory;
static const char *corpus;

#define PIPELINE                                                                                   \
    "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"                             \
    "      exporters: [nop/x]\n"

/* corpus/<rel> decoded into a new batch, or NULL. */
static pg_batch *load(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    return hx_load_batch(path);
}

static uint64_t series(hx_host *h, const char *name)
{
    return pg_counter_get(
        pg_metrics_counter(pg_host_metrics(h->host), name, "", "exporter=\"nop/x\""));
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_registry_lookup(PG_CFG_EXPORTER, "nop") == F);
    /* `nop/x:` with no body, and an empty map, both load */
    const char *bodies[] = {"exporters:\n  nop/x:\n", "exporters:\n  nop/x: {}\n"};
    for (int i = 0; i < 2; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "receivers:\n  file:\n    include: [a]\n%s" PIPELINE,
                 bodies[i]);
        char *e = hx_load_error(yaml);
        CHECK_MSG(e == NULL, "%s", e);
        free(e);
    }
    char *e = hx_load_error("receivers:\n  file:\n    include: [a]\nexporters:\n  nop/x:\n"
                            "    verbosity: basic\n" PIPELINE);
    CHECK_MSG(e && strstr(e, "verbosity"), "%s", e ? e : "(loaded)");
    free(e);
}

static void test_consume(hx_host *h)
{
    const void *c = NULL;
    pg_config *cfg =
        hx_load("receivers:\n  file:\n    include: [a]\nexporters:\n  nop/x:\n" PIPELINE,
                PG_CFG_EXPORTER, "nop/x", &c);
    CHECK(c != NULL);
    pg_component_settings s = {.id = "nop/x", .kind = PG_CFG_EXPORTER, .host = h->host};
    void *self = NULL;
    char err[256] = "";
    CHECK_MSG(F->create(&s, c, (pg_consumer){0}, &self, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(F->start(self, err, sizeof err) == 0, "%s", err);
    const char *files[] = {"otlp/go_cpu.otlp", "otlp/go_heap.otlp", "pprof/go_heap.pb.gz"};
    uint64_t profiles = 0, samples = 0, bytes = 0;
    for (int i = 0; i < 3; i++) {
        pg_batch *b = load(files[i]);
        CHECK(b != NULL);
        if (!b) continue;
        profiles += pg_batch_profile_count(b);
        samples += pg_batch_sample_count(b);
        bytes += pg_otlp_encoded_size(b);
        CHECK(F->consume(self, b, err, sizeof err) == 0); /* b is freed by now */
    }
    pg_batch *empty = pg_batch_new(0);
    bytes += pg_otlp_encoded_size(empty); /* counted as any batch: its encoded size */
    CHECK(F->consume(self, empty, err, sizeof err) == 0);
    CHECK(profiles > 3 && samples > profiles && bytes > 1000);
    CHECK(series(h, "profgate_exporter_sent_profiles_total") == profiles);
    CHECK(series(h, "profgate_exporter_sent_samples_total") == samples);
    CHECK(series(h, "profgate_exporter_sent_bytes_total") == bytes);
    CHECK(series(h, "profgate_exporter_send_failed_profiles_total") == 0);
    hx_stop(F, &self, &cfg);
}

int main(int argc, char **argv)
{
    static char corpus_buf[512];
    snprintf(corpus_buf, sizeof corpus_buf, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    corpus = corpus_buf;
    pg_log_set_output(tmpfile());
    test_config();
    hx_host h = {pg_host_new(), 0}; /* the nop exporter needs no loop: only the metrics */
    test_consume(&h);
    pg_host_free(h.host);
    TEST_MAIN_END();
}

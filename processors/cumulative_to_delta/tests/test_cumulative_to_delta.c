/* The cumulative_to_delta processor through its factory: config (defaults, bounds, unknown
 * keys), a real Go heap profile primed then turned into deltas (inuse_* untouched), series
 * keyed by resource attributes, sample types outside the list passed as they are, and the
 * delta series in the metrics. argv[1] is the test data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "pipeline/core/delta.h"
#include "pipeline/core/edit.h"
#include "processors/cumulative_to_delta/cumulative_to_delta.h"

static const pg_component_factory *F = &pg_cumulative_to_delta_factory;
static char heap[512], cpu[512];

#define PIPELINE                                                                                   \
    "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"         \
    "      processors: [cumulative_to_delta/x]\n      exporters: [nop]\n"
#define RECV "receivers:\n  file:\n    include: [a]\n"

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_registry_lookup(PG_CFG_PROCESSOR, "cumulative_to_delta") == F);
    const void *c = NULL;
    pg_config *cfg = hx_load(RECV "processors:\n  cumulative_to_delta/x:\n" PIPELINE,
                             PG_CFG_PROCESSOR, "cumulative_to_delta/x", &c);
    CHECK(c != NULL);
    if (c) {
        const pg_cumulative_to_delta_config *k = c;
        CHECK(k->max_series == 10000);
        CHECK(k->expiry == 600000000000LL);
        CHECK(k->sample_types.n == 4);
    }
    pg_config_free(cfg);
    char *e =
        hx_load_error(RECV "processors:\n  cumulative_to_delta/x:\n    max_series: 0\n" PIPELINE);
    CHECK_MSG(e && strstr(e, "max_series"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error(RECV "processors:\n  cumulative_to_delta/x:\n    expiry: 10ms\n" PIPELINE);
    CHECK_MSG(e && strstr(e, "expiry"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error(RECV "processors:\n  cumulative_to_delta/x:\n    max_serie: 3\n" PIPELINE);
    CHECK_MSG(e && strstr(e, "max_series"), "%s", e ? e : "(loaded)");
    free(e);
}

/* Sets the batch's first resource to service.name=svc. */
static void set_service(pg_batch *b, const char *svc)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_rprofiles *rp = pg_batch_data(b)->resource_profiles[0];
    rp->resource = pg_otlp_resource_new(a);
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    kv->key = pg_arena_strndup(a, "service.name", 12);
    kv->value = pg_otlp_any_new(a);
    kv->value->value_case = PG_ANY_STRING;
    kv->value->string_value = pg_arena_strndup(a, svc, strlen(svc));
    pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
}

/* Sample type names of b's typed profiles, joined with ',' into out; returns the profile count. */
static size_t types_of(const pg_batch *b, char *out, size_t outlen)
{
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    const pg_otlp_dict *d = pg_batch_dict(b);
    out[0] = 0;
    size_t n = 0;
    while (pg_profile_iter_next(&it)) {
        if (!it.profile->msg.sample_type) continue; /* a table-entries record */
        const char *t = d->string_table[it.profile->msg.sample_type->type_strindex];
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", n ? "," : "", t);
        n++;
    }
    return n;
}

/* Sum of the values of b's profile of type t. */
static int64_t total_of(const pg_batch *b, const char *t, size_t *samples)
{
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    const pg_otlp_dict *d = pg_batch_dict(b);
    int64_t sum = 0;
    while (pg_profile_iter_next(&it)) {
        if (!it.profile->msg.sample_type ||
            strcmp(d->string_table[it.profile->msg.sample_type->type_strindex], t))
            continue;
        for (size_t i = 0; i < it.profile->samples.n; i++)
            sum += pg_sample_value(it.profile, i, 0);
        if (samples) *samples = it.profile->samples.n;
    }
    return sum;
}

typedef struct sink {
    pg_batch *last;
    int calls;
} sink;

static int sink_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    sink *s = ctx;
    pg_batch_free(s->last);
    s->last = b;
    s->calls++;
    return 0;
}

static uint64_t ctr(hx_host *h, const char *name)
{
    return pg_counter_get(pg_metrics_counter(pg_host_metrics(h->host), name, "",
                                             "processor=\"cumulative_to_delta/x\""));
}

static void test_heap(hx_host *h)
{
    const void *c = NULL;
    pg_config *cfg = hx_load(RECV "processors:\n  cumulative_to_delta/x:\n" PIPELINE,
                             PG_CFG_PROCESSOR, "cumulative_to_delta/x", &c);
    pg_component_settings s = {
        .id = "cumulative_to_delta/x", .kind = PG_CFG_PROCESSOR, .host = h->host};
    void *self = NULL;
    char err[256] = "", types[256];
    sink k = {0};
    CHECK_MSG(F->create(&s, c, (pg_consumer){sink_consume, &k}, &self, err, sizeof err) == 0, "%s",
              err);
    CHECK(F->mutates == 1);

    /* first: alloc_* primed, inuse_* passed untouched */
    pg_batch *b = hx_load_batch(heap);
    CHECK(b != NULL);
    if (!b) return;
    set_service(b, "a");
    int64_t inuse = total_of(b, "inuse_space", NULL), alloc = total_of(b, "alloc_space", NULL);
    CHECK(inuse > 0 && alloc > inuse);
    CHECK(F->consume(self, b, err, sizeof err) == 0);
    CHECK(k.calls == 1 && k.last);
    if (k.last) {
        CHECK(types_of(k.last, types, sizeof types) == 2);
        CHECK_STR(types, "inuse_space,inuse_objects"); /* default type first */
        CHECK(total_of(k.last, "inuse_space", NULL) == inuse);
    }
    CHECK(ctr(h, "profgate_delta_primed_profiles_total") == 2);
    CHECK(ctr(h, "profgate_delta_passed_profiles_total") == 2);

    /* another service: its own series, primed too */
    b = hx_load_batch(heap);
    set_service(b, "b");
    CHECK(F->consume(self, b, err, sizeof err) == 0);
    CHECK(ctr(h, "profgate_delta_primed_profiles_total") == 4);

    /* the same cumulative values again for a: every delta is 0, no sample left */
    b = hx_load_batch(heap);
    set_service(b, "a");
    CHECK(F->consume(self, b, err, sizeof err) == 0);
    if (k.last) {
        size_t n = 99;
        CHECK(types_of(k.last, types, sizeof types) == 4);
        CHECK(total_of(k.last, "alloc_space", &n) == 0 && n == 0);
        CHECK(total_of(k.last, "inuse_space", NULL) == inuse);
    }
    CHECK(ctr(h, "profgate_delta_emitted_profiles_total") == 2);

    /* a CPU profile (not a listed type) passes as it is, even the first time */
    b = hx_load_batch(cpu);
    CHECK(b != NULL);
    if (b) {
        size_t samples = pg_batch_sample_count(b), profiles = pg_batch_profile_count(b);
        CHECK(F->consume(self, b, err, sizeof err) == 0);
        CHECK(k.last && pg_batch_profile_count(k.last) == profiles &&
              pg_batch_sample_count(k.last) == samples);
    }
    pg_batch_free(k.last);
    hx_stop(F, &self, &cfg);
}

int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : "tests/data";
    snprintf(heap, sizeof heap, "%s/../fuzz/corpus/pprof/go_heap.pb.gz", data);
    snprintf(cpu, sizeof cpu, "%s/../fuzz/corpus/pprof/go_cpu.pb.gz", data);
    pg_log_set_output(tmpfile());
    test_config();
    hx_host h = {pg_host_new(), 0};
    test_heap(&h);
    pg_host_free(h.host);
    TEST_MAIN_END();
}

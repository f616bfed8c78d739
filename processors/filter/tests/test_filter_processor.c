/* The filter processor on hand-built batches with exact expected results: profile type,
 * resource attribute, sample attribute (exists, equals, regex) and frame rules, include
 * and exclude together, an emptied batch not passed on, the dictionary valid afterwards,
 * drop counters, and config errors (validate). argv[1] is the test data directory. */
#include "proc_fixture.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/filter/filter_processor.h"

static hx_host H;

/* A batch of two resources (a, b), each with samples/count and cpu/nanoseconds profiles
 * of 4 samples (values 1..4 and 1000..1003; odd samples carry thread=main). */
static pg_batch *two(void)
{
    pg_batch *b = pg_batch_new(0);
    pf_resource(b, "a", 4);
    pf_resource(b, "b", 4);
    return b;
}

/* Runs a filter with body on two() and compares the result with want ("" = nothing out). */
static void expect(const char *body, const char *want)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "filter", body) == 0);
    if (!p.self) return;
    CHECK(pf_run(&p, two()) == 0);
    if (!*want)
        CHECK_MSG(p.out.last == NULL, "expected nothing passed on for:\n%s", body);
    else {
        CHECK_MSG(pf_is(p.out.last, want), "for:\n%s", body);
        CHECK(p.out.last && dc_valid(p.out.last));
    }
    pf_close(&p);
}

static void test_rules(void)
{
    expect("    exclude:\n      - {on: profile_type, equals: 'samples:count'}\n",
           "[service.name=a] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n"
           "[service.name=b] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n");
    expect("    include:\n      - {on: resource_attribute, key: service.name, equals: b}\n"
           "      - {on: profile_type, regex: '^cpu:'}\n",
           "[service.name=a] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n"
           "[service.name=b] samples:count: 1 2{thread=main} 3 4{thread=main}\n"
           "[service.name=b] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n");
    expect("    exclude:\n      - {on: sample_attribute, key: thread}\n",
           "[service.name=a] samples:count: 1 3\n[service.name=a] cpu:nanoseconds: 1000 1002\n"
           "[service.name=b] samples:count: 1 3\n[service.name=b] cpu:nanoseconds: 1000 1002\n");
    expect("    include:\n      - {on: sample_attribute, key: thread, regex: '^ma'}\n"
           "    exclude:\n      - {on: resource_attribute, key: service.name, equals: a}\n",
           "[service.name=b] samples:count: 2{thread=main} 4{thread=main}\n"
           "[service.name=b] cpu:nanoseconds: 1001{thread=main} 1003{thread=main}\n");
    /* sample i has frames f<10i>, f<10i+1>: f21 is in sample 2 only */
    expect("    exclude:\n      - {on: frame, regex: '^f(21|31)$'}\n"
           "      - {on: resource_attribute, key: service.name, equals: b}\n",
           "[service.name=a] samples:count: 1 2{thread=main}\n"
           "[service.name=a] cpu:nanoseconds: 1000 1001{thread=main}\n");
    expect("    include:\n      - {on: frame, equals: f10}\n"
           "      - {on: sample_attribute, key: thread, equals: nope}\n",
           "[service.name=a] samples:count: 2{thread=main}\n"
           "[service.name=a] cpu:nanoseconds: 1001{thread=main}\n"
           "[service.name=b] samples:count: 2{thread=main}\n"
           "[service.name=b] cpu:nanoseconds: 1001{thread=main}\n");
    expect("    include:\n      - {on: resource_attribute, key: service.name, equals: c}\n", "");
    expect("    exclude:\n      - {on: sample_attribute, key: absent}\n",
           "[service.name=a] samples:count: 1 2{thread=main} 3 4{thread=main}\n"
           "[service.name=a] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n"
           "[service.name=b] samples:count: 1 2{thread=main} 3 4{thread=main}\n"
           "[service.name=b] cpu:nanoseconds: 1000 1001{thread=main} 1002 1003{thread=main}\n");
}

static uint64_t counter(const char *name, const char *reason)
{
    char labels[256] = "";
    pg_metrics_label(labels, sizeof labels, "processor", "filter/c");
    pg_metrics_label(labels, sizeof labels, "reason", reason);
    return pg_counter_get(pg_metrics_counter(pg_host_metrics(H.host), name, "", labels));
}

static void test_counters(void)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "filter/c",
                  "    include:\n      - {on: resource_attribute, key: service.name, equals: a}\n"
                  "    exclude:\n      - {on: sample_attribute, key: thread}\n") == 0);
    if (!p.self) return;
    CHECK(pf_run(&p, two()) == 0);
    CHECK(counter("profgate_filter_dropped_profiles_total", "include") == 2);
    CHECK(counter("profgate_filter_dropped_samples_total", "include") == 8);
    CHECK(counter("profgate_filter_dropped_profiles_total", "exclude") == 0);
    CHECK(counter("profgate_filter_dropped_samples_total", "exclude") == 4);
    pf_close(&p);
}

static void test_config_errors(void)
{
    char err[256];
    CHECK(pg_cfg_table_check(pg_filter_processor_factory.config.table, err, sizeof err) == 0);
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"    exclude:\n      - {on: frame, regex: '(bad'}\n",
         "test.yaml:9:28: processor filter: exclude[0].regex: invalid regex"},
        {"    exclude:\n      - {on: frame, colour: red}\n",
         "test.yaml:9:21: processor filter: exclude[0]: unknown key \"colour\""},
        {"    include:\n      - {on: sample_attribute}\n",
         "include[0]: on: sample_attribute needs a key"},
        {"    include:\n      - {on: frame}\n", "include[0]: on: frame needs equals or regex"},
        {"    include:\n      - {on: sample_attribute, key: k, equals: a, regex: b}\n",
         "give one of equals, regex, exists"},
        {"    include:\n      - {on: stack}\n", "invalid value \"stack\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "receivers:\n  file:\n    include: [a]\nexporters:\n  nop:\nprocessors:\n"
                 "  filter:\n%sservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                 "      processors: [filter]\n      exporters: [nop]\n",
                 cases[i].body);
        char *e = hx_load_error(yaml);
        CHECK_MSG(e && strstr(e, cases[i].want), "case %zu: %s", i, e ? e : "(loaded)");
        free(e);
    }
}

int main(void)
{
    pg_log_set_output(tmpfile());
    H.host = pg_host_new();
    test_rules();
    test_counters();
    test_config_errors();
    pg_host_free(H.host);
    TEST_MAIN_END();
}

/* The resource processor on hand-built batches with exact expected results: every action on
 * resource attributes (literal, from_attribute, hash, extract, rename, convert, delete;
 * keys given by reference), the same on sample attributes, promote (with a split when the
 * profiles of one resource differ) and demote, detectors (env, system; override), a valid
 * dictionary after each, and config errors. */
#include "proc_fixture.h"
#include "processors/resource/resource_processor.h"
#include "processors/resource/resource_int.h"

#include <unistd.h>

static hx_host H;

/* Runs a resource processor with body on batch b and compares with want. */
static void expect_on(pg_batch *b, const char *body, const char *want)
{
    pf_proc p;
    CHECK(pf_open(&p, &H, "resource", body) == 0);
    if (!p.self) {
        pg_batch_free(b);
        return;
    }
    CHECK(pf_run(&p, b) == 0);
    CHECK_MSG(pf_is(p.out.last, want), "for:\n%s", body);
    CHECK(p.out.last && dc_valid(p.out.last));
    pf_close(&p);
}

/* One resource (service.name=<svc> and, by reference, pod=<pod>) with a samples/count
 * profile of 2 samples (values 1, 2; the second has thread=main). */
static pg_batch *one(const char *svc, const char *pod)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_STRING;
    v.string_value = (char *)svc;
    pg_resource_attr_set(b, rp, "service.name", &v);
    if (pod) {
        pg_arena *a = pg_batch_arena(b);
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        kv->key = "";
        kv->key_strindex = fx_str(b, "pod");
        kv->value = pg_otlp_any_new(a);
        kv->value->value_case = PG_ANY_STRINDEX;
        kv->value->string_value_strindex = fx_str(b, pod);
        pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
    }
    fx_profile(b, sp, "samples", "count", 2, 1);
    return b;
}

static void test_resource_actions(void)
{
    expect_on(
        one("cart", "cart-7d9f-x2"),
        "    attributes:\n"
        "      - {key: env, action: upsert, value: prod}\n"
        "      - {key: env, action: insert, value: dev}\n"
        "      - {key: nope, action: update, value: x}\n"
        "      - {key: svc.copy, action: insert, from_attribute: service.name}\n"
        "      - {key: pod, action: extract, pattern: '^(?P<app>[a-z]+)-(?P<hash>[0-9a-f]+)'}\n"
        "      - {key: pod, action: rename, new_key: k8s.pod.name}\n"
        "      - {key: svc.copy, action: hash}\n"
        "      - {key: port, action: upsert, value: '8080'}\n"
        "      - {key: port, action: convert, converted_type: int}\n"
        "      - {key: env, action: delete}\n",
        "[service.name=cart,k8s.pod.name=cart-7d9f-x2,svc.copy="
        "1c42ddc0285b9c25135be3bf345e6a041271b784b22a6f6cab6588dab93c5980,app=cart,hash=7d9f,"
        "port=8080] samples:count: 1 2{thread=main}\n");
    /* update keeps a by-reference key as a reference */
    pf_proc p;
    CHECK(pf_open(&p, &H, "resource",
                  "    attributes:\n      - {key: pod, action: update, value: p2}\n") == 0);
    if (p.self) {
        CHECK(pf_run(&p, one("cart", "p1")) == 0);
        const pg_otlp_resource *r =
            p.out.last ? pg_batch_data(p.out.last)->resource_profiles[0]->resource : NULL;
        CHECK(r && r->n_attributes == 2 && r->attributes[1]->key_strindex > 0);
        CHECK(r && !strcmp(pg_any_str(p.out.last, r->attributes[1]->value), "p2"));
        pf_close(&p);
    }
}

#define T1_HASH "628b49d96dcde97a430dd4f597705899e09a968f793491e4b704cae33a40dc02" /* "t1" */

static void test_sample_actions(void)
{
    expect_on(one("cart", NULL),
              "    sample_attributes:\n"
              "      - {key: tenant, action: insert, value: t1}\n"
              "      - {key: thread, action: rename, new_key: thread.name}\n"
              "      - {key: who, action: upsert, from_attribute: thread.name}\n"
              "      - {key: who, action: extract, pattern: '^(?<first>.)'}\n"
              "      - {key: tenant, action: hash}\n"
              "      - {key: n, action: insert, value: '12'}\n"
              "      - {key: n, action: convert, converted_type: double}\n"
              "      - {key: who, action: delete}\n",
              "[service.name=cart] samples:count: 1{tenant=" T1_HASH ",n=12} "
              "2{thread.name=main,first=m,tenant=" T1_HASH ",n=12}\n");
}

/* Sets attribute key=value on every sample of profile k of b. */
static void label_all(pg_batch *b, size_t k, const char *key, const char *value)
{
    pg_profile *p = fx_nth(b, k);
    int32_t a = pg_dict_attr_str(b, key, value, strlen(value));
    for (size_t i = 0; i < p->samples.n; i++)
        CHECK(pg_sample_set_attrs(b, p, i, &a, 1) == 0);
}

static void test_promote_demote(void)
{
    pg_batch *b = pg_batch_new(0);
    pf_resource(b, NULL, 2); /* two profiles in one resource */
    pf_resource(b, "keep", 2);
    label_all(b, 0, "service_name", "x");
    label_all(b, 1, "service_name", "y");
    label_all(b, 2, "service_name", "z");
    expect_on(b, "    promote:\n      - {key: service_name, to: service.name}\n",
              "[service.name=x] samples:count: 1 2\n"
              "[service.name=z] samples:count: 1 2\n"
              "[service.name=y] cpu:nanoseconds: 1000 1001\n"
              "[service.name=keep] cpu:nanoseconds: 1000 1001{thread=main}\n");
    b = pg_batch_new(0);
    pf_resource(b, "cart", 2);
    expect_on(b, "    demote:\n      - {key: service.name, to: service_name}\n",
              "[] samples:count: 1{service_name=cart} 2{thread=main,service_name=cart}\n"
              "[] cpu:nanoseconds: 1000{service_name=cart} 1001{thread=main,service_name=cart}\n");
}

static void test_detectors(void)
{
    setenv("OTEL_RESOURCE_ATTRIBUTES",
           "deployment.environment.name=prod, cloud.region=eu%2Dwest-1,bad,service.name=no", 1);
    setenv("OTEL_SERVICE_NAME", "from-env", 1);
    expect_on(one("cart", NULL), "    detectors: [env]\n",
              "[service.name=cart,deployment.environment.name=prod,cloud.region=eu-west-1] "
              "samples:count: 1 2{thread=main}\n");
    expect_on(one("cart", NULL), "    detectors: [env]\n    override: true\n",
              "[service.name=from-env,deployment.environment.name=prod,cloud.region=eu-west-1] "
              "samples:count: 1 2{thread=main}\n");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    unsetenv("OTEL_SERVICE_NAME");
    char host[256] = "", want[1024];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want,
             "[service.name=cart,host.name=%s,os.type=linux,host.arch=%s] samples:count: 1 "
             "2{thread=main}\n",
             host,
#if defined(__x86_64__)
             "amd64"
#elif defined(__aarch64__)
             "arm64"
#else
             "?"
#endif
    );
    expect_on(one("cart", NULL), "    detectors: [system]\n", want);
}

static void test_config_errors(void)
{
    char err[256];
    CHECK(pg_cfg_table_check(pg_resource_processor_factory.config.table, err, sizeof err) == 0);
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"    attributes:\n      - {key: a, action: extract, pattern: '(x'}\n",
         "test.yaml:9:44: processor resource: attributes[0].pattern: invalid regex"},
        {"    attributes:\n      - {key: a, action: upsert, valu: x}\n",
         "attributes[0]: unknown key \"valu\" (did you mean \"value\"?)"},
        {"    attributes:\n      - {key: a, action: upsert}\n",
         "attributes[0]: upsert needs value or from_attribute"},
        {"    sample_attributes:\n      - {key: a, action: rename}\n",
         "sample_attributes[0]: new_key goes with rename"},
        {"    detectors: [cloud]\n", "unknown detector \"cloud\""},
        {"    colour: red\n", "test.yaml:8:5: processor resource: unknown key \"colour\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "receivers:\n  file:\n    include: [a]\nexporters:\n  nop:\nprocessors:\n"
                 "  resource:\n%sservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                 "      processors: [resource]\n      exporters: [nop]\n",
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
    test_resource_actions();
    test_sample_actions();
    test_promote_demote();
    test_detectors();
    test_config_errors();
    pg_host_free(H.host);
    TEST_MAIN_END();
}

/* The loadbalancing exporter through the real registry and config loader, with `file`
 * exporters as backends (one directory per backend through `%s`): every series
 * (service.name) lands in exactly one backend; a batch's ack fires once every part is
 * delivered; a backend that leaves the set moves only its own series; a DNS name becomes
 * one backend per address; a name that does not resolve leaves no backend and refuses
 * with PG_EAGAIN; config mistakes are reported. argv[1] is the test data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "exporters/loadbalancing/lb_int.h"
#include "exporters/loadbalancing/loadbalancing_exporter.h"
#include "pipeline/core/edit.h"
#include "pipeline/telemetry/metrics.h"

#include <dirent.h>

static const pg_component_factory *F = &pg_loadbalancing_exporter_factory;
static char tmp[512];

#define NSVC 60
#define PIPELINE                                                                                   \
    "receivers:\n  file:\n    include: [a]\n"                                                      \
    "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"                             \
    "      exporters: [loadbalancing]\n"

/* A batch of n resources "svc-<first..first+n)", one profile of one sample each. */
static pg_batch *make_batch(int first, int n)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    for (int i = first; i < first + n; i++) {
        pg_otlp_rprofiles *rp = NULL;
        pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
        char name[32];
        snprintf(name, sizeof name, "svc-%d", i);
        rp->resource = pg_otlp_resource_new(a);
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        kv->key = pg_arena_strndup(a, "service.name", 12);
        kv->value = pg_otlp_any_new(a);
        kv->value->value_case = PG_ANY_STRING;
        kv->value->string_value = pg_arena_strndup(a, name, strlen(name));
        pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
        pg_profile *p = pg_profile_add(b, sp, 1);
        pg_sample_set_value(b, p, 0, 0, i + 1);
    }
    return b;
}

/* For every file under dir/<backend>/: adds 1 to seen[svc][backend index in names]. */
static void collect(const char *dir, const char *const *names, int nb, int seen[][8])
{
    for (int k = 0; k < nb; k++) {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", dir, names[k]);
        DIR *d = opendir(sub);
        for (struct dirent *de; d && (de = readdir(d));) {
            if (de->d_name[0] == '.' || !strstr(de->d_name, ".otlp.pb")) continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", sub, de->d_name);
            pg_batch *b = hx_load_batch(path);
            CHECK(b != NULL);
            pg_profile_iter it;
            for (pg_profile_iter_init(&it, b); b && pg_profile_iter_next(&it);) {
                const pg_otlp_resource *r = it.resource->resource;
                int svc = -1;
                if (r && r->n_attributes)
                    sscanf(r->attributes[0]->value->string_value, "svc-%d", &svc);
                CHECK(svc >= 0 && svc < NSVC);
                if (svc >= 0 && svc < NSVC) seen[svc][k]++;
            }
            pg_batch_free(b);
        }
        if (d) closedir(d);
    }
}

static uint64_t counter(hx_host *h, const char *name, const char *labels)
{
    return pg_counter_get(pg_metrics_counter(pg_host_metrics(h->host), name, "", labels));
}

typedef struct ack_box {
    int fired, outcome;
} ack_box;

static void on_ack(void *ctx, pg_ack_outcome o)
{
    ack_box *bx = ctx;
    bx->outcome = (int)o;
    __atomic_store_n(&bx->fired, 1, __ATOMIC_SEQ_CST);
}

/* Loads the lb config `body` (the loadbalancing section's keys), creates and starts it. */
static void *start_lb(hx_host *h, const char *body, pg_config **cfg)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "exporters:\n  loadbalancing:\n%s" PIPELINE, body);
    const void *c = NULL;
    *cfg = hx_load(yaml, PG_CFG_EXPORTER, "loadbalancing", &c);
    CHECK(c != NULL);
    if (!c) return NULL;
    pg_component_settings s = {.id = "loadbalancing", .kind = PG_CFG_EXPORTER, .host = h->host};
    void *self = NULL;
    char err[512] = "";
    int rc = F->create(&s, c, (pg_consumer){NULL, NULL}, &self, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (!rc) rc = F->start(self, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return self;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_registry_lookup(PG_CFG_EXPORTER, "loadbalancing") == F);
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"    protocol: {file: {directory: d}}\n    resolver: {}\n", "exactly one of"},
        {"    protocol: {file: {directory: d}}\n"
         "    resolver: {static: {hostnames: [a:1]}, dns: {hostname: x}}\n",
         "exactly one of"},
        {"    protocol: {file: {directory: d}}\n    resolver: {static: {hostnames: [a]}}\n",
         "hostnames[0]"},
        {"    protocol: {file: {directory: d}}\n    resolver: {static: {hostnames: [a:1, a:1]}}\n",
         "listed twice"},
        {"    routing_key: attributes\n    protocol: {file: {directory: d}}\n"
         "    resolver: {dns: {hostname: x}}\n",
         "routing_attributes"},
        {"    protocol: {file: {}}\n    resolver: {dns: {hostname: x}}\n",
         "test.yaml:3:16: exporter loadbalancing: protocol.file.directory: missing required key"},
        {"    protocol: {fil: {}}\n    resolver: {dns: {hostname: x}}\n",
         "unknown exporter type \"fil\" (did you mean \"file\"?)"},
        {"    resolver: {dns: {hostname: x}}\n", "protocol: missing required key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml, "exporters:\n  loadbalancing:\n%s" PIPELINE, cases[i].body);
        char *e = hx_load_error(yaml);
        CHECK_MSG(e && strstr(e, cases[i].want), "case %zu: %s", i, e ? e : "(loaded)");
        free(e);
    }
}

static const char *const ABC[] = {"127.0.0.1_7001", "127.0.0.1_7002", "127.0.0.1_7003"};

/* Three static backends: each series in exactly one; the ack fires once all are written;
 * then backend 2 leaves: only its series move. */
static void test_static(hx_host *h)
{
    char body[1024];
    snprintf(body, sizeof body,
             "    protocol: {file: {directory: '%s/st/%%s'}}\n"
             "    resolver: {static: {hostnames: [127.0.0.1:7001, 127.0.0.1:7002, "
             "127.0.0.1:7003]}}\n",
             tmp);
    pg_config *cfg = NULL;
    lb_exporter *e = start_lb(h, body, &cfg);
    if (!e) return;
    CHECK(lb_backend_count(e) == 3);
    ack_box box = {0, -1};
    pg_batch *b = make_batch(0, NSVC);
    pg_ack *ack = pg_ack_new(on_ack, &box);
    pg_batch_set_ack(b, ack);
    char err[512] = "";
    CHECK_MSG(F->consume(e, b, err, sizeof err) == 0, "%s", err);
    pg_ack_release(ack);
    for (int i = 0; i < 500 && !__atomic_load_n(&box.fired, __ATOMIC_SEQ_CST); i++)
        hx_sleep_ms(10);
    CHECK(box.fired && box.outcome == PG_ACK_DELIVERED);

    char dir[600];
    snprintf(dir, sizeof dir, "%s/st", tmp);
    int seen[NSVC][8] = {{0}};
    collect(dir, ABC, 3, seen);
    int owner[NSVC], used[3] = {0};
    for (int s = 0; s < NSVC; s++) {
        int n = 0;
        owner[s] = -1;
        for (int k = 0; k < 3; k++)
            if (seen[s][k]) n++, owner[s] = k;
        CHECK_MSG(n == 1 && seen[s][owner[s]] == 1, "svc-%d is in %d backends", s, n);
        if (owner[s] >= 0) used[owner[s]]++;
    }
    CHECK_MSG(used[0] && used[1] && used[2], "spread %d %d %d", used[0], used[1], used[2]);
    uint64_t routed = 0;
    for (int k = 0; k < 3; k++) {
        char labels[256];
        snprintf(labels, sizeof labels, "exporter=\"loadbalancing\",backend=\"127.0.0.1:700%d\"",
                 k + 1);
        routed += counter(h, "profgate_loadbalancer_routed_profiles_total", labels);
    }
    CHECK(routed == NSVC);

    /* backend 2 leaves: the same series again land where they did, except its own */
    const char *two[] = {"127.0.0.1:7001", "127.0.0.1:7003"};
    CHECK(lb_backends_apply(e, two, 2) == 0);
    CHECK(lb_backend_count(e) == 2);
    CHECK(counter(h, "profgate_loadbalancer_resolver_changes_total",
                  "exporter=\"loadbalancing\"") >= 2);
    CHECK(F->consume(e, make_batch(0, NSVC), err, sizeof err) == 0);
    F->shutdown(e, pg_now_mono_ns() + 5000000000LL);
    int seen2[NSVC][8] = {{0}};
    collect(dir, ABC, 3, seen2);
    for (int s = 0; s < NSVC; s++) {
        int o = owner[s];
        if (o < 0) continue;
        if (o != 1) {
            CHECK_MSG(seen2[s][o] == 2 && seen2[s][0] + seen2[s][1] + seen2[s][2] == 2,
                      "svc-%d of backend %d moved", s, o);
        } else {
            CHECK_MSG(seen2[s][1] == 1 && seen2[s][0] + seen2[s][2] == 1,
                      "svc-%d of the removed backend: %d %d %d", s, seen2[s][0], seen2[s][1],
                      seen2[s][2]);
        }
    }
    F->destroy(e);
    pg_config_free(cfg);
}

/* `localhost` resolves to one backend per address; a name that does not resolve leaves
 * none and data is refused for now. */
static void test_dns(hx_host *h)
{
    char body[1024];
    snprintf(body, sizeof body,
             "    routing_key: attributes\n    routing_attributes: [service.name]\n"
             "    protocol: {file: {directory: '%s/dns/%%s'}}\n"
             "    resolver: {dns: {hostname: localhost, port: 7100, interval: 100ms}}\n",
             tmp);
    pg_config *cfg = NULL;
    lb_exporter *e = start_lb(h, body, &cfg);
    if (!e) return;
    CHECK(lb_backend_count(e) >= 1);
    char err[512] = "";
    CHECK(F->consume(e, make_batch(0, 10), err, sizeof err) == 0);
    const char *lb = "exporter=\"loadbalancing\"";
    uint64_t changes = counter(h, "profgate_loadbalancer_resolver_changes_total", lb);
    hx_sleep_ms(250); /* two more rounds: the same addresses, no change */
    CHECK(counter(h, "profgate_loadbalancer_resolver_changes_total", lb) == changes);
    F->shutdown(e, pg_now_mono_ns() + 5000000000LL);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/dns/127.0.0.1_7100", tmp);
    int n4 = hx_count_files(dir, ".otlp.pb");
    snprintf(dir, sizeof dir, "%s/dns/__1_7100", tmp);
    int n6 = hx_count_files(dir, ".otlp.pb");
    CHECK_MSG(n4 + n6 >= 1, "v4 %d v6 %d", n4, n6);
    F->destroy(e);
    pg_config_free(cfg);

    snprintf(body, sizeof body,
             "    protocol: {file: {directory: '%s/none/%%s'}}\n"
             "    resolver: {dns: {hostname: no-such-host.invalid, interval: 100ms}}\n",
             tmp);
    e = start_lb(h, body, &cfg);
    if (!e) return;
    CHECK(lb_backend_count(e) == 0);
    pg_batch *b = make_batch(0, 3);
    CHECK(F->consume(e, b, err, sizeof err) == PG_EAGAIN);
    CHECK(strstr(err, "no backend") != NULL);
    CHECK(counter(h, "profgate_loadbalancer_resolver_failures_total",
                  "exporter=\"loadbalancing\"") >= 1);
    F->shutdown(e, pg_now_mono_ns() + 1000000000LL);
    F->destroy(e);
    pg_config_free(cfg);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    snprintf(tmp, sizeof tmp, "/tmp/pg-lb-test-%d", (int)getpid());
    hx_rm_rf(tmp);
    hx_host h;
    hx_host_start(&h);
    pg_host_set_factories(h.host, pg_registry_lookup);
    test_config();
    test_static(&h);
    test_dns(&h);
    hx_host_stop(&h);
    hx_rm_rf(tmp);
    TEST_MAIN_END();
}

/* pprof_scrape config and file_sd parsing: the table, Alloy's defaults, the checks across
 * fields (timeout above interval, no targets, half credentials, bad custom entries), and
 * Prometheus file_sd files in JSON and YAML, with the errors of bad ones. */
#include "testlib.h"

#include "component_harness.h"
#include "receivers/pprof_scrape/pprof_scrape_int.h"

static const pg_component_factory *F = &pg_pprof_scrape_factory;

#define REST                                                                                       \
    "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: "                 \
    "[pprof_scrape]\n      exporters: [nop]\n"

static void test_defaults(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_registry_lookup(PG_CFG_RECEIVER, "pprof_scrape") == F);
    const void *v = NULL;
    pg_config *cfg =
        hx_load("receivers:\n  pprof_scrape:\n    targets:\n      - endpoint: 127.0.0.1:6060\n"
                "        labels: {service_name: a, env: b}\n"
                "    profiling_config:\n      custom:\n        - {name: fg, path: /debug/fgprof, "
                "seconds: true}\n" REST,
                PG_CFG_RECEIVER, "pprof_scrape", &v);
    CHECK(v != NULL);
    if (v) {
        const pg_pprof_scrape_config *c = v;
        CHECK(c->scrape_interval == 15000000000LL && c->scrape_timeout == 10000000000LL);
        CHECK(c->scheme == 0 && c->max_body_size == 64u << 20);
        CHECK(c->targets.n == 1);
        const pg_scrape_target_cfg *t = c->targets.items;
        CHECK_STR(t[0].endpoint, "127.0.0.1:6060");
        CHECK(t[0].labels.n == 2);
        const pg_scrape_profiling_cfg *p = &c->profiling_config;
        CHECK(p->process_cpu.enabled && p->process_cpu.seconds && !p->process_cpu.delta);
        CHECK_STR(p->process_cpu.path, "/debug/pprof/profile");
        CHECK(p->memory.enabled && p->memory.delta);
        CHECK_STR(p->memory.path, "/debug/pprof/allocs");
        CHECK(p->mutex.delta && p->block.delta && !p->goroutine.delta);
        CHECK(!p->godeltaprof_memory.enabled && !p->godeltaprof_memory.delta);
        CHECK_STR(p->godeltaprof_memory.path, "/debug/pprof/delta_heap");
        CHECK(p->custom.n == 1);
        const pg_scrape_profile_cfg *cu = p->custom.items;
        CHECK(cu[0].enabled && cu[0].seconds && !cu[0].delta);
        CHECK_STR(cu[0].name, "fg");
    }
    pg_config_free(cfg);
}

/* The first error of a receiver section (its body after `pprof_scrape:`), or NULL. */
static char *error_of(const char *body)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "receivers:\n  pprof_scrape:\n%s" REST, body);
    return hx_load_error(yaml);
}

static void test_rejected(void)
{
    const char *cases[][2] = {
        {"    scrape_interval: 5s\n    scrape_timeout: 6s\n    targets: [{endpoint: a:1}]\n",
         "scrape_timeout"},
        {"    max_targets: 5\n", "no targets"},
        {"    targets: [{endpoint: a:1}]\n    basic_auth: {username: u}\n", "basic_auth"},
        {"    targets: [{endpoint: a:1}]\n    tls: {cert_file: c}\n", "key_file"},
        {"    targets: [{labels: {a: b}}]\n", "endpoint"},
        {"    targets: [{endpoint: a:1}]\n    profiling_config:\n      custom: [{name: x, path: "
         "nope}]\n",
         "custom[0]"},
        {"    targets: [{endpoint: a:1}]\n    scheme: ftp\n", "scheme"},
        {"    targets: [{endpoint: a:1}]\n    profiling_config:\n      memory: {enabeld: true}\n",
         "enabled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = error_of(cases[i][0]);
        CHECK_MSG(e && strstr(e, cases[i][1]), "case %zu: %s", i, e ? e : "(loaded)");
        free(e);
    }
    char *e = error_of("    scrape_interval: 5s\n    scrape_timeout: 5s\n"
                       "    file_sd: {files: [/x/*.json]}\n");
    CHECK_MSG(e == NULL, "timeout == interval and file_sd only: %s", e);
    free(e);
}

/* Writes text to dir/name and parses it as a file_sd file. */
static int parse(const char *dir, const char *name, const char *text, pg_scrape_target_cfg **l,
                 size_t *n, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hx_write(path, text, strlen(text), "w");
    *l = NULL;
    *n = 0;
    return pg_scrape_sd_parse(path, l, n, err, errlen);
}

static void test_file_sd(void)
{
    char dir[] = "/tmp/pg-sd-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char err[512] = "";
    pg_scrape_target_cfg *l;
    size_t n;
    CHECK_MSG(
        parse(dir, "a.json",
              "[{\"targets\": [\"h1:1\", \"h2:2\"], \"labels\": {\"job\": \"x\", \"env\": \"p\"}},"
              " {\"targets\": [\"h3:3\"]}]",
              &l, &n, err, sizeof err) == 0,
        "%s", err);
    CHECK(n == 3);
    if (n == 3) {
        CHECK_STR(l[0].endpoint, "h1:1");
        CHECK_STR(l[1].endpoint, "h2:2");
        CHECK(l[1].labels.n == 2);
        CHECK_STR(l[1].labels.keys[1], "env");
        CHECK_STR(l[1].labels.values[1], "p");
        CHECK_STR(l[2].endpoint, "h3:3");
        CHECK(l[2].labels.n == 0);
    }
    pg_scrape_sd_free_list(l, n);
    CHECK_MSG(parse(dir, "b.yaml", "- targets: [h4:4]\n  labels:\n    service_name: s\n", &l, &n,
                    err, sizeof err) == 0,
              "%s", err);
    CHECK(n == 1 && l[0].labels.n == 1);
    pg_scrape_sd_free_list(l, n);
    CHECK(parse(dir, "empty.yaml", "", &l, &n, err, sizeof err) == 0 && n == 0);
    pg_scrape_sd_free_list(l, n);
    const char *bad[][2] = {
        {"{\"targets\": [\"h:1\"]}", "list of target groups"},
        {"[{\"labels\": {}}]", "targets list"},
        {"[{\"targets\": [\"h:1\"], \"lables\": {}}]", "lables"},
        {"[{\"targets\": [\"h:1\"]", "c.json:"},
        {"[{\"targets\": [[1]]}]", "host:port"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK_MSG(parse(dir, "c.json", bad[i][0], &l, &n, err, sizeof err) == PG_EINVAL &&
                      strstr(err, bad[i][1]),
                  "bad %zu: %s", i, err);
        pg_scrape_sd_free_list(l, n);
    }
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    l = NULL;
    n = 0;
    CHECK(pg_scrape_sd_parse(missing, &l, &n, err, sizeof err) == PG_EIO);
    hx_rm_rf(dir);
}

int main(void)
{
    pg_log_set_output(tmpfile());
    test_defaults();
    test_rejected();
    test_file_sd();
    TEST_MAIN_END();
}

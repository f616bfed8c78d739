/* health_check: config table, validation, and the endpoint states over real HTTP: 503
 * before ready, 200 after, 503 while the memory limiter refuses, liveness always 200. */
#include "extensions/health_check/health_check.h"
#include "extensions/http_client.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "testlib.h"

static void test_config(void)
{
    const pg_component_factory *f = &pg_health_check_factory;
    char err[256] = "";
    CHECK_STR(f->type, "health_check");
    CHECK(f->kind == PG_CFG_EXTENSION);
    CHECK_MSG(pg_cfg_table_check(f->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(f->config.size == sizeof(pg_health_check_config));
    int seen = 0;
    for (const pg_cfg_field *fl = f->config.table; fl->key; fl++) {
        if (strcmp(fl->key, "endpoint") == 0)
            seen += fl->type == PG_CFG_ENDPOINT && strcmp(fl->def, "127.0.0.1:13133") == 0;
        if (strcmp(fl->key, "path") == 0)
            seen += fl->type == PG_CFG_STRING && strcmp(fl->def, "/") == 0;
    }
    CHECK(seen == 2);
    pg_health_check_config c = {.path = "/health/status"};
    CHECK(f->config.validate(&c, err, sizeof err) == 0);
    c.path = "health";
    CHECK(f->config.validate(&c, err, sizeof err) == PG_EINVAL);
    CHECK(strstr(err, "must start with '/'") != NULL);
    c.path = "/a?b";
    CHECK(f->config.validate(&c, err, sizeof err) == PG_EINVAL);
}

/* Status and body of GET path. */
static int get(uint16_t port, const char *path, const char *want_in_body)
{
    http_resp r = http_get(port, path);
    int st = r.status;
    if (want_in_body && (!r.body || !strstr(r.body, want_in_body))) {
        fprintf(stderr, "GET %s: %d body %s lacks %s\n", path, st, r.body ? r.body : "(none)",
                want_in_body);
        st = -st;
    }
    if (r.status) {
        char *ct = http_header(&r, "Content-Type");
        if (!ct || strcmp(ct, "application/json") != 0) st = -1;
        free(ct);
    }
    http_resp_free(&r);
    return st;
}

static void test_states(void)
{
    pg_host *h = pg_host_new();
    pg_health_check_config cfg = {
        .endpoint = {.text = "127.0.0.1:0", .host = "127.0.0.1", .port = 0},
        .path = "/health/status",
    };
    pg_component_settings s = {.id = "health_check", .kind = PG_CFG_EXTENSION, .host = h};
    void *self = NULL;
    char err[256] = "";
    const pg_component_factory *f = &pg_health_check_factory;
    CHECK(f->create(&s, &cfg, (pg_consumer){0}, &self, err, sizeof err) == 0);
    CHECK(pg_health_check_port(self) == 0); /* not started */
    CHECK_MSG(f->start(self, err, sizeof err) == 0, "%s", err);
    uint16_t port = pg_health_check_port(self);
    CHECK(port != 0);
    loop_thread lt;
    loop_thread_start(&lt, h);

    /* not ready yet: components starting */
    CHECK(get(port, "/", "\"status\":\"Server not available\"") == 503);
    CHECK(get(port, "/ready", "not ready") == 503);
    CHECK(get(port, "/health/status", "\"upSince\":\"") == 503);
    CHECK(get(port, "/live", "\"status\":\"alive\"") == 200);
    CHECK(get(port, "/healthz", "alive") == 200);

    pg_host_set_ready(h, true);
    CHECK(get(port, "/", "{\"status\":\"Server available\",\"upSince\":\"") == 200);
    CHECK(get(port, "/ready", "\"uptime\":\"") == 200);
    CHECK(get(port, "/health/status", "Server available") == 200);
    CHECK(get(port, "/nope", "not found") == 404);
    http_resp r = http_request(port, "POST", "/");
    CHECK(r.status == 405);
    http_resp_free(&r);
    r = http_request(port, "HEAD", "/ready");
    CHECK_MSG(r.status == 200 && r.body_len == 0, "%d %zu", r.status, r.body_len);
    http_resp_free(&r);

    /* the memory limiter refuses: not ready, and says why */
    pg_host_set_memory_refusing(h, true);
    CHECK(get(port, "/", "\"reason\":\"memory limit exceeded: refusing data\"") == 503);
    CHECK(get(port, "/ready", "memory") == 503);
    CHECK(get(port, "/live", "alive") == 200);
    pg_host_set_memory_refusing(h, false);
    CHECK(get(port, "/", "Server available") == 200);

    /* a fatal error: not ready, with the message (JSON-escaped). pg_host_fatal breaks the
     * loop (the runtime then shuts down): run it again to ask. */
    pg_host_fatal(h, "exporter/x", "disk \"full\"");
    pthread_join(lt.tid, NULL);
    loop_thread_start(&lt, h);
    CHECK(get(port, "/", "\"reason\":\"failed: disk \\\"full\\\"\"") == 503);

    /* a second instance on the same port cannot start */
    pg_health_check_config cfg2 = cfg;
    char ptext[32];
    snprintf(ptext, sizeof ptext, "127.0.0.1:%u", (unsigned)port);
    cfg2.endpoint.text = ptext;
    cfg2.endpoint.port = port;
    void *self2 = NULL;
    CHECK(f->create(&s, &cfg2, (pg_consumer){0}, &self2, err, sizeof err) == 0);
    CHECK(f->start(self2, err, sizeof err) == PG_EIO);
    CHECK_MSG(strstr(err, "in use") != NULL, "%s", err);
    f->destroy(self2);

    f->shutdown(self, pg_now_mono_ns() + 1000000000);
    CHECK(pg_health_check_port(self) == 0);
    r = http_get(port, "/live");
    CHECK(r.status == 0); /* closed */
    http_resp_free(&r);
    loop_thread_stop(&lt);
    f->destroy(self);
    pg_host_free(h);
}

/* destroy without shutdown closes the listener too */
static void test_destroy_running(void)
{
    pg_host *h = pg_host_new();
    pg_health_check_config cfg = {.endpoint = {.text = ":0", .host = "", .port = 0}, .path = "/"};
    pg_component_settings s = {.id = "health_check/b", .kind = PG_CFG_EXTENSION, .host = h};
    void *self = NULL;
    char err[256];
    CHECK(pg_health_check_factory.create(&s, &cfg, (pg_consumer){0}, &self, err, sizeof err) == 0);
    CHECK(pg_health_check_factory.start(self, err, sizeof err) == 0);
    loop_thread lt;
    loop_thread_start(&lt, h);
    CHECK(get(pg_health_check_port(self), "/live", "alive") == 200);
    pg_health_check_factory.destroy(self);
    loop_thread_stop(&lt);
    pg_host_free(h);
}

int main(void)
{
    test_config();
    test_states();
    test_destroy_running();
    TEST_MAIN_END();
}

/* The /metrics endpoint fetched over real HTTP on a free port: status, content type,
 * parseable body with live counter values; 404 elsewhere, 405 for POST; stop closes it,
 * from another thread while the loop runs and on the loop's own thread. */
#include "extensions/http_client.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/telemetry.h"
#include "testlib.h"

#include <event2/event.h>

static int has_line_starting(const char *body, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = body; p; p = strchr(p, '\n')) {
        if (*p == '\n') p++;
        if (strncmp(p, prefix, n) == 0) return 1;
    }
    return 0;
}

static void test_scrape(void)
{
    pg_host *h = pg_host_new();
    char err[256] = "";
    pg_counter *c = pg_metrics_counter(pg_host_metrics(h), "profgate_test_things_total", "Things.",
                                       "receiver=\"file/in\"");
    pg_counter_add(c, 41);
    pg_telemetry_server *s = NULL;
    CHECK_MSG(pg_telemetry_server_start(h, "127.0.0.1", 0, &s, err, sizeof err) == 0, "%s", err);
    uint16_t port = pg_telemetry_server_port(s);
    CHECK(port != 0);
    loop_thread lt;
    loop_thread_start(&lt, h);

    pg_counter_add(c, 1);
    http_resp r = http_get(port, "/metrics");
    CHECK(r.status == 200);
    char *ct = http_header(&r, "Content-Type");
    CHECK(ct && strcmp(ct, "text/plain; version=0.0.4; charset=utf-8") == 0);
    free(ct);
    CHECK(r.body && has_line_starting(r.body, "# HELP profgate_test_things_total Things."));
    CHECK(r.body && has_line_starting(r.body, "# TYPE profgate_test_things_total counter"));
    CHECK(r.body &&
          has_line_starting(r.body, "profgate_test_things_total{receiver=\"file/in\"} 42"));
    CHECK(r.body && has_line_starting(r.body, "# TYPE process_resident_memory_bytes gauge"));
    CHECK(r.body && has_line_starting(r.body, "process_cpu_seconds_total "));
    http_resp_free(&r);

    r = http_get(port, "/metrics?x=1"); /* query ignored */
    CHECK(r.status == 200);
    http_resp_free(&r);
    r = http_request(port, "HEAD", "/metrics");
    CHECK(r.status == 200);
    http_resp_free(&r);
    r = http_get(port, "/");
    CHECK(r.status == 404);
    http_resp_free(&r);
    r = http_request(port, "POST", "/metrics");
    CHECK_MSG(r.status == 405, "%d", r.status);
    char *allow = http_header(&r, "Allow");
    CHECK(allow && strcmp(allow, "GET, HEAD") == 0);
    free(allow);
    http_resp_free(&r);

    /* a second server on the same port fails with a clear message */
    pg_telemetry_server *s2 = NULL;
    CHECK(pg_telemetry_server_start(h, "127.0.0.1", port, &s2, err, sizeof err) == PG_EIO);
    CHECK(s2 == NULL);
    CHECK_MSG(strstr(err, "listen on 127.0.0.1:") && strstr(err, "in use"), "%s", err);

    int64_t t0 = pg_now_mono_ns();
    pg_telemetry_server_stop(s); /* from this thread while the loop runs elsewhere */
    CHECK(pg_now_mono_ns() - t0 < 100000000);
    r = http_get(port, "/metrics");
    CHECK(r.status == 0); /* connection refused */
    http_resp_free(&r);
    loop_thread_stop(&lt);
    pg_host_free(h);
}

/* The runtime's shape: loop and start/stop on one thread, the loop stopped at stop time. */
static void break_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pg_host_stop_loop(arg);
}

static void test_same_thread(void)
{
    pg_host *h = pg_host_new();
    char err[256];
    pg_telemetry_server *s = NULL;
    CHECK(pg_telemetry_server_start(h, "", 0, &s, err, sizeof err) == 0);
    CHECK(pg_telemetry_server_port(s) != 0);
    struct timeval tv = {0, 20000};
    event_base_once(pg_host_event_base(h), -1, EV_TIMEOUT, break_cb, h, &tv);
    pg_host_run_loop(h);
    int64_t t0 = pg_now_mono_ns();
    pg_telemetry_server_stop(s);
    CHECK(pg_now_mono_ns() - t0 < 100000000);
    /* never ran the loop: stop still works (after a short wait) */
    CHECK(pg_telemetry_server_start(h, "127.0.0.1", 0, &s, err, sizeof err) == 0);
    pg_telemetry_server_stop(s);
    pg_telemetry_server_stop(NULL);
    pg_host_free(h);
}

int main(void)
{
    test_scrape();
    test_same_thread();
    TEST_MAIN_END();
}

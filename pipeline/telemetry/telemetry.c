/* GET /metrics: the registry rendered on each scrape (see telemetry.h). */
#include "pipeline/telemetry/telemetry.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/net/admin_http.h"

#include <stdlib.h>
#include <string.h>

struct pg_telemetry_server {
    pg_host *host;
    pg_admin_http *http;
};

static const char NOT_FOUND[] = "404 page not found: the metrics are at /metrics\n";

/* Answers one request on the loop thread; the body is built in a buffer freed here. */
static void handle(struct evhttp_request *req, const char *path, void *ctx)
{
    pg_telemetry_server *s = ctx;
    if (strcmp(path, "/metrics") != 0) {
        pg_admin_http_reply(req, 404, "text/plain; charset=utf-8", NOT_FOUND, sizeof NOT_FOUND - 1);
        return;
    }
    pg_buf out = {0};
    if (pg_metrics_write(pg_host_metrics(s->host), &out) != 0) {
        static const char oom[] = "out of memory\n";
        pg_buf_free(&out);
        pg_admin_http_reply(req, 500, "text/plain; charset=utf-8", oom, sizeof oom - 1);
        return;
    }
    pg_admin_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    pg_buf_free(&out);
}

int pg_telemetry_server_start(pg_host *h, const char *host, uint16_t port,
                              pg_telemetry_server **out, char *err, size_t errlen)
{
    *out = NULL;
    pg_telemetry_server *s = calloc(1, sizeof *s);
    if (!s) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    s->host = h;
    if (pg_metrics_add_process(pg_host_metrics(h)) != 0)
        pg_log(PG_LOG_WARN, "telemetry", "process metrics unavailable");
    int rc =
        pg_admin_http_start(pg_host_event_base(h), host, port, handle, s, &s->http, err, errlen);
    if (rc != 0) {
        free(s);
        return rc;
    }
    pg_log(PG_LOG_INFO, "telemetry", "serving metrics on http://%s%s%s:%u/metrics",
           strchr(host ? host : "", ':') ? "[" : "", host && *host ? host : "0.0.0.0",
           strchr(host ? host : "", ':') ? "]" : "", (unsigned)pg_admin_http_port(s->http));
    *out = s;
    return 0;
}

uint16_t pg_telemetry_server_port(const pg_telemetry_server *s)
{
    return s ? pg_admin_http_port(s->http) : 0;
}

void pg_telemetry_server_stop(pg_telemetry_server *s)
{
    if (!s) return;
    pg_admin_http_stop(s->http);
    free(s);
}

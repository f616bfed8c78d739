/* health_check extension (see health_check.h). */
#include "extensions/health_check/health_check.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/net/admin_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const pg_cfg_field HC_FIELDS[] = {
    {.key = "endpoint",
     .type = PG_CFG_ENDPOINT,
     .offset = offsetof(pg_health_check_config, endpoint),
     .def = "127.0.0.1:13133",
     .doc = "where the health endpoints listen"},
    {.key = "path",
     .type = PG_CFG_STRING,
     .offset = offsetof(pg_health_check_config, path),
     .def = "/",
     .doc = "extra readiness path (besides / and /ready)"},
    {0},
};

typedef struct hc {
    char *id;
    pg_host *host;
    char *bind_host, *path;
    uint16_t bind_port;
    pg_admin_http *http;
    uint64_t up_since_ns;  /* unix ns at start */
    int64_t up_since_mono; /* monotonic ns at start */
} hc;

/* Checks the path: absolute, no query, no whitespace. */
static int hc_validate(const void *cfg, char *err, size_t errlen)
{
    const pg_health_check_config *c = cfg;
    const char *p = c->path ? c->path : "/";
    if (p[0] != '/') return pg_err(err, errlen, PG_EINVAL, "path \"%s\" must start with '/'", p);
    for (const char *q = p; *q; q++)
        if (*q == '?' || *q == '#' || (unsigned char)*q <= ' ' || *q == 0x7f)
            return pg_err(err, errlen, PG_EINVAL,
                          "path \"%s\" must not contain '?', '#', spaces or control characters", p);
    return 0;
}

static char *dup_or(const char *s, const char *fallback)
{
    return strdup(s ? s : fallback);
}

static void hc_free(hc *h)
{
    if (!h) return;
    pg_admin_http_stop(h->http);
    free(h->id);
    free(h->bind_host);
    free(h->path);
    free(h);
}

/* Copies what it needs of cfg and s (borrowed); *self is owned by the runtime. */
static int hc_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const pg_health_check_config *c = cfg;
    (void)next;
    hc *h = calloc(1, sizeof *h);
    if (!h) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    h->host = s->host;
    h->id = dup_or(s->id, "health_check");
    h->bind_host = dup_or(c->endpoint.host, "127.0.0.1");
    h->path = dup_or(c->path, "/");
    h->bind_port = c->endpoint.host ? c->endpoint.port : 13133;
    if (!h->id || !h->bind_host || !h->path) {
        hc_free(h);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    *self = h;
    return 0;
}

/* Appends s to out as JSON string content (control characters escaped). */
static void json_str(char *out, size_t outlen, const char *s)
{
    size_t k = strlen(out);
    for (; *s && k + 7 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[k++] = '\\';
            out[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(out + k, outlen - k, "\\u%04x", ch);
        } else {
            out[k++] = (char)ch;
        }
    }
    out[k] = 0;
}

/* Writes `,"upSince":"...","uptime":"12.345s"` to out. */
static void up_fields(const hc *h, char *out, size_t outlen)
{
    time_t secs = (time_t)(h->up_since_ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    double up = (double)(pg_now_mono_ns() - h->up_since_mono) / 1e9;
    snprintf(out, outlen,
             ",\"upSince\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"uptime\":\"%.3fs\"",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(h->up_since_ns / 1000000u % 1000u), up);
}

static void reply_json(struct evhttp_request *req, int code, const char *body)
{
    pg_admin_http_reply(req, code, "application/json", body, strlen(body));
}

/* Readiness: why the collector cannot take data now, or NULL when it can. */
static const char *not_ready_reason(const hc *h, char *buf, size_t buflen)
{
    const char *fatal = NULL;
    if (pg_host_failed(h->host, &fatal)) {
        snprintf(buf, buflen, "failed: %s", fatal ? fatal : "");
        return buf;
    }
    if (!pg_host_ready(h->host)) return "not ready: components are starting or stopping";
    if (pg_host_memory_refusing(h->host)) return "memory limit exceeded: refusing data";
    return NULL;
}

/* Serves one request on the loop thread. */
static void hc_handle(struct evhttp_request *req, const char *path, void *ctx)
{
    hc *h = ctx;
    char body[1024], up[128], why[512];
    up_fields(h, up, sizeof up);
    if (strcmp(path, "/live") == 0 || strcmp(path, "/healthz") == 0) {
        snprintf(body, sizeof body, "{\"status\":\"alive\"%s}\n", up);
        reply_json(req, 200, body);
        return;
    }
    if (strcmp(path, "/") != 0 && strcmp(path, "/ready") != 0 && strcmp(path, h->path) != 0) {
        reply_json(req, 404, "{\"status\":\"not found\"}\n");
        return;
    }
    const char *reason = not_ready_reason(h, why, sizeof why);
    if (!reason) {
        snprintf(body, sizeof body, "{\"status\":\"Server available\"%s}\n", up);
        reply_json(req, 200, body);
        return;
    }
    snprintf(body, sizeof body, "{\"status\":\"Server not available\",\"reason\":\"");
    json_str(body, sizeof body - 200, reason);
    size_t k = strlen(body);
    snprintf(body + k, sizeof body - k, "\"%s}\n", up);
    reply_json(req, 503, body);
}

/* Listens on the host's event loop. */
static int hc_start(void *self, char *err, size_t errlen)
{
    hc *h = self;
    if (h->http) return 0;
    h->up_since_ns = pg_now_unix_ns();
    h->up_since_mono = pg_now_mono_ns();
    int rc = pg_admin_http_start(pg_host_event_base(h->host), h->bind_host, h->bind_port, hc_handle,
                                 h, &h->http, err, errlen);
    if (rc != 0) return rc;
    pg_log(PG_LOG_INFO, h->id, "health endpoints on %s:%u (/, /ready, %s, /live)",
           *h->bind_host ? h->bind_host : "*", (unsigned)pg_admin_http_port(h->http), h->path);
    return 0;
}

/* Closes the listener (returns at once; nothing to drain). */
static void hc_shutdown(void *self, int64_t deadline_ns)
{
    hc *h = self;
    (void)deadline_ns;
    pg_admin_http_stop(h->http);
    h->http = NULL;
}

static void hc_destroy(void *self)
{
    hc_free(self);
}

uint16_t pg_health_check_port(void *self)
{
    hc *h = self;
    return h ? pg_admin_http_port(h->http) : 0;
}

const pg_component_factory pg_health_check_factory = {
    .type = "health_check",
    .kind = PG_CFG_EXTENSION,
    .config = {.table = HC_FIELDS, .size = sizeof(pg_health_check_config), .validate = hc_validate},
    .create = hc_create,
    .start = hc_start,
    .shutdown = hc_shutdown,
    .destroy = hc_destroy,
};

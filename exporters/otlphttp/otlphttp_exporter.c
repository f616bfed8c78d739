/* The `otlphttp` exporter: each batch is POSTed as an ExportProfilesServiceRequest
 * (application/x-protobuf or application/json, gzip/zstd Content-Encoding) to
 * profiles_endpoint, or endpoint + /v1development/profiles; the answer goes through the
 * OTLP retry rules (pipeline/exporterhelper/otlp_client.h). Built on the exporter helper
 * (queue, retry, persistent queue, batching by metadata). */
#include "exporters/otlphttp/otlphttp_exporter.h"

#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/exporterhelper/otlp_client.h"
#include "pipeline/net/http_client.h"
#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILES_PATH "/v1development/profiles"

enum { ENC_PROTO, ENC_JSON };

typedef struct otlphttp_config {
    char *endpoint;
    char *profiles_endpoint;
    int encoding;
    int http_version;
    int64_t connect_timeout;
    uint64_t max_response_size;
    int64_t max_connections;
    pg_otlp_client_config otlp;
    pg_exporter_helper_config helper;
} C;

static const char *const ENCODINGS[] = {"proto", "json", NULL};
static const char *const VERSIONS[] = {"auto", "http1", "http2", NULL};

static const pg_cfg_field TABLE[] = {
    {.key = "endpoint",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, endpoint),
     .def = "http://localhost:4318",
     .doc = "base URL; profiles go to <endpoint>" PROFILES_PATH},
    {.key = "profiles_endpoint",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, profiles_endpoint),
     .doc = "full URL for profiles (overrides endpoint)"},
    {.key = "encoding",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, encoding),
     .def = "proto",
     .enum_values = ENCODINGS,
     .doc = "request body: proto (application/x-protobuf) or json (application/json)"},
    {.key = "http_version",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, http_version),
     .def = "auto",
     .enum_values = VERSIONS,
     .doc = "auto: h2 over TLS by ALPN, HTTP/1.1 in clear text; http1; http2 (h2c with prior "
            "knowledge in clear text)"},
    {.key = "connect_timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(C, connect_timeout),
     .def = "10s",
     .min = "1ms",
     .doc = "time to connect (TCP and TLS)"},
    {.key = "max_response_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_response_size),
     .def = "1MiB",
     .min = "1KiB",
     .max = "64MiB",
     .doc = "bytes of a response body read (the rest is not read)"},
    {.key = "max_connections",
     .type = PG_CFG_INT,
     .offset = offsetof(C, max_connections),
     .def = "0",
     .min = "0",
     .max = "1024",
     .doc = "requests in flight at once, each on its own reused connection (0: "
            "sending_queue.num_consumers)"},
    PG_OTLP_CLIENT_FIELDS(C, otlp),
    PG_EXPORTER_HELPER_FIELDS(C, helper),
    {0},
};

/* The URL profiles are POSTed to (malloc'd), or NULL on OOM. */
static char *profiles_url(const C *c)
{
    if (c->profiles_endpoint) return strdup(c->profiles_endpoint);
    const char *base = c->endpoint;
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    size_t len = n + sizeof PROFILES_PATH;
    char *u = malloc(len);
    if (u) snprintf(u, len, "%.*s%s", (int)n, base, PROFILES_PATH);
    return u;
}

/* True when s starts with http:// or https://. */
static bool http_url(const char *s)
{
    return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

/* Borrows cfg: URLs, tls, and the helper's cross-field checks. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (!c->profiles_endpoint && !http_url(c->endpoint))
        return pg_err(err, errlen, PG_EINVAL, "endpoint: \"%s\" is not an http:// or https:// URL",
                      c->endpoint ? c->endpoint : "");
    if (c->profiles_endpoint && !http_url(c->profiles_endpoint))
        return pg_err(err, errlen, PG_EINVAL,
                      "profiles_endpoint: \"%s\" is not an http:// or https:// URL",
                      c->profiles_endpoint);
    int rc = pg_otlp_client_config_validate(&c->otlp, err, errlen);
    return rc ? rc : pg_exporter_helper_config_validate(&c->helper, err, errlen);
}

typedef struct otlphttp_exporter {
    pg_exporter_base base; /* first: settings, helper */
    bool json;
    char *url;
    pg_http_client *http;
    pg_otlp_client *otlp;
} otlphttp_exporter;

/* Appends "Key: value" for each header of r (skipping values with line breaks) to lines, as
 * NUL-terminated strings in store; returns how many. */
static size_t header_lines(const pg_otlp_request *r, pg_buf *store, const char **lines, size_t cap,
                           size_t *offs)
{
    size_t n = 0, nh = r->n_headers;
    const pg_otlp_header *hs = r->headers;
    for (size_t i = 0; i < nh && n < cap; i++) {
        if (strpbrk(hs[i].value, "\r\n")) continue;
        char line[1024];
        int len = snprintf(line, sizeof line, "%s: %s", hs[i].key, hs[i].value);
        if (len < 0 || (size_t)len >= sizeof line) continue;
        offs[n++] = store->len;
        if (pg_buf_append(store, line, (size_t)len + 1)) return 0;
    }
    for (size_t i = 0; i < n; i++)
        lines[i] = (const char *)store->data + offs[i];
    return n;
}

/* The message of a google.rpc.Status protobuf body (field 2), or NULL. */
static const char *status_message(const pg_buf *body, size_t *len)
{
    const uint8_t *p = body->data, *end = p + body->len;
    while (p < end) {
        uint64_t key = 0, v = 0;
        int shift = 0;
        while (p < end && shift < 64) {
            key |= (uint64_t)(*p & 0x7f) << shift;
            shift += 7;
            if (!(*p++ & 0x80)) break;
        }
        int wt = (int)(key & 7);
        if (wt == 0) {
            while (p < end && (*p++ & 0x80))
                ;
            continue;
        }
        if (wt != 2) return NULL;
        shift = 0;
        while (p < end && shift < 64) {
            v |= (uint64_t)(*p & 0x7f) << shift;
            shift += 7;
            if (!(*p++ & 0x80)) break;
        }
        if (v > (uint64_t)(end - p)) return NULL;
        if ((key >> 3) == 2) {
            *len = (size_t)v;
            return (const char *)p;
        }
        p += v;
    }
    return NULL;
}

/* pg_prepare_ops.prepare: the body of b (borrowed), encoded and compressed as configured,
 * and its headers; *bytes is the body's size as sent. */
static int prepare(void *ctx, const pg_batch *b, void **req, uint64_t *bytes, char *err,
                   size_t errlen)
{
    otlphttp_exporter *e = ctx;
    return pg_otlp_request_prepare(e->otlp, b, e->json, true, req, bytes, err, errlen);
}

/* pg_prepare_ops.send: POSTs the request (borrowed), applies the retry rules. */
static int send_request(void *ctx, void *req, int64_t deadline_ns, char *err, size_t errlen)
{
    otlphttp_exporter *e = ctx;
    const pg_otlp_request *r = req;
    const pg_buf *body = &r->body;
    pg_buf store = {0};
    size_t cap = r->n_headers + 2;
    const char *lines[cap];
    size_t offs[cap];
    size_t n = header_lines(r, &store, lines, cap - 2, offs);
    lines[n++] =
        e->json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf";
    const char *enc = pg_otlp_client_content_encoding(e->otlp);
    char enc_line[64];
    if (enc) {
        snprintf(enc_line, sizeof enc_line, "Content-Encoding: %s", enc);
        lines[n++] = enc_line;
    }
    pg_http_client_req rq = {.method = "POST",
                             .url = e->url,
                             .headers = lines,
                             .n_headers = n,
                             .body = body->data,
                             .body_len = body->len,
                             .deadline_ns = deadline_ns == INT64_MAX ? 0 : deadline_ns};
    pg_http_client_resp rs;
    char terr[512] = "";
    int trc = pg_http_client_do(e->http, &rq, &rs, terr, sizeof terr);
    pg_buf_free(&store);
    pg_otlp_answer a = {.grpc = false, .retry_after_ns = -1};
    if (trc) {
        a.transport_status = trc;
        a.message = terr;
        a.message_len = strlen(terr);
    } else {
        a.answered = true;
        a.code = (int)rs.status;
        if (rs.retry_after != PG_HTTP_CLIENT_NO_RETRY_AFTER)
            a.retry_after_ns = rs.retry_after * 1000000000LL;
        bool proto = strstr(rs.content_type, "protobuf") != NULL;
        a.response = rs.body.data;
        a.response_len = rs.body.len;
        a.response_json = !proto;
        a.message = (const char *)rs.body.data;
        a.message_len = rs.body.len;
        if (proto && (rs.status < 200 || rs.status >= 300))
            a.message = status_message(&rs.body, &a.message_len);
    }
    int rc = pg_otlp_client_outcome(e->otlp, &a, r->profiles, err, errlen);
    if (!trc) pg_http_client_resp_free(&rs);
    return rc;
}

/* pg_send_fn (no queue, persistent queue, batching): prepares b (borrowed) and sends it. */
static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen)
{
    otlphttp_exporter *e = ctx;
    return pg_otlp_request_send_batch(e->otlp, b, e->json, true, send_request, e, deadline_ns, err,
                                      errlen);
}

static const pg_prepare_ops PREPARE = {prepare, send_request, pg_otlp_request_free_req};

static void destroy(void *self)
{
    otlphttp_exporter *e = self;
    if (!e) return;
    pg_exporter_base_fini(&e->base); /* stops the senders before their client goes */
    pg_http_client_free(e->http);
    pg_otlp_client_free(e->otlp);
    free(e->url);
    free(e);
}

/* Builds the exporter, its HTTP client and its helper; copies what it keeps of s and cfg. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    const C *c = vcfg;
    *self = NULL;
    otlphttp_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    e->json = c->encoding == ENC_JSON;
    e->url = profiles_url(c);
    pg_http_client_config hc;
    pg_http_client_config_default(&hc);
    hc.version = c->http_version;
    hc.tls = &c->otlp.tls;
    hc.timeout = c->helper.timeout; /* a send without deadline (timeout 0) waits as long */
    hc.connect_timeout = c->connect_timeout;
    hc.max_response_body = (size_t)c->max_response_size;
    hc.pool_size = c->max_connections > 0 ? (size_t)c->max_connections
                   : c->helper.sending_queue.num_consumers > 0
                       ? (size_t)c->helper.sending_queue.num_consumers
                       : 1;
    hc.user_agent = "profgate otlphttp";
    int rc = e->url ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc == 0) rc = pg_http_client_new(&hc, &e->http, err, errlen);
    if (rc == 0) rc = pg_otlp_client_new(s, &c->otlp, &e->otlp, err, errlen);
    if (rc == 0) rc = pg_exporter_base_init(&e->base, s, &c->helper, send_batch, e, err, errlen);
    if (rc == 0) pg_exporter_helper_set_prepare(e->base.helper, &PREPARE);
    if (rc) {
        destroy(e);
        return rc;
    }
    *self = e;
    return 0;
}

/* Logs where the profiles go, then starts the helper. */
static int start(void *self, char *err, size_t errlen)
{
    otlphttp_exporter *e = self;
    pg_log(PG_LOG_INFO, e->base.settings.id, "sending OTLP/HTTP (%s) to %s",
           e->json ? "json" : "proto", e->url);
    return pg_exporter_base_start(self, err, errlen);
}

const pg_component_factory pg_otlphttp_exporter_factory = {
    .type = "otlphttp",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = pg_exporter_base_shutdown,
    .destroy = destroy,
    .consume = pg_exporter_base_consume,
};

/* The `otlp` receiver's HTTP side (OTLP/HTTP) on the shared listener stack (pipeline/net/):
 * POST <profiles_url_path> (and POST <traces_url_path> when a traces pipeline names the
 * receiver) with application/x-protobuf or application/json bodies, answered in the
 * request's encoding: ExportProfilesServiceResponse (ExportTraceServiceResponse) on success,
 * google.rpc.Status with the message on failure (400, 413, 503 + Retry-After, ...). Routing
 * (404/405), auth (401), body limits (413), Content-Encoding, CORS and timeouts are the stack's;
 * everything else is the transport-independent request logic (otlp_request.c). */
#include "receivers/otlp/otlp_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CT_PROTOBUF "application/x-protobuf"
#define CT_JSON "application/json"
#define CT_OTHER (-1) /* media_type: neither */

/* The media type of a Content-Type value (borrowed; NULL = none) as PG_OTLP_CT_*, or
 * CT_OTHER. */
static int media_type(const char *v)
{
    if (!v) return CT_OTHER;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strcspn(v, "; \t");
    if (n == strlen(CT_PROTOBUF) && !strncasecmp(v, CT_PROTOBUF, n)) return PG_OTLP_CT_PROTOBUF;
    if (n == strlen(CT_JSON) && !strncasecmp(v, CT_JSON, n)) return PG_OTLP_CT_JSON;
    return CT_OTHER;
}

/* Appends a protobuf varint. */
static void put_varint(pg_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pg_buf_append(b, tmp, n);
}

/* Writes google.rpc.Status{code, message} into out as protobuf or OTLP/JSON. Returns 0 or
 * PG_ENOMEM. Borrows msg. */
static int encode_status(pg_otlp_content ct, int grpc_code, const char *msg, pg_buf *out)
{
    size_t ml = strlen(msg);
    if (ct == PG_OTLP_CT_PROTOBUF) {
        if (grpc_code) {
            put_varint(out, 1 << 3); /* code: int32, varint */
            put_varint(out, (uint64_t)grpc_code);
        }
        put_varint(out, 2 << 3 | 2); /* message: string */
        put_varint(out, ml);
        pg_buf_append(out, msg, ml);
        return out->failed ? PG_ENOMEM : 0;
    }
    char head[48];
    snprintf(head, sizeof head, "{\"code\":%d,\"message\":\"", grpc_code);
    pg_buf_append(out, head, strlen(head));
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            pg_buf_append(out, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            pg_buf_append(out, esc, 6);
        } else {
            pg_buf_append(out, p, 1);
        }
    }
    pg_buf_append(out, "\"}", 2);
    return out->failed ? PG_ENOMEM : 0;
}

/* Answers a failure: HTTP status from code, a Status body in the request's encoding, and
 * Retry-After for retryable codes (503). Borrows msg. */
static void reply_status(pg_http_reply *reply, pg_otlp_content ct, int code, const char *msg)
{
    pg_buf body = {0};
    if (encode_status(ct, pg_status_grpc(code), msg, &body) ||
        pg_http_reply_set(reply, pg_status_http(code),
                          ct == PG_OTLP_CT_JSON ? CT_JSON : CT_PROTOBUF, body.data, body.len))
        pg_http_reply_error(reply, PG_ENOMEM, "out of memory");
    else if (pg_status_retryable(code))
        pg_http_reply_header(reply, "retry-after", "1");
    pg_buf_free(&body);
}

/* Serves one export request with handle (a worker thread): borrows req; sends the reply. */
static void serve(otlp_receiver *r, otlp_handle_fn handle, const pg_http_request *req,
                  pg_http_reply *reply)
{
    int ct = media_type(pg_http_header(req, "content-type"));
    if (ct == CT_OTHER) {
        char msg[160];
        snprintf(msg, sizeof msg, "unsupported Content-Type; use %s or %s", CT_PROTOBUF, CT_JSON);
        pg_http_reply_set(reply, 415, "text/plain; charset=utf-8", msg, strlen(msg));
        pg_otlp_stats_request(&r->stats, PG_EUNSUP, req->wire_len, 0);
        pg_http_reply_send(reply);
        return;
    }
    pg_otlp_md stack_md[32], *md = stack_md;
    if (req->nheaders > 32 && !(md = malloc(req->nheaders * sizeof *md))) {
        reply_status(reply, (pg_otlp_content)ct, PG_ENOMEM, "out of memory");
        pg_http_reply_send(reply);
        return;
    }
    for (size_t i = 0; i < req->nheaders; i++)
        md[i] = (pg_otlp_md){req->header_names[i], req->header_values[i]};
    pg_otlp_result res;
    int rc = handle(r, req->body, req->body_len, req->wire_len, (pg_otlp_content)ct, md,
                    req->nheaders, &res);
    if (md != stack_md) free(md);
    if (rc == 0)
        pg_http_reply_set(reply, 200, ct == PG_OTLP_CT_JSON ? CT_JSON : CT_PROTOBUF,
                          res.response.data, res.response.len);
    else
        reply_status(reply, (pg_otlp_content)ct, rc, res.message);
    pg_otlp_result_free(&res);
    pg_http_reply_send(reply);
}

/* The profiles route's handler. */
static void on_export(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    serve(ctx, pg_otlp_profiles_handle, req, reply);
}

/* The traces route's handler. */
static void on_traces(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    serve(ctx, pg_otlp_traces_handle, req, reply);
}

/* See otlp_receiver_int.h: builds the server from h (borrowed), no I/O. */
int pg_otlp_http_create(otlp_receiver *r, pg_host *host, const otlp_http_config *h, char *err,
                        size_t errlen)
{
    int rc = pg_http_server_new(pg_host_event_base(host), pg_host_metrics(host), r->id, &h->server,
                                &r->http, err, errlen);
    if (rc) return rc;
    const char *path = h->profiles_url_path ? h->profiles_url_path : PG_OTLP_HTTP_PATH;
    if ((rc = pg_http_server_route(r->http, "POST", path, on_export, r)) ||
        (rc = pg_http_server_cors(r->http, &h->cors)))
        return pg_err(err, errlen, rc, "protocols.http: cannot route %s", path);
    if (!(r->http_path = strdup(path))) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (!r->traces.consume) return 0; /* no traces pipeline: the path stays a 404 */
    path = h->traces_url_path ? h->traces_url_path : PG_OTLP_HTTP_TRACES_PATH;
    if ((rc = pg_http_server_route(r->http, "POST", path, on_traces, r)))
        return pg_err(err, errlen, rc, "protocols.http: cannot route %s", path);
    r->http_traces_path = strdup(path);
    return r->http_traces_path ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
}

/* See otlp_receiver_int.h. */
int pg_otlp_http_start(otlp_receiver *r, char *err, size_t errlen)
{
    int rc = pg_http_server_start(r->http, err, errlen);
    if (rc) {
        pg_err_prefix(err, errlen, "protocols.http");
        return rc;
    }
    pg_log(PG_LOG_INFO, r->id, "HTTP listening on port %u, POST %s%s%s",
           (unsigned)pg_http_server_port(r->http), r->http_path, r->http_traces_path ? " and " : "",
           r->http_traces_path ? r->http_traces_path : "");
    return 0;
}

/* See otlp_receiver_int.h: stops listening, waits for handlers, frees the server. */
void pg_otlp_http_shutdown(otlp_receiver *r)
{
    pg_http_server_free(r->http);
    r->http = NULL;
}

/* Exchanges: one request from its first header to its reply; routing, auth, limits, the
 * bounded inflate on a worker, and the public request/reply calls. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/net/grpc.h"
#include "pipeline/net/http_internal.h"

/* ---- the process-wide budget of request bodies held in memory: raw bodies as they arrive
 * and inflated bodies until their reply is sent ---- */

static _Atomic uint64_t budget_limit = 256u << 20;
static _Atomic uint64_t budget_used;

void pg_http_set_decompression_budget(uint64_t bytes)
{
    atomic_store(&budget_limit, bytes);
}

/* Takes n bytes of the budget; false when they do not fit. */
static bool budget_take(uint64_t n)
{
    uint64_t cur = atomic_load(&budget_used);
    do {
        if (cur + n > atomic_load(&budget_limit)) return false;
    } while (!atomic_compare_exchange_weak(&budget_used, &cur, cur + n));
    return true;
}

static void budget_give(uint64_t n)
{
    atomic_fetch_sub(&budget_used, n);
}

/* ---- exchanges ---- */

/* Makes an exchange on c (loop thread), linked in c's loop-owned list. NULL when out of
 * memory. */
pg_http_ex *pg_http_ex_new(pg_http_conn *c, int32_t stream_id)
{
    pg_http_ex *ex = calloc(1, sizeof *ex);
    if (!ex) return NULL;
    ex->srv = c->srv;
    ex->conn = c;
    ex->stream_id = stream_id;
    ex->t0 = pg_http_now_ns();
    ex->state = EX_RECV;
    ex->req.proto = c->proto;
    ex->req.peer = c->peer;
    ex->next = c->exs;
    if (c->exs) c->exs->prev = ex;
    c->exs = ex;
    return ex;
}

/* Frees a list of name/value pairs (reply trailers) and empties it. */
static void free_pairs(char ***names, char ***values, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free((*names)[i]);
        free((*values)[i]);
    }
    free(*names);
    free(*values);
    *names = *values = NULL;
    *n = 0;
}

/* Unlinks ex from its connection's list (when loop-owned) and frees everything it holds. */
void pg_http_ex_free(pg_http_ex *ex)
{
    if (!ex) return;
    if (ex->state != EX_WORK && ex->conn) {
        if (ex->prev)
            ex->prev->next = ex->next;
        else if (ex->conn->exs == ex)
            ex->conn->exs = ex->next;
        if (ex->next) ex->next->prev = ex->prev;
    }
    if (ex->budget_held) budget_give(ex->budget_held);
    free(ex->method);
    free(ex->target);
    for (size_t i = 0; i < ex->nh; i++) {
        free(ex->hn[i]);
        free(ex->hv[i]);
    }
    free(ex->hn);
    free(ex->hv);
    free_pairs(&ex->rhn, &ex->rhv, &ex->nrh);
    free_pairs(&ex->rtn, &ex->rtv, &ex->nrt);
    free(ex->ctype);
    pg_buf_free(&ex->body);
    pg_buf_free(&ex->rbody);
    free(ex);
}

/* Counts n header bytes against the cap. */
static int header_bytes(pg_http_ex *ex, size_t n)
{
    size_t cap = ex->srv->cfg.max_request_header_size;
    bool was_over = ex->header_bytes > cap;
    ex->header_bytes += n;
    if (ex->header_bytes <= cap) return 0;
    if (!was_over) pg_http_count_limit(ex->srv, LIM_HEADER); /* once per request */
    return PG_ELIMIT;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Copies method and target (borrowed) into ex. */
int pg_http_ex_start_line(pg_http_ex *ex, const char *method, const char *target, size_t tl)
{
    int rc = header_bytes(ex, (method ? strlen(method) : 0) + (target ? tl : 0));
    if (rc) return rc;
    if (method) {
        free(ex->method);
        if (!(ex->method = strdup(method))) return PG_ENOMEM;
    }
    if (target) {
        free(ex->target);
        if (!(ex->target = dup_n(target, tl))) return PG_ENOMEM;
    }
    return 0;
}

/* Appends a header, copying name (lower-cased) and value. */
int pg_http_ex_header(pg_http_ex *ex, const char *n, size_t nl, const char *v, size_t vl)
{
    int rc = header_bytes(ex, nl + vl + 4);
    if (rc) return rc;
    if (ex->nh == ex->caph) {
        size_t cap = ex->caph ? ex->caph * 2 : 16;
        char **hn = realloc(ex->hn, cap * sizeof *hn);
        if (!hn) return PG_ENOMEM;
        ex->hn = hn;
        char **hv = realloc(ex->hv, cap * sizeof *hv);
        if (!hv) return PG_ENOMEM;
        ex->hv = hv;
        ex->caph = cap;
    }
    char *name = dup_n(n, nl), *value = dup_n(v, vl);
    if (!name || !value) {
        free(name);
        free(value);
        return PG_ENOMEM;
    }
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ex->hn[ex->nh] = name;
    ex->hv[ex->nh] = value;
    ex->nh++;
    return 0;
}

const char *pg_http_header(const pg_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcmp(req->header_names[i], name) == 0) return req->header_values[i];
    return NULL;
}

const char *pg_http_proto_name(pg_http_proto p)
{
    switch (p) {
    case PG_HTTP_H2C:
        return "h2c";
    case PG_HTTP_H1_TLS:
        return "HTTP/1.1+TLS";
    case PG_HTTP_H2_TLS:
        return "h2";
    default:
        return "HTTP/1.1";
    }
}

/* Sets an early status (the first one wins). */
static void early(pg_http_ex *ex, int status, const char *msg)
{
    if (ex->early_status) return;
    ex->early_status = status;
    ex->early_msg = msg;
}

/* Fills the request view (header arrays, path and query split) from what was received. */
static void fill_request(pg_http_ex *ex)
{
    pg_http_request *r = &ex->req;
    r->method = ex->method ? ex->method : "";
    r->nheaders = ex->nh;
    r->header_names = (const char *const *)ex->hn;
    r->header_values = (const char *const *)ex->hv;
    char *t = ex->target ? ex->target : (char *)"";
    char *q = strchr(t, '?');
    if (q) *q++ = 0;
    r->path = t;
    r->query = q ? q : "";
}

/* Decides what can be decided from the headers: route (404/405), auth (401), declared body
 * size (413). Runs on the loop. */
void pg_http_ex_headers_done(pg_http_ex *ex)
{
    pg_http_server *s = ex->srv;
    fill_request(ex);
    int grpc = pg_grpc_content_type(pg_http_header(&ex->req, "content-type"));
    if (grpc && (ex->req.proto == PG_HTTP_H1 || ex->req.proto == PG_HTTP_H1_TLS)) {
        grpc = 0; /* answered as HTTP/1.1 */
        early(ex, 505, "gRPC requires HTTP/2 (h2c with prior knowledge or h2 over TLS)");
    } else if (grpc == PG_GRPC_CT_OTHER) {
        early(ex, 415,
              "gRPC content type not accepted; accepted: application/grpc, "
              "application/grpc+proto");
    }
    const pg_http_route *path_match = NULL;
    for (size_t i = 0; i < s->nroutes && !ex->route; i++) {
        if (strcmp(s->routes[i].path, ex->req.path) != 0) continue;
        path_match = &s->routes[i];
        if (strcmp(s->routes[i].method, ex->req.method) == 0) ex->route = &s->routes[i];
    }
    if (!ex->route && pg_http_cors_is_preflight(ex, path_match != NULL)) {
        ex->preflight = true; /* browsers send no credentials with a preflight */
        early(ex, 204, NULL);
    }
    if (pg_http_auth_check(s, pg_http_header(&ex->req, "authorization"))) {
        pg_counter_add(s->auth_failures, 1);
        early(ex, 401, "unauthorized");
    }
    if (!ex->route)
        early(ex, path_match ? 405 : 404, path_match ? "method not allowed" : "not found");
    else if (grpc && !ex->route->grpc)
        early(ex, 404, "no gRPC method at this path (it serves HTTP only)");
    if (grpc) ex->req.grpc = true;
    const char *cl = pg_http_header(&ex->req, "content-length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end == 0 && n > s->cfg.max_request_body_size) {
            pg_http_count_limit(s, LIM_BODY);
            ex->early_status = 413; /* before any other: the body will not be read */
            ex->early_msg = "request body too large";
        }
    }
    const char *expect = pg_http_header(&ex->req, "expect");
    ex->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
}

/* Appends body bytes; once an early status is set they are dropped. */
int pg_http_ex_body(pg_http_ex *ex, const void *p, size_t n)
{
    pg_counter_add(ex->srv->bytes_in, n);
    if (ex->early_status) return ex->early_status == 413 ? PG_ELIMIT : 0;
    int rc = 0;
    if (ex->body.len + n > ex->srv->cfg.max_request_body_size) {
        pg_http_count_limit(ex->srv, LIM_BODY);
        early(ex, 413, "request body too large");
        rc = PG_ELIMIT;
    } else if (!budget_take(n)) {
        pg_http_count_limit(ex->srv, LIM_DECOMPRESSION_BUDGET);
        early(ex, 503, "request body memory budget exhausted, retry later");
        rc = PG_EAGAIN;
    } else {
        ex->budget_held += n;
        return pg_buf_append(&ex->body, p, n) ? PG_ENOMEM : 0;
    }
    pg_buf_free(&ex->body);
    budget_give(ex->budget_held);
    ex->budget_held = 0;
    return rc;
}

/* Replaces the raw body by its bytes [off, off + len) inflated by enc, under the per-request
 * cap and the process budget. Returns 0 or the status to answer with a message in err. */
static int inflate_body(pg_http_ex *ex, pg_encoding enc, size_t off, size_t len, char *err,
                        size_t errlen)
{
    if (enc == PG_ENC_NONE) {
        if (off) memmove(ex->body.data, ex->body.data + off, len);
        ex->body.len = len;
        return 0;
    }
    /* the raw body already holds its length; hold up to the cap while inflating */
    uint64_t cap = ex->srv->cfg.max_request_body_size;
    uint64_t more = cap > ex->budget_held ? cap - ex->budget_held : 0;
    if (!budget_take(more)) {
        pg_http_count_limit(ex->srv, LIM_DECOMPRESSION_BUDGET);
        return pg_err(err, errlen, PG_EAGAIN, "decompression budget exhausted, retry later");
    }
    ex->budget_held += more;
    pg_buf out = {0};
    int rc = pg_decompress(enc, ex->body.data + off, len, cap, &out, err, errlen);
    if (rc == PG_ELIMIT) pg_http_count_limit(ex->srv, LIM_BODY);
    pg_buf_free(&ex->body);
    if (rc) {
        pg_buf_free(&out);
        return rc;
    }
    ex->body = out;
    budget_give(ex->budget_held - out.len); /* keep what the inflated body holds */
    ex->budget_held = out.len;
    return 0;
}

/* The body the handler sees: Content-Encoding removed or, for gRPC, the one message
 * unframed and inflated by grpc-encoding. Returns 0 or the status with a message in err. */
static int request_body(pg_http_ex *ex, char *err, size_t errlen)
{
    const char *hdr = ex->req.grpc ? "grpc-encoding" : "content-encoding";
    const char *name = pg_http_header(&ex->req, hdr);
    int enc = pg_encoding_from_name(name);
    if (enc < 0) return pg_err(err, errlen, PG_EUNSUP, "unsupported %s %.64s", hdr, name);
    if (!ex->req.grpc) return inflate_body(ex, (pg_encoding)enc, 0, ex->body.len, err, errlen);
    bool compressed = false;
    size_t off = 0, len = 0;
    int rc = pg_grpc_unframe(ex->body.data, ex->body.len, &compressed, &off, &len, err, errlen);
    if (rc) return rc;
    if (compressed && enc == PG_ENC_NONE)
        return pg_err(err, errlen, PG_EINVAL, "compressed gRPC message without a grpc-encoding");
    return inflate_body(ex, compressed ? (pg_encoding)enc : PG_ENC_NONE, off, len, err, errlen);
}

/* PG_ETIMEOUT with a message when the gRPC request's grpc-timeout passed before a worker
 * took it (the handler is not run then), else 0. */
static int grpc_deadline(const pg_http_ex *ex, char *err, size_t errlen)
{
    int64_t timeout;
    if (!ex->req.grpc ||
        pg_grpc_timeout_parse(pg_http_header(&ex->req, "grpc-timeout"), &timeout) != 0)
        return 0;
    int64_t waited = pg_http_now_ns() - ex->t0;
    if (waited <= timeout) return 0;
    return pg_err(err, errlen, PG_ETIMEOUT, "grpc-timeout passed (%lld ms) before the call ran",
                  (long long)(waited / 1000000));
}

/* Worker: inflates, then calls the route's handler (which sends the reply). */
static void work(void *arg)
{
    pg_http_ex *ex = arg;
    char err[256];
    ex->req.wire_len = ex->body.len;
    int rc = request_body(ex, err, sizeof err);
    if (rc == 0) rc = grpc_deadline(ex, err, sizeof err);
    if (rc) {
        pg_http_reply_error(ex, rc, err);
        pg_http_reply_send(ex);
        return;
    }
    ex->req.body = ex->body.data ? ex->body.data : (const uint8_t *)"";
    ex->req.body_len = ex->body.len;
    ex->route->fn(ex->route->ctx, &ex->req, ex);
}

/* Loop: the request arrived whole. An early status is answered here; otherwise the
 * exchange goes to a worker (503 when the pool is full). */
void pg_http_ex_complete(pg_http_ex *ex)
{
    pg_http_conn *c = ex->conn;
    if (!ex->early_status) {
        ex->state = EX_WORK;
        if (ex->prev)
            ex->prev->next = ex->next;
        else
            c->exs = ex->next;
        if (ex->next) ex->next->prev = ex->prev;
        ex->prev = ex->next = NULL;
        c->refs++;
        if (pg_workers_submit(ex->srv->workers, work, ex) == 0) return;
        c->refs--;
        ex->state = EX_RECV;
        ex->next = c->exs;
        if (c->exs) c->exs->prev = ex;
        c->exs = ex;
        pg_http_count_limit(ex->srv, LIM_WORKERS);
        pg_http_reply_error(ex, PG_EAGAIN, "server busy, retry later");
    } else if (ex->preflight && ex->early_status == 204) {
        pg_http_cors_preflight(ex);
    } else {
        pg_http_ex_fail(ex, ex->early_status, ex->early_msg);
    }
    if (!ex->preflight) pg_http_cors_decorate(ex);
    ex->state = EX_SEND;
    if (c->h2)
        pg_http_h2_respond(c, ex);
    else
        pg_http_h1_respond(c, ex);
}

/* ---- replies ---- */

int pg_http_reply_set(pg_http_reply *r, int status, const char *content_type, const void *body,
                      size_t len)
{
    r->status = status;
    free(r->ctype);
    r->ctype = content_type ? strdup(content_type) : NULL;
    r->rbody.len = 0;
    free_pairs(&r->rtn, &r->rtv, &r->nrt);
    if (content_type && !r->ctype) return PG_ENOMEM;
    return len && pg_buf_append(&r->rbody, body, len) ? PG_ENOMEM : 0;
}

/* Accepts header text without control characters (no response splitting). */
static bool header_text_ok(const char *s, bool name)
{
    if (!*s && name) return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f || (name && (ch == ':' || ch == ' '))) return false;
    }
    return true;
}

/* Appends a copy of name (lower-cased: h2 wants it) and value to a reply's pair list. */
static int add_pair(char ***names, char ***values, size_t *count, const char *name,
                    const char *value)
{
    if (!header_text_ok(name, true) || !header_text_ok(value, false)) return PG_EINVAL;
    char **hn = realloc(*names, (*count + 1) * sizeof *hn);
    if (!hn) return PG_ENOMEM;
    *names = hn;
    char **hv = realloc(*values, (*count + 1) * sizeof *hv);
    if (!hv) return PG_ENOMEM;
    *values = hv;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return PG_ENOMEM;
    }
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    hn[*count] = n;
    hv[*count] = v;
    (*count)++;
    return 0;
}

int pg_http_reply_header(pg_http_reply *r, const char *name, const char *value)
{
    return add_pair(&r->rhn, &r->rhv, &r->nrh, name, value);
}

/* See http_server.h: trailers are sent by http_h2.c. */
int pg_http_reply_trailer(pg_http_reply *r, const char *name, const char *value)
{
    return add_pair(&r->rtn, &r->rtv, &r->nrt, name, value);
}

void pg_http_ex_fail(pg_http_ex *ex, int status, const char *msg)
{
    if (ex->req.grpc) { /* an HTTP status decided by the stack, as a gRPC status */
        pg_grpc_reply_error(ex, pg_grpc_status_of_http(status), msg);
        return;
    }
    char body[320];
    int n = snprintf(body, sizeof body, "%s\n", msg ? msg : "error");
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof body) n = sizeof body - 1;
    pg_http_reply_set(ex, status, "text/plain; charset=utf-8", body, (size_t)n);
    if (status == 503) pg_http_reply_header(ex, "retry-after", "1");
    if (status == 401)
        pg_http_reply_header(ex, "www-authenticate", ex->srv->basic ? "Basic" : "Bearer");
}

int pg_http_reply_error(pg_http_reply *r, int code, const char *msg)
{
    if (r->req.grpc) return pg_grpc_reply_error(r, code, msg) ? PG_ENOMEM : 0;
    pg_http_ex_fail(r, pg_status_http(code),
                    msg ? msg : pg_status_name(code)); /* 503: Retry-After */
    return r->rbody.failed;
}

/* Any thread: queues the finished exchange for the loop and wakes it. */
void pg_http_reply_send(pg_http_reply *r)
{
    if (r->status == 0) pg_http_ex_fail(r, 500, "handler sent no status");
    pg_http_cors_decorate(r);
    pg_http_server *s = r->srv;
    pthread_mutex_lock(&s->done_mu);
    r->next = NULL;
    if (s->done_tail)
        s->done_tail->next = r;
    else
        s->done_head = r;
    s->done_tail = r;
    pthread_mutex_unlock(&s->done_mu);
    event_active(s->done_ev, EV_READ, 0);
}

/* Writes "HTTP/1.1 <status> <reason>" and the headers (with Content-Length) into out. */
int pg_http_h1_head(const pg_http_ex *ex, bool close, pg_buf *out)
{
    char line[160];
    int n = ex->status == 204 /* no Content-Length in a 204 (RFC 9110 8.6) */
                ? snprintf(line, sizeof line, "HTTP/1.1 204 No Content\r\n%s",
                           close ? "connection: close\r\n" : "")
                : snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\ncontent-length: %zu\r\n%s",
                           ex->status, ex->status < 300 ? "OK" : "Error", ex->rbody.len,
                           close ? "connection: close\r\n" : "");
    pg_buf_append(out, line, (size_t)n);
    if (ex->ctype) {
        pg_buf_append(out, "content-type: ", 14);
        pg_buf_append(out, ex->ctype, strlen(ex->ctype));
        pg_buf_append(out, "\r\n", 2);
    }
    for (size_t i = 0; i < ex->nrh; i++) {
        pg_buf_append(out, ex->rhn[i], strlen(ex->rhn[i]));
        pg_buf_append(out, ": ", 2);
        pg_buf_append(out, ex->rhv[i], strlen(ex->rhv[i]));
        pg_buf_append(out, "\r\n", 2);
    }
    return pg_buf_append(out, "\r\n", 2);
}

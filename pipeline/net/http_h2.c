/* HTTP/2 (h2c with prior knowledge, h2 over TLS) with nghttp2: one server session per
 * connection, one exchange per stream (the stream's user data). */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

#define OUT_HIGH_WATER (1u << 20) /* stop producing frames above 1 MiB queued */

/* Sends what nghttp2 has queued; closes the connection when the session is over. */
static void flush(pg_http_conn *c)
{
    nghttp2_session *ss = c->h2;
    if (nghttp2_session_send(ss) != 0) {
        pg_http_conn_close(c);
        return;
    }
    if (!nghttp2_session_want_read(ss) && !nghttp2_session_want_write(ss) &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        pg_http_conn_close(c);
        return;
    }
    pg_http_conn_deadline(c);
}

static ssize_t send_cb(nghttp2_session *ss, const uint8_t *data, size_t n, int flags, void *arg)
{
    pg_http_conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) >= OUT_HIGH_WATER) return NGHTTP2_ERR_WOULDBLOCK;
    if (bufferevent_write(c->bev, data, n) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)n;
}

static int begin_headers_cb(nghttp2_session *ss, const nghttp2_frame *f, void *arg)
{
    pg_http_conn *c = arg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    pg_http_ex *ex = pg_http_ex_new(c, f->hd.stream_id);
    if (!ex) return NGHTTP2_ERR_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, ex);
    return 0;
}

/* Sets an early status on the stream (first one wins). */
static void stream_fail(pg_http_ex *ex, int status, const char *msg)
{
    if (!ex->early_status) {
        ex->early_status = status;
        ex->early_msg = msg;
    }
}

static int header_cb(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *arg)
{
    pg_http_ex *ex = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
    if (!ex || f->hd.type != NGHTTP2_HEADERS) return 0;
    int rc = 0;
    if (nl == 7 && memcmp(name, ":method", 7) == 0) {
        char m[32];
        snprintf(m, sizeof m, "%.*s", (int)(vl < 31 ? vl : 31), (const char *)value);
        rc = pg_http_ex_start_line(ex, m, NULL, 0);
    } else if (nl == 5 && memcmp(name, ":path", 5) == 0) {
        rc = pg_http_ex_start_line(ex, NULL, (const char *)value, vl);
    } else if (nl > 0 && name[0] == ':') {
        return 0; /* :scheme, :authority */
    } else {
        rc = pg_http_ex_header(ex, (const char *)name, nl, (const char *)value, vl);
    }
    if (rc == PG_ELIMIT)
        stream_fail(ex, 431, "request header fields too large");
    else if (rc)
        stream_fail(ex, 503, "out of memory");
    return 0;
}

/* Answers an error on the stream now (before its body) and drops what else it sends. */
static void respond_early(pg_http_conn *c, pg_http_ex *ex)
{
    if (ex->state != EX_RECV) return;
    pg_http_ex_fail(ex, ex->early_status, ex->early_msg);
    ex->state = EX_SEND;
    pg_http_h2_respond(c, ex);
}

static int frame_recv_cb(nghttp2_session *ss, const nghttp2_frame *f, void *arg)
{
    pg_http_conn *c = arg;
    pg_http_ex *ex = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
    if (!ex || ex->state != EX_RECV) return 0;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        int pre = ex->early_status; /* 431 from header_cb */
        pg_http_ex_headers_done(ex);
        if (pre) {
            ex->early_status = pre;
            ex->early_msg = "request header fields too large";
        }
        if (ex->early_status == 413 || ex->early_status == 431) {
            respond_early(c, ex);
            return 0;
        }
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        pg_http_ex_complete(ex);
    return 0;
}

static int data_cb(nghttp2_session *ss, uint8_t flags, int32_t sid, const uint8_t *data, size_t n,
                   void *arg)
{
    pg_http_conn *c = arg;
    pg_http_ex *ex = nghttp2_session_get_stream_user_data(ss, sid);
    if (!ex || ex->state != EX_RECV) return 0;
    int rc = pg_http_ex_body(ex, data, n);
    if (rc == PG_ELIMIT || rc == PG_EAGAIN)
        respond_early(c, ex);
    else if (rc) {
        stream_fail(ex, 503, "out of memory");
        respond_early(c, ex);
    }
    return 0;
}

/* nghttp2 refused a frame; a stream over max_concurrent_streams is counted as a limit hit. */
static int invalid_frame_cb(nghttp2_session *ss, const nghttp2_frame *f, int lib_error, void *arg)
{
    pg_http_conn *c = arg;
    if (lib_error == NGHTTP2_ERR_REFUSED_STREAM) pg_http_count_limit(c->srv, LIM_STREAMS);
    return 0;
}

static int stream_close_cb(nghttp2_session *ss, int32_t sid, uint32_t code, void *arg)
{
    pg_http_ex *ex = nghttp2_session_get_stream_user_data(ss, sid);
    if (!ex) return 0;
    nghttp2_session_set_stream_user_data(ss, sid, NULL);
    if (ex->state == EX_WORK)
        ex->stream_gone = true; /* freed when the reply comes back */
    else
        pg_http_ex_free(ex);
    return 0;
}

/* Adds n name/value pairs (borrowed) to nv at *at. */
static void add_nv(nghttp2_nv *nv, size_t *at, char *const *names, char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nv[(*at)++] = (nghttp2_nv){(uint8_t *)names[i], (uint8_t *)values[i], strlen(names[i]),
                                   strlen(values[i]), NGHTTP2_NV_FLAG_NONE};
}

/* Serves the reply body from ex->rbody, then its trailers (a HEADERS frame ending the
 * stream) when it has some. */
static ssize_t body_read_cb(nghttp2_session *ss, int32_t sid, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    pg_http_ex *ex = src->ptr;
    size_t left = ex->rbody.len - ex->rbody_off;
    if (len > left) len = left;
    if (len) memcpy(buf, ex->rbody.data + ex->rbody_off, len);
    ex->rbody_off += len;
    if (ex->rbody_off == ex->rbody.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (ex->nrt) {
            nghttp2_nv nv[ex->nrt];
            size_t n = 0;
            add_nv(nv, &n, ex->rtn, ex->rtv, ex->nrt);
            if (nghttp2_submit_trailer(ss, sid, nv, n) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)len;
}

int pg_http_h2_start(pg_http_conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb)) return PG_ENOMEM;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, stream_close_cb);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, invalid_frame_cb);
    nghttp2_session *ss = NULL;
    int rc = nghttp2_session_server_new(&ss, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc) return PG_ENOMEM;
    c->h2 = ss;
    const pg_http_server_config *cfg = &c->srv->cfg;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)cfg->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->max_request_header_size},
    };
    if (nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, iv, 3) ||
        nghttp2_session_set_local_window_size(ss, NGHTTP2_FLAG_NONE, 0, 16 << 20))
        return PG_ENOMEM;
    return 0;
}

void pg_http_h2_read(pg_http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    const unsigned char *p = evbuffer_pullup(in, (ssize_t)n);
    if (n && !p) {
        pg_http_conn_close(c);
        return;
    }
    c->in_recv = true;
    ssize_t used = nghttp2_session_mem_recv(c->h2, p, n);
    c->in_recv = false;
    if (c->closed) return;
    if (used < 0) {
        pg_http_conn_close(c);
        return;
    }
    evbuffer_drain(in, (size_t)used);
    flush(c);
}

/* Submits the response for ex's stream (loop thread). With trailers it has no
 * content-length; with trailers and no body they go in its only HEADERS frame (gRPC's
 * trailers-only answer). */
void pg_http_h2_respond(pg_http_conn *c, pg_http_ex *ex)
{
    pg_http_count_response(ex);
    char status[8], clen[24];
    snprintf(status, sizeof status, "%d", ex->status);
    snprintf(clen, sizeof clen, "%zu", ex->rbody.len);
    bool trailers_only = ex->nrt && ex->rbody.len == 0;
    size_t n = 0, cap = ex->nrh + ex->nrt + 3;
    nghttp2_nv nv[cap];
#define NV(k, v)                                                                                   \
    nv[n++] =                                                                                      \
        (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE}
    NV(":status", status);
    if (!ex->nrt) NV("content-length", clen);
    if (ex->ctype) NV("content-type", ex->ctype);
#undef NV
    add_nv(nv, &n, ex->rhn, ex->rhv, ex->nrh);
    if (trailers_only) add_nv(nv, &n, ex->rtn, ex->rtv, ex->nrt);
    nghttp2_data_provider dp = {.source.ptr = ex, .read_callback = body_read_cb};
    bool head = ex->method && strcmp(ex->method, "HEAD") == 0;
    if (nghttp2_submit_response(c->h2, ex->stream_id, nv, n, head || trailers_only ? NULL : &dp) !=
        0) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, ex->stream_id, NGHTTP2_INTERNAL_ERROR);
    }
    if (!c->in_recv) flush(c); /* inside mem_recv, pg_http_h2_read flushes after it */
}

/* Decodes a base64url HTTP2-Settings value into out; returns the length or PG_EINVAL. */
static int settings_payload(const char *v, uint8_t *out, size_t cap)
{
    char b64[512];
    size_t n = strlen(v);
    if (n + 3 >= sizeof b64 || (n + 3) / 4 * 3 > cap) return PG_EINVAL;
    for (size_t i = 0; i < n; i++)
        b64[i] = v[i] == '-' ? '+' : v[i] == '_' ? '/' : v[i];
    size_t pad = (4 - n % 4) % 4;
    memset(b64 + n, '=', pad);
    int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)(n + pad));
    return len < 0 ? PG_EINVAL : len - (int)pad;
}

void pg_http_h2_upgrade(pg_http_conn *c, pg_http_ex *ex)
{
    uint8_t settings[384];
    int n = settings_payload(pg_http_header(&ex->req, "http2-settings"), settings, sizeof settings);
    c->proto = PG_HTTP_H2C;
    ex->req.proto = PG_HTTP_H2C;
    bool head = ex->method && strcmp(ex->method, "HEAD") == 0;
    if (n < 0 || pg_http_h2_start(c) ||
        nghttp2_session_upgrade2(c->h2, settings, (size_t)n, head, NULL) != 0) {
        pg_http_ex_free(ex);
        pg_http_conn_close(c);
        return;
    }
    bufferevent_write(c->bev,
                      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      "Upgrade: h2c\r\n\r\n",
                      71);
    bufferevent_enable(c->bev, EV_READ); /* HTTP/1.1 paused reading at the request's end */
    ex->stream_id = 1;
    nghttp2_session_set_stream_user_data(c->h2, 1, ex);
    c->in_recv = true; /* the reply may come at once: flush below */
    pg_http_ex_complete(ex);
    c->in_recv = false;
    if (!c->closed) pg_http_h2_read(c);
}

void pg_http_h2_write(pg_http_conn *c)
{
    if (nghttp2_session_want_write(c->h2)) flush(c);
}

void pg_http_h2_free(pg_http_conn *c)
{
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
}

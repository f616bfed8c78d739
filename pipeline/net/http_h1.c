/* HTTP/1.1 over http-parser: the only file that knows http-parser (so it can be swapped for
 * llhttp). One request at a time per connection: the parser pauses at the end of a message
 * and resumes once its reply is written (pipelined requests wait in the input buffer). */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

typedef struct h1 {
    http_parser p;
    pg_http_conn *c;
    pg_http_ex *ex; /* the request being received or served */
    pg_buf field;   /* the header name or URL being assembled */
    pg_buf value;
    bool in_value;
    bool failed;     /* an error reply is on its way; the connection closes after it */
    bool in_execute; /* inside http_parser_execute: a reply resumes without re-entering */
    bool to_h2c;     /* the request asked `Upgrade: h2c`: switch once it arrived whole */
} h1;

/* What a callback returns to stop the parser (any value but 0, 1 and 2 for
 * on_headers_complete, where 1 and 2 mean "no body" and "upgrade"). */
enum { H1_STOP = -1 };

static void h1_error(h1 *h, int status, const char *msg);
static int take_url(h1 *h);

/* Hands a complete header (field + value) to the exchange. */
static int flush_header(h1 *h)
{
    if (!h->field.len) return 0;
    int rc = pg_http_ex_header(h->ex, (const char *)h->field.data, h->field.len,
                               h->value.data ? (const char *)h->value.data : "", h->value.len);
    h->field.len = h->value.len = 0;
    h->in_value = false;
    if (rc == PG_ELIMIT)
        h1_error(h, 431, "request header fields too large");
    else if (rc)
        h1_error(h, 503, "out of memory");
    return rc ? -1 : 0;
}

/* Appends a fragment, checking the header cap as it grows (a 1 GB header never lands). */
static int grow(h1 *h, pg_buf *b, const char *at, size_t n)
{
    if (b->len + n + h->ex->header_bytes > h->c->srv->cfg.max_request_header_size) {
        pg_http_count_limit(h->c->srv, LIM_HEADER);
        h1_error(h, 431, "request header fields too large");
        return H1_STOP;
    }
    if (pg_buf_append(b, at, n)) {
        h1_error(h, 503, "out of memory");
        return H1_STOP;
    }
    return 0;
}

static int on_begin(http_parser *p)
{
    h1 *h = p->data;
    h->ex = pg_http_ex_new(h->c, 0);
    if (!h->ex) return H1_STOP;
    pg_http_conn_deadline(h->c);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    h1 *h = p->data;
    return grow(h, &h->field, at, n);
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    h1 *h = p->data;
    if (!h->ex->target && take_url(h)) return H1_STOP;
    if (h->in_value && flush_header(h)) return H1_STOP;
    return grow(h, &h->field, at, n);
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    h1 *h = p->data;
    h->in_value = true;
    return grow(h, &h->value, at, n);
}

/* The URL was collected in `field` before the first header: store it as the target. */
static int take_url(h1 *h)
{
    if (h->ex->target) return 0;
    int rc = pg_http_ex_start_line(h->ex, http_method_str((enum http_method)h->p.method),
                                   h->field.data ? (const char *)h->field.data : "", h->field.len);
    h->field.len = 0;
    if (rc == PG_ELIMIT)
        h1_error(h, 431, "request header fields too large");
    else if (rc)
        h1_error(h, 503, "out of memory");
    return rc ? -1 : 0;
}

static int on_headers_done(http_parser *p)
{
    h1 *h = p->data;
    if (!h->ex->target) {
        /* no header at all: `field` holds the URL */
        if (take_url(h)) return H1_STOP;
    } else if (flush_header(h)) {
        return H1_STOP;
    }
    pg_http_ex_headers_done(h->ex);
    if (h->ex->early_status == 413) {
        h1_error(h, 413, h->ex->early_msg);
        return H1_STOP;
    }
    if (h->ex->expect_continue && !h->ex->early_status)
        bufferevent_write(h->c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    const char *up = pg_http_header(&h->ex->req, "upgrade");
    h->to_h2c = !h->c->tls && p->upgrade && up && strcasecmp(up, "h2c") == 0 &&
                pg_http_header(&h->ex->req, "http2-settings") && !h->ex->early_status;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    h1 *h = p->data;
    int rc = pg_http_ex_body(h->ex, at, n);
    if (rc == PG_ELIMIT)
        h1_error(h, 413, "request body too large");
    else if (rc == PG_EAGAIN)
        h1_error(h, 503, h->ex->early_msg);
    else if (rc)
        h1_error(h, 503, "out of memory");
    return rc ? -1 : 0;
}

static int on_complete(http_parser *p)
{
    h1 *h = p->data;
    http_parser_pause(p, 1);
    pg_http_ex *ex = h->ex;
    if (h->to_h2c) return 0; /* pg_http_h1_read switches after the parser returned */
    bufferevent_disable(h->c->bev, EV_READ); /* pipelined bytes wait in the socket */
    pg_http_ex_complete(ex);                 /* may answer at once (early status, busy) */
    pg_http_conn_deadline(h->c);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_done,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* Answers an error at once and closes the connection after the reply is written. */
static void h1_error(h1 *h, int status, const char *msg)
{
    if (h->failed) return;
    h->failed = true;
    pg_http_ex *ex = h->ex;
    if (!ex) ex = h->ex = pg_http_ex_new(h->c, 0);
    if (!ex) {
        pg_http_conn_close(h->c);
        return;
    }
    pg_http_ex_fail(ex, status, msg);
    ex->state = EX_SEND;
    pg_http_h1_respond(h->c, ex);
}

int pg_http_h1_start(pg_http_conn *c)
{
    h1 *h = calloc(1, sizeof *h);
    if (!h) return PG_ENOMEM;
    http_parser_init(&h->p, HTTP_REQUEST);
    h->p.data = h;
    h->c = c;
    c->h1 = h;
    return 0;
}

/* Feeds buffered input to the parser until it pauses, fails or the input runs out. */
void pg_http_h1_read(pg_http_conn *c)
{
    h1 *h = c->h1;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->closed && !h->failed && HTTP_PARSER_ERRNO(&h->p) == HPE_OK) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) break;
        h->in_execute = true;
        size_t used = http_parser_execute(&h->p, &settings, v.iov_base, v.iov_len);
        h->in_execute = false;
        if (c->closed) return;
        evbuffer_drain(in, used);
        enum http_errno e = HTTP_PARSER_ERRNO(&h->p);
        if (e == HPE_PAUSED && h->to_h2c) {
            pg_http_ex *ex = h->ex;
            h->ex = NULL;
            pg_http_h1_free(c);
            pg_http_h2_upgrade(c, ex); /* takes ex; reads what follows as HTTP/2 */
            return;
        }
        if (e == HPE_PAUSED) break;
        if (e != HPE_OK) {
            if (e == HPE_HEADER_OVERFLOW) pg_http_count_limit(c->srv, LIM_HEADER);
            h1_error(h, e == HPE_HEADER_OVERFLOW ? 431 : 400,
                     e == HPE_HEADER_OVERFLOW ? "request header fields too large"
                                              : http_errno_description(e));
            return;
        }
        if (used < v.iov_len) break;
    }
    if (!c->closed && !h->failed) pg_http_conn_deadline(c);
}

/* Writes ex's reply, frees ex and resumes parsing (or closes after an error). */
void pg_http_h1_respond(pg_http_conn *c, pg_http_ex *ex)
{
    h1 *h = c->h1;
    bool close = h->failed || !http_should_keep_alive(&h->p);
    pg_buf head = {0};
    pg_http_h1_head(ex, close, &head);
    pg_http_count_response(ex);
    if (head.failed)
        close = true;
    else
        bufferevent_write(c->bev, head.data, head.len);
    pg_buf_free(&head);
    if (strcmp(ex->method ? ex->method : "", "HEAD") != 0 && ex->rbody.len)
        bufferevent_write(c->bev, ex->rbody.data, ex->rbody.len);
    if (h->ex == ex) h->ex = NULL;
    pg_http_ex_free(ex);
    if (close) {
        c->close_after_write = true;
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    http_parser_pause(&h->p, 0);
    bufferevent_enable(c->bev, EV_READ);
    pg_http_conn_deadline(c);
    if (!h->in_execute) pg_http_h1_read(c); /* a pipelined request may be waiting */
}

void pg_http_h1_free(pg_http_conn *c)
{
    h1 *h = c->h1;
    pg_buf_free(&h->field);
    pg_buf_free(&h->value);
    free(h);
    c->h1 = NULL;
}

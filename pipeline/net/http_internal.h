/* Private to pipeline/net/http_*.c: the server, its connections and exchanges (one request
 * and its reply), shared by the protocol glue (http_h1.c over http-parser, http_h2.c over
 * nghttp2), the TLS and auth helpers and the server core.
 *
 * Ownership: a connection and the exchanges it is receiving or sending are owned by the loop
 * thread. An exchange handed to a worker (EX_WORK) is owned by the worker until
 * pg_http_reply_send hands it back; the connection counts it in `refs` and, when it closes
 * meanwhile, stays allocated (closed = true) until the last reply comes back. */
#ifndef PG_NET_HTTP_INTERNAL_H
#define PG_NET_HTTP_INTERNAL_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/core/buf.h"
#include "pipeline/net/http_server.h"
#include "pipeline/net/workers.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct pg_http_conn pg_http_conn;

typedef enum { EX_RECV, EX_WORK, EX_SEND } pg_http_ex_state;

typedef struct pg_http_route {
    char *method, *path;
    pg_http_handler fn;
    void *ctx;
    bool grpc; /* also serves gRPC calls (pg_http_server_route_grpc) */
} pg_http_route;

/* One request and its reply; the public pg_http_reply. */
struct pg_http_reply {
    pg_http_server *srv;
    pg_http_conn *conn;
    struct pg_http_reply *prev, *next; /* the connection's loop-owned list, or the done queue */
    pg_http_ex_state state;
    int32_t stream_id; /* h2; 0 for HTTP/1.1 */
    int64_t t0;        /* CLOCK_MONOTONIC ns when its first byte arrived */
    bool stream_gone;  /* h2 stream closed by the peer while a worker had it */
    pg_http_request req;
    char *method, *target; /* target: path?query as received */
    char **hn, **hv;
    size_t nh, caph, header_bytes;
    pg_buf body; /* as received, then replaced by the inflated body */
    size_t budget_held;
    int early_status; /* decided before the body: 401/404/405/413/415/431; body discarded */
    const char *early_msg;
    bool expect_continue;
    bool preflight; /* a CORS preflight, answered by http_cors.c */
    const pg_http_route *route;
    /* the reply */
    int status;
    char *ctype;
    char **rhn, **rhv;
    size_t nrh;
    char **rtn, **rtv; /* trailers (h2) */
    size_t nrt;
    pg_buf rbody;
    size_t rbody_off; /* h2: bytes handed to nghttp2 */
};
typedef struct pg_http_reply pg_http_ex;

enum { DL_NONE, DL_HANDSHAKE, DL_READ, DL_IDLE };

struct pg_http_conn {
    pg_http_server *srv;
    evutil_socket_t fd;
    struct event *peek_ev; /* first bytes, then a short retry timer */
    struct bufferevent *bev;
    struct event *deadline; /* read_timeout while a request arrives, idle_timeout otherwise */
    int dl_mode;
    pg_http_proto proto;
    bool tls;
    int refs;    /* exchanges owned by workers */
    bool closed; /* socket gone; freed when refs reaches 0 */
    bool close_after_write;
    bool in_recv;    /* inside nghttp2_session_mem_recv */
    pg_http_ex *exs; /* loop-owned exchanges */
    void *h1;        /* http_h1.c state */
    void *h2;        /* nghttp2_session */
    pg_http_conn *prev, *next;
    char peer[64];
};

/* Metric kinds of limit hits, in the label kind="...". */
typedef enum {
    LIM_BODY,
    LIM_HEADER,
    LIM_CONNECTIONS,
    LIM_STREAMS,
    LIM_READ_TIMEOUT,
    LIM_IDLE_TIMEOUT,
    LIM_DECOMPRESSION_BUDGET,
    LIM_WORKERS,
    LIM_COUNT
} pg_http_limit;

struct pg_http_server {
    struct event_base *base;
    pg_metrics *metrics;
    char *name;
    pg_http_server_config cfg; /* strings owned */
    pg_http_route *routes;
    size_t nroutes;
    bool started;
    SSL_CTX *ssl;
    char *bearer; /* expected `Bearer <token>` credentials, or NULL */
    char *basic;  /* expected `user:password`, or NULL */
    struct evconnlistener *listener;
    uint16_t port;
    pg_workers *workers;
    pthread_mutex_t done_mu;
    pg_http_ex *done_head, *done_tail; /* replies waiting for the loop */
    struct event *done_ev;
    pg_http_conn *conns;
    int64_t nconns;
    pg_gauge *open_conns;
    pg_counter *bytes_in, *auth_failures, *limits[LIM_COUNT];
    struct pg_http_cors *cors; /* NULL: CORS off (http_cors.c) */
};

/* ---- core (http_server.c, http_exchange.c) ---- */
pg_http_ex *pg_http_ex_new(pg_http_conn *c, int32_t stream_id);
void pg_http_ex_free(pg_http_ex *ex);
/* Appends one header (name lower-cased); PG_ELIMIT over max_request_header_size. */
int pg_http_ex_header(pg_http_ex *ex, const char *n, size_t nl, const char *v, size_t vl);
/* Sets method and/or target (NULL keeps the current one); counts them as header bytes. */
int pg_http_ex_start_line(pg_http_ex *ex, const char *method, const char *target, size_t tl);
/* Routes, authenticates and checks Content-Length; may set early_status. */
void pg_http_ex_headers_done(pg_http_ex *ex);
/* Appends body bytes (discarded after an early status); PG_ELIMIT over the body cap. */
int pg_http_ex_body(pg_http_ex *ex, const void *p, size_t n);
/* The request arrived whole: answers an early status on the loop or hands it to a worker. */
void pg_http_ex_complete(pg_http_ex *ex);
/* Fills the reply with a status and a plain-text message (loop or worker). */
void pg_http_ex_fail(pg_http_ex *ex, int status, const char *msg);
/* Counts a limit hit. */
void pg_http_count_limit(pg_http_server *s, pg_http_limit kind);
/* Counts one response by protocol and status (loop thread). */
void pg_http_count_response(pg_http_ex *ex);
void pg_http_conn_close(pg_http_conn *c);
/* Loop callbacks of the listener and of the reply queue (http_server.c). */
struct evconnlistener;
struct sockaddr;
void pg_http_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                       void *arg);
void pg_http_done_cb(evutil_socket_t fd, short what, void *arg);
/* Re-arms the connection's deadline from its state (call after every change). */
void pg_http_conn_deadline(pg_http_conn *c);
int64_t pg_http_now_ns(void);
/* Serialises a reply's header block for HTTP/1.1 (status line, headers, blank line). */
int pg_http_h1_head(const pg_http_ex *ex, bool close, pg_buf *out);

/* ---- CORS (http_cors.c) ---- */
/* True when ex (headers done) is a preflight to a routed path and CORS is on. */
bool pg_http_cors_is_preflight(const pg_http_ex *ex, bool path_known);
/* Fills ex's reply with the preflight answer (204, Access-Control-Allow-* when allowed). */
void pg_http_cors_preflight(pg_http_ex *ex);
/* Adds Access-Control-Allow-Origin (and Vary) to ex's reply when its Origin is allowed. */
void pg_http_cors_decorate(pg_http_ex *ex);
void pg_http_cors_free(pg_http_server *s);

/* ---- protocols ---- */
int pg_http_h1_start(pg_http_conn *c);
void pg_http_h1_read(pg_http_conn *c);
void pg_http_h1_respond(pg_http_conn *c, pg_http_ex *ex);
void pg_http_h1_free(pg_http_conn *c);

int pg_http_h2_start(pg_http_conn *c);
void pg_http_h2_read(pg_http_conn *c);
void pg_http_h2_respond(pg_http_conn *c, pg_http_ex *ex);
void pg_http_h2_write(pg_http_conn *c);
/* Switches an HTTP/1.1 connection to h2c after a complete `Upgrade: h2c` request ex (taken:
 * it becomes stream 1): answers 101, starts the session, serves ex, reads on as HTTP/2. */
void pg_http_h2_upgrade(pg_http_conn *c, pg_http_ex *ex);
void pg_http_h2_free(pg_http_conn *c);

/* ---- TLS and auth (http_tls.c, http_auth.c) ---- */
int pg_http_tls_ctx(const pg_http_tls_config *cfg, SSL_CTX **out, char *err, size_t errlen);
int pg_http_auth_load(pg_http_server *s, char *err, size_t errlen);
/* 0 when the request's Authorization matches (or no auth is configured), PG_EUNAUTH. */
int pg_http_auth_check(const pg_http_server *s, const char *authorization);

#endif

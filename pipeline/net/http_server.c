/* The server core on the loop thread: accepting, protocol detection by peeking,
 * connections and their deadlines, the reply queue back from workers, response metrics.
 * The server's life (new, routes, start, free) is in http_server_life.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

void pg_http_count_limit(pg_http_server *s, pg_http_limit kind)
{
    pg_counter_add(s->limits[kind], 1);
}

/* Counts a response in profgate_http_server_requests_total{server,protocol,code}. */
void pg_http_count_response(pg_http_ex *ex)
{
    pg_http_server *s = ex->srv;
    if (!s->metrics) return;
    char labels[256] = "", code[8];
    snprintf(code, sizeof code, "%d", ex->status);
    pg_metrics_label(labels, sizeof labels, "server", s->name);
    pg_metrics_label(labels, sizeof labels, "protocol", pg_http_proto_name(ex->conn->proto));
    pg_metrics_label(labels, sizeof labels, "code", code);
    pg_counter_add(pg_metrics_counter(s->metrics, "profgate_http_server_requests",
                                      "HTTP requests answered, by protocol and status", labels),
                   1);
    for (size_t i = 0; ex->req.grpc && i < ex->nrt; i++) {
        if (strcmp(ex->rtn[i], "grpc-status") != 0) continue;
        labels[0] = 0;
        pg_metrics_label(labels, sizeof labels, "server", s->name);
        pg_metrics_label(labels, sizeof labels, "grpc_status", ex->rtv[i]);
        pg_counter_add(pg_metrics_counter(s->metrics, "profgate_http_server_grpc_calls",
                                          "gRPC calls answered, by grpc-status", labels),
                       1);
    }
}

/* ---- connections ---- */

static void conn_free(pg_http_conn *c)
{
    if (c->deadline) event_free(c->deadline);
    free(c);
}

/* Closes the socket and every loop-owned exchange; the struct itself lives on while
 * workers hold exchanges of it. Loop thread. */
void pg_http_conn_close(pg_http_conn *c)
{
    if (c->closed) return;
    c->closed = true;
    pg_http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    pg_gauge_add(s->open_conns, -1);
    if (c->h2) pg_http_h2_free(c);
    if (c->h1) pg_http_h1_free(c);
    while (c->exs)
        pg_http_ex_free(c->exs);
    if (c->peek_ev) event_free(c->peek_ev);
    c->peek_ev = NULL;
    if (c->bev)
        bufferevent_free(c->bev); /* closes fd (and frees the SSL) */
    else if (c->fd >= 0)
        evutil_closesocket(c->fd);
    c->bev = NULL;
    if (c->deadline) event_del(c->deadline);
    if (c->refs == 0) conn_free(c);
}

int64_t pg_http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void arm(pg_http_conn *c, int mode, int64_t ns)
{
    if (ns < 1000) ns = 1000;
    struct timeval tv = {(time_t)(ns / 1000000000LL), (suseconds_t)(ns % 1000000000LL / 1000)};
    c->dl_mode = mode;
    event_add(c->deadline, &tv);
}

/* Start of the oldest request still on the loop (arriving or being answered); 0 when none. */
static int64_t oldest_request(const pg_http_conn *c)
{
    int64_t t = 0;
    for (const pg_http_ex *ex = c->exs; ex; ex = ex->next)
        if (!t || ex->t0 < t) t = ex->t0;
    return t;
}

/* Closes the connection read_timeout after its oldest request began (however slowly its
 * bytes trickle, however many streams start meanwhile), or idle_timeout after the last
 * request ended. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    pg_http_conn *c = arg;
    if (c->dl_mode == DL_READ) {
        int64_t t = oldest_request(c);
        if (!t) {
            c->dl_mode = DL_NONE;
            pg_http_conn_deadline(c);
            return;
        }
        int64_t left = t + c->srv->cfg.read_timeout - pg_http_now_ns();
        if (left > 0) {
            arm(c, DL_READ, left);
            return;
        }
    }
    pg_http_count_limit(c->srv, c->dl_mode == DL_IDLE ? LIM_IDLE_TIMEOUT : LIM_READ_TIMEOUT);
    pg_http_conn_close(c);
}

/* One deadline per connection: read_timeout while a request is on the loop, none while
 * only workers hold requests, idle_timeout when nothing is in progress. */
void pg_http_conn_deadline(pg_http_conn *c)
{
    if (c->closed) return;
    if (c->exs) {
        if (c->dl_mode != DL_READ) arm(c, DL_READ, c->srv->cfg.read_timeout);
    } else if (c->refs > 0) {
        if (c->dl_mode != DL_NONE) event_del(c->deadline);
        c->dl_mode = DL_NONE;
    } else if (c->dl_mode != DL_IDLE) {
        arm(c, DL_IDLE, c->srv->cfg.idle_timeout);
    }
}

static void bev_read_cb(struct bufferevent *bev, void *arg)
{
    pg_http_conn *c = arg;
    if (c->h2)
        pg_http_h2_read(c);
    else
        pg_http_h1_read(c);
}

static void bev_write_cb(struct bufferevent *bev, void *arg)
{
    pg_http_conn *c = arg;
    if (c->h2) pg_http_h2_write(c);
    if (!c->closed && c->close_after_write && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        pg_http_conn_close(c);
}

/* Starts the protocol once the transport is ready (plain, or TLS after the handshake). */
static void start_proto(pg_http_conn *c, bool h2)
{
    if (c->tls)
        c->proto = h2 ? PG_HTTP_H2_TLS : PG_HTTP_H1_TLS;
    else
        c->proto = h2 ? PG_HTTP_H2C : PG_HTTP_H1;
    int rc = h2 ? pg_http_h2_start(c) : pg_http_h1_start(c);
    if (rc) {
        pg_http_conn_close(c);
        return;
    }
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    pg_http_conn_deadline(c);
    /* bytes that came with the handshake or the peek are already buffered */
    if (evbuffer_get_length(bufferevent_get_input(c->bev))) bev_read_cb(c->bev, c);
}

static void bev_event_cb(struct bufferevent *bev, short what, void *arg)
{
    pg_http_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        const unsigned char *alpn = NULL;
        unsigned int alen = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alen);
        start_proto(c, alen == 2 && memcmp(alpn, "h2", 2) == 0);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) pg_http_conn_close(c);
}

/* Wraps the accepted socket in a (TLS) bufferevent and starts h1, h2c or the handshake. */
static void transport(pg_http_conn *c, int kind /* 0 h1, 1 h2c, 2 tls */)
{
    pg_http_server *s = c->srv;
    if (kind == 2) {
        SSL *ssl = SSL_new(s->ssl);
        if (!ssl) {
            pg_http_conn_close(c);
            return;
        }
        c->tls = true;
        c->bev = bufferevent_openssl_socket_new(s->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev) SSL_free(ssl);
    } else {
        c->bev = bufferevent_socket_new(s->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        pg_http_conn_close(c);
        return;
    }
    c->fd = -1; /* the bufferevent owns it */
    bufferevent_setcb(c->bev, bev_read_cb, bev_write_cb, bev_event_cb, c);
    struct timeval wt = {(time_t)(s->cfg.read_timeout / 1000000000LL), 0};
    if (wt.tv_sec == 0) wt.tv_usec = (suseconds_t)(s->cfg.read_timeout / 1000);
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    if (kind == 2) {
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        return;
    }
    start_proto(c, kind == 1);
}

/* The first readable event (or the retry timer: fd is then -1): peeks at up to 24 bytes. */
static void peek_cb(evutil_socket_t fd, short what, void *arg)
{
    pg_http_conn *c = arg;
    uint8_t b[H2_PREFACE_LEN];
    ssize_t n = recv(c->fd, b, sizeof b, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        pg_http_conn_close(c);
        return;
    }
    if (n < 0) { /* spurious wake-up: wait for the bytes */
        if (fd >= 0) event_add(c->peek_ev, NULL);
        return;
    }
    int kind = 0;
    if (n > 0 && b[0] == 0x16 && c->srv->ssl)
        kind = 2; /* without tls: HTTP/1.1 says 400 */
    else if (n > 0 && memcmp(b, h2_preface, (size_t)n) == 0) {
        if (n < H2_PREFACE_LEN) { /* part of the preface: look again shortly */
            struct timeval tv = {0, 5000};
            event_free(c->peek_ev);
            c->peek_ev = evtimer_new(c->srv->base, peek_cb, c);
            if (!c->peek_ev)
                pg_http_conn_close(c);
            else
                event_add(c->peek_ev, &tv);
            return;
        }
        kind = 1;
    }
    event_free(c->peek_ev);
    c->peek_ev = NULL;
    transport(c, kind);
}

void pg_http_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                       void *arg)
{
    pg_http_server *s = arg;
    if (s->nconns >= s->cfg.max_connections) {
        pg_http_count_limit(s, LIM_CONNECTIONS);
        evutil_closesocket(fd);
        return;
    }
    pg_http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(c->peer, sizeof c->peer, "[%s]:%d", host, port);
    }
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    pg_gauge_add(s->open_conns, 1);
    c->deadline = evtimer_new(s->base, deadline_cb, c);
    c->peek_ev = event_new(s->base, fd, EV_READ, peek_cb, c);
    if (!c->deadline || !c->peek_ev) {
        pg_http_conn_close(c);
        return;
    }
    arm(c, DL_HANDSHAKE, s->cfg.read_timeout); /* the first bytes and a TLS handshake */
    event_add(c->peek_ev, NULL);
}

/* ---- replies coming back from workers ---- */

void pg_http_done_cb(evutil_socket_t fd, short what, void *arg)
{
    pg_http_server *s = arg;
    pthread_mutex_lock(&s->done_mu);
    pg_http_ex *ex = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->done_mu);
    while (ex) {
        pg_http_ex *next = ex->next;
        pg_http_conn *c = ex->conn;
        c->refs--;
        ex->state = EX_SEND;
        ex->prev = NULL;
        ex->next = NULL;
        if (c->closed || ex->stream_gone) {
            ex->conn = c->closed ? NULL : c;
            pg_http_ex_free(ex);
            if (c->closed && c->refs == 0) conn_free(c);
        } else {
            ex->next = c->exs;
            if (c->exs) c->exs->prev = ex;
            c->exs = ex;
            if (c->h2)
                pg_http_h2_respond(c, ex);
            else
                pg_http_h1_respond(c, ex);
        }
        ex = next;
    }
}

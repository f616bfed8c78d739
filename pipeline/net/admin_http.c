/* The small evhttp server behind /metrics and health_check (see admin_http.h). We
 * open the listening socket ourselves (exact bind errors, IPv6 literals, port 0) and give
 * it to evhttp. Freeing evhttp must happen where no evhttp callback can run concurrently,
 * i.e. on the loop thread or while the loop is stopped: stop() arranges that. */
#include "pipeline/net/admin_http.h"
#include "pipeline/core/err.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct pg_admin_http {
    struct event_base *base;
    struct evhttp *http;
    pg_admin_http_handler fn;
    void *ctx;
    uint16_t port;
    struct event *probe_ev; /* activated at start: learns the loop thread */
    struct event *stop_ev;  /* activated by stop: frees evhttp on the loop thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool loop_known, done;
    pthread_t loop_tid;
};

/* Records the calling thread as the loop thread. */
static void note_loop_thread(pg_admin_http *s)
{
    pthread_mutex_lock(&s->mu);
    s->loop_tid = pthread_self();
    s->loop_known = true;
    pthread_mutex_unlock(&s->mu);
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    note_loop_thread(arg);
}

/* Routes GET and HEAD to the handler; other methods get 405 with Allow. */
static void request_cb(struct evhttp_request *req, void *arg)
{
    pg_admin_http *s = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        static const char msg[] = "method not allowed: use GET\n";
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        pg_admin_http_reply(req, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    s->fn(req, path && *path ? path : "/", s->ctx);
}

/* Opens a listening, non-blocking socket on host:port. Returns the fd, or PG_EIO with the
 * message in err. */
static int open_listener(const char *host, uint16_t port, char *err, size_t errlen)
{
    char svc[8];
    snprintf(svc, sizeof svc, "%u", (unsigned)port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    const char *node = host && *host ? host : NULL;
    int gai = getaddrinfo(node, svc, &hints, &res);
    if (gai != 0)
        return pg_err(err, errlen, PG_EIO, "listen on %s:%u: %s", node ? node : "", (unsigned)port,
                      gai_strerror(gai));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return pg_err(err, errlen, PG_EIO, "listen on %s:%u: %s", node ? node : "", (unsigned)port,
                      strerror(saved ? saved : EADDRNOTAVAIL));
    return fd;
}

/* Port of a bound socket, 0 when unknown. */
static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/* Frees the evhttp (listener, connections) once; callers make sure no evhttp callback can
 * run concurrently. */
static void free_http(pg_admin_http *s)
{
    if (s->http) evhttp_free(s->http);
    s->http = NULL;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    pg_admin_http *s = arg;
    (void)fd;
    (void)what;
    note_loop_thread(s);
    free_http(s);
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Frees the events, sync objects and s (evhttp already freed). */
static void free_all(pg_admin_http *s)
{
    if (s->stop_ev) event_free(s->stop_ev); /* waits for stop_cb to return if it runs */
    if (s->probe_ev) event_free(s->probe_ev);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int pg_admin_http_start(struct event_base *base, const char *host, uint16_t port,
                        pg_admin_http_handler fn, void *ctx, pg_admin_http **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    pg_admin_http *s = calloc(1, sizeof *s);
    if (!s) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    s->base = base;
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->probe_ev = event_new(base, -1, 0, probe_cb, s);
    s->stop_ev = event_new(base, -1, 0, stop_cb, s);
    s->http = evhttp_new(base);
    if (!s->probe_ev || !s->stop_ev || !s->http) {
        free_http(s);
        free_all(s);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    /* every setting before the socket is handed over: requests may arrive at once */
    /* evhttp answers 501 to methods not listed here: list the common ones, answer 405 */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(s->http, 4096);
    evhttp_set_max_headers_size(s->http, 16384);
    evhttp_set_timeout(s->http, 10);
    evhttp_set_gencb(s->http, request_cb, s);
    int fd = open_listener(host, port, err, errlen);
    if (fd < 0) {
        free_http(s);
        free_all(s);
        return PG_EIO;
    }
    s->port = bound_port(fd);
    if (!evhttp_accept_socket_with_handle(s->http, fd)) {
        close(fd);
        free_http(s);
        free_all(s);
        return pg_err(err, errlen, PG_EIO, "listen on %s:%u: evhttp refused the socket",
                      host ? host : "", (unsigned)port);
    }
    event_active(s->probe_ev, EV_TIMEOUT, 0);
    *out = s;
    return 0;
}

uint16_t pg_admin_http_port(const pg_admin_http *s)
{
    return s ? s->port : 0;
}

void pg_admin_http_stop(pg_admin_http *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    bool known = s->loop_known, on_loop = known && pthread_equal(s->loop_tid, pthread_self());
    pthread_mutex_unlock(&s->mu);
    if (on_loop) {
        free_http(s);
        free_all(s);
        return;
    }
    event_active(s->stop_ev, EV_TIMEOUT, 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long wait_ms = known ? 2000 : 200;
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->done)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0) break;
    pthread_mutex_unlock(&s->mu);
    /* The loop did not answer: take the event back (waits if stop_cb runs right now). */
    event_del(s->stop_ev);
    pthread_mutex_lock(&s->mu);
    bool done = s->done;
    pthread_mutex_unlock(&s->mu);
    if (!done) free_http(s);
    free_all(s);
}

void pg_admin_http_reply(struct evhttp_request *req, int code, const char *content_type,
                         const void *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (content_type) evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp 2.1 would send the body: send only the length GET would have */
        char cl[24];
        snprintf(cl, sizeof cl, "%zu", len);
        evhttp_add_header(h, "Content-Length", cl);
    } else if (buf && body && len) {
        evbuffer_add(buf, body, len);
    }
    evhttp_send_reply(req, code, NULL, buf);
    if (buf) evbuffer_free(buf);
}

/* The server's life: config copy, metrics registration, routes, start (TLS, secrets,
 * workers, listener) and the stop that hands the teardown to the loop thread. */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

static const char *const limit_names[LIM_COUNT] = {
    "body_size",    "header_size",  "connections",          "streams",
    "read_timeout", "idle_timeout", "decompression_budget", "workers"};

/* ---- the server ---- */

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *fail = true;
    return d;
}

/* Copies the config strings the server keeps; false when out of memory. */
static bool copy_config(pg_http_server_config *dst, const pg_http_server_config *src)
{
    bool fail = false;
    *dst = *src;
    dst->endpoint.text = dup_or_null(src->endpoint.text, &fail);
    dst->endpoint.host = dup_or_null(src->endpoint.host, &fail);
    dst->tls.cert_file = dup_or_null(src->tls.cert_file, &fail);
    dst->tls.key_file = dup_or_null(src->tls.key_file, &fail);
    dst->tls.client_ca_file = dup_or_null(src->tls.client_ca_file, &fail);
    dst->auth.bearer_token_file = dup_or_null(src->auth.bearer_token_file, &fail);
    dst->auth.basic.username = dup_or_null(src->auth.basic.username, &fail);
    dst->auth.basic.password_file = dup_or_null(src->auth.basic.password_file, &fail);
    return !fail;
}

static void free_config(pg_http_server_config *c)
{
    free(c->endpoint.text);
    free(c->endpoint.host);
    free(c->tls.cert_file);
    free(c->tls.key_file);
    free(c->tls.client_ca_file);
    free(c->auth.bearer_token_file);
    free(c->auth.basic.username);
    free(c->auth.basic.password_file);
}

/* Registers the server's series in m (may be NULL: counters stay NULL, updates no-op). */
static void init_metrics(pg_http_server *s)
{
    if (!s->metrics) return;
    char l[192] = "";
    pg_metrics_label(l, sizeof l, "server", s->name);
    s->open_conns = pg_metrics_gauge(s->metrics, "profgate_http_server_open_connections",
                                     "open HTTP connections", l);
    s->bytes_in = pg_metrics_counter(s->metrics, "profgate_http_server_received_body_bytes",
                                     "request body bytes received (before decompression)", l);
    s->auth_failures = pg_metrics_counter(s->metrics, "profgate_http_server_auth_failures",
                                          "requests refused with 401", l);
    for (int k = 0; k < LIM_COUNT; k++) {
        char lk[256];
        snprintf(lk, sizeof lk, "%s", l);
        pg_metrics_label(lk, sizeof lk, "kind", limit_names[k]);
        s->limits[k] = pg_metrics_counter(s->metrics, "profgate_http_server_limit_hits",
                                          "requests or connections stopped by a limit", lk);
    }
}

int pg_http_server_new(struct event_base *base, pg_metrics *m, const char *name,
                       const pg_http_server_config *cfg, pg_http_server **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    int rc = pg_http_server_config_validate(cfg, err, errlen);
    if (rc) return rc;
    pg_http_server *s = calloc(1, sizeof *s);
    if (!s) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    s->base = base;
    s->metrics = m;
    s->name = strdup(name ? name : "http");
    pthread_mutex_init(&s->done_mu, NULL);
    s->done_ev = event_new(base, -1, 0, pg_http_done_cb, s);
    if (!s->name || !copy_config(&s->cfg, cfg) || !s->done_ev) {
        pg_http_server_free(s);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    init_metrics(s);
    *out = s;
    return 0;
}

int pg_http_server_route(pg_http_server *s, const char *method, const char *path,
                         pg_http_handler fn, void *ctx)
{
    if (s->started || !fn) return PG_EINVAL;
    for (size_t i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].path, path) == 0)
            return PG_EINVAL;
    pg_http_route *r = realloc(s->routes, (s->nroutes + 1) * sizeof *r);
    if (!r) return PG_ENOMEM;
    s->routes = r;
    r = &s->routes[s->nroutes];
    r->method = strdup(method);
    r->path = strdup(path);
    r->fn = fn;
    r->ctx = ctx;
    r->grpc = false;
    if (!r->method || !r->path) {
        free(r->method);
        free(r->path);
        return PG_ENOMEM;
    }
    s->nroutes++;
    return 0;
}

/* See http_server.h. */
int pg_http_server_route_grpc(pg_http_server *s, const char *path)
{
    if (s->started) return PG_EINVAL;
    for (size_t i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, "POST") == 0 && strcmp(s->routes[i].path, path) == 0) {
            s->routes[i].grpc = true;
            return 0;
        }
    return PG_ENOTFOUND;
}

/* Binds host:port from the endpoint; the listener is created enabled on s->base. */
static int listen_on(pg_http_server *s, char *err, size_t errlen)
{
    const char *host =
        s->cfg.endpoint.host && *s->cfg.endpoint.host ? s->cfg.endpoint.host : "0.0.0.0";
    struct evutil_addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE;
    char port[8];
    snprintf(port, sizeof port, "%u", s->cfg.endpoint.port);
    if (evutil_getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return pg_err(err, errlen, PG_EIO, "listen on %s:%s: cannot resolve", host, port);
    s->listener =
        evconnlistener_new_bind(s->base, pg_http_accept_cb, s,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_THREADSAFE, 256,
                                ai->ai_addr, (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    if (!s->listener)
        return pg_err(err, errlen, PG_EIO, "listen on %s:%s: %s", host, port, strerror(errno));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &sl) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int pg_http_server_start(pg_http_server *s, char *err, size_t errlen)
{
    if (s->started) return pg_err(err, errlen, PG_EINVAL, "server already started");
    int rc = 0;
    if (s->cfg.tls.cert_file) rc = pg_http_tls_ctx(&s->cfg.tls, &s->ssl, err, errlen);
    if (!rc) rc = pg_http_auth_load(s, err, errlen);
    if (!rc)
        rc = pg_workers_new((size_t)s->cfg.workers, (size_t)s->cfg.worker_queue, &s->workers, err,
                            errlen);
    if (rc) return rc;
    pg_http_set_decompression_budget(s->cfg.decompression_budget);
    s->started = true;
    return listen_on(s, err, errlen);
}

uint16_t pg_http_server_port(const pg_http_server *s)
{
    return s ? s->port : 0;
}

/* Loop-side teardown: the listener, pending replies, every connection. */
static void close_all(pg_http_server *s)
{
    if (s->listener) evconnlistener_free(s->listener);
    s->listener = NULL;
    pg_http_done_cb(-1, 0, s);
    while (s->conns)
        pg_http_conn_close(s->conns);
}

typedef struct stop_call {
    pg_http_server *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} stop_call;

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    stop_call *sc = arg;
    close_all(sc->s);
    pthread_mutex_lock(&sc->mu);
    sc->done = true;
    pthread_cond_signal(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
}

/* Runs close_all on the loop thread and waits for it, up to 2 s; when the loop does not
 * run it, runs it here (the loop is then not running, so nothing races). */
static void close_on_loop(pg_http_server *s)
{
    stop_call sc = {.s = s, .done = false};
    pthread_mutex_init(&sc.mu, NULL);
    pthread_cond_init(&sc.cv, NULL);
    struct event *ev = event_new(s->base, -1, 0, stop_cb, &sc);
    if (ev) {
        event_active(ev, EV_TIMEOUT, 0);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        pthread_mutex_lock(&sc.mu);
        while (!sc.done)
            if (pthread_cond_timedwait(&sc.cv, &sc.mu, &until) != 0) break;
        pthread_mutex_unlock(&sc.mu);
        event_del(ev); /* waits while stop_cb runs */
        event_free(ev);
    }
    if (!sc.done) close_all(s);
    pthread_mutex_destroy(&sc.mu);
    pthread_cond_destroy(&sc.cv);
}

void pg_http_server_free(pg_http_server *s)
{
    if (!s) return;
    if (s->listener) evconnlistener_disable(s->listener);
    pg_workers_stop(s->workers); /* every queued handler runs and sends */
    s->workers = NULL;
    if (s->started) close_on_loop(s);
    if (s->done_ev) event_free(s->done_ev);
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    free(s->routes);
    pg_http_cors_free(s);
    if (s->ssl) SSL_CTX_free(s->ssl);
    if (s->bearer) {
        OPENSSL_cleanse(s->bearer, strlen(s->bearer));
        free(s->bearer);
    }
    if (s->basic) {
        OPENSSL_cleanse(s->basic, strlen(s->basic));
        free(s->basic);
    }
    free_config(&s->cfg);
    pthread_mutex_destroy(&s->done_mu);
    free(s->name);
    free(s);
}

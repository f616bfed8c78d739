/* A small HTTP/1.1 server (libevent evhttp on a port of its own) for the self-observability
 * endpoints: the Prometheus /metrics endpoint and the health_check extension. GET and HEAD
 * only (others get 405), tiny bodies (4 KiB), 10 s timeouts. Requests are served on the
 * event base's loop thread.
 *
 * Threading: start may be called from any thread (the loop may already run). stop may be
 * called from any thread: on the loop thread it frees at once; from another thread it
 * hands the work to the loop and waits for it, and when the loop does not answer (it is
 * not running) it frees directly. Stop is prompt when called on the loop thread or while
 * the loop runs; otherwise it waits up to ~200 ms (up to 2 s when the loop ran before and
 * has since stopped). */
#ifndef PG_NET_ADMIN_HTTP_H
#define PG_NET_ADMIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;

typedef struct pg_admin_http pg_admin_http;

/* Called on the loop thread for each GET/HEAD; `path` is the request path without the
 * query (borrowed). The handler must answer with pg_admin_http_reply. */
typedef void (*pg_admin_http_handler)(struct evhttp_request *req, const char *path, void *ctx);

/* Listens on host:port ("" = every interface; port 0 = a free port) and serves with fn(ctx)
 * (ctx borrowed until stop returns). Returns 0 and *out (caller owns; stop frees it), or
 * PG_EIO / PG_ENOMEM with "listen on host:port: reason" in err. */
int pg_admin_http_start(struct event_base *base, const char *host, uint16_t port,
                        pg_admin_http_handler fn, void *ctx, pg_admin_http **out, char *err,
                        size_t errlen);

/* The bound port (the chosen one when started with port 0). */
uint16_t pg_admin_http_port(const pg_admin_http *s);

/* Closes the listener and every connection, then frees s. NULL is a no-op. When it
 * returns, no handler call is running or will run. */
void pg_admin_http_stop(pg_admin_http *s);

/* Sends a complete response (body copied; may be NULL with len 0). */
void pg_admin_http_reply(struct evhttp_request *req, int code, const char *content_type,
                         const void *body, size_t len);

#endif

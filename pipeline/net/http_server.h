/* The HTTP server stack shared by every network receiver and extension: one port serving
 * HTTP/1.1 (http-parser), h2c with prior knowledge and h2 or HTTP/1.1 over TLS (ALPN),
 * chosen by peeking at the first bytes; optional mTLS, bearer or basic auth, limits on
 * every size and time, Content-Encoding gzip / zstd / deflate inflated with a cap measured
 * after decompression and a process-wide decompression budget.
 *
 * Threads: the listener and every connection live on the host's event loop thread
 * (pg_host_event_base). A complete request (body read and inflated) is handed to a bounded
 * worker pool; the route's handler runs there and answers with pg_http_reply_send, from any
 * thread, which hands the response back to the loop. A full pool answers 503 with
 * Retry-After at once.
 *
 * Typical use in a receiver:
 *
 *     // config struct:  pg_http_server_config http;
 *     // config table:   PG_HTTP_SERVER_FIELDS(my_cfg, http, "0.0.0.0:4318"),
 *     pg_http_server *srv;
 *     rc = pg_http_server_new(base, metrics, "otlp", &cfg->http, &srv, err, errlen);
 *     rc = pg_http_server_route(srv, "POST", "/v1development/profiles", on_export, self);
 *     rc = pg_http_server_start(srv, err, errlen);
 *     ...
 *     static void on_export(void *ctx, const pg_http_request *req, pg_http_reply *reply) {
 *         int rc = decode_and_consume(req->body, req->body_len, ...);
 *         if (rc) pg_http_reply_error(reply, rc, msg);
 *         else pg_http_reply_set(reply, 200, "application/x-protobuf", out, outlen);
 *         pg_http_reply_send(reply);
 *     }
 *     pg_http_server_free(srv);   // in shutdown: stops listening, waits for handlers
 *
 * The process must ignore SIGPIPE (the service does): peers may close while a reply is
 * written. Certificates, the token and the password are read by pg_http_server_start; profgate
 * reloads the whole graph on SIGHUP, which re-reads them. */
#ifndef PG_NET_HTTP_SERVER_H
#define PG_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/telemetry/metrics.h"

struct event_base;

/* ---- Config ---------------------------------------------------------------------------- */

typedef struct pg_http_tls_config {
    char *cert_file;      /* PEM chain; TLS is on when set */
    char *key_file;       /* PEM private key */
    char *client_ca_file; /* when set, clients must present a certificate it signed (mTLS) */
    int min_version;      /* PG_HTTP_TLS_1_2 (default) or PG_HTTP_TLS_1_3 */
} pg_http_tls_config;

enum { PG_HTTP_TLS_1_2, PG_HTTP_TLS_1_3 };

typedef struct pg_http_auth_config {
    char *bearer_token_file; /* `Authorization: Bearer <file contents, trimmed>` */
    struct pg_http_basic_config {
        char *username;
        char *password_file; /* `Authorization: Basic base64(username:password)` */
    } basic;
} pg_http_auth_config;

typedef struct pg_http_server_config {
    pg_cfg_endpoint endpoint;
    pg_http_tls_config tls;
    pg_http_auth_config auth;
    uint64_t max_request_body_size;   /* after decompression; default 20 MiB */
    uint64_t max_request_header_size; /* request line + headers; default 64 KiB */
    int64_t max_connections;          /* open connections; default 1024 */
    int64_t max_concurrent_streams;   /* h2 streams per connection; default 100 */
    int64_t read_timeout;             /* ns: a request must arrive whole within it; 30s */
    int64_t idle_timeout;             /* ns: a connection with no request is closed; 60s */
    int64_t workers;                  /* handler threads; default 2 */
    int64_t worker_queue;             /* requests waiting for a worker; default 64 */
    uint64_t decompression_budget;    /* process-wide bytes of bodies held (raw + inflated) */
} pg_http_server_config;

extern const pg_cfg_field pg_http_tls_fields[];
extern const pg_cfg_field pg_http_auth_fields[];

/* The keys of pg_http_server_config (the Collector's confighttp names where they exist) for
 * member m of config struct T, listening on def_endpoint by default. Put it inside a
 * component's table. Limits hit are counted in profgate_http_server_limit_hits_total. */
#define PG_HTTP_SERVER_FIELDS(T, m, def_endpoint)                                                    \
    {"endpoint", PG_CFG_ENDPOINT, offsetof(T, m.endpoint),      def_endpoint, NULL, NULL, NULL,      \
     NULL,       false,           "listening address host:port"},                                    \
        {"tls", PG_CFG_SECTION, offsetof(T, m.tls), NULL,  NULL,                                     \
         NULL,  NULL,           pg_http_tls_fields, false, "TLS (h2 or HTTP/1.1 by ALPN) and mTLS"}, \
        {"auth",                                                                                     \
         PG_CFG_SECTION,                                                                             \
         offsetof(T, m.auth),                                                                        \
         NULL,                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         pg_http_auth_fields,                                                                        \
         false,                                                                                      \
         "bearer token or basic authentication (401 otherwise)"},                                    \
        {"max_request_body_size",                                                                    \
         PG_CFG_SIZE,                                                                                \
         offsetof(T, m.max_request_body_size),                                                       \
         "20MiB",                                                                                    \
         "1",                                                                                        \
         NULL,                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "body bytes after decompression (413 above)"},                                              \
        {"max_request_header_size",                                                                  \
         PG_CFG_SIZE,                                                                                \
         offsetof(T, m.max_request_header_size),                                                     \
         "64KiB",                                                                                    \
         "1KiB",                                                                                     \
         "1MiB",                                                                                     \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "request line and header bytes (431 above)"},                                               \
        {"max_connections",                                                                          \
         PG_CFG_INT,                                                                                 \
         offsetof(T, m.max_connections),                                                             \
         "1024",                                                                                     \
         "1",                                                                                        \
         "1000000",                                                                                  \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "open connections; more are closed at accept"},                                             \
        {"max_concurrent_streams",                                                                   \
         PG_CFG_INT,                                                                                 \
         offsetof(T, m.max_concurrent_streams),                                                      \
         "100",                                                                                      \
         "1",                                                                                        \
         "10000",                                                                                    \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "HTTP/2 streams open at once per connection"},                                              \
        {"read_timeout",                                                                             \
         PG_CFG_DURATION,                                                                            \
         offsetof(T, m.read_timeout),                                                                \
         "30s",                                                                                      \
         "1ms",                                                                                      \
         NULL,                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "a request (headers and body) must arrive whole within it"},                                \
        {"idle_timeout",                                                                             \
         PG_CFG_DURATION,                                                                            \
         offsetof(T, m.idle_timeout),                                                                \
         "60s",                                                                                      \
         "1ms",                                                                                      \
         NULL,                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "a connection without a request in progress is closed after it"},                           \
        {"workers",                                                                                  \
         PG_CFG_INT,                                                                                 \
         offsetof(T, m.workers),                                                                     \
         "2",                                                                                        \
         "1",                                                                                        \
         "64",                                                                                       \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "threads running request handlers"},                                                        \
        {"worker_queue",                                                                             \
         PG_CFG_INT,                                                                                 \
         offsetof(T, m.worker_queue),                                                                \
         "64",                                                                                       \
         "1",                                                                                        \
         "100000",                                                                                   \
         NULL,                                                                                       \
         NULL,                                                                                       \
         false,                                                                                      \
         "requests waiting for a worker (503 above)"},                                               \
    {                                                                                                \
        "decompression_budget", PG_CFG_SIZE, offsetof(T, m.decompression_budget), "256MiB",          \
            "1MiB", NULL, NULL, NULL, false,                                                         \
            "process-wide bytes of request bodies held at once, raw and inflated (503 above)"        \
    }

/* CORS (the Collector's confighttp `cors`), for servers browsers post to. */
typedef struct pg_http_cors_config {
    pg_cfg_strlist allowed_origins; /* exact, one `*` wildcard, or "*"; empty: CORS off */
    pg_cfg_strlist allowed_headers; /* besides Accept, Content-Type, X-Requested-With, Origin */
    int64_t max_age;                /* seconds (Access-Control-Max-Age); 0: not sent */
} pg_http_cors_config;

extern const pg_cfg_field pg_http_cors_fields[];

/* The `cors` key for member m (pg_http_cors_config) of config struct T. */
#define PG_HTTP_CORS_FIELD(T, m)                                                                   \
    {                                                                                              \
        .key = "cors", .type = PG_CFG_SECTION, .offset = offsetof(T, m),                           \
        .section = pg_http_cors_fields,                                                            \
        .doc = "CORS: allowed_origins, allowed_headers, max_age (preflight OPTIONS answered)"      \
    }

/* Fills cfg with the defaults (for tests and components building a config by hand); the
 * endpoint is left unset. */
void pg_http_server_config_default(pg_http_server_config *cfg);

/* Cross-field checks (key without cert, password file without username, both auth kinds).
 * Components call it from their validate. Returns 0 or PG_EINVAL with a message. */
int pg_http_server_config_validate(const pg_http_server_config *cfg, char *err, size_t errlen);

/* ---- Requests and replies -------------------------------------------------------------- */

typedef enum { PG_HTTP_H1 = 0, PG_HTTP_H2C, PG_HTTP_H1_TLS, PG_HTTP_H2_TLS } pg_http_proto;

/* One request as a handler sees it; everything is borrowed until pg_http_reply_send. */
typedef struct pg_http_request {
    const char *method; /* "POST" */
    const char *path;   /* "/v1development/profiles", without the query */
    const char *query;  /* after '?', "" when none */
    size_t nheaders;
    const char *const *header_names;  /* lower-cased */
    const char *const *header_values; /* as sent */
    const uint8_t *body;              /* decompressed (Content-Encoding removed) */
    size_t body_len;
    size_t wire_len; /* body bytes as received (before decompression) */
    pg_http_proto proto;
    const char *peer; /* "127.0.0.1:53412" */
    bool grpc;        /* a gRPC call (HTTP/2, application/grpc): body is the message (grpc.h) */
} pg_http_request;

typedef struct pg_http_reply pg_http_reply;

/* Returns the value of header `name` (lower-case), the first one when repeated, or NULL. */
const char *pg_http_header(const pg_http_request *req, const char *name);

/* "HTTP/1.1", "h2c", "HTTP/1.1+TLS", "h2" */
const char *pg_http_proto_name(pg_http_proto p);

/* Sets the status and the body (copied; content_type may be NULL). Returns 0 or PG_ENOMEM. */
int pg_http_reply_set(pg_http_reply *r, int status, const char *content_type, const void *body,
                      size_t len);

/* Adds a response header (copied). Returns 0, PG_EINVAL (bad characters) or PG_ENOMEM. */
int pg_http_reply_header(pg_http_reply *r, const char *name, const char *value);

/* Adds a response trailer (copied), sent after the body over HTTP/2 (not over HTTP/1.1);
 * with an empty body the trailers go in the response's only HEADERS frame (gRPC's
 * trailers-only answer). pg_http_reply_set drops the trailers set before it. Returns 0,
 * PG_EINVAL (bad characters) or PG_ENOMEM. */
int pg_http_reply_trailer(pg_http_reply *r, const char *name, const char *value);

/* Sets the status from a PG_* code (pg_status_http) and a text/plain body of msg; a
 * retryable code (503) adds `Retry-After: 1`. For a gRPC request (req->grpc) it is the
 * gRPC error instead (pg_grpc_reply_error). Returns 0 or PG_ENOMEM. */
int pg_http_reply_error(pg_http_reply *r, int code, const char *msg);

/* Sends the reply and ends the request: call exactly once per handler call, from any
 * thread, at any time before pg_http_server_free (it may be after the handler returned).
 * After it, r and the request are gone. A status never set sends 500. */
void pg_http_reply_send(pg_http_reply *r);

/* Runs on a worker thread for every request of its route. ctx is the route's. */
typedef void (*pg_http_handler)(void *ctx, const pg_http_request *req, pg_http_reply *reply);

/* ---- The server ------------------------------------------------------------------------ */

typedef struct pg_http_server pg_http_server;

/* Makes a server for cfg (copied) on base's loop, with metrics labelled {server="name"}
 * in m (borrowed; may be NULL). Does no I/O. Returns 0 and *out (caller owns;
 * pg_http_server_free), or PG_EINVAL / PG_ENOMEM with a message. */
int pg_http_server_new(struct event_base *base, pg_metrics *m, const char *name,
                       const pg_http_server_config *cfg, pg_http_server **out, char *err,
                       size_t errlen);

/* Adds a route (before start): requests for method (exact, "POST") and path (exact, without
 * the query) go to fn(ctx) (ctx borrowed until free). A known path with another method gets
 * 405, an unknown path 404. Returns 0, PG_EINVAL (after start, duplicate) or PG_ENOMEM. */
int pg_http_server_route(pg_http_server *s, const char *method, const char *path,
                         pg_http_handler fn, void *ctx);

/* Lets the POST route at path (added before) also take gRPC calls (pipeline/net/grpc.h): its
 * handler then sees req->grpc and answers with pg_grpc_reply / pg_http_reply_error. A gRPC
 * call to any other route is answered UNIMPLEMENTED before a handler runs. Before start.
 * Returns 0, PG_EINVAL (after start) or PG_ENOTFOUND (no such route). */
int pg_http_server_route_grpc(pg_http_server *s, const char *path);

/* Turns CORS on for every route (before start; cfg copied; no allowed_origins: off). A
 * preflight (OPTIONS with Origin and Access-Control-Request-Method to a routed path) gets 204,
 * with Access-Control-Allow-Origin/-Methods/-Headers/-Max-Age when the origin, a method routed
 * on that path and every requested header are allowed, without them otherwise; it needs no
 * credentials. Every other reply to an allowed Origin carries Access-Control-Allow-Origin.
 * Returns 0, PG_EINVAL (after start) or PG_ENOMEM. */
int pg_http_server_cors(pg_http_server *s, const pg_http_cors_config *cfg);

/* True when origin (borrowed) matches the server's allowed_origins. */
bool pg_http_cors_origin_allowed(const pg_http_server *s, const char *origin);

/* Reads the TLS files and the auth secrets, starts the workers and listens (from any
 * thread). Returns 0, or PG_EIO / PG_EINVAL / PG_ENOMEM with a message naming the file or
 * the address. */
int pg_http_server_start(pg_http_server *s, char *err, size_t errlen);

/* The bound port (the chosen one for port 0), 0 before start. */
uint16_t pg_http_server_port(const pg_http_server *s);

/* Stops listening, lets the queued requests' handlers run and send, closes every
 * connection and frees s. From a thread other than the loop's while the loop runs, or from
 * any thread when the loop is not running (it then waits up to 2 s for the loop first);
 * never from a handler or a loop callback. Replies still queued on a connection when it
 * closes are not flushed. NULL is a no-op. */
void pg_http_server_free(pg_http_server *s);

/* Sets the process-wide body budget (bytes of request bodies, raw and inflated, held at once
 * by all servers); a request that would pass it gets 503 with Retry-After. Servers set it from
 * their config at start (the smallest configured value wins). */
void pg_http_set_decompression_budget(uint64_t bytes);

#endif

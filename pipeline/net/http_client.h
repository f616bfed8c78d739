/* The outgoing HTTP client shared by every component that sends over HTTP (the otlphttp and
 * pyroscope exporters, anything that posts or fetches): libcurl easy handles in a small pool
 * that share one connection cache, DNS cache and TLS session cache, so consecutive requests
 * to the same peer reuse a connection (HTTP/1.1 keep-alive or one h2 connection).
 *
 * Versions: PG_HTTP_CLIENT_AUTO (default) negotiates h2 over TLS by ALPN and speaks HTTP/1.1
 * in clear text; PG_HTTP_CLIENT_HTTP1 always speaks HTTP/1.1; PG_HTTP_CLIENT_HTTP2 asks for
 * h2 by ALPN over TLS and uses h2c with prior knowledge (no upgrade) in clear text.
 *
 * TLS (https:// URLs): a CA bundle (`ca_file`, else the system's), a client certificate and
 * key for mTLS (`cert_file`, `key_file`), `insecure_skip_verify` (no peer or host name
 * check: tests only), `server_name_override` (the name sent in SNI and checked against the
 * certificate, while the connection still goes to the URL's host and port).
 *
 * Each request carries its own header lines ("Name: value"), body and deadline; a
 * response's body is kept up to `max_response_body` bytes (beyond that the transfer stops
 * and `truncated` is set), its status, Content-Type and Retry-After (delay-seconds or an
 * HTTP date, as seconds from now) are returned. Any HTTP status is a successful exchange:
 * the caller decides what a 4xx or 5xx means.
 *
 * Typical use:
 *
 *     pg_http_client_config cc;
 *     pg_http_client_config_default(&cc);
 *     cc.tls = &my_tls;                       // borrowed during new only
 *     pg_http_client *hc;
 *     rc = pg_http_client_new(&cc, &hc, err, errlen);
 *     const char *hdr[] = {"Content-Type: application/x-protobuf", auth_line};
 *     pg_http_client_req rq = {.method = "POST", .url = url, .headers = hdr, .n_headers = 2,
 *                              .body = buf.data, .body_len = buf.len, .deadline_ns = dl};
 *     pg_http_client_resp rs;
 *     rc = pg_http_client_do(hc, &rq, &rs, err, errlen);  // 0: rs.status is the answer
 *     ... pg_http_client_resp_free(&rs);
 *     pg_http_client_free(hc);
 *
 * Threads: pg_http_client_do may be called from any number of threads at once; at most
 * `pool_size` requests run concurrently, the others wait for a handle (until their
 * deadline). */
#ifndef PG_NET_HTTP_CLIENT_H
#define PG_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/core/buf.h"

/* ---- Client TLS settings (also used by the gRPC exporter) -------------------------------- */

typedef struct pg_tls_client_config {
    bool insecure;              /* gRPC: a plain-text channel (HTTP: the URL scheme decides) */
    char *ca_file;              /* PEM CA bundle; NULL = the system's */
    char *cert_file;            /* PEM client certificate (mTLS) */
    char *key_file;             /* PEM client key */
    bool insecure_skip_verify;  /* do not verify the server's certificate or name */
    char *server_name_override; /* name for SNI and the certificate check */
} pg_tls_client_config;

/* Config table for a pg_tls_client_config section (`tls:` of a client component). */
extern const pg_cfg_field pg_tls_client_fields[];

/* Checks cross-field rules (cert_file and key_file together). 0 or PG_EINVAL. */
int pg_tls_client_config_validate(const pg_tls_client_config *t, char *err, size_t errlen);

/* ---- The client ------------------------------------------------------------------------ */

enum { PG_HTTP_CLIENT_AUTO, PG_HTTP_CLIENT_HTTP1, PG_HTTP_CLIENT_HTTP2 };

typedef struct pg_http_client_config {
    int version;                     /* PG_HTTP_CLIENT_*; default AUTO */
    const pg_tls_client_config *tls; /* borrowed by new (copied); NULL = defaults */
    int64_t timeout;                 /* ns per request when the request has no deadline; 30s */
    int64_t connect_timeout;         /* ns to connect (TCP + TLS); default 10s */
    size_t max_response_body;        /* bytes of a response body kept; default 1 MiB */
    size_t pool_size;                /* concurrent requests (easy handles); default 4 */
    const char *user_agent;          /* borrowed by new (copied); NULL = "profgate" */
} pg_http_client_config;

/* Fills c with the defaults above. */
void pg_http_client_config_default(pg_http_client_config *c);

typedef struct pg_http_client pg_http_client;

/* One request; everything borrowed for the call. */
typedef struct pg_http_client_req {
    const char *method;         /* "POST", "GET", "PUT", ...; NULL: POST with a body, else GET */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" lines (a "Name:" line removes curl's own) */
    size_t n_headers;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t deadline_ns; /* CLOCK_MONOTONIC end of the whole exchange; 0 = now + timeout */
} pg_http_client_req;

/* What pg_http_client_parse_retry_after and resp.retry_after hold when there is none. */
#define PG_HTTP_CLIENT_NO_RETRY_AFTER ((int64_t)-1)

/* What came back. The body is the caller's to free with pg_http_client_resp_free. */
typedef struct pg_http_client_resp {
    long status;         /* HTTP status */
    pg_buf body;         /* at most max_response_body bytes */
    bool truncated;      /* the body was longer (the transfer was stopped) */
    int64_t retry_after; /* seconds asked by Retry-After, or PG_HTTP_CLIENT_NO_RETRY_AFTER */
    char content_type[128];
    int http_version; /* 1 or 2 */
    bool reused;      /* the request went over a connection opened earlier */
} pg_http_client_resp;

/* Creates a client (no connection yet). Copies c, the TLS settings and the user agent.
 * Returns 0 and *out (free with pg_http_client_free), PG_EINVAL for a bad setting (a TLS
 * file that cannot be read is named), PG_ENOMEM. */
int pg_http_client_new(const pg_http_client_config *c, pg_http_client **out, char *err,
                       size_t errlen);

/* Sends req and waits for the answer. Returns 0 when a response arrived (any status: see
 * resp->status), PG_ETIMEOUT when the deadline passed (also while waiting for a free
 * handle), PG_EIO when the peer could not be reached or the connection or TLS handshake
 * failed (err has libcurl's reason, e.g. the certificate problem), PG_EINVAL for a bad URL
 * or request, PG_ENOMEM. On failure resp holds no body and status 0. */
int pg_http_client_do(pg_http_client *hc, const pg_http_client_req *req, pg_http_client_resp *resp,
                      char *err, size_t errlen);

/* Frees the body (resp itself is the caller's). */
void pg_http_client_resp_free(pg_http_client_resp *resp);

/* Closes every connection and frees hc. No request may be running. NULL is a no-op. */
void pg_http_client_free(pg_http_client *hc);

/* ---- Helpers --------------------------------------------------------------------------- */

/* Writes "Authorization: Basic base64(user:password)" into out. 0, or PG_ELIMIT when out is
 * too small. */
int pg_http_client_basic_auth(const char *user, const char *password, char *out, size_t outlen);

/* Writes "Authorization: Bearer <token>" into out. 0, or PG_ELIMIT when out is too small. */
int pg_http_client_bearer_auth(const char *token, char *out, size_t outlen);

/* Parses a Retry-After value: delay-seconds ("120") or an HTTP date (IMF-fixdate, RFC 850
 * or asctime), relative to now_unix (seconds since the epoch). Returns the seconds to wait
 * (0 for a date in the past), or PG_HTTP_CLIENT_NO_RETRY_AFTER when the value is neither. */
int64_t pg_http_client_parse_retry_after(const char *value, int64_t now_unix);

#endif

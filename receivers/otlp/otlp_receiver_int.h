/* Private: the `otlp` receiver's config and state, shared by otlp_receiver.c (factory,
 * config), otlp_grpc.c (the gRPC server) and otlp_http.c (OTLP/HTTP on pipeline/net). */
#ifndef PG_OTLP_RECEIVER_INT_H
#define PG_OTLP_RECEIVER_INT_H

#include "pipeline/component.h"
#include "pipeline/config/config.h"
#include "pipeline/host.h"
#include "pipeline/net/http_server.h"
#include "receivers/otlp/otlp_request.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct otlp_keepalive_server {
    int64_t max_connection_idle, max_connection_age, max_connection_age_grace, time, timeout;
} otlp_keepalive_server;

typedef struct otlp_keepalive_policy {
    int64_t min_time;
    bool permit_without_stream;
} otlp_keepalive_policy;

typedef struct otlp_keepalive {
    otlp_keepalive_server server_parameters;
    otlp_keepalive_policy enforcement_policy;
} otlp_keepalive;

typedef struct otlp_tls {
    char *cert_file, *key_file, *client_ca_file;
} otlp_tls;

typedef struct otlp_auth {
    char *bearer_token_file;
} otlp_auth;

#define PG_OTLP_HTTP_PATH "/v1development/profiles"
#define PG_OTLP_HTTP_TRACES_PATH "/v1/traces"

typedef struct otlp_http_config {
    bool present; /* protocols.http given */
    pg_http_server_config server;
    char *profiles_url_path;
    char *traces_url_path;
    pg_http_cors_config cors;
} otlp_http_config;

typedef struct otlp_grpc_config {
    bool present; /* protocols.grpc given */
    pg_cfg_endpoint endpoint;
    int64_t max_recv_msg_size_mib;
    int64_t max_concurrent_streams;
    int64_t completion_queue_threads;
    otlp_keepalive keepalive;
    otlp_tls tls;
    otlp_auth auth;
} otlp_grpc_config;

typedef struct otlp_protocols {
    otlp_grpc_config grpc;
    otlp_http_config http;
} otlp_protocols;

typedef struct otlp_config {
    otlp_protocols protocols;
    pg_cfg_strlist accepted_versions;
    bool include_metadata;
    pg_cfg_strlist metadata_keys;
    uint64_t max_metadata_value;
    uint64_t max_decompressed;
    int64_t max_samples;
    int64_t max_spans;
} otlp_config;

typedef struct otlp_grpc otlp_grpc; /* otlp_grpc.c */

typedef struct otlp_receiver {
    char *id;
    pg_otlp_req_config req; /* borrowed by every request */
    pg_otlp_stats stats;
    /* the gRPC side's settings, copied from the config (strings owned) */
    char *target; /* "host:port" */
    size_t max_recv_bytes;
    int max_concurrent_streams, threads;
    otlp_keepalive keepalive;
    char *cert_pem, *key_pem, *client_ca_pem; /* NULL: insecure */
    char *bearer;                             /* "Bearer <token>", NULL: no auth */
    char *paths[4]; /* cert, key, client CA, bearer token file (NULL when unset) */
    otlp_grpc *grpc;
    int port; /* bound port after start */
    bool grpc_on;
    pg_http_server *http; /* NULL: no protocols.http */
    char *http_path;
    char *http_traces_path; /* NULL: traces not routed */
    /* traces: the fan-out into the traces pipelines (consume NULL: none names it) */
    pg_traces_consumer traces;
    int64_t max_spans;
    pg_counter *spans_accepted, *spans_refused;
} otlp_receiver;

/* One export request's logic, whatever the transport (otlp_traces.c): borrows everything,
 * fills *res (pg_otlp_result_free) and returns res->status, as pg_otlp_request_handle. */
typedef int (*otlp_handle_fn)(otlp_receiver *r, const uint8_t *body, size_t len, size_t wire_len,
                              pg_otlp_content ct, const pg_otlp_md *md, size_t n,
                              pg_otlp_result *res);
/* Profiles: pg_otlp_request_handle with r's settings. */
int pg_otlp_profiles_handle(otlp_receiver *r, const uint8_t *body, size_t len, size_t wire_len,
                            pg_otlp_content ct, const pg_otlp_md *md, size_t n,
                            pg_otlp_result *res);
/* Traces: decodes the span ids (at most max_spans) and hands them to r->traces (which must
 * be set); the response is an empty ExportTraceServiceResponse. Counts the request and its
 * spans. */
int pg_otlp_traces_handle(otlp_receiver *r, const uint8_t *body, size_t len, size_t wire_len,
                          pg_otlp_content ct, const pg_otlp_md *md, size_t n, pg_otlp_result *res);
/* Registers the span counters of r in m. */
void pg_otlp_traces_stats_init(otlp_receiver *r, pg_metrics *m);

/* Starts the gRPC server on r->target (initialises the gRPC core); 0 or PG_E* with err. */
int pg_otlp_grpc_start(otlp_receiver *r, char *err, size_t errlen);
/* Stops accepting, cancels what is still open at the deadline, joins the threads. */
void pg_otlp_grpc_shutdown(otlp_receiver *r, int64_t deadline_ns);
/* Frees the server's state (after shutdown) and releases the gRPC core. */
void pg_otlp_grpc_destroy(otlp_receiver *r);

/* Builds the HTTP server for h (borrowed) with its route and CORS; no I/O. 0 or PG_E*. */
int pg_otlp_http_create(otlp_receiver *r, pg_host *host, const otlp_http_config *h, char *err,
                        size_t errlen);
/* Listens (reads TLS files and secrets); 0 or PG_E* with err. */
int pg_otlp_http_start(otlp_receiver *r, char *err, size_t errlen);
/* Stops listening, lets running requests answer, frees the server. */
void pg_otlp_http_shutdown(otlp_receiver *r);

#endif

/* What the `otlp` (gRPC) and `otlphttp` exporters share: their common config keys
 * (compression, headers, tls, headers_from_metadata, attribute_references, the format
 * version header), the request body (ExportProfilesServiceRequest, protobuf or JSON,
 * compressed), the request headers (static, version, from the batch's metadata), and the
 * OTLP specification's retry rules applied to the server's answer, with their metrics and
 * logs:
 *
 *   gRPC  retry: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
 *                DATA_LOSS; RESOURCE_EXHAUSTED only with a RetryInfo (waiting its delay)
 *         drop:  everything else (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, ...)
 *   HTTP  retry: 429, 502, 503, 504 (waiting Retry-After when given)
 *         drop:  every other non-2xx (400, 401, 403, 404, 413, 500, ...)
 *   no answer (connection refused, reset, TLS failure, timeout): retry
 *
 * A drop is counted by reason and logged once per reason with the server's message; a
 * refusal that names the format version header is logged as a version refusal with the
 * versions the server says it accepts. partial_success rejections are counted and logged
 * (once per distinct message). Retries wait the server's delay when it is longer than the
 * helper's backoff (pg_exporter_helper_retry_after). */
#ifndef PG_OTLP_CLIENT_H
#define PG_OTLP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/component.h"
#include "pipeline/config/config.h"
#include "pipeline/core/buf.h"
#include "pipeline/net/http_client.h"

enum { PG_OTLP_COMPRESSION_GZIP, PG_OTLP_COMPRESSION_ZSTD, PG_OTLP_COMPRESSION_NONE };

/* The format version header (OTLP proto PR 857) and its gRPC metadata key. */
#define PG_OTLP_CLIENT_VERSION_HEADER "OTLP-Profiles-Development-Version"
#define PG_OTLP_CLIENT_VERSION_KEY "otlp-profiles-development-version"

typedef struct pg_otlp_client_config {
    int compression;                      /* PG_OTLP_COMPRESSION_*; default gzip */
    pg_cfg_strmap headers;                /* sent with every request */
    pg_tls_client_config tls;             /* `tls:` */
    pg_cfg_strlist headers_from_metadata; /* batch metadata sent as headers (X-Scope-OrgID) */
    bool attribute_references;            /* resource/scope attribute keys as key_strindex */
    int64_t format_version;               /* sent in the version header; 0 = not sent */
} pg_otlp_client_config;

extern const char *const pg_otlp_compression_names[];

/* The config keys above for member m (a pg_otlp_client_config) of struct T. */
#define PG_OTLP_CLIENT_FIELDS(T, m)                                                                \
    {.key = "compression",                                                                         \
     .type = PG_CFG_ENUM,                                                                          \
     .offset = offsetof(T, m.compression),                                                         \
     .def = "gzip",                                                                                \
     .enum_values = pg_otlp_compression_names,                                                     \
     .doc = "request compression: gzip, zstd or none"},                                            \
        {.key = "headers",                                                                         \
         .type = PG_CFG_STRING_MAP,                                                                \
         .offset = offsetof(T, m.headers),                                                         \
         .doc = "headers (gRPC metadata) sent with every request"},                                \
        {.key = "tls",                                                                             \
         .type = PG_CFG_SECTION,                                                                   \
         .offset = offsetof(T, m.tls),                                                             \
         .section = pg_tls_client_fields,                                                          \
         .doc = "TLS toward the server (CA, client certificate, name checks)"},                    \
        {.key = "headers_from_metadata",                                                           \
         .type = PG_CFG_STRING_LIST,                                                               \
         .offset = offsetof(T, m.headers_from_metadata),                                           \
         .doc = "batch metadata keys (kept by the receiver) sent as headers"},                     \
        {.key = "attribute_references",                                                            \
         .type = PG_CFG_BOOL,                                                                      \
         .offset = offsetof(T, m.attribute_references),                                            \
         .def = "false",                                                                           \
         .doc = "send resource and scope attribute keys as key_strindex references"},              \
    {                                                                                              \
        .key = "profiles_version", .type = PG_CFG_INT, .offset = offsetof(T, m.format_version),    \
        .def = "1", .min = "0", .max = "1000000",                                                  \
        .doc = "format version sent in " PG_OTLP_CLIENT_VERSION_HEADER " (0: not sent)"            \
    }

/* Cross-field checks (tls); 0 or PG_EINVAL. */
int pg_otlp_client_config_validate(const pg_otlp_client_config *c, char *err, size_t errlen);

typedef struct pg_otlp_client pg_otlp_client;

/* Creates the shared state for exporter s->id (its metrics in the host's registry). Copies
 * what it keeps of cfg. Returns 0 and *out (free with pg_otlp_client_free), or PG_ENOMEM. */
int pg_otlp_client_new(const pg_component_settings *s, const pg_otlp_client_config *cfg,
                       pg_otlp_client **out, char *err, size_t errlen);
void pg_otlp_client_free(pg_otlp_client *c);

/* Appends b (borrowed) as an ExportProfilesServiceRequest to out: protobuf, or OTLP/JSON
 * when json; with attribute references when configured; compressed with the configured
 * algorithm when compress (both exporters; otlp marks a gzip message compressed for the
 * gRPC core). Returns 0 or a status. */
int pg_otlp_client_body(pg_otlp_client *c, const pg_batch *b, bool json, bool compress, pg_buf *out,
                        char *err, size_t errlen);

/* The Content-Encoding value of the configured compression, NULL for none. */
const char *pg_otlp_client_content_encoding(const pg_otlp_client *c);

/* One request header; strings borrowed from the config, the batch or c. */
typedef struct pg_otlp_header {
    const char *key;
    const char *value;
} pg_otlp_header;

/* The headers for b (borrowed): the configured ones, the version header, then each
 * headers_from_metadata key present on b (under the name written in the config). Writes at
 * most cap into out; returns how many. */
size_t pg_otlp_client_headers(const pg_otlp_client *c, const pg_batch *b, pg_otlp_header *out,
                              size_t cap);

/* The most headers pg_otlp_client_headers can return. */
size_t pg_otlp_client_max_headers(const pg_otlp_client *c);

/* One request built from a batch once (otlp_client_request.c), kept while the batch's
 * tree is freed: the body, the headers with their values copied, and the profile count
 * for the retry rules. Sent as often as retries need. */
typedef struct pg_otlp_request {
    pg_buf body;
    size_t profiles;
    size_t n_headers;
    pg_otlp_header *headers; /* keys borrowed from c, values in the request's own block */
} pg_otlp_request;

/* Builds the request for b (borrowed): pg_otlp_client_body(json, compress) and
 * pg_otlp_client_headers with the metadata values copied. Returns 0 and *out (free with
 * pg_otlp_request_free; valid while c lives), or a status with err. */
int pg_otlp_client_request(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                           pg_otlp_request **out, char *err, size_t errlen);
void pg_otlp_request_free(pg_otlp_request *r);

/* The exporters' pg_prepare_ops parts: prepare builds the request of b (as above; OOM is
 * PG_EAGAIN, so the sender may try again) with *bytes its body's size; free_req frees it. */
int pg_otlp_request_prepare(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                            void **req, uint64_t *bytes, char *err, size_t errlen);
void pg_otlp_request_free_req(void *req);

/* A pg_send_fn body for the batches the helper did not prepare (no queue, persistent
 * queue, batching): prepares b, calls send(ctx, request, ...) once, frees the request. */
int pg_otlp_request_send_batch(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                               int (*send)(void *, void *, int64_t, char *, size_t), void *ctx,
                               int64_t deadline_ns, char *err, size_t errlen);

/* One attempt's result, as the transport saw it. */
typedef struct pg_otlp_answer {
    bool grpc;
    bool answered;          /* false: no answer came (see transport_status) */
    int code;               /* gRPC status code, or HTTP status */
    int transport_status;   /* not answered: the PG_E* of the failure (timeout, I/O, ...) */
    int64_t retry_after_ns; /* the server's delay (RetryInfo, Retry-After); -1 none */
    const char *message;    /* gRPC status message, HTTP body, or the transport error */
    size_t message_len;
    const uint8_t *response; /* success: the ExportProfilesServiceResponse */
    size_t response_len;
    bool response_json;
} pg_otlp_answer;

/* Applies the retry rules to a (borrowed) for a batch of `profiles` profiles: returns 0
 * (delivered; partial_success counted and logged), PG_EAGAIN (retry; a server delay is
 * handed to the helper), or a permanent status (dropped by the helper; counted by reason
 * here and logged once per reason), with the server's message in err. */
int pg_otlp_client_outcome(pg_otlp_client *c, const pg_otlp_answer *a, size_t profiles, char *err,
                           size_t errlen);

/* The gRPC status name ("UNAVAILABLE"), "code N" for an unknown one. */
const char *pg_otlp_grpc_code_name(int code);

#endif

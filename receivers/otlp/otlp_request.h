/* The `otlp` receiver's request logic, independent of the transport: one export request's
 * bytes, content type and metadata in; a status, a message and the
 * ExportProfilesServiceResponse out. The gRPC side (otlp_grpc.c) and, after the merge with
 * the shared listener stack, the HTTP side call pg_otlp_request_handle. */
#ifndef PG_OTLP_REQUEST_H
#define PG_OTLP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/component.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "pipeline/receiverhelper.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/decode_limits.h"

/* The format version header (OTLP proto PR 857): HTTP header name, gRPC metadata key. Both
 * are looked up lower-cased in the request metadata. */
#define PG_OTLP_VERSION_HEADER "OTLP-Profiles-Development-Version"
#define PG_OTLP_VERSION_KEY "otlp-profiles-development-version"
#define PG_OTLP_MAX_VERSIONS 16

typedef enum { PG_OTLP_CT_PROTOBUF = 0, PG_OTLP_CT_JSON = 1 } pg_otlp_content;

/* One request metadata entry (HTTP header or gRPC metadata), key lower-cased. Borrowed. */
typedef pg_rx_md pg_otlp_md;

/* Self-metrics of one receiver (pipeline/receiverhelper.h). */
typedef pg_rx_stats pg_otlp_stats;

/* What the request logic needs; borrowed by every call, set up once by the receiver. */
typedef struct pg_otlp_req_config {
    const char *id;                         /* receiver id: the origin of its batches */
    int64_t versions[PG_OTLP_MAX_VERSIONS]; /* accepted format versions */
    size_t n_versions;
    pg_decode_limits limits;
    bool include_metadata;
    char **metadata_keys; /* lower-cased; kept on the batch when include_metadata */
    size_t n_metadata_keys;
    size_t max_metadata_value; /* bytes of one kept value (joined when repeated) */
    pg_consumer next;
    pg_otlp_stats *stats; /* may be NULL (no metrics) */
} pg_otlp_req_config;

/* The outcome of one request. */
typedef struct pg_otlp_result {
    int status;                /* 0 or PG_E* (as returned) */
    char message[512];         /* human message for the client when status != 0 */
    int64_t rejected_profiles; /* partial_success.rejected_profiles */
    char reject_reason[160];   /* partial_success.error_message ("" when none) */
    pg_buf response;           /* the encoded response (status 0): protobuf or JSON as asked */
} pg_otlp_result;

/* Registers the receiver's series in m under id. */
void pg_otlp_stats_init(pg_otlp_stats *st, pg_metrics *m, const char *id);

/* Parses the version header of md[0..n): missing means 1; one positive decimal integer in
 * the accepted set, else PG_EINVAL naming the accepted set. Writes *version. */
int pg_otlp_check_version(const pg_otlp_req_config *c, const pg_otlp_md *md, size_t n,
                          int64_t *version, char *err, size_t errlen);

/* Handles one export request: borrows body[0..len) (already inflated by the transport, or
 * gzip/zstd sniffed and inflated under limits.max_decompressed), md[0..n) and c. Checks the
 * version, decodes, validates, drops profiles without samples (partial_success), keeps the
 * configured metadata, attaches an ack and hands the batch to c->next. Fills *res (its
 * response buffer is the caller's to free with pg_otlp_result_free) and returns res->status.
 * wire_len is the request's size as received (before the transport inflated it; 0 = len), for
 * the byte counters. Returns 0 once the pipeline accepted the data; PG_EINVAL malformed or bad
 * version; PG_ELIMIT over a limit; PG_EAGAIN refused by the pipeline (retryable: 503 /
 * UNAVAILABLE); others as pg_consume returned them. */
int pg_otlp_request_handle(const pg_otlp_req_config *c, const uint8_t *body, size_t len,
                           size_t wire_len, pg_otlp_content ct, const pg_otlp_md *md, size_t n,
                           pg_otlp_result *res);

/* Frees what a result owns. */
void pg_otlp_result_free(pg_otlp_result *res);

/* Counts a request refused before the request logic saw it (auth, transport limits). */
void pg_otlp_stats_request(pg_otlp_stats *st, int status, size_t bytes, double seconds);

#endif

/* Private to exporters/otlp: the config and the gRPC channel. */
#ifndef PG_OTLP_EXPORTER_INT_H
#define PG_OTLP_EXPORTER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/exporterhelper/otlp_client.h"

enum { PG_OTLP_LB_PICK_FIRST, PG_OTLP_LB_ROUND_ROBIN };

typedef struct otlp_exporter_keepalive {
    int64_t time;    /* ns between pings on an idle connection; 0 = off */
    int64_t timeout; /* ns to wait for a ping's answer */
    bool permit_without_stream;
} otlp_exporter_keepalive;

typedef struct otlp_exporter_config {
    char *endpoint;
    int balancer;
    otlp_exporter_keepalive keepalive;
    uint64_t max_response_size;
    pg_otlp_client_config otlp;
    pg_exporter_helper_config helper;
} otlp_exporter_config;

typedef struct otlp_channel otlp_channel;

/* Opens a channel to cfg->endpoint (no connection until the first call): credentials
 * (TLS files read here), keepalive, balancer, compression. id names the exporter in logs.
 * Returns 0 and *out, or PG_EINVAL (unreadable TLS file, bad endpoint) / PG_ENOMEM. */
int pg_otlp_channel_new(const otlp_exporter_config *cfg, const char *id, otlp_channel **out,
                        char *err, size_t errlen);

/* One Export call: sends body (an encoded request, borrowed, gzip-compressed when the
 * channel's compression is gzip) with md[0..n) as metadata,
 * before deadline_ns (CLOCK_MONOTONIC), and fills *a (its message and response point
 * into *store, the caller's to free with pg_buf_free). Returns 0 once an answer (or a
 * transport failure) is in *a; PG_ENOMEM. */
int pg_otlp_channel_export(otlp_channel *ch, const pg_buf *body, const pg_otlp_header *md, size_t n,
                           int64_t deadline_ns, pg_otlp_answer *a, pg_buf *store, char *err,
                           size_t errlen);

void pg_otlp_channel_free(otlp_channel *ch);

/* The delay of a google.rpc.RetryInfo in a grpc-status-details-bin value (a serialized
 * google.rpc.Status), in ns; -1 when there is none. */
int64_t pg_otlp_retry_info_delay(const uint8_t *p, size_t n);

#endif

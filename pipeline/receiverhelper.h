/* What every network receiver does around one request, whatever its protocol: the request
 * series (by status, bytes, latency), keeping the configured request metadata (a tenant
 * header such as X-Scope-OrgID) on the batch, and handing a decoded batch on with its
 * delivery acknowledgement while counting what was accepted or refused. The `otlp` and
 * `pprof_push` receivers share it. */
#ifndef PG_RECEIVERHELPER_H
#define PG_RECEIVERHELPER_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/component.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/metrics.h"

/* Self-metrics of one receiver (registered by pg_rx_stats_init; owned by the registry). */
typedef struct pg_rx_stats {
    pg_component_metrics cm;
    pg_counter *requests[1 - PG_STATUS_MIN]; /* indexed by -status: {receiver, status} */
    pg_counter *request_bytes;               /* bytes as received (compressed) */
    pg_counter *rejected_profiles;           /* dropped from accepted requests */
    pg_histogram *latency;                   /* seconds per request */
} pg_rx_stats;

/* One request metadata entry (HTTP header or gRPC metadata), key lower-cased. Borrowed. */
typedef struct pg_rx_md {
    const char *key;
    const char *value;
} pg_rx_md;

/* Which request metadata a receiver keeps on its batches (borrowed by every call). */
typedef struct pg_rx_metadata {
    bool include;      /* keep nothing when false */
    char *const *keys; /* lower-cased */
    size_t n_keys;
    size_t max_value; /* bytes of one kept value (repeated values joined with ","); 0 = 4 KiB */
} pg_rx_metadata;

/* Registers the receiver's series in m under id (both borrowed). */
void pg_rx_stats_init(pg_rx_stats *st, pg_metrics *m, const char *id);

/* Counts one answered request (status, bytes as received, seconds); st may be NULL. */
void pg_rx_stats_request(pg_rx_stats *st, int status, size_t bytes, double seconds);

/* Keeps the metadata keys of c found in md[0..n) on b (borrowed). Returns 0, PG_ELIMIT
 * when a value is over c->max_value, or PG_ENOMEM, with a message. */
int pg_rx_keep_metadata(const pg_rx_metadata *c, pg_batch *b, const pg_rx_md *md, size_t n,
                        char *err, size_t errlen);

/* Hands b (owned from here, whatever the result) to next: sets its origin (id, now),
 * attaches a fresh acknowledgement, consumes, and counts its profiles and samples as
 * accepted or refused in st (may be NULL), plus wire_len accepted bytes. Returns what
 * pg_consume returned (message in err), or PG_ENOMEM. */
int pg_rx_hand_on(pg_batch *b, const char *id, const pg_consumer *next, pg_rx_stats *st,
                  size_t wire_len, char *err, size_t errlen);

#endif

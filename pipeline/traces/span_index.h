/* The span index: span_id -> trace_id for recent spans, so that profile samples labelled
 * with a span id only (Datadog's `span id`, older SDKs) can be linked to their trace.
 *
 * Bounded: at most `max_entries` spans (each costs SPAN_INDEX_ENTRY_BYTES; a byte cap is
 * turned into an entry cap by the caller); time-expiring: a span is forgotten `ttl` after
 * it was added (the last add wins for a span seen again). When full, the oldest span goes
 * first. Every eviction is counted (by TTL, by capacity). Thread-safe: adds come from a
 * listener's workers, lookups from the processor's consume. Fed with OTLP trace data
 * (pg_span_index_add_otlp): ExportTraceServiceRequest / TracesData protobuf bytes, of
 * which only span ids, trace ids and times are read. */
#ifndef PG_SPAN_INDEX_H
#define PG_SPAN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/traces/spans.h"

typedef struct pg_span_index pg_span_index;

/* Bytes one entry costs (ring entry + hash slots), for byte caps. */
#define PG_SPAN_INDEX_ENTRY_BYTES 48

typedef struct pg_span_index_stats {
    uint64_t added, evicted_ttl, evicted_full, lookups, hits;
    size_t entries;
} pg_span_index_stats;

/* Returns a new index (caller frees), or NULL when out of memory. max_entries >= 1; ttl in
 * nanoseconds (> 0). */
pg_span_index *pg_span_index_new(size_t max_entries, int64_t ttl_ns);

void pg_span_index_free(pg_span_index *ix);

/* Adds (or refreshes) span -> trace at monotonic time now_ns. An all-zero span or trace id
 * is ignored. Returns 0 (never fails once created). */
int pg_span_index_put(pg_span_index *ix, const uint8_t span_id[8], const uint8_t trace_id[16],
                      int64_t now_ns);

/* Adds every pair of s (borrowed) at now_ns, as pg_span_index_put. */
void pg_span_index_put_spans(pg_span_index *ix, const pg_spans *s, int64_t now_ns);

/* Looks span up at now_ns: 1 with trace_id filled when known and not expired, else 0. */
int pg_span_index_get(pg_span_index *ix, const uint8_t span_id[8], uint8_t trace_id[16],
                      int64_t now_ns);

/* Waits until a span is added or until deadline_ns (monotonic) passes; returns at once when
 * deadline_ns is in the past. For consumers that hold profiles waiting for their spans. */
void pg_span_index_wait(pg_span_index *ix, int64_t deadline_ns);

/* Decodes OTLP trace bytes (ExportTraceServiceRequest; TracesData is wire-identical) and
 * adds every span with a 16-byte trace id and an 8-byte span id. Spans with other id sizes
 * are skipped and counted in *skipped. Nesting is 4 levels (request, resource spans, scope
 * spans, span); everything else is skipped unread. Returns 0 and the number of spans added
 * in *added, or PG_EINVAL (malformed bytes; spans before the fault stay added) or PG_ENOMEM
 * with a message in err. (pg_spans_decode_otlp, then pg_span_index_put_spans.) */
int pg_span_index_add_otlp(pg_span_index *ix, const uint8_t *data, size_t len, int64_t now_ns,
                           size_t *added, size_t *skipped, char *err, size_t errlen);

/* Counters so far (a consistent snapshot). */
void pg_span_index_stats_get(pg_span_index *ix, pg_span_index_stats *out);

#endif

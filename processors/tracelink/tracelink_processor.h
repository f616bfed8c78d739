/* tracelink processor: turns the trace and span ids that profilers write as pprof labels
 * into OTLP Links (trace_id 16 bytes, span_id 8 bytes) referenced by each sample's
 * link_index, so a slow span leads to the code that ran in it.
 *
 * Labels read (first match in list order wins; all configurable):
 *   trace ids (32 hex digits): trace_id, otel.trace_id, otel.traceid;
 *   span ids (16 hex digits): span_id, profile_id (older Pyroscope SDKs), otel.span_id,
 *   otel.spanid; Datadog's `span id` and `local root span id` (listed in decimal_labels:
 *   parsed as unsigned decimal).
 * Only ids that parse exactly become links (all-zero ids do not); the labels stay unless
 * remove_labels is true (then the labels of linked samples go: pprof exporters write them
 * back from the link). A sample already linked keeps its link, except that a link with an
 * all-zero trace id is completed from the span index.
 *
 * span_index (optional): when enabled, spans that reach it are indexed span_id -> trace_id
 * for ttl. They come from traces pipelines naming the processor (consume_traces: the otlp
 * receiver's OTLP traces) and, when span_index.endpoint is set, from POST /v1/traces on a
 * listener of its own (ExportTraceServiceRequest protobuf, gzip/zstd/deflate
 * Content-Encoding); one of the two is required. Every instance of one tracelink id (one
 * per pipeline) shares one index and listener. The index is bounded by max_entries and
 * max_bytes (evictions counted); samples that carry only a span id get the trace id from it. A
 * batch whose span ids are not all known yet waits up to span_index.wait (default 0: no wait) on
 * the consuming thread. Traces are indexed, never exported.
 *
 * Counters (profgate_tracelink_*_total{processor}): samples_linked, ids_unparsable,
 * links_resolved (trace id from the index), unresolved (a span id without trace id);
 * span index: spans_indexed, spans_skipped, evicted{reason="ttl|capacity"}, and a gauge of
 * entries. */
#ifndef PG_TRACELINK_PROCESSOR_H
#define PG_TRACELINK_PROCESSOR_H

#include <stdbool.h>

#include "pipeline/component.h"
#include "pipeline/net/http_server.h"

typedef struct pg_tracelink_index_config {
    bool enabled;
    int64_t ttl;         /* ns, default 5m */
    int64_t max_entries; /* default 1000000 */
    uint64_t max_bytes;  /* default 64MiB */
    int64_t wait;        /* ns, default 0 */
    pg_http_server_config http;
} pg_tracelink_index_config;

typedef struct pg_tracelink_config {
    pg_cfg_strlist trace_id_labels;
    pg_cfg_strlist span_id_labels;
    pg_cfg_strlist decimal_labels;
    bool remove_labels;
    pg_tracelink_index_config span_index;
} pg_tracelink_config;

extern const pg_component_factory pg_tracelink_processor_factory;

/* Test hooks (self is what create returned): the span index (NULL when disabled) and the
 * listener's bound port (0 when none). */
struct pg_span_index *pg_tracelink_span_index(void *self);
uint16_t pg_tracelink_port(void *self);

#endif

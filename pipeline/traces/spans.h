/* Span ids decoded from OTLP trace data: what the traces signal carries through profgate.
 * Traces are never exported, only indexed (span id -> trace id), so a traces pipeline hands
 * on just the (trace id, span id) pairs of a request, read-only.
 *
 * Decoders: ExportTraceServiceRequest protobuf (TracesData is wire-identical) and its
 * OTLP/JSON form (traceId / spanId as hex, as the OTLP/JSON spec says). Field numbers and
 * names from opentelemetry-proto v1.11.0 (proto/opentelemetry/proto/trace/v1/trace.proto). */
#ifndef PG_SPANS_H
#define PG_SPANS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_span_ids {
    uint8_t trace[16];
    uint8_t span[8];
} pg_span_ids;

/* The spans of one request. `items` is owned by whoever decoded it (pg_spans_free);
 * consumers borrow the whole value for the duration of their call. */
typedef struct pg_spans {
    pg_span_ids *items;
    size_t n, cap;
    size_t skipped; /* spans whose ids had the wrong size (or were not hex in JSON) */
} pg_spans;

/* Decodes ExportTraceServiceRequest protobuf bytes into out (empty on entry), keeping every
 * span with a 16-byte trace id and an 8-byte span id (others counted in out->skipped).
 * Nesting is 4 levels (request, resource spans, scope spans, span); other fields are skipped
 * unread. At most max_spans spans (0 = no cap) are kept. Returns 0, PG_EINVAL (malformed;
 * out holds the spans before the fault), PG_ELIMIT (over max_spans) or PG_ENOMEM, with a
 * message in err. */
int pg_spans_decode_otlp(const uint8_t *data, size_t len, size_t max_spans, pg_spans *out,
                         char *err, size_t errlen);

/* The same for OTLP/JSON bytes (`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":
 * "<32 hex>","spanId":"<16 hex>"}]}]}]}`); unknown keys are ignored, a value of the wrong
 * JSON type is PG_EINVAL. */
int pg_spans_decode_otlp_json(const uint8_t *data, size_t len, size_t max_spans, pg_spans *out,
                              char *err, size_t errlen);

/* Appends one pair; 0, PG_ELIMIT (max_spans reached; 0 = no cap) or PG_ENOMEM. */
int pg_spans_push(pg_spans *s, const uint8_t trace[16], const uint8_t span[8], size_t max_spans);

/* Frees what s owns and empties it. */
void pg_spans_free(pg_spans *s);

#endif

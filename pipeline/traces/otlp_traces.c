/* OTLP trace bytes into the span index (see span_index.h): a bounds-checked walk over
 * ExportTraceServiceRequest with pipeline/core/wire.h, reading only what the index keeps.
 * Field numbers from opentelemetry-proto v1.11.0 (proto/opentelemetry/proto/trace/v1/
 * trace.proto here): ExportTraceServiceRequest.resource_spans = 1; ResourceSpans.scope_spans
 * = 2; ScopeSpans.spans = 2; Span.trace_id = 1, span_id = 2 (bytes). */
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/traces/span_index.h"

#include <string.h>

typedef struct walk {
    pg_span_index *ix;
    int64_t now;
    size_t added, skipped;
} walk;

/* One Span message. */
static int read_span(walk *w, pg_wire r)
{
    const uint8_t *trace = NULL, *span = NULL;
    size_t tlen = 0, slen = 0;
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if ((f == 1 || f == 2) && wt == PG_WT_LEN) {
            pg_wire v;
            if (pg_wire_len(&r, &v)) return PG_EINVAL;
            if (f == 1) {
                trace = v.p;
                tlen = (size_t)(v.end - v.p);
            } else {
                span = v.p;
                slen = (size_t)(v.end - v.p);
            }
        } else if (pg_wire_skip(&r, wt)) {
            return PG_EINVAL;
        }
    }
    if (rc < 0) return rc;
    if (tlen == 16 && slen == 8) {
        uint8_t t[16], s[8];
        memcpy(t, trace, 16);
        memcpy(s, span, 8);
        pg_span_index_put(w->ix, s, t, w->now);
        w->added++;
    } else {
        w->skipped++;
    }
    return 0;
}

/* Walks the repeated message field `field` of r, calling fn (or, at depth 0, the span
 * reader) on each: levels are request -> resource spans -> scope spans -> span. */
static int walk_level(walk *w, pg_wire r, int depth)
{
    static const uint32_t FIELD[3] = {1, 2, 2};
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if (f == FIELD[depth] && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&r, &sub)) return PG_EINVAL;
            rc = depth == 2 ? read_span(w, sub) : walk_level(w, sub, depth + 1);
            if (rc) return rc;
        } else if (pg_wire_skip(&r, wt)) {
            return PG_EINVAL;
        }
    }
    return rc < 0 ? rc : 0;
}

/* See span_index.h. */
int pg_span_index_add_otlp(pg_span_index *ix, const uint8_t *data, size_t len, int64_t now_ns,
                           size_t *added, size_t *skipped, char *err, size_t errlen)
{
    walk w = {ix, now_ns, 0, 0};
    int rc = walk_level(&w, pg_wire_of(data, len), 0);
    if (added) *added = w.added;
    if (skipped) *skipped = w.skipped;
    if (rc) return pg_err(err, errlen, PG_EINVAL, "otlp traces: malformed protobuf");
    return 0;
}

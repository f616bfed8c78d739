/* OTLP trace protobuf into span ids (see spans.h), and from there into the span index
 * (span_index.h): a bounds-checked walk over ExportTraceServiceRequest with
 * pipeline/core/wire.h, reading only the ids. Field numbers from opentelemetry-proto v1.11.0
 * (proto/opentelemetry/proto/trace/v1/trace.proto here): ExportTraceServiceRequest.
 * resource_spans = 1; ResourceSpans.scope_spans = 2; ScopeSpans.spans = 2; Span.trace_id =
 * 1, span_id = 2 (bytes). */
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/traces/span_index.h"
#include "pipeline/traces/spans.h"

#include <stdlib.h>
#include <string.h>

/* Appends one pair to s (owned), growing it by doubling. */
int pg_spans_push(pg_spans *s, const uint8_t trace[16], const uint8_t span[8], size_t max_spans)
{
    if (max_spans && s->n >= max_spans) return PG_ELIMIT;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        pg_span_ids *v = realloc(s->items, cap * sizeof *v);
        if (!v) return PG_ENOMEM;
        s->items = v;
        s->cap = cap;
    }
    memcpy(s->items[s->n].trace, trace, 16);
    memcpy(s->items[s->n].span, span, 8);
    s->n++;
    return 0;
}

/* Frees the array s owns. */
void pg_spans_free(pg_spans *s)
{
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* One Span message (borrowed bytes) into s. */
static int read_span(pg_spans *s, size_t max, pg_wire r)
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
    if (tlen != 16 || slen != 8) {
        s->skipped++;
        return 0;
    }
    return pg_spans_push(s, trace, span, max);
}

/* Walks the repeated message field of r for this depth, reading spans at depth 2: levels
 * are request -> resource spans -> scope spans -> span. */
static int walk_level(pg_spans *s, size_t max, pg_wire r, int depth)
{
    static const uint32_t FIELD[3] = {1, 2, 2};
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if (f == FIELD[depth] && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&r, &sub)) return PG_EINVAL;
            rc = depth == 2 ? read_span(s, max, sub) : walk_level(s, max, sub, depth + 1);
            if (rc) return rc;
        } else if (pg_wire_skip(&r, wt)) {
            return PG_EINVAL;
        }
    }
    return rc < 0 ? rc : 0;
}

/* See spans.h. */
int pg_spans_decode_otlp(const uint8_t *data, size_t len, size_t max_spans, pg_spans *out,
                         char *err, size_t errlen)
{
    int rc = walk_level(out, max_spans, pg_wire_of(data, len), 0);
    if (rc == PG_ELIMIT)
        return pg_err(err, errlen, rc, "otlp traces: more than %zu spans in one request",
                      max_spans);
    if (rc == PG_ENOMEM) return pg_err(err, errlen, rc, "otlp traces: out of memory");
    if (rc) return pg_err(err, errlen, PG_EINVAL, "otlp traces: malformed protobuf");
    return 0;
}

/* See span_index.h. */
int pg_span_index_add_otlp(pg_span_index *ix, const uint8_t *data, size_t len, int64_t now_ns,
                           size_t *added, size_t *skipped, char *err, size_t errlen)
{
    pg_spans s = {0};
    int rc = pg_spans_decode_otlp(data, len, 0, &s, err, errlen);
    pg_span_index_put_spans(ix, &s, now_ns);
    if (added) *added = s.n;
    if (skipped) *skipped = s.skipped;
    pg_spans_free(&s);
    return rc;
}

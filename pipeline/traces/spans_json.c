/* OTLP/JSON trace data into span ids (see spans.h), with jansson: resourceSpans[] ->
 * scopeSpans[] -> spans[] -> traceId / spanId (hex strings, either case). The proto field
 * names (resource_spans, scope_spans, trace_id, span_id) are accepted too, as protobuf's
 * JSON parsers do. Ids of the wrong length (an empty string, say) are skipped like ids of
 * the wrong size in protobuf; ids of the right length that are not hex are an error. */
#include "pipeline/core/err.h"
#include "pipeline/traces/spans.h"

#include <jansson.h>
#include <string.h>

/* Member camel (or its proto name snake) of object o; NULL when absent or null. */
static json_t *member(json_t *o, const char *camel, const char *snake)
{
    json_t *v = json_object_get(o, camel);
    if (!v) v = json_object_get(o, snake);
    return v && !json_is_null(v) ? v : NULL;
}

#define NOT_HEX (-1) /* hexval: not a hex digit */

/* The value of one hex digit, or NOT_HEX. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return NOT_HEX;
}

/* Reads id field (a hex string) of span into out[n]: 1 read, 0 wrong length (or absent),
 * PG_EINVAL not a string or not hex. */
static int read_id(json_t *span, const char *camel, const char *snake, uint8_t *out, size_t n)
{
    json_t *v = member(span, camel, snake);
    if (!v) return 0;
    if (!json_is_string(v)) return PG_EINVAL;
    const char *s = json_string_value(v);
    if (json_string_length(v) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi == NOT_HEX || lo == NOT_HEX) return PG_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* The array member of o (NULL when absent); *bad set when present but not an array. */
static json_t *array_member(json_t *o, const char *camel, const char *snake, int *bad)
{
    json_t *v = member(o, camel, snake);
    if (v && !json_is_array(v)) *bad = 1;
    return v && json_is_array(v) ? v : NULL;
}

/* One span object into out. */
static int read_span(json_t *span, size_t max, pg_spans *out, char *err, size_t errlen)
{
    uint8_t trace[16], id[8];
    if (!json_is_object(span))
        return pg_err(err, errlen, PG_EINVAL, "otlp traces: a span is not a JSON object");
    int t = read_id(span, "traceId", "trace_id", trace, 16);
    int s = read_id(span, "spanId", "span_id", id, 8);
    if (t < 0 || s < 0)
        return pg_err(err, errlen, PG_EINVAL,
                      "otlp traces: traceId and spanId must be hex strings (32 and 16 digits)");
    if (!t || !s) {
        out->skipped++;
        return 0;
    }
    int rc = pg_spans_push(out, trace, id, max);
    if (rc == PG_ELIMIT)
        return pg_err(err, errlen, rc, "otlp traces: more than %zu spans in one request", max);
    return rc ? pg_err(err, errlen, rc, "otlp traces: out of memory") : 0;
}

/* Walks resourceSpans -> scopeSpans -> spans of root. */
static int walk(json_t *root, size_t max, pg_spans *out, char *err, size_t errlen)
{
    int bad = 0;
    size_t i, j, k;
    json_t *rs, *ss, *sp;
    json_t *rsl = array_member(root, "resourceSpans", "resource_spans", &bad);
    json_array_foreach(rsl, i, rs)
    {
        json_t *ssl = json_is_object(rs) ? array_member(rs, "scopeSpans", "scope_spans", &bad)
                                         : (bad = 1, NULL);
        json_array_foreach(ssl, j, ss)
        {
            json_t *spl =
                json_is_object(ss) ? array_member(ss, "spans", "spans", &bad) : (bad = 1, NULL);
            json_array_foreach(spl, k, sp)
            {
                int rc = read_span(sp, max, out, err, errlen);
                if (rc) return rc;
            }
        }
    }
    if (bad)
        return pg_err(err, errlen, PG_EINVAL,
                      "otlp traces: resourceSpans, scopeSpans and spans must be arrays of objects");
    return 0;
}

/* See spans.h. */
int pg_spans_decode_otlp_json(const uint8_t *data, size_t len, size_t max_spans, pg_spans *out,
                              char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return pg_err(err, errlen, PG_EINVAL, "otlp traces: invalid JSON at line %d column %d: %s",
                      je.line, je.column, je.text);
    int rc = json_is_object(root)
                 ? walk(root, max_spans, out, err, errlen)
                 : pg_err(err, errlen, PG_EINVAL, "otlp traces: the body is not a JSON object");
    json_decref(root);
    return rc;
}

/* The `otlp` receiver's traces: one ExportTraceServiceRequest (protobuf or OTLP/JSON,
 * already inflated by the transport) into span ids, handed to the traces pipelines that
 * name the receiver (tracelink's span index), answered with an empty
 * ExportTraceServiceResponse. Traces are indexed, never exported. */
#include "receivers/otlp/otlp_receiver_int.h"

#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <string.h>

/* Registers the span counters (labels: receiver=<id>). */
void pg_otlp_traces_stats_init(otlp_receiver *r, pg_metrics *m)
{
    char l[512] = "";
    pg_metrics_label(l, sizeof l, "receiver", r->id);
    r->spans_accepted = pg_metrics_counter(m, "profgate_receiver_accepted_spans_total",
                                           "Spans handed to the traces pipelines.", l);
    r->spans_refused = pg_metrics_counter(
        m, "profgate_receiver_refused_spans_total",
        "Spans of refused trace requests and spans with ids of the wrong size.", l);
}

/* Decodes and hands on; returns the status (message in res). */
static int handle(otlp_receiver *r, const uint8_t *body, size_t len, pg_otlp_content ct,
                  pg_otlp_result *res)
{
    char *err = res->message;
    size_t errlen = sizeof res->message;
    pg_spans s = {0};
    size_t max = (size_t)r->max_spans;
    int rc = ct == PG_OTLP_CT_JSON ? pg_spans_decode_otlp_json(body, len, max, &s, err, errlen)
                                   : pg_spans_decode_otlp(body, len, max, &s, err, errlen);
    if (rc == 0) rc = r->traces.consume(r->traces.ctx, &s, err, errlen);
    pg_counter_add(rc ? r->spans_refused : r->spans_accepted, s.n);
    pg_counter_add(r->spans_refused, s.skipped);
    if (rc == 0 && s.skipped)
        pg_log(PG_LOG_DEBUG, r->id, "%zu spans without a 16-byte trace id and 8-byte span id",
               s.skipped);
    pg_spans_free(&s);
    if (rc) return rc;
    if (ct == PG_OTLP_CT_JSON && pg_buf_append(&res->response, "{}", 2))
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    return 0; /* protobuf: the empty message is zero bytes */
}

/* See otlp_receiver_int.h. */
int pg_otlp_traces_handle(otlp_receiver *r, const uint8_t *body, size_t len, size_t wire_len,
                          pg_otlp_content ct, const pg_otlp_md *md, size_t n, pg_otlp_result *res)
{
    (void)md;
    (void)n;
    int64_t t0 = pg_now_mono_ns();
    memset(res, 0, sizeof *res);
    if (wire_len == 0) wire_len = len;
    res->status = handle(r, body, len, ct, res);
    if (res->status) res->response.len = 0;
    pg_otlp_stats_request(&r->stats, res->status, wire_len, (double)(pg_now_mono_ns() - t0) / 1e9);
    return res->status;
}

/* See otlp_receiver_int.h: the profiles request logic with the receiver's settings. */
int pg_otlp_profiles_handle(otlp_receiver *r, const uint8_t *body, size_t len, size_t wire_len,
                            pg_otlp_content ct, const pg_otlp_md *md, size_t n, pg_otlp_result *res)
{
    return pg_otlp_request_handle(&r->req, body, len, wire_len, ct, md, n, res);
}

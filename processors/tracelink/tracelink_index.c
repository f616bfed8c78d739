/* tracelink's span index as shared by the instances of one tracelink id (one per pipeline
 * that names it: a profiles pipeline reads it, a traces pipeline feeds it): the index, the
 * optional listener of its own (POST /v1/traces on span_index.endpoint) and the index's
 * counters, kept by the host under "processor/tracelink:<id>" (pg_host_share). */
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/tracelink/tracelink_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What make() needs; err receives its failure. */
typedef struct make_args {
    const pg_component_settings *s;
    const pg_tracelink_index_config *c;
    char *err;
    size_t errlen;
} make_args;

/* Frees an index and its listener; unregisters its callback series. */
static void drop(void *obj)
{
    tl_index *x = obj;
    pg_http_server_free(x->srv);
    if (x->metrics) pg_metrics_forget(x->metrics, x->ix); /* callback series */
    pg_span_index_free(x->ix);
    free(x->id);
    free(x);
}

/* Puts s (borrowed) into the index, counting what was indexed and skipped. */
void tl_index_add(tl_index *x, const pg_spans *s)
{
    pg_span_index_put_spans(x->ix, s, pg_now_mono_ns());
    pg_counter_add(x->indexed, s->n);
    pg_counter_add(x->skipped, s->skipped);
}

/* POST /v1/traces on the processor's own listener: indexes an OTLP protobuf body; while a
 * memory_limiter refuses data, refuses it too (503 with Retry-After: the sender retries),
 * as a traces pipeline through that limiter would. */
static void on_traces(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    tl_index *x = ctx;
    if (pg_host_memory_refusing(x->host)) {
        pg_counter_add(x->refused, 1);
        pg_http_reply_error(reply, PG_EAGAIN,
                            "tracelink span index: memory limit exceeded, retry later");
        pg_http_reply_send(reply);
        return;
    }
    const char *ct = pg_http_header(req, "content-type");
    if (ct && strncasecmp(ct, "application/x-protobuf", 22)) {
        pg_counter_add(x->bad_requests, 1);
        pg_http_reply_error(reply, PG_EUNSUP,
                            "tracelink span index: only application/x-protobuf is accepted");
        pg_http_reply_send(reply);
        return;
    }
    char err[256];
    pg_spans s = {0};
    int rc = pg_spans_decode_otlp(req->body, req->body_len, 0, &s, err, sizeof err);
    tl_index_add(x, &s); /* spans before a fault stay added */
    pg_spans_free(&s);
    if (rc) {
        pg_counter_add(x->bad_requests, 1);
        pg_http_reply_error(reply, rc, err);
    } else {
        pg_http_reply_set(reply, 200, "application/x-protobuf", "", 0);
    }
    pg_http_reply_send(reply);
}

/* Callback series over the index's own counters. */
static double g_entries(void *ctx)
{
    pg_span_index_stats st;
    pg_span_index_stats_get(ctx, &st);
    return (double)st.entries;
}
static double c_ttl(void *ctx)
{
    pg_span_index_stats st;
    pg_span_index_stats_get(ctx, &st);
    return (double)st.evicted_ttl;
}
static double c_full(void *ctx)
{
    pg_span_index_stats st;
    pg_span_index_stats_get(ctx, &st);
    return (double)st.evicted_full;
}

/* Registers the index's series (labels: processor=<id>) in m. */
static void register_metrics(tl_index *x, pg_metrics *m)
{
    char l[512] = "", lt[512], lf[512];
    pg_metrics_label(l, sizeof l, "processor", x->id);
    x->indexed = pg_metrics_counter(m, "profgate_tracelink_spans_indexed_total",
                                    "Spans added to the span index.", l);
    x->skipped = pg_metrics_counter(m, "profgate_tracelink_spans_skipped_total",
                                    "Spans not indexed (ids of the wrong size).", l);
    x->bad_requests = pg_metrics_counter(m, "profgate_tracelink_bad_requests_total",
                                         "Trace requests refused (malformed, wrong type).", l);
    x->refused = pg_metrics_counter(
        m, "profgate_tracelink_refused_requests_total",
        "Trace requests on the span index's listener refused while over the memory limit.", l);
    snprintf(lt, sizeof lt, "%s", l);
    snprintf(lf, sizeof lf, "%s", l);
    pg_metrics_label(lt, sizeof lt, "reason", "ttl");
    pg_metrics_label(lf, sizeof lf, "reason", "capacity");
    pg_metrics_gauge_fn(m, "profgate_tracelink_span_index_entries", "Spans in the span index.", l,
                        g_entries, x->ix);
    pg_metrics_counter_fn(m, "profgate_tracelink_spans_evicted_total",
                          "Spans the index forgot, by reason.", lt, c_ttl, x->ix);
    pg_metrics_counter_fn(m, "profgate_tracelink_spans_evicted_total",
                          "Spans the index forgot, by reason.", lf, c_full, x->ix);
}

/* Makes the index (entries from max_entries and max_bytes) and, when an endpoint is set,
 * its listener (not started). */
static void *make(void *arg)
{
    make_args *a = arg;
    const pg_tracelink_index_config *c = a->c;
    tl_index *x = calloc(1, sizeof *x);
    if (!x || !(x->id = strdup(a->s->id ? a->s->id : "tracelink"))) {
        free(x);
        pg_err(a->err, a->errlen, PG_ENOMEM, "span_index: out of memory");
        return NULL;
    }
    uint64_t by_bytes = c->max_bytes / PG_SPAN_INDEX_ENTRY_BYTES;
    uint64_t n = (uint64_t)c->max_entries;
    if (by_bytes < n) n = by_bytes ? by_bytes : 1;
    if (!(x->ix = pg_span_index_new((size_t)n, c->ttl))) {
        drop(x);
        pg_err(a->err, a->errlen, PG_ENOMEM, "span_index: out of memory");
        return NULL;
    }
    pg_host *h = a->s->host;
    x->host = h;
    if (c->http.endpoint.text) {
        int rc = pg_http_server_new(pg_host_event_base(h), pg_host_metrics(h), x->id, &c->http,
                                    &x->srv, a->err, a->errlen);
        if (!rc) rc = pg_http_server_route(x->srv, "POST", "/v1/traces", on_traces, x);
        if (rc) {
            pg_err_prefix(a->err, a->errlen, "span_index");
            drop(x);
            return NULL;
        }
    }
    x->metrics = pg_host_metrics(h);
    register_metrics(x, x->metrics);
    return x;
}

/* The host key of s's index into key. */
static void key_of(const char *id, char *key, size_t keylen)
{
    snprintf(key, keylen, "processor/tracelink:%s", id ? id : "tracelink");
}

/* See tracelink_int.h. */
tl_index *tl_index_acquire(const pg_component_settings *s, const pg_tracelink_index_config *c,
                           char *err, size_t errlen)
{
    char key[300];
    key_of(s->id, key, sizeof key);
    make_args a = {s, c, err, errlen};
    return pg_host_share(s->host, key, make, &a, drop);
}

/* See tracelink_int.h. */
void tl_index_release(pg_host *h, const char *id)
{
    char key[300];
    key_of(id, key, sizeof key);
    pg_host_unshare(h, key);
}

/* See tracelink_int.h: the first instance to start starts the listener. */
int tl_index_start(tl_index *x, char *err, size_t errlen)
{
    if (!x->srv || x->started) return 0;
    int rc = pg_http_server_start(x->srv, err, errlen);
    if (rc) return rc;
    x->started = true;
    pg_log(PG_LOG_INFO, x->id, "span index listening on port %u (POST /v1/traces)",
           (unsigned)pg_http_server_port(x->srv));
    return 0;
}

/* See tracelink_int.h: the first instance to stop closes the listener. */
void tl_index_stop(tl_index *x)
{
    pg_http_server_free(x->srv);
    x->srv = NULL;
}

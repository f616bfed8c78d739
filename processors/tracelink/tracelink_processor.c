/* tracelink processor (see tracelink_processor.h): config and its signal rules, consume
 * (profiles) and consume_traces, and the linking counters. The span index it shares across
 * pipelines is tracelink_index.c. */
#include "processors/tracelink/tracelink_processor.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/tracelink/tracelink_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef pg_tracelink_index_config idx_cfg;

static const pg_cfg_field INDEX_FIELDS[] = {
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(idx_cfg, enabled),
     .def = "false",
     .doc = "keep span_id -> trace_id of spans from traces pipelines and POST /v1/traces on "
            "endpoint"},
    {.key = "ttl",
     .type = PG_CFG_DURATION,
     .offset = offsetof(idx_cfg, ttl),
     .def = "5m",
     .min = "1s",
     .doc = "how long a span is remembered"},
    {.key = "max_entries",
     .type = PG_CFG_INT,
     .offset = offsetof(idx_cfg, max_entries),
     .def = "1000000",
     .min = "1",
     .max = "100000000",
     .doc = "spans remembered at most (the oldest go first)"},
    {.key = "max_bytes",
     .type = PG_CFG_SIZE,
     .offset = offsetof(idx_cfg, max_bytes),
     .def = "64MiB",
     .min = "1KiB",
     .doc = "memory the index may hold (48 bytes per span)"},
    {.key = "wait",
     .type = PG_CFG_DURATION,
     .offset = offsetof(idx_cfg, wait),
     .def = "0",
     .max = "10s",
     .doc = "how long a batch whose spans are not known yet waits for them"},
    PG_HTTP_SERVER_FIELDS(idx_cfg, http, NULL),
    {0},
};

static const pg_cfg_field TRACELINK_FIELDS[] = {
    {.key = "trace_id_labels",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_tracelink_config, trace_id_labels),
     .def = "[trace_id, otel.trace_id, otel.traceid]",
     .doc = "labels holding a trace id (32 hex digits), preferred first"},
    {.key = "span_id_labels",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_tracelink_config, span_id_labels),
     .def = "[span_id, profile_id, otel.span_id, otel.spanid, 'span id', 'local root span id']",
     .doc = "labels holding a span id (16 hex digits), preferred first"},
    {.key = "decimal_labels",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_tracelink_config, decimal_labels),
     .def = "['span id', 'local root span id']",
     .doc = "id labels written in decimal (Datadog)"},
    {.key = "remove_labels",
     .type = PG_CFG_BOOL,
     .offset = offsetof(pg_tracelink_config, remove_labels),
     .def = "false",
     .doc = "remove the id labels of samples that got a link"},
    {.key = "span_index",
     .type = PG_CFG_SECTION,
     .offset = offsetof(pg_tracelink_config, span_index),
     .section = INDEX_FIELDS,
     .doc = "an index of recent spans filling trace ids of span-only labels"},
    {0},
};

/* Checks the listener's settings when span_index has an endpoint; borrows cfg. */
static int tracelink_validate(const void *cfg, char *err, size_t errlen)
{
    const pg_tracelink_config *c = cfg;
    if (!c->span_index.enabled || !c->span_index.http.endpoint.text) return 0;
    int rc = pg_http_server_config_validate(&c->span_index.http, err, errlen);
    if (rc) pg_err_prefix(err, errlen, "span_index");
    return rc;
}

/* The signal rules (config.h: check_signals): a traces pipeline feeds the span index, so
 * it needs span_index.enabled; an enabled index needs a feed: a traces pipeline or an
 * endpoint of its own. Borrows cfg. */
static int tracelink_check_signals(const void *cfg, unsigned used_by, char *err, size_t errlen)
{
    const pg_tracelink_config *c = cfg;
    if ((used_by & PG_SIGNAL_TRACES) && !c->span_index.enabled)
        return pg_err(err, errlen, PG_EINVAL,
                      "in a traces pipeline: set span_index.enabled: true (the spans go into "
                      "the span index)");
    if (c->span_index.enabled && !c->span_index.http.endpoint.text && !(used_by & PG_SIGNAL_TRACES))
        return pg_err(err, errlen, PG_EINVAL,
                      "span_index: nothing feeds the index: name this processor in a traces "
                      "pipeline, or give span_index.endpoint");
    return 0;
}

typedef struct tracelink {
    char *id;
    pg_consumer next;
    tl_keys keys;
    pg_host *host;
    tl_index *shared;  /* NULL when span_index is disabled */
    pg_span_index *ix; /* shared->ix, or NULL */
    int64_t wait;
    pg_counter *linked, *unparsable, *resolved, *unresolved;
} tracelink;

/* A malloc'd copy of l's items into *out, *n. */
static int copy_list(const pg_cfg_strlist *l, char ***out, size_t *n)
{
    *out = calloc(l->n ? l->n : 1, sizeof **out);
    if (!*out) return PG_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        if (!((*out)[i] = strdup(l->items[i]))) return PG_ENOMEM;
        *n = i + 1;
    }
    return 0;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

static void tracelink_destroy(void *self)
{
    tracelink *t = self;
    if (!t) return;
    if (t->shared) tl_index_release(t->host, t->id);
    free_list(t->keys.trace, t->keys.ntrace);
    free_list(t->keys.span, t->keys.nspan);
    free_list(t->keys.decimal, t->keys.ndecimal);
    free(t->id);
    free(t);
}

/* Registers the series (labels: processor=<id>). */
static void register_metrics(tracelink *t, pg_metrics *m)
{
    char l[512] = "";
    pg_metrics_label(l, sizeof l, "processor", t->id);
    t->linked = pg_metrics_counter(m, "profgate_tracelink_samples_linked_total",
                                   "Samples that got a link from their id labels.", l);
    t->unparsable = pg_metrics_counter(m, "profgate_tracelink_ids_unparsable_total",
                                       "Id labels whose value is not a valid id.", l);
    t->resolved = pg_metrics_counter(m, "profgate_tracelink_links_resolved_total",
                                     "Links whose trace id came from the span index.", l);
    t->unresolved = pg_metrics_counter(m, "profgate_tracelink_unresolved_total",
                                       "Samples with a span id but no trace id.", l);
}

/* Copies the keys (cfg borrowed), takes its id's shared span index (made, with its
 * listener not started, by the first instance). */
static int tracelink_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                            void **self, char *err, size_t errlen)
{
    const pg_tracelink_config *c = cfg;
    int rc = tracelink_validate(c, err, errlen);
    if (rc) return rc;
    tracelink *t = calloc(1, sizeof *t);
    if (!t || !(t->id = strdup(s->id ? s->id : "tracelink"))) {
        free(t);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    t->next = next;
    t->host = s->host;
    t->keys.remove_labels = c->remove_labels;
    t->wait = c->span_index.wait;
    if (copy_list(&c->trace_id_labels, &t->keys.trace, &t->keys.ntrace) ||
        copy_list(&c->span_id_labels, &t->keys.span, &t->keys.nspan) ||
        copy_list(&c->decimal_labels, &t->keys.decimal, &t->keys.ndecimal)) {
        tracelink_destroy(t);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    if (c->span_index.enabled) {
        if (!(t->shared = tl_index_acquire(s, &c->span_index, err, errlen))) {
            tracelink_destroy(t);
            return PG_EINVAL;
        }
        t->ix = t->shared->ix;
    }
    register_metrics(t, pg_host_metrics(s->host));
    *self = t;
    return 0;
}

/* Starts the shared listener (once per id). */
static int tracelink_start(void *self, char *err, size_t errlen)
{
    tracelink *t = self;
    return t->shared ? tl_index_start(t->shared, err, errlen) : 0;
}

/* Closes the shared listener (the first instance to stop does it). */
static void tracelink_shutdown(void *self, int64_t deadline_ns)
{
    tracelink *t = self;
    (void)deadline_ns;
    if (t->shared) tl_index_stop(t->shared);
}

/* Takes the span ids of a trace request (borrowed) into the shared index. */
static int tracelink_consume_traces(void *self, const pg_spans *s, char *err, size_t errlen)
{
    tracelink *t = self;
    if (!t->shared)
        return pg_err(err, errlen, PG_EINTERNAL, "span_index is disabled"); /* config refuses */
    tl_index_add(t->shared, s);
    return 0;
}

/* Takes b: waits for its spans (at most `wait`), links, hands it on. */
static int tracelink_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    tracelink *t = self;
    int64_t now = pg_now_mono_ns();
    if (t->ix && t->wait > 0) {
        int64_t deadline = now + t->wait;
        while (tl_count_unresolved(&t->keys, t->ix, b, now) && now < deadline) {
            pg_span_index_wait(t->ix, deadline);
            now = pg_now_mono_ns();
        }
    }
    tl_result r = {0};
    int rc = tl_link_batch(&t->keys, t->ix, b, now, &r, err, errlen);
    pg_counter_add(t->linked, r.linked);
    pg_counter_add(t->unparsable, r.unparsable);
    pg_counter_add(t->resolved, r.resolved);
    pg_counter_add(t->unresolved, r.unresolved);
    if (rc) {
        pg_log(PG_LOG_WARN, t->id, "dropping a batch of %zu profiles: %s",
               pg_batch_profile_count(b), err);
        pg_batch_free(b);
        return rc;
    }
    if (!t->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&t->next, b, err, errlen);
}

struct pg_span_index *pg_tracelink_span_index(void *self)
{
    return ((tracelink *)self)->ix;
}

uint16_t pg_tracelink_port(void *self)
{
    tracelink *t = self;
    return t->shared && t->shared->srv ? pg_http_server_port(t->shared->srv) : 0;
}

const pg_component_factory pg_tracelink_processor_factory = {
    .type = "tracelink",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = TRACELINK_FIELDS,
               .size = sizeof(pg_tracelink_config),
               .validate = tracelink_validate,
               .signals = PG_SIGNAL_PROFILES | PG_SIGNAL_TRACES,
               .check_signals = tracelink_check_signals},
    .create = tracelink_create,
    .start = tracelink_start,
    .shutdown = tracelink_shutdown,
    .destroy = tracelink_destroy,
    .consume = tracelink_consume,
    .mutates = 1,
    .consume_traces = tracelink_consume_traces,
};

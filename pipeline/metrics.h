/* Self-metrics: a registry of counters, gauges and histograms rendered in the Prometheus
 * text format. Updates are lock-free atomics; registration takes a lock. Every metric is
 * owned by the registry. */
#ifndef PG_METRICS_H
#define PG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"

typedef struct pg_metrics pg_metrics;
typedef struct pg_counter pg_counter;
typedef struct pg_gauge pg_gauge;
typedef struct pg_histogram pg_histogram;

pg_metrics *pg_metrics_new(void);
void pg_metrics_free(pg_metrics *m);

/* Returns the series `name{labels}` (labels: Prometheus label text such as
 * `exporter="file/out"`, or "" / NULL), creating it on first use; the same name and labels
 * give the same series. NULL only when out of memory (updates on NULL are no-ops). */
pg_counter *pg_metrics_counter(pg_metrics *m, const char *name, const char *help, const char *labels);
pg_gauge *pg_metrics_gauge(pg_metrics *m, const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds (a +Inf bucket is implied). */
pg_histogram *pg_metrics_histogram(pg_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t n_bounds);
/* A gauge read by calling fn(ctx) at scrape time (queue sizes, RSS). */
int pg_metrics_gauge_fn(pg_metrics *m, const char *name, const char *help, const char *labels,
                        double (*fn)(void *ctx), void *ctx);

void pg_counter_add(pg_counter *c, uint64_t v);
uint64_t pg_counter_get(const pg_counter *c);
void pg_gauge_set(pg_gauge *g, int64_t v);
void pg_gauge_add(pg_gauge *g, int64_t v);
int64_t pg_gauge_get(const pg_gauge *g);
void pg_histogram_observe(pg_histogram *h, double v);

/* Appends every series in Prometheus text format (# HELP / # TYPE once per name). */
int pg_metrics_write(pg_metrics *m, pg_buf *out);

/* The standard per-component counters (names in docs/telemetry.md):
 *   receivers:  profgate_receiver_{accepted,refused}_{profiles,samples}_total, _accepted_bytes_total
 *   processors: profgate_processor_{incoming,outgoing,dropped}_profiles_total
 *   exporters:  profgate_exporter_{sent,send_failed,enqueue_failed}_{profiles,samples}_total,
 *               _sent_bytes_total, _retries_total, _send_latency_seconds (histogram)
 * Each labelled {receiver|processor|exporter="<id>"}. */
typedef struct pg_component_metrics {
    pg_counter *accepted_profiles, *accepted_samples, *accepted_bytes;
    pg_counter *refused_profiles, *refused_samples;
    pg_counter *incoming_profiles, *outgoing_profiles, *dropped_profiles;
    pg_counter *sent_profiles, *sent_samples, *sent_bytes;
    pg_counter *failed_profiles, *failed_samples, *enqueue_failed_profiles, *retries;
    pg_histogram *send_latency;
} pg_component_metrics;

/* Registers the standard series for one component of kind ("receiver", "processor",
 * "exporter") and id; fields not used by that kind stay NULL. */
void pg_component_metrics_init(pg_component_metrics *cm, pg_metrics *m, const char *kind, const char *id);

/* Process series: process_resident_memory_bytes, process_cpu_seconds_total,
 * process_start_time_seconds (read from /proc at scrape time). */
int pg_metrics_add_process(pg_metrics *m);

/* Resident set size of this process in bytes (from /proc/self/statm), 0 when unknown. */
uint64_t pg_process_rss_bytes(void);

#endif

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
 * give the same series. NULL only when out of memory (updates on NULL are no-ops).
 * Also NULL (and logged) for programming errors: malformed label text (build it with
 * pg_metrics_label), a name already registered with another type, or a histogram label
 * named `le`. Invalid characters in a name become '_'; a counter's name gets `_total`
 * appended when it does not end with it. The first help text of a name wins. */
pg_counter *pg_metrics_counter(pg_metrics *m, const char *name, const char *help,
                               const char *labels);
pg_gauge *pg_metrics_gauge(pg_metrics *m, const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds (a +Inf bucket is implied). */
pg_histogram *pg_metrics_histogram(pg_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t n_bounds);
/* A gauge read by calling fn(ctx) at scrape time (queue sizes, RSS). fn runs on the
 * scraping thread under the registry lock (it must not register metrics). Registering the
 * same name and labels again re-points the series to the new fn and ctx. ctx is borrowed
 * until pg_metrics_forget(m, ctx): call it before freeing ctx. Returns 0 or PG_EINVAL (fn
 * NULL, or the series could not be made: see pg_metrics_counter). */
int pg_metrics_gauge_fn(pg_metrics *m, const char *name, const char *help, const char *labels,
                        double (*fn)(void *ctx), void *ctx);
/* The same for a counter whose value is kept elsewhere (process CPU seconds). */
int pg_metrics_counter_fn(pg_metrics *m, const char *name, const char *help, const char *labels,
                          double (*fn)(void *ctx), void *ctx);
/* Removes every callback series registered with ctx; once it returns no scrape calls into
 * ctx. Counters, gauges and histograms are never removed (they live as long as m). */
void pg_metrics_forget(pg_metrics *m, void *ctx);

/* Appends `name="value"` to the label text in out (a NUL-terminated string, "" to start),
 * with a comma when out is not empty, escaping the value (\\ \" \n). Returns 0, or (out
 * unchanged) PG_ELIMIT when it does not fit, PG_EINVAL when name is not a valid label name,
 * PG_ENOMEM. */
int pg_metrics_label(char *out, size_t outlen, const char *name, const char *value);

void pg_counter_add(pg_counter *c, uint64_t v);
uint64_t pg_counter_get(const pg_counter *c);
void pg_gauge_set(pg_gauge *g, int64_t v);
void pg_gauge_add(pg_gauge *g, int64_t v);
int64_t pg_gauge_get(const pg_gauge *g);
void pg_histogram_observe(pg_histogram *h, double v);
/* Observations so far (the +Inf bucket). */
uint64_t pg_histogram_count(const pg_histogram *h);

/* Appends every series in Prometheus text format (# HELP / # TYPE once per name). */
int pg_metrics_write(pg_metrics *m, pg_buf *out);

/* The standard per-component counters (names in docs/telemetry.md):
 *   receivers:  profgate_receiver_{accepted,refused}_{profiles,samples}_total,
 * _accepted_bytes_total processors: profgate_processor_{incoming,outgoing,dropped}_profiles_total
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
    pg_counter *enqueue_failed_samples; /* exporters */
} pg_component_metrics;

/* Registers the standard series for one component of kind ("receiver", "processor",
 * "exporter") and id; fields not used by that kind stay NULL. */
void pg_component_metrics_init(pg_component_metrics *cm, pg_metrics *m, const char *kind,
                               const char *id);

/* Process series: process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_cpu_seconds_total, process_start_time_seconds, process_open_fds, process_max_fds
 * (read from /proc at scrape time). Returns 0 or the first registration's failure. */
int pg_metrics_add_process(pg_metrics *m);

/* Resident set size of this process in bytes (from /proc/self/statm), 0 when unknown. */
uint64_t pg_process_rss_bytes(void);
/* Bytes malloc has handed out and not had back (glibc mallinfo2); 0 when unknown. */
uint64_t pg_process_heap_in_use_bytes(void);

#endif

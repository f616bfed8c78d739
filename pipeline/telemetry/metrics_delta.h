/* The cumulative-to-delta series (pipeline/core/delta.h), shared by the components that
 * hold a pg_delta (the cumulative_to_delta processor, the pprof_scrape receiver); names
 * and help in docs/telemetry.md. */
#ifndef PG_METRICS_DELTA_H
#define PG_METRICS_DELTA_H

#include "pipeline/core/delta.h"
#include "pipeline/telemetry/metrics.h"

typedef struct pg_delta_metrics {
    pg_metrics *m;
    pg_delta *d; /* borrowed: the gauges read it at scrape time */
    pg_counter *emitted, *primed, *restarts, *passed, *evicted, *expired, *removed_samples;
} pg_delta_metrics;

/* Registers the series with `labels` (Prometheus label text, e.g. processor="x") and the
 * gauges profgate_delta_series / profgate_delta_state_bytes read from d (borrowed until
 * pg_delta_metrics_forget). */
void pg_delta_metrics_init(pg_delta_metrics *dm, pg_metrics *m, const char *labels, pg_delta *d);

/* Adds one call's stats to the counters. */
void pg_delta_metrics_add(const pg_delta_metrics *dm, const pg_delta_stats *st);

/* Stops the gauges reading d (before pg_delta_free). */
void pg_delta_metrics_forget(pg_delta_metrics *dm);

#endif

/* The cumulative-to-delta series (see metrics_delta.h). */
#include "pipeline/telemetry/metrics_delta.h"

#include <string.h>

/* Gauge callbacks: read the state under its lock. */
static double series_count(void *ctx)
{
    return (double)pg_delta_series_count(ctx);
}

static double state_bytes(void *ctx)
{
    return (double)pg_delta_state_bytes(ctx);
}

/* See metrics_delta.h. */
void pg_delta_metrics_init(pg_delta_metrics *dm, pg_metrics *m, const char *labels, pg_delta *d)
{
    memset(dm, 0, sizeof *dm);
    if (!m) return;
    dm->m = m;
    dm->d = d;
    dm->emitted = pg_metrics_counter(m, "profgate_delta_emitted_profiles_total",
                                     "Cumulative profiles passed on as deltas.", labels);
    dm->primed = pg_metrics_counter(
        m, "profgate_delta_primed_profiles_total",
        "First profiles of a series: kept as the baseline, not passed on.", labels);
    dm->restarts = pg_metrics_counter(
        m, "profgate_delta_restarts_total",
        "Profiles whose values went down (a restarted process): re-primed, not passed on.", labels);
    dm->passed =
        pg_metrics_counter(m, "profgate_delta_passed_profiles_total",
                           "Profiles left as they were (inuse_*, not cumulative).", labels);
    dm->evicted = pg_metrics_counter(m, "profgate_delta_series_evicted_total",
                                     "Series dropped to stay within max_series.", labels);
    dm->expired = pg_metrics_counter(m, "profgate_delta_series_expired_total",
                                     "Series dropped after not being seen for the expiry.", labels);
    dm->removed_samples = pg_metrics_counter(
        m, "profgate_delta_removed_samples_total",
        "Samples removed from delta profiles: zero deltas and repeated identities.", labels);
    if (d) {
        pg_metrics_gauge_fn(m, "profgate_delta_series", "Series held by the delta state.", labels,
                            series_count, d);
        pg_metrics_gauge_fn(m, "profgate_delta_state_bytes",
                            "Bytes held by the delta state (previous values).", labels, state_bytes,
                            d);
    }
}

/* See metrics_delta.h. */
void pg_delta_metrics_add(const pg_delta_metrics *dm, const pg_delta_stats *st)
{
    pg_counter_add(dm->emitted, st->emitted);
    pg_counter_add(dm->primed, st->primed);
    pg_counter_add(dm->restarts, st->restarts);
    pg_counter_add(dm->passed, st->passed);
    pg_counter_add(dm->evicted, st->evicted);
    pg_counter_add(dm->expired, st->expired);
    pg_counter_add(dm->removed_samples, st->removed_samples);
}

/* See metrics_delta.h. */
void pg_delta_metrics_forget(pg_delta_metrics *dm)
{
    if (dm->m && dm->d) pg_metrics_forget(dm->m, dm->d);
    dm->d = NULL;
}

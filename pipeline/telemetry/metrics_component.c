/* The standard per-component series (documented in docs/telemetry.md). */
#include "pipeline/telemetry/metrics.h"

#include <stdio.h>
#include <string.h>

/* Send latency buckets, seconds: 1 ms .. 60 s. */
static const double LATENCY_BOUNDS[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,     2.5,  5,     10,   30,  60};

/* Registers `profgate_<kind>_<what>_total{<kind>="<id>"}`. */
static pg_counter *ctr(pg_metrics *m, const char *kind, const char *what, const char *help,
                       const char *labels)
{
    char name[128];
    snprintf(name, sizeof name, "profgate_%s_%s_total", kind, what);
    return pg_metrics_counter(m, name, help, labels);
}

/* Fills cm with series owned by m (borrowed kind and id are copied into the labels). */
void pg_component_metrics_init(pg_component_metrics *cm, pg_metrics *m, const char *kind,
                               const char *id)
{
    memset(cm, 0, sizeof *cm);
    if (!m || !kind || !id) return;
    char labels[512] = "";
    if (pg_metrics_label(labels, sizeof labels, kind, id) != 0) return;
    if (strcmp(kind, "receiver") == 0) {
        cm->accepted_profiles =
            ctr(m, kind, "accepted_profiles",
                "Profiles accepted by the receiver and handed to pipelines.", labels);
        cm->accepted_samples = ctr(m, kind, "accepted_samples",
                                   "Samples in the profiles accepted by the receiver.", labels);
        cm->accepted_bytes =
            ctr(m, kind, "accepted_bytes",
                "Request body bytes (as received, before decompression) accepted by the receiver.",
                labels);
        cm->refused_profiles = ctr(
            m, kind, "refused_profiles",
            "Profiles the receiver could not hand on (refused downstream or malformed).", labels);
        cm->refused_samples = ctr(m, kind, "refused_samples",
                                  "Samples in the profiles the receiver refused.", labels);
    } else if (strcmp(kind, "processor") == 0) {
        cm->incoming_profiles =
            ctr(m, kind, "incoming_profiles", "Profiles handed to the processor.", labels);
        cm->outgoing_profiles =
            ctr(m, kind, "outgoing_profiles", "Profiles the processor passed on.", labels);
        cm->dropped_profiles =
            ctr(m, kind, "dropped_profiles",
                "Profiles the processor dropped on purpose (filtered, refused).", labels);
    } else if (strcmp(kind, "exporter") == 0) {
        cm->sent_profiles =
            ctr(m, kind, "sent_profiles", "Profiles the exporter delivered.", labels);
        cm->sent_samples =
            ctr(m, kind, "sent_samples", "Samples in the profiles the exporter delivered.", labels);
        cm->sent_bytes =
            ctr(m, kind, "sent_bytes", "Encoded bytes the exporter delivered.", labels);
        cm->failed_profiles =
            ctr(m, kind, "send_failed_profiles",
                "Profiles the exporter gave up on (permanent error or retries exhausted).", labels);
        cm->failed_samples = ctr(m, kind, "send_failed_samples",
                                 "Samples in the profiles the exporter gave up on.", labels);
        cm->enqueue_failed_profiles =
            ctr(m, kind, "enqueue_failed_profiles",
                "Profiles refused because the sending queue was full.", labels);
        cm->enqueue_failed_samples =
            ctr(m, kind, "enqueue_failed_samples",
                "Samples in the profiles refused because the sending queue was full.", labels);
        cm->retries =
            ctr(m, kind, "retries", "Send attempts retried after a retryable error.", labels);
        cm->send_latency = pg_metrics_histogram(
            m, "profgate_exporter_send_latency_seconds",
            "Time of one send attempt, from start to the backend's answer, in seconds.", labels,
            LATENCY_BOUNDS, sizeof LATENCY_BOUNDS / sizeof LATENCY_BOUNDS[0]);
    }
}

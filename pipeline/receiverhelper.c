/* The request bookkeeping shared by network receivers (see receiverhelper.h). */
#include "pipeline/receiverhelper.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Request latency buckets (seconds). */
static const double LATENCY_BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5};

/* Registers the series; borrows m and id (the registry copies names and labels). */
void pg_rx_stats_init(pg_rx_stats *st, pg_metrics *m, const char *id)
{
    memset(st, 0, sizeof *st);
    pg_component_metrics_init(&st->cm, m, "receiver", id);
    char lab[256] = "";
    pg_metrics_label(lab, sizeof lab, "receiver", id);
    st->request_bytes =
        pg_metrics_counter(m, "profgate_receiver_request_bytes_total",
                           "Bytes of export requests as received (before inflating).", lab);
    st->rejected_profiles = pg_metrics_counter(
        m, "profgate_receiver_partial_rejected_profiles_total",
        "Profiles dropped from accepted requests and reported in partial_success.", lab);
    st->latency =
        pg_metrics_histogram(m, "profgate_receiver_request_duration_seconds",
                             "Time from a request's arrival to its answer.", lab, LATENCY_BOUNDS,
                             sizeof LATENCY_BOUNDS / sizeof LATENCY_BOUNDS[0]);
    for (int code = PG_OK; code >= PG_STATUS_MIN; code--) {
        if (code == -1) continue; /* not a status code */
        char l2[320];
        memcpy(l2, lab, sizeof lab);
        pg_metrics_label(l2, sizeof l2, "status", pg_status_name(code));
        st->requests[-code] = pg_metrics_counter(m, "profgate_receiver_requests_total",
                                                 "Export requests answered, by status.", l2);
    }
}

/* Counts one answered request; st may be NULL. */
void pg_rx_stats_request(pg_rx_stats *st, int status, size_t bytes, double seconds)
{
    if (!st) return;
    if (pg_status_valid(status)) pg_counter_add(st->requests[-status], 1);
    pg_counter_add(st->request_bytes, bytes);
    pg_histogram_observe(st->latency, seconds);
}

/* Keeps the configured metadata keys on b: repeated values joined with ",", bounded by
 * max_value (PG_ELIMIT). Borrows c and md. */
int pg_rx_keep_metadata(const pg_rx_metadata *c, pg_batch *b, const pg_rx_md *md, size_t n,
                        char *err, size_t errlen)
{
    if (!c->include) return 0;
    size_t cap = c->max_value ? c->max_value : 4096;
    char *val = malloc(cap + 1);
    if (!val) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t k = 0; k < c->n_keys && rc == 0; k++) {
        size_t at = 0;
        int found = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (strcasecmp(md[i].key, c->keys[k]) != 0) continue;
            size_t vl = strlen(md[i].value);
            if (at + (found ? 1 : 0) + vl > cap)
                rc = pg_err(err, errlen, PG_ELIMIT, "metadata %s: over %zu bytes", c->keys[k], cap);
            else {
                if (found) val[at++] = ',';
                memcpy(val + at, md[i].value, vl);
                at += vl;
                found = 1;
            }
        }
        val[at] = '\0';
        if (rc == 0 && found && pg_batch_meta_set(b, c->keys[k], val))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory keeping metadata");
    }
    free(val);
    return rc;
}

/* Takes b; see receiverhelper.h. */
int pg_rx_hand_on(pg_batch *b, const char *id, const pg_consumer *next, pg_rx_stats *st,
                  size_t wire_len, char *err, size_t errlen)
{
    size_t profiles = pg_batch_profile_count(b), samples = pg_batch_sample_count(b);
    pg_batch_set_origin(b, pg_arena_strndup(pg_batch_arena(b), id, strlen(id)), pg_now_unix_ns());
    pg_ack *ack = pg_ack_new(NULL, NULL);
    if (!ack) {
        pg_batch_free(b);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_batch_set_ack(b, ack);
    int rc = pg_consume(next, b, err, errlen); /* b is not ours any more */
    pg_ack_release(ack);
    if (st) {
        pg_counter_add(rc ? st->cm.refused_profiles : st->cm.accepted_profiles, profiles);
        pg_counter_add(rc ? st->cm.refused_samples : st->cm.accepted_samples, samples);
        if (rc == 0) pg_counter_add(st->cm.accepted_bytes, wire_len);
    }
    return rc;
}

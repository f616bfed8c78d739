/* Private to otlp_client*.c: the shared state of one otlp / otlphttp exporter. */
#ifndef PG_OTLP_CLIENT_INT_H
#define PG_OTLP_CLIENT_INT_H

#include <pthread.h>

#include "pipeline/exporterhelper/otlp_client.h"
#include "pipeline/telemetry/metrics.h"

#define PG_OTLP_CLIENT_MAX_SEEN 64 /* distinct reasons logged once each */

struct pg_otlp_client {
    char *id;
    int compression;
    bool attribute_references;
    int64_t version;
    char version_text[24];
    char **static_keys, **static_values; /* configured headers */
    size_t n_static;
    char **meta_names; /* headers_from_metadata, as written (looked up case-insensitively) */
    size_t n_meta;
    pg_metrics *metrics; /* borrowed from the host; may be NULL */
    pg_counter *partial_profiles;
    pthread_mutex_t mu;                  /* seen */
    char *seen[PG_OTLP_CLIENT_MAX_SEEN]; /* reasons already logged */
    size_t n_seen;
};

#endif

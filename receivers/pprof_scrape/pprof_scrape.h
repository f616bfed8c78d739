/* pprof_scrape receiver: pulls Go `net/http/pprof` endpoints (and godeltaprof, custom
 * paths) from many targets, as Grafana Alloy's pyroscope.scrape does, and hands the
 * profiles on as OTLP batches. Targets come from a static list and from Prometheus
 * file_sd files (JSON or YAML, globs, re-read on change). Every (target, profile type) is
 * scraped every scrape_interval, offset by a per-target jitter, through one libcurl multi
 * handle driven by the host's event loop (connections reused). Cumulative profiles
 * (memory alloc_*, mutex, block) become deltas through pipeline/core/delta.h; inuse_*,
 * goroutine, CPU and godeltaprof profiles pass as they are. Docs: docs/pprof-scrape.md. */
#ifndef PG_PPROF_SCRAPE_H
#define PG_PPROF_SCRAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/component.h"

/* One profile type of profiling_config. */
typedef struct pg_scrape_profile_cfg {
    bool enabled;
    char *path;
    bool delta;   /* cumulative: subtract the previous scrape */
    bool seconds; /* a duration profile: add ?seconds=<interval - 1s> */
    char *name;   /* custom entries only */
} pg_scrape_profile_cfg;

typedef struct pg_scrape_profiling_cfg {
    char *path_prefix;
    pg_scrape_profile_cfg process_cpu, memory, goroutine, mutex, block;
    pg_scrape_profile_cfg godeltaprof_memory, godeltaprof_mutex, godeltaprof_block;
    pg_cfg_seclist custom; /* of pg_scrape_profile_cfg */
} pg_scrape_profiling_cfg;

typedef struct pg_scrape_target_cfg {
    char *endpoint; /* host:port */
    pg_cfg_strmap labels;
} pg_scrape_target_cfg;

typedef struct pg_scrape_file_sd_cfg {
    pg_cfg_strlist files; /* globs */
    int64_t refresh_interval;
} pg_scrape_file_sd_cfg;

typedef struct pg_scrape_tls_cfg {
    char *ca_file, *cert_file, *key_file;
    bool insecure_skip_verify;
} pg_scrape_tls_cfg;

typedef struct pg_scrape_basic_auth_cfg {
    char *username, *password;
} pg_scrape_basic_auth_cfg;

typedef struct pg_pprof_scrape_config {
    char *job_name; /* default: the component id */
    int64_t scrape_interval, scrape_timeout;
    int scheme; /* index into pg_scrape_schemes: 0 http, 1 https */
    pg_cfg_strmap params, headers;
    char *bearer_token;
    pg_scrape_basic_auth_cfg basic_auth;
    pg_scrape_tls_cfg tls;
    uint64_t max_body_size;
    int64_t max_targets;
    int64_t max_series;
    pg_cfg_seclist targets; /* of pg_scrape_target_cfg */
    pg_scrape_file_sd_cfg file_sd;
    pg_scrape_profiling_cfg profiling_config;
} pg_pprof_scrape_config;

extern const pg_component_factory pg_pprof_scrape_factory;

#endif

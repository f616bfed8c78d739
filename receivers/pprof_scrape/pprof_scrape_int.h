/* pprof_scrape internals shared by its files: the receiver, its targets and jobs (one per
 * target and profile type). Everything but create/shutdown/destroy runs on the host's
 * event-loop thread. */
#ifndef PG_PPROF_SCRAPE_INT_H
#define PG_PPROF_SCRAPE_INT_H

#include "receivers/pprof_scrape/pprof_scrape.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/delta.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/telemetry/metrics_delta.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

extern const pg_cfg_field pg_scrape_fields[];
extern const char *const pg_scrape_schemes[];
int pg_scrape_validate(const void *cfg, char *err, size_t errlen);

/* Why a scrape failed (the reason label of profgate_scrape_errors_total). */
typedef enum scrape_reason {
    SR_CONNECT,
    SR_TIMEOUT,
    SR_HTTP_STATUS,
    SR_BODY_TOO_LARGE,
    SR_EMPTY,
    SR_DECODE,
    SR_TRANSPORT,
    SR_REFUSED,
    SR_COUNT
} scrape_reason;

extern const char *const pg_scrape_reason_names[SR_COUNT];

/* One enabled profile type. */
typedef struct scrape_kind {
    char *name; /* process_cpu, memory, ... or a custom name */
    char *path; /* path_prefix + path */
    bool delta, seconds;
} scrape_kind;

typedef struct scrape_rx scrape_rx;
typedef struct scrape_target scrape_target;

/* One target x profile type: its timer, easy handle while scraping, body and health. */
typedef struct scrape_job {
    scrape_rx *rx;
    scrape_target *t;
    size_t kind;
    char *url;
    CURL *easy;
    struct event *timer;
    int64_t next_at; /* monotonic ns of the next scheduled scrape */
    pg_buf body;
    bool in_flight, too_large, registered;
    int64_t started_mono;
    uint64_t started_unix;
    int state; /* -1 unknown, 0 down, 1 up: a log line on each change */
    _Atomic int64_t up, duration_ns, samples;
    _Atomic uint64_t errors;
} scrape_job;

struct scrape_target {
    scrape_rx *rx;
    char *key; /* endpoint + labels: the identity across file_sd reloads */
    char *endpoint;
    char **lk, **lv; /* labels */
    size_t nl;
    uint64_t seed; /* hash of key: jitter and delta series */
    bool from_file, seen;
    scrape_job *jobs; /* one per kind */
    scrape_target *next;
};

struct scrape_rx {
    char *id, *job;
    pg_host *host;
    struct event_base *base;
    pg_consumer next;
    pg_metrics *m;
    pg_component_metrics cm;
    pg_pprof_scrape_config cfg; /* scalars only: pointers inside are not kept */
    char *scheme;
    struct curl_slist *headers;
    char *params;               /* "k=v&k2=v2" (escaped), or "" */
    char *bearer, *user, *pass; /* credentials, or NULL */
    char *ca, *cert, *key;      /* TLS, or NULL */
    CURLM *multi;
    struct event *curl_timer;
    scrape_kind *kinds;
    size_t n_kinds;
    scrape_target *targets;
    size_t n_targets;
    pg_scrape_target_cfg *statics; /* copies of the static targets */
    size_t n_statics;
    char **sd_globs;
    size_t n_globs;
    struct event *sd_timer;
    uint64_t sd_sig; /* signature of the file_sd files last read */
    pg_delta *delta;
    pg_delta_metrics dm;
    pg_counter *errors[SR_COUNT], *overruns, *targets_dropped, *sd_reloads, *sd_errors;
    pg_gauge *g_targets;
    struct event *stop_ev;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stopped;
};

/* ---- targets (scrape_targets.c) ---- */

/* Replaces the set of targets from file_sd (or the static ones when from_file is false)
 * with `list` (borrowed); targets whose key is unchanged keep their state. Loop thread
 * (or before start). Returns 0 or PG_ENOMEM. */
int pg_scrape_targets_sync(scrape_rx *rx, const pg_scrape_target_cfg *list, size_t n,
                           bool from_file);
/* Stops and frees every target (loop stopped or on the loop thread). */
void pg_scrape_targets_free_all(scrape_rx *rx);
/* Arms every job's timer (at its jitter offset). */
void pg_scrape_targets_arm(scrape_rx *rx);

/* ---- HTTP (scrape_http.c) ---- */

/* Creates the multi handle and its loop glue. Returns 0 or a negative status. */
int pg_scrape_http_init(scrape_rx *rx, char *err, size_t errlen);
/* Removes every transfer and frees the multi handle. */
void pg_scrape_http_free(scrape_rx *rx);
/* Sets up a job's easy handle (URL, limits, credentials) for one scrape (freed when it
 * is done). Returns 0 or PG_ENOMEM. */
int pg_scrape_http_job_init(scrape_rx *rx, scrape_job *j);
/* Starts one scrape of j. */
void pg_scrape_http_start(scrape_rx *rx, scrape_job *j);
/* Stops j's transfer if any and frees its easy handle. */
void pg_scrape_http_job_free(scrape_rx *rx, scrape_job *j);

/* ---- results (scrape_emit.c) ---- */

/* Handles a finished transfer of j: decode, labels, deltas, hand on, health. */
void pg_scrape_done(scrape_rx *rx, scrape_job *j, CURLcode res);
/* Registers j's health series. */
void pg_scrape_job_metrics(scrape_rx *rx, scrape_job *j);

/* ---- file_sd (scrape_sd.c) ---- */

/* Reads the file_sd files now if they changed since the last read (always when force)
 * and syncs the targets. */
void pg_scrape_sd_refresh(scrape_rx *rx, bool force);
/* Parses one file_sd file (JSON or YAML, same shape) and appends its targets to *out
 * (malloc-owned; free with pg_scrape_sd_free_list). Returns 0 or PG_EINVAL with err. */
int pg_scrape_sd_parse(const char *path, pg_scrape_target_cfg **out, size_t *n, char *err,
                       size_t errlen);
void pg_scrape_sd_free_list(pg_scrape_target_cfg *l, size_t n);

#endif

/* Private: the `pprof_push` receiver's config, state and the pieces its files share:
 * push_query.c (the /ingest query and its name{labels}), push_profile.c (one pprof into a
 * batch with its series labels, the answer), push_ingest.c (/ingest, /v1/pprof),
 * push_prev.c (a multipart prev_profile as the base of a delta), push_connect.c
 * (push.v1.PusherService/Push over Connect and gRPC). */
#ifndef PG_PPROF_PUSH_INT_H
#define PG_PPROF_PUSH_INT_H

/* The resource attribute holding a series' Pyroscope profile name (`__name__`) when it
 * was given, so that the pyroscope exporter sends it back unchanged. */
#define PUSH_ATTR_PROFILE_NAME "pyroscope.profile_name"
/* The resource attribute holding the SDK's spyName (Pyroscope's `pyroscope_spy` label). */
#define PUSH_ATTR_SPY "pyroscope_spy"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/core/batch.h"
#include "pipeline/net/http_server.h"
#include "pipeline/receiverhelper.h"
#include "pipeline/telemetry/metrics_delta.h"
#include "pipeline/translate/decode_limits.h"

typedef struct push_config {
    pg_http_server_config http;
    bool include_metadata;
    pg_cfg_strlist metadata_keys;
    uint64_t max_metadata_value;
    uint64_t max_decompressed;
    int64_t max_samples;
    int64_t max_series_labels;
    uint64_t max_label_name;
    uint64_t max_label_value;
    int64_t max_parts;
    int prev_profile; /* PUSH_PREV_DELTA or PUSH_PREV_REJECT */
} push_config;

/* What a non-empty multipart prev_profile does. */
enum { PUSH_PREV_DELTA = 0, PUSH_PREV_REJECT = 1 };

typedef struct push_receiver {
    char *id;
    pg_consumer next;
    pg_rx_stats stats;
    pg_rx_metadata md;
    char **md_keys;
    pg_decode_limits limits;
    size_t max_labels, max_name, max_value, max_parts;
    pg_counter *dropped_types; /* sample types left out by sample_type_config */
    int prev_mode;             /* PUSH_PREV_* */
    pg_delta_metrics dm;       /* profile - prev_profile, labelled receiver="id" */
    pg_http_server_config http;
    pg_http_server *srv;
    pg_metrics *metrics;
} push_receiver;

/* ---- push_query.c -------------------------------------------------------------------- */

/* One series label (both strings owned by the set). */
typedef struct push_label {
    char *name, *value;
} push_label;

/* The series labels of one profile: `service_name` apart, the others in order. */
typedef struct push_labels {
    char *service;      /* service.name; NULL when neither given nor derivable */
    char *profile_name; /* `__name__` when given (or told by sample_type_config); NULL */
    push_label *l;      /* the other labels (no `__` names, no service_name) */
    size_t n, cap;
} push_labels;

/* Bounds on series labels. */
typedef struct push_label_limits {
    size_t max_labels, max_name, max_value;
} push_label_limits;

/* The /ingest query (strings owned; push_query_free). */
typedef struct push_query {
    char *name;        /* raw `name` */
    char *format;      /* "" when not given */
    char *spy_name;    /* "" when not given */
    uint64_t from_ns;  /* 0 when not given */
    uint64_t until_ns; /* 0 when not given */
    int64_t sample_rate;
} push_query;

/* Parses a URL query (borrowed; `k=v&...`, percent and '+' decoded) into q. now_ns is the
 * time relative values ("now-1h") count from. Returns 0 or PG_EINVAL / PG_ENOMEM. */
int push_query_parse(const char *query, uint64_t now_ns, push_query *q, char *err, size_t errlen);
void push_query_free(push_query *q);

/* Parses a Pyroscope time (`attime`): unix seconds, milliseconds, microseconds or
 * nanoseconds told apart by magnitude, `now`, or `now-<n><s|m|h|d>`. */
int push_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns);

/* Parses `app.cpu{k=v,k2=v2}` into ls: service_name label, else the app name with a known
 * Pyroscope type suffix (`.cpu`, `.alloc_objects`, ...) removed. Returns 0, PG_EINVAL
 * (malformed, bad label name) or PG_ELIMIT (over lim). */
int push_name_parse(const char *name, const push_label_limits *lim, push_labels *ls, char *err,
                    size_t errlen);

/* Adds one label: `service_name` sets the service, `__name__` the profile name, other names
 * starting `__` are skipped, a name
 * given twice keeps the last value. Returns 0, PG_EINVAL, PG_ELIMIT or PG_ENOMEM. */
int push_labels_add(push_labels *ls, const char *name, size_t nl, const char *value, size_t vl,
                    const push_label_limits *lim, char *err, size_t errlen);
void push_labels_free(push_labels *ls);

/* ---- push_profile.c ------------------------------------------------------------------ */

/* Decodes one pprof (gzip or plain; borrowed) into b as a new resource whose attributes are
 * service.name and ls's labels (plus pyroscope_spy when spy is non-empty); from/until (unix
 * ns, 0 = unknown) become each profile's time and duration when the pprof has none. When
 * types (a parsed sample_type_config; NULL = all) is given, the sample types it does not
 * name are left out. Checks the request's total samples. Returns 0 or a status. */
int push_add_pprof(push_receiver *r, pg_batch *b, const uint8_t *p, size_t n, const push_labels *ls,
                   const char *spy, uint64_t from_ns, uint64_t until_ns, char *const *types,
                   size_t n_types, char *err, size_t errlen);

/* Keeps the configured metadata from req's headers on b, hands b (owned) on. */
int push_hand_on(push_receiver *r, const pg_http_request *req, pg_batch *b, char *err,
                 size_t errlen);

/* Counts the request (status, bytes, time since t0_ns). */
void push_count(push_receiver *r, const pg_http_request *req, int status, int64_t t0_ns);

/* ---- push_ingest.c / push_connect.c: route handlers ----------------------------------- */

void push_on_ingest(void *ctx, const pg_http_request *req, pg_http_reply *reply);
void push_on_raw(void *ctx, const pg_http_request *req, pg_http_reply *reply);
void push_on_connect(void *ctx, const pg_http_request *req, pg_http_reply *reply);

/* A parsed sample_type_config (everything malloc'd; push_stc_free). */
typedef struct push_stc {
    char **types;     /* the sample types it configures */
    bool *cumulative; /* per type: `"cumulative": true` */
    size_t n;
    char *profile_name; /* told by a display-name (`mutex_*` -> mutex, `block_*` -> block) */
} push_stc;

/* Parses a sample_type_config JSON document (borrowed) into *out: the sample types it
 * configures, whether each is cumulative and, when a `display-name` tells the profile type
 * as Pyroscope reads it, that name (else NULL). PG_EINVAL when it is not an object of
 * objects. */
int push_sample_type_config(const uint8_t *json, size_t n, push_stc *out, char *err, size_t errlen);
void push_stc_free(push_stc *s);

/* The name of profile p's sample type (borrowed from b's dictionary), or "". */
const char *push_type_name(pg_batch *b, const pg_otlp_profile *p);

/* ---- push_prev.c ----------------------------------------------------------------------- */

/* Makes the cumulative sample types of b's profiles (one decoded `profile`; b owned alone
 * by the caller) hold `profile - prev_profile` per sample identity, through the shared
 * delta code (pipeline/core/delta.h): prev (the raw prev_profile part, gzip or not;
 * borrowed) primes a state of its own, then b is subtracted from it. Cumulative: the types
 * stc (NULL: none given) marks `cumulative`, else Pyroscope's default mapping (alloc_*,
 * contentions, delay); inuse_* never. A type whose values went down (a restart between the
 * two) or that prev lacks is left out, counted in the profgate_delta_* series. Returns 0
 * or a status. */
int push_prev_delta(push_receiver *r, pg_batch *b, const uint8_t *prev, size_t n,
                    const push_stc *stc, char *err, size_t errlen);

#endif

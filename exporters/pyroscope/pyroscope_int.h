/* Private: the `pyroscope` exporter's pieces: pyro_series.c turns a batch into series
 * (labels + a gzip pprof each), pyro_send.c encodes and posts them. */
#ifndef PG_PYROSCOPE_INT_H
#define PG_PYROSCOPE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"

/* The resource attributes the pprof_push receiver writes (kept in step with it). */
#define PYRO_ATTR_PROFILE_NAME "pyroscope.profile_name"
#define PYRO_ATTR_SPY "pyroscope_spy"

typedef struct pyro_label {
    char *name, *value;
} pyro_label;

/* One series: its labels (`__name__` and `service_name` included) and one pprof. */
typedef struct pyro_series {
    pyro_label *labels;
    size_t n_labels;
    pg_buf pprof;     /* gzip'd */
    uint64_t time_ns; /* the profile's time (0 = none) */
    uint64_t duration_ns;
    const char *spy; /* borrowed from the labels, or NULL */
} pyro_series;

/* Splits b (borrowed) into series: one pprof per group of profiles the translator makes
 * (pg_pprof_plan), links as span_id / trace_id labels; labels from the resource attributes
 * (`service.name` -> service_name, pyroscope.profile_name -> __name__, others with
 * characters outside [A-Za-z0-9_] replaced by `_`), `__name__` derived from the sample
 * types when not given, then `external` (overriding). Returns 0 with *out (free with
 * pyro_series_free) or a status. */
int pyro_series_build(const pg_batch *b, const pg_cfg_strmap *external, pyro_series **out,
                      size_t *n, char *err, size_t errlen);
void pyro_series_free(pyro_series *s, size_t n);

/* The profile type name Pyroscope gives a pprof whose first sample type is `type`:
 * process_cpu, wall, memory, goroutines, mutex, exceptions; else `type` itself. */
const char *pyro_profile_name(const char *type);

/* The series' `__name__`. */
const char *pyro_series_name(const pyro_series *s);

/* Encodes a push.v1.PushRequest of s[0..n) (protobuf) into out. 0 or PG_ENOMEM. */
int pyro_push_encode(const pyro_series *s, size_t n, pg_buf *out);

/* Writes the /ingest query for one series (name=service{labels}&from&until&spyName) into
 * out (NUL-terminated). Labels whose value holds `,{}=` cannot be written and are left
 * out (counted in *skipped). 0 or PG_ENOMEM. */
int pyro_ingest_query(const pyro_series *s, pg_buf *out, size_t *skipped);

#endif

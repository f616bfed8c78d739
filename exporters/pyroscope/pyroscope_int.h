/* Private: the `pyroscope` exporter's pieces: pyro_series.c turns a batch into series
 * (labels + a gzip pprof each) and encodes them for either protocol; with `limits` on,
 * pyro_limits.c, pyro_split.c and pyro_label_limits.c make the series instead;
 * pyroscope_exporter.c posts them. */
#ifndef PG_PYROSCOPE_INT_H
#define PG_PYROSCOPE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/translate/pprof.h"

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
    size_t samples;  /* samples of the group's profiles */
} pyro_series;

/* Splits b (borrowed) into series: one pprof per group of profiles the translator makes
 * (pg_pprof_plan), links as span_id / trace_id labels; labels from the resource attributes
 * (`service.name` -> service_name, pyroscope.profile_name -> __name__, others with
 * characters outside [A-Za-z0-9_] replaced by `_`); without a profile name, `__name__` is
 * the first sample type pyro_profile_name knows; then `external` (overriding). Returns 0
 * with *out (free with pyro_series_free) or a status. */
int pyro_series_build(const pg_batch *b, const pg_cfg_strmap *external, pyro_series **out,
                      size_t *n, char *err, size_t errlen);
void pyro_series_free(pyro_series *s, size_t n);
void pyro_series_free_one(pyro_series *s);

/* Fills s (zeroed by the caller) for group g of b: labels (as pyro_series_build makes
 * them), time, duration and data sample count; not the pprof. 0 or PG_ENOMEM. */
int pyro_series_init(const pg_batch *b, const pg_pprof_group *g, const pg_cfg_strmap *external,
                     pyro_series *s);

/* The profile type name Pyroscope gives a pprof whose first sample type is `type`:
 * process_cpu, wall, memory, goroutines, mutex, exceptions; else `type` itself. */
const char *pyro_profile_name(const char *type);

/* The series' `__name__`. */
const char *pyro_series_name(const pyro_series *s);

/* The value of the series' label `name`, or NULL. */
const char *pyro_series_label(const pyro_series *s, const char *name);

/* Encodes a push.v1.PushRequest of s[0..n) (protobuf) into out. 0 or PG_ENOMEM. */
int pyro_push_encode(const pyro_series *s, size_t n, pg_buf *out);

/* Writes the /ingest query for one series (name=service{labels}&from&until&spyName) into
 * out (NUL-terminated). Labels whose value holds `,{}=` cannot be written and are left
 * out (counted in *skipped). 0 or PG_ENOMEM. */
int pyro_ingest_query(const pyro_series *s, pg_buf *out, size_t *skipped);

/* Pyroscope's ingestion limits, applied before sending when enabled (pyro_limits.c). */
typedef struct pyro_limits {
    bool enabled;
    int64_t max_samples;       /* samples of one pprof: more are split over several pprofs */
    int64_t max_stack_depth;   /* frames of one stack: deeper stacks keep their leaf-most ones */
    int64_t max_labels;        /* labels of one sample: the first ones are kept */
    uint64_t max_profile_size; /* bytes of one uncompressed pprof: larger ones are split */
    int64_t max_label_name;    /* bytes of a series label name: longer ones are cut */
    int64_t max_label_value;   /* bytes of a series label value: longer ones are cut */
    int64_t max_label_names;   /* labels of one series: past it, the last ones are dropped */
} pyro_limits;

/* What applying the limits changed (added to by pyro_limits_series). */
typedef struct pyro_limit_counts {
    uint64_t splits;           /* extra pprofs made by splitting */
    uint64_t trimmed_stacks;   /* samples whose stack was cut */
    uint64_t trimmed_labels;   /* samples whose labels were cut */
    uint64_t zero_samples;     /* samples with every value 0 left out of a pprof being split */
    uint64_t oversize_samples; /* samples dropped: alone they encode over max_profile_size */
    size_t largest_dropped;    /* bytes of the largest such one-sample pprof */
    uint64_t cut_labels;       /* series label names or values cut to their length limit */
    uint64_t dropped_labels;   /* series labels dropped: their cut name repeats an earlier one */
    uint64_t surplus_labels;   /* series labels dropped: past max_label_names */
} pyro_limit_counts;

/* The series to send for b (borrowed) under l (pyro_limits.c): a copy of b with deep
 * stacks cut and surplus sample labels dropped (values kept), then per translator group
 * (pyro_split.c) one pprof, or, over max_samples or max_profile_size, several made by
 * sample position, each a full pprof with the tables its samples use; then series labels
 * cut to their length limits (pyro_label_limits.c). Returns 0 with *out (free with
 * pyro_series_free) or a status. */
int pyro_limits_series(const pg_batch *b, const pyro_limits *l, const pg_cfg_strmap *external,
                       pyro_series **out, size_t *n, pyro_limit_counts *counts, char *err,
                       size_t errlen);

/* A growing array of series. */
typedef struct pyro_series_vec {
    pyro_series *v;
    size_t n, cap;
} pyro_series_vec;

/* Appends the pprofs of group g of b (owned alone: its sample columns are replaced
 * while encoding, then put back) under l's max_samples and max_profile_size, labelled
 * with pyro_series_init, to out (pyro_split.c). Samples with every value 0 are left out
 * of a group that must be split (Pyroscope drops them at ingest); a sample whose pprof
 * alone is over max_profile_size is dropped. Both counted in cnt. 0 or a status. */
int pyro_split_group(pg_batch *b, const pg_pprof_group *g, const pyro_limits *l,
                     const pg_cfg_strmap *external, pyro_series_vec *out, pyro_limit_counts *cnt,
                     char *err, size_t errlen);

/* Length of the longest prefix of s[0..len) of at most max bytes that ends on a UTF-8
 * character boundary (pyro_label_limits.c). */
size_t pyro_utf8_cut(const char *s, size_t len, size_t max);

/* Cuts s's label names and values longer than l's limits at a UTF-8 boundary; a label
 * whose cut name equals an earlier label's name is dropped; past l's max_label_names,
 * labels are dropped, the profile's resource attributes first, then names `external`
 * (NULL = none) holds, each from the last on; those Pyroscope needs (`__name__`,
 * `service_name`, any other `__`-prefixed name) are kept. Counted in cnt. */
void pyro_labels_fit(pyro_series *s, const pyro_limits *l, const pg_cfg_strmap *external,
                     pyro_limit_counts *cnt);

#endif

/* Private: the metrics registry's data model, shared by metrics.c (registration, updates),
 * metrics_write.c (Prometheus text exposition) and metrics_labels.c (names and labels). */
#ifndef PG_METRICS_INT_H
#define PG_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pipeline/telemetry/metrics.h"

typedef enum { PG_FAM_COUNTER, PG_FAM_GAUGE, PG_FAM_HISTOGRAM } pg_family_type;

/* How a series gets its value. */
typedef enum { PG_SER_COUNTER, PG_SER_GAUGE, PG_SER_HISTOGRAM, PG_SER_FN } pg_series_kind;

struct pg_counter {
    _Atomic uint64_t v;
};

struct pg_gauge {
    _Atomic int64_t v;
};

/* Buckets hold per-bucket (not cumulative) counts; the last one is +Inf. The sum is a
 * double kept as its bit pattern and updated by compare-and-swap. */
struct pg_histogram {
    size_t n_bounds;
    double *bounds;
    _Atomic uint64_t *buckets; /* n_bounds + 1 */
    _Atomic uint64_t sum_bits;
};

/* One series: a label set (canonical text, "" when none) and its value. Heap-allocated so
 * the pointers handed out stay valid for the registry's life. */
typedef struct pg_series {
    char *labels;
    pg_series_kind kind;
    struct pg_counter counter;
    struct pg_gauge gauge;
    struct pg_histogram hist;
    double (*fn)(void *ctx);
    void *ctx;
} pg_series;

/* One metric name: help, type and its series in registration order. */
typedef struct pg_family {
    char *name; /* exposition name (counters end in _total) */
    char *help;
    pg_family_type type;
    pg_series **series;
    size_t n, cap;
} pg_family;

struct pg_metrics {
    pthread_mutex_t mu; /* registration, removal and exposition */
    pg_family **fams;
    size_t n, cap;
};

/* Returns a malloc'd exposition name: invalid characters become '_', a leading digit gets
 * a '_' prefix, and with `total` a missing `_total` suffix is appended. NULL on OOM. */
char *pg_metrics_sanitize_name(const char *name, bool total);

/* Parses Prometheus label text (`a="x",b="y\"z"`, NULL or "" for none) and returns its
 * canonical malloc'd form, or NULL with *bad set when the text is malformed (or names
 * `le` and forbid_le), NULL with *bad clear on OOM. */
char *pg_metrics_canon_labels(const char *labels, bool forbid_le, bool *bad);

/* Appends `s` escaped for a label value (\\ \" \n) or, with help, for a HELP text (\\ \n).
 * Returns 0 or -1 on OOM. */
int pg_metrics_put_escaped(pg_buf *out, const char *s, bool help);

/* Formats a sample value: shortest text that reads back to v; NaN, +Inf, -Inf. */
void pg_metrics_fmt_double(char *out, size_t outlen, double v);

/* A histogram's sum as a double. */
double pg_histogram_sum(const struct pg_histogram *h);

#endif

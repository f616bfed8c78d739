/* Prometheus text exposition (format 0.0.4): per metric name one # HELP and one # TYPE
 * line, then its series; histograms as cumulative _bucket{le=...} series ending with
 * le="+Inf", then _sum and _count (_count equals the +Inf bucket: both come from the same
 * bucket reads). */
#include "pipeline/telemetry/metrics_int.h"
#include "pipeline/core/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(pg_buf *b, const char *s)
{
    pg_buf_append(b, s, strlen(s));
}

/* Appends `name suffix{labels[,extra]} ` (braces only when there is a label). */
static void put_series_head(pg_buf *b, const char *name, const char *suffix, const char *labels,
                            const char *extra)
{
    put(b, name);
    put(b, suffix);
    if (*labels || extra) {
        put(b, "{");
        put(b, labels);
        if (extra) {
            if (*labels) put(b, ",");
            put(b, extra);
        }
        put(b, "}");
    }
    put(b, " ");
}

static void put_u64(pg_buf *b, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64 "\n", v);
    put(b, num);
}

static void put_double(pg_buf *b, double v)
{
    char num[40];
    pg_metrics_fmt_double(num, sizeof num, v);
    put(b, num);
    put(b, "\n");
}

/* Appends a histogram series. Bucket counts are read once each and summed as they are
 * written, so the output is cumulative and self-consistent even under concurrent updates. */
static void write_histogram(pg_buf *b, const char *name, const pg_series *s)
{
    const struct pg_histogram *h = &s->hist;
    uint64_t cum = 0;
    char le[64], num[40];
    for (size_t i = 0; h->buckets && i < h->n_bounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        pg_metrics_fmt_double(num, sizeof num, h->bounds[i]);
        snprintf(le, sizeof le, "le=\"%s\"", num);
        put_series_head(b, name, "_bucket", s->labels, le);
        put_u64(b, cum);
    }
    if (h->buckets) cum += atomic_load_explicit(&h->buckets[h->n_bounds], memory_order_relaxed);
    put_series_head(b, name, "_bucket", s->labels, "le=\"+Inf\"");
    put_u64(b, cum);
    put_series_head(b, name, "_sum", s->labels, NULL);
    put_double(b, pg_histogram_sum(h));
    put_series_head(b, name, "_count", s->labels, NULL);
    put_u64(b, cum);
}

/* Appends one series line (or lines, for a histogram). Callback series without a callback
 * (being registered) are skipped. */
static void write_series(pg_buf *b, const pg_family *f, const pg_series *s)
{
    switch (s->kind) {
    case PG_SER_COUNTER:
        put_series_head(b, f->name, "", s->labels, NULL);
        put_u64(b, atomic_load_explicit(&s->counter.v, memory_order_relaxed));
        break;
    case PG_SER_GAUGE: {
        char num[32];
        put_series_head(b, f->name, "", s->labels, NULL);
        snprintf(num, sizeof num, "%" PRId64 "\n",
                 atomic_load_explicit(&s->gauge.v, memory_order_relaxed));
        put(b, num);
        break;
    }
    case PG_SER_HISTOGRAM:
        write_histogram(b, f->name, s);
        break;
    case PG_SER_FN:
        if (!s->fn) return;
        put_series_head(b, f->name, "", s->labels, NULL);
        put_double(b, s->fn(s->ctx));
        break;
    }
}

/* Appends the exposition of every family with at least one series to out (borrowed).
 * Callbacks run under the registry lock. Returns 0, PG_EINVAL for NULL arguments, or
 * out->failed (PG_ENOMEM) when out ran out of memory. */
int pg_metrics_write(pg_metrics *m, pg_buf *out)
{
    if (!m || !out) return PG_EINVAL;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        const pg_family *f = m->fams[i];
        if (f->n == 0) continue;
        put(out, "# HELP ");
        put(out, f->name);
        put(out, " ");
        pg_metrics_put_escaped(out, f->help, true);
        put(out, "\n# TYPE ");
        put(out, f->name);
        put(out, f->type == PG_FAM_COUNTER ? " counter\n"
                 : f->type == PG_FAM_GAUGE ? " gauge\n"
                                           : " histogram\n");
        for (size_t j = 0; j < f->n; j++)
            write_series(out, f, f->series[j]);
    }
    pthread_mutex_unlock(&m->mu);
    return out->failed;
}

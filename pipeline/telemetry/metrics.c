/* The metrics registry: registration under a mutex, lock-free updates (relaxed atomics;
 * exposition needs no ordering between series). Exposition lives in metrics_write.c,
 * names and labels in metrics_labels.c, /proc readers in metrics_process.c. */
#include "pipeline/telemetry/metrics_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "pipeline/telemetry/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Returns an empty registry (caller owns; pg_metrics_free), NULL on OOM. */
pg_metrics *pg_metrics_new(void)
{
    pg_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

/* Frees one series and what it owns. */
static void series_free(pg_series *s)
{
    if (!s) return;
    free(s->labels);
    free(s->hist.bounds);
    free(s->hist.buckets);
    free(s);
}

/* Frees the registry and every series; no other thread may use it any more. */
void pg_metrics_free(pg_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        pg_family *f = m->fams[i];
        for (size_t j = 0; j < f->n; j++)
            series_free(f->series[j]);
        free(f->series);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(m->fams);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const char *type_name(pg_family_type t)
{
    return t == PG_FAM_COUNTER ? "counter" : t == PG_FAM_GAUGE ? "gauge" : "histogram";
}

/* Under m->mu: the family `name` (created when missing), or NULL on OOM or when the name
 * is already registered with another type (logged). */
static pg_family *family_get(pg_metrics *m, const char *name, const char *help, pg_family_type t)
{
    for (size_t i = 0; i < m->n; i++) {
        pg_family *f = m->fams[i];
        if (strcmp(f->name, name) != 0) continue;
        if (f->type != t) {
            pg_log(PG_LOG_ERROR, "metrics", "metric %s registered as %s and as %s", name,
                   type_name(f->type), type_name(t));
            return NULL;
        }
        return f;
    }
    if (PG_VEC_RESERVE(m->fams, m->cap, m->n + 1, 32)) return NULL;
    pg_family *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->type = t;
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    m->fams[m->n++] = f;
    return f;
}

/* Under m->mu: the series of f with canonical labels, or NULL. */
static pg_series *series_find(pg_family *f, const char *labels)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->series[i]->labels, labels) == 0) return f->series[i];
    return NULL;
}

/* Under m->mu: appends s (ownership moves to f on success). Returns 0 or PG_ENOMEM. */
static int series_add(pg_family *f, pg_series *s)
{
    int rc = PG_VEC_RESERVE(f->series, f->cap, f->n + 1, 8);
    if (rc) return rc;
    f->series[f->n++] = s;
    return 0;
}

/* Finds or creates the series (name, labels) of family type t and series kind k. With
 * `created` the caller learns whether it is new (to fill in histogram buckets or fn).
 * Returns the series (owned by m), NULL on OOM, bad name/labels or a kind clash (logged). */
static pg_series *lookup(pg_metrics *m, const char *name, const char *help, const char *labels,
                         pg_family_type t, pg_series_kind k, bool *created)
{
    if (!m || !name) return NULL;
    bool bad = false;
    char *fname = pg_metrics_sanitize_name(name, t == PG_FAM_COUNTER);
    char *canon = pg_metrics_canon_labels(labels, t == PG_FAM_HISTOGRAM, &bad);
    pg_series *s = NULL;
    if (bad)
        pg_log(PG_LOG_ERROR, "metrics", "metric %s: malformed labels%s: %s", name,
               t == PG_FAM_HISTOGRAM ? " (le is reserved for buckets)" : "", labels);
    if (!fname || !canon) goto out;
    pthread_mutex_lock(&m->mu);
    pg_family *f = family_get(m, fname, help, t);
    if (f) {
        s = series_find(f, canon);
        if (s && s->kind != k) {
            pg_log(PG_LOG_ERROR, "metrics", "metric %s{%s} registered twice with different kinds",
                   fname, canon);
            s = NULL;
        } else if (!s) {
            s = calloc(1, sizeof *s);
            if (s) {
                s->labels = canon;
                s->kind = k;
                canon = NULL;
                if (series_add(f, s) != 0) {
                    canon = s->labels;
                    free(s);
                    s = NULL;
                } else {
                    *created = true;
                }
            }
        }
    }
    if (s && *created && k == PG_SER_HISTOGRAM) {
        /* filled in by the caller under the lock: keep it held */
        free(fname);
        free(canon);
        return s;
    }
    pthread_mutex_unlock(&m->mu);
out:
    free(fname);
    free(canon);
    return s;
}

/* The counter series (owned by m); NULL on OOM or bad input (updates on NULL are no-ops). */
pg_counter *pg_metrics_counter(pg_metrics *m, const char *name, const char *help,
                               const char *labels)
{
    bool created = false;
    pg_series *s = lookup(m, name, help, labels, PG_FAM_COUNTER, PG_SER_COUNTER, &created);
    return s ? &s->counter : NULL;
}

pg_gauge *pg_metrics_gauge(pg_metrics *m, const char *name, const char *help, const char *labels)
{
    bool created = false;
    pg_series *s = lookup(m, name, help, labels, PG_FAM_GAUGE, PG_SER_GAUGE, &created);
    return s ? &s->gauge : NULL;
}

/* The histogram series; bounds are copied (sorted, NaN and duplicates dropped) when the
 * series is created and ignored when it exists. Owned by m. */
pg_histogram *pg_metrics_histogram(pg_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t n_bounds)
{
    bool created = false;
    pg_series *s = lookup(m, name, help, labels, PG_FAM_HISTOGRAM, PG_SER_HISTOGRAM, &created);
    if (!s || !created) return s ? &s->hist : NULL;
    /* m->mu is held: fill the buckets before anyone can see the series. */
    struct pg_histogram *h = &s->hist;
    h->bounds = malloc((n_bounds ? n_bounds : 1) * sizeof *h->bounds);
    size_t n = 0;
    for (size_t i = 0; h->bounds && i < n_bounds; i++) {
        double b = bounds[i];
        if (isnan(b) || (isinf(b) && b > 0)) continue;
        size_t j = n;
        while (j > 0 && h->bounds[j - 1] > b)
            j--;
        if (j > 0 && h->bounds[j - 1] == b) continue;
        memmove(&h->bounds[j + 1], &h->bounds[j], (n - j) * sizeof *h->bounds);
        h->bounds[j] = b;
        n++;
    }
    h->n_bounds = n;
    h->buckets = calloc(n + 1, sizeof *h->buckets);
    if (!h->bounds || !h->buckets) {
        /* keep the series but without buckets: observations are dropped */
        free(h->bounds);
        free(h->buckets);
        h->bounds = NULL;
        h->buckets = NULL;
        h->n_bounds = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return h;
}

/* Registers (or re-points, when it exists) a series read through fn(ctx) at scrape time.
 * ctx is borrowed until pg_metrics_forget(m, ctx) or the registry is freed. */
static int fn_series(pg_metrics *m, pg_family_type t, const char *name, const char *help,
                     const char *labels, double (*fn)(void *ctx), void *ctx)
{
    if (!fn) return PG_EINVAL;
    bool created = false;
    pg_series *s = lookup(m, name, help, labels, t, PG_SER_FN, &created);
    if (!s) return PG_EINVAL; /* see pg_metrics_counter: a programming error, or no memory */
    pthread_mutex_lock(&m->mu);
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int pg_metrics_gauge_fn(pg_metrics *m, const char *name, const char *help, const char *labels,
                        double (*fn)(void *ctx), void *ctx)
{
    return fn_series(m, PG_FAM_GAUGE, name, help, labels, fn, ctx);
}

int pg_metrics_counter_fn(pg_metrics *m, const char *name, const char *help, const char *labels,
                          double (*fn)(void *ctx), void *ctx)
{
    return fn_series(m, PG_FAM_COUNTER, name, help, labels, fn, ctx);
}

/* Removes every callback series whose ctx is `ctx`; when it returns, no scrape is calling
 * into ctx any more. Counters, gauges and histograms are never removed. */
void pg_metrics_forget(pg_metrics *m, void *ctx)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        pg_family *f = m->fams[i];
        size_t k = 0;
        for (size_t j = 0; j < f->n; j++) {
            pg_series *s = f->series[j];
            if (s->kind == PG_SER_FN && s->ctx == ctx)
                series_free(s);
            else
                f->series[k++] = s;
        }
        f->n = k;
    }
    pthread_mutex_unlock(&m->mu);
}

void pg_counter_add(pg_counter *c, uint64_t v)
{
    if (c) atomic_fetch_add_explicit(&c->v, v, memory_order_relaxed);
}

uint64_t pg_counter_get(const pg_counter *c)
{
    return c ? atomic_load_explicit(&((pg_counter *)c)->v, memory_order_relaxed) : 0;
}

void pg_gauge_set(pg_gauge *g, int64_t v)
{
    if (g) atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void pg_gauge_add(pg_gauge *g, int64_t v)
{
    if (g) atomic_fetch_add_explicit(&g->v, v, memory_order_relaxed);
}

int64_t pg_gauge_get(const pg_gauge *g)
{
    return g ? atomic_load_explicit(&((pg_gauge *)g)->v, memory_order_relaxed) : 0;
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Counts v in the first bucket whose bound is >= v (Prometheus `le`), adds it to the sum.
 * NaN observations are ignored. */
void pg_histogram_observe(pg_histogram *h, double v)
{
    if (!h || !h->buckets || isnan(v)) return;
    size_t lo = 0, hi = h->n_bounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

double pg_histogram_sum(const struct pg_histogram *h)
{
    return bitsd(atomic_load_explicit(&((struct pg_histogram *)h)->sum_bits, memory_order_relaxed));
}

/* Number of observations (sum of every bucket). */
uint64_t pg_histogram_count(const pg_histogram *h)
{
    uint64_t n = 0;
    if (!h || !h->buckets) return 0;
    for (size_t i = 0; i <= h->n_bounds; i++)
        n += atomic_load_explicit(&((pg_histogram *)h)->buckets[i], memory_order_relaxed);
    return n;
}

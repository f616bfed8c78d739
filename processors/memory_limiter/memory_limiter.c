/* memory_limiter processor (see memory_limiter.h): config, the refuse/accept state machine
 * with hysteresis, the check timer and consume. The host's memory-refusing flag is the OR
 * of every live limiter on that host (one instance per pipeline, possibly with different
 * configs), kept in a process-wide list. */
#include "processors/memory_limiter/memory_limiter.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"

#include <event2/event.h>
#include <sys/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MIB (1024.0 * 1024.0)
#define CONSUME_CHECK_NS 100000000 /* consume reads statm at most every 100 ms */

typedef pg_memory_limiter_config ml_config;

static const pg_cfg_field ML_FIELDS[] = {
    {.key = "check_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(ml_config, check_interval),
     .def = "1s",
     .min = "1ms",
     .doc = "how often memory in use is sampled"},
    {.key = "limit_mib",
     .type = PG_CFG_INT,
     .offset = offsetof(ml_config, limit_mib),
     .min = "0",
     .doc = "refuse data above this much memory in use (MiB); or set limit_percentage"},
    {.key = "spike_limit_mib",
     .type = PG_CFG_INT,
     .offset = offsetof(ml_config, spike_limit_mib),
     .min = "0",
     .doc = "accept again below limit_mib - spike_limit_mib (default 20% of limit_mib)"},
    {.key = "limit_percentage",
     .type = PG_CFG_INT,
     .offset = offsetof(ml_config, limit_percentage),
     .min = "0",
     .max = "100",
     .doc = "the limit as a percentage of total memory (cgroup limit or MemTotal)"},
    {.key = "spike_limit_percentage",
     .type = PG_CFG_INT,
     .offset = offsetof(ml_config, spike_limit_percentage),
     .min = "0",
     .max = "100",
     .doc = "the spike as a percentage of total memory (default 20% of the limit)"},
    {0},
};

/* Exactly one way to give the limit; the spike below the limit, in the same unit. */
static int ml_validate(const void *cfg, char *err, size_t errlen)
{
    const ml_config *c = cfg;
    if (c->check_interval <= 0)
        return pg_err(err, errlen, PG_EINVAL, "check_interval must be greater than 0");
    if (c->limit_mib > 0 && c->limit_percentage > 0)
        return pg_err(err, errlen, PG_EINVAL, "set limit_mib or limit_percentage, not both");
    if (c->limit_mib <= 0 && c->limit_percentage <= 0)
        return pg_err(err, errlen, PG_EINVAL,
                      "limit_mib must be set (greater than 0), or limit_percentage");
    if (c->limit_mib > 0) {
        if (c->spike_limit_percentage > 0)
            return pg_err(err, errlen, PG_EINVAL,
                          "spike_limit_percentage goes with limit_percentage; use spike_limit_mib");
        if (c->spike_limit_mib >= c->limit_mib)
            return pg_err(err, errlen, PG_EINVAL,
                          "spike_limit_mib (%lld) must be smaller than limit_mib (%lld)",
                          (long long)c->spike_limit_mib, (long long)c->limit_mib);
    } else {
        if (c->spike_limit_mib > 0)
            return pg_err(err, errlen, PG_EINVAL,
                          "spike_limit_mib goes with limit_mib; use spike_limit_percentage");
        if (c->spike_limit_percentage >= c->limit_percentage)
            return pg_err(
                err, errlen, PG_EINVAL,
                "spike_limit_percentage (%lld) must be smaller than limit_percentage (%lld)",
                (long long)c->spike_limit_percentage, (long long)c->limit_percentage);
    }
    return 0;
}

typedef struct ml {
    char *id;
    pg_host *host;
    pg_consumer next;
    int64_t interval_ns;
    _Atomic uint64_t limit, spike; /* bytes */
    atomic_bool refusing;
    _Atomic int64_t last_check; /* monotonic ns of the last consume-side check */
    pthread_mutex_t mu;         /* evaluation and its logging */
    struct event *timer;
    uint64_t (*probe)(void *ctx);
    void *probe_ctx;
    pg_counter *refused_profiles, *refused_samples, *refused_spans;
    pg_gauge *g_refusing, *g_limit, *g_spike;
    struct ml *link; /* in `all` */
} ml;

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static ml *all; /* every live limiter */

/* Sets the host flag to the OR of the limiters of that host. */
static void host_flag_update(pg_host *host)
{
    pthread_mutex_lock(&all_mu);
    bool any = false;
    for (ml *m = all; m; m = m->link)
        if (m->host == host && atomic_load(&m->refusing)) any = true;
    pg_host_set_memory_refusing(host, any);
    pthread_mutex_unlock(&all_mu);
}

static uint64_t read_usage(ml *m)
{
    return m->probe ? m->probe(m->probe_ctx) : pg_memory_limiter_memory_in_use();
}

/* Under m->mu: one evaluation. `trim` (timer and test hook only) lets malloc hand freed
 * heap back to the kernel when over the limit, so RSS can fall once the load is gone. */
static void evaluate_locked(ml *m, bool trim)
{
    uint64_t used = read_usage(m);
    if (used == 0) return; /* unknown: keep the current state */
    uint64_t limit = atomic_load(&m->limit), spike = atomic_load(&m->spike);
    uint64_t low = limit - spike;
    bool refusing = atomic_load(&m->refusing);
#ifdef __GLIBC__
    if (trim && !m->probe && (used > limit || (refusing && used >= low))) {
        malloc_trim(0);
        used = read_usage(m);
    }
#else
    (void)trim;
#endif
    if (!refusing && used > limit) {
        atomic_store(&m->refusing, true);
        pg_gauge_set(m->g_refusing, 1);
        pg_log(PG_LOG_WARN, m->id,
               "memory in use %.1f MiB is above the limit of %.1f MiB: refusing data",
               (double)used / MIB, (double)limit / MIB);
        host_flag_update(m->host);
    } else if (refusing && used < low) {
        atomic_store(&m->refusing, false);
        pg_gauge_set(m->g_refusing, 0);
        pg_log(PG_LOG_INFO, m->id,
               "memory in use %.1f MiB is below %.1f MiB (limit - spike): accepting data again",
               (double)used / MIB, (double)low / MIB);
        host_flag_update(m->host);
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    ml *m = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&m->mu);
    evaluate_locked(m, true);
    pthread_mutex_unlock(&m->mu);
}

/* Stores limit and spike (spike 0 or >= limit: 20% of the limit) and their gauges. */
static void set_limits(ml *m, uint64_t limit, uint64_t spike)
{
    if (spike == 0 || spike >= limit) spike = limit / 5;
    atomic_store(&m->limit, limit);
    atomic_store(&m->spike, spike);
    pg_gauge_set(m->g_limit, (int64_t)limit);
    pg_gauge_set(m->g_spike, (int64_t)spike);
}

static void ml_free(ml *m)
{
    if (!m) return;
    if (m->timer) event_free(m->timer); /* deletes it; waits for a running callback */
    pthread_mutex_lock(&all_mu);
    for (ml **p = &all; *p; p = &(*p)->link)
        if (*p == m) {
            *p = m->link;
            break;
        }
    pthread_mutex_unlock(&all_mu);
    if (m->host) host_flag_update(m->host);
    pthread_mutex_destroy(&m->mu);
    free(m->id);
    free(m);
}

/* Computes the limits from cfg (borrowed) and registers the series. *self is owned by the
 * runtime; next is where accepted batches go. */
static int ml_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const ml_config *c = cfg;
    int rc = ml_validate(c, err, errlen);
    if (rc) return rc;
    uint64_t limit, spike;
    if (c->limit_mib > 0) {
        limit = (uint64_t)c->limit_mib << 20;
        spike = (uint64_t)c->spike_limit_mib << 20;
    } else {
        uint64_t total = pg_memory_limiter_total_memory();
        if (!total)
            return pg_err(err, errlen, PG_EUNSUP,
                          "limit_percentage: total memory unknown (no /proc/meminfo or cgroup "
                          "limit); use limit_mib");
        limit = total / 100 * (uint64_t)c->limit_percentage;
        spike = total / 100 * (uint64_t)c->spike_limit_percentage;
    }
    ml *m = calloc(1, sizeof *m);
    if (!m) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->id = strdup(s->id ? s->id : "memory_limiter");
    m->host = s->host;
    m->next = next;
    m->interval_ns = c->check_interval;
    m->timer = event_new(pg_host_event_base(s->host), -1, EV_PERSIST, timer_cb, m);
    if (!m->id || !m->timer) {
        ml_free(m);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_metrics *reg = pg_host_metrics(s->host);
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "processor", m->id);
    m->refused_profiles = pg_metrics_counter(reg, "profgate_processor_refused_profiles_total",
                                             "Profiles the processor refused (retryable).", labels);
    m->refused_samples =
        pg_metrics_counter(reg, "profgate_processor_refused_samples_total",
                           "Samples in the profiles the processor refused.", labels);
    m->refused_spans = pg_metrics_counter(
        reg, "profgate_processor_refused_spans_total",
        "Spans of the trace requests the processor refused (retryable).", labels);
    m->g_refusing = pg_metrics_gauge(reg, "profgate_memory_limiter_refusing",
                                     "1 while the memory limiter refuses data.", labels);
    m->g_limit = pg_metrics_gauge(reg, "profgate_memory_limiter_limit_bytes",
                                  "Memory in use (RSS) above which data is refused.", labels);
    m->g_spike =
        pg_metrics_gauge(reg, "profgate_memory_limiter_spike_limit_bytes",
                         "Data is accepted again below limit_bytes - spike_limit_bytes.", labels);
    set_limits(m, limit, spike);
    pg_gauge_set(m->g_refusing, 0);
    pthread_mutex_lock(&all_mu);
    m->link = all;
    all = m;
    pthread_mutex_unlock(&all_mu);
    *self = m;
    return 0;
}

/* Evaluates once, then every check_interval on the loop. */
static int ml_start(void *self, char *err, size_t errlen)
{
    ml *m = self;
    struct timeval tv = {.tv_sec = (time_t)(m->interval_ns / 1000000000),
                         .tv_usec = (suseconds_t)(m->interval_ns % 1000000000 / 1000)};
    if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1000;
    if (event_add(m->timer, &tv) != 0)
        return pg_err(err, errlen, PG_EIO, "cannot add the check timer");
    pg_log(PG_LOG_INFO, m->id,
           "limit %.1f MiB, accepting again below %.1f MiB, checked every %lld ms",
           (double)atomic_load(&m->limit) / MIB,
           (double)(atomic_load(&m->limit) - atomic_load(&m->spike)) / MIB,
           (long long)(m->interval_ns / 1000000));
    pg_memory_limiter_check(m);
    return 0;
}

/* Stops the timer (the state stays until destroy). */
static void ml_shutdown(void *self, int64_t deadline_ns)
{
    ml *m = self;
    (void)deadline_ns;
    event_del(m->timer);
}

static void ml_destroy(void *self)
{
    ml_free(self);
}

/* Whether data is refused now: the timer's verdict, evaluated again here when the last
 * check is older than CONSUME_CHECK_NS (by one caller at a time). */
static bool refusing_now(ml *m)
{
    int64_t now = pg_now_mono_ns(), last = atomic_load(&m->last_check);
    if (now - last >= CONSUME_CHECK_NS &&
        atomic_compare_exchange_strong(&m->last_check, &last, now) &&
        pthread_mutex_trylock(&m->mu) == 0) {
        evaluate_locked(m, false);
        pthread_mutex_unlock(&m->mu);
    }
    return atomic_load(&m->refusing);
}

/* Takes b: refused (freed, PG_EAGAIN) while over the limit, else handed to next. */
static int ml_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    ml *m = self;
    if (refusing_now(m)) {
        pg_counter_add(m->refused_profiles, pg_batch_profile_count(b));
        pg_counter_add(m->refused_samples, pg_batch_sample_count(b));
        pg_batch_free(b);
        return pg_err(err, errlen, PG_EAGAIN, "memory limit exceeded");
    }
    if (!m->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&m->next, b, err, errlen);
}

/* A trace request (s borrowed): refused (PG_EAGAIN) while over the limit, as profiles are,
 * so that the processors after it in the traces pipeline (a span index) do not grow. */
static int ml_consume_traces(void *self, const pg_spans *s, char *err, size_t errlen)
{
    ml *m = self;
    if (!refusing_now(m)) return 0;
    pg_counter_add(m->refused_spans, s->n);
    return pg_err(err, errlen, PG_EAGAIN, "memory limit exceeded");
}

int pg_memory_limiter_check(void *self)
{
    ml *m = self;
    pthread_mutex_lock(&m->mu);
    evaluate_locked(m, true);
    pthread_mutex_unlock(&m->mu);
    return atomic_load(&m->refusing) ? 1 : 0;
}

void pg_memory_limiter_set_limits(void *self, uint64_t limit_bytes, uint64_t spike_bytes)
{
    ml *m = self;
    pthread_mutex_lock(&m->mu);
    set_limits(m, limit_bytes, spike_bytes);
    pthread_mutex_unlock(&m->mu);
}

void pg_memory_limiter_set_probe(void *self, uint64_t (*fn)(void *ctx), void *ctx)
{
    ml *m = self;
    pthread_mutex_lock(&m->mu);
    m->probe = fn;
    m->probe_ctx = ctx;
    pthread_mutex_unlock(&m->mu);
}

const pg_component_factory pg_memory_limiter_factory = {
    .type = "memory_limiter",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = ML_FIELDS,
               .size = sizeof(ml_config),
               .validate = ml_validate,
               .signals = PG_SIGNAL_PROFILES | PG_SIGNAL_TRACES},
    .create = ml_create,
    .start = ml_start,
    .shutdown = ml_shutdown,
    .destroy = ml_destroy,
    .consume = ml_consume,
    .consume_traces = ml_consume_traces,
    .mutates = 0,
};

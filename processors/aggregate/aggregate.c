/* aggregate processor (see aggregate.h): config, lifecycle, the window timer, consume and
 * the flush with its acknowledgement. The window state is in state.c. */
#include "processors/aggregate/aggregate.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/aggregate/aggregate_int.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

typedef pg_aggregate_config ag_config;

static const pg_cfg_field AG_FIELDS[] = {
    {.key = "window",
     .type = PG_CFG_DURATION,
     .offset = offsetof(ag_config, window),
     .def = "60s",
     .min = "10ms",
     .doc = "profiles of one series arriving within one window (aligned to the clock) merge"},
    {.key = "group_by_attributes",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(ag_config, group_by_attributes),
     .doc = "profile attribute keys that separate series (kept on the merged profile)"},
    {.key = "drop_attributes",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(ag_config, drop_attributes),
     .doc = "sample attribute keys removed before merging (high-cardinality labels)"},
    {.key = "max_series",
     .type = PG_CFG_INT,
     .offset = offsetof(ag_config, max_series),
     .def = "10000",
     .min = "1",
     .doc = "series held at most; one more flushes every window early"},
    {.key = "max_bytes",
     .type = PG_CFG_SIZE,
     .offset = offsetof(ag_config, max_bytes),
     .def = "256MiB",
     .min = "1KiB",
     .doc = "memory the open windows may hold; past it every window is flushed early"},
    {0},
};

enum { F_WINDOW, F_MAX_SERIES, F_MAX_BYTES, F_SHUTDOWN, F_FORCED, F_N };
static const char *const FLUSH_REASON[F_N] = {"window", "max_series", "max_bytes", "shutdown",
                                              "forced"};

typedef struct ag {
    char *id;
    pg_consumer next;
    ag_opts o;
    size_t max_series, max_bytes;
    pthread_mutex_t mu; /* the groups */
    ag_group *groups;   /* open windows, one per metadata set */
    size_t n_series;    /* over every group */
    struct event *timer;
    pg_counter *flushes[F_N], *in_profiles, *in_samples, *merged, *skipped, *out_failed;
    pg_gauge *g_series, *g_bytes;
} ag;

/* Copies a config list into (*dst, *n); returns 0 or PG_ENOMEM. */
static int copy_list(const pg_cfg_strlist *l, char ***dst, size_t *n)
{
    *dst = calloc(l->n + 1, sizeof **dst);
    if (!*dst) return PG_ENOMEM;
    for (*n = 0; *n < l->n; (*n)++)
        if (!((*dst)[*n] = strdup(l->items[*n]))) return PG_ENOMEM;
    return 0;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

/* Settles every hold of g with `outcome`, frees g. */
static void group_drop(ag_group *g, pg_ack_outcome outcome)
{
    for (size_t i = 0; i < g->n_holds; i++)
        pg_ack_settle(g->holds[i], outcome);
    g->n_holds = 0;
    pg_ag_group_free(g);
}

static void ag_destroy(void *self)
{
    ag *x = self;
    if (!x) return;
    if (x->timer) event_free(x->timer);
    while (x->groups) { /* not flushed (shutdown missed): not delivered */
        ag_group *g = x->groups;
        x->groups = g->next;
        group_drop(g, PG_ACK_ABANDONED);
    }
    free_list(x->o.group_by, x->o.n_group_by);
    free_list(x->o.drop, x->o.n_drop);
    pthread_mutex_destroy(&x->mu);
    free(x->id);
    free(x);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);

/* Copies the config (cfg borrowed), makes the timer, registers the series. */
static int ag_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const ag_config *c = cfg;
    ag *x = calloc(1, sizeof *x);
    if (!x) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&x->mu, NULL);
    x->id = strdup(s->id ? s->id : "aggregate");
    x->next = next;
    x->o.window_ns = (uint64_t)c->window;
    x->max_series = (size_t)c->max_series;
    x->max_bytes = (size_t)c->max_bytes;
    x->timer = event_new(pg_host_event_base(s->host), -1, EV_PERSIST, timer_cb, x);
    if (!x->id || !x->timer ||
        copy_list(&c->group_by_attributes, &x->o.group_by, &x->o.n_group_by) ||
        copy_list(&c->drop_attributes, &x->o.drop, &x->o.n_drop)) {
        ag_destroy(x);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_metrics *reg = pg_host_metrics(s->host);
    char l[512] = "";
    pg_metrics_label(l, sizeof l, "processor", x->id);
    for (int r = 0; r < F_N; r++) {
        char lr[600] = "";
        snprintf(lr, sizeof lr, "%s", l);
        pg_metrics_label(lr, sizeof lr, "reason", FLUSH_REASON[r]);
        x->flushes[r] = pg_metrics_counter(reg, "profgate_aggregate_flushes_total",
                                           "Windows flushed, by reason.", lr);
    }
    x->in_profiles = pg_metrics_counter(reg, "profgate_aggregate_input_profiles_total",
                                        "Profiles merged into a window.", l);
    x->in_samples = pg_metrics_counter(reg, "profgate_aggregate_input_samples_total",
                                       "Samples merged into a window.", l);
    x->merged = pg_metrics_counter(reg, "profgate_aggregate_merged_samples_total",
                                   "Input samples summed into an existing row.", l);
    x->skipped = pg_metrics_counter(reg, "profgate_aggregate_skipped_profiles_total",
                                    "Profiles not aggregated (pprof table-entry records).", l);
    x->out_failed = pg_metrics_counter(reg, "profgate_aggregate_flush_failed_total",
                                       "Merged batches that failed or were refused downstream.", l);
    x->g_series = pg_metrics_gauge(reg, "profgate_aggregate_series", "Series in open windows.", l);
    x->g_bytes =
        pg_metrics_gauge(reg, "profgate_aggregate_bytes", "Memory held by open windows.", l);
    *self = x;
    return 0;
}

/* The holds of one flushed group, settled when the merged batch's ack fires. */
typedef struct holds {
    pg_ack **v;
    size_t n;
} holds;

static void holds_fire(void *ctx, pg_ack_outcome outcome)
{
    holds *h = ctx;
    for (size_t i = 0; i < h->n; i++)
        pg_ack_settle(h->v[i], outcome);
    free(h->v);
    free(h);
}

/* Turns g into its merged batch and hands it on, outside the lock. The merged batch
 * carries a new ack whose outcome settles every input hold. Frees g. */
static void flush_group(ag *x, ag_group *g, int reason)
{
    char err[256] = "";
    pg_counter_add(x->flushes[reason], 1);
    pg_batch *b = pg_ag_group_finish(g, err, sizeof err);
    holds *h = calloc(1, sizeof *h);
    pg_ack *a = h ? pg_ack_new(holds_fire, h) : NULL;
    if (!b || !a) {
        pg_counter_add(x->out_failed, 1);
        pg_log(PG_LOG_ERROR, x->id, "flush failed, window dropped: %s", b ? "out of memory" : err);
        pg_batch_free(b);
        free(h);
        group_drop(g, PG_ACK_DROPPED);
        return;
    }
    h->v = g->holds;
    h->n = g->n_holds;
    g->holds = NULL;
    g->n_holds = 0;
    pg_ag_group_free(g);
    pg_batch_set_origin(b, x->id, pg_now_unix_ns());
    pg_batch_set_ack(b, a);
    pg_ack *mine = pg_ack_hold(a);
    int rc = 0;
    if (x->next.consume)
        rc = pg_consume(&x->next, b, err, sizeof err);
    else
        pg_batch_free(b);
    if (rc) {
        pg_counter_add(x->out_failed, 1);
        pg_log(PG_LOG_WARN, x->id, "merged window refused downstream: %s", err);
    }
    pg_ack_settle(mine, rc == 0           ? PG_ACK_DELIVERED
                        : rc == PG_EAGAIN ? PG_ACK_ABANDONED
                                          : PG_ACK_DROPPED);
    pg_ack_release(a);
}

/* Under x->mu: unlinks the groups whose window ended by now (all when `all`) into *out. */
static void take_groups(ag *x, uint64_t now, int all, ag_group **out)
{
    for (ag_group **pp = &x->groups; *pp;) {
        ag_group *g = *pp;
        if (all || now >= g->window_start + x->o.window_ns) {
            *pp = g->next;
            x->n_series -= g->n_series;
            g->next = *out;
            *out = g;
        } else {
            pp = &g->next;
        }
    }
    pg_gauge_set(x->g_series, (int64_t)x->n_series);
    if (all || !x->groups) pg_gauge_set(x->g_bytes, 0);
}

static void flush_list(ag *x, ag_group *list, int reason)
{
    while (list) {
        ag_group *g = list;
        list = g->next;
        flush_group(x, g, reason);
    }
}

/* Flushes the windows that ended, or every window. */
static void flush(ag *x, int all, int reason)
{
    ag_group *list = NULL;
    pthread_mutex_lock(&x->mu);
    take_groups(x, pg_now_unix_ns(), all, &list);
    pthread_mutex_unlock(&x->mu);
    flush_list(x, list, reason);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg, 0, F_WINDOW);
}

void pg_aggregate_flush_now(void *self)
{
    flush(self, 1, F_FORCED);
}

/* Checks for ended windows every window / 20 (10 ms at least, 1 s at most). */
static int ag_start(void *self, char *err, size_t errlen)
{
    ag *x = self;
    uint64_t step = x->o.window_ns / 20;
    if (step < 10000000) step = 10000000;
    if (step > 1000000000) step = 1000000000;
    struct timeval tv = {.tv_sec = (time_t)(step / 1000000000),
                         .tv_usec = (suseconds_t)(step % 1000000000 / 1000)};
    if (event_add(x->timer, &tv) != 0)
        return pg_err(err, errlen, PG_EIO, "cannot add the window timer");
    return 0;
}

/* Stops the timer and flushes every open window (the exporters drain after us). */
static void ag_shutdown(void *self, int64_t deadline_ns)
{
    ag *x = self;
    (void)deadline_ns;
    event_del(x->timer);
    flush(x, 1, F_SHUTDOWN);
}

/* Under x->mu: the group for b's metadata in the current window (made when missing).
 * NULL on OOM. */
static ag_group *group_for(ag *x, const pg_batch *b, uint64_t now)
{
    uint8_t *key = NULL;
    size_t len = 0;
    if (pg_ag_meta_key(b, &key, &len)) return NULL;
    ag_group *g = x->groups;
    while (g && !(g->meta_len == len && memcmp(g->meta_key, key, len) == 0))
        g = g->next;
    if (!g && (g = pg_ag_group_new(b, key, len, now - now % x->o.window_ns))) {
        g->next = x->groups;
        x->groups = g;
    }
    free(key);
    return g;
}

static size_t bytes_locked(const ag *x)
{
    size_t n = 0;
    for (const ag_group *g = x->groups; g; g = g->next)
        n += pg_ag_group_bytes(g);
    return n;
}

/* Merges b into its window and frees it; the window's ack hold keeps b's acknowledgement
 * open until the merged batch is final. Flushes first when b would pass max_series, after
 * when the windows hold more than max_bytes. */
static int ag_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    ag *x = self;
    ag_group *early = NULL, *late = NULL;
    int early_reason = F_WINDOW, late_reason = F_MAX_BYTES;
    uint64_t now = pg_now_unix_ns();
    int rc = 0;
    pthread_mutex_lock(&x->mu);
    take_groups(x, now, 0, &early); /* ended windows go out first */
    size_t incoming = pg_batch_profile_count(b);
    if (x->n_series && x->n_series + incoming > x->max_series) {
        if (early) { /* flush what ended now, with its own reason, before the forced ones */
            pthread_mutex_unlock(&x->mu);
            flush_list(x, early, F_WINDOW);
            early = NULL;
            pthread_mutex_lock(&x->mu);
        }
        take_groups(x, now, 1, &early);
        early_reason = F_MAX_SERIES;
    }
    ag_group *g = group_for(x, b, now);
    ag_counts c = {0};
    if (!g) {
        rc = pg_err(err, errlen, PG_ENOMEM, "aggregate: out of memory");
    } else {
        size_t before = g->n_series;
        pg_ack *a = pg_batch_ack(b);
        if (a && PG_VEC_RESERVE(g->holds, g->cap_holds, g->n_holds + 1, 8) == 0) {
            g->holds[g->n_holds++] = pg_ack_hold(a);
            rc = pg_ag_group_add(g, b, &x->o, &c, err, errlen);
        } else if (a) {
            rc = pg_err(err, errlen, PG_ENOMEM, "aggregate: out of memory");
        } else {
            rc = pg_ag_group_add(g, b, &x->o, &c, err, errlen);
        }
        x->n_series += g->n_series - before;
    }
    size_t bytes = bytes_locked(x);
    pg_gauge_set(x->g_bytes, (int64_t)bytes);
    pg_gauge_set(x->g_series, (int64_t)x->n_series);
    if (bytes > x->max_bytes || x->n_series > x->max_series) {
        late_reason = bytes > x->max_bytes ? F_MAX_BYTES : F_MAX_SERIES;
        take_groups(x, now, 1, &late);
    }
    pthread_mutex_unlock(&x->mu);
    pg_counter_add(x->in_profiles, c.profiles);
    pg_counter_add(x->in_samples, c.samples);
    pg_counter_add(x->merged, c.merged);
    pg_counter_add(x->skipped, c.skipped);
    flush_list(x, early, early_reason);
    flush_list(x, late, late_reason);
    pg_batch_free(b);
    return rc;
}

const pg_component_factory pg_aggregate_processor_factory = {
    .type = "aggregate",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = AG_FIELDS, .size = sizeof(ag_config), .validate = NULL},
    .create = ag_create,
    .start = ag_start,
    .shutdown = ag_shutdown,
    .destroy = ag_destroy,
    .consume = ag_consume,
    .mutates = 0,
};

/* pprof_scrape receiver (see pprof_scrape.h): create copies the config and builds the
 * profile kinds; start makes the multi handle, the static and file_sd targets and arms
 * their timers on the host's loop; shutdown stops everything on the loop thread. */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* libcurl's global state, once per process (never cleaned up: other users may share it). */
static void curl_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Frees everything create made (targets first: their jobs use the multi handle). */
static void rx_free(scrape_rx *rx)
{
    if (!rx) return;
    pg_scrape_targets_free_all(rx);
    pg_scrape_http_free(rx);
    if (rx->sd_timer) event_free(rx->sd_timer);
    if (rx->stop_ev) event_free(rx->stop_ev);
    pg_delta_metrics_forget(&rx->dm);
    pg_delta_free(rx->delta);
    for (size_t i = 0; i < rx->n_kinds; i++) {
        free(rx->kinds[i].name);
        free(rx->kinds[i].path);
    }
    free(rx->kinds);
    pg_scrape_sd_free_list(rx->statics, rx->n_statics);
    for (size_t i = 0; i < rx->n_globs; i++)
        free(rx->sd_globs[i]);
    free(rx->sd_globs);
    curl_slist_free_all(rx->headers);
    free(rx->params);
    free(rx->bearer);
    free(rx->user);
    free(rx->pass);
    free(rx->ca);
    free(rx->cert);
    free(rx->key);
    free(rx->scheme);
    free(rx->job);
    free(rx->id);
    pthread_mutex_destroy(&rx->stop_mu);
    pthread_cond_destroy(&rx->stop_cv);
    free(rx);
}

/* Adds the kind `name` when enabled. Returns 0 or PG_ENOMEM. */
static int add_kind(scrape_rx *rx, const char *name, const pg_scrape_profile_cfg *p,
                    const char *prefix)
{
    if (!p->enabled || !p->path) return 0;
    scrape_kind *k = &rx->kinds[rx->n_kinds];
    size_t n = strlen(prefix) + strlen(p->path) + 1;
    k->name = strdup(name);
    k->path = malloc(n);
    if (!k->name || !k->path) {
        free(k->name);
        free(k->path);
        return PG_ENOMEM;
    }
    snprintf(k->path, n, "%s%s", prefix, p->path);
    k->delta = p->delta;
    k->seconds = p->seconds;
    rx->n_kinds++;
    return 0;
}

/* The kinds of profiling_config, in a fixed order. */
static int build_kinds(scrape_rx *rx, const pg_scrape_profiling_cfg *pc)
{
    const char *pre = pc->path_prefix ? pc->path_prefix : "";
    rx->kinds = calloc(8 + pc->custom.n, sizeof *rx->kinds);
    if (!rx->kinds) return PG_ENOMEM;
    int rc = add_kind(rx, "process_cpu", &pc->process_cpu, pre);
    if (!rc) rc = add_kind(rx, "memory", &pc->memory, pre);
    if (!rc) rc = add_kind(rx, "goroutine", &pc->goroutine, pre);
    if (!rc) rc = add_kind(rx, "mutex", &pc->mutex, pre);
    if (!rc) rc = add_kind(rx, "block", &pc->block, pre);
    if (!rc) rc = add_kind(rx, "godeltaprof_memory", &pc->godeltaprof_memory, pre);
    if (!rc) rc = add_kind(rx, "godeltaprof_mutex", &pc->godeltaprof_mutex, pre);
    if (!rc) rc = add_kind(rx, "godeltaprof_block", &pc->godeltaprof_block, pre);
    const pg_scrape_profile_cfg *cu = pc->custom.items;
    for (size_t i = 0; !rc && i < pc->custom.n; i++)
        rc = add_kind(rx, cu[i].name, &cu[i], pre);
    return rc;
}

/* Headers and query parameters, built once. */
static int build_request(scrape_rx *rx, const pg_pprof_scrape_config *c)
{
    for (size_t i = 0; i < c->headers.n; i++) {
        char line[2048];
        snprintf(line, sizeof line, "%s: %s", c->headers.keys[i], c->headers.values[i]);
        struct curl_slist *h = curl_slist_append(rx->headers, line);
        if (!h) return PG_ENOMEM;
        rx->headers = h;
    }
    pg_buf q = {0};
    for (size_t i = 0; i < c->params.n; i++) {
        char *k = curl_easy_escape(NULL, c->params.keys[i], 0);
        char *v = curl_easy_escape(NULL, c->params.values[i], 0);
        if (k && v) {
            if (i) pg_buf_append(&q, "&", 1);
            pg_buf_append(&q, k, strlen(k));
            pg_buf_append(&q, "=", 1);
            pg_buf_append(&q, v, strlen(v));
        }
        curl_free(k);
        curl_free(v);
    }
    pg_buf_append(&q, "", 1);
    if (q.failed) {
        pg_buf_free(&q);
        return PG_ENOMEM;
    }
    rx->params = (char *)q.data;
    return 0;
}

/* Copies the static targets (the config is freed after create). */
static int copy_statics(scrape_rx *rx, const pg_cfg_seclist *l)
{
    const pg_scrape_target_cfg *t = l->items;
    rx->statics = calloc(l->n ? l->n : 1, sizeof *rx->statics);
    if (!rx->statics) return PG_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        pg_scrape_target_cfg *d = &rx->statics[rx->n_statics++];
        d->endpoint = strdup(t[i].endpoint);
        d->labels.keys = calloc(t[i].labels.n + 1, sizeof(char *));
        d->labels.values = calloc(t[i].labels.n + 1, sizeof(char *));
        if (!d->endpoint || !d->labels.keys || !d->labels.values) return PG_ENOMEM;
        for (size_t k = 0; k < t[i].labels.n; k++) {
            d->labels.keys[k] = strdup(t[i].labels.keys[k]);
            d->labels.values[k] = strdup(t[i].labels.values[k]);
            d->labels.n++;
            if (!d->labels.keys[k] || !d->labels.values[k]) return PG_ENOMEM;
        }
    }
    return 0;
}

static void on_sd_timer(evutil_socket_t fd, short what, void *arg);
static void on_stop(evutil_socket_t fd, short what, void *arg);

/* Builds the receiver from cfg (borrowed, copied); no I/O yet. */
static int rx_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const pg_pprof_scrape_config *c = cfg;
    int rc = pg_scrape_validate(c, err, errlen);
    if (rc) return rc;
    pthread_once(&curl_once, curl_global);
    scrape_rx *rx = calloc(1, sizeof *rx);
    if (!rx) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&rx->stop_mu, NULL);
    pthread_cond_init(&rx->stop_cv, NULL);
    rx->cfg = *c;
    rx->host = s->host;
    rx->base = pg_host_event_base(s->host);
    rx->next = next;
    rx->m = pg_host_metrics(s->host);
    rx->id = strdup(s->id ? s->id : "pprof_scrape");
    rx->job = strdup(c->job_name ? c->job_name : rx->id ? rx->id : "");
    rx->scheme = strdup(pg_scrape_schemes[c->scheme]);
    rx->bearer = dup_or_null(c->bearer_token);
    rx->user = dup_or_null(c->basic_auth.username);
    rx->pass = dup_or_null(c->basic_auth.password);
    rx->ca = dup_or_null(c->tls.ca_file);
    rx->cert = dup_or_null(c->tls.cert_file);
    rx->key = dup_or_null(c->tls.key_file);
    rx->sd_globs = calloc(c->file_sd.files.n + 1, sizeof(char *));
    bool ok = rx->id && rx->job && rx->scheme && rx->sd_globs;
    for (size_t i = 0; ok && i < c->file_sd.files.n; i++)
        ok = (rx->sd_globs[rx->n_globs++] = strdup(c->file_sd.files.items[i])) != NULL;
    /* a series unseen for two intervals (and a timeout) is gone */
    pg_delta_opts o = {.max_series = (size_t)c->max_series,
                       .expiry_ns = 2 * c->scrape_interval + c->scrape_timeout};
    if (ok) ok = (rx->delta = pg_delta_new(&o)) != NULL;
    if (ok) ok = build_kinds(rx, &c->profiling_config) == 0;
    if (ok) ok = build_request(rx, c) == 0 && copy_statics(rx, &c->targets) == 0;
    if (ok) {
        rx->stop_ev = event_new(rx->base, -1, 0, on_stop, rx);
        rx->sd_timer = rx->n_globs ? event_new(rx->base, -1, EV_PERSIST, on_sd_timer, rx) : NULL;
        ok = rx->stop_ev && (rx->sd_timer || !rx->n_globs);
    }
    if (!ok) {
        rx_free(rx);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    if (!rx->n_kinds)
        pg_log(PG_LOG_WARN, rx->id, "every profile type is disabled: nothing is scraped");
    pg_component_metrics_init(&rx->cm, rx->m, "receiver", rx->id);
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "receiver", rx->id);
    for (int r = 0; r < SR_COUNT; r++) {
        char l2[600];
        snprintf(l2, sizeof l2, "%s", labels);
        pg_metrics_label(l2, sizeof l2, "reason", pg_scrape_reason_names[r]);
        rx->errors[r] = pg_metrics_counter(rx->m, "profgate_scrape_errors_total",
                                           "Failed scrapes, by reason.", l2);
    }
    rx->overruns =
        pg_metrics_counter(rx->m, "profgate_scrape_overruns_total",
                           "Scrapes skipped because the previous one still ran.", labels);
    rx->targets_dropped = pg_metrics_counter(rx->m, "profgate_scrape_targets_dropped_total",
                                             "Targets ignored over max_targets.", labels);
    rx->sd_reloads = pg_metrics_counter(rx->m, "profgate_scrape_file_sd_reloads_total",
                                        "file_sd files read again after a change.", labels);
    rx->sd_errors =
        pg_metrics_counter(rx->m, "profgate_scrape_file_sd_errors_total",
                           "file_sd reads that failed (previous targets kept).", labels);
    rx->g_targets = pg_metrics_gauge(rx->m, "profgate_scrape_targets", "Targets scraped.", labels);
    char dl[512] = "";
    pg_metrics_label(dl, sizeof dl, "receiver", rx->id);
    pg_delta_metrics_init(&rx->dm, rx->m, dl, rx->delta);
    *self = rx;
    return 0;
}

/* Re-reads file_sd when it changed (loop thread). */
static void on_sd_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    pg_scrape_sd_refresh(arg, false);
}

/* Makes the targets and arms every timer. */
static int rx_start(void *self, char *err, size_t errlen)
{
    scrape_rx *rx = self;
    int rc = pg_scrape_http_init(rx, err, errlen);
    if (rc) return rc;
    if (pg_scrape_targets_sync(rx, rx->statics, rx->n_statics, false))
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pg_scrape_sd_refresh(rx, true);
    pg_scrape_targets_arm(rx);
    if (rx->sd_timer) {
        int64_t ri = rx->cfg.file_sd.refresh_interval;
        struct timeval tv = {.tv_sec = (time_t)(ri / 1000000000),
                             .tv_usec = (suseconds_t)(ri % 1000000000 / 1000)};
        event_add(rx->sd_timer, &tv);
    }
    pg_log(PG_LOG_INFO, rx->id, "scraping %zu target(s) x %zu profile type(s) every %lld ms",
           rx->n_targets, rx->n_kinds, (long long)(rx->cfg.scrape_interval / 1000000));
    return 0;
}

/* Loop thread: stops every timer and transfer, then wakes shutdown. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    scrape_rx *rx = arg;
    if (rx->sd_timer) event_del(rx->sd_timer);
    pg_scrape_targets_free_all(rx);
    pthread_mutex_lock(&rx->stop_mu);
    rx->stopped = true;
    pthread_cond_broadcast(&rx->stop_cv);
    pthread_mutex_unlock(&rx->stop_mu);
}

/* Stops scraping: the loop thread frees the targets; waits for it until the deadline. */
static void rx_shutdown(void *self, int64_t deadline_ns)
{
    scrape_rx *rx = self;
    event_active(rx->stop_ev, EV_TIMEOUT, 0);
    int64_t limit = pg_now_mono_ns() + 2000000000LL;
    if (deadline_ns < limit) limit = deadline_ns;
    pthread_mutex_lock(&rx->stop_mu);
    while (!rx->stopped) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t left = limit - pg_now_mono_ns();
        if (left <= 0) break;
        if (left > 50000000) left = 50000000;
        ts.tv_nsec += (long)left;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&rx->stop_cv, &rx->stop_mu, &ts);
    }
    bool stopped = rx->stopped;
    pthread_mutex_unlock(&rx->stop_mu);
    if (!stopped) { /* the loop is not running: nothing else touches the targets */
        if (rx->sd_timer) event_del(rx->sd_timer);
        event_del(rx->stop_ev);
        pg_scrape_targets_free_all(rx);
    }
}

static void rx_destroy(void *self)
{
    rx_free(self);
}

const pg_component_factory pg_pprof_scrape_factory = {
    .type = "pprof_scrape",
    .kind = PG_CFG_RECEIVER,
    .config = {.table = pg_scrape_fields,
               .size = sizeof(pg_pprof_scrape_config),
               .validate = pg_scrape_validate},
    .create = rx_create,
    .start = rx_start,
    .shutdown = rx_shutdown,
    .destroy = rx_destroy,
};

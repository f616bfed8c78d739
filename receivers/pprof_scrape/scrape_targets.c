/* pprof_scrape targets: the set (static list + file_sd), one job per target and profile
 * type, each on its own timer: first at a per-target jitter offset within the interval
 * (a hash of the target, so targets do not scrape in lockstep), then every interval,
 * drift-free. A job whose previous scrape is still running skips a turn (counted). */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Timer of one job (loop thread): starts a scrape and schedules the next. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    scrape_job *j = arg;
    scrape_rx *rx = j->rx;
    if (j->in_flight)
        pg_counter_add(rx->overruns, 1);
    else
        pg_scrape_http_start(rx, j);
    int64_t now = pg_now_mono_ns();
    j->next_at += rx->cfg.scrape_interval;
    if (j->next_at <= now) j->next_at = now + rx->cfg.scrape_interval; /* fell behind */
    int64_t d = j->next_at - now;
    struct timeval tv = {.tv_sec = (time_t)(d / 1000000000), .tv_usec = (d % 1000000000) / 1000};
    evtimer_add(j->timer, &tv);
}

/* Arms j's timer at its jitter offset from now. */
static void arm(scrape_rx *rx, scrape_job *j)
{
    uint64_t off = pg_hash_mix(j->t->seed, j->kind) % (uint64_t)rx->cfg.scrape_interval;
    j->next_at = pg_now_mono_ns() + (int64_t)off;
    struct timeval tv = {.tv_sec = (time_t)(off / 1000000000),
                         .tv_usec = (off % 1000000000) / 1000};
    evtimer_add(j->timer, &tv);
}

/* See pprof_scrape_int.h. */
void pg_scrape_targets_arm(scrape_rx *rx)
{
    for (scrape_target *t = rx->targets; t; t = t->next)
        for (size_t k = 0; k < rx->n_kinds; k++)
            if (!evtimer_pending(t->jobs[k].timer, NULL)) arm(rx, &t->jobs[k]);
}

/* The identity of a target: endpoint and labels in order ("ep\nk=v\n..."). malloc'd. */
static char *target_key(const pg_scrape_target_cfg *c)
{
    pg_buf b = {0};
    pg_buf_append(&b, c->endpoint, strlen(c->endpoint));
    for (size_t i = 0; i < c->labels.n; i++) {
        pg_buf_append(&b, "\n", 1);
        pg_buf_append(&b, c->labels.keys[i], strlen(c->labels.keys[i]));
        pg_buf_append(&b, "=", 1);
        pg_buf_append(&b, c->labels.values[i], strlen(c->labels.values[i]));
    }
    pg_buf_append(&b, "", 1);
    if (b.failed) {
        pg_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* The URL of kind k at endpoint ep (malloc'd). */
static char *job_url(const scrape_rx *rx, const char *ep, const scrape_kind *k)
{
    char secs[64] = "";
    if (k->seconds) {
        int64_t s = rx->cfg.scrape_interval / 1000000000 - 1;
        snprintf(secs, sizeof secs, "seconds=%lld", (long long)(s < 1 ? 1 : s));
    }
    const char *q1 = strchr(k->path, '?') ? "&" : "?";
    size_t n =
        strlen(rx->scheme) + strlen(ep) + strlen(k->path) + strlen(rx->params) + strlen(secs) + 16;
    char *u = malloc(n);
    if (!u) return NULL;
    snprintf(u, n, "%s://%s%s%s%s%s%s", rx->scheme, ep, k->path, *rx->params || *secs ? q1 : "",
             rx->params, *rx->params && *secs ? "&" : "", secs);
    return u;
}

/* Stops and frees one target and its jobs (their series forgotten). */
static void target_free(scrape_rx *rx, scrape_target *t)
{
    for (size_t k = 0; t->jobs && k < rx->n_kinds; k++) {
        scrape_job *j = &t->jobs[k];
        if (j->timer) event_free(j->timer);
        pg_scrape_http_job_free(rx, j);
        if (j->registered) pg_metrics_forget(rx->m, j);
        free(j->url);
    }
    free(t->jobs);
    for (size_t i = 0; i < t->nl; i++) {
        free(t->lk[i]);
        free(t->lv[i]);
    }
    free(t->lk);
    free(t->lv);
    free(t->key);
    free(t->endpoint);
    free(t);
}

/* A new target for c (copied) with its jobs, not armed. NULL on OOM. */
static scrape_target *target_new(scrape_rx *rx, const pg_scrape_target_cfg *c, char *key,
                                 bool from_file)
{
    scrape_target *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->rx = rx;
    t->key = key;
    t->from_file = from_file;
    t->seed = pg_hash_bytes(key, strlen(key), 0x51c4a7e5u);
    t->endpoint = strdup(c->endpoint);
    t->lk = calloc(c->labels.n + 1, sizeof *t->lk);
    t->lv = calloc(c->labels.n + 1, sizeof *t->lv);
    t->jobs = calloc(rx->n_kinds ? rx->n_kinds : 1, sizeof *t->jobs);
    bool ok = t->endpoint && t->lk && t->lv && t->jobs;
    for (size_t i = 0; ok && i < c->labels.n; i++) {
        t->lk[i] = strdup(c->labels.keys[i]);
        t->lv[i] = strdup(c->labels.values[i]);
        t->nl++;
        ok = t->lk[i] && t->lv[i];
    }
    for (size_t k = 0; ok && k < rx->n_kinds; k++) {
        scrape_job *j = &t->jobs[k];
        j->rx = rx;
        j->t = t;
        j->kind = k;
        j->state = -1;
        j->url = job_url(rx, t->endpoint, &rx->kinds[k]);
        j->timer = evtimer_new(rx->base, on_tick, j);
        ok = j->url && j->timer;
        if (ok) pg_scrape_job_metrics(rx, j);
    }
    if (!ok) {
        target_free(rx, t);
        return NULL;
    }
    return t;
}

/* See pprof_scrape_int.h. */
int pg_scrape_targets_sync(scrape_rx *rx, const pg_scrape_target_cfg *list, size_t n,
                           bool from_file)
{
    for (scrape_target *t = rx->targets; t; t = t->next)
        t->seen = t->from_file != from_file; /* the other source's targets stay */
    int rc = 0;
    size_t added = 0, dropped = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char *key = target_key(&list[i]);
        if (!key) {
            rc = PG_ENOMEM;
            break;
        }
        scrape_target *t = rx->targets;
        while (t && strcmp(t->key, key))
            t = t->next;
        if (t) {
            t->seen = true;
            free(key);
            continue;
        }
        if ((int64_t)rx->n_targets >= rx->cfg.max_targets) {
            dropped++;
            free(key);
            continue;
        }
        t = target_new(rx, &list[i], key, from_file);
        if (!t) {
            rc = PG_ENOMEM;
            break;
        }
        t->seen = true;
        t->next = rx->targets;
        rx->targets = t;
        rx->n_targets++;
        added++;
    }
    size_t removed = 0;
    for (scrape_target **pp = &rx->targets; *pp;) {
        scrape_target *t = *pp;
        if (t->seen || rc) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        target_free(rx, t);
        rx->n_targets--;
        removed++;
    }
    if (dropped) {
        pg_counter_add(rx->targets_dropped, dropped);
        pg_log(PG_LOG_WARN, rx->id, "%zu target(s) over max_targets (%lld) ignored", dropped,
               (long long)rx->cfg.max_targets);
    }
    if (added || removed)
        pg_log(PG_LOG_INFO, rx->id, "%s targets: %zu added, %zu removed, %zu in all",
               from_file ? "file_sd" : "static", added, removed, rx->n_targets);
    pg_gauge_set(rx->g_targets, (int64_t)rx->n_targets);
    return rc;
}

/* See pprof_scrape_int.h. */
void pg_scrape_targets_free_all(scrape_rx *rx)
{
    while (rx->targets) {
        scrape_target *t = rx->targets;
        rx->targets = t->next;
        target_free(rx, t);
    }
    rx->n_targets = 0;
}

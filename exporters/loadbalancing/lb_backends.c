/* The backend set of the loadbalancing exporter: one exporter of the protocol type per
 * backend, created through the host's factories with the protocol section copied for it
 * (`endpoint` set to the backend, `%s` in strings replaced by its name), and the ring over
 * their names. */
#include "exporters/loadbalancing/lb_int.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_cfg_str_fn: replaces every "%s" in s with the backend's name made file-safe (ud, e.g.
 * "10.0.0.1_4317"); returns s itself when there is none. */
static char *subst_backend(void *ud, pg_arena *a, const char *s)
{
    const char *safe = ud;
    if (!strstr(s, "%s")) return (char *)s;
    size_t n = 0, sl = strlen(safe);
    for (const char *p = s; *p; p++)
        n += (p[0] == '%' && p[1] == 's') ? (p++, sl) : 1;
    char *out = pg_arena_alloc(a, n + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(o, safe, sl);
            o += sl;
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

/* Sets the protocol config's top-level `endpoint` (ENDPOINT or STRING) to name. */
static int set_endpoint(const pg_cfg_field *table, void *cfg, pg_arena *a, const char *name)
{
    const pg_cfg_field *f = pg_cfg_field_find(table, "endpoint");
    if (!f) return 0;
    char *text = pg_arena_strndup(a, name, strlen(name));
    if (!text) return PG_ENOMEM;
    if (f->type == PG_CFG_STRING) {
        *(char **)((char *)cfg + f->offset) = text;
        return 0;
    }
    if (f->type != PG_CFG_ENDPOINT) return 0;
    char *host = NULL;
    uint16_t port = 0;
    int rc = pg_cfg_parse_endpoint(name, &host, &port, NULL, 0);
    if (rc) return rc;
    pg_cfg_endpoint *ep = (pg_cfg_endpoint *)((char *)cfg + f->offset);
    ep->text = text;
    ep->host = pg_arena_strndup(a, host, strlen(host));
    ep->port = port;
    free(host);
    return ep->host ? 0 : PG_ENOMEM;
}

/* Destroys a backend made by backend_new (its exporter shut down already, or never
 * started). NULL is a no-op. */
static void backend_free(lb_exporter *e, lb_backend *b)
{
    if (!b) return;
    if (b->self) e->proto->destroy(b->self);
    pg_arena_free(b->cfg_arena);
    free(b->name);
    free(b->id);
    free(b);
}

/* Creates and starts the exporter of backend `name`. Returns it, or NULL (logged). */
static lb_backend *backend_new(lb_exporter *e, const char *name)
{
    char err[512] = "", safe[256];
    lb_backend *b = calloc(1, sizeof *b);
    size_t idlen = strlen(e->settings.id) + strlen(name) + 2;
    if (b) {
        b->name = strdup(name);
        b->id = malloc(idlen);
        b->cfg_arena = pg_arena_new(0);
    }
    if (!b || !b->name || !b->id || !b->cfg_arena) {
        pg_log(PG_LOG_ERROR, e->settings.id, "backend %s: out of memory", name);
        backend_free(e, b);
        return NULL;
    }
    snprintf(b->id, idlen, "%s/%s", e->settings.id, name);
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof safe; p++)
        if (*p != '[' && *p != ']') safe[k++] = *p == ':' ? '_' : *p;
    safe[k] = 0;
    const pg_cfg_component_desc *desc = e->cfg->protocol.desc;
    void *cfg = pg_cfg_copy(b->cfg_arena, desc->table, desc->size, e->cfg->protocol.cfg,
                            subst_backend, safe);
    int rc = cfg ? set_endpoint(desc->table, cfg, b->cfg_arena, name) : PG_ENOMEM;
    if (rc) pg_err(err, sizeof err, rc, "cannot set the endpoint");
    if (!rc && desc->validate) rc = desc->validate(cfg, err, sizeof err);
    pg_component_settings s = {.id = b->id, .kind = PG_CFG_EXPORTER, .host = e->settings.host};
    pg_consumer none = {NULL, NULL};
    if (!rc) rc = e->proto->create(&s, cfg, none, &b->self, err, sizeof err);
    if (!rc && e->proto->start) rc = e->proto->start(b->self, err, sizeof err);
    if (rc) {
        pg_log(PG_LOG_ERROR, e->settings.id, "backend %s: cannot start its %s exporter: %s", name,
               e->proto->type, err);
        pg_counter_add(e->backend_failures, 1);
        backend_free(e, b);
        return NULL;
    }
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "exporter", e->settings.id);
    pg_metrics_label(labels, sizeof labels, "backend", name);
    b->routed_profiles = pg_metrics_counter(
        pg_host_metrics(e->settings.host), "profgate_loadbalancer_routed_profiles_total",
        "Profiles the loadbalancing exporter routed to each backend.", labels);
    return b;
}

typedef struct drain_job {
    lb_exporter *e;
    lb_backend *b;
    int64_t deadline_ns;
    pthread_t t;
    bool started;
} drain_job;

static void *drain_main(void *arg)
{
    drain_job *j = arg;
    j->e->proto->shutdown(j->b->self, j->deadline_ns);
    return NULL;
}

/* Shuts the backends down in parallel (one thread each; inline when a thread cannot be
 * made), then destroys them. */
static void drain_all(lb_exporter *e, lb_backend **bs, size_t n, int64_t deadline_ns)
{
    drain_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    for (size_t i = 0; i < n; i++) {
        if (!jobs) {
            e->proto->shutdown(bs[i]->self, deadline_ns);
            continue;
        }
        jobs[i] = (drain_job){e, bs[i], deadline_ns, 0, false};
        jobs[i].started = pthread_create(&jobs[i].t, NULL, drain_main, &jobs[i]) == 0;
        if (!jobs[i].started) drain_main(&jobs[i]);
    }
    for (size_t i = 0; jobs && i < n; i++)
        if (jobs[i].started) pthread_join(jobs[i].t, NULL);
    free(jobs);
    for (size_t i = 0; i < n; i++)
        backend_free(e, bs[i]);
}

static int cmp_backend(const void *a, const void *b)
{
    return strcmp((*(lb_backend *const *)a)->name, (*(lb_backend *const *)b)->name);
}

/* The backend of the current set named name, or NULL. */
static lb_backend *find(lb_backend **bs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(bs[i]->name, name)) return bs[i];
    return NULL;
}

/* See lb_int.h. */
lb_table *lb_table_acquire(lb_exporter *e)
{
    pthread_mutex_lock(&e->tmu);
    lb_table *t = e->table;
    t->refs++;
    pthread_mutex_unlock(&e->tmu);
    return t;
}

/* See lb_int.h. */
void lb_table_release(lb_exporter *e, lb_table *t)
{
    pthread_mutex_lock(&e->tmu);
    if (--t->refs == 0 && t != e->table) pthread_cond_broadcast(&e->tcv);
    pthread_mutex_unlock(&e->tmu);
}

/* See lb_int.h. */
int lb_table_init(lb_exporter *e)
{
    e->table = calloc(1, sizeof *e->table);
    return e->table ? 0 : PG_ENOMEM;
}

/* Frees a table (not its backends). */
static void table_free(lb_table *t)
{
    if (!t) return;
    free(t->backends);
    pg_ring_free(t->ring);
    free(t);
}

/* See lb_int.h. */
void lb_table_fini(lb_exporter *e)
{
    if (e->table) drain_all(e, e->table->backends, e->table->n, pg_now_mono_ns());
    table_free(e->table);
    e->table = NULL;
}

/* See lb_int.h. */
size_t lb_backend_count(lb_exporter *e)
{
    lb_table *t = lb_table_acquire(e);
    size_t n = t->n;
    lb_table_release(e, t);
    return n;
}

/* Makes next the current table, waits until no consumer uses the old one, and returns it
 * (the caller frees it). Called under apply_mu. */
static lb_table *publish(lb_exporter *e, lb_table *next)
{
    pthread_mutex_lock(&e->tmu);
    lb_table *old = e->table;
    e->table = next;
    while (old->refs > 0)
        pthread_cond_wait(&e->tcv, &e->tmu);
    pthread_mutex_unlock(&e->tmu);
    pg_gauge_set(e->nbackends, (int64_t)next->n);
    return old;
}

/* See lb_int.h. */
int lb_backends_apply(lb_exporter *e, const char *const *names, size_t n)
{
    pthread_mutex_lock(&e->apply_mu);
    lb_table *cur = e->table; /* only changed under apply_mu: safe to read */
    lb_table *next = calloc(1, sizeof *next);
    lb_backend **bs = calloc(n ? n : 1, sizeof *bs);
    lb_backend **gone = calloc(cur->n + n + 1, sizeof *gone);
    const char **rnames = calloc(n ? n : 1, sizeof *rnames);
    size_t nn = 0, ngone = 0, added = 0;
    int rc = next && bs && gone && rnames ? 0 : PG_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        lb_backend *b = find(cur->backends, cur->n, names[i]);
        if (!b && (b = backend_new(e, names[i]))) added++;
        if (b) bs[nn++] = b;
    }
    if (!rc) {
        qsort(bs, nn, sizeof *bs, cmp_backend);
        for (size_t i = 0; i < nn; i++)
            rnames[i] = bs[i]->name;
        rc = pg_ring_new(rnames, nn, (unsigned)e->cfg->virtual_nodes, &next->ring);
    }
    if (rc) { /* undo: drop what this call created */
        for (size_t i = 0; bs && gone && i < nn; i++)
            if (!find(cur->backends, cur->n, bs[i]->name)) gone[ngone++] = bs[i];
        if (gone) drain_all(e, gone, ngone, pg_now_mono_ns());
        free(bs);
        free(gone);
        free(rnames);
        free(next);
        pthread_mutex_unlock(&e->apply_mu);
        pg_log(PG_LOG_ERROR, e->settings.id, "cannot change the backend set: out of memory");
        return rc;
    }
    next->backends = bs;
    next->n = nn;
    for (size_t i = 0; i < cur->n; i++)
        if (!find(bs, nn, cur->backends[i]->name)) gone[ngone++] = cur->backends[i];
    table_free(publish(e, next));
    if (added || ngone) {
        pg_counter_add(e->changes, 1);
        char list[1024] = "";
        for (size_t i = 0, used = 0; i < nn && used + 1 < sizeof list; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", rnames[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        pg_log(PG_LOG_INFO, e->settings.id, "backends changed: %zu added, %zu removed; now %zu: %s",
               added, ngone, nn, nn ? list : "(none)");
    }
    free(rnames);
    drain_all(e, gone, ngone, pg_now_mono_ns() + e->cfg->drain_timeout);
    free(gone);
    pthread_mutex_unlock(&e->apply_mu);
    return 0;
}

/* See lb_int.h. */
void lb_backends_close(lb_exporter *e, int64_t deadline_ns)
{
    pthread_mutex_lock(&e->apply_mu);
    lb_table *empty = calloc(1, sizeof *empty);
    if (!empty) { /* keep the set; destroy frees it */
        pthread_mutex_unlock(&e->apply_mu);
        return;
    }
    lb_table *old = publish(e, empty);
    drain_all(e, old->backends, old->n, deadline_ns);
    table_free(old);
    pthread_mutex_unlock(&e->apply_mu);
}

/* The `loadbalancing` exporter's factory: config table and checks, lifecycle, and consume,
 * which splits a batch by backend (the routing key's owner on the ring) and hands each
 * part to that backend's own exporter (its own queue). */
#include "exporters/loadbalancing/loadbalancing_exporter.h"
#include "exporters/loadbalancing/lb_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/split.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <stdlib.h>
#include <string.h>

typedef lb_config C;

static const char *const KEYS[] = {"service", "resource", "attributes", NULL};
static const char *const SET_PER_BACKEND[] = {"endpoint", NULL}; /* in the protocol section */

static const pg_cfg_field STATIC_TABLE[] = {
    {.key = "hostnames",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(struct lb_static_cfg, hostnames),
     .doc = "backends as host:port"},
    {0},
};

static const pg_cfg_field DNS_TABLE[] = {
    {.key = "hostname",
     .type = PG_CFG_STRING,
     .offset = offsetof(struct lb_dns_cfg, hostname),
     .doc = "DNS name whose addresses are the backends (a headless Service)"},
    {.key = "port",
     .type = PG_CFG_INT,
     .offset = offsetof(struct lb_dns_cfg, port),
     .def = "4317",
     .min = "1",
     .max = "65535",
     .doc = "port of every resolved backend"},
    {.key = "interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(struct lb_dns_cfg, interval),
     .def = "5s",
     .min = "100ms",
     .doc = "how often the name is resolved again (also the static list's retry)"},
    {0},
};

static const pg_cfg_field RESOLVER_TABLE[] = {
    {.key = "static",
     .type = PG_CFG_SECTION,
     .offset = offsetof(struct lb_resolver_cfg, static_),
     .section = STATIC_TABLE,
     .doc = "a fixed list of backends"},
    {.key = "dns",
     .type = PG_CFG_SECTION,
     .offset = offsetof(struct lb_resolver_cfg, dns),
     .section = DNS_TABLE,
     .doc = "backends from a DNS name, re-resolved on an interval"},
    {0},
};

static const pg_cfg_field TABLE[] = {
    {.key = "routing_key",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, routing_key),
     .def = "service",
     .enum_values = KEYS,
     .doc = "service (service.name), resource (all resource attributes) or attributes"},
    {.key = "routing_attributes",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(C, routing_attributes),
     .doc = "routing_key attributes: keys looked up on the resource, scope, then profile"},
    {.key = "virtual_nodes",
     .type = PG_CFG_INT,
     .offset = offsetof(C, virtual_nodes),
     .def = "150",
     .min = "1",
     .max = "4096",
     .doc = "points of each backend on the hash ring"},
    {.key = "drain_timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(C, drain_timeout),
     .def = "10s",
     .doc = "how long a backend that leaves the set may drain its queue"},
    {.key = "protocol",
     .type = PG_CFG_COMPONENT,
     .offset = offsetof(C, protocol),
     .enum_values = SET_PER_BACKEND,
     .required = true,
     .doc = "the exporter of each backend: {otlp: {...}} (endpoint set per backend)"},
    {.key = "resolver",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, resolver),
     .section = RESOLVER_TABLE,
     .required = true,
     .doc = "where the backends come from: static or dns"},
    {0},
};

/* Cross-field checks: one resolver, its names, the routing attributes. Borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    const struct lb_resolver_cfg *r = &c->resolver;
    bool st = r->static_.hostnames.n > 0, dns = r->dns.hostname != NULL;
    if (st == dns)
        return pg_err(err, errlen, PG_EINVAL,
                      "resolver: give exactly one of static.hostnames and dns.hostname");
    if (dns && !r->dns.hostname[0])
        return pg_err(err, errlen, PG_EINVAL, "resolver.dns.hostname: must not be empty");
    for (size_t i = 0; i < r->static_.hostnames.n; i++) {
        char *host = NULL, msg[256];
        uint16_t port;
        const char *h = r->static_.hostnames.items[i];
        int rc = pg_cfg_parse_endpoint(h, &host, &port, msg, sizeof msg);
        bool no_host = !host || !*host;
        free(host);
        if (rc) return pg_err(err, errlen, PG_EINVAL, "resolver.static.hostnames[%zu]: %s", i, msg);
        if (!port || no_host)
            return pg_err(err, errlen, PG_EINVAL,
                          "resolver.static.hostnames[%zu]: \"%s\" needs a host and a port", i, h);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(h, r->static_.hostnames.items[j]))
                return pg_err(err, errlen, PG_EINVAL,
                              "resolver.static.hostnames[%zu]: \"%s\" is listed twice", i, h);
    }
    if ((c->routing_key == LB_KEY_ATTRIBUTES) != (c->routing_attributes.n > 0))
        return pg_err(err, errlen, PG_EINVAL,
                      "routing_attributes: required with routing_key attributes, and only then");
    return 0;
}

static void destroy(void *self)
{
    lb_exporter *e = self;
    if (!e) return;
    lb_resolver_stop(e);
    if (e->table) lb_backends_close(e, pg_now_mono_ns());
    lb_table_fini(e);
    pthread_cond_destroy(&e->tcv);
    pthread_mutex_destroy(&e->tmu);
    pthread_mutex_destroy(&e->apply_mu);
    pthread_mutex_destroy(&e->mu);
    pg_arena_free(e->arena);
    free((char *)e->settings.id);
    free(e);
}

/* Copies the config (the protocol section deep) and finds the protocol's factory. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    *self = NULL;
    const C *c = vcfg;
    const pg_component_factory *proto = pg_host_factory(s->host, PG_CFG_EXPORTER, c->protocol.type);
    if (!proto || proto == &pg_loadbalancing_exporter_factory)
        return pg_err(err, errlen, PG_EINVAL, "protocol: exporter type \"%s\" is not available",
                      c->protocol.type ? c->protocol.type : "");
    lb_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&e->tmu, NULL);
    pthread_cond_init(&e->tcv, NULL);
    pthread_mutex_init(&e->apply_mu, NULL);
    pthread_mutex_init(&e->mu, NULL);
    e->settings = *s;
    e->settings.id = strdup(s->id);
    e->proto = proto;
    e->arena = pg_arena_new(0);
    e->cfg = e->arena ? pg_cfg_copy(e->arena, TABLE, sizeof(C), c, NULL, NULL) : NULL;
    if (!e->settings.id || !e->cfg || lb_table_init(e)) {
        destroy(e);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_metrics *m = pg_host_metrics(s->host);
    pg_component_metrics_init(&e->cm, m, "exporter", s->id);
    char labels[300] = "";
    pg_metrics_label(labels, sizeof labels, "exporter", s->id);
    e->changes = pg_metrics_counter(m, "profgate_loadbalancer_resolver_changes_total",
                                    "Changes of the loadbalancing exporter's backend set.", labels);
    e->resolve_failures =
        pg_metrics_counter(m, "profgate_loadbalancer_resolver_failures_total",
                           "DNS resolutions that failed (the backend set was kept).", labels);
    e->backend_failures =
        pg_metrics_counter(m, "profgate_loadbalancer_backend_failures_total",
                           "Backend exporters that could not be started.", labels);
    e->nbackends = pg_metrics_gauge(m, "profgate_loadbalancer_backends",
                                    "Backends the loadbalancing exporter routes to.", labels);
    *self = e;
    return 0;
}

static int start(void *self, char *err, size_t errlen)
{
    lb_exporter *e = self;
    return lb_resolver_start(e, err, errlen);
}

/* Stops resolving, then drains every backend by the deadline. */
static void shutdown_(void *self, int64_t deadline_ns)
{
    lb_exporter *e = self;
    lb_resolver_stop(e);
    lb_backends_close(e, deadline_ns);
}

/* Hands part (owned) to backend i; counts what it routed or what was refused. Returns the
 * exporter's status. */
static int hand_over(lb_exporter *e, lb_backend *be, pg_batch *part, char *err, size_t errlen)
{
    size_t np = pg_batch_profile_count(part), ns = pg_batch_sample_count(part);
    int rc = e->proto->consume(be->self, part, err, errlen);
    if (!rc) pg_counter_add(be->routed_profiles, np);
    if (rc) {
        pg_counter_add(e->cm.enqueue_failed_profiles, np);
        pg_counter_add(e->cm.enqueue_failed_samples, ns);
    }
    return rc;
}

/* Takes b (owned). Routes every profile to its backend: the whole batch when they share
 * one, else one part per backend (pg_batch_split: each part carries b's ack, so the ack
 * fires once every part is delivered or queued). Returns 0, or the first failure of a part
 * (PG_EAGAIN first: retrying may help), or PG_EAGAIN without backends. */
static int consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    lb_exporter *e = self;
    size_t np = pg_batch_profile_count(b), ns = pg_batch_sample_count(b);
    bool handed = false;
    uint64_t *hash = malloc((np ? np : 1) * sizeof *hash);
    uint32_t *group = malloc((np ? np : 1) * sizeof *group);
    int rc = hash && group ? 0 : pg_err(err, errlen, PG_EAGAIN, "out of memory");
    if (!rc) lb_routing_hashes(e->cfg, b, hash);
    lb_table *t = lb_table_acquire(e);
    if (!rc && t->n == 0) rc = pg_err(err, errlen, PG_EAGAIN, "no backend resolved yet");
    size_t first = SIZE_MAX;
    bool one = true;
    for (size_t i = 0; i < np && !rc; i++) {
        group[i] = (uint32_t)pg_ring_lookup(t->ring, hash[i]);
        if (first == SIZE_MAX) first = group[i];
        one &= group[i] == first;
    }
    if (!rc && (np == 0 || one)) {
        handed = np > 0;
        rc = np ? hand_over(e, t->backends[first], b, err, errlen) : 0;
        if (!np) pg_batch_free(b);
        b = NULL;
    }
    pg_batch **parts = !rc && b ? calloc(t->n, sizeof *parts) : NULL;
    if (!rc && b && (!parts || pg_batch_split(b, group, t->n, parts)))
        rc = pg_err(err, errlen, PG_EAGAIN, "out of memory splitting a batch");
    int worst = 0;
    char perr[256];
    handed |= parts && !rc;
    for (size_t i = 0; parts && !rc && i < t->n; i++) {
        if (!parts[i]) continue;
        int prc = hand_over(e, t->backends[i], parts[i], perr, sizeof perr);
        if (prc && (!worst || (prc == PG_EAGAIN && worst != PG_EAGAIN))) {
            worst = prc;
            pg_err(err, errlen, prc, "backend %s: %s", t->backends[i]->name, perr);
        }
    }
    lb_table_release(e, t);
    if (!rc) rc = worst;
    if (rc && !handed) {
        pg_counter_add(e->cm.enqueue_failed_profiles, np);
        pg_counter_add(e->cm.enqueue_failed_samples, ns);
    }
    pg_batch_free(b);
    free(parts);
    free(hash);
    free(group);
    return rc;
}

const pg_component_factory pg_loadbalancing_exporter_factory = {
    .type = "loadbalancing",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
    .consume = consume,
};

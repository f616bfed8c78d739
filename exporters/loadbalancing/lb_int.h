/* Private to the loadbalancing exporter: its config, the backend set (lb_backends.c), the
 * resolvers (lb_resolver.c) and the routing keys (lb_routing.c). */
#ifndef PG_LB_INT_H
#define PG_LB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline/component.h"
#include "pipeline/core/ring.h"
#include "pipeline/telemetry/metrics.h"

enum { LB_KEY_SERVICE, LB_KEY_RESOURCE, LB_KEY_ATTRIBUTES };

typedef struct lb_config {
    int routing_key;
    pg_cfg_strlist routing_attributes;
    int64_t virtual_nodes;
    int64_t drain_timeout; /* ns: how long a backend that leaves may drain its queue */
    pg_cfg_component_ref protocol;
    struct lb_resolver_cfg {
        struct lb_static_cfg {
            pg_cfg_strlist hostnames;
        } static_;
        struct lb_dns_cfg {
            char *hostname;
            int64_t port;
            int64_t interval;
        } dns;
    } resolver;
} lb_config;

/* One backend: a host:port and the exporter serving it. */
typedef struct lb_backend {
    char *name; /* "host:port" */
    char *id;   /* "<lb id>/<name>": the exporter's id in logs and metrics */
    void *self; /* the protocol exporter */
    pg_arena *cfg_arena;
    pg_counter *routed_profiles;
} lb_backend;

/* A backend set: what one consume routes with. */
typedef struct lb_table {
    lb_backend **backends; /* sorted by name; ring member i is backends[i] */
    size_t n;
    pg_ring *ring;
    int refs; /* consumers using it (under tmu) */
} lb_table;

typedef struct lb_exporter {
    pg_component_settings settings; /* id copied */
    pg_arena *arena;                /* owns cfg (a deep copy) */
    lb_config *cfg;
    const pg_component_factory *proto; /* the protocol exporter's factory */

    /* The table consumers route with. A change publishes a new table, then waits until no
     * consumer uses the old one (new consumers already take the new one, so a change is
     * never starved by a stream of consumers), then drains the backends that left. */
    pthread_mutex_t tmu; /* guards table and every table's refs */
    pthread_cond_t tcv;  /* signalled when an old table's last consumer leaves */
    struct lb_table *table;
    pthread_mutex_t apply_mu; /* one set change at a time */

    /* the DNS resolver's thread */
    pthread_t thread;
    bool thread_on, stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int last_resolve_rc;

    pg_component_metrics cm;
    pg_counter *changes, *resolve_failures, *backend_failures;
    pg_gauge *nbackends;
} lb_exporter;

/* lb_backends.c: the current table with a reference for the caller (never NULL after
 * lb_table_init), and its release. */
lb_table *lb_table_acquire(lb_exporter *e);
void lb_table_release(lb_exporter *e, lb_table *t);
/* Makes the first, empty table; returns 0 or PG_ENOMEM. Frees the last one. */
int lb_table_init(lb_exporter *e);
void lb_table_fini(lb_exporter *e);
/* Backends in the current table. */
size_t lb_backend_count(lb_exporter *e);

/* lb_backends.c: makes the backend set exactly names[0..n) (borrowed; "host:port",
 * distinct): creates and starts the exporters of new names, rebuilds the ring, then drains
 * and destroys the ones that left. A backend that cannot be created is logged, counted and
 * left out (a later call tries it again). Logs and counts a change. Returns 0 or
 * PG_ENOMEM (the set is then unchanged). */
int lb_backends_apply(lb_exporter *e, const char *const *names, size_t n);

/* Shuts every backend down (in parallel, by deadline_ns) and destroys them. */
void lb_backends_close(lb_exporter *e, int64_t deadline_ns);

/* lb_resolver.c: applies the static list, or resolves the DNS name once and starts the
 * thread that re-resolves it every interval. Returns 0 or a negative status with err. */
int lb_resolver_start(lb_exporter *e, char *err, size_t errlen);
/* Stops the DNS thread (if any) and waits for it. */
void lb_resolver_stop(lb_exporter *e);

/* lb_routing.c: the routing hash of every profile of b in pg_profile_iter order into
 * out[0..pg_batch_profile_count(b)). */
void lb_routing_hashes(const lb_config *c, const pg_batch *b, uint64_t *out);

#endif

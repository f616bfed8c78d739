/* Services the runtime gives to components. */
#ifndef PG_HOST_H
#define PG_HOST_H

#include <stdbool.h>

#include "pipeline/component.h"
#include "pipeline/telemetry/metrics.h"

struct event_base;

/* Creates the host: a libevent base (made thread-aware), a metrics registry and the
 * flags. The caller owns it (pg_host_free); the loop runs in pg_host_run_loop. */
pg_host *pg_host_new(void);
void pg_host_free(pg_host *h);

/* Runs the event loop on the calling thread until pg_host_stop_loop (from any thread). */
void pg_host_run_loop(pg_host *h);
void pg_host_stop_loop(pg_host *h);

/* Marks the host ready (every component started) or not. */
void pg_host_set_ready(pg_host *h, bool ready);

/* 1 after pg_host_fatal was called; the message (borrowed) in *msg. */
bool pg_host_failed(const pg_host *h, const char **msg);

/* The I/O event loop (libevent 2.1) run by the runtime's loop thread. Components add
 * listeners, timers and bufferevents to it; callbacks run on that thread. */
struct event_base *pg_host_event_base(pg_host *h);

/* The metrics registry every component registers its counters in. */
pg_metrics *pg_host_metrics(pg_host *h);

/* 1 while the memory limiter refuses new data (receivers answer 503 / UNAVAILABLE). */
bool pg_host_memory_refusing(const pg_host *h);
void pg_host_set_memory_refusing(pg_host *h, bool refusing);

/* 1 once every component started (health_check's readiness). */
bool pg_host_ready(const pg_host *h);

/* The component factories known to the runtime (the registry), for components that
 * create others by type name (the loadbalancing exporter's per-backend exporters). Set
 * by whoever builds the graph; lookup returns NULL for an unknown type, and always NULL
 * before it was set. */
typedef const pg_component_factory *(*pg_host_factory_lookup)(pg_cfg_kind kind, const char *type);
void pg_host_set_factories(pg_host *h, pg_host_factory_lookup lookup);
const pg_component_factory *pg_host_factory(const pg_host *h, pg_cfg_kind kind, const char *type);

/* Objects shared by the instances of one component across pipelines (a processor is
 * created once per pipeline that names it; tracelink's span index must be one per id).
 * pg_host_share returns the object stored under key (copied), adding a reference; when
 * there is none it makes one with make(arg) first (NULL from make: returns NULL, nothing
 * stored). pg_host_unshare drops a reference; the last one frees the object with the drop
 * function given when it was made. Thread-safe. NULL when out of memory. */
void *pg_host_share(pg_host *h, const char *key, void *(*make)(void *arg), void *arg,
                    void (*drop)(void *obj));
void pg_host_unshare(pg_host *h, const char *key);

/* Reports that a component cannot go on (the runtime logs it and shuts down). */
void pg_host_fatal(pg_host *h, const char *component_id, const char *message);

#endif

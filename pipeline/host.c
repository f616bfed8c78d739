#include "pipeline/host.h"
#include "pipeline/host_int.h"
#include "pipeline/telemetry/log.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pg_host {
    struct event_base *base;
    pg_metrics *metrics;
    atomic_bool refusing, ready, failed;
    _Atomic(pg_host_factory_lookup) lookup;
    char fatal[512];
    pg_host_shared *shared; /* host_share.c */
};

/* Makes libevent thread-aware once, then builds the host (caller owns). */
pg_host *pg_host_new(void)
{
    static atomic_int threads_on;
    if (!atomic_exchange(&threads_on, 1)) evthread_use_pthreads();
    pg_host *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->base = event_base_new();
    h->metrics = pg_metrics_new();
    if (!h->base || !h->metrics) {
        pg_host_free(h);
        return NULL;
    }
    return h;
}

void pg_host_free(pg_host *h)
{
    if (!h) return;
    pg_host_shared_free_all(h);
    if (h->base) event_base_free(h->base);
    pg_metrics_free(h->metrics);
    free(h);
}

/* See host_int.h. */
pg_host_shared **pg_host_shared_list(pg_host *h)
{
    return &h->shared;
}

/* Runs the loop until stopped; EVLOOP_NO_EXIT_ON_EMPTY keeps it alive with no events. */
void pg_host_run_loop(pg_host *h)
{
    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
}

/* Asks the loop to return. loopexit, not loopbreak: a break requested before the loop
 * thread entered event_base_loop is cleared when it enters, and the stop would be lost;
 * loopexit queues a timer the loop serves whenever it runs. */
void pg_host_stop_loop(pg_host *h)
{
    event_base_loopexit(h->base, NULL);
}

struct event_base *pg_host_event_base(pg_host *h)
{
    return h->base;
}

pg_metrics *pg_host_metrics(pg_host *h)
{
    return h->metrics;
}

bool pg_host_memory_refusing(const pg_host *h)
{
    return atomic_load(&h->refusing);
}

void pg_host_set_memory_refusing(pg_host *h, bool refusing)
{
    atomic_store(&h->refusing, refusing);
}

bool pg_host_ready(const pg_host *h)
{
    return atomic_load(&h->ready);
}

void pg_host_set_ready(pg_host *h, bool ready)
{
    atomic_store(&h->ready, ready);
}

/* Records the first fatal report and wakes the loop so the runtime can shut down. */
void pg_host_fatal(pg_host *h, const char *component_id, const char *message)
{
    pg_log(PG_LOG_ERROR, component_id, "fatal: %s", message);
    if (!atomic_exchange(&h->failed, 1)) {
        strncpy(h->fatal, message, sizeof h->fatal - 1);
        event_base_loopexit(h->base, NULL); /* served even if the loop has not started yet */
    }
}

bool pg_host_failed(const pg_host *h, const char **msg)
{
    if (atomic_load(&h->failed)) {
        if (msg) *msg = h->fatal;
        return true;
    }
    return false;
}

int64_t pg_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t pg_now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pg_host_set_factories(pg_host *h, pg_host_factory_lookup lookup)
{
    atomic_store(&h->lookup, lookup);
}

const pg_component_factory *pg_host_factory(const pg_host *h, pg_cfg_kind kind, const char *type)
{
    pg_host_factory_lookup f = atomic_load(&h->lookup);
    return f ? f(kind, type) : NULL;
}

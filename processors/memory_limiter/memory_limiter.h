/* memory_limiter processor: refuses data (PG_EAGAIN "memory limit exceeded": receivers
 * answer 503 / UNAVAILABLE, senders retry) while the process's memory in use is above the
 * limit, and accepts again once it is below limit - spike (hysteresis). Memory in use is
 * what the process holds: the allocator's in-use bytes, which include every batch's
 * arena (RSS where the allocator cannot tell; see memory_limiter_mem.c), sampled every
 * check_interval on the host's
 * event loop and, at most every 100 ms, by consume itself so that a burst starts being
 * refused at once. While any memory_limiter refuses, pg_host_memory_refusing() is true
 * (health_check reports not ready). Put it first in a pipeline's processors.
 *
 * Config (Collector-shaped): check_interval (default 1s), limit_mib or limit_percentage
 * (one of them), spike_limit_mib (default 20% of the limit) or spike_limit_percentage. */
#ifndef PG_MEMORY_LIMITER_H
#define PG_MEMORY_LIMITER_H

#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_memory_limiter_config {
    int64_t check_interval;         /* ns */
    int64_t limit_mib;              /* 0 = unset */
    int64_t spike_limit_mib;        /* 0 = 20% of the limit */
    int64_t limit_percentage;       /* of total memory; 0 = unset */
    int64_t spike_limit_percentage; /* 0 = 20% of the limit */
} pg_memory_limiter_config;

extern const pg_component_factory pg_memory_limiter_factory;

/* Memory available to the process in bytes: the smaller of MemTotal (/proc/meminfo) and
 * the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) when there is one; 0 when
 * unknown. */
uint64_t pg_memory_limiter_total_memory(void);

/* Memory in use as the limiter sees it: heap in use in bytes (RSS when the allocator
 * cannot tell), 0 when unknown. */
uint64_t pg_memory_limiter_memory_in_use(void);

/* ---- Hooks for tests (self is the value create returned) ---- */

/* Re-evaluates now, as the timer does. Returns 1 when refusing, 0 when accepting. */
int pg_memory_limiter_check(void *self);

/* Replaces this instance's limits (bytes; spike < limit; 0 = 20% of the limit). */
void pg_memory_limiter_set_limits(void *self, uint64_t limit_bytes, uint64_t spike_bytes);

/* Replaces the memory reading (NULL restores RSS). fn(ctx) returns bytes in use. */
void pg_memory_limiter_set_probe(void *self, uint64_t (*fn)(void *ctx), void *ctx);

#endif

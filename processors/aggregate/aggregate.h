/* aggregate processor: merges the profiles of one series (same batch metadata, resource,
 * scope, profile type, period and chosen profile attributes) that arrive within one
 * `window` into one profile: identical stacks + attributes + link summed, time = the
 * window's start, duration = window. Sample attributes listed in drop_attributes are
 * removed first, so high-cardinality labels collapse. State is bounded (max_series,
 * max_bytes: reaching either flushes everything early, counted) and flushed on shutdown;
 * the inputs' acknowledgements are held until the merged batch is final downstream. A
 * gateway tier must route by series for the result to be exact. See
 * docs/processors-downscale-aggregate.md. */
#ifndef PG_AGGREGATE_H
#define PG_AGGREGATE_H

#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_aggregate_config {
    int64_t window; /* ns */
    pg_cfg_strlist group_by_attributes;
    pg_cfg_strlist drop_attributes;
    int64_t max_series;
    uint64_t max_bytes;
} pg_aggregate_config;

extern const pg_component_factory pg_aggregate_processor_factory;

/* Test hook: flushes every open window now (reason "forced"). self is what create gave. */
void pg_aggregate_flush_now(void *self);

#endif

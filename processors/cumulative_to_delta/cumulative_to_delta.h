/* cumulative_to_delta processor: turns pushed cumulative profiles (Go's allocs alloc_*,
 * mutex and block profiles: totals since the process started) into deltas, per series of
 * resource attributes + profile type, with the shared state of pipeline/core/delta.h: the
 * first profile of a series primes (not passed on), a value going down re-primes (a
 * restart), inuse_* profiles and sample types not listed in `sample_types` pass as they
 * are. State: at most max_series series, each dropped after `expiry` unseen. Stateful: in
 * a gateway tier, route by service (docs/processors-delta.md). */
#ifndef PG_CUMULATIVE_TO_DELTA_H
#define PG_CUMULATIVE_TO_DELTA_H

#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_cumulative_to_delta_config {
    int64_t max_series;
    int64_t expiry; /* ns */
    pg_cfg_strlist sample_types;
} pg_cumulative_to_delta_config;

extern const pg_component_factory pg_cumulative_to_delta_factory;

#endif

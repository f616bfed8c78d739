/* downscale processor: lowers the sampling rate of event-counting profiles without
 * biasing them. Each sample's count is thinned binomially (every event kept with
 * probability p), the sample's other values stay count x period, and the period becomes
 * period / p, so count x period stays an unbiased estimate of the total. Samples that
 * reach zero are removed and the dictionary compacted. Profiles whose values are already
 * estimates (Go heap, allocs, mutex, block) or whose rate is unknown pass untouched
 * (counted) unless configured otherwise. `trim` folds small stacks into their longest
 * kept prefix, keeping the total. See docs/processors-downscale-aggregate.md. */
#ifndef PG_DOWNSCALE_H
#define PG_DOWNSCALE_H

#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_downscale_config {
    int64_t target_period; /* ns; 0 = unset */
    double factor;         /* 0 = unset */
    int64_t seed;          /* 0 = from the clock */
    double trim;           /* fraction of the total; 0 = off */
    pg_cfg_strlist estimate_types;
    int estimates;    /* 0 pass, 1 scale */
    int unknown_rate; /* 0 pass, 1 scale */
} pg_downscale_config;

extern const pg_component_factory pg_downscale_processor_factory;

#endif

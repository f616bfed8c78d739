/* profiler_overhead processor: for CPU profiles, the share of samples whose stacks hold
 * the profiler's own frames (Go's runtime/pprof.* and runtime.sigprof, async-profiler,
 * JFR, pprof-rs, py-spy, the Datadog and Pyroscope agents; a configurable list of regular
 * expressions, pipeline/core/regex.h, matched against function names) estimates what profiling
 * costs that service. Exposed per service.name as profgate_profiler_overhead_ratio (the
 * latest CPU profile) with cumulative sample counters, and optionally as the profile
 * attribute profiler.overhead.ratio. Data passes on otherwise unchanged. See
 * docs/processors-downscale-aggregate.md. */
#ifndef PG_PROFILER_OVERHEAD_H
#define PG_PROFILER_OVERHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_profiler_overhead_config {
    pg_cfg_strlist frames;
    bool add_attribute;
    int64_t max_services;
} pg_profiler_overhead_config;

extern const pg_component_factory pg_profiler_overhead_processor_factory;

#endif

/* Adding a component: write its folder, then add one line to `factories`. */
#include "pipeline/registry/registry.h"

#include "exporters/debug/debug_exporter.h"
#include "exporters/file/file_exporter.h"
#include "exporters/loadbalancing/loadbalancing_exporter.h"
#include "exporters/nop/nop_exporter.h"
#include "exporters/pyroscope/pyroscope_exporter.h"
#include "exporters/otlp/otlp_exporter.h"
#include "exporters/otlphttp/otlphttp_exporter.h"
#include "extensions/health_check/health_check.h"
#include "processors/aggregate/aggregate.h"
#include "processors/downscale/downscale.h"
#include "processors/cumulative_to_delta/cumulative_to_delta.h"
#include "processors/filter/filter_processor.h"
#include "processors/memory_limiter/memory_limiter.h"
#include "processors/resource/resource_processor.h"
#include "processors/tracelink/tracelink_processor.h"
#include "receivers/file/file_receiver.h"
#include "receivers/otlp/otlp_receiver.h"
#include "receivers/pprof_push/pprof_push_receiver.h"

#include <string.h>

/* One line per component, unaligned (clang-format is off here so lines never re-pack). */
// clang-format off
static const pg_component_factory *const factories[] = {
    &pg_file_receiver_factory,
    &pg_otlp_receiver_factory,
    &pg_memory_limiter_factory,
    &pg_file_exporter_factory,
    &pg_debug_exporter_factory,
    &pg_nop_exporter_factory,
    &pg_health_check_factory,
    &pg_downscale_processor_factory,
    &pg_aggregate_processor_factory,
    &pg_cumulative_to_delta_factory,
    &pg_filter_processor_factory,
    &pg_resource_processor_factory,
    &pg_tracelink_processor_factory,
    &pg_pprof_push_receiver_factory,
    &pg_pyroscope_exporter_factory,
    &pg_otlphttp_exporter_factory,
    &pg_otlp_exporter_factory,
    &pg_loadbalancing_exporter_factory,
};
// clang-format on

#define N_FACTORIES (sizeof factories / sizeof factories[0])

const pg_component_factory *pg_registry_lookup(pg_cfg_kind kind, const char *type)
{
    for (size_t i = 0; i < N_FACTORIES; i++)
        if (factories[i]->kind == kind && strcmp(factories[i]->type, type) == 0)
            return factories[i];
    return NULL;
}

const pg_component_factory *pg_registry_at(size_t i)
{
    return i < N_FACTORIES ? factories[i] : NULL;
}

static const pg_cfg_component_desc *lookup_desc(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    const pg_component_factory *f = pg_registry_lookup(kind, type);
    return f ? &f->config : NULL;
}

/* The i-th known type of kind, for "known: ..." lists. */
static const char *type_at(void *ud, pg_cfg_kind kind, size_t i)
{
    (void)ud;
    for (size_t k = 0; k < N_FACTORIES; k++)
        if (factories[k]->kind == kind && i-- == 0) return factories[k]->type;
    return NULL;
}

const pg_cfg_registry *pg_registry_for_config(void)
{
    static const pg_cfg_registry reg = {lookup_desc, type_at, NULL};
    return &reg;
}

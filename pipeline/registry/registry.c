/* Adding a component: write its folder, then add one line to `factories`. A component in
 * the network module (its component.cmake says pg_component_module()) is a PG_NET_FACTORY
 * line naming its kind and type: the executable (built with PG_REGISTRY_NET_MODULE) knows it
 * by name and loads the module the first time it is looked up; every other build (tests,
 * benchmarks) links it in like the rest. */
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
#include "processors/profiler_overhead/profiler_overhead.h"
#include "processors/resource/resource_processor.h"
#include "processors/tracelink/tracelink_processor.h"
#include "receivers/file/file_receiver.h"
#include "receivers/otlp/otlp_receiver.h"
#include "receivers/pprof_push/pprof_push_receiver.h"
#include "receivers/pprof_scrape/pprof_scrape.h"

#ifdef PG_REGISTRY_NET_MODULE
#include "pipeline/registry/net_module.h"
#endif

#include <string.h>

/* A registry line: the factory when linked in; kind, type and symbol for a module factory. */
typedef struct {
    const pg_component_factory *factory;
    pg_cfg_kind kind;
    const char *type;
    const char *symbol;
} registry_entry;

#define PG_FACTORY(f)                                                                              \
    {                                                                                              \
        &(f), 0, NULL, NULL                                                                        \
    }
#ifdef PG_REGISTRY_NET_MODULE
#define PG_NET_FACTORY(f, k, t)                                                                    \
    {                                                                                              \
        NULL, k, t, #f                                                                             \
    }
#else
#define PG_NET_FACTORY(f, k, t)                                                                    \
    {                                                                                              \
        &(f), k, t, #f                                                                             \
    }
#endif

/* One line per component, unaligned (clang-format is off here so lines never re-pack). */
// clang-format off
static const registry_entry factories[] = {
    PG_FACTORY(pg_file_receiver_factory),
    PG_NET_FACTORY(pg_otlp_receiver_factory, PG_CFG_RECEIVER, "otlp"),
    PG_FACTORY(pg_memory_limiter_factory),
    PG_FACTORY(pg_file_exporter_factory),
    PG_FACTORY(pg_debug_exporter_factory),
    PG_FACTORY(pg_nop_exporter_factory),
    PG_FACTORY(pg_health_check_factory),
    PG_FACTORY(pg_downscale_processor_factory),
    PG_FACTORY(pg_aggregate_processor_factory),
    PG_FACTORY(pg_cumulative_to_delta_factory),
    PG_FACTORY(pg_filter_processor_factory),
    PG_NET_FACTORY(pg_resource_processor_factory, PG_CFG_PROCESSOR, "resource"),
    PG_NET_FACTORY(pg_tracelink_processor_factory, PG_CFG_PROCESSOR, "tracelink"),
    PG_NET_FACTORY(pg_pprof_push_receiver_factory, PG_CFG_RECEIVER, "pprof_push"),
    PG_NET_FACTORY(pg_pyroscope_exporter_factory, PG_CFG_EXPORTER, "pyroscope"),
    PG_NET_FACTORY(pg_otlphttp_exporter_factory, PG_CFG_EXPORTER, "otlphttp"),
    PG_NET_FACTORY(pg_otlp_exporter_factory, PG_CFG_EXPORTER, "otlp"),
    PG_FACTORY(pg_loadbalancing_exporter_factory),
    PG_NET_FACTORY(pg_pprof_scrape_factory, PG_CFG_RECEIVER, "pprof_scrape"),
    PG_FACTORY(pg_profiler_overhead_processor_factory),
};
// clang-format on

#define N_FACTORIES (sizeof factories / sizeof factories[0])

/* The kind of a line: its own for a module factory, else the factory's. */
static pg_cfg_kind entry_kind(const registry_entry *e)
{
    return e->type ? e->kind : e->factory->kind;
}

/* The type of a line: its own for a module factory, else the factory's. */
static const char *entry_type(const registry_entry *e)
{
    return e->type ? e->type : e->factory->type;
}

/* The factory of a line: linked in, or resolved in the network module (NULL when the module
 * cannot be loaded; net_module.c logs why). */
static const pg_component_factory *entry_factory(const registry_entry *e)
{
#ifdef PG_REGISTRY_NET_MODULE
    if (!e->factory) return pg_net_module_factory(e->symbol, e->kind, e->type);
#endif
    return e->factory;
}

const pg_component_factory *pg_registry_lookup(pg_cfg_kind kind, const char *type)
{
    for (size_t i = 0; i < N_FACTORIES; i++)
        if (entry_kind(&factories[i]) == kind && strcmp(entry_type(&factories[i]), type) == 0)
            return entry_factory(&factories[i]);
    return NULL;
}

const pg_component_factory *pg_registry_at(size_t i)
{
    return i < N_FACTORIES ? entry_factory(&factories[i]) : NULL;
}

int pg_registry_name_at(size_t i, pg_cfg_kind *kind, const char **type, int *in_module)
{
    if (i >= N_FACTORIES) return 0;
    *kind = entry_kind(&factories[i]);
    *type = entry_type(&factories[i]);
    *in_module = factories[i].symbol != NULL;
    return 1;
}

/* The registry's lookup as the config loader calls it. */
static const pg_cfg_component_desc *lookup_desc(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    const pg_component_factory *f = pg_registry_lookup(kind, type);
    return f ? &f->config : NULL;
}

/* The i-th known type of kind, for "known: ..." lists (module factories without loading it). */
static const char *type_at(void *ud, pg_cfg_kind kind, size_t i)
{
    (void)ud;
    for (size_t k = 0; k < N_FACTORIES; k++)
        if (entry_kind(&factories[k]) == kind && i-- == 0) return entry_type(&factories[k]);
    return NULL;
}

const pg_cfg_registry *pg_registry_for_config(void)
{
    static const pg_cfg_registry reg = {lookup_desc, type_at, NULL};
    return &reg;
}

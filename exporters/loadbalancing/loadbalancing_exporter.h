/* The `loadbalancing` exporter: routes each profile by a routing key on a consistent-hash
 * ring to one of a set of backends (a static list or a DNS name re-resolved on an
 * interval), each served by its own exporter of the `protocol` type (docs/loadbalancing.md). */
#ifndef PG_LOADBALANCING_EXPORTER_H
#define PG_LOADBALANCING_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_loadbalancing_exporter_factory;

#endif

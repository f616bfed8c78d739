/* The `otlp` exporter: OTLP Profiles over gRPC (ProfilesService/Export) with the gRPC C
 * core. */
#ifndef PG_OTLP_EXPORTER_H
#define PG_OTLP_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_otlp_exporter_factory;

#endif

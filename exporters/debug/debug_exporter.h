/* The `debug` exporter: logs what flows through a pipeline, one line per batch (basic),
 * one line per profile (normal) or the whole tree (detailed). */
#ifndef PG_DEBUG_EXPORTER_H
#define PG_DEBUG_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_debug_exporter_factory;

#endif

/* The `nop` exporter: accepts every batch and drops it, counting what it dropped in the
 * standard exporter metrics (the smallest complete component; docs/components.md). */
#ifndef PG_NOP_EXPORTER_H
#define PG_NOP_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_nop_exporter_factory;

#endif

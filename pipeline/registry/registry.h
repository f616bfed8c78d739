/* The static component registry: every factory profgate knows, listed once. */
#ifndef PG_REGISTRY_H
#define PG_REGISTRY_H

#include "pipeline/component.h"
#include "pipeline/config/config.h"

/* Returns the factory of (kind, type), or NULL. */
const pg_component_factory *pg_registry_lookup(pg_cfg_kind kind, const char *type);

/* The i-th factory (any kind), NULL past the end. */
const pg_component_factory *pg_registry_at(size_t i);

/* The registry as the config loader sees it (descriptors borrowed from the factories). */
const pg_cfg_registry *pg_registry_for_config(void);

#endif

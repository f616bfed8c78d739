/* The component registry: every factory profgate knows, listed once. In the executable the
 * network module's factories (gRPC, libcurl) are known by kind and type and resolved in
 * profgate-net.so when first looked up (net_module.h). */
#ifndef PG_REGISTRY_H
#define PG_REGISTRY_H

#include "pipeline/component.h"
#include "pipeline/config/config.h"

/* Returns the factory of (kind, type), or NULL (unknown, or its module cannot be loaded). */
const pg_component_factory *pg_registry_lookup(pg_cfg_kind kind, const char *type);

/* The i-th factory (any kind), NULL past the end or when its module cannot be loaded. */
const pg_component_factory *pg_registry_at(size_t i);

/* The i-th line's kind and type, and whether it is in the network module, without loading
 * anything; returns 0 past the end. */
int pg_registry_name_at(size_t i, pg_cfg_kind *kind, const char **type, int *in_module);

/* The registry as the config loader sees it (descriptors borrowed from the factories). */
const pg_cfg_registry *pg_registry_for_config(void);

#endif

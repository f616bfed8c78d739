/* The network module (profgate-net.so): the components that need libgrpc or libcurl, loaded
 * by the executable with dlopen the first time a config or command names one of them. */
#ifndef PG_NET_MODULE_H
#define PG_NET_MODULE_H

#include "pipeline/component.h"

/* The file name the executable looks for, and the variable that names the file instead. */
#define PG_NET_MODULE_FILE "profgate-net.so"
#define PG_NET_MODULE_ENV "PROFGATE_NET_MODULE"

/* Returns the factory the module exports as `symbol`, loading the module on first use and
 * checking that it was built with this executable and that the factory is (kind, type).
 * NULL when it cannot be loaded or does not match, with the reason logged once.
 * Thread-safe. */
const pg_component_factory *pg_net_module_factory(const char *symbol, pg_cfg_kind kind,
                                                  const char *type);

#endif

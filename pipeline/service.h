/* The running collector: loads the config, builds and starts the graph, runs the event
 * loop, handles SIGTERM/SIGINT (drain within service.shutdown_timeout, exit 0) and SIGHUP
 * (reload; a bad new config keeps the old one running). */
#ifndef PG_SERVICE_H
#define PG_SERVICE_H

#include <stddef.h>

#include "pipeline/graph.h"

/* Runs until stopped; returns the process exit code (0 clean stop, 1 runtime failure,
 * 2 bad config). Borrows paths. */
int pg_service_run(const char *const *paths, size_t n, pg_factory_lookup lookup,
                   const pg_cfg_registry *reg);

/* Loads and checks the config files only; prints warnings and errors to stderr. Returns
 * 0 when valid, 2 otherwise. */
int pg_service_validate(const char *const *paths, size_t n, const pg_cfg_registry *reg);

#endif

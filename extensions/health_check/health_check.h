/* health_check extension: HTTP readiness and liveness for load balancers and Kubernetes.
 *   GET / , /ready and the configured `path`: 200 {"status":"Server available",...} once
 *     every component started (pg_host_ready) and while the memory limiter accepts data;
 *     otherwise 503 {"status":"Server not available","reason":"...",...}.
 *   GET /live and /healthz: 200 while the process serves requests.
 * Config: endpoint (default 127.0.0.1:13133), path (default "/"). Served on the host's
 * event loop; start listens, shutdown closes. */
#ifndef PG_HEALTH_CHECK_H
#define PG_HEALTH_CHECK_H

#include <stdint.h>

#include "pipeline/component.h"

typedef struct pg_health_check_config {
    pg_cfg_endpoint endpoint;
    char *path;
} pg_health_check_config;

extern const pg_component_factory pg_health_check_factory;

/* The port the extension listens on after start (the chosen one for port 0), else 0. */
uint16_t pg_health_check_port(void *self);

#endif

/* The Prometheus endpoint: GET /metrics on service.telemetry.metrics.address (default
 * 127.0.0.1:8888) renders the host's metrics registry in the text format 0.0.4. It runs on
 * the host's event loop (see pipeline/net/admin_http.h for the threading rules). */
#ifndef PG_TELEMETRY_H
#define PG_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/host.h"

typedef struct pg_telemetry_server pg_telemetry_server;

/* Registers the process metrics in the host's registry and listens on host:port ("" =
 * every interface, port 0 = a free port; see pg_telemetry_server_port). Borrows h, which
 * must outlive the server. Returns 0 and *out (caller owns; pg_telemetry_server_stop), or
 * PG_EIO / PG_ENOMEM with "listen on host:port: reason" in err and *out = NULL. */
int pg_telemetry_server_start(pg_host *h, const char *host, uint16_t port,
                              pg_telemetry_server **out, char *err, size_t errlen);

/* The port the server listens on. */
uint16_t pg_telemetry_server_port(const pg_telemetry_server *s);

/* Closes the listener and connections and frees s; NULL is a no-op. */
void pg_telemetry_server_stop(pg_telemetry_server *s);

#endif

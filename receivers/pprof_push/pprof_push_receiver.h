/* The `pprof_push` receiver: Pyroscope's push protocols and the Collector pprof receiver's
 * raw push on one listener (default localhost:4040): POST /ingest (and /pyroscope/ingest),
 * Connect /push.v1.PusherService/Push, POST /v1/pprof. See docs/pyroscope.md. */
#ifndef PG_PPROF_PUSH_RECEIVER_H
#define PG_PPROF_PUSH_RECEIVER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_pprof_push_receiver_factory;

#endif

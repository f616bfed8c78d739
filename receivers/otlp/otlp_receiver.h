/* The `otlp` receiver: OTLP Profiles export requests over gRPC
 * (opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export), checked
 * for the format version, decoded with the translator's limits and handed on once the
 * pipeline accepted them. The request logic is otlp_request.h (transport-independent). */
#ifndef PG_OTLP_RECEIVER_H
#define PG_OTLP_RECEIVER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_otlp_receiver_factory;

#endif

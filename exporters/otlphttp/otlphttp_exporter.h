/* The `otlphttp` exporter: OTLP Profiles over HTTP (protobuf or JSON) to
 * `endpoint` + /v1development/profiles, on the shared outgoing HTTP client. */
#ifndef PG_OTLPHTTP_EXPORTER_H
#define PG_OTLPHTTP_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_otlphttp_exporter_factory;

#endif

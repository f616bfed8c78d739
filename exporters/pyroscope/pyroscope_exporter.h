/* The `pyroscope` exporter: OTLP -> pprof with the translator, sent to Pyroscope (or
 * anything speaking its push protocols) as Connect push.v1.PusherService/Push (default) or
 * /ingest multipart requests. See docs/pyroscope.md. */
#ifndef PG_PYROSCOPE_EXPORTER_H
#define PG_PYROSCOPE_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_pyroscope_exporter_factory;

#endif

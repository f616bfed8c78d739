/* The `file` receiver: polls globs for pprof / OTLP files (what a profiler writes to disk),
 * reads each stable file once, hands it on as one batch, and remembers what it read across
 * restarts in a small state file. */
#ifndef PG_FILE_RECEIVER_H
#define PG_FILE_RECEIVER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_file_receiver_factory;

#endif

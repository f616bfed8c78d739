/* The `file` exporter: writes each batch as OTLP protobuf, OTLP/JSON, or gzipped pprof
 * (one file per pprof profile, as Go writes them) into one directory, under generated
 * names, atomically, with rotation by file count and total size. */
#ifndef PG_FILE_EXPORTER_H
#define PG_FILE_EXPORTER_H

#include "pipeline/component.h"

extern const pg_component_factory pg_file_exporter_factory;

#endif

/* The pipeline graph: instances of every configured component wired together. One
 * receiver instance is shared by every pipeline that names it; processors are created per
 * pipeline; exporters are shared. A receiver hands batches to a fan-out into its
 * pipelines; a pipeline runs its processors in order, then fans out to its exporters.
 * A traces pipeline has processors only: a receiver hands the span ids of a trace request
 * to every traces pipeline naming it (pg_component_settings.traces), and each runs its
 * processors' consume_traces in order. */
#ifndef PG_GRAPH_H
#define PG_GRAPH_H

#include "pipeline/component.h"
#include "pipeline/config/config.h"
#include "pipeline/host.h"

typedef struct pg_graph pg_graph;

/* Looks up a factory by kind and type; NULL when unknown. */
typedef const pg_component_factory *(*pg_factory_lookup)(pg_cfg_kind kind, const char *type);

/* Creates every component of cfg (borrowed; must outlive the graph) on host h. Returns 0
 * and *out (caller owns; pg_graph_free), or a negative status with a message. */
int pg_graph_build(const pg_config *cfg, pg_factory_lookup lookup, pg_host *h, pg_graph **out,
                   char *err, size_t errlen);

/* Starts extensions, exporters, processors, then receivers; on failure shuts down what
 * started. Marks the host ready when all started. */
int pg_graph_start(pg_graph *g, char *err, size_t errlen);

/* Shuts down receivers first, then processors, exporters and extensions, all within the
 * deadline (CLOCK_MONOTONIC ns). */
void pg_graph_shutdown(pg_graph *g, int64_t deadline_ns);

/* Destroys every component and the graph. */
void pg_graph_free(pg_graph *g);

#endif

/* The component contract: every receiver, processor, exporter and extension is a static
 * const pg_component_factory, listed once in registry.c. Components include only
 * pipeline/ headers, never each other. */
#ifndef PG_COMPONENT_H
#define PG_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/config/config.h"
#include "pipeline/core/batch.h"
#include "pipeline/traces/spans.h"

typedef struct pg_host pg_host;

/* Where a component hands batches on. consume() takes ownership of b in every case, and
 * returns 0 (accepted), PG_EAGAIN (refused and retryable: memory limiter, full queue; the
 * sender should retry or answer 503 / UNAVAILABLE) or another negative status (refused
 * for good: the data is dropped and counted), with a message in err. */
typedef struct pg_consumer {
    int (*consume)(void *ctx, pg_batch *b, char *err, size_t errlen);
    void *ctx;
} pg_consumer;

static inline int pg_consume(const pg_consumer *c, pg_batch *b, char *err, size_t errlen)
{
    return c->consume(c->ctx, b, err, errlen);
}

/* Where a receiver hands the span ids of a trace request (the traces signal: indexed,
 * never exported). consume() borrows s for the call only and returns 0 or a negative
 * status with a message in err, as pg_consumer. */
typedef struct pg_traces_consumer {
    int (*consume)(void *ctx, const pg_spans *s, char *err, size_t errlen);
    void *ctx;
} pg_traces_consumer;

/* What a component gets at creation. Borrowed; valid until destroy. */
typedef struct pg_component_settings {
    const char *id; /* "type" or "type/name": the prefix of its log lines and metrics */
    pg_cfg_kind kind;
    pg_host *host;
    /* Receivers: the fan-out into every traces pipeline that names the receiver; consume
     * is NULL when none does (the receiver then refuses traces as unknown). */
    pg_traces_consumer traces;
} pg_component_settings;

typedef struct pg_component_factory {
    const char *type;
    pg_cfg_kind kind;
    pg_cfg_component_desc config; /* table, struct size, validate */
    /* Creates the component. `next` is where it sends data: for a receiver the fan-out into
     * every pipeline that names it, for a processor the next step; exporters and
     * extensions get an empty consumer. Returns 0 and *self (owned by the runtime until
     * destroy), or a negative status with err. */
    int (*create)(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                  char *err, size_t errlen);
    /* Starts work (listeners, threads, timers). Started downstream first. */
    int (*start)(void *self, char *err, size_t errlen);
    /* Stops accepting (receivers) or drains (exporters) until deadline (CLOCK_MONOTONIC
     * nanoseconds). Called receivers first. Must return by the deadline. */
    void (*shutdown)(void *self, int64_t deadline_ns);
    void (*destroy)(void *self);
    /* Processors and exporters: takes a batch (ownership moves, see pg_consumer). */
    int (*consume)(void *self, pg_batch *b, char *err, size_t errlen);
    /* Processors: 1 when consume changes batches (fan-out then clones for it). */
    int mutates;
    /* Processors that handle traces (config.signals has PG_SIGNAL_TRACES): takes the span
     * ids of one request (borrowed for the call). A traces pipeline calls it on each of its
     * processors in order; traces go no further (they are never exported). */
    int (*consume_traces)(void *self, const pg_spans *s, char *err, size_t errlen);
} pg_component_factory;

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC) and wall clock (unix ns). */
int64_t pg_now_mono_ns(void);
uint64_t pg_now_unix_ns(void);

#endif

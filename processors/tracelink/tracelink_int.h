/* Internals of the tracelink processor shared by its files. */
#ifndef PG_TRACELINK_INT_H
#define PG_TRACELINK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/traces/span_index.h"
#include "processors/tracelink/tracelink_processor.h"

/* The label keys, in preference order (malloc'd copies). */
typedef struct tl_keys {
    char **trace, **span, **decimal;
    size_t ntrace, nspan, ndecimal;
    int remove_labels;
} tl_keys;

/* What linking one batch did. */
typedef struct tl_result {
    uint64_t linked, unparsable, resolved, unresolved;
    uint64_t completed; /* existing links whose trace id came from the index */
} tl_result;

/* The span index one tracelink id shares across its pipelines (tracelink_index.c). */
typedef struct tl_index {
    pg_span_index *ix;
    pg_http_server *srv; /* own listener, NULL when span_index.endpoint is unset */
    bool started;
    char *id;
    pg_metrics *metrics; /* the host's, borrowed */
    pg_host *host;       /* borrowed: whether a memory_limiter refuses */
    pg_counter *indexed, *skipped, *bad_requests, *refused;
} tl_index;

/* The index of s->id, made from c on first use (then shared; the listener is not started).
 * NULL with err when it cannot be made. Release with tl_index_release. */
tl_index *tl_index_acquire(const pg_component_settings *s, const pg_tracelink_index_config *c,
                           char *err, size_t errlen);
void tl_index_release(pg_host *h, const char *id);

/* Starts the listener once (later calls return 0); 0 or a negative status with err. */
int tl_index_start(tl_index *x, char *err, size_t errlen);

/* Closes the listener (running requests answer first). */
void tl_index_stop(tl_index *x);

/* Indexes the spans of s (borrowed) now, counting them. */
void tl_index_add(tl_index *x, const pg_spans *s);

/* Links the samples of b (held alone) as tracelink_processor.h says; ix may be NULL.
 * Compacts the dictionary when labels were removed. Returns 0 or a negative status. */
int tl_link_batch(const tl_keys *k, pg_span_index *ix, pg_batch *b, int64_t now_ns, tl_result *res,
                  char *err, size_t errlen);

/* Number of samples of b with a span id but no trace id that ix does not know (yet). */
size_t tl_count_unresolved(const tl_keys *k, pg_span_index *ix, const pg_batch *b, int64_t now_ns);

/* Parses an id label value: hex of exactly 2*n digits, or (decimal) an unsigned decimal
 * that fits n bytes, big-endian. 1 when it parsed to a non-zero id, else 0. */
int tl_parse_id(const char *s, int decimal, uint8_t *out, size_t n);

#endif

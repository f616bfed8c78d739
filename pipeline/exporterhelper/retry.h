/* Exponential backoff with jitter for the exporter helper's retries, with the semantics of
 * the Collector's retry_on_failure (cenkalti/backoff): the n-th wait is drawn uniformly from
 * [I - r*I, I + r*I] where I = min(initial * multiplier^(n-1), max_interval) and r is the
 * randomization factor; retrying stops once the time since the first attempt plus the next
 * wait would pass max_elapsed_time (0 = never stop). Pure computation, no clock reads. */
#ifndef PG_RETRY_H
#define PG_RETRY_H

#include <stdint.h>

#include "pipeline/exporterhelper/exporterhelper.h"

typedef struct pg_backoff {
    int64_t initial, max_interval, max_elapsed; /* ns */
    double multiplier, randomization;
    int64_t current; /* the interval the next wait is drawn around, ns */
    int64_t start;   /* CLOCK_MONOTONIC ns of the first attempt */
    uint64_t rng;    /* xorshift state, never 0 */
} pg_backoff;

/* Initialises bo from cfg (borrowed, copied) for a request first attempted at start_ns;
 * seed picks the jitter sequence (any value). */
void pg_backoff_init(pg_backoff *bo, const struct pg_retry_config *cfg, int64_t start_ns,
                     uint64_t seed);

/* What pg_backoff_next returns when the retry budget is spent (a wait, not a status). */
#define PG_BACKOFF_STOP ((int64_t)-1)

/* Returns the wait in ns before the next attempt, or PG_BACKOFF_STOP when the retry budget
 * is spent. now_ns is the current CLOCK_MONOTONIC time. */
int64_t pg_backoff_next(pg_backoff *bo, int64_t now_ns);

#endif

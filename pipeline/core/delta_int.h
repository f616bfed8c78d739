/* Internals of pipeline/core/delta: the per-batch cache of content hashes shared by
 * delta.c and delta_key.c. */
#ifndef PG_DELTA_INT_H
#define PG_DELTA_INT_H

#include "pipeline/core/delta.h"

/* Content hashes of a batch's stacks and locations, computed on first use (0 = not yet;
 * a computed hash is never 0). malloc-owned by the caller of pg_delta_keys_init. */
typedef struct pg_delta_keys {
    const pg_batch *b;
    uint64_t *stack;
    size_t n_stack;
    uint64_t *loc;
    size_t n_loc;
} pg_delta_keys;

/* Sizes the caches for b's dictionary (borrowed). Returns 0 or PG_ENOMEM. */
int pg_delta_keys_init(pg_delta_keys *k, const pg_batch *b);
void pg_delta_keys_free(pg_delta_keys *k);

/* The identity hash of sample s of k's batch (never 0). */
uint64_t pg_delta_keys_sample(pg_delta_keys *k, const pg_sample_ref *s);

#endif

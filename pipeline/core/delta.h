/* Cumulative to delta: the one implementation behind the pprof_scrape receiver and the
 * cumulative_to_delta processor.
 *
 * A cumulative profile (Go's allocs alloc_*, mutex, block) holds totals since its process
 * started. Per series (a key the caller computes: a scrape target and profile type, or
 * resource attributes and profile type) the state keeps the previous profile's value per
 * sample identity, and a new profile becomes the difference:
 *
 * - Sample identity: the stack by content (each frame's address, function name, system
 *   name, file, line and column), plus the sample's attributes by content (order does not
 *   matter); the link is not part of it. Dictionary indices never are, so profiles of
 *   different batches compare. Samples of one profile with the same identity are summed;
 *   the delta goes to the first of them, the others are removed, as are samples whose
 *   delta is 0.
 * - The first profile of a series primes the state and is removed from the batch
 *   (counted as primed).
 * - A value lower than the previous one for any identity means the process restarted:
 *   the state is re-primed from this profile, which is removed (counted as a restart).
 * - Profiles without a sample type (the translator's table-entries record) are not
 *   classified; they are removed with the others when no typed profile is left.
 * - Profiles the classifier calls PG_DELTA_PASS (inuse_* sample types, snapshots such
 *   as goroutine, profiles already delta) are left as they are.
 * - The delta profile's time is the previous profile's time and its duration the time
 *   between the two (when both carry a time).
 * - Bounded: at most max_series series (the least recently seen one is evicted for a new
 *   one, counted), and a series not seen for `expiry` is dropped (counted).
 *
 * A pg_delta is safe to share between threads (one lock per call). */
#ifndef PG_DELTA_H
#define PG_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/edit.h"

typedef struct pg_delta pg_delta;

typedef struct pg_delta_opts {
    size_t max_series; /* series kept at most; 0 means 10000 */
    int64_t expiry_ns; /* a series unseen this long is dropped; 0 = never */
} pg_delta_opts;

/* What happened, added to by each call (the caller owns it and reads it as counters). */
typedef struct pg_delta_stats {
    uint64_t emitted;         /* delta profiles passed on */
    uint64_t primed;          /* first profiles of a series, removed */
    uint64_t restarts;        /* profiles whose values went down: re-primed, removed */
    uint64_t passed;          /* profiles left as they were (PG_DELTA_PASS) */
    uint64_t evicted;         /* series evicted to stay within max_series */
    uint64_t expired;         /* series dropped after expiry */
    uint64_t removed_samples; /* samples removed: zero deltas and repeated identities */
} pg_delta_stats;

typedef enum pg_delta_mode {
    PG_DELTA_PASS = 0,       /* not cumulative: left as it is */
    PG_DELTA_CUMULATIVE = 1, /* subtract the series' previous profile */
} pg_delta_mode;

/* Tells, for the profile at `it` of batch b (both borrowed), its mode and, for
 * PG_DELTA_CUMULATIVE, its series key in *series. */
typedef pg_delta_mode (*pg_delta_classify_fn)(void *ud, pg_batch *b, const pg_profile_iter *it,
                                              uint64_t *series);

/* Returns a new state (caller owns; pg_delta_free), or NULL when out of memory. */
pg_delta *pg_delta_new(const pg_delta_opts *o);

/* Frees the state and every series. NULL is a no-op. */
void pg_delta_free(pg_delta *d);

/* Turns every cumulative profile of b (owned alone by the caller) into its delta in
 * place, removes primed and re-primed profiles (and scopes and resources left empty),
 * and compacts the dictionary when anything was removed. Drops expired series first.
 * `now_ns` is a monotonic or wall clock in nanoseconds (used for expiry and recency
 * only). Adds to *st (may be NULL). b may hold no profile afterwards
 * (pg_batch_profile_count). Returns 0 or a negative status (PG_ENOMEM, PG_ELIMIT) with a
 * message in err; on error b is unusable and the state of the series touched is reset. */
int pg_delta_batch(pg_delta *d, pg_batch *b, pg_delta_classify_fn fn, void *ud, uint64_t now_ns,
                   pg_delta_stats *st, char *err, size_t errlen);

/* Number of series held. */
size_t pg_delta_series_count(pg_delta *d);

/* Bytes the state holds (series and their tables), for a gauge. */
size_t pg_delta_state_bytes(pg_delta *d);

/* ---- Keys (pipeline/core/delta_key.c) ---- */

/* Hash of p's profile type: sample type and unit, period type and unit (by text). */
uint64_t pg_delta_type_hash(const pg_batch *b, const pg_otlp_profile *p);

/* Hash of a resource's attributes by content, independent of their order (0 for NULL). */
uint64_t pg_delta_resource_hash(const pg_batch *b, const pg_otlp_resource *r);

/* 1 when p's sample type starts with "inuse_" (a gauge: never subtracted). */
int pg_delta_is_inuse(const pg_batch *b, const pg_otlp_profile *p);

/* Hash of a sample's identity: stack content and attributes by content. Used by
 * pg_delta_batch; exposed for tests. */
uint64_t pg_delta_sample_hash(const pg_batch *b, const pg_sample_ref *s);

#endif

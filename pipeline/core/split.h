/* Splitting a batch by profile into parts, each a batch of its own with only the
 * dictionary entries its profiles use (batching's max_size, the loadbalancing exporter's
 * routing). */
#ifndef PG_SPLIT_H
#define PG_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"

/* Splits b (borrowed, unchanged) into ngroups parts: group[i] (< ngroups) is the part of
 * the i-th profile in pg_profile_iter order. parts[0..ngroups) (the caller's array) get a
 * new batch per group holding its profiles under copies of their resources and scopes,
 * compacted, carrying what b carries (pg_batch_inherit: metadata, origin, ack), or NULL
 * for a group without profiles. Returns 0, PG_EINVAL for a group out of range, or
 * PG_ENOMEM; on failure every parts[g] is NULL. */
int pg_batch_split(const pg_batch *b, const uint32_t *group, size_t ngroups, pg_batch **parts);

#endif

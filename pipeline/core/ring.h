/* A consistent-hash ring: each member (a backend name) owns `vnodes` points placed by a
 * hash of its name alone, and a key belongs to the member of the first point at or after
 * the key's hash (wrapping). A ring over a set of names does not depend on their order,
 * and removing one member moves only the keys it owned (about 1/N of them); adding one
 * takes only keys for itself. Immutable once built: share it read-only between threads. */
#ifndef PG_RING_H
#define PG_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_ring pg_ring;

/* Builds a ring over names[0..n) (borrowed; distinct), vnodes points each (1..65536).
 * Returns 0 and *out (caller owns; pg_ring_free), PG_EINVAL for a bad vnodes or a
 * duplicate name, PG_ENOMEM. n may be 0 (an empty ring). */
int pg_ring_new(const char *const *names, size_t n, unsigned vnodes, pg_ring **out);

void pg_ring_free(pg_ring *r);

/* The index (into the names given to pg_ring_new) of the member owning the key hash, or
 * SIZE_MAX when the ring is empty. O(log(n * vnodes)). */
size_t pg_ring_lookup(const pg_ring *r, uint64_t key_hash);

/* The hash of a routing key as the ring places it. */
uint64_t pg_ring_key_hash(const void *key, size_t len);

/* Number of members. */
size_t pg_ring_members(const pg_ring *r);

#endif

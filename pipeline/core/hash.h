/* Hashing and two open-addressing tables: an index set (keys live elsewhere, compared by a
 * callback) and a uint64 -> uint32 map. Both are malloc-owned by their user. */
#ifndef PG_HASH_H
#define PG_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit hash of bytes, seeded. */
uint64_t pg_hash_bytes(const void *p, size_t n, uint64_t seed);

/* Mixes one 64-bit value into a running hash. */
static inline uint64_t pg_hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

/* A set of uint32 element ids whose keys live in a caller's table. */
typedef struct pg_index {
    uint64_t *slots; /* low 32 bits of the hash << 32 | (id + 1); 0 = empty */
    size_t cap, count;
    unsigned shift; /* a hash's home slot is its top bits: hash32 >> shift */
} pg_index;

/* Callback: is element `id` equal to the probe `key`? */
typedef int (*pg_index_eq)(const void *ctx, const void *key, uint32_t id);

/* Finds an element equal to key; returns its id or UINT32_MAX. */
uint32_t pg_index_find(const pg_index *ix, uint64_t hash, pg_index_eq eq, const void *ctx,
                       const void *key);

/* Sizes the index for n elements in all, so that inserting them does not rehash.
 * Returns 0, PG_ENOMEM, or PG_ELIMIT past 2^32 slots. */
int pg_index_reserve(pg_index *ix, size_t n);

/* Fetches the first slot a lookup of hash will read, so that the lookup soon after finds
 * it in cache. A real load rather than a prefetch instruction: on the benchmark machine
 * (AMD EPYC, virtualised) prefetches of the stack index in a conversion did not take effect
 * (every lookup still waited for memory; likely TLB misses, which a prefetch does not walk
 * and a load does), while loads issued back to back overlap and arrive in time. */
static inline void pg_index_prefetch(const pg_index *ix, uint64_t hash)
{
    if (ix->cap) (void)*(const volatile uint64_t *)&ix->slots[(uint32_t)hash >> ix->shift];
}

/* Inserts id (the caller knows it is absent); returns 0, PG_ENOMEM or PG_ELIMIT. */
int pg_index_insert(pg_index *ix, uint64_t hash, uint32_t id);

/* Frees the index's storage. */
void pg_index_free(pg_index *ix);
/* The same for a large index about to be followed by other big allocations: its pages go
 * back to the OS first (pg_pages_free). */
void pg_index_free_pages(pg_index *ix);

/* uint64 -> uint32 map (e.g. pprof ids -> table positions). */
typedef struct pg_u64map {
    uint64_t *keys;
    uint32_t *vals; /* UINT32_MAX = empty */
    size_t cap, count;
} pg_u64map;

/* Puts key -> val; returns 0, 1 when the key was already present (val not changed), or
 * PG_ENOMEM. */
int pg_u64map_put(pg_u64map *m, uint64_t key, uint32_t val);

/* Returns the value for key or UINT32_MAX. */
uint32_t pg_u64map_get(const pg_u64map *m, uint64_t key);

/* Frees the map's storage. */
void pg_u64map_free(pg_u64map *m);

#endif

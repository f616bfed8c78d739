#include "pipeline/core/hash.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t fmix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

/* Hashes p[0..n) eight bytes at a time (borrowed input). */
uint64_t pg_hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
    while (n >= 8) {
        h = (h ^ fmix(load64(p))) * 0x87c37b91114253d5ull;
        h = (h << 31) | (h >> 33);
        p += 8;
        n -= 8;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) t |= (uint64_t)p[i] << (8 * i);
    return fmix(h ^ fmix(t + 0x52dce729));
}

/* Rehashes the index into twice the capacity. */
static int index_grow(pg_index *ix)
{
    size_t ncap = ix->cap ? ix->cap * 2 : 64;
    uint32_t *ids = malloc(ncap * sizeof *ids), *hs = malloc(ncap * sizeof *hs);
    if (!ids || !hs) {
        free(ids);
        free(hs);
        return -1;
    }
    memset(ids, 0xff, ncap * sizeof *ids);
    for (size_t i = 0; i < ix->cap; i++) {
        if (ix->ids[i] == UINT32_MAX) continue;
        size_t j = ix->hashes[i] & (ncap - 1);
        while (ids[j] != UINT32_MAX) j = (j + 1) & (ncap - 1);
        ids[j] = ix->ids[i];
        hs[j] = ix->hashes[i];
    }
    free(ix->ids);
    free(ix->hashes);
    ix->ids = ids;
    ix->hashes = hs;
    ix->cap = ncap;
    return 0;
}

/* Linear-probes for an equal element. */
uint32_t pg_index_find(const pg_index *ix, uint64_t hash, pg_index_eq eq, const void *ctx,
                       const void *key)
{
    if (!ix->cap) return UINT32_MAX;
    uint32_t h = (uint32_t)hash;
    for (size_t j = h & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
        uint32_t id = ix->ids[j];
        if (id == UINT32_MAX) return UINT32_MAX;
        if (ix->hashes[j] == h && eq(ctx, key, id)) return id;
    }
}

/* Adds id at the first free slot of its probe sequence. */
int pg_index_insert(pg_index *ix, uint64_t hash, uint32_t id)
{
    if ((ix->count + 1) * 4 > ix->cap * 3 && index_grow(ix)) return -1;
    uint32_t h = (uint32_t)hash;
    size_t j = h & (ix->cap - 1);
    while (ix->ids[j] != UINT32_MAX) j = (j + 1) & (ix->cap - 1);
    ix->ids[j] = id;
    ix->hashes[j] = h;
    ix->count++;
    return 0;
}

/* Releases the index's arrays. */
void pg_index_free(pg_index *ix)
{
    free(ix->ids);
    free(ix->hashes);
    memset(ix, 0, sizeof *ix);
}

static inline size_t u64_slot(uint64_t k, size_t cap)
{
    return (size_t)fmix(k) & (cap - 1);
}

/* Rehashes the map into twice the capacity. */
static int u64map_grow(pg_u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uint64_t *ks = malloc(ncap * sizeof *ks);
    uint32_t *vs = malloc(ncap * sizeof *vs);
    if (!ks || !vs) {
        free(ks);
        free(vs);
        return -1;
    }
    memset(vs, 0xff, ncap * sizeof *vs);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == UINT32_MAX) continue;
        size_t j = u64_slot(m->keys[i], ncap);
        while (vs[j] != UINT32_MAX) j = (j + 1) & (ncap - 1);
        ks[j] = m->keys[i];
        vs[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = ks;
    m->vals = vs;
    m->cap = ncap;
    return 0;
}

/* Inserts key -> val unless present. */
int pg_u64map_put(pg_u64map *m, uint64_t key, uint32_t val)
{
    if ((m->count + 1) * 4 > m->cap * 3 && u64map_grow(m)) return -1;
    size_t j = u64_slot(key, m->cap);
    while (m->vals[j] != UINT32_MAX) {
        if (m->keys[j] == key) return 1;
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return 0;
}

/* Looks key up. */
uint32_t pg_u64map_get(const pg_u64map *m, uint64_t key)
{
    if (!m->cap) return UINT32_MAX;
    for (size_t j = u64_slot(key, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (m->vals[j] == UINT32_MAX) return UINT32_MAX;
        if (m->keys[j] == key) return m->vals[j];
    }
}

/* Releases the map's arrays. */
void pg_u64map_free(pg_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

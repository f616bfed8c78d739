#include "pipeline/core/hash.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"

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

/* 64x64 -> 128-bit multiply, folded: the mixing step of the byte hash. */
static inline uint64_t mul_fold(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Loads the last 1..7 bytes of a key without reading past it. */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
    uint64_t t = 0;
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo << 32 | hi;
    }
    if (n) t = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
    return t;
}

/* Hashes p[0..n) sixteen bytes per multiply (borrowed input). */
uint64_t pg_hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                   k2 = 0x8ebc6af09c88c6e3ull;
    uint64_t h = seed ^ mul_fold(seed ^ k0, (uint64_t)n ^ k1);
    size_t left = n;
    while (left > 16) {
        h = mul_fold(load64(p) ^ k1, load64(p + 8) ^ h);
        p += 16;
        left -= 16;
    }
    uint64_t a, b;
    if (left > 8) {
        a = load64(p);
        b = load64(p + left - 8);
    } else {
        a = load_tail(p, left);
        b = 0;
    }
    return mul_fold(k1 ^ (uint64_t)n, mul_fold(a ^ k2, b ^ h));
}

/* Rehashes the index into ncap slots (a power of two, at most 2^32). Zeroed memory is an
 * empty index. Home slots are the hash's top bits, so the table is ordered by hash and
 * moving it to a bigger one writes almost sequentially instead of at random.
 * A big table is faulted in writable at once: at 3/8 to 3/4 load every page is written
 * anyway, and a page first read (a lookup that misses) maps the shared zero page, whose
 * copy on the first write must flush the TLB of every CPU the process runs on, an
 * interrupt to the other thread when a reader thread is running. */
static int index_rehash(pg_index *ix, size_t ncap)
{
    if (ncap > ((size_t)1 << 32)) return PG_ELIMIT; /* home slots come from a 32-bit hash */
    unsigned shift = 32 - (unsigned)__builtin_ctzll((unsigned long long)ncap);
    uint64_t *slots = calloc(ncap, sizeof *slots);
    if (!slots) return PG_ENOMEM;
    /* a big index fills up evenly: large pages save most of its faults */
    if (ncap * sizeof *slots >= ((size_t)4 << 20))
        pg_pages_hint_large((const uint8_t *)slots, ncap * sizeof *slots);
    if (ncap * sizeof *slots >= ((size_t)64 << 10)) pg_pages_populate(slots, ncap * sizeof *slots);
    for (size_t i = 0; i < ix->cap; i++) {
        uint64_t e = ix->slots[i];
        if (!e) continue;
        size_t j = (size_t)((uint32_t)(e >> 32) >> shift);
        while (slots[j])
            j = (j + 1) & (ncap - 1);
        slots[j] = e;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = ncap;
    ix->shift = shift;
    return 0;
}

/* Grows to the smallest power of two that keeps n elements under 3/4 load. */
int pg_index_reserve(pg_index *ix, size_t n)
{
    size_t cap = ix->cap ? ix->cap : 64;
    while (n * 4 > cap * 3 && cap < ((size_t)1 << 32))
        cap *= 2;
    return cap == ix->cap ? 0 : index_rehash(ix, cap);
}

/* Linear-probes for an equal element. */
uint32_t pg_index_find(const pg_index *ix, uint64_t hash, pg_index_eq eq, const void *ctx,
                       const void *key)
{
    if (!ix->cap) return UINT32_MAX;
    uint32_t h = (uint32_t)hash;
    for (size_t j = h >> ix->shift;; j = (j + 1) & (ix->cap - 1)) {
        uint64_t e = ix->slots[j];
        if (!e) return UINT32_MAX;
        uint32_t id = (uint32_t)e - 1;
        if ((uint32_t)(e >> 32) == h && eq(ctx, key, id)) return id;
    }
}

/* Adds id at the first free slot of its probe sequence. */
int pg_index_insert(pg_index *ix, uint64_t hash, uint32_t id)
{
    if ((ix->count + 1) * 4 > ix->cap * 3) {
        int rc = index_rehash(ix, ix->cap ? ix->cap * 2 : 64);
        if (rc) return rc;
    }
    uint32_t h = (uint32_t)hash;
    size_t j = h >> ix->shift;
    while (ix->slots[j])
        j = (j + 1) & (ix->cap - 1);
    ix->slots[j] = (uint64_t)h << 32 | ((uint64_t)id + 1);
    ix->count++;
    return 0;
}

/* Releases the index's slots. */
void pg_index_free(pg_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* Frees the slots through pg_pages_free. */
void pg_index_free_pages(pg_index *ix)
{
    pg_pages_free(ix->slots, ix->cap * sizeof *ix->slots);
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
        return PG_ENOMEM;
    }
    memset(vs, 0xff, ncap * sizeof *vs);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == UINT32_MAX) continue;
        size_t j = u64_slot(m->keys[i], ncap);
        while (vs[j] != UINT32_MAX)
            j = (j + 1) & (ncap - 1);
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
    if ((m->count + 1) * 4 > m->cap * 3 && u64map_grow(m)) return PG_ENOMEM;
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

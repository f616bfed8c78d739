/* The consistent-hash ring (ring.h): a sorted array of (position, member) points. */
#include "pipeline/core/ring.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"

#include <stdlib.h>
#include <string.h>

#define RING_SEED 0x6c6f6164ull /* fixed: positions must agree across processes and runs */

typedef struct point {
    uint64_t pos;
    uint64_t name_hash; /* breaks ties between positions without depending on input order */
    uint32_t member;
} point;

struct pg_ring {
    point *points;
    size_t npoints, nmembers;
};

/* Orders points by position, then by their member's name hash. */
static int cmp_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    return x->name_hash < y->name_hash ? -1 : x->name_hash > y->name_hash;
}

/* See ring.h. Point v of a member sits at hash(hash(name), v). */
int pg_ring_new(const char *const *names, size_t n, unsigned vnodes, pg_ring **out)
{
    *out = NULL;
    if (vnodes < 1 || vnodes > 65536 || n > UINT32_MAX / vnodes) return PG_EINVAL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) return PG_EINVAL;
    pg_ring *r = calloc(1, sizeof *r);
    if (!r) return PG_ENOMEM;
    r->nmembers = n;
    r->npoints = n * vnodes;
    r->points = r->npoints ? malloc(r->npoints * sizeof *r->points) : NULL;
    if (r->npoints && !r->points) {
        free(r);
        return PG_ENOMEM;
    }
    for (size_t m = 0; m < n; m++) {
        uint64_t h = pg_hash_bytes(names[m], strlen(names[m]), RING_SEED);
        for (unsigned v = 0; v < vnodes; v++) {
            uint64_t k[2] = {h, v};
            r->points[m * vnodes + v] =
                (point){pg_hash_bytes(k, sizeof k, RING_SEED), h, (uint32_t)m};
        }
    }
    if (r->npoints) qsort(r->points, r->npoints, sizeof *r->points, cmp_point);
    *out = r;
    return 0;
}

void pg_ring_free(pg_ring *r)
{
    if (!r) return;
    free(r->points);
    free(r);
}

/* See ring.h: binary search for the first point at or after key_hash. */
size_t pg_ring_lookup(const pg_ring *r, uint64_t key_hash)
{
    if (!r || !r->npoints) return SIZE_MAX;
    size_t lo = 0, hi = r->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].pos < key_hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->points[lo == r->npoints ? 0 : lo].member;
}

uint64_t pg_ring_key_hash(const void *key, size_t len)
{
    return pg_hash_bytes(key, len, RING_SEED ^ 0x6b6579ull);
}

size_t pg_ring_members(const pg_ring *r)
{
    return r ? r->nmembers : 0;
}

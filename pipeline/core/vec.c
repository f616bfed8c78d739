#include "pipeline/core/vec.h"

#include <stdint.h>
#include <stdlib.h>

#include "pipeline/core/err.h"

/* Doubles from max(cap, min_cap, 1) until need fits; need itself when doubling would
 * overflow; 0 when need elements of elem bytes do not fit in size_t. */
size_t pg_vec_next_cap(size_t cap, size_t need, size_t elem, size_t min_cap)
{
    if (elem && need > SIZE_MAX / elem) return 0;
    size_t c = cap > min_cap ? cap : min_cap;
    if (!c) c = 1;
    while (c < need) {
        if (c > SIZE_MAX / 2 || (elem && c * 2 > SIZE_MAX / elem)) return need;
        c *= 2;
    }
    return c;
}

/* Reallocates *p with malloc; the caller owns it before and after. */
int pg_vec_grow(void **p, size_t *cap, size_t need, size_t elem, size_t min_cap)
{
    if (need <= *cap) return 0;
    size_t c = pg_vec_next_cap(*cap, need, elem, min_cap);
    if (!c) return PG_ENOMEM;
    void *np = realloc(*p, c * elem);
    if (!np) return PG_ENOMEM;
    *p = np;
    *cap = c;
    return 0;
}

/* Reallocates *p in arena a; the arena owns it before and after. */
int pg_vec_grow_arena(pg_arena *a, void **p, size_t *cap, size_t need, size_t elem, size_t min_cap)
{
    if (need <= *cap) return 0;
    size_t c = pg_vec_next_cap(*cap, need, elem, min_cap);
    if (!c) return PG_ENOMEM;
    void *np = pg_arena_realloc(a, *p, *cap * elem, c * elem);
    if (!np) return pg_arena_status(a);
    *p = np;
    *cap = c;
    return 0;
}

/* Growable arrays: one overflow-safe way to make room for `need` elements in a malloc'd or
 * arena-owned array. The check that there is room already is inline (hot loops call it per
 * element); growing happens out of line. Capacity grows from max(*cap, min_cap) by doubling
 * until it holds `need` (or exactly `need` when doubling would overflow). */
#ifndef PG_VEC_H
#define PG_VEC_H

#include <stddef.h>

#include "pipeline/core/arena.h"

/* Grows the malloc-owned array *p (elem bytes per element, *cap elements) to hold at least
 * need elements; the caller keeps owning *p. Returns 0, or PG_ENOMEM (on overflow or when
 * realloc fails; *p and *cap are then unchanged). */
int pg_vec_grow(void **p, size_t *cap, size_t need, size_t elem, size_t min_cap);

/* Like pg_vec_grow for an array allocated from arena a (which keeps owning it). Returns 0,
 * or pg_arena_status(a) (PG_ELIMIT over the arena's cap, PG_ENOMEM) with *p and *cap
 * unchanged. */
int pg_vec_grow_arena(pg_arena *a, void **p, size_t *cap, size_t need, size_t elem, size_t min_cap);

/* Returns the capacity pg_vec_grow* would choose, or 0 when need * elem overflows. */
size_t pg_vec_next_cap(size_t cap, size_t need, size_t elem, size_t min_cap);

/* Makes room for need elements in *p; 0 when there already is room (inline fast path). */
static inline int pg_vec_reserve(void **p, size_t *cap, size_t need, size_t elem, size_t min_cap)
{
    return need <= *cap ? 0 : pg_vec_grow(p, cap, need, elem, min_cap);
}

/* Arena variant of pg_vec_reserve. */
static inline int pg_vec_reserve_arena(pg_arena *a, void **p, size_t *cap, size_t need, size_t elem,
                                       size_t min_cap)
{
    return need <= *cap ? 0 : pg_vec_grow_arena(a, p, cap, need, elem, min_cap);
}

/* Typed shorthands: `arr` is an lvalue pointer to the elements, `cap` a size_t lvalue. */
#define PG_VEC_RESERVE(arr, cap, need, min_cap)                                                    \
    pg_vec_reserve((void **)&(arr), &(cap), (need), sizeof *(arr), (min_cap))
#define PG_VEC_RESERVE_ARENA(a, arr, cap, need, min_cap)                                           \
    pg_vec_reserve_arena((a), (void **)&(arr), &(cap), (need), sizeof *(arr), (min_cap))

#endif

#include "pipeline/core/stacks.h"
#include "pipeline/core/pages.h"

#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Scans r for the widest value, stopping at 4. */
uint8_t pg_stack_width_needed(const pg_stack_ref *r, uint8_t from)
{
    uint8_t need = from;
    for (size_t j = 0; j < r->n && need < 4; j++) {
        uint8_t w = pg_stack_width_for(pg_stack_loc(r, j));
        if (w > need) need = w;
    }
    return need;
}

/* memcpy for the few dozen bytes a stack takes, without a library call. */
static inline void copy_small(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n > 64) {
        memcpy(dst, src, n);
        return;
    }
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        memcpy(&w, src + j, 8);
        memcpy(dst + j, &w, 8);
    }
    for (; j < n; j++)
        dst[j] = src[j];
}

/* Makes room for n stacks and n_loc more entries (the arena owns the arrays). */
int pg_stacks_reserve(pg_arena *a, pg_stacks *s, size_t n, size_t n_loc)
{
    size_t used = s->off ? s->off[s->n] : 0;
    int fresh = s->off == NULL;
    int rc = pg_vec_reserve_arena(a, (void **)&s->off, &s->cap, n + 1, sizeof *s->off, 64);
    if (rc) return rc;
    if (fresh) s->off[0] = 0;
    void *loc = s->loc;
    size_t cap = s->cap_loc;
    if (used + n_loc < used) return PG_ELIMIT;
    if ((rc = pg_vec_reserve_arena(a, &loc, &cap, used + n_loc, s->width, 64))) return rc;
    s->loc = loc;
    s->cap_loc = cap;
    return 0;
}

/* See stacks.h: pg_vec_reserve_arena with the room asked for as the least capacity, so
 * that it grows to exactly that instead of doubling. */
int pg_stacks_presize(pg_arena *a, pg_stacks *s, size_t n, size_t n_loc)
{
    if (!s->off || !s->width) return pg_stacks_reserve(a, s, n, n_loc);
    void *loc = s->loc;
    int rc = pg_vec_reserve_arena(a, (void **)&s->off, &s->cap, n + 1, sizeof *s->off, n + 1);
    if (!rc) rc = pg_vec_reserve_arena(a, &loc, &s->cap_loc, n_loc, s->width, n_loc);
    s->loc = loc;
    return rc;
}

/* Keeps the first stack (the zero one) and hands back the pages of the others' entries. */
void pg_stacks_release(pg_stacks *s)
{
    if (s->n <= 1) return;
    size_t keep = s->off[1], used = s->off[s->n];
    pg_pages_release((const uint8_t *)(s->off + 2), (s->n - 1) * sizeof *s->off);
    pg_pages_release(s->loc + keep * s->width, (used - keep) * s->width);
    s->n = 1;
}

/* Computes, from the last block back, the lowest stack each block and those after it use. */
int pg_stacks_releaser_init(pg_stacks_releaser *r, const pg_stacks *s, const int32_t *stack,
                            size_t n)
{
    *r = (pg_stacks_releaser){.s = s, .n = n};
    size_t nb = (n + PG_STACKS_RELEASE_BLOCK - 1) / PG_STACKS_RELEASE_BLOCK;
    if (!nb || s->n <= 1) return 0;
    if (!(r->min_from = malloc(nb * sizeof *r->min_from))) return PG_ENOMEM;
    int32_t low = INT32_MAX;
    for (size_t b = nb; b-- > 0;) {
        size_t end = b + 1 == nb ? n : (b + 1) * PG_STACKS_RELEASE_BLOCK;
        for (size_t i = b * PG_STACKS_RELEASE_BLOCK; i < end; i++)
            if (stack[i] > 0 && stack[i] < low) low = stack[i]; /* 0: the zero stack stays */
        r->min_from[b] = low;
    }
    r->done_off = (const uint8_t *)(s->off + 2);
    r->done_loc = s->loc + (size_t)s->off[1] * s->width;
    return 0;
}

/* Releases the entries of stacks 1 .. w-1, w being the lowest stack still to be read. */
void pg_stacks_releaser_advance(pg_stacks_releaser *r, size_t i)
{
    if (!r->min_from) return;
    const pg_stacks *s = r->s;
    size_t w = i >= r->n ? s->n : (size_t)r->min_from[i / PG_STACKS_RELEASE_BLOCK];
    if (w > s->n) w = s->n;
    if (w <= 1) return;
    const uint8_t *loc_end = s->loc + (size_t)s->off[w] * s->width; /* before off's pages go */
    pg_pages_release_consumed(&r->done_off, (const uint8_t *)(s->off + w), NULL, NULL,
                              PG_PAGES_RELEASE_STEP);
    pg_pages_release_consumed(&r->done_loc, loc_end, NULL, NULL, PG_PAGES_RELEASE_STEP);
}

void pg_stacks_releaser_free(pg_stacks_releaser *r)
{
    free(r->min_from);
    r->min_from = NULL;
}

/* Widens the pool in place, converting entries from the last one back. */
int pg_stacks_widen(pg_arena *a, pg_stacks *s, uint8_t width)
{
    if (width <= s->width) return 0;
    size_t used = s->off[s->n];
    size_t cap = s->cap_loc ? s->cap_loc : 1;
    uint8_t *np = pg_arena_realloc(a, s->loc, s->cap_loc * s->width, cap * width);
    if (!np) return pg_arena_status(a);
    pg_stack_ref old = {np, used, s->width};
    for (size_t j = used; j-- > 0;)
        pg_stack_put(np, j, width, pg_stack_loc(&old, j));
    s->loc = np;
    s->cap_loc = cap;
    s->width = width;
    return 0;
}

/* Appends a stack; the arena owns the copy. */
int64_t pg_stacks_append(pg_arena *a, pg_stacks *s, const void *loc, size_t n, uint8_t width)
{
    int rc0 = !s->off ? pg_stacks_reserve(a, s, 1, n) : 0;
    if (rc0) return rc0;
    size_t used = s->off[s->n];
    if (used + n > UINT32_MAX || s->n >= INT32_MAX) return PG_ELIMIT;
    pg_stack_ref in = {loc, n, width};
    int rc = width > s->width ? pg_stacks_widen(a, s, pg_stack_width_needed(&in, s->width)) : 0;
    if (rc || (rc = pg_stacks_reserve(a, s, s->n + 1, n))) return rc;
    uint8_t *dst = s->loc + used * s->width;
    if (width == s->width) {
        copy_small(dst, loc, n * width);
    } else {
        for (size_t j = 0; j < n; j++)
            pg_stack_put(dst, j, s->width, pg_stack_loc(&in, j));
    }
    s->off[s->n + 1] = (uint32_t)(used + n);
    return (int64_t)s->n++;
}

/* Copies each Stack's location indices into the pool. */
int pg_stacks_append_structs(pg_arena *a, pg_stacks *s, pg_otlp_stack *const *st, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += st[i]->n_location_indices;
    int rc = pg_stacks_reserve(a, s, s->n + n, total);
    for (size_t i = 0; !rc && i < n; i++) {
        int64_t k = pg_stacks_append(a, s, st[i]->location_indices, st[i]->n_location_indices, 4);
        if (k < 0) rc = (int)k;
    }
    return rc;
}

/* The embedded columns, given the zero stack when empty; the arena owns the arrays. */
pg_stacks *pg_dict_stack_columns(pg_arena *a, pg_otlp_dict *d)
{
    pg_stacks *s = &pg_dictionary_of(d)->stacks;
    if (s->n) return s;
    if (!s->width) s->width = 1;
    if (pg_stacks_reserve(a, s, 1, 0)) return NULL;
    s->off[0] = s->off[1] = 0; /* the zero stack */
    s->n = 1;
    return s;
}

/* Shallow copy of d with Stack structs in a (the caller's arena). */
pg_otlp_dict *pg_dict_with_stack_structs(pg_arena *a, const pg_otlp_dict *d)
{
    const pg_stacks *s = pg_dict_stacks(d);
    pg_otlp_dict *c = pg_arena_memdup(a, d, sizeof *d); /* the message only */
    pg_otlp_stack *structs = pg_arena_alloc(a, (s->n ? s->n : 1) * sizeof *structs);
    pg_otlp_stack **ptrs = pg_arena_alloc(a, (s->n ? s->n : 1) * sizeof *ptrs);
    if (!c || !structs || !ptrs) return NULL;
    for (size_t i = 0; i < s->n; i++) {
        static const pg_otlp_stack init =
            OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT;
        pg_stack_ref r;
        pg_dict_stack_at(d, i, &r);
        structs[i] = init;
        structs[i].n_location_indices = r.n;
        if (r.n) {
            int32_t *v = pg_arena_alloc(a, r.n * sizeof *v);
            if (!v) return NULL;
            for (size_t j = 0; j < r.n; j++)
                v[j] = pg_stack_loc(&r, j);
            structs[i].location_indices = v;
        }
        ptrs[i] = &structs[i];
    }
    c->stack_table = ptrs;
    c->n_stack_table = s->n;
    return c;
}

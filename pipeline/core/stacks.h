/* The dictionary's stack table, in one of two forms:
 *  - columns (pg_stacks): what pg_dict_stack interning, the pprof decoder and the OTLP
 *    reader write. One offset per stack and one pool of location indices stored 1, 2 or 4
 *    bytes wide (the narrowest width that holds every index in the pool), instead of a
 *    protobuf-c Stack struct, a pointer and an int32 array per stack. A pprof stack of 22
 *    frames over a few hundred locations costs 26 bytes instead of 144.
 *  - protobuf-c structs (stack_table): what protobuf-c's unpack and the JSON codec hold.
 * Read stacks only through pg_dict_stack_count / pg_dict_stack_at, which serve both forms.
 *
 * The columns hang off the dictionary's protobuf-c base (`base.unknown_fields` with
 * `base.n_unknown_fields == 0`, which protobuf-c never reads); a dictionary with columns
 * has n_stack_table == 0. Element 0 is always the empty stack. */
#ifndef PG_STACKS_H
#define PG_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp_types.h"

typedef struct pg_stacks {
    size_t n, cap;         /* stacks and capacity of off (in stacks) */
    uint32_t *off;         /* n + 1 entry offsets into loc */
    uint8_t *loc;          /* location indices, `width` bytes each (native order) */
    size_t cap_loc;        /* capacity of loc, in entries */
    uint8_t width;         /* 1, 2 or 4; width 4 holds any int32 (even invalid ones) */
} pg_stacks;

/* One stack, borrowed from the dictionary. */
typedef struct pg_stack_ref {
    const void *loc;
    size_t n;
    uint8_t width;
} pg_stack_ref;

/* Location j (< r->n) of a stack. */
static inline int32_t pg_stack_loc(const pg_stack_ref *r, size_t j)
{
    if (r->width == 1) return ((const uint8_t *)r->loc)[j];
    if (r->width == 2) return ((const uint16_t *)r->loc)[j];
    return ((const int32_t *)r->loc)[j];
}

/* Stores v at entry j of a pool `width` bytes wide (v must fit). */
static inline void pg_stack_put(uint8_t *pool, size_t j, uint8_t width, int32_t v)
{
    if (width == 1) pool[j] = (uint8_t)v;
    else if (width == 2) ((uint16_t *)(void *)pool)[j] = (uint16_t)v;
    else ((int32_t *)(void *)pool)[j] = v;
}

/* The narrowest width, at least `from`, that holds every location of r. */
uint8_t pg_stack_width_needed(const pg_stack_ref *r, uint8_t from);

/* The columns of d, or NULL when d holds protobuf-c Stack structs. */
static inline const pg_stacks *pg_dict_stacks(const pg_otlp_dict *d)
{
    return d->base.n_unknown_fields == 0 ? (const pg_stacks *)(const void *)d->base.unknown_fields
                                         : NULL;
}

/* Number of stacks of d in either form. */
static inline size_t pg_dict_stack_count(const pg_otlp_dict *d)
{
    const pg_stacks *s = pg_dict_stacks(d);
    return s ? s->n : d->n_stack_table;
}

/* Stack i (< pg_dict_stack_count(d)) of d in either form. */
static inline void pg_dict_stack_at(const pg_otlp_dict *d, size_t i, pg_stack_ref *r)
{
    const pg_stacks *s = pg_dict_stacks(d);
    if (s) {
        r->width = s->width;
        r->n = s->off[i + 1] - s->off[i];
        r->loc = s->loc + (size_t)s->off[i] * s->width;
        return;
    }
    r->width = 4;
    r->n = d->stack_table[i]->n_location_indices;
    r->loc = d->stack_table[i]->location_indices;
}

/* The narrowest width (1, 2 or 4) that holds v. */
static inline uint8_t pg_stack_width_for(int32_t v)
{
    return v >= 0 && v < 256 ? 1 : v >= 0 && v < 65536 ? 2 : 4;
}

/* Gives d empty columns holding only the zero stack (arena-owned). Any Stack structs d
 * held are converted first. Returns the columns, or NULL over the arena's cap. */
pg_stacks *pg_dict_stack_columns(pg_arena *a, pg_otlp_dict *d);

/* Sizes s for at least n stacks and n_loc more location entries (the arena owns the
 * memory). Returns 0, or PG_ELIMIT over the cap (PG_ENOMEM when malloc fails). */
int pg_stacks_reserve(pg_arena *a, pg_stacks *s, size_t n, size_t n_loc);

/* Rewrites the pool `width` bytes wide (wider only). Returns 0 or pg_arena_status(a). */
int pg_stacks_widen(pg_arena *a, pg_stacks *s, uint8_t width);

/* Appends a stack of n locations given `width` bytes wide; the pool widens when a value
 * does not fit. Returns the new stack's index, or a negative status: PG_ELIMIT over the
 * cap or past 2^32 entries, PG_ENOMEM. */
int64_t pg_stacks_append(pg_arena *a, pg_stacks *s, const void *loc, size_t n, uint8_t width);

/* A copy of d whose stacks are protobuf-c Stack structs (for code driven by protobuf-c
 * descriptors, such as the JSON codec). Shallow: everything but the stack table is
 * borrowed. Allocated in a; NULL over the arena's cap. Returns d itself when d already
 * holds structs. */
pg_otlp_dict *pg_dict_with_stack_structs(pg_arena *a, const pg_otlp_dict *d);

#endif

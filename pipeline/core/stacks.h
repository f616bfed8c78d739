/* The dictionary as a batch holds it: pg_dictionary, the protobuf-c ProfilesDictionary
 * message plus its stack table in columns (pg_stacks), a declared member. One offset per
 * stack and one pool of location indices stored 1, 2 or 4 bytes wide (the narrowest
 * width that holds every index in the pool), instead of a protobuf-c Stack struct, a
 * pointer and an int32 array per stack: a pprof stack of 22 frames over a few hundred
 * locations costs 26 bytes instead of 144.
 *
 * A batch's `data->dictionary` is always the `msg` of a pg_dictionary (pg_otlp_dict_new
 * allocates one; pg_otlp_data_adopt converts what protobuf-c or the JSON codec unpacked),
 * so `msg.stack_table` is always empty in a batch; pg_dictionary_of() goes from the
 * message to its owner. Element 0 is always the empty stack once the dictionary holds
 * its zero elements. pg_dict_with_stack_structs() gives a protobuf-c view for
 * descriptor-driven code. */
#ifndef PG_STACKS_H
#define PG_STACKS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp_types.h"

typedef struct pg_stacks {
    size_t n, cap;  /* stacks and capacity of off (in stacks) */
    uint32_t *off;  /* n + 1 entry offsets into loc */
    uint8_t *loc;   /* location indices, `width` bytes each (native order) */
    size_t cap_loc; /* capacity of loc, in entries */
    uint8_t width;  /* 1, 2 or 4; width 4 holds any int32 (even invalid ones) */
} pg_stacks;

#define PG_DICTIONARY_TAG 0x64696374u /* "dict": checked by pg_dictionary_of in debug builds */

/* A batch's dictionary. `msg` must stay the first member. */
typedef struct pg_dictionary {
    pg_otlp_dict msg; /* every table but the stacks */
    pg_stacks stacks; /* the stack table */
    uint32_t tag;     /* PG_DICTIONARY_TAG */
} pg_dictionary;

/* The pg_dictionary whose `msg` is d (a batch's dictionary or from pg_otlp_dict_new). */
static inline pg_dictionary *pg_dictionary_of(pg_otlp_dict *d)
{
    pg_dictionary *x = (pg_dictionary *)(void *)d;
    assert(x->tag == PG_DICTIONARY_TAG);
    return x;
}

static inline const pg_dictionary *pg_dictionary_cof(const pg_otlp_dict *d)
{
    const pg_dictionary *x = (const pg_dictionary *)(const void *)d;
    assert(x->tag == PG_DICTIONARY_TAG);
    return x;
}

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
    if (width == 1)
        pool[j] = (uint8_t)v;
    else if (width == 2)
        ((uint16_t *)(void *)pool)[j] = (uint16_t)v;
    else
        ((int32_t *)(void *)pool)[j] = v;
}

/* The narrowest width, at least `from`, that holds every location of r. */
uint8_t pg_stack_width_needed(const pg_stack_ref *r, uint8_t from);

/* The stack columns of d (never NULL). */
static inline const pg_stacks *pg_dict_stacks(const pg_otlp_dict *d)
{
    return &pg_dictionary_cof(d)->stacks;
}

/* Number of stacks of d. */
static inline size_t pg_dict_stack_count(const pg_otlp_dict *d)
{
    return pg_dictionary_cof(d)->stacks.n;
}

/* Stack i (< pg_dict_stack_count(d)) of columns s. */
static inline void pg_stacks_at(const pg_stacks *s, size_t i, pg_stack_ref *r)
{
    r->width = s->width;
    r->n = s->off[i + 1] - s->off[i];
    r->loc = s->loc + (size_t)s->off[i] * s->width;
}

/* Stack i (< pg_dict_stack_count(d)) of d. */
static inline void pg_dict_stack_at(const pg_otlp_dict *d, size_t i, pg_stack_ref *r)
{
    pg_stacks_at(&pg_dictionary_cof(d)->stacks, i, r);
}

/* The narrowest width (1, 2 or 4) that holds v. */
static inline uint8_t pg_stack_width_for(int32_t v)
{
    return v >= 0 && v < 256 ? 1 : v >= 0 && v < 65536 ? 2 : 4;
}

/* The writable stack columns of d, given the zero stack first when they hold none
 * (arena-owned). Returns them, or NULL over the arena's cap. */
pg_stacks *pg_dict_stack_columns(pg_arena *a, pg_otlp_dict *d);

/* Drops every stack but the first (the zero stack), handing the pages of their entries back
 * to the OS at once; for a batch whose stacks nobody reads again. */
void pg_stacks_release(pg_stacks *s);

/* Hands back the pages of the stack table's entries while samples are read in order, for
 * a batch whose stacks nobody reads again (then pg_stacks_release): the entries of a stack
 * go once no sample left uses it. The zero stack stays. */
typedef struct pg_stacks_releaser {
    const pg_stacks *s;
    int32_t *min_from; /* per block of PG_STACKS_RELEASE_BLOCK samples: the lowest stack
                        * index (but 0) of the samples from the block on (malloc-owned) */
    size_t n;          /* samples */
    const uint8_t *done_off, *done_loc;
} pg_stacks_releaser;

#define PG_STACKS_RELEASE_BLOCK 1024u

/* Reads the samples' stack column (n entries) once. Returns 0 or PG_ENOMEM. */
int pg_stacks_releaser_init(pg_stacks_releaser *r, const pg_stacks *s, const int32_t *stack,
                            size_t n);
/* Samples [0, i) are read: the entries of the stacks no sample from i on uses go (judged
 * per block, so some go at a later call). */
void pg_stacks_releaser_advance(pg_stacks_releaser *r, size_t i);
void pg_stacks_releaser_free(pg_stacks_releaser *r);

/* Sizes s for at least n stacks and n_loc more location entries (the arena owns the
 * memory). Returns 0, or PG_ELIMIT over the cap (PG_ENOMEM when malloc fails). */
int pg_stacks_reserve(pg_arena *a, pg_stacks *s, size_t n, size_t n_loc);
/* Grows s's room to n stacks and n_loc entries in all, exactly (no doubling past them), for
 * a caller that knows about how much is coming; 0 or a negative status. */
int pg_stacks_presize(pg_arena *a, pg_stacks *s, size_t n, size_t n_loc);

/* Rewrites the pool `width` bytes wide (wider only). Returns 0 or pg_arena_status(a). */
int pg_stacks_widen(pg_arena *a, pg_stacks *s, uint8_t width);

/* Appends a stack of n locations given `width` bytes wide; the pool widens when a value
 * does not fit. Returns the new stack's index, or a negative status: PG_ELIMIT over the
 * cap or past 2^32 entries, PG_ENOMEM. */
int64_t pg_stacks_append(pg_arena *a, pg_stacks *s, const void *loc, size_t n, uint8_t width);

/* Appends n protobuf-c Stack structs to s (the arena owns the copy). Returns 0 or -1
 * over the cap. */
int pg_stacks_append_structs(pg_arena *a, pg_stacks *s, pg_otlp_stack *const *st, size_t n);

/* A plain protobuf-c copy of d whose stacks are Stack structs (for code driven by
 * protobuf-c descriptors, such as the JSON encoder); not a batch dictionary. Shallow:
 * everything but the stack table is borrowed. Allocated in a; NULL over the arena's
 * cap. */
pg_otlp_dict *pg_dict_with_stack_structs(pg_arena *a, const pg_otlp_dict *d);

#endif

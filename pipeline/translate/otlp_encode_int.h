/* Shared by the OTLP encoder's parts (private to pipeline/translate): otlp_encode.c writes
 * the tree and its samples, otlp_encode_dict.c the dictionary. Field sizes, raw writers for
 * room already made, and tables written in windows that two threads share. */
#ifndef PG_OTLP_ENCODE_INT_H
#define PG_OTLP_ENCODE_INT_H

#include "pipeline/core/buf.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/otlp_types.h"
#include "pipeline/core/wire.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define VSZ pg_wire_varint_size

/* Size of a field holding a varint (0 when proto3 omits the zero value). */
static inline size_t sz_uint(uint64_t v)
{
    return v ? 1 + VSZ(v) : 0;
}

/* Size of a length-delimited field of n payload bytes (tag < 16 takes one byte). */
static inline size_t sz_len(size_t n)
{
    return 1 + VSZ(n) + n;
}

/* Bytes of the packed body of int32s v[0..n) (sign-extended varints). */
static inline size_t body_packed_i32(const int32_t *v, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += VSZ((uint64_t)(int64_t)v[i]);
    return s;
}

/* Size of a packed int32 field (0 when empty). */
static inline size_t sz_packed_i32(const int32_t *v, size_t n)
{
    return n ? sz_len(body_packed_i32(v, n)) : 0;
}

/* Appends an int32 varint field (skipped when 0). */
static inline void put_i32(pg_buf *b, uint32_t f, int32_t v)
{
    pg_wire_put_uint(b, f, (uint64_t)(int64_t)v);
}

/* Appends a packed int32 field (skipped when empty). */
static inline void put_packed_i32(pg_buf *b, uint32_t f, const int32_t *v, size_t n)
{
    if (!n) return;
    pg_wire_put_tag(b, f, PG_WT_LEN);
    pg_wire_put_varint(b, body_packed_i32(v, n));
    for (size_t i = 0; i < n; i++)
        pg_wire_put_varint(b, (uint64_t)(int64_t)v[i]);
}

/* Raw writers: into room the caller made, return the end. `tag` is a one-byte field tag. */
static inline uint8_t *raw_uint_field(uint8_t *q, uint8_t tag, uint64_t v)
{
    if (!v) return q;
    *q++ = tag;
    return pg_wire_raw_varint(q, v);
}

static inline uint8_t *raw_i32_field(uint8_t *q, uint8_t tag, int32_t v)
{
    return raw_uint_field(q, tag, (uint64_t)(int64_t)v);
}

static inline uint8_t *raw_packed_i32(uint8_t *q, uint8_t tag, const int32_t *v, size_t n)
{
    if (!n) return q;
    *q++ = tag;
    q = pg_wire_raw_varint(q, body_packed_i32(v, n));
    for (size_t i = 0; i < n; i++)
        q = pg_wire_raw_varint(q, (uint64_t)(int64_t)v[i]);
    return q;
}

/* Writes items [lo, hi) of a table at q (room made by the caller); returns the end. */
typedef uint8_t *(*pg_otlp_range_fn)(const void *ctx, uint8_t *q, size_t lo, size_t hi);

/* The first part of a window, written by the helper thread. */
typedef struct pg_otlp_half {
    pg_otlp_range_fn fn;
    const void *ctx;
    uint8_t *q, *end;
    size_t lo, hi;
} pg_otlp_half;

/* pg_duo_fn: writes the half's items (arg is a pg_otlp_half). */
void pg_otlp_half_run(void *arg);

/* Waits for the helper's half j and checks that it ended at `at`, where the calling
 * thread's part began; returns 1, or 0 with b->failed set when the parts do not meet. */
int pg_otlp_half_join(pg_buf *b, pg_duo *duo, const pg_otlp_half *j, const uint8_t *at);

/* Items per window for items of about per_item bytes: a window of at most about 64 KiB, the
 * file sink's (so a flushing buffer does not grow for it), and at least 64 items. */
size_t pg_otlp_window_items(size_t per_item);

/* A table of entries whose sizes are known before they are written. */
typedef struct pg_otlp_table {
    size_t n;   /* entries */
    size_t per; /* about bytes per entry, to size the windows */
    /* bytes of entry i, its tag and length included */
    size_t (*entry_size)(const void *ctx, size_t i);
    pg_otlp_range_fn write;
    const void *ctx;
} pg_otlp_table;

/* Appends table t to b in windows, one room check each; with duo, the helper writes the
 * first half of each window while this thread writes the second. A failure is latched in
 * b->failed. */
void pg_otlp_put_table(pg_buf *b, const pg_otlp_table *t, pg_duo *duo);

/* How the dictionary gets written, sized ahead (otlp_encode_dict.c): the tables before the
 * stack table by one thread, the stack table in slices that both threads claim. */
typedef struct pg_otlp_dict_plan {
    const pg_otlp_dict *d; /* borrowed; NULL when the tree has none */
    uint32_t *loc_body;    /* each location's body bytes (malloc-owned) */
    uint32_t *attr_body;   /* each attribute value's body bytes (malloc-owned) */
    uint32_t *stack_body;  /* each stack's packed body bytes (malloc-owned) */
    size_t tables;         /* bytes of the tables before the stack table */
    _Atomic size_t stacks; /* bytes of the stack table, summed as slices are done */
    _Atomic size_t next;   /* the first stack of the next slice to claim */
} pg_otlp_dict_plan;

/* Readies p for d (may be NULL); returns 0 or PG_ENOMEM (then free p all the same). */
int pg_otlp_dict_plan_init(pg_otlp_dict_plan *p, const pg_otlp_dict *d);

/* Plans the tables before the stack table (one thread). */
void pg_otlp_dict_plan_tables(pg_otlp_dict_plan *p);

/* pg_duo_fn (or a plain call): sizes slices of the stack table until none is left; both
 * threads may run it at once. */
void pg_otlp_dict_plan_stacks(void *arg);

/* Appends the dictionary's fields (the message body, without its tag and length) as planned,
 * p->tables + p->stacks bytes; with duo, the large tables are written by two threads. */
void pg_otlp_put_dict(pg_buf *b, const pg_otlp_dict_plan *p, pg_duo *duo);

/* Frees what the plan holds (not its dictionary). */
void pg_otlp_dict_plan_free(pg_otlp_dict_plan *p);

/* Bytes of d's body, without a plan (pg_otlp_encoded_size). */
size_t pg_otlp_dict_size(const pg_otlp_dict *d);

#endif

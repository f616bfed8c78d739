/* Samples of a profile, in one of two forms:
 *  - columns (pg_samples): what the pprof decoder and merge write. A pprof sample costs
 *    its stack index, attribute offset and one value per profile instead of a protobuf-c
 *    Sample struct per profile (88 bytes + pointer + value array). Columns are immutable
 *    and may be shared between the profiles of one pprof (stack, link, attributes).
 *  - protobuf-c structs (Profile.samples): what protobuf-c's unpack and hand-built trees
 *    hold.
 * Read samples only through pg_samples_view / pg_sample_at, which serve both forms.
 *
 * The columns hang off the profile's protobuf-c base (`base.unknown_fields` with
 * `base.n_unknown_fields == 0`, which protobuf-c never reads), so they travel with the
 * Profile struct wherever a tree borrows it. A profile with columns has n_samples == 0. */
#ifndef PG_SAMPLES_H
#define PG_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp_types.h"

typedef struct pg_samples {
    size_t n;
    const int32_t *stack;     /* n */
    const int32_t *link;      /* n, or NULL when no sample has a link */
    const uint32_t *attr_off; /* n + 1, or NULL when no sample has attributes */
    const int32_t *attrs;     /* attr_off[n] indices */
    const uint32_t *val_off;  /* n + 1, or NULL when every sample has exactly one value */
    const int64_t *values;    /* val_off[n]; without val_off, n (or NULL when narrow) */
    const void *narrow;       /* without val_off: n values `width` bytes wide, or NULL */
    uint8_t width;            /* 1, 2 or 4 when narrow is set */
    const uint32_t *ts_off;   /* n + 1, or NULL when no sample has timestamps */
    const uint64_t *ts;       /* ts_off[n] */
} pg_samples;

/* One sample, borrowed from its profile. */
typedef struct pg_sample_ref {
    int32_t stack, link;
    const int32_t *attrs;
    size_t n_attrs;
    const int64_t *values;
    size_t n_values;
    const uint64_t *ts;
    size_t n_ts;
    int64_t value1; /* storage `values` points at for narrow columns: a copy of a ref must
                       not outlive the ref it was copied from when it reads values */
} pg_sample_ref;

/* Value i of a column stored `width` (1, 2 or 4) bytes wide, sign-extended. */
static inline int64_t pg_narrow_get(const void *p, uint8_t width, size_t i)
{
    if (width == 1) return ((const int8_t *)p)[i];
    if (width == 2) return ((const int16_t *)p)[i];
    return ((const int32_t *)p)[i];
}

/* The narrowest width (1, 2, 4 or 8) that holds v. */
static inline uint8_t pg_narrow_width_for(int64_t v)
{
    return v >= INT8_MIN && v <= INT8_MAX ? 1 : v >= INT16_MIN && v <= INT16_MAX ? 2
         : v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
}

/* Attaches columns (arena-owned, immutable from now on) to p; p->samples is cleared. */
void pg_profile_set_samples(pg_otlp_profile *p, const pg_samples *cols);

/* The columns of p, or NULL when p holds protobuf-c Sample structs. */
static inline const pg_samples *pg_profile_columns(const pg_otlp_profile *p)
{
    return p->base.n_unknown_fields == 0 ? (const pg_samples *)(const void *)p->base.unknown_fields
                                         : NULL;
}

/* Number of samples of p in either form. */
static inline size_t pg_profile_sample_count(const pg_otlp_profile *p)
{
    const pg_samples *c = pg_profile_columns(p);
    return c ? c->n : p->n_samples;
}

/* Sample i of p (i < pg_profile_sample_count(p)) in either form. */
static inline void pg_sample_at(const pg_otlp_profile *p, size_t i, pg_sample_ref *r)
{
    const pg_samples *c = pg_profile_columns(p);
    if (!c) {
        const pg_otlp_sample *s = p->samples[i];
        r->stack = s->stack_index;
        r->link = s->link_index;
        r->attrs = s->attribute_indices;
        r->n_attrs = s->n_attribute_indices;
        r->values = s->values;
        r->n_values = s->n_values;
        r->ts = s->timestamps_unix_nano;
        r->n_ts = s->n_timestamps_unix_nano;
        return;
    }
    r->stack = c->stack[i];
    r->link = c->link ? c->link[i] : 0;
    /* (empty columns are NULL: no pointer arithmetic on them) */
    if (c->attr_off && c->attrs) {
        r->attrs = c->attrs + c->attr_off[i];
        r->n_attrs = c->attr_off[i + 1] - c->attr_off[i];
    } else {
        r->attrs = NULL;
        r->n_attrs = 0;
    }
    if (c->narrow) {
        r->value1 = pg_narrow_get(c->narrow, c->width, i);
        r->values = &r->value1;
        r->n_values = 1;
    } else if (!c->values) {
        r->values = NULL;
        r->n_values = 0;
    } else if (c->val_off) {
        r->values = c->values + c->val_off[i];
        r->n_values = c->val_off[i + 1] - c->val_off[i];
    } else {
        r->values = c->values + i;
        r->n_values = 1;
    }
    if (c->ts_off && c->ts) {
        r->ts = c->ts + c->ts_off[i];
        r->n_ts = c->ts_off[i + 1] - c->ts_off[i];
    } else {
        r->ts = NULL;
        r->n_ts = 0;
    }
}

/* A value column of n entries being written in any order, kept as narrow as its values
 * allow: it starts 1 byte wide and widens (1, 2, 4, 8) when a value does not fit. The
 * arena owns the storage. */
typedef struct pg_value_col {
    void *p;
    size_t n;
    uint8_t width;
} pg_value_col;

/* Allocates a column of n entries, 1 byte wide. Returns 0 or pg_arena_status(a). */
int pg_value_col_init(pg_arena *a, pg_value_col *c, size_t n);
/* Rewrites the column `width` bytes wide (wider only). Returns 0 or pg_arena_status(a). */
int pg_value_col_widen(pg_arena *a, pg_value_col *c, uint8_t width);

/* Sets entry i to v, widening first when v does not fit. Returns 0 or pg_arena_status(a). */
static inline int pg_value_col_set(pg_arena *a, pg_value_col *c, size_t i, int64_t v)
{
    uint8_t w = pg_narrow_width_for(v);
    if (w > c->width) {
        int rc = pg_value_col_widen(a, c, w);
        if (rc) return rc;
    }
    switch (c->width) {
    case 1: ((int8_t *)c->p)[i] = (int8_t)v; break;
    case 2: ((int16_t *)c->p)[i] = (int16_t)v; break;
    case 4: ((int32_t *)c->p)[i] = (int32_t)v; break;
    default: ((int64_t *)c->p)[i] = v; break;
    }
    return 0;
}

/* Puts the finished column into cols (values when 8 bytes wide, else narrow). */
void pg_value_col_attach(const pg_value_col *c, pg_samples *cols);

/* Builds columns sample by sample into arena a (used by merge and by decoders that do not
 * know their shape ahead). The builder is malloc-backed; finish copies into the arena. */
typedef struct pg_samples_builder {
    size_t n, cap;
    int32_t *stack, *link;
    uint32_t *attr_off, *val_off, *ts_off;
    int32_t *attrs;
    int64_t *values;
    uint64_t *ts;
    size_t n_attrs, cap_attrs, n_values, cap_values, n_ts, cap_ts;
    int any_link, any_attrs, any_ts, not_single;
} pg_samples_builder;

/* Appends one sample (values/attrs/ts copied). Returns 0 or PG_ENOMEM. */
int pg_samples_builder_add(pg_samples_builder *sb, const pg_sample_ref *r);
/* Copies the columns into the arena and attaches them to p; frees the builder's memory.
 * Identity columns (stack, link, attributes) equal to those of `like` (may be NULL) are
 * shared with it instead of copied. */
int pg_samples_builder_finish(pg_samples_builder *sb, pg_arena *a, pg_otlp_profile *p,
                              const pg_samples *like);
void pg_samples_builder_free(pg_samples_builder *sb);

/* A copy of the batch tree whose profiles hold protobuf-c Sample structs (for code driven
 * by protobuf-c descriptors, such as the JSON codec). Shallow: everything but the profile
 * structs and their samples is borrowed from d. Allocated in a (the caller's scratch
 * arena). NULL when over the arena's cap. */
pg_otlp_data *pg_otlp_data_with_sample_structs(pg_arena *a, const pg_otlp_data *d);

#endif

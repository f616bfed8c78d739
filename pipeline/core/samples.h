/* The profile as a batch holds it: pg_profile, the protobuf-c Profile message plus its
 * samples in columns (pg_samples), a declared member rather than anything hidden in the
 * message. A pprof sample costs its stack index, attribute offset and one value per
 * profile instead of a protobuf-c Sample struct per profile (88 bytes + pointer + value
 * array).
 *
 * Every Profile of a batch tree is a pg_profile: the tree holds `pg_otlp_profile *`
 * pointers to its first member `msg`, and pg_profile_of() goes back to the owner.
 * pg_otlp_profile_new() allocates one; trees unpacked by protobuf-c or the JSON codec are
 * brought into this form by pg_otlp_data_adopt() (pipeline/core/adopt.h) right after the
 * decode, so `msg.samples` / `msg.n_samples` are always empty in a batch and readers see
 * one form only. pg_otlp_data_with_sample_structs() gives a separate protobuf-c view for
 * descriptor-driven code (the JSON encoder).
 *
 * Sharing: the identity columns (stack, link, attributes) of the profiles decoded from
 * one pprof are shared between them. A column is written in place only when its bit is
 * set in `owned`; the edit API (pipeline/core/edit.h) copies a column the first time it
 * changes it and sets the bit, so editing one profile never changes another. Code that
 * attaches columns without the edit API leaves `owned` 0 (read-only). */
#ifndef PG_SAMPLES_H
#define PG_SAMPLES_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp_types.h"

/* Bits of pg_samples.owned: columns this profile alone holds (writable in place). */
enum {
    PG_COL_STACK = 1,
    PG_COL_LINK = 2,
    PG_COL_ATTRS = 4,  /* attr_off and attrs */
    PG_COL_VALUES = 8, /* val_off, values and narrow */
    PG_COL_TS = 16     /* ts_off and ts */
};

typedef struct pg_samples {
    size_t n;
    const int32_t *stack;     /* n (NULL only when n == 0) */
    const int32_t *link;      /* n, or NULL when no sample has a link */
    const uint32_t *attr_off; /* n + 1, or NULL when no sample has attributes */
    const int32_t *attrs;     /* attr_off[n] indices */
    const uint32_t *val_off;  /* n + 1, or NULL when every sample has exactly one value */
    const int64_t *values;    /* val_off[n]; without val_off, n (or NULL when narrow) */
    const void *narrow;       /* without val_off: n values `width` bytes wide, or NULL */
    uint8_t width;            /* 1, 2 or 4 when narrow is set */
    uint8_t owned;            /* PG_COL_* bits (see above) */
    const uint32_t *ts_off;   /* n + 1, or NULL when no sample has timestamps */
    const uint64_t *ts;       /* ts_off[n] */
} pg_samples;

#define PG_PROFILE_TAG 0x70726f66u /* "prof": checked by pg_profile_of in debug builds */

/* A batch's profile: the message (scalar and metadata fields, attribute indices, sample
 * and period types) and its samples. `msg` must stay the first member. */
typedef struct pg_profile {
    pg_otlp_profile msg;
    pg_samples samples;
    uint32_t tag; /* PG_PROFILE_TAG */
} pg_profile;

/* The pg_profile whose `msg` is m (m must come from a batch tree or pg_otlp_profile_new). */
static inline pg_profile *pg_profile_of(pg_otlp_profile *m)
{
    pg_profile *p = (pg_profile *)(void *)m;
    assert(p->tag == PG_PROFILE_TAG);
    return p;
}

static inline const pg_profile *pg_profile_cof(const pg_otlp_profile *m)
{
    const pg_profile *p = (const pg_profile *)(const void *)m;
    assert(p->tag == PG_PROFILE_TAG);
    return p;
}

/* Returns a new profile with no samples, owned by a (NULL over the arena's cap). */
pg_profile *pg_profile_new(pg_arena *a);

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
    return v >= INT8_MIN && v <= INT8_MAX     ? 1
           : v >= INT16_MIN && v <= INT16_MAX ? 2
           : v >= INT32_MIN && v <= INT32_MAX ? 4
                                              : 8;
}

/* Attaches columns (arena-owned) to p: *cols is copied into p->samples, `owned` included
 * (0 = every column read-only, the safe choice for shared columns). */
void pg_profile_set_samples(pg_otlp_profile *p, const pg_samples *cols);

/* The columns of p (never NULL). */
static inline const pg_samples *pg_profile_columns(const pg_otlp_profile *p)
{
    return &pg_profile_cof(p)->samples;
}

/* Number of samples of p. */
static inline size_t pg_profile_sample_count(const pg_otlp_profile *p)
{
    return pg_profile_cof(p)->samples.n;
}

/* Sample i (< c->n) of columns c. */
static inline void pg_samples_at(const pg_samples *c, size_t i, pg_sample_ref *r)
{
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

/* Sample i (< pg_profile_sample_count(p)) of p. */
static inline void pg_sample_at(const pg_otlp_profile *p, size_t i, pg_sample_ref *r)
{
    pg_samples_at(&pg_profile_cof(p)->samples, i, r);
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
    case 1:
        ((int8_t *)c->p)[i] = (int8_t)v;
        break;
    case 2:
        ((int16_t *)c->p)[i] = (int16_t)v;
        break;
    case 4:
        ((int32_t *)c->p)[i] = (int32_t)v;
        break;
    default:
        ((int64_t *)c->p)[i] = v;
        break;
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

/* Empties c, handing the pages of its columns back to the OS at once (arena memory is
 * otherwise freed only with the arena); for a batch whose samples nobody reads again. A
 * shared column goes for every profile holding it: empty those as well. */
void pg_samples_release(pg_samples *c);

/* Hands back the pages of a profile's sample columns while a reader goes through them in
 * order, for a batch whose samples nobody reads again (then pg_samples_release). A NULL
 * done[k]: the column is absent, or another releaser's. */
typedef struct pg_samples_releaser {
    const pg_samples *c;
    const uint8_t *done[9]; /* per column: released up to here */
} pg_samples_releaser;

/* Columns c shares with `prev` (the previous profile's, or NULL) are left to prev's
 * releaser: one release per column, however many profiles share it. */
void pg_samples_releaser_init(pg_samples_releaser *r, const pg_samples *c, const pg_samples *prev);
/* Samples [0, i) are read and will not be again: the whole pages holding only their
 * entries go (in steps of at least PG_PAGES_RELEASE_STEP per column). Sample i stays readable. */
void pg_samples_releaser_advance(pg_samples_releaser *r, size_t i);

/* Appends one sample (values/attrs/ts copied). Returns 0 or PG_ENOMEM. */
int pg_samples_builder_add(pg_samples_builder *sb, const pg_sample_ref *r);
/* Copies the columns into the arena and attaches them to p (a batch profile, see
 * pg_profile_of), read-only; frees the builder's memory. Identity columns (stack, link,
 * attributes) equal to those of `like` (may be NULL) are shared with it instead of
 * copied. Returns 0 or -1 over the arena's cap. */
int pg_samples_builder_finish(pg_samples_builder *sb, pg_arena *a, pg_otlp_profile *p,
                              const pg_samples *like);
void pg_samples_builder_free(pg_samples_builder *sb);

/* A view of the batch tree whose profiles are plain protobuf-c messages holding Sample
 * structs, and whose dictionary holds Stack structs (for code driven by protobuf-c
 * descriptors, such as the JSON encoder). Not a batch tree: pg_profile_of must not be
 * used on it. Shallow: everything but the profile messages, their samples and the stack
 * table is borrowed from d. Allocated in a (the caller's scratch arena). NULL when over
 * the arena's cap. */
pg_otlp_data *pg_otlp_data_with_sample_structs(pg_arena *a, const pg_otlp_data *d);

/* The same for one profile: a plain protobuf-c copy of p's message whose samples are
 * Sample structs (borrowing p's attribute, value and timestamp arrays), in a. NULL over
 * the arena's cap. */
pg_otlp_profile *pg_profile_with_sample_structs(pg_arena *a, const pg_otlp_profile *p);

#endif

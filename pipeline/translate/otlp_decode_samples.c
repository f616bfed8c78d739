/* Sample columns written in place, in the arena, while the OTLP reader goes through one
 * Profile whose sample count it has counted first. Compared with the general builder
 * (pipeline/core/samples.h), nothing is staged in malloc'd int64 rows: one value per
 * sample goes straight into a narrow column, and identity columns (stack, link,
 * attributes) equal to those of the previous profile are never written at all, only
 * compared (the profiles of one pprof share them). Odd shapes (several values, timestamps)
 * switch to offset columns when first seen. */
#include "pipeline/translate/otlp_decode_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/vec.h"

#include <stddef.h>
#include <string.h>

/* Prepares columns for n samples; `like` (may be NULL) is the previous profile's. */
int pg_otlp_cols_init(pg_otlp_cols *c, pg_arena *a, size_t n, const pg_samples *like)
{
    memset(c, 0, sizeof *c);
    c->a = a;
    c->n = n;
    c->like = like && like->n == n ? like : NULL;
    if (!n) return 0;
    if (!c->like && !(c->stack = pg_arena_alloc(a, n * sizeof *c->stack)))
        return pg_arena_status(a);
    return pg_value_col_init(a, &c->vals, n);
}

/* Gives up sharing an int32 identity column: copies the first i entries of `from` (zeros
 * when NULL) into an own column of n. */
static int32_t *own_ids(pg_otlp_cols *c, const int32_t *from)
{
    int32_t *own = pg_arena_alloc(c->a, c->n * sizeof *own);
    if (!own) return NULL;
    if (c->i) {
        if (from)
            memcpy(own, from, c->i * sizeof *own);
        else
            memset(own, 0, c->i * sizeof *own);
    }
    return own;
}

/* Attributes of sample i: compared with like's while they match, else kept. */
static int add_attrs(pg_otlp_cols *c, const pg_sample_ref *s)
{
    size_t i = c->i;
    if (!c->attr_off) {
        const pg_samples *l = c->like;
        const uint32_t *lo = l && l->attrs ? l->attr_off : NULL;
        size_t ln = lo ? lo[i + 1] - lo[i] : 0;
        if (ln == s->n_attrs && (!ln || !memcmp(l->attrs + lo[i], s->attrs, ln * 4))) return 0;
        /* diverges: own columns with the prefix so far */
        size_t pre = lo ? lo[i] : 0;
        if (!(c->attr_off = pg_arena_alloc(c->a, (c->n + 1) * sizeof *c->attr_off)))
            return pg_arena_status(c->a);
        if (PG_VEC_RESERVE_ARENA(c->a, c->attrs, c->cap_attrs, pre + s->n_attrs, 16))
            return pg_arena_status(c->a);
        for (size_t k = 0; k <= i; k++)
            c->attr_off[k] = lo ? lo[k] : 0;
        if (pre) memcpy(c->attrs, l->attrs, pre * 4);
        c->n_attrs = pre;
    }
    c->attr_off[i] = (uint32_t)c->n_attrs;
    if (!s->n_attrs) return 0;
    if (PG_VEC_RESERVE_ARENA(c->a, c->attrs, c->cap_attrs, c->n_attrs + s->n_attrs, 16))
        return pg_arena_status(c->a);
    memcpy(c->attrs + c->n_attrs, s->attrs, s->n_attrs * 4);
    c->n_attrs += s->n_attrs;
    return 0;
}

/* Values of sample i: narrow while every sample has exactly one, offsets after. */
static int add_values(pg_otlp_cols *c, const pg_sample_ref *s)
{
    size_t i = c->i;
    if (!c->val_off && s->n_values == 1) return pg_value_col_set(c->a, &c->vals, i, s->values[0]);
    if (!c->val_off) {
        if (!(c->val_off = pg_arena_alloc(c->a, (c->n + 1) * sizeof *c->val_off)))
            return pg_arena_status(c->a);
        if (PG_VEC_RESERVE_ARENA(c->a, c->values, c->cap_values, i + s->n_values, 16))
            return pg_arena_status(c->a);
        for (size_t k = 0; k < i; k++) {
            c->val_off[k] = (uint32_t)k;
            c->values[k] = pg_narrow_get(c->vals.p, c->vals.width, k);
        }
        c->n_values = i;
    }
    c->val_off[i] = (uint32_t)c->n_values;
    if (!s->n_values) return 0;
    if (PG_VEC_RESERVE_ARENA(c->a, c->values, c->cap_values, c->n_values + s->n_values, 16))
        return pg_arena_status(c->a);
    memcpy(c->values + c->n_values, s->values, s->n_values * 8);
    c->n_values += s->n_values;
    return 0;
}

/* Timestamps of sample i (offsets start at the first sample that has some). */
static int add_ts(pg_otlp_cols *c, const pg_sample_ref *s)
{
    if (!c->ts_off) {
        if (!s->n_ts) return 0;
        if (!(c->ts_off = pg_arena_calloc(c->a, c->n + 1, sizeof *c->ts_off)))
            return pg_arena_status(c->a);
    }
    c->ts_off[c->i] = (uint32_t)c->n_ts;
    if (!s->n_ts) return 0;
    if (PG_VEC_RESERVE_ARENA(c->a, c->ts, c->cap_ts, c->n_ts + s->n_ts, 16))
        return pg_arena_status(c->a);
    memcpy(c->ts + c->n_ts, s->ts, s->n_ts * 8);
    c->n_ts += s->n_ts;
    return 0;
}

/* Writes the next sample (its arrays are copied). */
int pg_otlp_cols_add(pg_otlp_cols *c, const pg_sample_ref *s)
{
    size_t i = c->i;
    if (i >= c->n) return PG_EINTERNAL; /* more samples than counted */
    const pg_samples *l = c->like;
    if (c->stack)
        c->stack[i] = s->stack;
    else if (l->stack[i] != s->stack) {
        if (!(c->stack = own_ids(c, l->stack))) return pg_arena_status(c->a);
        c->stack[i] = s->stack;
    }
    if (c->link)
        c->link[i] = s->link;
    else if ((l && l->link ? l->link[i] : 0) != s->link) {
        if (!(c->link = own_ids(c, l ? l->link : NULL))) return pg_arena_status(c->a);
        c->link[i] = s->link;
    }
    if (add_attrs(c, s) || add_values(c, s) || add_ts(c, s)) return pg_arena_status(c->a);
    c->i++;
    return 0;
}

/* Hands the columns to p: own ones, or like's where every sample matched. */
int pg_otlp_cols_finish(pg_otlp_cols *c, pg_otlp_profile *p)
{
    if (c->i != c->n) return PG_EINTERNAL; /* fewer samples than counted */
    pg_samples cs = {0}, *cols = &cs;
    const pg_samples *l = c->like;
    size_t n = c->n;
    cols->n = n;
    cols->stack = c->stack ? c->stack : l ? l->stack : NULL;
    cols->link = c->link ? c->link : l ? l->link : NULL;
    if (c->attr_off) {
        c->attr_off[n] = (uint32_t)c->n_attrs;
        if (c->n_attrs) {
            cols->attr_off = c->attr_off;
            cols->attrs = c->attrs;
        }
    } else if (l && l->attrs) {
        cols->attr_off = l->attr_off;
        cols->attrs = l->attrs;
    }
    if (c->val_off) {
        c->val_off[n] = (uint32_t)c->n_values;
        cols->val_off = c->val_off;
        cols->values = c->n_values ? c->values : NULL;
    } else if (n) {
        pg_value_col_attach(&c->vals, cols);
    }
    if (c->ts_off) {
        c->ts_off[n] = (uint32_t)c->n_ts;
        cols->ts_off = c->ts_off;
        cols->ts = c->ts;
    }
    pg_profile_set_samples(p, cols);
    return 0;
}

/* Points the column at offset `off` of every profile's samples that holds `old` at `with`,
 * then hands old's pages back (nothing reads it any more). */
static void repoint(pg_otlp_profile *const *ps, size_t n, size_t off, const void *old,
                    const void *with, size_t bytes)
{
    for (size_t k = 0; k < n; k++) {
        const void **col = (const void **)(void *)((char *)&pg_profile_of(ps[k])->samples + off);
        if (*col == old) *col = with;
    }
    pg_pages_release(old, bytes);
}

/* See otlp_decode_int.h. */
void pg_otlp_cols_share(const pg_samples *prev, pg_otlp_profile *const *ps, size_t n)
{
    const pg_samples *c = n ? pg_profile_columns(ps[0]) : NULL;
    size_t sn = c ? c->n : 0;
    if (!sn || sn != prev->n) return;
    const int32_t *stack = c->stack, *link = c->link, *attrs = c->attrs;
    const uint32_t *attr_off = c->attr_off;
    if (stack != prev->stack && !memcmp(stack, prev->stack, sn * sizeof *stack))
        repoint(ps, n, offsetof(pg_samples, stack), stack, prev->stack, sn * sizeof *stack);
    if (link && prev->link && link != prev->link && !memcmp(link, prev->link, sn * sizeof *link))
        repoint(ps, n, offsetof(pg_samples, link), link, prev->link, sn * sizeof *link);
    if (attr_off && prev->attr_off && attr_off != prev->attr_off &&
        !memcmp(attr_off, prev->attr_off, (sn + 1) * sizeof *attr_off) &&
        !memcmp(attrs, prev->attrs, attr_off[sn] * sizeof *attrs)) {
        repoint(ps, n, offsetof(pg_samples, attrs), attrs, prev->attrs,
                attr_off[sn] * sizeof *attrs);
        repoint(ps, n, offsetof(pg_samples, attr_off), attr_off, prev->attr_off,
                (sn + 1) * sizeof *attr_off);
    }
}

/* The sample edit API (see edit.h): setters over a profile's columns with copy-on-write
 * of shared columns. Offset columns (attributes, values, timestamps) are never written in
 * place at their offsets: a row whose length changes gets new offsets and a new pool. */
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

/* Positions it before b's first profile (b borrowed). */
void pg_profile_iter_init(pg_profile_iter *it, const pg_batch *b)
{
    memset(it, 0, sizeof *it);
    it->data = pg_batch_data(b);
}

/* Steps p, then s, then r, skipping empty scopes and resources. */
int pg_profile_iter_next(pg_profile_iter *it)
{
    const pg_otlp_data *d = it->data;
    if (it->started) it->p++;
    it->started = 1;
    for (; it->r < d->n_resource_profiles; it->r++, it->s = 0, it->p = 0) {
        pg_otlp_rprofiles *rp = d->resource_profiles[it->r];
        for (; it->s < rp->n_scope_profiles; it->s++, it->p = 0) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[it->s];
            if (it->p < sp->n_profiles) {
                it->resource = rp;
                it->scope = sp;
                it->profile = pg_profile_of(sp->profiles[it->p]);
                return 1;
            }
        }
    }
    it->profile = NULL;
    return 0;
}

/* A new profile whose columns (empty stacks, one zero value each) it owns. */
pg_profile *pg_profile_add(pg_batch *b, pg_otlp_sprofiles *sp, size_t n)
{
    pg_arena *a = pg_batch_arena(b);
    pg_profile *p = pg_profile_new(a);
    if (!p) return NULL;
    pg_samples *c = &p->samples;
    c->n = n;
    if (n) {
        c->stack = pg_arena_calloc(a, n, sizeof *c->stack);
        c->narrow = pg_arena_calloc(a, n, 1);
        c->width = 1;
        if (!c->stack || !c->narrow) return NULL;
    }
    c->owned = PG_COL_STACK | PG_COL_VALUES;
    if (pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, &p->msg)) return NULL;
    return p;
}

/* Reads value k of sample i from p (borrowed). */
int64_t pg_sample_value(const pg_profile *p, size_t i, size_t k)
{
    if (i >= p->samples.n) return 0;
    pg_sample_ref r;
    pg_samples_at(&p->samples, i, &r);
    return k < r.n_values ? r.values[k] : 0;
}

/* Common checks: a batch held alone and a sample in range. */
static int check(pg_batch *b, const pg_profile *p, size_t i)
{
    if (pg_batch_refs(b) != 1 || i >= p->samples.n) return PG_EINVAL;
    return 0;
}

/* Makes *col (count entries of el bytes; NULL reads as zeros) the profile's own: copies it
 * once and sets `bit`. Returns the writable column or NULL over the arena's cap. */
static void *own(pg_batch *b, pg_samples *c, uint8_t bit, const void **col, size_t count, size_t el)
{
    if ((c->owned & bit) && *col) return (void *)*col;
    pg_arena *a = pg_batch_arena(b);
    void *copy = *col ? pg_arena_memdup(a, *col, (count ? count : 1) * el)
                      : pg_arena_calloc(a, count ? count : 1, el);
    if (!copy) return NULL;
    *col = copy;
    c->owned |= bit;
    return copy;
}

/* p's stack column, made its own in b's arena; the caller writes through it. */
int32_t *pg_profile_stack_col(pg_batch *b, pg_profile *p)
{
    pg_samples *c = &p->samples;
    return own(b, c, PG_COL_STACK, (const void **)&c->stack, c->n, sizeof *c->stack);
}

/* p's link column, made its own (zeros when absent) in b's arena. */
int32_t *pg_profile_link_col(pg_batch *b, pg_profile *p)
{
    pg_samples *c = &p->samples;
    if (!c->n) return NULL;
    return own(b, c, PG_COL_LINK, (const void **)&c->link, c->n, sizeof *c->link);
}

/* Checks the stack index against b's dictionary, then writes it (column copied once). */
int pg_sample_set_stack(pg_batch *b, pg_profile *p, size_t i, int32_t stack)
{
    if (check(b, p, i) || stack < 0 || (size_t)stack >= pg_dict_stack_count(pg_batch_dict(b)))
        return PG_EINVAL;
    int32_t *col = pg_profile_stack_col(b, p);
    if (!col) return PG_ELIMIT;
    col[i] = stack;
    return 0;
}

/* Checks the link index, then writes it; no column is made for a 0 link. */
int pg_sample_set_link(pg_batch *b, pg_profile *p, size_t i, int32_t link)
{
    if (check(b, p, i) || link < 0 || (size_t)link >= pg_batch_dict(b)->n_link_table)
        return PG_EINVAL;
    if (!p->samples.link && link == 0) return 0;
    int32_t *col = pg_profile_link_col(b, p);
    if (!col) return PG_ELIMIT;
    col[i] = link;
    return 0;
}

/* An offset column: offsets (n + 1, or NULL = every row empty) into a pool of el-byte
 * entries, with its ownership bit. */
typedef struct rows {
    const uint32_t **off;
    const void **pool;
    size_t el;
    uint8_t bit;
    int keep_off; /* keep offsets when every row becomes empty (values: "no values") */
} rows;

/* Replaces row i of r with src[0..cnt): in place when the length is unchanged (copying the
 * pool once), else into new offsets and a new pool. */
static int replace_row(pg_batch *b, pg_samples *c, const rows *r, size_t i, const void *src,
                       size_t cnt)
{
    const uint32_t *off = *r->off;
    size_t n = c->n, total = off ? off[n] : 0;
    size_t at = off ? off[i] : 0, old = off ? off[i + 1] - off[i] : 0;
    if (old == cnt) {
        if (!cnt) return 0;
        uint8_t *pool = own(b, c, r->bit, r->pool, total, r->el);
        if (!pool) return PG_ELIMIT;
        memcpy(pool + at * r->el, src, cnt * r->el);
        return 0;
    }
    size_t nt = total - old + cnt;
    if (nt > UINT32_MAX) return PG_ELIMIT;
    if (nt == 0 && !r->keep_off) {
        *r->off = NULL;
        *r->pool = NULL;
        return 0;
    }
    pg_arena *a = pg_batch_arena(b);
    uint32_t *no = pg_arena_alloc(a, (n + 1) * sizeof *no);
    uint8_t *np = pg_arena_alloc(a, (nt ? nt : 1) * r->el);
    if (!no || !np) return PG_ELIMIT;
    const uint8_t *op = *r->pool;
    if (at) memcpy(np, op, at * r->el);
    if (cnt) memcpy(np + at * r->el, src, cnt * r->el);
    if (total > at + old)
        memcpy(np + (at + cnt) * r->el, op + (at + old) * r->el, (total - at - old) * r->el);
    for (size_t k = 0; k <= n; k++) {
        uint32_t o = off ? off[k] : 0;
        no[k] = k <= i ? o : (uint32_t)(o - old + cnt);
    }
    *r->off = no;
    *r->pool = nt ? np : NULL;
    c->owned |= r->bit;
    return 0;
}

/* Checks every attribute index, then replaces the row (attrs copied into b's arena). */
int pg_sample_set_attrs(pg_batch *b, pg_profile *p, size_t i, const int32_t *attrs, size_t n)
{
    if (check(b, p, i)) return PG_EINVAL;
    size_t na = pg_batch_dict(b)->n_attribute_table;
    for (size_t k = 0; k < n; k++)
        if (attrs[k] < 0 || (size_t)attrs[k] >= na) return PG_EINVAL;
    pg_samples *c = &p->samples;
    rows r = {&c->attr_off, (const void **)&c->attrs, sizeof *c->attrs, PG_COL_ATTRS, 0};
    return replace_row(b, c, &r, i, attrs, n);
}

/* Replaces the row of timestamps (ts copied into b's arena). */
int pg_sample_set_timestamps(pg_batch *b, pg_profile *p, size_t i, const uint64_t *ts, size_t n)
{
    if (check(b, p, i)) return PG_EINVAL;
    pg_samples *c = &p->samples;
    rows r = {&c->ts_off, (const void **)&c->ts, sizeof *c->ts, PG_COL_TS, 0};
    return replace_row(b, c, &r, i, ts, n);
}

/* Rewrites the one-value-per-sample column `width` bytes wide (8 = int64 `values`) into
 * a new column the profile owns. */
static int rewiden(pg_batch *b, pg_samples *c, uint8_t width)
{
    pg_value_col vc;
    if (pg_value_col_init(pg_batch_arena(b), &vc, c->n)) return PG_ELIMIT;
    if (pg_value_col_widen(pg_batch_arena(b), &vc, width)) return PG_ELIMIT;
    for (size_t i = 0; i < c->n; i++)
        pg_value_col_set(NULL, &vc, i,
                         c->narrow ? pg_narrow_get(c->narrow, c->width, i) : c->values[i]);
    pg_value_col_attach(&vc, c);
    c->owned |= PG_COL_VALUES;
    return 0;
}

/* Moves one-value-per-sample columns to the offset form (val_off + int64 values). */
static int to_offsets(pg_batch *b, pg_samples *c)
{
    pg_arena *a = pg_batch_arena(b);
    uint32_t *off = pg_arena_alloc(a, (c->n + 1) * sizeof *off);
    int64_t *v = pg_arena_alloc(a, (c->n ? c->n : 1) * sizeof *v);
    if (!off || !v) return PG_ELIMIT;
    for (size_t i = 0; i < c->n; i++) {
        off[i] = (uint32_t)i;
        v[i] = c->narrow ? pg_narrow_get(c->narrow, c->width, i) : c->values[i];
    }
    off[c->n] = (uint32_t)c->n;
    c->val_off = off;
    c->values = v;
    c->narrow = NULL;
    c->width = 0;
    c->owned |= PG_COL_VALUES;
    return 0;
}

/* Writes one value: in the offset form in place (pool copied once), in the narrow form
 * after copying or widening the column when it is shared or v does not fit. */
int pg_sample_set_value(pg_batch *b, pg_profile *p, size_t i, size_t k, int64_t v)
{
    if (check(b, p, i)) return PG_EINVAL;
    pg_samples *c = &p->samples;
    if (c->val_off) {
        if (k >= c->val_off[i + 1] - c->val_off[i]) return PG_EINVAL;
        int64_t *vals =
            own(b, c, PG_COL_VALUES, (const void **)&c->values, c->val_off[c->n], sizeof v);
        if (!vals) return PG_ELIMIT;
        vals[c->val_off[i] + k] = v;
        return 0;
    }
    if (k != 0) return PG_EINVAL;
    if (c->narrow) {
        uint8_t w = pg_narrow_width_for(v);
        int rc;
        if ((w > c->width || !(c->owned & PG_COL_VALUES)) &&
            (rc = rewiden(b, c, w > c->width ? w : c->width)))
            return rc;
        if (c->narrow) {
            pg_value_col vc = {(void *)c->narrow, c->n, c->width};
            return pg_value_col_set(NULL, &vc, i, v) ? PG_ELIMIT : 0;
        }
    }
    int64_t *vals = own(b, c, PG_COL_VALUES, (const void **)&c->values, c->n, sizeof v);
    if (!vals) return PG_ELIMIT;
    vals[i] = v;
    return 0;
}

/* One value stays in the narrow form; any other count moves the profile to offsets. */
int pg_sample_set_values(pg_batch *b, pg_profile *p, size_t i, const int64_t *v, size_t n)
{
    if (check(b, p, i)) return PG_EINVAL;
    pg_samples *c = &p->samples;
    if (!c->val_off && n == 1) return pg_sample_set_value(b, p, i, 0, v[0]);
    int rc;
    if (!c->val_off && (rc = to_offsets(b, c))) return rc;
    rows r = {&c->val_off, (const void **)&c->values, sizeof *v, PG_COL_VALUES, 1};
    return replace_row(b, c, &r, i, v, n);
}

/* Copies the kept entries of a fixed-width column (n entries of el bytes) into a new one. */
static const void *keep_fixed(pg_arena *a, const void *col, size_t el, const uint8_t *keep,
                              size_t n, size_t m, int *fail)
{
    if (!col) return NULL;
    uint8_t *out = pg_arena_alloc(a, (m ? m : 1) * el);
    if (!out) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (keep[i]) memcpy(out + el * j++, (const uint8_t *)col + el * i, el);
    return out;
}

/* Copies the kept rows of an offset column into new offsets and pool. */
static void keep_rows(pg_arena *a, const rows *r, const uint8_t *keep, size_t n, size_t m,
                      int *fail)
{
    const uint32_t *off = *r->off;
    if (!off) return;
    uint32_t *no = pg_arena_alloc(a, (m + 1) * sizeof *no);
    uint8_t *np = pg_arena_alloc(a, (off[n] ? off[n] : 1) * r->el);
    if (!no || !np) {
        *fail = 1;
        return;
    }
    size_t t = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        size_t len = off[i + 1] - off[i];
        no[j++] = (uint32_t)t;
        if (len) memcpy(np + t * r->el, (const uint8_t *)*r->pool + off[i] * r->el, len * r->el);
        t += len;
    }
    no[m] = (uint32_t)t;
    *r->off = no;
    *r->pool = t || r->keep_off ? np : NULL;
    if (!t && !r->keep_off) *r->off = NULL;
}

/* Builds new columns (all the profile's own) from the kept samples; keep is borrowed. */
int pg_profile_keep(pg_batch *b, pg_profile *p, const uint8_t *keep)
{
    if (pg_batch_refs(b) != 1) return PG_EINVAL;
    pg_samples *c = &p->samples, nc = *c;
    size_t n = c->n, m = 0;
    for (size_t i = 0; i < n; i++)
        m += keep[i] != 0;
    if (m == n) return 0;
    pg_arena *a = pg_batch_arena(b);
    int fail = 0;
    nc.n = m;
    nc.stack = keep_fixed(a, c->stack, sizeof *c->stack, keep, n, m, &fail);
    nc.link = keep_fixed(a, c->link, sizeof *c->link, keep, n, m, &fail);
    if (c->narrow)
        nc.narrow = keep_fixed(a, c->narrow, c->width, keep, n, m, &fail);
    else if (!c->val_off)
        nc.values = keep_fixed(a, c->values, sizeof *c->values, keep, n, m, &fail);
    rows ra = {&nc.attr_off, (const void **)&nc.attrs, sizeof *nc.attrs, PG_COL_ATTRS, 0};
    rows rv = {&nc.val_off, (const void **)&nc.values, sizeof *nc.values, PG_COL_VALUES, 1};
    rows rt = {&nc.ts_off, (const void **)&nc.ts, sizeof *nc.ts, PG_COL_TS, 0};
    keep_rows(a, &ra, keep, n, m, &fail);
    keep_rows(a, &rv, keep, n, m, &fail);
    keep_rows(a, &rt, keep, n, m, &fail);
    if (fail) return PG_ELIMIT;
    nc.owned = PG_COL_STACK | PG_COL_LINK | PG_COL_ATTRS | PG_COL_VALUES | PG_COL_TS;
    *c = nc;
    return 0;
}

/* pg_profile_keep with a mask of everything but i (on the stack when small). */
int pg_sample_drop(pg_batch *b, pg_profile *p, size_t i)
{
    if (check(b, p, i)) return PG_EINVAL;
    size_t n = p->samples.n;
    uint8_t one[256];
    uint8_t *keep = n <= sizeof one ? one : malloc(n);
    if (!keep) return PG_ENOMEM;
    memset(keep, 1, n);
    keep[i] = 0;
    int rc = pg_profile_keep(b, p, keep);
    if (keep != one) free(keep);
    return rc;
}

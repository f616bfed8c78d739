#include "pipeline/core/samples.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

/* Copies the column descriptor into the profile (the arena keeps owning the columns). */
void pg_profile_set_samples(pg_otlp_profile *p, const pg_samples *cols)
{
    pg_profile_of(p)->samples = *cols;
    p->samples = NULL;
    p->n_samples = 0;
}

/* Hands back the pages of every column of c (the arena keeps the blocks) and leaves c
 * empty. A column shared with another profile is released for both: the caller empties
 * those too. */
void pg_samples_release(pg_samples *c)
{
    size_t n = c->n;
    if (!n) return;
    size_t nv = c->val_off ? c->val_off[n] : n;
    size_t na = c->attr_off ? c->attr_off[n] : 0;
    size_t nts = c->ts_off ? c->ts_off[n] : 0;
    pg_pages_release((const uint8_t *)c->stack, n * sizeof *c->stack);
    if (c->link) pg_pages_release((const uint8_t *)c->link, n * sizeof *c->link);
    if (c->attrs) pg_pages_release((const uint8_t *)c->attrs, na * sizeof *c->attrs);
    if (c->attr_off) pg_pages_release((const uint8_t *)c->attr_off, (n + 1) * sizeof *c->attr_off);
    if (c->values) pg_pages_release((const uint8_t *)c->values, nv * sizeof *c->values);
    if (c->narrow) pg_pages_release(c->narrow, n * c->width);
    if (c->val_off) pg_pages_release((const uint8_t *)c->val_off, (n + 1) * sizeof *c->val_off);
    if (c->ts) pg_pages_release((const uint8_t *)c->ts, nts * sizeof *c->ts);
    if (c->ts_off) pg_pages_release((const uint8_t *)c->ts_off, (n + 1) * sizeof *c->ts_off);
    *c = (pg_samples){0};
}

/* c's nine columns, in the releaser's order. */
static void columns_of(const pg_samples *c, const void *cols[9])
{
    const void *v[9] = {c->stack,  c->link,   c->attr_off, c->attrs, c->val_off,
                        c->values, c->narrow, c->ts_off,   c->ts};
    memcpy(cols, v, sizeof v);
}

/* Starts releasing c's columns from their first sample, but those it shares with `prev`. */
void pg_samples_releaser_init(pg_samples_releaser *r, const pg_samples *c, const pg_samples *prev)
{
    const void *cols[9], *theirs[9] = {0};
    columns_of(c, cols);
    if (prev) columns_of(prev, theirs);
    r->c = c;
    for (int k = 0; k < 9; k++)
        r->done[k] = cols[k] == theirs[k] ? NULL : cols[k];
}

/* Releases what samples [0, i) alone used of every column. The offsets of sample i are
 * read before anything is released, and the page holding an entry still needed stays. */
void pg_samples_releaser_advance(pg_samples_releaser *r, size_t i)
{
    const pg_samples *c = r->c;
    if (!c->n) return;
    if (i > c->n) i = c->n;
    size_t a = c->attr_off ? c->attr_off[i] : 0, v = c->val_off ? c->val_off[i] : i;
    size_t t = c->ts_off ? c->ts_off[i] : 0;
    const uint8_t *upto[9] = {
        (const uint8_t *)(c->stack + i),
        c->link ? (const uint8_t *)(c->link + i) : NULL,
        c->attr_off ? (const uint8_t *)(c->attr_off + i) : NULL,
        c->attrs ? (const uint8_t *)(c->attrs + a) : NULL,
        c->val_off ? (const uint8_t *)(c->val_off + i) : NULL,
        c->values ? (const uint8_t *)(c->values + v) : NULL,
        c->narrow ? (const uint8_t *)c->narrow + i * c->width : NULL,
        c->ts_off ? (const uint8_t *)(c->ts_off + i) : NULL,
        c->ts ? (const uint8_t *)(c->ts + t) : NULL,
    };
    for (int k = 0; k < 9; k++)
        if (upto[k] && r->done[k])
            pg_pages_release_consumed(&r->done[k], upto[k], NULL, NULL, PG_PAGES_RELEASE_STEP);
}

/* Allocates the column in the arena, one byte per entry. */
int pg_value_col_init(pg_arena *a, pg_value_col *c, size_t n)
{
    c->n = n;
    c->width = 1;
    c->p = pg_arena_alloc(a, n ? n : 1);
    return c->p ? 0 : pg_arena_status(a);
}

/* Widens in place (the arena reallocates), converting from the last entry back. */
int pg_value_col_widen(pg_arena *a, pg_value_col *c, uint8_t width)
{
    if (width <= c->width) return 0;
    size_t n = c->n ? c->n : 1;
    void *np = pg_arena_realloc(a, c->p, n * c->width, n * width);
    if (!np) return pg_arena_status(a);
    uint8_t old = c->width;
    for (size_t i = n; i-- > 0;) {
        int64_t v = old == 1   ? ((int8_t *)np)[i]
                    : old == 2 ? ((int16_t *)np)[i]
                               : ((int32_t *)np)[i];
        if (width == 2)
            ((int16_t *)np)[i] = (int16_t)v;
        else if (width == 4)
            ((int32_t *)np)[i] = (int32_t)v;
        else
            ((int64_t *)np)[i] = v;
    }
    c->p = np;
    c->width = width;
    return 0;
}

/* Hands the column to cols (the arena keeps owning it). */
void pg_value_col_attach(const pg_value_col *c, pg_samples *cols)
{
    cols->val_off = NULL;
    if (c->width == 8) {
        cols->values = c->p;
        cols->narrow = NULL;
        cols->width = 0;
    } else {
        cols->values = NULL;
        cols->narrow = c->p;
        cols->width = c->width;
    }
}

/* Appends r's parts to the builder's growing columns. */
int pg_samples_builder_add(pg_samples_builder *sb, const pg_sample_ref *r)
{
    if (sb->n + 2 > sb->cap) {
        size_t c = sb->cap;
        size_t c1 = c, c2 = c, c3 = c, c4 = c;
        if (pg_vec_reserve((void **)&sb->stack, &c, sb->n + 2, 4, 64) ||
            pg_vec_reserve((void **)&sb->link, &c1, sb->n + 2, 4, 64) ||
            pg_vec_reserve((void **)&sb->attr_off, &c2, sb->n + 2, 4, 64) ||
            pg_vec_reserve((void **)&sb->val_off, &c3, sb->n + 2, 4, 64) ||
            pg_vec_reserve((void **)&sb->ts_off, &c4, sb->n + 2, 4, 64))
            return PG_ENOMEM;
        sb->cap = c;
    }
    if (pg_vec_reserve((void **)&sb->attrs, &sb->cap_attrs, sb->n_attrs + r->n_attrs, 4, 64) ||
        pg_vec_reserve((void **)&sb->values, &sb->cap_values, sb->n_values + r->n_values, 8, 64) ||
        pg_vec_reserve((void **)&sb->ts, &sb->cap_ts, sb->n_ts + r->n_ts, 8, 64))
        return PG_ENOMEM;
    size_t i = sb->n;
    sb->stack[i] = r->stack;
    sb->link[i] = r->link;
    sb->attr_off[i] = (uint32_t)sb->n_attrs;
    sb->val_off[i] = (uint32_t)sb->n_values;
    sb->ts_off[i] = (uint32_t)sb->n_ts;
    if (r->n_attrs) memcpy(sb->attrs + sb->n_attrs, r->attrs, r->n_attrs * 4);
    if (r->n_values) memcpy(sb->values + sb->n_values, r->values, r->n_values * 8);
    if (r->n_ts) memcpy(sb->ts + sb->n_ts, r->ts, r->n_ts * 8);
    sb->n_attrs += r->n_attrs;
    sb->n_values += r->n_values;
    sb->n_ts += r->n_ts;
    sb->any_link |= r->link != 0;
    sb->any_attrs |= r->n_attrs != 0;
    sb->any_ts |= r->n_ts != 0;
    sb->not_single |= r->n_values != 1;
    sb->n++;
    return 0;
}

static void *dup(pg_arena *a, const void *p, size_t n, int *fail)
{
    if (!n) return NULL;
    void *d = pg_arena_memdup(a, p, n);
    if (!d) *fail = 1;
    return d;
}

/* Copies only the columns that carry information. */
static int same(const void *a, const void *b, size_t n)
{
    return a && b && memcmp(a, b, n) == 0;
}

int pg_samples_builder_finish(pg_samples_builder *sb, pg_arena *a, pg_otlp_profile *p,
                              const pg_samples *like)
{
    pg_samples cols = {0}, *c = &cols;
    int fail = 0;
    size_t n = sb->n;
    c->n = n;
    if (like && like->n != n) like = NULL;
    c->stack =
        like && same(like->stack, sb->stack, n * 4) ? like->stack : dup(a, sb->stack, n * 4, &fail);
    if (sb->any_link)
        c->link =
            like && same(like->link, sb->link, n * 4) ? like->link : dup(a, sb->link, n * 4, &fail);
    if (n) {
        sb->attr_off[n] = (uint32_t)sb->n_attrs;
        sb->val_off[n] = (uint32_t)sb->n_values;
        sb->ts_off[n] = (uint32_t)sb->n_ts;
    }
    if (sb->any_attrs) {
        if (like && same(like->attr_off, sb->attr_off, (n + 1) * 4) &&
            same(like->attrs, sb->attrs, sb->n_attrs * 4)) {
            c->attr_off = like->attr_off;
            c->attrs = like->attrs;
        } else {
            c->attr_off = dup(a, sb->attr_off, (n + 1) * 4, &fail);
            c->attrs = dup(a, sb->attrs, sb->n_attrs * 4, &fail);
        }
    }
    if (sb->not_single) {
        c->val_off = dup(a, sb->val_off, (n + 1) * 4, &fail);
        c->values = dup(a, sb->values, sb->n_values * 8, &fail);
    } else if (n) { /* one value per sample: keep it as narrow as the values allow */
        uint8_t w = 1;
        for (size_t i = 0; i < n && w < 8; i++) {
            uint8_t x = pg_narrow_width_for(sb->values[i]);
            if (x > w) w = x;
        }
        pg_value_col vc = {NULL, n, 1};
        if (pg_value_col_init(a, &vc, n) || pg_value_col_widen(a, &vc, w)) fail = 1;
        for (size_t i = 0; i < n && !fail; i++)
            pg_value_col_set(a, &vc, i, sb->values[i]);
        if (!fail) pg_value_col_attach(&vc, c);
    }
    if (sb->any_ts) {
        c->ts_off = dup(a, sb->ts_off, (n + 1) * 4, &fail);
        c->ts = dup(a, sb->ts, sb->n_ts * 8, &fail);
    }
    pg_samples_builder_free(sb);
    if (fail) return pg_arena_status(a);
    pg_profile_set_samples(p, c);
    return 0;
}

void pg_samples_builder_free(pg_samples_builder *sb)
{
    free(sb->stack);
    free(sb->link);
    free(sb->attr_off);
    free(sb->val_off);
    free(sb->ts_off);
    free(sb->attrs);
    free(sb->values);
    free(sb->ts);
    memset(sb, 0, sizeof *sb);
}

/* A plain protobuf-c copy of p's message whose samples are structs (in a). */
pg_otlp_profile *pg_profile_with_sample_structs(pg_arena *a, const pg_otlp_profile *p)
{
    const pg_samples *c = pg_profile_columns(p);
    pg_otlp_profile *q = pg_arena_memdup(a, p, sizeof *q); /* the message only */
    pg_otlp_sample *s = pg_otlp_samples_new(a, c->n);
    if (!q || !s) return NULL;
    q->samples = pg_arena_alloc(a, (c->n ? c->n : 1) * sizeof *q->samples);
    if (!q->samples) return NULL;
    int64_t *wide = NULL; /* narrow values widened for the structs */
    if (c->narrow && !(wide = pg_arena_alloc(a, (c->n ? c->n : 1) * sizeof *wide))) return NULL;
    for (size_t i = 0; i < c->n; i++) {
        pg_sample_ref r;
        pg_sample_at(p, i, &r);
        if (wide) {
            wide[i] = r.value1;
            r.values = &wide[i];
        }
        s[i].stack_index = r.stack;
        s[i].link_index = r.link;
        s[i].attribute_indices = (int32_t *)r.attrs;
        s[i].n_attribute_indices = r.n_attrs;
        s[i].values = (int64_t *)r.values;
        s[i].n_values = r.n_values;
        s[i].timestamps_unix_nano = (uint64_t *)r.ts;
        s[i].n_timestamps_unix_nano = r.n_ts;
        q->samples[i] = &s[i];
    }
    q->n_samples = c->n;
    return q;
}

/* Copies the resource/scope levels shallowly and materialises every profile. */
pg_otlp_data *pg_otlp_data_with_sample_structs(pg_arena *a, const pg_otlp_data *d)
{
    pg_otlp_data *c = pg_arena_memdup(a, d, sizeof *c);
    if (!c) return NULL;
    if (d->dictionary && !(c->dictionary = pg_dict_with_stack_structs(a, d->dictionary)))
        return NULL;
    c->resource_profiles =
        pg_arena_alloc(a, (d->n_resource_profiles ? d->n_resource_profiles : 1) * sizeof(void *));
    if (!c->resource_profiles) return NULL;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        pg_otlp_rprofiles *rc = pg_arena_memdup(a, rp, sizeof *rc);
        if (!rc) return NULL;
        rc->scope_profiles =
            pg_arena_alloc(a, (rp->n_scope_profiles ? rp->n_scope_profiles : 1) * sizeof(void *));
        if (!rc->scope_profiles) return NULL;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            pg_otlp_sprofiles *sc = pg_arena_memdup(a, sp, sizeof *sc);
            if (!sc) return NULL;
            sc->profiles =
                pg_arena_alloc(a, (sp->n_profiles ? sp->n_profiles : 1) * sizeof(void *));
            if (!sc->profiles) return NULL;
            for (size_t p = 0; p < sp->n_profiles; p++)
                if (!(sc->profiles[p] = pg_profile_with_sample_structs(a, sp->profiles[p])))
                    return NULL;
            rc->scope_profiles[s] = sc;
        }
        c->resource_profiles[r] = rc;
    }
    return c;
}

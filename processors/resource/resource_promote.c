/* promote and demote (see resource_processor.h): sample attributes with one value across a
 * profile move up to its resource, splitting a resource whose profiles promote different
 * values; resource attributes move down onto every sample. */
#include "pipeline/core/anyvalue.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "processors/resource/resource_int.h"

#include <stdlib.h>
#include <string.h>

/* The attribute every sample of p holds under key k with one value, or 0. */
static int32_t common_attr(const pg_batch *b, const pg_profile *p, int32_t k)
{
    int32_t first = 0;
    for (size_t i = 0; i < p->samples.n; i++) {
        pg_sample_ref s;
        pg_samples_at(&p->samples, i, &s);
        int at = pg_attrs_find(b, s.attrs, s.n_attrs, k);
        if (at < 0) return 0;
        if (!first)
            first = s.attrs[at];
        else if (s.attrs[at] != first &&
                 !pg_any_equal(pg_attr_value(b, first), pg_attr_value(b, s.attrs[at])))
            return 0;
    }
    return first;
}

typedef struct drop_keys {
    const int32_t *keys;
    size_t n;
    const pg_batch *b;
} drop_keys;

/* Removes the attributes keyed one of ctx's keys (pg_attrs_rewrite_fn). */
static int drop_step(void *ctx, const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    const drop_keys *c = ctx;
    const pg_otlp_dict *d = pg_batch_dict(c->b);
    size_t m = 0;
    (void)cap;
    for (size_t i = 0; i < n; i++) {
        int hit = 0;
        for (size_t k = 0; k < c->n; k++)
            hit |= d->attribute_table[in[i]]->key_strindex == c->keys[k];
        if (!hit) out[m++] = in[i];
    }
    return (int)m;
}

/* Whether profiles x and y promote the same values (vals: npromote per profile). */
static int same_vals(const pg_batch *b, const int32_t *x, const int32_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i] &&
            (!x[i] || !y[i] || !pg_any_equal(pg_attr_value(b, x[i]), pg_attr_value(b, y[i]))))
            return 0;
    return 1;
}

/* Sets the promoted values vals[] on rp. */
static int set_vals(const ra_plan *p, pg_batch *b, pg_otlp_rprofiles *rp, const int32_t *vals)
{
    for (size_t i = 0; i < p->npromote; i++) {
        if (!vals[i]) continue;
        const char *to = p->promote[i].to ? p->promote[i].to : p->promote[i].key;
        int rc = pg_resource_attr_set(b, rp, to, pg_attr_value(b, vals[i]));
        if (rc) return rc;
    }
    return 0;
}

/* Splits resource rp (index r) so that each group of profiles promoting the same values
 * has a resource of its own; group 0 stays in rp. vals: per profile of rp in order. */
static int split(const ra_plan *p, pg_batch *b, pg_otlp_rprofiles *rp, int32_t *vals, size_t np)
{
    size_t w = p->npromote;
    int *group = calloc(np ? np : 1, sizeof *group);
    if (!group) return PG_ENOMEM;
    int ngroups = 0, rc = 0;
    for (size_t i = 0; i < np; i++) {
        group[i] = -1;
        for (size_t j = 0; j < i && group[i] < 0; j++)
            if (same_vals(b, vals + i * w, vals + j * w, w)) group[i] = group[j];
        if (group[i] < 0) group[i] = ngroups++;
    }
    /* the groups after the first move to clones of rp, scope by scope */
    for (int g = 1; g < ngroups && !rc; g++) {
        pg_otlp_rprofiles *nrp = pg_resource_clone_empty(b, rp);
        if (!nrp) {
            rc = PG_ELIMIT;
            break;
        }
        size_t k = 0;
        for (size_t s = 0; s < rp->n_scope_profiles && !rc; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s], *nsp = NULL;
            for (size_t q = 0; q < sp->n_profiles; q++, k++) {
                if (group[k] != g) continue;
                if (!nsp && !(nsp = pg_scope_clone_empty(b, nrp, sp))) {
                    rc = PG_ELIMIT;
                    break;
                }
                if ((rc = pg_otlp_push(pg_batch_arena(b), (void ***)&nsp->profiles,
                                       &nsp->n_profiles, sp->profiles[q])))
                    break;
            }
        }
        for (k = 0; k < np && group[k] != g; k++) {
        }
        if (!rc && k < np) rc = set_vals(p, b, nrp, vals + k * w);
    }
    /* rp keeps group 0: remove the others from its scopes (and scopes left empty) */
    size_t k = 0, ns = 0, first0 = np;
    for (size_t s = 0; s < rp->n_scope_profiles; s++) {
        pg_otlp_sprofiles *sp = rp->scope_profiles[s];
        size_t m = 0;
        for (size_t q = 0; q < sp->n_profiles; q++, k++)
            if (group[k] == 0) {
                if (first0 == np) first0 = k;
                sp->profiles[m++] = sp->profiles[q];
            }
        sp->n_profiles = m;
        if (m) rp->scope_profiles[ns++] = sp;
    }
    rp->n_scope_profiles = ns;
    if (!rc && first0 < np) rc = set_vals(p, b, rp, vals + first0 * w);
    free(group);
    return rc;
}

/* See resource_int.h. */
int ra_promote(const ra_plan *p, pg_batch *b)
{
    if (!p->npromote) return 0;
    size_t w = p->npromote;
    int32_t keys[64];
    if (w > 64) return PG_EINVAL;
    for (size_t i = 0; i < w; i++)
        if ((keys[i] = pg_dict_string(b, p->promote[i].key, strlen(p->promote[i].key))) < 0)
            return keys[i];
    pg_otlp_data *d = pg_batch_data(b);
    size_t nr = d->n_resource_profiles; /* split adds resources at the end */
    int rc = 0;
    for (size_t r = 0; r < nr && !rc; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        size_t np = 0;
        for (size_t s = 0; s < rp->n_scope_profiles; s++)
            np += rp->scope_profiles[s]->n_profiles;
        int32_t *vals = calloc(np * w + 1, sizeof *vals);
        if (!vals) return PG_ENOMEM;
        size_t k = 0, any = 0, differ = 0;
        for (size_t s = 0; s < rp->n_scope_profiles; s++)
            for (size_t q = 0; q < rp->scope_profiles[s]->n_profiles; q++, k++) {
                pg_profile *pr = pg_profile_of(rp->scope_profiles[s]->profiles[q]);
                int32_t drop[64];
                size_t nd = 0;
                for (size_t i = 0; i < w; i++)
                    if ((vals[k * w + i] = common_attr(b, pr, keys[i]))) drop[nd++] = keys[i];
                any += nd;
                if (k && !same_vals(b, vals + k * w, vals, w)) differ = 1;
                drop_keys dk = {drop, nd, b};
                if (nd && (rc = pg_profile_rewrite_attrs(b, pr, 0, drop_step, &dk))) break;
            }
        if (!rc && any) rc = differ ? split(p, b, rp, vals, np) : set_vals(p, b, rp, vals);
        free(vals);
    }
    return rc;
}

typedef struct add_attr {
    int32_t attr, key;
    const pg_batch *b;
} add_attr;

/* Sets attribute ctx->attr on a sample, replacing one of the same key. */
static int add_step(void *ctx, const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    const add_attr *c = ctx;
    const pg_otlp_dict *d = pg_batch_dict(c->b);
    size_t m = 0;
    (void)cap;
    for (size_t i = 0; i < n; i++)
        if (d->attribute_table[in[i]]->key_strindex != c->key) out[m++] = in[i];
    out[m++] = c->attr;
    return (int)m;
}

/* See resource_int.h. */
int ra_demote(const ra_plan *p, pg_batch *b)
{
    pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t i = 0; i < p->ndemote; i++) {
            int at = pg_resource_attr_find(b, rp, p->demote[i].key);
            if (at < 0) continue;
            const char *to = p->demote[i].to ? p->demote[i].to : p->demote[i].key;
            add_attr c = {pg_dict_attr_kv(b, to, rp->resource->attributes[at]->value),
                          pg_dict_string(b, to, strlen(to)), b};
            if (c.attr < 0 || c.key < 0) return c.attr < 0 ? c.attr : c.key;
            for (size_t s = 0; s < rp->n_scope_profiles; s++)
                for (size_t q = 0; q < rp->scope_profiles[s]->n_profiles; q++) {
                    int rc = pg_profile_rewrite_attrs(
                        b, pg_profile_of(rp->scope_profiles[s]->profiles[q]), 1, add_step, &c);
                    if (rc) return rc;
                }
            pg_resource_attr_delete(b, rp, p->demote[i].key);
        }
    }
    return 0;
}

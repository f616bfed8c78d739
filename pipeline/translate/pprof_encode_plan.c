/* OTLP -> pprof, step 1: decides which profiles become one pprof profile. A scope that
 * carries pprof.scope.sample_type_order is one pprof (the inverse of pg_pprof_decode);
 * otherwise profiles of a scope with equal time, duration, period and attributes and
 * distinct sample types are merged. */
#include "pipeline/translate/pprof.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/translate/pprof_tables.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "pipeline/core/samples.h"

#include <stdlib.h>
#include <string.h>

static const pg_otlp_any *scope_attr(const pg_otlp_scope *sc, const char *key)
{
    if (!sc) return NULL;
    for (size_t i = 0; i < sc->n_attributes; i++)
        if (sc->attributes[i]->key && strcmp(sc->attributes[i]->key, key) == 0)
            return sc->attributes[i]->value;
    return NULL;
}

static int vt_eq(const pg_otlp_valuetype *a, const pg_otlp_valuetype *b)
{
    int32_t at = a ? a->type_strindex : 0, au = a ? a->unit_strindex : 0;
    int32_t bt = b ? b->type_strindex : 0, bu = b ? b->unit_strindex : 0;
    return at == bt && au == bu;
}

/* Profiles that may share one pprof header. */
static int same_header(const pg_otlp_profile *a, const pg_otlp_profile *b)
{
    return a->time_unix_nano == b->time_unix_nano && a->duration_nano == b->duration_nano &&
           a->period == b->period && vt_eq(a->period_type, b->period_type) &&
           a->n_attribute_indices == b->n_attribute_indices &&
           (a->n_attribute_indices == 0 ||
            memcmp(a->attribute_indices, b->attribute_indices, a->n_attribute_indices * 4) == 0);
}

/* Samples correspond by position: same count and identity, one value, no timestamps.
 * Profiles decoded from one pprof share their identity columns, which is checked first. */
static int positional(const pg_pprof_group *g)
{
    const pg_otlp_profile *p0 = g->profiles[0];
    const pg_samples *c0 = pg_profile_columns(p0);
    size_t n = pg_profile_sample_count(p0);
    size_t want = g->zero_types ? 0u : 1u;
    for (size_t k = 0; k < g->n_profiles; k++) {
        const pg_otlp_profile *p = g->profiles[k];
        const pg_samples *c = pg_profile_columns(p);
        if (pg_profile_sample_count(p) != n) return 0;
        if (c && c0 && c->stack == c0->stack && c->link == c0->link &&
            c->attr_off == c0->attr_off && c->attrs == c0->attrs && !c->ts_off &&
            (want == 1 ? !c->val_off : 1) &&
            (want == 0 ? (!n || (c->val_off && c->val_off[n] == 0)) : 1))
            continue; /* same shared identity columns */
        for (size_t i = 0; i < n; i++) {
            pg_sample_ref s, t;
            pg_sample_at(p, i, &s);
            pg_sample_at(p0, i, &t);
            if (s.n_ts || s.n_values != want) return 0;
            if (s.stack != t.stack || s.link != t.link || s.n_attrs != t.n_attrs ||
                (s.n_attrs && memcmp(s.attrs, t.attrs, s.n_attrs * 4)))
                return 0;
        }
    }
    return 1;
}

typedef struct plan {
    pg_pprof_group *v;
    size_t n, cap;
} plan;

static pg_pprof_group *new_group(plan *pl, const pg_otlp_rprofiles *rp, const pg_otlp_sprofiles *sp,
                                 size_t max_profiles)
{
    if (PG_VEC_RESERVE(pl->v, pl->cap, pl->n + 1, 4)) return NULL;
    pg_pprof_group *g = &pl->v[pl->n];
    memset(g, 0, sizeof *g);
    g->profiles = calloc(max_profiles ? max_profiles : 1, sizeof *g->profiles);
    if (!g->profiles) return NULL;
    g->resource = rp;
    g->scope = sp;
    pl->n++;
    return g;
}

/* A scope's profiles without its table-entries marker (pprof_tables.h): profs[0..n) are
 * borrowed from the batch, the array is malloc-owned. */
typedef struct scope_profiles {
    const pg_otlp_profile **v;
    size_t n;
    const pg_otlp_profile *tables;
} scope_profiles;

/* Splits sp's profiles into the table-entries record and the others. Returns 0 or
 * PG_ENOMEM. */
static int split_marker(const pg_otlp_dict *d, const pg_otlp_sprofiles *sp, scope_profiles *out)
{
    out->n = 0;
    out->tables = NULL;
    out->v = calloc(sp->n_profiles ? sp->n_profiles : 1, sizeof *out->v);
    if (!out->v) return PG_ENOMEM;
    for (size_t k = 0; k < sp->n_profiles; k++) {
        if (!pg_pprof_tables_is_marker(d, sp->profiles[k]))
            out->v[out->n++] = sp->profiles[k];
        else if (!out->tables) /* a record is never a pprof; a scope has one (the first) */
            out->tables = sp->profiles[k];
    }
    return 0;
}

/* Tries the pprof-origin layout; returns 1 when the scope was planned that way. */
static int plan_from_order(plan *pl, const pg_otlp_rprofiles *rp, const pg_otlp_sprofiles *sp,
                           const scope_profiles *sc, int *fail)
{
    const pg_otlp_any *ord = scope_attr(sp->scope, PG_SC_SAMPLE_TYPE_ORDER);
    const pg_otlp_any *def = scope_attr(sp->scope, PG_SC_DEFAULT_SAMPLE_TYPE);
    if (!ord || ord->value_case != PG_ANY_ARRAY) return 0;
    size_t n = ord->array_value ? ord->array_value->n_values : 0;
    int zero = (n == 0 && sc->n == 1 && !sc->v[0]->sample_type);
    if (!zero && n != sc->n) return 0;
    char *seen = calloc(n ? n : 1, 1);
    if (!seen) {
        *fail = 1;
        return 1;
    }
    int ok = 1;
    for (size_t k = 0; k < n && ok; k++) {
        const pg_otlp_any *e = ord->array_value->values[k];
        if (e->value_case != PG_ANY_INT || e->int_value < 0 || (uint64_t)e->int_value >= n ||
            seen[e->int_value])
            ok = 0;
        else
            seen[e->int_value] = 1;
    }
    free(seen);
    if (!ok) return 0;
    pg_pprof_group *g = new_group(pl, rp, sp, sc->n);
    if (!g) {
        *fail = 1;
        return 1;
    }
    g->from_pprof = 1;
    g->zero_types = zero;
    g->n_profiles = sc->n;
    if (zero) g->profiles[0] = sc->v[0];
    for (size_t k = 0; k < n; k++)
        g->profiles[ord->array_value->values[k]->int_value] = sc->v[k];
    if (def && def->value_case == PG_ANY_STRING) g->default_type = def->string_value;
    g->positional = positional(g);
    return 1;
}

/* Plans every scope of the batch. */
int pg_pprof_plan(const pg_batch *b, pg_pprof_group **groups, size_t *n, char *err, size_t errlen)
{
    plan pl = {0};
    const pg_otlp_data *d = pg_batch_data(b);
    int fail = 0;
    for (size_t r = 0; r < d->n_resource_profiles && !fail; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t s = 0; s < rp->n_scope_profiles && !fail; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            scope_profiles sc;
            if (split_marker(pg_batch_dict(b), sp, &sc)) {
                fail = 1;
                break;
            }
            size_t first = pl.n;
            if (sc.n == 0 || plan_from_order(&pl, rp, sp, &sc, &fail)) {
                for (size_t i = first; i < pl.n && !fail; i++)
                    pl.v[i].tables = sc.tables;
                free(sc.v);
                continue;
            }
            const pg_otlp_any *def = scope_attr(sp->scope, PG_SC_DEFAULT_SAMPLE_TYPE);
            for (size_t p = 0; p < sc.n && !fail; p++) {
                const pg_otlp_profile *pr = sc.v[p];
                pg_pprof_group *g = NULL;
                for (size_t i = first; i < pl.n && !g; i++) {
                    pg_pprof_group *c = &pl.v[i];
                    if (!same_header(c->profiles[0], pr)) continue;
                    int dup = 0;
                    for (size_t k = 0; k < c->n_profiles; k++)
                        dup |= vt_eq(c->profiles[k]->sample_type, pr->sample_type);
                    if (!dup) g = c;
                }
                if (!g && !(g = new_group(&pl, rp, sp, sc.n))) {
                    fail = 1;
                    break;
                }
                g->profiles[g->n_profiles++] = pr;
            }
            for (size_t i = first; i < pl.n && !fail; i++) {
                pg_pprof_group *g = &pl.v[i];
                g->zero_types = g->n_profiles == 1 && !g->profiles[0]->sample_type;
                if (def && def->value_case == PG_ANY_STRING) g->default_type = def->string_value;
                g->positional = positional(g);
                g->tables = sc.tables;
            }
            free(sc.v);
        }
    }
    if (fail) {
        pg_pprof_groups_free(pl.v, pl.n);
        return pg_err(err, errlen, PG_ENOMEM, "pprof: out of memory");
    }
    *groups = pl.v;
    *n = pl.n;
    return 0;
}

/* Frees the plan (the profiles it points to belong to the batch). */
void pg_pprof_groups_free(pg_pprof_group *groups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)groups[i].profiles);
    free(groups);
}
